// Scheduling contexts: their refills (l4v SchedContext_A refill_new, refill_update,
// refill_budget_check, refill_unblock_check, schedule_used; seL4's sporadic.c), binding to
// threads, yielding, finalisation, and the SchedControl and SchedContext invocations
// (Decode_A decode_sched_control_invocation, decode_sched_context_invocation).
import {
  badgeRegister,
  InvocationLabel,
  maxPeriodMicroseconds,
  maxReleaseTicks,
  minBudgetMicroseconds,
  minBudgetTicks,
  msgInfoRegister,
  seL4_MessageInfo_new,
  ticksToUs,
  usToTicks,
  type Cap,
  type CapOf,
  type Refill,
  type SyscallError,
  type Word,
} from '../libsel4/index.ts';
import { notificationAt } from './notification.ts';
import { schedContextUnbindReply } from './reply.ts';
import {
  checkBudget,
  commitTime,
  isBlocked,
  isRunnable,
  isSchedulable,
  possibleSwitchTo,
  postpone,
  rescheduleRequired,
  setThreadState,
  tcbReleaseRemove,
  tcbSchedDequeue,
  tcbSchedEnqueue,
} from './scheduler.ts';
import { currentThread, objectAt, schedOf, tcbAt, updateObject, updateSched, type Kernel, type Readable, type SchedContextObject } from './state.ts';
import type { InvocationMessage } from './syscall.ts';
import { ipcBufferAddress, setMR, setRegister } from './tcb.ts';

/** MIN_REFILLS: a round-robin SC has exactly two refills. */
export const minRefills = 2;
/** sizeof(sched_context_t) on riscv32; the refills (16 bytes each) fill the rest of the object. */
const schedContextHeaderBytes = 56;
const refillBytes = 16;

/** refill_absolute_max: how many refills an SC of 2^sizeBits bytes can hold. */
function refillAbsoluteMax(sizeBits: number): number {
  return Math.floor((2 ** sizeBits - schedContextHeaderBytes) / refillBytes);
}

export function scAt(s: Readable, addr: number): SchedContextObject | null {
  const o = objectAt(s, addr);
  return o?.type === 'schedcontext' ? o : null;
}

/** The SC at `addr`; it must exist. */
function sc(s: Readable, addr: number): SchedContextObject {
  const context = scAt(s, addr);
  if (context === null) throw new Error(`no scheduling context at ${addr}`);
  return context;
}

/** Replaces fields of an SC; `configured` follows refillMax. */
export function updateSC(k: Kernel, addr: number, fields: Partial<SchedContextObject>): void {
  const refillMax = fields.refillMax ?? sc(k, addr).refillMax;
  updateObject(k, addr, 'schedcontext', { ...fields, configured: refillMax > 0 });
}

export function headRefill(context: SchedContextObject): Refill {
  const head = context.refills[0];
  if (head === undefined) throw new Error(`SC ${context.addr} has no refills`);
  return head;
}

// ---- refills -----------------------------------------------------------------------------

/** refill_ready: the head refill's release time has come. */
export function refillReady(s: Readable, context: SchedContextObject): boolean {
  return headRefill(context).releaseTicks <= schedOf(s).curTimeTicks;
}

/** refill_sufficient: the head refill minus `usage` is at least MIN_BUDGET. */
export function refillSufficient(context: SchedContextObject, usage: bigint): boolean {
  const amount = headRefill(context).amountTicks;
  return (usage > amount ? 0n : amount - usage) >= minBudgetTicks;
}

/** sc_released: active and ready. */
export function scReleased(s: Readable, context: SchedContextObject): boolean {
  return context.refillMax > 0 && refillReady(s, context);
}

function setRefills(k: Kernel, addr: number, refills: readonly Refill[]): void {
  const context = sc(k, addr);
  if (refills.length === 0 || refills.length > context.refillMax) throw new Error(`SC ${addr}: ${refills.length} refills, at most ${context.refillMax}`);
  updateSC(k, addr, { refills });
}

