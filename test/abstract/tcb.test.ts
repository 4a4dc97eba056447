// TCB, SchedControl and SchedContext invocations on the abstract spec: every error path in
// seL4's order with its exact reply, and what a successful invocation changes.
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as L,
  maxPeriodMicroseconds,
  Reg,
  seL4_Error as E,
  seL4_SchedContext_Sporadic,
  TCBSlot,
} from '../../libsel4/index.ts';
import { call } from './harness.ts';
import { ok, ROOT_CNODE, ROOT_IPC_BUFFER, ROOT_SC, ROOT_TCB, ROOT_VSPACE, runnable, ticks, world } from './threads.ts';

/** The error and words of a Call with arbitrary words and extra caps. */
function raw(w: ReturnType<typeof world>, service: number, label: number, mrs: readonly number[], caps: readonly number[] = [], length = mrs.length) {
  const reply = call(w.h, service, label, mrs, caps, length);
  return [reply.error, ...reply.mrs];
}

const maxPeriodWord = Number(maxPeriodMicroseconds & 0xffffffffn);

describe('TCB register invocations', () => {
  it('ReadRegisters: TruncatedMessage, RangeError 1..32, IllegalOperation on the caller; the first n registers', () => {
    const w = world();
    expect(raw(w, w.t0, L.TCBReadRegisters, [0])).toEqual([E.seL4_TruncatedMessage]);
    expect(raw(w, w.t0, L.TCBReadRegisters, [0, 0])).toEqual([E.seL4_RangeError, 1, 32]);
    expect(raw(w, w.t0, L.TCBReadRegisters, [0, 33])).toEqual([E.seL4_RangeError, 1, 32]);
    expect(raw(w, ROOT_TCB, L.TCBReadRegisters, [0, 2])).toEqual([E.seL4_IllegalOperation]);
    const values = Array.from({ length: 32 }, (_, i) => 100 + i);
    expect(w.h.api.seL4_TCB_WriteRegisters(w.t0, false, 0, 32, values)).toBe(ok);
    expect(w.h.api.seL4_TCB_ReadRegisters(w.t0, false, 0, 32).regs).toEqual(values);
    expect(raw(w, w.t0, L.TCBReadRegisters, [0, 6])).toEqual([ok, 100, 101, 102, 103, 104, 105]);
    expect(w.tcb(w.t0).state).toBe('Inactive');
  });

  it('WriteRegisters: TruncatedMessage when fewer words than the count, IllegalOperation on the caller; resume restarts', () => {
    const w = world();
    expect(raw(w, w.t0, L.TCBWriteRegisters, [0])).toEqual([E.seL4_TruncatedMessage]);
    expect(raw(w, w.t0, L.TCBWriteRegisters, [0, 3, 7, 8])).toEqual([E.seL4_TruncatedMessage]);
    expect(raw(w, ROOT_TCB, L.TCBWriteRegisters, [0, 1, 7])).toEqual([E.seL4_IllegalOperation]);
    expect(raw(w, w.t0, L.TCBWriteRegisters, [1, 2, 7, 8])).toEqual([ok]);
    expect(w.h.api.seL4_TCB_ReadRegisters(w.t0, false, 0, 3).regs?.slice(0, 3)).toEqual([7, 8, 0]);
    // Resumed without an SC: Restart, but in no queue.
    expect(w.tcb(w.t0).state).toBe('Restart');
    expect(w.sched().readyQueues).toEqual([]);
  });

  it('CopyRegisters: TruncatedMessage, InvalidCapability 1 for a non-TCB source; frame and integer halves separately', () => {
    const w = world();
    expect(raw(w, w.t1, L.TCBCopyRegisters, [12])).toEqual([E.seL4_TruncatedMessage]);
    expect(raw(w, w.t1, L.TCBCopyRegisters, [12], [w.ep])).toEqual([E.seL4_InvalidCapability, 1]);
    const values = Array.from({ length: 32 }, (_, i) => i + 1);
    expect(w.h.api.seL4_TCB_WriteRegisters(w.t0, false, 0, 32, values)).toBe(ok);
    expect(w.h.api.seL4_TCB_CopyRegisters(w.t1, w.t0, false, false, true, false, 0)).toBe(ok);
    expect(w.h.api.seL4_TCB_ReadRegisters(w.t1, false, 0, 32).regs).toEqual([...values.slice(0, 16), ...new Array(16).fill(0)]);
    expect(w.h.api.seL4_TCB_CopyRegisters(w.t1, w.t0, true, false, false, true, 0)).toBe(ok);
    expect(w.h.api.seL4_TCB_ReadRegisters(w.t1, false, 0, 32).regs).toEqual(values);
    expect(w.tcb(w.t0).state).toBe('Inactive');
  });

  it('SetTLSBase sets tp; SetFlags keeps only the FPU flag and replies the flags', () => {
    const w = world();
    expect(raw(w, w.t0, L.TCBSetTLSBase, [])).toEqual([E.seL4_TruncatedMessage]);
    expect(w.h.api.seL4_TCB_SetTLSBase(w.t0, 0xdeadbeef)).toBe(ok);
    expect(w.h.api.seL4_TCB_ReadRegisters(w.t0, false, 0, 32).regs?.[Reg.tp]).toBe(0xdeadbeef);
    expect(raw(w, w.t0, L.TCBSetFlags, [0])).toEqual([E.seL4_TruncatedMessage]);
    expect(w.h.api.seL4_TCB_SetFlags(w.t0, 0, 0xffffffff)).toEqual({ error: ok, flags: 1 });
    expect(w.tcb(w.t0).flags).toBe(1);
    expect(w.h.api.seL4_TCB_SetFlags(w.t0, 1, 0)).toEqual({ error: ok, flags: 0 });
  });
});

