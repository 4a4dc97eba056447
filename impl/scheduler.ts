// The MCS scheduler, as seL4's thread.c, tcb.c (the queues) and thread.h: ready queues per
// priority as intrusive doubly linked lists through the TCBs (tcbSchedNext / tcbSchedPrev)
// with the two-level priority bitmap, the release queue ordered by release time through the
// same links, schedule, switchSchedContext, commitTime, chargeBudget, endTimeslice, postpone,
// awaken and setNextInterrupt. Domain 0 only (one domain), one core.
import { minBudgetTicks, timerPrecisionTicks } from '../libsel4/index.ts';
import {
  isRoundRobin,
  refillBudgetCheck,
  refillHeadAmount,
  refillHeadTime,
  refillReady,
  refillSufficient,
  refillUnblockCheck,
  roundRobinCommit,
  roundRobinRefill,
  scActive,
  scBadge,
  scConsumed,
  scSporadic,
  scTcb,
  setScConsumed,
} from './schedcontext.ts';
import { handleTimeout, timeoutFault } from './fault.ts';
import { NONE, SchedulerAction, fail, l2BitmapWords, numPriorities, type ImplState } from './state.ts';
import {
  ThreadStateNum,
  inReleaseQueue,
  isQueued,
  setInReleaseQueue,
  setQueued,
  setTcbSchedNext,
  setTcbSchedPrev,
  tcbPriority,
  tcbSchedContext,
  tcbSchedNext,
  tcbSchedPrev,
  threadState,
  validTimeoutHandler,
} from './tcb.ts';

/** isRunnable: Running or Restart (false for the idle thread, NONE). */
export function isRunnable(state: ImplState, tcb: number): boolean {
  if (tcb === NONE) return false;
  const ts = threadState(state, tcb);
  return ts === ThreadStateNum.Running || ts === ThreadStateNum.Restart;
}

/** isSchedulable (MCS): runnable, bound to a configured SC, and not waiting in the release queue. */
export function isSchedulable(state: ImplState, tcb: number): boolean {
  if (!isRunnable(state, tcb)) return false;
  const sc = tcbSchedContext(state, tcb);
  return sc !== NONE && scActive(state, sc) && !inReleaseQueue(state, tcb);
}

function current(state: ImplState): number {
  return state.current ?? NONE;
}

/** The current thread's SC (NONE for the idle thread's). */
function currentThreadSC(state: ImplState): number {
  return state.current === null ? NONE : tcbSchedContext(state, state.current);
}

// ---- the priority bitmap ----

function invertL1(l1: number): number {
  return l2BitmapWords - 1 - l1;
}

function addToBitmap(state: ImplState, prio: number): void {
  const l1 = prio >>> 5;
  state.l1Bitmap = (state.l1Bitmap | (1 << l1)) >>> 0;
  state.l2Bitmap[invertL1(l1)]! |= 1 << (prio & 31);
}

function removeFromBitmap(state: ImplState, prio: number): void {
  const l1 = prio >>> 5;
  state.l2Bitmap[invertL1(l1)]! &= ~(1 << (prio & 31));
  if (state.l2Bitmap[invertL1(l1)] === 0) state.l1Bitmap = (state.l1Bitmap & ~(1 << l1)) >>> 0;
}

/** getHighestPrio: the highest priority with a non-empty ready queue (the bitmap is not empty). */
function highestPrio(state: ImplState): number {
  const l1 = 31 - Math.clz32(state.l1Bitmap);
  const l2 = 31 - Math.clz32(state.l2Bitmap[invertL1(l1)]!);
  return (l1 << 5) | l2;
}

export function isHighestPrio(state: ImplState, prio: number): boolean {
  return state.l1Bitmap === 0 || prio >= highestPrio(state);
}

// ---- the ready queues ----

/** tcbSchedEnqueue: to the head of its priority's queue (if not queued already). */
export function tcbSchedEnqueue(state: ImplState, tcb: number): void {
  if (state.debug && !(isSchedulable(state, tcb) && refillSufficient(state, tcbSchedContext(state, tcb), 0n))) fail(`enqueue of unschedulable thread ${tcb.toString(16)}`);
  readyInsert(state, tcb, true);
}

