// Kernel entry: syscalls, user exceptions and interrupts, the syscall dispatch, Yield, the
// invocation path, and replies from the kernel (seL4's syscall.c, objecttype.c decodeInvocation).
import {
  SYSCALL_MAX,
  SYSCALL_MIN,
  capRegister,
  isForeignLabel,
  kernelTimerIRQ,
  seL4_CanGrant,
  seL4_CanRead,
  messageInfoFromWordKernel,
  msgInfoRegister,
  msgRegisters,
  nbsendRecvDestRegister,
  replyRegister,
  seL4_Syscall,
  syscallErrorCode,
  syscallErrorWords,
  syscallFromWord,
  syscallName,
  syscallNumberRegister,
  vmFault,
  type AccessKind,
  type Cap,
  type FaultView,
  type LookupFailure,
  type SlotRef,
  type SyscallError,
  type UserWrites,
  type Word,
} from '../libsel4/index.ts';
import { decodeCNodeInvocation, performCNodeInvocation, type CNodeInvocation } from './cnode.ts';
import { isSyscallError, lookupSlot } from './cspace.ts';
import { capFault, handleFault, unknownSyscallFault, userExceptionFault } from './fault.ts';
import {
  claimInterrupt,
  decodeIRQControlInvocation,
  decodeIRQHandlerInvocation,
  handleInterrupt,
  invokeIRQHandler,
  nextDeliverableIRQ,
  performIRQControl,
  type IRQControlInvocation,
  type IRQHandlerInvocation,
} from './interrupt.ts';
import { decodeEndpointInvocation, receiveIPC, sendIPC, type EndpointInvocation } from './endpoint.ts';
import { canReceiveSignal, decodeNotificationInvocation, receiveSignal, sendSignal, type SignalInvocation } from './notification.ts';
import { doReplyTransfer } from './reply.ts';
import {
  decodeSchedContextInvocation,
  decodeSchedControlInvocation,
  performSchedContextInvocation,
  performSchedControlInvocation,
  refillHead,
  scActive,
  schedContextAt,
  type ConfigureInvocation,
  type SchedContextInvocation,
} from './schedcontext.ts';
import { Preempted } from './preemption.ts';
import { activateThread, chargeBudget, checkBudget, checkBudgetRestart, isSchedulable, schedule, updateTimestamp } from './scheduler.ts';
import { getCap, UnmodelledBehaviour, type Step } from './state.ts';
import { lookupExtraCaps } from './transfer.ts';
import {
  decodeTCBInvocation,
  getRegister,
  lookupIPCBuffer,
  performTCBInvocation,
  readIPCBuffer,
  replyMessage,
  replyWords,
  setRegisters,
  setThreadState,
  writeIPCBuffer,
  type TCBInvocation,
} from './tcb.ts';
import { decodeUntypedInvocation, performUntypedInvocation, type RetypeInvocation } from './untyped.ts';
import { decodeRISCVMMUInvocation, performRISCVMMUInvocation, type VSpaceInvocation } from './vspace.ts';

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

type Invocation =
  | EndpointInvocation
  | { readonly kind: 'reply'; readonly reply: number; readonly grant: boolean }
  | CNodeInvocation
  | RetypeInvocation
  | SignalInvocation
  | TCBInvocation
  | SchedContextInvocation
  | ConfigureInvocation
  | VSpaceInvocation
  | IRQControlInvocation
  | IRQHandlerInvocation;

/** Applies what the user did since its last entry: register writes, then IPC buffer writes if it has one. */
export function applyUserWrites(k: Step, thread: number, user: UserWrites): void {
  setRegisters(k, thread, user.regs);
  const buffer = lookupIPCBuffer(k.state, k.tcb(thread), 'user');
  if (buffer !== null) writeIPCBuffer(k, buffer, user.ipcBuffer);
}

/**
 * The kernel entry of every syscall and user exception (MCS_DO_IF_BUDGET): the clock is read and
 * the time since the last entry is charged; if the current SC cannot cover the entry, its time
 * slice ends and the thread will restart the entry when it runs again. Then schedule and
 * activateThread. Anything unmodelled throws UnmodelledBehaviour.
 */
