// The IPC fastpath, as seL4's fastpath.c (MCS, riscv): seL4_Call and seL4_ReplyRecv between two
// threads done directly on the objects when a short list of conditions holds, checked in seL4's
// order; the first that fails is named and the slow path (syscall.ts) does the whole syscall.
// Where the conditions hold the fastpath writes exactly the words the slow path would write
// (the same transfer, donation or return, and the thread that schedule would choose), so the
// two cannot be told apart. seL4's fastpath neither updates the time nor runs the budget check
// or awaken; the model keeps the slow path's time update and adds one condition of its own,
// last: the budget covers the entry (README, "Differences from seL4"). Awaken never has work at
// a syscall entry (the timer fires first), which debug builds assert.
import { Reg, msgRegisters, replyRegister, seL4_CanGrant, seL4_CanGrantReply, seL4_CanRead, seL4_CanWrite } from '../libsel4/index.ts';
import { slotBytes, slotW0, slotW1 } from './cnode.ts';
import { EPState, epQueueHead, epState, tcbEPAppend, tcbEPDequeue } from './endpoint.ts';
import { ntfnIsActive } from './notification.ts';
import { ReplyWord, replyNextWord, replySchedContext, replyTcbOf, setReplyNext } from './reply.ts';
import { ScWord, refillHeadTime, refillSufficient, scTcb } from './schedcontext.ts';
import { checkSchedulerInvariants, isHighestPrio, updateTimestamp } from './scheduler.ts';
import { NONE, SchedulerAction, fail, linkTarget, linkWord, markObject, ramPageAt, ramPageIndex, writePageWord, type ImplState } from './state.ts';
import { CapTag, capRightsBits, capTag, cnodeGuard, cnodeGuardSize, cnodePtr, cnodeRadix, endpointBadge, endpointPtr, mappedFlag } from './structures.ts';
import {
  TcbWord,
  ThreadStateNum,
  registersOffset,
  registersPage,
  tcbBlockingObject,
  tcbHasFault,
  tcbPriority,
  tcbReplyObject,
  tcbSchedContext,
  tcbYieldTo,
  threadState,
} from './tcb.ts';

/** Why seL4_Call's fastpath handed the entry to the slow path, in the order they are checked. */
export const fastpathCallReasons = [
  'caps-or-long-message',
  'caller-fault',
  'no-send-cap',
  'no-receiver',
  'receiver-no-vspace',
  'receiver-priority',
  'no-grant',
  'receiver-has-sc',
  'receiver-no-reply',
  'budget',
] as const;

/** Why seL4_ReplyRecv's fastpath handed the entry to the slow path, in the order they are checked. */
export const fastpathReplyRecvReasons = [
  'caps-or-long-message',
  'caller-fault',
  'no-receive-cap',
  'no-reply-cap',
  'notification-active',
  'sender-waiting',
  'reply-not-head',
  'client-fault',
  'client-no-vspace',
  'client-priority',
  'client-has-sc',
  'budget',
] as const;

/** What the fastpath did with an entry: `taken`, or the reason it fell back. */
export const fastpathOutcomes = ['taken', ...new Set([...fastpathCallReasons, ...fastpathReplyRecvReasons])] as const;
export type FastpathCallReason = (typeof fastpathCallReasons)[number];
export type FastpathReplyRecvReason = (typeof fastpathReplyRecvReasons)[number];
export type FastpathOutcome = 'taken' | FastpathCallReason | FastpathReplyRecvReason;

/** fastpath_mi_check: no extra caps and at most four words (the low 9 bits of the tag at most 4). */
const miCheckMask = 0x1ff;

/**
 * lookup_fp: the slot `cptr` names in the CSpace of the thread whose words (ramPageAt's) are
 * `words` from `at`, or NONE: guards checked on the way, the walk continues through CNode caps
 * until 32 bits are used, and overshooting 32 bits fails (the slow path's lookup reaches the
 * same slot whenever this one succeeds).
 */
