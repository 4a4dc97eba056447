// Threads: state, registers and IPC buffer of a TCB, suspend and restart, finalisation, and the
// TCB invocations (seL4's tcb.c, thread.c).
import {
  badgeRegister,
  InvocationLabel,
  ipcBufferWords,
  maskBits,
  msgInfoRegister,
  msgRegisters,
  numRegisters,
  Reg,
  seL4_CanGrant,
  seL4_CanGrantReply,
  seL4_CanWrite,
  seL4_IPCBufferSizeBits,
  seL4_MessageInfo_new,
  TCBSlot,
  type BlockingView,
  type Cap,
  type CapOf,
  type SlotRef,
  type SyscallError,
  type ThreadState,
  type Word,
  ipcBufferRightsAllow,
  type IPCBufferAccess,
} from '../libsel4/index.ts';
import { cteDelete, cteInsert, deriveCap, isFinalCapability } from './cnode.ts';
import { isSyscallError } from './cspace.ts';
import { cancelIPC, reorderEp } from './endpoint.ts';
import { bindNotification, canReceive, notification, reorderNtfn, unbindNotification } from './notification.ts';
import { ipcBufferAddress, sameObjectAs, updateCapData } from './objects.ts';
import {
  cancelYieldTo,
  completeYieldTo,
  scReleased,
  schedContextAt,
  schedContextBindTCB,
  schedContextResume,
  schedContextUnbindTCB,
  unblockIfSporadic,
} from './schedcontext.ts';
import {
  isQueued,
  isSchedulable,
  possibleSwitchTo,
  rescheduleRequired,
  scheduleTCB,
  tcbReleaseRemove,
  tcbSchedDequeue,
  tcbSchedEnqueue,
} from './scheduler.ts';
import { getCap, getTCB, userWord, type ExecState, type Step, type TCBObject } from './state.ts';
import type { InvocationArgs } from './syscall.ts';

/** seL4_TCBFlag_MASK on riscv32 with an FPU: only fpuDisabled. */
const tcbFlagMask = 0x1;
/** n_frameRegisters + n_gpRegisters: pc, ra, sp, gp, s0-s11, then a0-a7, t0-t6, tp (seL4_UserContext order). */
const frameRegisterCount = 16;

/** Whether a thread state is one of the BlockedOn* states, which carry blocking fields. */
function isBlockedState(state: ThreadState): boolean {
  return state === 'BlockedOnReceive' || state === 'BlockedOnSend' || state === 'BlockedOnNotification' || state === 'BlockedOnReply';
}

/**
 * setThreadState, with scheduleTCB: a current thread that can no longer run forces a new choice.
 * A BlockedOn* state comes with its blocking fields, any other state with none.
 */
export function setThreadState(k: Step, tcbAddr: number, state: ThreadState, blocking: BlockingView | null = null): void {
  if (isBlockedState(state) !== (blocking !== null)) throw new Error(`executable spec invariant: thread state ${state} with blocking fields ${blocking === null ? 'absent' : 'present'}`);
  const tcb = k.tcb(tcbAddr);
  if (tcb.state !== state || tcb.blocking !== blocking) k.setObject({ ...tcb, state, blocking });
  scheduleTCB(k, tcbAddr);
}

/** doNBRecvFailedTransfer: a non-blocking receive that found nothing gets badge 0. */
export function doNBRecvFailedTransfer(k: Step, thread: number): void {
  setRegisters(k, thread, [[badgeRegister, 0]]);
}

/** restartThreadIfNoFault: a thread dequeued from an endpoint restarts, unless a fault is pending: then it is Inactive. */
export function restartThreadIfNoFault(k: Step, tcbAddr: number): void {
  if (k.tcb(tcbAddr).fault !== null) setThreadState(k, tcbAddr, 'Inactive');
  else restartBlockedThread(k, tcbAddr);
}

/** A dequeued thread restarts its syscall and may run. */
export function restartBlockedThread(k: Step, tcbAddr: number): void {
  setThreadState(k, tcbAddr, 'Restart');
  unblockIfSporadic(k, k.tcb(tcbAddr).schedContext);
  possibleSwitchTo(k, tcbAddr);
}

/** isRunnable: Running or Restart. */
export function isRunnable(tcb: TCBObject): boolean {
  return tcb.state === 'Running' || tcb.state === 'Restart';
}

