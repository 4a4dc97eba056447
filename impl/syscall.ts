// Kernel entry, as seL4's syscall.c (MCS): one event is one kernel entry. The user's register
// and IPC buffer writes are applied to the current thread; every entry updates the timestamp
// and checks the budget (a syscall whose SC cannot cover the entry is not executed and is
// restarted later); a7 picks the syscall, Call, Send and NBSend go down the invocation path
// (look up the invoked cap and the extra caps, decode, perform, reply), the receives down
// handleRecv (receiveIPC or receiveSignal), ReplyRecv, NBSendRecv and NBSendWait down both
// (a non-blocking first phase, then a blocking receive); then the scheduler
// picks the thread that runs next. Call and ReplyRecv try the fastpath first (fastpath.ts).
// A `time` event lets the current thread (or the idle thread) compute; reaching the timer
// deadline enters the kernel by the timer interrupt. An `interrupt` event raises a device
// interrupt at the PLIC. At the end of every entry the deliverable device interrupts are
// taken, lowest IRQ first, each its own interrupt entry (seL4 takes them on its way out).
// An `access` event is a user load, store or fetch: one that translates is no kernel entry
// (accessUserMemory, vspace.ts); one that faults enters the kernel as handleVMFaultEvent.
import {
  IPCBuffer,
  Reg,
  SYSCALL_MAX,
  SYSCALL_MIN,
  ipcBufferWords,
  isForeignLabel,
  kernelTimerIRQ,
  maxReleaseTicks,
  msgRegisters,
  nbsendRecvDestRegister,
  replyRegister,
  seL4_CanGrant,
  seL4_CanGrantReply,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_MessageInfo_new,
  seL4_Syscall,
  syscallErrorCode,
  syscallErrorWords,
  syscallName,
  accessKinds,
  type AccessEvent,
  type KernelEvent,
  type ThreadEvent,
  type Outcome,
  type SyscallError,
  type UserWrites,
  type Witness,
  type Word,
} from '../libsel4/index.ts';
import { decodeCNodeInvocation, performCNodeInvocation, slotW0, slotW1, type CNodeInvocation } from './cnode.ts';
import { lookupSlot } from './cspace.ts';
import { touchedOf } from './decode.ts';
import { fastpathCall, fastpathReplyRecv } from './fastpath.ts';
import { capFault, handleFault, unknownSyscallFault, userExceptionFault, vmFaultOf, type Fault } from './fault.ts';
import { receiveIPC, sendIPC, type SendArgs } from './endpoint.ts';
import { doReplyTransfer } from './reply.ts';
import { lookupExtraCaps, messageLength } from './transfer.ts';
import { canReceiveSignal, decodeNotificationInvocation, receiveSignal, sendSignal, type SignalInvocation } from './notification.ts';
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
import { chargeBudget, checkBudget, isRunnable, schedule, updateTimestamp } from './scheduler.ts';
import {
  claimLowestDeliverable,
  decodeIRQControlInvocation,
  decodeIRQHandlerInvocation,
  handleInterrupt,
  performIrqInvocation,
  raiseIRQ,
  type IrqInvocation,
} from './interrupt.ts';
import { afterPreemption, raiseDuringEntry, statusNone, statusPreempted, type PreemptionStatus } from './preemption.ts';
import { NONE, beginStep, readUserWord, writeUserWord, type ImplState } from './state.ts';
import { CapTag, capPtr, capRightsBits, capTag, capTypeName, endpointBadge, endpointPtr, replyRights } from './structures.ts';
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
import { observe, observeAccess } from './view.ts';
import { accessUserMemory, decodeRISCVMMUInvocation, performVSpaceInvocation, type VSpaceInvocation } from './vspace.ts';

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