/** tcbSchedAppend: to the tail of its priority's queue (if not queued already). */
export function tcbSchedAppend(state: ImplState, tcb: number): void {
  if (state.debug && !(isSchedulable(state, tcb) && refillReady(state, tcbSchedContext(state, tcb)))) fail(`append of unschedulable thread ${tcb.toString(16)}`);
  readyInsert(state, tcb, false);
}

/** tcb_queue_prepend / tcb_queue_append on the thread's ready queue, setting its bitmap bit when it was empty. */
function readyInsert(state: ImplState, tcb: number, atHead: boolean): void {
  if (isQueued(state, tcb)) return;
  const prio = tcbPriority(state, tcb);
  const end = atHead ? state.readyHeads[prio]! : state.readyTails[prio]!;
  if (end === NONE) {
    addToBitmap(state, prio);
    state.readyHeads[prio] = tcb;
    state.readyTails[prio] = tcb;
  } else if (atHead) {
    setTcbSchedPrev(state, end, tcb);
    state.readyHeads[prio] = tcb;
  } else {
    setTcbSchedNext(state, end, tcb);
    state.readyTails[prio] = tcb;
  }
  setTcbSchedNext(state, tcb, atHead ? end : NONE);
  setTcbSchedPrev(state, tcb, atHead ? NONE : end);
  setQueued(state, tcb, true);
}

/** tcb_queue_remove on a queue given by its head and tail; returns the new [head, tail]. */
function queueRemove(state: ImplState, head: number, tail: number, tcb: number): [number, number] {
  const before = tcbSchedPrev(state, tcb);
  const after = tcbSchedNext(state, tcb);
  if (before === NONE) head = after;
  else setTcbSchedNext(state, before, after);
  if (after === NONE) tail = before;
  else setTcbSchedPrev(state, after, before);
  if (before !== NONE) setTcbSchedPrev(state, tcb, NONE);
  if (after !== NONE) setTcbSchedNext(state, tcb, NONE);
  return [head, tail];
}

/** tcbSchedDequeue: out of its ready queue, if queued. */
export function tcbSchedDequeue(state: ImplState, tcb: number): void {
  if (!isQueued(state, tcb)) return;
  const prio = tcbPriority(state, tcb);
  const [head, tail] = queueRemove(state, state.readyHeads[prio]!, state.readyTails[prio]!, tcb);
  state.readyHeads[prio] = head;
  state.readyTails[prio] = tail;
  setQueued(state, tcb, false);
  if (head === NONE) removeFromBitmap(state, prio);
}

// ---- the release queue ----

/** tcbReadyTime: when the thread's SC's head refill is released. */
function readyTime(state: ImplState, tcb: number): bigint {
  return refillHeadTime(state, tcbSchedContext(state, tcb));
}

/** tcbReleaseRemove: out of the release queue, if in it (the deadline is recomputed if it was the head). */
export function tcbReleaseRemove(state: ImplState, tcb: number): void {
  if (!inReleaseQueue(state, tcb)) return;
  if (state.releaseHead === tcb) state.reprogram = true;
  const [head, tail] = queueRemove(state, state.releaseHead, state.releaseTail, tcb);
  state.releaseHead = head;
  state.releaseTail = tail;
  setInReleaseQueue(state, tcb, false);
}

/** tcbReleaseEnqueue: ordered by release time, after the threads released at the same time. */
export function tcbReleaseEnqueue(state: ImplState, tcb: number): void {
  if (state.debug && (inReleaseQueue(state, tcb) || isQueued(state, tcb))) fail(`release enqueue of queued thread ${tcb.toString(16)}`);
  const time = readyTime(state, tcb);
  const oldHead = state.releaseHead;
  if (oldHead === NONE || time < readyTime(state, oldHead)) {
    setTcbSchedNext(state, tcb, oldHead);
    setTcbSchedPrev(state, tcb, NONE);
    if (oldHead === NONE) state.releaseTail = tcb;
    else setTcbSchedPrev(state, oldHead, tcb);
    state.releaseHead = tcb;
  } else if (readyTime(state, state.releaseTail) <= time) {
    const tail = state.releaseTail;
    setTcbSchedNext(state, tail, tcb);
    setTcbSchedPrev(state, tcb, tail);
    setTcbSchedNext(state, tcb, NONE);
    state.releaseTail = tcb;
  } else {
    // find_time_after, then tcb_queue_insert before it (never the head nor past the tail here)
    let after = oldHead;
    while (after !== NONE && time >= readyTime(state, after)) after = tcbSchedNext(state, after);
    const before = tcbSchedPrev(state, after);
    setTcbSchedPrev(state, tcb, before);
    setTcbSchedNext(state, tcb, after);
    setTcbSchedNext(state, before, tcb);
    setTcbSchedPrev(state, after, tcb);
  }
  setInReleaseQueue(state, tcb, true);
  if (state.releaseHead !== oldHead) state.reprogram = true;
}

