// The MCS scheduler (seL4's thread.c, tcb.c queues, thread.h): ready queues by priority (domain 0
// only), the release queue, schedule, switchSchedContext, commitTime, chargeBudget, endTimeslice,
// setNextInterrupt, awaken and the timer. The current thread is ExecState.current (null = idle),
// ksCurSC is sched.curSC (null = the idle thread's SC).
import { minBudgetTicks, TCBSlot, timerPrecisionTicks } from '../libsel4/index.ts';
import {
  completeYieldTo,
  isRoundRobin,
  refillBudgetCheck,
  refillHead,
  refillReady,
  refillSufficient,
  roundRobinCharge,
  roundRobinRefill,
  scActive,
  schedContextAt,
  schedContextOrIdle,
  unblockCheck,
} from './schedcontext.ts';
import { handleTimeout, timeoutFault } from './fault.ts';
import { getTCB, Step, type ExecState, type SchedContextObject } from './state.ts';
import { isRunnable, setThreadState } from './tcb.ts';

// ---------------------------------------------------------------- queues

function readyQueue(k: Step, priority: number): readonly number[] {
  return k.sched.readyQueues.get(priority) ?? [];
}

function setReadyQueue(k: Step, priority: number, queue: readonly number[]): void {
  const readyQueues = queue.length === 0 ? k.sched.readyQueues.delete(priority) : k.sched.readyQueues.set(priority, queue);
  k.setSched({ readyQueues });
}

/** tcbQueued: whether the thread is in the ready queue of its priority. */
export function isQueued(k: Step, tcbAddr: number): boolean {
  return readyQueue(k, k.tcb(tcbAddr).priority).includes(tcbAddr);
}

/** tcbInReleaseQueue. */
export function inReleaseQueue(k: Step, tcbAddr: number): boolean {
  return k.sched.releaseQueue.includes(tcbAddr);
}

/** isSchedulable: runnable, with an active SC, and not waiting for a release. */
export function isSchedulable(k: Step, tcbAddr: number | null): boolean {
  if (tcbAddr === null) return false;
  const tcb = k.tcb(tcbAddr);
  return isRunnable(tcb) && tcb.schedContext !== null && scActive(schedContextAt(k, tcb.schedContext)) && !inReleaseQueue(k, tcbAddr);
}

function assertReadyToQueue(k: Step, tcbAddr: number): void {
  const sc = k.tcb(tcbAddr).schedContext;
  if (!isSchedulable(k, tcbAddr) || sc === null || !refillSufficient(schedContextAt(k, sc), 0n)) {
    throw new Error(`executable spec invariant: queueing thread ${tcbAddr} that cannot run`);
  }
}

/** tcbSchedEnqueue: to the head of its priority's queue, unless already queued. */
export function tcbSchedEnqueue(k: Step, tcbAddr: number): void {
  assertReadyToQueue(k, tcbAddr);
  if (isQueued(k, tcbAddr)) return;
  const priority = k.tcb(tcbAddr).priority;
  setReadyQueue(k, priority, [tcbAddr, ...readyQueue(k, priority)]);
}

/** tcbSchedAppend: to the tail of its priority's queue, unless already queued. */
export function tcbSchedAppend(k: Step, tcbAddr: number): void {
  assertReadyToQueue(k, tcbAddr);
  if (isQueued(k, tcbAddr)) return;
  const priority = k.tcb(tcbAddr).priority;
  setReadyQueue(k, priority, [...readyQueue(k, priority), tcbAddr]);
}

/** tcbSchedDequeue. */
export function tcbSchedDequeue(k: Step, tcbAddr: number): void {
  if (!isQueued(k, tcbAddr)) return;
  const priority = k.tcb(tcbAddr).priority;
  setReadyQueue(k, priority, readyQueue(k, priority).filter((t) => t !== tcbAddr));
}

/** tcbReadyTime: when the thread's head refill is released. */
function readyTime(k: Step, tcbAddr: number): bigint {
  const sc = k.tcb(tcbAddr).schedContext;
  if (sc === null) throw new Error(`executable spec invariant: thread ${tcbAddr} in the release queue without an SC`);
  return refillHead(schedContextAt(k, sc)).releaseTicks;
}

/** tcbReleaseEnqueue: after every thread released no later; a new head means reprogramming. */
export function tcbReleaseEnqueue(k: Step, tcbAddr: number): void {
  if (inReleaseQueue(k, tcbAddr) || isQueued(k, tcbAddr)) throw new Error(`executable spec invariant: thread ${tcbAddr} already queued`);
  const queue = k.sched.releaseQueue;
  const time = readyTime(k, tcbAddr);
  const at = queue.findIndex((t) => readyTime(k, t) > time);
  const releaseQueue = at < 0 ? [...queue, tcbAddr] : [...queue.slice(0, at), tcbAddr, ...queue.slice(at)];
  k.setSched({ releaseQueue });
  if (releaseQueue[0] !== queue[0]) k.reprogram = true;
}

