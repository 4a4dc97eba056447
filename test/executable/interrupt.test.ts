// The executable spec's interrupts: IRQ control and IRQ handler invocations with seL4's errors
// in seL4's order, the IRQ node in the CDT, the PLIC's pending and claimed bits, delivery.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as IL,
  irqNodeRef,
  kernelTimerIRQ,
  maxIRQ,
  Reg,
  seL4_AllRights,
  seL4_CanRead,
  seL4_CapIRQControl,
  seL4_Error,
  seL4_ObjectType as T,
  seL4_Syscall as S,
  syscallErrorWords,
  type IrqView,
  type KernelEvent,
  type Observation,
  type SlotRef,
} from '../../libsel4/index.ts';
import { allObjects, allUserWords, getSlot, getTCB, irqInvariantViolation, makeExecState, slotDifference, type ExecState } from '../../spec-executable/index.ts';
import { L, ROOT } from './harness.ts';
import { IPC } from './ipc-harness.ts';

const E = seL4_Error;

function irqSlot(irq: number): SlotRef {
  return { cnode: irqNodeRef, index: irq };
}

/** A root task with IRQ helpers; every state it reaches keeps the interrupt invariants. */
class Irqs extends IPC {
  override enter(event: KernelEvent): Observation {
    const observation = super.enter(event);
    const violation = irqInvariantViolation(this.state);
    if (violation !== null) throw new Error(`interrupt invariant broken: ${violation}`);
    return observation;
  }

  line(irq: number): IrqView {
    return L.view(this.state).irq(irq);
  }

  /** IRQControl_Get of `irq` into a new root CNode slot; returns the slot. */
  get(irq: number): number {
    const slot = this.freeSlot();
    expect(this.call(seL4_CapIRQControl, IL.IRQIssueIRQHandler, [irq, slot, 32], [ROOT])).toBe(E.seL4_NoError);
    return slot;
  }

  setNotification(handler: number, ntfn: number): number {
    return this.call(handler, IL.IRQSetIRQHandler, [], [ntfn]);
  }

  interrupt(irq: number): void {
    this.enter({ kind: 'interrupt', irq });
  }

  touchedSlot(ref: SlotRef): boolean {
    return this.last!.touched.slots.some((s) => s.cnode === ref.cnode && s.index === ref.index);
  }
}

describe('IRQControl_Get and GetTrigger', () => {
  it('check in seL4\'s order: truncation, range, active, target lookup, empty target', () => {
    const h = new Irqs();
    const free = h.freeSlot();
    const get = (mrs: number[], caps: number[] = [ROOT], info = {}) => h.call(seL4_CapIRQControl, IL.IRQIssueIRQHandler, mrs, caps, info);
    // Truncation comes first, even for IRQ 0.
    expect(get([0, free])).toBe(E.seL4_TruncatedMessage);
    expect(get([0, free, 32], [])).toBe(E.seL4_TruncatedMessage);
    // The whole word is range checked before anything else.
    for (const irq of [0, maxIRQ + 1, 0xffffffff]) {
      expect(get([irq, 0x7fffffff, 0])).toBe(E.seL4_RangeError);
      expect(h.mrs()).toEqual([1, maxIRQ]);
    }
    // The timer's line is active: RevokeFirst, before the bad depth is looked at.
    expect(get([kernelTimerIRQ, free, 0])).toBe(E.seL4_RevokeFirst);
    expect(get([5, free, 0])).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([1, 32]);
    expect(get([5, free, 32], [h.bigUntyped])).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual(syscallErrorWords({ error: 'FailedLookup', source: false, failure: { type: 'InvalidRoot' } }));
    expect(get([5, seL4_CapIRQControl, 32])).toBe(E.seL4_DeleteFirst);
    expect(h.line(5)).toEqual({ irq: 5, state: 'Inactive', pending: false, claimed: false });

    expect(get([5, free, 32])).toBe(E.seL4_NoError);
    expect(h.replyInfo()).toMatchObject({ label: 0, length: 0 });
    expect(h.cap(free)).toEqual({ type: 'irqhandler', irq: 5 });
    expect(h.parent(free)).toEqual(h.root(seL4_CapIRQControl));
    expect(h.line(5)).toEqual({ irq: 5, state: 'Signal', pending: false, claimed: false });
    // Issued: a second Get is RevokeFirst, even into a full slot.
    expect(get([5, free, 32])).toBe(E.seL4_RevokeFirst);
  });

  it('GetTrigger takes the trigger in MR1 and otherwise checks as Get; other labels are IllegalOperation', () => {
    const h = new Irqs();
    const free = h.freeSlot();
    const trigger = (mrs: number[], caps: number[] = [ROOT]) => h.call(seL4_CapIRQControl, IL.RISCVIRQIssueIRQHandlerTrigger, mrs, caps);
    expect(trigger([7, 1, free])).toBe(E.seL4_TruncatedMessage);
    expect(trigger([7, 1, free, 32], [])).toBe(E.seL4_TruncatedMessage);
    expect(trigger([100, 1, free, 32])).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([1, maxIRQ]);
    expect(trigger([7, 1, free, 32])).toBe(E.seL4_NoError);
    expect(h.cap(free)).toEqual({ type: 'irqhandler', irq: 7 });
    expect(h.line(7).state).toBe('Signal');
    expect(trigger([7, 0, h.freeSlot(), 32])).toBe(E.seL4_RevokeFirst);
    for (const label of [IL.IRQAckIRQ, IL.CNodeCopy, 0]) expect(h.call(seL4_CapIRQControl, label, [8, h.freeSlot(), 32], [ROOT])).toBe(E.seL4_IllegalOperation);
  });

  it('IRQ control derives to null: Copy is IllegalOperation', () => {
    const h = new Irqs();
    expect(h.api.seL4_CNode_Copy(ROOT, h.freeSlot(), 32, ROOT, seL4_CapIRQControl, 32, seL4_AllRights)).toBe(E.seL4_IllegalOperation);
  });
});

