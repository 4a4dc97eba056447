// Kernel entry: the syscall dispatcher, the invocation path (look up the invoked cap and
// the extra caps, decode, perform) and the replies (l4v Syscall_A handle_event,
// handle_invocation, Decode_A decode_invocation). See docs/model.md "One kernel entry".
import {
  badgeRegister,
  capRegister,
  isForeignLabel,
  messageInfoFromWordKernel,
  msgInfoRegister,
  msgRegisters,
  seL4_CanRead,
  seL4_MessageInfo_new,
  seL4_Syscall,
  SYSCALL_MAX,
  SYSCALL_MIN,
  syscallErrorCode,
  syscallErrorWords,
  syscallFromWord,
  syscallName,
  syscallNumberRegister,
  type Cap,
  type KernelEvent,
  type Outcome,
  type SlotRef,
  type SyscallError,
  type Witness,
  type Word,
} from '../libsel4/index.ts';
import { decodeCNodeInvocation, performCNodeInvocation } from './cnode.ts';
import { lookupSlotForThread } from './cspace.ts';
import { handleFault } from './fault.ts';
import { canReceiveSignal, decodeNotificationInvocation, pollSignal, sendSignal } from './notification.ts';
import { chooseThread } from './scheduler.ts';
import { begin, capAt, commit, setCurrent, tcbAt, TouchLog, type AbstractState, type Branch, type Kernel } from './state.ts';
import { applyUserWrites, extraCapPtr, getMR, ipcBufferAddress, register, setMR, setRegister } from './tcb.ts';
import { decodeUntypedInvocation, performRetype } from './untyped.ts';
import { observe } from './view.ts';
import { WitnessOracle } from './witness.ts';

/** An invocation's message as the decoders see it. */
export interface InvocationMessage {
  readonly label: number;
  /** Message length in words, after clamping. */
  readonly length: number;
  /** Message register `i`, for i < length. */
  readonly mr: (i: number) => Word;
  /** The extra caps, looked up in the caller's CSpace. */
  readonly extraCaps: readonly { readonly cap: Cap; readonly slot: SlotRef }[];
}

/** The allowed results of an entry, before the scheduler runs. */
interface Entry {
  readonly branches: readonly Branch[];
  readonly unmodelled: string | null;
}

function only(k: Kernel, unmodelled: string | null = null): Entry {
  return { branches: [{ k }], unmodelled };
}

/**
 * reply_from_kernel for an error: badge register 0, message info with the error as label,
 * the error's words as message registers (words past the registers need an IPC buffer).
 */
function replyError(k: Kernel, tcb: number, error: SyscallError): void {
  const buffer = ipcBufferAddress(k, tcb);
  let length = 0;
  syscallErrorWords(error).forEach((word, i) => {
    length = setMR(k, tcb, buffer, i, word) ? i + 1 : msgRegisters.length;
  });
  setRegister(k, tcb, badgeRegister, 0);
  setRegister(k, tcb, msgInfoRegister, seL4_MessageInfo_new(syscallErrorCode(error), 0, 0, length));
}

/** The empty success reply of a Call, unless the invocation stopped the caller. */
function replySuccess(k: Kernel, tcb: number): void {
  if (tcbAt(k, tcb)?.state !== 'Running') return;
  setRegister(k, tcb, badgeRegister, 0);
  setRegister(k, tcb, msgInfoRegister, seL4_MessageInfo_new(0, 0, 0, 0));
}

/** A decode error: replied to a Call, dropped otherwise. */
function failed(k: Kernel, tcb: number, isCall: boolean, error: SyscallError): Entry {
  if (isCall) replyError(k, tcb, error);
  return only(k);
}

/**
 * handle_invocation: look up the invoked cap (a0) and the extra caps, decode by cap type,
 * then either reply with the error (Call only) or perform the invocation. A failed lookup is
 * a cap fault for Call and Send; NBSend gives up silently.
 */