/** isBlocked: waiting on an endpoint, notification or reply. */
export function isBlocked(tcb: TCBObject): boolean {
  return isBlockedState(tcb.state);
}

/** isStopped: blocked or Inactive. */
function isStopped(tcb: TCBObject): boolean {
  return tcb.state === 'Inactive' || isBlocked(tcb);
}

/** Writes registers (seL4_UserContext indices; other indices are ignored). */
export function setRegisters(k: Step, tcbAddr: number, writes: ReadonlyArray<readonly [number, Word]>): void {
  if (writes.length === 0) return;
  const tcb = k.tcb(tcbAddr);
  const regs = tcb.regs.slice();
  for (const [index, value] of writes) if (Number.isInteger(index) && index >= 0 && index < regs.length) regs[index] = value >>> 0;
  k.setObject({ ...tcb, regs });
}

export function getRegister(tcb: TCBObject, index: number): Word {
  return tcb.regs[index] ?? 0;
}

/** lookupIPCBuffer: the frame holding the thread's IPC buffer and the buffer's address, or null (none, or rights the access lacks). */
export function lookupIPCBuffer(state: ExecState, tcb: TCBObject, access: IPCBufferAccess): { frame: number; addr: number } | null {
  const bufferCap = getCap(state, { cnode: tcb.addr, index: TCBSlot.ipcBuffer });
  const addr = ipcBufferAddress(bufferCap, tcb.ipcBufferVaddr);
  if (addr === null || bufferCap.type !== 'frame' || !ipcBufferRightsAllow(bufferCap.vmRights, access)) return null;
  return { frame: bufferCap.ptr, addr };
}

export function readIPCBuffer(state: ExecState, buffer: { addr: number }, index: number): Word {
  return userWord(state, buffer.addr + 4 * index);
}

/** Writes IPC buffer words (word index, value); indices outside the 128-word buffer are ignored. */
export function writeIPCBuffer(k: Step, buffer: { frame: number; addr: number }, writes: ReadonlyArray<readonly [number, Word]>): void {
  for (const [index, value] of writes) {
    if (!Number.isInteger(index) || index < 0 || index >= ipcBufferWords) continue;
    k.setWord(buffer.addr + 4 * index, value);
    k.touchObject(buffer.frame);
  }
}

/** The 128 words of a thread's IPC buffer, or null if it has none. */
export function ipcBufferContents(state: ExecState, tcbAddr: number): Word[] | null {
  const tcb = getTCB(state, tcbAddr);
  const buffer = tcb === null ? null : lookupIPCBuffer(state, tcb, 'user');
  if (buffer === null) return null;
  const words = new Array<Word>(ipcBufferWords);
  for (let i = 0; i < ipcBufferWords; i++) words[i] = readIPCBuffer(state, buffer, i);
  return words;
}

/**
 * A reply from the kernel (replyFromKernel, setMR): badge 0, message word i in MR i (MR4 on go to
 * the IPC buffer; without one they are dropped and the length stops at 4), the given label.
 */
export function replyMessage(k: Step, thread: number, label: number, words: readonly Word[]): void {
  const buffer = lookupIPCBuffer(k.state, k.tcb(thread), 'receiver');
  const regs: [number, Word][] = [[badgeRegister, 0]];
  const bufferWrites: [number, Word][] = [];
  words.forEach((word, i) => {
    if (i < msgRegisters.length) regs.push([msgRegisters[i]!, word]);
    else if (buffer !== null) bufferWrites.push([1 + i, word]);
  });
  const length = buffer === null ? Math.min(words.length, msgRegisters.length) : words.length;
  regs.push([msgInfoRegister, seL4_MessageInfo_new(label, 0, 0, length)]);
  setRegisters(k, thread, regs);
  if (buffer !== null) writeIPCBuffer(k, buffer, bufferWrites);
}

/** A successful reply carrying message words. */
export function replyWords(k: Step, thread: number, words: readonly Word[]): void {
  replyMessage(k, thread, 0, words);
}

/** suspend: the thread leaves every queue, its YieldTo is cancelled, and it is Inactive. */
export function suspend(k: Step, tcbAddr: number): void {
  cancelIPC(k, tcbAddr);
  tcbSchedDequeue(k, tcbAddr);
  tcbReleaseRemove(k, tcbAddr);
  cancelYieldTo(k, tcbAddr);
  setThreadState(k, tcbAddr, 'Inactive');
}

