// Scheduling contexts, as seL4's schedcontext.c, schedcontrol.c and the refill algorithms of
// sporadic.c / sporadic.h.
//
// Memory layout of a scheduling context (2^sizeBits bytes, at least 128, naturally aligned),
// seL4's sched_context_t on riscv32 followed by its refill ring:
//   0x00  scPeriod (64 bits, ticks; 0 for round robin)
//   0x08  scConsumed (64 bits, ticks)
//   0x10  scCore (always 0: one core)
//   0x14  scTcb: link (address | 1), 0 if none
//   0x18  scReply: link to the reply heading its call stack, 0 if none
//   0x1C  scNotification: link, 0 if none
//   0x20  scBadge
//   0x24  scYieldFrom: link
//   0x28  scRefillMax (0: not configured, seL4's !sc_active)
//   0x2C  scRefillHead, 0x30 scRefillTail (ring indices)
//   0x34  scSporadic (0 or 1)
//   0x38  the refill ring: {releaseTicks, amountTicks}, 64 bits each, 16 bytes a refill, to
//         the end of the object: refill_absolute_max = (2^sizeBits - 0x38) / 16 refills.
// A new SC (all zero) is unconfigured and bound to nothing.
import {
  InvocationLabel,
  maxPeriodMicroseconds,
  maxPeriodTicks,
  maxReleaseTicks,
  minBudgetMicroseconds,
  minBudgetTicks,
  ticksToUs,
  usToTicks,
  type SyscallError,
  type Word,
} from '../libsel4/index.ts';
import { slotW0, slotW1 } from './cnode.ts';
import { ntfnSchedContext, setNtfnSchedContext } from './notification.ts';
import { postpone, possibleSwitchTo, rescheduleRequired, tcbReleaseRemove, tcbSchedDequeue, tcbSchedEnqueue, isSchedulable, isRunnable, commitTime } from './scheduler.ts';
import { NONE, fail, linkTarget, linkWord, readU64, readWord, writeObjectU64, writeObjectWord, type ImplState } from './state.ts';
import { CapTag, capPtr, capTag, schedContextSizeBits } from './structures.ts';
import { replyConsumed, setTcbSchedContext, setThreadState, setTcbYieldTo, tcbMCP, tcbPriority, tcbSchedContext, tcbYieldTo, ThreadStateNum, isBlocked } from './tcb.ts';
import { syscallArg, type InvocationContext } from './syscall.ts';
import { callStackOf, clearReplyHead } from './reply.ts';

const PERIOD = 0x00;
const CONSUMED = 0x08;
const TCB = 0x14;
const REPLY = 0x18;
const NOTIFICATION = 0x1c;
const BADGE = 0x20;
const YIELD_FROM = 0x24;
const REFILL_MAX = 0x28;
const REFILL_HEAD = 0x2c;
const REFILL_TAIL = 0x30;
const SPORADIC = 0x34;
/** sizeof(sched_context_t) on riscv32: where the refill ring starts. */
const REFILLS = 0x38;
const refillBytes = 16;

/** Word indices of the fields the fastpath reads and writes through an SC's page of RAM (its first page: the fields start an SC). */
export const ScWord = { tcb: TCB >>> 2, reply: REPLY >>> 2 } as const;

/** MIN_REFILLS: a round-robin SC's two refills (head being used, tail used). */
export const minRefills = 2;

// The idle thread's SC (NONE here): round robin, its head refill MAX_PERIOD_TICKS released at
// 0 (configure_sched_context at boot), never charged.

// ---- fields ----

export function scTcb(state: ImplState, sc: number): number {
  return linkTarget(readWord(state, sc + TCB));
}

export function setScTcb(state: ImplState, sc: number, tcb: number): void {
  writeObjectWord(state, sc, TCB, linkWord(tcb));
}

export function scPeriod(state: ImplState, sc: number): bigint {
  return sc === NONE ? 0n : readU64(state, sc + PERIOD);
}

export function scConsumed(state: ImplState, sc: number): bigint {
  return readU64(state, sc + CONSUMED);
}

export function setScConsumed(state: ImplState, sc: number, ticks: bigint): void {
  writeObjectU64(state, sc, CONSUMED, ticks);
}

export function scRefillMax(state: ImplState, sc: number): number {
  return readWord(state, sc + REFILL_MAX);
}

export function scBadge(state: ImplState, sc: number): Word {
  return readWord(state, sc + BADGE);
}

export function scYieldFrom(state: ImplState, sc: number): number {
  return linkTarget(readWord(state, sc + YIELD_FROM));
}

export function setScYieldFrom(state: ImplState, sc: number, tcb: number): void {
  writeObjectWord(state, sc, YIELD_FROM, linkWord(tcb));
}

/** scReply: the reply object at the head of the SC's call stack, or NONE. */
export function scReply(state: ImplState, sc: number): number {
  return linkTarget(readWord(state, sc + REPLY));
}

export function setScReply(state: ImplState, sc: number, reply: number): void {
  writeObjectWord(state, sc, REPLY, linkWord(reply));
}