/** refill_new: one refill of the whole budget from now (round robin: and an empty tail). */
function refillNew(k: Kernel, addr: number, maxRefills: number, budgetTicks: bigint, periodTicks: bigint): void {
  const now = schedOf(k).curTimeTicks;
  const refills: Refill[] = [{ releaseTicks: now, amountTicks: budgetTicks }];
  if (periodTicks === 0n) refills.push({ releaseTicks: now, amountTicks: 0n });
  updateSC(k, addr, { periodTicks, refillMax: maxRefills });
  setRefills(k, addr, refills);
}

/**
 * refill_update: new parameters for an SC in use, keeping only its head refill (released now
 * if ready), cut to the new budget or followed by the rest of the budget one period later.
 */
function refillUpdate(k: Kernel, addr: number, periodTicks: bigint, budgetTicks: bigint, maxRefills: number): void {
  const now = schedOf(k).curTimeTicks;
  let head = headRefill(sc(k, addr));
  if (head.releaseTicks <= now) head = { ...head, releaseTicks: now };
  updateSC(k, addr, { periodTicks, refillMax: maxRefills });
  if (head.amountTicks >= budgetTicks) {
    head = { ...head, amountTicks: budgetTicks };
    setRefills(k, addr, periodTicks === 0n ? [head, { releaseTicks: head.releaseTicks, amountTicks: 0n }] : [head]);
  } else {
    setRefills(k, addr, [head, { releaseTicks: head.releaseTicks + periodTicks, amountTicks: budgetTicks - head.amountTicks }]);
  }
}

/** schedule_used: a used amount joins the tail (merged if they touch, or if the list is full). */
function scheduleUsed(refills: Refill[], refillMax: number, used: Refill): void {
  const tail = refills[refills.length - 1]!;
  if (tail.releaseTicks + tail.amountTicks >= used.releaseTicks) {
    refills[refills.length - 1] = { ...tail, amountTicks: tail.amountTicks + used.amountTicks };
  } else if (refills.length < refillMax) {
    refills.push(used);
  } else {
    refills[refills.length - 1] = { releaseTicks: used.releaseTicks - tail.amountTicks, amountTicks: tail.amountTicks + used.amountTicks };
  }
}

/**
 * handle_overrun: every head refill the usage covers (released before MAX_RELEASE_TIME) is used
 * up and comes back one period later. Once the list has gone round without a merge, each further
 * round is the whole list one period later for the budget's worth of usage: those rounds are
 * counted, not walked. Returns the usage left.
 */
function chargeOverrunRefills(refills: Refill[], refillMax: number, periodTicks: bigint, usageTicks: bigint): bigint {
  let usage = usageTicks;
  let unmergedCharges = 0;
  let roundsCounted = false;
  while (refills[0]!.amountTicks <= usage && refills[0]!.releaseTicks < maxReleaseTicks) {
    if (!roundsCounted && unmergedCharges >= refills.length) {
      const budgetTicks = refills.reduce((sum, r) => sum + r.amountTicks, 0n);
      const roundsPaid = usage / budgetTicks;
      const lastReleaseTicks = refills[refills.length - 1]!.releaseTicks;
      const roundsBeforeMax = lastReleaseTicks < maxReleaseTicks ? (maxReleaseTicks - 1n - lastReleaseTicks) / periodTicks + 1n : 0n;
      const rounds = roundsPaid < roundsBeforeMax ? roundsPaid : roundsBeforeMax;
      refills.forEach((r, i) => (refills[i] = { ...r, releaseTicks: r.releaseTicks + rounds * periodTicks }));
      usage -= rounds * budgetTicks;
      roundsCounted = true;
      continue;
    }
    const head = refills[0]!;
    const size = refills.length;
    usage -= head.amountTicks;
    if (size === 1) {
      refills[0] = { ...head, releaseTicks: head.releaseTicks + periodTicks };
    } else {
      refills.shift();
      scheduleUsed(refills, refillMax, { ...head, releaseTicks: head.releaseTicks + periodTicks });
    }
    unmergedCharges = refills.length === size ? unmergedCharges + 1 : 0;
  }
  return usage;
}

/**
 * refill_budget_check: charge `usageTicks` to a sporadic or constant-bandwidth SC. Whole head
 * refills it overran go one period later; the rest is cut from the head and scheduled a period
 * later; a head left below MIN_BUDGET merges with the next refill.
 */
