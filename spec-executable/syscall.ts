// Kernel entry: the syscall dispatch, the invocation path, and replies from the kernel
// (seL4's syscall.c handleSyscall/handleInvocation, objecttype.c decodeInvocation).
import {
  IPCBuffer,
  SYSCALL_MAX,
  SYSCALL_MIN,
  capRegister,
  badgeRegister,
  isForeignLabel,
  seL4_CanRead,
  messageInfoFromWordKernel,
  msgInfoRegister,
  msgRegisters,
  seL4_MessageInfo_new,
  seL4_Syscall,
  syscallErrorCode,
  syscallErrorWords,
  syscallFromWord,
  syscallName,
  syscallNumberRegister,
  type Cap,
  type SlotRef,
  type SyscallError,
  type UserWrites,
  type Word,
} from '../libsel4/index.ts';
import { decodeCNodeInvocation, performCNodeInvocation, type CNodeInvocation } from './cnode.ts';
import { isSyscallError, lookupSlot } from './cspace.ts';
import { handleFault } from './fault.ts';
import { canReceiveSignal, decodeNotificationInvocation, pollSignal, sendSignal, type SignalInvocation } from './notification.ts';
import { getCap, type ExecState, type Step } from './state.ts';
import { getRegister, lookupIPCBuffer, readIPCBuffer, setRegisters, setThreadState, writeIPCBuffer } from './tcb.ts';
import { decodeUntypedInvocation, performUntypedInvocation, type RetypeInvocation } from './untyped.ts';

/** What a decoder sees of the message: label, length, extra cap slots and the arguments. */
export interface InvocationArgs {
  readonly label: number;
  /** Message length, clamped to 120, and to 4 without an IPC buffer. */
  readonly length: number;
  /** Slots of the extra caps, looked up in the caller's CSpace. */
  readonly extraCaps: readonly SlotRef[];
  /** getSyscallArg: message word i (MR0..MR3 from registers, the rest from the IPC buffer). */
  arg(i: number): Word;
}

type Invocation = CNodeInvocation | RetypeInvocation | SignalInvocation;
type Unmodelled = { readonly kind: 'unmodelled'; readonly what: string };

/** Applies what the user did since its last entry: register writes, then IPC buffer writes if it has one. */
export function applyUserWrites(k: Step, thread: number, user: UserWrites): void {
  setRegisters(k, thread, user.regs);
  const buffer = lookupIPCBuffer(k.state, k.tcb(thread));
  if (buffer !== null) writeIPCBuffer(k, buffer, user.ipcBuffer);
}

/**
 * handleSyscall: the current thread entered the kernel with the syscall number in a7. Returns
 * a description of what the model does not cover, or null when the entry was handled. Anything
 * unmodelled is found before the kernel writes anything, so it leaves the state as it was.
 */
export function handleSyscall(k: Step, thread: number): string | null {
  const sysno = syscallFromWord(getRegister(k.tcb(thread), syscallNumberRegister));
  if (sysno < SYSCALL_MIN || sysno > SYSCALL_MAX) return handleFault(k, thread);
  switch (sysno) {
    case seL4_Syscall.seL4_SysYield:
      return null;
    case seL4_Syscall.seL4_SysCall:
      return handleInvocation(k, thread, true, true);
    case seL4_Syscall.seL4_SysSend:
      return handleInvocation(k, thread, false, true);
    case seL4_Syscall.seL4_SysNBSend:
      return handleInvocation(k, thread, false, false);
    case seL4_Syscall.seL4_SysNBRecv:
    case seL4_Syscall.seL4_SysNBWait:
      return handleNBRecv(k, thread);
    default:
      return syscallName(sysno);
  }
}

/**
 * handleRecv, non-blocking: the cap in a0 must be a notification cap with Read (a failed lookup
 * or any other cap is a cap fault); receiving on an endpoint with Read is not modelled yet.
 */
function handleNBRecv(k: Step, thread: number): string | null {
  const found = lookupSlot(k.state, k.tcb(thread), getRegister(k.tcb(thread), capRegister));
  if (!found.ok) return handleFault(k, thread);
  const cap = getCap(k.state, found.slot);
  if (cap.type === 'endpoint' && (cap.rights & seL4_CanRead) !== 0) return 'endpoint receive';
  if (cap.type !== 'notification' || !canReceiveSignal(cap)) return handleFault(k, thread);
  pollSignal(k, thread, cap);
  return null;
}