/** schedContext_unbindReply: the head reply forgets the SC, and the SC its call stack. */
function schedContextUnbindReply(state: ImplState, sc: number): void {
  const reply = scReply(state, sc);
  if (reply === NONE) return;
  clearReplyHead(state, reply);
  setScReply(state, sc, NONE);
}

/**
 * schedContext_donate: the SC's thread (if any) leaves the scheduler's queues and loses it
 * (a reschedule if it was current or the candidate); `to` gets it.
 */
export function schedContextDonate(state: ImplState, sc: number, to: number): void {
  if (state.debug && (sc === NONE || tcbSchedContext(state, to) !== NONE)) fail(`donation of SC ${sc} to thread ${to.toString(16)}`);
  const from = scTcb(state, sc);
  if (from !== NONE) {
    tcbSchedDequeue(state, from);
    tcbReleaseRemove(state, from);
    setTcbSchedContext(state, from, NONE);
    if (from === state.current || from === state.schedulerAction) rescheduleRequired(state);
  }
  setScTcb(state, sc, to);
  setTcbSchedContext(state, to, sc);
}

export function scNotification(state: ImplState, sc: number): number {
  return linkTarget(readWord(state, sc + NOTIFICATION));
}

/** schedContext_bindNtfn: the SC and the notification name each other. */
function schedContextBindNtfn(state: ImplState, sc: number, ntfn: number): void {
  if (state.debug && (scNotification(state, sc) !== NONE || ntfnSchedContext(state, ntfn) !== NONE)) {
    fail(`binding SC ${sc.toString(16)} to notification ${ntfn.toString(16)}: one is bound`);
  }
  setNtfnSchedContext(state, ntfn, sc);
  writeObjectWord(state, sc, NOTIFICATION, linkWord(ntfn));
}

/** schedContext_unbindNtfn: the SC's notification, if any, is released. */
function schedContextUnbindNtfn(state: ImplState, sc: number): void {
  const ntfn = scNotification(state, sc);
  if (ntfn === NONE) return;
  if (state.debug && ntfnSchedContext(state, ntfn) !== sc) fail(`notification ${ntfn.toString(16)} is not bound back to SC ${sc.toString(16)}`);
  setNtfnSchedContext(state, ntfn, NONE);
  writeObjectWord(state, sc, NOTIFICATION, linkWord(NONE));
}

/** schedContextMaybeUnbindNtfn: the notification's SC, if any, is released. */
export function schedContextMaybeUnbindNtfn(state: ImplState, ntfn: number): void {
  const sc = ntfnSchedContext(state, ntfn);
  if (sc !== NONE) schedContextUnbindNtfn(state, sc);
}

/** sc_sporadic: false for no SC and for the idle thread's. */
export function scSporadic(state: ImplState, sc: number): boolean {
  return sc !== NONE && readWord(state, sc + SPORADIC) !== 0;
}

/** sc_active: configured by SchedControl (the idle thread's always is). */
export function scActive(state: ImplState, sc: number): boolean {
  return sc === NONE || scRefillMax(state, sc) > 0;
}

/** A period of 0 (both words zero: no 64-bit value is built). */
export function isRoundRobin(state: ImplState, sc: number): boolean {
  return sc === NONE || (readWord(state, sc + PERIOD) === 0 && readWord(state, sc + PERIOD + 4) === 0);
}

// ---- the refill ring ----

function refillHeadIndex(state: ImplState, sc: number): number {
  return readWord(state, sc + REFILL_HEAD);
}

function refillTailIndex(state: ImplState, sc: number): number {
  return readWord(state, sc + REFILL_TAIL);
}

function refillOffset(index: number): number {
  return REFILLS + index * refillBytes;
}

function refillTime(state: ImplState, sc: number, index: number): bigint {
  return readU64(state, sc + refillOffset(index));
}

function refillAmount(state: ImplState, sc: number, index: number): bigint {
  return readU64(state, sc + refillOffset(index) + 8);
}

function setRefill(state: ImplState, sc: number, index: number, releaseTicks: bigint, amountTicks: bigint): void {
  writeObjectU64(state, sc, refillOffset(index), releaseTicks);
  writeObjectU64(state, sc, refillOffset(index) + 8, amountTicks);
}

/** refill_absolute_max: how many refills an SC of 2^sizeBits bytes holds. */
export function refillAbsoluteMax(sizeBits: number): number {
  return Math.floor((2 ** sizeBits - REFILLS) / refillBytes);
}

function refillNext(state: ImplState, sc: number, index: number): number {
  return index === scRefillMax(state, sc) - 1 ? 0 : index + 1;
}

function refillSize(state: ImplState, sc: number): number {
  const head = refillHeadIndex(state, sc);
  const tail = refillTailIndex(state, sc);
  return head <= tail ? tail - head + 1 : tail + 1 + (scRefillMax(state, sc) - head);
}

function refillSingle(state: ImplState, sc: number): boolean {
  return refillHeadIndex(state, sc) === refillTailIndex(state, sc);
}

