// seL4_ObjectType for riscv32 MCS, and the size of each object.
import {
  seL4_EndpointBits,
  seL4_LargePageBits,
  seL4_NotificationBits,
  seL4_PageBits,
  seL4_PageTableBits,
  seL4_ReplyBits,
  seL4_SlotBits,
  seL4_TCBBits,
} from './constants.ts';

export const seL4_ObjectType = {
  seL4_UntypedObject: 0,
  seL4_TCBObject: 1,
  seL4_EndpointObject: 2,
  seL4_NotificationObject: 3,
  seL4_CapTableObject: 4,
  seL4_SchedContextObject: 5,
  seL4_ReplyObject: 6,
  seL4_RISCV_4K_Page: 7,
  seL4_RISCV_Mega_Page: 8,
  seL4_RISCV_PageTableObject: 9,
} as const;
export type seL4_ObjectType = (typeof seL4_ObjectType)[keyof typeof seL4_ObjectType];
export const seL4_ObjectTypeCount = 10;
export const seL4_NonArchObjectTypeCount = 7;

export const objectTypeName: readonly string[] = Object.keys(seL4_ObjectType);

/**
 * log2 of the bytes an object of `type` occupies when retyped with `userSizeBits`
 * (only Untyped, CapTable and SchedContext use the argument).
 */
export function objectSizeBits(type: seL4_ObjectType, userSizeBits: number): number {
  switch (type) {
    case seL4_ObjectType.seL4_UntypedObject:
    case seL4_ObjectType.seL4_SchedContextObject:
      return userSizeBits;
    case seL4_ObjectType.seL4_CapTableObject:
      return userSizeBits + seL4_SlotBits;
    case seL4_ObjectType.seL4_TCBObject:
      return seL4_TCBBits;
    case seL4_ObjectType.seL4_EndpointObject:
      return seL4_EndpointBits;
    case seL4_ObjectType.seL4_NotificationObject:
      return seL4_NotificationBits;
    case seL4_ObjectType.seL4_ReplyObject:
      return seL4_ReplyBits;
    case seL4_ObjectType.seL4_RISCV_4K_Page:
      return seL4_PageBits;
    case seL4_ObjectType.seL4_RISCV_Mega_Page:
      return seL4_LargePageBits;
    case seL4_ObjectType.seL4_RISCV_PageTableObject:
      return seL4_PageTableBits;
  }
}

export function isFrameType(type: number): boolean {
  return type === seL4_ObjectType.seL4_RISCV_4K_Page || type === seL4_ObjectType.seL4_RISCV_Mega_Page;
}
