// What the scheduling scenarios share: the modes they run in, and where the root task retypes from.
import type { BootInfo, LayerName } from '../../libsel4/index.ts';

export const modes: (LayerName | 'lockstep')[] = ['abstract', 'executable', 'impl', 'lockstep'];

/** The root CNode slot of the biggest non-device untyped. */
export function biggestUntypedSlot(bi: BootInfo): number {
  const biggest = bi.untypedList.reduce((best, u, i) => (!u.isDevice && u.sizeBits > bi.untypedList[best]!.sizeBits ? i : best), 0);
  return bi.untyped.start + biggest;
}
