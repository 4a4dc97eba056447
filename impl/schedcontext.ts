// Scheduling contexts, as seL4's schedcontext.c (the parts modelled so far: binding to a
// thread and being configured; budgets and refills arrive with time).
//
// Memory layout of a scheduling context (2^sizeBits bytes, at least 128, naturally aligned):
//   0x00  bound TCB: link (address | 1), 0 if none
//   0x04  configured: 1 once SchedControl configured it (seL4: refill max > 0), else 0
// Everything else is zero. A new SC (all zero) is unconfigured and bound to no thread.
import { NONE, linkTarget, linkWord, readWord, writeObjectWord, type ImplState } from './state.ts';
import { setTcbSchedContext } from './tcb.ts';

const TCB = 0x00;
const CONFIGURED = 0x04;

export function scTcb(state: ImplState, sc: number): number {
  return linkTarget(readWord(state, sc + TCB));
}

export function setScTcb(state: ImplState, sc: number, tcb: number): void {
  writeObjectWord(state, sc, TCB, linkWord(tcb));
}

export function scConfigured(state: ImplState, sc: number): boolean {
  return readWord(state, sc + CONFIGURED) !== 0;
}

export function setScConfigured(state: ImplState, sc: number, configured: boolean): void {
  writeObjectWord(state, sc, CONFIGURED, configured ? 1 : 0);
}

/** Binds a scheduling context and a thread to each other. */
export function bindSchedContext(state: ImplState, sc: number, tcb: number): void {
  setScTcb(state, sc, tcb);
  setTcbSchedContext(state, tcb, sc);
}

/** Finalising a scheduling context (its last cap deleted): unbound from its thread, unconfigured. */
export function finaliseSchedContext(state: ImplState, sc: number): void {
  const tcb = scTcb(state, sc);
  if (tcb !== NONE) {
    setTcbSchedContext(state, tcb, NONE);
    setScTcb(state, sc, NONE);
  }
  setScConfigured(state, sc, false);
}

export interface SchedContextRecord {
  readonly tcb: number | null;
  readonly configured: boolean;
}

export function decodeSchedContext(state: ImplState, sc: number): SchedContextRecord {
  const tcb = scTcb(state, sc);
  return { tcb: tcb === NONE ? null : tcb, configured: scConfigured(state, sc) };
}
