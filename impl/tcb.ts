// Thread control blocks, as seL4's tcb.c and thread.c: thread state, the TCB invocations
// (decode then perform), suspend and restart, and finalisation.
//
// Memory layout of a TCB (1 KiB, 1 KiB aligned):
//   0x000  slot 0 CSpace root, 1 VSpace root, 2 IPC buffer frame, 3 fault handler,
//          4 timeout handler (16 bytes each, see cnode.ts)
//   0x200  thread state (index in libsel4's threadStates: Inactive 0, Running 1, Restart 2, ...)
//   0x204  priority
//   0x208  maximum controlled priority (MCP)
//   0x20C  domain
//   0x210  scheduling context: link (address | 1), 0 if none
//   0x214  IPC buffer virtual address
//   0x218  tcbFlags (seL4_TCBFlag bits)
//   0x21C  tcbYieldTo: link to the SC it yielded to, 0 if none
//   0x220  tcbSchedNext, 0x224 tcbSchedPrev: links of the ready queue or the release queue
//   0x228  queue membership: bit 0 tcbQueued (in a ready queue), bit 1 tcbInReleaseQueue
//          (seL4 keeps both in the thread state word)
//   0x22C  tcbBoundNotification: link, 0 if none
//   0x230  thread_state's IPC word: blockingIPCBadge[31:4], blockingIPCCanGrant[3],
//          blockingIPCCanGrantReply[2], blockingIPCIsCall[1]
//   0x234  thread_state's blockingObject: link to the endpoint or notification
//   0x238  thread_state's replyObject: link to the reply object, 0 if none
//          (the three keep stale values outside the states that use them, as in seL4)
//   0x240  the 32 registers, seL4_UserContext order (128 bytes)
//   0x2C0  tcbFault (seL4_Fault_t, 2 words, see fault.ts), 0x2C8 tcbLookupFailure (lookup_fault_t, 2 words)
// An endpoint or notification queue links its threads through tcbSchedNext / tcbSchedPrev,
// as seL4's MCS tcbEPAppend does (a blocked thread is in no ready or release queue).
// Everything else is zero. A new TCB (all zero) is Inactive with priority 0, no SC, no caps.
import {
  IPCBuffer,
  InvocationLabel,
  Reg,
  msgRegisters,
  numRegisters,
  seL4_IPCBufferSizeBits,
  seL4_MessageInfo_new,
  threadStates,
  ipcBufferRightsAllow,
  type BlockingView,
  type IPCBufferAccess,
  type ObjectView,
  type SyscallError,
  type ThreadState,
  type Word,
} from '../libsel4/index.ts';
import { cteInsert, deleteSlot, isFinalCapability, isNullSlot, slotBytes, slotW0, slotW1 } from './cnode.ts';
import { cancelIPC, reorderEndpoint } from './endpoint.ts';
import { bindNotification, canReceive, ntfnBoundTcb, ntfnQueueEmpty, reorderNotification, unbindNotification } from './notification.ts';
import { deriveCap, sameObjectAs, updateCapData } from './objects.ts';
import {
  cancelYieldTo,
  completeYieldTo,
  refillUnblockCheck,
  scReleased,
  scSporadic,
  scTcb,
  scYieldFrom,
  schedContextBindTcb,
  schedContextResume,
  schedContextUnbindTcb,
} from './schedcontext.ts';
import { statusNone, statusPreempted, type PreemptionStatus } from './preemption.ts';
import { isSchedulable, possibleSwitchTo, rescheduleRequired, scheduleTcb, tcbReleaseRemove, tcbSchedDequeue, tcbSchedEnqueue } from './scheduler.ts';
import { NONE, fail, linkTarget, linkWord, markObject, ramPageAt, ramPageIndex, readWord, writeObjectWord, writeUserWord, type ImplState } from './state.ts';
import { CapTag, capPtr, capRightsBits, capTag, frameIsDevice, frameSizeBits, frameVMRights, mappedFlag, pagePtr, type CapWords } from './structures.ts';
import { syscallArg, type InvocationContext } from './syscall.ts';
import { faultView } from './fault.ts';

const STATE = 0x200;
const PRIORITY = 0x204;
const MCP = 0x208;
const DOMAIN = 0x20c;
const SCHED_CONTEXT = 0x210;
const IPC_BUFFER_VADDR = 0x214;
const FLAGS = 0x218;
const YIELD_TO = 0x21c;
const SCHED_NEXT = 0x220;
const SCHED_PREV = 0x224;
const QUEUES = 0x228;
const BOUND_NOTIFICATION = 0x22c;
const BLOCKING_IPC = 0x230;
const BLOCKING_OBJECT = 0x234;
const REPLY_OBJECT = 0x238;
const REGISTERS = 0x240;
const FAULT = 0x2c0;
const LOOKUP_FAILURE = 0x2c8;

/** Word indices (byte offset / 4) of the fields the fastpath reads and writes through a TCB's page of RAM (ramPageAt). */
export const TcbWord = {
  cspaceRootCap: 0,
  vspaceRootCap: 4, // slot 1 (slots are 16 bytes)
  state: STATE >>> 2,
  priority: PRIORITY >>> 2,
  schedContext: SCHED_CONTEXT >>> 2,
  boundNotification: BOUND_NOTIFICATION >>> 2,
  blockingObject: BLOCKING_OBJECT >>> 2,
  replyObject: REPLY_OBJECT >>> 2,
  registers: REGISTERS >>> 2,
} as const;

const QUEUED = 1;
const IN_RELEASE_QUEUE = 2;
/** seL4_TCBFlag_MASK with an FPU: only fpuDisabled. */
const tcbFlagMask = 1;
/** n_frameRegisters (pc, ra, sp, gp, s0..s11) and n_gpRegisters (a0..a7, t0..t6, tp). */
const frameRegisterCount = 16;
const gpRegisterCount = 16;

export const ThreadStateNum = Object.fromEntries(threadStates.map((s, i) => [s, i])) as { readonly [K in ThreadState]: number };

export function tcbSlot(tcb: number, index: number): number {
  return tcb + index * slotBytes;
}

export function threadState(state: ImplState, tcb: number): number {
  return readWord(state, tcb + STATE);
}

/** setThreadState, with scheduleTCB: a current thread that stops being schedulable triggers a new choice. */
export function setThreadState(state: ImplState, tcb: number, ts: number): void {
  writeObjectWord(state, tcb, STATE, ts);
  scheduleTcb(state, tcb);
}

