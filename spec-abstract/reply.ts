// Reply objects and the call stack (l4v IpcCancel_A reply_push, bind_sc_reply, reply_unlink_tcb,
// reply_unlink_sc, reply_remove, reply_remove_tcb, sched_context_unbind_reply; Ipc_A
// do_reply_transfer; seL4's reply.c). A reply names the caller waiting on it (reply_tcb); an SC
// keeps the replies it was donated through as a list, most recent first (sc_replies), and the
// head reply names that SC (reply_sc). Each reply also records which SC's list holds it (a
// derived index standing for l4v's sc_with_reply, which searches every SC).
import { messageInfoFromWordKernel, msgInfoRegister, msgRegisters } from '../libsel4/index.ts';
import { handleFaultReply, handleTimeout, timeoutFault } from './fault.ts';
import { ifSporadicUnblockCheck, refillReady, refillSufficient, scAt, schedContextDonate, updateSC } from './schedcontext.ts';
import { blockedOn, hasTimeoutHandler, isRunnable, possibleSwitchTo, postpone, setThreadState } from './scheduler.ts';
import { objectAt, tcbAt, updateObject, type Kernel, type Readable, type ReplyObject } from './state.ts';
import { getMR, ipcBufferAddress, register } from './tcb.ts';
import { doIPCTransfer } from './transfer.ts';

/** The reply object at `addr`; it must exist. */
export function replyAt(s: Readable, addr: number): ReplyObject {
  const o = objectAt(s, addr);
  if (o?.type !== 'reply') throw new Error(`abstract spec invariant: no reply object at ${addr}`);
  return o;
}

function updateReply(k: Kernel, addr: number, fields: Partial<ReplyObject>): void {
  updateObject(k, addr, 'reply', fields);
}

/** The SC's call stack becomes `replies` (head first); replies leaving it forget the SC. */
function setCallStack(k: Kernel, sc: number, replies: readonly number[]): void {
  for (const r of scAt(k, sc)!.replies) if (!replies.includes(r)) updateReply(k, r, { sc: null, stack: null });
  replies.forEach((r, i) => updateReply(k, r, { sc: i === 0 ? sc : null, stack: sc }));
  updateSC(k, sc, { replies });
}

/**
 * reply_unlink_tcb: the reply and its thread (a caller BlockedOnReply on it, or a receiver
 * BlockedOnReceive with it) let go of each other; the thread becomes Inactive.
 */
export function replyUnlinkTCB(k: Kernel, tcb: number, reply: number): void {
  if (replyAt(k, reply).tcb !== tcb || tcbAt(k, tcb)?.blocking?.reply !== reply) throw new Error(`reply ${reply} is not linked to thread ${tcb}`);
  updateReply(k, reply, { tcb: null });
  setThreadState(k, tcb, 'Inactive');
}

/**
 * reply_push: a Call's caller waits on the reply (BlockedOnReply). If the caller has an SC, the
 * callee none, and donation is allowed, the reply goes on top of the SC's call stack and the SC
 * moves to the callee.
 */
export function replyPush(k: Kernel, caller: number, callee: number, reply: number, canDonate: boolean): void {
  const callerSC = tcbAt(k, caller)!.schedContext;
  const calleeSC = tcbAt(k, callee)!.schedContext;
  updateReply(k, reply, { tcb: caller });
  setThreadState(k, caller, 'BlockedOnReply', blockedOn(null, { reply }));
  if (callerSC !== null && calleeSC === null && canDonate) {
    setCallStack(k, callerSC, [reply, ...scAt(k, callerSC)!.replies]);
    schedContextDonate(k, callerSC, callee);
  }
}

/**
 * reply_remove: the reply's caller stops waiting on it (Inactive). A reply at the head of its
 * SC's call stack is popped, and the SC goes back to the caller if the caller has none; a reply
 * further down cuts the stack there (it and every older reply leave it).
 */
export function replyRemove(k: Kernel, caller: number, reply: number): void {
  const sc = replyAt(k, reply).stack;
  if (sc !== null) {
    const replies = scAt(k, sc)!.replies;
    const index = replies.indexOf(reply);
    setCallStack(k, sc, index === 0 ? replies.slice(1) : replies.slice(0, index));
    if (index === 0 && tcbAt(k, caller)!.schedContext === null) schedContextDonate(k, sc, caller);
  }
  replyUnlinkTCB(k, caller, reply);
}

/**
 * reply_remove_tcb (a caller BlockedOnReply is cancelled): its reply and every older one leave
 * the call stack; no SC moves (a donated one stays with the callee).
 */
export function replyRemoveTCB(k: Kernel, caller: number, reply: number): void {
  const sc = replyAt(k, reply).stack;
  if (sc !== null) {
    const replies = scAt(k, sc)!.replies;
    setCallStack(k, sc, replies.slice(0, replies.indexOf(reply)));
  }
  replyUnlinkTCB(k, caller, reply);
}

/** sched_context_unbind_reply: the SC's call stack is emptied. */
export function schedContextUnbindReply(k: Kernel, sc: number): void {
  setCallStack(k, sc, []);
}

/**
 * The reply to a faulted caller: the replier's message (MR4 on only from its IPC buffer) goes to
 * handle_fault_reply, the fault is cleared, and the caller restarts or becomes Inactive.
 */
function replyToFault(k: Kernel, sender: number, caller: number): void {
  const info = messageInfoFromWordKernel(register(k, sender, msgInfoRegister));
  const buffer = ipcBufferAddress(k, sender, 'sender');
  const length = buffer === null ? Math.min(info.length, msgRegisters.length) : info.length;
  const words = Array.from({ length }, (_, i) => getMR(k, sender, buffer, i));
  const restart = handleFaultReply(k, caller, tcbAt(k, caller)!.fault!, info.label, words);
  updateObject(k, caller, 'tcb', { fault: null });
  setThreadState(k, caller, restart ? 'Restart' : 'Inactive');
}

/**
 * do_reply_transfer: a send on a reply cap. If a caller waits on the reply, the reply is removed
 * (the SC comes back to the caller when the reply heads its stack); a faulted caller gets the
 * reply as replyToFault says, another receives the replier's message (badge 0, no endpoint to
 * unwrap) and runs. If it can run, with an SC it is switched to if
 * its head refill is ready and sufficient, else it takes a timeout fault if it has a timeout
 * handler and the fault replied to was not one, or waits for its next refill. Otherwise nothing
 * happens.
 */
export function doReplyTransfer(k: Kernel, sender: number, reply: number, grant: boolean): void {
  const caller = replyAt(k, reply).tcb;
  if (caller === null || tcbAt(k, caller)!.state !== 'BlockedOnReply') return;
  replyRemove(k, caller, reply);
  ifSporadicUnblockCheck(k, tcbAt(k, caller)!.schedContext);
  const fault = tcbAt(k, caller)!.fault;
  if (fault === null) {
    doIPCTransfer(k, sender, null, 0, grant, caller);
    setThreadState(k, caller, 'Running');
  } else {
    replyToFault(k, sender, caller);
  }
  const sc = tcbAt(k, caller)!.schedContext;
  if (sc === null || !isRunnable(k, caller)) return;
  const context = scAt(k, sc)!;
  if (refillReady(k, context) && refillSufficient(context, 0n)) possibleSwitchTo(k, caller);
  else if (hasTimeoutHandler(k, caller) && fault?.type !== 'Timeout') handleTimeout(k, caller, timeoutFault(context.badge));
  else postpone(k, sc);
}
