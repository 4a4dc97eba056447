// Scheduling contexts: the refill algorithms of seL4's sporadic.c, binding to threads,
// finalisation, and the SchedContext and SchedControl invocations (schedcontext.c, schedcontrol.c).
// A refill ring is a list head first; its capacity is refillMax.
import {
  maxPeriodMicroseconds,
  maxReleaseTicks,
  maxTicks,
  minBudgetMicroseconds,
  minBudgetTicks,
  seL4_SchedContext_Sporadic,
  ticksToUs,
  usToTicks,
  InvocationLabel,
  type CapOf,
  type Refill,
  type SyscallError,
  type Word,
} from '../libsel4/index.ts';
import {
  isSchedulable,
  possibleSwitchTo,
  postpone,
  rescheduleRequired,
  tcbReleaseRemove,
  tcbSchedDequeue,
  tcbSchedEnqueue,
  commitTime,
  checkBudget,
} from './scheduler.ts';
import { notification } from './notification.ts';
import { schedContextUnbindReply } from './reply.ts';
import { emptySchedContext } from './objects.ts';
import type { SchedContextObject, Step } from './state.ts';
import { isBlocked, isRunnable, replyWords, setThreadState } from './tcb.ts';
import type { InvocationArgs } from './syscall.ts';

/** MIN_REFILLS: a round-robin SC's head and its empty tail. */
export const minRefills = 2;
/** sizeof(sched_context_t) on riscv32 (two 64-bit times, nine words, bool_t, 8-byte aligned). */
const schedContextHeaderBytes = 56;
/** sizeof(refill_t): two 64-bit times. */
const refillBytes = 16;

/** refill_absolute_max: how many refills fit in an SC object of 2^sizeBits bytes. */
export function refillAbsoluteMax(sizeBits: number): number {
  return Math.floor((2 ** sizeBits - schedContextHeaderBytes) / refillBytes);
}

/**
 * ksIdleThreadSC: the idle thread's SC, configured at boot as a round-robin SC with
 * MAX_PERIOD_TICKS of budget from time 0. Nothing ever charges it, so it is a constant here.
 */
export const idleSchedContext: SchedContextObject = Object.freeze(
  withRefills(emptySchedContext(-1, 0), 0n, minRefills, [{ releaseTicks: 0n, amountTicks: usToTicks(maxPeriodMicroseconds) }, { releaseTicks: 0n, amountTicks: 0n }]),
);

function withRefills(sc: SchedContextObject, periodTicks: bigint, refillMax: number, refills: readonly Refill[]): SchedContextObject {
  if (refills.length > refillMax || (refillMax > 0) !== (refills.length > 0)) {
    throw new Error(`executable spec invariant: ${refills.length} refills in a ring of ${refillMax}`);
  }
  return { ...sc, periodTicks, refillMax, refills, configured: refillMax > 0 };
}

// ---------------------------------------------------------------- refill predicates (sporadic.h)

export function refillHead(sc: SchedContextObject): Refill {
  const head = sc.refills[0];
  if (head === undefined) throw new Error(`executable spec invariant: SC ${sc.addr} has no refills`);
  return head;
}

function refillTail(sc: SchedContextObject): Refill {
  return sc.refills[sc.refills.length - 1] ?? refillHead(sc);
}

export function isRoundRobin(sc: SchedContextObject): boolean {
  return sc.periodTicks === 0n;
}

/** sc_active. */
export function scActive(sc: SchedContextObject): boolean {
  return sc.refillMax > 0;
}

/** refill_ready: the head refill may be used at `nowTicks`. */
export function refillReady(sc: SchedContextObject, nowTicks: bigint): boolean {
  return refillHead(sc).releaseTicks <= nowTicks;
}

/** refill_sufficient: the head refill still holds MIN_BUDGET after `usageTicks`. */
export function refillSufficient(sc: SchedContextObject, usageTicks: bigint): boolean {
  const amount = refillHead(sc).amountTicks;
  const capacity = usageTicks > amount ? 0n : amount - usageTicks;
  return capacity >= minBudgetTicks;
}

