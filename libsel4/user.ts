// User-side libsel4 for a scripted thread: message registers, the IPC buffer, the syscall
// stubs, and the object invocations with libsel4's names and argument orders.
import type { Word } from './constants.ts';
import { seL4_Error } from './errors.ts';
import { IPCBuffer, msgWordIndex } from './ipcbuffer.ts';
import { InvocationLabel } from './invocation.ts';
import type { KernelEvent, Observation, UserWrites } from './kernel.ts';
import { messageInfoFromWord, seL4_MessageInfo_new } from './messageinfo.ts';
import { Reg, msgRegisters, numRegisters } from './registers.ts';
import { seL4_Syscall, syscallWord } from './syscalls.ts';

/** Where a user thread's kernel entries go: one layer, or all of them in lockstep. */
export interface SyscallPort {
  enter(event: KernelEvent): Observation;
}

export type seL4_CPtr = Word;

/** The calls a root task makes. Every invocation returns the seL4_Error of the reply. */
export interface Sel4Api {
  seL4_SetMR(i: number, value: Word): void;
  seL4_GetMR(i: number): Word;
  seL4_SetCap(i: number, cptr: seL4_CPtr): void;
  /** Receive-slot words of the IPC buffer. */
  seL4_SetCapReceivePath(root: seL4_CPtr, index: seL4_CPtr, depth: Word): void;
  seL4_Call(dest: seL4_CPtr, info: Word): Word;
  seL4_Send(dest: seL4_CPtr, info: Word): void;
  seL4_NBSend(dest: seL4_CPtr, info: Word): void;
  seL4_Yield(): void;
  /** Any kernel entry: `regs` are written (a7 holds the syscall number) before entering. */
  rawSyscall(regs: ReadonlyArray<readonly [number, Word]>): Observation;
  /** The current thread (or idle) computes for `ticks` timer ticks: a `time` event. */
  passTime(ticks: bigint): Observation;
  /** The current thread takes a user exception (riscv scause `number`, and `code`). */
  raiseException(number: Word, code: Word): Observation;
  /** The observation of the last entry. */
  lastObservation(): Observation;

  seL4_Untyped_Retype(service: seL4_CPtr, type: Word, size_bits: Word, root: seL4_CPtr, node_index: Word, node_depth: Word, node_offset: Word, num_objects: Word): seL4_Error;
  seL4_CNode_Revoke(service: seL4_CPtr, index: Word, depth: Word): seL4_Error;
  seL4_CNode_Delete(service: seL4_CPtr, index: Word, depth: Word): seL4_Error;
  seL4_CNode_CancelBadgedSends(service: seL4_CPtr, index: Word, depth: Word): seL4_Error;
  seL4_CNode_Copy(service: seL4_CPtr, dest_index: Word, dest_depth: Word, src_root: seL4_CPtr, src_index: Word, src_depth: Word, rights: Word): seL4_Error;
  seL4_CNode_Mint(service: seL4_CPtr, dest_index: Word, dest_depth: Word, src_root: seL4_CPtr, src_index: Word, src_depth: Word, rights: Word, badge: Word): seL4_Error;
  seL4_CNode_Move(service: seL4_CPtr, dest_index: Word, dest_depth: Word, src_root: seL4_CPtr, src_index: Word, src_depth: Word): seL4_Error;
  seL4_CNode_Mutate(service: seL4_CPtr, dest_index: Word, dest_depth: Word, src_root: seL4_CPtr, src_index: Word, src_depth: Word, badge: Word): seL4_Error;
  seL4_CNode_Rotate(
    service: seL4_CPtr, dest_index: Word, dest_depth: Word, dest_badge: Word,
    pivot_root: seL4_CPtr, pivot_index: Word, pivot_depth: Word, pivot_badge: Word,
    src_root: seL4_CPtr, src_index: Word, src_depth: Word,
  ): seL4_Error;

