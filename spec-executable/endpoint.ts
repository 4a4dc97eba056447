// Endpoints (seL4's endpoint.c, l4v's Endpoint.lhs): sendIPC, receiveIPC, cancelIPC,
// cancelAllIPC, cancelBadgedSends, and the queues, ordered by priority (tcbAppend). An endpoint is
// Idle with an empty queue, Send with senders queued, Recv with receivers queued.
import { hex, seL4_CanGrant, seL4_CanGrantReply, seL4_CanWrite, type BlockingView, type CapOf, type SyscallError, type Word } from '../libsel4/index.ts';
import { cancelSignal, completeSignal, maybeReturnSchedContext, notification } from './notification.ts';
import { replyAt, replyPush, replyRemoveTCB, replyUnlink } from './reply.ts';
import { schedContextDonate, unblockIfSporadic } from './schedcontext.ts';
import { possibleSwitchTo, rescheduleRequired } from './scheduler.ts';
import type { EndpointObject, Step } from './state.ts';
import { doNBRecvFailedTransfer, restartBlockedThread, setThreadState } from './tcb.ts';
import { doIPCTransfer } from './transfer.ts';

export function endpointAt(k: Step, addr: number): EndpointObject {
  const obj = k.object(addr);
  if (obj?.type !== 'endpoint') throw new Error(`executable spec invariant: no endpoint at ${hex(addr)}`);
  return obj;
}

/** tcbAppend: after every thread of equal or higher priority (FIFO within a priority). */
export function tcbAppend(k: Step, queue: readonly number[], tcbAddr: number): number[] {
  if (queue.includes(tcbAddr)) throw new Error(`executable spec invariant: thread ${hex(tcbAddr)} queued twice`);
  const priority = k.tcb(tcbAddr).priority;
  const at = queue.findIndex((t) => k.tcb(t).priority < priority);
  return at < 0 ? [...queue, tcbAddr] : [...queue.slice(0, at), tcbAddr, ...queue.slice(at)];
}

/** tcbEPAppend: the thread joins the queue in priority order and the endpoint takes `state`. */
function tcbEPAppend(k: Step, tcbAddr: number, epAddr: number, state: 'Send' | 'Recv'): void {
  const ep = endpointAt(k, epAddr);
  if (ep.state !== 'Idle' && ep.state !== state) throw new Error(`executable spec invariant: ${state} queue on a ${ep.state} endpoint`);
  k.setObject({ ...ep, state, queue: tcbAppend(k, ep.queue, tcbAddr) });
}

/** tcbEPDequeue: the thread leaves the queue; an empty queue leaves the endpoint Idle. */
function tcbEPDequeue(k: Step, tcbAddr: number, epAddr: number): void {
  const ep = endpointAt(k, epAddr);
  if (!ep.queue.includes(tcbAddr)) throw new Error(`executable spec invariant: thread ${hex(tcbAddr)} not queued on ${hex(epAddr)}`);
  const queue = ep.queue.filter((t) => t !== tcbAddr);
  k.setObject({ ...ep, queue, state: queue.length === 0 ? 'Idle' : ep.state });
}

/** reorderEp: a queued thread whose priority changed takes its new place. */
export function reorderEp(k: Step, epAddr: number, tcbAddr: number): void {
  const ep = endpointAt(k, epAddr);
  k.setObject({ ...ep, queue: tcbAppend(k, ep.queue.filter((t) => t !== tcbAddr), tcbAddr) });
}

/** The blocking fields of a thread state, the unused ones 0, false or null. */
export function blockingOn(fields: Partial<BlockingView>): BlockingView {
  return { object: null, badge: 0, canGrant: false, canGrantReply: false, isCall: false, reply: null, ...fields };
}

/** An invocation of an endpoint cap with Send: a sendIPC with the cap's badge and rights. */
export interface EndpointInvocation {
  readonly kind: 'endpoint';
  readonly ep: number;
  readonly send: Pick<SendParams, 'badge' | 'canGrant' | 'canGrantReply'>;
}

