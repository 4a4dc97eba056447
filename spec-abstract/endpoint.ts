// Endpoints (l4v Ipc_A send_ipc, receive_ipc; IpcCancel_A tcb_ep_append, tcb_ep_dequeue,
// reorder_ep, cancel_ipc, cancel_all_ipc, cancel_badged_sends; seL4's endpoint.c). An endpoint
// is Idle, or holds a queue of senders (Send) or of receivers (Recv), in priority order.
import { badgeRegister, type BlockingView, type Word } from '../libsel4/index.ts';
import { cancelSignal, completeSignal, notificationAt } from './notification.ts';
import { replyAt, replyPush, replyRemoveTCB, replyUnlinkTCB } from './reply.ts';
import { ifSporadicUnblockCheck, maybeReturnSC, schedContextDonate } from './schedcontext.ts';
import { blockedOn, isBlocked, possibleSwitchTo, rescheduleRequired, setThreadState } from './scheduler.ts';
import { objectAt, tcbAt, updateObject, type EndpointObject, type Kernel, type Readable } from './state.ts';
import { setRegister } from './tcb.ts';
import { doIPCTransfer } from './transfer.ts';

/** The endpoint at `addr`; it must exist. */
export function endpointAt(s: Readable, addr: number): EndpointObject {
  const o = objectAt(s, addr);
  if (o?.type !== 'endpoint') throw new Error(`abstract spec invariant: no endpoint at ${addr}`);
  return o;
}

/** The blocking data of a thread blocked on an endpoint or notification; it must be blocked. */
function blockingOf(s: Readable, tcb: number): BlockingView {
  const blocking = tcbAt(s, tcb)?.blocking ?? null;
  if (blocking === null) throw new Error(`abstract spec invariant: thread ${tcb} is not blocked`);
  return blocking;
}

/**
 * tcb_append: `tcb` inserted after every thread of its priority or higher, before the first of
 * lower priority (FIFO within a priority).
 */
export function tcbAppend(s: Readable, tcb: number, queue: readonly number[]): number[] {
  const priority = tcbAt(s, tcb)!.priority;
  const index = queue.findIndex((t) => tcbAt(s, t)!.priority < priority);
  return index < 0 ? [...queue, tcb] : [...queue.slice(0, index), tcb, ...queue.slice(index)];
}

/** The endpoint's queue becomes `queue`: Idle when empty, else Recv or Send (kept if already so). */
function setQueue(k: Kernel, ep: number, queue: readonly number[], isRecv: boolean): void {
  const current = endpointAt(k, ep).state;
  const state = queue.length === 0 ? 'Idle' : current !== 'Idle' ? current : isRecv ? 'Recv' : 'Send';
  updateObject(k, ep, 'endpoint', { state, queue });
}

/** tcb_ep_append: the thread joins the endpoint's queue in priority order. */
function tcbEPAppend(k: Kernel, tcb: number, ep: number, isRecv: boolean): void {
  setQueue(k, ep, tcbAppend(k, tcb, endpointAt(k, ep).queue), isRecv);
}

/** tcb_ep_dequeue: the thread leaves the endpoint's queue (Idle when it empties). */
function tcbEPDequeue(k: Kernel, tcb: number, ep: number): void {
  const queue = endpointAt(k, ep).queue;
  if (!queue.includes(tcb)) throw new Error(`abstract spec invariant: thread ${tcb} is not queued on endpoint ${ep}`);
  setQueue(k, ep, queue.filter((t) => t !== tcb), false);
}

/** reorder_ep: a blocked thread whose priority changed takes its place in the queue again. */
export function reorderEP(k: Kernel, ep: number, tcb: number): void {
  const others = endpointAt(k, ep).queue.filter((t) => t !== tcb);
  updateObject(k, ep, 'endpoint', { queue: tcbAppend(k, tcb, others) });
}

/** What a send through an endpoint cap may do. */
export interface SendOptions {
  /** Block when no receiver waits (Send, Call); otherwise give up silently. */
  readonly block: boolean;
  readonly call: boolean;
  readonly badge: Word;
  readonly canGrant: boolean;
  readonly canGrantReply: boolean;
  /** The sender's SC may go to a receiver without one (Call, and the first phases). */
  readonly canDonate: boolean;
}

/**
 * send_ipc: with a receiver waiting, the head receiver takes the message and runs. A Call (or a
 * thread sending its fault) then
 * waits on the receiver's reply object (reply_push, donating its SC to a receiver without one),
 * or, without a reply object or without Grant and GrantReply, becomes Inactive; a plain send
 * that may donate gives its SC to a receiver without one. With no receiver, a blocking send
 * queues the sender (BlockedOnSend) and a non-blocking one does nothing.
 */
export function sendIPC(k: Kernel, thread: number, ep: number, send: SendOptions): void {
  const endpoint = endpointAt(k, ep);
  if (endpoint.state !== 'Recv') {
    if (!send.block) return;
    const { badge, canGrant, canGrantReply, call: isCall } = send;
    setThreadState(k, thread, 'BlockedOnSend', blockedOn(ep, { badge, canGrant, canGrantReply, isCall }));
    tcbEPAppend(k, thread, ep, false);
    return;
  }
  const dest = endpoint.queue[0]!;
  tcbEPDequeue(k, dest, ep);
  const reply = blockingOf(k, dest).reply;
  doIPCTransfer(k, thread, ep, send.badge, send.canGrant, dest);
  if (reply !== null) replyUnlinkTCB(k, dest, reply);
  if (send.call || tcbAt(k, thread)!.fault !== null) {
    if ((send.canGrant || send.canGrantReply) && reply !== null) replyPush(k, thread, dest, reply, send.canDonate);
    else setThreadState(k, thread, 'Inactive');
  } else if (send.canDonate && tcbAt(k, dest)!.schedContext === null) {
    const sc = tcbAt(k, thread)!.schedContext;
    if (sc === null) throw new Error(`abstract spec invariant: the sender ${thread} runs without an SC`);
    schedContextDonate(k, sc, dest);
  }
  setThreadState(k, dest, 'Running');
  ifSporadicUnblockCheck(k, tcbAt(k, dest)!.schedContext);
  possibleSwitchTo(k, dest);
}