  /** `regs` (seL4_UserContext order) only on success, as libsel4 fills its out-parameter. */
  seL4_TCB_ReadRegisters(service: seL4_CPtr, suspend_source: boolean, arch_flags: Word, count: Word): { error: seL4_Error; regs: Word[] | null };
  /** `regs` in seL4_UserContext order; the first `count` are sent. */
  seL4_TCB_WriteRegisters(service: seL4_CPtr, resume_target: boolean, arch_flags: Word, count: Word, regs: readonly Word[]): seL4_Error;
  seL4_TCB_CopyRegisters(service: seL4_CPtr, source: seL4_CPtr, suspend_source: boolean, resume_target: boolean, transfer_frame: boolean, transfer_integer: boolean, arch_flags: Word): seL4_Error;
  seL4_TCB_Configure(service: seL4_CPtr, cspace_root: seL4_CPtr, cspace_root_data: Word, vspace_root: seL4_CPtr, vspace_root_data: Word, buffer: Word, bufferFrame: seL4_CPtr): seL4_Error;
  seL4_TCB_SetPriority(service: seL4_CPtr, authority: seL4_CPtr, priority: Word): seL4_Error;
  seL4_TCB_SetMCPriority(service: seL4_CPtr, authority: seL4_CPtr, mcp: Word): seL4_Error;
  seL4_TCB_SetSchedParams(service: seL4_CPtr, authority: seL4_CPtr, mcp: Word, priority: Word, sched_context: seL4_CPtr, fault_ep: seL4_CPtr): seL4_Error;
  seL4_TCB_SetTimeoutEndpoint(service: seL4_CPtr, timeout_fault_ep: seL4_CPtr): seL4_Error;
  seL4_TCB_SetIPCBuffer(service: seL4_CPtr, buffer: Word, bufferFrame: seL4_CPtr): seL4_Error;
  seL4_TCB_SetSpace(service: seL4_CPtr, fault_ep: seL4_CPtr, cspace_root: seL4_CPtr, cspace_root_data: Word, vspace_root: seL4_CPtr, vspace_root_data: Word): seL4_Error;
  seL4_TCB_Suspend(service: seL4_CPtr): seL4_Error;
  seL4_TCB_Resume(service: seL4_CPtr): seL4_Error;
  seL4_TCB_SetTLSBase(service: seL4_CPtr, tls_base: Word): seL4_Error;
  /** seL4_TCB_SetFlags_t: the flags now set (0 on error). */
  seL4_TCB_SetFlags(service: seL4_CPtr, clear: Word, set: Word): { error: seL4_Error; flags: Word };
  /** Budget and period in microseconds (seL4_Time, 64 bits). */
  seL4_SchedControl_ConfigureFlags(service: seL4_CPtr, schedcontext: seL4_CPtr, budget: bigint, period: bigint, extra_refills: Word, badge: Word, flags: Word): seL4_Error;
  seL4_SchedContext_Bind(service: seL4_CPtr, cap: seL4_CPtr): seL4_Error;
  seL4_SchedContext_Unbind(service: seL4_CPtr): seL4_Error;
  seL4_SchedContext_UnbindObject(service: seL4_CPtr, cap: seL4_CPtr): seL4_Error;
  /** seL4_SchedContext_Consumed_t: microseconds consumed (0 on error). */
  seL4_SchedContext_Consumed(service: seL4_CPtr): { error: seL4_Error; consumed: bigint };
  /** seL4_SchedContext_YieldTo_t: microseconds consumed (0 on error). */
  seL4_SchedContext_YieldTo(service: seL4_CPtr): { error: seL4_Error; consumed: bigint };
}

/** seL4_SchedContext_Sporadic: the flag of SchedControl_ConfigureFlags for a sporadic server. */
export const seL4_SchedContext_Sporadic = 1;