function lookupFp(state: ImplState, words: Uint32Array, at: number, cptr: number): number {
  let w0 = words[at + TcbWord.cspaceRootCap]!;
  let w1 = words[at + TcbWord.cspaceRootCap + 1]!;
  if (capTag(w0) !== CapTag.cnode) return NONE;
  let bits = 0;
  let slot = NONE;
  do {
    const guardBits = cnodeGuardSize(w1);
    const radixBits = cnodeRadix(w1);
    if (state.debug && guardBits + radixBits === 0) fail('a CNode cap that resolves no bits'); // no such cap can be made
    const cptr2 = (cptr << bits) >>> 0;
    if (guardBits !== 0 && cptr2 >>> (32 - guardBits) !== cnodeGuard(w1)) return NONE;
    const index = radixBits === 0 ? 0 : ((cptr2 << guardBits) >>> 0) >>> (32 - radixBits);
    slot = cnodePtr(w0) + index * slotBytes;
    w0 = slotW0(state, slot);
    w1 = slotW1(state, slot);
    bits += guardBits + radixBits;
  } while (bits < 32 && capTag(w0) === CapTag.cnode);
  return bits > 32 ? NONE : slot;
}

/** Both fastpaths' first conditions: fastpath_mi_check, then no pending fault of the caller. */
function entryReason(state: ImplState, caller: number, info: number): 'caps-or-long-message' | 'caller-fault' | null {
  if ((info & miCheckMask) > msgRegisters.length) return 'caps-or-long-message';
  return tcbHasFault(state, caller) ? 'caller-fault' : null;
}

/** Whether the cap's words (zero for no slot: a null cap) are an endpoint cap with `right` (Write for Call, Read for ReplyRecv). */
function endpointCapWith(w0: number, w1: number, right: number): boolean {
  return capTag(w0) === CapTag.endpoint && (capRightsBits(w1) & right) !== 0;
}

/** isValidVTableRoot_fp: the thread's VSpace root slot (its words: ramPageAt's, from `at`) holds a mapped page-table cap. */
function validVTableRoot(words: Uint32Array, at: number): boolean {
  const w0 = words[at + TcbWord.vspaceRootCap]!;
  return capTag(w0) === CapTag.pagetable && mappedFlag(w0);
}

/**
 * The model's own condition: the slow path's budget check (after its updateTimestamp) would
 * let the entry run.
 */
function budgetCovers(state: ImplState): boolean {
  const clockTicks = state.clockTicks;
  const consumedTicks = clockTicks === state.curTimeTicks ? state.consumedTicks : state.consumedTicks + (clockTicks - state.curTimeTicks);
  return refillSufficient(state, state.curSC, consumedTicks);
}

/** What every entry the fastpath takes starts from (debug builds): the caller runs on ksCurSC, nothing is pending. */
function checkEntry(state: ImplState, caller: number): void {
  if (state.schedulerAction !== SchedulerAction.resumeCurrentThread) fail('fastpath entered with a scheduler action pending');
  if (state.reprogram) fail('fastpath entered with the timer to reprogram');
  if (threadState(state, caller) !== ThreadStateNum.Running) fail(`fastpath caller ${caller.toString(16)} is not Running`);
  if (state.curSC === NONE || tcbSchedContext(state, caller) !== state.curSC) fail(`fastpath caller ${caller.toString(16)} does not run on ksCurSC`);
  // Why Call's priority condition matches schedule: no ready thread outranks the current one.
  if (!isHighestPrio(state, tcbPriority(state, caller))) fail('a ready thread outranks the current one');
  // Why schedule's awaken has nothing to do: the timer fires before the release queue's head is due.
  const head = state.releaseHead;
  if (head !== NONE && refillHeadTime(state, tcbSchedContext(state, head)) <= state.clockTicks) fail('a syscall entry with a release due');
}

/** fastpath_copy_mrs, and the tag and badge registers (capsUnwrapped cleared; extraCaps is 0). */
function transfer(state: ImplState, sender: number, receiver: number, info: number, badge: number): void {
  const length = info & 0x7f;
  const from = registersPage(state, sender);
  const fromOffset = registersOffset(state, sender);
  const to = registersPage(state, receiver);
  const toOffset = registersOffset(state, receiver);
  for (let i = 0; i < length; i++) to[toOffset + msgRegisters[i]!] = from[fromOffset + msgRegisters[i]!]!;
  to[toOffset + Reg.a1] = info & ~0xe00;
  to[toOffset + Reg.a0] = badge;
  markObject(state, receiver);
}

/** switchToThread_fp: the thread runs next, with no ready-queue operation (schedule would choose it). */
function switchTo(state: ImplState, thread: number): void {
  if (state.debug && tcbYieldTo(state, thread) !== NONE) fail(`fastpath switch to ${thread.toString(16)}, which yields`);
  state.current = thread;
  state.schedulerAction = SchedulerAction.resumeCurrentThread;
  if (state.debug) checkSchedulerInvariants(state);
}

