// Faults raised by a thread (seL4's faulthandler.c): only the no-handler case is modelled.
import { TCBSlot } from '../libsel4/index.ts';
import type { Step } from './state.ts';
import { setThreadState } from './tcb.ts';

/**
 * handleFault: a fault (unknown syscall, failed cap lookup) goes to the thread's fault handler
 * endpoint in TCB slot 3. Without one the thread stops for good (handleNoFaultHandler: Inactive).
 * Returns what was not modelled, or null.
 */
export function handleFault(k: Step, thread: number): string | null {
  if (k.cap({ cnode: thread, index: TCBSlot.faultHandler }).type !== 'null') return 'fault delivery';
  setThreadState(k, thread, 'Inactive');
  return null;
}
