// Notifications, as seL4's notification.c (MCS): Signal ORs the cap's badge into the word of
// an Active notification, wakes the head waiter of a Waiting one, or delivers to a bound
// thread blocked in a receive on an endpoint; Wait blocks an Idle notification's receiver in
// priority order (linked through tcbSchedNext / tcbSchedPrev); Poll takes the word or 0. A
// notification can be bound to one thread and to one scheduling context, which it lends to a
// receiver without one (maybeDonateSchedContext) until that receiver waits again
// (maybeReturnSchedContext).
//
// Memory layout of a notification (32 bytes, 32-byte aligned):
//   0x00  bound TCB: link (address | 1), 0 if none
//   0x04  bound scheduling context: link, 0 if none
//   0x08  ntfnMsgIdentifier: the word (meaningful only while Active; kept stale otherwise, as in seL4)
//   0x0C  queue head: link to a TCB, 0 if empty
//   0x10  queue tail: link to a TCB, 0 if empty
//   0x14  state: 0 Idle, 1 Waiting, 2 Active
// A new notification (all zero) is idle. The view's `word` is the word while Active, else 0.
import { badgeRegister, notificationStates, seL4_CanRead, seL4_CanWrite, type NotificationState, type SyscallError } from '../libsel4/index.ts';
import { cancelIPC, unblockSporadic } from './endpoint.ts';
import { schedContextDonate, schedContextResume, scTcb, setScTcb } from './schedcontext.ts';
import { isSchedulable, possibleSwitchTo, rescheduleRequired } from './scheduler.ts';
import { NONE, fail, linkTarget, linkWord, readWord, writeObjectWord, type ImplState } from './state.ts';
import { capRightsBits, endpointBadge, endpointPtr } from './structures.ts';
import {
  ThreadStateNum,
  setBlockedOnNotification,
  setRegister,
  setTcbBoundNotification,
  setTcbSchedContext,
  setThreadState,
  tcbBoundNotification,
  tcbQueueAppend,
  tcbQueueHead,
  tcbQueueMembers,
  tcbQueueRemove,
  tcbSchedContext,
  tcbSchedNext,
  threadState,
} from './tcb.ts';
import { doNBRecvFailedTransfer } from './transfer.ts';

const BOUND_TCB = 0x00;
const SCHED_CONTEXT = 0x04;
const WORD = 0x08;
const QUEUE_HEAD = 0x0c;
const STATE = 0x14;

const NtfnState = { Idle: 0, Waiting: 1, Active: 2 } as const;

export interface NotificationRecord {
  readonly state: NotificationState;
  readonly word: number;
  readonly queue: readonly number[];
  readonly tcb: number | null;
  readonly schedContext: number | null;
}

function ntfnState(state: ImplState, ntfn: number): number {
  return readWord(state, ntfn + STATE);
}

export function ntfnIsActive(state: ImplState, ntfn: number): boolean {
  return ntfnState(state, ntfn) === NtfnState.Active;
}

export function decodeNotification(state: ImplState, ntfn: number): NotificationRecord {
  const queue = tcbQueueMembers(state, ntfn, QUEUE_HEAD);
  const st = ntfnState(state, ntfn);
  if (state.debug && (st === NtfnState.Waiting) !== (queue.length !== 0)) fail(`notification ${ntfn.toString(16)}: state ${st} with ${queue.length} waiting`);
  const tcb = ntfnBoundTcb(state, ntfn);
  const sc = ntfnSchedContext(state, ntfn);
  const word = st === NtfnState.Active ? readWord(state, ntfn + WORD) : 0;
  const name = notificationStates[st] ?? fail(`notification ${ntfn.toString(16)}: invalid state ${st}`);
  return { state: name, word, queue, tcb: tcb === NONE ? null : tcb, schedContext: sc === NONE ? null : sc };
}

/** ntfnQueue_head is empty (no thread waits on it). */
export function ntfnQueueEmpty(state: ImplState, ntfn: number): boolean {
  return tcbQueueHead(state, ntfn, QUEUE_HEAD) === NONE;
}

export function ntfnBoundTcb(state: ImplState, ntfn: number): number {
  return linkTarget(readWord(state, ntfn + BOUND_TCB));
}

export function ntfnSchedContext(state: ImplState, ntfn: number): number {
  return linkTarget(readWord(state, ntfn + SCHED_CONTEXT));
}

