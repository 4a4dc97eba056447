// Faults, as seL4's faulthandler.c (handleFault, sendFaultIPC, handleNoFaultHandler) and
// faults.c (setMRs_fault, setMRs_lookup_failure, copyMRsFault, copyMRsFaultReply,
// handleFaultReply), RISC-V message layouts from registerset.h.
//
// A fault is a seL4_Fault_t of two words (structures_32.bf): word 0 holds the type in bits
// [3:0] (CapFault also inReceivePhase in bit 31, UserException also code in bits [31:4]);
// word 1 the address (CapFault), syscall number (UnknownSyscall) or exception number
// (UserException). VMFault (riscv32 structures.bf): word 0 FSR in bits [31:27] and
// instructionFault in bit 19, word 1 the address. A lookup_fault_t likewise: word 0 lufType [1:0], bitsLeft / bitsFound at
// [7:2] and [13:8] (depth_mismatch: bitsLeft [7:2], bitsFound [13:8]; guard_mismatch:
// bitsFound [7:2], bitsLeft [13:8]), word 1 guardFound.
import {
  Reg,
  badgeRegister,
  lookupFailureWords,
  msgInfoRegister,
  msgRegisters,
  numRegisters,
  seL4_CanGrant,
  seL4_CanGrantReply,
  seL4_CanWrite,
  seL4_MsgMaxLength,
  vmFaultStatus,
  type AccessKind,
  type FaultView,
  type LookupFailure,
} from '../libsel4/index.ts';
import { isNullSlot, slotW0, slotW1 } from './cnode.ts';
import { sendIPC } from './endpoint.ts';
import { NONE, fail, readUserWord, writeUserWord, type ImplState } from './state.ts';
import { CapTag, capRightsBits, capTag, endpointBadge, endpointPtr } from './structures.ts';
import {
  ThreadStateNum,
  getRegister,
  ipcBufferAddr,
  ipcBufferFrame,
  setRegister,
  setThreadState,
  setTcbFault,
  setTcbLookupFailure,
  tcbFaultWords,
  tcbLookupFailureWords,
  tcbSchedContext,
  tcbSlot,
  validTimeoutHandler,
} from './tcb.ts';
import { updateConsumed } from './schedcontext.ts';

/** seL4_FaultType (RISC-V, MCS, no hardware debug API). */
export const FaultType = { Null: 0, CapFault: 1, UnknownSyscall: 2, UserException: 3, Timeout: 5, VMFault: 6 } as const;

/** A seL4_Fault_t: word 0 (type and small fields), word 1. */
export interface Fault {
  readonly w0: number;
  readonly w1: number;
}

const capFaultInReceivePhase = 0x8000_0000;
const userExceptionCodeMask = 0x0fff_ffff;

export function capFault(address: number, inReceivePhase: boolean): Fault {
  return { w0: ((inReceivePhase ? capFaultInReceivePhase : 0) | FaultType.CapFault) >>> 0, w1: address >>> 0 };
}

export function unknownSyscallFault(syscallNumber: number): Fault {
  return { w0: FaultType.UnknownSyscall, w1: syscallNumber >>> 0 };
}

export function timeoutFault(badge: number): Fault {
  return { w0: FaultType.Timeout, w1: badge >>> 0 };
}

/** seL4_Fault_UserException_new: `code` is a 28-bit field. */
export function userExceptionFault(number: number, code: number): Fault {
  return { w0: (((code & userExceptionCodeMask) << 4) | FaultType.UserException) >>> 0, w1: number >>> 0 };
}

const vmFaultFSRShift = 27;
const vmFaultInstructionBit = 0x8_0000;

/** handleVMFault's fault for a failed access at vaddr: the normalised FSR, the instruction flag for a fetch. */
export function vmFaultOf(access: AccessKind, vaddr: number): Fault {
  const instruction = access === 'execute' ? vmFaultInstructionBit : 0;
  return { w0: ((vmFaultStatus[access] << vmFaultFSRShift) | instruction | FaultType.VMFault) >>> 0, w1: vaddr >>> 0 };
}