export function refillBudgetCheck(k: Kernel, addr: number, usageTicks: bigint): void {
  const context = sc(k, addr);
  if (context.periodTicks === 0n) throw new Error('refill_budget_check on a round-robin SC');
  const period = context.periodTicks;
  const refills = [...context.refills];
  const usage = chargeOverrunRefills(refills, context.refillMax, period, usageTicks);
  const head = refills[0]!;
  if (usage > 0n && head.releaseTicks < maxReleaseTicks) {
    refills[0] = { releaseTicks: head.releaseTicks + usage, amountTicks: head.amountTicks - usage };
    scheduleUsed(refills, context.refillMax, { releaseTicks: head.releaseTicks + period, amountTicks: usage });
  }
  while (refills[0]!.amountTicks < minBudgetTicks) {
    const old = refills.shift()!;
    const next = refills[0];
    if (next === undefined) throw new Error(`SC ${addr}: its only refill is below MIN_BUDGET`);
    refills[0] = { releaseTicks: next.releaseTicks - old.amountTicks, amountTicks: next.amountTicks + old.amountTicks };
  }
  setRefills(k, addr, refills);
}

/**
 * refill_unblock_check: a non-round-robin SC whose head refill is ready gets it released now,
 * merged with every following refill it then overlaps; the timer is reprogrammed.
 */
export function refillUnblockCheck(k: Kernel, addr: number): void {
  const context = sc(k, addr);
  if (context.periodTicks === 0n || !refillReady(k, context)) return;
  const refills = [...context.refills];
  refills[0] = { ...refills[0]!, releaseTicks: schedOf(k).curTimeTicks };
  while (refills.length > 1 && refills[1]!.releaseTicks <= refills[0]!.releaseTicks + refills[0]!.amountTicks) {
    const old = refills.shift()!;
    refills[0] = { releaseTicks: old.releaseTicks, amountTicks: refills[0]!.amountTicks + old.amountTicks };
  }
  updateSched(k, { reprogram: true });
  setRefills(k, addr, refills);
}

/**
 * if_sporadic_cur_sc_test_refill_unblock_check: a sporadic SC that is not the current one has
 * its head refill released if it is ready (a thread of it is being woken).
 */
export function ifSporadicUnblockCheck(k: Kernel, addr: number | null): void {
  if (addr !== null && sc(k, addr).sporadic && addr !== schedOf(k).currentSchedContext) refillUnblockCheck(k, addr);
}

/** charge_budget for a round-robin SC: the tail's used amount goes back to the head. */
export function roundRobinCharge(k: Kernel, addr: number): void {
  const [head, tail] = sc(k, addr).refills;
  setRefills(k, addr, [{ ...head!, amountTicks: head!.amountTicks + tail!.amountTicks }, { ...tail!, amountTicks: 0n }]);
}

/** commit_time's charge of `consumed` ticks to an active SC (round robin: head to tail). */
export function commitTimeTo(k: Kernel, addr: number, consumed: bigint): void {
  const context = sc(k, addr);
  if (consumed > 0n) {
    if (!refillSufficient(context, consumed) || !refillReady(k, context)) throw new Error(`committing ${consumed} ticks SC ${addr} cannot pay`);
    if (context.periodTicks === 0n) {
      const [head, tail] = context.refills;
      setRefills(k, addr, [{ ...head!, amountTicks: head!.amountTicks - consumed }, { ...tail!, amountTicks: tail!.amountTicks + consumed }]);
    } else {
      refillBudgetCheck(k, addr, consumed);
    }
  }
  updateSC(k, addr, { consumedTicks: sc(k, addr).consumedTicks + consumed });
}

// ---- binding and yielding ----------------------------------------------------------------

/** sched_context_resume: a schedulable thread whose SC is not ready and sufficient is postponed. */
export function schedContextResume(k: Kernel, addr: number | null): void {
  if (addr === null) return;
  const context = sc(k, addr);
  if (context.tcb === null || !isSchedulable(k, context.tcb)) return;
  if (!(refillReady(k, context) && refillSufficient(context, 0n))) postpone(k, addr);
}

