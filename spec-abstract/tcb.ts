// Threads: their registers, IPC buffer and message registers, suspend and restart, what
// finalising a TCB does to the thread itself, and the TCB invocations (l4v Tcb_A, TcbAcc_A,
// IpcCancel_A suspend; Decode_A decode_tcb_invocation; seL4's tcb.c).
import {
  badgeRegister,
  InvocationLabel,
  IPCBuffer,
  ipcBufferWords,
  msgInfoRegister,
  msgRegisters,
  msgWordIndex,
  numRegisters,
  Reg,
  seL4_CanGrant,
  seL4_CanGrantReply,
  seL4_CanWrite,
  seL4_IPCBufferSizeBits,
  seL4_MessageInfo_new,
  TCBSlot,
  type Cap,
  type CapOf,
  type SlotRef,
  type SyscallError,
  type UserWrites,
  type Word,
  ipcBufferRightsAllow,
  type IPCBufferAccess,
} from '../libsel4/index.ts';
import { cteInsert, hasChildren, isFinalCap } from './cdt.ts';
import { deleteSlot } from './cnode.ts';
import { cancelIPC, reorderEP } from './endpoint.ts';
import { bindNotification, canReceiveRight, notificationAt, reorderNtfn, unbindNotification } from './notification.ts';
import { deriveCap, sameObjectAs, updateCapData } from './objects.ts';
import { bindTCB, cancelYieldTo, completeYieldTo, ifSporadicUnblockCheck, scAt, schedContextResume, scReleased, unbindTCB } from './schedcontext.ts';
import {
  isBlocked,
  isQueued,
  isRunnableState,
  isSchedulable,
  isStopped,
  possibleSwitchTo,
  rescheduleRequired,
  setThreadState,
  tcbReleaseRemove,
  tcbSchedDequeue,
  tcbSchedEnqueue,
} from './scheduler.ts';
import {
  blockBytes,
  capAt,
  currentThread,
  memoryBlock,
  memoryWord,
  slotRef,
  tcbAt,
  updateObject,
  writeMemoryWord,
  type Kernel,
  type Readable,
} from './state.ts';
import type { InvocationMessage } from './syscall.ts';

/**
 * The physical address of a thread's IPC buffer, or null when it has none: TCB slot 2
 * must hold a non-device frame cap whose rights allow the access (lookupIPCBuffer); the
 * buffer sits at the IPC buffer vaddr's offset within that frame.
 */
export function ipcBufferAddress(s: Readable, tcb: number, access: IPCBufferAccess): number | null {
  const thread = tcbAt(s, tcb);
  if (thread === null) return null;
  const frame = capAt(s, slotRef(tcb, TCBSlot.ipcBuffer));
  if (frame.type !== 'frame' || frame.isDevice || !ipcBufferRightsAllow(frame.vmRights, access)) return null;
  return frame.ptr + (thread.ipcBufferVaddr % 2 ** frame.sizeBits);
}

export function register(s: Readable, tcb: number, index: number): Word {
  return tcbAt(s, tcb)?.regs[index] ?? 0;
}

/** The 128 words of an IPC buffer (512-byte aligned, so made of whole memory blocks). */
export function ipcBufferContents(s: Readable, buffer: number): Word[] {
  const words: Word[] = [];
  for (let base = buffer; base < buffer + 4 * ipcBufferWords; base += blockBytes) words.push(...(memoryBlock(s, base) ?? zeroBlock));
  return words;
}

/** The words of a memory block that reads as zero. */
const zeroBlock: readonly Word[] = Object.freeze(new Array<Word>(blockBytes / 4).fill(0));

/** Message register `i` as the kernel reads it: a2..a5, then the IPC buffer. */
export function getMR(s: Readable, tcb: number, buffer: number | null, i: number): Word {
  if (i < msgRegisters.length) return register(s, tcb, msgRegisters[i]!);
  return buffer === null ? 0 : memoryWord(s, buffer + 4 * msgWordIndex(i));
}

/** The extra-cap CPtr `i` a sender put in its IPC buffer. */
export function extraCapPtr(s: Readable, buffer: number, i: number): Word {
  return memoryWord(s, buffer + 4 * (IPCBuffer.capsOrBadges + i));
}