describe('TCB capability invocations', () => {
  it('Configure: checks the buffer, then the CSpace, then the VSpace; installs the caps as children of their sources', () => {
    const w = world();
    const { api } = w.h;
    expect(raw(w, w.t0, L.TCBConfigure, [0, 0, 0], [ROOT_CNODE, ROOT_VSPACE])).toEqual([E.seL4_TruncatedMessage]);
    expect(api.seL4_TCB_Configure(w.t0, ROOT_CNODE, 0, ROOT_VSPACE, 0, 0x1000, w.ep)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_TCB_Configure(w.t0, ROOT_CNODE, 0, ROOT_VSPACE, 0, 0x1100, ROOT_IPC_BUFFER)).toBe(E.seL4_AlignmentError);
    expect(api.seL4_TCB_Configure(w.t0, w.ep, 0, ROOT_VSPACE, 0, 0, 0)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_TCB_Configure(w.t0, ROOT_CNODE, 0, ROOT_CNODE, 0, 0, 0)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_TCB_Configure(w.t0, ROOT_CNODE, 0, ROOT_VSPACE, 0, 0x1200, ROOT_IPC_BUFFER)).toBe(ok);
    const slot = (index: number) => ({ cnode: w.addr(w.t0), index });
    expect(w.h.view().cap(slot(TCBSlot.cspace))).toEqual(w.h.view().cap(w.h.root(ROOT_CNODE)));
    expect(w.h.view().cdtParent(slot(TCBSlot.cspace))).toEqual(w.h.root(ROOT_CNODE));
    expect(w.h.view().cdtParent(slot(TCBSlot.vspace))).toEqual(w.h.root(ROOT_VSPACE));
    expect(w.h.view().cap(slot(TCBSlot.ipcBuffer))?.type).toBe('frame');
    expect(w.tcb(w.t0).ipcBufferVaddr).toBe(0x1200);
    expect(raw(w, w.t0, L.TCBSetIPCBuffer, [0x1200])).toEqual([E.seL4_TruncatedMessage]);
    expect(api.seL4_TCB_SetIPCBuffer(w.t0, 0x1300, ROOT_IPC_BUFFER)).toBe(E.seL4_AlignmentError);
    // SetIPCBuffer with address 0 removes the buffer.
    expect(api.seL4_TCB_SetIPCBuffer(w.t0, 0, 0)).toBe(ok);
    expect(w.h.view().cap(slot(TCBSlot.ipcBuffer))).toEqual({ type: 'null' });
    expect(w.tcb(w.t0).ipcBufferVaddr).toBe(0);
  });

  it('SetSpace checks the fault handler last; SetTimeoutEndpoint takes an endpoint that can send and grant', () => {
    const w = world();
    const { api } = w.h;
    expect(raw(w, w.t0, L.TCBSetSpace, [0, 0], [0, ROOT_CNODE])).toEqual([E.seL4_TruncatedMessage]);
    expect(api.seL4_TCB_SetSpace(w.t0, ROOT_TCB, w.ep, 0, ROOT_VSPACE, 0)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_TCB_SetSpace(w.t0, ROOT_TCB, ROOT_CNODE, 0, ROOT_VSPACE, 0)).toEqual(E.seL4_InvalidCapability);
    expect(api.seL4_GetMR(0)).toBe(1);
    // An endpoint cap with Write only is no fault handler.
    expect(api.seL4_CNode_Mint(ROOT_CNODE, w.ntfn + 1, 32, ROOT_CNODE, w.ep, 32, 0x1, 0)).toBe(ok);
    expect(api.seL4_TCB_SetTimeoutEndpoint(w.t0, w.ntfn + 1)).toBe(E.seL4_InvalidCapability);
    expect(raw(w, w.t0, L.TCBSetTimeoutEndpoint, [])).toEqual([E.seL4_TruncatedMessage]);
    expect(api.seL4_TCB_SetTimeoutEndpoint(w.t0, w.ep)).toBe(ok);
    expect(api.seL4_TCB_SetSpace(w.t0, w.ep, ROOT_CNODE, 0, ROOT_VSPACE, 0)).toBe(ok);
    const slot = (index: number) => ({ cnode: w.addr(w.t0), index });
    expect(w.h.view().cap(slot(TCBSlot.timeoutHandler))?.type).toBe('endpoint');
    expect(w.h.view().cap(slot(TCBSlot.faultHandler))?.type).toBe('endpoint');
  });
});

