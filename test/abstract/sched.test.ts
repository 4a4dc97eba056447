// The abstract spec's MCS scheduler: time events and the timer interrupt, the budget check at
// every entry, preemption, round robin, sporadic refills, Yield, YieldTo, exceptions and the
// deletion of threads and scheduling contexts in each state. Expected values are worked out by
// hand from seL4's rules (thread.c, sporadic.c) at 10 ticks per µs.
import { describe, expect, it } from 'vitest';
import { maxPeriodTicks, Reg, seL4_SchedContext_Sporadic, type KernelEvent } from '../../libsel4/index.ts';
import { abstractLayer } from '../../spec-abstract/index.ts';
import { ok, ROOT_CNODE, ROOT_SC, ROOT_TCB, ROOT_VSPACE, runnable, ticks, world, type World } from './threads.ts';

const time = (n: bigint): KernelEvent => ({ kind: 'time', ticks: n });
const exception: KernelEvent = { kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 2, code: 0 };

/** Lowers the root to priority 100 so that a thread of priority 200 runs. */
function rootTo100(w: World): void {
  expect(w.h.api.seL4_TCB_SetPriority(ROOT_TCB, ROOT_TCB, 100)).toBe(ok);
}

describe('time and the root thread alone', () => {
  it('time below the deadline only moves the clock; the timer interrupt ends the round-robin timeslice', () => {
    const w = world();
    const root = w.addr(ROOT_TCB);
    w.h.enter(time(100n));
    expect(w.sched()).toMatchObject({ clockTicks: 100n, curTimeTicks: 0n, consumedTicks: 0n, timerDeadlineTicks: 49_990n });
    const o = w.h.enter(time(60_000n));
    expect(o.current).toBe(root);
    expect(w.sched()).toMatchObject({ clockTicks: 49_990n, curTimeTicks: 49_990n, consumedTicks: 0n, readyQueues: [], timerDeadlineTicks: 99_980n });
    expect(w.sc(ROOT_SC)).toMatchObject({ consumedTicks: 49_990n, refills: [{ releaseTicks: 0n, amountTicks: 50_000n }, { releaseTicks: 0n, amountTicks: 0n }] });
  });

  it('an entry takes no time and leaves what it consumed in ksConsumed until the SC is charged', () => {
    const w = world();
    w.h.enter(time(100n));
    expect(w.h.api.seL4_TCB_SetTLSBase(w.t0, 5)).toBe(ok);
    expect(w.sched()).toMatchObject({ clockTicks: 100n, curTimeTicks: 100n, consumedTicks: 100n, timerDeadlineTicks: 49_990n });
    expect(w.sc(ROOT_SC).consumedTicks).toBe(0n);
  });

  it('an entry with less than MIN_BUDGET left charges the budget and restarts the syscall instead of running it', () => {
    const w = world();
    w.h.enter(time(49_900n));
    const o = w.h.api.rawSyscall([[Reg.a0, w.t0], [Reg.a1, 0x10001], [Reg.a2, 0xabc], [Reg.a7, 0xffffffff]]);
    expect(o.caller?.state).toBe('Running');
    expect(w.h.api.seL4_TCB_ReadRegisters(w.t0, false, 0, 32).regs?.[Reg.tp]).toBe(0);
    expect(w.sc(ROOT_SC).consumedTicks).toBe(49_900n);
    expect(w.sched()).toMatchObject({ consumedTicks: 0n, timerDeadlineTicks: 49_900n + 50_000n - 10n });
  });

  it('Yield gives up the rest of the budget; the SC is charged only what was used', () => {
    const w = world();
    w.h.enter(time(1_100n));
    w.h.api.seL4_Yield();
    expect(w.h.view().current()).toBe(w.addr(ROOT_TCB));
    expect(w.sc(ROOT_SC).consumedTicks).toBe(1_100n);
    expect(w.sched()).toMatchObject({ consumedTicks: 0n, timerDeadlineTicks: 1_100n + 50_000n - 10n });
  });

  it('an exception with no fault handler stops the thread: the idle thread runs on its own SC', () => {
    const w = world();
    const o = w.h.enter(exception);
    expect(o.caller?.state).toBe('Inactive');
    expect(o.current).toBeNull();
    expect(w.sched()).toMatchObject({ currentSchedContext: null, timerDeadlineTicks: maxPeriodTicks - 10n });
    const before = w.h.state();
    w.h.enter({ kind: 'syscall', user: { regs: [], ipcBuffer: [] } });
    expect(w.h.state()).toBe(before);
    w.h.enter(time(1_000n));
    expect(w.sched().clockTicks).toBe(1_000n);
  });

  it('an exception with a fault handler and no receiver blocks the thread on the handler endpoint, fault pending', () => {
    const w = world();
    expect(w.h.api.seL4_TCB_SetSpace(ROOT_TCB, w.ep, ROOT_CNODE, 0, ROOT_VSPACE, 0)).toBe(ok);
    const o = w.h.enter(exception);
    expect(o.unmodelled).toBeNull();
    expect(o.caller?.state).toBe('BlockedOnSend');
    expect(o.current).toBeNull();
    expect(w.h.view().object(w.addr(ROOT_TCB))).toMatchObject({ fault: { type: 'UserException', words: [2, 0] } });
  });
});