/** Applies what the user thread did since its last entry: register and IPC buffer writes. */
export function applyUserWrites(k: Kernel, tcb: number, user: UserWrites): void {
  const thread = tcbAt(k, tcb);
  if (thread === null) return;
  const regs = [...thread.regs];
  for (const [index, value] of user.regs) {
    if (Number.isInteger(index) && index >= 0 && index < numRegisters) regs[index] = value >>> 0;
  }
  updateObject(k, tcb, 'tcb', { regs });
  const buffer = ipcBufferAddress(k, tcb, 'user');
  if (buffer === null) return;
  for (const [index, value] of user.ipcBuffer) {
    if (Number.isInteger(index) && index >= 0 && index < ipcBufferWords) writeMemoryWord(k, buffer + 4 * index, value);
  }
}

export function setRegister(k: Kernel, tcb: number, index: number, value: Word): void {
  const thread = tcbAt(k, tcb);
  if (thread === null) return;
  const regs = [...thread.regs];
  regs[index] = value >>> 0;
  updateObject(k, tcb, 'tcb', { regs });
}

/** Sets message register `i` of a reply; returns false if it had nowhere to go. */
export function setMR(k: Kernel, tcb: number, buffer: number | null, i: number, value: Word): boolean {
  if (i < msgRegisters.length) {
    setRegister(k, tcb, msgRegisters[i]!, value);
    return true;
  }
  if (buffer === null) return false;
  writeMemoryWord(k, buffer + 4 * msgWordIndex(i), value);
  return true;
}

// ---- suspend and restart ------------------------------------------------------------------

/** suspend: the thread's IPC is cancelled, it leaves every queue, forgets a yield, and becomes Inactive. */
export function suspend(k: Kernel, tcb: number): void {
  cancelIPC(k, tcb);
  tcbSchedDequeue(k, tcb);
  tcbReleaseRemove(k, tcb);
  cancelYieldTo(k, tcb);
  setThreadState(k, tcb, 'Inactive');
}

/**
 * restart: a stopped thread's IPC is cancelled and it becomes Restart; a sporadic SC of it (not
 * the current one) is unblocked, its SC resumed, and it may become the candidate to run.
 */
function restart(k: Kernel, tcb: number): void {
  if (!isStopped(k, tcb)) return;
  cancelIPC(k, tcb);
  setThreadState(k, tcb, 'Restart');
  const sc = tcbAt(k, tcb)!.schedContext;
  ifSporadicUnblockCheck(k, sc);
  schedContextResume(k, sc);
  if (isSchedulable(k, tcb)) possibleSwitchTo(k, tcb);
}

/**
 * What finalising a TCB does to the thread: its notification is unbound, its SC is unbound
 * (and a yield to that SC completed), then the thread is suspended. Its cap slots are emptied
 * through its Zombie (cnode.ts).
 */
export function finaliseThread(k: Kernel, tcb: number): void {
  unbindNotification(k, tcb);
  const sc = tcbAt(k, tcb)?.schedContext ?? null;
  if (sc !== null) {
    unbindTCB(k, sc);
    completeYieldTo(k, scAt(k, sc)!.yieldFrom);
  }
  suspend(k, tcb);
}

// ---- scheduling parameters -----------------------------------------------------------------

/**
 * set_priority: a runnable thread that is queued or current is requeued at its new priority
 * (at the head) and the scheduler chooses again; a thread blocked on an endpoint or a
 * notification takes its new place in that queue.
 */
function setPriority(k: Kernel, tcb: number, priority: number): void {
  const thread = tcbAt(k, tcb)!;
  if (isRunnableState(thread.state) && (isQueued(k, tcb) || tcb === currentThread(k))) {
    tcbSchedDequeue(k, tcb);
    updateObject(k, tcb, 'tcb', { priority });
    tcbSchedEnqueue(k, tcb);
    rescheduleRequired(k);
    return;
  }
  updateObject(k, tcb, 'tcb', { priority });
  if (thread.state === 'BlockedOnSend' || thread.state === 'BlockedOnReceive') reorderEP(k, thread.blocking!.object!, tcb);
  if (thread.state === 'BlockedOnNotification') reorderNtfn(k, thread.blocking!.object!, tcb);
}

