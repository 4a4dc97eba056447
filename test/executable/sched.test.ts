// Threads and MCS scheduling on the executable spec: preemption, round robin, sporadic refills,
// Yield, YieldTo, Suspend/Resume, deletion of threads and SCs, budget checks at entry, faults.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as IL,
  maxPeriodTicks,
  maxReleaseTicks,
  minBudgetTicks,
  messageInfoFromWord,
  Reg,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_ObjectType as T,
  seL4_MessageInfo_new,
  seL4_SchedContext_Sporadic,
  seL4_Syscall as S,
  type Cap,
  type ObjectView,
  type SchedulerView,
} from '../../libsel4/index.ts';
import { emptySchedContext } from '../../spec-executable/objects.ts';
import { refillBudgetCheck, refillNew, refillUnblockCheck, refillUpdate } from '../../spec-executable/schedcontext.ts';
import { getTCB, schedInvariantViolation, stateDifference } from '../../spec-executable/index.ts';
import type { SchedContextObject } from '../../spec-executable/state.ts';
import { ExecHarness, L, ROOT } from './harness.ts';

const E = seL4_Error;

interface ThreadSpec {
  readonly priority: number;
  readonly budgetUs: bigint;
  readonly periodUs: bigint;
  readonly sporadic?: boolean;
}

/** A booted root task that can make threads: TCB and 2^8 SC retyped, SC configured, bound. */
class Threads extends ExecHarness {
  private next = this.empty;

  get schedControl(): number {
    return this.plan.bootInfo.schedcontrol.start;
  }

  sched(): SchedulerView {
    return L.view(this.state).scheduler();
  }

  object(addr: number): ObjectView {
    const obj = L.view(this.state).object(addr);
    if (obj === null) throw new Error(`no object at ${addr}`);
    return obj;
  }

  ptr(slot: number): number {
    const cap: Cap | null = this.cap(slot);
    if (cap === null || !('ptr' in cap)) throw new Error(`no object cap in slot ${slot}`);
    return cap.ptr;
  }

  /** Retypes one object into the next free slot; returns the slot. */
  retype(type: number, sizeBits: number): number {
    const slot = this.next++;
    expect(this.api.seL4_Untyped_Retype(this.bigUntyped, type, sizeBits, ROOT, 0, 0, slot, 1)).toBe(E.seL4_NoError);
    return slot;
  }

  /** A thread bound to its own configured SC (not resumed): its TCB and SC slots and addresses. */
  thread(spec: ThreadSpec): { tcbSlot: number; scSlot: number; tcb: number; sc: number } {
    const tcbSlot = this.retype(T.seL4_TCBObject, 0);
    const scSlot = this.retype(T.seL4_SchedContextObject, 8);
    const flags = spec.sporadic === true ? seL4_SchedContext_Sporadic : 0;
    expect(this.api.seL4_SchedControl_ConfigureFlags(this.schedControl, scSlot, spec.budgetUs, spec.periodUs, 0, 0, flags)).toBe(E.seL4_NoError);
    expect(this.api.seL4_TCB_SetSchedParams(tcbSlot, seL4_CapInitThreadTCB, 255, spec.priority, scSlot, 0)).toBe(E.seL4_NoError);
    return { tcbSlot, scSlot, tcb: this.ptr(tcbSlot), sc: this.ptr(scSlot) };
  }

  time(ticks: bigint): void {
    this.enter({ kind: 'time', ticks });
  }
}

const refills = (pairs: ReadonlyArray<readonly [bigint, bigint]>) => pairs.map(([releaseTicks, amountTicks]) => ({ releaseTicks, amountTicks }));

/** A sporadic SC with the given period, ring capacity and refills (release, amount). */
function ring(periodTicks: bigint, refillMax: number, pairs: ReadonlyArray<readonly [bigint, bigint]>): SchedContextObject {
  return { ...emptySchedContext(0x1000, 8), periodTicks, refillMax, refills: refills(pairs), configured: true };
}