/** The head refill's release time (the idle SC's is 0). */
export function refillHeadTime(state: ImplState, sc: number): bigint {
  return sc === NONE ? 0n : refillTime(state, sc, refillHeadIndex(state, sc));
}

/** The head refill's amount (the idle SC's is MAX_PERIOD_TICKS). */
export function refillHeadAmount(state: ImplState, sc: number): bigint {
  return sc === NONE ? maxPeriodTicks : refillAmount(state, sc, refillHeadIndex(state, sc));
}

function setRefillHead(state: ImplState, sc: number, releaseTicks: bigint, amountTicks: bigint): void {
  setRefill(state, sc, refillHeadIndex(state, sc), releaseTicks, amountTicks);
}

/** refill_capacity: what is left of the head refill after `usage`. */
function refillCapacity(state: ImplState, sc: number, usage: bigint): bigint {
  const amount = refillHeadAmount(state, sc);
  if (usage === 0n) return amount; // the usual entry: no time passed since the last one
  return usage > amount ? 0n : amount - usage;
}

/** refill_sufficient: at least MIN_BUDGET left in the head refill after `usage`. */
export function refillSufficient(state: ImplState, sc: number, usage: bigint): boolean {
  return refillCapacity(state, sc, usage) >= minBudgetTicks;
}

/** refill_ready: the head refill's release time has come. */
export function refillReady(state: ImplState, sc: number): boolean {
  return refillHeadTime(state, sc) <= state.curTimeTicks;
}

/** sc_released: configured, and its head refill ready. */
export function scReleased(state: ImplState, sc: number): boolean {
  return scActive(state, sc) && refillReady(state, sc);
}

/** The refills head first, as {releaseTicks, amountTicks}; none while unconfigured. */
export function refillsOf(state: ImplState, sc: number): { releaseTicks: bigint; amountTicks: bigint }[] {
  const refills: { releaseTicks: bigint; amountTicks: bigint }[] = [];
  const max = scRefillMax(state, sc);
  let index = refillHeadIndex(state, sc);
  while (refills.length < max) {
    refills.push({ releaseTicks: refillTime(state, sc, index), amountTicks: refillAmount(state, sc, index) });
    if (index === refillTailIndex(state, sc)) return refills;
    index = refillNext(state, sc, index);
  }
  return max === 0 ? refills : fail(`SC ${sc.toString(16)}: the refill tail is not in the ring`);
}

/** The refills' total: the budget (REFILL_SANITY_CHECK). */
function refillSum(state: ImplState, sc: number): bigint {
  return refillsOf(state, sc).reduce((sum, r) => sum + r.amountTicks, 0n);
}

/** refill_ordered: each refill ends before the next is released (round robin exempt). */
function refillOrdered(state: ImplState, sc: number): boolean {
  if (isRoundRobin(state, sc)) return true;
  const refills = refillsOf(state, sc);
  for (let i = 1; i < refills.length; i++) {
    if (refills[i - 1]!.releaseTicks + refills[i - 1]!.amountTicks > refills[i]!.releaseTicks) return false;
  }
  return true;
}

/** Debug builds: the refills sum to the budget and do not overlap (REFILL_SANITY_CHECK). */
function refillSanityCheck(state: ImplState, sc: number, budgetTicks: bigint): void {
  const sum = refillSum(state, sc);
  if (sum !== budgetTicks) fail(`SC ${sc.toString(16)}: refills sum to ${sum}, budget ${budgetTicks}`);
  if (!refillOrdered(state, sc)) fail(`SC ${sc.toString(16)}: refills overlap`);
}

/** refill_pop_head: removes the head refill (there are at least two) and returns it. */
function refillPopHead(state: ImplState, sc: number): { releaseTicks: bigint; amountTicks: bigint } {
  if (state.debug && refillSingle(state, sc)) fail('refill_pop_head of a single refill');
  const head = refillHeadIndex(state, sc);
  const refill = { releaseTicks: refillTime(state, sc, head), amountTicks: refillAmount(state, sc, head) };
  writeObjectWord(state, sc, REFILL_HEAD, refillNext(state, sc, head));
  return refill;
}

/** refill_add_tail: appends a refill (the ring is not full). */
function refillAddTail(state: ImplState, sc: number, releaseTicks: bigint, amountTicks: bigint): void {
  if (state.debug && refillSize(state, sc) >= scRefillMax(state, sc)) fail('refill_add_tail to a full ring');
  const tail = refillNext(state, sc, refillTailIndex(state, sc));
  setRefill(state, sc, tail, releaseTicks, amountTicks);
  writeObjectWord(state, sc, REFILL_TAIL, tail);
}

/** maybe_add_empty_tail: a round-robin SC keeps an empty tail refill. */
function maybeAddEmptyTail(state: ImplState, sc: number): void {
  if (isRoundRobin(state, sc)) refillAddTail(state, sc, refillHeadTime(state, sc), 0n);
}

