// Invariants of scheduling contexts, named after l4v's (DetSchedInvs_AI, Invariants_AI on the
// MCS branch): the refills of an active context well formed (active_scs_valid with
// rr_valid_refills and sp_valid_refills), and the links between TCBs and scheduling contexts
// symmetric (sym_refs for tcb_sched_context/sc_tcb and tcb_yield_to/sc_yield_from).
// scBudget is not in the view: where l4v says "the refills sum to the budget", the sum is
// checked against the budget's own bounds instead.
import { hex, maxPeriodTicks, maxTicks, minBudgetTicks, type ObjectView, type Refill } from '../../libsel4/index.ts';
import { ObjectsByType } from './by-type.ts';

export type SchedContextView = Extract<ObjectView, { type: 'schedcontext' }>;
export type TCBView = Extract<ObjectView, { type: 'tcb' }>;

/** MIN_REFILLS (sporadic.h): a round-robin context has exactly this many, a sporadic one at least this many slots. */
export const minRefills = 2;

/** An active scheduling context has been configured by SchedControl (scRefillMax > 0). */
export function isActive(sc: SchedContextView): boolean {
  return sc.refillMax > 0;
}

export function schedContextAt(objects: ReadonlyMap<number, ObjectView>, addr: number): SchedContextView | null {
  const o = objects.get(addr);
  return o?.type === 'schedcontext' ? o : null;
}

export function tcbAt(objects: ReadonlyMap<number, ObjectView>, addr: number): TCBView | null {
  const o = objects.get(addr);
  return o?.type === 'tcb' ? o : null;
}

function refillsSum(refills: readonly Refill[]): bigint {
  return refills.reduce((sum, r) => sum + r.amountTicks, 0n);
}

/** The budget's bounds shared by both kinds: MIN_BUDGET <= budget <= MAX_PERIOD, and the head refill holds at least MIN_BUDGET. */
function budgetBounds(sc: SchedContextView, budget: bigint): string | null {
  if (budget < minBudgetTicks) return `the refills sum to ${budget} ticks, below MIN_BUDGET (${minBudgetTicks})`;
  if (budget > maxPeriodTicks) return `the refills sum to ${budget} ticks, above MAX_PERIOD (${maxPeriodTicks})`;
  const head = sc.refills[0]!;
  if (head.amountTicks < minBudgetTicks) return `the head refill holds ${head.amountTicks} ticks, below MIN_BUDGET (${minBudgetTicks})`;
  return null;
}

/** rr_valid_refills: a round-robin context (period 0) has exactly MIN_REFILLS refills and refillMax MIN_REFILLS. */
function rrValidRefills(sc: SchedContextView): string | null {
  if (sc.refills.length !== minRefills) return `${sc.refills.length} refills, but a round-robin context has ${minRefills}`;
  if (sc.refillMax !== minRefills) return `refillMax ${sc.refillMax}, but a round-robin context has ${minRefills}`;
  const [head, tail] = [sc.refills[0]!, sc.refills[1]!];
  if (head.amountTicks + tail.amountTicks > maxTicks) return 'the two refills overflow 64 bits';
  return budgetBounds(sc, refillsSum(sc.refills));
}

/**
 * sp_valid_refills: a sporadic context's refills are ordered and disjoint (each ends by the
 * next one's release), none overflows, all lie within one period of the head (window), each
 * holds some budget, and there are at most refillMax of them.
 */
