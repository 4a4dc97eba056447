// Notifications (l4v Ipc_A send_signal, receive_signal, complete_signal; IpcCancel_A
// cancel_signal, cancel_all_signals, tcb_ntfn_append; Tcb_A bind_notification,
// unbind_notification, unbind_maybe_notification; seL4's notification.c). A notification is
// Idle, Waiting (a queue of BlockedOnNotification threads in priority order) or Active (a word
// pending, the OR of the badges signalled, possibly 0); its word reads 0 unless Active. It can be
// bound to one thread, which then also receives its signals while waiting on an endpoint, and to
// one SC, lent to a receiver that has none.
import { badgeRegister, seL4_CanRead, seL4_CanWrite, type CapOf, type SyscallError, type Word } from '../libsel4/index.ts';
import { cancelIPC, restartThread, tcbAppend } from './endpoint.ts';
import { ifSporadicUnblockCheck, maybeDonateSC, maybeReturnSC } from './schedcontext.ts';
import { blockedOn, isSchedulable, possibleSwitchTo, rescheduleRequired, setThreadState } from './scheduler.ts';
import { objectAt, tcbAt, updateObject, type Kernel, type NotificationObject, type Readable } from './state.ts';
import { setRegister } from './tcb.ts';

export interface SignalInvocation {
  readonly ntfn: number;
  readonly badge: Word;
}

/** decode_invocation, notification case: a cap without Write is InvalidCapability 0. */
export function decodeNotificationInvocation(cap: CapOf<'notification'>): { invocation: SignalInvocation } | { error: SyscallError } {
  if ((cap.rights & seL4_CanWrite) === 0) return { error: { error: 'InvalidCapability', capIndex: 0 } };
  return { invocation: { ntfn: cap.ptr, badge: cap.badge } };
}

/** The notification at `addr`; it must exist. */
export function notificationAt(s: Readable, addr: number): NotificationObject {
  const o = objectAt(s, addr);
  if (o?.type !== 'notification') throw new Error(`abstract spec invariant: no notification at ${addr}`);
  return o;
}

/** bind_notification: the thread and the notification name each other. */
export function bindNotification(k: Kernel, tcb: number, ntfn: number): void {
  updateObject(k, ntfn, 'notification', { tcb });
  updateObject(k, tcb, 'tcb', { boundNotification: ntfn });
}

/** unbind_notification: the thread's bound notification, if any, is released. */
export function unbindNotification(k: Kernel, tcb: number): void {
  const ntfn = tcbAt(k, tcb)?.boundNotification ?? null;
  if (ntfn === null) return;
  updateObject(k, ntfn, 'notification', { tcb: null });
  updateObject(k, tcb, 'tcb', { boundNotification: null });
}

/** unbind_maybe_notification: the notification's bound thread, if any, is released. */
export function unbindMaybeNotification(k: Kernel, ntfn: number): void {
  const tcb = notificationAt(k, ntfn).tcb;
  if (tcb !== null) unbindNotification(k, tcb);
}

/** The notification's queue becomes `queue`: Waiting, or Idle when it empties. */
function setQueue(k: Kernel, ntfn: number, queue: readonly number[]): void {
  updateObject(k, ntfn, 'notification', { state: queue.length === 0 ? 'Idle' : 'Waiting', queue });
}

/** tcb_ntfn_dequeue. */
function tcbNtfnDequeue(k: Kernel, tcb: number, ntfn: number): void {
  const queue = notificationAt(k, ntfn).queue;
  if (!queue.includes(tcb)) throw new Error(`abstract spec invariant: thread ${tcb} is not queued on notification ${ntfn}`);
  setQueue(k, ntfn, queue.filter((t) => t !== tcb));
}

/** reorder_ntfn: a waiter whose priority changed takes its place in the queue again. */
export function reorderNtfn(k: Kernel, ntfn: number, tcb: number): void {
  const others = notificationAt(k, ntfn).queue.filter((t) => t !== tcb);
  setQueue(k, ntfn, tcbAppend(k, tcb, others));
}

/**
 * A thread woken by a signal: it runs with the badge in a0, borrows the notification's SC if it
 * has none, and may become the candidate to run if it can.
 */