// ---- scheduler actions ----

/** rescheduleRequired: a chosen candidate goes back to its queue; choose anew at the end of the entry. */
export function rescheduleRequired(state: ImplState): void {
  const action = state.schedulerAction;
  if (action !== SchedulerAction.resumeCurrentThread && action !== SchedulerAction.chooseNewThread && isSchedulable(state, action)) {
    tcbSchedEnqueue(state, action);
  }
  state.schedulerAction = SchedulerAction.chooseNewThread;
}

/** possibleSwitchTo: the target becomes the candidate, or waits in its queue if there is one already. */
export function possibleSwitchTo(state: ImplState, tcb: number): void {
  if (tcbSchedContext(state, tcb) === NONE || inReleaseQueue(state, tcb)) return;
  if (state.schedulerAction !== SchedulerAction.resumeCurrentThread) {
    rescheduleRequired(state);
    tcbSchedEnqueue(state, tcb);
  } else {
    state.schedulerAction = tcb;
  }
}

/** scheduleTCB (part of setThreadState): the current thread stopped being schedulable. */
export function scheduleTcb(state: ImplState, tcb: number): void {
  if (tcb === state.current && state.schedulerAction === SchedulerAction.resumeCurrentThread && !isSchedulable(state, tcb)) {
    state.schedulerAction = SchedulerAction.chooseNewThread;
  }
}

/** postpone: the SC's thread waits in the release queue for its head refill. */
export function postpone(state: ImplState, sc: number): void {
  const tcb = scTcb(state, sc);
  if (state.debug && tcb === NONE) fail('postpone of an unbound SC');
  tcbSchedDequeue(state, tcb);
  tcbReleaseEnqueue(state, tcb);
  state.reprogram = true;
}

/** awaken: every thread whose head refill is now ready leaves the release queue. */
function awaken(state: ImplState): void {
  while (state.releaseHead !== NONE && refillReady(state, tcbSchedContext(state, state.releaseHead))) {
    const awakened = state.releaseHead;
    if (state.debug && awakened === state.current) fail('the current thread was in the release queue');
    tcbReleaseRemove(state, awakened);
    possibleSwitchTo(state, awakened);
  }
}

// ---- time ----

/** updateTimestamp: ksCurTime is the clock; the time since the last entry is consumed. */
export function updateTimestamp(state: ImplState): void {
  const previous = state.curTimeTicks;
  if (state.clockTicks === previous) return; // a syscall after a syscall: no time passed
  state.curTimeTicks = state.clockTicks;
  state.consumedTicks += state.curTimeTicks - previous;
}

/** commitTime: ksConsumed is charged to ksCurSC (unless it is the idle one or unconfigured). */
export function commitTime(state: ImplState): void {
  const sc = state.curSC;
  if (sc !== NONE && scActive(state, sc)) {
    const consumed = state.consumedTicks;
    if (consumed > 0n) {
      if (isRoundRobin(state, sc)) roundRobinCommit(state, sc, consumed);
      else refillBudgetCheck(state, consumed);
    }
    setScConsumed(state, sc, scConsumed(state, sc) + consumed);
  }
  state.consumedTicks = 0n;
}

/**
 * checkBudget: true when ksCurSC can cover this entry; otherwise the consumed time is charged
 * (chargeBudget, which may raise a timeout fault) and the entry's work is not done.
 */
export function checkBudget(state: ImplState): boolean {
  if (state.debug && !refillReady(state, state.curSC)) fail('the current SC is not ready');
  if (refillSufficient(state, state.curSC, state.consumedTicks)) return true;
  chargeBudget(state, state.consumedTicks, true);
  return false;
}

