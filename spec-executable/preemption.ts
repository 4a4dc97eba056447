// Preemption points (seL4's preemption.c preemptionPoint, Haskell's KernelP; docs/sel4-facts.md
// section 26): long operations count work units and, every maxWorkUnitsPerPreemption units, stop
// if an interrupt is pending or the current SC cannot go on. A stop is Haskell's KernelP
// exception: `Preempted`, thrown up to handleInvocation (syscall.ts), which catches it.
import type { PreemptionPointKind } from '../libsel4/index.ts';
import { isPLICSource, nextDeliverableIRQ, raiseInterrupt } from './interrupt.ts';
import { refillSufficient, scActive, schedContextOrIdle } from './schedcontext.ts';
import { updateTimestamp } from './scheduler.ts';
import type { ExecState, Step } from './state.ts';

/** A preemption point stopped the operation (EXCEPTION_PREEMPTED); the step's `preempted` says where and why. */
export class Preempted extends Error {
  constructor(readonly at: PreemptionPointKind) {
    super(`preempted at a ${at} point`);
  }
}

/**
 * The syscall event's `raise`, once: the device raises its IRQ now (an IRQ that names no PLIC
 * source raises nothing). Called before the afterWorkUnits-th point, or when the entry's work is
 * done if its points did not reach it.
 */
export function raiseEntryInterrupt(k: Step): void {
  const raise = k.raise;
  if (raise === null) return;
  k.raise = null;
  if (isPLICSource(raise.irq)) raiseInterrupt(k, raise.irq);
}

/** sc_active(ksCurSC) and refill_sufficient(ksCurSC, ksConsumed); an SC no longer there is not active. */
function currentSCMayContinue(k: Step): boolean {
  const addr = k.sched.curSC;
  const obj = addr === null ? schedContextOrIdle(k, null) : k.object(addr);
  if (obj === null || obj.type !== 'schedcontext') return false;
  return scActive(obj) && refillSufficient(obj, k.sched.consumedTicks);
}

/**
 * preemptionPoint without the throw: one work unit (the entry's `raise` comes just before its
 * afterWorkUnits-th point); at the limit the count goes back to 0, the clock is read, and the
 * operation must stop if an interrupt is pending (`irq`) or the current SC is not active or not
 * sufficient (`budget`). A stop is recorded in the step (its `preempted` and the `preemption`
 * choice); the caller then stops. The domain clause is always false: one domain.
 */
export function preemptionStops(k: Step, at: PreemptionPointKind): boolean {
  k.entryWorkUnits += 1;
  if (k.raise !== null && k.entryWorkUnits >= k.raise.afterWorkUnits) raiseEntryInterrupt(k);
  const units = k.state.workUnitsCompleted + 1;
  if (units < k.state.maxWorkUnitsPerPreemption) {
    k.setWorkUnitsCompleted(units);
    return false;
  }
  k.setWorkUnitsCompleted(0);
  updateTimestamp(k);
  const reason = nextDeliverableIRQ(k.state) !== null ? 'irq' : currentSCMayContinue(k) ? null : 'budget';
  if (reason === null) return false;
  k.preempted = { at, reason };
  k.choices.push({ point: 'preemption', at, entryPoint: k.entryWorkUnits });
  return true;
}

/**
 * `count` preemption points in a row with nothing between them that a check reads (resetUntypedCap's
 * chunks): how many were passed, up to and including the one that stopped, if one did. Points that
 * neither raise nor check only count, so they are passed in one go.
 */
export function preemptionPointsInRow(k: Step, at: PreemptionPointKind, count: number): { readonly passed: number; readonly stopped: boolean } {
  let passed = 0;
  while (passed < count) {
    const toCheck = k.state.maxWorkUnitsPerPreemption - 1 - k.state.workUnitsCompleted;
    const toRaise = k.raise === null ? Infinity : k.raise.afterWorkUnits - 1 - k.entryWorkUnits;
    const quiet = Math.max(0, Math.min(toCheck, toRaise, count - passed));
    k.entryWorkUnits += quiet;
    k.setWorkUnitsCompleted(k.state.workUnitsCompleted + quiet);
    passed += quiet;
    if (passed === count) break;
    passed += 1;
    if (preemptionStops(k, at)) return { passed, stopped: true };
  }
  return { passed, stopped: false };
}

/** preemptionPoint: as preemptionStops, throwing Preempted on a stop. */
export function preemptionPoint(k: Step, at: PreemptionPointKind): void {
  if (preemptionStops(k, at)) throw new Preempted(at);
}

/** Between entries the work unit count stays below the limit. */
export function preemptionInvariantViolation(state: ExecState): string | null {
  const { workUnitsCompleted, maxWorkUnitsPerPreemption } = state;
  if (Number.isInteger(workUnitsCompleted) && workUnitsCompleted >= 0 && workUnitsCompleted < maxWorkUnitsPerPreemption) return null;
  return `workUnitsCompleted ${workUnitsCompleted} outside 0..${maxWorkUnitsPerPreemption - 1}`;
}