describe('threads the root makes runnable', () => {
  it('preemption: a higher-priority thread runs as soon as the root lowers itself, on its own SC and timer', () => {
    const w = world();
    const [root, t0] = [w.addr(ROOT_TCB), w.addr(w.t0)];
    runnable(w, w.t0, w.s0, 200, 1000);
    expect(w.h.view().current()).toBe(root);
    rootTo100(w);
    expect(w.h.view().current()).toBe(t0);
    expect(w.tcb(w.t0).state).toBe('Running');
    expect(w.sched()).toMatchObject({ currentSchedContext: w.addr(w.s0), readyQueues: [{ priority: 100, threads: [root] }], timerDeadlineTicks: 9_990n });
    // Its own timeslice ends: alone at its priority, it runs on.
    expect(w.h.enter(time(20_000n)).current).toBe(t0);
    expect(w.sched()).toMatchObject({ clockTicks: 9_990n, timerDeadlineTicks: 19_980n });
    expect(w.sc(w.s0).consumedTicks).toBe(9_990n);
    // An unknown syscall with no fault handler stops it; the root runs again.
    const o = w.h.api.rawSyscall([[Reg.a7, 0]]);
    expect(o.caller?.tcb).toBe(t0);
    expect(o.caller?.state).toBe('Inactive');
    expect(o.current).toBe(root);
    expect(w.sched()).toMatchObject({ currentSchedContext: w.addr(ROOT_SC), readyQueues: [], timerDeadlineTicks: 9_990n + 50_000n - 10n });
  });

  it('round robin: threads of one priority take turns at the end of each timeslice, and at Yield', () => {
    const w = world();
    const [root, t0] = [w.addr(ROOT_TCB), w.addr(w.t0)];
    runnable(w, w.t0, w.s0, 255, 1000);
    expect(w.h.view().current()).toBe(root);
    expect(w.sched().readyQueues).toEqual([{ priority: 255, threads: [t0] }]);
    expect(w.h.enter(time(60_000n)).current).toBe(t0);
    expect(w.sched()).toMatchObject({ readyQueues: [{ priority: 255, threads: [root] }], timerDeadlineTicks: 59_980n });
    expect(w.h.enter(time(20_000n)).current).toBe(root);
    expect(w.sched()).toMatchObject({ readyQueues: [{ priority: 255, threads: [t0] }], timerDeadlineTicks: 109_970n });
    w.h.api.seL4_Yield();
    expect(w.h.view().current()).toBe(t0);
  });

  it('sporadic: a thread that used its budget waits in the release queue for its refill one period later', () => {
    const w = world();
    const [root, t0] = [w.addr(ROOT_TCB), w.addr(w.t0)];
    runnable(w, w.t0, w.s0, 200, 1000, 10_000, seL4_SchedContext_Sporadic, 2);
    rootTo100(w);
    expect(w.h.view().current()).toBe(t0);
    expect(w.sc(w.s0).refills).toEqual([{ releaseTicks: 0n, amountTicks: ticks(1000) }]);
    expect(w.h.enter(time(20_000n)).current).toBe(root);
    // 9990 ticks used: 10 left is below MIN_BUDGET, so the head merges into the refill of what was used.
    expect(w.sc(w.s0)).toMatchObject({ consumedTicks: 9_990n, refills: [{ releaseTicks: 99_990n, amountTicks: 10_000n }] });
    expect(w.sched()).toMatchObject({ releaseQueue: [t0], readyQueues: [], timerDeadlineTicks: 59_980n });
    expect(w.tcb(w.t0).state).toBe('Running');
    // The clock cannot reach the release time under this model's timer (see docs/model.md);
    // with the deadline moved past it, the next interrupt releases the thread, which runs.
    const later = { ...w.h.state(), sched: { ...w.h.state().sched, timerDeadlineTicks: 100_000n } };
    const [outcome] = abstractLayer.step(later, time(200_000n));
    expect(outcome!.observation.current).toBe(t0);
    expect(abstractLayer.view(outcome!.state).scheduler()).toMatchObject({
      clockTicks: 100_000n, releaseQueue: [], readyQueues: [{ priority: 100, threads: [root] }], currentSchedContext: w.addr(w.s0),
      timerDeadlineTicks: 100_000n + 10_000n - 10n,
    });
  });

  it('at the end of a sporadic budget a thread with a timeout handler takes a timeout fault: queued on the handler endpoint', () => {
    const w = world();
    runnable(w, w.t0, w.s0, 200, 1000, 10_000);
    expect(w.h.api.seL4_TCB_SetTimeoutEndpoint(w.t0, w.ep)).toBe(ok);
    rootTo100(w);
    const o = w.h.enter(time(20_000n));
    expect(o.unmodelled).toBeNull();
    expect(o.current).toBe(w.addr(ROOT_TCB));
    expect(w.tcb(w.t0)).toMatchObject({ state: 'BlockedOnSend', fault: { type: 'Timeout', words: [0] } });
    expect(w.h.view().object(w.addr(w.ep))).toMatchObject({ state: 'Send', queue: [w.addr(w.t0)] });
  });

  it('YieldTo a thread of the caller’s priority: it runs, and the caller gets its SC’s consumed time when it runs again', () => {
    const w = world();
    const [root, t0, s0] = [w.addr(ROOT_TCB), w.addr(w.t0), w.addr(w.s0)];
    runnable(w, w.t0, w.s0, 255, 1000);
    expect(w.h.api.seL4_SchedContext_YieldTo(w.s0).error).toBe(ok);
    expect(w.h.view().current()).toBe(t0);
    expect(w.tcb(ROOT_TCB).yieldTo).toBe(s0);
    expect(w.sc(w.s0).yieldFrom).toBe(root);
    const o = w.h.enter(time(20_000n));
    expect(o.current).toBe(root);
    const regs = abstractLayer.observe(w.h.state(), root).caller!.regs;
    expect([regs[Reg.a1]! & 0x7f, regs[Reg.a2], regs[Reg.a3]]).toEqual([2, 999, 0]);
    expect(w.tcb(ROOT_TCB).yieldTo).toBeNull();
    expect(w.sc(w.s0)).toMatchObject({ yieldFrom: null, consumedTicks: 0n });
  });

  it('YieldTo a lower-priority thread requeues it at the head and replies at once', () => {
    const w = world();
    runnable(w, w.t0, w.s0, 100, 1000);
    runnable(w, w.t1, w.s1, 100, 1000);
    expect(w.sched().readyQueues).toEqual([{ priority: 100, threads: [w.addr(w.t1), w.addr(w.t0)] }]);
    expect(w.h.api.seL4_SchedContext_YieldTo(w.s0)).toEqual({ error: ok, consumed: 0n });
    expect(w.sched().readyQueues).toEqual([{ priority: 100, threads: [w.addr(w.t0), w.addr(w.t1)] }]);
    expect(w.h.view().current()).toBe(w.addr(ROOT_TCB));
  });

  it('suspending the current thread lets the next one run; resuming it queues it again', () => {
    const w = world();
    runnable(w, w.t0, w.s0, 255, 1000);
    // No reply: the caller is no longer in Restart when the invocation is done.
    w.h.api.seL4_TCB_Suspend(ROOT_TCB);
    expect(w.h.api.lastObservation().caller?.state).toBe('Inactive');
    expect(w.h.view().current()).toBe(w.addr(w.t0));
    // The next call is the running thread's (its CSpace is the root's).
    expect(w.h.api.seL4_TCB_Resume(ROOT_TCB)).toBe(ok);
    expect(w.sched().readyQueues).toEqual([{ priority: 255, threads: [w.addr(ROOT_TCB)] }]);
  });
});