// ---- TCB invocations -------------------------------------------------------------------------

/** A cap to copy into a TCB slot from `src` (the null cap: just empty the slot). */
interface CapInstall {
  readonly cap: Cap;
  readonly src: SlotRef;
}

export type TCBInvocation =
  | { readonly op: 'readRegisters'; readonly tcb: number; readonly suspendSource: boolean; readonly count: number }
  | { readonly op: 'writeRegisters'; readonly tcb: number; readonly resumeTarget: boolean; readonly values: readonly Word[] }
  | {
      readonly op: 'copyRegisters'; readonly tcb: number; readonly source: number; readonly suspendSource: boolean;
      readonly resumeTarget: boolean; readonly transferFrame: boolean; readonly transferInteger: boolean;
    }
  | { readonly op: 'suspend'; readonly tcb: number }
  | { readonly op: 'resume'; readonly tcb: number }
  /** invokeTCB_ThreadControlCaps: each present field is installed, in this order. */
  | {
      readonly op: 'caps'; readonly tcb: number; readonly tcbSlot: SlotRef;
      readonly fault?: CapInstall; readonly timeout?: CapInstall; readonly cRoot?: CapInstall; readonly vRoot?: CapInstall;
      readonly ipcBuffer?: { readonly vaddr: Word; readonly install: CapInstall | null };
    }
  /** invokeTCB_ThreadControlSched: `sc` undefined leaves the binding as it is. */
  | {
      readonly op: 'sched'; readonly tcb: number; readonly tcbSlot: SlotRef | null; readonly fault?: CapInstall;
      readonly mcp?: number; readonly priority?: number; readonly sc?: number | null;
    }
  | { readonly op: 'setTLSBase'; readonly tcb: number; readonly value: Word }
  /** invokeTCB_NotificationControl: bind `ntfn`, or unbind the bound one when null. */
  | { readonly op: 'notification'; readonly tcb: number; readonly ntfn: number | null }
  | { readonly op: 'setFlags'; readonly tcb: number; readonly clear: Word; readonly set: Word };

export type DecodedTCB = { readonly invocation: TCBInvocation } | { readonly error: SyscallError };

const truncated = { error: { error: 'TruncatedMessage' } } as const;
const illegal = { error: { error: 'IllegalOperation' } } as const;

function invalidCap(capIndex: number): { error: SyscallError } {
  return { error: { error: 'InvalidCapability', capIndex } };
}

/** seL4_TCBFlag_MASK on riscv32: only fpuDisabled. */
const tcbFlagMask = 1;
/** Frame registers (pc, ra, sp, gp, s0-s11) come first in seL4_UserContext, then the 16 others. */
const frameRegisterCount = 16;

/** valid_fault_handler: none, or an endpoint cap that may send and grant (or grant replies). */
function validFaultHandler(cap: Cap): boolean {
  if (cap.type === 'null') return true;
  return cap.type === 'endpoint' && (cap.rights & seL4_CanWrite) !== 0 && (cap.rights & (seL4_CanGrant | seL4_CanGrantReply)) !== 0;
}

/** check_prio: a priority or MCP above the authority's MCP is a RangeError. */
function checkPrio(s: Readable, value: Word, auth: number): { error: SyscallError } | null {
  const mcp = tcbAt(s, auth)!.mcp;
  return value > mcp ? { error: { error: 'RangeError', min: 0, max: mcp } } : null;
}

/** derive_cap of an extra cap in its slot. */
function derived(s: Readable, extra: { readonly cap: Cap; readonly slot: SlotRef }, cap: Cap = extra.cap): { cap: Cap } | { error: SyscallError } {
  return deriveCap(cap, hasChildren(s, extra.slot));
}

