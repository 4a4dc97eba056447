// Invariants of the scheduler between kernel entries, named after l4v's valid_sched and its
// parts (DetSchedInvs_AI on the MCS branch) and the seL4 code they describe: thread states
// agree with queue membership, the current thread and ksCurSC belong together, time stays in
// range, and the timer deadline is one setNextInterrupt can have programmed.
import {
  hex,
  maxPeriodTicks,
  maxReleaseTicks,
  minBudgetTicks,
  seL4_MaxPrio,
  timerPrecisionTicks,
  type ObjectView,
  type SchedulerView,
} from '../../libsel4/index.ts';
import { isActive, schedContextAt, tcbAt, type SchedContextView, type TCBView } from './schedcontext.ts';
import { ObjectsByType } from './by-type.ts';

/** What the scheduler's invariants read of a layer: its objects, its scheduler state and ksCurThread. */
export interface SchedulingState {
  readonly objects: ReadonlyMap<number, ObjectView>;
  readonly scheduler: SchedulerView;
  /** The thread that runs next; null for the idle thread. */
  readonly current: number | null;
}

/** seL4's isRunnable: Running or Restart. */
const runnable = (t: TCBView) => t.state === 'Running' || t.state === 'Restart';

/** The active scheduling context a thread is bound to, or null. */
function activeSchedContextOf(s: SchedulingState, t: TCBView): SchedContextView | null {
  const sc = t.schedContext === null ? null : schedContextAt(s.objects, t.schedContext);
  return sc !== null && isActive(sc) ? sc : null;
}

/** refill_ready: the head refill is released by ksCurTime. */
const headReleased = (s: SchedulingState, sc: SchedContextView) => sc.refills[0] !== undefined && sc.refills[0].releaseTicks <= s.scheduler.curTimeTicks;

/** The view's ready queues are as the contract says: non-empty, valid priorities, highest first. */
function readyQueuesShape(s: SchedulingState): string | null {
  let above = seL4_MaxPrio + 1;
  for (const q of s.scheduler.readyQueues) {
    if (!Number.isInteger(q.priority) || q.priority < 0 || q.priority >= above) return `ready queues: priority ${q.priority} is out of range or out of order`;
    if (q.threads.length === 0) return `ready queues: the queue of priority ${q.priority} is listed but empty`;
    above = q.priority;
  }
  return null;
}

/**
 * valid_ready_qs: a thread in the ready queue of priority p is a runnable TCB of priority p
 * bound to a released scheduling context (active, head refill ready), and is queued once.
 */
export function validReadyQs(s: SchedulingState): string | null {
  const shape = readyQueuesShape(s);
  if (shape) return `valid_ready_qs: ${shape}`;
  const queued = new Set<number>();
  for (const q of s.scheduler.readyQueues) {
    for (const addr of q.threads) {
      const at = () => `thread ${hex(addr)} in ready queue ${q.priority}`;
      if (queued.has(addr)) return `valid_ready_qs: ${at()} is queued twice`;
      queued.add(addr);
      const t = tcbAt(s.objects, addr);
      if (t === null) return `valid_ready_qs: ${at()} is not a TCB`;
      if (t.priority !== q.priority) return `valid_ready_qs: ${at()} has priority ${t.priority}`;
      if (!runnable(t)) return `valid_ready_qs: ${at()} is ${t.state}, not runnable`;
      const sc = activeSchedContextOf(s, t);
      if (sc === null) return `valid_ready_qs: ${at()} has no active scheduling context`;
      if (!headReleased(s, sc)) return `valid_ready_qs: ${at()}: the head refill of ${hex(sc.addr)} is released at ${sc.refills[0]!.releaseTicks}, after ksCurTime ${s.scheduler.curTimeTicks}`;
    }
  }
  return null;
}

/**
 * valid_release_q: a thread in the release queue is a runnable TCB bound to an active
 * scheduling context, queued once, and the queue is ordered by head refill release time.
 */
export function validReleaseQ(s: SchedulingState): string | null {
  const queued = new Set<number>();
  let previous: bigint | null = null;
  for (const addr of s.scheduler.releaseQueue) {
    const at = () => `thread ${hex(addr)} in the release queue`;
    if (queued.has(addr)) return `valid_release_q: ${at()} is queued twice`;
    queued.add(addr);
    const t = tcbAt(s.objects, addr);
    if (t === null) return `valid_release_q: ${at()} is not a TCB`;
    if (!runnable(t)) return `valid_release_q: ${at()} is ${t.state}, not runnable`;
    const sc = activeSchedContextOf(s, t);
    if (sc === null) return `valid_release_q: ${at()} has no active scheduling context`;
    const release = sc.refills[0]!.releaseTicks;
    if (previous !== null && release < previous) return `valid_release_q: ${at()} is released at ${release}, before the thread ahead of it (${previous})`;
    previous = release;
  }
  return null;
}

/** ready_or_release: no thread is in a ready queue and the release queue. */
export function readyOrRelease(s: SchedulingState): string | null {
  const released = new Set(s.scheduler.releaseQueue);
  for (const q of s.scheduler.readyQueues) {
    const both = q.threads.find((t) => released.has(t));
    if (both !== undefined) return `ready_or_release: thread ${hex(both)} is in ready queue ${q.priority} and the release queue`;
  }
  return null;
}

