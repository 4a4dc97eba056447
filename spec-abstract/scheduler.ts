// Choosing the thread that runs next. Only the root thread can run so far (no thread
// created by Retype can be given a scheduling context yet), so the choice is whether the
// thread that entered the kernel may go on running.
import { objectAt, tcbAt, type Readable } from './state.ts';

/** A thread is runnable when it is Running or Restart and bound to a configured scheduling context. */
export function isSchedulable(s: Readable, tcb: number): boolean {
  const thread = tcbAt(s, tcb);
  if (thread === null || (thread.state !== 'Running' && thread.state !== 'Restart') || thread.schedContext === null) return false;
  const sc = objectAt(s, thread.schedContext);
  return sc?.type === 'schedcontext' && sc.configured;
}

/** The thread that runs after an entry made by `caller`, or null (idle). */
export function chooseThread(s: Readable, caller: number): number | null {
  return isSchedulable(s, caller) ? caller : null;
}