/**
 * restart: a stopped thread restarts; its sporadic SC (not ksCurSC) is unblocked, it waits for a
 * release if its budget is not ready, and otherwise it may preempt (possibleSwitchTo).
 */
export function restart(k: Step, tcbAddr: number): void {
  if (!isStopped(k.tcb(tcbAddr))) return;
  cancelIPC(k, tcbAddr);
  setThreadState(k, tcbAddr, 'Restart');
  const sc = k.tcb(tcbAddr).schedContext;
  unblockIfSporadic(k, sc);
  schedContextResume(k, sc);
  if (isSchedulable(k, tcbAddr)) possibleSwitchTo(k, tcbAddr);
}

/**
 * finaliseCap for the last cap to a TCB: unbound from its notification and its SC (whose yielder
 * is answered), suspended.
 */
export function finaliseThread(k: Step, tcbAddr: number): void {
  unbindNotification(k, tcbAddr);
  const sc = k.tcb(tcbAddr).schedContext;
  if (sc !== null) {
    schedContextUnbindTCB(k, sc);
    const yieldFrom = schedContextAt(k, sc).yieldFrom;
    if (yieldFrom !== null) completeYieldTo(k, yieldFrom);
  }
  suspend(k, tcbAddr);
}

/**
 * setPriority (MCS): a queued or current thread is requeued at its new priority; a thread waiting
 * on an endpoint or notification takes its new place in that queue.
 */
function setPriority(k: Step, tcbAddr: number, priority: number): void {
  const tcb = k.tcb(tcbAddr);
  if (isBlocked(tcb)) {
    k.setObject({ ...tcb, priority });
    const object = tcb.blocking!.object;
    if (tcb.state === 'BlockedOnSend' || tcb.state === 'BlockedOnReceive') reorderEp(k, object!, tcbAddr);
    else if (tcb.state === 'BlockedOnNotification') reorderNtfn(k, object!, tcbAddr);
  } else if (isRunnable(tcb) && (isQueued(k, tcbAddr) || tcbAddr === k.state.current)) {
    tcbSchedDequeue(k, tcbAddr);
    k.setObject({ ...k.tcb(tcbAddr), priority });
    tcbSchedEnqueue(k, tcbAddr);
    rescheduleRequired(k);
  } else {
    k.setObject({ ...tcb, priority });
  }
}

// ---------------------------------------------------------------- TCB invocations

/** A cap to install in a TCB slot, and the slot it is copied from. */
interface NewCap {
  readonly cap: Cap;
  readonly src: SlotRef;
}

export type TCBInvocation =
  | { readonly kind: 'readRegisters'; readonly tcb: number; readonly suspendSource: boolean; readonly count: number }
  | { readonly kind: 'writeRegisters'; readonly tcb: number; readonly resumeTarget: boolean; readonly values: readonly Word[] }
  | {
      readonly kind: 'copyRegisters'; readonly tcb: number; readonly source: number; readonly suspendSource: boolean;
      readonly resumeTarget: boolean; readonly transferFrame: boolean; readonly transferInteger: boolean;
    }
  | { readonly kind: 'suspend'; readonly tcb: number }
  | { readonly kind: 'resume'; readonly tcb: number }
  | {
      readonly kind: 'threadControlCaps'; readonly tcb: number; readonly slot: SlotRef;
      readonly faultHandler?: NewCap; readonly timeoutHandler?: NewCap;
      readonly space?: { readonly cRoot: NewCap; readonly vRoot: NewCap };
      readonly ipcBuffer?: { readonly vaddr: Word; readonly frame: NewCap | null };
    }
  | {
      readonly kind: 'threadControlSched'; readonly tcb: number; readonly slot: SlotRef | null;
      readonly faultHandler?: NewCap; readonly mcp?: number; readonly priority?: number;
      /** Present when the bound SC changes: the new one, or null to unbind. */
      readonly schedContext?: number | null;
    }
  | { readonly kind: 'setTLSBase'; readonly tcb: number; readonly tlsBase: Word }
  /** invokeTCB_NotificationControl: bind `ntfn`, or unbind the bound one when null. */
  | { readonly kind: 'notificationControl'; readonly tcb: number; readonly ntfn: number | null }
  | { readonly kind: 'setFlags'; readonly tcb: number; readonly clear: Word; readonly set: Word };

