// Reply objects and the call stack (seL4's reply.c, l4v's Reply.lhs): reply_push, reply_pop,
// reply_remove, reply_remove_tcb, reply_unlink, and doReplyTransfer (thread.c). A call stack is
// the SC's `replies`, most recent first; the head reply names the SC (`schedContext`).
import { hex, messageInfoFromWordKernel, msgInfoRegister, msgRegisters, TCBSlot, type Word } from '../libsel4/index.ts';
import { cancelIPC } from './endpoint.ts';
import { refillReady, refillSufficient, schedContextAt, schedContextDonate, unblockIfSporadic } from './schedcontext.ts';
import { possibleSwitchTo, postpone } from './scheduler.ts';
import { type ReplyObject, type SchedContextObject, type Step } from './state.ts';
import { getRegister, isRunnable, lookupIPCBuffer, readIPCBuffer, setThreadState } from './tcb.ts';
import { handleFaultReply, handleTimeout, timeoutFault } from './fault.ts';
import { doIPCTransfer } from './transfer.ts';

export function replyAt(k: Step, addr: number): ReplyObject {
  const obj = k.object(addr);
  if (obj?.type !== 'reply') throw new Error(`executable spec invariant: no reply object at ${hex(addr)}`);
  return obj;
}

/** The SC whose call stack holds the reply, or null (the C follows replyNext to the head). */
function stackOf(k: Step, reply: number): SchedContextObject | null {
  const head = replyAt(k, reply).schedContext;
  if (head !== null) return schedContextAt(k, head);
  for (const obj of k.state.objects.values()) if (obj.type === 'schedcontext' && obj.replies.includes(reply)) return obj;
  return null;
}

/** Sets an SC's call stack, keeping the head reply's link to the SC (replyNext = Head sc) in step. */
function setCallStack(k: Step, scAddr: number, replies: readonly number[]): void {
  const old = schedContextAt(k, scAddr).replies;
  if (old[0] !== undefined && old[0] !== replies[0]) k.setObject({ ...replyAt(k, old[0]), schedContext: null });
  if (replies[0] !== undefined && replies[0] !== old[0]) k.setObject({ ...replyAt(k, replies[0]), schedContext: scAddr });
  k.setObject({ ...schedContextAt(k, scAddr), replies });
}

/** reply_unlink: the reply lets go of its thread, which becomes Inactive. */
export function replyUnlink(k: Step, reply: number, tcb: number): void {
  const r = replyAt(k, reply);
  if (r.tcb !== tcb) throw new Error(`executable spec invariant: reply ${hex(reply)} unlinked from a thread it does not hold`);
  k.setObject({ ...r, tcb: null });
  setThreadState(k, tcb, 'Inactive');
}

/**
 * reply_push: the caller blocks on the reply (BlockedOnReply); if it has an SC, the callee none and
 * donation is allowed, the reply goes on top of the SC's call stack and the SC moves to the callee.
 */
export function replyPush(k: Step, caller: number, callee: number, reply: number, canDonate: boolean): void {
  const r = replyAt(k, reply);
  if (r.tcb !== null) throw new Error(`executable spec invariant: pushing reply ${hex(reply)} that holds a thread`);
  const donated = k.tcb(caller).schedContext;
  const calleeSC = k.tcb(callee).schedContext;
  k.setObject({ ...r, tcb: caller });
  setThreadState(k, caller, 'BlockedOnReply', { object: null, badge: 0, canGrant: false, canGrantReply: false, isCall: false, reply });
  if (donated !== null && calleeSC === null && canDonate) {
    setCallStack(k, donated, [reply, ...schedContextAt(k, donated).replies]);
    schedContextDonate(k, donated, callee);
  }
}

/** reply_pop: the head reply leaves its SC's stack; the SC returns to the caller if it has none. */
function replyPop(k: Step, reply: number, tcb: number): void {
  const scAddr = replyAt(k, reply).schedContext;
  if (scAddr === null) throw new Error(`executable spec invariant: popping reply ${hex(reply)} that heads no stack`);
  setCallStack(k, scAddr, schedContextAt(k, scAddr).replies.slice(1));
  if (k.tcb(tcb).schedContext === null) schedContextDonate(k, scAddr, tcb);
  replyUnlink(k, reply, tcb);
}

/** The part of a call stack above `reply` (the chain below it is cut off: replyPrev/replyNext cleared). */
function cutBelow(k: Step, reply: number): void {
  const sc = stackOf(k, reply);
  if (sc !== null) setCallStack(k, sc.addr, sc.replies.slice(0, sc.replies.indexOf(reply)));
}

function assertHoldsCaller(k: Step, reply: number, tcb: number): void {
  const blocking = k.tcb(tcb).blocking;
  if (replyAt(k, reply).tcb !== tcb || k.tcb(tcb).state !== 'BlockedOnReply' || blocking?.reply !== reply) {
    throw new Error(`executable spec invariant: thread ${hex(tcb)} is not blocked on reply ${hex(reply)}`);
  }
}