function spValidRefills(sc: SchedContextView): string | null {
  const refills = sc.refills;
  if (refills.length > sc.refillMax) return `${refills.length} refills, more than refillMax ${sc.refillMax}`;
  if (sc.refillMax < minRefills) return `refillMax ${sc.refillMax}, below MIN_REFILLS (${minRefills})`;
  if (sc.periodTicks > maxPeriodTicks) return `period ${sc.periodTicks} ticks, above MAX_PERIOD (${maxPeriodTicks})`;
  for (const [i, r] of refills.entries()) {
    if (r.amountTicks === 0n) return `refills[${i}] is empty`;
    if (r.releaseTicks + r.amountTicks > maxTicks) return `refills[${i}] overflows 64 bits (no_overflow)`;
    const next = refills[i + 1];
    if (next && r.releaseTicks + r.amountTicks > next.releaseTicks) {
      return `refills[${i}] ends at ${r.releaseTicks + r.amountTicks}, after refills[${i + 1}] is released at ${next.releaseTicks} (ordered_disjoint)`;
    }
  }
  const head = refills[0]!;
  const last = refills[refills.length - 1]!;
  if (last.releaseTicks > head.releaseTicks + sc.periodTicks) return `the last refill is released more than a period after the head (window)`;
  const budget = refillsSum(refills);
  if (budget > sc.periodTicks) return `the refills sum to ${budget} ticks, more than the period ${sc.periodTicks}`;
  return budgetBounds(sc, budget);
}

/**
 * active_scs_valid: an active context's refills are valid (rr_valid_refills for a round-robin
 * context, sp_valid_refills otherwise) and its head's release time leaves room for two more
 * periods (bounded_release_time); only an active context is sporadic, and an inactive one has
 * no budget: no refills, as a new context starts and sched_context_set_inactive leaves one.
 */
export function activeScsValid(objects: Iterable<ObjectView>): string | null {
  for (const o of objects) {
    if (o.type !== 'schedcontext') continue;
    if (!isActive(o)) {
      if (o.sporadic) return `active_scs_valid: schedcontext ${hex(o.addr)} is sporadic but not configured (refillMax 0)`;
      if (o.refills.length > 0) return `active_scs_valid: schedcontext ${hex(o.addr)} is not configured (refillMax 0) but has ${o.refills.length} refills`;
      continue;
    }
    if (o.refills.length === 0) return `valid_refills: schedcontext ${hex(o.addr)} is active with no refill`;
    const wrong = o.periodTicks === 0n ? rrValidRefills(o) : spValidRefills(o);
    if (wrong) return `valid_refills: schedcontext ${hex(o.addr)}: ${wrong}`;
    if (o.refills[0]!.releaseTicks + 2n * maxPeriodTicks > maxTicks) {
      return `bounded_release_time: schedcontext ${hex(o.addr)}'s head refill is released at ${o.refills[0]!.releaseTicks}, too late to add two periods`;
    }
  }
  return null;
}

/**
 * sym_refs for scheduling contexts: a TCB's schedContext names a scheduling context whose tcb
 * is that TCB and conversely; likewise a TCB's yieldTo and the context's yieldFrom.
 */
export function schedContextRefs(objects: ReadonlyMap<number, ObjectView>, byType = new ObjectsByType(objects)): string | null {
  for (const o of byType.ofTypes(['tcb', 'schedcontext'])) {
    if (o.type === 'tcb') {
      if (o.schedContext !== null && schedContextAt(objects, o.schedContext)?.tcb !== o.addr) {
        return `sym_refs: tcb ${hex(o.addr)} is bound to ${hex(o.schedContext)}, which is not a scheduling context bound to it`;
      }
      if (o.yieldTo !== null && schedContextAt(objects, o.yieldTo)?.yieldFrom !== o.addr) {
        return `sym_refs: tcb ${hex(o.addr)} yielded to ${hex(o.yieldTo)}, which is not a scheduling context yielded to from it`;
      }
    }
    if (o.type === 'schedcontext') {
      if (o.tcb !== null && tcbAt(objects, o.tcb)?.schedContext !== o.addr) {
        return `sym_refs: schedcontext ${hex(o.addr)} is bound to ${hex(o.tcb)}, which is not a TCB bound to it`;
      }
      if (o.yieldFrom !== null && tcbAt(objects, o.yieldFrom)?.yieldTo !== o.addr) {
        return `sym_refs: schedcontext ${hex(o.addr)} is yielded to from ${hex(o.yieldFrom)}, which is not a TCB that yielded to it`;
      }
    }
  }
  return null;
}