/** isBlocked: waiting on an endpoint, notification or reply. */
export function isBlocked(state: ImplState, tcb: number): boolean {
  const ts = threadState(state, tcb);
  return ts === ThreadStateNum.BlockedOnReceive || ts === ThreadStateNum.BlockedOnSend
    || ts === ThreadStateNum.BlockedOnNotification || ts === ThreadStateNum.BlockedOnReply;
}

/** thread_state_get_blockingObject: the endpoint or notification a blocked thread waits on. */
export function tcbBlockingObject(state: ImplState, tcb: number): number {
  return linkTarget(readWord(state, tcb + BLOCKING_OBJECT));
}

/** thread_state_get_replyObject: the reply object of a thread BlockedOnReceive or BlockedOnReply, or NONE. */
export function tcbReplyObject(state: ImplState, tcb: number): number {
  return linkTarget(readWord(state, tcb + REPLY_OBJECT));
}

/** tcbFault's two words (type 0: none pending). */
export function tcbFaultWords(state: ImplState, tcb: number): readonly [number, number] {
  return [readWord(state, tcb + FAULT), readWord(state, tcb + FAULT + 4)];
}

export function setTcbFault(state: ImplState, tcb: number, w0: number, w1: number): void {
  writeObjectWord(state, tcb, FAULT, w0);
  writeObjectWord(state, tcb, FAULT + 4, w1);
}

/** tcbFault = seL4_Fault_NullFault_new(): written only when a fault is pending (the words are zero otherwise). */
export function clearTcbFault(state: ImplState, tcb: number): void {
  if (readWord(state, tcb + FAULT) !== 0 || readWord(state, tcb + FAULT + 4) !== 0) setTcbFault(state, tcb, 0, 0);
}

/** Whether a fault is pending (tcbFault's type is not NullFault). */
export function tcbHasFault(state: ImplState, tcb: number): boolean {
  return (readWord(state, tcb + FAULT) & 0xf) !== 0;
}

export function tcbLookupFailureWords(state: ImplState, tcb: number): readonly [number, number] {
  return [readWord(state, tcb + LOOKUP_FAILURE), readWord(state, tcb + LOOKUP_FAILURE + 4)];
}

export function setTcbLookupFailure(state: ImplState, tcb: number, w0: number, w1: number): void {
  writeObjectWord(state, tcb, LOOKUP_FAILURE, w0);
  writeObjectWord(state, tcb, LOOKUP_FAILURE + 4, w1);
}

/** The IPC details a blocked sender recorded (thread_state's first word). */
export interface SendDetails {
  readonly badge: number;
  readonly canGrant: boolean;
  readonly canGrantReply: boolean;
  readonly isCall: boolean;
}

export function tcbSendDetails(state: ImplState, tcb: number): SendDetails {
  const word = readWord(state, tcb + BLOCKING_IPC);
  return { badge: word >>> 4, canGrant: (word & 8) !== 0, canGrantReply: (word & 4) !== 0, isCall: (word & 2) !== 0 };
}

/** sendIPC's blocking: BlockedOnSend on `ep` with the sender's details, then scheduleTCB. */
export function setBlockedOnSend(state: ImplState, tcb: number, ep: number, details: SendDetails): void {
  const word = (details.badge << 4) | (details.canGrant ? 8 : 0) | (details.canGrantReply ? 4 : 0) | (details.isCall ? 2 : 0);
  writeObjectWord(state, tcb, BLOCKING_IPC, word >>> 0);
  writeObjectWord(state, tcb, BLOCKING_OBJECT, linkWord(ep));
  setThreadState(state, tcb, ThreadStateNum.BlockedOnSend);
}

/** receiveIPC's blocking: BlockedOnReceive on `ep` with reply object `reply` (NONE: none). */
export function setBlockedOnReceive(state: ImplState, tcb: number, ep: number, reply: number): void {
  writeObjectWord(state, tcb, BLOCKING_OBJECT, linkWord(ep));
  writeObjectWord(state, tcb, REPLY_OBJECT, linkWord(reply));
  setThreadState(state, tcb, ThreadStateNum.BlockedOnReceive);
}

/** receiveSignal's blocking: BlockedOnNotification on `ntfn`. */
export function setBlockedOnNotification(state: ImplState, tcb: number, ntfn: number): void {
  writeObjectWord(state, tcb, BLOCKING_OBJECT, linkWord(ntfn));
  setThreadState(state, tcb, ThreadStateNum.BlockedOnNotification);
}

/** setThreadStateBlockedOnReply. */
export function setBlockedOnReply(state: ImplState, tcb: number, reply: number): void {
  writeObjectWord(state, tcb, REPLY_OBJECT, linkWord(reply));
  setThreadState(state, tcb, ThreadStateNum.BlockedOnReply);
}

/** The view of a thread's blocking fields: only those its state uses, the rest 0, false or null. */
function blockingView(state: ImplState, tcb: number, ts: number): BlockingView | null {
  const none = { object: null, badge: 0, canGrant: false, canGrantReply: false, isCall: false, reply: null };
  const reply = tcbReplyObject(state, tcb);
  switch (ts) {
    case ThreadStateNum.BlockedOnSend:
      return { ...none, object: tcbBlockingObject(state, tcb), ...tcbSendDetails(state, tcb) };
    case ThreadStateNum.BlockedOnReceive:
      // MCS receivers record no Grant (the spec's blockingIPCCanGrant = False)
      return { ...none, object: tcbBlockingObject(state, tcb), reply: reply === NONE ? null : reply };
    case ThreadStateNum.BlockedOnReply:
      return { ...none, reply };
    case ThreadStateNum.BlockedOnNotification:
      return { ...none, object: tcbBlockingObject(state, tcb) };
    default:
      return null;
  }
}

/** isStopped: Inactive or blocked. */
function isStopped(state: ImplState, tcb: number): boolean {
  return threadState(state, tcb) === ThreadStateNum.Inactive || isBlocked(state, tcb);
}

export function tcbPriority(state: ImplState, tcb: number): number {
  return tcb === NONE ? 0 : readWord(state, tcb + PRIORITY);
}

export function tcbMCP(state: ImplState, tcb: number): number {
  return readWord(state, tcb + MCP);
}

export function tcbYieldTo(state: ImplState, tcb: number): number {
  return linkTarget(readWord(state, tcb + YIELD_TO));
}

export function setTcbYieldTo(state: ImplState, tcb: number, sc: number): void {
  writeObjectWord(state, tcb, YIELD_TO, linkWord(sc));
}

