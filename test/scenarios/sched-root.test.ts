// Scheduling and scheduling-context scenarios the root task can run on its own, in the manner
// of sel4test's scheduler.c, schedcontext.c and threads.c (MCS): every helper thread here is
// created, configured, resumed, suspended and deleted by the root, and never gets to run except
// where a test makes it the highest-priority thread on purpose (then the test ends there).
// Tests with several threads running are in sched-threads.test.ts.
//
// Translated here (each test names its sel4test origin):
//   SCHED0002 resume self; SCHED0010 resume with an unbound or deleted SC; SCHED0016 (root-side
//   part: suspend/resume keeps a thread queued only while it has budget); SCHED0017 YieldTo errors;
//   SCHED0019 YieldTo a lower-priority thread; SCHED0020 raising a thread's priority (the switch);
//   SCHED_CONTEXT_0001 SchedControl_Configure; SCHED_CONTEXT_0002 reconfiguring a paused thread;
//   SCHED_CONTEXT_0003 Bind/UnbindObject errors (TCB half); SCHED_CONTEXT_0005 deleting a bound SC
//   (root-side part); THREADS0004/0005 Configure/SetSpace with a null CSpace; plus the TCB basics
//   they rely on: priorities and MCP checks (SCHED0005's error cases), Read/WriteRegisters,
//   Consumed, the root's own time slice, reconfiguring the root's own SC, Resume on sporadic and
//   constant-bandwidth SCs.
// Not translated, and why:
//   SCHED0000 (needs a user-level timer driver and notifications), SCHED0015 (defined but not
//   registered as a test in sel4test; its budget shares are SCHED0013's), SCHED0004 (ends on seL4_Wait
//   and Send to an endpoint: IPC), SCHED0006 (non-MCS only), SCHED0007/0008/0009 (endpoint IPC
//   ordering), SCHED0011 (measures wall-clock accuracy with a user timer), SCHED0021 (excluded in
//   simulation; its round-robin content is in sched-threads), SCHED0022 and SCHED_CONTEXT_0014
//   (SMP), SCHED_CONTEXT_0003's notification half, 0006, 0007's lazy unbind, 0008..0013 (binding
//   SCs to notifications, donation over Call/Reply, reply objects: the IPC issue), domains
//   (domains.cxx: one domain in this model).
import { describe, expect, it } from 'vitest';
import {
  TCBSlot,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_CapNull,
  seL4_Error,
  seL4_ObjectType,
  seL4_SchedContext_Sporadic,
  bootThreadTimeSliceMicroseconds,
  maxPeriodMicroseconds,
  minBudgetMicroseconds,
  minBudgetTicks,
  numRegisters,
  timerPrecisionTicks,
  usToTicks,
  type Cap,
  type LayerName,
  type ObjectView,
} from '../../libsel4/index.ts';
import { bootSystem, type System } from '../../refinement/system.ts';
import { biggestUntypedSlot, modes } from './sched-common.ts';

const root = seL4_CapInitThreadCNode;
const E = seL4_Error;
const rootSliceTicks = usToTicks(bootThreadTimeSliceMicroseconds);
/** A RangeError's maximum is a word: MAX_PERIOD_US truncated to 32 bits, as seL4 replies it. */
const maxPeriodWord = Number(BigInt.asUintN(32, maxPeriodMicroseconds));

type TcbView = Extract<ObjectView, { type: 'tcb' }>;
type ScView = Extract<ObjectView, { type: 'schedcontext' }>;

interface Ctx {
  sys: System;
  /** The SchedControl cap's slot. */
  schedControl: number;
  /** Retypes `count` objects into the next free slots; returns the first slot. */
  make(type: number, sizeBits: number, count?: number): number;
  ptrOf(slot: number): number;
  tcb(slot: number): TcbView;
  sc(slot: number): ScView;
}

function setup(mode: LayerName | 'lockstep'): Ctx {
  const sys = bootSystem({ layer: mode });
  const bi = sys.plan.bootInfo;
  const untyped = biggestUntypedSlot(bi);
  let free = bi.empty.start;
  const cap = (slot: number): Cap => {
    const found = sys.view().cap({ cnode: sys.plan.rootCNode, index: slot });
    if (!found) throw new Error(`no slot ${slot} in the root CNode`);
    return found;
  };
  const ptrOf = (slot: number): number => {
    const c = cap(slot);
    if (!('ptr' in c)) throw new Error(`slot ${slot} holds a ${c.type} cap, which names no object`);
    return c.ptr;
  };
  const object = <T extends ObjectView['type']>(ptr: number, type: T): Extract<ObjectView, { type: T }> => {
    const o = sys.view().object(ptr);
    if (!o || o.type !== type) throw new Error(`expected a ${type} at ${ptr}, found ${o?.type ?? 'nothing'}`);
    return o as Extract<ObjectView, { type: T }>;
  };
  return {
    sys,
    schedControl: bi.schedcontrol.start,
    make(type, sizeBits, count = 1) {
      const first = free;
      expect(sys.api.seL4_Untyped_Retype(untyped, type, sizeBits, root, 0, 0, first, count)).toBe(E.seL4_NoError);
      free += count;
      return first;
    },
    ptrOf,
    tcb: (slot) => object(ptrOf(slot), 'tcb'),
    sc: (slot) => object(ptrOf(slot), 'schedcontext'),
  };
}

