// Faults raised by a thread and their delivery (l4v Ipc_A handle_fault, send_fault_ipc,
// make_fault_msg, handle_fault_reply, handle_no_fault; seL4's faulthandler.c and faults.c). A
// fault is stored in the thread's TCB (tcb_fault) as the view shows it, and sent through the
// handler cap in TCB slot 3 like a blocking send; a null cap leaves the thread Inactive. A
// timeout fault (handle_timeout) goes through slot 4 instead, never donating.
import { faultLabel, lookupFailureWords, numRegisters, Reg, seL4_CanGrant, seL4_CanGrantReply, seL4_VMFault, TCBSlot, type FaultView, type LookupFailure, type Word } from '../libsel4/index.ts';
import { sendIPC } from './endpoint.ts';
import { takeConsumedUs } from './schedcontext.ts';
import { hasTimeoutHandler, setThreadState } from './scheduler.ts';
import { capAt, slotRef, tcbAt, updateObject, type Kernel } from './state.ts';
import { register, setRegister } from './tcb.ts';

/** Kernel behaviour this model does not cover yet, met deep inside an entry: the entry is answered `unmodelled`. */
export class Unmodelled extends Error {
  constructor(readonly what: string) {
    super(`not modelled: ${what}`);
  }
}

/** The registers an UnknownSyscall message carries and its reply may set (riscv syscallMessage). */
const syscallMessage = [Reg.pc, Reg.sp, Reg.ra, Reg.a0, Reg.a1, Reg.a2, Reg.a3, Reg.a4, Reg.a5, Reg.a6] as const;
/** The registers a UserException message carries and its reply may set (riscv exceptionMessage). */
const exceptionMessage = [Reg.pc, Reg.sp] as const;
/** The registers a Timeout reply may set (riscv timeoutMessage): all 32, in seL4_UserContext order. */
const timeoutMessage = Array.from({ length: numRegisters }, (_, r) => r);
/** seL4_Fault_UserException's code field is 28 bits wide (l4v: `w2 && mask 28`). */
const userExceptionCodeBits = 28;

/** CapFault: the CPtr whose lookup failed, whether in a receive phase, and how it failed. */
export function capFault(cptr: Word, inReceivePhase: boolean, failure: LookupFailure): FaultView {
  return { type: 'CapFault', words: [cptr >>> 0, inReceivePhase ? 1 : 0, ...lookupFailureWords(failure)] };
}

export function unknownSyscallFault(sysno: Word): FaultView {
  return { type: 'UnknownSyscall', words: [sysno >>> 0] };
}

export function userExceptionFault(number: Word, code: Word): FaultView {
  return { type: 'UserException', words: [number >>> 0, (code >>> 0) % 2 ** userExceptionCodeBits] };
}

/** Timeout: the badge of the SC whose budget ran out (sc_badge). */
export function timeoutFault(badge: Word): FaultView {
  return { type: 'Timeout', words: [badge >>> 0] };
}

/**
 * make_fault_msg: the label and words of the fault message `tcb`'s pending fault sends. A
 * timeout message takes the thread's SC's consumed time (µs, low word first), resetting it.
 */
export function makeFaultMsg(k: Kernel, tcb: number, fault: FaultView): { label: number; words: Word[] } {
  const regs = (list: readonly number[]): Word[] => list.map((r) => register(k, tcb, r));
  const label = faultLabel[fault.type];
  switch (fault.type) {
    case 'CapFault':
      return { label, words: [register(k, tcb, Reg.pc), ...fault.words] };
    case 'UnknownSyscall':
      return { label, words: [...regs(syscallMessage), ...fault.words] };
    case 'UserException':
      return { label, words: [...regs(exceptionMessage), ...fault.words] };
    case 'Timeout': {
      const sc = tcbAt(k, tcb)!.schedContext;
      if (sc === null) return { label, words: [...fault.words] };
      const consumedUs = takeConsumedUs(k, sc);
      return { label, words: [...fault.words, Number(consumedUs & 0xffffffffn), Number((consumedUs >> 32n) & 0xffffffffn)] };
    }
    case 'VMFault':
      return { label, words: vmFaultMessage(register(k, tcb, Reg.pc), fault.words) };
  }
}

/** A VMFault's message words (seL4's Arch_setMRs_fault, l4v's make_arch_fault_msg): IP, Addr, PrefetchFault, FSR. */
function vmFaultMessage(pc: Word, faultWords: readonly Word[]): Word[] {
  const [address, fsr, instruction] = faultWords;
  if (address === undefined || fsr === undefined || instruction === undefined) throw new Error('abstract spec invariant: a VMFault without its three words');
  const words = new Array<Word>(seL4_VMFault.Length).fill(0);
  words[seL4_VMFault.IP] = pc;
  words[seL4_VMFault.Addr] = address;
  words[seL4_VMFault.PrefetchFault] = instruction;
  words[seL4_VMFault.FSR] = fsr;
  return words;
}

/**
 * send_fault_ipc: with an endpoint cap as handler (in TCB slot `handlerSlot`), the fault is
 * recorded and the thread sends blocking, not as a call, with the cap's badge and rights;
 * returns false for a null cap.
 */
function sendFaultIPC(k: Kernel, tcb: number, handlerSlot: number, fault: FaultView, canDonate: boolean): boolean {
  const handler = capAt(k, slotRef(tcb, handlerSlot));
  if (handler.type === 'null') return false;
  if (handler.type !== 'endpoint') throw new Error(`abstract spec invariant: fault handler of ${tcb} is a ${handler.type} cap`);
  updateObject(k, tcb, 'tcb', { fault });
  const canGrant = (handler.rights & seL4_CanGrant) !== 0;
  const canGrantReply = (handler.rights & seL4_CanGrantReply) !== 0;
  sendIPC(k, tcb, handler.ptr, { block: true, call: false, badge: handler.badge, canGrant, canGrantReply, canDonate });
  return true;
}

/** handle_fault: the fault goes to the thread's handler (donating its SC if it has one), else the thread stops. */
export function handleFault(k: Kernel, tcb: number, fault: FaultView): void {
  const canDonate = tcbAt(k, tcb)!.schedContext !== null;
  if (!sendFaultIPC(k, tcb, TCBSlot.faultHandler, fault, canDonate)) setThreadState(k, tcb, 'Inactive');
}

/** handle_timeout: a timeout fault goes to the thread's timeout handler, which must be an endpoint cap. */
export function handleTimeout(k: Kernel, tcb: number, fault: FaultView): void {
  if (!hasTimeoutHandler(k, tcb)) throw new Error(`abstract spec invariant: thread ${tcb} has no timeout handler`);
  sendFaultIPC(k, tcb, TCBSlot.timeoutHandler, fault, false);
}

/** The registers the reply to each fault type sets. */
const replyRegisters: Record<FaultView['type'], readonly number[]> = {
  CapFault: [],
  UnknownSyscall: syscallMessage,
  UserException: exceptionMessage,
  Timeout: timeoutMessage,
  VMFault: [],
};

/**
 * handle_fault_reply: the reply's words set the registers the fault type lists (none for a cap
 * fault or a VM fault, which always restart: arch_handle_fault_reply); returns whether the thread
 * restarts (label 0).
 */
export function handleFaultReply(k: Kernel, tcb: number, fault: FaultView, label: number, words: readonly Word[]): boolean {
  if (fault.type === 'CapFault' || fault.type === 'VMFault') return true;
  const written = replyRegisters[fault.type];
  for (let i = 0; i < Math.min(written.length, words.length); i++) setRegister(k, tcb, written[i]!, words[i]!);
  return label === 0;
}