/**
 * reply_remove: the reply's caller lets go of it. At the head of a stack it is a pop (the SC may
 * return); elsewhere the stack is cut there and no SC moves. The caller becomes Inactive.
 */
export function replyRemove(k: Step, reply: number, tcb: number): void {
  assertHoldsCaller(k, reply, tcb);
  if (replyAt(k, reply).schedContext !== null) return replyPop(k, reply, tcb);
  cutBelow(k, reply);
  replyUnlink(k, reply, tcb);
}

/**
 * reply_remove_tcb: a caller blocked on a reply is cancelled. Its reply leaves the stack without
 * giving the SC back: at the head the SC's stack is emptied (scReply cleared), elsewhere cut.
 */
export function replyRemoveTCB(k: Step, tcb: number): void {
  const reply = k.tcb(tcb).blocking?.reply ?? null;
  if (reply === null) throw new Error(`executable spec invariant: thread ${hex(tcb)} blocked on no reply`);
  assertHoldsCaller(k, reply, tcb);
  cutBelow(k, reply);
  replyUnlink(k, reply, tcb);
}

/**
 * replyClear: the last cap to a reply is deleted while it holds a thread: a caller blocked on it
 * is released as by a reply (reply_remove), a receiver waiting with it has its receive cancelled.
 */
export function replyClear(k: Step, reply: number): void {
  const tcb = replyAt(k, reply).tcb;
  if (tcb === null) return;
  const state = k.tcb(tcb).state;
  if (state === 'BlockedOnReply') replyRemove(k, reply, tcb);
  else if (state === 'BlockedOnReceive') cancelIPC(k, tcb);
  else throw new Error(`executable spec invariant: reply ${hex(reply)} holds thread ${hex(tcb)} in state ${state}`);
}

/** schedContext_unbindReply: an SC going away drops its call stack (the head's link to it cleared). */
export function schedContextUnbindReply(k: Step, scAddr: number): void {
  if (schedContextAt(k, scAddr).replies.length > 0) setCallStack(k, scAddr, []);
}

/**
 * doReplyTransfer: a send on a reply cap. If the reply holds a caller blocked on it, the reply is
 * removed (returning a donated SC), the replier's message goes to the caller (badge 0, caps only
 * with the reply cap's Grant) and it runs again; a caller with a pending fault instead has its
 * registers written from the message as handleFaultReply says, the fault cleared, and restarts or
 * stays Inactive. A runnable caller runs at once if its SC is ready and sufficient, else it
 * waits for its release (or, with a timeout handler and unless it was a timeout fault's reply, takes
 * a timeout fault).
 */
export function doReplyTransfer(k: Step, sender: number, reply: number, grant: boolean): void {
  const receiver = replyAt(k, reply).tcb;
  if (receiver === null || k.tcb(receiver).state !== 'BlockedOnReply') return;
  replyRemove(k, reply, receiver);
  unblockIfSporadic(k, k.tcb(receiver).schedContext);
  const fault = k.tcb(receiver).fault;
  if (fault === null) {
    doIPCTransfer(k, sender, null, 0, grant, receiver);
    setThreadState(k, receiver, 'Running');
  } else {
    const info = messageInfoFromWordKernel(getRegister(k.tcb(sender), msgInfoRegister));
    const restart = handleFaultReply(k, fault, receiver, info.label, getMRs(k, sender, info.length));
    k.setObject({ ...k.tcb(receiver), fault: null });
    setThreadState(k, receiver, restart ? 'Restart' : 'Inactive');
  }
  const scAddr = k.tcb(receiver).schedContext;
  if (scAddr === null || !isRunnable(k.tcb(receiver))) return;
  const sc = schedContextAt(k, scAddr);
  if (refillReady(sc, k.sched.curTimeTicks) && refillSufficient(sc, 0n)) possibleSwitchTo(k, receiver);
  else if (k.cap({ cnode: receiver, index: TCBSlot.timeoutHandler }).type === 'endpoint' && fault?.type !== 'Timeout') handleTimeout(k, receiver, timeoutFault(sc.badge));
  else postpone(k, scAddr);
}

/** getMRs: the sender's first `length` message words (MR4 on from its IPC buffer, read-only allowed; none without one). */
function getMRs(k: Step, sender: number, length: number): Word[] {
  const tcb = k.tcb(sender);
  const buffer = lookupIPCBuffer(k.state, tcb, 'sender');
  const words = msgRegisters.slice(0, length).map((r) => getRegister(tcb, r));
  if (buffer !== null) for (let i = msgRegisters.length; i < length; i++) words.push(readIPCBuffer(k.state, buffer, 1 + i));
  return words;
}