export function tcbBoundNotification(state: ImplState, tcb: number): number {
  return linkTarget(readWord(state, tcb + BOUND_NOTIFICATION));
}

export function setTcbBoundNotification(state: ImplState, tcb: number, ntfn: number): void {
  writeObjectWord(state, tcb, BOUND_NOTIFICATION, linkWord(ntfn));
}

export function tcbSchedNext(state: ImplState, tcb: number): number {
  return linkTarget(readWord(state, tcb + SCHED_NEXT));
}

export function tcbSchedPrev(state: ImplState, tcb: number): number {
  return linkTarget(readWord(state, tcb + SCHED_PREV));
}

export function setTcbSchedNext(state: ImplState, tcb: number, next: number): void {
  writeObjectWord(state, tcb, SCHED_NEXT, linkWord(next));
}

export function setTcbSchedPrev(state: ImplState, tcb: number, prev: number): void {
  writeObjectWord(state, tcb, SCHED_PREV, linkWord(prev));
}

export function isQueued(state: ImplState, tcb: number): boolean {
  return (readWord(state, tcb + QUEUES) & QUEUED) !== 0;
}

export function inReleaseQueue(state: ImplState, tcb: number): boolean {
  return (readWord(state, tcb + QUEUES) & IN_RELEASE_QUEUE) !== 0;
}

function setQueueBit(state: ImplState, tcb: number, bit: number, on: boolean): void {
  const word = readWord(state, tcb + QUEUES);
  writeObjectWord(state, tcb, QUEUES, on ? word | bit : word & ~bit);
}

export function setQueued(state: ImplState, tcb: number, queued: boolean): void {
  setQueueBit(state, tcb, QUEUED, queued);
}

export function setInReleaseQueue(state: ImplState, tcb: number, inQueue: boolean): void {
  setQueueBit(state, tcb, IN_RELEASE_QUEUE, inQueue);
}

export function getRegister(state: ImplState, tcb: number, reg: number): Word {
  return readWord(state, tcb + REGISTERS + reg * 4);
}

export function setRegister(state: ImplState, tcb: number, reg: number, value: Word): void {
  writeObjectWord(state, tcb, REGISTERS + reg * 4, value);
}

/** The page of RAM that holds the thread's registers (a TCB is 1 KiB aligned: they lie in one page), from registersOffset on; writes to it mark no object. */
export function registersPage(state: ImplState, tcb: number): Uint32Array {
  return ramPageAt(state, tcb + REGISTERS);
}

export function registersOffset(state: ImplState, tcb: number): number {
  return ramPageIndex(state, tcb + REGISTERS);
}

/** The user's register writes, in order; writes to registers that do not exist are ignored. */
export function setRegisters(state: ImplState, tcb: number, regs: ReadonlyArray<readonly [number, Word]>): void {
  const page = registersPage(state, tcb);
  const base = registersOffset(state, tcb);
  let written = false;
  for (let i = 0; i < regs.length; i++) {
    const reg = regs[i]![0];
    if (reg >>> 0 !== reg || reg >= numRegisters) continue;
    page[base + reg] = regs[i]![1];
    written = true;
  }
  if (written) markObject(state, tcb);
}

export function tcbSchedContext(state: ImplState, tcb: number): number {
  return linkTarget(readWord(state, tcb + SCHED_CONTEXT));
}

export function setTcbSchedContext(state: ImplState, tcb: number, sc: number): void {
  writeObjectWord(state, tcb, SCHED_CONTEXT, linkWord(sc));
}

/** The fields a root thread starts with (boot); a retyped TCB keeps its all-zero state. */
export function initThread(state: ImplState, tcb: number, fields: {
  priority: number; mcp: number; ipcBufferVaddr: number; regs: ReadonlyArray<readonly [number, Word]>;
}): void {
  writeObjectWord(state, tcb, PRIORITY, fields.priority);
  writeObjectWord(state, tcb, MCP, fields.mcp);
  writeObjectWord(state, tcb, IPC_BUFFER_VADDR, fields.ipcBufferVaddr >>> 0);
  for (const [reg, value] of fields.regs) setRegister(state, tcb, reg, value >>> 0);
}

/**
 * lookupIPCBuffer: the thread's IPC buffer as a physical address, or NONE: TCB slot 2 must hold
 * a non-device frame cap whose VM rights allow the access; the buffer sits at the IPC buffer
 * vaddr's offset inside that frame.
 */
export function ipcBufferAddr(state: ImplState, tcb: number, access: IPCBufferAccess): number {
  const slot = tcbSlot(tcb, 2);
  const w0 = slotW0(state, slot);
  if (capTag(w0) !== CapTag.frame || frameIsDevice(w0)) return NONE;
  if (access !== 'user' && !ipcBufferRightsAllow(frameVMRights(w0), access)) return NONE;
  return pagePtr(slotW1(state, slot)) + (readWord(state, tcb + IPC_BUFFER_VADDR) & ((1 << frameSizeBits(w0)) - 1));
}

/** The IPC buffer's virtual address (tcbIPCBuffer). */
export function ipcBufferVaddr(state: ImplState, tcb: number): number {
  return readWord(state, tcb + IPC_BUFFER_VADDR);
}

/** The frame holding the thread's IPC buffer (for marking user memory writes). */
export function ipcBufferFrame(state: ImplState, tcb: number): number {
  return pagePtr(slotW1(state, tcbSlot(tcb, 2)));
}

/** setMR: message word i of a kernel reply, in a register or the IPC buffer (dropped without one). */
function setMR(state: ImplState, thread: number, i: number, value: Word): void {
  if (i < msgRegisters.length) {
    setRegister(state, thread, msgRegisters[i]!, value);
    return;
  }
  const buffer = ipcBufferAddr(state, thread, 'receiver');
  if (buffer !== NONE) writeUserWord(state, ipcBufferFrame(state, thread), buffer + (IPCBuffer.msg + i) * 4, value);
}

/** A kernel reply of `length` message words, label 0 and badge 0. */
export function replyWords(state: ImplState, thread: number, length: number): void {
  setRegister(state, thread, Reg.a0, 0);
  setRegister(state, thread, Reg.a1, seL4_MessageInfo_new(0, 0, 0, length));
}

/** replyFromKernel_consumed: the consumed time in µs as two message words, low first. */
export function replyConsumed(state: ImplState, thread: number, consumedUs: bigint): void {
  setMR(state, thread, 0, Number(BigInt.asUintN(32, consumedUs)));
  setMR(state, thread, 1, Number(BigInt.asUintN(32, consumedUs >> 32n)));
  replyWords(state, thread, 2);
}