/** checkPrio: a priority above the authority's MCP is a RangeError up to that MCP. */
function checkPrio(priority: Word, auth: TCBObject): SyscallError | null {
  return priority >>> 0 > auth.mcp ? { error: 'RangeError', min: 0, max: auth.mcp } : null;
}

/** validFaultHandler: no cap, or an endpoint cap with Send and Grant or GrantReply. */
function validFaultHandler(cap: Cap): boolean {
  if (cap.type === 'null') return true;
  return cap.type === 'endpoint' && (cap.rights & seL4_CanWrite) !== 0 && (cap.rights & (seL4_CanGrant | seL4_CanGrantReply)) !== 0;
}

/** slotCapLongRunningDelete: the slot holds the last cap to a CNode or thread, or a Zombie (a long deletion). */
function slotCapLongRunningDelete(k: Step, ref: SlotRef): boolean {
  const cap = k.cap(ref);
  if (cap.type === 'null' || !isFinalCapability(k.state, ref)) return false;
  return cap.type === 'cnode' || cap.type === 'thread' || cap.type === 'zombie';
}

/** checkValidIPCBuffer (riscv): a non-device frame cap, and a 512-byte aligned address. */
function checkValidIPCBuffer(vaddr: Word, cap: Cap): SyscallError | null {
  if (cap.type !== 'frame' || cap.isDevice) return { error: 'IllegalOperation' };
  if ((vaddr & maskBits(seL4_IPCBufferSizeBits)) !== 0) return { error: 'AlignmentError' };
  return null;
}

/** The new IPC buffer of Configure / SetIPCBuffer: none for address 0, else a derived, valid frame cap. */
function decodeIPCBuffer(k: Step, vaddr: Word, src: SlotRef): { vaddr: Word; frame: NewCap | null } | SyscallError {
  if (vaddr === 0) return { vaddr, frame: null };
  const derived = deriveCap(k.state, src, k.cap(src));
  if (isSyscallError(derived)) return derived;
  const invalid = checkValidIPCBuffer(vaddr, derived);
  return invalid ?? { vaddr, frame: { cap: derived, src } };
}

/** The CSpace and VSpace roots of Configure / SetSpace: guard data applied, derived, and checked. */
function decodeSpace(k: Step, tcb: number, cRootData: Word, cRoot: SlotRef, vRootData: Word, vRoot: SlotRef): { cRoot: NewCap; vRoot: NewCap } | SyscallError {
  if (slotCapLongRunningDelete(k, { cnode: tcb, index: TCBSlot.cspace }) || slotCapLongRunningDelete(k, { cnode: tcb, index: TCBSlot.vspace })) {
    return { error: 'IllegalOperation' };
  }
  const cCap = cRootData !== 0 ? updateCapData(false, cRootData, k.cap(cRoot)) : k.cap(cRoot);
  const cDerived = deriveCap(k.state, cRoot, cCap);
  if (isSyscallError(cDerived)) return cDerived;
  if (cDerived.type !== 'cnode') return { error: 'IllegalOperation' };
  const vCap = vRootData !== 0 ? updateCapData(false, vRootData, k.cap(vRoot)) : k.cap(vRoot);
  const vDerived = deriveCap(k.state, vRoot, vCap);
  if (isSyscallError(vDerived)) return vDerived;
  if (vDerived.type !== 'pagetable' || vDerived.mapped === null) return { error: 'IllegalOperation' };
  return { cRoot: { cap: cDerived, src: cRoot }, vRoot: { cap: vDerived, src: vRoot } };
}

/** The authority of SetPriority and friends: a thread cap (else InvalidCapability 1). */
function authority(k: Step, ref: SlotRef): TCBObject | SyscallError {
  const cap = k.cap(ref);
  return cap.type === 'thread' ? k.tcb(cap.ptr) : { error: 'InvalidCapability', capIndex: 1 };
}