/** The IPC buffer part of Configure and SetIPCBuffer: address 0 removes the buffer. */
function decodeIPCBuffer(s: Readable, vaddr: Word, extra: { readonly cap: Cap; readonly slot: SlotRef }): { vaddr: Word; install: CapInstall | null } | { error: SyscallError } {
  if (vaddr === 0) return { vaddr, install: null };
  const buffer = derived(s, extra);
  if ('error' in buffer) return buffer;
  if (buffer.cap.type !== 'frame' || buffer.cap.isDevice) return illegal;
  if (vaddr % 2 ** seL4_IPCBufferSizeBits !== 0) return { error: { error: 'AlignmentError' } };
  return { vaddr, install: { cap: buffer.cap, src: extra.slot } };
}

/**
 * slot_cap_long_running_delete: the slot holds the final cap to a CNode or thread, or a Zombie,
 * whose deletion could take many preemption points.
 */
function slotCapLongRunningDelete(s: Readable, slot: SlotRef): boolean {
  const cap = capAt(s, slot);
  if (cap.type === 'null' || !isFinalCap(s, slot, cap)) return false;
  return cap.type === 'cnode' || cap.type === 'thread' || cap.type === 'zombie';
}

/**
 * decode_cv_space: the thread's current roots may be replaced only if neither deletion is long
 * running; then the CSpace and VSpace roots of Configure and SetSpace, their cap data applied.
 */
function decodeSpace(
  s: Readable, tcb: number, cRootData: Word, vRootData: Word,
  cRoot: { readonly cap: Cap; readonly slot: SlotRef }, vRoot: { readonly cap: Cap; readonly slot: SlotRef },
): { cRoot: CapInstall; vRoot: CapInstall } | { error: SyscallError } {
  if (slotCapLongRunningDelete(s, slotRef(tcb, TCBSlot.cspace)) || slotCapLongRunningDelete(s, slotRef(tcb, TCBSlot.vspace))) return illegal;
  const cDerived = derived(s, cRoot, cRootData !== 0 ? updateCapData(false, cRootData, cRoot.cap) : cRoot.cap);
  if ('error' in cDerived) return cDerived;
  if (cDerived.cap.type !== 'cnode') return illegal;
  const vDerived = derived(s, vRoot, vRootData !== 0 ? updateCapData(false, vRootData, vRoot.cap) : vRoot.cap);
  if ('error' in vDerived) return vDerived;
  if (vDerived.cap.type !== 'pagetable' || vDerived.cap.mapped === null) return illegal;
  return { cRoot: { cap: cDerived.cap, src: cRoot.slot }, vRoot: { cap: vDerived.cap, src: vRoot.slot } };
}

/**
 * decodeBindNotification: a notification cap (extra cap 0) with Read, for a thread with no
 * bound notification; the notification must have no waiters and no bound thread.
 */
function decodeBindNotification(s: Readable, msg: InvocationMessage, tcb: number): DecodedTCB {
  if (msg.extraCaps.length < 1) return truncated;
  if (tcbAt(s, tcb)!.boundNotification !== null) return illegal;
  const cap = msg.extraCaps[0]!.cap;
  if (cap.type !== 'notification' || !canReceiveRight(cap)) return illegal;
  const ntfn = notificationAt(s, cap.ptr);
  if (ntfn.queue.length > 0 || ntfn.tcb !== null) return illegal;
  return { invocation: { op: 'notification', tcb, ntfn: cap.ptr } };
}

