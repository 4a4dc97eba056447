// Endpoints, as seL4's endpoint.c (MCS): sendIPC, receiveIPC, cancelIPC, cancelAllIPC and
// cancelBadgedSends. Threads wait in priority order (tcbAppend), linked through their
// tcbSchedNext / tcbSchedPrev words.
//
// Memory layout of an endpoint (16 bytes, 16-byte aligned):
//   0x00  queue head: link to a TCB (address | 1), 0 if empty
//   0x04  queue tail: link to a TCB, 0 if empty
//   0x08  state: 0 Idle, 1 Send, 2 Recv
//   0x0C  0
// A new endpoint (all zero) is idle.
import { endpointStates, type EndpointState } from '../libsel4/index.ts';
import { FaultType, faultType } from './fault.ts';
import { cancelSignal, completeSignal, maybeReturnSchedContext, ntfnIsActive } from './notification.ts';
import { replyPush, replyRemoveTcb, replyTcbOf, replyUnlink, setReplyTcbOf } from './reply.ts';
import { refillUnblockCheck, schedContextDonate, scSporadic } from './schedcontext.ts';
import { possibleSwitchTo, rescheduleRequired } from './scheduler.ts';
import { NONE, fail, readWord, writeObjectWord, type ImplState } from './state.ts';
import {
  ThreadStateNum,
  clearTcbFault,
  setBlockedOnReceive,
  setBlockedOnSend,
  setThreadState,
  tcbBlockingObject,
  tcbBoundNotification,
  tcbFaultWords,
  tcbHasFault,
  tcbQueueAppend,
  tcbQueueHead,
  tcbQueueMembers,
  tcbQueueRemove,
  tcbReplyObject,
  tcbSchedContext,
  tcbSchedNext,
  tcbSendDetails,
  threadState,
  type SendDetails,
} from './tcb.ts';
import { doIPCTransfer, doNBRecvFailedTransfer } from './transfer.ts';

const QUEUE_HEAD = 0x00;
const STATE = 0x08;

export const EPState = { Idle: 0, Send: 1, Recv: 2 } as const;

export interface EndpointRecord {
  readonly state: EndpointState;
  readonly queue: readonly number[];
}

export function epState(state: ImplState, ep: number): number {
  return readWord(state, ep + STATE);
}

/** The thread at the head of the endpoint's queue, or NONE. */
export function epQueueHead(state: ImplState, ep: number): number {
  return tcbQueueHead(state, ep, QUEUE_HEAD);
}

export function decodeEndpoint(state: ImplState, ep: number): EndpointRecord {
  const queue = tcbQueueMembers(state, ep, QUEUE_HEAD);
  const epSt = epState(state, ep);
  if (state.debug && (epSt === EPState.Idle) !== (queue.length === 0)) fail(`endpoint ${ep.toString(16)}: state ${epSt} with ${queue.length} queued`);
  return { state: endpointStates[epSt] ?? fail(`endpoint ${ep.toString(16)} has an invalid state`), queue };
}

/** tcbEPAppend: the thread joins the queue in priority order and the endpoint takes `epSt`. */
export function tcbEPAppend(state: ImplState, tcb: number, ep: number, epSt: number): void {
  tcbQueueAppend(state, ep, QUEUE_HEAD, tcb);
  writeObjectWord(state, ep, STATE, epSt);
}

/** tcbEPDequeue: the thread leaves the queue; an emptied endpoint goes Idle. */
export function tcbEPDequeue(state: ImplState, tcb: number, ep: number): void {
  if (tcbQueueRemove(state, ep, QUEUE_HEAD, tcb)) writeObjectWord(state, ep, STATE, EPState.Idle);
}

/** reorderEP: a queued thread whose priority changed moves to its new place. */
export function reorderEndpoint(state: ImplState, ep: number, tcb: number): void {
  tcbQueueRemove(state, ep, QUEUE_HEAD, tcb);
  tcbQueueAppend(state, ep, QUEUE_HEAD, tcb);
}

/** A sporadic SC that is not the current one is released if it may be (refill_unblock_check). */
export function unblockSporadic(state: ImplState, sc: number): void {
  if (scSporadic(state, sc) && sc !== state.curSC) refillUnblockCheck(state, sc);
}

/** What a send carries besides the sender: the invoked cap's badge and rights, and how it was made. */
export interface SendArgs extends SendDetails {
  readonly blocking: boolean;
  readonly canDonate: boolean;
}

/** sendIPC (MCS). */
export function sendIPC(state: ImplState, thread: number, ep: number, args: SendArgs): void {
  if (epState(state, ep) !== EPState.Recv) {
    if (!args.blocking) return;
    setBlockedOnSend(state, thread, ep, args);
    tcbEPAppend(state, thread, ep, EPState.Send);
    return;
  }
  const dest = tcbQueueHead(state, ep, QUEUE_HEAD);
  tcbEPDequeue(state, dest, ep);
  doIPCTransfer(state, thread, ep, args.badge, args.canGrant, dest);
  const reply = tcbReplyObject(state, dest);
  if (reply !== NONE) replyUnlink(state, reply, dest);
  if (args.isCall || tcbHasFault(state, thread)) {
    if (reply !== NONE && (args.canGrant || args.canGrantReply)) replyPush(state, thread, dest, reply, args.canDonate);
    else setThreadState(state, thread, ThreadStateNum.Inactive);
  } else if (args.canDonate && tcbSchedContext(state, dest) === NONE) {
    schedContextDonate(state, tcbSchedContext(state, thread), dest);
  }
  setThreadState(state, dest, ThreadStateNum.Running);
  unblockSporadic(state, tcbSchedContext(state, dest));
  possibleSwitchTo(state, dest);
}