/** refill_new: a fresh ring with one refill of the whole budget, released now. */
export function refillNew(state: ImplState, sc: number, maxRefills: number, budgetTicks: bigint, periodTicks: bigint): void {
  writeObjectU64(state, sc, PERIOD, periodTicks);
  writeObjectWord(state, sc, REFILL_HEAD, 0);
  writeObjectWord(state, sc, REFILL_TAIL, 0);
  writeObjectWord(state, sc, REFILL_MAX, maxRefills);
  if (state.debug && budgetTicks < minBudgetTicks) fail('refill_new below MIN_BUDGET');
  setRefill(state, sc, 0, state.curTimeTicks, budgetTicks);
  maybeAddEmptyTail(state, sc);
  if (state.debug) refillSanityCheck(state, sc, budgetTicks);
}

/**
 * refill_update: new parameters for an SC in use, without giving it more bandwidth: the
 * head refill is kept (moved to index 0, released now if it is ready), cut to the new
 * budget or topped up by a second refill one period later.
 */
export function refillUpdate(state: ImplState, sc: number, periodTicks: bigint, budgetTicks: bigint, maxRefills: number): void {
  const headTime = refillHeadTime(state, sc);
  const headAmount = refillHeadAmount(state, sc);
  writeObjectWord(state, sc, REFILL_HEAD, 0);
  writeObjectWord(state, sc, REFILL_TAIL, 0);
  writeObjectWord(state, sc, REFILL_MAX, maxRefills);
  writeObjectU64(state, sc, PERIOD, periodTicks);
  setRefill(state, sc, 0, headTime <= state.curTimeTicks ? state.curTimeTicks : headTime, headAmount);
  if (headAmount >= budgetTicks) {
    setRefillHead(state, sc, refillHeadTime(state, sc), budgetTicks);
    maybeAddEmptyTail(state, sc);
  } else {
    refillAddTail(state, sc, refillHeadTime(state, sc) + periodTicks, budgetTicks - headAmount);
  }
  if (state.debug) refillSanityCheck(state, sc, budgetTicks);
}

/**
 * schedule_used: a used refill goes to the tail; merged into the tail if they touch, or, with
 * a full ring, the tail absorbs it and moves later so that it ends where the new one would.
 */
function scheduleUsed(state: ImplState, sc: number, releaseTicks: bigint, amountTicks: bigint): void {
  const tail = refillTailIndex(state, sc);
  const tailTime = refillTime(state, sc, tail);
  const tailAmount = refillAmount(state, sc, tail);
  if (tailTime + tailAmount >= releaseTicks) setRefill(state, sc, tail, tailTime, tailAmount + amountTicks);
  else if (refillSize(state, sc) !== scRefillMax(state, sc)) refillAddTail(state, sc, releaseTicks, amountTicks);
  else setRefill(state, sc, tail, releaseTicks - tailAmount, tailAmount + amountTicks);
}

/**
 * handle_overrun: the head refill is charged whole, one period later, while the usage covers it
 * and its release time is below MAX_RELEASE_TIME. Once a whole round of the ring has gone by
 * without a merge, every further round only moves the ring one period on, so those rounds are
 * taken at once (the same refills and usage as seL4's loop, without its 10^14 turns).
 */
function handleOverrun(state: ImplState, sc: number, usageTicks: bigint): bigint {
  const period = scPeriod(state, sc);
  let usage = usageTicks;
  let unmergedCharges = 0;
  let roundsSkipped = false;
  while (refillHeadAmount(state, sc) <= usage && refillHeadTime(state, sc) < maxReleaseTicks) {
    const size = refillSize(state, sc);
    if (!roundsSkipped && unmergedCharges >= size) {
      usage = chargeWholeRounds(state, sc, usage);
      roundsSkipped = true;
      continue;
    }
    const headAmount = refillHeadAmount(state, sc);
    if (refillSingle(state, sc)) {
      setRefillHead(state, sc, refillHeadTime(state, sc) + period, headAmount);
    } else {
      const old = refillPopHead(state, sc);
      scheduleUsed(state, sc, old.releaseTicks + period, old.amountTicks);
    }
    unmergedCharges = refillSize(state, sc) === size ? unmergedCharges + 1 : 0;
    usage -= headAmount;
  }
  return usage;
}

/**
 * As many whole rounds of handle_overrun as the usage pays for and MAX_RELEASE_TIME allows: each
 * moves every refill one period later and, in a ring of two or more, advances head and tail by
 * the ring's size. Returns the usage left.
 */
function chargeWholeRounds(state: ImplState, sc: number, usageTicks: bigint): bigint {
  const period = scPeriod(state, sc);
  const refills = refillsOf(state, sc);
  const budgetTicks = refills.reduce((sum, r) => sum + r.amountTicks, 0n);
  const lastReleaseTicks = refills.reduce((last, r) => (r.releaseTicks > last ? r.releaseTicks : last), 0n);
  const byUsage = usageTicks / budgetTicks;
  const byTime = lastReleaseTicks < maxReleaseTicks ? (maxReleaseTicks - 1n - lastReleaseTicks) / period + 1n : 0n;
  const rounds = byUsage < byTime ? byUsage : byTime;
  const max = scRefillMax(state, sc);
  const head = refills.length === 1 ? refillHeadIndex(state, sc) : Number((BigInt(refillHeadIndex(state, sc)) + rounds * BigInt(refills.length)) % BigInt(max));
  refills.forEach((r, i) => setRefill(state, sc, (head + i) % max, r.releaseTicks + rounds * period, r.amountTicks));
  writeObjectWord(state, sc, REFILL_HEAD, head);
  writeObjectWord(state, sc, REFILL_TAIL, (head + refills.length - 1) % max);
  return usageTicks - rounds * budgetTicks;
}

