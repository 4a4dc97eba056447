// Notifications, as seL4's notification.c (l4v's Notification.lhs): Signal (an invocation of a
// notification cap with Write) wakes the first waiter or a bound thread blocked on an endpoint,
// else ORs the cap's badge into the word; a receive takes a pending word or blocks in the queue
// (priority order). The word is the pending state: non-zero means Active, a non-empty queue
// Waiting (see docs/model.md, "Notifications"). A notification can be bound to one thread and
// lend its scheduling context to a passive thread that receives from it.
import { badgeRegister, hex, seL4_CanRead, seL4_CanWrite, type CapOf, type SyscallError, type Word } from '../libsel4/index.ts';
import { blockingOn, cancelIPC, tcbAppend } from './endpoint.ts';
import { schedContextAt, schedContextDonate, schedContextResume, unblockIfSporadic } from './schedcontext.ts';
import { isSchedulable, possibleSwitchTo, rescheduleRequired } from './scheduler.ts';
import type { NotificationObject, Step } from './state.ts';
import { doNBRecvFailedTransfer, restartBlockedThread, setRegisters, setThreadState } from './tcb.ts';

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
  if (o?.type !== 'notification') throw new Error(`executable spec invariant: no notification at ${hex(addr)}`);
  return o;
}

/** tcbNTFNDequeue: the thread leaves the queue (the notification is Idle when it empties). */
function tcbNTFNDequeue(k: Step, tcbAddr: number, ntfnAddr: number): void {
  const ntfn = notification(k, ntfnAddr);
  if (!ntfn.queue.includes(tcbAddr) || ntfn.word !== 0) throw new Error(`executable spec invariant: thread ${hex(tcbAddr)} not waiting on ${hex(ntfnAddr)}`);
  k.setObject({ ...ntfn, queue: ntfn.queue.filter((t) => t !== tcbAddr) });
}

/** reorderNtfn: a waiting thread whose priority changed takes its new place. */
export function reorderNtfn(k: Step, ntfnAddr: number, tcbAddr: number): void {
  const ntfn = notification(k, ntfnAddr);
  k.setObject({ ...ntfn, queue: tcbAppend(k, ntfn.queue.filter((t) => t !== tcbAddr), tcbAddr) });
}

/** maybeDonateSchedContext: a thread without an SC borrows the notification's SC if no thread has it. */
function maybeDonateSchedContext(k: Step, tcbAddr: number, ntfnAddr: number): void {
  const scAddr = notification(k, ntfnAddr).schedContext;
  if (k.tcb(tcbAddr).schedContext !== null || scAddr === null || schedContextAt(k, scAddr).tcb !== null) return;
  schedContextDonate(k, scAddr, tcbAddr);
  schedContextResume(k, scAddr);
}

/** maybeReturnSchedContext: a thread running on the notification's SC gives it back. */
export function maybeReturnSchedContext(k: Step, ntfnAddr: number, tcbAddr: number): void {
  const scAddr = notification(k, ntfnAddr).schedContext;
  if (scAddr === null || k.tcb(tcbAddr).schedContext !== scAddr) return;
  k.setObject({ ...k.tcb(tcbAddr), schedContext: null });
  k.setObject({ ...schedContextAt(k, scAddr), tcb: null });
  if (tcbAddr === k.state.current) rescheduleRequired(k);
}

/** A woken thread runs with the badge in a0, borrowing the notification's SC if it has none. */
function wake(k: Step, tcbAddr: number, ntfnAddr: number, badge: Word): void {
  setThreadState(k, tcbAddr, 'Running');
  setRegisters(k, tcbAddr, [[badgeRegister, badge]]);
  maybeDonateSchedContext(k, tcbAddr, ntfnAddr);
  if (isSchedulable(k, tcbAddr)) possibleSwitchTo(k, tcbAddr);
  unblockIfSporadic(k, k.tcb(tcbAddr).schedContext);
}

/**
 * sendSignal: the first waiter, or else a bound thread blocked on an endpoint (its IPC cancelled),
 * is woken with the badge; with neither, the badge joins the pending word.
 */
export function sendSignal(k: Step, inv: SignalInvocation): void {
  const ntfn = notification(k, inv.ntfn);
  const waiter = ntfn.queue[0];
  if (waiter !== undefined) {
    tcbNTFNDequeue(k, waiter, inv.ntfn);
    return wake(k, waiter, inv.ntfn, inv.badge);
  }
  if (ntfn.word === 0 && ntfn.tcb !== null && k.tcb(ntfn.tcb).state === 'BlockedOnReceive') {
    cancelIPC(k, ntfn.tcb);
    return wake(k, ntfn.tcb, inv.ntfn, inv.badge);
  }
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

/** Takes the pending word into the thread's a0; the notification becomes Idle. */
function takeWord(k: Step, ntfnAddr: number, thread: number): void {
  const ntfn = notification(k, ntfnAddr);
  setRegisters(k, thread, [[badgeRegister, ntfn.word]]);
  k.setObject({ ...ntfn, word: 0 });
  maybeDonateSchedContext(k, thread, ntfnAddr);
}

/**
 * receiveSignal: a pending word is taken (a thread without an SC borrows the notification's);
 * otherwise a blocking receive waits in the queue, giving back a borrowed notification SC, and a
 * non-blocking one gets badge 0.
 */
export function receiveSignal(k: Step, thread: number, cap: CapOf<'notification'>, isBlocking: boolean): void {
  const ntfn = notification(k, cap.ptr);
  if (ntfn.word !== 0) {
    takeWord(k, cap.ptr, thread);
    unblockIfSporadic(k, k.tcb(thread).schedContext);
    return;
  }
  if (!isBlocking) return doNBRecvFailedTransfer(k, thread);
  setThreadState(k, thread, 'BlockedOnNotification', blockingOn({ object: cap.ptr }));
  k.setObject({ ...ntfn, queue: tcbAppend(k, ntfn.queue, thread) });
  maybeReturnSchedContext(k, cap.ptr, thread);
}

/** completeSignal: a receive on an endpoint takes the bound notification's pending word instead. */
export function completeSignal(k: Step, ntfnAddr: number, thread: number): void {
  takeWord(k, ntfnAddr, thread);
  const scAddr = k.tcb(thread).schedContext;
  if (scAddr !== null && scAddr === notification(k, ntfnAddr).schedContext) unblockIfSporadic(k, scAddr);
}

/** cancelSignal: a waiting thread leaves the queue and becomes Inactive. */
export function cancelSignal(k: Step, tcbAddr: number, ntfnAddr: number): void {
  tcbNTFNDequeue(k, tcbAddr, ntfnAddr);
  setThreadState(k, tcbAddr, 'Inactive');
}

/** cancelAllSignals: the notification is going away; every waiter, head first, restarts its syscall. */
export function cancelAllSignals(k: Step, ntfnAddr: number): void {
  const queue = notification(k, ntfnAddr).queue;
  if (queue.length === 0) return;
  for (const t of queue) {
    tcbNTFNDequeue(k, t, ntfnAddr);
    restartBlockedThread(k, t);
  }
  rescheduleRequired(k);
}
