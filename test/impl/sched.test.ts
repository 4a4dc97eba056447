// Threads and MCS scheduling on the impl: the TCB, SchedControl and SchedContext invocations'
// error replies in seL4's order, and the scheduler (preemption, round robin, sporadic refills,
// Yield, YieldTo, Suspend/Resume, deletion of running, ready and released threads and SCs).
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel,
  Reg,
  maxPeriodMicroseconds,
  maxPeriodTicks,
  maxReleaseTicks,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_SchedContext_Sporadic,
  seL4_Syscall,
  syscallWord,
  type KernelEvent,
  type ObjectView,
} from '../../libsel4/index.ts';
import { createImplLayer } from '../../impl/index.ts';
import { CNODE, D, T, bootRoot, type Root } from './harness.ts';

const E = seL4_Error;
const ROOT_TCB = seL4_CapInitThreadTCB;
const FREE = 200;
const time = (ticks: bigint): KernelEvent => ({ kind: 'time', ticks });
const yieldEvent: KernelEvent = { kind: 'syscall', user: { regs: [[Reg.a7, syscallWord(seL4_Syscall.seL4_SysYield)]], ipcBuffer: [] } };

/** The root suspends itself: no reply (it is Inactive), another thread or the idle thread runs. */
function suspendRoot(r: Root): void {
  r.api.seL4_TCB_Suspend(ROOT_TCB);
  expect(r.obs().caller).toMatchObject({ state: 'Inactive' });
}

function schedControl(r: Root): number {
  return r.plan.bootInfo.schedcontrol.start;
}

function ptrOf(r: Root, slot: number): number {
  return (r.cap(slot) as { ptr: number }).ptr;
}

function object(r: Root, addr: number): ObjectView {
  return createImplLayer({ debug: true }).view(r.state).object(addr)!;
}

function sched(r: Root) {
  return createImplLayer({ debug: true }).view(r.state).scheduler();
}

/** A TCB in `slot` and an SC of 2^8 bytes in slot + 1, configured (µs) and bound at `priority`; not resumed. */
function makeThread(r: Root, slot: number, priority: number, budgetUs: bigint, periodUs: bigint, flags = 0): { tcb: number; sc: number } {
  const ut = r.untyped(12);
  expect(r.api.seL4_Untyped_Retype(ut, T.seL4_TCBObject, 0, CNODE, 0, 0, slot, 1)).toBe(E.seL4_NoError);
  expect(r.api.seL4_Untyped_Retype(ut, T.seL4_SchedContextObject, 8, CNODE, 0, 0, slot + 1, 1)).toBe(E.seL4_NoError);
  expect(r.api.seL4_SchedControl_ConfigureFlags(schedControl(r), slot + 1, budgetUs, periodUs, 0, 0, flags)).toBe(E.seL4_NoError);
  expect(r.api.seL4_TCB_SetSchedParams(slot, ROOT_TCB, priority, priority, slot + 1, 0)).toBe(E.seL4_NoError);
  return { tcb: ptrOf(r, slot), sc: ptrOf(r, slot + 1) };
}

