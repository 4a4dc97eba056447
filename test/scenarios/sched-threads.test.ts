// Scheduling scenarios with several threads running, in the manner of sel4test's scheduler.c
// and schedcontext.c (MCS), on the run loop: the root task and its helper threads are programs
// (generators of libsel4 calls), and the kernel decides who runs. Shared variables play the
// part of sel4test's volatile globals; assertions on kernel state read the layer's view.
//
// Translated here: SCHED0003 (suspend/resume across three helpers), SCHED0005 (priorities and
// MCPs changed by running threads), SCHED0012/0013 (periodic threads over several periods, and the
// refills of a preempted SC), SCHED0016 (suspend/resume cannot exceed a budget), SCHED0017
// (YieldTo above the caller's MCP), SCHED0011 (a 100 ms slice, measured on the model's clock),
// SCHED0018 (YieldTo clean-up when the yielded-to thread suspends or is deleted, or the yielder is
// deleted), SCHED0019 (YieldTo), SCHED0020 (raising a thread's priority runs it), SCHED0021
// (round robin at equal priority: every thread one slice), SCHED_CONTEXT_0005 for a thread
// deleting its own SC, SCHED_CONTEXT_0007's TCB half (resume then bind, bind then resume), and
// seL4_Yield between two threads of one priority.
// Not translated (see sched-root.test.ts for the list and the reasons): everything that needs
// endpoint or notification IPC, a user-level timer driver, SMP or domains. SCHED0014 counts with
// a user timer; its content (a budget per period) is in the periodic test.
import { describe, expect, it } from 'vitest';
import {
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_ObjectType,
  seL4_SchedContext_Sporadic,
  type KernelEvent,
  type ObjectView,
  type Observation,
  type Refill,
  type Stub,
} from '../../libsel4/index.ts';
import { runSystem, startThread, type Program, type ProgramContext, type RunResult, type Slice } from '../../refinement/run.ts';
import { HelperSlots, biggestUntypedSlot, modes } from './sched-common.ts';

const E = seL4_Error;
const rootTCB = seL4_CapInitThreadTCB;
/** A 1 ms round-robin budget (budget = period), and the ticks a thread runs on it before the timer: the deadline is one timer precision early. */
const sliceUs = 1000n;
const sliceTicks = 9990n;

type ScView = Extract<ObjectView, { type: 'schedcontext' }>;

interface Helper {
  readonly program: Program;
  readonly priority: number;
  readonly budgetUs?: bigint;
  readonly periodUs?: bigint;
  /** Resumed at the end of its start (default true). */
  readonly resume?: boolean;
}

/** A booted system and the root CNode slots its helpers get, two each (TCB, SC), in order. */
class Scenario extends HelperSlots {
  sc(i: number | 'root'): ScView {
    const o = this.system.view().object(i === 'root' ? this.system.plan.rootSC : this.ptrOf(this.tcbSlot(i) + 1));
    if (o?.type !== 'schedcontext') throw new Error(`helper ${i} has no SC`);
    return o;
  }

  /** Starts the helpers in order (each resumed last), from the biggest untyped. */
  *start(sys: ProgramContext, helpers: readonly Helper[]): Stub<void> {
    const untyped = biggestUntypedSlot(sys.plan.bootInfo);
    for (const [i, h] of helpers.entries()) {
      const budgetUs = h.budgetUs ?? sliceUs;
      const spec = { program: h.program, untyped, slot: this.tcbSlot(i), priority: h.priority, budgetUs, periodUs: h.periodUs ?? budgetUs, resume: h.resume ?? true };
      expect(yield* startThread(sys, spec)).toBe(E.seL4_NoError);
    }
  }