function entry(k: Step, thread: number, body: () => void): void {
  updateTimestamp(k);
  if (checkBudgetRestart(k, thread)) body();
  schedule(k);
  activateThread(k);
}

/** handleSyscall: the current thread entered the kernel with the syscall number in a7. */
export function handleSyscallEntry(k: Step, thread: number): void {
  entry(k, thread, () => handleSyscall(k, thread));
}

/** handleUserLevelFault: a user exception (scause `number`, `code`) is a fault of the current thread. */
export function handleExceptionEntry(k: Step, thread: number, number: Word, code: Word): void {
  entry(k, thread, () => handleFault(k, thread, userExceptionFault(number, code)));
}

/** handleVMFaultEvent: a user access that did not translate is a VMFault of the current thread (handleVMFault's normalised FSR). */
export function handleVMFaultEntry(k: Step, thread: number, access: AccessKind, vaddr: Word): void {
  entry(k, thread, () => handleFault(k, thread, vmFault(access, vaddr)));
}

/**
 * handleInterruptEntry for IRQ `irq`, already claimed: the clock is read and the budget checked
 * (an exhausted SC is charged and its thread requeued), handleInterrupt, then schedule and
 * activateThread.
 */
function handleInterruptEntry(k: Step, irq: number): void {
  updateTimestamp(k);
  checkBudget(k);
  handleInterrupt(k, irq);
  schedule(k);
  activateThread(k);
}

/** The timer interrupt's entry: its deadline is acknowledged, so the timer will be reprogrammed. */
export function handleTimerInterrupt(k: Step): void {
  handleInterruptEntry(k, kernelTimerIRQ);
}

/**
 * At the end of a kernel entry the kernel returns to user mode, where every pending, unmasked,
 * unclaimed PLIC source interrupts at once: each is claimed and handled in its own entry, the
 * lowest IRQ first, until none is left (a claimed source waits for its Ack).
 */
export function takePendingInterrupts(k: Step): void {
  for (let irq = nextDeliverableIRQ(k.state); irq !== null; irq = nextDeliverableIRQ(k.state)) {
    claimInterrupt(k, irq);
    handleInterruptEntry(k, irq);
  }
}

/**
 * The syscall invoking `cptr` in its first phase (ReplyRecv, NBSendRecv and NBSendWait), then its
 * receive phase unless the first was preempted.
 */
function firstPhaseThenRecv(k: Step, thread: number, cptrRegister: number, canReply: boolean): void {
  const mode = { isCall: false, isBlocking: false, canDonate: true, firstPhase: true };
  if (invoke(k, thread, mode, getRegister(k.tcb(thread), cptrRegister))) handleRecv(k, thread, true, canReply);
}

/** handleInvocation, and on a preemption mcsPreemptionPoint and checkInterrupt; whether it completed. */
function invoke(k: Step, thread: number, mode: InvocationMode, cptr: Word): boolean {
  if (handleInvocation(k, thread, mode, cptr)) return true;
  mcsPreemptionPoint(k);
  checkInterrupt(k);
  return false;
}

/**
 * mcsPreemptionPoint: after a preemption the time consumed is settled: a schedulable current
 * thread's budget is checked; else an active ksCurSC is charged (no time slice ends); else (the
 * SC was deleted) the time is dropped.
 */
function mcsPreemptionPoint(k: Step): void {
  if (isSchedulable(k, k.state.current)) {
    checkBudget(k);
    return;
  }
  const curSC = k.sched.curSC;
  const sc = curSC === null ? null : k.object(curSC);
  if (sc !== null && sc.type === 'schedcontext' && scActive(sc)) chargeBudget(k, k.sched.consumedTicks, false);
  else k.setSched({ consumedTicks: 0n });
}

/** checkInterrupt: the pending interrupt that preempted is claimed and handled now (none: nothing, a spurious IRQ). */
function checkInterrupt(k: Step): void {
  const irq = nextDeliverableIRQ(k.state);
  if (irq === null) return;
  claimInterrupt(k, irq);
  handleInterrupt(k, irq);
}