/** tcbReleaseRemove: removing the head means reprogramming. */
export function tcbReleaseRemove(k: Step, tcbAddr: number): void {
  const queue = k.sched.releaseQueue;
  if (!queue.includes(tcbAddr)) return;
  if (queue[0] === tcbAddr) k.reprogram = true;
  k.setSched({ releaseQueue: queue.filter((t) => t !== tcbAddr) });
}

/** postpone: the SC's thread waits in the release queue until its head refill is ready. */
export function postpone(k: Step, scAddr: number): void {
  const tcb = schedContextAt(k, scAddr).tcb;
  if (tcb === null) throw new Error('executable spec invariant: postponing an unbound SC');
  tcbSchedDequeue(k, tcb);
  tcbReleaseEnqueue(k, tcb);
  k.reprogram = true;
}

// ---------------------------------------------------------------- scheduler actions

/** rescheduleRequired: a pending switch target goes back to its queue; choose anew. */
export function rescheduleRequired(k: Step): void {
  const action = k.action;
  if (action.kind === 'switchTo' && isSchedulable(k, action.tcb)) {
    const sc = k.tcb(action.tcb).schedContext!;
    if (!refillReady(schedContextAt(k, sc), k.sched.curTimeTicks)) throw new Error('executable spec invariant: switch target not ready');
    tcbSchedEnqueue(k, action.tcb);
  }
  k.action = { kind: 'choose' };
}

/** possibleSwitchTo: the target becomes the switch candidate, or is queued if there already is one. */
export function possibleSwitchTo(k: Step, tcbAddr: number): void {
  if (k.tcb(tcbAddr).schedContext === null || inReleaseQueue(k, tcbAddr)) return;
  if (k.action.kind !== 'resume') {
    rescheduleRequired(k);
    tcbSchedEnqueue(k, tcbAddr);
  } else {
    k.action = { kind: 'switchTo', tcb: tcbAddr };
  }
}

/** scheduleTCB: the current thread can no longer run, so a new one must be chosen. */
export function scheduleTCB(k: Step, tcbAddr: number): void {
  if (tcbAddr === k.state.current && k.action.kind === 'resume' && !isSchedulable(k, tcbAddr)) k.action = { kind: 'choose' };
}

// ---------------------------------------------------------------- time and budget

/** updateTimestamp: the kernel reads the clock; the time since the last entry is consumed. */
export function updateTimestamp(k: Step): void {
  const { clockTicks, curTimeTicks, consumedTicks } = k.sched;
  if (clockTicks === curTimeTicks) return;
  k.setSched({ curTimeTicks: clockTicks, consumedTicks: consumedTicks + (clockTicks - curTimeTicks) });
}

/**
 * commitTime: charges ksConsumed to ksCurSC (round robin: from head to tail; sporadic:
 * refill_budget_check) and adds it to scConsumed. The idle thread's SC is never charged.
 */
export function commitTime(k: Step): void {
  const addr = k.sched.curSC;
  const consumed = k.sched.consumedTicks;
  if (addr !== null && scActive(schedContextAt(k, addr))) {
    let sc = schedContextAt(k, addr);
    if (consumed > 0n) {
      if (!refillSufficient(sc, consumed) || !refillReady(sc, k.sched.curTimeTicks)) throw new Error('executable spec invariant: commitTime beyond the head refill');
      sc = isRoundRobin(sc) ? roundRobinCharge(sc, consumed) : refillBudgetCheck(sc, consumed);
    }
    k.setObject({ ...sc, consumedTicks: sc.consumedTicks + consumed });
  }
  k.setSched({ consumedTicks: 0n });
}

/**
 * chargeBudget: the head refill is used up (or given up by Yield): charge it, and the current
 * thread, if it could run, ends its time slice and a new thread is chosen.
 */
export function chargeBudget(k: Step, consumedTicks: bigint, canTimeoutFault: boolean): void {
  const addr = k.sched.curSC;
  if (addr !== null) {
    const sc = schedContextAt(k, addr);
    const charged = isRoundRobin(sc) ? roundRobinRefill(sc) : refillBudgetCheck(sc, consumedTicks);
    if (refillHead(charged).amountTicks < minBudgetTicks) throw new Error('executable spec invariant: head refill below MIN_BUDGET after charging');
    k.setObject({ ...charged, consumedTicks: charged.consumedTicks + consumedTicks });
  }
  k.setSched({ consumedTicks: 0n });
  const current = k.state.current;
  if (current !== null && isSchedulable(k, current)) {
    endTimeslice(k, current, canTimeoutFault);
    rescheduleRequired(k);
    k.reprogram = true;
  }
}