  /** Gives helper `i` an IPC buffer (a new 4 KiB frame), which it needs to pass caps: startThread leaves it without one. */
  *giveIPCBuffer(sys: ProgramContext, i: number): Stub<void> {
    const frameSlot = this.firstSlot + 100 + i;
    expect(yield* sys.api.seL4_Untyped_Retype(biggestUntypedSlot(sys.plan.bootInfo), seL4_ObjectType.seL4_RISCV_4K_Page, 0, seL4_CapInitThreadCNode, 0, 0, frameSlot, 1)).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_TCB_SetIPCBuffer(this.tcbSlot(i), 0x2000_0000 + 0x1000 * i, frameSlot)).toBe(E.seL4_NoError);
  }

  run(root: Program): RunResult {
    return runSystem(root, { system: this.system, maxSteps: 3000 });
  }

  /** The stretches of the timeline that helper `i` ran. */
  slicesOf(result: RunResult, i: number): Slice[] {
    const tcb = this.tcbPtr(i);
    return result.timeline.filter((s) => s.thread === tcb);
  }
}

/** Computes forever, in pieces of 10 ms (a piece the timer cuts goes on when the thread runs again). */
function* spin(sys: ProgramContext): Generator<KernelEvent, never, Observation> {
  for (;;) yield* sys.compute(10_000n);
}