/**
 * handleSyscall: an unknown number takes the unknown-syscall fault path; a send invokes the cap in
 * a0; the combined syscalls invoke their first cap without blocking, then receive on a0.
 */
function handleSyscall(k: Step, thread: number): void {
  const word = getRegister(k.tcb(thread), syscallNumberRegister);
  const sysno = syscallFromWord(word);
  if (sysno < SYSCALL_MIN || sysno > SYSCALL_MAX) return handleFault(k, thread, unknownSyscallFault(word));
  const cptr = getRegister(k.tcb(thread), capRegister);
  const S = seL4_Syscall;
  switch (sysno) {
    case S.seL4_SysYield:
      return handleYield(k);
    case S.seL4_SysCall:
      invoke(k, thread, { isCall: true, isBlocking: true, canDonate: true, firstPhase: false }, cptr);
      return;
    case S.seL4_SysSend:
      invoke(k, thread, { isCall: false, isBlocking: true, canDonate: false, firstPhase: false }, cptr);
      return;
    case S.seL4_SysNBSend:
      invoke(k, thread, { isCall: false, isBlocking: false, canDonate: false, firstPhase: false }, cptr);
      return;
    case S.seL4_SysRecv:
      return handleRecv(k, thread, true, true);
    case S.seL4_SysNBRecv:
      return handleRecv(k, thread, false, true);
    case S.seL4_SysWait:
      return handleRecv(k, thread, true, false);
    case S.seL4_SysNBWait:
      return handleRecv(k, thread, false, false);
    case S.seL4_SysReplyRecv:
      return firstPhaseThenRecv(k, thread, replyRegister, true);
    case S.seL4_SysNBSendRecv:
      return firstPhaseThenRecv(k, thread, nbsendRecvDestRegister, true);
    case S.seL4_SysNBSendWait:
      return firstPhaseThenRecv(k, thread, replyRegister, false);
    default:
      throw new Error(`executable spec invariant: syscall ${syscallName(sysno)} not dispatched`);
  }
}

/**
 * handleYield (MCS): the current SC gives up its head refill (chargeBudget of the whole head, no
 * timeout fault): the thread goes to the back of its queue, or waits for its next release.
 * scConsumed counts only the time actually used.
 */
function handleYield(k: Step): void {
  const scAddr = k.sched.curSC;
  if (scAddr === null) throw new Error('executable spec invariant: Yield on the idle SC');
  const sc = schedContextAt(k, scAddr);
  const consumedTicks = sc.consumedTicks + k.sched.consumedTicks;
  chargeBudget(k, refillHead(sc).amountTicks, false);
  k.setObject({ ...schedContextAt(k, scAddr), consumedTicks });
}

/** A receive-phase cap fault on `cptr`: its lookup failure, or MissingCapability 0 for a cap of the wrong kind. */
function receiveCapFault(k: Step, thread: number, cptr: Word, failure: LookupFailure = { type: 'MissingCapability', bitsLeft: 0 }): void {
  handleFault(k, thread, capFault(cptr, true, failure));
}

/**
 * lookupReply: the reply cap in a6, for a receive on an endpoint. A failed lookup or any other cap
 * is a cap fault (null: the fault has been handled).
 */
function lookupReply(k: Step, thread: number): number | null {
  const cptr = getRegister(k.tcb(thread), replyRegister);
  const found = lookupSlot(k.state, k.tcb(thread), cptr);
  if (!found.ok) {
    receiveCapFault(k, thread, cptr, found.failure);
    return null;
  }
  const cap = getCap(k.state, found.slot);
  if (cap.type !== 'reply') {
    receiveCapFault(k, thread, cptr);
    return null;
  }
  return cap.ptr;
}

/**
 * handleRecv: the cap in a0 must be an endpoint cap with Read (with `canReply`, a reply cap in a6
 * too) or a notification cap with Read bound to no other thread; anything else, or a failed
 * lookup, is a cap fault.
 */