describe('IRQHandler invocations', () => {
  it('SetNotification checks its cap: missing, not a notification, or without Write', () => {
    const h = new Irqs();
    const handler = h.get(3);
    const { ep, ntfn } = h.ipcObjects();
    const readOnly = h.mint(ntfn, seL4_CanRead, 0);
    expect(h.call(handler, IL.IRQSetIRQHandler, [], [])).toBe(E.seL4_TruncatedMessage);
    for (const cap of [ep, readOnly, h.freeSlot()]) {
      expect(h.setNotification(handler, cap)).toBe(E.seL4_InvalidCapability);
      expect(h.mrs()).toEqual([0]);
    }
    expect(h.cap(irqSlot(3))).toEqual({ type: 'null' });
    expect(h.call(handler, IL.CNodeCopy, [])).toBe(E.seL4_IllegalOperation);
    expect(h.call(handler, IL.IRQIssueIRQHandler, [])).toBe(E.seL4_IllegalOperation);
  });

  it('SetNotification puts the cap as it is in the IRQ node, right after its source (its CDT child); a second replaces it; Clear empties it', () => {
    const h = new Irqs();
    const handler = h.get(3);
    const ntfn = h.retype(T.seL4_NotificationObject);
    const badged = h.mint(ntfn, seL4_AllRights, 0x40);
    expect(h.setNotification(handler, badged)).toBe(E.seL4_NoError);
    expect(h.touchedSlot(irqSlot(3))).toBe(true);
    expect(h.cap(irqSlot(3))).toEqual(h.cap(badged));
    expect(h.slot(irqSlot(3))!.mdb).toMatchObject({ prev: h.root(badged), revocable: false, firstBadged: false });
    expect(h.parent(irqSlot(3))).toEqual(h.root(badged));

    const second = h.mint(ntfn, seL4_AllRights, 0x80);
    expect(h.setNotification(handler, second)).toBe(E.seL4_NoError);
    expect(h.cap(irqSlot(3))).toEqual(h.cap(second));
    expect(h.slot(badged)!.mdb.next).not.toEqual(irqSlot(3));
    expect(h.slot(irqSlot(3))!.mdb.prev).toEqual(h.root(second));

    expect(h.call(handler, IL.IRQClearIRQHandler, [])).toBe(E.seL4_NoError);
    expect(h.touchedSlot(irqSlot(3))).toBe(true);
    expect(h.cap(irqSlot(3))).toEqual({ type: 'null' });
    expect(h.slot(second)!.mdb.next).not.toEqual(irqSlot(3));
    expect(h.line(3).state).toBe('Signal');
  });

  it('a notification whose last cap is in the IRQ node is finalised when Clear deletes it', () => {
    const h = new Irqs();
    const handler = h.get(4);
    const ntfn = h.retype(T.seL4_NotificationObject);
    const w = h.thread(100);
    h.yieldToThreads();
    h.sys(w.tcb, S.seL4_SysWait, [[Reg.a0, ntfn]]);
    const ntfnAddr = h.ptr(ntfn);
    expect(h.setNotification(handler, ntfn)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Delete(ROOT, ntfn, 32)).toBe(E.seL4_NoError);
    expect(h.view(ntfnAddr)).toMatchObject({ queue: [w.tcb] });
    expect(h.call(handler, IL.IRQClearIRQHandler, [])).toBe(E.seL4_NoError);
    expect(h.view(ntfnAddr)).toMatchObject({ state: 'Idle', queue: [] });
    // cancelAllSignals restarts the waiter, which outranks the root.
    expect(h.view(w.tcb)).toMatchObject({ state: 'Running' });
    expect(h.state.current).toBe(w.tcb);
  });
});