/** A VMFault's words: FSR, instructionFault. */
const vmFaultFSR = (w0: number) => w0 >>> vmFaultFSRShift;
const vmFaultInstruction = (w0: number) => ((w0 & vmFaultInstructionBit) === 0 ? 0 : 1);

export function faultType(w0: number): number {
  return w0 & 0xf;
}

/** lookup_fault_t of a LookupFailure: its two words. */
export function encodeLookupFailure(failure: LookupFailure): Fault {
  switch (failure.type) {
    case 'InvalidRoot':
      return { w0: 0, w1: 0 };
    case 'MissingCapability':
      return { w0: (failure.bitsLeft << 2) | 1, w1: 0 };
    case 'DepthMismatch':
      return { w0: (failure.bitsFound << 8) | (failure.bitsLeft << 2) | 2, w1: 0 };
    case 'GuardMismatch':
      return { w0: (failure.bitsLeft << 8) | (failure.bitsFound << 2) | 3, w1: failure.guardFound >>> 0 };
  }
}

/** The LookupFailure a lookup_fault_t holds. */
function decodeLookupFailure(w0: number, w1: number): LookupFailure {
  const field = (shift: number): number => (w0 >>> shift) & 0x3f;
  switch (w0 & 3) {
    case 0:
      return { type: 'InvalidRoot' };
    case 1:
      return { type: 'MissingCapability', bitsLeft: field(2) };
    case 2:
      return { type: 'DepthMismatch', bitsLeft: field(2), bitsFound: field(8) };
    default:
      return { type: 'GuardMismatch', bitsLeft: field(8), guardFound: w1 >>> 0, bitsFound: field(2) };
  }
}

/** setMRs_lookup_failure's words: the type as on the wire (lufType + 1), then its fields. */
function lookupFailureFields(state: ImplState, tcb: number): number[] {
  const [l0, l1] = tcbLookupFailureWords(state, tcb);
  return lookupFailureWords(decodeLookupFailure(l0, l1));
}

/** The TCB view's `fault`: tcbFault (with tcbLookupFailure for a cap fault), or null. */
export function faultView(state: ImplState, tcb: number): FaultView | null {
  const [w0, w1] = tcbFaultWords(state, tcb);
  switch (faultType(w0)) {
    case FaultType.Null:
      return null;
    case FaultType.CapFault: {
      return { type: 'CapFault', words: [w1, w0 >>> 31, ...lookupFailureFields(state, tcb)] };
    }
    case FaultType.UnknownSyscall:
      return { type: 'UnknownSyscall', words: [w1] };
    case FaultType.UserException:
      return { type: 'UserException', words: [w1, w0 >>> 4] };
    case FaultType.Timeout:
      return { type: 'Timeout', words: [w1] };
    case FaultType.VMFault:
      return { type: 'VMFault', words: [w1, vmFaultFSR(w0), vmFaultInstruction(w0)] };
    default:
      return fail(`TCB ${tcb.toString(16)} has an invalid fault type ${faultType(w0)}`);
  }
}

/** n_syscallMessage / n_exceptionMessage registers (RISC-V registerset.h), in message order. */
const syscallMessage: readonly number[] = [Reg.pc, Reg.sp, Reg.ra, Reg.a0, Reg.a1, Reg.a2, Reg.a3, Reg.a4, Reg.a5, Reg.a6];
const exceptionMessage: readonly number[] = [Reg.pc, Reg.sp];
/** n_timeoutMessage: FaultIP, ra, sp, gp, s0-s11, a0-a7, t0-t6, tp, which is seL4_UserContext's order. */
const timeoutMessage: readonly number[] = Array.from({ length: numRegisters }, (_, i) => i);

/** setMR: MR0-MR3 in registers, the rest in the receiver's buffer (dropped without one). Returns the length so far. */
function setMR(state: ImplState, receiver: number, buffer: number, offset: number, value: number): number {
  if (offset < msgRegisters.length) {
    setRegister(state, receiver, msgRegisters[offset]!, value >>> 0);
    return offset + 1;
  }
  if (buffer === NONE) return msgRegisters.length;
  writeUserWord(state, ipcBufferFrame(state, receiver), buffer + (offset + 1) * 4, value >>> 0);
  return offset + 1;
}

