// Faults raised by a thread (l4v's FaultHandler.lhs and Faults.lhs): handleFault, sendFaultIPC,
// the fault message (makeFaultMessage, doFaultTransfer, the VMFault's Arch_setMRs_fault) and the
// handler's reply (handleFaultReply, the VMFault's Arch_handleFaultReply).
// A pending fault is kept in the TCB as the view shows it (tcbFault, FaultView).
import {
  badgeRegister,
  faultLabel,
  lookupFailureWords,
  numRegisters,
  Reg,
  seL4_CanGrant,
  seL4_CanGrantReply,
  seL4_VMFault,
  TCBSlot,
  type CapOf,
  type FaultView,
  type LookupFailure,
  type Word,
} from '../libsel4/index.ts';
import { sendIPC } from './endpoint.ts';
import { takeConsumedWords } from './schedcontext.ts';
import type { Step } from './state.ts';
import { getRegister, replyMessage, setRegisters, setThreadState } from './tcb.ts';

/** syscallMessage: the registers an unknown-syscall message carries and its reply may set (FaultIP, sp, ra, a0-a6). */
const syscallMessage = [Reg.pc, Reg.sp, Reg.ra, Reg.a0, Reg.a1, Reg.a2, Reg.a3, Reg.a4, Reg.a5, Reg.a6] as const;
/** exceptionMessage: FaultIP and sp. */
const exceptionMessage = [Reg.pc, Reg.sp] as const;
/** timeoutMessage: FaultIP, ra, sp, gp, s0-s11, a0-a7, t0-t6, tp: all 32 registers in seL4_UserContext order. */
const timeoutMessage = Array.from({ length: numRegisters }, (_, i) => i);

/** CapFault: the CPtr that failed, whether in a receive phase, and the lookup failure. */
export function capFault(cptr: Word, inReceivePhase: boolean, failure: LookupFailure): FaultView {
  return { type: 'CapFault', words: [cptr >>> 0, inReceivePhase ? 1 : 0, ...lookupFailureWords(failure)] };
}

export function unknownSyscallFault(syscallNumber: Word): FaultView {
  return { type: 'UnknownSyscall', words: [syscallNumber >>> 0] };
}

export function userExceptionFault(number: Word, code: Word): FaultView {
  // seL4_Fault_UserException's code field is 28 bits wide (Haskell: the fault words are packed into the C bitfield)
  return { type: 'UserException', words: [number >>> 0, (code & 0x0fff_ffff) >>> 0] };
}

/** Timeout: the badge of the SC whose budget ran out. */
export function timeoutFault(badge: Word): FaultView {
  return { type: 'Timeout', words: [badge >>> 0] };
}

/**
 * handleFault: the fault goes to the handler cap in TCB slot 3 (sendFaultIPC, donating the thread's
 * SC if it has one); with a null cap the thread stops for good (handleNoFaultHandler: Inactive).
 */
export function handleFault(k: Step, thread: number, fault: FaultView): void {
  const handler = k.cap({ cnode: thread, index: TCBSlot.faultHandler });
  if (handler.type === 'null') return setThreadState(k, thread, 'Inactive');
  if (handler.type !== 'endpoint') throw new Error(`executable spec invariant: fault handler slot holds a ${handler.type} cap`);
  sendFaultIPC(k, thread, handler, fault, k.tcb(thread).schedContext !== null);
}

/** handleTimeout: a timeout fault goes to the endpoint cap in TCB slot 4 (validTimeoutHandler), never donating. */
export function handleTimeout(k: Step, thread: number, fault: FaultView): void {
  const handler = k.cap({ cnode: thread, index: TCBSlot.timeoutHandler });
  if (handler.type !== 'endpoint') throw new Error('executable spec invariant: timeout fault without a timeout handler');
  sendFaultIPC(k, thread, handler, fault, false);
}

/** sendFaultIPC: the fault is stored in the TCB, then a blocking non-call send with the handler cap's badge and rights. */
function sendFaultIPC(k: Step, thread: number, handler: CapOf<'endpoint'>, fault: FaultView, canDonate: boolean): void {
  k.setObject({ ...k.tcb(thread), fault });
  const canGrant = (handler.rights & seL4_CanGrant) !== 0;
  const canGrantReply = (handler.rights & seL4_CanGrantReply) !== 0;
  sendIPC(k, { blocking: true, call: false, badge: handler.badge, canGrant, canGrantReply, canDonate }, thread, handler.ptr);
}

/** makeFaultMessage: the label and message words of a sender's pending fault. */
function makeFaultMessage(k: Step, sender: number, fault: FaultView): readonly Word[] {
  const tcb = k.tcb(sender);
  const regs = (list: readonly number[]) => list.map((r) => getRegister(tcb, r));
  switch (fault.type) {
    case 'CapFault':
      return [getRegister(tcb, Reg.pc), ...fault.words];
    case 'UnknownSyscall':
      return [...regs(syscallMessage), ...fault.words];
    case 'UserException':
      return [...regs(exceptionMessage), ...fault.words];
    case 'Timeout':
      return tcb.schedContext === null ? fault.words : [...fault.words, ...takeConsumedWords(k, tcb.schedContext)];
    case 'VMFault':
      return vmFaultMessage(getRegister(tcb, Reg.pc), fault);
  }
}

/** Arch_setMRs_fault: a VMFault's message, FaultIP (the restart PC), Addr, PrefetchFault, FSR. */
function vmFaultMessage(faultIP: Word, fault: FaultView): Word[] {
  const [addr, fsr, instruction] = fault.words;
  if (addr === undefined || fsr === undefined || instruction === undefined) throw new Error('executable spec invariant: a VMFault without its three words');
  const message = new Array<Word>(seL4_VMFault.Length);
  message[seL4_VMFault.IP] = faultIP;
  message[seL4_VMFault.Addr] = addr;
  message[seL4_VMFault.PrefetchFault] = instruction;
  message[seL4_VMFault.FSR] = fsr;
  return message;
}

/** doFaultTransfer: the receiver gets the sender's fault message with the handler cap's badge, no caps. */
export function doFaultTransfer(k: Step, badge: Word, sender: number, receiver: number): void {
  const fault = k.tcb(sender).fault;
  if (fault === null) throw new Error('executable spec invariant: fault transfer without a pending fault');
  replyMessage(k, receiver, faultLabel[fault.type], makeFaultMessage(k, sender, fault));
  setRegisters(k, receiver, [[badgeRegister, badge]]);
}

/**
 * handleFaultReply: the registers the fault's reply may set are written from the replier's message
 * words; whether the thread restarts (a cap or VM fault always, the others when the label is 0).
 */
export function handleFaultReply(k: Step, fault: FaultView, thread: number, label: number, message: readonly Word[]): boolean {
  const writeFrom = (list: readonly number[]) => setRegisters(k, thread, list.slice(0, message.length).map((r, i) => [r, message[i]!] as const));
  switch (fault.type) {
    case 'CapFault':
      return true;
    case 'UnknownSyscall':
      writeFrom(syscallMessage);
      return label === 0;
    case 'UserException':
      writeFrom(exceptionMessage);
      return label === 0;
    case 'Timeout':
      writeFrom(timeoutMessage);
      return label === 0;
    case 'VMFault':
      // Arch_handleFaultReply: the access is made again, whatever the reply says.
      return true;
  }
}