/** seL4's refill_budget_check as written: handle_overrun charges the head whole, one turn at a time. */
function refillBudgetCheckLoop(sc: SchedContextObject, usageTicks: bigint): SchedContextObject['refills'] {
  const list = sc.refills.map((r) => ({ ...r }));
  const used = (release: bigint, amount: bigint): void => {
    const tail = list[list.length - 1]!;
    if (tail.releaseTicks + tail.amountTicks >= release) tail.amountTicks += amount;
    else if (list.length < sc.refillMax) list.push({ releaseTicks: release, amountTicks: amount });
    else list[list.length - 1] = { releaseTicks: release - tail.amountTicks, amountTicks: tail.amountTicks + amount };
  };
  let usage = usageTicks;
  while (list[0]!.amountTicks <= usage && list[0]!.releaseTicks < maxReleaseTicks) {
    const head = list[0]!;
    usage -= head.amountTicks;
    if (list.length === 1) head.releaseTicks += sc.periodTicks;
    else {
      list.shift();
      used(head.releaseTicks + sc.periodTicks, head.amountTicks);
    }
  }
  const head = list[0]!;
  if (usage > 0n && head.releaseTicks < maxReleaseTicks) {
    const release = head.releaseTicks + sc.periodTicks;
    list[0] = { releaseTicks: head.releaseTicks + usage, amountTicks: head.amountTicks - usage };
    used(release, usage);
  }
  while (list[0]!.amountTicks < minBudgetTicks) {
    const old = list.shift()!;
    list[0] = { releaseTicks: list[0]!.releaseTicks - old.amountTicks, amountTicks: list[0]!.amountTicks + old.amountTicks };
  }
  return list;
}

const rootBudgetTicks = 50_000n;
const precision = 10n;

describe('preemption and round robin', () => {
  it('resuming a higher-priority thread preempts the caller, which waits at the head of its queue', () => {
    const h = new Threads();
    expect(h.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 100)).toBe(E.seL4_NoError);
    const t = h.thread({ priority: 200, budgetUs: 1000n, periodUs: 1000n });
    expect(h.sched().readyQueues).toEqual([]);
    expect(h.api.seL4_TCB_Resume(t.tcbSlot)).toBe(E.seL4_NoError);
    expect(h.observation().current).toBe(t.tcb);
    expect(h.observation().caller!.state).toBe('Running');
    expect(h.sched()).toMatchObject({
      currentSchedContext: t.sc, readyQueues: [{ priority: 100, threads: [h.plan.rootTCB] }], timerDeadlineTicks: 10_000n - precision,
    });
    expect(h.object(t.tcb)).toMatchObject({ state: 'Running', priority: 200 });
  });

  it('rotates threads of equal priority when the round-robin budget runs out', () => {
    const h = new Threads();
    const t = h.thread({ priority: 255, budgetUs: 1000n, periodUs: 1000n });
    h.api.seL4_TCB_Resume(t.tcbSlot);
    expect(h.observation().current).toBe(h.plan.rootTCB);
    expect(h.sched().readyQueues).toEqual([{ priority: 255, threads: [t.tcb] }]);

    h.time(1_000_000n);
    const expiry = rootBudgetTicks - precision;
    expect(h.sched()).toMatchObject({
      clockTicks: expiry, curTimeTicks: expiry, consumedTicks: 0n, currentSchedContext: t.sc,
      readyQueues: [{ priority: 255, threads: [h.plan.rootTCB] }], timerDeadlineTicks: expiry + 10_000n - precision,
    });
    expect(h.object(h.plan.rootSC)).toMatchObject({
      consumedTicks: expiry, refills: [{ releaseTicks: 0n, amountTicks: rootBudgetTicks }, { releaseTicks: 0n, amountTicks: 0n }],
    });
    expect(h.state.current).toBe(t.tcb);

    h.time(1_000_000n);
    expect(h.sched().clockTicks).toBe(expiry + 10_000n - precision);
    expect(h.state.current).toBe(h.plan.rootTCB);
    expect(h.sched().readyQueues).toEqual([{ priority: 255, threads: [t.tcb] }]);
  });

  it('time short of the deadline only moves the clock', () => {
    const h = new Threads();
    const before = h.state;
    h.time(100n);
    expect(h.sched()).toMatchObject({ clockTicks: 100n, curTimeTicks: 0n, timerDeadlineTicks: rootBudgetTicks - precision });
    expect(h.state.objects).toBe(before.objects);
  });

  it('a syscall the SC cannot cover is not executed: the time slice ends and the thread restarts it', () => {
    const h = new Threads();
    const slot = h.retype(T.seL4_EndpointObject, 0);
    h.time(rootBudgetTicks - 100n);
    h.api.seL4_CNode_Delete(ROOT, slot, 32);
    expect(h.cap(slot)!.type).toBe('endpoint');
    expect(h.observation().caller!.state).toBe('Running');
    expect(h.sched()).toMatchObject({ consumedTicks: 0n, timerDeadlineTicks: rootBudgetTicks - 100n + rootBudgetTicks - precision });
    expect(h.object(h.plan.rootSC)).toMatchObject({ consumedTicks: rootBudgetTicks - 100n });
    expect(h.api.seL4_CNode_Delete(ROOT, slot, 32)).toBe(E.seL4_NoError);
    expect(h.cap(slot)!.type).toBe('null');
  });
});