/**
 * chargeBudget: `consumedTicks` are charged to ksCurSC (a round-robin SC starts a new time
 * slice) and a still schedulable current thread ends its time slice (with a timeout fault
 * if `canTimeoutFault` allows one).
 */
export function chargeBudget(state: ImplState, consumedTicks: bigint, canTimeoutFault: boolean): void {
  const sc = state.curSC;
  if (sc !== NONE) {
    if (isRoundRobin(state, sc)) roundRobinRefill(state, sc);
    else refillBudgetCheck(state, consumedTicks);
    if (state.debug && refillHeadAmount(state, sc) < minBudgetTicks) fail('a charged SC with a head refill below MIN_BUDGET');
    setScConsumed(state, sc, scConsumed(state, sc) + consumedTicks);
  }
  state.consumedTicks = 0n;
  const thread = current(state);
  if (isSchedulable(state, thread)) {
    endTimeslice(state, thread, canTimeoutFault);
    rescheduleRequired(state);
    state.reprogram = true;
  }
}

/**
 * endTimeslice: a timeout fault (through slot 4, the SC's badge) for a thread with a timeout
 * handler on a sporadic or constant-bandwidth SC when allowed; else round robin to the tail
 * of its queue if the SC is ready, else postponed.
 */
function endTimeslice(state: ImplState, thread: number, canTimeoutFault: boolean): void {
  const sc = state.curSC;
  if (canTimeoutFault && !isRoundRobin(state, sc) && validTimeoutHandler(state, thread)) handleTimeout(state, thread, timeoutFault(scBadge(state, sc)));
  else if (refillReady(state, sc) && refillSufficient(state, sc, 0n)) tcbSchedAppend(state, thread);
  else postpone(state, sc);
}

/** setNextInterrupt: the end of the current head refill, or the first release, one timer precision early. */
function setNextInterrupt(state: ImplState): void {
  let next = state.curTimeTicks + refillHeadAmount(state, currentThreadSC(state));
  if (state.releaseHead !== NONE) {
    const release = refillHeadTime(state, tcbSchedContext(state, state.releaseHead));
    if (release < next) next = release;
  }
  if (state.debug && next < state.curTimeTicks) fail('a timer deadline in the past');
  state.timerDeadlineTicks = BigInt.asUintN(64, next - timerPrecisionTicks);
}

// ---- schedule ----

/** switchToThread: the thread leaves its ready queue and becomes ksCurThread. */
function switchToThread(state: ImplState, tcb: number): void {
  if (state.debug) {
    const sc = tcbSchedContext(state, tcb);
    if (sc === NONE || inReleaseQueue(state, tcb) || !refillSufficient(state, sc, 0n) || !refillReady(state, sc)) fail(`switch to thread ${tcb.toString(16)} that cannot run`);
  }
  tcbSchedDequeue(state, tcb);
  state.current = tcb;
}

/** chooseThread: the head of the highest non-empty ready queue, or the idle thread. */
function chooseThread(state: ImplState): void {
  if (state.l1Bitmap === 0) {
    state.current = null;
    return;
  }
  const thread = state.readyHeads[highestPrio(state)]!;
  if (state.debug && thread === NONE) fail('the bitmap names an empty ready queue');
  switchToThread(state, thread);
}

/**
 * switchSchedContext: a new ksCurSC is released if it is constant bandwidth, and the time
 * consumed so far is committed to the old one whenever the deadline will be recomputed.
 */
function switchSchedContext(state: ImplState): void {
  const sc = currentThreadSC(state);
  if (state.curSC !== sc) {
    state.reprogram = true;
    if (sc !== NONE && !scSporadic(state, sc)) refillUnblockCheck(state, sc);
  }
  if (state.reprogram) commitTime(state);
  state.curSC = sc;
}