/** sched_context_bind_tcb: bind, unblock a sporadic SC, and queue the thread if it can run. */
export function bindTCB(k: Kernel, addr: number, tcb: number): void {
  if (sc(k, addr).tcb !== null || tcbAt(k, tcb)?.schedContext !== null) throw new Error(`binding SC ${addr} to thread ${tcb}: one is bound`);
  updateObject(k, tcb, 'tcb', { schedContext: addr });
  updateSC(k, addr, { tcb });
  const context = sc(k, addr);
  if (context.sporadic && context.refillMax > 0 && addr !== schedOf(k).currentSchedContext) refillUnblockCheck(k, addr);
  schedContextResume(k, addr);
  if (isSchedulable(k, tcb)) {
    tcbSchedEnqueue(k, tcb);
    rescheduleRequired(k);
  }
}

/** sched_context_unbind_tcb: the thread leaves the queues and loses its SC. */
export function unbindTCB(k: Kernel, addr: number): void {
  const tcb = sc(k, addr).tcb;
  if (tcb === null) throw new Error(`SC ${addr} is not bound`);
  if (tcb === currentThread(k)) rescheduleRequired(k);
  tcbSchedDequeue(k, tcb);
  tcbReleaseRemove(k, tcb);
  updateObject(k, tcb, 'tcb', { schedContext: null });
  updateSC(k, addr, { tcb: null });
}

/**
 * sched_context_donate: the SC moves to `to` (which has none); the thread that had it leaves
 * the queues, and if it was running or about to, the scheduler chooses again.
 */
export function schedContextDonate(k: Kernel, addr: number, to: number): void {
  if (tcbAt(k, to)?.schedContext !== null) throw new Error(`donating SC ${addr} to thread ${to}, which has one`);
  const from = sc(k, addr).tcb;
  if (from !== null) {
    tcbSchedDequeue(k, from);
    tcbReleaseRemove(k, from);
    updateObject(k, from, 'tcb', { schedContext: null });
    if (from === currentThread(k) || from === schedOf(k).action) rescheduleRequired(k);
  }
  updateSC(k, addr, { tcb: to });
  updateObject(k, to, 'tcb', { schedContext: addr });
}

/** maybe_donate_sc: a thread without an SC gets the notification's SC if no thread has it. */
export function maybeDonateSC(k: Kernel, tcb: number, ntfn: number): void {
  const lent = notificationAt(k, ntfn).schedContext;
  if (tcbAt(k, tcb)!.schedContext !== null || lent === null || sc(k, lent).tcb !== null) return;
  schedContextDonate(k, lent, tcb);
  schedContextResume(k, lent);
}

/** maybe_return_sc: a thread running on the notification's SC gives it back (and stops running). */
export function maybeReturnSC(k: Kernel, ntfn: number, tcb: number): void {
  const lent = notificationAt(k, ntfn).schedContext;
  if (lent === null || tcbAt(k, tcb)!.schedContext !== lent) return;
  updateObject(k, tcb, 'tcb', { schedContext: null });
  updateSC(k, lent, { tcb: null });
  if (tcb === currentThread(k)) rescheduleRequired(k);
}

/** sched_context_bind_ntfn: the SC and the notification name each other. */
function bindNtfn(k: Kernel, addr: number, ntfn: number): void {
  updateObject(k, ntfn, 'notification', { schedContext: addr });
  updateSC(k, addr, { notification: ntfn });
}

/** sched_context_unbind_ntfn: the SC's notification, if any, is released. */
function unbindNtfn(k: Kernel, addr: number): void {
  const ntfn = sc(k, addr).notification;
  if (ntfn === null) return;
  updateObject(k, ntfn, 'notification', { schedContext: null });
  updateSC(k, addr, { notification: null });
}

/** sched_context_maybe_unbind_ntfn: the notification's SC, if any, is released. */
export function schedContextMaybeUnbindNtfn(k: Kernel, ntfn: number): void {
  const bound = notificationAt(k, ntfn).schedContext;
  if (bound !== null) unbindNtfn(k, bound);
}

