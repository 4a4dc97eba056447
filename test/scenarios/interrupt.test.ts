// Interrupt scenarios in our own words: every documented check of IRQControl_Get, GetTrigger and
// the three IRQHandler invocations in seL4's order (docs/sel4-facts.md §25.2-25.4), the IRQ
// node's slots in the CDT, deleting handler caps and revoking IRQ control, device interrupts on
// masked, claimed, acknowledged and out-of-range lines (§25.5); and sel4test's interrupt.c
// (INTERRUPT0002-INTERRUPT0006: a timer's notification lending its scheduling context to the
// thread that waits on it), with a device raising the IRQ every millisecond instead of
// sel4test's timer every 10 ms, and 3 runs instead of 10. Each runs on every layer alone and on
// all three in lockstep.
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel,
  irqNodeRef,
  kernelTimerIRQ,
  seL4_AllRights,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_CapIRQControl,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  type Cap,
  type IrqView,
  type LayerName,
  type SlotRef,
} from '../../libsel4/index.ts';
import { runSystem, type DeviceInterrupt, type Program, type ProgramContext, type RunResult } from '../../refinement/run.ts';
import { bootSystem, type System } from '../../refinement/system.ts';
import { Scenario, biggestUntypedSlot, modes } from './sched-common.ts';

const R = seL4_CapInitThreadCNode;
const E = seL4_Error;
const T = seL4_ObjectType;
const L = InvocationLabel;
const control = seL4_CapIRQControl;

interface Ctx {
  sys: System;
  root(index: number): SlotRef;
  cap(index: number): Cap | null;
  /** The cap in IRQ `irq`'s slot of the IRQ node. */
  irqSlot(irq: number): Cap | null;
  line(irq: number): IrqView;
  /** Retypes one object of `type` into the next free root slot: the slot. */
  make(type: number): number;
  /** The next free root slot (taken). */
  slot(): number;
}

function setup(mode: LayerName | 'lockstep'): Ctx {
  const sys = bootSystem({ layer: mode });
  const untyped = biggestUntypedSlot(sys.plan.bootInfo);
  let free = sys.plan.bootInfo.empty.start;
  const slot = () => free++;
  return {
    sys,
    root: (index) => ({ cnode: sys.plan.rootCNode, index }),
    cap: (index) => sys.view().cap({ cnode: sys.plan.rootCNode, index }),
    irqSlot: (irq) => sys.view().cap({ cnode: irqNodeRef, index: irq }),
    line: (irq) => sys.view().irq(irq),
    make(type) {
      const at = slot();
      expect(sys.api.seL4_Untyped_Retype(untyped, type, 0, R, 0, 0, at, 1)).toBe(E.seL4_NoError);
      return at;
    },
    slot,
  };
}

const line = (irq: number, state: IrqView['state'], pending = false, claimed = false): IrqView => ({ irq, state, pending, claimed });
const isEmpty = (cap: Cap | null) => cap === null || cap.type === 'null';

/** An IRQ handler cap of `irq` in a fresh root slot: the slot. */
function handlerOf(ctx: Ctx, irq: number): number {
  const at = ctx.slot();
  expect(ctx.sys.api.seL4_IRQControl_Get(control, irq, R, at, 32)).toBe(E.seL4_NoError);
  return at;
}

/** A notification and a cap to it minted with `badge` and `rights`: [the notification's slot, the minted cap's]. */
function mintedNotification(ctx: Ctx, badge: number, rights = seL4_AllRights): [number, number] {
  const ntfn = ctx.make(T.seL4_NotificationObject);
  const minted = ctx.slot();
  expect(ctx.sys.api.seL4_CNode_Mint(R, minted, 32, R, ntfn, 32, rights, badge)).toBe(E.seL4_NoError);
  return [ntfn, minted];
}

/** A Call of `label` on `service` with `words` in MR0.., `caps` as extra caps: the error. */
function raw(ctx: Ctx, label: number, service: number, words: readonly number[], caps: readonly number[]): seL4_Error {
  const { api } = ctx.sys;
  words.forEach((w, i) => api.seL4_SetMR(i, w));
  caps.forEach((c, i) => api.seL4_SetCap(i, c));
  const info = api.seL4_Call(service, seL4_MessageInfo_new(label, 0, caps.length, words.length));
  return (info >>> 12) as seL4_Error;
}

