// Scheduling contexts: binding to threads and finalisation (seL4's schedcontext.c, the parts modelled so far).
import type { SchedContextObject, Step } from './state.ts';

function schedContext(k: Step, addr: number): SchedContextObject | null {
  const obj = k.object(addr);
  return obj !== null && obj.type === 'schedcontext' ? obj : null;
}

/** schedContext_unbindTCB: the SC and its thread no longer refer to each other. */
export function schedContextUnbindTCB(k: Step, scAddr: number): void {
  const sc = schedContext(k, scAddr);
  if (sc === null || sc.tcb === null) return;
  const tcb = k.tcb(sc.tcb);
  k.setObject({ ...tcb, schedContext: null });
  k.setObject({ ...sc, tcb: null });
}

/** Unbinds whatever scheduling context the thread has (finalising a TCB). */
export function unbindThreadSchedContext(k: Step, tcbAddr: number): void {
  const sc = k.tcb(tcbAddr).schedContext;
  if (sc !== null) schedContextUnbindTCB(k, sc);
}

/** Finalising the last cap to an SC: it is unbound from its thread and has no budget any more. */
export function finaliseSchedContext(k: Step, scAddr: number): void {
  schedContextUnbindTCB(k, scAddr);
  const sc = schedContext(k, scAddr);
  if (sc !== null && sc.configured) k.setObject({ ...sc, configured: false });
}