/** sched_context_update_consumed: read and reset an SC's consumed time, in µs. */
export function takeConsumedUs(k: Kernel, addr: number): bigint {
  const consumed = sc(k, addr).consumedTicks;
  updateSC(k, addr, { consumedTicks: 0n });
  return ticksToUs(consumed);
}

/** The reply of SchedContext_Consumed: the consumed µs as two words, low first. */
function replyConsumed(k: Kernel, tcb: number, consumedUs: bigint): void {
  const buffer = ipcBufferAddress(k, tcb, 'receiver');
  setRegister(k, tcb, badgeRegister, 0);
  setMR(k, tcb, buffer, 0, Number(consumedUs & 0xffffffffn));
  setMR(k, tcb, buffer, 1, Number((consumedUs >> 32n) & 0xffffffffn));
  setRegister(k, tcb, msgInfoRegister, seL4_MessageInfo_new(0, 0, 0, 2));
}

/** set_consumed: take the SC's consumed time, and reply it to `tcb` if asked. */
function setConsumed(k: Kernel, addr: number, tcb: number, reply: boolean): void {
  const consumedUs = takeConsumedUs(k, addr);
  if (reply) replyConsumed(k, tcb, consumedUs);
}

/** sched_context_cancel_yield_to: forget a yield. */
export function cancelYieldTo(k: Kernel, tcb: number): void {
  const yieldTo = tcbAt(k, tcb)?.yieldTo ?? null;
  if (yieldTo === null) return;
  updateSC(k, yieldTo, { yieldFrom: null });
  updateObject(k, tcb, 'tcb', { yieldTo: null });
}

/** complete_yield_to: the yielder gets the consumed time of the SC it yielded to. */
export function completeYieldTo(k: Kernel, yielder: number | null): void {
  const yieldTo = yielder === null ? null : (tcbAt(k, yielder)?.yieldTo ?? null);
  if (yielder === null || yieldTo === null) return;
  setConsumed(k, yieldTo, yielder, true);
  cancelYieldTo(k, yielder);
}

/**
 * finalise_cap of the last SC cap: unbind its thread and its notification, empty its call
 * stack, end a yield to it, mark it inactive (sched_context_set_inactive: no refills, no capacity).
 */
export function finaliseSchedContext(k: Kernel, addr: number): void {
  if (sc(k, addr).tcb !== null) unbindTCB(k, addr);
  unbindNtfn(k, addr);
  schedContextUnbindReply(k, addr);
  completeYieldTo(k, sc(k, addr).yieldFrom);
  updateSC(k, addr, { refillMax: 0, refills: [], sporadic: false });
}

// ---- SchedControl_ConfigureFlags -----------------------------------------------------------

export interface ConfigureInvocation {
  readonly sc: number;
  readonly budgetTicks: bigint;
  readonly periodTicks: bigint;
  readonly maxRefills: number;
  readonly badge: Word;
  readonly sporadic: boolean;
}

type Decoded<T> = { readonly invocation: T } | { readonly error: SyscallError };

/** A µs limit as a RangeError word (the low 32 bits of the 64-bit value). */
function word(value: bigint): number {
  return Number(value & 0xffffffffn);
}

const seL4_SchedContext_Sporadic = 1;

/**
 * decode_sched_control_invocation (ConfigureFlags): an SC cap (extra cap 0), then budget and
 * period in µs as 64-bit pairs (MR0-1, MR2-3), extra refills, badge and flags. Budget and
 * period at most MAX_PERIOD_US and at least MIN_BUDGET, budget at most period, extra refills
 * within what the SC's size holds.
 */
