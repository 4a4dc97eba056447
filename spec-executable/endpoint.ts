// Endpoints (seL4's endpoint.c, l4v's Endpoint.lhs): sendIPC, receiveIPC, cancelIPC,
// cancelAllIPC, cancelBadgedSends, and the queues, ordered by priority (tcbAppend). An endpoint is
// Idle with an empty queue, Send with senders queued, Recv with receivers queued.
import { hex, seL4_CanGrant, seL4_CanGrantReply, seL4_CanWrite, type BlockingView, type CapOf, type SyscallError, type ThreadState, type Word } from '../libsel4/index.ts';
import { cancelSignal, completeSignal, maybeReturnSchedContext, notification } from './notification.ts';
import { replyAt, replyPush, replyRemoveTCB, replyUnlink } from './reply.ts';
import { schedContextDonate, unblockIfSporadic } from './schedcontext.ts';
import { possibleSwitchTo, rescheduleRequired } from './scheduler.ts';
import { getObject, getTCB, type EndpointObject, type ExecState, type Step, type TCBObject } from './state.ts';
import { doNBRecvFailedTransfer, isBlocked, restartThreadIfNoFault, setThreadState } from './tcb.ts';
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
 * sendIPC: with a receiver waiting, the head receiver gets the message and runs; a Call (or a
 * faulted thread's send, its fault message) then
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
  if (p.call || k.tcb(thread).fault !== null) {
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
 * lent notification SC on a blocking receive) the head sender's message is taken: a Call or a
 * faulted sender blocks on the reply object (donating its SC unless a timeout fault) or ends Inactive, a plain sender runs on. With no sender, a
 * blocking receive waits in the queue with its reply object; a non-blocking one gets badge 0.
 */
export function receiveIPC(k: Step, thread: number, cap: CapOf<'endpoint'>, isBlocking: boolean, reply: number | null): void {
  const epAddr = cap.ptr;
  if (reply !== null) {
    const holder = replyAt(k, reply).tcb;
    if (holder !== null && holder !== thread) cancelIPC(k, holder);
  }
  const ntfnAddr = k.tcb(thread).boundNotification;
  if (ntfnAddr !== null && notification(k, ntfnAddr).state === 'Active') return completeSignal(k, ntfnAddr, thread);
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
  const fault = k.tcb(sender).fault;
  if (sent.isCall || fault !== null) {
    const donate = k.tcb(sender).schedContext !== null && fault?.type !== 'Timeout';
    if ((sent.canGrant || sent.canGrantReply) && reply !== null) replyPush(k, sender, thread, reply, donate);
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
 * A pending fault is cleared in every case.
 */
export function cancelIPC(k: Step, tcbAddr: number): void {
  if (k.tcb(tcbAddr).fault !== null) k.setObject({ ...k.tcb(tcbAddr), fault: null });
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
    restartThreadIfNoFault(k, t);
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
    restartThreadIfNoFault(k, t);
  }
  rescheduleRequired(k);
}

// ---------------------------------------------------------------- invariants

/** What a blocked thread's state says it waits on must agree with that object's queue or reply; a pending fault means a fault send, a reply awaited, or Inactive. */
function blockedThreadViolation(state: ExecState, tcb: TCBObject): string | null {
  const b = tcb.blocking;
  const faultStates: readonly string[] = ['BlockedOnSend', 'BlockedOnReply', 'Inactive'];
  if (tcb.fault !== null && (!faultStates.includes(tcb.state) || b?.isCall === true)) return `thread ${hex(tcb.addr)} in state ${tcb.state} has a pending fault`;
  if ((b !== null) !== isBlocked(tcb)) return `thread ${hex(tcb.addr)} in state ${tcb.state} has ${b === null ? 'no' : ''} blocking fields`;
  if (b === null) return null;
  const object = b.object === null ? null : getObject(state, b.object);
  if (tcb.state === 'BlockedOnSend' || tcb.state === 'BlockedOnReceive') {
    const wanted = tcb.state === 'BlockedOnSend' ? 'Send' : 'Recv';
    if (object?.type !== 'endpoint' || object.state !== wanted || !object.queue.includes(tcb.addr)) return `thread ${hex(tcb.addr)} ${tcb.state} is not in its endpoint's ${wanted} queue`;
  } else if (tcb.state === 'BlockedOnNotification') {
    if (object?.type !== 'notification' || !object.queue.includes(tcb.addr)) return `thread ${hex(tcb.addr)} is not in its notification's queue`;
  }
  if (b.reply !== null) {
    const reply = getObject(state, b.reply);
    if (reply?.type !== 'reply' || reply.tcb !== tcb.addr) return `thread ${hex(tcb.addr)}'s reply object does not name it`;
  } else if (tcb.state === 'BlockedOnReply') return `thread ${hex(tcb.addr)} is blocked on no reply`;
  return null;
}

/** A queue's threads: distinct, blocked on this object in the state the queue's state says, in priority order. */
function queueViolation(state: ExecState, addr: number, queue: readonly number[], threadState: ThreadState): string | null {
  if (new Set(queue).size !== queue.length) return `queue of ${hex(addr)} holds a thread twice`;
  for (const [i, t] of queue.entries()) {
    const tcb = getTCB(state, t);
    if (tcb === null || tcb.state !== threadState || tcb.blocking?.object !== addr) return `thread ${hex(t)} in the queue of ${hex(addr)} is not ${threadState} on it`;
    if (i > 0 && getTCB(state, queue[i - 1]!)!.priority < tcb.priority) return `queue of ${hex(addr)} out of priority order at ${i}`;
  }
  return null;
}

/** A call stack: replies distinct, each in no other stack, the head (only) naming the SC, each holding a caller blocked on it. */
function callStackViolation(state: ExecState, sc: number, replies: readonly number[], stacked: Set<number>): string | null {
  for (const [i, r] of replies.entries()) {
    const reply = getObject(state, r);
    if (reply?.type !== 'reply' || stacked.has(r)) return `SC ${hex(sc)}'s call stack holds ${hex(r)} twice or a non-reply`;
    stacked.add(r);
    if (reply.schedContext !== (i === 0 ? sc : null)) return `reply ${hex(r)}'s reply_sc disagrees with SC ${hex(sc)}'s call stack`;
    const caller = reply.tcb === null ? null : getTCB(state, reply.tcb);
    if (caller?.state !== 'BlockedOnReply') return `reply ${hex(r)} in a call stack holds no caller blocked on it`;
  }
  return null;
}

/**
 * What IPC guarantees between kernel entries, or null: endpoint and notification queues agree
 * with their state and with the blocked threads' states (valid_queues, sym_refs), reply objects
 * and their threads name each other, and call stacks are well formed (valid_replies).
 */
export function ipcInvariantViolation(state: ExecState): string | null {
  const stacked = new Set<number>();
  for (const obj of state.objects.values()) {
    let violation: string | null = null;
    if (obj.type === 'tcb') violation = blockedThreadViolation(state, obj);
    else if (obj.type === 'endpoint') {
      if ((obj.state === 'Idle') !== (obj.queue.length === 0)) violation = `endpoint ${hex(obj.addr)} is ${obj.state} with ${obj.queue.length} queued`;
      else if (obj.state !== 'Idle') violation = queueViolation(state, obj.addr, obj.queue, obj.state === 'Send' ? 'BlockedOnSend' : 'BlockedOnReceive');
    } else if (obj.type === 'notification') {
      if ((obj.state === 'Waiting') !== (obj.queue.length > 0)) violation = `notification ${hex(obj.addr)} is ${obj.state} with ${obj.queue.length} waiting`;
      else if (obj.state !== 'Active' && obj.word !== 0) violation = `notification ${hex(obj.addr)} is ${obj.state} with word ${hex(obj.word)}`;
      else violation = queueViolation(state, obj.addr, obj.queue, 'BlockedOnNotification');
    } else if (obj.type === 'reply' && obj.tcb !== null) {
      if (getTCB(state, obj.tcb)?.blocking?.reply !== obj.addr) violation = `reply ${hex(obj.addr)}'s thread is not blocked with it`;
    } else if (obj.type === 'schedcontext') violation = callStackViolation(state, obj.addr, obj.replies, stacked);
    if (violation !== null) return violation;
  }
  for (const obj of state.objects.values()) {
    if (obj.type === 'reply' && obj.schedContext !== null && !stacked.has(obj.addr)) return `reply ${hex(obj.addr)} names SC ${hex(obj.schedContext)} without heading its call stack`;
  }
  return null;
}
