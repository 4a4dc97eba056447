// Interrupts on the impl: IRQControl_Get and GetTrigger (every error in seL4's order), the IRQ
// handler invocations, the IRQ node's slots in the MDB, deleting handler caps, and device
// interrupts (delivery, claims until Ack, masked sources kept pending).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel,
  Reg,
  irqNodeRef,
  kernelTimerIRQ,
  maxIRQ,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_CapIRQControl,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_Syscall,
  syscallErrorWords,
  syscallWord,
  type IrqView,
  type KernelView,
  type Observation,
  type SyscallError,
} from '../../libsel4/index.ts';
import { implLayer } from '../../impl/index.ts';
import { CNODE, D, T, bootRoot, regsOf, type Root } from './harness.ts';

const E = seL4_Error;
const L = InvocationLabel;
const S = seL4_Syscall;
// root CNode slots used here
const HANDLER = 200;
const HANDLER_COPY = 201;
const NTFN = 202;
const NTFN_BADGED = 203;
const NTFN2 = 204;
const NTFN_READ_ONLY = 205;
const EP = 206;
const HANDLER2 = 207;

function view(r: Root): KernelView {
  return implLayer.view(r.state);
}

const irqSlotRef = (irq: number) => ({ cnode: irqNodeRef, index: irq });

/** An invocation by the root with MRs `words` and extra caps `caps`: the reply's label (the error code, 0 for success). */
function invoke(r: Root, cptr: number, label: number, words: readonly number[], caps: readonly number[] = []): number {
  words.forEach((w, i) => r.api.seL4_SetMR(i, w));
  caps.forEach((c, i) => r.api.seL4_SetCap(i, c));
  return r.api.seL4_Call(cptr, seL4_MessageInfo_new(label, 0, caps.length, words.length)) >>> 12;
}

/** IRQControl_Get of `irq` into root slot `index` (depth D, the root CNode as the destination's root). */
function get(r: Root, irq: number, index = HANDLER, depth = D, root = CNODE): number {
  return invoke(r, seL4_CapIRQControl, L.IRQIssueIRQHandler, [irq, index, depth], [root]);
}

/** The last reply is `err`: its label and its words. */
function expectError(r: Root, code: number, err: SyscallError): void {
  expect(code).toBe(E[`seL4_${err.error}`]);
  const words = syscallErrorWords(err);
  expect(r.mrs(words.length)).toEqual(words);
}

function irq(r: Root, n: number): IrqView {
  return view(r).irq(n);
}

function raise(r: Root, n: number): Observation {
  return r.enter({ kind: 'interrupt', irq: n });
}

/** A notification in NTFN, a copy badged 0x9 in NTFN_BADGED, a second notification in NTFN2, a read-only copy, an endpoint. */
function setup(): Root {
  const r = bootRoot();
  const ut = r.untyped(16);
  const ok = (err: number) => expect(err).toBe(E.seL4_NoError);
  ok(r.api.seL4_Untyped_Retype(ut, T.seL4_NotificationObject, 0, CNODE, 0, 0, NTFN, 1));
  ok(r.api.seL4_CNode_Mint(CNODE, NTFN_BADGED, D, CNODE, NTFN, D, seL4_CanWrite | seL4_CanRead, 0x9));
  ok(r.api.seL4_Untyped_Retype(ut, T.seL4_NotificationObject, 0, CNODE, 0, 0, NTFN2, 1));
  ok(r.api.seL4_CNode_Mint(CNODE, NTFN_READ_ONLY, D, CNODE, NTFN, D, seL4_CanRead, 0x3));
  ok(r.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, CNODE, 0, 0, EP, 1));
  return r;
}

const ptrOf = (r: Root, slot: number) => (r.cap(slot) as { ptr: number }).ptr;

/** The root waits on NTFN: it blocks and the idle thread runs. */
function rootWaits(r: Root): void {
  const obs = r.enter({ kind: 'syscall', user: { regs: [[Reg.a0, NTFN], [Reg.a7, syscallWord(S.seL4_SysWait)]], ipcBuffer: [] } });
  expect(obs.caller!.state).toBe('BlockedOnNotification');
  expect(obs.current).toBeNull();
}