/** copyMRsFault: the sender's registers `regs` as MR0.. of the receiver. */
function copyMRsFault(state: ImplState, sender: number, receiver: number, buffer: number, regs: readonly number[]): void {
  for (let i = 0; i < regs.length; i++) setMR(state, receiver, buffer, i, getRegister(state, sender, regs[i]!));
}

/** setMRs_fault: the fault message; returns its length. */
function setMRsFault(state: ImplState, sender: number, receiver: number, buffer: number, w0: number, w1: number): number {
  switch (faultType(w0)) {
    case FaultType.CapFault: {
      setMR(state, receiver, buffer, 0, getRegister(state, sender, Reg.pc));
      setMR(state, receiver, buffer, 1, w1);
      let length = setMR(state, receiver, buffer, 2, w0 >>> 31);
      const fields = lookupFailureFields(state, sender);
      for (let i = 0; i < fields.length; i++) length = setMR(state, receiver, buffer, 3 + i, fields[i]!);
      return length;
    }
    case FaultType.UnknownSyscall:
      copyMRsFault(state, sender, receiver, buffer, syscallMessage);
      return setMR(state, receiver, buffer, syscallMessage.length, w1);
    case FaultType.UserException:
      copyMRsFault(state, sender, receiver, buffer, exceptionMessage);
      setMR(state, receiver, buffer, exceptionMessage.length, w1);
      return setMR(state, receiver, buffer, exceptionMessage.length + 1, w0 >>> 4);
    case FaultType.Timeout: {
      const length = setMR(state, receiver, buffer, 0, w1);
      const sc = tcbSchedContext(state, sender);
      if (sc === NONE) return length;
      // mode_setTimeArg (32-bit): the consumed µs, low word first
      const consumedUs = updateConsumed(state, sc);
      setMR(state, receiver, buffer, length, Number(BigInt.asUintN(32, consumedUs)));
      return setMR(state, receiver, buffer, length + 1, Number(BigInt.asUintN(32, consumedUs >> 32n)));
    }
    case FaultType.VMFault:
      // Arch_setMRs_fault: FaultIP (getRestartPC), Addr, PrefetchFault, FSR
      setMR(state, receiver, buffer, 0, getRegister(state, sender, Reg.pc));
      setMR(state, receiver, buffer, 1, w1);
      setMR(state, receiver, buffer, 2, vmFaultInstruction(w0));
      return setMR(state, receiver, buffer, 3, vmFaultFSR(w0));
    default:
      return fail(`setMRs_fault: fault type ${faultType(w0)} is never raised here`);
  }
}

/** doFaultTransfer: the sender's fault message goes to the receiver (label = the fault type, no caps). */
export function doFaultTransfer(state: ImplState, badge: number, sender: number, receiver: number, receiveBuffer: number): void {
  const [w0, w1] = tcbFaultWords(state, sender);
  const length = setMRsFault(state, sender, receiver, receiveBuffer, w0, w1);
  setRegister(state, receiver, msgInfoRegister, ((faultType(w0) << 12) | length) >>> 0);
  setRegister(state, receiver, badgeRegister, badge >>> 0);
}

/**
 * handleFault: the fault goes to the endpoint cap in TCB slot 3 (sendFaultIPC: tcbFault set,
 * for a cap fault tcbLookupFailure = the last lookup's failure, then a blocking non-call send
 * with the cap's badge and rights, donating when the thread has an SC); with a null cap the
 * thread becomes Inactive (handleNoFaultHandler).
 */
export function handleFault(state: ImplState, tcb: number, fault: Fault): void {
  if (state.debug && faultType(fault.w0) === FaultType.Null) fail('handleFault of a null fault');
  const handler = tcbSlot(tcb, 3);
  if (isNullSlot(state, handler)) {
    setThreadState(state, tcb, ThreadStateNum.Inactive);
    return;
  }
  sendFaultIPC(state, tcb, handler, fault, tcbSchedContext(state, tcb) !== NONE);
}

