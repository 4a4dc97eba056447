// Kernel entry: the syscall dispatcher, the invocation path (look up the invoked cap and
// the extra caps, decode, perform), the receive path and the replies (l4v Syscall_A
// handle_event, handle_invocation, handle_recv, lookup_reply, Decode_A decode_invocation). See
// docs/model.md "One kernel entry".
import {
  badgeRegister,
  capRegister,
  isForeignLabel,
  kernelTimerIRQ,
  messageInfoFromWordKernel,
  msgInfoRegister,
  msgRegisters,
  nbsendRecvDestRegister,
  replyRegister,
  seL4_CanGrant,
  seL4_CanGrantReply,
  seL4_CanRead,
  seL4_CanWrite,
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
  maxReleaseTicks,
  userWritesOf,
  vmFault,
  type AccessEvent,
  type FaultView,
  type KernelEvent,
  type LookupFailure,
  type Outcome,
  type SlotRef,
  type SyscallError,
  type Witness,
  type Word,
} from '../libsel4/index.ts';
import { decodeCNodeInvocation, performCNodeInvocation } from './cnode.ts';
import { claimInterrupt, decodeIRQControlInvocation, decodeIRQHandlerInvocation, deliverableInterrupt, handleInterrupt, isPlicSource, performIRQControl, performIRQHandler, raiseInterrupt } from './interrupt.ts';
import { lookupSlotForThread } from './cspace.ts';
import { receiveIPC, sendIPC } from './endpoint.ts';
import { capFault, handleFault, unknownSyscallFault, Unmodelled, userExceptionFault } from './fault.ts';
import { canReceiveSignal, decodeNotificationInvocation, receiveSignal, sendSignal } from './notification.ts';
import { doReplyTransfer } from './reply.ts';
import { completeYieldTo, decodeSchedContextInvocation, decodeSchedControlInvocation, headRefill, performConfigure, performSchedContextInvocation, scAt, updateSC } from './schedcontext.ts';
import { chargeBudget, checkBudget, checkBudgetRestart, schedule, setThreadState, updateTimestamp } from './scheduler.ts';
import { begin, capAt, commit, currentThread, run, schedOf, tcbAt, TouchLog, updateSched, type AbstractState, type Branch, type Kernel } from './state.ts';
import { lookupExtraCaps } from './transfer.ts';
import { applyUserWrites, decodeTCBInvocation, getMR, ipcBufferAddress, performTCBInvocation, register, setMR, setRegister } from './tcb.ts';
import { decodeUntypedInvocation, performRetype } from './untyped.ts';
import { observe } from './view.ts';
import { accessUserMemory, decodeVSpaceInvocation, performVSpaceInvocation } from './vspace.ts';
import { WitnessOracle } from './witness.ts';
import { markPreempted, Preempted, preemptionPath, preemptionRun, preemptionSearchLimit, raiseAtEnd, type PreemptionRun } from './preemption.ts';

/** The lookup failure of a receive cap of the wrong kind (l4v: MissingCapability 0). */
const missingCapability: LookupFailure = { type: 'MissingCapability', bitsLeft: 0 };

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

/**
 * reply_from_kernel for an error: badge register 0, message info with the error as label,
 * the error's words as message registers (words past the registers need an IPC buffer).
 */
function replyError(k: Kernel, tcb: number, error: SyscallError): void {
  const buffer = ipcBufferAddress(k, tcb, 'receiver');
  let length = 0;
  syscallErrorWords(error).forEach((word, i) => {
    length = setMR(k, tcb, buffer, i, word) ? i + 1 : msgRegisters.length;
  });
  setRegister(k, tcb, badgeRegister, 0);
  setRegister(k, tcb, msgInfoRegister, seL4_MessageInfo_new(syscallErrorCode(error), 0, 0, length));
}

/** The empty success reply of a Call. */
function replySuccess(k: Kernel, tcb: number): void {
  setRegister(k, tcb, badgeRegister, 0);
  setRegister(k, tcb, msgInfoRegister, seL4_MessageInfo_new(0, 0, 0, 0));
}

