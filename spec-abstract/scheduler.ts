// The MCS scheduler (l4v Schedule_A schedule, switch_sched_context, commit_time,
// charge_budget, end_timeslice, awaken, set_next_interrupt; TcbAcc_A / SchedContext_A queue
// operations; seL4's thread.c). Ready queues are lists per priority (domain 0 only), the
// release queue a list sorted by release time: every step here is deterministic.
import {
  maxPeriodTicks,
  maxReleaseTicks,
  minBudgetTicks,
  TCBSlot,
  timerPrecisionTicks,
  type BlockingView,
  type ReadyQueueView,
  type ThreadState,
} from '../libsel4/index.ts';
import { handleTimeout, timeoutFault } from './fault.ts';
import {
  commitTimeTo,
  headRefill,
  refillBudgetCheck,
  refillReady,
  refillSufficient,
  refillUnblockCheck,
  roundRobinCharge,
  scAt,
  updateSC,
} from './schedcontext.ts';
import { capAt, currentThread, schedOf, slotRef, tcbAt, updateObject, updateSched, type Kernel, type Readable } from './state.ts';

// ---- thread predicates -------------------------------------------------------------------

export function isRunnableState(state: ThreadState): boolean {
  return state === 'Running' || state === 'Restart';
}

export function isRunnable(s: Readable, tcb: number): boolean {
  const thread = tcbAt(s, tcb);
  return thread !== null && isRunnableState(thread.state);
}

/** isBlocked: waiting on an endpoint, a notification or a reply. */
export function isBlocked(s: Readable, tcb: number): boolean {
  const state = tcbAt(s, tcb)?.state;
  return state !== undefined && isBlockedState(state);
}

/** isStopped: Inactive or blocked. */
export function isStopped(s: Readable, tcb: number): boolean {
  return tcbAt(s, tcb)?.state === 'Inactive' || isBlocked(s, tcb);
}

function inReleaseQueue(s: Readable, tcb: number): boolean {
  return schedOf(s).releaseQueue.includes(tcb);
}

export function isQueued(s: Readable, tcb: number): boolean {
  return schedOf(s).readyQueues.some((q) => q.threads.includes(tcb));
}

/** is_schedulable: runnable, bound to an active SC, and not waiting for a release. */
export function isSchedulable(s: Readable, tcb: number | null): boolean {
  if (tcb === null) return false;
  const thread = tcbAt(s, tcb);
  if (thread === null || !isRunnableState(thread.state) || thread.schedContext === null) return false;
  return (scAt(s, thread.schedContext)?.refillMax ?? 0) > 0 && !inReleaseQueue(s, tcb);
}

// ---- ready queues ------------------------------------------------------------------------

function priorityOf(s: Readable, tcb: number): number {
  const thread = tcbAt(s, tcb);
  if (thread === null) throw new Error(`no TCB at ${tcb}`);
  return thread.priority;
}

/** The queues with `tcb` put into its priority's queue, at the head or the tail. */
function withQueued(queues: readonly ReadyQueueView[], priority: number, tcb: number, atHead: boolean): ReadyQueueView[] {
  const existing = queues.find((q) => q.priority === priority);
  const threads = existing === undefined ? [tcb] : atHead ? [tcb, ...existing.threads] : [...existing.threads, tcb];
  const others = queues.filter((q) => q.priority !== priority);
  return [...others, { priority, threads }].sort((a, b) => b.priority - a.priority);
}

/** tcb_sched_enqueue (head) or tcb_sched_append (tail); nothing if already queued. */
function enqueue(k: Kernel, tcb: number, atHead: boolean): void {
  if (!isSchedulable(k, tcb)) throw new Error(`enqueueing the unschedulable thread ${tcb}`);
  if (isQueued(k, tcb)) return;
  updateSched(k, { readyQueues: withQueued(schedOf(k).readyQueues, priorityOf(k, tcb), tcb, atHead) });
}

export function tcbSchedEnqueue(k: Kernel, tcb: number): void {
  enqueue(k, tcb, true);
}

function tcbSchedAppend(k: Kernel, tcb: number): void {
  enqueue(k, tcb, false);
}

