// Faults raised by a thread (l4v Ipc_A handle_fault). Fault delivery to a handler endpoint
// is not modelled yet; with an empty fault handler slot the thread simply stops
// (handle_no_fault_handler: the thread becomes Inactive).
import { TCBSlot } from '../libsel4/index.ts';
import { capAt, slotRef, type Kernel } from './state.ts';
import { setThreadState } from './tcb.ts';

/** handle_fault: a CapFault or UnknownSyscall fault of `tcb`; says what is not modelled, if anything. */
export function handleFault(k: Kernel, tcb: number): string | null {
  if (capAt(k, slotRef(tcb, TCBSlot.faultHandler)).type !== 'null') return 'fault delivery';
  setThreadState(k, tcb, 'Inactive');
  return null;
}
