// Kernel entry: syscalls, user exceptions and the timer interrupt, the syscall dispatch, Yield, the
// invocation path, and replies from the kernel (seL4's syscall.c, objecttype.c decodeInvocation).
import {
  IPCBuffer,
  SYSCALL_MAX,
  SYSCALL_MIN,
  capRegister,
  isForeignLabel,
  seL4_CanRead,
  messageInfoFromWordKernel,
  msgInfoRegister,
  msgRegisters,
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
import {
  decodeSchedContextInvocation,
  decodeSchedControlInvocation,
  performSchedContextInvocation,
  performSchedControlInvocation,
  refillHead,
  schedContextAt,
  type ConfigureInvocation,
  type SchedContextInvocation,
} from './schedcontext.ts';
import { activateThread, chargeBudget, checkBudget, checkBudgetRestart, schedule, updateTimestamp } from './scheduler.ts';
import { getCap, UnmodelledBehaviour, type Step } from './state.ts';
import {
  decodeTCBInvocation,
  getRegister,
  lookupIPCBuffer,
  performTCBInvocation,
  readIPCBuffer,
  replyMessage,
  setRegisters,
  setThreadState,
  writeIPCBuffer,
  type TCBInvocation,
} from './tcb.ts';
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

type Invocation =
  | CNodeInvocation
  | RetypeInvocation
  | SignalInvocation
  | TCBInvocation
  | SchedContextInvocation
  | ConfigureInvocation;

/** Applies what the user did since its last entry: register writes, then IPC buffer writes if it has one. */
export function applyUserWrites(k: Step, thread: number, user: UserWrites): void {
  setRegisters(k, thread, user.regs);
  const buffer = lookupIPCBuffer(k.state, k.tcb(thread));
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

/** handleUserLevelFault: a user exception is a fault of the current thread. */
export function handleExceptionEntry(k: Step, thread: number): void {
  entry(k, thread, () => handleFault(k, thread));
}

/**
 * handleInterruptEntry for the timer interrupt: the clock is read and the budget checked (an
 * exhausted SC is charged and its thread requeued), the deadline is acknowledged so the timer
 * will be reprogrammed, then schedule and activateThread.
 */
export function handleTimerInterrupt(k: Step): void {
  updateTimestamp(k);
  checkBudget(k);
  k.reprogram = true;
  schedule(k);
  activateThread(k);
}

/** The syscalls an unknown number takes the unknown-syscall fault path for; the rest by number. */
function handleSyscall(k: Step, thread: number): void {
  const sysno = syscallFromWord(getRegister(k.tcb(thread), syscallNumberRegister));
  if (sysno < SYSCALL_MIN || sysno > SYSCALL_MAX) return handleFault(k, thread);
  switch (sysno) {
    case seL4_Syscall.seL4_SysYield:
      return handleYield(k);
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
      throw new UnmodelledBehaviour(syscallName(sysno));
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

/**
 * handleRecv, non-blocking: the cap in a0 must be a notification cap with Read (a failed lookup
 * or any other cap is a cap fault); receiving on an endpoint with Read is not modelled yet.
 */
function handleNBRecv(k: Step, thread: number): void {
  const found = lookupSlot(k.state, k.tcb(thread), getRegister(k.tcb(thread), capRegister));
  if (!found.ok) return handleFault(k, thread);
  const cap = getCap(k.state, found.slot);
  if (cap.type === 'endpoint' && (cap.rights & seL4_CanRead) !== 0) throw new UnmodelledBehaviour('endpoint receive');
  if (cap.type !== 'notification' || !canReceiveSignal(k, thread, cap)) return handleFault(k, thread);
  pollSignal(k, thread, cap);
}

/**
 * handleInvocation: looks up the invoked cap and the extra caps in the caller's CSpace (a failed
 * lookup is a cap fault, except for NBSend which just returns), decodes, and performs. The caller
 * is set to Restart while the invocation runs; if it is still Restart afterwards it is Running
 * again and, for Call, gets an empty reply. Errors are replied to Call only.
 */
function handleInvocation(k: Step, thread: number, isCall: boolean, isBlocking: boolean): void {
  const state = k.state;
  const tcb = k.tcb(thread);
  const info = messageInfoFromWordKernel(getRegister(tcb, msgInfoRegister));
  const buffer = lookupIPCBuffer(state, tcb);
  const capFault = () => (isBlocking ? handleFault(k, thread) : undefined);

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

  const decoded = decodeInvocation(k, args, invoked.slot, getCap(state, invoked.slot));
  if (isSyscallError(decoded)) {
    if (isCall) replyMessage(k, thread, syscallErrorCode(decoded), syscallErrorWords(decoded));
    return;
  }
  setThreadState(k, thread, 'Restart');
  performInvocation(k, decoded, thread, isCall);
  if (k.tcb(thread).state === 'Restart') {
    if (isCall) replyMessage(k, thread, 0, []);
    setThreadState(k, thread, 'Running');
  }
}

/** decodeInvocation: dispatch on the invoked cap's type. */
function decodeInvocation(k: Step, args: InvocationArgs, slot: SlotRef, cap: Cap): Invocation | SyscallError {
  const state = k.state;
  switch (cap.type) {
    case 'null':
      return { error: 'InvalidCapability', capIndex: 0 };
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
    default:
      if (isForeignLabel(cap.type, args.label)) return { error: 'IllegalOperation' };
      throw new UnmodelledBehaviour(`${cap.type} invocation`);
  }
}

function performInvocation(k: Step, inv: Invocation, caller: number, isCall: boolean): void {
  switch (inv.kind) {
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
    default:
      return performCNodeInvocation(k, inv);
  }
}