/** sc_released: active, and its head refill is ready. */
export function scReleased(sc: SchedContextObject, nowTicks: bigint): boolean {
  return scActive(sc) && refillReady(sc, nowTicks);
}

// ---------------------------------------------------------------- refill algorithms (sporadic.c)

/** refill_new: the whole budget usable from now; a round-robin SC gets an empty tail to track use. */
export function refillNew(sc: SchedContextObject, maxRefills: number, budgetTicks: bigint, periodTicks: bigint, nowTicks: bigint): SchedContextObject {
  if (budgetTicks < minBudgetTicks) throw new Error('executable spec invariant: refill_new below MIN_BUDGET');
  const head = { releaseTicks: nowTicks, amountTicks: budgetTicks };
  const refills = periodTicks === 0n ? [head, { releaseTicks: nowTicks, amountTicks: 0n }] : [head];
  return withRefills(sc, periodTicks, maxRefills, refills);
}

/**
 * refill_update: new parameters for an SC in use, keeping the sliding window: the ring shrinks to
 * its head (released now if it is ready), trimmed to the new budget, and any budget beyond the
 * head's comes back one new period after it.
 */
export function refillUpdate(sc: SchedContextObject, periodTicks: bigint, budgetTicks: bigint, maxRefills: number, nowTicks: bigint): SchedContextObject {
  if (!scActive(sc)) throw new Error('executable spec invariant: refill_update on an inactive SC');
  const old = refillHead(sc);
  const releaseTicks = old.releaseTicks <= nowTicks ? nowTicks : old.releaseTicks;
  if (old.amountTicks >= budgetTicks) {
    const head = { releaseTicks, amountTicks: budgetTicks };
    const refills = periodTicks === 0n ? [head, { releaseTicks, amountTicks: 0n }] : [head];
    return withRefills(sc, periodTicks, maxRefills, refills);
  }
  const head = { releaseTicks, amountTicks: old.amountTicks };
  const rest = { releaseTicks: releaseTicks + periodTicks, amountTicks: budgetTicks - old.amountTicks };
  return withRefills(sc, periodTicks, maxRefills, [head, rest]);
}

/**
 * schedule_used: a used amount comes back at its release time at the tail: merged into the tail
 * if they touch, added if the ring has room, else the tail is delayed to absorb it.
 */
function scheduleUsed(refills: Refill[], refillMax: number, used: Refill): void {
  const tail = refills[refills.length - 1]!;
  if (tail.releaseTicks + tail.amountTicks >= used.releaseTicks) {
    refills[refills.length - 1] = { releaseTicks: tail.releaseTicks, amountTicks: tail.amountTicks + used.amountTicks };
  } else if (refills.length < refillMax) {
    refills.push(used);
  } else {
    refills[refills.length - 1] = { releaseTicks: used.releaseTicks - tail.amountTicks, amountTicks: tail.amountTicks + used.amountTicks };
  }
}

/**
 * handle_overrun: while the usage covers the head refill (released before MAX_RELEASE_TIME), the
 * head is charged whole and comes back one period later. A round of the list without a merge
 * repeats forever after as a move by one period, so the rounds the usage pays for are taken at
 * once. Returns the usage left.
 */
function handleOverrun(refills: Refill[], refillMax: number, periodTicks: bigint, usageTicks: bigint): bigint {
  let usage = usageTicks;
  let unmergedCharges = 0;
  let roundsSkipped = false;
  while (refills[0]!.amountTicks <= usage && refills[0]!.releaseTicks < maxReleaseTicks) {
    const size = refills.length;
    if (!roundsSkipped && unmergedCharges >= size) {
      usage = chargeWholeRounds(refills, periodTicks, usage);
      roundsSkipped = true;
      continue;
    }
    const head = refills[0]!;
    if (size === 1) refills[0] = { releaseTicks: head.releaseTicks + periodTicks, amountTicks: head.amountTicks };
    else {
      refills.shift();
      scheduleUsed(refills, refillMax, { releaseTicks: head.releaseTicks + periodTicks, amountTicks: head.amountTicks });
    }
    unmergedCharges = refills.length === size ? unmergedCharges + 1 : 0;
    usage -= head.amountTicks;
  }
  return usage;
}