describe('sporadic servers', () => {
  it('charges a used-up budget one period later and waits in the release queue', () => {
    const h = new Threads();
    expect(h.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 100)).toBe(E.seL4_NoError);
    const t = h.thread({ priority: 200, budgetUs: 1000n, periodUs: 10_000n, sporadic: true });
    expect(h.object(t.sc)).toMatchObject({ periodTicks: 100_000n, refillMax: 2, sporadic: true, refills: [{ releaseTicks: 0n, amountTicks: 10_000n }] });
    h.api.seL4_TCB_Resume(t.tcbSlot);
    expect(h.state.current).toBe(t.tcb);

    h.time(1_000_000n);
    // 9990 ticks used: the head keeps 10 (< MIN_BUDGET), so it merges into the used part, delayed by 10.
    expect(h.object(t.sc)).toMatchObject({ consumedTicks: 9_990n, refills: [{ releaseTicks: 99_990n, amountTicks: 10_000n }] });
    expect(h.state.current).toBe(h.plan.rootTCB);
    expect(h.sched()).toMatchObject({ releaseQueue: [t.tcb], readyQueues: [], timerDeadlineTicks: 9_990n + rootBudgetTicks - precision });
  });

  it('refill_budget_check: a partial charge returns one period later, merged into a touching tail', () => {
    const sc = ring(1000n, 2, [[0n, 500n], [600n, 500n]]);
    expect(refillBudgetCheck(sc, 100n).refills).toEqual(refills([[100n, 400n], [600n, 600n]]));
  });

  it('refill_budget_check: with a full ring the tail is delayed to absorb the used amount', () => {
    const sc = ring(2000n, 2, [[0n, 300n], [400n, 700n]]);
    expect(refillBudgetCheck(sc, 100n).refills).toEqual(refills([[100n, 200n], [1300n, 800n]]));
  });

  it('refill_budget_check: an overrun moves whole head refills one period on', () => {
    const sc = ring(2000n, 2, [[0n, 300n], [400n, 700n]]);
    expect(refillBudgetCheck(sc, 300n).refills).toEqual(refills([[400n, 700n], [2000n, 300n]]));
    const single = ring(2000n, 3, [[0n, 300n]]);
    expect(refillBudgetCheck(single, 300n).refills).toEqual(refills([[2000n, 300n]]));
  });

  it('refill_budget_check: a head left below MIN_BUDGET merges into the next refill, delayed', () => {
    const sc = ring(1000n, 3, [[0n, 400n], [500n, 500n]]);
    expect(refillBudgetCheck(sc, 300n).refills).toEqual(refills([[400n, 900n]]));
  });

  it('handle_overrun taken round by round at once equals charging the head refill whole again and again', () => {
    const ticks = (max: bigint) => fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max }));
    const refillArb = fc
      .record({
        refillMax: fc.integer({ min: 1, max: 6 }),
        amounts: fc.array(fc.bigInt({ min: minBudgetTicks, max: 4n * minBudgetTicks }), { minLength: 1, maxLength: 6 }),
        gaps: fc.array(ticks(3n * minBudgetTicks), { minLength: 6, maxLength: 6 }),
        slackTicks: ticks(5n * minBudgetTicks),
        start: fc.oneof(
          fc.record({ atTicks: fc.bigInt({ min: 0n, max: 10_000n }) }),
          fc.record({ periodsBeforeMax: fc.bigInt({ min: 0n, max: 400n }), offByTicks: fc.bigInt({ min: -2n, max: 2n }) }),
        ),
        rounds: fc.bigInt({ min: 0n, max: 300n }),
        extraTicks: fc.bigInt({ min: 0n, max: 20n * minBudgetTicks }),
      })
      .map(({ refillMax, amounts, gaps, slackTicks, start, rounds, extraTicks }) => {
        const used = amounts.slice(0, refillMax);
        const offsets: bigint[] = [];
        let at = 0n;
        used.forEach((amount, i) => {
          offsets.push(at);
          at += amount + gaps[i]!;
        });
        const periodTicks = at + slackTicks;
        const lastOffset = offsets[offsets.length - 1]!;
        // Either near boot, or with the last refill a whole number of periods (give or take a tick) before MAX_RELEASE_TIME.
        const startTicks = 'atTicks' in start ? start.atTicks : maxReleaseTicks - start.periodsBeforeMax * periodTicks - lastOffset + start.offByTicks;
        const pairs = used.map((amount, i): [bigint, bigint] => [startTicks + offsets[i]!, amount]);
        const budgetTicks = used.reduce((sum, a) => sum + a, 0n);
        return { sc: ring(periodTicks, refillMax, pairs), usageTicks: rounds * budgetTicks + extraTicks };
      });
    fc.assert(
      fc.property(refillArb, ({ sc, usageTicks }) => {
        expect(refillBudgetCheck(sc, usageTicks).refills).toEqual(refillBudgetCheckLoop(sc, usageTicks));
      }),
      { numRuns: 1000, seed: 9 },
    );
  });

  it('an overrun of 2^61 ticks on a 500 µs budget is charged without walking 10^14 rounds', () => {
    const sc = ring(2004n * 10n, 4, [[1_000n, 10_000n]]);
    const charged = refillBudgetCheck(sc, 2n ** 61n).refills;
    const rounds = 2n ** 61n / 10_000n;
    const left = 2n ** 61n - rounds * 10_000n;
    expect(charged).toEqual(refills([[1_000n + rounds * 20_040n + left, 10_000n - left], [1_000n + (rounds + 1n) * 20_040n, left]]));
  });

  it('refill_unblock_check: a ready head is released now and absorbs the refills it overlaps', () => {
    const sc = { ...ring(1000n, 3, [[0n, 300n], [350n, 200n], [900n, 500n]]), sporadic: true };
    const { sc: unblocked, reprogram } = refillUnblockCheck(sc, 100n);
    expect(reprogram).toBe(true);
    expect(unblocked.refills).toEqual(refills([[100n, 500n], [900n, 500n]]));
    expect(refillUnblockCheck(sc, 0n)).toEqual({ sc: { ...sc, refills: sc.refills }, reprogram: true });
    const later = { ...sc, refills: refills([[200n, 300n]]) };
    expect(refillUnblockCheck(later, 100n)).toEqual({ sc: later, reprogram: false });
  });

  it('refill_new and refill_update follow sporadic.c', () => {
    const base = ring(1000n, 2, [[0n, 1000n]]);
    expect(refillNew(base, 2, 500n, 0n, 7n).refills).toEqual(refills([[7n, 500n], [7n, 0n]]));
    expect(refillNew(base, 4, 500n, 900n, 7n)).toMatchObject({ refillMax: 4, periodTicks: 900n, refills: refills([[7n, 500n]]) });
    expect(refillUpdate(base, 3000n, 1500n, 5, 10n)).toMatchObject({ refillMax: 5, refills: refills([[10n, 1000n], [3010n, 500n]]) });
    expect(refillUpdate(base, 3000n, 400n, 5, 10n).refills).toEqual(refills([[10n, 400n]]));
  });

  it('SchedControl on a running SC keeps its bandwidth (refill_update)', () => {
    const h = new Threads();
    h.time(1_000n);
    expect(h.api.seL4_SchedControl_ConfigureFlags(h.schedControl, seL4_CapInitThreadSC, 1000n, 5000n, 2, 7, 0)).toBe(E.seL4_NoError);
    // The root's 1000 ticks are committed first; its head (49000) is cut to the new budget, released now.
    // Nothing asks for reprogramming, so the timer still fires at the old deadline.
    expect(h.object(h.plan.rootSC)).toMatchObject({
      periodTicks: 50_000n, refillMax: 4, badge: 7, sporadic: false, consumedTicks: 1_000n,
      refills: [{ releaseTicks: 1_000n, amountTicks: 10_000n }],
    });
    expect(h.sched()).toMatchObject({ currentSchedContext: h.plan.rootSC, consumedTicks: 0n, timerDeadlineTicks: rootBudgetTicks - precision });
  });
});