/** decodeTCBInvocation: each label's checks in seL4's order. */
export function decodeTCBInvocation(k: Step, args: InvocationArgs, slot: SlotRef, cap: CapOf<'thread'>): TCBInvocation | SyscallError {
  const tcb = cap.ptr;
  const extra = args.extraCaps;
  const L = InvocationLabel;
  switch (args.label) {
    case L.TCBReadRegisters: {
      if (args.length < 2) return { error: 'TruncatedMessage' };
      const flags = args.arg(0);
      const count = args.arg(1) >>> 0;
      if (count < 1 || count > numRegisters) return { error: 'RangeError', min: 1, max: numRegisters };
      if (tcb === k.state.current) return { error: 'IllegalOperation' };
      return { kind: 'readRegisters', tcb, suspendSource: (flags & 1) !== 0, count };
    }
    case L.TCBWriteRegisters: {
      if (args.length < 2) return { error: 'TruncatedMessage' };
      const flags = args.arg(0);
      const count = args.arg(1) >>> 0;
      if (args.length - 2 < count) return { error: 'TruncatedMessage' };
      if (tcb === k.state.current) return { error: 'IllegalOperation' };
      const values = Array.from({ length: Math.min(count, numRegisters) }, (_, i) => args.arg(i + 2));
      return { kind: 'writeRegisters', tcb, resumeTarget: (flags & 1) !== 0, values };
    }
    case L.TCBCopyRegisters: {
      if (args.length < 1 || extra[0] === undefined) return { error: 'TruncatedMessage' };
      const flags = args.arg(0);
      const source = k.cap(extra[0]);
      if (source.type !== 'thread') return { error: 'InvalidCapability', capIndex: 1 };
      return {
        kind: 'copyRegisters', tcb, source: source.ptr, suspendSource: (flags & 1) !== 0, resumeTarget: (flags & 2) !== 0,
        transferFrame: (flags & 4) !== 0, transferInteger: (flags & 8) !== 0,
      };
    }
    case L.TCBSuspend:
      return { kind: 'suspend', tcb };
    case L.TCBResume:
      return { kind: 'resume', tcb };
    case L.TCBConfigure: {
      if (args.length < 3 || extra[0] === undefined || extra[1] === undefined || extra[2] === undefined) return { error: 'TruncatedMessage' };
      const ipcBuffer = decodeIPCBuffer(k, args.arg(2), extra[2]);
      if (isSyscallError(ipcBuffer)) return ipcBuffer;
      const space = decodeSpace(k, tcb, args.arg(0), extra[0], args.arg(1), extra[1]);
      if (isSyscallError(space)) return space;
      return { kind: 'threadControlCaps', tcb, slot, space, ipcBuffer };
    }
    case L.TCBSetPriority:
    case L.TCBSetMCPriority: {
      if (args.length < 1 || extra[0] === undefined) return { error: 'TruncatedMessage' };
      const value = args.arg(0) >>> 0;
      const auth = authority(k, extra[0]);
      if (isSyscallError(auth)) return auth;
      const tooHigh = checkPrio(value, auth);
      if (tooHigh !== null) return tooHigh;
      return args.label === L.TCBSetPriority
        ? { kind: 'threadControlSched', tcb, slot: null, priority: value }
        : { kind: 'threadControlSched', tcb, slot: null, mcp: value };
    }
    case L.TCBSetSchedParams:
      return decodeSetSchedParams(k, args, slot, tcb);
    case L.TCBSetIPCBuffer: {
      if (args.length < 1 || extra[0] === undefined) return { error: 'TruncatedMessage' };
      const ipcBuffer = decodeIPCBuffer(k, args.arg(0), extra[0]);
      if (isSyscallError(ipcBuffer)) return ipcBuffer;
      return { kind: 'threadControlCaps', tcb, slot, ipcBuffer };
    }
    case L.TCBSetSpace: {
      if (args.length < 2 || extra[0] === undefined || extra[1] === undefined || extra[2] === undefined) return { error: 'TruncatedMessage' };
      const space = decodeSpace(k, tcb, args.arg(0), extra[1], args.arg(1), extra[2]);
      if (isSyscallError(space)) return space;
      const faultCap = k.cap(extra[0]);
      if (!validFaultHandler(faultCap)) return { error: 'InvalidCapability', capIndex: 1 };
      return { kind: 'threadControlCaps', tcb, slot, faultHandler: { cap: faultCap, src: extra[0] }, space };
    }
    case L.TCBSetTimeoutEndpoint: {
      if (extra[0] === undefined) return { error: 'TruncatedMessage' };
      const handler = k.cap(extra[0]);
      if (!validFaultHandler(handler)) return { error: 'InvalidCapability', capIndex: 1 };
      return { kind: 'threadControlCaps', tcb, slot, timeoutHandler: { cap: handler, src: extra[0] } };
    }
    case L.TCBBindNotification:
      return decodeBindNotification(k, args, tcb);
    case L.TCBUnbindNotification:
      if (k.tcb(tcb).boundNotification === null) return { error: 'IllegalOperation' };
      return { kind: 'notificationControl', tcb, ntfn: null };
    case L.TCBSetTLSBase:
      if (args.length < 1) return { error: 'TruncatedMessage' };
      return { kind: 'setTLSBase', tcb, tlsBase: args.arg(0) };
    case L.TCBSetFlags:
      if (args.length < 2) return { error: 'TruncatedMessage' };
      return { kind: 'setFlags', tcb, clear: args.arg(0), set: args.arg(1) };
    default:
      return { error: 'IllegalOperation' };
  }
}