/** What decoding gave: an error, or the way to perform the invocation (which may allow several results). */
type Decoded = { readonly error: SyscallError } | { readonly perform: () => readonly Branch[] };

/** A decoded invocation that runs `perform` on `k` and allows one result. */
function performing(k: Kernel, perform: () => void): Decoded {
  return {
    perform: () => {
      perform();
      return [{ k }];
    },
  };
}

/** A decoder's answer as `Decoded`; a path not modelled yet ends the entry as `unmodelled`. */
function decoded<T>(k: Kernel, d: { readonly invocation: T } | { readonly error: SyscallError } | { readonly unmodelled: string }, perform: (k: Kernel, inv: T) => void): Decoded {
  if ('unmodelled' in d) throw new Unmodelled(d.unmodelled);
  if ('error' in d) return d;
  return performing(k, () => perform(k, d.invocation));
}

/** How an invocation was made: by Call, Send, NBSend, or as the first phase of a send-receive. */
interface InvocationKind {
  readonly isCall: boolean;
  readonly isBlocking: boolean;
  /** The caller's SC may go to a receiver without one (Call and the first phases). */
  readonly canDonate: boolean;
  /** The first phase of ReplyRecv, NBSendRecv or NBSendWait: only sends, signals, replies and retypes. */
  readonly firstPhase: boolean;
}

const invalidCap0: Decoded = { error: { error: 'InvalidCapability', capIndex: 0 } };

/**
 * decode_invocation: by the invoked cap's type. An endpoint cap without Write (and a
 * notification cap without it) is InvalidCapability 0; a reply cap needs no right; in a first
 * phase a TCB, CNode, SchedControl or SchedContext cap is InvalidCapability 0.
 */
function decodeInvocation(k: Kernel, tcb: number, kind: InvocationKind, msg: InvocationMessage, slot: SlotRef, cap: Cap): Decoded {
  const { isCall } = kind;
  if (kind.firstPhase && (cap.type === 'thread' || cap.type === 'cnode' || cap.type === 'schedcontrol' || cap.type === 'schedcontext')) return invalidCap0;
  switch (cap.type) {
    case 'null':
    case 'zombie':
      return invalidCap0;
    case 'endpoint': {
      if ((cap.rights & seL4_CanWrite) === 0) return invalidCap0;
      const canGrant = (cap.rights & seL4_CanGrant) !== 0;
      const canGrantReply = (cap.rights & seL4_CanGrantReply) !== 0;
      const send = { block: kind.isBlocking, call: isCall, badge: cap.badge, canGrant, canGrantReply, canDonate: kind.canDonate };
      return performing(k, () => sendIPC(k, tcb, cap.ptr, send));
    }
    case 'reply':
      return performing(k, () => doReplyTransfer(k, tcb, cap.ptr, (cap.rights & seL4_CanGrant) !== 0));
    case 'untyped':
      return decoded(k, decodeUntypedInvocation(k, msg, slot, cap), performRetype);
    case 'cnode': {
      const d = decodeCNodeInvocation(k, msg, cap);
      return 'error' in d ? d : { perform: () => performCNodeInvocation(k, d.invocation) };
    }
    case 'notification':
      return decoded(k, decodeNotificationInvocation(cap), sendSignal);
    case 'thread':
      return decoded(k, decodeTCBInvocation(k, msg, cap, slot, tcb), (k1, inv) => performTCBInvocation(k1, inv, tcb, isCall));
    case 'schedcontrol':
      return decoded(k, decodeSchedControlInvocation(msg), performConfigure);
    case 'schedcontext':
      return decoded(k, decodeSchedContextInvocation(k, msg, cap, tcb), (k1, inv) => performSchedContextInvocation(k1, inv, tcb, isCall));
    case 'irqcontrol':
      return decoded(k, decodeIRQControlInvocation(k, msg, slot), performIRQControl);
    case 'irqhandler':
      return decoded(k, decodeIRQHandlerInvocation(msg, cap), performIRQHandler);
    case 'frame':
    case 'pagetable':
    case 'asidcontrol':
    case 'asidpool': {
      const d = decodeVSpaceInvocation(k, msg, slot, cap);
      return 'error' in d ? d : { perform: () => performVSpaceInvocation(k, d.invocation, tcb, isCall) };
    }
    default:
      if (isForeignLabel(cap.type, msg.label)) return { error: { error: 'IllegalOperation' } };
      throw new Unmodelled(`${cap.type} invocation`);
  }
}