/**
 * handleInvocation: looks up the invoked cap and the extra caps in the caller's CSpace (a failed
 * lookup is a cap fault, except for NBSend which just returns), decodes, and performs. The caller
 * is set to Restart while the invocation runs; if it is still Restart afterwards it is Running
 * again and, for Call, gets an empty reply. Errors are replied to Call only.
 */
function handleInvocation(k: Step, thread: number, isCall: boolean, isBlocking: boolean): string | null {
  const state = k.state;
  const tcb = k.tcb(thread);
  const info = messageInfoFromWordKernel(getRegister(tcb, msgInfoRegister));
  const buffer = lookupIPCBuffer(state, tcb);
  const capFault = () => (isBlocking ? handleFault(k, thread) : null);

  const invoked = lookupSlot(state, tcb, getRegister(tcb, capRegister));
  if (!invoked.ok) return capFault();
  const extraCaps: SlotRef[] = [];
  if (buffer !== null) {
    for (let i = 0; i < info.extraCaps; i++) {
      const extra = lookupSlot(state, tcb, readIPCBuffer(state, buffer, IPCBuffer.capsOrBadges + i));
      if (!extra.ok) return capFault();
      extraCaps.push(extra.slot);
    }
  }
  const args: InvocationArgs = {
    label: info.label,
    length: buffer === null ? Math.min(info.length, msgRegisters.length) : info.length,
    extraCaps,
    arg: (i) => (i < msgRegisters.length ? getRegister(tcb, msgRegisters[i]!) : buffer === null ? 0 : readIPCBuffer(state, buffer, 1 + i)),
  };

  const decoded = decodeInvocation(state, args, invoked.slot, getCap(state, invoked.slot));
  if ('kind' in decoded && decoded.kind === 'unmodelled') return decoded.what;
  if (isSyscallError(decoded)) {
    if (isCall) replyFromKernelError(k, thread, decoded);
    return null;
  }
  setThreadState(k, thread, 'Restart');
  performInvocation(k, decoded);
  if (k.tcb(thread).state === 'Restart') {
    if (isCall) replyFromKernelSuccessEmpty(k, thread);
    setThreadState(k, thread, 'Running');
  }
  return null;
}

/** decodeInvocation: dispatch on the invoked cap's type. */
function decodeInvocation(state: ExecState, args: InvocationArgs, slot: SlotRef, cap: Cap): Invocation | SyscallError | Unmodelled {
  switch (cap.type) {
    case 'null':
      return { error: 'InvalidCapability', capIndex: 0 };
    case 'untyped':
      return decodeUntypedInvocation(state, args, slot, cap);
    case 'cnode':
      return decodeCNodeInvocation(state, args, cap);
    case 'notification':
      return decodeNotificationInvocation(cap);
    default:
      return isForeignLabel(cap.type, args.label) ? { error: 'IllegalOperation' } : { kind: 'unmodelled', what: `${cap.type} invocation` };
  }
}

function performInvocation(k: Step, inv: Invocation): void {
  if (inv.kind === 'retype') performUntypedInvocation(k, inv);
  else if (inv.kind === 'signal') sendSignal(k, inv);
  else performCNodeInvocation(k, inv);
}

/**
 * replyFromKernel_error: badge 0, the error's words as message registers (MR4 on go to the IPC
 * buffer; without one they are dropped and the length stops at 4), label = error code.
 */
function replyFromKernelError(k: Step, thread: number, err: SyscallError): void {
  const words = syscallErrorWords(err);
  const buffer = lookupIPCBuffer(k.state, k.tcb(thread));
  const regs: [number, Word][] = [[badgeRegister, 0]];
  const bufferWrites: [number, Word][] = [];
  let length = 0;
  words.forEach((word, i) => {
    if (i < msgRegisters.length) {
      regs.push([msgRegisters[i]!, word]);
      length = i + 1;
    } else if (buffer !== null) {
      bufferWrites.push([1 + i, word]);
      length = i + 1;
    } else {
      length = msgRegisters.length;
    }
  });
  regs.push([msgInfoRegister, seL4_MessageInfo_new(syscallErrorCode(err), 0, 0, length)]);
  setRegisters(k, thread, regs);
  if (buffer !== null) writeIPCBuffer(k, buffer, bufferWrites);
}

/** replyFromKernel_success_empty: badge 0, message info all zero. */
function replyFromKernelSuccessEmpty(k: Step, thread: number): void {
  setRegisters(k, thread, [[badgeRegister, 0], [msgInfoRegister, seL4_MessageInfo_new(0, 0, 0, 0)]]);
}