/**
 * refill_budget_check: charges `usage` to ksCurSC (sporadic or constant bandwidth): whole head
 * refills it overran are moved one period on, the rest is cut from the head and scheduled
 * one period later, and a head refill below MIN_BUDGET is merged into the next one.
 */
export function refillBudgetCheck(state: ImplState, usageTicks: bigint): void {
  const sc = state.curSC;
  if (state.debug && isRoundRobin(state, sc)) fail('refill_budget_check on a round-robin SC');
  const budget = state.debug ? refillSum(state, sc) : 0n;
  const period = scPeriod(state, sc);
  const usage = handleOverrun(state, sc, usageTicks);
  const headTime = refillHeadTime(state, sc);
  const headAmount = refillHeadAmount(state, sc);
  if (usage > 0n && headTime < maxReleaseTicks) {
    if (state.debug && headAmount <= usage) fail('refill_budget_check: head refill overrun left');
    setRefillHead(state, sc, headTime + usage, headAmount - usage);
    scheduleUsed(state, sc, headTime + period, usage);
  }
  // merge_nonoverlapping_head_refill while the head is below MIN_BUDGET
  while (refillHeadAmount(state, sc) < minBudgetTicks) {
    const head = refillPopHead(state, sc);
    setRefillHead(state, sc, refillHeadTime(state, sc) - head.amountTicks, refillHeadAmount(state, sc) + head.amountTicks);
  }
  if (state.debug) refillSanityCheck(state, sc, budget);
}

/**
 * refill_unblock_check: a sporadic or constant-bandwidth SC whose head refill is ready is
 * released now, merging the refills that now overlap it; round robin is exempt.
 */
export function refillUnblockCheck(state: ImplState, sc: number): void {
  if (isRoundRobin(state, sc)) return;
  const budget = state.debug ? refillSum(state, sc) : 0n;
  if (refillReady(state, sc)) {
    setRefillHead(state, sc, state.curTimeTicks, refillHeadAmount(state, sc));
    state.reprogram = true;
    while (!refillSingle(state, sc) && refillTime(state, sc, refillNext(state, sc, refillHeadIndex(state, sc))) <= refillHeadTime(state, sc) + refillHeadAmount(state, sc)) {
      const old = refillPopHead(state, sc);
      setRefillHead(state, sc, old.releaseTicks, refillHeadAmount(state, sc) + old.amountTicks);
    }
    if (state.debug && !refillSufficient(state, sc, 0n)) fail('refill_unblock_check left an insufficient head');
  }
  if (state.debug) refillSanityCheck(state, sc, budget);
}

/**
 * A round-robin SC's two refills: the head being used and the tail used. commitTime moves
 * `movedTicks` from head to tail; chargeBudget moves the whole tail back (a negative amount).
 */
function roundRobinMove(state: ImplState, sc: number, movedTicks: bigint): void {
  const head = refillHeadIndex(state, sc);
  const tail = refillTailIndex(state, sc);
  if (state.debug && refillSize(state, sc) !== minRefills) fail('a round-robin SC without two refills');
  setRefill(state, sc, head, refillTime(state, sc, head), refillAmount(state, sc, head) - movedTicks);
  setRefill(state, sc, tail, refillTime(state, sc, tail), refillAmount(state, sc, tail) + movedTicks);
}

/** commitTime of a round-robin SC: the used ticks move to the tail refill. */
export function roundRobinCommit(state: ImplState, sc: number, usedTicks: bigint): void {
  roundRobinMove(state, sc, usedTicks);
}

/** chargeBudget of a round-robin SC: a new time slice, the whole budget in the head refill again. */
export function roundRobinRefill(state: ImplState, sc: number): void {
  roundRobinMove(state, sc, -refillAmount(state, sc, refillTailIndex(state, sc)));
}

// ---- binding (schedcontext.c) ----

/**
 * schedContext_resume: a bound schedulable thread whose SC is not ready and sufficient
 * waits in the release queue.
 */
export function schedContextResume(state: ImplState, sc: number): void {
  if (sc === NONE) return;
  const tcb = scTcb(state, sc);
  if (!isSchedulable(state, tcb)) return;
  if (!(refillReady(state, sc) && refillSufficient(state, sc, 0n))) postpone(state, sc);
}