/** decode_tcb_invocation: by label, each with seL4's argument checks in seL4's order. */
export function decodeTCBInvocation(s: Readable, msg: InvocationMessage, cap: CapOf<'thread'>, slot: SlotRef, caller: number): DecodedTCB {
  const L = InvocationLabel;
  const { length, mr, extraCaps } = msg;
  const tcb = cap.ptr;
  switch (msg.label) {
    case L.TCBReadRegisters: {
      if (length < 2) return truncated;
      const count = mr(1);
      if (count < 1 || count > numRegisters) return { error: { error: 'RangeError', min: 1, max: numRegisters } };
      if (tcb === caller) return illegal;
      return { invocation: { op: 'readRegisters', tcb, suspendSource: (mr(0) & 1) !== 0, count } };
    }
    case L.TCBWriteRegisters: {
      if (length < 2) return truncated;
      const count = mr(1);
      if (length - 2 < count) return truncated;
      if (tcb === caller) return illegal;
      const values = Array.from({ length: Math.min(count, numRegisters) }, (_, i) => mr(i + 2));
      return { invocation: { op: 'writeRegisters', tcb, resumeTarget: (mr(0) & 1) !== 0, values } };
    }
    case L.TCBCopyRegisters: {
      if (length < 1 || extraCaps.length < 1) return truncated;
      const flags = mr(0);
      const source = extraCaps[0]!.cap;
      if (source.type !== 'thread') return invalidCap(1);
      return {
        invocation: {
          op: 'copyRegisters', tcb, source: source.ptr, suspendSource: (flags & 1) !== 0, resumeTarget: (flags & 2) !== 0,
          transferFrame: (flags & 4) !== 0, transferInteger: (flags & 8) !== 0,
        },
      };
    }
    case L.TCBSuspend:
      return { invocation: { op: 'suspend', tcb } };
    case L.TCBResume:
      return { invocation: { op: 'resume', tcb } };
    case L.TCBConfigure: {
      if (length < 3 || extraCaps.length < 3) return truncated;
      const ipcBuffer = decodeIPCBuffer(s, mr(2), extraCaps[2]!);
      if ('error' in ipcBuffer) return ipcBuffer;
      const space = decodeSpace(s, tcb, mr(0), mr(1), extraCaps[0]!, extraCaps[1]!);
      if ('error' in space) return space;
      return { invocation: { op: 'caps', tcb, tcbSlot: slot, ...space, ipcBuffer } };
    }
    case L.TCBSetPriority:
    case L.TCBSetMCPriority: {
      if (length < 1 || extraCaps.length < 1) return truncated;
      const auth = extraCaps[0]!.cap;
      if (auth.type !== 'thread') return invalidCap(1);
      const bad = checkPrio(s, mr(0), auth.ptr);
      if (bad !== null) return bad;
      const field = msg.label === L.TCBSetPriority ? { priority: mr(0) } : { mcp: mr(0) };
      return { invocation: { op: 'sched', tcb, tcbSlot: null, ...field } };
    }
    case L.TCBSetSchedParams:
      return decodeSetSchedParams(s, msg, tcb, slot, caller);
    case L.TCBSetTimeoutEndpoint: {
      if (extraCaps.length < 1) return truncated;
      if (!validFaultHandler(extraCaps[0]!.cap)) return invalidCap(1);
      return { invocation: { op: 'caps', tcb, tcbSlot: slot, timeout: { cap: extraCaps[0]!.cap, src: extraCaps[0]!.slot } } };
    }
    case L.TCBSetIPCBuffer: {
      if (length < 1 || extraCaps.length < 1) return truncated;
      const ipcBuffer = decodeIPCBuffer(s, mr(0), extraCaps[0]!);
      if ('error' in ipcBuffer) return ipcBuffer;
      return { invocation: { op: 'caps', tcb, tcbSlot: slot, ipcBuffer } };
    }
    case L.TCBSetSpace: {
      if (length < 2 || extraCaps.length < 3) return truncated;
      const space = decodeSpace(s, tcb, mr(0), mr(1), extraCaps[1]!, extraCaps[2]!);
      if ('error' in space) return space;
      const fault = extraCaps[0]!;
      if (!validFaultHandler(fault.cap)) return invalidCap(1);
      return { invocation: { op: 'caps', tcb, tcbSlot: slot, fault: { cap: fault.cap, src: fault.slot }, ...space } };
    }
    case L.TCBBindNotification:
      return decodeBindNotification(s, msg, tcb);
    case L.TCBUnbindNotification:
      if (tcbAt(s, tcb)!.boundNotification === null) return illegal;
      return { invocation: { op: 'notification', tcb, ntfn: null } };
    case L.TCBSetTLSBase:
      if (length < 1) return truncated;
      return { invocation: { op: 'setTLSBase', tcb, value: mr(0) } };
    case L.TCBSetFlags:
      if (length < 2) return truncated;
      return { invocation: { op: 'setFlags', tcb, clear: mr(0), set: mr(1) } };
    default:
      return illegal;
  }
}

