// Notifications, as seL4's notification.c, for a root task that never waits on one: Signal
// (an invocation of a notification cap with Write) ORs the cap's badge into the notification
// word; a non-blocking receive (NBWait, NBRecv) takes the word and leaves the notification idle.
// The word is the pending state: non-zero means Active (see docs/model.md, "Notifications").
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

function notification(k: Step, addr: number): NotificationObject {
  const o = k.object(addr);
  if (o?.type !== 'notification') throw new Error(`executable spec invariant: no notification at ${addr}`);
  return o;
}

/** sendSignal with no thread waiting or bound: the badge joins the pending word. */
export function sendSignal(k: Step, inv: SignalInvocation): void {
  const ntfn = notification(k, inv.ntfn);
  k.setObject({ ...ntfn, word: (ntfn.word | inv.badge) >>> 0 });
}

/** Whether a receive on this cap is allowed (handleRecv's check; no TCB is ever bound). */
export function canReceiveSignal(cap: CapOf<'notification'>): boolean {
  return (cap.rights & seL4_CanRead) !== 0;
}

/** receiveSignal, non-blocking: the pending word (0 if none: doNBRecvFailedTransfer) to the badge register. */
export function pollSignal(k: Step, thread: number, cap: CapOf<'notification'>): void {
  const ntfn = notification(k, cap.ptr);
  setRegisters(k, thread, [[badgeRegister, ntfn.word]]);
  if (ntfn.word !== 0) k.setObject({ ...ntfn, word: 0 });
}
