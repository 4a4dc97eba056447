// The scheduler, as seL4's thread.c schedule(): for now only the root thread can ever run
// (no invocation can make another thread runnable yet), so scheduling keeps the current
// thread while it stays schedulable and otherwise falls back to the idle thread (null).
import { NONE, type ImplState } from './state.ts';
import { scConfigured } from './schedcontext.ts';
import { ThreadStateNum, tcbSchedContext, threadState } from './tcb.ts';

/** isSchedulable (MCS): Running or Restart, and bound to a configured scheduling context. */
export function isSchedulable(state: ImplState, tcb: number): boolean {
  const ts = threadState(state, tcb);
  if (ts !== ThreadStateNum.Running && ts !== ThreadStateNum.Restart) return false;
  const sc = tcbSchedContext(state, tcb);
  return sc !== NONE && scConfigured(state, sc);
}

/** schedule: the thread that runs after this kernel entry. */
export function schedule(state: ImplState): void {
  if (state.current !== null && !isSchedulable(state, state.current)) state.current = null;
}