/** handleEvent: one kernel entry (or none, for time that ends before the deadline). The state is changed in place. */
export function handleEvent(state: ImplState, event: KernelEvent): Outcome<ImplState> {
  beginStep(state);
  const thread = state.current;
  let unmodelled: string | null;
  if (event.kind === 'time') {
    passTime(state, event.ticks);
    unmodelled = null;
  } else if (event.kind === 'interrupt') {
    raiseIRQ(state, event.irq);
    unmodelled = null;
  } else {
    if (thread === null) return { state, observation: idleObservation, touched: nothingTouched };
    if (event.kind === 'access') checkAccessEvent(event);
    applyUserWrites(state, thread, event.user);
    if (event.kind === 'access') {
      const userWordsBefore = state.userWrites.length;
      const word = accessUserMemory(state, thread, event.access, event.vaddr, (event.value ?? 0) >>> 0);
      if (word !== NONE) return accessOutcome(state, thread, word, userWordsBefore);
    }
    if (event.kind === 'syscall' && event.raise !== undefined) state.raise = event.raise;
    unmodelled = event.kind === 'syscall' && state.fastpath && fastpathTaken(state, thread) ? null : kernelEntry(state, thread, event);
    // A raise no preemption point of the entry reached comes when its work is done.
    if (state.raise !== null) raiseDuringEntry(state);
  }
  if (state.deliverableIRQs !== 0 && unmodelled === null) takeDeviceInterrupts(state);
  return {
    state,
    observation: thread === null ? observe(state, null, unmodelled) : observe(state, thread, unmodelled),
    touched: state.recordTouched ? touchedOf(state) : nothingTouched,
    witness: state.choices.length === 0 ? noChoices : [...state.choices],
  };
}

/** Clear errors for an access the model cannot make. */
function checkAccessEvent(event: AccessEvent): void {
  if (!accessKinds.includes(event.access)) throw new RangeError(`an access of kind ${String(event.access)}: not one of ${accessKinds.join(', ')}`);
  if (!Number.isInteger(event.vaddr) || event.vaddr < 0 || event.vaddr > 0xffff_ffff) throw new RangeError(`an access at ${event.vaddr}: not a 32-bit address`);
}

/**
 * A user access that translated: no kernel entry. The observation carries the word; touched,
 * what the user writes and the store wrote, with the stored word's address (the user memory
 * writes from `userWordsBefore` on).
 */
function accessOutcome(state: ImplState, thread: number, word: number, userWordsBefore: number): Outcome<ImplState> {
  const observation = observeAccess(state, thread, word);
  if (!state.recordTouched) return { state, observation, touched: nothingTouched, witness: noChoices };
  const userWords: number[] = [];
  for (let i = userWordsBefore; i < state.userWrites.length; i++) userWords.push(state.userWrites.at(i));
  const touched = touchedOf(state);
  return { state, observation, touched: userWords.length === 0 ? touched : { ...touched, userWords }, witness: noChoices };
}

/**
 * The fastpath of Call and ReplyRecv, tried before the slow path (c_handle_fastpath_call,
 * c_handle_fastpath_reply_recv): true when it did the whole entry.
 */
function fastpathTaken(state: ImplState, thread: number): boolean {
  const sysno = getRegister(state, thread, Reg.a7) | 0;
  if (sysno === seL4_Syscall.seL4_SysCall) state.fastpathOutcome = fastpathCall(state, thread);
  else if (sysno === seL4_Syscall.seL4_SysReplyRecv) state.fastpathOutcome = fastpathReplyRecv(state, thread);
  else return false;
  return state.fastpathOutcome === 'taken';
}

/** A kernel entry from a user thread. */
type KernelEntryEvent = ThreadEvent;

/**
 * A syscall, a user exception or a VM fault (handleVMFaultEvent) entry (MCS_DO_IF_BUDGET, then
 * schedule and activateThread).
 * An entry that reaches unmodelled behaviour leaves ksCurTime and ksConsumed as they were.
 */
