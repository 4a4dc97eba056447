// Notifications, as seL4's notification.c, for a root task that never waits on one: Signal
// (an invocation of a notification cap with Write) ORs the cap's badge into the notification
// word; a non-blocking receive (NBWait, NBRecv) takes the word and leaves the notification idle.
// The word is the pending state: non-zero means Active (docs/model.md, "Notifications"); the
// state field stays Idle, since no thread waits. A notification can be bound to one thread
// (bindNotification, unbindNotification, unbindMaybeNotification) and to one scheduling
// context (schedcontext.ts).
//
// Memory layout of a notification (32 bytes, 32-byte aligned):
//   0x00  bound TCB: link (address | 1), 0 if none
//   0x04  bound scheduling context: link, 0 if none
//   0x08  the notification word (pending badges)
//   0x0C  queue head: link to a TCB, 0 if empty
//   0x10  queue tail: link to a TCB, 0 if empty
//   0x14  state: 0 Idle, 1 Waiting, 2 Active
// A new notification (all zero) is idle with word 0.
import { badgeRegister, seL4_CanRead, seL4_CanWrite, type SyscallError } from '../libsel4/index.ts';
import { NONE, fail, linkTarget, linkWord, readWord, writeObjectWord, type ImplState } from './state.ts';
import { capRightsBits, endpointBadge, endpointPtr } from './structures.ts';
import { setRegister, setTcbBoundNotification, tcbBoundNotification } from './tcb.ts';

const BOUND_TCB = 0x00;
const SCHED_CONTEXT = 0x04;
const WORD = 0x08;
const QUEUE_HEAD = 0x0c;

export interface NotificationRecord {
  readonly word: number;
  readonly queue: readonly number[];
  readonly tcb: number | null;
  readonly schedContext: number | null;
}

export function decodeNotification(state: ImplState, ntfn: number): NotificationRecord {
  if (state.debug && readWord(state, ntfn + QUEUE_HEAD) !== 0) fail(`notification ${ntfn.toString(16)} has waiters, but none are modelled`);
  const tcb = ntfnBoundTcb(state, ntfn);
  const sc = ntfnSchedContext(state, ntfn);
  return { word: readWord(state, ntfn + WORD), queue: [], tcb: tcb === NONE ? null : tcb, schedContext: sc === NONE ? null : sc };
}

/** ntfnQueue_head is empty (no thread waits on it). */
export function ntfnQueueEmpty(state: ImplState, ntfn: number): boolean {
  return readWord(state, ntfn + QUEUE_HEAD) === 0;
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

/** sendSignal with no thread waiting or bound: the badge joins the pending word. */
export function sendSignal(state: ImplState, inv: SignalInvocation): void {
  writeObjectWord(state, inv.ntfn, WORD, (readWord(state, inv.ntfn + WORD) | inv.badge) >>> 0);
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

/** receiveSignal, non-blocking: the pending word (0 if none: doNBRecvFailedTransfer) to the badge register. */
export function pollSignal(state: ImplState, thread: number, w1: number): void {
  const ntfn = endpointPtr(w1);
  const word = readWord(state, ntfn + WORD);
  setRegister(state, thread, badgeRegister, word);
  if (word !== 0) writeObjectWord(state, ntfn, WORD, 0);
}