/**
 * decodeBindNotification: a notification cap (extra cap 0) with Read, for a thread with no
 * bound notification; the notification must have no waiters and no bound thread.
 */
function decodeBindNotification(k: Step, args: InvocationArgs, tcb: number): TCBInvocation | SyscallError {
  const extra = args.extraCaps[0];
  if (extra === undefined) return { error: 'TruncatedMessage' };
  if (k.tcb(tcb).boundNotification !== null) return { error: 'IllegalOperation' };
  const cap = k.cap(extra);
  if (cap.type !== 'notification' || !canReceive(cap)) return { error: 'IllegalOperation' };
  const ntfn = notification(k, cap.ptr);
  if (ntfn.queue.length > 0 || ntfn.tcb !== null) return { error: 'IllegalOperation' };
  return { kind: 'notificationControl', tcb, ntfn: cap.ptr };
}

/** decodeSetSchedParams (MCS): MCP, priority, the SC to bind (or null to unbind) and the fault handler. */
function decodeSetSchedParams(k: Step, args: InvocationArgs, slot: SlotRef, tcb: number): TCBInvocation | SyscallError {
  const [authSlot, scSlot, faultSlot] = args.extraCaps;
  if (args.length < 2 || authSlot === undefined || scSlot === undefined || faultSlot === undefined) return { error: 'TruncatedMessage' };
  const mcp = args.arg(0) >>> 0;
  const priority = args.arg(1) >>> 0;
  const auth = authority(k, authSlot);
  if (isSyscallError(auth)) return auth;
  const tooHigh = checkPrio(mcp, auth) ?? checkPrio(priority, auth);
  if (tooHigh !== null) return tooHigh;
  const target = k.tcb(tcb);
  const scCap = k.cap(scSlot);
  let sc: number | null;
  if (scCap.type === 'schedcontext') {
    sc = scCap.ptr;
    if (target.schedContext !== sc && (target.schedContext !== null || schedContextAt(k, sc).tcb !== null)) return { error: 'IllegalOperation' };
    if (isBlocked(target) && !scReleased(schedContextAt(k, sc), k.sched.curTimeTicks)) return { error: 'IllegalOperation' };
  } else if (scCap.type === 'null') {
    sc = null;
    if (tcb === k.state.current) return { error: 'IllegalOperation' };
  } else {
    return { error: 'InvalidCapability', capIndex: 2 };
  }
  const faultCap = k.cap(faultSlot);
  if (!validFaultHandler(faultCap)) return { error: 'InvalidCapability', capIndex: 3 };
  const change = target.schedContext !== sc ? { schedContext: sc } : {};
  return { kind: 'threadControlSched', tcb, slot, faultHandler: { cap: faultCap, src: faultSlot }, mcp, priority, ...change };
}

/** Copies the new cap into a TCB slot if its source still holds it and the invoked TCB cap is still there. */
function copyIntoTCB(k: Step, tcb: number, invoked: SlotRef | null, dest: SlotRef, newCap: NewCap): void {
  if (newCap.cap.type === 'null' || invoked === null) return;
  if (sameObjectAs(newCap.cap, k.cap(newCap.src)) && sameObjectAs({ type: 'thread', ptr: tcb }, k.cap(invoked))) cteInsert(k, newCap.cap, newCap.src, dest);
}

/** installTCBCap: the TCB slot is emptied (deleting may remove the source or the invoked cap), then refilled. */
function installTCBCap(k: Step, tcb: number, invoked: SlotRef | null, index: number, newCap: NewCap): void {
  const dest = { cnode: tcb, index };
  cteDelete(k, dest);
  copyIntoTCB(k, tcb, invoked, dest, newCap);
}

