// Choosing the thread that runs next (seL4's schedule()); only one thread can be runnable so far.
import type { Step } from './state.ts';

/**
 * After an entry the thread keeps the CPU if it can run (Running or Restart) and has budget (it
 * is bound to a configured scheduling context); otherwise only the idle thread is left.
 */
export function schedule(k: Step, thread: number): void {
  const tcb = k.tcb(thread);
  const sc = tcb.schedContext === null ? null : k.object(tcb.schedContext);
  const runnable = tcb.state === 'Running' || tcb.state === 'Restart';
  const hasBudget = sc !== null && sc.type === 'schedcontext' && sc.configured;
  k.setCurrent(runnable && hasBudget ? thread : null);
}
