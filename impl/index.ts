// The impl layer: seL4's C kernel in the model, mutable and fast. Its state is one
// simulated physical memory with every kernel object at its address (see the layout
// comments of cnode.ts, structures.ts, tcb.ts, schedcontext.ts, endpoint.ts,
// notification.ts and reply.ts; the IRQ node after RAM: state.ts) plus a ghost table of which
// objects exist.
import type { KernelLayer } from '../libsel4/index.ts';
import { bootState } from './boot.ts';
import type { ImplState } from './state.ts';
import { handleEvent } from './syscall.ts';
import { createView, observe } from './view.ts';

export interface ImplLayerOptions {
  /** Check the impl's invariants (MDB links, alignment, free index, cap tags, scheduler queues, refills) as it runs. */
  readonly debug: boolean;
  /**
   * Record what each step touched (the checker's instrumentation; default on). Off, every
   * outcome reports nothing touched and the kernel otherwise behaves identically.
   */
  readonly recordTouched?: boolean;
}

export function createImplLayer(options: ImplLayerOptions): KernelLayer<ImplState> {
  return {
    name: 'impl',
    boot: (plan) => bootState(plan, options.debug, options.recordTouched ?? true),
    step: (state, event) => [handleEvent(state, event)],
    view: (state) => createView(state),
    observe: (state, caller) => observe(state, caller, null),
  };
}

/** The impl with its invariant checks on (tests, the checker). */
export const implLayer: KernelLayer<ImplState> = createImplLayer({ debug: true });
/** The impl without checks (benchmarks). */
export const fastImplLayer: KernelLayer<ImplState> = createImplLayer({ debug: false });

export type { ImplState, GhostObject } from './state.ts';
export { ImplInvariantError } from './state.ts';
export {
  cdtParentOf,
  decodeObject,
  decodeObjects,
  decodeSlot,
  decodeSlotCap,
  ghostObjects,
  readUserWord,
  slotRefOf,
  touchedOf,
  type GhostEntry,
  type ImplObject,
  type MdbNodeData,
  type SlotData,
} from './decode.ts';
export { decodeCap, encodeCap, type CapWords } from './structures.ts';
export { fastpathCallReasons, fastpathOutcomes, fastpathReplyRecvReasons, type FastpathOutcome } from './fastpath.ts';