/** fastpath_call: a Call to a passive server waiting with a reply object. */
export function fastpathCall(state: ImplState, caller: number): FastpathOutcome {
  // Each thread's words are fetched once (a TCB lies in one page of RAM; a running or waiting one was written).
  const callerWords = ramPageAt(state, caller);
  const callerAt = ramPageIndex(state, caller);
  const info = callerWords[callerAt + TcbWord.registers + Reg.a1]!;
  const entry = entryReason(state, caller, info);
  if (entry !== null) return entry;
  const capSlot = lookupFp(state, callerWords, callerAt, callerWords[callerAt + TcbWord.registers + Reg.a0]!);
  const capW0 = capSlot === NONE ? 0 : slotW0(state, capSlot);
  const capW1 = capSlot === NONE ? 0 : slotW1(state, capSlot);
  if (!endpointCapWith(capW0, capW1, seL4_CanWrite)) return 'no-send-cap';
  const ep = endpointPtr(capW1);
  if (epState(state, ep) !== EPState.Recv) return 'no-receiver';
  const dest = epQueueHead(state, ep);
  const destWords = ramPageAt(state, dest);
  const destAt = ramPageIndex(state, dest);
  if (!validVTableRoot(destWords, destAt)) return 'receiver-no-vspace';
  const destPrio = destWords[destAt + TcbWord.priority]!;
  if (destPrio < callerWords[callerAt + TcbWord.priority]! && !isHighestPrio(state, destPrio)) return 'receiver-priority';
  if ((capRightsBits(capW1) & (seL4_CanGrant | seL4_CanGrantReply)) === 0) return 'no-grant';
  if (tcbSchedContext(state, dest) !== NONE) return 'receiver-has-sc';
  const reply = linkTarget(destWords[destAt + TcbWord.replyObject]!);
  if (reply === NONE) return 'receiver-no-reply';
  if (!budgetCovers(state)) return 'budget';

  // The point of no return.
  if (state.debug) {
    checkEntry(state, caller);
    if (threadState(state, dest) !== ThreadStateNum.BlockedOnReceive || tcbBlockingObject(state, dest) !== ep) fail(`fastpath receiver ${dest.toString(16)} does not wait on ${ep.toString(16)}`);
    if (replyTcbOf(state, reply) !== dest) fail(`reply ${reply.toString(16)} is not held by its receiver`);
  }
  updateTimestamp(state);
  tcbEPDequeue(state, dest, ep);
  // The reply's and the SC's words, fetched once likewise.
  const replyWords = ramPageAt(state, reply);
  const replyAt = ramPageIndex(state, reply);
  const sc = state.curSC;
  const scWords = ramPageAt(state, sc);
  const scAt = ramPageIndex(state, sc);
  // The receiver lets go of the reply (its word keeps the stale link, as the slow path's reply_unlink leaves it).
  writePageWord(state, reply, replyWords, replyAt + ReplyWord.tcb, linkWord(caller));
  // Thread states are set as seL4's fastpath sets them, without scheduleTCB: switchTo settles the scheduler action.
  writePageWord(state, caller, callerWords, callerAt + TcbWord.replyObject, linkWord(reply));
  writePageWord(state, caller, callerWords, callerAt + TcbWord.state, ThreadStateNum.BlockedOnReply);
  // reply_push with donation: the reply goes on top of the caller's SC's call stack, the SC to the receiver.
  const oldCaller = linkTarget(scWords[scAt + ScWord.reply]!);
  if (oldCaller !== NONE) setReplyNext(state, oldCaller, reply, false);
  writePageWord(state, reply, replyWords, replyAt + ReplyWord.prev, linkWord(oldCaller));
  writePageWord(state, sc, scWords, scAt + ScWord.reply, linkWord(reply));
  writePageWord(state, reply, replyWords, replyAt + ReplyWord.next, replyNextWord(sc, true));
  writePageWord(state, caller, callerWords, callerAt + TcbWord.schedContext, 0);
  writePageWord(state, sc, scWords, scAt + ScWord.tcb, linkWord(dest));
  writePageWord(state, dest, destWords, destAt + TcbWord.schedContext, linkWord(sc));
  transfer(state, caller, dest, info, endpointBadge(capW0));
  writePageWord(state, dest, destWords, destAt + TcbWord.state, ThreadStateNum.Running);
  switchTo(state, dest);
  return 'taken';
}

