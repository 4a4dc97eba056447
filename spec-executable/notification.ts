// Notifications, as seL4's notification.c, for a root task that never waits on one: Signal
// (an invocation of a notification cap with Write) ORs the cap's badge into the notification
// word; a non-blocking receive (NBWait, NBRecv) takes the word and leaves the notification idle.
// The word is the pending state: non-zero means Active (see docs/model.md, "Notifications").
// A notification can be bound to one thread (bindNotification, unbindNotification,
// unbindMaybeNotification).
import { badgeRegister, seL4_CanRead, seL4_CanWrite, type CapOf, type SyscallError, type Word } from '../libsel4/index.ts';
import type { NotificationObject, Step } from './state.ts';
import { setRegisters } from './tcb.ts';

export interface SignalInvocation {
  readonly kind: 'signal';
  readonly ntfn: number;
  readonly badge: Word;
}

/** decodeInvocation, notification case: a cap without Write is InvalidCapability 0. */
export function decodeNotificationInvocation(cap: CapOf<'notification'>): SignalInvocation | SyscallError {
  if ((cap.rights & seL4_CanWrite) === 0) return { error: 'InvalidCapability', capIndex: 0 };
  return { kind: 'signal', ntfn: cap.ptr, badge: cap.badge };
}

export function notification(k: Step, addr: number): NotificationObject {
  const o = k.object(addr);
  if (o?.type !== 'notification') throw new Error(`executable spec invariant: no notification at ${addr}`);
  return o;
}

/** sendSignal with no thread waiting or bound: the badge joins the pending word. */
export function sendSignal(k: Step, inv: SignalInvocation): void {
  const ntfn = notification(k, inv.ntfn);
  k.setObject({ ...ntfn, word: (ntfn.word | inv.badge) >>> 0 });
}

/** cap_notification_cap_get_capNtfnCanReceive: the cap carries Read. */
export function canReceive(cap: CapOf<'notification'>): boolean {
  return (cap.rights & seL4_CanRead) !== 0;
}

/** handleRecv's check: the cap has Read and the notification is bound to no other thread. */
export function canReceiveSignal(k: Step, thread: number, cap: CapOf<'notification'>): boolean {
  const bound = notification(k, cap.ptr).tcb;
  return canReceive(cap) && (bound === null || bound === thread);
}

/** bindNotification: the thread and the notification name each other. */
export function bindNotification(k: Step, tcbAddr: number, ntfnAddr: number): void {
  k.setObject({ ...notification(k, ntfnAddr), tcb: tcbAddr });
  k.setObject({ ...k.tcb(tcbAddr), boundNotification: ntfnAddr });
}

/** unbindNotification: the thread's bound notification, if any, is released (doUnbindNotification). */
export function unbindNotification(k: Step, tcbAddr: number): void {
  const ntfnAddr = k.tcb(tcbAddr).boundNotification;
  if (ntfnAddr === null) return;
  k.setObject({ ...notification(k, ntfnAddr), tcb: null });
  k.setObject({ ...k.tcb(tcbAddr), boundNotification: null });
}

/** unbindMaybeNotification: the notification's bound thread, if any, is released. */
export function unbindMaybeNotification(k: Step, ntfnAddr: number): void {
  const tcbAddr = notification(k, ntfnAddr).tcb;
  if (tcbAddr !== null) unbindNotification(k, tcbAddr);
}

/** receiveSignal, non-blocking: the pending word (0 if none: doNBRecvFailedTransfer) to the badge register. */
export function pollSignal(k: Step, thread: number, cap: CapOf<'notification'>): void {
  const ntfn = notification(k, cap.ptr);
  setRegisters(k, thread, [[badgeRegister, ntfn.word]]);
  if (ntfn.word !== 0) k.setObject({ ...ntfn, word: 0 });
}