export function decodeSchedControlInvocation(msg: InvocationMessage): Decoded<ConfigureInvocation> {
  const { label, length, mr, extraCaps } = msg;
  if (label !== InvocationLabel.SchedControlConfigureFlags) return { error: { error: 'IllegalOperation' } };
  if (extraCaps.length < 1 || length < 7) return { error: { error: 'TruncatedMessage' } };
  const timeArg = (i: number): bigint => BigInt(mr(i)) | (BigInt(mr(i + 1)) << 32n);
  const range: SyscallError = { error: 'RangeError', min: word(minBudgetMicroseconds), max: word(maxPeriodMicroseconds) };
  const budgetUs = timeArg(0);
  if (budgetUs > maxPeriodMicroseconds) return { error: range };
  const periodUs = timeArg(2);
  if (periodUs > maxPeriodMicroseconds) return { error: range };
  const budgetTicks = usToTicks(budgetUs);
  const periodTicks = usToTicks(periodUs);
  if (budgetTicks < minBudgetTicks || periodTicks < minBudgetTicks) return { error: range };
  if (budgetTicks > periodTicks) return { error: { error: 'RangeError', min: word(minBudgetMicroseconds), max: word(periodUs) } };
  const target = extraCaps[0]!.cap;
  if (target.type !== 'schedcontext') return { error: { error: 'InvalidCapability', capIndex: 1 } };
  const extraRefills = mr(4);
  const maxExtra = refillAbsoluteMax(target.sizeBits) - minRefills;
  if (extraRefills > maxExtra) return { error: { error: 'RangeError', min: 0, max: maxExtra } };
  return {
    invocation: {
      sc: target.ptr, budgetTicks, periodTicks, maxRefills: extraRefills + minRefills, badge: mr(5),
      sporadic: (mr(6) & seL4_SchedContext_Sporadic) !== 0,
    },
  };
}

/**
 * invoke_sched_control_configure_flags: take the bound thread out of the queues (charging the
 * current SC first if it is the target), set the refills (round robin when budget = period;
 * refill_update for an SC in use by a runnable thread; refill_new otherwise), then put the
 * thread back where it belongs.
 */
export function performConfigure(k: Kernel, inv: ConfigureInvocation): void {
  const thread = sc(k, inv.sc).tcb;
  if (thread !== null) {
    tcbReleaseRemove(k, thread);
    tcbSchedDequeue(k, thread);
    if (schedOf(k).currentSchedContext === inv.sc) {
      if (!checkBudget(k)) throw new Error('the current SC ran out of budget during its own invocation');
      commitTime(k);
    }
  }
  if (inv.budgetTicks === inv.periodTicks) {
    refillNew(k, inv.sc, minRefills, inv.budgetTicks, 0n);
  } else if (sc(k, inv.sc).refillMax > 0 && thread !== null && isRunnable(k, thread)) {
    refillUpdate(k, inv.sc, inv.periodTicks, inv.budgetTicks, inv.maxRefills);
  } else {
    refillNew(k, inv.sc, inv.maxRefills, inv.budgetTicks, inv.periodTicks);
  }
  if (thread !== null) {
    schedContextResume(k, inv.sc);
    if (isRunnable(k, thread) && thread !== currentThread(k)) possibleSwitchTo(k, thread);
    if (thread === currentThread(k)) rescheduleRequired(k);
  }
  updateSC(k, inv.sc, { badge: inv.badge, sporadic: inv.sporadic });
}

// ---- SchedContext invocations ---------------------------------------------------------------

export type SchedContextInvocation =
  | { readonly op: 'consumed'; readonly sc: number }
  | { readonly op: 'bind'; readonly sc: number; readonly tcb: number }
  | { readonly op: 'bindNtfn'; readonly sc: number; readonly ntfn: number }
  | { readonly op: 'unbind'; readonly sc: number }
  | { readonly op: 'unbindObject'; readonly sc: number }
  | { readonly op: 'unbindNtfn'; readonly sc: number }
  | { readonly op: 'yieldTo'; readonly sc: number };

export type DecodedSC = Decoded<SchedContextInvocation>;

const illegal = { error: { error: 'IllegalOperation' } } as const;

/**
 * decode_sched_context_invocation: Consumed and Unbind need nothing (Unbind not of the
 * caller's own SC); Bind and UnbindObject take a TCB or notification cap as extra cap 0;
 * YieldTo needs a bound thread other than the caller whose
 * priority is within the caller's MCP.
 */