/**
 * handle_invocation on the cap at `cptr`: look up the invoked cap and the extra caps, decode by
 * cap type, then either reply with the error (Call only) or perform the invocation with the
 * caller in Restart; a caller still in Restart afterwards gets the empty success reply (Call
 * only) and runs on; a preempted perform ends it with no reply, the caller left as it is. A
 * failed lookup is a cap fault for Call and Send; NBSend and the first phases give up silently.
 */
function handleInvocation(k: Kernel, tcb: number, kind: InvocationKind, cptr: Word): readonly Branch[] {
  const { isCall } = kind;
  const buffer = ipcBufferAddress(k, tcb, 'sender');
  const info = messageInfoFromWordKernel(register(k, tcb, msgInfoRegister));
  const length = info.length > msgRegisters.length && buffer === null ? msgRegisters.length : info.length;
  const lookupFailed = (failedCptr: Word, failure: LookupFailure): readonly Branch[] => {
    if (kind.isBlocking) handleFault(k, tcb, capFault(failedCptr, false, failure));
    return [{ k }];
  };

  const invoked = lookupSlotForThread(k, tcb, cptr);
  if (!invoked.ok) return lookupFailed(cptr, invoked.failure);
  const extra = lookupExtraCaps(k, tcb, buffer, info);
  if (!('caps' in extra)) return lookupFailed(extra.failedCptr, extra.failure);
  const msg: InvocationMessage = { label: info.label, length, mr: (i) => getMR(k, tcb, buffer, i), extraCaps: extra.caps };
  const decision = decodeInvocation(k, tcb, kind, msg, invoked.slot, capAt(k, invoked.slot));
  if ('error' in decision) {
    if (isCall) replyError(k, tcb, decision.error);
    return [{ k }];
  }
  setThreadState(k, tcb, 'Restart');
  let branches: readonly Branch[];
  try {
    branches = decision.perform();
  } catch (e) {
    if (!(e instanceof Preempted)) throw e;
    markPreempted(k, tcb, e.preemption);
    return [{ k }];
  }
  for (const { k: branch } of branches) {
    if (tcbAt(branch, tcb)?.state !== 'Restart') continue;
    if (isCall) replySuccess(branch, tcb);
    setThreadState(branch, tcb, 'Running');
  }
  return branches;
}

/**
 * handle_yield (MCS): the rest of the head refill is charged as if used, which ends the
 * timeslice; the SC's consumed time counts only what was really used.
 */
function handleYield(k: Kernel): void {
  const sc = schedOf(k).currentSchedContext;
  if (sc === null) throw new Error('yield by the idle thread');
  const context = scAt(k, sc)!;
  const consumedTicks = context.consumedTicks + schedOf(k).consumedTicks;
  chargeBudget(k, headRefill(context).amountTicks, false);
  updateSC(k, sc, { consumedTicks });
}

const callKind: InvocationKind = { isCall: true, isBlocking: true, canDonate: true, firstPhase: false };
const sendKind: InvocationKind = { isCall: false, isBlocking: true, canDonate: false, firstPhase: false };
const nbSendKind: InvocationKind = { isCall: false, isBlocking: false, canDonate: false, firstPhase: false };
const firstPhaseKind: InvocationKind = { isCall: false, isBlocking: false, canDonate: true, firstPhase: true };

/**
 * ReplyRecv, NBSendRecv, NBSendWait: a non-blocking send (that may donate) on the cap in
 * `sendRegister`, then a blocking receive on the cap in a0 (with the reply cap in a6 if
 * `canReply`); none after a preempted send (a Retype's reset).
 */
function sendThenReceive(k: Kernel, tcb: number, sendRegister: number, canReply: boolean): readonly Branch[] {
  const branches = handleInvocation(k, tcb, firstPhaseKind, register(k, tcb, sendRegister));
  for (const branch of branches) if (branch.k.preempted === null) handleRecv(branch.k, tcb, true, canReply);
  return branches;
}

