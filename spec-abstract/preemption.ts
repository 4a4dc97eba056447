// Preemption points (l4v KHeap_A preemption_point, Syscall_A preemption_path; facts §26). The
// nondeterministic abstract spec keeps no work-unit counter: at every point it may go on, and it
// may stop where an interrupt is deliverable or the current SC is not active or not sufficient.
// Under a witness it stops at the point the witness names, if stopping is allowed there; alone,
// the entry is run once per allowed stop (see `syscall.ts`). Stopping throws `Preempted`, caught by handle_invocation.
import type { Preemption, PreemptionPointKind, RaiseDuringEntry } from '../libsel4/index.ts';
import { claimInterrupt, deliverableInterrupt, handleInterrupt, isPlicSource, raiseInterrupt } from './interrupt.ts';
import { refillSufficient, scAt } from './schedcontext.ts';
import { chargeBudget, checkBudget, isSchedulable } from './scheduler.ts';
import { irqLines, schedOf, tcbAt, updateSched, type IrqLine, type Kernel, type Readable } from './state.ts';

/** Stop runs an entry without a witness may make (one per allowed stop) before it gives up on completeness. */
export const preemptionSearchLimit = 32;

/** l4v's `p_monad` exception: a preemption point stopped the operation. */
export class Preempted extends Error {
  constructor(readonly preemption: Preemption) {
    super(`preempted at a ${preemption.at} point (${preemption.reason})`);
  }
}

/** What one entry's preemption points share: the syscall's `raise`, and, without a witness, where to stop. */
export interface PreemptionRun {
  readonly raise: RaiseDuringEntry | null;
  /** Without a witness: stop at the `stopAt`-th point where stopping is allowed (from 1); null: never stop. */
  readonly stopAt: number | null;
  pointsPassed: number;
  allowedPassed: number;
  /** A revoke explored its orders without points: `allowedPassed` does not count every point. */
  uncounted: boolean;
  /** IRQ lines already seen with nothing deliverable (the lines are copied on every write). */
  quietIrqs: readonly IrqLine[] | null;
}

export function preemptionRun(raise: RaiseDuringEntry | null, stopAt: number | null): PreemptionRun {
  if (stopAt !== null && (!Number.isInteger(stopAt) || stopAt < 1)) throw new RangeError(`stopAt ${stopAt}: a point counted from 1`);
  return { raise, stopAt, pointsPassed: 0, allowedPassed: 0, uncounted: false, quietIrqs: null };
}

/** Why a point may stop here, or null if it must go on: an interrupt deliverable, else the budget clause. */
function stopReason(k: Kernel, run: PreemptionRun): Preemption['reason'] | null {
  const lines = irqLines(k);
  if (lines !== run.quietIrqs) {
    if (deliverableInterrupt(k) !== null) return 'irq';
    run.quietIrqs = lines;
  }
  return budgetReason(k);
}

/** The budget clause: the current SC not active, or its head refill not sufficient for the time consumed. */
function budgetReason(s: Readable): 'budget' | null {
  const sc = schedOf(s).currentSchedContext;
  if (sc === null) return null;
  const context = scAt(s, sc);
  if (context === null || context.refillMax === 0) return 'budget';
  return refillSufficient(context, schedOf(s).consumedTicks) ? null : 'budget';
}

/** The syscall's device interrupt (out of range: nothing). */
function raise(k: Kernel, irq: number): void {
  if (isPlicSource(irq)) raiseInterrupt(k, irq);
}

/** The entry's work is done: a `raise` whose point was not reached happens now. */
export function raiseAtEnd(k: Kernel): void {
  const run = k.preemption;
  if (run?.raise != null && run.pointsPassed < raisePoint(run.raise)) raise(k, run.raise.irq);
}

/** The point before which a syscall's `raise` happens (a value below 1 counts as 1). */
function raisePoint(raise: RaiseDuringEntry): number {
  return Math.max(1, raise.afterWorkUnits);
}

/**
 * preemption_point: one more point of this entry. Without a witness it stops (throws
 * `Preempted`) at the search's `stopAt`-th allowed point; under a witness that names a stop of
 * this kind next, it offers a stop here (a copy of the kernel) if one is allowed, and goes on.
 * `settle` brings deferred work up to this point first (the reset's zeroing and free index), so
 * a stop sees the state seL4 has there.
 */
export function preemptionPoint(k: Kernel, at: PreemptionPointKind, settle: () => void = noWork): void {
  const run = k.preemption;
  if (run === null) return;
  run.pointsPassed++;
  if (run.raise !== null && run.pointsPassed === raisePoint(run.raise)) raise(k, run.raise.irq);
  if (k.oracle !== null && !k.oracle.stopsHere(at, run.pointsPassed)) return;
  const reason = stopReason(k, run);
  if (reason === null) return;
  if (k.oracle !== null) {
    k.oracle.stop();
    settle();
    throw new Preempted({ at, reason });
  }
  run.allowedPassed++;
  if (run.allowedPassed !== run.stopAt) return;
  settle();
  throw new Preempted({ at, reason });
}

function noWork(): void {}

/** handle_invocation after a preempted perform: no reply; a caller still Restart makes the syscall again. */
export function markPreempted(k: Kernel, tcb: number, preemption: Preemption): void {
  k.preempted = preemption;
  if (tcbAt(k, tcb)?.state === 'Restart') k.restarted = true;
}

/**
 * preemption_path after a preempted invocation (MCS): a schedulable caller's budget is checked;
 * else an active current SC is charged without ending a timeslice; else the time is dropped.
 * Then the interrupt that stopped it, if any, is claimed and handled.
 */
export function preemptionPath(k: Kernel, caller: number): void {
  const sc = schedOf(k).currentSchedContext;
  if (isSchedulable(k, caller)) checkBudget(k);
  else if (sc !== null && (scAt(k, sc)?.refillMax ?? 0) > 0) chargeBudget(k, schedOf(k).consumedTicks, false);
  else updateSched(k, { consumedTicks: 0n });
  const irq = deliverableInterrupt(k);
  if (irq === null) return;
  claimInterrupt(k, irq);
  handleInterrupt(k, irq);
}