function wakeWithBadge(k: Kernel, tcb: number, ntfn: number, badge: Word): void {
  setThreadState(k, tcb, 'Running');
  setRegister(k, tcb, badgeRegister, badge);
  maybeDonateSC(k, tcb, ntfn);
  if (isSchedulable(k, tcb)) possibleSwitchTo(k, tcb);
  ifSporadicUnblockCheck(k, tcbAt(k, tcb)!.schedContext);
}

/**
 * send_signal: the head waiter, if any, is woken with the badge; else a bound thread waiting on
 * an endpoint is taken out of it and woken with the badge; else the badge joins the pending word.
 */
export function sendSignal(k: Kernel, inv: SignalInvocation): void {
  const { ntfn, badge } = inv;
  const n = notificationAt(k, ntfn);
  if (n.state === 'Waiting') {
    const dest = n.queue[0]!;
    tcbNtfnDequeue(k, dest, ntfn);
    wakeWithBadge(k, dest, ntfn, badge);
  } else if (n.state === 'Idle' && n.tcb !== null && tcbAt(k, n.tcb)!.state === 'BlockedOnReceive') {
    cancelIPC(k, n.tcb);
    wakeWithBadge(k, n.tcb, ntfn, badge);
  } else {
    const word = n.state === 'Active' ? n.word | badge : badge;
    updateObject(k, ntfn, 'notification', { state: 'Active', word: word >>> 0 });
  }
}

/** The pending word to a0; the notification becomes Idle and lends its SC to a thread without one. */
function takeWord(k: Kernel, ntfn: number, tcb: number): void {
  setRegister(k, tcb, badgeRegister, notificationAt(k, ntfn).word);
  updateObject(k, ntfn, 'notification', { state: 'Idle', word: 0 });
  maybeDonateSC(k, tcb, ntfn);
}

/**
 * receive_signal: an Active notification gives its word; otherwise a blocking receive waits
 * (BlockedOnNotification, in priority order) and gives back the notification's SC if it runs on
 * it, and a non-blocking one only sets a0 to 0.
 */
export function receiveSignal(k: Kernel, tcb: number, ntfn: number, isBlocking: boolean): void {
  if (notificationAt(k, ntfn).state === 'Active') {
    takeWord(k, ntfn, tcb);
    ifSporadicUnblockCheck(k, tcbAt(k, tcb)!.schedContext);
  } else if (isBlocking) {
    setThreadState(k, tcb, 'BlockedOnNotification', blockedOn(ntfn));
    setQueue(k, ntfn, tcbAppend(k, tcb, notificationAt(k, ntfn).queue));
    maybeReturnSC(k, ntfn, tcb);
  } else {
    setRegister(k, tcb, badgeRegister, 0);
  }
}

/**
 * complete_signal: a receive on an endpoint by a thread whose bound notification is Active takes
 * its word instead; a sporadic SC lent by the notification gets its refills checked.
 */
export function completeSignal(k: Kernel, ntfn: number, tcb: number): void {
  takeWord(k, ntfn, tcb);
  const sc = tcbAt(k, tcb)!.schedContext;
  if (sc === notificationAt(k, ntfn).schedContext) ifSporadicUnblockCheck(k, sc);
}

/** cancel_signal: a waiter leaves the queue and becomes Inactive. */
export function cancelSignal(k: Kernel, tcb: number, ntfn: number): void {
  tcbNtfnDequeue(k, tcb, ntfn);
  setThreadState(k, tcb, 'Inactive');
}

/** cancel_all_signals (the notification is deleted): every waiter, head first, is restarted. */
export function cancelAllSignals(k: Kernel, ntfn: number): void {
  const n = notificationAt(k, ntfn);
  if (n.state !== 'Waiting') return;
  for (const tcb of n.queue) {
    tcbNtfnDequeue(k, tcb, ntfn);
    restartThread(k, tcb);
  }
  rescheduleRequired(k);
}

/** Whether the cap carries Read (AllowRead: receive, and bind to a thread). */
export function canReceiveRight(cap: CapOf<'notification'>): boolean {
  return (cap.rights & seL4_CanRead) !== 0;
}

/** handle_recv's check: the cap has Read and the notification is bound to no other thread. */
export function canReceiveSignal(s: Readable, tcb: number, cap: CapOf<'notification'>): boolean {
  const bound = notificationAt(s, cap.ptr).tcb;
  return canReceiveRight(cap) && (bound === null || bound === tcb);
}