/** handle_syscall: dispatch on the syscall number in a7 (an unknown one is a fault). */
function handleSyscall(k: Kernel, tcb: number): readonly Branch[] {
  const sysno = syscallFromWord(register(k, tcb, syscallNumberRegister));
  if (sysno < SYSCALL_MIN || sysno > SYSCALL_MAX) {
    handleFault(k, tcb, unknownSyscallFault(register(k, tcb, syscallNumberRegister)));
    return [{ k }];
  }
  const S = seL4_Syscall;
  const receiving = (isBlocking: boolean, canReply: boolean): readonly Branch[] => {
    handleRecv(k, tcb, isBlocking, canReply);
    return [{ k }];
  };
  switch (sysno) {
    case S.seL4_SysCall:
      return handleInvocation(k, tcb, callKind, register(k, tcb, capRegister));
    case S.seL4_SysSend:
      return handleInvocation(k, tcb, sendKind, register(k, tcb, capRegister));
    case S.seL4_SysNBSend:
      return handleInvocation(k, tcb, nbSendKind, register(k, tcb, capRegister));
    case S.seL4_SysYield:
      handleYield(k);
      return [{ k }];
    case S.seL4_SysRecv:
      return receiving(true, true);
    case S.seL4_SysNBRecv:
      return receiving(false, true);
    case S.seL4_SysWait:
      return receiving(true, false);
    case S.seL4_SysNBWait:
      return receiving(false, false);
    case S.seL4_SysReplyRecv:
      return sendThenReceive(k, tcb, replyRegister, true);
    case S.seL4_SysNBSendRecv:
      return sendThenReceive(k, tcb, nbsendRecvDestRegister, true);
    case S.seL4_SysNBSendWait:
      return sendThenReceive(k, tcb, replyRegister, false);
    default:
      throw new Unmodelled(syscallName(sysno));
  }
}

/** lookup_reply: the reply object named by a6, or the cap fault (in the receive phase) naming a6. */
function lookupReply(k: Kernel, tcb: number): { reply: number } | { fault: FaultView } {
  const cptr = register(k, tcb, replyRegister);
  const found = lookupSlotForThread(k, tcb, cptr);
  if (!found.ok) return { fault: capFault(cptr, true, found.failure) };
  const cap = capAt(k, found.slot);
  return cap.type === 'reply' ? { reply: cap.ptr } : { fault: capFault(cptr, true, missingCapability) };
}

/**
 * handle_recv: the cap in a0 must be an endpoint cap with Read (then, if `canReply`, a6 must name
 * a reply cap), or a notification cap with Read bound to no other thread; anything else, or a
 * failed lookup, is a cap fault in the receive phase (MissingCapability 0 for a wrong cap).
 */
function handleRecv(k: Kernel, tcb: number, isBlocking: boolean, canReply: boolean): void {
  const cptr = register(k, tcb, capRegister);
  const found = lookupSlotForThread(k, tcb, cptr);
  if (!found.ok) return handleFault(k, tcb, capFault(cptr, true, found.failure));
  const cap = capAt(k, found.slot);
  if (cap.type === 'endpoint' && (cap.rights & seL4_CanRead) !== 0) {
    const reply = canReply ? lookupReply(k, tcb) : { reply: null };
    if ('fault' in reply) return handleFault(k, tcb, reply.fault);
    return receiveIPC(k, tcb, cap.ptr, isBlocking, reply.reply);
  }
  if (cap.type !== 'notification' || !canReceiveSignal(k, tcb, cap)) return handleFault(k, tcb, capFault(cptr, true, missingCapability));
  receiveSignal(k, tcb, cap.ptr, isBlocking);
}

/** activate_thread: a yield the current thread made is completed; Restart becomes Running. */
function activateThread(k: Kernel): void {
  const cur = currentThread(k);
  if (cur === null) return;
  if (tcbAt(k, cur)!.yieldTo !== null) completeYieldTo(k, cur);
  if (tcbAt(k, cur)!.state === 'Restart') setThreadState(k, cur, 'Running');
}