/** A root task (priority 50) with a handler for `irq` signalling `badge` to a notification a thread at priority 100 waits on. */
function driver(irq: number, badge: number): { h: Irqs; handler: number; ntfn: number; ntfnAddr: number; tcb: number; tcbSlot: number; scSlot: number; sc: number } {
  const h = new Irqs();
  const handler = h.get(irq);
  const ntfn = h.retype(T.seL4_NotificationObject);
  expect(h.setNotification(handler, h.mint(ntfn, seL4_AllRights, badge))).toBe(E.seL4_NoError);
  const w = h.thread(100);
  h.yieldToThreads();
  h.sys(w.tcb, S.seL4_SysWait, [[Reg.a0, ntfn]]);
  expect(h.state.current).toBe(h.rootTCB);
  return { h, handler, ntfn, ntfnAddr: h.ptr(ntfn), tcb: w.tcb, tcbSlot: w.tcbSlot, scSlot: w.scSlot, sc: w.sc };
}

describe('delivery', () => {
  it('signals the badge to the waiter, which runs; the source stays claimed until Ack, then a pending one is delivered', () => {
    const { h, handler, ntfn, ntfnAddr, tcb } = driver(9, 0x200);
    h.interrupt(9);
    expect(h.state.current).toBe(tcb);
    expect(h.view(tcb)).toMatchObject({ state: 'Running' });
    expect(h.regs(tcb)[Reg.a0]).toBe(0x200);
    expect(h.line(9)).toEqual({ irq: 9, state: 'Signal', pending: false, claimed: true });

    h.sys(tcb, S.seL4_SysWait, [[Reg.a0, ntfn]]);
    h.interrupt(9);
    expect(h.line(9)).toEqual({ irq: 9, state: 'Signal', pending: true, claimed: true });
    expect(h.view(ntfnAddr)).toMatchObject({ state: 'Waiting', queue: [tcb] });

    expect(h.call(handler, IL.IRQAckIRQ, [])).toBe(E.seL4_NoError);
    expect(h.line(9)).toEqual({ irq: 9, state: 'Signal', pending: false, claimed: true });
    expect(h.state.current).toBe(tcb);
    expect(h.regs(tcb)[Reg.a0]).toBe(0x200);
    expect(h.call(handler, IL.IRQAckIRQ, [])).toBe(E.seL4_NoError);
    expect(h.line(9)).toEqual({ irq: 9, state: 'Signal', pending: false, claimed: false });
  });

  it('keeps a source raised while masked pending; the Get that unmasks it has it delivered at the end of its entry', () => {
    const h = new Irqs();
    const before = h.state;
    h.interrupt(12);
    expect(h.line(12)).toEqual({ irq: 12, state: 'Inactive', pending: true, claimed: false });
    expect(h.state.objects).toBe(before.objects);
    expect(h.state.sched).toBe(before.sched);
    const handler = h.get(12);
    // Delivered with no notification installed: claimed, and dropped.
    expect(h.line(12)).toEqual({ irq: 12, state: 'Signal', pending: false, claimed: true });
    const ntfn = h.retype(T.seL4_NotificationObject);
    expect(h.setNotification(handler, h.mint(ntfn, seL4_AllRights, 0x1))).toBe(E.seL4_NoError);
    expect(h.call(handler, IL.IRQAckIRQ, [])).toBe(E.seL4_NoError);
    expect(h.view(h.ptr(ntfn))).toMatchObject({ state: 'Idle', word: 0 });
    h.interrupt(12);
    expect(h.view(h.ptr(ntfn))).toMatchObject({ state: 'Active', word: 0x1 });
  });

  it('takes the deliverable sources lowest first, each its own entry', () => {
    const { h, ntfn, ntfnAddr, tcb } = driver(7, 0x80);
    for (const irq of [3, 5]) {
      const handler = h.get(irq);
      expect(h.setNotification(handler, h.mint(ntfn, seL4_AllRights, 1 << irq))).toBe(E.seL4_NoError);
    }
    expect(h.view(ntfnAddr)).toMatchObject({ state: 'Waiting', queue: [tcb] });
    const state = h.state;
    const lines = state.interrupts.lines.map((line) => (line.irq === 3 || line.irq === 5 ? { ...line, pending: true } : line));
    const rebuilt: ExecState = makeExecState({
      objects: allObjects(state), memory: allUserWords(state), current: state.current, sched: state.sched, interrupts: { ...state.interrupts, lines },
    });
    const [outcome] = L.step(rebuilt, { kind: 'interrupt', irq: 7 });
    const view = L.view(outcome!.state);
    expect(outcome!.state.current).toBe(tcb);
    expect(getTCB(outcome!.state, tcb)!.regs[Reg.a0]).toBe(0x8);
    expect(view.object(ntfnAddr)).toMatchObject({ state: 'Active', word: 0x20 | 0x80 });
    for (const irq of [3, 5, 7]) expect(view.irq(irq)).toMatchObject({ pending: false, claimed: true });
  });

  it('lends the notification\'s SC to a passive driver it wakes (sel4test INTERRUPT0002)', () => {
    const { h, ntfn, ntfnAddr, tcb, tcbSlot, scSlot, sc } = driver(17, 0x2);
    expect(h.api.seL4_SchedContext_UnbindObject(scSlot, tcbSlot)).toBe(E.seL4_NoError);
    expect(h.api.seL4_SchedContext_Bind(scSlot, ntfn)).toBe(E.seL4_NoError);
    expect(h.view(tcb)).toMatchObject({ state: 'BlockedOnNotification', schedContext: null });
    h.interrupt(17);
    expect(h.state.current).toBe(tcb);
    expect(h.view(tcb)).toMatchObject({ state: 'Running', schedContext: sc });
    expect(h.view(sc)).toMatchObject({ tcb, notification: ntfnAddr });
    expect(h.regs(tcb)[Reg.a0]).toBe(0x2);
    h.sys(tcb, S.seL4_SysWait, [[Reg.a0, ntfn]]);
    expect(h.view(tcb)).toMatchObject({ state: 'BlockedOnNotification', schedContext: null });
    expect(h.state.current).toBe(h.rootTCB);
  });

  it('is taken while the idle thread runs', () => {
    const { h, ntfn, tcb } = driver(20, 0x4);
    h.sys(h.rootTCB, S.seL4_SysWait, [[Reg.a0, ntfn]]);
    expect(h.state.current).toBeNull();
    h.interrupt(20);
    expect(h.state.current).toBe(tcb);
    expect(h.regs(tcb)[Reg.a0]).toBe(0x4);
  });

  it('changes nothing for numbers that name no PLIC source, and never throws', () => {
    const h = new Irqs();
    h.get(1);
    const before = h.state;
    for (const irq of [0, kernelTimerIRQ, maxIRQ + 1, -1, 1.5, Number.NaN, 0xffffffff]) {
      h.interrupt(irq);
      expect(h.state).toBe(before);
      expect(h.last!.observation.unmodelled).toBeNull();
    }
  });
});