/**
 * endTimeslice: a thread whose SC is not round robin and that has a timeout handler takes a timeout
 * fault with the SC's badge (handleTimeout); otherwise, with its head refill ready and sufficient
 * it goes to the tail of its queue, else it waits in the release queue.
 */
function endTimeslice(k: Step, current: number, canTimeoutFault: boolean): void {
  const scAddr = k.sched.curSC!;
  const sc = schedContextAt(k, scAddr);
  const validHandler = k.cap({ cnode: current, index: TCBSlot.timeoutHandler }).type === 'endpoint';
  if (canTimeoutFault && !isRoundRobin(sc) && validHandler) return handleTimeout(k, current, timeoutFault(sc.badge));
  if (refillReady(sc, k.sched.curTimeTicks) && refillSufficient(sc, 0n)) tcbSchedAppend(k, current);
  else postpone(k, scAddr);
}

/** checkBudget: whether ksCurSC can cover this entry; if not, it is charged (chargeBudget). */
export function checkBudget(k: Step): boolean {
  const sc = schedContextOrIdle(k, k.sched.curSC);
  if (refillSufficient(sc, k.sched.consumedTicks)) return true;
  chargeBudget(k, k.sched.consumedTicks, true);
  return false;
}

/** checkBudgetRestart: out of budget, the thread will restart this entry when it runs again. */
export function checkBudgetRestart(k: Step, thread: number): boolean {
  const ok = checkBudget(k);
  if (!ok && isRunnable(k.tcb(thread))) setThreadState(k, thread, 'Restart');
  if (!ok) k.restarted = true;
  return ok;
}

/**
 * setNextInterrupt: the timer fires when the current thread's head refill runs out or the release
 * queue's head is released, whichever is first, one timer precision early.
 */
function setNextInterrupt(k: Step): void {
  const current = k.state.current;
  const own = schedContextOrIdle(k, current === null ? null : k.tcb(current).schedContext);
  let next = k.sched.curTimeTicks + refillHead(own).amountTicks;
  const head = k.sched.releaseQueue[0];
  if (head !== undefined) {
    const release = readyTime(k, head);
    if (release < next) next = release;
  }
  k.setSched({ timerDeadlineTicks: next - timerPrecisionTicks });
}

/** awaken: every thread in the release queue whose head refill is ready may run again. */
function awaken(k: Step): void {
  for (;;) {
    const head = k.sched.releaseQueue[0];
    if (head === undefined || readyTime(k, head) > k.sched.curTimeTicks) return;
    tcbReleaseRemove(k, head);
    possibleSwitchTo(k, head);
  }
}

// ---------------------------------------------------------------- schedule

/** The highest priority with a non-empty ready queue, or null. */
function highestPriority(k: Step): number | null {
  let best: number | null = null;
  for (const priority of k.sched.readyQueues.keys()) if (best === null || priority > best) best = priority;
  return best;
}

function switchToThread(k: Step, tcbAddr: number): void {
  tcbSchedDequeue(k, tcbAddr);
  k.setCurrent(tcbAddr);
}

/** chooseThread: the head of the highest non-empty queue, or the idle thread. */
function chooseThread(k: Step): void {
  const priority = highestPriority(k);
  if (priority === null) k.setCurrent(null);
  else switchToThread(k, readyQueue(k, priority)[0]!);
}

/**
 * switchSchedContext: a new ksCurSC means reprogramming (a constant-bandwidth SC is unblocked
 * first); when reprogramming, the time consumed so far is charged to the old ksCurSC.
 */
function switchSchedContext(k: Step): void {
  const current = k.state.current;
  const next = current === null ? null : k.tcb(current).schedContext;
  if (next !== k.sched.curSC) {
    k.reprogram = true;
    if (next !== null && !schedContextAt(k, next).sporadic) unblockCheck(k, next);
  }
  if (k.reprogram) commitTime(k);
  k.setSched({ curSC: next });
}

/**
 * schedule: releases what is due, acts on the scheduler action (a candidate that is not the
 * highest priority, or ties with the still-runnable current thread, goes through the queues),
 * switches SC and programs the timer if needed.
 */
export function schedule(k: Step): void {
  awaken(k);
  const action = k.action;
  if (action.kind !== 'resume') {
    const current = k.state.current;
    const wasRunnable = isSchedulable(k, current);
    if (wasRunnable) tcbSchedEnqueue(k, current!);
    if (action.kind === 'choose') chooseThread(k);
    else {
      const candidate = k.tcb(action.tcb);
      if (!isSchedulable(k, action.tcb)) throw new Error('executable spec invariant: switch candidate cannot run');
      const fastfail = current === null || candidate.priority < k.tcb(current).priority;
      const highest = highestPriority(k);
      if (fastfail && highest !== null && highest > candidate.priority) {
        tcbSchedEnqueue(k, action.tcb);
        chooseThread(k);
      } else if (wasRunnable && candidate.priority === k.tcb(current!).priority) {
        tcbSchedAppend(k, action.tcb);
        chooseThread(k);
      } else {
        switchToThread(k, action.tcb);
      }
    }
  }
  k.action = { kind: 'resume' };
  switchSchedContext(k);
  if (k.reprogram) {
    setNextInterrupt(k);
    k.reprogram = false;
  }
}

