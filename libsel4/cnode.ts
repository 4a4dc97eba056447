// seL4_CNode_CapData: guard in bits 25..8, guard size in bits 7..3.
import { maskBits, type Word } from './constants.ts';

export function seL4_CNode_CapData_new(guard: number, guardSize: number): Word {
  return (((guard & 0x3ffff) << 8) | ((guardSize & 0x1f) << 3)) >>> 0;
}

export function cnodeCapDataGuard(data: Word): number {
  return (data >>> 8) & 0x3ffff;
}

export function cnodeCapDataGuardSize(data: Word): number {
  return (data >>> 3) & 0x1f;
}

/** The guard value the kernel stores: the data's guard truncated to `guardSize` bits. */
export function cnodeCapDataStoredGuard(data: Word): number {
  return cnodeCapDataGuard(data) & maskBits(cnodeCapDataGuardSize(data));
}