describe('Yield and YieldTo', () => {
  it('Yield gives the rest of the round-robin slice to the next thread of the same priority', () => {
    const h = new Threads();
    const t = h.thread({ priority: 255, budgetUs: 1000n, periodUs: 1000n });
    h.api.seL4_TCB_Resume(t.tcbSlot);
    h.time(300n);
    h.api.seL4_Yield();
    expect(h.state.current).toBe(t.tcb);
    expect(h.sched().readyQueues).toEqual([{ priority: 255, threads: [h.plan.rootTCB] }]);
    // scConsumed counts what was used, not the whole head given up.
    expect(h.object(h.plan.rootSC)).toMatchObject({ consumedTicks: 300n });
  });

  it('Yield alone keeps the CPU with a fresh slice', () => {
    const h = new Threads();
    h.time(300n);
    h.api.seL4_Yield();
    expect(h.state.current).toBe(h.plan.rootTCB);
    expect(h.sched().timerDeadlineTicks).toBe(300n + rootBudgetTicks - precision);
  });

  it('YieldTo a thread of the same priority runs it first; the reply waits until the caller runs again', () => {
    const h = new Threads();
    const t = h.thread({ priority: 255, budgetUs: 1000n, periodUs: 1000n });
    h.api.seL4_TCB_Resume(t.tcbSlot);
    const result = h.api.seL4_SchedContext_YieldTo(t.scSlot);
    expect(result.error).toBe(E.seL4_NoError);
    expect(h.state.current).toBe(t.tcb);
    expect(h.object(h.plan.rootTCB)).toMatchObject({ yieldTo: t.sc, state: 'Running' });
    expect(h.object(t.sc)).toMatchObject({ yieldFrom: h.plan.rootTCB });
    h.time(1_000_000n);
    expect(h.state.current).toBe(h.plan.rootTCB);
    expect(h.object(h.plan.rootTCB)).toMatchObject({ yieldTo: null });
    expect(h.object(t.sc)).toMatchObject({ yieldFrom: null, consumedTicks: 0n });
    const regs = L.observe(h.state, h.plan.rootTCB).caller!.regs;
    expect(messageInfoFromWord(regs[Reg.a1]!).length).toBe(2);
    expect(regs[Reg.a2]).toBe(999);
  });

  it('YieldTo a lower-priority thread answers at once and requeues it', () => {
    const h = new Threads();
    const t = h.thread({ priority: 10, budgetUs: 1000n, periodUs: 1000n });
    h.api.seL4_TCB_Resume(t.tcbSlot);
    expect(h.api.seL4_SchedContext_YieldTo(t.scSlot)).toEqual({ error: E.seL4_NoError, consumed: 0n });
    expect(h.state.current).toBe(h.plan.rootTCB);
    expect(h.sched().readyQueues).toEqual([{ priority: 10, threads: [t.tcb] }]);
  });
});

