// The invariants of threads, scheduling contexts and the scheduler: a hand-built state that
// keeps them all, and a planted violation of each, reported under its l4v name.
import { describe, expect, it } from 'vitest';
import { maxPeriodTicks, maxReleaseTicks, maxTicks, type ObjectView, type SchedulerView } from '../../libsel4/index.ts';
import { checkScheduling, type InvariantCounts } from '../../refinement/invariants/index.ts';
import { timeBounded, type SchedulingState } from '../../refinement/invariants/scheduler.ts';
import type { SchedContextView, TCBView } from '../../refinement/invariants/schedcontext.ts';

const A = 0x80010000; // the current thread, round robin
const B = 0x80011000; // ready, priority 10
const C = 0x80012000; // in the release queue, released first
const D = 0x80013000; // in the release queue after C
const E = 0x80014000; // inactive, unbound
const SA = 0x80020000;
const SB = 0x80021000;
const SC = 0x80022000;
const SD = 0x80023000;
const SE = 0x80024000; // not configured

function tcb(addr: number, state: TCBView['state'], priority: number, schedContext: number | null): TCBView {
  return { type: 'tcb', addr, state, priority, mcp: 255, domain: 0, schedContext, ipcBufferVaddr: 0, flags: 0, yieldTo: null, boundNotification: null, blocking: null, fault: null };
}

function sc(addr: number, tcbAddr: number | null, periodTicks: bigint, refillMax: number, refills: ReadonlyArray<readonly [bigint, bigint]>): SchedContextView {
  return {
    type: 'schedcontext',
    addr,
    sizeBits: 8,
    tcb: tcbAddr,
    periodTicks,
    replies: [],
    consumedTicks: 0n,
    refillMax,
    refills: refills.map(([releaseTicks, amountTicks]) => ({ releaseTicks, amountTicks })),
    sporadic: periodTicks !== 0n,
    badge: 0,
    yieldFrom: null,
    notification: null,
  };
}

const goodObjects: readonly ObjectView[] = [
  tcb(A, 'Running', 255, SA),
  tcb(B, 'Running', 10, SB),
  tcb(C, 'Restart', 10, SC),
  tcb(D, 'Running', 20, SD),
  tcb(E, 'Inactive', 0, null),
  sc(SA, A, 0n, 2, [[0n, 49000n], [0n, 1000n]]),
  sc(SB, B, 100000n, 4, [[500n, 3000n], [100000n, 2000n]]),
  sc(SC, C, 20000n, 2, [[5000n, 1000n]]),
  sc(SD, D, 10000n, 3, [[8000n, 500n]]),
  { ...sc(SE, null, 0n, 0, []), sporadic: false },
];

// The root's budget was last committed at 900 (ksCurTime less ksConsumed); the next interrupt
// is C's release at 5000, programmed one timer precision early.
const goodScheduler: SchedulerView = {
  clockTicks: 1500n,
  curTimeTicks: 1000n,
  consumedTicks: 100n,
  currentSchedContext: SA,
  readyQueues: [{ priority: 10, threads: [B] }],
  releaseQueue: [C, D],
  timerDeadlineTicks: 4990n,
};

interface Change {
  readonly objects?: readonly ObjectView[];
  readonly scheduler?: Partial<SchedulerView>;
  readonly current?: number | null;
}

/** The good state with objects replaced (by address) and scheduler fields changed. */
function state(change: Change = {}): SchedulingState {
  const objects = new Map(goodObjects.map((o) => [o.addr, o]));
  for (const o of change.objects ?? []) objects.set(o.addr, o);
  return { objects, scheduler: { ...goodScheduler, ...change.scheduler }, current: change.current === undefined ? A : change.current };
}

const object = (addr: number) => goodObjects.find((o) => o.addr === addr)!;
const tcbOf = (addr: number, change: Partial<TCBView>): TCBView => ({ ...(object(addr) as TCBView), ...change });
const scOf = (addr: number, change: Partial<SchedContextView>): SchedContextView => ({ ...(object(addr) as SchedContextView), ...change });
const refills = (...list: ReadonlyArray<readonly [bigint, bigint]>) => list.map(([releaseTicks, amountTicks]) => ({ releaseTicks, amountTicks }));