describe('TCB scheduling parameters', () => {
  it('SetPriority and SetMCPriority: TruncatedMessage, InvalidCapability 1, RangeError up to the authority MCP', () => {
    const w = world();
    const { api } = w.h;
    expect(raw(w, w.t0, L.TCBSetPriority, [5])).toEqual([E.seL4_TruncatedMessage]);
    expect(raw(w, w.t0, L.TCBSetPriority, [5], [w.ep])).toEqual([E.seL4_InvalidCapability, 1]);
    expect(raw(w, w.t0, L.TCBSetPriority, [5], [w.t1])).toEqual([E.seL4_RangeError, 0, 0]);
    expect(api.seL4_TCB_SetMCPriority(w.t1, ROOT_TCB, 50)).toBe(ok);
    expect(raw(w, w.t0, L.TCBSetMCPriority, [51], [w.t1])).toEqual([E.seL4_RangeError, 0, 50]);
    expect(api.seL4_TCB_SetPriority(w.t0, w.t1, 50)).toBe(ok);
    expect(w.tcb(w.t0).priority).toBe(50);
    expect(w.tcb(w.t1).mcp).toBe(50);
  });

  it('SetSchedParams: the SC must be free or already the thread’s; the null cap unbinds, not the caller’s own', () => {
    const w = world();
    const { api } = w.h;
    expect(raw(w, w.t0, L.TCBSetSchedParams, [1, 1], [ROOT_TCB, w.s0])).toEqual([E.seL4_TruncatedMessage]);
    expect(raw(w, w.t0, L.TCBSetSchedParams, [1, 256], [ROOT_TCB, w.s0, 0])).toEqual([E.seL4_RangeError, 0, 255]);
    expect(raw(w, w.t0, L.TCBSetSchedParams, [1, 1], [ROOT_TCB, w.ep, 0])).toEqual([E.seL4_InvalidCapability, 2]);
    expect(raw(w, w.t0, L.TCBSetSchedParams, [1, 1], [ROOT_TCB, w.s0, ROOT_CNODE])).toEqual([E.seL4_InvalidCapability, 3]);
    expect(raw(w, w.t0, L.TCBSetSchedParams, [1, 1], [ROOT_TCB, ROOT_SC, 0])).toEqual([E.seL4_IllegalOperation]);
    expect(raw(w, ROOT_TCB, L.TCBSetSchedParams, [255, 255], [ROOT_TCB, 0, 0])).toEqual([E.seL4_IllegalOperation]);
    expect(api.seL4_TCB_SetSchedParams(w.t0, ROOT_TCB, 10, 20, w.s0, 0)).toBe(ok);
    expect(w.tcb(w.t0)).toMatchObject({ mcp: 10, priority: 20, schedContext: w.addr(w.s0) });
    expect(w.sc(w.s0).tcb).toBe(w.addr(w.t0));
    expect(api.seL4_TCB_SetSchedParams(w.t1, ROOT_TCB, 1, 1, w.s0, 0)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_TCB_SetSchedParams(w.t0, ROOT_TCB, 1, 1, 0, 0)).toBe(ok);
    expect(w.tcb(w.t0).schedContext).toBeNull();
    expect(w.sc(w.s0).tcb).toBeNull();
  });
});