export function tcbSchedDequeue(k: Kernel, tcb: number): void {
  if (!isQueued(k, tcb)) return;
  const readyQueues = schedOf(k)
    .readyQueues.map((q) => ({ priority: q.priority, threads: q.threads.filter((t) => t !== tcb) }))
    .filter((q) => q.threads.length > 0);
  updateSched(k, { readyQueues });
}

// ---- the release queue -------------------------------------------------------------------

/** The release time of a thread's SC's head refill. */
function readyTime(s: Readable, tcb: number): bigint {
  const sc = tcbAt(s, tcb)?.schedContext ?? null;
  const context = sc === null ? null : scAt(s, sc);
  if (context === null) throw new Error(`thread ${tcb} in the release queue has no SC`);
  return headRefill(context).releaseTicks;
}

/** tcb_release_enqueue: after every thread released no later; a new head reprograms the timer. */
function tcbReleaseEnqueue(k: Kernel, tcb: number): void {
  const queue = schedOf(k).releaseQueue;
  if (queue.includes(tcb) || isQueued(k, tcb)) throw new Error(`thread ${tcb} is already queued`);
  const time = readyTime(k, tcb);
  const index = queue.findIndex((t) => readyTime(k, t) > time);
  const releaseQueue = index < 0 ? [...queue, tcb] : [...queue.slice(0, index), tcb, ...queue.slice(index)];
  updateSched(k, { releaseQueue, reprogram: index === 0 || schedOf(k).reprogram });
}

/** tcb_release_remove: removing the head reprograms the timer. */
export function tcbReleaseRemove(k: Kernel, tcb: number): void {
  const queue = schedOf(k).releaseQueue;
  if (!queue.includes(tcb)) return;
  updateSched(k, { releaseQueue: queue.filter((t) => t !== tcb), reprogram: queue[0] === tcb || schedOf(k).reprogram });
}

// ---- the scheduler action ----------------------------------------------------------------

/** reschedule_required: a pending candidate goes back to its queue; choose a new thread. */
export function rescheduleRequired(k: Kernel): void {
  const action = schedOf(k).action;
  if (typeof action === 'number' && isSchedulable(k, action)) tcbSchedEnqueue(k, action);
  updateSched(k, { action: 'choose' });
}

/** possible_switch_to: a thread with an SC, not waiting for release, becomes the candidate (or is queued). */
export function possibleSwitchTo(k: Kernel, tcb: number): void {
  if ((tcbAt(k, tcb)?.schedContext ?? null) === null || inReleaseQueue(k, tcb)) return;
  if (schedOf(k).action !== 'resume') {
    rescheduleRequired(k);
    tcbSchedEnqueue(k, tcb);
  } else {
    updateSched(k, { action: tcb });
  }
}

/** schedule_tcb: the current thread that can no longer run makes the scheduler choose. */
function scheduleTCB(k: Kernel, tcb: number): void {
  if (tcb === currentThread(k) && schedOf(k).action === 'resume' && !isSchedulable(k, tcb)) updateSched(k, { action: 'choose' });
}

function isBlockedState(state: ThreadState): boolean {
  return state === 'BlockedOnReceive' || state === 'BlockedOnSend' || state === 'BlockedOnReply' || state === 'BlockedOnNotification';
}

/** set_thread_state, with schedule_tcb: `blocking` is a BlockedOn* state's data, null for the other states. */
export function setThreadState(k: Kernel, tcb: number, state: ThreadState, blocking: BlockingView | null = null): void {
  if (isBlockedState(state) !== (blocking !== null)) throw new Error(`thread ${tcb} set to ${state} with${blocking === null ? 'out' : ''} blocking data`);
  updateObject(k, tcb, 'tcb', { state, blocking });
  scheduleTCB(k, tcb);
}

/** The data of a BlockedOn* state: the fields given, the others 0, false or null. */
export function blockedOn(object: number | null, fields: Partial<BlockingView> = {}): BlockingView {
  return { object, badge: 0, canGrant: false, canGrantReply: false, isCall: false, reply: null, ...fields };
}

// ---- time and budget ---------------------------------------------------------------------