describe('Suspend, Resume and deletion', () => {
  it('suspending a ready or released thread takes it out of its queue', () => {
    const h = new Threads();
    const ready = h.thread({ priority: 10, budgetUs: 1000n, periodUs: 1000n });
    h.api.seL4_TCB_Resume(ready.tcbSlot);
    expect(h.api.seL4_TCB_Suspend(ready.tcbSlot)).toBe(E.seL4_NoError);
    expect(h.object(ready.tcb)).toMatchObject({ state: 'Inactive' });
    expect(h.sched().readyQueues).toEqual([]);
  });

  it('a thread whose SC is not ready waits in the release queue when resumed, and deleting its SC frees it', () => {
    const h = new Threads();
    expect(h.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 100)).toBe(E.seL4_NoError);
    const t = h.thread({ priority: 200, budgetUs: 1000n, periodUs: 10_000n, sporadic: true });
    h.api.seL4_TCB_Resume(t.tcbSlot);
    h.time(1_000_000n);
    expect(h.sched().releaseQueue).toEqual([t.tcb]);
    expect(h.api.seL4_CNode_Delete(ROOT, t.scSlot, 32)).toBe(E.seL4_NoError);
    expect(h.sched().releaseQueue).toEqual([]);
    expect(h.object(t.sc)).toMatchObject({ tcb: null, refillMax: 0, refills: [], sporadic: false });
    expect(h.object(t.tcb)).toMatchObject({ schedContext: null, state: 'Running' });
  });

  it('deleting the last cap to a ready thread dequeues and suspends it', () => {
    const h = new Threads();
    const t = h.thread({ priority: 10, budgetUs: 1000n, periodUs: 1000n });
    h.api.seL4_TCB_Resume(t.tcbSlot);
    expect(h.api.seL4_CNode_Delete(ROOT, t.tcbSlot, 32)).toBe(E.seL4_NoError);
    expect(h.sched().readyQueues).toEqual([]);
    expect(h.object(t.tcb)).toMatchObject({ state: 'Inactive', schedContext: null });
    expect(h.object(t.sc)).toMatchObject({ tcb: null });
  });

  it('deleting the running thread or its SC (ksCurSC) hands the CPU on', () => {
    const h = new Threads();
    const t = h.thread({ priority: 10, budgetUs: 1000n, periodUs: 1000n });
    h.api.seL4_TCB_Resume(t.tcbSlot);
    h.time(500n);
    expect(h.api.seL4_CNode_Delete(ROOT, seL4_CapInitThreadSC, 32)).toBe(E.seL4_NoError);
    expect(h.state.current).toBe(t.tcb);
    expect(h.sched()).toMatchObject({ currentSchedContext: t.sc, readyQueues: [], consumedTicks: 0n });
    // The deleted SC was no longer active, so the 500 ticks were not charged to it.
    expect(h.object(h.plan.rootSC)).toMatchObject({ refillMax: 0, consumedTicks: 0n, tcb: null });
    expect(h.object(h.plan.rootTCB)).toMatchObject({ schedContext: null, state: 'Running' });

    const h2 = new Threads();
    h2.api.seL4_CNode_Delete(ROOT, seL4_CapInitThreadTCB, 32);
    expect(h2.observation().caller!.state).toBe('Inactive');
    expect(h2.state.current).toBeNull();
    expect(h2.object(h2.plan.rootTCB)).toMatchObject({ state: 'Inactive' });
    expect(h2.sched()).toMatchObject({ currentSchedContext: null });
  });
});