/** activateThread: a pending YieldTo reply is completed; a restarting thread runs again. */
export function activateThread(k: Step): void {
  const current = k.state.current;
  if (current === null) return;
  completeYieldTo(k, current);
  if (k.tcb(current).state === 'Restart') setThreadState(k, current, 'Running');
}

// ---------------------------------------------------------------- invariants

/** The SC's refills break the ring's rules (seL4's REFILL_SANITY checks, MIN_BUDGET at the head). */
function refillViolation(sc: SchedContextObject): string | null {
  if (sc.configured !== sc.refillMax > 0) return 'configured differs from refillMax > 0';
  if ((sc.refills.length === 0) !== (sc.refillMax === 0) || sc.refills.length > sc.refillMax) return `${sc.refills.length} refills in a ring of ${sc.refillMax}`;
  if (sc.refillMax === 0) return null;
  if (refillHead(sc).amountTicks < minBudgetTicks) return 'head refill below MIN_BUDGET';
  if (isRoundRobin(sc)) return sc.refills.length === 2 ? null : 'round-robin SC without exactly two refills';
  const unordered = sc.refills.findIndex((r, i) => i > 0 && sc.refills[i - 1]!.releaseTicks + sc.refills[i - 1]!.amountTicks > r.releaseTicks);
  return unordered < 0 ? null : `refill ${unordered} overlaps the one before it`;
}

/**
 * What the scheduler guarantees between kernel entries, or null: queued threads can run at
 * their queue's priority, released ones wait in release order, the current thread is in no queue
 * and its SC is ksCurSC, bindings and YieldTo links are mutual, every refill ring is well formed.
 */
export function schedInvariantViolation(state: ExecState): string | null {
  const k = new Step(state);
  const seen = new Set<number>();
  for (const [priority, queue] of state.sched.readyQueues) {
    if (queue.length === 0) return `empty ready queue ${priority} kept`;
    for (const t of queue) {
      if (seen.has(t)) return `thread ${t} queued twice`;
      seen.add(t);
      if (getTCB(state, t)?.priority !== priority || !isSchedulable(k, t)) return `thread ${t} in ready queue ${priority} cannot run there`;
      const sc = schedContextAt(k, k.tcb(t).schedContext!);
      if (!refillReady(sc, state.sched.curTimeTicks) || !refillSufficient(sc, 0n)) return `queued thread ${t} has no ready budget`;
    }
  }
  const release = state.sched.releaseQueue;
  for (const [i, t] of release.entries()) {
    if (seen.has(t)) return `thread ${t} both ready and released`;
    const tcb = k.tcb(t);
    if (!isRunnable(tcb) || tcb.schedContext === null) return `released thread ${t} cannot run`;
    if (i > 0 && readyTime(k, release[i - 1]!) > readyTime(k, t)) return `release queue out of order at ${i}`;
  }
  const current = state.current;
  if (current !== null) {
    if (seen.has(current) || release.includes(current)) return 'the current thread is queued';
    if (k.tcb(current).state !== 'Running' || k.tcb(current).schedContext !== state.sched.curSC) return 'the current thread is not Running on ksCurSC';
  } else if (state.sched.curSC !== null) return 'the idle thread runs on another SC';
  if (state.sched.timerDeadlineTicks === null) return 'no timer deadline';
  for (const obj of state.objects.values()) {
    if (obj.type === 'tcb') {
      if (obj.schedContext !== null && schedContextAt(k, obj.schedContext).tcb !== obj.addr) return `thread ${obj.addr}'s SC is not bound to it`;
      if (obj.yieldTo !== null && schedContextAt(k, obj.yieldTo).yieldFrom !== obj.addr) return `thread ${obj.addr}'s YieldTo is not mutual`;
    } else if (obj.type === 'schedcontext') {
      if (obj.tcb !== null && getTCB(state, obj.tcb)?.schedContext !== obj.addr) return `SC ${obj.addr}'s thread is not bound to it`;
      if (obj.yieldFrom !== null && getTCB(state, obj.yieldFrom)?.yieldTo !== obj.addr) return `SC ${obj.addr}'s yielder is not mutual`;
      const refills = refillViolation(obj);
      if (refills !== null) return `SC ${obj.addr}: ${refills}`;
    }
  }
  return null;
}