/** validTimeoutHandler: the timeout handler slot holds an endpoint cap. */
export function validTimeoutHandler(state: ImplState, tcb: number): boolean {
  return capTag(slotW0(state, tcbSlot(tcb, 4))) === CapTag.endpoint;
}

// ---- suspend and restart (thread.c) ----

/** suspend: its IPC cancelled, out of every queue, no longer yielding, Inactive. */
export function suspend(state: ImplState, tcb: number): void {
  cancelIPC(state, tcb);
  tcbSchedDequeue(state, tcb);
  tcbReleaseRemove(state, tcb);
  cancelYieldTo(state, tcb);
  setThreadState(state, tcb, ThreadStateNum.Inactive);
}

/** restart: a stopped thread is restarted, its sporadic SC released if it may be, and scheduled. */
export function restart(state: ImplState, tcb: number): void {
  if (!isStopped(state, tcb)) return;
  cancelIPC(state, tcb);
  setThreadState(state, tcb, ThreadStateNum.Restart);
  const sc = tcbSchedContext(state, tcb);
  if (scSporadic(state, sc) && sc !== state.curSC) refillUnblockCheck(state, sc);
  schedContextResume(state, sc);
  if (isSchedulable(state, tcb)) possibleSwitchTo(state, tcb);
}

/** activateThread: the thread about to run finishes a YieldTo, and a Restart becomes Running. */
export function activateThread(state: ImplState): void {
  const thread = state.current;
  if (thread === null) return;
  if (tcbYieldTo(state, thread) !== NONE) completeYieldTo(state, thread);
  const ts = threadState(state, thread);
  // Restart: the model keeps one pc (the restart pc), so there is nothing to move
  if (ts === ThreadStateNum.Restart) setThreadState(state, thread, ThreadStateNum.Running);
  else if (state.debug && ts !== ThreadStateNum.Running) fail(`the current thread ${thread.toString(16)} is blocked`);
}

/**
 * setPriority (MCS): a queued or current thread is requeued at its new priority; a thread
 * blocked on an endpoint or notification moves to its new place in that queue (reorderEP,
 * reorderNTFN).
 */
function setPriority(state: ImplState, tcb: number, prio: number): void {
  const ts = threadState(state, tcb);
  const runnable = ts === ThreadStateNum.Running || ts === ThreadStateNum.Restart;
  if (runnable && (isQueued(state, tcb) || tcb === state.current)) {
    tcbSchedDequeue(state, tcb);
    writeObjectWord(state, tcb, PRIORITY, prio);
    tcbSchedEnqueue(state, tcb);
    rescheduleRequired(state);
    return;
  }
  writeObjectWord(state, tcb, PRIORITY, prio);
  if (ts === ThreadStateNum.BlockedOnSend || ts === ThreadStateNum.BlockedOnReceive) reorderEndpoint(state, tcbBlockingObject(state, tcb), tcb);
  else if (ts === ThreadStateNum.BlockedOnNotification) reorderNotification(state, tcbBlockingObject(state, tcb), tcb);
}

// ---- endpoint and notification queues (tcbAppend, tcb_queue_remove) ----

/** The thread at the head of the queue whose head link is at byte `headOffset` of `obj` (tail at + 4). */
export function tcbQueueHead(state: ImplState, obj: number, headOffset: number): number {
  return linkTarget(readWord(state, obj + headOffset));
}

function tcbQueueTail(state: ImplState, obj: number, headOffset: number): number {
  return linkTarget(readWord(state, obj + headOffset + 4));
}

/** tcbAppend: after every thread of equal or higher priority, before the first of lower priority. */
export function tcbQueueAppend(state: ImplState, obj: number, headOffset: number, tcb: number): void {
  if (state.debug && (tcbSchedNext(state, tcb) !== NONE || tcbSchedPrev(state, tcb) !== NONE || isQueued(state, tcb) || inReleaseQueue(state, tcb))) {
    fail(`thread ${tcb.toString(16)} joins a queue while linked in another`);
  }
  // the object's queue (in its view) changes even when its head and tail words do not
  markObject(state, obj);
  const prio = tcbPriority(state, tcb);
  const head = tcbQueueHead(state, obj, headOffset);
  const tail = tcbQueueTail(state, obj, headOffset);
  if (head === NONE || prio > tcbPriority(state, head)) {
    // tcb_queue_prepend
    if (head === NONE) writeObjectWord(state, obj, headOffset + 4, linkWord(tcb));
    else {
      setTcbSchedNext(state, tcb, head);
      setTcbSchedPrev(state, head, tcb);
    }
    writeObjectWord(state, obj, headOffset, linkWord(tcb));
    return;
  }
  if (tcbPriority(state, tail) >= prio) {
    // tcb_queue_append
    setTcbSchedPrev(state, tcb, tail);
    setTcbSchedNext(state, tail, tcb);
    writeObjectWord(state, obj, headOffset + 4, linkWord(tcb));
    return;
  }
  // find_tcb_with_higher_prio, then tcb_queue_insert_after
  let before = head;
  while (tcbPriority(state, tcbSchedNext(state, before)) >= prio) before = tcbSchedNext(state, before);
  const after = tcbSchedNext(state, before);
  setTcbSchedPrev(state, tcb, before);
  setTcbSchedNext(state, tcb, after);
  setTcbSchedNext(state, before, tcb);
  setTcbSchedPrev(state, after, tcb);
}

/** tcb_queue_remove: the thread leaves the queue; returns whether the queue is empty now. */
export function tcbQueueRemove(state: ImplState, obj: number, headOffset: number, tcb: number): boolean {
  const before = tcbSchedPrev(state, tcb);
  const after = tcbSchedNext(state, tcb);
  if (state.debug && (before === NONE) !== (tcbQueueHead(state, obj, headOffset) === tcb)) fail(`thread ${tcb.toString(16)} is not in the queue of ${obj.toString(16)}`);
  markObject(state, obj);
  if (before === NONE) writeObjectWord(state, obj, headOffset, linkWord(after));
  else setTcbSchedNext(state, before, after);
  if (after === NONE) writeObjectWord(state, obj, headOffset + 4, linkWord(before));
  else setTcbSchedPrev(state, after, before);
  if (before !== NONE) setTcbSchedPrev(state, tcb, NONE);
  if (after !== NONE) setTcbSchedNext(state, tcb, NONE);
  return before === NONE && after === NONE;
}