/**
 * The current thread after schedule(): ksCurSC is its scheduling context, or the idle
 * thread's when it is idle (cur_sc_tcb); it is runnable (ct_in_state), not queued
 * (ct_not_in_q, ct_not_in_release_q), its context is active with a released head refill
 * (ct_released) that was released before the time not yet charged began (cur_sc_offset_ready),
 * and the head still holds MIN_BUDGET after that time is charged (checkBudget's refill_sufficient).
 */
export function currentThread(s: SchedulingState): string | null {
  const { scheduler: sched, current } = s;
  if (current === null) {
    return sched.currentSchedContext === null ? null : `cur_sc_tcb: the idle thread runs but ksCurSC is ${hex(sched.currentSchedContext)}`;
  }
  const t = tcbAt(s.objects, current);
  if (t === null) return `ct_in_state: the current thread ${hex(current)} is not a TCB`;
  if (sched.currentSchedContext !== t.schedContext) {
    const sc = sched.currentSchedContext === null ? "the idle thread's" : hex(sched.currentSchedContext);
    return `cur_sc_tcb: ksCurSC is ${sc}, but the current thread ${hex(current)} is bound to ${t.schedContext === null ? 'none' : hex(t.schedContext)}`;
  }
  if (!runnable(t)) return `ct_in_state: the current thread ${hex(current)} is ${t.state}, not runnable`;
  if (sched.readyQueues.some((q) => q.threads.includes(current))) return `ct_not_in_q: the current thread ${hex(current)} is in a ready queue`;
  if (sched.releaseQueue.includes(current)) return `ct_not_in_release_q: the current thread ${hex(current)} is in the release queue`;
  const sc = activeSchedContextOf(s, t);
  if (sc === null) return `ct_released: the current thread ${hex(current)} has no active scheduling context`;
  const head = sc.refills[0]!;
  if (head.releaseTicks + sched.consumedTicks > sched.curTimeTicks) {
    return `cur_sc_offset_ready: the head refill of ${hex(sc.addr)} is released at ${head.releaseTicks}, after ksCurTime ${sched.curTimeTicks} less ksConsumed ${sched.consumedTicks}`;
  }
  if (head.amountTicks < sched.consumedTicks + minBudgetTicks) {
    return `refill_sufficient: the head refill of ${hex(sc.addr)} holds ${head.amountTicks} ticks, less than ksConsumed ${sched.consumedTicks} and MIN_BUDGET`;
  }
  return null;
}

/** valid_blocked: a runnable thread with an active scheduling context runs, or is in a ready queue or the release queue. */
export function validBlocked(s: SchedulingState, byType = new ObjectsByType(s.objects)): string | null {
  const queued = new Set([...s.scheduler.releaseQueue, ...s.scheduler.readyQueues.flatMap((q) => q.threads)]);
  for (const o of byType.of('tcb')) {
    if (!runnable(o) || activeSchedContextOf(s, o) === null) continue;
    if (o.addr !== s.current && !queued.has(o.addr)) return `valid_blocked: thread ${hex(o.addr)} is ${o.state} with an active scheduling context but neither runs nor is queued`;
  }
  return null;
}

/**
 * Time in range: ksConsumed <= ksCurTime (consumed_time_bounded), ksCurTime <= the clock, and
 * the clock never passes MAX_RELEASE_TIME (current_time_bounded).
 */
export function timeBounded(s: SchedulingState): string | null {
  const { clockTicks, curTimeTicks, consumedTicks } = s.scheduler;
  if (consumedTicks > curTimeTicks) return `consumed_time_bounded: ksConsumed ${consumedTicks} exceeds ksCurTime ${curTimeTicks}`;
  if (curTimeTicks > clockTicks) return `ksCurTime ${curTimeTicks} is ahead of the clock ${clockTicks}`;
  if (clockTicks > maxReleaseTicks) return `current_time_bounded: the clock ${clockTicks} passed MAX_RELEASE_TIME`;
  return null;
}

/**
 * The timer deadline is one setNextInterrupt programmed: there always is one after boot;
 * it is at most the current context's head amount (at most MAX_PERIOD) after a past kernel
 * entry, less the timer precision; and since a thread that becomes the release queue's head
 * sets ksReprogram, it is no later than that head's release, less the timer precision.
 * (Not always exactly ksCurTime plus the head's amount: seL4 reprograms only when ksReprogram
 * is set.)
 */
export function timerDeadline(s: SchedulingState): string | null {
  const deadline = s.scheduler.timerDeadlineTicks;
  if (deadline === null) return 'setNextInterrupt: no timer deadline is programmed';
  const interrupt = deadline + timerPrecisionTicks;
  if (interrupt > s.scheduler.curTimeTicks + maxPeriodTicks) {
    return `setNextInterrupt: the timer deadline ${deadline} is more than MAX_PERIOD after ksCurTime ${s.scheduler.curTimeTicks}`;
  }
  const head = s.scheduler.releaseQueue[0];
  const tcb = head === undefined ? null : tcbAt(s.objects, head);
  const sc = tcb === null ? null : activeSchedContextOf(s, tcb);
  if (sc !== null && interrupt > sc.refills[0]!.releaseTicks) {
    return `setNextInterrupt: the timer deadline ${deadline} is later than the release of the release queue's head ${hex(head!)} at ${sc.refills[0]!.releaseTicks}, less the timer precision`;
  }
  return null;
}