describe('deleting IRQ handler caps', () => {
  it('a copy\'s deletion leaves the IRQ; the final cap\'s deletes its notification cap and makes it Inactive', () => {
    const h = new Irqs();
    const handler = h.get(30);
    const copy = h.freeSlot();
    expect(h.api.seL4_CNode_Copy(ROOT, copy, 32, ROOT, handler, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(h.cap(copy)).toEqual({ type: 'irqhandler', irq: 30 });
    const ntfn = h.retype(T.seL4_NotificationObject);
    expect(h.setNotification(copy, ntfn)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Delete(ROOT, handler, 32)).toBe(E.seL4_NoError);
    expect(h.line(30).state).toBe('Signal');
    expect(h.cap(irqSlot(30))).toMatchObject({ type: 'notification' });
    expect(h.api.seL4_CNode_Delete(ROOT, copy, 32)).toBe(E.seL4_NoError);
    expect(h.line(30)).toEqual({ irq: 30, state: 'Inactive', pending: false, claimed: false });
    expect(h.cap(irqSlot(30))).toEqual({ type: 'null' });
    expect(h.touchedSlot(irqSlot(30))).toBe(true);
    expect(h.slot(ntfn)!.mdb.next).toBeNull();
    // Inactive again: it can be issued again, and a raised source is masked.
    h.interrupt(30);
    expect(h.line(30)).toMatchObject({ pending: true, claimed: false });
    h.get(30);
    expect(h.line(30)).toMatchObject({ state: 'Signal', pending: false, claimed: true });
  });

  it('revoking IRQ control deletes every handler cap issued from it, copies included', () => {
    const h = new Irqs();
    const a = h.get(10);
    const b = h.get(11);
    const copy = h.freeSlot();
    expect(h.api.seL4_CNode_Copy(ROOT, copy, 32, ROOT, a, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(h.parent(copy)).toEqual(h.root(a));
    expect(h.parent(a)).toEqual(h.root(seL4_CapIRQControl));
    const ntfn = h.retype(T.seL4_NotificationObject);
    expect(h.setNotification(b, ntfn)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Revoke(ROOT, seL4_CapIRQControl, 32)).toBe(E.seL4_NoError);
    for (const slot of [a, b, copy]) expect(h.cap(slot)).toEqual({ type: 'null' });
    expect(h.cap(seL4_CapIRQControl)).toEqual({ type: 'irqcontrol' });
    expect(h.line(10).state).toBe('Inactive');
    expect(h.line(11).state).toBe('Inactive');
    expect(h.cap(irqSlot(11))).toEqual({ type: 'null' });
  });
});

describe('the view', () => {
  it('boots with every line Inactive but the timer\'s, the IRQ node empty; asks for lines 0..maxIRQ only', () => {
    const h = new Irqs();
    const view = L.view(h.state);
    for (let irq = 0; irq <= maxIRQ; irq++) {
      expect(view.irq(irq)).toEqual({ irq, state: irq === kernelTimerIRQ ? 'Timer' : 'Inactive', pending: false, claimed: false });
      expect(view.cap(irqSlot(irq))).toEqual({ type: 'null' });
      expect(view.cdtParent(irqSlot(irq))).toBeNull();
    }
    expect(view.cap(irqSlot(maxIRQ + 1))).toBeNull();
    expect(() => view.irq(maxIRQ + 1)).toThrow(/no IRQ line 97/);
  });
});

/** IRQ node slots whose cap or MDB node differ between two states. */
function changedIRQNodeSlots(before: ExecState, after: ExecState): number[] {
  const changed: number[] = [];
  for (let irq = 0; irq <= maxIRQ; irq++) {
    if (slotDifference(getSlot(before, irqSlot(irq))!, getSlot(after, irqSlot(irq))!) !== null) changed.push(irq);
  }
  return changed;
}

const slotPick = fc.integer({ min: 0, max: 5 });
const opArb = fc.oneof(
  fc.record({ kind: fc.constant('interrupt' as const), irq: fc.integer({ min: -1, max: maxIRQ + 1 }) }),
  fc.record({ kind: fc.constant('get' as const), irq: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constantFrom(0, kernelTimerIRQ, maxIRQ + 1)), slot: slotPick }),
  fc.record({ kind: fc.constantFrom('ack' as const, 'clear' as const, 'set' as const, 'delete' as const), slot: slotPick, ntfn: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ kind: fc.constant('copy' as const), slot: slotPick, to: slotPick }),
  fc.record({ kind: fc.constant('revoke' as const) }),
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

describe('random IRQ workloads', () => {
  it('never throw, keep the interrupt invariants and name every IRQ node slot they change in touched', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), (ops: Op[]) => {
        const h = new Irqs();
        const ntfns = [h.retype(T.seL4_NotificationObject), h.retype(T.seL4_NotificationObject)];
        const slots = Array.from({ length: 6 }, () => h.freeSlot());
        for (const op of ops) {
          const before = h.state;
          switch (op.kind) {
            case 'interrupt':
              h.interrupt(op.irq);
              break;
            case 'get':
              h.call(seL4_CapIRQControl, IL.IRQIssueIRQHandler, [op.irq, slots[op.slot]!, 32], [ROOT]);
              break;
            case 'ack':
              h.call(slots[op.slot]!, IL.IRQAckIRQ, []);
              break;
            case 'clear':
              h.call(slots[op.slot]!, IL.IRQClearIRQHandler, []);
              break;
            case 'set':
              h.setNotification(slots[op.slot]!, ntfns[op.ntfn]!);
              break;
            case 'delete':
              h.api.seL4_CNode_Delete(ROOT, slots[op.slot]!, 32);
              break;
            case 'copy':
              h.api.seL4_CNode_Copy(ROOT, slots[op.to]!, 32, ROOT, slots[op.slot]!, 32, seL4_AllRights);
              break;
            case 'revoke':
              h.api.seL4_CNode_Revoke(ROOT, seL4_CapIRQControl, 32);
              break;
          }
          expect(h.last!.observation.unmodelled).toBeNull();
          for (const irq of changedIRQNodeSlots(before, h.state)) expect(h.touchedSlot(irqSlot(irq)), `IRQ node slot ${irq}`).toBe(true);
        }
      }),
      { numRuns: 25, endOnFailure: true },
    );
  });
});