/** Creates the libsel4 calls of a thread whose entries go to `port`; `initial` is its state at start. */
export function createSel4Api(port: SyscallPort, initial: Observation): Sel4Api {
  let last = initial;
  let regWrites = new Map<number, Word>();
  let bufferWrites = new Map<number, Word>();

  const reg = (index: number): Word => regWrites.get(index) ?? last.caller?.regs[index] ?? 0;
  const bufferWord = (index: number): Word => bufferWrites.get(index) ?? last.caller?.ipcBuffer?.[index] ?? 0;

  function takeUserWrites(): UserWrites {
    const user = { regs: [...regWrites.entries()], ipcBuffer: [...bufferWrites.entries()] };
    regWrites = new Map();
    bufferWrites = new Map();
    return user;
  }

  function enterWith(event: KernelEvent): Observation {
    last = port.enter(event);
    return last;
  }

  function enter(): Observation {
    return enterWith({ kind: 'syscall', user: takeUserWrites() });
  }

  function setMR(i: number, value: Word): void {
    if (i < msgRegisters.length) regWrites.set(msgRegisters[i]!, value >>> 0);
    else bufferWrites.set(msgWordIndex(i), value >>> 0);
  }

  function syscall(sysno: number, dest: seL4_CPtr, info: Word): Observation {
    regWrites.set(Reg.a0, dest >>> 0);
    regWrites.set(Reg.a1, info >>> 0);
    regWrites.set(Reg.a7, syscallWord(sysno));
    return enter();
  }

  function call(dest: seL4_CPtr, info: Word): Word {
    syscall(seL4_Syscall.seL4_SysCall, dest, info);
    return reg(Reg.a1);
  }

  /** A generated libsel4 stub: MRs and caps in, the reply's label out as the error. */
  function invoke(label: number, service: seL4_CPtr, mrs: readonly Word[], caps: readonly seL4_CPtr[]): seL4_Error {
    mrs.forEach((v, i) => setMR(i, v));
    caps.forEach((c, i) => bufferWrites.set(IPCBuffer.capsOrBadges + i, c >>> 0));
    const reply = messageInfoFromWord(call(service, seL4_MessageInfo_new(label, 0, caps.length, mrs.length)));
    return reply.label as seL4_Error;
  }

  /** The reply's message word i, as libsel4 reads it after a Call. */
  const replyWord = (i: number): Word => (i < msgRegisters.length ? reg(msgRegisters[i]!) : bufferWord(msgWordIndex(i)));
  const low = (value: bigint): Word => Number(BigInt.asUintN(32, value));
  const high = (value: bigint): Word => Number(BigInt.asUintN(32, value >> 32n));
  const time64 = (lowWord: Word, highWord: Word): bigint => (BigInt(highWord >>> 0) << 32n) | BigInt(lowWord >>> 0);
  const bit = (flag: boolean): Word => (flag ? 1 : 0);
  /** A call whose reply carries a 64-bit time in MR0 (low) and MR1 (high). */
  const consumedOf = (label: number, service: seL4_CPtr): { error: seL4_Error; consumed: bigint } => {
    const error = invoke(label, service, [], []);
    return { error, consumed: error === seL4_Error.seL4_NoError ? time64(replyWord(0), replyWord(1)) : 0n };
  };

  const L = InvocationLabel;
  return {
    seL4_SetMR: setMR,
    seL4_GetMR: replyWord,
    seL4_SetCap: (i, cptr) => void bufferWrites.set(IPCBuffer.capsOrBadges + i, cptr >>> 0),
    seL4_SetCapReceivePath: (root, index, depth) => {
      bufferWrites.set(IPCBuffer.receiveCNode, root >>> 0);
      bufferWrites.set(IPCBuffer.receiveIndex, index >>> 0);
      bufferWrites.set(IPCBuffer.receiveDepth, depth >>> 0);
    },
    seL4_Call: call,
    seL4_Send: (dest, info) => void syscall(seL4_Syscall.seL4_SysSend, dest, info),
    seL4_NBSend: (dest, info) => void syscall(seL4_Syscall.seL4_SysNBSend, dest, info),
    seL4_Yield: () => {
      regWrites.set(Reg.a7, syscallWord(seL4_Syscall.seL4_SysYield));
      enter();
    },
    rawSyscall: (regs) => {
      for (const [i, v] of regs) regWrites.set(i, v >>> 0);
      return enter();
    },
    passTime: (ticks) => enterWith({ kind: 'time', ticks }),
    raiseException: (number, code) => enterWith({ kind: 'exception', user: takeUserWrites(), number: number >>> 0, code: code >>> 0 }),
    lastObservation: () => last,

    seL4_Untyped_Retype: (service, type, size_bits, root, node_index, node_depth, node_offset, num_objects) =>
      invoke(L.UntypedRetype, service, [type, size_bits, node_index, node_depth, node_offset, num_objects], [root]),
    seL4_CNode_Revoke: (service, index, depth) => invoke(L.CNodeRevoke, service, [index, depth], []),
    seL4_CNode_Delete: (service, index, depth) => invoke(L.CNodeDelete, service, [index, depth], []),
    seL4_CNode_CancelBadgedSends: (service, index, depth) => invoke(L.CNodeCancelBadgedSends, service, [index, depth], []),
    seL4_CNode_Copy: (service, dest_index, dest_depth, src_root, src_index, src_depth, rights) =>
      invoke(L.CNodeCopy, service, [dest_index, dest_depth, src_index, src_depth, rights], [src_root]),
    seL4_CNode_Mint: (service, dest_index, dest_depth, src_root, src_index, src_depth, rights, badge) =>
      invoke(L.CNodeMint, service, [dest_index, dest_depth, src_index, src_depth, rights, badge], [src_root]),
    seL4_CNode_Move: (service, dest_index, dest_depth, src_root, src_index, src_depth) =>
      invoke(L.CNodeMove, service, [dest_index, dest_depth, src_index, src_depth], [src_root]),
    seL4_CNode_Mutate: (service, dest_index, dest_depth, src_root, src_index, src_depth, badge) =>
      invoke(L.CNodeMutate, service, [dest_index, dest_depth, src_index, src_depth, badge], [src_root]),
    seL4_CNode_Rotate: (service, dest_index, dest_depth, dest_badge, pivot_root, pivot_index, pivot_depth, pivot_badge, src_root, src_index, src_depth) =>
      invoke(L.CNodeRotate, service, [dest_index, dest_depth, dest_badge, pivot_index, pivot_depth, pivot_badge, src_index, src_depth], [pivot_root, src_root]),

    seL4_TCB_ReadRegisters: (service, suspend_source, arch_flags, count) => {
      const error = invoke(L.TCBReadRegisters, service, [bit(suspend_source) | ((arch_flags & 0xff) << 8), count], []);
      if (error !== seL4_Error.seL4_NoError) return { error, regs: null };
      return { error, regs: Array.from({ length: numRegisters }, (_, i) => (i < count ? replyWord(i) : 0)) };
    },
    seL4_TCB_WriteRegisters: (service, resume_target, arch_flags, count, regs) =>
      invoke(L.TCBWriteRegisters, service, [bit(resume_target) | ((arch_flags & 0xff) << 8), count, ...regs.slice(0, Math.min(count, numRegisters))], []),
    seL4_TCB_CopyRegisters: (service, source, suspend_source, resume_target, transfer_frame, transfer_integer, arch_flags) =>
      invoke(L.TCBCopyRegisters, service, [bit(suspend_source) | (bit(resume_target) << 1) | (bit(transfer_frame) << 2) | (bit(transfer_integer) << 3) | ((arch_flags & 0xff) << 8)], [source]),
    seL4_TCB_Configure: (service, cspace_root, cspace_root_data, vspace_root, vspace_root_data, buffer, bufferFrame) =>
      invoke(L.TCBConfigure, service, [cspace_root_data, vspace_root_data, buffer], [cspace_root, vspace_root, bufferFrame]),
    seL4_TCB_SetPriority: (service, authority, priority) => invoke(L.TCBSetPriority, service, [priority], [authority]),
    seL4_TCB_SetMCPriority: (service, authority, mcp) => invoke(L.TCBSetMCPriority, service, [mcp], [authority]),
    seL4_TCB_SetSchedParams: (service, authority, mcp, priority, sched_context, fault_ep) =>
      invoke(L.TCBSetSchedParams, service, [mcp, priority], [authority, sched_context, fault_ep]),
    seL4_TCB_SetTimeoutEndpoint: (service, timeout_fault_ep) => invoke(L.TCBSetTimeoutEndpoint, service, [], [timeout_fault_ep]),
    seL4_TCB_SetIPCBuffer: (service, buffer, bufferFrame) => invoke(L.TCBSetIPCBuffer, service, [buffer], [bufferFrame]),
    seL4_TCB_SetSpace: (service, fault_ep, cspace_root, cspace_root_data, vspace_root, vspace_root_data) =>
      invoke(L.TCBSetSpace, service, [cspace_root_data, vspace_root_data], [fault_ep, cspace_root, vspace_root]),
    seL4_TCB_Suspend: (service) => invoke(L.TCBSuspend, service, [], []),
    seL4_TCB_Resume: (service) => invoke(L.TCBResume, service, [], []),
    seL4_TCB_SetTLSBase: (service, tls_base) => invoke(L.TCBSetTLSBase, service, [tls_base], []),
    seL4_TCB_SetFlags: (service, clear, set) => {
      const error = invoke(L.TCBSetFlags, service, [clear, set], []);
      return { error, flags: error === seL4_Error.seL4_NoError ? replyWord(0) : 0 };
    },
    seL4_SchedControl_ConfigureFlags: (service, schedcontext, budget, period, extra_refills, badge, flags) =>
      invoke(L.SchedControlConfigureFlags, service, [low(budget), high(budget), low(period), high(period), extra_refills, badge, flags], [schedcontext]),
    seL4_SchedContext_Bind: (service, cap) => invoke(L.SchedContextBind, service, [], [cap]),
    seL4_SchedContext_Unbind: (service) => invoke(L.SchedContextUnbind, service, [], []),
    seL4_SchedContext_UnbindObject: (service, cap) => invoke(L.SchedContextUnbindObject, service, [], [cap]),
    seL4_SchedContext_Consumed: (service) => consumedOf(L.SchedContextConsumed, service),
    seL4_SchedContext_YieldTo: (service) => consumedOf(L.SchedContextYieldTo, service),
  };
}