describe('SchedControl_ConfigureFlags', () => {
  it('checks the SC cap and length, budget and period limits, then the cap type and the extra refills', () => {
    const w = world();
    const c = w.control;
    const words = (budget: number, period: number, extra = 0) => [budget, 0, period, 0, extra, 0, 0];
    expect(raw(w, c, L.SchedControlConfigureFlags, words(1000, 1000))).toEqual([E.seL4_TruncatedMessage]);
    expect(raw(w, c, L.SchedControlConfigureFlags, words(1000, 1000).slice(0, 6), [w.s0])).toEqual([E.seL4_TruncatedMessage]);
    expect(raw(w, c, L.SchedControlConfigureFlags, [0, 0x80000000, 1000, 0, 0, 0, 0], [w.s0])).toEqual([E.seL4_RangeError, 20, maxPeriodWord]);
    expect(raw(w, c, L.SchedControlConfigureFlags, words(19, 1000), [w.s0])).toEqual([E.seL4_RangeError, 20, maxPeriodWord]);
    expect(raw(w, c, L.SchedControlConfigureFlags, words(1000, 19), [w.s0])).toEqual([E.seL4_RangeError, 20, maxPeriodWord]);
    expect(raw(w, c, L.SchedControlConfigureFlags, words(1000, 999), [w.s0])).toEqual([E.seL4_RangeError, 20, 999]);
    expect(raw(w, c, L.SchedControlConfigureFlags, words(1000, 1000), [w.t0])).toEqual([E.seL4_InvalidCapability, 1]);
    // 2^8 bytes: 12 refills, 10 beyond MIN_REFILLS.
    expect(raw(w, c, L.SchedControlConfigureFlags, words(1000, 2000, 11), [w.s0])).toEqual([E.seL4_RangeError, 0, 10]);
    expect(raw(w, c, L.UntypedRetype, words(1000, 1000), [w.s0])).toEqual([E.seL4_IllegalOperation]);
  });

  it('round robin when budget = period; otherwise one refill of the budget, up to 2 + extra refills', () => {
    const w = world();
    expect(w.h.api.seL4_SchedControl_ConfigureFlags(w.control, w.s0, 1000n, 1000n, 5, 7, 0)).toBe(ok);
    expect(w.sc(w.s0)).toMatchObject({
      periodTicks: 0n, refillMax: 2, sporadic: false, badge: 7,
      refills: [{ releaseTicks: 0n, amountTicks: ticks(1000) }, { releaseTicks: 0n, amountTicks: 0n }],
    });
    expect(w.h.api.seL4_SchedControl_ConfigureFlags(w.control, w.s1, 1000n, 5000n, 3, 0, seL4_SchedContext_Sporadic)).toBe(ok);
    expect(w.sc(w.s1)).toMatchObject({ periodTicks: ticks(5000), refillMax: 5, sporadic: true, refills: [{ releaseTicks: 0n, amountTicks: ticks(1000) }] });
  });
});