/** update_time_stamp: cur_time becomes the clock; the difference is consumed. */
export function updateTimestamp(k: Kernel): void {
  const { clockTicks, curTimeTicks, consumedTicks } = schedOf(k);
  // seL4 asserts cur_time < MAX_RELEASE_TIME; the model's clock stops at MAX_RELEASE_TIME.
  if (clockTicks > maxReleaseTicks) throw new Error('the clock passed MAX_RELEASE_TIME');
  updateSched(k, { curTimeTicks: clockTicks, consumedTicks: consumedTicks + (clockTicks - curTimeTicks) });
}

/** commit_time: charge ksConsumed to the current SC (not the idle thread's, not an inactive one). */
export function commitTime(k: Kernel): void {
  const sc = schedOf(k).currentSchedContext;
  const consumed = schedOf(k).consumedTicks;
  const context = sc === null ? null : scAt(k, sc);
  if (sc !== null && context !== null && context.refillMax > 0) commitTimeTo(k, sc, consumed);
  updateSched(k, { consumedTicks: 0n });
}

/** postpone: the SC's thread waits in the release queue for its next refill. */
export function postpone(k: Kernel, sc: number): void {
  const tcb = scAt(k, sc)?.tcb ?? null;
  if (tcb === null) throw new Error(`postponing the unbound SC ${sc}`);
  tcbSchedDequeue(k, tcb);
  tcbReleaseEnqueue(k, tcb);
  updateSched(k, { reprogram: true });
}

/** A thread's timeout handler is valid when its slot holds an endpoint cap. */
export function hasTimeoutHandler(s: Readable, tcb: number): boolean {
  return capAt(s, slotRef(tcb, TCBSlot.timeoutHandler)).type === 'endpoint';
}

/**
 * end_timeslice: a timeout fault (with the SC's badge) for a non-round-robin SC whose thread has
 * a timeout handler; otherwise round robin if the head refill is ready and
 * sufficient, else wait for it in the release queue.
 */
function endTimeslice(k: Kernel, canTimeoutFault: boolean): void {
  const cur = currentThread(k);
  const sc = schedOf(k).currentSchedContext;
  if (cur === null || sc === null) throw new Error('end of the idle thread timeslice');
  const context = scAt(k, sc)!;
  if (canTimeoutFault && context.periodTicks !== 0n && hasTimeoutHandler(k, cur)) handleTimeout(k, cur, timeoutFault(context.badge));
  else if (refillReady(k, context) && refillSufficient(context, 0n)) tcbSchedAppend(k, cur);
  else postpone(k, sc);
}

/**
 * charge_budget: charge `consumed` to the current SC (round robin: the whole budget is back
 * at the head; otherwise refill_budget_check), then end the current thread's timeslice.
 */
export function chargeBudget(k: Kernel, consumed: bigint, canTimeoutFault: boolean): void {
  const sc = schedOf(k).currentSchedContext;
  if (sc !== null) {
    const context = scAt(k, sc)!;
    if (context.periodTicks === 0n) roundRobinCharge(k, sc);
    else refillBudgetCheck(k, sc, consumed);
    updateSC(k, sc, { consumedTicks: scAt(k, sc)!.consumedTicks + consumed });
  }
  updateSched(k, { consumedTicks: 0n });
  const cur = currentThread(k);
  if (isSchedulable(k, cur)) {
    endTimeslice(k, canTimeoutFault);
    rescheduleRequired(k);
    updateSched(k, { reprogram: true });
  }
}

/** The current SC's head refill; the idle thread's SC always has MAX_PERIOD_TICKS from 0. */
function currentHead(s: Readable): { releaseTicks: bigint; amountTicks: bigint } {
  const sc = schedOf(s).currentSchedContext;
  return sc === null ? { releaseTicks: 0n, amountTicks: maxPeriodTicks } : headRefill(scAt(s, sc)!);
}

/** check_budget: true if the current SC can go on; otherwise it is charged and false. */
export function checkBudget(k: Kernel): boolean {
  const head = currentHead(k);
  if (head.releaseTicks > schedOf(k).curTimeTicks) throw new Error('the current SC is not ready');
  const consumed = schedOf(k).consumedTicks;
  const capacity = consumed > head.amountTicks ? 0n : head.amountTicks - consumed;
  if (capacity >= minBudgetTicks) return true;
  chargeBudget(k, consumed, true);
  return false;
}