/** decodeInvocation, endpoint case: a cap without Send (Write) is InvalidCapability 0. */
export function decodeEndpointInvocation(cap: CapOf<'endpoint'>): EndpointInvocation | SyscallError {
  if ((cap.rights & seL4_CanWrite) === 0) return { error: 'InvalidCapability', capIndex: 0 };
  const send = { badge: cap.badge, canGrant: (cap.rights & seL4_CanGrant) !== 0, canGrantReply: (cap.rights & seL4_CanGrantReply) !== 0 };
  return { kind: 'endpoint', ep: cap.ptr, send };
}

/** What a sender offers: its cap's badge and rights, whether it calls, and whether it may donate its SC. */
export interface SendParams {
  readonly blocking: boolean;
  readonly call: boolean;
  readonly badge: Word;
  readonly canGrant: boolean;
  readonly canGrantReply: boolean;
  readonly canDonate: boolean;
}

/**
 * sendIPC: with a receiver waiting, the head receiver gets the message and runs; a Call then
 * blocks on the receiver's reply object (donating its SC to a passive receiver), or ends Inactive
 * without one or without Grant/GrantReply; a send in a first phase lends the sender's SC to a
 * receiver without one. With no receiver, a blocking send waits in the queue; a non-blocking one
 * is dropped.
 */
export function sendIPC(k: Step, p: SendParams, thread: number, epAddr: number): void {
  const ep = endpointAt(k, epAddr);
  if (ep.state !== 'Recv') {
    if (!p.blocking) return;
    const blocking = blockingOn({ object: epAddr, badge: p.badge, canGrant: p.canGrant, canGrantReply: p.canGrantReply, isCall: p.call });
    setThreadState(k, thread, 'BlockedOnSend', blocking);
    tcbEPAppend(k, thread, epAddr, 'Send');
    return;
  }
  const dest = ep.queue[0]!;
  if (dest === thread || k.tcb(dest).state !== 'BlockedOnReceive') throw new Error(`executable spec invariant: ${hex(dest)} in a Recv queue is not receiving`);
  tcbEPDequeue(k, dest, epAddr);
  const reply = k.tcb(dest).blocking?.reply ?? null;
  doIPCTransfer(k, thread, epAddr, p.badge, p.canGrant, dest);
  if (reply !== null) replyUnlink(k, reply, dest);
  const destSC = k.tcb(dest).schedContext;
  if (p.call) {
    if ((p.canGrant || p.canGrantReply) && reply !== null) replyPush(k, thread, dest, reply, p.canDonate);
    else setThreadState(k, thread, 'Inactive');
  } else if (p.canDonate && destSC === null) {
    const own = k.tcb(thread).schedContext;
    if (own === null) throw new Error('executable spec invariant: donating from a thread without an SC');
    schedContextDonate(k, own, dest);
  }
  setThreadState(k, dest, 'Running');
  unblockIfSporadic(k, k.tcb(dest).schedContext);
  possibleSwitchTo(k, dest);
}

/**
 * receiveIPC: a reply object still linked to another thread has that thread's IPC cancelled. A
 * pending signal on the bound notification is taken instead of a message; otherwise (returning a
 * lent notification SC on a blocking receive) the head sender's message is taken: a Call blocks
 * on the reply object (donating its SC) or ends Inactive, a plain sender runs on. With no sender, a
 * blocking receive waits in the queue with its reply object; a non-blocking one gets badge 0.
 */