/** schedContext_bindTCB: binds, releases a sporadic SC if it may be, and schedules the thread. */
export function schedContextBindTcb(state: ImplState, sc: number, tcb: number): void {
  if (state.debug && (scTcb(state, sc) !== NONE || tcbSchedContext(state, tcb) !== NONE)) fail('bindTCB of a bound SC or TCB');
  setTcbSchedContext(state, tcb, sc);
  setScTcb(state, sc, tcb);
  if (scSporadic(state, sc) && scActive(state, sc) && sc !== state.curSC) refillUnblockCheck(state, sc);
  schedContextResume(state, sc);
  if (isSchedulable(state, tcb)) {
    tcbSchedEnqueue(state, tcb);
    rescheduleRequired(state);
  }
}

/** schedContext_unbindTCB: the thread leaves the scheduler's queues and loses its SC. */
export function schedContextUnbindTcb(state: ImplState, sc: number): void {
  const tcb = scTcb(state, sc);
  if (state.debug && tcb === NONE) fail('unbindTCB of an unbound SC');
  if (tcb === state.current) rescheduleRequired(state);
  tcbSchedDequeue(state, tcb);
  tcbReleaseRemove(state, tcb);
  setTcbSchedContext(state, tcb, NONE);
  setScTcb(state, sc, NONE);
}

/** schedContext_updateConsumed: scConsumed in µs, reset (it never reaches 2^64 - 1 ticks). */
export function updateConsumed(state: ImplState, sc: number): bigint {
  const consumed = scConsumed(state, sc);
  setScConsumed(state, sc, 0n);
  return ticksToUs(consumed);
}

/** setConsumed: reads and resets scConsumed, replied to `thread` when `reply`. */
function setConsumed(state: ImplState, sc: number, thread: number, reply: boolean): void {
  const consumedUs = updateConsumed(state, sc);
  if (reply) replyConsumed(state, thread, consumedUs);
}

/** schedContext_cancelYieldTo. */
export function cancelYieldTo(state: ImplState, tcb: number): void {
  const sc = tcbYieldTo(state, tcb);
  if (sc === NONE) return;
  setScYieldFrom(state, sc, NONE);
  setTcbYieldTo(state, tcb, NONE);
}

/** schedContext_completeYieldTo: the yielder gets the consumed time of the SC it yielded to. */
export function completeYieldTo(state: ImplState, yielder: number): void {
  const sc = tcbYieldTo(state, yielder);
  if (sc === NONE) return;
  setConsumed(state, sc, yielder, true);
  cancelYieldTo(state, yielder);
}

/**
 * Finalising a scheduling context (its last cap deleted, finaliseCap): unbound from its
 * thread, its notification and its call stack (schedContext_unbindReply), a yielder gets its answer, and it is marked unconfigured and
 * not sporadic.
 */
export function finaliseSchedContext(state: ImplState, sc: number): void {
  if (scTcb(state, sc) !== NONE) schedContextUnbindTcb(state, sc);
  schedContextUnbindNtfn(state, sc);
  schedContextUnbindReply(state, sc);
  const yielder = scYieldFrom(state, sc);
  if (yielder !== NONE) completeYieldTo(state, yielder);
  writeObjectWord(state, sc, REFILL_MAX, 0);
  writeObjectWord(state, sc, SPORADIC, 0);
}

// ---- SchedContext invocations ----

export type SchedContextInvocation =
  | { readonly op: 'scConsumed'; readonly sc: number; readonly isCall: boolean }
  | { readonly op: 'scBind'; readonly sc: number; readonly tcb: number }
  | { readonly op: 'scBindNtfn'; readonly sc: number; readonly ntfn: number }
  | { readonly op: 'scUnbindObject'; readonly sc: number }
  | { readonly op: 'scUnbindNtfn'; readonly sc: number }
  | { readonly op: 'scUnbind'; readonly sc: number }
  | { readonly op: 'scYieldTo'; readonly sc: number; readonly isCall: boolean };