export function setNtfnSchedContext(state: ImplState, ntfn: number, sc: number): void {
  writeObjectWord(state, ntfn, SCHED_CONTEXT, linkWord(sc));
}

/** bindNotification: the thread and the notification name each other. */
export function bindNotification(state: ImplState, tcb: number, ntfn: number): void {
  if (state.debug && (ntfnBoundTcb(state, ntfn) !== NONE || tcbBoundNotification(state, tcb) !== NONE)) {
    fail(`binding notification ${ntfn.toString(16)} to TCB ${tcb.toString(16)}: one is bound`);
  }
  writeObjectWord(state, ntfn, BOUND_TCB, linkWord(tcb));
  setTcbBoundNotification(state, tcb, ntfn);
}

/** unbindNotification: the thread's bound notification, if any, is released (doUnbindNotification). */
export function unbindNotification(state: ImplState, tcb: number): void {
  const ntfn = tcbBoundNotification(state, tcb);
  if (ntfn === NONE) return;
  if (state.debug && ntfnBoundTcb(state, ntfn) !== tcb) fail(`notification ${ntfn.toString(16)} is not bound back to TCB ${tcb.toString(16)}`);
  writeObjectWord(state, ntfn, BOUND_TCB, linkWord(NONE));
  setTcbBoundNotification(state, tcb, NONE);
}

/** unbindMaybeNotification: the notification's bound thread, if any, is released. */
export function unbindMaybeNotification(state: ImplState, ntfn: number): void {
  const tcb = ntfnBoundTcb(state, ntfn);
  if (tcb !== NONE) unbindNotification(state, tcb);
}

export interface SignalInvocation {
  readonly op: 'signal';
  readonly ntfn: number;
  readonly badge: number;
}

/** decodeInvocation, notification case: a cap without Write is InvalidCapability 0. */
export function decodeNotificationInvocation(w0: number, w1: number): SignalInvocation | SyscallError {
  if ((capRightsBits(w1) & seL4_CanWrite) === 0) return { error: 'InvalidCapability', capIndex: 0 };
  return { op: 'signal', ntfn: endpointPtr(w1), badge: endpointBadge(w0) };
}

function setState(state: ImplState, ntfn: number, st: number): void {
  writeObjectWord(state, ntfn, STATE, st);
}

/** ntfn_set_active: Active with word `badge`. */
function setActive(state: ImplState, ntfn: number, badge: number): void {
  setState(state, ntfn, NtfnState.Active);
  writeObjectWord(state, ntfn, WORD, badge >>> 0);
}

/** tcbNTFNDequeue: the thread leaves the queue; an emptied notification goes Idle. */
function tcbNTFNDequeue(state: ImplState, tcb: number, ntfn: number): void {
  if (tcbQueueRemove(state, ntfn, QUEUE_HEAD, tcb)) setState(state, ntfn, NtfnState.Idle);
}

/** reorderNTFN: a waiter whose priority changed moves to its new place. */
export function reorderNotification(state: ImplState, ntfn: number, tcb: number): void {
  tcbQueueRemove(state, ntfn, QUEUE_HEAD, tcb);
  tcbQueueAppend(state, ntfn, QUEUE_HEAD, tcb);
}

/** maybeDonateSchedContext: a thread without an SC borrows the notification's unused one. */
function maybeDonateSchedContext(state: ImplState, tcb: number, ntfn: number): void {
  if (tcbSchedContext(state, tcb) !== NONE) return;
  const sc = ntfnSchedContext(state, ntfn);
  if (sc === NONE || scTcb(state, sc) !== NONE) return;
  schedContextDonate(state, sc, tcb);
  schedContextResume(state, sc);
}

/** maybeReturnSchedContext: a thread running on the notification's SC gives it back. */
export function maybeReturnSchedContext(state: ImplState, ntfn: number, tcb: number): void {
  const sc = ntfnSchedContext(state, ntfn);
  if (sc === NONE || sc !== tcbSchedContext(state, tcb)) return;
  setTcbSchedContext(state, tcb, NONE);
  setScTcb(state, sc, NONE);
  if (tcb === state.current) rescheduleRequired(state);
}

/** A woken receiver: badge in a0, the notification's SC lent if it has none, switched to if schedulable (MCS_DO_IF_SC). */
function wake(state: ImplState, tcb: number, ntfn: number, badge: number): void {
  setThreadState(state, tcb, ThreadStateNum.Running);
  setRegister(state, tcb, badgeRegister, badge >>> 0);
  maybeDonateSchedContext(state, tcb, ntfn);
  if (isSchedulable(state, tcb)) possibleSwitchTo(state, tcb);
  unblockSporadic(state, tcbSchedContext(state, tcb));
}