/** The queue's threads, head first (for the view and the invariants). */
export function tcbQueueMembers(state: ImplState, obj: number, headOffset: number): number[] {
  const members: number[] = [];
  for (let t = tcbQueueHead(state, obj, headOffset); t !== NONE; t = tcbSchedNext(state, t)) {
    if (state.debug && members.length > 1 << 20) fail(`the queue of ${obj.toString(16)} is cyclic`);
    members.push(t);
  }
  return members;
}

/**
 * Finalising a thread (its last cap deleted, finaliseCap): unbound from its scheduling
 * context (whose yielder gets its answer) and suspended; its slots are emptied through its Zombie.
 */
export function finaliseThread(state: ImplState, tcb: number): void {
  unbindNotification(state, tcb);
  const sc = tcbSchedContext(state, tcb);
  if (sc !== NONE) {
    schedContextUnbindTcb(state, sc);
    const yielder = scYieldFrom(state, sc);
    if (yielder !== NONE) completeYieldTo(state, yielder);
  }
  suspend(state, tcb);
}

// ---- TCB invocations ----

/** A cap to install in a TCB slot (installTCBCap): null deletes only. */
interface SlotUpdate {
  readonly cap: CapWords | null;
  readonly src: number;
}

export type TcbInvocation =
  | { readonly op: 'readRegisters'; readonly tcb: number; readonly suspendSource: boolean; readonly count: number; readonly isCall: boolean }
  | { readonly op: 'writeRegisters'; readonly tcb: number; readonly resumeTarget: boolean; readonly values: readonly Word[] }
  | {
      readonly op: 'copyRegisters'; readonly tcb: number; readonly source: number; readonly suspendSource: boolean;
      readonly resumeTarget: boolean; readonly transferFrame: boolean; readonly transferInteger: boolean;
    }
  | { readonly op: 'suspend'; readonly tcb: number }
  | { readonly op: 'resume'; readonly tcb: number }
  | {
      /** invokeTCB_ThreadControlCaps: slot updates in seL4's order (fault, timeout, CSpace, VSpace), then the IPC buffer. */
      readonly op: 'threadControlCaps'; readonly tcb: number; readonly invoked: number;
      readonly slots: readonly (readonly [number, SlotUpdate])[];
      readonly ipcBuffer: { readonly vaddr: number; readonly update: SlotUpdate | null } | null;
    }
  | {
      /** invokeTCB_ThreadControlSched: fault handler, MCP, priority, SC (NONE: unbind), each if given. */
      readonly op: 'threadControlSched'; readonly tcb: number; readonly invoked: number;
      readonly faultHandler: SlotUpdate | null; readonly mcp: number | null; readonly priority: number | null;
      readonly sc: number | null;
    }
  | { readonly op: 'setTLSBase'; readonly tcb: number; readonly tlsBase: Word }
  /** invokeTCB_NotificationControl: bind `ntfn`, or unbind the bound one when NONE. */
  | { readonly op: 'notificationControl'; readonly tcb: number; readonly ntfn: number }
  | { readonly op: 'setFlags'; readonly tcb: number; readonly clear: Word; readonly set: Word; readonly isCall: boolean };

type Decoded = TcbInvocation | SyscallError;

/** decodeTCBInvocation: by label, each with seL4's checks in seL4's order. */
export function decodeTcbInvocation(state: ImplState, ctx: InvocationContext, isCall: boolean, invoked: number): Decoded {
  const tcb = capPtr(slotW0(state, invoked), slotW1(state, invoked));
  const arg = (i: number): Word => syscallArg(state, ctx, i) >>> 0;
  switch (ctx.label) {
    case InvocationLabel.TCBReadRegisters: {
      if (ctx.length < 2) return { error: 'TruncatedMessage' };
      const flags = arg(0);
      const count = arg(1);
      if (count < 1 || count > frameRegisterCount + gpRegisterCount) return { error: 'RangeError', min: 1, max: frameRegisterCount + gpRegisterCount };
      if (tcb === state.current) return { error: 'IllegalOperation' };
      return { op: 'readRegisters', tcb, suspendSource: (flags & 1) !== 0, count, isCall };
    }
    case InvocationLabel.TCBWriteRegisters: {
      if (ctx.length < 2) return { error: 'TruncatedMessage' };
      const flags = arg(0);
      const count = arg(1);
      if (ctx.length - 2 < count) return { error: 'TruncatedMessage' };
      if (tcb === state.current) return { error: 'IllegalOperation' };
      const n = Math.min(count, numRegisters);
      return { op: 'writeRegisters', tcb, resumeTarget: (flags & 1) !== 0, values: Array.from({ length: n }, (_, i) => arg(i + 2)) };
    }
    case InvocationLabel.TCBCopyRegisters: {
      if (ctx.length < 1 || ctx.extraCaps.length < 1) return { error: 'TruncatedMessage' };
      const flags = arg(0);
      const source = ctx.extraCaps[0]!;
      if (capTag(slotW0(state, source)) !== CapTag.thread) return { error: 'InvalidCapability', capIndex: 1 };
      return {
        op: 'copyRegisters', tcb, source: capPtr(slotW0(state, source), slotW1(state, source)),
        suspendSource: (flags & 1) !== 0, resumeTarget: (flags & 2) !== 0, transferFrame: (flags & 4) !== 0, transferInteger: (flags & 8) !== 0,
      };
    }
    case InvocationLabel.TCBSuspend:
      return { op: 'suspend', tcb };
    case InvocationLabel.TCBResume:
      return { op: 'resume', tcb };
    case InvocationLabel.TCBConfigure:
      return decodeConfigure(state, ctx, tcb, invoked);
    case InvocationLabel.TCBSetPriority:
    case InvocationLabel.TCBSetMCPriority: {
      if (ctx.length < 1 || ctx.extraCaps.length < 1) return { error: 'TruncatedMessage' };
      const value = arg(0);
      const auth = authority(state, ctx.extraCaps[0]!);
      if (typeof auth !== 'number') return auth;
      const bad = checkPrio(state, value, auth);
      if (bad !== null) return bad;
      const isPriority = ctx.label === InvocationLabel.TCBSetPriority;
      return { op: 'threadControlSched', tcb, invoked, faultHandler: null, mcp: isPriority ? null : value, priority: isPriority ? value : null, sc: null };
    }
    case InvocationLabel.TCBSetSchedParams:
      return decodeSetSchedParams(state, ctx, tcb, invoked);
    case InvocationLabel.TCBSetTimeoutEndpoint: {
      if (ctx.extraCaps.length < 1) return { error: 'TruncatedMessage' };
      const handler = ctx.extraCaps[0]!;
      if (!validFaultHandler(state, handler)) return { error: 'InvalidCapability', capIndex: 1 };
      return { op: 'threadControlCaps', tcb, invoked, slots: [[4, slotUpdate(state, handler)]], ipcBuffer: null };
    }
    case InvocationLabel.TCBSetIPCBuffer: {
      if (ctx.length < 1 || ctx.extraCaps.length < 1) return { error: 'TruncatedMessage' };
      const ipcBuffer = decodeIpcBuffer(state, arg(0), ctx.extraCaps[0]!);
      if ('error' in ipcBuffer) return ipcBuffer;
      return { op: 'threadControlCaps', tcb, invoked, slots: [], ipcBuffer };
    }
    case InvocationLabel.TCBSetSpace:
      return decodeSetSpace(state, ctx, tcb, invoked);
    case InvocationLabel.TCBBindNotification:
      return decodeBindNotification(state, ctx, tcb);
    case InvocationLabel.TCBUnbindNotification:
      if (tcbBoundNotification(state, tcb) === NONE) return { error: 'IllegalOperation' };
      return { op: 'notificationControl', tcb, ntfn: NONE };
    case InvocationLabel.TCBSetTLSBase:
      if (ctx.length < 1) return { error: 'TruncatedMessage' };
      return { op: 'setTLSBase', tcb, tlsBase: arg(0) };
    case InvocationLabel.TCBSetFlags:
      if (ctx.length < 2) return { error: 'TruncatedMessage' };
      return { op: 'setFlags', tcb, clear: arg(0), set: arg(1), isCall };
    default:
      return { error: 'IllegalOperation' };
  }
}