describe('faults', () => {
  it('an exception without a fault handler stops the thread; the idle thread runs', () => {
    const h = new Threads();
    h.enter({ kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 2, code: 0 });
    expect(h.last!.observation.caller!.state).toBe('Inactive');
    expect(h.state.current).toBeNull();
    expect(h.sched()).toMatchObject({ currentSchedContext: null, timerDeadlineTicks: maxPeriodTicks - precision });
  });

  it('an exception with a fault handler and no receiver blocks the thread sending its fault; the idle thread runs', () => {
    const h = new Threads();
    const ep = h.retype(T.seL4_EndpointObject, 0);
    expect(h.api.seL4_TCB_SetSpace(seL4_CapInitThreadTCB, ep, ROOT, 0, 3, 0)).toBe(E.seL4_NoError);
    h.enter({ kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 2, code: 0 });
    expect(h.last!.observation.unmodelled).toBeNull();
    expect(L.view(h.state).object(h.plan.rootTCB)).toMatchObject({ state: 'BlockedOnSend', fault: { type: 'UserException', words: [2, 0] } });
    expect(h.state.current).toBeNull();
  });
});

describe('priorities and timeouts', () => {
  it('lowering the current thread below a ready one hands it the CPU', () => {
    const h = new Threads();
    const t = h.thread({ priority: 200, budgetUs: 1000n, periodUs: 1000n });
    h.api.seL4_TCB_Resume(t.tcbSlot);
    expect(h.state.current).toBe(h.plan.rootTCB);
    expect(h.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 199)).toBe(E.seL4_NoError);
    expect(h.state.current).toBe(t.tcb);
    expect(h.sched().readyQueues).toEqual([{ priority: 199, threads: [h.plan.rootTCB] }]);
  });

  it('a sporadic thread with a timeout handler that runs out of budget sends a timeout fault; the reply restarts it, postponed', () => {
    const h = new Threads();
    expect(h.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 100)).toBe(E.seL4_NoError);
    const t = h.thread({ priority: 200, budgetUs: 1000n, periodUs: 10_000n, sporadic: true });
    expect(h.api.seL4_SchedControl_ConfigureFlags(h.schedControl, t.scSlot, 1000n, 10_000n, 0, 0x5c, seL4_SchedContext_Sporadic)).toBe(E.seL4_NoError);
    const ep = h.retype(T.seL4_EndpointObject, 0);
    const reply = h.retype(T.seL4_ReplyObject, 0);
    expect(h.api.seL4_TCB_SetTimeoutEndpoint(t.tcbSlot, ep)).toBe(E.seL4_NoError);
    h.api.seL4_TCB_Resume(t.tcbSlot);
    h.time(1_000_000n);
    expect(h.last!.observation.unmodelled).toBeNull();
    // No receiver yet: t waits in the send queue with its fault; the root runs.
    expect(h.object(t.tcb)).toMatchObject({ state: 'BlockedOnSend', schedContext: t.sc, blocking: { badge: 0, isCall: false }, fault: { type: 'Timeout', words: [0x5c] } });
    expect(h.state.current).toBe(h.plan.rootTCB);

    h.syscall(S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    const regs = h.observation().caller!.regs;
    expect(messageInfoFromWord(regs[Reg.a1]!)).toEqual({ label: 5, capsUnwrapped: 0, extraCaps: 0, length: 3 });
    expect(regs[Reg.a2]).toBe(0x5c);
    expect(regs[Reg.a3]).toBeGreaterThan(0);
    expect(regs[Reg.a4]).toBe(0);
    expect(h.object(t.sc)).toMatchObject({ consumedTicks: 0n });
    expect(h.object(t.tcb)).toMatchObject({ state: 'BlockedOnReply', schedContext: t.sc, blocking: { reply: h.ptr(reply) }, fault: { type: 'Timeout' } });

    // The reply (label 0) writes FaultIP and restarts t; its budget is still spent, so it waits for its release.
    h.syscall(S.seL4_SysSend, [[Reg.a0, reply], [Reg.a1, seL4_MessageInfo_new(0, 0, 0, 1)], [Reg.a2, 0x4000]]);
    expect(h.object(t.tcb)).toMatchObject({ state: 'Restart', fault: null, blocking: null });
    expect(getTCB(h.state, t.tcb)!.regs[Reg.pc]).toBe(0x4000);
    expect(h.sched().releaseQueue).toContain(t.tcb);
    expect(h.state.current).toBe(h.plan.rootTCB);
  });
});

