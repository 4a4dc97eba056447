// Faults raised by a thread (seL4's faulthandler.c): only the no-handler case is modelled.
import { TCBSlot } from '../libsel4/index.ts';
import { UnmodelledBehaviour, type Step } from './state.ts';
import { setThreadState } from './tcb.ts';

/**
 * handleFault: a fault (unknown syscall, user exception, failed cap lookup) goes to the thread's
 * fault handler endpoint in TCB slot 3 (delivery is not modelled). Without one the thread stops
 * for good (handleNoFaultHandler: Inactive).
 */
export function handleFault(k: Step, thread: number): void {
  if (k.cap({ cnode: thread, index: TCBSlot.faultHandler }).type !== 'null') throw new UnmodelledBehaviour('fault delivery');
  setThreadState(k, thread, 'Inactive');
}