function kernelEntry(state: ImplState, thread: number, event: KernelEntryEvent): string | null {
  const curTimeTicks = state.curTimeTicks;
  const consumedTicks = state.consumedTicks;
  updateTimestamp(state);
  let unmodelled: string | null = null;
  if (checkBudgetRestart(state, thread)) {
    if (event.kind === 'syscall') unmodelled = handleSyscall(state, thread);
    else if (event.kind === 'access') handleFault(state, thread, vmFaultOf(event.access, event.vaddr));
    else handleFault(state, thread, userExceptionFault(event.number, event.code));
    // handleSyscall's way out of a preempted invocation (Call, Send, NBSend, a first phase)
    if (state.preempted !== null) afterPreemption(state);
  }
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
 * then the kernel is entered by handleInterruptEntry, whose timer IRQ only asks for a new deadline;
 * its budget check may raise a timeout fault).
 */
function passTime(state: ImplState, ticks: bigint): void {
  if (ticks < 0n) throw new RangeError(`a time event of ${ticks} ticks: time only moves forward`);
  const clockTicks = state.clockTicks;
  const target = clockTicks + ticks < maxReleaseTicks ? clockTicks + ticks : maxReleaseTicks;
  const deadline = state.timerDeadlineTicks;
  // The interrupt comes at the deadline, but after at least one tick of user time.
  const interruptTicks = deadline === null ? null : deadline > clockTicks ? deadline : clockTicks + 1n;
  if (interruptTicks === null || interruptTicks > target) {
    state.clockTicks = target;
    return;
  }
  state.clockTicks = interruptTicks;
  handleInterruptEntry(state, kernelTimerIRQ);
}

/** The deliverable device interrupts, lowest IRQ first (getActiveIRQ claims each at the PLIC), each an entry. */
function takeDeviceInterrupts(state: ImplState): void {
  while (state.deliverableIRQs !== 0) handleInterruptEntry(state, claimLowestDeliverable(state));
}

/** handleInterruptEntry (MCS): updateTimestamp, checkBudget (which may raise a timeout fault), handleInterrupt, schedule, activateThread. */
function handleInterruptEntry(state: ImplState, irq: number): void {
  updateTimestamp(state);
  checkBudget(state);
  handleInterrupt(state, irq);
  schedule(state);
  activateThread(state);
}

/**
 * handleYield (MCS): the rest of the head refill is given up (charged as if used), but
 * scConsumed only counts what was really consumed.
 */
function handleYield(state: ImplState): void {
  const sc = state.curSC;
  const consumed = scConsumed(state, sc) + state.consumedTicks;
  chargeBudget(state, refillHeadAmount(state, sc), false);
  setScConsumed(state, sc, consumed);
}

/** Registers, then IPC buffer words (dropped without a buffer); bad indices are ignored. */
function applyUserWrites(state: ImplState, thread: number, user: UserWrites): void {
  const regs = user.regs;
  if (regs.length !== 0) setRegisters(state, thread, regs);
  const words = user.ipcBuffer;
  if (words.length === 0) return;
  const buffer = ipcBufferAddr(state, thread, 'user');
  if (buffer === NONE) return;
  const frame = ipcBufferFrame(state, thread);
  for (let i = 0; i < words.length; i++) {
    const index = words[i]![0];
    if (index >>> 0 === index && index < ipcBufferWords) writeUserWord(state, frame, buffer + index * 4, words[i]![1] >>> 0);
  }
}

const syscallNames = new Map(Object.values(seL4_Syscall).map((sysno) => [sysno as number, syscallName(sysno)]));

/** How handleInvocation was entered (seL4's isCall, isBlocking, canDonate, firstPhase). */
interface InvocationMode {
  readonly isCall: boolean;
  readonly isBlocking: boolean;
  readonly canDonate: boolean;
  readonly firstPhase: boolean;
}

const callMode: InvocationMode = { isCall: true, isBlocking: true, canDonate: true, firstPhase: false };
const sendMode: InvocationMode = { isCall: false, isBlocking: true, canDonate: false, firstPhase: false };
const nbSendMode: InvocationMode = { isCall: false, isBlocking: false, canDonate: false, firstPhase: false };
const firstPhaseMode: InvocationMode = { isCall: false, isBlocking: false, canDonate: true, firstPhase: true };

