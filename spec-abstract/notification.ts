// Notifications (l4v Ipc_A send_signal, receive_signal) for a root task that never waits on
// one: Signal ORs the cap's badge into the notification word; a non-blocking receive takes the
// word and leaves the notification idle. The word is the pending state: non-zero means Active
// (docs/model.md, "Notifications").
import { badgeRegister, seL4_CanRead, seL4_CanWrite, type CapOf, type SyscallError, type Word } from '../libsel4/index.ts';
import { objectAt, updateObject, type Kernel } from './state.ts';
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

function pendingWord(k: Kernel, ntfn: number): Word {
  const o = objectAt(k, ntfn);
  if (o?.type !== 'notification') throw new Error(`abstract spec invariant: no notification at ${ntfn}`);
  return o.word;
}

/** send_signal with no thread waiting or bound: the badge joins the pending word. */
export function sendSignal(k: Kernel, inv: SignalInvocation): void {
  updateObject(k, inv.ntfn, 'notification', { word: (pendingWord(k, inv.ntfn) | inv.badge) >>> 0 });
}

/** Whether a receive on this cap is allowed (handle_recv's check; no TCB is ever bound). */
export function canReceiveSignal(cap: CapOf<'notification'>): boolean {
  return (cap.rights & seL4_CanRead) !== 0;
}

/** receive_signal, non-blocking: the pending word (0 if none) to the badge register. */
export function pollSignal(k: Kernel, tcb: number, cap: CapOf<'notification'>): void {
  const word = pendingWord(k, cap.ptr);
  setRegister(k, tcb, badgeRegister, word);
  if (word !== 0) updateObject(k, cap.ptr, 'notification', { word: 0 });
}