/** Whole rounds of handle_overrun, as many as the usage pays for below MAX_RELEASE_TIME. */
function chargeWholeRounds(refills: Refill[], periodTicks: bigint, usageTicks: bigint): bigint {
  const budgetTicks = refills.reduce((sum, r) => sum + r.amountTicks, 0n);
  const lastReleaseTicks = refills[refills.length - 1]!.releaseTicks;
  const byUsage = usageTicks / budgetTicks;
  const byTime = lastReleaseTicks < maxReleaseTicks ? (maxReleaseTicks - 1n - lastReleaseTicks) / periodTicks + 1n : 0n;
  const rounds = byUsage < byTime ? byUsage : byTime;
  refills.forEach((r, i) => (refills[i] = { releaseTicks: r.releaseTicks + rounds * periodTicks, amountTicks: r.amountTicks }));
  return usageTicks - rounds * budgetTicks;
}

/**
 * refill_budget_check: charges `usageTicks` to a sporadic (non round-robin) SC. Whole head refills
 * the usage covers go one period later (handle_overrun); a partial use splits the head, the used
 * part returning one period later; then the head is merged with the next until it holds MIN_BUDGET.
 */
export function refillBudgetCheck(sc: SchedContextObject, usageTicks: bigint): SchedContextObject {
  if (isRoundRobin(sc)) throw new Error('executable spec invariant: refill_budget_check on a round-robin SC');
  const refills = sc.refills.slice();
  const period = sc.periodTicks;
  const usage = handleOverrun(refills, sc.refillMax, period, usageTicks);
  const head = refills[0]!;
  if (usage > 0n && head.releaseTicks < maxReleaseTicks) {
    if (head.amountTicks <= usage) throw new Error('executable spec invariant: partial charge larger than the head');
    refills[0] = { releaseTicks: head.releaseTicks + usage, amountTicks: head.amountTicks - usage };
    scheduleUsed(refills, sc.refillMax, { releaseTicks: head.releaseTicks + period, amountTicks: usage });
  }
  while (refills[0]!.amountTicks < minBudgetTicks) {
    const old = refills.shift()!;
    const next = refills[0];
    if (next === undefined) throw new Error('executable spec invariant: refills sum below MIN_BUDGET');
    refills[0] = { releaseTicks: next.releaseTicks - old.amountTicks, amountTicks: next.amountTicks + old.amountTicks };
  }
  return withRefills(sc, period, sc.refillMax, refills);
}

/**
 * refill_unblock_check: a sporadic SC whose head is ready is released from now, and the refills
 * that overlap the head are merged into it. Returns the SC unchanged when there is nothing to do,
 * and whether the timer must be reprogrammed.
 */
export function refillUnblockCheck(sc: SchedContextObject, nowTicks: bigint): { sc: SchedContextObject; reprogram: boolean } {
  if (isRoundRobin(sc) || !refillReady(sc, nowTicks)) return { sc, reprogram: false };
  const refills = sc.refills.slice();
  refills[0] = { releaseTicks: nowTicks, amountTicks: refills[0]!.amountTicks };
  while (refills.length > 1 && refills[1]!.releaseTicks <= refills[0]!.releaseTicks + refills[0]!.amountTicks) {
    const old = refills.shift()!;
    refills[0] = { releaseTicks: old.releaseTicks, amountTicks: refills[0]!.amountTicks + old.amountTicks };
  }
  const next = withRefills(sc, sc.periodTicks, sc.refillMax, refills);
  if (!refillSufficient(next, 0n)) throw new Error('executable spec invariant: unblocked head below MIN_BUDGET');
  return { sc: next, reprogram: true };
}

/** Charges `usedTicks` of a round-robin SC: the head gives it to the tail (commitTime). */
export function roundRobinCharge(sc: SchedContextObject, usedTicks: bigint): SchedContextObject {
  const [head, tail] = sc.refills;
  if (head === undefined || tail === undefined || sc.refills.length !== minRefills) throw new Error('executable spec invariant: round-robin SC without two refills');
  return withRefills(sc, 0n, sc.refillMax, [
    { releaseTicks: head.releaseTicks, amountTicks: head.amountTicks - usedTicks },
    { releaseTicks: tail.releaseTicks, amountTicks: tail.amountTicks + usedTicks },
  ]);
}

