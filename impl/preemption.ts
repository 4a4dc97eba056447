// Preemption points, as seL4's preemption.c (MCS), and what handleSyscall does after a
// preempted invocation (mcsPreemptionPoint, checkInterrupt; docs/sel4-facts.md section 26).
//
// A preemptible operation (cteRevoke, finaliseSlot, resetUntypedCap) calls preemptionPoint
// after each unit of work and returns at once when it answers `preempted`, as C returns
// EXCEPTION_PREEMPTED: the status is a return value, passed up by every caller without
// finishing its own work. Nothing records the operation itself: its progress is the state it
// leaves (the MDB, a Zombie's count, an untyped cap's free index), and the caller, left in
// Restart, makes its syscall again.
//
// State (fields of ImplState): ksWorkUnitsCompleted as `workUnitsCompleted` (kept across
// entries; with one domain nothing but the limit zeroes it), the boot configuration's
// `maxWorkUnitsPerPreemption`, this entry's points (`entryWorkUnits`) and the device
// interrupt the entry's event raises before one of them (`raise`), and where the entry
// stopped (`preempted`, for the observation).
import type { PreemptionPointKind } from '../libsel4/index.ts';
import { claimLowestDeliverable, handleInterrupt, raiseIRQ } from './interrupt.ts';
import { refillSufficient, scActive } from './schedcontext.ts';
import { chargeBudget, checkBudget, isSchedulable, updateTimestamp } from './scheduler.ts';
import { NONE, fail, type ImplState } from './state.ts';

/** exception_t of a preemptible operation: EXCEPTION_NONE or EXCEPTION_PREEMPTED. */
export type PreemptionStatus = typeof statusNone | typeof statusPreempted;
export const statusNone = 0;
export const statusPreempted = 1;

/**
 * preemptionPoint: one work unit; every maxWorkUnitsPerPreemption units the count restarts
 * and the operation stops if a device interrupt is deliverable (`irq`) or the current SC is
 * not active or cannot cover the entry (`budget`). The domain clause is false (one domain).
 */
export function preemptionPoint(state: ImplState, at: PreemptionPointKind): PreemptionStatus {
  if (state.debug) checkWorkUnits(state);
  state.entryWorkUnits += 1;
  const raise = state.raise;
  if (raise !== null && state.entryWorkUnits >= raise.afterWorkUnits) raiseDuringEntry(state);
  state.workUnitsCompleted += 1;
  if (state.workUnitsCompleted < state.maxWorkUnitsPerPreemption) return statusNone;
  state.workUnitsCompleted = 0;
  updateTimestamp(state);
  const sc = state.curSC;
  let reason: 'irq' | 'budget' | null = null;
  if (state.deliverableIRQs !== 0) reason = 'irq';
  else if (!(scActive(state, sc) && refillSufficient(state, sc, state.consumedTicks))) reason = 'budget';
  if (reason === null) return statusNone;
  if (state.debug && state.preempted !== null) fail('a second preemption in one entry');
  state.preempted = { at, reason };
  state.choices.push({ point: 'preemption', at, entryPoint: state.entryWorkUnits });
  return statusPreempted;
}

/**
 * How many points from now on would only count (the one after them may raise the event's
 * interrupt or reach the limit): a preemptible loop may do their work at once and pass them
 * with passQuietPoints, leaving the state as point by point.
 */
export function quietPoints(state: ImplState): number {
  let count = state.maxWorkUnitsPerPreemption - 1 - state.workUnitsCompleted;
  const raise = state.raise;
  if (raise !== null) count = Math.min(count, raise.afterWorkUnits - 1 - state.entryWorkUnits);
  return Math.max(count, 0);
}

/** `count` points, all quiet (quietPoints), passed at once. */
export function passQuietPoints(state: ImplState, count: number): void {
  if (state.debug) {
    checkWorkUnits(state);
    if (count > quietPoints(state)) fail(`${count} points passed at once, only ${quietPoints(state)} quiet`);
  }
  state.entryWorkUnits += count;
  state.workUnitsCompleted += count;
}

/** The event's device interrupt is raised (at its point, or when the entry's work is done); once per entry. */
export function raiseDuringEntry(state: ImplState): void {
  const raise = state.raise;
  if (raise === null) return;
  state.raise = null;
  raiseIRQ(state, raise.irq);
}

/**
 * handleSyscall after a preempted invocation: mcsPreemptionPoint (the budget: checked if the
 * caller is still schedulable, else charged to a still active current SC, else dropped),
 * then checkInterrupt (the lowest deliverable device interrupt is claimed and handled; none
 * after a budget stop: riscv's handleSpuriousIRQ does nothing).
 */
export function afterPreemption(state: ImplState): void {
  const thread = state.current ?? NONE;
  if (isSchedulable(state, thread)) checkBudget(state);
  else if (scActive(state, state.curSC)) chargeBudget(state, state.consumedTicks, false);
  else state.consumedTicks = 0n;
  if (state.deliverableIRQs !== 0) handleInterrupt(state, claimLowestDeliverable(state));
}

/** Debug: the counter stays below the limit. */
export function checkWorkUnits(state: ImplState): void {
  const units = state.workUnitsCompleted;
  if (!Number.isInteger(units) || units < 0 || units >= state.maxWorkUnitsPerPreemption) {
    fail(`workUnitsCompleted ${units} outside 0..${state.maxWorkUnitsPerPreemption - 1}`);
  }
}