/** handleSyscall: dispatch on a7. Returns why the entry is unmodelled, or null. */
function handleSyscall(state: ImplState, thread: number): string | null {
  const sysno = getRegister(state, thread, Reg.a7) | 0;
  if (sysno < SYSCALL_MIN || sysno > SYSCALL_MAX) {
    handleFault(state, thread, unknownSyscallFault(sysno));
    return null;
  }
  const reg = (r: number) => getRegister(state, thread, r);
  switch (sysno) {
    case seL4_Syscall.seL4_SysCall:
      return handleInvocation(state, thread, callMode, reg(Reg.a0));
    case seL4_Syscall.seL4_SysSend:
      return handleInvocation(state, thread, sendMode, reg(Reg.a0));
    case seL4_Syscall.seL4_SysNBSend:
      return handleInvocation(state, thread, nbSendMode, reg(Reg.a0));
    case seL4_Syscall.seL4_SysRecv:
      return handleRecv(state, thread, true, true);
    case seL4_Syscall.seL4_SysNBRecv:
      return handleRecv(state, thread, false, true);
    case seL4_Syscall.seL4_SysWait:
      return handleRecv(state, thread, true, false);
    case seL4_Syscall.seL4_SysNBWait:
      return handleRecv(state, thread, false, false);
    case seL4_Syscall.seL4_SysReplyRecv:
      return sendThenRecv(state, thread, reg(replyRegister), true);
    case seL4_Syscall.seL4_SysNBSendRecv:
      return sendThenRecv(state, thread, reg(nbsendRecvDestRegister), true);
    case seL4_Syscall.seL4_SysNBSendWait:
      return sendThenRecv(state, thread, reg(replyRegister), false);
    case seL4_Syscall.seL4_SysYield:
      handleYield(state);
      return null;
    default:
      return syscallNames.get(sysno)!;
  }
}

/**
 * ReplyRecv, NBSendRecv, NBSendWait: a non-blocking first phase on `dest` (which may donate),
 * then a blocking receive on a0; a preempted first phase (a Retype's reset) skips the receive.
 */
function sendThenRecv(state: ImplState, thread: number, dest: number, canReply: boolean): string | null {
  const unmodelled = handleInvocation(state, thread, firstPhaseMode, dest);
  if (unmodelled !== null || state.preempted !== null) return unmodelled;
  return handleRecv(state, thread, true, canReply);
}

/** What a receive names: an endpoint (with the reply object, or NONE) or a notification. */
type Receive = { readonly ep: number; readonly reply: number } | { readonly ntfn: number };

/**
 * handleRecv's checks, writing only state.lookupFault: the cap in a0 must be an endpoint cap
 * with Read (then, for Recv forms, a6 must name a reply cap) or a notification cap with Read
 * bound to no other thread. Otherwise the receive-phase cap fault on the CPtr that failed.
 */
function decodeRecv(state: ImplState, thread: number, canReply: boolean): Receive | Fault {
  const cptr = getRegister(state, thread, Reg.a0);
  const slot = lookupSlot(state, thread, cptr);
  if (slot === NONE) return capFault(cptr, true);
  const w0 = slotW0(state, slot);
  const w1 = slotW1(state, slot);
  switch (capTag(w0)) {
    case CapTag.endpoint: {
      if ((capRightsBits(w1) & seL4_CanRead) === 0) return missingCapability(state, cptr);
      if (!canReply) return { ep: endpointPtr(w1), reply: NONE };
      const replyCPtr = getRegister(state, thread, replyRegister);
      const replySlot = lookupSlot(state, thread, replyCPtr);
      if (replySlot === NONE) return capFault(replyCPtr, true);
      if (capTag(slotW0(state, replySlot)) !== CapTag.reply) return missingCapability(state, replyCPtr);
      return { ep: endpointPtr(w1), reply: capPtr(slotW0(state, replySlot), slotW1(state, replySlot)) };
    }
    case CapTag.notification:
      return canReceiveSignal(state, thread, w1) ? { ntfn: endpointPtr(w1) } : missingCapability(state, cptr);
    default:
      return missingCapability(state, cptr);
  }
}