describe('impl IRQ control', () => {
  it('boots with every IRQ Inactive but the timer, nothing pending, the IRQ node empty', () => {
    const r = bootRoot();
    for (let n = 0; n <= maxIRQ; n++) {
      expect(irq(r, n)).toEqual({ irq: n, state: n === kernelTimerIRQ ? 'Timer' : 'Inactive', pending: false, claimed: false });
      expect(view(r).cap(irqSlotRef(n))).toEqual({ type: 'null' });
      expect(view(r).cdtParent(irqSlotRef(n))).toBeNull();
    }
    expect(view(r).cap(irqSlotRef(maxIRQ + 1))).toBeNull();
    expect(() => irq(r, maxIRQ + 1)).toThrow(RangeError);
  });

  it('Get checks in seL4\'s order: length and extra cap, the IRQ\'s range, whether it is active, the slot lookup, an empty slot', () => {
    const r = setup();
    expectError(r, invoke(r, seL4_CapIRQControl, L.IRQIssueIRQHandler, [5, HANDLER], [CNODE]), { error: 'TruncatedMessage' });
    expectError(r, invoke(r, seL4_CapIRQControl, L.IRQIssueIRQHandler, [5, HANDLER, D]), { error: 'TruncatedMessage' });
    // the range before the lookup (a depth of 0 would be RangeError 1..32)
    for (const bad of [0, maxIRQ + 1, 0xffffffff]) expectError(r, get(r, bad, HANDLER, 0), { error: 'RangeError', min: 1, max: maxIRQ });
    // the timer's IRQ is active; activity before the lookup
    expectError(r, get(r, kernelTimerIRQ, HANDLER, 0), { error: 'RevokeFirst' });
    expectError(r, get(r, 5, HANDLER, 33), { error: 'RangeError', min: 1, max: 32 });
    expectError(r, get(r, 5, HANDLER, D, EP), { error: 'FailedLookup', source: false, failure: { type: 'InvalidRoot' } });
    expectError(r, get(r, 5, NTFN), { error: 'DeleteFirst' });
    expect(irq(r, 5).state).toBe('Inactive');
    expect(get(r, 5)).toBe(E.seL4_NoError);
    // issued: RevokeFirst comes before the occupied slot's DeleteFirst
    expectError(r, get(r, 5, NTFN), { error: 'RevokeFirst' });
    // any other label is IllegalOperation, before the length is looked at
    expectError(r, invoke(r, seL4_CapIRQControl, L.IRQAckIRQ, []), { error: 'IllegalOperation' });
  });

  it('Get issues a revocable handler cap, a child of IRQ control, and makes the IRQ Signal', () => {
    const r = setup();
    expect(get(r, 95)).toBe(E.seL4_NoError);
    expect(r.cap(HANDLER)).toEqual({ type: 'irqhandler', irq: 95 });
    expect(r.parent(HANDLER)).toEqual(r.slot(seL4_CapIRQControl));
    expect(irq(r, 95)).toEqual({ irq: 95, state: 'Signal', pending: false, claimed: false });
    expect(r.lastTouched.slots).toContainEqual(r.slot(HANDLER));
    expect(r.obs().caller!.regs[Reg.a1]).toBe(seL4_MessageInfo_new(0, 0, 0, 0));
  });

  it('GetTrigger takes the trigger in MR1 and then checks as Get does', () => {
    const r = setup();
    const trigger = (words: number[], caps = [CNODE]) => invoke(r, seL4_CapIRQControl, L.RISCVIRQIssueIRQHandlerTrigger, words, caps);
    expectError(r, trigger([5, 1, HANDLER]), { error: 'TruncatedMessage' });
    expectError(r, trigger([5, 1, HANDLER, D], []), { error: 'TruncatedMessage' });
    expectError(r, trigger([100, 1, HANDLER, 0]), { error: 'RangeError', min: 1, max: maxIRQ });
    expectError(r, trigger([kernelTimerIRQ, 1, HANDLER, 0]), { error: 'RevokeFirst' });
    expectError(r, trigger([5, 1, HANDLER, 0]), { error: 'RangeError', min: 1, max: 32 });
    expectError(r, trigger([5, 0, NTFN, D]), { error: 'DeleteFirst' });
    expect(trigger([5, 1, HANDLER, D])).toBe(E.seL4_NoError);
    expect(r.cap(HANDLER)).toEqual({ type: 'irqhandler', irq: 5 });
    expect(irq(r, 5).state).toBe('Signal');
  });

  it('revoking IRQ control deletes every handler cap and its IRQ node slot, masking the IRQs', () => {
    const r = setup();
    expect(get(r, 3)).toBe(E.seL4_NoError);
    expect(get(r, 4, HANDLER2)).toBe(E.seL4_NoError);
    expect(invoke(r, HANDLER, L.IRQSetIRQHandler, [], [NTFN_BADGED])).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Revoke(CNODE, seL4_CapIRQControl, D)).toBe(E.seL4_NoError);
    expect(r.cap(HANDLER)).toEqual({ type: 'null' });
    expect(r.cap(HANDLER2)).toEqual({ type: 'null' });
    expect(view(r).cap(irqSlotRef(3))).toEqual({ type: 'null' });
    expect(irq(r, 3).state).toBe('Inactive');
    expect(irq(r, 4).state).toBe('Inactive');
    expect(r.lastTouched.slots).toContainEqual(irqSlotRef(3));
    expect(r.cap(seL4_CapIRQControl)).toEqual({ type: 'irqcontrol' });
    expect(get(r, 3)).toBe(E.seL4_NoError);
  });
});

