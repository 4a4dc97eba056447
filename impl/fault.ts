// Faults, as seL4's faulthandler.c (MCS): a faulting thread's fault goes to the endpoint cap
// in its TCB slot 3. Delivering it is not modelled yet; with no handler the thread stops.
import { isNullSlot } from './cnode.ts';
import { ThreadStateNum, setThreadState, tcbSlot } from './tcb.ts';
import type { ImplState } from './state.ts';

/** The thread has a fault handler cap (TCB slot 3 not null): delivering to it is not modelled. */
export function hasFaultHandler(state: ImplState, tcb: number): boolean {
  return !isNullSlot(state, tcbSlot(tcb, 3));
}

/**
 * handleFault: with no fault handler cap the thread becomes Inactive (handleNoFaultHandler)
 * and null is returned; with one, the reason the entry is unmodelled, and nothing changes.
 */
export function handleFault(state: ImplState, tcb: number): string | null {
  if (hasFaultHandler(state, tcb)) return 'fault delivery';
  setThreadState(state, tcb, ThreadStateNum.Inactive);
  return null;
}