/** A receive-phase cap fault on a cap of the wrong type or rights: lookup_fault_missing_capability_new(0). */
function missingCapability(state: ImplState, cptr: number): Fault {
  state.lookupFault = { type: 'MissingCapability', bitsLeft: 0 };
  return capFault(cptr, true);
}

/** handleRecv: receiveIPC or receiveSignal, or a cap fault. */
function handleRecv(state: ImplState, thread: number, blocking: boolean, canReply: boolean): string | null {
  const recv = decodeRecv(state, thread, canReply);
  if ('w0' in recv) {
    handleFault(state, thread, recv);
    return null;
  }
  if ('ntfn' in recv) receiveSignal(state, thread, recv.ntfn, blocking);
  else receiveIPC(state, thread, recv.ep, blocking, recv.reply);
  return null;
}

/**
 * handleInvocation: looks up the invoked cap and the extra caps, decodes the invocation, and
 * on success performs it with the caller in Restart; a caller still in Restart afterwards
 * gets the empty reply (Call) and runs again, unless the invocation was preempted (then it
 * stays in Restart, state.preempted says where). A failed lookup is a cap fault for blocking
 * syscalls and nothing at all otherwise; a decode error is replied to a Call and dropped
 * otherwise.
 */
function handleInvocation(state: ImplState, thread: number, mode: InvocationMode, cptr: number): string | null {
  const info = getRegister(state, thread, Reg.a1);
  const slot = lookupSlot(state, thread, cptr);
  if (slot === NONE) {
    if (mode.isBlocking) handleFault(state, thread, capFault(cptr, false));
    return null;
  }
  const buffer = ipcBufferAddr(state, thread, 'sender');
  const extraCaps = lookupExtraCaps(state, thread, buffer, info);
  if ('faultCPtr' in extraCaps) {
    if (mode.isBlocking) handleFault(state, thread, capFault(extraCaps.faultCPtr, false));
    return null;
  }
  let length = messageLength(info);
  if (length > msgRegisters.length && buffer === NONE) length = msgRegisters.length;
  const ctx: InvocationContext = { thread, label: info >>> 12, length, buffer, extraCaps };

  const inv = decodeInvocation(state, ctx, slot, mode);
  if (inv === null) return `${capTypeName(capTag(slotW0(state, slot)))} invocation`;
  if ('error' in inv) return replyError(state, thread, mode.isCall, inv);
  setThreadState(state, thread, ThreadStateNum.Restart);
  if (performInvocation(state, thread, inv) === statusPreempted) {
    // No reply, not Running: a caller still in Restart makes the syscall again.
    state.restarted = threadState(state, thread) === ThreadStateNum.Restart;
    return null;
  }
  if (threadState(state, thread) === ThreadStateNum.Restart) {
    if (mode.isCall) replySuccess(state, thread);
    setThreadState(state, thread, ThreadStateNum.Running);
  }
  return null;
}

/** A send on an endpoint cap (performInvocation_Endpoint). */
interface SendInvocation extends SendArgs {
  readonly op: 'send';
  readonly ep: number;
}

/** A send on a reply cap (performInvocation_Reply). */
interface ReplyInvocation {
  readonly op: 'reply';
  readonly reply: number;
  readonly grant: boolean;
}

type Invocation =
  | SendInvocation
  | ReplyInvocation
  | RetypeInvocation
  | CNodeInvocation
  | SignalInvocation
  | TcbInvocation
  | SchedContextInvocation
  | ConfigureFlagsInvocation
  | VSpaceInvocation
  | IrqInvocation;

/**
 * decodeInvocation: by the invoked cap's type; null for types whose invocations are not
 * modelled yet (a result with an `unmodelled` field made every caller's check megamorphic).
 */