/**
 * SetSchedParams: MCP (MR0) and priority (MR1) checked against the authority (extra cap 0);
 * the SC (extra cap 1) must be the thread's own or free with the thread free, and released if
 * the thread is blocked; the null cap unbinds (not the caller's own SC); the fault handler
 * (extra cap 2) must be valid.
 */
function decodeSetSchedParams(s: Readable, msg: InvocationMessage, tcb: number, slot: SlotRef, caller: number): DecodedTCB {
  const { length, mr, extraCaps } = msg;
  if (length < 2 || extraCaps.length < 3) return truncated;
  const auth = extraCaps[0]!.cap;
  if (auth.type !== 'thread') return invalidCap(1);
  const badMcp = checkPrio(s, mr(0), auth.ptr);
  if (badMcp !== null) return badMcp;
  const badPriority = checkPrio(s, mr(1), auth.ptr);
  if (badPriority !== null) return badPriority;
  const scCap = extraCaps[1]!.cap;
  const bound = tcbAt(s, tcb)!.schedContext;
  let sc: number | null;
  if (scCap.type === 'schedcontext') {
    sc = scCap.ptr;
    const context = scAt(s, sc)!;
    if (bound !== sc && (bound !== null || context.tcb !== null)) return illegal;
    if (isBlocked(s, tcb) && !scReleased(s, context)) return illegal;
  } else if (scCap.type === 'null') {
    if (tcb === caller) return illegal;
    sc = null;
  } else {
    return invalidCap(2);
  }
  const fault = extraCaps[2]!;
  if (!validFaultHandler(fault.cap)) return invalidCap(3);
  return {
    invocation: {
      op: 'sched', tcb, tcbSlot: slot, fault: { cap: fault.cap, src: fault.slot }, mcp: mr(0), priority: mr(1),
      ...(bound !== sc ? { sc } : {}),
    },
  };
}

/**
 * install_tcb_cap: empty the TCB's slot, then copy the new cap in if it is not null and both
 * it and the invoked TCB cap are still in their slots (deleting may have removed them).
 */
function installTCBCap(k: Kernel, tcb: number, tcbSlot: SlotRef | null, index: number, install: CapInstall): void {
  const dest = slotRef(tcb, index);
  deleteSlot(k, dest);
  if (install.cap.type === 'null' || tcbSlot === null) return;
  if (sameObjectAs(install.cap, capAt(k, install.src)) && sameObjectAs({ type: 'thread', ptr: tcb }, capAt(k, tcbSlot))) {
    cteInsert(k, install.cap, install.src, dest);
  }
}

/** invokeTCB_ReadRegisters: the first `count` registers as the reply (with no IPC buffer, at most 4). */
function readRegisters(k: Kernel, caller: number, source: number, count: number, isCall: boolean): void {
  if (isCall) {
    const regs = tcbAt(k, source)!.regs;
    const buffer = ipcBufferAddress(k, caller, 'receiver');
    const length = buffer === null ? Math.min(count, msgRegisters.length) : count;
    setRegister(k, caller, badgeRegister, 0);
    for (let i = 0; i < length; i++) setMR(k, caller, buffer, i, regs[i]!);
    setRegister(k, caller, msgInfoRegister, seL4_MessageInfo_new(0, 0, 0, length));
  }
  setThreadState(k, caller, 'Running');
}

function copyRegisters(k: Kernel, inv: Extract<TCBInvocation, { op: 'copyRegisters' }>): void {
  if (inv.suspendSource) suspend(k, inv.source);
  if (inv.resumeTarget) restart(k, inv.tcb);
  const from = tcbAt(k, inv.source)!.regs;
  const regs = [...tcbAt(k, inv.tcb)!.regs];
  for (let i = 0; i < numRegisters; i++) {
    if (i < frameRegisterCount ? inv.transferFrame : inv.transferInteger) regs[i] = from[i]!;
  }
  updateObject(k, inv.tcb, 'tcb', { regs });
  if (inv.tcb === currentThread(k)) rescheduleRequired(k);
}

