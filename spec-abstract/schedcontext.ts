// Scheduling contexts: binding to a thread, and what finalising one does
// (l4v SchedContext_A: sched_context_unbind_tcb; finalise_cap of a SchedContextCap).
import { objectAt, tcbAt, updateObject, type Kernel } from './state.ts';

/** Breaks the binding between a scheduling context and its thread. */
export function unbindSchedContext(k: Kernel, sc: number): void {
  const context = objectAt(k, sc);
  if (context?.type !== 'schedcontext' || context.tcb === null) return;
  if (tcbAt(k, context.tcb)?.schedContext === sc) updateObject(k, context.tcb, 'tcb', { schedContext: null });
  updateObject(k, sc, 'schedcontext', { tcb: null });
}

/** Finalising the last cap to a scheduling context unbinds it and leaves it unconfigured. */
export function finaliseSchedContext(k: Kernel, sc: number): void {
  unbindSchedContext(k, sc);
  updateObject(k, sc, 'schedcontext', { configured: false });
}