describe('the scheduling invariants', () => {
  it('hold on a state with a current thread, a ready thread, a release queue and an unconfigured context', () => {
    const counts: InvariantCounts = new Map();
    expect(checkScheduling(state(), counts)).toBeNull();
    expect([...counts.keys()]).toContain('valid_ready_qs');
    expect(checkScheduling(state({ current: null, scheduler: { currentSchedContext: null, readyQueues: [{ priority: 255, threads: [A] }, { priority: 10, threads: [B] }] } }))).toBeNull();
  });

  const planted: ReadonlyArray<readonly [string, Change, RegExp]> = [
    ['a priority above 255', { objects: [tcbOf(A, { priority: 256 })] }, /^valid_tcb: tcb 0x80010000 has priority 256/],
    ['an MCP above 255', { objects: [tcbOf(E, { mcp: 300 })] }, /^valid_tcb: tcb 0x80014000 has MCP 300/],
    ['a second domain', { objects: [tcbOf(E, { domain: 1 })] }, /^valid_tcb: .* domain 1/],
    ['a round-robin context with three refills', { objects: [scOf(SA, { refillMax: 3, refills: refills([0n, 48000n], [0n, 1000n], [0n, 1000n]) })] }, /^valid_refills: schedcontext 0x80020000: 3 refills/],
    ['a round-robin head below MIN_BUDGET', { objects: [scOf(SA, { refills: refills([0n, 199n], [0n, 49801n]) })] }, /^valid_refills: .*head refill holds 199 ticks, below MIN_BUDGET/],
    ['overlapping refills', { objects: [scOf(SB, { refills: refills([500n, 3000n], [3000n, 2000n]) })] }, /^valid_refills: schedcontext 0x80021000: refills\[0\] ends at 3500.*ordered_disjoint/],
    ['more refills than refillMax', { objects: [scOf(SC, { refills: refills([5000n, 1000n], [7000n, 500n], [9000n, 500n]) })] }, /^valid_refills: schedcontext 0x80022000: 3 refills, more than refillMax 2/],
    ['a refill beyond the window', { objects: [scOf(SB, { refills: refills([500n, 3000n], [200000n, 2000n]) })] }, /^valid_refills: .*\(window\)/],
    ['an empty refill', { objects: [scOf(SB, { refills: refills([500n, 3000n], [100000n, 0n]) })] }, /^valid_refills: schedcontext 0x80021000: refills\[1\] is empty/],
    ['more budget than the period', { objects: [scOf(SC, { refills: refills([5000n, 15000n], [20000n, 6000n]) })] }, /^valid_refills: .*more than the period 20000/],
    ['a refill overflowing 64 bits', { objects: [scOf(SD, { refills: refills([maxTicks - 100n, 500n]) })] }, /^valid_refills: .*overflows 64 bits/],
    ['a release time too late for two more periods', { objects: [scOf(SD, { refills: refills([maxTicks - maxPeriodTicks, 500n]) })] }, /^bounded_release_time: schedcontext 0x80023000/],
    ['a sporadic context never configured', { objects: [scOf(SE, { sporadic: true })] }, /^active_scs_valid: schedcontext 0x80024000 is sporadic/],
    ['an unconfigured context with refills', { objects: [scOf(SE, { refills: refills([0n, 1000n]) })] }, /^active_scs_valid: schedcontext 0x80024000 is not configured \(refillMax 0\) but has 1 refills/],
    ['a TCB bound to a context bound to no one', { objects: [tcbOf(E, { schedContext: SE })] }, /^sym_refs: tcb 0x80014000 is bound to 0x80024000/],
    ['a context bound to a TCB bound to no context', { objects: [scOf(SE, { tcb: E })] }, /^sym_refs: schedcontext 0x80024000 is bound to 0x80014000/],
    ['a yield to a context that does not record it', { objects: [tcbOf(A, { yieldTo: SB })] }, /^sym_refs: tcb 0x80010000 yielded to 0x80021000/],
    ['a yield recorded by a context only', { objects: [scOf(SB, { yieldFrom: A })] }, /^sym_refs: schedcontext 0x80021000 is yielded to from 0x80010000/],
    ['a blocked thread in a ready queue', { objects: [tcbOf(B, { state: 'BlockedOnReceive' })] }, /^valid_ready_qs: thread 0x80011000 in ready queue 10 is BlockedOnReceive, not runnable/],
    ['a thread in the queue of another priority', { objects: [tcbOf(B, { priority: 11 })] }, /^valid_ready_qs: thread 0x80011000 in ready queue 10 has priority 11/],
    ['a ready thread whose refill is not released', { objects: [scOf(SB, { refills: refills([2000n, 3000n], [100000n, 2000n]) })] }, /^valid_ready_qs: .*released at 2000, after ksCurTime 1000/],
    ['a ready thread without a context', { objects: [tcbOf(B, { schedContext: null }), scOf(SB, { tcb: null })] }, /^valid_ready_qs: .*no active scheduling context/],
    ['a thread queued twice', { scheduler: { readyQueues: [{ priority: 10, threads: [B, B] }] } }, /^valid_ready_qs: thread 0x80011000 in ready queue 10 is queued twice/],
    ['ready queues out of order', { objects: [tcbOf(D, { state: 'Inactive' })], scheduler: { readyQueues: [{ priority: 10, threads: [B] }, { priority: 20, threads: [D] }], releaseQueue: [C] } }, /^valid_ready_qs: ready queues: priority 20 is out of range or out of order/],
    ['an empty ready queue listed', { scheduler: { readyQueues: [{ priority: 10, threads: [B] }, { priority: 3, threads: [] }] } }, /^valid_ready_qs: ready queues: the queue of priority 3 is listed but empty/],
    ['a release queue out of order', { scheduler: { releaseQueue: [D, C] } }, /^valid_release_q: thread 0x80012000 in the release queue is released at 5000, before the thread ahead of it \(8000\)/],
    ['an inactive thread in the release queue', { objects: [tcbOf(C, { state: 'Inactive' })] }, /^valid_release_q: thread 0x80012000 in the release queue is Inactive/],
    ['a released thread whose context is not configured', { objects: [scOf(SC, { refillMax: 0, refills: [], sporadic: false })] }, /^valid_release_q: thread 0x80012000 .*no active scheduling context/],
    ['a thread in a ready queue and the release queue', { scheduler: { releaseQueue: [B, C, D] } }, /^ready_or_release: thread 0x80011000 is in ready queue 10 and the release queue/],
    ['ksCurSC not the current thread\'s', { scheduler: { currentSchedContext: SB } }, /^cur_sc_tcb: ksCurSC is 0x80021000, but the current thread 0x80010000 is bound to 0x80020000/],
    ['the idle thread running on a real context', { current: null, scheduler: { readyQueues: [{ priority: 255, threads: [A] }, { priority: 10, threads: [B] }] } }, /^cur_sc_tcb: the idle thread runs but ksCurSC is 0x80020000/],
    ['a blocked current thread', { objects: [tcbOf(A, { state: 'BlockedOnReply' })] }, /^ct_in_state: the current thread 0x80010000 is BlockedOnReply/],
    ['the current thread in a ready queue', { scheduler: { readyQueues: [{ priority: 255, threads: [A] }, { priority: 10, threads: [B] }] } }, /^ct_not_in_q: the current thread 0x80010000/],
    ['the current thread in the release queue', { scheduler: { releaseQueue: [A, C, D] } }, /^ct_not_in_release_q: the current thread 0x80010000/],
    ['a current head refill released after the uncharged time began', { objects: [scOf(SA, { refills: refills([950n, 49000n], [0n, 1000n]) })] }, /^cur_sc_offset_ready: the head refill of 0x80020000 is released at 950/],
    ['a current head too small for the uncharged time', { scheduler: { clockTicks: 50000n, curTimeTicks: 50000n, consumedTicks: 48900n } }, /^refill_sufficient: the head refill of 0x80020000 holds 49000 ticks/],
    ['a runnable thread with a context, not queued', { objects: [tcbOf(E, { state: 'Running', schedContext: SE }), scOf(SE, { tcb: E, periodTicks: 10000n, refillMax: 2, refills: refills([0n, 1000n]), sporadic: true })] }, /^valid_blocked: thread 0x80014000 is Running/],
    ['ksCurTime ahead of the clock', { scheduler: { clockTicks: 999n } }, /^ksCurTime 1000 is ahead of the clock 999/],
    ['the clock past MAX_RELEASE_TIME', { scheduler: { clockTicks: maxReleaseTicks + 1n } }, /^current_time_bounded: /],
    ['no timer deadline', { scheduler: { timerDeadlineTicks: null } }, /^setNextInterrupt: no timer deadline is programmed/],
    ['a deadline beyond MAX_PERIOD', { scheduler: { timerDeadlineTicks: 1000n + maxPeriodTicks } }, /^setNextInterrupt: the timer deadline .* more than MAX_PERIOD after ksCurTime 1000/],
    ['a deadline after the release queue head\'s release', { scheduler: { timerDeadlineTicks: 4991n } }, /^setNextInterrupt: the timer deadline 4991 is later than the release of the release queue's head 0x80012000 at 5000/],
  ];

  for (const [what, change, report] of planted) {
    it(`report ${what}`, () => {
      expect(checkScheduling(state(change))).toMatch(report);
    });
  }

  it('report ksConsumed beyond ksCurTime', () => {
    expect(timeBounded(state({ scheduler: { consumedTicks: 1001n } }))).toMatch(/^consumed_time_bounded: ksConsumed 1001 exceeds ksCurTime 1000/);
  });
});
