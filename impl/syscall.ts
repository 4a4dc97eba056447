// Kernel entry, as seL4's syscall.c (MCS): one event is one kernel entry. The user's register
// and IPC buffer writes are applied to the current thread; every entry updates the timestamp
// and checks the budget (a syscall whose SC cannot cover the entry is not executed and is
// restarted later); a7 picks the syscall, Call, Send and NBSend go down the invocation path
// (look up the invoked cap and the extra caps, decode, perform, reply); then the scheduler
// picks the thread that runs next. A `time` event lets the current thread (or the idle
// thread) compute; reaching the timer deadline enters the kernel by the timer interrupt.
import {
  IPCBuffer,
  Reg,
  SYSCALL_MAX,
  SYSCALL_MIN,
  ipcBufferWords,
  isForeignLabel,
  maxReleaseTicks,
  msgRegisters,
  seL4_CanRead,
  seL4_MessageInfo_new,
  seL4_MsgMaxLength,
  seL4_Syscall,
  syscallErrorCode,
  syscallErrorWords,
  syscallName,
  type KernelEvent,
  type Outcome,
  type SyscallError,
  type UserWrites,
  type Witness,
  type Word,
} from '../libsel4/index.ts';
import { decodeCNodeInvocation, performCNodeInvocation, slotW0, slotW1, type CNodeInvocation } from './cnode.ts';
import { lookupSlot } from './cspace.ts';
import { touchedOf } from './decode.ts';
import { handleFault } from './fault.ts';
import { canReceiveSignal, decodeNotificationInvocation, pollSignal, sendSignal, type SignalInvocation } from './notification.ts';
import {
  decodeSchedContextInvocation,
  decodeSchedControlInvocation,
  performConfigureFlags,
  performSchedContextInvocation,
  refillHeadAmount,
  scConsumed,
  setScConsumed,
  type ConfigureFlagsInvocation,
  type SchedContextInvocation,
} from './schedcontext.ts';
import { budgetCheckWouldFault, chargeBudget, checkBudget, isRunnable, schedule, updateTimestamp } from './scheduler.ts';
import { NONE, beginStep, fail, readUserWord, writeUserWord, type ImplState } from './state.ts';
import { CapTag, capRightsBits, capTag, capTypeName } from './structures.ts';
import {
  ThreadStateNum,
  activateThread,
  decodeTcbInvocation,
  performTcbInvocation,
  type TcbInvocation,
  getRegister,
  ipcBufferAddr,
  ipcBufferFrame,
  setRegister,
  setRegisters,
  setThreadState,
  threadState,
} from './tcb.ts';
import { decodeUntypedInvocation, performRetype, type RetypeInvocation } from './untyped.ts';
import { observe } from './view.ts';

/** What a decoder sees of the message: the caller, label, length, IPC buffer and extra cap slots. */
export interface InvocationContext {
  readonly thread: number;
  readonly label: number;
  readonly length: number;
  /** Physical address of the caller's IPC buffer, or NONE. */
  readonly buffer: number;
  readonly extraCaps: readonly number[];
}

/** getSyscallArg: message word i, from a2..a5 or the IPC buffer. */
export function syscallArg(state: ImplState, ctx: InvocationContext, i: number): Word {
  if (i < msgRegisters.length) return getRegister(state, ctx.thread, msgRegisters[i]!);
  return ctx.buffer === NONE ? 0 : readUserWord(state, ctx.buffer + (IPCBuffer.msg + i) * 4);
}

const idleObservation = Object.freeze({ current: null, caller: null, unmodelled: null, restarted: false });
const nothingTouched = Object.freeze({ slots: Object.freeze([]), objects: Object.freeze([]) });
const noChoices: Witness = Object.freeze([]);

/** The extra caps of a message that has none (shared: the context's list is read-only). */
const noExtraCaps: readonly number[] = Object.freeze([]);

