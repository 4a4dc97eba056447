// Notifications (l4v Ipc_A send_signal, receive_signal) for a root task that never waits on
// one: Signal ORs the cap's badge into the notification word; a non-blocking receive takes the
// word and leaves the notification idle. The word is the pending state: non-zero means Active
// (docs/model.md, "Notifications"). A notification can be bound to one thread (Tcb_A
// bind_notification, unbind_notification, unbind_maybe_notification).
import { badgeRegister, seL4_CanRead, seL4_CanWrite, type CapOf, type SyscallError, type Word } from '../libsel4/index.ts';
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

function pendingWord(k: Kernel, ntfn: number): Word {
  return notificationAt(k, ntfn).word;
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

/** send_signal with no thread waiting or bound: the badge joins the pending word. */
export function sendSignal(k: Kernel, inv: SignalInvocation): void {
  updateObject(k, inv.ntfn, 'notification', { word: (pendingWord(k, inv.ntfn) | inv.badge) >>> 0 });
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

/** receive_signal, non-blocking: the pending word (0 if none) to the badge register. */
export function pollSignal(k: Kernel, tcb: number, cap: CapOf<'notification'>): void {
  const word = pendingWord(k, cap.ptr);
  setRegister(k, tcb, badgeRegister, word);
  if (word !== 0) updateObject(k, cap.ptr, 'notification', { word: 0 });
}