/**
 * decodeBindNotification: a notification cap (extra cap 0) with Read, for a thread with no
 * bound notification; the notification must have no waiters and no bound thread.
 */
function decodeBindNotification(state: ImplState, ctx: InvocationContext, tcb: number): Decoded {
  if (ctx.extraCaps.length < 1) return { error: 'TruncatedMessage' };
  if (tcbBoundNotification(state, tcb) !== NONE) return { error: 'IllegalOperation' };
  const slot = ctx.extraCaps[0]!;
  const w0 = slotW0(state, slot);
  const w1 = slotW1(state, slot);
  if (capTag(w0) !== CapTag.notification || !canReceive(w1)) return { error: 'IllegalOperation' };
  const ntfn = capPtr(w0, w1);
  if (!ntfnQueueEmpty(state, ntfn) || ntfnBoundTcb(state, ntfn) !== NONE) return { error: 'IllegalOperation' };
  return { op: 'notificationControl', tcb, ntfn };
}

/** The authority cap of a priority change must be a thread cap (InvalidCapability 1). */
function authority(state: ImplState, slot: number): number | SyscallError {
  const w0 = slotW0(state, slot);
  if (capTag(w0) !== CapTag.thread) return { error: 'InvalidCapability', capIndex: 1 };
  return capPtr(w0, slotW1(state, slot));
}

/** checkPrio: no more than the authority's MCP. */
function checkPrio(state: ImplState, prio: number, auth: number): SyscallError | null {
  const mcp = tcbMCP(state, auth);
  return prio > mcp ? { error: 'RangeError', min: 0, max: mcp } : null;
}

/** validFaultHandler (MCS): a null cap, or an endpoint cap with Send and Grant or GrantReply. */
function validFaultHandler(state: ImplState, slot: number): boolean {
  const w0 = slotW0(state, slot);
  switch (capTag(w0)) {
    case CapTag.null:
      return true;
    case CapTag.endpoint: {
      const rights = capRightsBits(slotW1(state, slot));
      return (rights & 1) !== 0 && (rights & 0xc) !== 0;
    }
    default:
      return false;
  }
}

function slotUpdate(state: ImplState, slot: number): SlotUpdate {
  const w0 = slotW0(state, slot);
  return { cap: capTag(w0) === CapTag.null ? null : { w0, w1: slotW1(state, slot) }, src: slot };
}

/** slotCapLongRunningDelete: the slot holds the last cap to a thread or CNode, or a Zombie. */
function longRunningDelete(state: ImplState, slot: number): boolean {
  if (isNullSlot(state, slot) || !isFinalCapability(state, slot)) return false;
  const tag = capTag(slotW0(state, slot));
  return tag === CapTag.thread || tag === CapTag.cnode || tag === CapTag.zombie;
}

/** The IPC buffer argument: address 0 clears it; otherwise a derived non-device frame cap at a 512-byte aligned address. */
function decodeIpcBuffer(state: ImplState, vaddr: Word, slot: number): { readonly vaddr: number; readonly update: SlotUpdate | null } | SyscallError {
  if (vaddr === 0) return { vaddr, update: null };
  const cap: CapWords = { w0: slotW0(state, slot), w1: slotW1(state, slot) };
  const derived = deriveCap(state, slot, cap);
  if (derived !== null) return derived;
  // checkValidIPCBuffer
  if (capTag(cap.w0) !== CapTag.frame || frameIsDevice(cap.w0)) return { error: 'IllegalOperation' };
  if (vaddr % 2 ** seL4_IPCBufferSizeBits !== 0) return { error: 'AlignmentError' };
  return { vaddr, update: { cap, src: slot } };
}

/** The new CSpace and VSpace roots (updateCapData when data is given, deriveCap, type checks). */
function decodeRoots(state: ImplState, tcb: number, cRootData: Word, cRoot: number, vRootData: Word, vRoot: number): [SlotUpdate, SlotUpdate] | SyscallError {
  if (longRunningDelete(state, tcbSlot(tcb, 0)) || longRunningDelete(state, tcbSlot(tcb, 1))) return { error: 'IllegalOperation' };
  const cCap: CapWords = { w0: slotW0(state, cRoot), w1: slotW1(state, cRoot) };
  if (cRootData !== 0) updateCapData(cCap, false, cRootData);
  const cError = deriveCap(state, cRoot, cCap);
  if (cError !== null) return cError;
  if (capTag(cCap.w0) !== CapTag.cnode) return { error: 'IllegalOperation' };
  const vCap: CapWords = { w0: slotW0(state, vRoot), w1: slotW1(state, vRoot) };
  if (vRootData !== 0) updateCapData(vCap, false, vRootData);
  const vError = deriveCap(state, vRoot, vCap);
  if (vError !== null) return vError;
  // isValidVTableRoot (riscv): a mapped page table
  if (capTag(vCap.w0) !== CapTag.pagetable || !mappedFlag(vCap.w0)) return { error: 'IllegalOperation' };
  return [{ cap: cCap, src: cRoot }, { cap: vCap, src: vRoot }];
}