/** sendSignal. */
export function sendSignal(state: ImplState, inv: SignalInvocation): void {
  const ntfn = inv.ntfn;
  switch (ntfnState(state, ntfn)) {
    case NtfnState.Idle: {
      const tcb = ntfnBoundTcb(state, ntfn);
      if (tcb !== NONE && threadState(state, tcb) === ThreadStateNum.BlockedOnReceive) {
        cancelIPC(state, tcb);
        wake(state, tcb, ntfn, inv.badge);
      } else {
        setActive(state, ntfn, inv.badge);
      }
      return;
    }
    case NtfnState.Waiting: {
      const dest = tcbQueueHead(state, ntfn, QUEUE_HEAD);
      tcbNTFNDequeue(state, dest, ntfn);
      wake(state, dest, ntfn, inv.badge);
      return;
    }
    default:
      writeObjectWord(state, ntfn, WORD, (readWord(state, ntfn + WORD) | inv.badge) >>> 0);
  }
}

/** receiveSignal: an Active word is taken; otherwise a blocking receiver waits, a non-blocking one gets 0. */
export function receiveSignal(state: ImplState, thread: number, ntfn: number, blocking: boolean): void {
  if (ntfnState(state, ntfn) === NtfnState.Active) {
    setRegister(state, thread, badgeRegister, readWord(state, ntfn + WORD));
    setState(state, ntfn, NtfnState.Idle);
    maybeDonateSchedContext(state, thread, ntfn);
    unblockSporadic(state, tcbSchedContext(state, thread));
    return;
  }
  if (!blocking) {
    doNBRecvFailedTransfer(state, thread);
    return;
  }
  setBlockedOnNotification(state, thread, ntfn);
  tcbQueueAppend(state, ntfn, QUEUE_HEAD, thread);
  setState(state, ntfn, NtfnState.Waiting);
  maybeReturnSchedContext(state, ntfn, thread);
}

/** completeSignal: a receive on an endpoint takes the bound notification's Active word instead. */
export function completeSignal(state: ImplState, ntfn: number, tcb: number): void {
  setRegister(state, tcb, badgeRegister, readWord(state, ntfn + WORD));
  setState(state, ntfn, NtfnState.Idle);
  maybeDonateSchedContext(state, tcb, ntfn);
  const sc = tcbSchedContext(state, tcb);
  if (sc === ntfnSchedContext(state, ntfn)) unblockSporadic(state, sc);
}

/** cancelSignal: a waiter leaves the queue and becomes Inactive. */
export function cancelSignal(state: ImplState, tcb: number, ntfn: number): void {
  if (state.debug && ntfnState(state, ntfn) !== NtfnState.Waiting) fail(`cancelSignal: notification ${ntfn.toString(16)} is not Waiting`);
  tcbNTFNDequeue(state, tcb, ntfn);
  setThreadState(state, tcb, ThreadStateNum.Inactive);
}

/** cancelAllSignals: every waiter, head to tail, restarts; then a reschedule. */
export function cancelAllSignals(state: ImplState, ntfn: number): void {
  if (ntfnState(state, ntfn) !== NtfnState.Waiting) return;
  for (let tcb = tcbQueueHead(state, ntfn, QUEUE_HEAD); tcb !== NONE;) {
    const next = tcbSchedNext(state, tcb);
    tcbNTFNDequeue(state, tcb, ntfn);
    setThreadState(state, tcb, ThreadStateNum.Restart);
    unblockSporadic(state, tcbSchedContext(state, tcb));
    possibleSwitchTo(state, tcb);
    tcb = next;
  }
  rescheduleRequired(state);
}

/** cap_notification_cap_get_capNtfnCanReceive: the cap carries Read. */
export function canReceive(w1: number): boolean {
  return (capRightsBits(w1) & seL4_CanRead) !== 0;
}

/** handleRecv's check: the cap has Read and the notification is bound to no other thread. */
export function canReceiveSignal(state: ImplState, thread: number, w1: number): boolean {
  const bound = ntfnBoundTcb(state, endpointPtr(w1));
  return canReceive(w1) && (bound === NONE || bound === thread);
}