/** Ends a round-robin time slice: the tail's used budget returns to the head (chargeBudget). */
export function roundRobinRefill(sc: SchedContextObject): SchedContextObject {
  const head = refillHead(sc);
  const tail = refillTail(sc);
  return withRefills(sc, 0n, sc.refillMax, [
    { releaseTicks: head.releaseTicks, amountTicks: head.amountTicks + tail.amountTicks },
    { releaseTicks: tail.releaseTicks, amountTicks: 0n },
  ]);
}

// ---------------------------------------------------------------- SC objects in a step

export function schedContextAt(k: Step, addr: number): SchedContextObject {
  const obj = k.object(addr);
  if (obj?.type !== 'schedcontext') throw new Error(`executable spec invariant: no scheduling context at ${addr}`);
  return obj;
}

/** The SC a ksCurSC-like reference names: the idle thread's for null. */
export function schedContextOrIdle(k: Step, addr: number | null): SchedContextObject {
  return addr === null ? idleSchedContext : schedContextAt(k, addr);
}

/** refill_unblock_check on the SC at `addr`, writing it back. */
export function unblockCheck(k: Step, addr: number): void {
  const { sc, reprogram } = refillUnblockCheck(schedContextAt(k, addr), k.sched.curTimeTicks);
  if (reprogram) {
    k.setObject(sc);
    k.reprogram = true;
  }
}

/** sc_sporadic. */
function isSporadic(k: Step, addr: number | null): boolean {
  return addr !== null && schedContextAt(k, addr).sporadic;
}

/** Unblock check for a sporadic SC other than ksCurSC (bindTCB, restart). */
export function unblockIfSporadic(k: Step, addr: number | null): void {
  if (addr !== null && isSporadic(k, addr) && scActive(schedContextAt(k, addr)) && addr !== k.sched.curSC) unblockCheck(k, addr);
}

/**
 * schedContext_resume: if the bound thread could run but its head refill is not ready or not
 * sufficient, it waits in the release queue (postpone).
 */
export function schedContextResume(k: Step, addr: number | null): void {
  if (addr === null) return;
  const sc = schedContextAt(k, addr);
  if (sc.tcb === null || !isSchedulable(k, sc.tcb)) return;
  if (!(refillReady(sc, k.sched.curTimeTicks) && refillSufficient(sc, 0n))) postpone(k, addr);
}

/** schedContext_bindTCB: SC and thread refer to each other; a runnable thread joins the ready queue. */
export function schedContextBindTCB(k: Step, scAddr: number, tcbAddr: number): void {
  const sc = schedContextAt(k, scAddr);
  const tcb = k.tcb(tcbAddr);
  if (sc.tcb !== null || tcb.schedContext !== null) throw new Error('executable spec invariant: binding a bound SC or TCB');
  k.setObject({ ...tcb, schedContext: scAddr });
  k.setObject({ ...sc, tcb: tcbAddr });
  unblockIfSporadic(k, scAddr);
  schedContextResume(k, scAddr);
  if (isSchedulable(k, tcbAddr)) {
    tcbSchedEnqueue(k, tcbAddr);
    rescheduleRequired(k);
  }
}

/** schedContext_unbindTCB: the thread leaves every scheduler queue and loses its SC. */
export function schedContextUnbindTCB(k: Step, scAddr: number): void {
  const tcbAddr = schedContextAt(k, scAddr).tcb;
  if (tcbAddr === null) throw new Error('executable spec invariant: unbinding an SC with no thread');
  if (tcbAddr === k.state.current) rescheduleRequired(k);
  tcbSchedDequeue(k, tcbAddr);
  tcbReleaseRemove(k, tcbAddr);
  k.setObject({ ...k.tcb(tcbAddr), schedContext: null });
  k.setObject({ ...schedContextAt(k, scAddr), tcb: null });
}