describe('deleting threads and scheduling contexts', () => {
  const deleteSlot = (w: World, slot: number) => w.h.api.seL4_CNode_Delete(ROOT_CNODE, slot, 32);
  /** CNode_Delete of a root CNode slot, made by the running thread; what it observes. */
  const deleteAsRunning = (w: World, slot: number) => {
    w.h.api.seL4_CNode_Delete(ROOT_CNODE, slot, 32);
    return w.h.api.lastObservation();
  };

  it('a queued thread: it leaves the ready queue, its SC is unbound, and it is Inactive', () => {
    const w = world();
    const t0 = w.addr(w.t0);
    runnable(w, w.t0, w.s0, 100, 1000);
    expect(deleteSlot(w, w.t0)).toBe(ok);
    expect(w.sched().readyQueues).toEqual([]);
    expect(w.sc(w.s0).tcb).toBeNull();
    expect(w.h.view().object(t0)).toMatchObject({ state: 'Inactive', schedContext: null });
  });

  it('an inactive thread with an SC: the SC is unbound', () => {
    const w = world();
    const t0 = w.addr(w.t0);
    expect(w.h.api.seL4_TCB_SetSchedParams(w.t0, ROOT_TCB, 0, 0, w.s0, 0)).toBe(ok);
    expect(deleteSlot(w, w.t0)).toBe(ok);
    expect(w.sc(w.s0).tcb).toBeNull();
    expect(w.h.view().object(t0)).toMatchObject({ state: 'Inactive', schedContext: null });
  });

  it('a thread waiting for its refill: it leaves the release queue', () => {
    const w = world();
    runnable(w, w.t0, w.s0, 200, 1000, 10_000, 0, 2);
    rootTo100(w);
    w.h.enter(time(20_000n));
    expect(w.sched().releaseQueue).toEqual([w.addr(w.t0)]);
    expect(deleteSlot(w, w.t0)).toBe(ok);
    expect(w.sched().releaseQueue).toEqual([]);
    expect(w.sc(w.s0).tcb).toBeNull();
  });

  it('the running thread deleting its own TCB: it stops and the root runs', () => {
    const w = world();
    const t0 = w.addr(w.t0);
    runnable(w, w.t0, w.s0, 200, 1000);
    rootTo100(w);
    const o = deleteAsRunning(w, w.t0);
    expect(o.caller?.tcb).toBe(t0);
    expect(o.caller?.state).toBe('Inactive');
    expect(o.current).toBe(w.addr(ROOT_TCB));
    expect(w.sched()).toMatchObject({ readyQueues: [], currentSchedContext: w.addr(ROOT_SC) });
  });

  it('the SC of a queued thread: the thread leaves the queue; the SC is unbound and inactive', () => {
    const w = world();
    runnable(w, w.t0, w.s0, 100, 1000);
    const s0 = w.addr(w.s0);
    expect(deleteSlot(w, w.s0)).toBe(ok);
    expect(w.sched().readyQueues).toEqual([]);
    expect(w.h.view().object(s0)).toMatchObject({ tcb: null, refillMax: 0, sporadic: false });
    expect(w.tcb(w.t0)).toMatchObject({ schedContext: null, state: 'Restart' });
  });

  it('the SC a thread yielded to: the yielder gets its consumed time at once', () => {
    const w = world();
    const [root, s0] = [w.addr(ROOT_TCB), w.addr(w.s0)];
    runnable(w, w.t0, w.s0, 255, 1000);
    expect(w.h.api.seL4_SchedContext_YieldTo(w.s0).error).toBe(ok);
    expect(w.h.view().current()).toBe(w.addr(w.t0));
    // The running thread deletes the SC's only cap: it loses its SC, the root runs again.
    deleteAsRunning(w, w.s0);
    expect(w.h.view().current()).toBe(root);
    expect(w.tcb(ROOT_TCB).yieldTo).toBeNull();
    expect(w.tcb(w.t0)).toMatchObject({ schedContext: null, state: 'Running' });
    expect(w.h.view().object(s0)).toMatchObject({ yieldFrom: null, tcb: null, refillMax: 0 });
    const regs = abstractLayer.observe(w.h.state(), root).caller!.regs;
    expect([regs[Reg.a1]! & 0x7f, regs[Reg.a2], regs[Reg.a3]]).toEqual([2, 0, 0]);
  });

  it('the SC of the running thread, deleted by that thread: it replies, and the root runs', () => {
    const w = world();
    const t0 = w.addr(w.t0);
    runnable(w, w.t0, w.s0, 200, 1000);
    rootTo100(w);
    const o = deleteAsRunning(w, w.s0);
    expect(o.caller?.tcb).toBe(t0);
    expect(o.caller?.state).toBe('Running');
    expect(o.caller?.regs[Reg.a1]).toBe(0);
    expect(o.current).toBe(w.addr(ROOT_TCB));
  });
});
