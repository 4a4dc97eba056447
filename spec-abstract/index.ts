// The abstract specification as a kernel layer: what seL4 (MCS, riscv32) must do, with
// every outcome it allows. Also the accessors the refinement checker reads the state with.
import type { KernelLayer } from '../libsel4/index.ts';
import { bootState } from './boot.ts';
import type { AbstractState } from './state.ts';
import { handleEvent } from './syscall.ts';
import { observe, viewOf } from './view.ts';

export const abstractLayer: KernelLayer<AbstractState> = {
  name: 'abstract',
  boot: bootState,
  step: handleEvent,
  view: viewOf,
  observe: (state, caller) => observe(state, caller),
};

export type {
  AbstractState,
  AsidPoolObject,
  CNodeObject,
  EndpointObject,
  FrameObject,
  KObject,
  NotificationObject,
  PageTableObject,
  Pte,
  ReplyObject,
  SchedContextObject,
  SlotEntry,
  TCBObject,
} from './state.ts';
export { allObjects, memoryWord as userWord, nonZeroWords as allUserWords, objectAt } from './state.ts';
export { allFilledSlots, capInSlot, cdtParent, isOriginalCap, objectView, type FilledSlot } from './view.ts';
export { descendantsOf, isFinalCap } from './cdt.ts';
export { accessUserState, vspaceForAsid, vspaceMappings } from './vspace.ts';