/**
 * receive_ipc: a reply object held by another thread is taken from it first (that thread's IPC
 * is cancelled). A pending signal on the bound notification is taken instead of a message.
 * Otherwise a thread running on its bound notification's SC gives it back (blocking only), and
 * the head sender's message is taken: a Call's (or a faulted) sender then waits on the reply object, donating
 * its SC to a receiver without one (without a reply object, or without Grant and GrantReply, it
 * becomes Inactive), a plain sender runs on. With no sender,
 * a blocking receive queues the thread (BlockedOnReceive with its reply object) and a
 * non-blocking one only sets a0 to 0.
 */
export function receiveIPC(k: Kernel, thread: number, ep: number, isBlocking: boolean, reply: number | null): void {
  const holder = reply === null ? null : replyAt(k, reply).tcb;
  if (holder !== null && holder !== thread) cancelIPC(k, holder);
  const ntfn = tcbAt(k, thread)!.boundNotification;
  if (ntfn !== null && notificationAt(k, ntfn).state === 'Active') {
    completeSignal(k, ntfn, thread);
    return;
  }
  if (ntfn !== null && isBlocking) maybeReturnSC(k, ntfn, thread);
  const endpoint = endpointAt(k, ep);
  if (endpoint.state !== 'Send') {
    if (!isBlocking) {
      setRegister(k, thread, badgeRegister, 0);
      return;
    }
    setThreadState(k, thread, 'BlockedOnReceive', blockedOn(ep, { reply }));
    if (reply !== null) updateObject(k, reply, 'reply', { tcb: thread });
    tcbEPAppend(k, thread, ep, true);
    return;
  }
  const sender = endpoint.queue[0]!;
  tcbEPDequeue(k, sender, ep);
  const data = blockingOf(k, sender);
  doIPCTransfer(k, sender, ep, data.badge, data.canGrant, thread);
  const senderSC = tcbAt(k, sender)!.schedContext;
  ifSporadicUnblockCheck(k, senderSC);
  if (data.isCall || tcbAt(k, sender)!.fault !== null) {
    if ((data.canGrant || data.canGrantReply) && reply !== null) replyPush(k, sender, thread, reply, senderSC !== null);
    else setThreadState(k, sender, 'Inactive');
  } else {
    setThreadState(k, sender, 'Running');
    possibleSwitchTo(k, sender);
  }
}

/**
 * cancel_ipc: the thread's pending fault is cleared; a blocked thread stops waiting and becomes
 * Inactive: out of its endpoint's queue (a receiver's reply object let go) or its notification's
 * queue; a caller waiting on a reply leaves the call stack (reply_remove_tcb). Other states are
 * left alone.
 */
export function cancelIPC(k: Kernel, tcb: number): void {
  if (tcbAt(k, tcb)!.fault !== null) updateObject(k, tcb, 'tcb', { fault: null });
  if (!isBlocked(k, tcb)) return;
  const state = tcbAt(k, tcb)!.state;
  const { object, reply } = blockingOf(k, tcb);
  if (state === 'BlockedOnNotification') return cancelSignal(k, tcb, object!);
  if (state === 'BlockedOnReply') return replyRemoveTCB(k, tcb, reply!);
  tcbEPDequeue(k, tcb, object!);
  if (reply !== null) replyUnlinkTCB(k, tcb, reply);
  setThreadState(k, tcb, 'Inactive');
}

/**
 * restart_thread_if_no_fault: a thread with a fault pending becomes Inactive (the fault kept);
 * another will make its syscall again (Restart), a sporadic SC gets its refills checked, and it
 * may become the candidate to run.
 */
export function restartThread(k: Kernel, tcb: number): void {
  if (tcbAt(k, tcb)!.fault !== null) return setThreadState(k, tcb, 'Inactive');
  setThreadState(k, tcb, 'Restart');
  ifSporadicUnblockCheck(k, tcbAt(k, tcb)!.schedContext);
  possibleSwitchTo(k, tcb);
}

/** remove_and_restart_ep_queued_thread: out of the queue (a receiver's reply let go), restarted. */
function removeAndRestart(k: Kernel, tcb: number, ep: number): void {
  tcbEPDequeue(k, tcb, ep);
  const reply = tcbAt(k, tcb)!.state === 'BlockedOnReceive' ? blockingOf(k, tcb).reply : null;
  if (reply !== null) replyUnlinkTCB(k, tcb, reply);
  restartThread(k, tcb);
}

/** cancel_all_ipc (the endpoint is deleted): every queued thread, head first, is restarted. */
export function cancelAllIPC(k: Kernel, ep: number): void {
  const endpoint = endpointAt(k, ep);
  if (endpoint.state === 'Idle') return;
  for (const tcb of endpoint.queue) removeAndRestart(k, tcb, ep);
  rescheduleRequired(k);
}

/** cancel_badged_sends: every queued sender that sent with `badge`, head first, is restarted. */
export function cancelBadgedSends(k: Kernel, ep: number, badge: Word): void {
  const endpoint = endpointAt(k, ep);
  if (endpoint.state !== 'Send') return;
  for (const tcb of endpoint.queue) {
    if (blockingOf(k, tcb).badge === badge) removeAndRestart(k, tcb, ep);
  }
  rescheduleRequired(k);
}