function threadControlCaps(k: Kernel, inv: Extract<TCBInvocation, { op: 'caps' }>): void {
  if (inv.fault !== undefined) installTCBCap(k, inv.tcb, inv.tcbSlot, TCBSlot.faultHandler, inv.fault);
  if (inv.timeout !== undefined) installTCBCap(k, inv.tcb, inv.tcbSlot, TCBSlot.timeoutHandler, inv.timeout);
  if (inv.cRoot !== undefined) installTCBCap(k, inv.tcb, inv.tcbSlot, TCBSlot.cspace, inv.cRoot);
  if (inv.vRoot !== undefined) installTCBCap(k, inv.tcb, inv.tcbSlot, TCBSlot.vspace, inv.vRoot);
  if (inv.ipcBuffer !== undefined) {
    const dest = slotRef(inv.tcb, TCBSlot.ipcBuffer);
    deleteSlot(k, dest);
    updateObject(k, inv.tcb, 'tcb', { ipcBufferVaddr: inv.ipcBuffer.vaddr });
    const install = inv.ipcBuffer.install;
    if (install !== null && sameObjectAs(install.cap, capAt(k, install.src)) && sameObjectAs({ type: 'thread', ptr: inv.tcb }, capAt(k, inv.tcbSlot))) {
      cteInsert(k, install.cap, install.src, dest);
    }
    if (inv.tcb === currentThread(k)) rescheduleRequired(k);
  }
}

function threadControlSched(k: Kernel, inv: Extract<TCBInvocation, { op: 'sched' }>): void {
  if (inv.fault !== undefined) installTCBCap(k, inv.tcb, inv.tcbSlot, TCBSlot.faultHandler, inv.fault);
  if (inv.mcp !== undefined) updateObject(k, inv.tcb, 'tcb', { mcp: inv.mcp });
  if (inv.priority !== undefined) setPriority(k, inv.tcb, inv.priority);
  if (inv.sc === null) {
    const bound = tcbAt(k, inv.tcb)!.schedContext;
    if (bound !== null) unbindTCB(k, bound);
  } else if (inv.sc !== undefined) {
    bindTCB(k, inv.sc, inv.tcb);
  }
}

/**
 * invoke_tcb: performs a decoded TCB invocation for `caller`. ReadRegisters and SetFlags
 * reply themselves (and leave the caller Running).
 */
export function performTCBInvocation(k: Kernel, inv: TCBInvocation, caller: number, isCall: boolean): void {
  switch (inv.op) {
    case 'readRegisters':
      if (inv.suspendSource) suspend(k, inv.tcb);
      readRegisters(k, caller, inv.tcb, inv.count, isCall);
      return;
    case 'writeRegisters': {
      const regs = [...tcbAt(k, inv.tcb)!.regs];
      inv.values.forEach((value, i) => (regs[i] = value >>> 0));
      updateObject(k, inv.tcb, 'tcb', { regs });
      if (inv.resumeTarget) restart(k, inv.tcb);
      if (inv.tcb === currentThread(k)) rescheduleRequired(k);
      return;
    }
    case 'copyRegisters':
      copyRegisters(k, inv);
      return;
    case 'suspend':
      suspend(k, inv.tcb);
      return;
    case 'resume':
      restart(k, inv.tcb);
      return;
    case 'caps':
      threadControlCaps(k, inv);
      return;
    case 'sched':
      threadControlSched(k, inv);
      return;
    case 'notification':
      if (inv.ntfn === null) unbindNotification(k, inv.tcb);
      else bindNotification(k, inv.tcb, inv.ntfn);
      return;
    case 'setTLSBase':
      setRegister(k, inv.tcb, Reg.tp, inv.value);
      if (inv.tcb === currentThread(k)) rescheduleRequired(k);
      return;
    case 'setFlags': {
      const flags = ((tcbAt(k, inv.tcb)!.flags & ~inv.clear) | (inv.set & tcbFlagMask)) >>> 0;
      updateObject(k, inv.tcb, 'tcb', { flags });
      if (isCall) {
        setRegister(k, caller, badgeRegister, 0);
        const length = setMR(k, caller, ipcBufferAddress(k, caller, 'receiver'), 0, flags) ? 1 : 0;
        setRegister(k, caller, msgInfoRegister, seL4_MessageInfo_new(0, 0, 0, length));
      }
      setThreadState(k, caller, 'Running');
      return;
    }
  }
}
