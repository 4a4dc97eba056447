// Reply objects (MCS), as seL4's reply.c and include/object/reply.h: the link between a
// caller and the reply object it waits on, the call stack of replies a scheduling context
// was donated through (reply_push, reply_pop, reply_remove, reply_remove_tcb), and
// doReplyTransfer from thread.c.
//
// Memory layout of a reply object (16 bytes, 16-byte aligned):
//   0x00  replyTCB: link (address | 1) to the caller waiting on it or the receiver holding it, 0 if none
//   0x04  replyPrev (call_stack): link to the reply object below it on the stack, 0 if none
//   0x08  replyNext (call_stack): link to the reply above it, or to the SC when bit 1 (isHead) is set; 0 if none
//   0x0C  0
// A new reply object (all zero) belongs to no thread and no call stack.
import { cancelIPC, unblockSporadic } from './endpoint.ts';
import {
  refillReady,
  refillSufficient,
  schedContextDonate,
  scBadge,
  scReply,
  setScReply,
} from './schedcontext.ts';
import { isRunnable, possibleSwitchTo, postpone } from './scheduler.ts';
import { NONE, fail, linkTarget, linkWord, markObject, readWord, writeObjectWord, type ImplState } from './state.ts';
import { FaultType, faultType, handleFaultReply, handleTimeout, timeoutFault } from './fault.ts';
import { ThreadStateNum, clearTcbFault, setBlockedOnReply, setThreadState, tcbFaultWords, tcbReplyObject, tcbSchedContext, threadState, validTimeoutHandler } from './tcb.ts';
import { doIPCTransfer } from './transfer.ts';

const TCB = 0x00;
const PREV = 0x04;
const NEXT = 0x08;
const IS_HEAD = 2;

/** Word indices of the fields the fastpath writes through a reply object's page of RAM. */
export const ReplyWord = { tcb: TCB >>> 2, prev: PREV >>> 2, next: NEXT >>> 2 } as const;

export interface ReplyRecord {
  readonly tcb: number | null;
  readonly schedContext: number | null;
}

export function replyTcbOf(state: ImplState, reply: number): number {
  return linkTarget(readWord(state, reply + TCB));
}

export function setReplyTcbOf(state: ImplState, reply: number, tcb: number): void {
  writeObjectWord(state, reply, TCB, linkWord(tcb));
}

export function replyPrev(state: ImplState, reply: number): number {
  return linkTarget(readWord(state, reply + PREV));
}

function replyNext(state: ImplState, reply: number): number {
  return linkTarget(readWord(state, reply + NEXT));
}

function nextIsHead(state: ImplState, reply: number): boolean {
  return (readWord(state, reply + NEXT) & IS_HEAD) !== 0;
}

export function setReplyPrev(state: ImplState, reply: number, prev: number): void {
  writeObjectWord(state, reply, PREV, linkWord(prev));
}

export function setReplyNext(state: ImplState, reply: number, next: number, isHead: boolean): void {
  writeObjectWord(state, reply, NEXT, replyNextWord(next, isHead));
}

/** The replyNext word: a link to the reply above, or to the SC (`isHead`); 0 for none. */
export function replyNextWord(next: number, isHead: boolean): number {
  return next === NONE ? 0 : linkWord(next) | (isHead ? IS_HEAD : 0);
}

/** The SC whose call stack this reply heads (l4v's reply_sc), or NONE. */
export function replySchedContext(state: ImplState, reply: number): number {
  return nextIsHead(state, reply) ? replyNext(state, reply) : NONE;
}

/** Clears the head reply's link to its SC (schedContext_unbindReply's half on the reply). */
export function clearReplyHead(state: ImplState, reply: number): void {
  if (state.debug && !nextIsHead(state, reply)) fail(`reply ${reply.toString(16)} heads no call stack`);
  setReplyNext(state, reply, NONE, false);
}

/** sc_replies: the call stack from the SC's head reply down through replyPrev. */
export function callStackOf(state: ImplState, headReply: number): number[] {
  const replies: number[] = [];
  for (let r = headReply; r !== NONE; r = replyPrev(state, r)) {
    if (state.debug && replies.length > 1 << 20) fail('a cyclic call stack');
    replies.push(r);
  }
  return replies;
}

export function decodeReply(state: ImplState, reply: number): ReplyRecord {
  const tcb = replyTcbOf(state, reply);
  const sc = replySchedContext(state, reply);
  return { tcb: tcb === NONE ? null : tcb, schedContext: sc === NONE ? null : sc };
}

/** reply_unlink: the reply and its thread part; the thread becomes Inactive. */
export function replyUnlink(state: ImplState, reply: number, tcb: number): void {
  if (state.debug) {
    const ts = threadState(state, tcb);
    if (ts !== ThreadStateNum.BlockedOnReceive && ts !== ThreadStateNum.BlockedOnReply) fail(`reply_unlink of thread ${tcb.toString(16)} in state ${ts}`);
    if (replyTcbOf(state, reply) !== tcb || tcbReplyObject(state, tcb) !== reply) fail(`reply ${reply.toString(16)} and thread ${tcb.toString(16)} are not linked`);
  }
  setReplyTcbOf(state, reply, NONE);
  setThreadState(state, tcb, ThreadStateNum.Inactive);
}

/**
 * reply_push: the caller waits on the reply; with `canDonate`, a caller SC and a callee
 * without one, the reply goes on top of the SC's call stack and the SC moves to the callee.
 */