describe('SchedControl_ConfigureFlags on SCs in use', () => {
  it('an SC bound to a runnable thread keeps its head refill, cut to the new budget (refill_update)', () => {
    const w = world();
    runnable(w, w.t0, w.s0, 100, 1000);
    expect(w.h.api.seL4_SchedControl_ConfigureFlags(w.control, w.s0, 500n, 2000n, 0, 0, 0)).toBe(ok);
    expect(w.sc(w.s0)).toMatchObject({ periodTicks: ticks(2000), refillMax: 2, refills: [{ releaseTicks: 0n, amountTicks: ticks(500) }] });
    expect(w.sched().readyQueues).toEqual([{ priority: 100, threads: [w.addr(w.t0)] }]);
    expect(w.h.view().current()).toBe(w.addr(ROOT_TCB));
  });

  it('the current SC: charged first, refilled from now; the timer keeps its deadline until the next interrupt', () => {
    const w = world();
    expect(w.h.api.seL4_SchedControl_ConfigureFlags(w.control, ROOT_SC, 1000n, 1000n, 0, 0, 0)).toBe(ok);
    expect(w.sc(ROOT_SC).refills).toEqual([{ releaseTicks: 0n, amountTicks: ticks(1000) }, { releaseTicks: 0n, amountTicks: 0n }]);
    expect(w.sched().timerDeadlineTicks).toBe(49_990n);
    w.h.enter({ kind: 'time', ticks: 60_000n });
    expect(w.sc(ROOT_SC)).toMatchObject({ consumedTicks: 49_990n, refills: [{ releaseTicks: 0n, amountTicks: ticks(1000) }, { releaseTicks: 0n, amountTicks: 0n }] });
    expect(w.sched().timerDeadlineTicks).toBe(49_990n + ticks(1000) - 10n);
  });
});