describe('impl TCB invocations: error replies in seL4 order', () => {
  it('SetPriority and SetMCPriority: truncated, authority not a TCB, above the authority MCP', () => {
    const r = bootRoot();
    expect(r.api.seL4_Untyped_Retype(r.untyped(12), T.seL4_TCBObject, 0, CNODE, 0, 0, FREE, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_SetPriority(FREE, CNODE, 10)).toBe(E.seL4_InvalidCapability);
    expect(r.mrs(1)).toEqual([1]);
    // the new TCB's MCP is 0: as authority it allows nothing above 0
    expect(r.api.seL4_TCB_SetPriority(ROOT_TCB, FREE, 1)).toBe(E.seL4_RangeError);
    expect(r.mrs(2)).toEqual([0, 0]);
    expect(r.api.seL4_TCB_SetMCPriority(FREE, ROOT_TCB, 256)).toBe(E.seL4_RangeError);
    expect(r.mrs(2)).toEqual([0, 255]);
    expect(r.api.seL4_Call(FREE, seL4_MessageInfo_new(InvocationLabel.TCBSetPriority, 0, 0, 1)) >>> 12).toBe(E.seL4_TruncatedMessage);
    expect(r.api.seL4_TCB_SetMCPriority(FREE, ROOT_TCB, 77)).toBe(E.seL4_NoError);
    expect(object(r, ptrOf(r, FREE))).toMatchObject({ mcp: 77, priority: 0 });
  });

  it('SetSchedParams: SC cap checks, then the fault endpoint', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    expect(r.api.seL4_Untyped_Retype(ut, T.seL4_TCBObject, 0, CNODE, 0, 0, FREE, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, CNODE, 0, 0, FREE + 1, 1)).toBe(E.seL4_NoError);
    // the root SC is bound to the root already
    expect(r.api.seL4_TCB_SetSchedParams(FREE, ROOT_TCB, 0, 0, seL4_CapInitThreadSC, 0)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_TCB_SetSchedParams(FREE, ROOT_TCB, 0, 0, FREE + 1, 0)).toBe(E.seL4_InvalidCapability);
    expect(r.mrs(1)).toEqual([2]);
    expect(r.api.seL4_TCB_SetSchedParams(FREE, ROOT_TCB, 0, 0, 0, CNODE)).toBe(E.seL4_InvalidCapability);
    expect(r.mrs(1)).toEqual([3]);
    // no SC for the current thread
    expect(r.api.seL4_TCB_SetSchedParams(ROOT_TCB, ROOT_TCB, 255, 255, 0, 0)).toBe(E.seL4_IllegalOperation);
    // the endpoint cap has every right: a valid fault handler, copied into slot 3
    expect(r.api.seL4_TCB_SetSchedParams(FREE, ROOT_TCB, 3, 2, 0, FREE + 1)).toBe(E.seL4_NoError);
    const tcb = ptrOf(r, FREE);
    expect(object(r, tcb)).toMatchObject({ mcp: 3, priority: 2, schedContext: null });
    expect(createImplLayer({ debug: true }).view(r.state).cap({ cnode: tcb, index: 3 })).toMatchObject({ type: 'endpoint' });
  });

  it('Configure, SetSpace and SetIPCBuffer: buffer checks, then CSpace and VSpace roots', () => {
    const r = bootRoot();
    expect(r.api.seL4_Untyped_Retype(r.untyped(12), T.seL4_TCBObject, 0, CNODE, 0, 0, FREE, 1)).toBe(E.seL4_NoError);
    const frame = 10;
    expect(r.api.seL4_TCB_Configure(FREE, CNODE, 0, 3, 0, 0x1001, frame)).toBe(E.seL4_AlignmentError);
    expect(r.api.seL4_TCB_Configure(FREE, CNODE, 0, 3, 0, 0x1000, CNODE)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_TCB_Configure(FREE, 3, 0, 3, 0, 0, frame)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_TCB_Configure(FREE, CNODE, 0, CNODE, 0, 0, frame)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_TCB_SetSpace(FREE, CNODE, CNODE, 0, 3, 0)).toBe(E.seL4_InvalidCapability);
    expect(r.mrs(1)).toEqual([1]);
    expect(r.api.seL4_TCB_SetIPCBuffer(FREE, 0x200, CNODE)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_TCB_Configure(FREE, CNODE, 0, 3, 0, 0x1000, frame)).toBe(E.seL4_NoError);
    const tcb = ptrOf(r, FREE);
    const view = createImplLayer({ debug: true }).view(r.state);
    expect(view.cap({ cnode: tcb, index: 0 })).toMatchObject({ type: 'cnode' });
    expect(view.cap({ cnode: tcb, index: 1 })).toMatchObject({ type: 'pagetable' });
    expect(view.cap({ cnode: tcb, index: 2 })).toMatchObject({ type: 'frame' });
    expect(object(r, tcb)).toMatchObject({ ipcBufferVaddr: 0x1000 });
  });

  it('Read/Write/CopyRegisters, SetTLSBase and SetFlags', () => {
    const r = bootRoot();
    expect(r.api.seL4_Untyped_Retype(r.untyped(12), T.seL4_TCBObject, 0, CNODE, 0, 0, FREE, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_ReadRegisters(ROOT_TCB, false, 0, 1).error).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_TCB_ReadRegisters(FREE, false, 0, 33).error).toBe(E.seL4_RangeError);
    expect(r.mrs(2)).toEqual([1, 32]);
    expect(r.api.seL4_TCB_WriteRegisters(ROOT_TCB, false, 0, 1, [5])).toBe(E.seL4_IllegalOperation);
    const regs = Array.from({ length: 32 }, (_, i) => 100 + i);
    expect(r.api.seL4_TCB_WriteRegisters(FREE, false, 0, 32, regs)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_ReadRegisters(FREE, false, 0, 32)).toEqual({ error: E.seL4_NoError, regs });
    expect(r.api.seL4_TCB_CopyRegisters(FREE, CNODE, false, false, true, true, 0)).toBe(E.seL4_InvalidCapability);
    expect(r.api.seL4_TCB_SetTLSBase(FREE, 0xabc)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_ReadRegisters(FREE, false, 0, 32).regs![Reg.tp]).toBe(0xabc);
    expect(r.api.seL4_TCB_SetFlags(FREE, 0, 0xff)).toEqual({ error: E.seL4_NoError, flags: 1 });
    expect(r.api.seL4_TCB_SetFlags(FREE, 1, 0)).toEqual({ error: E.seL4_NoError, flags: 0 });
  });

  it('SchedControl_ConfigureFlags: budget and period limits, target cap, extra refills', () => {
    const r = bootRoot();
    expect(r.api.seL4_Untyped_Retype(r.untyped(12), T.seL4_SchedContextObject, 7, CNODE, 0, 0, FREE, 1)).toBe(E.seL4_NoError);
    const sc = schedControl(r);
    const max = Number(BigInt.asUintN(32, maxPeriodMicroseconds));
    expect(r.api.seL4_SchedControl_ConfigureFlags(sc, FREE, maxPeriodMicroseconds + 1n, 1000n, 0, 0, 0)).toBe(E.seL4_RangeError);
    expect(r.mrs(2)).toEqual([20, max]);
    expect(r.api.seL4_SchedControl_ConfigureFlags(sc, FREE, 19n, 1000n, 0, 0, 0)).toBe(E.seL4_RangeError);
    expect(r.api.seL4_SchedControl_ConfigureFlags(sc, FREE, 2000n, 1000n, 0, 0, 0)).toBe(E.seL4_RangeError);
    expect(r.mrs(2)).toEqual([20, 1000]);
    expect(r.api.seL4_SchedControl_ConfigureFlags(sc, CNODE, 100n, 1000n, 0, 0, 0)).toBe(E.seL4_InvalidCapability);
    // 2^7 bytes: (128 - 56) / 16 = 4 refills, 2 of them extra
    expect(r.api.seL4_SchedControl_ConfigureFlags(sc, FREE, 100n, 1000n, 3, 0, 0)).toBe(E.seL4_RangeError);
    expect(r.mrs(2)).toEqual([0, 2]);
    expect(r.api.seL4_SchedControl_ConfigureFlags(sc, FREE, 100n, 1000n, 2, 7, seL4_SchedContext_Sporadic)).toBe(E.seL4_NoError);
    expect(object(r, ptrOf(r, FREE))).toMatchObject({
      periodTicks: 10000n, refillMax: 4, refills: [{ releaseTicks: 0n, amountTicks: 1000n }], sporadic: true, badge: 7,
    });
  });

  it('SchedContext Bind, UnbindObject, Unbind, Consumed and YieldTo errors', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    expect(r.api.seL4_Untyped_Retype(ut, T.seL4_SchedContextObject, 8, CNODE, 0, 0, FREE, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_Untyped_Retype(ut, T.seL4_TCBObject, 0, CNODE, 0, 0, FREE + 1, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_SchedContext_Bind(FREE, ROOT_TCB)).toBe(E.seL4_IllegalOperation); // the root has an SC
    expect(r.api.seL4_SchedContext_Bind(FREE, CNODE)).toBe(E.seL4_InvalidCapability);
    expect(r.api.seL4_SchedContext_UnbindObject(FREE, FREE + 1)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_SchedContext_UnbindObject(seL4_CapInitThreadSC, ROOT_TCB)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_SchedContext_Unbind(seL4_CapInitThreadSC)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_SchedContext_YieldTo(FREE)).toEqual({ error: E.seL4_IllegalOperation, consumed: 0n });
    expect(r.api.seL4_SchedContext_YieldTo(seL4_CapInitThreadSC).error).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_SchedContext_Bind(FREE, FREE + 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_SchedContext_Bind(FREE, FREE + 1)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_SchedContext_Consumed(FREE)).toEqual({ error: E.seL4_NoError, consumed: 0n });
    expect(r.api.seL4_SchedContext_UnbindObject(FREE, FREE + 1)).toBe(E.seL4_NoError);
    expect(object(r, ptrOf(r, FREE))).toMatchObject({ tcb: null });
  });
});

describe('impl MCS scheduler', () => {
  it('a resumed higher-priority thread preempts; Suspend hands the core back', () => {
    const r = bootRoot();
    expect(r.api.seL4_TCB_SetPriority(ROOT_TCB, ROOT_TCB, 100)).toBe(E.seL4_NoError);
    const { tcb } = makeThread(r, FREE, 200, 1000n, 1000n);
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError);
    expect(r.obs().current).toBe(tcb);
    expect(sched(r)).toMatchObject({ currentSchedContext: ptrOf(r, FREE + 1), readyQueues: [{ priority: 100, threads: [r.plan.rootTCB] }] });
    // the new thread takes an exception with no fault handler: Inactive, the root runs again
    const obs = r.enter({ kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 2, code: 0 });
    expect(obs.caller).toMatchObject({ tcb, state: 'Inactive' });
    expect(obs.current).toBe(r.plan.rootTCB);
    expect(sched(r).readyQueues).toEqual([]);
  });

  it('round robin at equal priority: each time slice ends at the timer interrupt', () => {
    const r = bootRoot();
    const a = makeThread(r, FREE, 50, 1000n, 1000n);
    const b = makeThread(r, FREE + 2, 50, 1000n, 1000n);
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_Resume(FREE + 2)).toBe(E.seL4_NoError);
    expect(sched(r).readyQueues).toEqual([{ priority: 50, threads: [b.tcb, a.tcb] }]);
    suspendRoot(r);
    expect(r.obs().current).toBe(b.tcb);
    expect(sched(r).timerDeadlineTicks).toBe(9990n);
    const order: (number | null)[] = [];
    for (let i = 0; i < 4; i++) order.push(r.enter(time(1_000_000n)).current);
    expect(order).toEqual([a.tcb, b.tcb, a.tcb, b.tcb]);
    expect(sched(r).clockTicks).toBe(4n * 9990n);
    expect(object(r, b.sc)).toMatchObject({ consumedTicks: 2n * 9990n, refills: [{ releaseTicks: 0n, amountTicks: 10000n }, { releaseTicks: 0n, amountTicks: 0n }] });
  });

  it('a sporadic SC that used its budget waits in the release queue with its refills one period on', () => {
    const r = bootRoot();
    const t = makeThread(r, FREE, 50, 1000n, 10000n, seL4_SchedContext_Sporadic);
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError);
    suspendRoot(r);
    expect(r.obs().current).toBe(t.tcb);
    // less than the budget: no kernel entry
    expect(r.enter(time(5000n)).current).toBe(t.tcb);
    expect(sched(r)).toMatchObject({ clockTicks: 5000n, curTimeTicks: 0n });
    const obs = r.enter(time(100_000n));
    expect(obs.current).toBeNull();
    expect(sched(r)).toMatchObject({ clockTicks: 9990n, releaseQueue: [t.tcb], currentSchedContext: null, timerDeadlineTicks: 99980n });
    // the used 9990 ticks come back one period after they were used; the 10 left were merged into them
    expect(object(r, t.sc)).toMatchObject({ consumedTicks: 9990n, refills: [{ releaseTicks: 99990n, amountTicks: 10000n }] });
  });

  it('Yield gives up the rest of the time slice to the next thread of the same priority', () => {
    const r = bootRoot();
    expect(r.api.seL4_TCB_SetPriority(ROOT_TCB, ROOT_TCB, 50)).toBe(E.seL4_NoError);
    const t = makeThread(r, FREE, 50, 1000n, 1000n);
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError);
    expect(r.obs().current).toBe(r.plan.rootTCB);
    r.enter(time(300n));
    expect(r.enter(yieldEvent).current).toBe(t.tcb);
    expect(sched(r).readyQueues).toEqual([{ priority: 50, threads: [r.plan.rootTCB] }]);
    expect(object(r, r.plan.rootSC)).toMatchObject({ consumedTicks: 300n, refills: [{ releaseTicks: 0n, amountTicks: 50000n }, { releaseTicks: 0n, amountTicks: 0n }] });
  });

  it('YieldTo a thread of equal priority runs it; the caller gets the consumed time when it runs again', () => {
    const r = bootRoot();
    expect(r.api.seL4_TCB_SetPriority(ROOT_TCB, ROOT_TCB, 50)).toBe(E.seL4_NoError);
    const t = makeThread(r, FREE, 50, 1000n, 1000n);
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError);
    r.api.seL4_SchedContext_YieldTo(FREE + 1);
    expect(r.obs().current).toBe(t.tcb);
    expect(object(r, r.plan.rootTCB)).toMatchObject({ yieldTo: t.sc });
    expect(object(r, t.sc)).toMatchObject({ yieldFrom: r.plan.rootTCB });
    // the thread stops; the root runs and completes its YieldTo
    const obs = r.enter({ kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 2, code: 0 });
    expect(obs.current).toBe(r.plan.rootTCB);
    expect(object(r, r.plan.rootTCB)).toMatchObject({ yieldTo: null });
    expect(object(r, t.sc)).toMatchObject({ yieldFrom: null });
  });

  it('YieldTo a lower-priority thread answers at once', () => {
    const r = bootRoot();
    const t = makeThread(r, FREE, 50, 1000n, 1000n);
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError);
    expect(r.api.seL4_SchedContext_YieldTo(FREE + 1)).toEqual({ error: E.seL4_NoError, consumed: 0n });
    expect(r.obs().current).toBe(r.plan.rootTCB);
    expect(sched(r).readyQueues).toEqual([{ priority: 50, threads: [t.tcb] }]);
  });

  it('Suspend and Resume move a thread out of and into the ready queue; without an SC it cannot be queued', () => {
    const r = bootRoot();
    const t = makeThread(r, FREE, 50, 1000n, 1000n);
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError);
    expect(sched(r).readyQueues).toEqual([{ priority: 50, threads: [t.tcb] }]);
    expect(r.api.seL4_TCB_Suspend(FREE)).toBe(E.seL4_NoError);
    expect(sched(r).readyQueues).toEqual([]);
    expect(object(r, t.tcb)).toMatchObject({ state: 'Inactive' });
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError); // not stopped: nothing to do
    expect(sched(r).readyQueues).toEqual([{ priority: 50, threads: [t.tcb] }]);
    expect(r.api.seL4_SchedContext_Unbind(FREE + 1)).toBe(E.seL4_NoError);
    expect(sched(r).readyQueues).toEqual([]);
    expect(r.api.seL4_TCB_Suspend(FREE)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError);
    expect(object(r, t.tcb)).toMatchObject({ state: 'Restart', schedContext: null });
    expect(sched(r).readyQueues).toEqual([]);
  });

  it('a syscall the budget cannot cover is not executed: the time slice ends and the caller restarts it', () => {
    const r = bootRoot();
    expect(r.enter(time(49_900n)).current).toBe(r.plan.rootTCB); // short of the deadline: no entry
    const obs = r.api.rawSyscall([
      [Reg.a0, ROOT_TCB], [Reg.a1, seL4_MessageInfo_new(InvocationLabel.TCBSetPriority, 0, 1, 1)], [Reg.a2, 7],
      [Reg.a7, syscallWord(seL4_Syscall.seL4_SysCall)],
    ]);
    expect(obs.caller).toMatchObject({ state: 'Running' }); // restarted, chosen again at once
    expect(obs.caller!.regs[Reg.a1]).toBe(seL4_MessageInfo_new(InvocationLabel.TCBSetPriority, 0, 1, 1));
    expect(object(r, r.plan.rootTCB)).toMatchObject({ priority: 255 });
    expect(object(r, r.plan.rootSC)).toMatchObject({ consumedTicks: 49_900n, refills: [{ releaseTicks: 0n, amountTicks: 50000n }, { releaseTicks: 0n, amountTicks: 0n }] });
    expect(sched(r)).toMatchObject({ curTimeTicks: 49_900n, consumedTicks: 0n, timerDeadlineTicks: 49_900n + 50000n - 10n });
  });

  it('an exception with a fault handler is charged and blocks the thread on the handler endpoint', () => {
    const r = bootRoot();
    expect(r.api.seL4_Untyped_Retype(r.untyped(12), T.seL4_EndpointObject, 0, CNODE, 0, 0, FREE, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_SetSpace(ROOT_TCB, FREE, CNODE, 0, 3, 0)).toBe(E.seL4_NoError);
    r.enter(time(1000n));
    const obs = r.enter({ kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 2, code: 0 });
    expect(obs.unmodelled).toBeNull();
    expect(obs.caller).toMatchObject({ state: 'BlockedOnSend' });
    expect(object(r, r.plan.rootTCB)).toMatchObject({ fault: { type: 'UserException', words: [2, 0] } });
    expect(obs.current).toBeNull();
    expect(sched(r)).toMatchObject({ clockTicks: 1000n, curTimeTicks: 1000n });
  });

  it('the idle thread computes until the end of its MAX_PERIOD budget, then the timer interrupt programs the next', () => {
    const r = bootRoot();
    suspendRoot(r);
    expect(r.obs().current).toBeNull();
    expect(sched(r).timerDeadlineTicks).toBe(maxPeriodTicks - 10n);
    expect(r.enter(time(123n))).toEqual({ current: null, caller: null, unmodelled: null, restarted: false });
    expect(sched(r)).toMatchObject({ clockTicks: 123n, curTimeTicks: 0n });
    r.enter(time(maxReleaseTicks));
    // the idle thread's deadline comes first: the timer interrupt, and a new deadline
    expect(sched(r)).toMatchObject({ clockTicks: maxPeriodTicks - 10n, curTimeTicks: maxPeriodTicks - 10n, timerDeadlineTicks: 2n * maxPeriodTicks - 20n });
  });

  it('deleting a ready thread, a released thread and the current SC', () => {
    const r = bootRoot();
    const ready = makeThread(r, FREE, 50, 1000n, 1000n);
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError);
    expect(sched(r).readyQueues).toEqual([{ priority: 50, threads: [ready.tcb] }]);
    expect(r.api.seL4_CNode_Delete(CNODE, FREE, D)).toBe(E.seL4_NoError);
    expect(sched(r).readyQueues).toEqual([]);
    expect(object(r, ready.sc)).toMatchObject({ tcb: null });

    const released = makeThread(r, FREE + 4, 50, 1000n, 10000n, seL4_SchedContext_Sporadic);
    expect(r.api.seL4_TCB_Resume(FREE + 4)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_SetPriority(ROOT_TCB, ROOT_TCB, 10)).toBe(E.seL4_NoError);
    expect(r.obs().current).toBe(released.tcb);
    // budget used up: released one period later; the root runs
    expect(r.enter(time(100_000n)).current).toBe(r.plan.rootTCB);
    expect(sched(r)).toMatchObject({ releaseQueue: [released.tcb], currentSchedContext: r.plan.rootSC, timerDeadlineTicks: 59980n });
    expect(r.api.seL4_CNode_Delete(CNODE, FREE + 5, D)).toBe(E.seL4_NoError);
    expect(sched(r).releaseQueue).toEqual([]);
    expect(object(r, released.tcb)).toMatchObject({ schedContext: null, state: 'Running' });
    expect(object(r, released.sc)).toMatchObject({ refillMax: 0, tcb: null });

    // the root's own SC: the root can no longer run, only the idle thread
    expect(r.api.seL4_CNode_Delete(CNODE, seL4_CapInitThreadSC, D)).toBe(E.seL4_NoError);
    expect(r.obs().current).toBeNull();
    expect(sched(r)).toMatchObject({ currentSchedContext: null, readyQueues: [] });
    expect(object(r, r.plan.rootTCB)).toMatchObject({ schedContext: null, state: 'Running' });
  });

  it('deleting a thread in the release queue reprograms the deadline', () => {
    const r = bootRoot();
    const t = makeThread(r, FREE, 50, 1000n, 3000n, seL4_SchedContext_Sporadic);
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_SetPriority(ROOT_TCB, ROOT_TCB, 10)).toBe(E.seL4_NoError);
    expect(r.enter(time(100_000n)).current).toBe(r.plan.rootTCB);
    // released at 29990, before the root's time slice ends at 59990
    expect(sched(r)).toMatchObject({ releaseQueue: [t.tcb], timerDeadlineTicks: 29980n });
    expect(r.api.seL4_CNode_Delete(CNODE, FREE, D)).toBe(E.seL4_NoError);
    expect(sched(r)).toMatchObject({ releaseQueue: [], readyQueues: [], timerDeadlineTicks: 59980n });
    expect(object(r, t.tcb)).toMatchObject({ state: 'Inactive', schedContext: null });
    expect(object(r, t.sc)).toMatchObject({ tcb: null, refillMax: 2 });
  });

  it('deleting the running thread chooses another', () => {
    const r = bootRoot();
    const t = makeThread(r, FREE, 50, 1000n, 1000n);
    expect(r.api.seL4_TCB_Resume(FREE)).toBe(E.seL4_NoError);
    // the root deletes its only TCB cap: it is suspended and the new thread runs
    const obs = r.api.rawSyscall([[Reg.a0, CNODE], [Reg.a1, seL4_MessageInfo_new(InvocationLabel.CNodeDelete, 0, 0, 2)], [Reg.a2, ROOT_TCB], [Reg.a3, D], [Reg.a7, syscallWord(seL4_Syscall.seL4_SysCall)]]);
    expect(obs.caller).toMatchObject({ state: 'Inactive' });
    expect(obs.current).toBe(t.tcb);
    expect(object(r, r.plan.rootSC)).toMatchObject({ tcb: null });
  });
});

describe('impl instrumentation', () => {
  it('recordTouched off reaches the same state and observations, touching nothing', () => {
    const touched: number[] = [];
    const script = (r: Root): unknown[] => {
      const seen: unknown[] = [];
      const t = makeThread(r, FREE, 254, 1000n, 10000n, seL4_SchedContext_Sporadic);
      seen.push(r.api.seL4_TCB_Resume(FREE));
      touched.push(r.lastTouched.objects.length + r.lastTouched.slots.length);
      seen.push(r.api.seL4_TCB_Suspend(ROOT_TCB), r.enter(time(50_000n)), r.enter(time(50_000n)));
      seen.push(createImplLayer({ debug: true }).view(r.state).objects(), sched(r), t);
      return seen;
    };
    const on = bootRoot();
    const off = bootRoot({}, { debug: true, recordTouched: false });
    expect(script(off)).toEqual(script(on));
    expect(touched[0]).toBe(0);
    expect(touched[1]).toBeGreaterThan(0);
    const words = (r: Root) => Buffer.from(r.state.mem.snapshot().buffer);
    expect(words(on).equals(words(off))).toBe(true);
  });
});