export function replyPush(state: ImplState, caller: number, callee: number, reply: number, canDonate: boolean): void {
  if (state.debug && (replyTcbOf(state, reply) !== NONE || replyPrev(state, reply) !== NONE || replyNext(state, reply) !== NONE)) {
    fail(`reply_push of reply ${reply.toString(16)} still in use`);
  }
  const sc = tcbSchedContext(state, caller);
  setReplyTcbOf(state, reply, caller);
  setBlockedOnReply(state, caller, reply);
  if (sc === NONE || tcbSchedContext(state, callee) !== NONE || !canDonate) return;
  const oldCaller = scReply(state, sc);
  if (state.debug && oldCaller !== NONE && replySchedContext(state, oldCaller) !== sc) fail(`the call stack of SC ${sc.toString(16)} is broken`);
  if (oldCaller !== NONE) setReplyNext(state, oldCaller, reply, false);
  setReplyPrev(state, reply, oldCaller);
  setScReply(state, sc, reply);
  setReplyNext(state, reply, sc, true);
  schedContextDonate(state, sc, callee);
}

/** reply_pop: the head reply leaves the stack; its SC goes back to the caller if the caller has none. */
function replyPop(state: ImplState, reply: number, tcb: number): void {
  const sc = replyNext(state, reply);
  const prev = replyPrev(state, reply);
  setScReply(state, sc, prev);
  if (prev !== NONE) setReplyNext(state, prev, sc, true);
  setReplyNext(state, reply, NONE, false);
  if (tcbSchedContext(state, tcb) === NONE) schedContextDonate(state, sc, tcb);
  setReplyPrev(state, reply, NONE);
  replyUnlink(state, reply, tcb);
}

/**
 * Records the SC whose call stack holds `reply` as touched: cutting the stack below its head
 * changes the SC's view (sc_replies) without writing the SC. Instrumentation only.
 */
function markStackOwner(state: ImplState, reply: number): void {
  if (!state.recordTouched) return;
  let r = reply;
  while (replyNext(state, r) !== NONE && !nextIsHead(state, r)) r = replyNext(state, r);
  if (nextIsHead(state, r)) markObject(state, replyNext(state, r));
}

/** reply_remove: the head of a stack is popped; a reply in the middle cuts the chain (as reply_remove_tcb does). */
export function replyRemove(state: ImplState, reply: number, tcb: number): void {
  if (state.debug && (threadState(state, tcb) !== ThreadStateNum.BlockedOnReply || tcbReplyObject(state, tcb) !== reply)) fail(`reply_remove: ${tcb.toString(16)} does not wait on ${reply.toString(16)}`);
  if (replyNext(state, reply) !== NONE && nextIsHead(state, reply)) replyPop(state, reply, tcb);
  else replyRemoveTcb(state, tcb);
}

/** reply_remove_tcb: a caller BlockedOnReply is cancelled; no SC moves (a head's SC forgets its stack). */
export function replyRemoveTcb(state: ImplState, tcb: number): void {
  const reply = tcbReplyObject(state, tcb);
  const next = replyNext(state, reply);
  const prev = replyPrev(state, reply);
  markStackOwner(state, reply);
  if (next !== NONE) {
    if (nextIsHead(state, reply)) setScReply(state, next, NONE);
    else setReplyPrev(state, next, NONE);
  }
  if (prev !== NONE) setReplyNext(state, prev, NONE, false);
  setReplyPrev(state, reply, NONE);
  setReplyNext(state, reply, NONE, false);
  replyUnlink(state, reply, tcb);
}

/** Finalising a reply object (its last cap deleted): a caller is replied to by nobody (reply_remove), a receiver cancelled. */
export function finaliseReply(state: ImplState, reply: number): void {
  const tcb = replyTcbOf(state, reply);
  if (tcb === NONE) return;
  const ts = threadState(state, tcb);
  if (ts === ThreadStateNum.BlockedOnReply) replyRemove(state, reply, tcb);
  else if (ts === ThreadStateNum.BlockedOnReceive) cancelIPC(state, tcb);
  else fail(`reply ${reply.toString(16)} held by thread ${tcb.toString(16)} in state ${ts}`);
}

/**
 * doReplyTransfer (MCS): a reply to a caller BlockedOnReply on `reply` takes the replier's
 * message and wakes it, or, to a faulted caller, sets its registers (handleFaultReply),
 * clears its fault and restarts it or leaves it Inactive; its SC, if it has one, runs it now,
 * or raises a timeout fault (not after a timeout fault's reply), or waits in the release queue. A reply object with no such caller does nothing.
 */
export function doReplyTransfer(state: ImplState, sender: number, reply: number, grant: boolean): void {
  const receiver = replyTcbOf(state, reply);
  if (receiver === NONE || threadState(state, receiver) !== ThreadStateNum.BlockedOnReply) return;
  replyRemove(state, reply, receiver);
  const sc = tcbSchedContext(state, receiver);
  unblockSporadic(state, sc);
  const faultTypeReplied = faultType(tcbFaultWords(state, receiver)[0]);
  if (faultTypeReplied !== FaultType.Null) {
    const restart = handleFaultReply(state, receiver, sender);
    clearTcbFault(state, receiver);
    setThreadState(state, receiver, restart ? ThreadStateNum.Restart : ThreadStateNum.Inactive);
  } else {
    doIPCTransfer(state, sender, NONE, 0, grant, receiver);
    setThreadState(state, receiver, ThreadStateNum.Running);
  }
  if (sc === NONE || !isRunnable(state, receiver)) return;
  if (refillReady(state, sc) && refillSufficient(state, sc, 0n)) possibleSwitchTo(state, receiver);
  else if (validTimeoutHandler(state, receiver) && faultTypeReplied !== FaultType.Timeout) handleTimeout(state, receiver, timeoutFault(scBadge(state, sc)));
  else postpone(state, sc);
}