/** handleEvent: one kernel entry (or none, for time that ends before the deadline). The state is changed in place. */
export function handleEvent(state: ImplState, event: KernelEvent): Outcome<ImplState> {
  beginStep(state);
  const thread = state.current;
  let unmodelled: string | null;
  if (event.kind === 'time') {
    unmodelled = passTime(state, event.ticks);
  } else {
    if (thread === null) return { state, observation: idleObservation, touched: nothingTouched };
    applyUserWrites(state, thread, event.user);
    unmodelled = kernelEntry(state, thread, event.kind === 'syscall');
  }
  if (state.debug && state.finalising.size !== 0) fail('a finalisation was left unfinished');
  return {
    state,
    observation: thread === null ? observe(state, null, unmodelled) : observe(state, thread, unmodelled),
    touched: state.recordTouched ? touchedOf(state) : nothingTouched,
    witness: state.choices.length === 0 ? noChoices : [...state.choices],
  };
}

/**
 * A syscall (or else a user-exception) entry (MCS_DO_IF_BUDGET, then schedule and activateThread).
 * An entry that reaches unmodelled behaviour leaves ksCurTime and ksConsumed as they were.
 */
function kernelEntry(state: ImplState, thread: number, isSyscall: boolean): string | null {
  const curTimeTicks = state.curTimeTicks;
  const consumedTicks = state.consumedTicks;
  updateTimestamp(state);
  let unmodelled: string | null = budgetCheckWouldFault(state) ? 'timeout fault delivery' : null;
  if (unmodelled === null && checkBudgetRestart(state, thread)) unmodelled = isSyscall ? handleSyscall(state, thread) : handleFault(state, thread);
  if (unmodelled !== null) {
    state.curTimeTicks = curTimeTicks;
    state.consumedTicks = consumedTicks;
    return unmodelled;
  }
  schedule(state);
  activateThread(state);
  return null;
}

/** checkBudgetRestart: when the budget does not cover the entry, a still runnable caller restarts it later. */
function checkBudgetRestart(state: ImplState, thread: number): boolean {
  if (checkBudget(state)) return true;
  if (isRunnable(state, thread)) setThreadState(state, thread, ThreadStateNum.Restart);
  state.restarted = true;
  return false;
}

/**
 * A `time` event: the clock advances by `ticks` (never past maxReleaseTicks), or up to the
 * timer interrupt if it comes first (at the deadline, after at least one tick of user time;
 * then the kernel is entered by handleInterruptEntry, whose timer IRQ only asks for a new deadline). An entry
 * that would raise a timeout fault is unmodelled and leaves the clock as it was.
 */
function passTime(state: ImplState, ticks: bigint): string | null {
  if (ticks < 0n) throw new RangeError(`a time event of ${ticks} ticks: time only moves forward`);
  const clockTicks = state.clockTicks;
  const target = clockTicks + ticks < maxReleaseTicks ? clockTicks + ticks : maxReleaseTicks;
  const deadline = state.timerDeadlineTicks;
  // The interrupt comes at the deadline, but after at least one tick of user time.
  const interruptTicks = deadline === null ? null : deadline > clockTicks ? deadline : clockTicks + 1n;
  if (interruptTicks === null || interruptTicks > target) {
    state.clockTicks = target;
    return null;
  }
  const curTimeTicks = state.curTimeTicks;
  const consumedTicks = state.consumedTicks;
  state.clockTicks = interruptTicks;
  updateTimestamp(state);
  if (budgetCheckWouldFault(state)) {
    state.clockTicks = clockTicks;
    state.curTimeTicks = curTimeTicks;
    state.consumedTicks = consumedTicks;
    return 'timeout fault delivery';
  }
  checkBudget(state);
  state.reprogram = true;
  schedule(state);
  activateThread(state);
  return null;
}

/**
 * handleYield (MCS): the rest of the head refill is given up (charged as if used), but
 * scConsumed only counts what was really consumed.
 */
function handleYield(state: ImplState): void {
  const sc = state.curSC;
  const consumed = scConsumed(state, sc) + state.consumedTicks;
  chargeBudget(state, refillHeadAmount(state, sc));
  setScConsumed(state, sc, consumed);
}