/**
 * The kernel work of one event, from `k` (the user's writes applied): the timer interrupt,
 * or a syscall, exception or faulting user access of the current thread. Each begins as seL4's
 * MCS entries do (update_time_stamp, then the budget check). A device interrupt's entries are
 * all taken at the end of the event (`takeInterrupts`).
 */
function kernelEntry(k: Kernel, event: KernelEvent, caller: number | null): readonly Branch[] {
  if (event.kind === 'interrupt') return [{ k }];
  updateTimestamp(k);
  if (event.kind === 'time') {
    checkBudget(k);
    handleInterrupt(k, kernelTimerIRQ);
    return [{ k }];
  }
  if (caller === null) throw new Error(`${event.kind} entry by the idle thread`);
  if (!checkBudgetRestart(k)) return [{ k }];
  if (event.kind === 'access') {
    // Reached only when the access did not translate (userAccess): handle_vm_fault, then handle_fault.
    handleFault(k, caller, vmFault(event.access, event.vaddr));
    return [{ k }];
  }
  if (event.kind === 'exception') {
    handleFault(k, caller, userExceptionFault(event.number, event.code));
    return [{ k }];
  }
  const branches = handleSyscall(k, caller);
  for (const branch of branches) if (branch.k.preempted !== null) preemptionPath(branch.k, caller);
  return branches;
}

/**
 * The interrupt entries at the end of an event: while a source is pending, unmasked and
 * unclaimed, the lowest is claimed and taken as handle_interrupt_entry (update_time_stamp,
 * check_budget, handle_interrupt, schedule, activate_thread).
 */
function takeInterrupts(k: Kernel): void {
  for (let irq = deliverableInterrupt(k); irq !== null; irq = deliverableInterrupt(k)) {
    claimInterrupt(k, irq);
    updateTimestamp(k);
    checkBudget(k);
    handleInterrupt(k, irq);
    schedule(k);
    activateThread(k);
  }
}

/**
 * The clock after `ticks` more, and whether the timer interrupt came first: it is taken at the
 * deadline, but only after at least one tick of user time (see libsel4's `time` event).
 */
function advanceClock(state: AbstractState, ticks: bigint): { clockTicks: bigint; interrupt: boolean } {
  if (ticks < 0n) throw new RangeError(`time event of ${ticks} ticks`);
  const { clockTicks, timerDeadlineTicks: deadline } = state.sched;
  const end = clockTicks + ticks > maxReleaseTicks ? maxReleaseTicks : clockTicks + ticks;
  const firstTick = clockTicks + 1n;
  const interruptAt = deadline === null ? null : deadline > firstTick ? deadline : firstTick;
  if (interruptAt === null || interruptAt > end) return { clockTicks: end, interrupt: false };
  return { clockTicks: interruptAt, interrupt: true };
}

/**
 * A user access that translates (the user's writes applied first): the word is loaded, fetched
 * or stored and the kernel is not entered, so no time passes and no interrupt is taken. Null
 * when the access faults.
 */
function userAccess(state: AbstractState, caller: number, event: AccessEvent): Outcome<AbstractState> | null {
  const k = begin(state, new TouchLog());
  k.log.object(caller);
  applyUserWrites(k, caller, event.user);
  const accessed = accessUserMemory(k, caller, event.access, event.vaddr, event.value);
  if (accessed === null) return null;
  const next = commit(k);
  return { state: next, observation: { ...observe(next, caller), accessed }, touched: k.log.toTouched() };
}

/**
 * Without a witness: the entry's outcomes without a stop, and those of a run per allowed stop (the
 * `stopAt`-th point where stopping is allowed, revokes in depth-first order), at most
 * `preemptionSearchLimit` of them.
 */