/**
 * schedContext_donate: the SC leaves its thread (taken out of the scheduler's queues; a reschedule
 * if it was running or about to) and is bound to `to`. No budget check is made.
 */
export function schedContextDonate(k: Step, scAddr: number, to: number): void {
  const from = schedContextAt(k, scAddr).tcb;
  if (from !== null) {
    tcbSchedDequeue(k, from);
    tcbReleaseRemove(k, from);
    k.setObject({ ...k.tcb(from), schedContext: null });
    const action = k.action;
    if (from === k.state.current || (action.kind === 'switchTo' && action.tcb === from)) rescheduleRequired(k);
  }
  k.setObject({ ...schedContextAt(k, scAddr), tcb: to });
  k.setObject({ ...k.tcb(to), schedContext: scAddr });
}

/** schedContext_unbindAllTCBs. */
function unbindAllTCBs(k: Step, scAddr: number): void {
  if (schedContextAt(k, scAddr).tcb !== null) schedContextUnbindTCB(k, scAddr);
}

/** schedContext_bindNtfn: the SC and the notification name each other. */
function schedContextBindNtfn(k: Step, scAddr: number, ntfnAddr: number): void {
  k.setObject({ ...notification(k, ntfnAddr), schedContext: scAddr });
  k.setObject({ ...schedContextAt(k, scAddr), notification: ntfnAddr });
}

/** schedContext_unbindNtfn: the SC's notification, if any, is released. */
function schedContextUnbindNtfn(k: Step, scAddr: number): void {
  const ntfnAddr = schedContextAt(k, scAddr).notification;
  if (ntfnAddr === null) return;
  k.setObject({ ...notification(k, ntfnAddr), schedContext: null });
  k.setObject({ ...schedContextAt(k, scAddr), notification: null });
}

/** schedContextMaybeUnbindNtfn: the notification's SC, if any, is released. */
export function schedContextMaybeUnbindNtfn(k: Step, ntfnAddr: number): void {
  const scAddr = notification(k, ntfnAddr).schedContext;
  if (scAddr !== null) schedContextUnbindNtfn(k, scAddr);
}

/** schedContext_updateConsumed: scConsumed in µs, reset (riscv's getMaxTicksToUs is 2^64 - 1). */
function updateConsumed(k: Step, scAddr: number): bigint {
  const sc = schedContextAt(k, scAddr);
  if (sc.consumedTicks >= maxTicks) {
    k.setObject({ ...sc, consumedTicks: sc.consumedTicks - maxTicks });
    return ticksToUs(maxTicks);
  }
  if (sc.consumedTicks !== 0n) k.setObject({ ...sc, consumedTicks: 0n });
  return ticksToUs(sc.consumedTicks);
}

/** The SC's consumed time in µs as two words, low first (mode_setTimeArg), read and reset. */
export function takeConsumedWords(k: Step, scAddr: number): Word[] {
  const consumedUs = updateConsumed(k, scAddr);
  return [Number(BigInt.asUintN(32, consumedUs)), Number(BigInt.asUintN(32, consumedUs >> 32n))];
}

/** setConsumed: reads and resets the SC's consumed time; with `reply`, it is `thread`'s reply (MR0 low, MR1 high). */
function setConsumed(k: Step, scAddr: number, thread: number, reply: boolean): void {
  const words = takeConsumedWords(k, scAddr);
  if (reply) replyWords(k, thread, words);
}

/** schedContext_cancelYieldTo. */
export function cancelYieldTo(k: Step, tcbAddr: number): void {
  const tcb = k.tcb(tcbAddr);
  if (tcb.yieldTo === null) return;
  k.setObject({ ...schedContextAt(k, tcb.yieldTo), yieldFrom: null });
  k.setObject({ ...k.tcb(tcbAddr), yieldTo: null });
}

/** schedContext_completeYieldTo: the yielder gets the consumed time of the SC it yielded to. */
export function completeYieldTo(k: Step, yielder: number): void {
  const to = k.tcb(yielder).yieldTo;
  if (to === null) return;
  setConsumed(k, to, yielder, true);
  cancelYieldTo(k, yielder);
}

