// What the scheduling and IPC scenarios share: the modes they run in, where the root task
// retypes from, and a booted system with its helpers' slots.
import type { BootInfo, LayerName, ObjectView } from '../../libsel4/index.ts';
import { bootSystem, type System } from '../../refinement/system.ts';

export const modes: (LayerName | 'lockstep')[] = ['abstract', 'executable', 'impl', 'lockstep'];

/** The root CNode slot of the biggest non-device untyped. */
export function biggestUntypedSlot(bi: BootInfo): number {
  const biggest = bi.untypedList.reduce((best, u, i) => (!u.isDevice && u.sizeBits > bi.untypedList[best]!.sizeBits ? i : best), 0);
  return bi.untyped.start + biggest;
}

type TcbView = Extract<ObjectView, { type: 'tcb' }>;

/** A booted system; helper i's TCB and SC caps go in root slots 2i and 2i + 1 from the first free one. */
export class HelperSlots {
  readonly system: System;
  protected readonly firstSlot: number;

  constructor(mode: LayerName | 'lockstep') {
    this.system = bootSystem({ layer: mode });
    this.firstSlot = this.system.plan.bootInfo.empty.start;
  }

  /** The TCB cap's slot of helper `i`; its SC's is the next one. */
  tcbSlot(i: number): number {
    return this.firstSlot + 2 * i;
  }

  /** The object the cap in root slot `slot` names. */
  protected ptrOf(slot: number): number {
    const cap = this.system.view().cap({ cnode: this.system.plan.rootCNode, index: slot });
    if (!cap || !('ptr' in cap)) throw new Error(`slot ${slot} names no object`);
    return cap.ptr;
  }

  tcbPtr(i: number): number {
    return this.ptrOf(this.tcbSlot(i));
  }

  tcb(i: number | 'root'): TcbView {
    const o = this.system.view().object(i === 'root' ? this.system.plan.rootTCB : this.tcbPtr(i));
    if (o?.type !== 'tcb') throw new Error(`helper ${i} has no TCB`);
    return o;
  }
}
