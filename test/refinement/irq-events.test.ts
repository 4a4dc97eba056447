// Interrupt events and IRQ invocations everywhere an entry is told or kept: the entry's text,
// counterexample files, explain's story; the interrupt results and IRQ events a check counts
// (coverage.ts: interruptResult, IrqStates), told from the IRQ lines before and after an entry;
// and that --require-coverage names them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  IPCBuffer,
  InvocationLabel,
  Reg,
  irqAtBoot,
  irqNodeRef,
  seL4_AllRights,
  seL4_CanRead,
  seL4_MessageInfo_new,
  syscallWord,
  seL4_Syscall,
  type Cap,
  type IrqView,
  type KernelEvent,
  type KernelLayer,
  type KernelView,
  type Touched,
} from '../../libsel4/index.ts';
import type { ImplState } from '../../impl/index.ts';
import { IrqStates, interruptResult, parseCoverageRequirement, type IrqLine } from '../../refinement/coverage.ts';
import { entriesOf, readCounterexample, writeCounterexample, type Counterexample } from '../../refinement/reports/counterexample.ts';
import { decodeEntry } from '../../refinement/reports/describe.ts';
import { explainCounterexample, formatExplanation } from '../../refinement/reports/explain.ts';
import { bootSystem } from '../../refinement/system.ts';
import { replayEntries, shrinkEntries } from '../../refinement/shrink.ts';
import { plantedBadgeFault, plantedCounterexample } from './planted-fault.ts';

const interrupt = (irq: number): KernelEvent => ({ kind: 'interrupt', irq });

/** A Call of `label` with MR0-3 in a2-a5 and the extra caps in the IPC buffer, as the stubs send it. */
function invocation(label: number, service: number, words: readonly number[], caps: readonly number[]): KernelEvent {
  const regs: [number, number][] = [[Reg.a0, service], [Reg.a1, seL4_MessageInfo_new(label, 0, caps.length, words.length)], [Reg.a7, syscallWord(seL4_Syscall.seL4_SysCall)]];
  words.forEach((w, i) => regs.push([Reg.a2 + i, w]));
  return { kind: 'syscall', user: { regs, ipcBuffer: caps.map((c, i): [number, number] => [IPCBuffer.capsOrBadges + i, c]) } };
}