/** fastpath_reply_recv: a passive server answers the head of its call stack and waits again. */
export function fastpathReplyRecv(state: ImplState, server: number): FastpathOutcome {
  // Each thread's words are fetched once (a TCB lies in one page of RAM; a running or waiting one was written).
  const serverWords = ramPageAt(state, server);
  const serverAt = ramPageIndex(state, server);
  const info = serverWords[serverAt + TcbWord.registers + Reg.a1]!;
  const entry = entryReason(state, server, info);
  if (entry !== null) return entry;
  const capSlot = lookupFp(state, serverWords, serverAt, serverWords[serverAt + TcbWord.registers + Reg.a0]!);
  const capW1 = capSlot === NONE ? 0 : slotW1(state, capSlot);
  if (!endpointCapWith(capSlot === NONE ? 0 : slotW0(state, capSlot), capW1, seL4_CanRead)) return 'no-receive-cap';
  const replySlot = lookupFp(state, serverWords, serverAt, serverWords[serverAt + TcbWord.registers + replyRegister]!);
  if (replySlot === NONE || capTag(slotW0(state, replySlot)) !== CapTag.reply) return 'no-reply-cap';
  const ntfn = linkTarget(serverWords[serverAt + TcbWord.boundNotification]!);
  if (ntfn !== NONE && ntfnIsActive(state, ntfn)) return 'notification-active';
  const ep = endpointPtr(capW1);
  if (epState(state, ep) === EPState.Send) return 'sender-waiting';
  const reply = slotW1(state, replySlot);
  const client = replyTcbOf(state, reply);
  const sc = linkTarget(serverWords[serverAt + TcbWord.schedContext]!);
  if (client === NONE || replySchedContext(state, reply) !== sc) return 'reply-not-head';
  const clientWords = ramPageAt(state, client);
  const clientAt = ramPageIndex(state, client);
  if (tcbHasFault(state, client)) return 'client-fault';
  if (!validVTableRoot(clientWords, clientAt)) return 'client-no-vspace';
  if (!isHighestPrio(state, clientWords[clientAt + TcbWord.priority]!)) return 'client-priority';
  if (tcbSchedContext(state, client) !== NONE) return 'client-has-sc';
  if (!budgetCovers(state)) return 'budget';

  // The point of no return.
  if (state.debug) {
    checkEntry(state, server);
    if (threadState(state, client) !== ThreadStateNum.BlockedOnReply || tcbReplyObject(state, client) !== reply) fail(`fastpath client ${client.toString(16)} does not wait on reply ${reply.toString(16)}`);
    if (scTcb(state, sc) !== server) fail(`SC ${sc.toString(16)} is not bound back to its server`);
  }
  updateTimestamp(state);
  // The reply's and the SC's words, fetched once likewise.
  const replyWords = ramPageAt(state, reply);
  const replyAt = ramPageIndex(state, reply);
  const scWords = ramPageAt(state, sc);
  const scAt = ramPageIndex(state, sc);
  // reply_pop: the SC goes back to the client, the call stack loses its head.
  const prev = linkTarget(replyWords[replyAt + ReplyWord.prev]!);
  writePageWord(state, sc, scWords, scAt + ScWord.reply, linkWord(prev));
  if (prev !== NONE) setReplyNext(state, prev, sc, true);
  writePageWord(state, reply, replyWords, replyAt + ReplyWord.next, 0);
  writePageWord(state, server, serverWords, serverAt + TcbWord.schedContext, 0);
  writePageWord(state, sc, scWords, scAt + ScWord.tcb, linkWord(client));
  writePageWord(state, client, clientWords, clientAt + TcbWord.schedContext, linkWord(sc));
  writePageWord(state, reply, replyWords, replyAt + ReplyWord.prev, 0);
  transfer(state, server, client, info, 0);
  writePageWord(state, client, clientWords, clientAt + TcbWord.state, ThreadStateNum.Running);
  // The server waits on the endpoint with the reply object, queued by priority.
  writePageWord(state, server, serverWords, serverAt + TcbWord.blockingObject, linkWord(ep));
  writePageWord(state, server, serverWords, serverAt + TcbWord.replyObject, linkWord(reply));
  writePageWord(state, server, serverWords, serverAt + TcbWord.state, ThreadStateNum.BlockedOnReceive);
  writePageWord(state, reply, replyWords, replyAt + ReplyWord.tcb, linkWord(server));
  tcbEPAppend(state, server, ep, EPState.Recv);
  switchTo(state, client);
  return 'taken';
}