const T = seL4_ObjectType;

describe.each(modes)('scheduling scenarios of the root task on %s', (mode) => {
  it('boots the root on a 5 ms round-robin SC with the timer at the end of its slice', () => {
    const { sys, tcb } = setup(mode);
    const rootTCB = tcb(seL4_CapInitThreadTCB);
    expect(rootTCB).toMatchObject({ state: 'Running', priority: 255, mcp: 255, schedContext: sys.plan.rootSC, yieldTo: null });
    expect(sys.view().object(sys.plan.rootSC)).toMatchObject({
      type: 'schedcontext', tcb: sys.plan.rootTCB, periodTicks: 0n, refillMax: 2, sporadic: false, consumedTicks: 0n, yieldFrom: null,
      refills: [{ releaseTicks: 0n, amountTicks: rootSliceTicks }, { releaseTicks: 0n, amountTicks: 0n }],
    });
    expect(sys.view().scheduler()).toEqual({
      clockTicks: 0n, curTimeTicks: 0n, consumedTicks: 0n, currentSchedContext: sys.plan.rootSC,
      readyQueues: [], releaseQueue: [], timerDeadlineTicks: rootSliceTicks - timerPrecisionTicks,
    });
  });

  it('SCHED0002: resuming the running root changes nothing', () => {
    const { sys, tcb } = setup(mode);
    expect(sys.api.seL4_TCB_Resume(seL4_CapInitThreadTCB)).toBe(E.seL4_NoError);
    expect(tcb(seL4_CapInitThreadTCB).state).toBe('Running');
    expect(sys.view().current()).toBe(sys.plan.rootTCB);
    expect(sys.view().scheduler().readyQueues).toEqual([]);
  });

  it('THREADS0004/0005: Configure and SetSpace refuse a null CSpace', () => {
    const { sys, make, ptrOf } = setup(mode);
    const t = make(T.seL4_TCBObject, 0);
    expect(sys.api.seL4_TCB_Configure(t, seL4_CapNull, 0, seL4_CapInitThreadVSpace, 0, 0, seL4_CapNull)).toBe(E.seL4_IllegalOperation);
    expect(sys.api.seL4_TCB_SetSpace(t, seL4_CapNull, seL4_CapNull, 0, seL4_CapInitThreadVSpace, 0)).toBe(E.seL4_IllegalOperation);
    expect(sys.view().cap({ cnode: ptrOf(t), index: TCBSlot.cspace })).toEqual({ type: 'null' });
    // With the root's CNode it works, and the TCB gets a copy of it.
    expect(sys.api.seL4_TCB_Configure(t, root, 0, seL4_CapInitThreadVSpace, 0, 0, seL4_CapNull)).toBe(E.seL4_NoError);
    expect(sys.view().cap({ cnode: ptrOf(t), index: TCBSlot.cspace })).toMatchObject({ type: 'cnode', ptr: sys.plan.rootCNode });
  });

  it('writes and reads back another thread\'s registers, never its own', () => {
    const { sys, make } = setup(mode);
    const { seL4_TCB_WriteRegisters, seL4_TCB_ReadRegisters, seL4_GetMR } = sys.api;
    const t = make(T.seL4_TCBObject, 0);
    const values = Array.from({ length: numRegisters }, (_, i) => (0x9e3779b9 * (i + 1)) >>> 0);
    expect(seL4_TCB_WriteRegisters(t, false, 0, numRegisters, values)).toBe(E.seL4_NoError);
    expect(seL4_TCB_ReadRegisters(t, false, 0, numRegisters)).toEqual({ error: E.seL4_NoError, regs: values });
    expect(seL4_TCB_ReadRegisters(t, false, 0, 3).regs!.slice(0, 3)).toEqual(values.slice(0, 3));
    expect(seL4_TCB_ReadRegisters(t, false, 0, 0).error).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([1, numRegisters]);
    expect(seL4_TCB_ReadRegisters(t, false, 0, numRegisters + 1).error).toBe(E.seL4_RangeError);
    expect(seL4_TCB_ReadRegisters(seL4_CapInitThreadTCB, false, 0, 1).error).toBe(E.seL4_IllegalOperation);
    expect(seL4_TCB_WriteRegisters(seL4_CapInitThreadTCB, false, 0, 1, [0])).toBe(E.seL4_IllegalOperation);
    // Writing with resume_target starts a thread: it has no SC, so it is not queued.
    expect(seL4_TCB_WriteRegisters(t, true, 0, 1, [0x1000])).toBe(E.seL4_NoError);
    expect(sys.view().scheduler().readyQueues).toEqual([]);
  });

  it('SCHED0005 (error cases): priorities and MCPs are checked against the authority\'s MCP', () => {
    const { sys, make, tcb } = setup(mode);
    const { seL4_TCB_SetPriority, seL4_TCB_SetMCPriority, seL4_GetMR } = sys.api;
    const t1 = make(T.seL4_TCBObject, 0, 2);
    const t2 = t1 + 1;
    expect(tcb(t1)).toMatchObject({ priority: 0, mcp: 0, state: 'Inactive', schedContext: null });
    expect(seL4_TCB_SetPriority(t1, seL4_CapInitThreadTCB, 256)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([0, 255]);
    expect(seL4_TCB_SetPriority(t1, seL4_CapInitThreadTCB, 253)).toBe(E.seL4_NoError);
    expect(seL4_TCB_SetMCPriority(t1, seL4_CapInitThreadTCB, 253)).toBe(E.seL4_NoError);
    expect(seL4_TCB_SetMCPriority(t2, seL4_CapInitThreadTCB, 251)).toBe(E.seL4_NoError);
    // t2 as the authority: at most its MCP 251.
    expect(seL4_TCB_SetPriority(t1, t2, 252)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([0, 251]);
    expect(seL4_TCB_SetPriority(t1, t2, 251)).toBe(E.seL4_NoError);
    // t1 lowers its own MCP, and can no longer raise its priority or MCP above it.
    expect(seL4_TCB_SetMCPriority(t1, t1, 249)).toBe(E.seL4_NoError);
    expect(seL4_TCB_SetPriority(t1, t1, 250)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([0, 249]);
    expect(seL4_TCB_SetMCPriority(t1, t1, 253)).toBe(E.seL4_RangeError);
    expect(tcb(t1)).toMatchObject({ priority: 251, mcp: 249 });
    // The authority must be a TCB cap; both arguments must be there.
    expect(seL4_TCB_SetPriority(t1, root, 1)).toBe(E.seL4_InvalidCapability);
    expect(seL4_GetMR(0)).toBe(1);
    expect(sys.api.seL4_TCB_SetMCPriority(t1, seL4_CapNull, 1)).toBe(E.seL4_InvalidCapability);
  });

  it('the root lowers its own MCP and cannot raise it again', () => {
    const { sys, make, tcb } = setup(mode);
    const t = make(T.seL4_TCBObject, 0);
    expect(sys.api.seL4_TCB_SetMCPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 100)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_TCB_SetPriority(t, seL4_CapInitThreadTCB, 101)).toBe(E.seL4_RangeError);
    expect([sys.api.seL4_GetMR(0), sys.api.seL4_GetMR(1)]).toEqual([0, 100]);
    expect(sys.api.seL4_TCB_SetMCPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 255)).toBe(E.seL4_RangeError);
    // Its priority stays 255 (only the MCP moved), so it keeps running.
    expect(tcb(seL4_CapInitThreadTCB)).toMatchObject({ priority: 255, mcp: 100, state: 'Running' });
  });

  it('SCHED_CONTEXT_0001: SchedControl_ConfigureFlags checks budget and period in seL4 order', () => {
    const { sys, make, sc, schedControl } = setup(mode);
    const { seL4_SchedControl_ConfigureFlags: configure, seL4_GetMR } = sys.api;
    const s = make(T.seL4_SchedContextObject, 8);
    const t = make(T.seL4_TCBObject, 0);
    expect(sc(s)).toMatchObject({ tcb: null, refillMax: 0, periodTicks: 0n, consumedTicks: 0n, sporadic: false, badge: 0 });
    // Time passes first, so that the refill's release time shows when it was configured.
    sys.api.passTime(1000n);
    expect(configure(schedControl, s, 5000n, 5000n, 0, 0, 0)).toBe(E.seL4_NoError);
    // budget == period: round robin, period 0, two refills (the empty tail tracks usage).
    expect(sc(s)).toMatchObject({
      periodTicks: 0n, refillMax: 2, sporadic: false,
      refills: [{ releaseTicks: 1000n, amountTicks: usToTicks(5000n) }, { releaseTicks: 1000n, amountTicks: 0n }],
    });
    expect(configure(schedControl, t, 5000n, 5000n, 0, 0, 0)).toBe(E.seL4_InvalidCapability);
    expect(seL4_GetMR(0)).toBe(1);
    expect(configure(schedControl, s, 0n, 5000n, 0, 0, 0)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([Number(minBudgetMicroseconds), maxPeriodWord]);
    expect(configure(schedControl, s, 0n, 0n, 0, 0, 0)).toBe(E.seL4_RangeError);
    expect(configure(schedControl, s, 5000n, 1000n, 0, 0, 0)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([Number(minBudgetMicroseconds), 1000]);
    expect(configure(schedControl, s, 1n, 5000n, 0, 0, 0)).toBe(E.seL4_RangeError);
    // Range errors are found before the target cap is looked at.
    expect(configure(schedControl, t, 1n, 5000n, 0, 0, 0)).toBe(E.seL4_RangeError);
    expect(configure(schedControl, s, 5000n, maxPeriodMicroseconds + 1n, 0, 0, 0)).toBe(E.seL4_RangeError);
    // Failed configurations left the SC as it was.
    expect(sc(s)).toMatchObject({ periodTicks: 0n, refillMax: 2 });
    expect(configure(schedControl, s, minBudgetMicroseconds, 5000n, 0, 7, 1)).toBe(E.seL4_NoError);
    expect(sc(s)).toMatchObject({
      periodTicks: usToTicks(5000n), refillMax: 2, sporadic: true, badge: 7,
      refills: [{ releaseTicks: 1000n, amountTicks: minBudgetTicks }],
    });
    // Extra refills: a 2^8 SC holds 10 beyond the two minimum ones.
    expect(configure(schedControl, s, 100n, 1000n, 11, 0, 0)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([0, 10]);
    expect(configure(schedControl, s, 100n, 1000n, 10, 0, 0)).toBe(E.seL4_NoError);
    expect(sc(s)).toMatchObject({ refillMax: 12, sporadic: false, refills: [{ releaseTicks: 1000n, amountTicks: usToTicks(100n) }] });
  });

  it('SCHED_CONTEXT_0003 (TCB half): Bind and UnbindObject errors', () => {
    const { sys, make, sc, tcb, ptrOf } = setup(mode);
    const { seL4_SchedContext_Bind: bind, seL4_SchedContext_UnbindObject: unbindObject, seL4_SchedContext_Unbind: unbind, seL4_GetMR } = sys.api;
    const t = make(T.seL4_TCBObject, 0);
    const s = make(T.seL4_SchedContextObject, 8, 2);
    const ep = make(T.seL4_EndpointObject, 0);
    expect(bind(s, ep)).toBe(E.seL4_InvalidCapability);
    expect(seL4_GetMR(0)).toBe(1);
    expect(bind(s, t)).toBe(E.seL4_NoError);
    expect(sc(s).tcb).toBe(ptrOf(t));
    expect(tcb(t).schedContext).toBe(ptrOf(s));
    expect(bind(s, t)).toBe(E.seL4_IllegalOperation);
    // Another SC to the same TCB, or any SC to the root (it has one): IllegalOperation.
    expect(bind(s + 1, t)).toBe(E.seL4_IllegalOperation);
    expect(bind(s + 1, seL4_CapInitThreadTCB)).toBe(E.seL4_IllegalOperation);
    expect(unbindObject(s + 1, t)).toBe(E.seL4_IllegalOperation);
    expect(unbindObject(s, ep)).toBe(E.seL4_InvalidCapability);
    expect(unbindObject(s, t)).toBe(E.seL4_NoError);
    expect([sc(s).tcb, tcb(t).schedContext]).toEqual([null, null]);
    expect(unbindObject(s, t)).toBe(E.seL4_IllegalOperation);
    // The root's own SC cannot be taken from it, by either call.
    expect(unbind(seL4_CapInitThreadSC)).toBe(E.seL4_IllegalOperation);
    expect(unbindObject(seL4_CapInitThreadSC, seL4_CapInitThreadTCB)).toBe(E.seL4_IllegalOperation);
    expect(tcb(seL4_CapInitThreadTCB).schedContext).toBe(sys.plan.rootSC);
    // Unbind with nothing bound succeeds.
    expect(unbind(s)).toBe(E.seL4_NoError);
  });

  it('SetSchedParams binds an SC and sets MCP, priority and fault handler together', () => {
    const { sys, make, sc, tcb, ptrOf, schedControl } = setup(mode);
    const { seL4_TCB_SetSchedParams: setSchedParams } = sys.api;
    const t = make(T.seL4_TCBObject, 0, 2);
    const s = make(T.seL4_SchedContextObject, 8);
    const ep = make(T.seL4_EndpointObject, 0);
    const nt = make(T.seL4_NotificationObject, 0);
    expect(sys.api.seL4_SchedControl_ConfigureFlags(schedControl, s, 1000n, 10000n, 0, 0, 0)).toBe(E.seL4_NoError);
    expect(setSchedParams(t, seL4_CapInitThreadTCB, 256, 0, s, ep)).toBe(E.seL4_RangeError);
    expect(setSchedParams(t, seL4_CapInitThreadTCB, 10, 256, s, ep)).toBe(E.seL4_RangeError);
    expect(setSchedParams(t, seL4_CapInitThreadTCB, 10, 20, ep, ep)).toBe(E.seL4_InvalidCapability);
    expect(sys.api.seL4_GetMR(0)).toBe(2);
    expect(setSchedParams(t, seL4_CapInitThreadTCB, 10, 20, s, nt)).toBe(E.seL4_InvalidCapability);
    expect(sys.api.seL4_GetMR(0)).toBe(3);
    // A priority above the new MCP is fine: only the authority's MCP bounds it.
    expect(setSchedParams(t, seL4_CapInitThreadTCB, 10, 20, s, ep)).toBe(E.seL4_NoError);
    expect(tcb(t)).toMatchObject({ mcp: 10, priority: 20, schedContext: ptrOf(s), state: 'Inactive' });
    expect(sc(s).tcb).toBe(ptrOf(t));
    expect(sys.view().cap({ cnode: ptrOf(t), index: TCBSlot.faultHandler })).toMatchObject({ type: 'endpoint', ptr: ptrOf(ep) });
    // The SC is taken; the other TCB cannot have it, nor can t take the root's.
    expect(setSchedParams(t + 1, seL4_CapInitThreadTCB, 0, 0, s, seL4_CapNull)).toBe(E.seL4_IllegalOperation);
    expect(setSchedParams(t + 1, seL4_CapInitThreadTCB, 0, 0, seL4_CapInitThreadSC, seL4_CapNull)).toBe(E.seL4_IllegalOperation);
    // The current thread's SC cannot be removed with a null SC cap.
    expect(setSchedParams(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 255, 255, seL4_CapNull, seL4_CapNull)).toBe(E.seL4_IllegalOperation);
    // A null SC cap unbinds another thread's.
    expect(setSchedParams(t, seL4_CapInitThreadTCB, 10, 20, seL4_CapNull, seL4_CapNull)).toBe(E.seL4_NoError);
    expect([tcb(t).schedContext, sc(s).tcb]).toEqual([null, null]);
    expect(sys.view().cap({ cnode: ptrOf(t), index: TCBSlot.faultHandler })).toEqual({ type: 'null' });
  });

  it('SCHED0019 (root side) and SCHED0016: a resumed thread below the root waits in its ready queue', () => {
    const { sys, make, sc, tcb, ptrOf, schedControl } = setup(mode);
    const { seL4_TCB_Resume: resume, seL4_TCB_Suspend: suspend } = sys.api;
    const t = make(T.seL4_TCBObject, 0);
    const s = make(T.seL4_SchedContextObject, 8);
    expect(sys.api.seL4_SchedControl_ConfigureFlags(schedControl, s, 1000n, 10000n, 0, 0, 0)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_TCB_SetSchedParams(t, seL4_CapInitThreadTCB, 0, 0, s, seL4_CapNull)).toBe(E.seL4_NoError);
    expect(resume(t)).toBe(E.seL4_NoError);
    expect(tcb(t).state).toBe('Restart');
    expect(sys.view().current()).toBe(sys.plan.rootTCB);
    expect(sys.view().scheduler().readyQueues).toEqual([{ priority: 0, threads: [ptrOf(t)] }]);
    // Resuming again changes nothing; suspending takes it out of the queue, twice is harmless.
    expect(resume(t)).toBe(E.seL4_NoError);
    expect(sys.view().scheduler().readyQueues).toEqual([{ priority: 0, threads: [ptrOf(t)] }]);
    expect(suspend(t)).toBe(E.seL4_NoError);
    expect(suspend(t)).toBe(E.seL4_NoError);
    expect(tcb(t).state).toBe('Inactive');
    expect(sys.view().scheduler().readyQueues).toEqual([]);
    expect(resume(t)).toBe(E.seL4_NoError);
    // YieldTo a lower-priority thread: it goes to the head of its queue, the root goes on.
    const yielded = sys.api.seL4_SchedContext_YieldTo(s);
    expect(yielded).toEqual({ error: E.seL4_NoError, consumed: 0n });
    expect(sys.view().current()).toBe(sys.plan.rootTCB);
    expect(tcb(seL4_CapInitThreadTCB).yieldTo).toBeNull();
    expect(sc(s).yieldFrom).toBeNull();
    // Moving its priority moves it between queues; the root (255) stays current.
    expect(sys.api.seL4_TCB_SetPriority(t, seL4_CapInitThreadTCB, 10)).toBe(E.seL4_NoError);
    expect(sys.view().scheduler().readyQueues).toEqual([{ priority: 10, threads: [ptrOf(t)] }]);
    // Reading its registers with suspend_source stops it.
    expect(sys.api.seL4_TCB_ReadRegisters(t, true, 0, 1).error).toBe(E.seL4_NoError);
    expect(tcb(t).state).toBe('Inactive');
    expect(sys.view().scheduler().readyQueues).toEqual([]);
  });

  it('SCHED0010: a thread without a usable SC is resumed but never queued', () => {
    const { sys, make, tcb, sc, schedControl } = setup(mode);
    const { seL4_TCB_Resume: resume } = sys.api;
    const t = make(T.seL4_TCBObject, 0);
    const s = make(T.seL4_SchedContextObject, 8);
    expect(sys.api.seL4_TCB_SetPriority(t, seL4_CapInitThreadTCB, 254)).toBe(E.seL4_NoError);
    // No SC at all.
    expect(resume(t)).toBe(E.seL4_NoError);
    expect(tcb(t).state).toBe('Restart');
    expect(sys.view().scheduler().readyQueues).toEqual([]);
    // An SC that was never configured (no refills) does not make it schedulable either.
    expect(sys.api.seL4_SchedContext_Bind(s, t)).toBe(E.seL4_NoError);
    expect(sc(s).refillMax).toBe(0);
    expect(resume(t)).toBe(E.seL4_NoError);
    expect(sys.view().scheduler().readyQueues).toEqual([]);
    sys.api.passTime(usToTicks(10_000n));
    expect(sys.view().current()).toBe(sys.plan.rootTCB);
    // Deleting the SC leaves the thread unbound and still unqueued.
    expect(sys.api.seL4_CNode_Delete(root, s, 32)).toBe(E.seL4_NoError);
    expect(tcb(t).schedContext).toBeNull();
    expect(resume(t)).toBe(E.seL4_NoError);
    expect(sys.view().scheduler().readyQueues).toEqual([]);
    expect(sys.api.seL4_SchedControl_ConfigureFlags(schedControl, s, 1000n, 1000n, 0, 0, 0)).toBe(E.seL4_InvalidCapability);
  });

  it('SCHED_CONTEXT_0002 and 0005 (root side): configuring a bound SC queues a runnable thread, deleting it dequeues', () => {
    const { sys, make, tcb, sc, ptrOf, schedControl } = setup(mode);
    const t = make(T.seL4_TCBObject, 0);
    const s = make(T.seL4_SchedContextObject, 8);
    expect(sys.api.seL4_TCB_SetPriority(t, seL4_CapInitThreadTCB, 100)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_SchedContext_Bind(s, t)).toBe(E.seL4_NoError);
    // Configuring the SC of a paused thread.
    expect(sys.api.seL4_SchedControl_ConfigureFlags(schedControl, s, 5000n, 5000n, 0, 0, 0)).toBe(E.seL4_NoError);
    expect(sys.view().scheduler().readyQueues).toEqual([]);
    expect(sys.api.seL4_TCB_Resume(t)).toBe(E.seL4_NoError);
    expect(sys.view().scheduler().readyQueues).toEqual([{ priority: 100, threads: [ptrOf(t)] }]);
    // Reconfiguring it while it is ready keeps it ready.
    expect(sys.api.seL4_SchedControl_ConfigureFlags(schedControl, s, 3000n, 3000n, 0, 0, 0)).toBe(E.seL4_NoError);
    expect(sc(s).refills[0]!.amountTicks).toBe(usToTicks(3000n));
    expect(sys.view().scheduler().readyQueues).toEqual([{ priority: 100, threads: [ptrOf(t)] }]);
    // Unbinding takes it off the queue; binding again puts it back.
    expect(sys.api.seL4_SchedContext_Unbind(s)).toBe(E.seL4_NoError);
    expect(sys.view().scheduler().readyQueues).toEqual([]);
    expect(sys.api.seL4_SchedContext_Bind(s, t)).toBe(E.seL4_NoError);
    expect(sys.view().scheduler().readyQueues).toEqual([{ priority: 100, threads: [ptrOf(t)] }]);
    // Deleting the SC: the thread stays Restart but can no longer be scheduled.
    const scPtr = ptrOf(s);
    expect(sys.api.seL4_CNode_Delete(root, s, 32)).toBe(E.seL4_NoError);
    expect(tcb(t)).toMatchObject({ state: 'Restart', schedContext: null });
    expect(sys.view().scheduler().readyQueues).toEqual([]);
    // Finalised as seL4 marks it invalid: refillMax 0, so no refills (l4v: sched_context_set_inactive).
    expect(sys.view().object(scPtr)).toMatchObject({ tcb: null, refillMax: 0, refills: [], sporadic: false });
  });

  it('deleting a TCB unbinds its SC, which can then go to another thread', () => {
    const { sys, make, tcb, sc, ptrOf, schedControl } = setup(mode);
    const t = make(T.seL4_TCBObject, 0, 2);
    const s = make(T.seL4_SchedContextObject, 8, 2);
    const sc0 = ptrOf(s);
    expect(sys.api.seL4_SchedControl_ConfigureFlags(schedControl, s, 1000n, 10000n, 0, 0, 0)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_TCB_SetSchedParams(t, seL4_CapInitThreadTCB, 0, 0, s, seL4_CapNull)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_TCB_Resume(t)).toBe(E.seL4_NoError);
    expect(sys.view().scheduler().readyQueues).toEqual([{ priority: 0, threads: [ptrOf(t)] }]);
    expect(sys.api.seL4_CNode_Delete(root, t, 32)).toBe(E.seL4_NoError);
    expect(sys.view().scheduler().readyQueues).toEqual([]);
    expect(sys.view().object(sc0)).toMatchObject({ type: 'schedcontext', tcb: null });
    expect(sys.api.seL4_SchedContext_Bind(s, t + 1)).toBe(E.seL4_NoError);
    expect(tcb(t + 1).schedContext).toBe(sc0);
    // Deleting the SC bound to the second TCB frees the TCB for the other SC.
    expect(sys.api.seL4_CNode_Delete(root, s, 32)).toBe(E.seL4_NoError);
    expect(tcb(t + 1).schedContext).toBeNull();
    expect(sys.api.seL4_TCB_SetSchedParams(t + 1, seL4_CapInitThreadTCB, 0, 0, s + 1, seL4_CapNull)).toBe(E.seL4_NoError);
    expect(tcb(t + 1).schedContext).toBe(sc(s + 1).addr);
  });

  it('SCHED0017: YieldTo refuses the caller\'s own SC, an unbound SC, and a thread above the caller\'s MCP', () => {
    const { sys, make, schedControl } = setup(mode);
    const { seL4_SchedContext_YieldTo: yieldTo } = sys.api;
    const t = make(T.seL4_TCBObject, 0);
    const s = make(T.seL4_SchedContextObject, 8);
    expect(yieldTo(seL4_CapInitThreadSC)).toEqual({ error: E.seL4_IllegalOperation, consumed: 0n });
    expect(yieldTo(s).error).toBe(E.seL4_IllegalOperation);
    expect(sys.api.seL4_SchedControl_ConfigureFlags(schedControl, s, 1000n, 10000n, 0, 0, 0)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_TCB_SetSchedParams(t, seL4_CapInitThreadTCB, 200, 200, s, seL4_CapNull)).toBe(E.seL4_NoError);
    // An inactive thread: allowed, returns at once with nothing consumed.
    expect(yieldTo(s)).toEqual({ error: E.seL4_NoError, consumed: 0n });
    expect(sys.view().current()).toBe(sys.plan.rootTCB);
    expect(sys.api.seL4_TCB_SetMCPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 100)).toBe(E.seL4_NoError);
    expect(yieldTo(s).error).toBe(E.seL4_IllegalOperation);
  });

  it('Consumed reports charged time only: what the root used is charged when it yields', () => {
    const { sys, make } = setup(mode);
    const { seL4_SchedContext_Consumed: consumed } = sys.api;
    const s = make(T.seL4_SchedContextObject, 8);
    expect(consumed(s)).toEqual({ error: E.seL4_NoError, consumed: 0n });
    sys.api.passTime(12_345n);
    // Not yet charged: the kernel entry only adds it to ksConsumed.
    expect(consumed(seL4_CapInitThreadSC)).toEqual({ error: E.seL4_NoError, consumed: 0n });
    expect(sys.view().scheduler()).toMatchObject({ clockTicks: 12_345n, curTimeTicks: 12_345n, consumedTicks: 12_345n });
    sys.api.seL4_Yield();
    // Yield charges the whole head refill but records only what was used; a new slice starts.
    expect(sys.view().scheduler()).toMatchObject({
      consumedTicks: 0n, currentSchedContext: sys.plan.rootSC, readyQueues: [], timerDeadlineTicks: 12_345n + rootSliceTicks - timerPrecisionTicks,
    });
    expect(sys.view().object(sys.plan.rootSC)).toMatchObject({
      consumedTicks: 12_345n, refills: [{ releaseTicks: 0n, amountTicks: rootSliceTicks }, { releaseTicks: 0n, amountTicks: 0n }],
    });
    // Microseconds, rounded down; reading resets the count.
    expect(consumed(seL4_CapInitThreadSC)).toEqual({ error: E.seL4_NoError, consumed: 1234n });
    expect(sys.view().object(sys.plan.rootSC)).toMatchObject({ consumedTicks: 0n });
  });

  it('the timer ends the root\'s slice at the programmed deadline and starts the next one', () => {
    const { sys } = setup(mode);
    const deadline = rootSliceTicks - timerPrecisionTicks;
    sys.api.passTime(rootSliceTicks * 2n);
    // Entered by the interrupt at the deadline: the rest of the time was not spent.
    expect(sys.view().scheduler()).toEqual({
      clockTicks: deadline, curTimeTicks: deadline, consumedTicks: 0n, currentSchedContext: sys.plan.rootSC,
      readyQueues: [], releaseQueue: [], timerDeadlineTicks: deadline + rootSliceTicks - timerPrecisionTicks,
    });
    expect(sys.view().object(sys.plan.rootSC)).toMatchObject({
      consumedTicks: deadline, refills: [{ releaseTicks: 0n, amountTicks: rootSliceTicks }, { releaseTicks: 0n, amountTicks: 0n }],
    });
    expect(sys.view().current()).toBe(sys.plan.rootTCB);
  });

  it('the root reconfigures its own SC: time so far is charged, the new budget counts from the next timer interrupt', () => {
    const { sys, schedControl } = setup(mode);
    sys.api.passTime(2000n);
    expect(sys.api.seL4_SchedControl_ConfigureFlags(schedControl, seL4_CapInitThreadSC, 1000n, 1000n, 0, 0, 0)).toBe(E.seL4_NoError);
    expect(sys.view().object(sys.plan.rootSC)).toMatchObject({
      consumedTicks: 2000n, periodTicks: 0n, refills: [{ releaseTicks: 2000n, amountTicks: 10_000n }, { releaseTicks: 2000n, amountTicks: 0n }],
    });
    // Nothing asked for the timer to be reprogrammed: the old deadline stands.
    expect(sys.view().scheduler()).toMatchObject({ consumedTicks: 0n, timerDeadlineTicks: rootSliceTicks - timerPrecisionTicks });
    sys.api.passTime(rootSliceTicks);
    const deadline = rootSliceTicks - timerPrecisionTicks;
    expect(sys.view().scheduler()).toMatchObject({ clockTicks: deadline, consumedTicks: 0n, timerDeadlineTicks: deadline + 10_000n - timerPrecisionTicks });
    expect(sys.view().object(sys.plan.rootSC)).toMatchObject({
      consumedTicks: deadline, refills: [{ releaseTicks: 2000n, amountTicks: 10_000n }, { releaseTicks: 2000n, amountTicks: 0n }],
    });
  });

  for (const sporadic of [true, false]) {
    it(`resuming a thread on a ${sporadic ? 'sporadic' : 'constant-bandwidth'} SC ${sporadic ? 'moves its released refill to now, which commits the root\'s time' : 'leaves its refills and the root\'s uncommitted time alone'}`, () => {
      const { sys, make, sc, schedControl } = setup(mode);
      const t = make(T.seL4_TCBObject, 0);
      const s = make(T.seL4_SchedContextObject, 8);
      expect(sys.api.seL4_SchedControl_ConfigureFlags(schedControl, s, 1000n, 10_000n, 0, 0, sporadic ? seL4_SchedContext_Sporadic : 0)).toBe(E.seL4_NoError);
      expect(sys.api.seL4_TCB_SetSchedParams(t, seL4_CapInitThreadTCB, 0, 0, s, seL4_CapNull)).toBe(E.seL4_NoError);
      sys.api.passTime(5000n);
      expect(sys.api.seL4_TCB_Resume(t)).toBe(E.seL4_NoError);
      expect(sc(s).refills).toEqual([{ releaseTicks: sporadic ? 5000n : 0n, amountTicks: 10_000n }]);
      expect(sys.view().scheduler()).toMatchObject({ consumedTicks: sporadic ? 0n : 5000n, timerDeadlineTicks: rootSliceTicks - timerPrecisionTicks });
      expect(sys.view().object(sys.plan.rootSC)).toMatchObject({
        consumedTicks: sporadic ? 5000n : 0n,
        refills: sporadic
          ? [{ releaseTicks: 0n, amountTicks: rootSliceTicks - 5000n }, { releaseTicks: 0n, amountTicks: 5000n }]
          : [{ releaseTicks: 0n, amountTicks: rootSliceTicks }, { releaseTicks: 0n, amountTicks: 0n }],
      });
    });
  }

  it('SCHED0020: raising a ready thread to the root\'s priority queues it behind the root; lowering the root switches', () => {
    const { sys, make, tcb, ptrOf, schedControl } = setup(mode);
    const t = make(T.seL4_TCBObject, 0);
    const s = make(T.seL4_SchedContextObject, 8);
    expect(sys.api.seL4_SchedControl_ConfigureFlags(schedControl, s, 5000n, 5000n, 0, 0, 0)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_TCB_SetSchedParams(t, seL4_CapInitThreadTCB, 0, 254, s, seL4_CapNull)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_TCB_Resume(t)).toBe(E.seL4_NoError);
    expect(sys.view().scheduler().readyQueues).toEqual([{ priority: 254, threads: [ptrOf(t)] }]);
    // Equal priority: the root was running, so it is put back at the head and keeps the CPU.
    expect(sys.api.seL4_TCB_SetPriority(t, seL4_CapInitThreadTCB, 255)).toBe(E.seL4_NoError);
    expect(sys.view().current()).toBe(sys.plan.rootTCB);
    expect(sys.view().scheduler().readyQueues).toEqual([{ priority: 255, threads: [ptrOf(t)] }]);
    // The root drops below it: the helper runs at once.
    expect(sys.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 254)).toBe(E.seL4_NoError);
    expect(sys.view().current()).toBe(ptrOf(t));
    expect(tcb(t).state).toBe('Running');
    expect(tcb(seL4_CapInitThreadTCB)).toMatchObject({ state: 'Running', priority: 254 });
    expect(sys.view().scheduler()).toMatchObject({
      currentSchedContext: ptrOf(s), readyQueues: [{ priority: 254, threads: [sys.plan.rootTCB] }],
      timerDeadlineTicks: usToTicks(5000n) - timerPrecisionTicks,
    });
  });
});