/**
 * receiveIPC (MCS): `reply` is the reply object named by the reply cap, or NONE. A reply
 * object still linked to another thread cancels that thread's IPC first.
 */
export function receiveIPC(state: ImplState, thread: number, ep: number, blocking: boolean, reply: number): void {
  if (reply !== NONE) {
    const replyTcb = replyTcbOf(state, reply);
    if (replyTcb !== NONE && replyTcb !== thread) cancelIPC(state, replyTcb);
  }
  const ntfn = tcbBoundNotification(state, thread);
  if (ntfn !== NONE && ntfnIsActive(state, ntfn)) {
    completeSignal(state, ntfn, thread);
    return;
  }
  if (ntfn !== NONE && blocking) maybeReturnSchedContext(state, ntfn, thread);
  if (epState(state, ep) !== EPState.Send) {
    if (!blocking) {
      doNBRecvFailedTransfer(state, thread);
      return;
    }
    setBlockedOnReceive(state, thread, ep, reply);
    if (reply !== NONE) setReplyTcbOf(state, reply, thread);
    tcbEPAppend(state, thread, ep, EPState.Recv);
    return;
  }
  const sender = tcbQueueHead(state, ep, QUEUE_HEAD);
  tcbEPDequeue(state, sender, ep);
  const details = tcbSendDetails(state, sender);
  doIPCTransfer(state, sender, ep, details.badge, details.canGrant, thread);
  const senderSc = tcbSchedContext(state, sender);
  unblockSporadic(state, senderSc);
  if (details.isCall || tcbHasFault(state, sender)) {
    const canDonate = senderSc !== NONE && faultType(tcbFaultWords(state, sender)[0]) !== FaultType.Timeout;
    if ((details.canGrant || details.canGrantReply) && reply !== NONE) replyPush(state, sender, thread, reply, canDonate);
    else setThreadState(state, sender, ThreadStateNum.Inactive);
  } else {
    setThreadState(state, sender, ThreadStateNum.Running);
    possibleSwitchTo(state, sender);
  }
}

/** cancelIPC: the thread's fault is cleared; a blocked thread leaves what it waits on and becomes Inactive. */
export function cancelIPC(state: ImplState, tcb: number): void {
  clearTcbFault(state, tcb);
  const ts = threadState(state, tcb);
  switch (ts) {
    case ThreadStateNum.BlockedOnSend:
    case ThreadStateNum.BlockedOnReceive: {
      const ep = tcbBlockingObject(state, tcb);
      if (state.debug && epState(state, ep) === EPState.Idle) fail(`cancelIPC: endpoint ${ep.toString(16)} is idle`);
      tcbEPDequeue(state, tcb, ep);
      if (ts === ThreadStateNum.BlockedOnReceive) {
        const reply = tcbReplyObject(state, tcb);
        if (reply !== NONE) replyUnlink(state, reply, tcb);
      }
      setThreadState(state, tcb, ThreadStateNum.Inactive);
      return;
    }
    case ThreadStateNum.BlockedOnNotification:
      cancelSignal(state, tcb, tcbBlockingObject(state, tcb));
      return;
    case ThreadStateNum.BlockedOnReply:
      replyRemoveTcb(state, tcb);
      return;
  }
}

/** restart_thread_if_no_fault: a thread with a pending fault becomes Inactive (the fault stays), others restart. */
export function restartThread(state: ImplState, tcb: number): void {
  if (tcbHasFault(state, tcb)) {
    setThreadState(state, tcb, ThreadStateNum.Inactive);
    return;
  }
  setThreadState(state, tcb, ThreadStateNum.Restart);
  unblockSporadic(state, tcbSchedContext(state, tcb));
  possibleSwitchTo(state, tcb);
}

/** removeAndRestartEPQueuedThread. */
function removeAndRestart(state: ImplState, tcb: number, ep: number): void {
  tcbEPDequeue(state, tcb, ep);
  if (threadState(state, tcb) === ThreadStateNum.BlockedOnReceive) {
    const reply = tcbReplyObject(state, tcb);
    if (reply !== NONE) replyUnlink(state, reply, tcb);
  }
  restartThread(state, tcb);
}

/** cancelAllIPC: every queued thread, head to tail, restarts; then a reschedule. */
export function cancelAllIPC(state: ImplState, ep: number): void {
  if (epState(state, ep) === EPState.Idle) return;
  for (let tcb = tcbQueueHead(state, ep, QUEUE_HEAD); tcb !== NONE;) {
    const next = tcbSchedNext(state, tcb);
    removeAndRestart(state, tcb, ep);
    tcb = next;
  }
  rescheduleRequired(state);
}

/** cancelBadgedSends: in state Send, every queued sender with badge `badge` restarts; then a reschedule. */
export function cancelBadgedSends(state: ImplState, ep: number, badge: number): void {
  if (epState(state, ep) !== EPState.Send) return;
  for (let tcb = tcbQueueHead(state, ep, QUEUE_HEAD); tcb !== NONE;) {
    const next = tcbSchedNext(state, tcb);
    if (state.debug && threadState(state, tcb) !== ThreadStateNum.BlockedOnSend) fail(`a receiver ${tcb.toString(16)} in a Send queue`);
    if (tcbSendDetails(state, tcb).badge === badge) {
      tcbEPDequeue(state, tcb, ep);
      restartThread(state, tcb);
    }
    tcb = next;
  }
  rescheduleRequired(state);
}