describe('scheduler invariants', () => {
  it('name a current thread left in a ready queue, a bad binding and a bad refill ring', () => {
    const h = new Threads();
    const { sched } = h.state;
    const root = h.plan.rootTCB;
    const queued = { ...h.state, sched: { ...sched, readyQueues: sched.readyQueues.set(255, [root]) } };
    expect(schedInvariantViolation(queued)).toBe('the current thread is queued');
    const sc = h.state.objects.get(h.plan.rootSC);
    if (sc?.type !== 'schedcontext') throw new Error('no root SC');
    const unbound = { ...h.state, objects: h.state.objects.set(sc.addr, { ...sc, tcb: null }) };
    expect(schedInvariantViolation(unbound)).toMatch(/SC is not bound to it/);
    const starved = { ...h.state, objects: h.state.objects.set(sc.addr, { ...sc, tcb: root, refills: refills([[0n, 100n], [0n, 0n]]) }) };
    expect(schedInvariantViolation(starved)).toMatch(/head refill below MIN_BUDGET/);
    expect(schedInvariantViolation(h.state)).toBeNull();
  });
});

type ThreadOp = 'resume' | 'suspend' | 'deleteTCB' | 'deleteSC' | 'unbind' | 'yieldTo';
type SchedOp =
  | { readonly op: 'time'; readonly ticks: bigint }
  | { readonly op: 'yield' }
  | { readonly op: 'exception' }
  | { readonly op: ThreadOp; readonly thread: number }
  | { readonly op: 'priority'; readonly thread: number; readonly priority: number }
  | { readonly op: 'configure'; readonly thread: number; readonly budgetUs: bigint; readonly periodUs: bigint; readonly sporadic: boolean };

const threadArb = fc.nat({ max: 2 });
const schedOpArb: fc.Arbitrary<SchedOp> = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 120_000n }).map((ticks) => ({ op: 'time' as const, ticks })) },
  { weight: 2, arbitrary: fc.constant<SchedOp>({ op: 'yield' }) },
  { weight: 1, arbitrary: fc.constant<SchedOp>({ op: 'exception' }) },
  {
    weight: 4,
    arbitrary: fc
      .record({ op: fc.constantFrom('resume' as const, 'suspend' as const, 'deleteTCB' as const, 'deleteSC' as const, 'unbind' as const, 'yieldTo' as const), thread: threadArb }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('priority' as const), thread: threadArb, priority: fc.constantFrom(10, 100, 254, 255) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('configure' as const), thread: threadArb, budgetUs: fc.bigInt({ min: 20n, max: 3_000n }),
      periodUs: fc.bigInt({ min: 20n, max: 6_000n }), sporadic: fc.boolean(),
    }),
  },
);

type Thread = ReturnType<Threads['thread']>;

/** One random workload step; threads other than the root have no CSpace, so they only yield or fault. */
function applySchedOp(h: Threads, threads: readonly Thread[], op: SchedOp): void {
  const api = h.api;
  const rootRuns = h.state.current === h.plan.rootTCB;
  // The root never faults (it would stop the workload); the others can only yield or fault.
  if (op.op === 'exception' && rootRuns) return h.time(1_000n);
  if (op.op !== 'time' && op.op !== 'yield' && op.op !== 'exception' && !rootRuns) return api.seL4_Yield();
  switch (op.op) {
    case 'time':
      return h.time(op.ticks);
    case 'yield':
      return api.seL4_Yield();
    case 'exception':
      return void h.enter({ kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 2, code: 0 });
    case 'priority':
      return void api.seL4_TCB_SetPriority(threads[op.thread]!.tcbSlot, seL4_CapInitThreadTCB, op.priority);
    case 'configure': {
      const flags = op.sporadic ? seL4_SchedContext_Sporadic : 0;
      return void api.seL4_SchedControl_ConfigureFlags(h.schedControl, threads[op.thread]!.scSlot, op.budgetUs, op.periodUs, 0, 0, flags);
    }
    default: {
      const t = threads[op.thread]!;
      const calls: Record<ThreadOp, () => unknown> = {
        resume: () => api.seL4_TCB_Resume(t.tcbSlot),
        suspend: () => api.seL4_TCB_Suspend(t.tcbSlot),
        deleteTCB: () => api.seL4_CNode_Delete(ROOT, t.tcbSlot, 32),
        deleteSC: () => api.seL4_CNode_Delete(ROOT, t.scSlot, 32),
        unbind: () => api.seL4_SchedContext_Unbind(t.scSlot),
        yieldTo: () => api.seL4_SchedContext_YieldTo(t.scSlot),
      };
      calls[op.op]();
    }
  }
}

describe('random scheduling workloads', () => {
  it('keep the scheduler invariants after every entry and are deterministic', () => {
    fc.assert(
      fc.property(fc.array(schedOpArb, { minLength: 10, maxLength: 60 }), (ops) => {
        const run = () => {
          const h = new Threads();
          h.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 150);
          const threads = [0, 1, 2].map((i) => h.thread({ priority: [100, 200, 255][i]!, budgetUs: 1000n, periodUs: 1000n + 2000n * BigInt(i), sporadic: i === 1 }));
          for (const op of ops) applySchedOp(h, threads, op);
          return h.state;
        };
        const [a, b] = [run(), run()];
        expect(stateDifference(a, b)).toBeNull();
      }),
      { numRuns: 60 },
    );
  });
});