function handleRecv(k: Step, thread: number, isBlocking: boolean, canReply: boolean): void {
  const cptr = getRegister(k.tcb(thread), capRegister);
  const found = lookupSlot(k.state, k.tcb(thread), cptr);
  if (!found.ok) return receiveCapFault(k, thread, cptr, found.failure);
  const cap = getCap(k.state, found.slot);
  if (cap.type === 'endpoint' && (cap.rights & seL4_CanRead) !== 0) {
    if (!canReply) return receiveIPC(k, thread, cap, isBlocking, null);
    const reply = lookupReply(k, thread);
    if (reply !== null) receiveIPC(k, thread, cap, isBlocking, reply);
    return;
  }
  if (cap.type !== 'notification' || !canReceiveSignal(k, thread, cap)) return receiveCapFault(k, thread, cptr);
  receiveSignal(k, thread, cap, isBlocking);
}

/** How a syscall invokes a cap (handleInvocation's flags). */
interface InvocationMode {
  readonly isCall: boolean;
  readonly isBlocking: boolean;
  /** The sender's SC may go to a receiver without one (Call, and the first phases). */
  readonly canDonate: boolean;
  /** The first phase of ReplyRecv, NBSendRecv, NBSendWait: thread, CNode and scheduling caps are refused. */
  readonly firstPhase: boolean;
}

/**
 * handleInvocation: looks up the invoked cap and the extra caps in the caller's CSpace (a failed
 * lookup is a cap fault, except for non-blocking sends which just return), decodes, and performs.
 * The caller is set to Restart while the invocation runs; if it is still Restart afterwards it is
 * Running again and, for Call, gets an empty reply. Errors are replied to Call only. A preempted
 * invocation returns false at once: no reply, and the caller, if still Restart, makes the
 * syscall again when it next runs.
 */
function handleInvocation(k: Step, thread: number, mode: InvocationMode, cptr: Word): boolean {
  const state = k.state;
  const tcb = k.tcb(thread);
  const info = messageInfoFromWordKernel(getRegister(tcb, msgInfoRegister));
  const buffer = lookupIPCBuffer(state, tcb, 'sender');
  const faultIfBlocking = (fault: FaultView): true => {
    if (mode.isBlocking) handleFault(k, thread, fault);
    return true;
  };

  const invoked = lookupSlot(state, tcb, cptr);
  if (!invoked.ok) return faultIfBlocking(capFault(cptr, false, invoked.failure));
  const extraCaps = lookupExtraCaps(state, tcb, buffer, info.extraCaps);
  if (!Array.isArray(extraCaps)) return faultIfBlocking(extraCaps);
  const args: InvocationArgs = {
    label: info.label,
    length: buffer === null ? Math.min(info.length, msgRegisters.length) : info.length,
    extraCaps,
    arg: (i) => (i < msgRegisters.length ? getRegister(tcb, msgRegisters[i]!) : buffer === null ? 0 : readIPCBuffer(state, buffer, 1 + i)),
  };

  const decoded = decodeInvocation(k, args, invoked.slot, getCap(state, invoked.slot), mode.firstPhase);
  if (isSyscallError(decoded)) {
    if (mode.isCall) replyMessage(k, thread, syscallErrorCode(decoded), syscallErrorWords(decoded));
    return true;
  }
  setThreadState(k, thread, 'Restart');
  if (!performPreemptible(k, decoded, thread, mode)) {
    if (k.tcb(thread).state === 'Restart') k.restarted = true;
    return false;
  }
  if (k.tcb(thread).state === 'Restart') {
    if (mode.isCall) replyMessage(k, thread, 0, []);
    setThreadState(k, thread, 'Running');
  }
  return true;
}

/** performInvocation in the preemption monad (Haskell's KernelP): false when a preemption point stopped it. */
function performPreemptible(k: Step, inv: Invocation, caller: number, mode: InvocationMode): boolean {
  try {
    performInvocation(k, inv, caller, mode);
    return true;
  } catch (e) {
    if (e instanceof Preempted) return false;
    throw e;
  }
}