/** check_budget_restart: as check_budget; a thread out of budget restarts its syscall later. */
export function checkBudgetRestart(k: Kernel): boolean {
  const result = checkBudget(k);
  const cur = currentThread(k);
  if (!result && cur !== null && isRunnable(k, cur)) setThreadState(k, cur, 'Restart');
  if (!result) k.restarted = true;
  return result;
}

// ---- schedule ----------------------------------------------------------------------------

/** awaken: every thread at the head of the release queue whose refill is ready is released. */
function awaken(k: Kernel): void {
  for (;;) {
    const head = schedOf(k).releaseQueue[0];
    if (head === undefined || readyTime(k, head) > schedOf(k).curTimeTicks) return;
    tcbReleaseRemove(k, head);
    possibleSwitchTo(k, head);
  }
}

/** set_next_interrupt: the end of the current head refill, or the next release if earlier, less the timer precision. */
function setNextInterrupt(k: Kernel): void {
  const cur = currentThread(k);
  const sc = cur === null ? null : tcbAt(k, cur)!.schedContext;
  const now = schedOf(k).curTimeTicks;
  let next = now + (sc === null ? maxPeriodTicks : headRefill(scAt(k, sc)!).amountTicks);
  const releaseHead = schedOf(k).releaseQueue[0];
  if (releaseHead !== undefined) {
    const release = readyTime(k, releaseHead);
    if (release < next) next = release;
  }
  // seL4 computes the deadline in 64-bit arithmetic: it wraps below zero.
  updateSched(k, { timerDeadlineTicks: BigInt.asUintN(64, next - timerPrecisionTicks) });
}

/**
 * switch_sched_context: a new current SC reprograms the timer (and, if not sporadic, gets
 * refill_unblock_check); reprogramming commits the time consumed so far to the old SC.
 */
function switchSchedContext(k: Kernel): void {
  const cur = currentThread(k);
  const next = cur === null ? null : tcbAt(k, cur)!.schedContext;
  if (schedOf(k).currentSchedContext !== next) {
    updateSched(k, { reprogram: true });
    if (next !== null && !scAt(k, next)!.sporadic) refillUnblockCheck(k, next);
  }
  if (schedOf(k).reprogram) commitTime(k);
  updateSched(k, { currentSchedContext: next });
}

/** The highest priority in the ready queues, or null if they are all empty. */
function highestPriority(s: Readable): number | null {
  return schedOf(s).readyQueues[0]?.priority ?? null;
}

/** switch_to_thread: it leaves its ready queue and becomes current. */
function switchToThread(k: Kernel, tcb: number): void {
  tcbSchedDequeue(k, tcb);
  k.current = tcb;
}

/** choose_thread: the head of the highest non-empty ready queue, or the idle thread. */
function chooseThread(k: Kernel): void {
  const head = schedOf(k).readyQueues[0]?.threads[0];
  if (head === undefined) k.current = null;
  else switchToThread(k, head);
}

/**
 * schedule: release what is ready; then act on the scheduler action (resume the current
 * thread, choose the best, or switch to the candidate unless a better or equal thread waits);
 * then switch the SC and program the timer if needed.
 */
export function schedule(k: Kernel): void {
  awaken(k);
  const action = schedOf(k).action;
  if (action !== 'resume') {
    const cur = currentThread(k);
    const wasRunnable = isSchedulable(k, cur);
    if (wasRunnable) tcbSchedEnqueue(k, cur!);
    if (action === 'choose') {
      chooseThread(k);
    } else {
      const candidatePriority = priorityOf(k, action);
      const fastfail = cur === null || candidatePriority < priorityOf(k, cur);
      const highest = highestPriority(k);
      if (fastfail && highest !== null && highest > candidatePriority) {
        tcbSchedEnqueue(k, action);
        chooseThread(k);
      } else if (wasRunnable && candidatePriority === priorityOf(k, cur!)) {
        tcbSchedAppend(k, action);
        chooseThread(k);
      } else {
        switchToThread(k, action);
      }
    }
  }
  updateSched(k, { action: 'resume' });
  const chosen = currentThread(k);
  if (chosen !== null && !isSchedulable(k, chosen)) throw new Error(`schedule chose the unschedulable thread ${chosen}`);
  switchSchedContext(k);
  if (schedOf(k).reprogram) {
    setNextInterrupt(k);
    updateSched(k, { reprogram: false });
  }
}