describe('invocation errors in seL4 order', () => {
  it('answers TCB invocations with seL4 error replies', () => {
    const h = new Threads();
    const t = h.thread({ priority: 10, budgetUs: 1000n, periodUs: 1000n });
    const ep = h.retype(T.seL4_EndpointObject, 0);
    const api = h.api;
    expect(api.seL4_TCB_SetMCPriority(t.tcbSlot, seL4_CapInitThreadTCB, 256)).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([0, 255]);
    expect(api.seL4_TCB_SetPriority(t.tcbSlot, ep, 1)).toBe(E.seL4_InvalidCapability);
    expect(h.mrs()).toEqual([1]);
    expect(api.seL4_TCB_SetSchedParams(t.tcbSlot, seL4_CapInitThreadTCB, 0, 0, ep, 0)).toBe(E.seL4_InvalidCapability);
    expect(h.mrs()).toEqual([2]);
    expect(api.seL4_TCB_SetSchedParams(t.tcbSlot, seL4_CapInitThreadTCB, 0, 0, t.scSlot, ep)).toBe(E.seL4_NoError);
    expect(api.seL4_TCB_SetSchedParams(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 255, 255, 0, 0)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_TCB_SetSchedParams(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 255, 255, t.scSlot, 0)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_TCB_ReadRegisters(t.tcbSlot, false, 0, 33).error).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([1, 32]);
    expect(api.seL4_TCB_ReadRegisters(seL4_CapInitThreadTCB, false, 0, 1).error).toBe(E.seL4_IllegalOperation);
    expect(h.call(t.tcbSlot, IL.TCBWriteRegisters, [0, 3, 1])).toBe(E.seL4_TruncatedMessage);
    expect(api.seL4_TCB_CopyRegisters(t.tcbSlot, ep, false, false, true, true, 0)).toBe(E.seL4_InvalidCapability);
    expect(api.seL4_TCB_SetIPCBuffer(t.tcbSlot, 0x1000, ep)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_TCB_SetIPCBuffer(t.tcbSlot, 0x1001, 10)).toBe(E.seL4_AlignmentError);
    expect(api.seL4_TCB_SetSpace(t.tcbSlot, 0, ep, 0, 3, 0)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_TCB_SetTimeoutEndpoint(t.tcbSlot, ROOT)).toBe(E.seL4_InvalidCapability);
    expect(h.call(t.tcbSlot, IL.TCBSetTLSBase, [])).toBe(E.seL4_TruncatedMessage);
    expect(h.call(t.tcbSlot, IL.TCBSetFlags, [1])).toBe(E.seL4_TruncatedMessage);
    expect(api.seL4_TCB_SetFlags(t.tcbSlot, 0, 0xffffffff)).toEqual({ error: E.seL4_NoError, flags: 1 });
  });

  it('answers SchedControl and SchedContext invocations with seL4 error replies', () => {
    const h = new Threads();
    const t = h.thread({ priority: 10, budgetUs: 1000n, periodUs: 1000n });
    const spare = h.retype(T.seL4_SchedContextObject, 7);
    const api = h.api;
    expect(api.seL4_SchedControl_ConfigureFlags(h.schedControl, spare, 2000n, 1000n, 0, 0, 0)).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([20, 1000]);
    expect(api.seL4_SchedControl_ConfigureFlags(h.schedControl, spare, 1000n, 2000n, 3, 0, 0)).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([0, 2]);
    expect(api.seL4_SchedControl_ConfigureFlags(h.schedControl, ROOT, 1000n, 2000n, 0, 0, 0)).toBe(E.seL4_InvalidCapability);
    expect(api.seL4_SchedContext_Bind(spare, t.tcbSlot)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_UnbindObject(seL4_CapInitThreadSC, seL4_CapInitThreadTCB)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_UnbindObject(t.scSlot, seL4_CapInitThreadTCB)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_Unbind(seL4_CapInitThreadSC)).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_YieldTo(seL4_CapInitThreadSC).error).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_YieldTo(spare).error).toBe(E.seL4_IllegalOperation);
    expect(api.seL4_SchedContext_Unbind(t.scSlot)).toBe(E.seL4_NoError);
    expect(h.object(t.tcb)).toMatchObject({ schedContext: null });
    expect(api.seL4_SchedContext_Bind(t.scSlot, t.tcbSlot)).toBe(E.seL4_NoError);
    expect(h.object(t.sc)).toMatchObject({ tcb: t.tcb });
  });
});