/** finaliseCap for the last cap to an SC: unbound from its thread, notification and call stack, its yielder answered, no longer active. */
export function finaliseSchedContext(k: Step, scAddr: number): void {
  unbindAllTCBs(k, scAddr);
  schedContextUnbindNtfn(k, scAddr);
  schedContextUnbindReply(k, scAddr);
  const yieldFrom = schedContextAt(k, scAddr).yieldFrom;
  if (yieldFrom !== null) completeYieldTo(k, yieldFrom);
  const sc = schedContextAt(k, scAddr);
  // scRefillMax = 0 leaves seL4's ring words in memory; with no capacity the model shows no refills.
  k.setObject({ ...withRefills(sc, sc.periodTicks, 0, []), sporadic: false });
}

// ---------------------------------------------------------------- SchedContext invocations

export type SchedContextInvocation =
  | { readonly kind: 'scConsumed'; readonly sc: number }
  | { readonly kind: 'scBindTCB'; readonly sc: number; readonly tcb: number }
  | { readonly kind: 'scBindNtfn'; readonly sc: number; readonly ntfn: number }
  | { readonly kind: 'scUnbindTCB'; readonly sc: number }
  | { readonly kind: 'scUnbindNtfn'; readonly sc: number }
  | { readonly kind: 'scUnbind'; readonly sc: number }
  | { readonly kind: 'scYieldTo'; readonly sc: number };

/**
 * decodeSchedContext_Bind: the extra cap must be there (TruncatedMessage); a thread cap needs SC
 * and thread both free (and a blocked thread a released SC), a notification cap needs SC and
 * notification both free of notification bindings; any other cap is InvalidCapability 1.
 */
function decodeBind(k: Step, args: InvocationArgs, sc: SchedContextObject): SchedContextInvocation | SyscallError {
  const target = args.extraCaps[0];
  if (target === undefined) return { error: 'TruncatedMessage' };
  const cap = k.cap(target);
  if (cap.type === 'thread') {
    if (sc.tcb !== null) return { error: 'IllegalOperation' };
    if (k.tcb(cap.ptr).schedContext !== null) return { error: 'IllegalOperation' };
    if (isBlocked(k.tcb(cap.ptr)) && !scReleased(sc, k.sched.curTimeTicks)) return { error: 'IllegalOperation' };
    return { kind: 'scBindTCB', sc: sc.addr, tcb: cap.ptr };
  }
  if (cap.type === 'notification') {
    if (sc.notification !== null) return { error: 'IllegalOperation' };
    if (notification(k, cap.ptr).schedContext !== null) return { error: 'IllegalOperation' };
    return { kind: 'scBindNtfn', sc: sc.addr, ntfn: cap.ptr };
  }
  return { error: 'InvalidCapability', capIndex: 1 };
}

/**
 * decodeSchedContext_UnbindObject: the extra cap must be there (TruncatedMessage) and name the
 * SC's thread (not the caller) or its notification; any other cap is InvalidCapability 1.
 */
function decodeUnbindObject(k: Step, args: InvocationArgs, sc: SchedContextObject): SchedContextInvocation | SyscallError {
  const target = args.extraCaps[0];
  if (target === undefined) return { error: 'TruncatedMessage' };
  const cap = k.cap(target);
  if (cap.type === 'thread') {
    if (sc.tcb !== cap.ptr) return { error: 'IllegalOperation' };
    if (sc.tcb === k.state.current) return { error: 'IllegalOperation' };
    return { kind: 'scUnbindTCB', sc: sc.addr };
  }
  if (cap.type === 'notification') {
    if (sc.notification !== cap.ptr) return { error: 'IllegalOperation' };
    return { kind: 'scUnbindNtfn', sc: sc.addr };
  }
  return { error: 'InvalidCapability', capIndex: 1 };
}