/** handleTimeout: the timeout fault goes to the endpoint cap in TCB slot 4, with no donation. */
export function handleTimeout(state: ImplState, tcb: number, fault: Fault): void {
  if (state.debug && !validTimeoutHandler(state, tcb)) fail(`handleTimeout: TCB ${tcb.toString(16)} has no timeout handler`);
  sendFaultIPC(state, tcb, tcbSlot(tcb, 4), fault, false);
}

/** sendFaultIPC: tcbFault (and tcbLookupFailure) set, then a blocking non-call send on the handler cap in `handler`. */
function sendFaultIPC(state: ImplState, tcb: number, handler: number, fault: Fault, canDonate: boolean): void {
  const w0 = slotW0(state, handler);
  const w1 = slotW1(state, handler);
  const rights = capRightsBits(w1);
  if (state.debug && (capTag(w0) !== CapTag.endpoint || (rights & seL4_CanWrite) === 0 || (rights & (seL4_CanGrant | seL4_CanGrantReply)) === 0)) {
    fail(`TCB ${tcb.toString(16)}: an invalid fault handler cap`);
  }
  setTcbFault(state, tcb, fault.w0, fault.w1);
  if (faultType(fault.w0) === FaultType.CapFault) {
    const failure = encodeLookupFailure(state.lookupFault);
    setTcbLookupFailure(state, tcb, failure.w0, failure.w1);
  }
  sendIPC(state, tcb, endpointPtr(w1), {
    blocking: true, isCall: false, badge: endpointBadge(w0),
    canGrant: (rights & seL4_CanGrant) !== 0, canGrantReply: (rights & seL4_CanGrantReply) !== 0,
    canDonate,
  });
}

/** Whether a reply from `sender` restarts the faulted `receiver` (handleFaultReply's result): a CapFault's and a VMFault's always do. */
function faultReplyRestarts(state: ImplState, receiver: number, sender: number): boolean {
  const type = faultType(tcbFaultWords(state, receiver)[0]);
  // Arch_handleFaultReply: a VMFault's reply always restarts the access.
  if (type === FaultType.VMFault) return true;
  return type === FaultType.CapFault || getRegister(state, sender, msgInfoRegister) >>> 12 === 0;
}

/**
 * handleFaultReply: the replier's MR0.. (registers, then its buffer, read-only allowed) are
 * written to the faulted thread's registers of the fault's message (none for a CapFault or a
 * VMFault); whether it restarts.
 */
export function handleFaultReply(state: ImplState, receiver: number, sender: number): boolean {
  const length = Math.min(getRegister(state, sender, msgInfoRegister) & 0x7f, seL4_MsgMaxLength);
  const type = faultType(tcbFaultWords(state, receiver)[0]);
  switch (type) {
    case FaultType.CapFault:
    case FaultType.VMFault:
      break;
    case FaultType.UnknownSyscall:
      copyMRsFaultReply(state, sender, receiver, syscallMessage, Math.min(length, syscallMessage.length));
      break;
    case FaultType.UserException:
      copyMRsFaultReply(state, sender, receiver, exceptionMessage, Math.min(length, exceptionMessage.length));
      break;
    case FaultType.Timeout:
      copyMRsFaultReply(state, sender, receiver, timeoutMessage, Math.min(length, timeoutMessage.length));
      break;
    default:
      fail(`handleFaultReply: fault type ${type} is never raised here`);
  }
  return faultReplyRestarts(state, receiver, sender);
}

/** copyMRsFaultReply: MR0-MR3 from the replier's registers, the rest from its buffer if it has one. */
function copyMRsFaultReply(state: ImplState, sender: number, receiver: number, regs: readonly number[], length: number): void {
  let i = 0;
  for (; i < length && i < msgRegisters.length; i++) setRegister(state, receiver, regs[i]!, getRegister(state, sender, msgRegisters[i]!));
  if (i === length) return;
  const buffer = ipcBufferAddr(state, sender, 'sender');
  if (buffer === NONE) return;
  for (; i < length; i++) setRegister(state, receiver, regs[i]!, readUserWord(state, buffer + (i + 1) * 4));
}