function withStops(unstopped: Outcome<AbstractState>[], counting: PreemptionRun, stoppedAt: (stopAt: number) => Outcome<AbstractState>[]): Outcome<AbstractState>[] {
  const last = counting.uncounted ? preemptionSearchLimit : Math.min(counting.allowedPassed, preemptionSearchLimit);
  if (last === 0) return unstopped;
  const stopped: Outcome<AbstractState>[] = [];
  for (let stopAt = 1; stopAt <= last; stopAt++) {
    const outcomes = stoppedAt(stopAt).filter((o) => o.observation.preempted !== undefined);
    if (outcomes.length === 0) break;
    const bounded = stopAt === preemptionSearchLimit ? ' (search bound reached: later stops are not offered)' : '';
    stopped.push(...outcomes.map((o) => ({ ...o, choice: `preempted at the allowed point ${stopAt}${bounded}` })));
  }
  if (stopped.length === 0) return unstopped;
  return [...unstopped.map((o) => ({ ...o, choice: o.choice ?? 'not preempted' })), ...stopped];
}

/**
 * handle_event for one event: a `time` event moves the clock and, if the timer deadline is
 * reached, enters the kernel by the timer interrupt; an `interrupt` sets a source pending; a
 * syscall or exception is an entry by the current thread (none while the idle thread runs); a
 * user access is no entry when it translates, and a VM fault's entry otherwise. Every entry ends with schedule and activate_thread, and every event with the interrupt
 * entries of the sources then deliverable. A syscall's `raise` is raised before its point, or
 * when the entry's work is done. Returns every allowed outcome (without a witness, a stop at
 * each point where one is allowed too).
 */
export function handleEvent(state: AbstractState, event: KernelEvent, witness?: Witness): Outcome<AbstractState>[] {
  const caller = state.current;
  const unchanged = (s: AbstractState, unmodelled: string | null = null): Outcome<AbstractState>[] => [
    { state: s, observation: observe(s, caller, unmodelled), touched: { slots: [], objects: [] } },
  ];
  let start = state;
  if (event.kind === 'time') {
    const advanced = advanceClock(state, event.ticks);
    start = run(state, new TouchLog(), (k) => updateSched(k, { clockTicks: advanced.clockTicks }));
    if (!advanced.interrupt) return unchanged(start);
  } else if (event.kind === 'interrupt') {
    // A number that names no source changes nothing; a source that cannot be taken now stays pending.
    if (!isPlicSource(event.irq)) return unchanged(state);
    start = run(state, new TouchLog(), (k) => raiseInterrupt(k, event.irq));
    if (deliverableInterrupt(start) === null) return unchanged(start);
  } else if (caller === null || tcbAt(state, caller) === null) {
    return unchanged(state);
  } else if (event.kind === 'access') {
    const hit = userAccess(state, caller, event);
    if (hit !== null) return [hit];
  }
  const entry = (preemption: PreemptionRun, oracle: WitnessOracle | null): Outcome<AbstractState>[] => {
    const k = begin(start, new TouchLog(), oracle, preemption);
    if (caller !== null) {
      k.log.object(caller);
      applyUserWrites(k, caller, userWritesOf(event));
    }
    const branches = kernelEntry(k, event, caller);
    oracle?.finish();
    return branches.map(({ k: branch, choice }) => outcomeOf(branch, choice));
  };
  const outcomeOf = (branch: Kernel, choice: string | undefined): Outcome<AbstractState> => {
    raiseAtEnd(branch);
    if (event.kind !== 'interrupt') {
      schedule(branch);
      activateThread(branch);
    }
    takeInterrupts(branch);
    const next = commit(branch);
    const outcome: Outcome<AbstractState> = { state: next, observation: observe(next, caller, null, branch.restarted, branch.preempted), touched: branch.log.toTouched() };
    return choice === undefined ? outcome : { ...outcome, choice };
  };
  const raise = event.kind === 'syscall' ? (event.raise ?? null) : null;
  try {
    if (witness !== undefined) {
      return entry(preemptionRun(raise, null), new WitnessOracle(witness));
    }
    const counting = preemptionRun(raise, null);
    return withStops(entry(counting, null), counting, (stopAt) => entry(preemptionRun(raise, stopAt), null));
  } catch (e) {
    if (!(e instanceof Unmodelled)) throw e;
    // The entry stops where the model ends: only the user's writes are kept (a time event is undone, clock included).
    const k = begin(state, new TouchLog());
    if (caller !== null) applyUserWrites(k, caller, userWritesOf(event));
    const next = commit(k);
    return [{ state: next, observation: observe(next, caller, e.what), touched: k.log.toTouched() }];
  }
}