/** A VSpace invocation; one with reply words (Page_GetAddress) answers a Call itself and leaves the caller Running. */
function performVSpaceInvocation(k: Step, inv: VSpaceInvocation, caller: number, isCall: boolean): void {
  const words = performRISCVMMUInvocation(k, inv);
  if (words.length === 0) return;
  if (isCall) replyWords(k, caller, words);
  setThreadState(k, caller, 'Running');
}

/** Caps whose invocations seL4 decodes only outside a first phase. */
const refusedInFirstPhase: ReadonlySet<Cap['type']> = new Set(['thread', 'domain', 'schedcontext', 'schedcontrol', 'cnode']);

/** decodeInvocation: dispatch on the invoked cap's type. */
function decodeInvocation(k: Step, args: InvocationArgs, slot: SlotRef, cap: Cap, firstPhase: boolean): Invocation | SyscallError {
  const state = k.state;
  if (firstPhase && refusedInFirstPhase.has(cap.type)) return { error: 'InvalidCapability', capIndex: 0 };
  switch (cap.type) {
    case 'null':
    case 'zombie':
      return { error: 'InvalidCapability', capIndex: 0 };
    case 'endpoint':
      return decodeEndpointInvocation(cap);
    case 'reply':
      return { kind: 'reply', reply: cap.ptr, grant: (cap.rights & seL4_CanGrant) !== 0 };
    case 'untyped':
      return decodeUntypedInvocation(state, args, slot, cap);
    case 'cnode':
      return decodeCNodeInvocation(state, args, cap);
    case 'notification':
      return decodeNotificationInvocation(cap);
    case 'thread':
      return decodeTCBInvocation(k, args, slot, cap);
    case 'schedcontext':
      return decodeSchedContextInvocation(k, args, cap);
    case 'schedcontrol':
      return decodeSchedControlInvocation(k, args);
    case 'frame':
    case 'pagetable':
    case 'asidcontrol':
    case 'asidpool':
      return decodeRISCVMMUInvocation(state, args, slot, cap);
    case 'irqcontrol':
      return decodeIRQControlInvocation(state, args, slot);
    case 'irqhandler':
      return decodeIRQHandlerInvocation(state, args, cap);
    default:
      if (isForeignLabel(cap.type, args.label)) return { error: 'IllegalOperation' };
      throw new UnmodelledBehaviour(`${cap.type} invocation`);
  }
}

function performInvocation(k: Step, inv: Invocation, caller: number, mode: InvocationMode): void {
  const isCall = mode.isCall;
  switch (inv.kind) {
    case 'endpoint':
      return sendIPC(k, { ...inv.send, blocking: mode.isBlocking, call: isCall, canDonate: mode.canDonate }, caller, inv.ep);
    case 'reply':
      return doReplyTransfer(k, caller, inv.reply, inv.grant);
    case 'retype':
      return performUntypedInvocation(k, inv);
    case 'signal':
      return sendSignal(k, inv);
    case 'scConfigure':
      return performSchedControlInvocation(k, inv);
    case 'scConsumed':
    case 'scBindTCB':
    case 'scBindNtfn':
    case 'scUnbindTCB':
    case 'scUnbindNtfn':
    case 'scUnbind':
    case 'scYieldTo':
      return performSchedContextInvocation(k, inv, isCall);
    case 'readRegisters':
    case 'writeRegisters':
    case 'copyRegisters':
    case 'suspend':
    case 'resume':
    case 'threadControlCaps':
    case 'threadControlSched':
    case 'setTLSBase':
    case 'notificationControl':
    case 'setFlags':
      return performTCBInvocation(k, inv, caller, isCall);
    case 'pageTableMap':
    case 'pageTableUnmap':
    case 'pageMap':
    case 'pageUnmap':
    case 'pageGetAddress':
    case 'makePool':
    case 'assign':
      return performVSpaceInvocation(k, inv, caller, isCall);
    case 'issueIRQHandler':
      return performIRQControl(k, inv);
    case 'ackIRQ':
    case 'setIRQHandler':
    case 'clearIRQHandler':
      return invokeIRQHandler(k, inv);
    default:
      return performCNodeInvocation(k, inv);
  }
}