export function receiveIPC(k: Step, thread: number, cap: CapOf<'endpoint'>, isBlocking: boolean, reply: number | null): void {
  const epAddr = cap.ptr;
  if (reply !== null) {
    const holder = replyAt(k, reply).tcb;
    if (holder !== null && holder !== thread) cancelIPC(k, holder);
  }
  const ntfnAddr = k.tcb(thread).boundNotification;
  if (ntfnAddr !== null && notification(k, ntfnAddr).word !== 0) return completeSignal(k, ntfnAddr, thread);
  if (ntfnAddr !== null && isBlocking) maybeReturnSchedContext(k, ntfnAddr, thread);
  const ep = endpointAt(k, epAddr);
  if (ep.state !== 'Send') {
    if (!isBlocking) return doNBRecvFailedTransfer(k, thread);
    setThreadState(k, thread, 'BlockedOnReceive', blockingOn({ object: epAddr, reply }));
    if (reply !== null) k.setObject({ ...replyAt(k, reply), tcb: thread });
    tcbEPAppend(k, thread, epAddr, 'Recv');
    return;
  }
  const sender = ep.queue[0]!;
  const sent = k.tcb(sender).blocking;
  if (k.tcb(sender).state !== 'BlockedOnSend' || sent === null) throw new Error(`executable spec invariant: ${hex(sender)} in a Send queue is not sending`);
  tcbEPDequeue(k, sender, epAddr);
  doIPCTransfer(k, sender, epAddr, sent.badge, sent.canGrant, thread);
  unblockIfSporadic(k, k.tcb(sender).schedContext);
  if (sent.isCall) {
    if ((sent.canGrant || sent.canGrantReply) && reply !== null) replyPush(k, sender, thread, reply, k.tcb(sender).schedContext !== null);
    else setThreadState(k, sender, 'Inactive');
  } else {
    setThreadState(k, sender, 'Running');
    possibleSwitchTo(k, sender);
  }
}

/**
 * cancelIPC: a thread blocked on an endpoint leaves its queue (a receiver's reply object is
 * freed), one blocked on a notification leaves its queue, one blocked on a reply lets go of it
 * (reply_remove_tcb: a donated SC stays where it is); it ends Inactive. Other states: nothing.
 */
export function cancelIPC(k: Step, tcbAddr: number): void {
  const tcb = k.tcb(tcbAddr);
  const blocking = tcb.blocking;
  switch (tcb.state) {
    case 'BlockedOnSend':
    case 'BlockedOnReceive':
      tcbEPDequeue(k, tcbAddr, blocking!.object!);
      if (blocking!.reply !== null) replyUnlink(k, blocking!.reply, tcbAddr);
      setThreadState(k, tcbAddr, 'Inactive');
      return;
    case 'BlockedOnNotification':
      return cancelSignal(k, tcbAddr, blocking!.object!);
    case 'BlockedOnReply':
      return replyRemoveTCB(k, tcbAddr);
    default:
      return;
  }
}

/** cancelAllIPC: the endpoint is going away; every queued thread, head first, restarts its syscall. */
export function cancelAllIPC(k: Step, epAddr: number): void {
  const ep = endpointAt(k, epAddr);
  if (ep.state === 'Idle') return;
  for (const t of ep.queue) {
    tcbEPDequeue(k, t, epAddr);
    const reply = k.tcb(t).state === 'BlockedOnReceive' ? (k.tcb(t).blocking?.reply ?? null) : null;
    if (reply !== null) replyUnlink(k, reply, t);
    restartBlockedThread(k, t);
  }
  if (endpointAt(k, epAddr).state !== 'Idle') throw new Error('executable spec invariant: endpoint not idle after cancelAllIPC');
  rescheduleRequired(k);
}

/** cancelBadgedSends: every sender queued with `badge`, head first, restarts its syscall; receivers stay. */
export function cancelBadgedSends(k: Step, epAddr: number, badge: Word): void {
  const ep = endpointAt(k, epAddr);
  if (ep.state !== 'Send') return;
  for (const t of ep.queue) {
    if (k.tcb(t).blocking?.badge !== badge) continue;
    tcbEPDequeue(k, t, epAddr);
    restartBlockedThread(k, t);
  }
  rescheduleRequired(k);
}
