// Faults raised by a thread (l4v Ipc_A handle_fault). Fault delivery to a handler endpoint
// is not modelled yet; with an empty fault handler slot the thread simply stops
// (handle_no_fault_handler: the thread becomes Inactive).
import { TCBSlot } from '../libsel4/index.ts';
import { setThreadState } from './scheduler.ts';
import { capAt, slotRef, type Kernel } from './state.ts';

/** Kernel behaviour this model does not cover yet, met deep inside an entry: the entry is answered `unmodelled`. */
export class Unmodelled extends Error {
  constructor(readonly what: string) {
    super(`not modelled: ${what}`);
  }
}

/** handle_fault: a CapFault, UnknownSyscall or UserException fault of `tcb`. */
export function handleFault(k: Kernel, tcb: number): void {
  if (capAt(k, slotRef(tcb, TCBSlot.faultHandler)).type !== 'null') throw new Unmodelled('fault delivery');
  setThreadState(k, tcb, 'Inactive');
}