describe('impl IRQ handlers', () => {
  it('SetNotification needs a notification cap with Write; other labels are IllegalOperation', () => {
    const r = setup();
    expect(get(r, 7)).toBe(E.seL4_NoError);
    expectError(r, invoke(r, HANDLER, L.IRQSetIRQHandler, []), { error: 'TruncatedMessage' });
    expectError(r, invoke(r, HANDLER, L.IRQSetIRQHandler, [], [EP]), { error: 'InvalidCapability', capIndex: 0 });
    expectError(r, invoke(r, HANDLER, L.IRQSetIRQHandler, [], [NTFN_READ_ONLY]), { error: 'InvalidCapability', capIndex: 0 });
    expectError(r, invoke(r, HANDLER, L.IRQIssueIRQHandler, [7, HANDLER2, D], [CNODE]), { error: 'IllegalOperation' });
    expect(view(r).cap(irqSlotRef(7))).toEqual({ type: 'null' });
    expect(invoke(r, HANDLER, L.IRQAckIRQ, [])).toBe(E.seL4_NoError);
    expect(invoke(r, HANDLER, L.IRQClearIRQHandler, [])).toBe(E.seL4_NoError);
  });

  it('SetNotification puts the cap as it is into the IRQ node, after its source; a second one replaces it', () => {
    const r = setup();
    expect(get(r, 7)).toBe(E.seL4_NoError);
    expect(invoke(r, HANDLER, L.IRQSetIRQHandler, [], [NTFN_BADGED])).toBe(E.seL4_NoError);
    const ntfn = ptrOf(r, NTFN);
    expect(view(r).cap(irqSlotRef(7))).toEqual({ type: 'notification', ptr: ntfn, badge: 0x9, rights: seL4_CanWrite | seL4_CanRead });
    expect(view(r).cdtParent(irqSlotRef(7))).toEqual(r.slot(NTFN_BADGED));
    expect(r.lastTouched.slots).toContainEqual(irqSlotRef(7));
    expect(invoke(r, HANDLER, L.IRQSetIRQHandler, [], [NTFN2])).toBe(E.seL4_NoError);
    expect(view(r).cap(irqSlotRef(7))).toMatchObject({ type: 'notification', ptr: ptrOf(r, NTFN2), badge: 0 });
    expect(view(r).cdtParent(irqSlotRef(7))).toEqual(r.slot(NTFN2));
    // the first cap's copy is gone: deleting its source leaves the MDB well linked
    expect(r.api.seL4_CNode_Delete(CNODE, NTFN_BADGED, D)).toBe(E.seL4_NoError);
    expect(view(r).cap(irqSlotRef(7))).toMatchObject({ ptr: ptrOf(r, NTFN2) });
    // revoking the source's original deletes the IRQ node's copy
    expect(r.api.seL4_CNode_Revoke(CNODE, NTFN2, D)).toBe(E.seL4_NoError);
    expect(view(r).cap(irqSlotRef(7))).toEqual({ type: 'null' });
    expect(r.lastTouched.slots).toContainEqual(irqSlotRef(7));
  });

  it('Clear empties the IRQ node slot: the interrupt is then delivered to no one', () => {
    const r = setup();
    expect(get(r, 7)).toBe(E.seL4_NoError);
    expect(invoke(r, HANDLER, L.IRQSetIRQHandler, [], [NTFN_BADGED])).toBe(E.seL4_NoError);
    expect(invoke(r, HANDLER, L.IRQClearIRQHandler, [])).toBe(E.seL4_NoError);
    expect(view(r).cap(irqSlotRef(7))).toEqual({ type: 'null' });
    raise(r, 7);
    expect(irq(r, 7)).toMatchObject({ pending: false, claimed: true });
    expect(view(r).object(ptrOf(r, NTFN))).toMatchObject({ state: 'Idle', word: 0 });
  });

  it('deleting a copy of the handler cap does nothing; deleting the last one deletes the IRQ node slot and masks the IRQ', () => {
    const r = setup();
    expect(get(r, 9)).toBe(E.seL4_NoError);
    expect(invoke(r, HANDLER, L.IRQSetIRQHandler, [], [NTFN_BADGED])).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Copy(CNODE, HANDLER_COPY, D, CNODE, HANDLER, D, 0xf)).toBe(E.seL4_NoError);
    expect(r.parent(HANDLER_COPY)).toEqual(r.slot(HANDLER));
    expect(r.api.seL4_CNode_Delete(CNODE, HANDLER, D)).toBe(E.seL4_NoError);
    expect(irq(r, 9).state).toBe('Signal');
    expect(view(r).cap(irqSlotRef(9))).toMatchObject({ type: 'notification', badge: 0x9 });
    expect(r.api.seL4_CNode_Delete(CNODE, HANDLER_COPY, D)).toBe(E.seL4_NoError);
    expect(irq(r, 9).state).toBe('Inactive');
    expect(view(r).cap(irqSlotRef(9))).toEqual({ type: 'null' });
    expect(r.lastTouched.slots).toEqual(expect.arrayContaining([r.slot(HANDLER_COPY), irqSlotRef(9)]));
    expect(r.cap(NTFN_BADGED)).toMatchObject({ type: 'notification', badge: 0x9 });
    // masked now: a raised interrupt stays pending
    raise(r, 9);
    expect(irq(r, 9)).toMatchObject({ state: 'Inactive', pending: true, claimed: false });
  });
});