/** schedule: the scheduler action is carried out, the SC switched and the deadline reprogrammed. */
export function schedule(state: ImplState): void {
  awaken(state);
  const action = state.schedulerAction;
  if (action !== SchedulerAction.resumeCurrentThread) {
    const thread = current(state);
    const wasRunnable = isSchedulable(state, thread);
    if (wasRunnable) tcbSchedEnqueue(state, thread);
    if (action === SchedulerAction.chooseNewThread) {
      chooseThread(state);
    } else {
      const candidate = action;
      if (state.debug && !isSchedulable(state, candidate)) fail(`candidate ${candidate.toString(16)} is not schedulable`);
      const fastfail = thread === NONE || tcbPriority(state, candidate) < tcbPriority(state, thread);
      if (fastfail && !isHighestPrio(state, tcbPriority(state, candidate))) {
        tcbSchedEnqueue(state, candidate);
        state.schedulerAction = SchedulerAction.chooseNewThread;
        chooseThread(state);
      } else if (wasRunnable && tcbPriority(state, candidate) === tcbPriority(state, thread)) {
        tcbSchedAppend(state, candidate);
        state.schedulerAction = SchedulerAction.chooseNewThread;
        chooseThread(state);
      } else {
        switchToThread(state, candidate);
      }
    }
  }
  state.schedulerAction = SchedulerAction.resumeCurrentThread;
  switchSchedContext(state);
  if (state.reprogram) {
    setNextInterrupt(state);
    state.reprogram = false;
  }
  if (state.debug) checkSchedulerInvariants(state);
}

// ---- debug invariants ----

/**
 * The bitmap agrees with which ready queues are empty, every queue's links are consistent
 * and its threads are queued at its priority, and the release queue is ordered by time.
 */
export function checkSchedulerInvariants(state: ImplState): void {
  // By L2 word (32 priorities): its L1 bit once, then each priority's bit against its queue.
  for (let l1 = 0; l1 < l2BitmapWords; l1++) {
    const word = state.l2Bitmap[invertL1(l1)]!;
    if (((state.l1Bitmap >>> l1) & 1) !== (word !== 0 ? 1 : 0)) fail(`priority ${l1 * 32}: L1 and L2 bitmaps disagree`);
    for (let bit = 0; bit < 32; bit++) {
      const prio = l1 * 32 + bit;
      const head = state.readyHeads[prio]!;
      if (((word >>> bit) & 1) !== (head !== NONE ? 1 : 0)) fail(`priority ${prio}: bitmap and ready queue disagree`);
      if (head === NONE) {
        // An empty queue: its tail must be none too (what checkQueueLinks finds, without building its arguments).
        if (state.readyTails[prio] !== NONE) fail(`ready queue ${prio}: tail is not the last thread`);
        continue;
      }
      checkQueueLinks(state, head, state.readyTails[prio]!, (tcb) => isQueued(state, tcb) && tcbPriority(state, tcb) === prio && isSchedulable(state, tcb), `ready queue ${prio}`);
    }
  }
  let last = 0n;
  checkQueueLinks(state, state.releaseHead, state.releaseTail, (tcb) => {
    const time = readyTime(state, tcb);
    const ordered = time >= last;
    last = time;
    return ordered && inReleaseQueue(state, tcb) && !isQueued(state, tcb);
  }, 'release queue');
}

function checkQueueLinks(state: ImplState, head: number, tail: number, member: (tcb: number) => boolean, name: string): void {
  let prev = NONE;
  for (let tcb = head; tcb !== NONE; tcb = tcbSchedNext(state, tcb)) {
    if (tcbSchedPrev(state, tcb) !== prev) fail(`${name}: broken prev link at ${tcb.toString(16)}`);
    if (!member(tcb)) fail(`${name}: thread ${tcb.toString(16)} does not belong there`);
    prev = tcb;
  }
  if (prev !== tail) fail(`${name}: tail is not the last thread`);
}

/** The ready queues (highest priority first, head first) and the release queue, for the view. */
export function queuesOf(state: ImplState): { readyQueues: { priority: number; threads: number[] }[]; releaseQueue: number[] } {
  const walk = (head: number): number[] => {
    const threads: number[] = [];
    for (let tcb = head; tcb !== NONE; tcb = tcbSchedNext(state, tcb)) threads.push(tcb);
    return threads;
  };
  const readyQueues: { priority: number; threads: number[] }[] = [];
  for (let prio = numPriorities - 1; prio >= 0; prio--) {
    if (state.readyHeads[prio] !== NONE) readyQueues.push({ priority: prio, threads: walk(state.readyHeads[prio]!) });
  }
  return { readyQueues, releaseQueue: walk(state.releaseHead) };
}