describe('the text of an interrupt and of the IRQ invocations', () => {
  it('names the IRQ, and says when it names no PLIC source', () => {
    expect(decodeEntry(null, interrupt(5))).toBe('interrupt: a device raises IRQ 5');
    expect(decodeEntry(null, interrupt(96))).toBe('interrupt: a device raises IRQ 96 (no PLIC source 1..95: nothing happens)');
    expect(decodeEntry(null, interrupt(0xffffffff))).toBe('interrupt: a device raises IRQ 0xffffffff (no PLIC source 1..95: nothing happens)');
  });

  it('decodes the five invocations as the libsel4 calls, with named arguments', () => {
    const L = InvocationLabel;
    expect(decodeEntry(null, invocation(L.IRQIssueIRQHandler, 4, [7, 50, 32], [2]))).toBe('seL4_IRQControl_Get(service=4, irq=7, root=2, index=50, depth=32)');
    expect(decodeEntry(null, invocation(L.RISCVIRQIssueIRQHandlerTrigger, 4, [7, 1, 50, 32], [2]))).toBe('seL4_IRQControl_GetTrigger(service=4, irq=7, trigger=1, root=2, index=50, depth=32)');
    expect(decodeEntry(null, invocation(L.IRQAckIRQ, 50, [], []))).toBe('seL4_IRQHandler_Ack(service=50)');
    expect(decodeEntry(null, invocation(L.IRQSetIRQHandler, 50, [], [60]))).toBe('seL4_IRQHandler_SetNotification(service=50, notification=60)');
    expect(decodeEntry(null, invocation(L.IRQClearIRQHandler, 50, [], []))).toBe('seL4_IRQHandler_Clear(service=50)');
    // One word short: the generic form, as the kernel sees it.
    expect(decodeEntry(null, invocation(L.IRQIssueIRQHandler, 4, [7, 50], [2]))).toMatch(/^seL4_Call\(cptr=4, label=IRQIssueIRQHandler, length=2/);
  });
});

/** The planted counterexample with interrupt entries after its entries. */
function withInterrupts(): Counterexample {
  const cx = plantedCounterexample();
  const entry = (irq: number) => ({ call: decodeEntry(null, interrupt(irq)), result: 'delivered', entry: { kind: 'interrupt' as const, irq } });
  return { ...cx, trace: [...cx.trace, entry(5), entry(0xffffffff)] };
}

describe('counterexample files and explain', () => {
  it('keep interrupt entries, read back as interrupt events', () => {
    const cx = withInterrupts();
    const file = writeCounterexample(mkdtempSync(join(tmpdir(), 'sel4-model-irq-')), cx);
    expect(readCounterexample(file)).toEqual(cx);
    expect(entriesOf(cx).slice(-2)).toEqual([interrupt(5), interrupt(0xffffffff)]);
  });

  it('shows the IRQ lines at the failing step where the layers hold them differently, with the field the pair differs on', () => {
    const claimedLine = (impl: KernelLayer<ImplState>): KernelLayer<ImplState> => ({
      ...impl,
      view(state) {
        const view = impl.view(state);
        return { ...view, irq: (irq) => (irq === 5 ? { ...view.irq(irq), claimed: true } : view.irq(irq)) };
      },
    });
    const e = explainCounterexample(plantedCounterexample(), { implDebug: true, wrapImpl: claimedLine });
    const failing = e.steps.find((s) => s.failing)!;
    const lines = failing.written!.filter((p) => p.place.startsWith('irq '));
    expect(lines.map((p) => [p.place, p.differs])).toEqual([['irq 5', 'claimed (true vs false)']]);
    expect(lines[0]!.marked.get('claimed')).toEqual(['impl', 'executable']);
    expect(formatExplanation(e, 'cx.json')).toMatch(/impl: +state Inactive, pending false, claimed true\n/);
  });

  it('replays interrupt entries and shrinks away those the failure does not need', () => {
    const boot = () => bootSystem({ layer: 'lockstep', pairs: ['impl-executable'], layerOptions: plantedBadgeFault });
    const mixed = entriesOf(plantedCounterexample()).flatMap((e) => [interrupt(5), e, interrupt(0)]);
    const replayed = replayEntries(boot, mixed);
    expect(replayed.failure).not.toBeNull();
    expect(replayed.trace.map((t) => t.call.startsWith('interrupt'))).toEqual([true, false, true, true, false]);
    const shrunk = shrinkEntries(boot, mixed, replayed.failure!);
    expect(shrunk.failure).toMatchObject({ kind: replayed.failure!.kind, pair: replayed.failure!.pair });
    expect(shrunk.events.map((e) => e.kind)).toEqual(['syscall', 'syscall']);
  });

  it('tells interrupt events in the story, run on every layer', () => {
    const e = explainCounterexample(withInterrupts());
    expect(e.steps.map((s) => s.call).slice(-2)).toEqual(['interrupt: a device raises IRQ 5', 'interrupt: a device raises IRQ 0xffffffff (no PLIC source 1..95: nothing happens)']);
    expect(formatExplanation(e, 'cx.json')).toContain('interrupt: a device raises IRQ 5');
  });
});

const line = (irq: number, fields: Partial<IrqView> = {}): IrqView => ({ ...irqAtBoot(irq), ...fields });
const ntfn = (rights = seL4_AllRights): Cap => ({ type: 'notification', ptr: 0x80004000, badge: 3, rights });
const at = (l: IrqView, slot: Cap | null = null): IrqLine => ({ line: l, slot });

describe('what an interrupt event did with its line', () => {
  it('delivered, with or without a notification cap that can signal', () => {
    const signal = line(5, { state: 'Signal' });
    const taken = line(5, { state: 'Signal', claimed: true });
    expect(interruptResult(at(signal, ntfn()), taken)).toBe('delivered');
    expect(interruptResult(at(signal, ntfn(seL4_CanRead)), taken)).toBe('delivered-no-handler');
    expect(interruptResult(at(signal), taken)).toBe('delivered-no-handler');
  });

  it('left pending while masked or claimed; out of range', () => {
    expect(interruptResult(at(line(5)), line(5, { pending: true }))).toBe('pending-masked');
    expect(interruptResult(at(line(5, { state: 'Signal', claimed: true }), ntfn()), line(5, { state: 'Signal', claimed: true, pending: true }))).toBe('pending-claimed');
    expect(interruptResult(null, null)).toBe('out-of-range');
  });
});

describe('the IRQ events of an entry', () => {
  /** A view of the IRQ lines and IRQ node slots given; every other line as at boot. */
  const viewOf = (lines: readonly IrqView[], slots: ReadonlyMap<number, Cap> = new Map()): KernelView => ({
    cap: (s) => (s.cnode === irqNodeRef ? (slots.get(s.index) ?? { type: 'null' }) : null),
    cdtParent: () => null,
    object: () => null,
    objects: () => [],
    current: () => null,
    userWord: () => 0,
    nonZeroWord: () => null,
    scheduler: () => { throw new Error('not read'); },
    irq: (irq) => lines.find((l) => l.irq === irq) ?? irqAtBoot(irq),
    workUnitsCompleted: () => null, translate: () => null,
  });
  const none: readonly Touched[] = [];
  const ack = invocation(InvocationLabel.IRQAckIRQ, 50, [], []);

  it('issued, notification set and cleared, handler deleted: each told once, from the lines that changed', () => {
    const irqs = new IrqStates(viewOf([]));
    const issued = viewOf([line(7, { state: 'Signal' })]);
    expect(irqs.step(issued, invocation(InvocationLabel.IRQIssueIRQHandler, 4, [7, 50, 32], [2]), 'IRQIssueIRQHandler', none, false)).toEqual(['issued']);
    const withNtfn = viewOf([line(7, { state: 'Signal' })], new Map([[7, ntfn()]]));
    const touchedSlot: Touched[] = [{ slots: [{ cnode: irqNodeRef, index: 7 }], objects: [] }];
    expect(irqs.step(withNtfn, ack, 'IRQSetIRQHandler', touchedSlot, false)).toEqual(['notification-set']);
    expect(irqs.step(withNtfn, ack, 'Yield', none, false)).toEqual([]);
    expect(irqs.step(issued, ack, 'IRQClearIRQHandler', touchedSlot, false)).toEqual(['notification-cleared']);
    expect(irqs.step(viewOf([]), ack, 'CNodeDelete', none, false)).toEqual(['handler-deleted']);
    expect(irqs.step(viewOf([]), ack, 'CNodeDelete', none, false)).toEqual([]);
  });

  it('an Ack completes a claim, or delivers again the line raised meanwhile; a Get delivers a pending line it unmasks', () => {
    const claimed = line(7, { state: 'Signal', claimed: true });
    const irqs = new IrqStates(viewOf([claimed]));
    expect(irqs.step(viewOf([line(7, { state: 'Signal' })]), ack, 'IRQAckIRQ', none, false)).toEqual(['ack-completes']);
    const redelivery = new IrqStates(viewOf([{ ...claimed, pending: true }]));
    expect(redelivery.step(viewOf([claimed]), ack, 'IRQAckIRQ', none, false)).toEqual(['ack-redelivers']);
    const masked = new IrqStates(viewOf([line(7, { pending: true })]));
    expect(masked.step(viewOf([claimed]), ack, 'IRQIssueIRQHandler', none, false)).toEqual(['issued', 'issue-delivers-pending']);
  });

  it('an interrupt event whose delivery woke a thread', () => {
    const irqs = new IrqStates(viewOf([line(7, { state: 'Signal' })], new Map([[7, ntfn()]])));
    const delivered = viewOf([line(7, { state: 'Signal', claimed: true })], new Map([[7, ntfn()]]));
    expect(irqs.step(delivered, interrupt(7), 'Interrupt', none, true)).toEqual(['delivery-wakes-thread']);
  });
});

describe('--require-coverage', () => {
  it('names interrupt results, IRQ events and the IRQ invocations with their errors', () => {
    expect(parseCoverageRequirement('Interrupt:pending-claimed,IRQ:ack-redelivers,IRQIssueIRQHandler:RevokeFirst,IRQSetIRQHandler:seL4_InvalidCapability')).toEqual([
      { invocation: 'Interrupt', result: 'pending-claimed' },
      { invocation: 'IRQ', result: 'ack-redelivers' },
      { invocation: 'IRQIssueIRQHandler', result: 'seL4_RevokeFirst' },
      { invocation: 'IRQSetIRQHandler', result: 'seL4_InvalidCapability' },
    ]);
    expect(() => parseCoverageRequirement('IRQ:lost')).toThrow(/unknown result 'lost' in 'IRQ:lost' \(IRQ has issued, handler-deleted/);
    expect(() => parseCoverageRequirement('Interrupt:delivered-twice')).toThrow(/unknown result 'delivered-twice'/);
  });
});