/** decodeTCBConfigure (MCS): [cspace data, vspace data, buffer] caps [cspace, vspace, buffer frame]. */
function decodeConfigure(state: ImplState, ctx: InvocationContext, tcb: number, invoked: number): Decoded {
  if (ctx.length < 3 || ctx.extraCaps.length < 3) return { error: 'TruncatedMessage' };
  const ipcBuffer = decodeIpcBuffer(state, syscallArg(state, ctx, 2) >>> 0, ctx.extraCaps[2]!);
  if ('error' in ipcBuffer) return ipcBuffer;
  const roots = decodeRoots(state, tcb, syscallArg(state, ctx, 0) >>> 0, ctx.extraCaps[0]!, syscallArg(state, ctx, 1) >>> 0, ctx.extraCaps[1]!);
  if ('error' in roots) return roots;
  return { op: 'threadControlCaps', tcb, invoked, slots: [[0, roots[0]], [1, roots[1]]], ipcBuffer };
}

/** decodeSetSpace (MCS): [cspace data, vspace data] caps [fault ep, cspace, vspace]. */
function decodeSetSpace(state: ImplState, ctx: InvocationContext, tcb: number, invoked: number): Decoded {
  if (ctx.length < 2 || ctx.extraCaps.length < 3) return { error: 'TruncatedMessage' };
  const roots = decodeRoots(state, tcb, syscallArg(state, ctx, 0) >>> 0, ctx.extraCaps[1]!, syscallArg(state, ctx, 1) >>> 0, ctx.extraCaps[2]!);
  if ('error' in roots) return roots;
  const handler = ctx.extraCaps[0]!;
  if (!validFaultHandler(state, handler)) return { error: 'InvalidCapability', capIndex: 1 };
  return { op: 'threadControlCaps', tcb, invoked, slots: [[3, slotUpdate(state, handler)], [0, roots[0]], [1, roots[1]]], ipcBuffer: null };
}

/** decodeSetSchedParams (MCS): [mcp, priority] caps [authority, sched context or null, fault ep]. */
function decodeSetSchedParams(state: ImplState, ctx: InvocationContext, tcb: number, invoked: number): Decoded {
  if (ctx.length < 2 || ctx.extraCaps.length < 3) return { error: 'TruncatedMessage' };
  const mcp = syscallArg(state, ctx, 0) >>> 0;
  const priority = syscallArg(state, ctx, 1) >>> 0;
  const auth = authority(state, ctx.extraCaps[0]!);
  if (typeof auth !== 'number') return auth;
  const badMcp = checkPrio(state, mcp, auth);
  if (badMcp !== null) return badMcp;
  const badPrio = checkPrio(state, priority, auth);
  if (badPrio !== null) return badPrio;
  const scSlot = ctx.extraCaps[1]!;
  const scW0 = slotW0(state, scSlot);
  let sc = NONE;
  switch (capTag(scW0)) {
    case CapTag.schedcontext: {
      sc = capPtr(scW0, slotW1(state, scSlot));
      const bound = tcbSchedContext(state, tcb);
      if (bound !== sc) {
        if (bound !== NONE) return { error: 'IllegalOperation' };
        if (scTcb(state, sc) !== NONE) return { error: 'IllegalOperation' };
      }
      if (isBlocked(state, tcb) && !scReleased(state, sc)) return { error: 'IllegalOperation' };
      break;
    }
    case CapTag.null:
      if (tcb === state.current) return { error: 'IllegalOperation' };
      break;
    default:
      return { error: 'InvalidCapability', capIndex: 2 };
  }
  const handler = ctx.extraCaps[2]!;
  if (!validFaultHandler(state, handler)) return { error: 'InvalidCapability', capIndex: 3 };
  return {
    op: 'threadControlSched', tcb, invoked, faultHandler: slotUpdate(state, handler), mcp, priority,
    sc: tcbSchedContext(state, tcb) !== sc ? sc : null,
  };
}

/** invokeTCB_*: ThreadControlCaps and ThreadControlSched may be preempted (a cap deletion), the others never stop. */
export function performTcbInvocation(state: ImplState, inv: TcbInvocation): PreemptionStatus {
  if (inv.op === 'threadControlCaps') return threadControlCaps(state, inv);
  if (inv.op === 'threadControlSched') return threadControlSched(state, inv);
  performUnpreemptible(state, inv);
  return statusNone;
}

function performUnpreemptible(state: ImplState, inv: Exclude<TcbInvocation, { op: 'threadControlCaps' | 'threadControlSched' }>): void {
  switch (inv.op) {
    case 'readRegisters':
      return readRegistersInto(state, inv.tcb, inv.suspendSource, inv.count, inv.isCall);
    case 'writeRegisters':
      return writeRegisters(state, inv.tcb, inv.resumeTarget, inv.values);
    case 'copyRegisters':
      return copyRegisters(state, inv);
    case 'suspend':
      return suspend(state, inv.tcb);
    case 'resume':
      return restart(state, inv.tcb);
    case 'setTLSBase':
      // invokeSetTLSBase: riscv's TLS_BASE is tp
      setRegister(state, inv.tcb, Reg.tp, inv.tlsBase);
      if (inv.tcb === state.current) rescheduleRequired(state);
      return;
    case 'notificationControl':
      if (inv.ntfn === NONE) unbindNotification(state, inv.tcb);
      else bindNotification(state, inv.tcb, inv.ntfn);
      return;
    case 'setFlags':
      return setFlags(state, inv.tcb, inv.clear, inv.set, inv.isCall);
  }
}

/** The invoked cap still names the target thread (sameObjectAs(tCap, slot->cap)). */
function stillNamesThread(state: ImplState, invoked: number, tcb: number): boolean {
  const w0 = slotW0(state, invoked);
  return capTag(w0) === CapTag.thread && capPtr(w0, slotW1(state, invoked)) === tcb;
}

/** installTCBCap: the slot is emptied (preemptible: then nothing is inserted), then given the new cap if its source and the invoked cap survived. */
function installTcbCap(state: ImplState, tcb: number, invoked: number, index: number, update: SlotUpdate): PreemptionStatus {
  const slot = tcbSlot(tcb, index);
  if (deleteSlot(state, slot) === statusPreempted) return statusPreempted;
  insertIfSourcesSurvived(state, tcb, invoked, update, slot);
  return statusNone;
}