function decodeInvocation(state: ImplState, ctx: InvocationContext, slot: number, mode: InvocationMode): Invocation | SyscallError | null {
  const tag = capTag(slotW0(state, slot));
  const isCall = mode.isCall;
  if (mode.firstPhase && firstPhaseForbidden(tag)) return { error: 'InvalidCapability', capIndex: 0 };
  switch (tag) {
    case CapTag.endpoint:
      return decodeEndpointInvocation(slotW0(state, slot), slotW1(state, slot), mode);
    case CapTag.reply: {
      const w0 = slotW0(state, slot);
      return { op: 'reply', reply: capPtr(w0, slotW1(state, slot)), grant: (replyRights(w0) & seL4_CanGrant) !== 0 };
    }
    case CapTag.thread:
      return decodeTcbInvocation(state, ctx, isCall, slot);
    case CapTag.schedcontext:
      return decodeSchedContextInvocation(state, ctx, isCall, slotW0(state, slot), slotW1(state, slot));
    case CapTag.schedcontrol:
      return decodeSchedControlInvocation(state, ctx);
    case CapTag.null:
    case CapTag.zombie:
      return { error: 'InvalidCapability', capIndex: 0 };
    case CapTag.untyped:
      return decodeUntypedInvocation(state, ctx, slot);
    case CapTag.cnode:
      return decodeCNodeInvocation(state, ctx, slot);
    case CapTag.notification:
      return decodeNotificationInvocation(slotW0(state, slot), slotW1(state, slot));
    case CapTag.frame:
    case CapTag.pagetable:
    case CapTag.asidcontrol:
    case CapTag.asidpool:
      return decodeRISCVMMUInvocation(state, ctx, slot, isCall);
    case CapTag.irqcontrol:
      return decodeIRQControlInvocation(state, ctx, slot);
    case CapTag.irqhandler:
      return decodeIRQHandlerInvocation(state, ctx, slotW1(state, slot));
    default:
      return isForeignLabel(capTypeName(tag), ctx.label) ? { error: 'IllegalOperation' } : null;
  }
}

/** Caps that cannot be invoked in the first phase of ReplyRecv, NBSendRecv or NBSendWait. */
function firstPhaseForbidden(tag: number): boolean {
  return tag === CapTag.thread || tag === CapTag.domain || tag === CapTag.cnode || tag === CapTag.schedcontext || tag === CapTag.schedcontrol;
}

/** decodeInvocation, endpoint case: the cap needs Write (Send); the send carries its badge and Grant rights. */
function decodeEndpointInvocation(w0: number, w1: number, mode: InvocationMode): SendInvocation | SyscallError {
  const rights = capRightsBits(w1);
  if ((rights & seL4_CanWrite) === 0) return { error: 'InvalidCapability', capIndex: 0 };
  return {
    op: 'send', ep: endpointPtr(w1), badge: endpointBadge(w0), canGrant: (rights & seL4_CanGrant) !== 0,
    canGrantReply: (rights & seL4_CanGrantReply) !== 0, isCall: mode.isCall, blocking: mode.isBlocking, canDonate: mode.canDonate,
  };
}

/** performInvocation: Retype, CNode and TCB invocations may be preempted (the status); the others never stop. */
function performInvocation(state: ImplState, thread: number, inv: Invocation): PreemptionStatus {
  switch (inv.op) {
    case 'retype':
      return performRetype(state, inv);
    case 'revoke':
    case 'delete':
    case 'cancelBadgedSends':
    case 'insert':
    case 'move':
    case 'rotate':
      return performCNodeInvocation(state, inv);
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
      performUnpreemptible(state, thread, inv);
      return statusNone;
  }
}

function performUnpreemptible(state: ImplState, thread: number, inv: Exclude<Invocation, RetypeInvocation | CNodeInvocation | TcbInvocation>): void {
  switch (inv.op) {
    case 'send':
      return sendIPC(state, thread, inv.ep, inv);
    case 'reply':
      return doReplyTransfer(state, thread, inv.reply, inv.grant);
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
    case 'pageTableMap':
    case 'pageTableUnmap':
    case 'pageMap':
    case 'pageUnmap':
    case 'pageGetAddress':
    case 'makePool':
    case 'assign':
      return performVSpaceInvocation(state, thread, inv);
    default:
      return performIrqInvocation(state, inv);
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
  const buffer = ipcBufferAddr(state, thread, 'receiver');
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