/** Registers, then IPC buffer words (dropped without a buffer); bad indices are ignored. */
function applyUserWrites(state: ImplState, thread: number, user: UserWrites): void {
  const regs = user.regs;
  if (regs.length !== 0) setRegisters(state, thread, regs);
  const words = user.ipcBuffer;
  if (words.length === 0) return;
  const buffer = ipcBufferAddr(state, thread);
  if (buffer === NONE) return;
  const frame = ipcBufferFrame(state, thread);
  for (let i = 0; i < words.length; i++) {
    const index = words[i]![0];
    if (index >>> 0 === index && index < ipcBufferWords) writeUserWord(state, frame, buffer + index * 4, words[i]![1] >>> 0);
  }
}

const syscallNames = new Map(Object.values(seL4_Syscall).map((sysno) => [sysno as number, syscallName(sysno)]));

/** handleSyscall: dispatch on a7. Returns why the entry is unmodelled, or null. */
function handleSyscall(state: ImplState, thread: number): string | null {
  const sysno = getRegister(state, thread, Reg.a7) | 0;
  if (sysno < SYSCALL_MIN || sysno > SYSCALL_MAX) return handleFault(state, thread); // UnknownSyscall
  switch (sysno) {
    case seL4_Syscall.seL4_SysCall:
      return handleInvocation(state, thread, true, true);
    case seL4_Syscall.seL4_SysSend:
      return handleInvocation(state, thread, false, true);
    case seL4_Syscall.seL4_SysNBSend:
      return handleInvocation(state, thread, false, false);
    case seL4_Syscall.seL4_SysYield:
      handleYield(state);
      return null;
    case seL4_Syscall.seL4_SysNBRecv:
    case seL4_Syscall.seL4_SysNBWait:
      return handleNBRecv(state, thread);
    default:
      return syscallNames.get(sysno)!;
  }
}

/**
 * handleRecv, non-blocking: the cap in a0 must be a notification cap with Read (a failed lookup
 * or any other cap is a cap fault); receiving on an endpoint with Read is not modelled yet.
 */
function handleNBRecv(state: ImplState, thread: number): string | null {
  const slot = lookupSlot(state, thread, getRegister(state, thread, Reg.a0));
  if (slot === NONE) return handleFault(state, thread);
  const w0 = slotW0(state, slot);
  const w1 = slotW1(state, slot);
  const tag = capTag(w0);
  if (tag === CapTag.endpoint && (capRightsBits(w1) & seL4_CanRead) !== 0) return 'endpoint receive';
  if (tag !== CapTag.notification || !canReceiveSignal(state, thread, w1)) return handleFault(state, thread);
  pollSignal(state, thread, w1);
  return null;
}

/**
 * handleInvocation: looks up the invoked cap (a0) and the extra caps, decodes the
 * invocation, and on success performs it with the caller in Restart; a caller still in
 * Restart afterwards gets the empty reply (Call) and runs again. A failed lookup is a cap
 * fault for blocking syscalls and nothing at all for NBSend; a decode error is replied
 * to a Call and dropped otherwise.
 */
function handleInvocation(state: ImplState, thread: number, isCall: boolean, isBlocking: boolean): string | null {
  const info = getRegister(state, thread, Reg.a1);
  const slot = lookupSlot(state, thread, getRegister(state, thread, Reg.a0));
  if (slot === NONE) return isBlocking ? handleFault(state, thread) : null;
  const buffer = ipcBufferAddr(state, thread);
  const count = buffer === NONE ? 0 : (info >>> 7) & 0x3;
  let extraCaps: readonly number[] = noExtraCaps;
  if (count !== 0) {
    const found: number[] = [];
    for (let i = 0; i < count; i++) {
      const extra = lookupSlot(state, thread, readUserWord(state, buffer + (IPCBuffer.capsOrBadges + i) * 4));
      if (extra === NONE) return isBlocking ? handleFault(state, thread) : null;
      found.push(extra);
    }
    extraCaps = found;
  }
  let length = Math.min(info & 0x7f, seL4_MsgMaxLength);
  if (length > msgRegisters.length && buffer === NONE) length = msgRegisters.length;
  const ctx: InvocationContext = { thread, label: info >>> 12, length, buffer, extraCaps };

  const inv = decodeInvocation(state, ctx, slot, isCall);
  if (inv === null) return `${capTypeName(capTag(slotW0(state, slot)))} invocation`;
  if ('error' in inv) return replyError(state, thread, isCall, inv);
  setThreadState(state, thread, ThreadStateNum.Restart);
  performInvocation(state, inv);
  if (threadState(state, thread) === ThreadStateNum.Restart) {
    if (isCall) replySuccess(state, thread);
    setThreadState(state, thread, ThreadStateNum.Running);
  }
  return null;
}