/** The new cap goes in only if its source slot still holds a cap to the same object and the invoked cap still names the thread. */
function insertIfSourcesSurvived(state: ImplState, tcb: number, invoked: number, update: SlotUpdate, slot: number): void {
  const cap = update.cap;
  if (cap === null) return;
  if (sameObjectAs(cap.w0, cap.w1, slotW0(state, update.src), slotW1(state, update.src)) && stillNamesThread(state, invoked, tcb)) {
    cteInsert(state, cap.w0, cap.w1, update.src, slot);
  }
}

/** invokeTCB_ThreadControlCaps: slots in the decoder's order; a preempted deletion stops it there (slots before it stay replaced). */
function threadControlCaps(state: ImplState, inv: Extract<TcbInvocation, { op: 'threadControlCaps' }>): PreemptionStatus {
  for (const [index, update] of inv.slots) {
    if (installTcbCap(state, inv.tcb, inv.invoked, index, update) === statusPreempted) return statusPreempted;
  }
  if (inv.ipcBuffer === null) return statusNone;
  if (deleteSlot(state, tcbSlot(inv.tcb, 2)) === statusPreempted) return statusPreempted;
  writeObjectWord(state, inv.tcb, IPC_BUFFER_VADDR, inv.ipcBuffer.vaddr);
  if (inv.ipcBuffer.update !== null) insertIfSourcesSurvived(state, inv.tcb, inv.invoked, inv.ipcBuffer.update, tcbSlot(inv.tcb, 2));
  if (inv.tcb === state.current) rescheduleRequired(state);
  return statusNone;
}

/** invokeTCB_ThreadControlSched: the fault handler's deletion is the one preemptible step. */
function threadControlSched(state: ImplState, inv: Extract<TcbInvocation, { op: 'threadControlSched' }>): PreemptionStatus {
  if (inv.faultHandler !== null && installTcbCap(state, inv.tcb, inv.invoked, 3, inv.faultHandler) === statusPreempted) return statusPreempted;
  if (inv.mcp !== null) writeObjectWord(state, inv.tcb, MCP, inv.mcp);
  if (inv.priority !== null) setPriority(state, inv.tcb, inv.priority);
  if (inv.sc !== null) {
    if (inv.sc !== NONE) schedContextBindTcb(state, inv.sc, inv.tcb);
    else schedContextUnbindTcb(state, tcbSchedContext(state, inv.tcb));
  }
  return statusNone;
}

/**
 * invokeTCB_ReadRegisters: the first `count` registers (frame registers, then integer
 * registers) as the reply's message words; those past the message registers go to the IPC
 * buffer, or are left out without one.
 */
function readRegistersInto(state: ImplState, source: number, suspendSource: boolean, count: number, isCall: boolean): void {
  const thread = state.current ?? fail('ReadRegisters without a current thread');
  if (suspendSource) suspend(state, source);
  if (isCall) {
    const hasBuffer = ipcBufferAddr(state, thread, 'receiver') !== NONE;
    let length = 0;
    for (let i = 0; i < count; i++) {
      if (i >= msgRegisters.length && !hasBuffer) break;
      setMR(state, thread, i, getRegister(state, source, i));
      length = i + 1;
    }
    replyWords(state, thread, length);
  }
  setThreadState(state, thread, ThreadStateNum.Running);
}

/** invokeTCB_WriteRegisters: the given registers in order (riscv sanitises none), then an optional restart. */
function writeRegisters(state: ImplState, tcb: number, resumeTarget: boolean, values: readonly Word[]): void {
  values.forEach((value, reg) => setRegister(state, tcb, reg, value));
  if (resumeTarget) restart(state, tcb);
  if (tcb === state.current) rescheduleRequired(state);
}

/** invokeTCB_CopyRegisters. */
function copyRegisters(state: ImplState, inv: Extract<TcbInvocation, { op: 'copyRegisters' }>): void {
  if (inv.suspendSource) suspend(state, inv.source);
  if (inv.resumeTarget) restart(state, inv.tcb);
  if (inv.transferFrame) for (let reg = 0; reg < frameRegisterCount; reg++) setRegister(state, inv.tcb, reg, getRegister(state, inv.source, reg));
  if (inv.transferInteger) for (let reg = frameRegisterCount; reg < numRegisters; reg++) setRegister(state, inv.tcb, reg, getRegister(state, inv.source, reg));
  if (inv.tcb === state.current) rescheduleRequired(state);
}

/** invokeSetFlags: the flags now set are replied in MR0 to a Call. */
function setFlags(state: ImplState, tcb: number, clear: Word, set: Word, isCall: boolean): void {
  const thread = state.current ?? fail('SetFlags without a current thread');
  const flags = ((readWord(state, tcb + FLAGS) & ~clear) | (set & tcbFlagMask)) >>> 0;
  writeObjectWord(state, tcb, FLAGS, flags);
  if (isCall) {
    setMR(state, thread, 0, flags);
    replyWords(state, thread, 1);
  }
  setThreadState(state, thread, ThreadStateNum.Running);
}

// ---- the view ----

/** A TCB's fields as the view shows them, plus its registers. */
export type TcbRecord = Omit<Extract<ObjectView, { readonly type: 'tcb' }>, 'type' | 'addr'> & { readonly regs: readonly Word[] };

/** The TCB's fields as plain data. */
export function decodeTcb(state: ImplState, tcb: number): TcbRecord {
  const sc = tcbSchedContext(state, tcb);
  const yieldToSc = tcbYieldTo(state, tcb);
  const ntfn = tcbBoundNotification(state, tcb);
  return {
    state: threadStates[threadState(state, tcb)] ?? fail(`TCB ${tcb.toString(16)} has an invalid thread state`),
    priority: readWord(state, tcb + PRIORITY),
    mcp: readWord(state, tcb + MCP),
    domain: readWord(state, tcb + DOMAIN),
    schedContext: sc === NONE ? null : sc,
    ipcBufferVaddr: readWord(state, tcb + IPC_BUFFER_VADDR),
    flags: readWord(state, tcb + FLAGS),
    yieldTo: yieldToSc === NONE ? null : yieldToSc,
    boundNotification: ntfn === NONE ? null : ntfn,
    blocking: blockingView(state, tcb, threadState(state, tcb)),
    fault: faultView(state, tcb),
    regs: readRegisters(state, tcb),
  };
}

export function readRegisters(state: ImplState, tcb: number): Word[] {
  return state.mem.words((tcb + REGISTERS - state.ramBase) >>> 2, numRegisters);
}