function handleInvocation(k: Kernel, tcb: number, isCall: boolean, isBlocking: boolean): Entry {
  const buffer = ipcBufferAddress(k, tcb);
  const info = messageInfoFromWordKernel(register(k, tcb, msgInfoRegister));
  const length = info.length > msgRegisters.length && buffer === null ? msgRegisters.length : info.length;
  const lookupFailed = (): Entry => (isBlocking ? only(k, handleFault(k, tcb)) : only(k));

  const invoked = lookupSlotForThread(k, tcb, register(k, tcb, capRegister));
  if (!invoked.ok) return lookupFailed();
  const extraCaps: { cap: Cap; slot: SlotRef }[] = [];
  if (buffer !== null) {
    for (let i = 0; i < info.extraCaps; i++) {
      const extra = lookupSlotForThread(k, tcb, extraCapPtr(k, buffer, i));
      if (!extra.ok) return lookupFailed();
      extraCaps.push({ cap: capAt(k, extra.slot), slot: extra.slot });
    }
  }
  const msg: InvocationMessage = { label: info.label, length, mr: (i) => getMR(k, tcb, buffer, i), extraCaps };

  const cap = capAt(k, invoked.slot);
  let branches: readonly Branch[];
  switch (cap.type) {
    case 'null':
      return failed(k, tcb, isCall, { error: 'InvalidCapability', capIndex: 0 });
    case 'untyped': {
      const decoded = decodeUntypedInvocation(k, msg, invoked.slot, cap);
      if ('error' in decoded) return failed(k, tcb, isCall, decoded.error);
      performRetype(k, decoded.invocation);
      branches = [{ k }];
      break;
    }
    case 'cnode': {
      const decoded = decodeCNodeInvocation(k, msg, cap);
      if ('error' in decoded) return failed(k, tcb, isCall, decoded.error);
      branches = performCNodeInvocation(k, decoded.invocation);
      break;
    }
    case 'notification': {
      const decoded = decodeNotificationInvocation(cap);
      if ('error' in decoded) return failed(k, tcb, isCall, decoded.error);
      sendSignal(k, decoded.invocation);
      branches = [{ k }];
      break;
    }
    default:
      if (isForeignLabel(cap.type, info.label)) return failed(k, tcb, isCall, { error: 'IllegalOperation' });
      return only(k, `${cap.type} invocation`);
  }
  if (isCall) for (const branch of branches) replySuccess(branch.k, tcb);
  return { branches, unmodelled: null };
}

/** handle_syscall: dispatch on the syscall number in a7. */
function handleSyscall(k: Kernel, tcb: number): Entry {
  const sysno = syscallFromWord(register(k, tcb, syscallNumberRegister));
  if (sysno < SYSCALL_MIN || sysno > SYSCALL_MAX) return only(k, handleFault(k, tcb));
  switch (sysno) {
    case seL4_Syscall.seL4_SysCall:
      return handleInvocation(k, tcb, true, true);
    case seL4_Syscall.seL4_SysSend:
      return handleInvocation(k, tcb, false, true);
    case seL4_Syscall.seL4_SysNBSend:
      return handleInvocation(k, tcb, false, false);
    case seL4_Syscall.seL4_SysYield:
      return only(k);
    case seL4_Syscall.seL4_SysNBRecv:
    case seL4_Syscall.seL4_SysNBWait:
      return handleNBRecv(k, tcb);
    default:
      return only(k, syscallName(sysno));
  }
}

/**
 * handle_recv, non-blocking: the cap in a0 must be a notification cap with Read (a failed lookup
 * or any other cap is a cap fault); receiving on an endpoint with Read is not modelled yet.
 */
function handleNBRecv(k: Kernel, tcb: number): Entry {
  const found = lookupSlotForThread(k, tcb, register(k, tcb, capRegister));
  if (!found.ok) return only(k, handleFault(k, tcb));
  const cap = capAt(k, found.slot);
  if (cap.type === 'endpoint' && (cap.rights & seL4_CanRead) !== 0) return only(k, 'endpoint receive');
  if (cap.type !== 'notification' || !canReceiveSignal(cap)) return only(k, handleFault(k, tcb));
  pollSignal(k, tcb, cap);
  return only(k);
}

/**
 * handle_event for one kernel entry by the current thread: apply what the user wrote, run
 * the syscall, then choose the thread to run next. Returns every allowed outcome.
 */
export function handleEvent(state: AbstractState, event: KernelEvent, witness?: Witness): Outcome<AbstractState>[] {
  const caller = state.current;
  if (caller === null || tcbAt(state, caller) === null) {
    return [{ state, observation: observe(state, null), touched: { slots: [], objects: [] } }];
  }
  if (event.kind !== 'syscall') return [{ state, observation: observe(state, caller, event.kind), touched: { slots: [], objects: [] } }];
  const oracle = witness === undefined ? null : new WitnessOracle(witness);
  const k = begin(state, new TouchLog(), oracle);
  k.log.object(caller);
  applyUserWrites(k, caller, event.user);
  const entry = handleSyscall(k, caller);
  oracle?.finish();
  return entry.branches.map(({ k: branch, choice }) => {
    setCurrent(branch, chooseThread(branch, caller));
    const next = commit(branch);
    const outcome: Outcome<AbstractState> = {
      state: next,
      observation: observe(next, caller, entry.unmodelled),
      touched: branch.log.toTouched(),
    };
    return choice === undefined ? outcome : { ...outcome, choice };
  });
}