/** decodeSchedContextInvocation, with decodeSchedContext_Bind/UnbindObject/YieldTo in seL4's order. */
export function decodeSchedContextInvocation(k: Step, args: InvocationArgs, cap: CapOf<'schedcontext'>): SchedContextInvocation | SyscallError {
  const sc = schedContextAt(k, cap.ptr);
  const current = k.state.current;
  switch (args.label) {
    case InvocationLabel.SchedContextConsumed:
      return { kind: 'scConsumed', sc: sc.addr };
    case InvocationLabel.SchedContextBind:
      return decodeBind(k, args, sc);
    case InvocationLabel.SchedContextUnbindObject:
      return decodeUnbindObject(k, args, sc);
    case InvocationLabel.SchedContextUnbind:
      if (sc.tcb !== null && sc.tcb === current) return { error: 'IllegalOperation' };
      return { kind: 'scUnbind', sc: sc.addr };
    case InvocationLabel.SchedContextYieldTo: {
      if (sc.tcb === null || current === null) return { error: 'IllegalOperation' };
      if (sc.tcb === current) return { error: 'IllegalOperation' };
      const caller = k.tcb(current);
      if (k.tcb(sc.tcb).priority > caller.mcp) return { error: 'IllegalOperation' };
      if (caller.yieldTo !== null) return { error: 'IllegalOperation' };
      return { kind: 'scYieldTo', sc: sc.addr };
    }
    default:
      return { error: 'IllegalOperation' };
  }
}

/** invokeSchedContext_*: `isCall` says whether the caller gets a reply. */
export function performSchedContextInvocation(k: Step, inv: SchedContextInvocation, isCall: boolean): void {
  const current = k.state.current;
  if (current === null) throw new Error('executable spec invariant: an invocation without a current thread');
  switch (inv.kind) {
    case 'scConsumed':
      setConsumed(k, inv.sc, current, isCall);
      setThreadState(k, current, 'Running');
      return;
    case 'scBindTCB':
      schedContextBindTCB(k, inv.sc, inv.tcb);
      return;
    case 'scBindNtfn':
      schedContextBindNtfn(k, inv.sc, inv.ntfn);
      return;
    case 'scUnbindTCB':
      schedContextUnbindTCB(k, inv.sc);
      return;
    case 'scUnbindNtfn':
      schedContextUnbindNtfn(k, inv.sc);
      return;
    case 'scUnbind':
      unbindAllTCBs(k, inv.sc);
      schedContextUnbindNtfn(k, inv.sc);
      schedContextUnbindReply(k, inv.sc);
      return;
    case 'scYieldTo':
      yieldTo(k, inv.sc, current, isCall);
      return;
  }
}

/**
 * invokeSchedContext_YieldTo: a bound thread that can run at the caller's priority or above runs
 * first, the caller queued behind it, and the caller's reply (the consumed time) waits until it
 * runs again (activateThread); otherwise the caller is answered now.
 */
function yieldTo(k: Step, scAddr: number, caller: number, isCall: boolean): void {
  const yieldFrom = schedContextAt(k, scAddr).yieldFrom;
  if (yieldFrom !== null) completeYieldTo(k, yieldFrom);
  schedContextResume(k, scAddr);
  const tcb = schedContextAt(k, scAddr).tcb;
  if (tcb === null) throw new Error('executable spec invariant: YieldTo an unbound SC');
  let returnNow = true;
  if (isSchedulable(k, tcb)) {
    if (k.tcb(tcb).priority < k.tcb(caller).priority) {
      tcbSchedDequeue(k, tcb);
      tcbSchedEnqueue(k, tcb);
    } else {
      k.setObject({ ...k.tcb(caller), yieldTo: scAddr });
      k.setObject({ ...schedContextAt(k, scAddr), yieldFrom: caller });
      tcbSchedDequeue(k, tcb);
      tcbSchedEnqueue(k, caller);
      tcbSchedEnqueue(k, tcb);
      rescheduleRequired(k);
      returnNow = false;
    }
  }
  if (returnNow) {
    setConsumed(k, scAddr, caller, isCall);
    setThreadState(k, caller, 'Running');
  }
}

// ---------------------------------------------------------------- SchedControl

export interface ConfigureInvocation {
  readonly kind: 'scConfigure';
  readonly sc: number;
  readonly budgetTicks: bigint;
  readonly periodTicks: bigint;
  readonly maxRefills: number;
  readonly badge: Word;
  readonly flags: Word;
}