describe('impl device interrupts', () => {
  it('a delivered interrupt signals the notification with the cap\'s badge and wakes its waiter; the claim holds until Ack', () => {
    const r = setup();
    expect(get(r, 7)).toBe(E.seL4_NoError);
    expect(invoke(r, HANDLER, L.IRQSetIRQHandler, [], [NTFN_BADGED])).toBe(E.seL4_NoError);
    rootWaits(r);
    const obs = raise(r, 7);
    expect(obs.current).toBe(r.plan.rootTCB);
    expect(regsOf(r, r.plan.rootTCB)[Reg.a0]).toBe(0x9);
    expect(view(r).object(r.plan.rootTCB)).toMatchObject({ state: 'Running' });
    expect(irq(r, 7)).toEqual({ irq: 7, state: 'Signal', pending: false, claimed: true });
    // claimed: raised again, it waits for the Ack
    raise(r, 7);
    expect(irq(r, 7)).toMatchObject({ pending: true, claimed: true });
    expect(view(r).object(ptrOf(r, NTFN))).toMatchObject({ state: 'Idle' });
    // Ack completes the claim; the pending source is taken at the end of the Ack's entry
    expect(invoke(r, HANDLER, L.IRQAckIRQ, [])).toBe(E.seL4_NoError);
    expect(irq(r, 7)).toMatchObject({ pending: false, claimed: true });
    expect(view(r).object(ptrOf(r, NTFN))).toMatchObject({ state: 'Active', word: 0x9 });
    expect(invoke(r, HANDLER, L.IRQAckIRQ, [])).toBe(E.seL4_NoError);
    expect(irq(r, 7)).toMatchObject({ pending: false, claimed: false });
  });

  it('the signal is a full one: a bound thread blocked receiving on an endpoint is woken with the badge', () => {
    const r = setup();
    expect(get(r, 20)).toBe(E.seL4_NoError);
    expect(invoke(r, HANDLER, L.IRQSetIRQHandler, [], [NTFN_BADGED])).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_BindNotification(seL4_CapInitThreadTCB, NTFN)).toBe(E.seL4_NoError);
    const waited = r.enter({ kind: 'syscall', user: { regs: [[Reg.a0, EP], [Reg.a7, syscallWord(S.seL4_SysWait)]], ipcBuffer: [] } });
    expect(waited.caller!.state).toBe('BlockedOnReceive');
    const obs = raise(r, 20);
    expect(obs.current).toBe(r.plan.rootTCB);
    expect(regsOf(r, r.plan.rootTCB)[Reg.a0]).toBe(0x9);
    expect(view(r).object(ptrOf(r, EP))).toMatchObject({ state: 'Idle', queue: [] });
    expect(r.lastTouched.objects).toContain(r.plan.rootTCB);
  });

  it('a masked source stays pending, and is taken when Get unmasks it', () => {
    const r = setup();
    raise(r, 12);
    raise(r, 12);
    expect(irq(r, 12)).toEqual({ irq: 12, state: 'Inactive', pending: true, claimed: false });
    expect(get(r, 12)).toBe(E.seL4_NoError);
    // taken at once, with no notification to signal yet
    expect(irq(r, 12)).toEqual({ irq: 12, state: 'Signal', pending: false, claimed: true });
    expect(invoke(r, HANDLER, L.IRQSetIRQHandler, [], [NTFN_BADGED])).toBe(E.seL4_NoError);
    expect(invoke(r, HANDLER, L.IRQAckIRQ, [])).toBe(E.seL4_NoError);
    expect(view(r).object(ptrOf(r, NTFN))).toMatchObject({ state: 'Idle' });
    raise(r, 12);
    expect(view(r).object(ptrOf(r, NTFN))).toMatchObject({ state: 'Active', word: 0x9 });
  });

  it('an interrupt entry charges the running thread\'s time and reschedules, as the timer\'s does', () => {
    const r = setup();
    expect(get(r, 7)).toBe(E.seL4_NoError);
    r.enter({ kind: 'time', ticks: 100n });
    const before = view(r).scheduler();
    expect(before.clockTicks).toBe(100n);
    expect(before.curTimeTicks).toBeLessThan(100n);
    raise(r, 7);
    expect(view(r).scheduler()).toMatchObject({ clockTicks: 100n, curTimeTicks: 100n });
    // a source naming no PLIC line enters no kernel
    r.enter({ kind: 'time', ticks: 5n });
    raise(r, 0);
    expect(view(r).scheduler()).toMatchObject({ clockTicks: 105n, curTimeTicks: 100n });
  });

  it('numbers outside 1..95 change nothing', () => {
    const r = setup();
    for (const n of [0, -1, kernelTimerIRQ, maxIRQ + 1, 1.5, Number.NaN, 2 ** 32 + 3]) {
      const obs = raise(r, n);
      expect(obs.unmodelled).toBeNull();
      expect(r.lastTouched).toEqual({ slots: [], objects: [] });
    }
    for (let n = 0; n <= maxIRQ; n++) expect(irq(r, n).pending).toBe(false);
  });

  it('interrupts in any state never throw, and the impl\'s IRQ invariants hold', () => {
    const r = setup();
    expect(get(r, 2)).toBe(E.seL4_NoError);
    expect(get(r, 3, HANDLER2)).toBe(E.seL4_NoError);
    const ntfnCaps = [NTFN, NTFN_BADGED, NTFN2, NTFN_READ_ONLY, EP, HANDLER];
    const handlers = [HANDLER, HANDLER2, HANDLER_COPY];
    const step = fc.oneof(
      fc.record({ kind: fc.constant('interrupt' as const), irq: fc.integer({ min: -1, max: maxIRQ + 1 }) }),
      fc.record({ kind: fc.constant('get' as const), irq: fc.integer({ min: 0, max: 6 }), slot: fc.constantFrom(...handlers) }),
      fc.record({ kind: fc.constant('handler' as const), slot: fc.constantFrom(...handlers), label: fc.constantFrom(L.IRQAckIRQ, L.IRQSetIRQHandler, L.IRQClearIRQHandler), cap: fc.constantFrom(...ntfnCaps) }),
      fc.record({ kind: fc.constant('copy' as const), slot: fc.constantFrom(...handlers) }),
      fc.record({ kind: fc.constant('delete' as const), slot: fc.constantFrom(...handlers, ...ntfnCaps) }),
      fc.record({ kind: fc.constant('revoke' as const), slot: fc.constantFrom(seL4_CapIRQControl, NTFN, NTFN2) }),
      fc.record({ kind: fc.constant('wait' as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const t = setup();
        for (const s of steps) {
          if (t.state.current === null && s.kind !== 'interrupt') {
            raise(t, 1);
            continue;
          }
          switch (s.kind) {
            case 'interrupt':
              raise(t, s.irq);
              break;
            case 'get':
              get(t, s.irq, s.slot);
              break;
            case 'handler':
              invoke(t, s.slot, s.label, [], [s.cap]);
              break;
            case 'copy':
              t.api.seL4_CNode_Copy(CNODE, HANDLER_COPY, D, CNODE, s.slot, D, 0xf);
              break;
            case 'delete':
              t.api.seL4_CNode_Delete(CNODE, s.slot, D);
              break;
            case 'revoke':
              t.api.seL4_CNode_Revoke(CNODE, s.slot, D);
              break;
            case 'wait':
              t.enter({ kind: 'syscall', user: { regs: [[Reg.a0, NTFN], [Reg.a7, syscallWord(S.seL4_SysWait)]], ipcBuffer: [] } });
          }
          expect(t.state.deliverableIRQs).toBe(0);
          checkIrqsAgainstCaps(t);
        }
      }),
      { numRuns: 40, seed: 12 },
    );
  });
});

/** An IRQ is Signal exactly when a handler cap to it exists in the root CNode; only Signal IRQs have IRQ node caps. */
function checkIrqsAgainstCaps(r: Root): void {
  const v = view(r);
  const handled = new Set<number>();
  for (const slot of [HANDLER, HANDLER2, HANDLER_COPY]) {
    const cap = r.cap(slot);
    if (cap?.type === 'irqhandler') handled.add(cap.irq);
  }
  for (let n = 1; n < kernelTimerIRQ; n++) {
    expect(v.irq(n).state).toBe(handled.has(n) ? 'Signal' : 'Inactive');
    if (!handled.has(n)) expect(v.cap(irqSlotRef(n))).toEqual({ type: 'null' });
  }
  expect(r.cap(seL4_CapInitThreadTCB)).toMatchObject({ type: 'thread' });
}