describe('SchedContext invocations', () => {
  it('Bind: TruncatedMessage, InvalidCapability 1, IllegalOperation when either side is bound', () => {
    const w = world();
    const { api } = w.h;
    expect(raw(w, w.s0, L.SchedContextBind, [])).toEqual([E.seL4_TruncatedMessage]);
    expect(raw(w, w.s0, L.SchedContextBind, [], [w.ep])).toEqual([E.seL4_InvalidCapability, 1]);
    expect(api.seL4_SchedContext_Bind(w.s0, ROOT_TCB)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_Bind(w.s0, w.t0)).toBe(ok);
    expect(api.seL4_SchedContext_Bind(w.s0, w.t1)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_Bind(w.s1, w.t0)).toBe(E.seL4_IllegalOperation);
    expect(w.tcb(w.t0).schedContext).toBe(w.addr(w.s0));
  });

  it('Unbind and UnbindObject: not the caller’s own SC, and UnbindObject names the bound thread', () => {
    const w = world();
    const { api } = w.h;
    expect(api.seL4_SchedContext_Unbind(ROOT_SC)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_UnbindObject(ROOT_SC, ROOT_TCB)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_Bind(w.s0, w.t0)).toBe(ok);
    expect(api.seL4_SchedContext_UnbindObject(w.s0, w.t1)).toBe(E.seL4_IllegalOperation);
    expect(raw(w, w.s0, L.SchedContextUnbindObject, [], [w.ep])).toEqual([E.seL4_InvalidCapability, 1]);
    // A notification: IllegalOperation unless it is the one bound.
    expect(api.seL4_SchedContext_UnbindObject(w.s0, w.ntfn)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_Bind(w.s0, w.ntfn)).toBe(ok);
    expect(api.seL4_SchedContext_UnbindObject(w.s0, w.ntfn)).toBe(ok);
    expect(w.sc(w.s0).notification).toBeNull();
    expect(api.seL4_SchedContext_UnbindObject(w.s0, w.t0)).toBe(ok);
    expect(w.tcb(w.t0).schedContext).toBeNull();
    expect(api.seL4_SchedContext_Bind(w.s0, w.t0)).toBe(ok);
    expect(api.seL4_SchedContext_Unbind(w.s0)).toBe(ok);
    expect(w.sc(w.s0).tcb).toBeNull();
    expect(api.seL4_SchedContext_Unbind(w.s0)).toBe(ok);
  });

  it('YieldTo needs a bound thread, not the caller, within the caller’s MCP; Consumed reads and resets', () => {
    const w = world();
    const { api } = w.h;
    expect(api.seL4_SchedContext_YieldTo(w.s0).error).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_YieldTo(ROOT_SC).error).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_Consumed(w.s0)).toEqual({ error: ok, consumed: 0n });
    // A thread bound to an SC without budget cannot run: YieldTo replies at once.
    expect(api.seL4_TCB_SetSchedParams(w.t0, ROOT_TCB, 0, 0, w.s0, 0)).toBe(ok);
    expect(api.seL4_SchedContext_YieldTo(w.s0)).toEqual({ error: ok, consumed: 0n });
    expect(api.seL4_TCB_SetMCPriority(ROOT_TCB, ROOT_TCB, 100)).toBe(ok);
    expect(api.seL4_TCB_SetPriority(w.t0, ROOT_TCB, 100)).toBe(ok);
    expect(api.seL4_TCB_SetMCPriority(ROOT_TCB, ROOT_TCB, 99)).toBe(ok);
    expect(api.seL4_SchedContext_YieldTo(w.s0).error).toBe(E.seL4_IllegalOperation);
    expect(raw(w, w.s0, L.CNodeCopy, [])).toEqual([E.seL4_IllegalOperation]);
  });

  it('Consumed of the root’s own SC: what was charged to it so far, in µs', () => {
    const w = world();
    w.h.enter({ kind: 'time', ticks: 60_000n });
    expect(w.sc(ROOT_SC).consumedTicks).toBe(49_990n);
    expect(w.h.api.seL4_SchedContext_Consumed(ROOT_SC)).toEqual({ error: ok, consumed: 4999n });
    expect(w.sc(ROOT_SC).consumedTicks).toBe(0n);
  });
});

describe('runnable threads made by the root', () => {
  it('a resumed thread below the root waits in its ready queue; Suspend takes it out again', () => {
    const w = world();
    runnable(w, w.t0, w.s0, 100, 1000);
    expect(w.h.view().current()).toBe(w.addr(ROOT_TCB));
    expect(w.sched().readyQueues).toEqual([{ priority: 100, threads: [w.addr(w.t0)] }]);
    expect(w.tcb(w.t0).state).toBe('Restart');
    expect(w.h.api.seL4_TCB_Suspend(w.t0)).toBe(ok);
    expect(w.sched().readyQueues).toEqual([]);
    expect(w.tcb(w.t0).state).toBe('Inactive');
    expect(w.h.api.seL4_TCB_Resume(w.t0)).toBe(ok);
    expect(w.sched().readyQueues).toEqual([{ priority: 100, threads: [w.addr(w.t0)] }]);
  });
});