/** invokeTCB_*: performs a decoded TCB invocation for the current thread `caller`. */
export function performTCBInvocation(k: Step, inv: TCBInvocation, caller: number, isCall: boolean): void {
  switch (inv.kind) {
    case 'readRegisters': {
      if (inv.suspendSource) suspend(k, inv.tcb);
      if (isCall) replyWords(k, caller, k.tcb(inv.tcb).regs.slice(0, inv.count));
      setThreadState(k, caller, 'Running');
      return;
    }
    case 'writeRegisters':
      setRegisters(k, inv.tcb, inv.values.map((value, i) => [i, value] as const));
      if (inv.resumeTarget) restart(k, inv.tcb);
      if (inv.tcb === caller) rescheduleRequired(k);
      return;
    case 'copyRegisters': {
      if (inv.suspendSource) suspend(k, inv.source);
      if (inv.resumeTarget) restart(k, inv.tcb);
      const source = k.tcb(inv.source).regs;
      const copied = (from: number) => source.slice(from, from + frameRegisterCount).map((value, i) => [from + i, value] as const);
      if (inv.transferFrame) setRegisters(k, inv.tcb, copied(0));
      if (inv.transferInteger) setRegisters(k, inv.tcb, copied(frameRegisterCount));
      if (inv.tcb === caller) rescheduleRequired(k);
      return;
    }
    case 'suspend':
      suspend(k, inv.tcb);
      return;
    case 'resume':
      restart(k, inv.tcb);
      return;
    case 'threadControlCaps':
      threadControlCaps(k, inv, caller);
      return;
    case 'threadControlSched':
      if (inv.faultHandler !== undefined) installTCBCap(k, inv.tcb, inv.slot, TCBSlot.faultHandler, inv.faultHandler);
      if (inv.mcp !== undefined) k.setObject({ ...k.tcb(inv.tcb), mcp: inv.mcp });
      if (inv.priority !== undefined) setPriority(k, inv.tcb, inv.priority);
      if (inv.schedContext !== undefined) {
        const bound = k.tcb(inv.tcb).schedContext;
        if (inv.schedContext !== null) schedContextBindTCB(k, inv.schedContext, inv.tcb);
        else if (bound !== null) schedContextUnbindTCB(k, bound);
      }
      return;
    case 'notificationControl':
      if (inv.ntfn === null) unbindNotification(k, inv.tcb);
      else bindNotification(k, inv.tcb, inv.ntfn);
      return;
    case 'setTLSBase':
      setRegisters(k, inv.tcb, [[Reg.tp, inv.tlsBase]]);
      if (inv.tcb === caller) rescheduleRequired(k);
      return;
    case 'setFlags': {
      const flags = ((k.tcb(inv.tcb).flags & ~inv.clear) | (inv.set & tcbFlagMask)) >>> 0;
      k.setObject({ ...k.tcb(inv.tcb), flags });
      if (isCall) replyWords(k, caller, [flags]);
      setThreadState(k, caller, 'Running');
      return;
    }
  }
}

/** invokeTCB_ThreadControlCaps: fault handler, timeout handler, CSpace and VSpace, then the IPC buffer. */
function threadControlCaps(k: Step, inv: Extract<TCBInvocation, { kind: 'threadControlCaps' }>, caller: number): void {
  if (inv.faultHandler !== undefined) installTCBCap(k, inv.tcb, inv.slot, TCBSlot.faultHandler, inv.faultHandler);
  if (inv.timeoutHandler !== undefined) installTCBCap(k, inv.tcb, inv.slot, TCBSlot.timeoutHandler, inv.timeoutHandler);
  if (inv.space !== undefined) {
    installTCBCap(k, inv.tcb, inv.slot, TCBSlot.cspace, inv.space.cRoot);
    installTCBCap(k, inv.tcb, inv.slot, TCBSlot.vspace, inv.space.vRoot);
  }
  if (inv.ipcBuffer !== undefined) {
    const dest = { cnode: inv.tcb, index: TCBSlot.ipcBuffer };
    cteDelete(k, dest);
    k.setObject({ ...k.tcb(inv.tcb), ipcBufferVaddr: inv.ipcBuffer.vaddr });
    if (inv.ipcBuffer.frame !== null) copyIntoTCB(k, inv.tcb, inv.slot, dest, inv.ipcBuffer.frame);
    if (inv.tcb === caller) rescheduleRequired(k);
  }
}