type Invocation = RetypeInvocation | CNodeInvocation | SignalInvocation | TcbInvocation | SchedContextInvocation | ConfigureFlagsInvocation;

/**
 * decodeInvocation: by the invoked cap's type; null for types whose invocations are not
 * modelled yet (a result with an `unmodelled` field made every caller's check megamorphic).
 */
function decodeInvocation(state: ImplState, ctx: InvocationContext, slot: number, isCall: boolean): Invocation | SyscallError | null {
  const tag = capTag(slotW0(state, slot));
  switch (tag) {
    case CapTag.thread:
      return decodeTcbInvocation(state, ctx, isCall, slot);
    case CapTag.schedcontext:
      return decodeSchedContextInvocation(state, ctx, isCall, slotW0(state, slot), slotW1(state, slot));
    case CapTag.schedcontrol:
      return decodeSchedControlInvocation(state, ctx);
    case CapTag.null:
      return { error: 'InvalidCapability', capIndex: 0 };
    case CapTag.untyped:
      return decodeUntypedInvocation(state, ctx, slot);
    case CapTag.cnode:
      return decodeCNodeInvocation(state, ctx, slot);
    case CapTag.notification:
      return decodeNotificationInvocation(slotW0(state, slot), slotW1(state, slot));
    default:
      return isForeignLabel(capTypeName(tag), ctx.label) ? { error: 'IllegalOperation' } : null;
  }
}

function performInvocation(state: ImplState, inv: Invocation): void {
  switch (inv.op) {
    case 'retype':
      return performRetype(state, inv);
    case 'signal':
      return sendSignal(state, inv);
    case 'configureFlags':
      return performConfigureFlags(state, inv);
    case 'scConsumed':
    case 'scBind':
    case 'scBindNtfn':
    case 'scUnbindObject':
    case 'scUnbindNtfn':
    case 'scUnbind':
    case 'scYieldTo':
      return performSchedContextInvocation(state, inv);
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
      return performTcbInvocation(state, inv);
    default:
      return performCNodeInvocation(state, inv);
  }
}

/** replyFromKernel_success_empty. */
function replySuccess(state: ImplState, thread: number): void {
  setRegister(state, thread, Reg.a0, 0);
  setRegister(state, thread, Reg.a1, seL4_MessageInfo_new(0, 0, 0, 0));
}

/** Every error name (the Record type checks the list is complete), and its seL4_Error code. */
const errorNames: Record<SyscallError['error'], null> = {
  InvalidArgument: null, InvalidCapability: null, IllegalOperation: null, RangeError: null, AlignmentError: null,
  FailedLookup: null, TruncatedMessage: null, DeleteFirst: null, RevokeFirst: null, NotEnoughMemory: null,
};
const errorCodes = new Map(Object.keys(errorNames).map((error) => [error, syscallErrorCode({ error } as SyscallError)]));

/**
 * replyFromKernel_error (only for Call): badge 0, label = error code, the error's words as
 * message registers; words beyond a5 go to the IPC buffer, or are cut off without one.
 */
function replyError(state: ImplState, thread: number, isCall: boolean, err: SyscallError): null {
  if (!isCall) return null;
  const words = syscallErrorWords(err);
  const buffer = ipcBufferAddr(state, thread);
  let length = 0;
  for (let i = 0; i < words.length; i++) {
    if (i < msgRegisters.length) {
      setRegister(state, thread, msgRegisters[i]!, words[i]!);
      length = i + 1;
    } else if (buffer !== NONE) {
      writeUserWord(state, ipcBufferFrame(state, thread), buffer + (IPCBuffer.msg + i) * 4, words[i]!);
      length = i + 1;
    } else {
      length = msgRegisters.length;
    }
  }
  setRegister(state, thread, Reg.a0, 0);
  setRegister(state, thread, Reg.a1, seL4_MessageInfo_new(errorCodes.get(err.error)!, 0, 0, length));
  return null;
}
