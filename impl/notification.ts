// Notifications, as seL4's notification.c, for a root task that never waits on one: Signal
// (an invocation of a notification cap with Write) ORs the cap's badge into the notification
// word; a non-blocking receive (NBWait, NBRecv) takes the word and leaves the notification idle.
// The word is the pending state: non-zero means Active (docs/model.md, "Notifications"); the
// state field stays Idle, since no thread waits.
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
import { fail, readWord, writeObjectWord, type ImplState } from './state.ts';
import { capRightsBits, endpointBadge, endpointPtr } from './structures.ts';
import { setRegister } from './tcb.ts';

const WORD = 0x08;
const QUEUE_HEAD = 0x0c;

export interface NotificationRecord {
  readonly word: number;
  readonly queue: readonly number[];
}

export function decodeNotification(state: ImplState, ntfn: number): NotificationRecord {
  if (state.debug && readWord(state, ntfn + QUEUE_HEAD) !== 0) fail(`notification ${ntfn.toString(16)} has waiters, but none are modelled`);
  return { word: readWord(state, ntfn + WORD), queue: [] };
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

/** Whether a receive on this notification cap is allowed (handleRecv's check; no TCB is ever bound). */
export function canReceiveSignal(w1: number): boolean {
  return (capRightsBits(w1) & seL4_CanRead) !== 0;
}

/** receiveSignal, non-blocking: the pending word (0 if none: doNBRecvFailedTransfer) to the badge register. */
export function pollSignal(state: ImplState, thread: number, w1: number): void {
  const ntfn = endpointPtr(w1);
  const word = readWord(state, ntfn + WORD);
  setRegister(state, thread, badgeRegister, word);
  if (word !== 0) writeObjectWord(state, ntfn, WORD, 0);
}