describe.each(modes)('IRQ invocations on %s', (mode) => {
  it('boot: IRQ control in slot 4, every line Inactive but the timer (Timer), the IRQ node empty', () => {
    const ctx = setup(mode);
    expect(ctx.cap(control)).toEqual({ type: 'irqcontrol' });
    for (const irq of [0, 1, 50, 95]) expect(ctx.line(irq)).toEqual(line(irq, 'Inactive'));
    expect(ctx.line(kernelTimerIRQ)).toEqual(line(kernelTimerIRQ, 'Timer'));
    for (const irq of [0, 1, 95, kernelTimerIRQ]) expect(isEmpty(ctx.irqSlot(irq))).toBe(true);
  });

  it('Get checks, in order: the message, the IRQ range, an issued IRQ, the destination lookup, an empty destination', () => {
    const ctx = setup(mode);
    const { seL4_IRQControl_Get: get, seL4_GetMR } = ctx.sys.api;
    const dest = ctx.slot();
    // 1. Fewer than three words, or no extra cap: TruncatedMessage (before the IRQ is looked at).
    expect(raw(ctx, L.IRQIssueIRQHandler, control, [0, dest], [R])).toBe(E.seL4_TruncatedMessage);
    expect(raw(ctx, L.IRQIssueIRQHandler, control, [0, dest, 32], [])).toBe(E.seL4_TruncatedMessage);
    // 2. IRQ 0 and past maxIRQ (the whole word compared): RangeError 1..96, even into an occupied slot.
    for (const irq of [0, kernelTimerIRQ + 1, 0xffffffff]) {
      expect(get(control, irq, R, seL4_CapInitThreadTCB, 32)).toBe(E.seL4_RangeError);
      expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([1, kernelTimerIRQ]);
    }
    // 3. The timer's IRQ, and one already issued: RevokeFirst, before the destination is looked up.
    expect(get(control, kernelTimerIRQ, R, dest, 32)).toBe(E.seL4_RevokeFirst);
    const issued = handlerOf(ctx, 7);
    expect(get(control, 7, R, 0xffffffff, 33)).toBe(E.seL4_RevokeFirst);
    // 4. The destination's lookup: a depth out of range (RangeError 1..32), past the guard, a root that is no CNode.
    expect(get(control, 8, R, dest, 33)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([1, 32]);
    expect(get(control, 8, R, 0xffff0000, 32)).toBe(E.seL4_FailedLookup);
    expect(get(control, 8, seL4_CapInitThreadTCB, dest, 32)).toBe(E.seL4_FailedLookup);
    // 5. An occupied destination: DeleteFirst.
    expect(get(control, 8, R, issued, 32)).toBe(E.seL4_DeleteFirst);
    // Nothing of this changed IRQ 8.
    expect(ctx.line(8)).toEqual(line(8, 'Inactive'));
    expect(isEmpty(ctx.cap(dest))).toBe(true);
  });

  it('Get issues a handler cap, a child of IRQ control, and unmasks the line (Signal)', () => {
    const ctx = setup(mode);
    const at = handlerOf(ctx, 95);
    expect(ctx.cap(at)).toEqual({ type: 'irqhandler', irq: 95 });
    expect(ctx.sys.view().cdtParent(ctx.root(at))).toEqual(ctx.root(control));
    expect(ctx.line(95)).toEqual(line(95, 'Signal'));
    expect(ctx.sys.api.seL4_IRQControl_Get(control, 1, R, ctx.slot(), 32)).toBe(E.seL4_NoError);
    expect(ctx.line(1)).toEqual(line(1, 'Signal'));
  });

  it('GetTrigger checks four words and an extra cap, then as Get; any trigger is accepted', () => {
    const ctx = setup(mode);
    const { seL4_IRQControl_GetTrigger: getTrigger, seL4_GetMR } = ctx.sys.api;
    const dest = ctx.slot();
    expect(raw(ctx, L.RISCVIRQIssueIRQHandlerTrigger, control, [3, 1, dest], [R])).toBe(E.seL4_TruncatedMessage);
    expect(raw(ctx, L.RISCVIRQIssueIRQHandlerTrigger, control, [3, 1, dest, 32], [])).toBe(E.seL4_TruncatedMessage);
    // Recorded on seL4: IRQ 100 with a trigger is a RangeError, not IllegalOperation.
    expect(getTrigger(control, 100, 1, R, dest, 32)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([1, kernelTimerIRQ]);
    expect(getTrigger(control, kernelTimerIRQ, 0, R, dest, 32)).toBe(E.seL4_RevokeFirst);
    expect(getTrigger(control, 3, 1, R, dest, 0)).toBe(E.seL4_RangeError);
    expect(getTrigger(control, 3, 0xffffffff, R, dest, 32)).toBe(E.seL4_NoError);
    expect(ctx.cap(dest)).toEqual({ type: 'irqhandler', irq: 3 });
    expect(getTrigger(control, 3, 0, R, ctx.slot(), 32)).toBe(E.seL4_RevokeFirst);
    expect(ctx.line(3)).toEqual(line(3, 'Signal'));
  });

  it('other labels on IRQ control and on a handler cap: IllegalOperation', () => {
    const ctx = setup(mode);
    const handler = handlerOf(ctx, 4);
    expect(raw(ctx, L.IRQAckIRQ, control, [], [])).toBe(E.seL4_IllegalOperation);
    expect(raw(ctx, L.IRQIssueIRQHandler, handler, [5, ctx.slot(), 32], [R])).toBe(E.seL4_IllegalOperation);
    expect(raw(ctx, L.CNodeDelete, handler, [0, 32], [])).toBe(E.seL4_IllegalOperation);
  });

  it('SetNotification: TruncatedMessage without an extra cap, InvalidCapability 0 for a cap that is no notification or lacks Write', () => {
    const ctx = setup(mode);
    const { seL4_IRQHandler_SetNotification: set, seL4_GetMR } = ctx.sys.api;
    const handler = handlerOf(ctx, 9);
    const [, readOnly] = mintedNotification(ctx, 5, seL4_CanRead);
    const ep = ctx.make(T.seL4_EndpointObject);
    expect(raw(ctx, L.IRQSetIRQHandler, handler, [], [])).toBe(E.seL4_TruncatedMessage);
    for (const wrong of [ep, readOnly, ctx.slot()]) {
      expect(set(handler, wrong)).toBe(E.seL4_InvalidCapability);
      expect(seL4_GetMR(0)).toBe(0);
    }
    expect(isEmpty(ctx.irqSlot(9))).toBe(true);
  });

  it('SetNotification installs the cap as it is (badge and rights kept), not original: a child of an original source, else its sibling; a second replaces it; Clear empties the slot', () => {
    const ctx = setup(mode);
    const { seL4_IRQHandler_SetNotification: set, seL4_IRQHandler_Clear: clear, seL4_CNode_Copy: copy } = ctx.sys.api;
    const handler = handlerOf(ctx, 9);
    const [ntfn, writeOnly] = mintedNotification(ctx, 0x30, seL4_CanWrite);
    const ptr = (ctx.cap(ntfn) as { ptr: number }).ptr;
    const parent = () => ctx.sys.view().cdtParent({ cnode: irqNodeRef, index: 9 });
    // The minted cap is original (its badge is new): the installed copy is its child.
    expect(set(handler, writeOnly)).toBe(E.seL4_NoError);
    expect(ctx.irqSlot(9)).toEqual({ type: 'notification', ptr, badge: 0x30, rights: seL4_CanWrite });
    expect(parent()).toEqual(ctx.root(writeOnly));
    expect(set(handler, ntfn)).toBe(E.seL4_NoError);
    expect(ctx.irqSlot(9)).toEqual(ctx.cap(ntfn));
    expect(parent()).toEqual(ctx.root(ntfn));
    // A copy is not original: the installed cap is the copy's sibling, a child of the notification's cap.
    const copied = ctx.slot();
    expect(copy(R, copied, 32, R, ntfn, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(set(handler, copied)).toBe(E.seL4_NoError);
    expect(parent()).toEqual(ctx.sys.view().cdtParent(ctx.root(copied)));
    expect(parent()).toEqual(ctx.root(ntfn));
    expect(clear(handler)).toBe(E.seL4_NoError);
    expect(isEmpty(ctx.irqSlot(9))).toBe(true);
    expect(clear(handler)).toBe(E.seL4_NoError);
    // The notification's own caps are untouched, and the line stays issued.
    expect(ctx.cap(writeOnly)).toMatchObject({ badge: 0x30 });
    expect(ctx.line(9)).toEqual(line(9, 'Signal'));
  });

  it('deleting a copy of a handler cap does nothing to the IRQ; deleting the last one empties its slot and masks it (Inactive)', () => {
    const ctx = setup(mode);
    const { seL4_CNode_Copy: copy, seL4_CNode_Move: move, seL4_CNode_Delete: del } = ctx.sys.api;
    const handler = handlerOf(ctx, 12);
    const [, badged] = mintedNotification(ctx, 1);
    expect(ctx.sys.api.seL4_IRQHandler_SetNotification(handler, badged)).toBe(E.seL4_NoError);
    const [copied, moved] = [ctx.slot(), ctx.slot()];
    expect(copy(R, copied, 32, R, handler, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(ctx.cap(copied)).toEqual({ type: 'irqhandler', irq: 12 });
    expect(move(R, moved, 32, R, handler, 32)).toBe(E.seL4_NoError);
    expect(del(R, moved, 32)).toBe(E.seL4_NoError);
    expect(ctx.line(12)).toEqual(line(12, 'Signal'));
    expect(ctx.irqSlot(12)).toMatchObject({ type: 'notification', badge: 1 });
    expect(ctx.sys.api.seL4_IRQHandler_Ack(copied)).toBe(E.seL4_NoError);
    expect(del(R, copied, 32)).toBe(E.seL4_NoError);
    expect(ctx.line(12)).toEqual(line(12, 'Inactive'));
    expect(isEmpty(ctx.irqSlot(12))).toBe(true);
    // The IRQ can be issued again.
    expect(ctx.sys.api.seL4_IRQControl_Get(control, 12, R, ctx.slot(), 32)).toBe(E.seL4_NoError);
  });

  it('revoking IRQ control deletes every handler cap issued from it: each line Inactive, its slot empty', () => {
    const ctx = setup(mode);
    const handlers = [20, 21].map((irq) => handlerOf(ctx, irq));
    const [, badged] = mintedNotification(ctx, 2);
    expect(ctx.sys.api.seL4_IRQHandler_SetNotification(handlers[0]!, badged)).toBe(E.seL4_NoError);
    expect(ctx.sys.api.seL4_CNode_Revoke(R, control, 32)).toBe(E.seL4_NoError);
    for (const [i, irq] of [20, 21].entries()) {
      expect(isEmpty(ctx.cap(handlers[i]!))).toBe(true);
      expect(ctx.line(irq)).toEqual(line(irq, 'Inactive'));
      expect(isEmpty(ctx.irqSlot(irq))).toBe(true);
    }
    expect(ctx.cap(control)).toEqual({ type: 'irqcontrol' });
    // A handler cap moved away is still a child of IRQ control: the revoke reaches it too.
    const moved = handlerOf(ctx, 22);
    const elsewhere = ctx.slot();
    expect(ctx.sys.api.seL4_CNode_Move(R, elsewhere, 32, R, moved, 32)).toBe(E.seL4_NoError);
    expect(ctx.sys.api.seL4_CNode_Revoke(R, control, 32)).toBe(E.seL4_NoError);
    expect(isEmpty(ctx.cap(elsewhere))).toBe(true);
    expect(ctx.line(22)).toEqual(line(22, 'Inactive'));
  });

  it('IRQ control derives to null: a copy of it is refused', () => {
    const ctx = setup(mode);
    const dest = ctx.slot();
    expect(ctx.sys.api.seL4_CNode_Copy(R, dest, 32, R, control, 32, seL4_AllRights)).not.toBe(E.seL4_NoError);
    expect(isEmpty(ctx.cap(dest))).toBe(true);
  });
});

describe.each(modes)('device interrupts on %s', (mode) => {
  it('a masked line stays pending; the Get that unmasks it delivers it at the end of its entry: claimed, nothing signalled', () => {
    const ctx = setup(mode);
    ctx.sys.interrupt(30);
    expect(ctx.line(30)).toEqual(line(30, 'Inactive', true));
    ctx.sys.interrupt(30);
    expect(ctx.line(30)).toEqual(line(30, 'Inactive', true));
    const handler = handlerOf(ctx, 30);
    expect(ctx.line(30)).toEqual(line(30, 'Signal', false, true));
    expect(ctx.sys.api.seL4_IRQHandler_Ack(handler)).toBe(E.seL4_NoError);
    expect(ctx.line(30)).toEqual(line(30, 'Signal'));
  });

  it('an issued line signals its notification with the badge and stays claimed until the Ack; raised meanwhile, the Ack delivers it again', () => {
    const ctx = setup(mode);
    const { seL4_Poll: poll, seL4_IRQHandler_Ack: ack } = ctx.sys.api;
    const handler = handlerOf(ctx, 5);
    const [ntfn, badged] = mintedNotification(ctx, 0x40);
    expect(ctx.sys.api.seL4_IRQHandler_SetNotification(handler, badged)).toBe(E.seL4_NoError);
    const ptr = (ctx.cap(ntfn) as { ptr: number }).ptr;
    ctx.sys.interrupt(5);
    expect(ctx.line(5)).toEqual(line(5, 'Signal', false, true));
    expect(ctx.sys.view().object(ptr)).toMatchObject({ state: 'Active', word: 0x40 });
    // Claimed: raised again, it stays pending; the notification is not signalled again.
    ctx.sys.interrupt(5);
    expect(ctx.line(5)).toEqual(line(5, 'Signal', true, true));
    expect(poll(ntfn).sender).toBe(0x40);
    expect(ctx.sys.view().object(ptr)).toMatchObject({ state: 'Idle' });
    expect(ack(handler)).toBe(E.seL4_NoError);
    expect(ctx.line(5)).toEqual(line(5, 'Signal', false, true));
    expect(ctx.sys.view().object(ptr)).toMatchObject({ state: 'Active', word: 0x40 });
    expect(ack(handler)).toBe(E.seL4_NoError);
    expect(ctx.line(5)).toEqual(line(5, 'Signal'));
  });

  it('without a notification, or with one cleared, an issued line is taken and nothing is signalled', () => {
    const ctx = setup(mode);
    const handler = handlerOf(ctx, 6);
    ctx.sys.interrupt(6);
    expect(ctx.line(6)).toEqual(line(6, 'Signal', false, true));
    const [ntfn] = mintedNotification(ctx, 1);
    expect(ctx.sys.api.seL4_IRQHandler_SetNotification(handler, ntfn)).toBe(E.seL4_NoError);
    expect(ctx.sys.api.seL4_IRQHandler_Clear(handler)).toBe(E.seL4_NoError);
    expect(ctx.sys.api.seL4_IRQHandler_Ack(handler)).toBe(E.seL4_NoError);
    ctx.sys.interrupt(6);
    expect(ctx.line(6)).toEqual(line(6, 'Signal', false, true));
    expect(ctx.sys.view().object((ctx.cap(ntfn) as { ptr: number }).ptr)).toMatchObject({ state: 'Idle' });
  });

  it('numbers that name no PLIC source change nothing: 0, the timer\'s 96, 97, 2^32 - 1', () => {
    const ctx = setup(mode);
    const before = [0, kernelTimerIRQ].map((irq) => ctx.line(irq));
    const clock = ctx.sys.view().scheduler();
    for (const irq of [0, kernelTimerIRQ, kernelTimerIRQ + 1, 0xffffffff]) expect(ctx.sys.interrupt(irq).unmodelled).toBeNull();
    expect([0, kernelTimerIRQ].map((irq) => ctx.line(irq))).toEqual(before);
    expect(ctx.sys.view().scheduler()).toEqual(clock);
  });

  it('the interrupt wakes a thread waiting on the notification, or bound to it and waiting on an endpoint; the higher one runs at once', () => {
    for (const bound of [false, true]) {
      const s = new Scenario(mode);
      const [ntfn, ep, handler] = [s.object(0), s.object(1), s.object(2)];
      const seen: string[] = [];
      function* waiter(sys: ProgramContext) {
        const { sender } = yield* sys.api.seL4_Wait(bound ? ep : ntfn);
        seen.push(`woken with ${sender}`);
        expect(yield* sys.api.seL4_IRQHandler_Ack(handler)).toBe(E.seL4_NoError);
      }
      function* root(sys: ProgramContext) {
        yield* s.retype(sys, T.seL4_NotificationObject, ntfn);
        yield* s.retype(sys, T.seL4_EndpointObject, ep);
        expect(yield* sys.api.seL4_IRQControl_Get(control, 40, R, handler, 32)).toBe(E.seL4_NoError);
        expect(yield* sys.api.seL4_IRQHandler_SetNotification(handler, ntfn)).toBe(E.seL4_NoError);
        yield* s.rootPriority(sys, 100);
        yield* s.start(sys, [{ program: waiter, priority: 150 }]);
        if (bound) expect(yield* sys.api.seL4_TCB_BindNotification(s.tcbSlot(0), ntfn)).toBe(E.seL4_NoError);
        seen.push(`root computes, the waiter ${s.tcb(0).state}`);
        yield* sys.compute(100n);
        seen.push('root runs again');
      }
      const result = runSystem(root, { system: s.system, maxSteps: 5000, devices: [{ atUs: 50n, irq: 40 }] });
      expect(result.stop).toBe('finished');
      expect(seen).toEqual([`root computes, the waiter ${bound ? 'BlockedOnReceive' : 'BlockedOnNotification'}`, 'woken with 0', 'root runs again']);
      expect(s.system.view().irq(40)).toEqual(line(40, 'Signal'));
    }
  });
});

// ---- sel4test's interrupt.c ----

/** The device standing in for sel4test's timer: its IRQ, and one interrupt every millisecond. */
const timerIRQ = 10;
const runs = 3;
const ticking = (count: number): DeviceInterrupt[] => Array.from({ length: count }, (_, i) => ({ atUs: 1000n * BigInt(i + 1), irq: timerIRQ }));

/**
 * The timer's notification (`ntfn`) and the IRQ handler signalling it with badge 1 (as
 * sel4test's driver mints BIT(0)), acknowledged once so that interrupts come in.
 */
function* timerNotification(s: Scenario, sys: ProgramContext, ntfn: number, badged: number, handler: number) {
  yield* s.retype(sys, T.seL4_NotificationObject, ntfn);
  expect(yield* sys.api.seL4_CNode_Mint(R, badged, 32, R, ntfn, 32, seL4_AllRights, 1)).toBe(E.seL4_NoError);
  expect(yield* sys.api.seL4_IRQControl_Get(control, timerIRQ, R, handler, 32)).toBe(E.seL4_NoError);
  expect(yield* sys.api.seL4_IRQHandler_SetNotification(handler, badged)).toBe(E.seL4_NoError);
  expect(yield* sys.api.seL4_IRQHandler_Ack(handler)).toBe(E.seL4_NoError);
}

/** sel4test's interrupt_helper: counts up to `runs`, waiting for the timer each time, then waits once more; each wait is acknowledged. */
function interruptHelper(ntfn: number, handler: number, state: { count: number }) {
  return function* helper(sys: ProgramContext) {
    const timerWait = function* () {
      yield* sys.api.seL4_Wait(ntfn);
      expect(yield* sys.api.seL4_IRQHandler_Ack(handler)).toBe(E.seL4_NoError);
    };
    while (state.count < runs) {
      state.count++;
      yield* timerWait();
    }
    yield* timerWait();
  };
}

/**
 * sel4test's set-up: the timer's notification and handler; helpers at priority 10 counting in
 * `states`, started in order, each waiting once the root task drops to 9; those in `passive`
 * then without their own contexts.
 */
function* helpersWaiting(s: Scenario, sys: ProgramContext, timer: { ntfn: number; badged: number; handler: number }, states: readonly { count: number }[], passive: readonly number[]) {
  yield* timerNotification(s, sys, timer.ntfn, timer.badged, timer.handler);
  yield* s.start(sys, states.map((state) => ({ program: interruptHelper(timer.ntfn, timer.handler, state), priority: 10 })));
  yield* s.rootPriority(sys, 9);
  for (const i of passive) yield* s.ownSC(sys, i, false);
}

describe.each(modes)("sel4test's interrupt.c on %s", (mode) => {
  function setupTimer() {
    const s = new Scenario(mode);
    const timer = { ntfn: s.object(0), badged: s.object(1), handler: s.object(2) };
    return { s, timer, ...timer };
  }
  const run = (s: Scenario, root: Program, ticks: number): RunResult => runSystem(root, { system: s.system, maxSteps: 5000, devices: ticking(ticks) });

  it('INTERRUPT0002: a passive thread waiting on the timer notification runs on the context bound to it, each interrupt', () => {
    const { s, timer, ntfn } = setupTimer();
    const state = { count: 0 };
    const result = run(s, function* root(sys: ProgramContext) {
      yield* helpersWaiting(s, sys, timer, [state], [0]);
      expect(state.count).toBe(1);
      expect(yield* sys.api.seL4_SchedContext_Bind(s.tcbSlot(0) + 1, ntfn)).toBe(E.seL4_NoError);
    }, runs + 1);
    expect(result.stop).toBe('finished');
    expect(state.count).toBe(runs);
    expect(s.tcb(0)).toMatchObject({ state: 'Inactive' });
  });

  it('INTERRUPT0003: a thread with its own context and a passive one on the same notification both count to the end', () => {
    const { s, timer, ntfn } = setupTimer();
    const [withSC, withoutSC] = [{ count: 0 }, { count: 0 }];
    const result = run(s, function* root(sys: ProgramContext) {
      yield* helpersWaiting(s, sys, timer, [withoutSC, withSC], [0]);
      expect(yield* sys.api.seL4_SchedContext_Bind(s.tcbSlot(0) + 1, ntfn)).toBe(E.seL4_NoError);
    }, 2 * (runs + 1));
    expect(result.stop).toBe('finished');
    expect([withSC.count, withoutSC.count]).toEqual([runs, runs]);
  });

  it('INTERRUPT0004: a passive thread and no context on the notification: the interrupts wake it, it never runs', () => {
    const { s, timer } = setupTimer();
    const state = { count: 0 };
    const result = run(s, function* root(sys: ProgramContext) {
      yield* helpersWaiting(s, sys, timer, [state], [0]);
    }, runs);
    expect(result.stop).toBe('idle');
    expect(state.count).toBe(1);
    expect(s.tcb(0)).toMatchObject({ state: 'Running', schedContext: null });
    // Nobody acknowledged the first: the later ones wait in the controller.
    expect(s.system.view().irq(timerIRQ)).toEqual(line(timerIRQ, 'Signal', true, true));
  });

  it('INTERRUPT0005: two passive threads and one context on the notification, lent to whichever is woken, kept by the one that ends on it', () => {
    const { s, timer, ntfn } = setupTimer();
    const [first, second] = [{ count: 0 }, { count: 0 }];
    const result = run(s, function* root(sys: ProgramContext) {
      yield* helpersWaiting(s, sys, timer, [second, first], [1, 0]);
      expect(yield* sys.api.seL4_SchedContext_Bind(s.tcbSlot(1) + 1, ntfn)).toBe(E.seL4_NoError);
    }, 2 * (runs + 1));
    expect([first.count, second.count]).toEqual([runs, runs]);
    // The one that ended last on the lent context keeps it (sel4test: "first stole the scheduling
    // context when it exited"): the other, woken by the last interrupt, cannot run.
    expect(result.stop).toBe('idle');
    expect(result.threads.map((t) => t.finished)).toEqual([true, true, false]);
    expect(s.tcb(1)).toMatchObject({ state: 'Inactive', schedContext: s.scOf(1) });
    expect(s.tcb(0)).toMatchObject({ state: 'Running', schedContext: null });
  });

  it('INTERRUPT0006: the context bound to the notification deleted: the interrupts lend nothing, the thread never runs', () => {
    const { s, timer, ntfn } = setupTimer();
    const state = { count: 0 };
    const result = run(s, function* root(sys: ProgramContext) {
      yield* helpersWaiting(s, sys, timer, [state], [0]);
      expect(yield* sys.api.seL4_SchedContext_Bind(s.tcbSlot(0) + 1, ntfn)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_CNode_Delete(R, s.tcbSlot(0) + 1, 32)).toBe(E.seL4_NoError);
    }, runs);
    expect(result.stop).toBe('idle');
    expect(state.count).toBe(1);
    expect(s.tcb(0)).toMatchObject({ state: 'Running', schedContext: null });
  });
});