export function decodeSchedContextInvocation(s: Readable, msg: InvocationMessage, cap: CapOf<'schedcontext'>, caller: number): DecodedSC {
  const L = InvocationLabel;
  const context = sc(s, cap.ptr);
  switch (msg.label) {
    case L.SchedContextConsumed:
      return { invocation: { op: 'consumed', sc: cap.ptr } };
    case L.SchedContextBind:
    case L.SchedContextUnbindObject: {
      if (msg.extraCaps.length < 1) return { error: { error: 'TruncatedMessage' } };
      const target: Cap = msg.extraCaps[0]!.cap;
      if (target.type === 'notification') {
        if (msg.label === L.SchedContextUnbindObject) {
          return context.notification === target.ptr ? { invocation: { op: 'unbindNtfn', sc: cap.ptr } } : illegal;
        }
        if (context.notification !== null || notificationAt(s, target.ptr).schedContext !== null) return illegal;
        return { invocation: { op: 'bindNtfn', sc: cap.ptr, ntfn: target.ptr } };
      }
      if (target.type !== 'thread') return { error: { error: 'InvalidCapability', capIndex: 1 } };
      if (msg.label === L.SchedContextUnbindObject) {
        if (context.tcb !== target.ptr || context.tcb === caller) return illegal;
        return { invocation: { op: 'unbindObject', sc: cap.ptr } };
      }
      if (context.tcb !== null || tcbAt(s, target.ptr)?.schedContext !== null) return illegal;
      if (isBlocked(s, target.ptr) && !scReleased(s, context)) return illegal;
      return { invocation: { op: 'bind', sc: cap.ptr, tcb: target.ptr } };
    }
    case L.SchedContextUnbind:
      if (context.tcb === caller) return illegal;
      return { invocation: { op: 'unbind', sc: cap.ptr } };
    case L.SchedContextYieldTo: {
      if (context.tcb === null || context.tcb === caller) return illegal;
      if (tcbAt(s, context.tcb)!.priority > tcbAt(s, caller)!.mcp) return illegal;
      if (tcbAt(s, caller)!.yieldTo !== null) return illegal;
      return { invocation: { op: 'yieldTo', sc: cap.ptr } };
    }
    default:
      return illegal;
  }
}

/**
 * invoke_sched_context_yield_to: end an earlier yield to this SC, resume it; if its thread can
 * run and its priority is below the caller's, it is just requeued and the caller gets the
 * consumed time now; if at least the caller's, the caller yields to it (the consumed time is
 * replied when the caller runs again); if it cannot run, the consumed time now.
 */
function yieldTo(k: Kernel, addr: number, caller: number, isCall: boolean): void {
  completeYieldTo(k, sc(k, addr).yieldFrom);
  schedContextResume(k, addr);
  const tcb = sc(k, addr).tcb!;
  if (isSchedulable(k, tcb) && tcbAt(k, tcb)!.priority >= tcbAt(k, caller)!.priority) {
    updateObject(k, caller, 'tcb', { yieldTo: addr });
    updateSC(k, addr, { yieldFrom: caller });
    tcbSchedDequeue(k, tcb);
    tcbSchedEnqueue(k, caller);
    tcbSchedEnqueue(k, tcb);
    rescheduleRequired(k);
    return;
  }
  if (isSchedulable(k, tcb)) {
    tcbSchedDequeue(k, tcb);
    tcbSchedEnqueue(k, tcb);
  }
  setConsumed(k, addr, caller, isCall);
  setThreadState(k, caller, 'Running');
}

/** invoke_sched_context: performs a decoded SC invocation for `caller`. */
export function performSchedContextInvocation(k: Kernel, inv: SchedContextInvocation, caller: number, isCall: boolean): void {
  switch (inv.op) {
    case 'consumed':
      setConsumed(k, inv.sc, caller, isCall);
      setThreadState(k, caller, 'Running');
      return;
    case 'bind':
      bindTCB(k, inv.sc, inv.tcb);
      return;
    case 'bindNtfn':
      bindNtfn(k, inv.sc, inv.ntfn);
      return;
    case 'unbind':
      if (sc(k, inv.sc).tcb !== null) unbindTCB(k, inv.sc);
      unbindNtfn(k, inv.sc);
      schedContextUnbindReply(k, inv.sc);
      return;
    case 'unbindObject':
      unbindTCB(k, inv.sc);
      return;
    case 'unbindNtfn':
      unbindNtfn(k, inv.sc);
      return;
    case 'yieldTo':
      yieldTo(k, inv.sc, caller, isCall);
      return;
  }
}