/** A 64-bit time argument: two message words, low first (mode_parseTimeArg on 32-bit). */
function timeArg(args: InvocationArgs, i: number): bigint {
  return (BigInt(args.arg(i + 1) >>> 0) << 32n) | BigInt(args.arg(i) >>> 0);
}

/** A 64-bit value as an error word (the reply holds the low word). */
const lowWord = (value: bigint): number => Number(BigInt.asUintN(32, value));

/** decodeSchedControl_ConfigureFlags, checks in seL4's order. */
export function decodeSchedControlInvocation(k: Step, args: InvocationArgs): ConfigureInvocation | SyscallError {
  if (args.label !== InvocationLabel.SchedControlConfigureFlags) return { error: 'IllegalOperation' };
  const target = args.extraCaps[0];
  if (target === undefined) return { error: 'TruncatedMessage' };
  if (args.length < 7) return { error: 'TruncatedMessage' };
  const range = (max: bigint): SyscallError => ({ error: 'RangeError', min: lowWord(minBudgetMicroseconds), max: lowWord(max) });
  const budgetUs = timeArg(args, 0);
  if (budgetUs > maxPeriodMicroseconds) return range(maxPeriodMicroseconds);
  const budgetTicks = usToTicks(budgetUs);
  const periodUs = timeArg(args, 2);
  if (periodUs > maxPeriodMicroseconds) return range(maxPeriodMicroseconds);
  const periodTicks = usToTicks(periodUs);
  if (budgetTicks < minBudgetTicks || periodTicks < minBudgetTicks) return range(maxPeriodMicroseconds);
  if (budgetTicks > periodTicks) return range(periodUs);
  const targetCap = k.cap(target);
  if (targetCap.type !== 'schedcontext') return { error: 'InvalidCapability', capIndex: 1 };
  const extraRefills = args.arg(4) >>> 0;
  const absoluteMax = refillAbsoluteMax(targetCap.sizeBits);
  if (extraRefills > absoluteMax - minRefills) return { error: 'RangeError', min: 0, max: absoluteMax - minRefills };
  return {
    kind: 'scConfigure', sc: targetCap.ptr, budgetTicks, periodTicks, maxRefills: extraRefills + minRefills,
    badge: args.arg(5) >>> 0, flags: args.arg(6) >>> 0,
  };
}

/**
 * invokeSchedControl_ConfigureFlags: the bound thread leaves the queues (its use so far is charged
 * first if the SC is ksCurSC); budget == period makes a round-robin SC; an SC in use by a runnable
 * thread keeps its bandwidth (refill_update), any other starts afresh (refill_new); then the
 * thread is resumed and may preempt.
 */
export function performSchedControlInvocation(k: Step, inv: ConfigureInvocation): void {
  const thread = schedContextAt(k, inv.sc).tcb;
  if (thread !== null) {
    tcbReleaseRemove(k, thread);
    tcbSchedDequeue(k, thread);
    if (k.sched.curSC === inv.sc) {
      if (!checkBudget(k)) throw new Error('executable spec invariant: ksCurSC out of budget during an invocation');
      commitTime(k);
    }
  }
  const sc = schedContextAt(k, inv.sc);
  const now = k.sched.curTimeTicks;
  let configured: SchedContextObject;
  if (inv.budgetTicks === inv.periodTicks) configured = refillNew(sc, minRefills, inv.budgetTicks, 0n, now);
  else if (scActive(sc) && thread !== null && isRunnable(k.tcb(thread))) configured = refillUpdate(sc, inv.periodTicks, inv.budgetTicks, inv.maxRefills, now);
  else configured = refillNew(sc, inv.maxRefills, inv.budgetTicks, inv.periodTicks, now);
  k.setObject(configured);
  if (thread !== null) {
    schedContextResume(k, inv.sc);
    if (isRunnable(k.tcb(thread)) && thread !== k.state.current) possibleSwitchTo(k, thread);
    if (thread === k.state.current) rescheduleRequired(k);
  }
  k.setObject({ ...schedContextAt(k, inv.sc), badge: inv.badge, sporadic: (inv.flags & seL4_SchedContext_Sporadic) !== 0 });
}