/** decodeSchedContextInvocation: seL4's checks in order. */
export function decodeSchedContextInvocation(
  state: ImplState, ctx: InvocationContext, isCall: boolean, w0: number, w1: number,
): SchedContextInvocation | SyscallError {
  const sc = capPtr(w0, w1);
  const current = state.current ?? NONE;
  switch (ctx.label) {
    case InvocationLabel.SchedContextConsumed:
      return { op: 'scConsumed', sc, isCall };
    case InvocationLabel.SchedContextBind: {
      if (ctx.extraCaps.length === 0) return { error: 'TruncatedMessage' };
      const c0 = slotW0(state, ctx.extraCaps[0]!);
      const tag = capTag(c0);
      if (tag === CapTag.notification) {
        const ntfn = capPtr(c0, slotW1(state, ctx.extraCaps[0]!));
        if (scNotification(state, sc) !== NONE) return { error: 'IllegalOperation' };
        if (ntfnSchedContext(state, ntfn) !== NONE) return { error: 'IllegalOperation' };
        return { op: 'scBindNtfn', sc, ntfn };
      }
      if (tag !== CapTag.thread) return { error: 'InvalidCapability', capIndex: 1 };
      const tcb = capPtr(c0, slotW1(state, ctx.extraCaps[0]!));
      if (scTcb(state, sc) !== NONE) return { error: 'IllegalOperation' };
      if (tcbSchedContext(state, tcb) !== NONE) return { error: 'IllegalOperation' };
      if (isBlocked(state, tcb) && !scReleased(state, sc)) return { error: 'IllegalOperation' };
      return { op: 'scBind', sc, tcb };
    }
    case InvocationLabel.SchedContextUnbindObject: {
      if (ctx.extraCaps.length === 0) return { error: 'TruncatedMessage' };
      const c0 = slotW0(state, ctx.extraCaps[0]!);
      const tag = capTag(c0);
      if (tag === CapTag.thread) {
        if (scTcb(state, sc) !== capPtr(c0, slotW1(state, ctx.extraCaps[0]!))) return { error: 'IllegalOperation' };
        if (scTcb(state, sc) === current) return { error: 'IllegalOperation' };
        return { op: 'scUnbindObject', sc };
      }
      if (tag === CapTag.notification) {
        if (scNotification(state, sc) !== capPtr(c0, slotW1(state, ctx.extraCaps[0]!))) return { error: 'IllegalOperation' };
        return { op: 'scUnbindNtfn', sc };
      }
      return { error: 'InvalidCapability', capIndex: 1 };
    }
    case InvocationLabel.SchedContextUnbind:
      if (scTcb(state, sc) !== NONE && scTcb(state, sc) === current) return { error: 'IllegalOperation' };
      return { op: 'scUnbind', sc };
    case InvocationLabel.SchedContextYieldTo: {
      const tcb = scTcb(state, sc);
      if (tcb === NONE) return { error: 'IllegalOperation' };
      if (tcb === current) return { error: 'IllegalOperation' };
      if (tcbPriority(state, tcb) > tcbMCP(state, current)) return { error: 'IllegalOperation' };
      if (tcbYieldTo(state, current) !== NONE) return { error: 'IllegalOperation' };
      return { op: 'scYieldTo', sc, isCall };
    }
    default:
      return { error: 'IllegalOperation' };
  }
}

export function performSchedContextInvocation(state: ImplState, inv: SchedContextInvocation): void {
  const current = state.current ?? fail('an SC invocation without a current thread');
  switch (inv.op) {
    case 'scConsumed':
      // invokeSchedContext_Consumed
      setConsumed(state, inv.sc, current, inv.isCall);
      setThreadState(state, current, ThreadStateNum.Running);
      return;
    case 'scBind':
      schedContextBindTcb(state, inv.sc, inv.tcb);
      return;
    case 'scBindNtfn':
      schedContextBindNtfn(state, inv.sc, inv.ntfn);
      return;
    case 'scUnbindObject':
      schedContextUnbindTcb(state, inv.sc);
      return;
    case 'scUnbindNtfn':
      schedContextUnbindNtfn(state, inv.sc);
      return;
    case 'scUnbind':
      // invokeSchedContext_Unbind
      if (scTcb(state, inv.sc) !== NONE) schedContextUnbindTcb(state, inv.sc);
      schedContextUnbindNtfn(state, inv.sc);
      schedContextUnbindReply(state, inv.sc);
      return;
    case 'scYieldTo':
      yieldTo(state, inv.sc, current, inv.isCall);
      return;
  }
}

/**
 * invokeSchedContext_YieldTo: a thread of lower priority than the caller is moved to the
 * head of its queue and the caller is answered now; otherwise the caller yields to it and
 * is answered (the consumed time) when it runs again.
 */
function yieldTo(state: ImplState, sc: number, current: number, isCall: boolean): void {
  const yielder = scYieldFrom(state, sc);
  if (yielder !== NONE) completeYieldTo(state, yielder);
  schedContextResume(state, sc);
  const tcb = scTcb(state, sc);
  let returnNow = true;
  if (isSchedulable(state, tcb)) {
    if (tcbPriority(state, tcb) < tcbPriority(state, current)) {
      tcbSchedDequeue(state, tcb);
      tcbSchedEnqueue(state, tcb);
    } else {
      setTcbYieldTo(state, current, sc);
      setScYieldFrom(state, sc, current);
      tcbSchedDequeue(state, tcb);
      tcbSchedEnqueue(state, current);
      tcbSchedEnqueue(state, tcb);
      rescheduleRequired(state);
      returnNow = false;
    }
  }
  if (returnNow) {
    setConsumed(state, sc, current, isCall);
    setThreadState(state, current, ThreadStateNum.Running);
  }
}

// ---- SchedControl (schedcontrol.c) ----

export interface ConfigureFlagsInvocation {
  readonly op: 'configureFlags';
  readonly sc: number;
  readonly budgetTicks: bigint;
  readonly periodTicks: bigint;
  readonly maxRefills: number;
  readonly badge: Word;
  readonly flags: Word;
}

/** The low 32 bits of a 64-bit value (a range error's bounds are words). */
function word(value: bigint): Word {
  return Number(BigInt.asUintN(32, value));
}