describe.each(modes)('scheduling scenarios with threads on %s', (mode) => {
  it('SCHED0020: a helper raised above the root runs at once, to its end', () => {
    const s = new Scenario(mode);
    let state = 0;
    function* helper(sys: ProgramContext) {
      // In case it was picked before its priority was raised (it is not: equal priority queues it behind the root).
      yield* sys.api.seL4_Yield();
      state = 2;
    }
    const result = s.run(function* root(sys) {
      expect(yield* sys.api.seL4_TCB_SetPriority(rootTCB, rootTCB, 254)).toBe(E.seL4_NoError);
      yield* s.start(sys, [{ program: helper, priority: 254 }]);
      expect(state).toBe(0);
      expect(s.system.view().scheduler().readyQueues).toEqual([{ priority: 254, threads: [s.tcbPtr(0)] }]);
      expect(yield* sys.api.seL4_TCB_SetPriority(s.tcbSlot(0), rootTCB, 255)).toBe(E.seL4_NoError);
      expect(state).toBe(2);
      // Its program ended: the user exception that follows, with no fault handler, left it Inactive.
      expect(s.tcb(0).state).toBe('Inactive');
    });
    expect(result.stop).toBe('finished');
    expect(result.clockTicks).toBe(0n);
  });

  it('SCHED0003: helpers suspend and resume each other in priority order', () => {
    const s = new Scenario(mode);
    let step = 0;
    const log: string[] = [];
    const checkStep = (who: string, expected: number) => {
      log.push(`${who}:${step}`);
      expect(step).toBe(expected);
      step = expected + 1;
    };
    // Started in this order (see the root): 1, 2b, 2a.
    const [t1, t2b, t2a] = [0, 1, 2].map((i) => s.tcbSlot(i)) as [number, number, number];
    function* helper2a(sys: ProgramContext) {
      checkStep('2a', 0);
      // Spin until the timer hands the processor to 2b, which moves the step on.
      for (let i = 0; step === 1 && i < 1000; i++) yield* sys.compute(100n);
      expect(yield* sys.api.seL4_TCB_Suspend(t2b)).toBe(E.seL4_NoError);
      checkStep('2a', 2);
      yield* sys.api.seL4_TCB_Suspend(t2a);
      throw new Error('2a ran after suspending itself');
    }
    function* helper2b(sys: ProgramContext) {
      expect([0, 1]).toContain(step);
      for (let i = 0; step === 0 && i < 1000; i++) yield* sys.api.seL4_Yield();
      checkStep('2b', 1);
      for (let i = 0; step === 2 && i < 1000; i++) yield* sys.api.seL4_Yield();
      checkStep('2b', 4);
      yield* sys.api.seL4_TCB_Suspend(t2b);
    }
    function* helper1(sys: ProgramContext) {
      checkStep('1', 3);
      expect(yield* sys.api.seL4_TCB_Resume(t2b)).toBe(E.seL4_NoError);
      // 2b (priority 101) preempted us at once and finished.
      checkStep('1', 5);
      yield* sys.api.seL4_TCB_Suspend(t1);
    }
    const result = s.run(function* root(sys) {
      // A lower-priority thread resumed while a higher one runs goes to the head of its queue: start 2b before 2a.
      yield* s.start(sys, [{ program: helper1, priority: 100 }, { program: helper2b, priority: 101 }, { program: helper2a, priority: 101 }]);
      expect(s.system.view().scheduler().readyQueues).toEqual([
        { priority: 101, threads: [s.tcbPtr(2), s.tcbPtr(1)] },
        { priority: 100, threads: [s.tcbPtr(0)] },
      ]);
      // Where sel4test's test thread waits for its helpers, the root drops below them.
      expect(yield* sys.api.seL4_TCB_SetPriority(rootTCB, rootTCB, 50)).toBe(E.seL4_NoError);
      checkStep('root', 6);
    });
    expect(log).toEqual(['2a:0', '2b:1', '2a:2', '1:3', '2b:4', '1:5', 'root:6']);
    expect([0, 1, 2].map((i) => s.tcb(i).state)).toEqual(['Inactive', 'Inactive', 'Inactive']);
    // 2a ran one slice, and the 10 ticks of its 100 µs piece the timer cut off.
    expect(result.timeline).toEqual([{ thread: s.tcbPtr(2), program: 'helper2a', fromTicks: 0n, toTicks: sliceTicks + 10n }]);
    // The helpers stay suspended inside their programs: only the idle thread is left.
    expect(result.stop).toBe('idle');
  });

  it('SCHED0021: threads of the root\'s priority each run one full slice when the root yields', () => {
    const s = new Scenario(mode);
    const helpers = [0, 1, 2, 3];
    const result = s.run(function* root(sys) {
      yield* s.start(sys, helpers.map(() => ({ program: spin, priority: 255 })));
      // Equal priority: each is queued behind the root, which keeps running.
      expect(s.system.view().current()).toBe(s.system.plan.rootTCB);
      expect(s.system.view().scheduler().readyQueues).toEqual([{ priority: 255, threads: helpers.map((i) => s.tcbPtr(i)) }]);
      yield* sys.api.seL4_Yield();
      expect(s.system.view().scheduler()).toMatchObject({
        clockTicks: 4n * sliceTicks, curTimeTicks: 4n * sliceTicks, consumedTicks: 0n, currentSchedContext: s.system.plan.rootSC,
        readyQueues: [{ priority: 255, threads: helpers.map((i) => s.tcbPtr(i)) }],
        timerDeadlineTicks: 4n * sliceTicks + 50_000n - 10n,
      });
      expect(helpers.map((i) => s.sc(i).consumedTicks)).toEqual(helpers.map(() => sliceTicks));
      for (const i of helpers) expect(yield* sys.api.seL4_TCB_Suspend(s.tcbSlot(i))).toBe(E.seL4_NoError);
    });
    expect(result.timeline).toEqual(helpers.map((i) => ({ thread: s.tcbPtr(i), program: 'spin', fromTicks: BigInt(i) * sliceTicks, toTicks: BigInt(i + 1) * sliceTicks })));
    expect(result.stop).toBe('idle');
  });

  it('SCHED0011: a thread with a 100 ms round-robin budget at the root\'s priority runs that long whenever the root yields', () => {
    const s = new Scenario(mode);
    const gapsTicks: bigint[] = [];
    s.run(function* root(sys) {
      yield* s.start(sys, [{ program: spin, priority: 255, budgetUs: 100_000n }]);
      for (let i = 0; i < 11; i++) {
        const before = s.system.view().scheduler().clockTicks;
        yield* sys.api.seL4_Yield();
        gapsTicks.push(s.system.view().scheduler().clockTicks - before);
      }
      expect(yield* sys.api.seL4_TCB_Suspend(s.tcbSlot(0))).toBe(E.seL4_NoError);
    });
    // The model's clock is exact: every gap is the budget less the timer's precision.
    expect(gapsTicks).toEqual(Array.from({ length: 11 }, () => 1_000_000n - 10n));
  });

  it('seL4_Yield hands the processor to the next thread of the same priority and back', () => {
    const s = new Scenario(mode);
    const log: string[] = [];
    function* helper(sys: ProgramContext) {
      for (let i = 0; i < 3; i++) {
        log.push('helper');
        yield* sys.api.seL4_Yield();
      }
    }
    const result = s.run(function* root(sys) {
      yield* s.start(sys, [{ program: helper, priority: 255 }]);
      for (let i = 0; i < 3; i++) {
        log.push('root');
        yield* sys.api.seL4_Yield();
      }
      // A yield charges the whole refill but records only the time used: none here.
      expect(s.sc(0)).toMatchObject({ consumedTicks: 0n, refills: [{ amountTicks: 10_000n }, { amountTicks: 0n }] });
    });
    expect(log).toEqual(['root', 'helper', 'root', 'helper', 'root', 'helper']);
    expect(result.stop).toBe('finished');
    expect(result.clockTicks).toBe(0n);
  });

  it('SCHED0016: suspending and resuming a thread that used its budget does not refill it', () => {
    const s = new Scenario(mode);
    let state = 0;
    function* helper(sys: ProgramContext) {
      for (;;) {
        state++;
        yield* sys.api.seL4_Yield();
      }
    }
    const periodTicks = 10_000_000n;
    const result = s.run(function* root(sys) {
      // 2 ms every second at the root's priority.
      yield* s.start(sys, [{ program: helper, priority: 255, budgetUs: 2000n, periodUs: 1_000_000n }]);
      yield* sys.api.seL4_Yield();
      expect(state).toBe(1);
      // Its yield gave up the rest of its budget: the whole refill moves a period on.
      expect(s.system.view().scheduler().releaseQueue).toEqual([s.tcbPtr(0)]);
      expect(s.sc(0).refills).toEqual([{ releaseTicks: periodTicks, amountTicks: 20_000n }]);
      for (let i = 0; i < 10; i++) {
        expect(yield* sys.api.seL4_TCB_Suspend(s.tcbSlot(0))).toBe(E.seL4_NoError);
        expect(s.system.view().scheduler().releaseQueue).toEqual([]);
        expect(yield* sys.api.seL4_TCB_Resume(s.tcbSlot(0))).toBe(E.seL4_NoError);
        // Not ready: straight back to the release queue.
        expect(s.system.view().scheduler().releaseQueue).toEqual([s.tcbPtr(0)]);
        yield* sys.api.seL4_Yield();
        expect(state).toBe(1);
      }
      expect(s.sc(0).refills).toEqual([{ releaseTicks: periodTicks, amountTicks: 20_000n }]);
      expect(yield* sys.api.seL4_TCB_Suspend(s.tcbSlot(0))).toBe(E.seL4_NoError);
    });
    expect(result.clockTicks).toBe(0n);
    expect(result.stop).toBe('idle');
  });

  it('SCHED0019: YieldTo runs the other thread on its own SC and returns what it consumed', () => {
    const s = new Scenario(mode);
    let seenFromHelper: { yieldTo: number | null; yieldFrom: number | null } | null = null;
    function* to(sys: ProgramContext) {
      seenFromHelper = { yieldTo: s.tcb('root').yieldTo, yieldFrom: s.sc(0).yieldFrom };
      yield* spin(sys);
    }
    const result = s.run(function* root(sys) {
      yield* s.start(sys, [{ program: to, priority: 255 }]);
      const reply = yield* sys.api.seL4_SchedContext_YieldTo(s.tcbSlot(0) + 1);
      // It ran one slice (999.0 µs), then the root, next in the queue, got its reply.
      expect(reply).toEqual({ error: E.seL4_NoError, consumed: sliceTicks / 10n });
      expect(s.tcb('root').yieldTo).toBeNull();
      expect(s.sc(0)).toMatchObject({ yieldFrom: null, consumedTicks: 0n });
      expect(yield* sys.api.seL4_TCB_Suspend(s.tcbSlot(0))).toBe(E.seL4_NoError);
    });
    expect(seenFromHelper).toEqual({ yieldTo: s.sc(0).addr, yieldFrom: s.system.plan.rootTCB });
    expect(result.timeline).toEqual([{ thread: s.tcbPtr(0), program: 'to', fromTicks: 0n, toTicks: sliceTicks }]);
  });

  it('SCHED0017: a thread cannot yield to a thread above its MCP', () => {
    const s = new Scenario(mode);
    let reply: { error: seL4_Error; consumed: bigint } | null = null;
    function* helper(sys: ProgramContext) {
      reply = yield* sys.api.seL4_SchedContext_YieldTo(seL4_CapInitThreadSC);
    }
    const result = s.run(function* root(sys) {
      yield* s.start(sys, [{ program: helper, priority: 255 }]);
      expect(yield* sys.api.seL4_TCB_SetMCPriority(s.tcbSlot(0), rootTCB, 0)).toBe(E.seL4_NoError);
      yield* sys.api.seL4_Yield();
      expect(reply).toEqual({ error: E.seL4_IllegalOperation, consumed: 0n });
    });
    expect(result.stop).toBe('finished');
  });

  it('SCHED0018: a yield ends when the yielded-to thread suspends itself, with the time it committed', () => {
    const s = new Scenario(mode);
    function* to(sys: ProgramContext) {
      yield* sys.compute(100n);
      yield* sys.api.seL4_TCB_Suspend(s.tcbSlot(0));
    }
    s.run(function* root(sys) {
      yield* s.start(sys, [{ program: to, priority: 255 }]);
      // Its 100 µs are charged when the kernel switches back to the root, before the reply is written.
      expect(yield* sys.api.seL4_SchedContext_YieldTo(s.tcbSlot(0) + 1)).toEqual({ error: E.seL4_NoError, consumed: 100n });
      expect(s.tcb(0).state).toBe('Inactive');
      expect(s.tcb('root').yieldTo).toBeNull();
    });
  });

  it('SCHED0018: deleting the yielded-to thread completes the yield with what was charged so far', () => {
    const s = new Scenario(mode);
    function* to(sys: ProgramContext) {
      yield* sys.compute(100n);
      yield* sys.api.seL4_CNode_Delete(seL4_CapInitThreadCNode, s.tcbSlot(0), 32);
      throw new Error('a deleted thread ran on');
    }
    s.run(function* root(sys) {
      yield* s.start(sys, [{ program: to, priority: 255 }]);
      // The reply is written while the TCB is finalised: its 100 µs are not charged yet.
      expect(yield* sys.api.seL4_SchedContext_YieldTo(s.tcbSlot(0) + 1)).toEqual({ error: E.seL4_NoError, consumed: 0n });
      expect(s.tcb('root').yieldTo).toBeNull();
      expect(s.sc(0)).toMatchObject({ tcb: null, yieldFrom: null, consumedTicks: 1000n });
    });
  });

  it('SCHED0018: deleting the yielder cancels its yield', () => {
    const s = new Scenario(mode);
    const seen: (number | null)[] = [];
    function* from(sys: ProgramContext) {
      yield* sys.api.seL4_SchedContext_YieldTo(s.tcbSlot(1) + 1);
      throw new Error('a deleted thread ran on');
    }
    function* to(sys: ProgramContext) {
      seen.push(s.sc(1).yieldFrom);
      expect(yield* sys.api.seL4_CNode_Delete(seL4_CapInitThreadCNode, s.tcbSlot(0), 32)).toBe(E.seL4_NoError);
      seen.push(s.sc(1).yieldFrom);
      yield* sys.api.seL4_TCB_Suspend(s.tcbSlot(1));
    }
    let fromTCB = 0;
    const result = s.run(function* root(sys) {
      yield* s.start(sys, [{ program: from, priority: 255 }, { program: to, priority: 255 }]);
      fromTCB = s.tcbPtr(0);
      yield* sys.api.seL4_Yield();
      expect(s.sc(0).tcb).toBeNull();
    });
    expect(seen).toEqual([fromTCB, null]);
    expect(result.clockTicks).toBe(0n);
  });

  it('SCHED0005: threads lower and raise priorities within their MCPs while running', () => {
    const s = new Scenario(mode);
    const highest = 253;
    let step = 0;
    const [t1, t2] = [s.tcbSlot(0), s.tcbSlot(1)];
    function* helper1(sys: ProgramContext) {
      expect(step).toBe(0);
      step = 1;
      // Below thread 2: it runs now.
      expect(yield* sys.api.seL4_TCB_SetPriority(t1, t1, highest - 4)).toBe(E.seL4_NoError);
      expect(step).toBe(2);
      step = 3;
      // Back up: its MCP still allows it.
      expect(yield* sys.api.seL4_TCB_SetPriority(t1, t1, highest)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_TCB_SetMCPriority(t1, t1, highest - 4)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_TCB_SetPriority(t1, t1, highest - 3)).toBe(E.seL4_RangeError);
      expect(yield* sys.api.seL4_TCB_SetMCPriority(t1, t1, highest)).toBe(E.seL4_RangeError);
      expect(s.tcb(0)).toMatchObject({ priority: highest, mcp: highest - 4 });
    }
    function* helper2(sys: ProgramContext) {
      expect(step).toBe(1);
      // Its MCP (251) is below the priority it tries to give thread 1.
      expect(yield* sys.api.seL4_TCB_SetPriority(t1, t2, highest)).toBe(E.seL4_RangeError);
      expect(yield* sys.api.seL4_TCB_SetPriority(t1, t2, highest - 2)).toBe(E.seL4_NoError);
      step = 2;
      // Below thread 1: it runs now, to its end.
      expect(yield* sys.api.seL4_TCB_SetPriority(t2, t2, highest - 3)).toBe(E.seL4_NoError);
      expect(step).toBe(3);
      step = 4;
    }
    const result = s.run(function* root(sys) {
      yield* s.start(sys, [{ program: helper1, priority: highest }, { program: helper2, priority: highest - 1 }]);
      expect(yield* sys.api.seL4_TCB_SetMCPriority(t2, rootTCB, highest - 2)).toBe(E.seL4_NoError);
      yield* s.giveIPCBuffer(sys, 0);
      yield* s.giveIPCBuffer(sys, 1);
      // Where sel4test's test thread waits for its helpers, the root drops below them.
      expect(yield* sys.api.seL4_TCB_SetPriority(rootTCB, rootTCB, 10)).toBe(E.seL4_NoError);
      expect(step).toBe(4);
      expect([s.tcb(0).state, s.tcb(1).state]).toEqual(['Inactive', 'Inactive']);
    });
    expect(result.stop).toBe('finished');
  });

  it('SCHED_CONTEXT_0007 (TCB half): a thread resumed without an SC runs once one is bound, and bound then resumed', () => {
    const s = new Scenario(mode);
    const ran: string[] = [];
    function* first() {
      ran.push('first');
    }
    function* second() {
      ran.push('second');
    }
    const result = s.run(function* root(sys) {
      const { seL4_SchedContext_Unbind: unbind, seL4_SchedContext_Bind: bind, seL4_TCB_Resume: resume } = sys.api;
      yield* s.start(sys, [{ program: first, priority: 255, resume: false }, { program: second, priority: 255, resume: false }]);
      // Resume, then bind.
      expect(yield* unbind(s.tcbSlot(0) + 1)).toBe(E.seL4_NoError);
      expect(yield* resume(s.tcbSlot(0))).toBe(E.seL4_NoError);
      yield* sys.api.seL4_Yield();
      expect(ran).toEqual([]);
      expect(yield* bind(s.tcbSlot(0) + 1, s.tcbSlot(0))).toBe(E.seL4_NoError);
      // Bound and queued; the root, at the same priority, goes on until it yields.
      expect(s.system.view().scheduler().readyQueues).toEqual([{ priority: 255, threads: [s.tcbPtr(0)] }]);
      yield* sys.api.seL4_Yield();
      expect(ran).toEqual(['first']);
      // Bind, then resume.
      expect(yield* unbind(s.tcbSlot(1) + 1)).toBe(E.seL4_NoError);
      expect(yield* bind(s.tcbSlot(1) + 1, s.tcbSlot(1))).toBe(E.seL4_NoError);
      expect(s.system.view().scheduler().readyQueues).toEqual([]);
      expect(yield* resume(s.tcbSlot(1))).toBe(E.seL4_NoError);
      yield* sys.api.seL4_Yield();
      expect(ran).toEqual(['first', 'second']);
    });
    expect(result.stop).toBe('finished');
  });

  it('SCHED_CONTEXT_0005 (running): a thread that deletes its own SC stops at once, and the time it used is charged to nothing', () => {
    const s = new Scenario(mode);
    function* helper(sys: ProgramContext) {
      yield* sys.compute(100n);
      expect(yield* sys.api.seL4_CNode_Delete(seL4_CapInitThreadCNode, s.tcbSlot(0) + 1, 32)).toBe(E.seL4_NoError);
      throw new Error('ran without an SC');
    }
    let scAddr = 0;
    const result = s.run(function* root(sys) {
      yield* s.start(sys, [{ program: helper, priority: 255 }]);
      scAddr = s.sc(0).addr;
      yield* sys.api.seL4_Yield();
      // The helper's call returned (Running) but it has no SC: never queued again.
      expect(s.tcb(0)).toMatchObject({ state: 'Running', schedContext: null });
      expect(s.system.view().scheduler()).toMatchObject({ clockTicks: 1000n, consumedTicks: 0n, currentSchedContext: s.system.plan.rootSC, readyQueues: [] });
      // Finalised: no refills left (refillMax 0), so its last 100 µs were not charged to it.
      expect(s.system.view().object(scAddr)).toMatchObject({ tcb: null, refillMax: 0, consumedTicks: 0n });
      expect(yield* sys.api.seL4_TCB_Resume(s.tcbSlot(0))).toBe(E.seL4_NoError);
      yield* sys.api.seL4_Yield();
    });
    expect(result.timeline).toEqual([{ thread: s.tcbPtr(0), program: 'helper', fromTicks: 0n, toTicks: 1000n }]);
    expect(result.stop).toBe('idle');
  });

  it('SCHED0012/0013: periodic threads get their budget once per period, above a busy root', () => {
    const s = new Scenario(mode);
    // Each period's work fills a budget less the timer's precision (1999 µs): 10 and 5 periods of it.
    const periods = (count: number) =>
      function* periodic(sys: ProgramContext) {
        for (let i = 0; i < count; i++) yield* sys.compute(1999n);
      };
    const result = s.run(function* root(sys) {
      // 2 ms every 10 ms, and 2 ms every 20 ms, above the root.
      yield* s.start(sys, [
        { program: periods(10), priority: 200, budgetUs: 2000n, periodUs: 10_000n },
        { program: periods(5), priority: 200, budgetUs: 2000n, periodUs: 20_000n },
      ]);
      expect(yield* sys.api.seL4_TCB_SetPriority(rootTCB, rootTCB, 100)).toBe(E.seL4_NoError);
      // Both have run their first budget: each waits in the release queue for its next period.
      const view = s.system.view();
      expect(view.scheduler().clockTicks).toBe(2n * 19_990n);
      expect(view.scheduler().releaseQueue).toEqual([s.tcbPtr(0), s.tcbPtr(1)]);
      yield* sys.compute(100_000n);
    });
    // The root computed its 100 ms to the end: no release was missed on the way.
    expect(`${result.stop}: ${result.detail}`).toBe('finished: every program has finished');
    const slices = [0, 1].map((i) => s.slicesOf(result, i));
    // 10 periods of the first, 5 of the second (the second can need a sixth stretch: when the
    // first's release interrupts it with less than MIN_BUDGET left, that remainder waits a period).
    for (const [i, periodTicks] of [[0, 100_000n], [1, 200_000n]] as const) {
      const mine = slices[i]!;
      if (i === 0) expect(mine.length).toBe(10);
      else expect([5, 6]).toContain(mine.length);
      const lengths = mine.map((slice) => slice.toTicks - slice.fromTicks);
      expect(lengths.reduce((a, b) => a + b, 0n)).toBe(BigInt(i === 0 ? 10 : 5) * 19_990n);
      // A whole budget less the precision at most, and never more than a budget in any period.
      for (const length of lengths) expect(length <= 19_990n).toBe(true);
      for (const slice of mine) {
        const windowEnd = slice.fromTicks + periodTicks;
        const used = mine.reduce((sum, other) => {
          const from = other.fromTicks > slice.fromTicks ? other.fromTicks : slice.fromTicks;
          const to = other.toTicks < windowEnd ? other.toTicks : windowEnd;
          return to > from ? sum + (to - from) : sum;
        }, 0n);
        expect(used <= 20_000n).toBe(true);
      }
    }
  });

  for (const sporadic of [true, false]) {
    it(`SCHED0013 (refills): a preempted ${sporadic ? 'sporadic' : 'constant-bandwidth'} SC splits its budget and gets the rest a period later`, () => {
      const s = new Scenario(mode);
      const [p, h] = [0, 1];
      let refillsWhilePreempted: readonly Refill[] = [];
      function* periodic(sys: ProgramContext) {
        yield* sys.compute(500n);
        expect(yield* sys.api.seL4_TCB_Resume(s.tcbSlot(h))).toBe(E.seL4_NoError);
        yield* sys.compute(2000n);
      }
      function* preemptor(sys: ProgramContext) {
        refillsWhilePreempted = s.sc(p).refills;
        yield* sys.compute(300n);
        yield* sys.api.seL4_TCB_Suspend(s.tcbSlot(h));
      }
      const result = s.run(function* root(sys) {
        // 2 ms every 10 ms at priority 100 with two extra refills; a round-robin thread at 200, held back.
        yield* s.start(sys, [{ program: periodic, priority: 100, budgetUs: 2000n, periodUs: 10_000n }, { program: preemptor, priority: 200 }]);
        expect(yield* sys.api.seL4_TCB_Suspend(s.tcbSlot(h))).toBe(E.seL4_NoError);
        const flags = sporadic ? seL4_SchedContext_Sporadic : 0;
        expect(yield* sys.api.seL4_SchedControl_ConfigureFlags(sys.plan.bootInfo.schedcontrol.start, s.tcbSlot(p) + 1, 2000n, 10_000n, 2, 0, flags)).toBe(E.seL4_NoError);
        expect(s.sc(p)).toMatchObject({ sporadic, refillMax: 4, refills: [{ releaseTicks: 0n, amountTicks: 20_000n }] });
        expect(yield* sys.api.seL4_TCB_SetPriority(rootTCB, rootTCB, 50)).toBe(E.seL4_NoError);
        // Back when the periodic thread has used its budget: 500 µs, then the rest but the timer's precision.
        expect(s.system.view().scheduler()).toMatchObject({ clockTicks: 22_990n, releaseQueue: [s.tcbPtr(p)] });
        expect(s.sc(p).consumedTicks).toBe(19_990n);
        expect(s.sc(h).consumedTicks).toBe(3000n);
        // A sporadic SC keeps the head's release time when it runs again; a constant-bandwidth one moves it to that moment (8000).
        expect(s.sc(p).refills).toEqual(
          sporadic
            ? [{ releaseTicks: 99_990n, amountTicks: 20_000n }]
            : [{ releaseTicks: 99_990n, amountTicks: 5010n }, { releaseTicks: 108_000n, amountTicks: 14_990n }],
        );
        expect(yield* sys.api.seL4_TCB_Suspend(s.tcbSlot(p))).toBe(E.seL4_NoError);
      });
      // Preempted after 500 µs: what it used comes back a period after the head's release.
      expect(refillsWhilePreempted).toEqual([{ releaseTicks: 5000n, amountTicks: 15_000n }, { releaseTicks: 100_000n, amountTicks: 5000n }]);
      expect(result.timeline.map((t) => [t.program, t.fromTicks, t.toTicks])).toEqual([
        ['periodic', 0n, 5000n],
        ['preemptor', 5000n, 8000n],
        ['periodic', 8000n, 22_990n],
      ]);
    });
  }
});