const budgetRangeError: SyscallError = { error: 'RangeError', min: word(minBudgetMicroseconds), max: word(maxPeriodMicroseconds) };

/** decodeSchedControl_ConfigureFlags: budget and period in µs (64 bits each), extra refills, badge, flags. */
export function decodeSchedControlInvocation(state: ImplState, ctx: InvocationContext): ConfigureFlagsInvocation | SyscallError {
  if (ctx.label !== InvocationLabel.SchedControlConfigureFlags) return { error: 'IllegalOperation' };
  if (ctx.extraCaps.length === 0) return { error: 'TruncatedMessage' };
  if (ctx.length < 7) return { error: 'TruncatedMessage' };
  const arg = (i: number): bigint => BigInt(syscallArg(state, ctx, i) >>> 0);
  const budgetUs = arg(0) | (arg(1) << 32n);
  if (budgetUs > maxPeriodMicroseconds) return budgetRangeError;
  const budgetTicks = usToTicks(budgetUs);
  const periodUs = arg(2) | (arg(3) << 32n);
  if (periodUs > maxPeriodMicroseconds) return budgetRangeError;
  const periodTicks = usToTicks(periodUs);
  if (budgetTicks < minBudgetTicks) return budgetRangeError;
  if (periodTicks < minBudgetTicks) return budgetRangeError;
  if (budgetTicks > periodTicks) return { error: 'RangeError', min: word(minBudgetMicroseconds), max: word(periodUs) };
  const t0 = slotW0(state, ctx.extraCaps[0]!);
  if (capTag(t0) !== CapTag.schedcontext) return { error: 'InvalidCapability', capIndex: 1 };
  const extraRefills = syscallArg(state, ctx, 4) >>> 0;
  const maxRefills = refillAbsoluteMax(schedContextSizeBits(t0));
  if (extraRefills > maxRefills - minRefills) return { error: 'RangeError', min: 0, max: maxRefills - minRefills };
  return {
    op: 'configureFlags',
    sc: capPtr(t0, slotW1(state, ctx.extraCaps[0]!)),
    budgetTicks,
    periodTicks,
    maxRefills: extraRefills + minRefills,
    badge: syscallArg(state, ctx, 5) >>> 0,
    flags: syscallArg(state, ctx, 6) >>> 0,
  };
}

/**
 * invokeSchedControl_ConfigureFlags: the bound thread leaves the queues (ksCurSC is charged
 * first), the refills start afresh (round robin when budget = period; refill_update keeps the
 * bandwidth of an SC in use), and the thread is scheduled again.
 */
export function performConfigureFlags(state: ImplState, inv: ConfigureFlagsInvocation): void {
  const { sc } = inv;
  const thread = scTcb(state, sc);
  if (thread !== NONE) {
    tcbReleaseRemove(state, thread);
    tcbSchedDequeue(state, thread);
    if (state.curSC === sc) commitTime(state);
  }
  if (inv.budgetTicks === inv.periodTicks) refillNew(state, sc, minRefills, inv.budgetTicks, 0n);
  else if (scActive(state, sc) && thread !== NONE && isRunnable(state, thread)) refillUpdate(state, sc, inv.periodTicks, inv.budgetTicks, inv.maxRefills);
  else refillNew(state, sc, inv.maxRefills, inv.budgetTicks, inv.periodTicks);
  if (thread !== NONE) {
    schedContextResume(state, sc);
    if (isRunnable(state, thread) && thread !== state.current) possibleSwitchTo(state, thread);
    if (thread === state.current) rescheduleRequired(state);
  }
  writeObjectWord(state, sc, BADGE, inv.badge);
  writeObjectWord(state, sc, SPORADIC, (inv.flags & 1) !== 0 ? 1 : 0);
}

// ---- the view ----

export interface SchedContextRecord {
  readonly tcb: number | null;
  readonly configured: boolean;
  readonly periodTicks: bigint;
  readonly consumedTicks: bigint;
  readonly refillMax: number;
  readonly refills: readonly { readonly releaseTicks: bigint; readonly amountTicks: bigint }[];
  readonly sporadic: boolean;
  readonly badge: Word;
  readonly yieldFrom: number | null;
  readonly notification: number | null;
  readonly replies: readonly number[];
}

export function decodeSchedContext(state: ImplState, sc: number): SchedContextRecord {
  const tcb = scTcb(state, sc);
  const yielder = scYieldFrom(state, sc);
  const ntfn = scNotification(state, sc);
  return {
    tcb: tcb === NONE ? null : tcb,
    configured: scRefillMax(state, sc) > 0,
    periodTicks: scPeriod(state, sc),
    consumedTicks: scConsumed(state, sc),
    refillMax: scRefillMax(state, sc),
    refills: refillsOf(state, sc),
    sporadic: scSporadic(state, sc),
    badge: scBadge(state, sc),
    yieldFrom: yielder === NONE ? null : yielder,
    notification: ntfn === NONE ? null : ntfn,
    replies: callStackOf(state, scReply(state, sc)),
  };
}
