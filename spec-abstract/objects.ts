// Kernel objects in their initial state, and what the kernel knows about each cap type:
// the region a cap covers, when two caps name the same object, rights masking, user cap
// data, and derivation (seL4's objecttype.c; l4v CSpace_A / Retype_A).
import {
  badgeMask,
  cnodeCapDataGuardSize,
  cnodeCapDataStoredGuard,
  maskVMRights,
  nullCap,
  objectSizeBits,
  seL4_ASIDPoolBits,
  seL4_EndpointBits,
  seL4_NotificationBits,
  seL4_ObjectType,
  seL4_PageTableBits,
  seL4_ReplyBits,
  seL4_SlotBits,
  seL4_TCBBits,
  zombieTypeTCB,
  irqNodeRef,
  seL4_WordBits,
  VMRights,
  type Cap,
  type SlotRef,
  type SyscallError,
  type Word,
} from '../libsel4/index.ts';
import { emptySlotTable, slotAddr, type KObject, type SchedContextObject, type TCBObject } from './state.ts';
import { emptyPageTable } from './vspace.ts';

// ---- objects ----------------------------------------------------------------------------

export function initialTcb(addr: number): TCBObject {
  return {
    type: 'tcb', addr, state: 'Inactive', priority: 0, mcp: 0, domain: 0, schedContext: null, flags: 0, yieldTo: null, boundNotification: null,
    blocking: null, fault: null, ipcBufferVaddr: 0, regs: new Array<Word>(32).fill(0), slots: emptySlotTable,
  };
}

/** A new scheduling context: no refills until SchedControl configures it. */
export function unconfiguredSchedContext(addr: number, sizeBits: number): SchedContextObject {
  return {
    type: 'schedcontext', addr, sizeBits, tcb: null, configured: false, periodTicks: 0n, consumedTicks: 0n, refillMax: 0,
    refills: [], sporadic: false, badge: 0, yieldFrom: null, notification: null, replies: [],
  };
}

/**
 * The object and the original cap Retype creates for `type` at `addr` (no object for an
 * untyped: its cap names a region). `userSizeBits` is Retype's size_bits argument.
 */
export function createObject(type: seL4_ObjectType, addr: number, userSizeBits: number, isDevice: boolean): { object: KObject | null; cap: Cap } {
  const T = seL4_ObjectType;
  switch (type) {
    case T.seL4_UntypedObject:
      return { object: null, cap: { type: 'untyped', ptr: addr, sizeBits: userSizeBits, freeIndex: 0, isDevice } };
    case T.seL4_TCBObject:
      return { object: initialTcb(addr), cap: { type: 'thread', ptr: addr } };
    case T.seL4_EndpointObject:
      return { object: { type: 'endpoint', addr, state: 'Idle', queue: [] }, cap: { type: 'endpoint', ptr: addr, badge: 0, rights: 0xf } };
    case T.seL4_NotificationObject:
      return { object: { type: 'notification', addr, state: 'Idle', word: 0, queue: [], tcb: null, schedContext: null }, cap: { type: 'notification', ptr: addr, badge: 0, rights: 0x3 } };
    case T.seL4_CapTableObject:
      return { object: { type: 'cnode', addr, radix: userSizeBits, slots: emptySlotTable }, cap: { type: 'cnode', ptr: addr, radix: userSizeBits, guardSize: 0, guard: 0 } };
    case T.seL4_SchedContextObject:
      return {
        object: unconfiguredSchedContext(addr, userSizeBits),
        cap: { type: 'schedcontext', ptr: addr, sizeBits: userSizeBits },
      };
    case T.seL4_ReplyObject:
      return { object: { type: 'reply', addr, tcb: null, sc: null, stack: null }, cap: { type: 'reply', ptr: addr, rights: 0x4 } };
    case T.seL4_RISCV_4K_Page:
    case T.seL4_RISCV_Mega_Page: {
      const sizeBits = objectSizeBits(type, userSizeBits);
      return {
        object: { type: 'frame', addr, sizeBits, isDevice },
        cap: { type: 'frame', ptr: addr, sizeBits, vmRights: VMRights.VMReadWrite, isDevice, mapped: null },
      };
    }
    case T.seL4_RISCV_PageTableObject:
      return { object: emptyPageTable(addr), cap: { type: 'pagetable', ptr: addr, mapped: null } };
  }
}

// ---- regions and identity ----------------------------------------------------------------

/** log2 of the bytes of the object a cap names, for caps that name memory (is_physical). */
function physicalSizeBits(cap: Cap): number | null {
  switch (cap.type) {
    case 'untyped':
    case 'schedcontext':
    case 'frame':
      return cap.sizeBits;
    case 'cnode':
      return cap.radix + seL4_SlotBits;
    case 'thread':
      return seL4_TCBBits;
    case 'endpoint':
      return seL4_EndpointBits;
    case 'notification':
      return seL4_NotificationBits;
    case 'reply':
      return seL4_ReplyBits;
    case 'pagetable':
      return seL4_PageTableBits;
    case 'asidpool':
      return seL4_ASIDPoolBits;
    case 'zombie':
      return cap.zombieType === zombieTypeTCB ? seL4_TCBBits : cap.zombieType + seL4_SlotBits;
    default:
      return null;
  }
}

/** [start, end) of the memory a cap covers, or null if it names no memory. */
function capRange(cap: Cap): readonly [number, number] | null {
  const bits = physicalSizeBits(cap);
  return bits === null || !('ptr' in cap) ? null : [cap.ptr, cap.ptr + 2 ** bits];
}

/**
 * same_region_as: `b` covers (part of) what `a` covers, so `a` may be its CDT parent.
 * An untyped covers everything inside its range; a frame every frame inside its range.
 */
export function sameRegionAs(a: Cap, b: Cap): boolean {
  switch (a.type) {
    case 'null':
    case 'zombie':
      return false;
    case 'untyped': {
      const outer = capRange(a)!;
      const inner = capRange(b);
      return inner !== null && outer[0] <= inner[0] && inner[1] <= outer[1];
    }
    case 'frame': {
      if (b.type !== 'frame') return false;
      const outer = capRange(a)!;
      const inner = capRange(b)!;
      return outer[0] <= inner[0] && inner[1] <= outer[1];
    }
    case 'cnode':
      return b.type === 'cnode' && b.ptr === a.ptr && b.radix === a.radix;
    case 'endpoint':
    case 'notification':
    case 'reply':
    case 'thread':
    case 'schedcontext':
    case 'pagetable':
    case 'asidpool':
      return b.type === a.type && b.ptr === a.ptr;
    case 'irqcontrol':
      return b.type === 'irqcontrol' || b.type === 'irqhandler';
    case 'irqhandler':
      return b.type === 'irqhandler' && b.irq === a.irq;
    case 'domain':
    case 'asidcontrol':
    case 'schedcontrol':
      return b.type === a.type;
  }
}

/**
 * same_object_as: both caps name the same object. Untyped caps name a region, not an
 * object, and an IRQ handler is not the IRQ control object.
 */
export function sameObjectAs(a: Cap, b: Cap): boolean {
  if (a.type === 'untyped' || b.type === 'untyped') return false;
  if (a.type === 'irqcontrol' && b.type === 'irqhandler') return false;
  if (a.type === 'frame') return b.type === 'frame' && b.ptr === a.ptr && b.sizeBits === a.sizeBits;
  return sameRegionAs(a, b);
}

/**
 * The object a cap names for finality (null for untyped and for caps naming no object); an IRQ
 * handler cap names its IRQ, keyed by the IRQ node slot's address (no object lives there).
 */
export function namedObject(cap: Cap): number | null {
  if (cap.type === 'irqhandler') return slotAddr(irqSlot(cap.irq));
  return cap.type !== 'untyped' && 'ptr' in cap ? cap.ptr : null;
}

/** The IRQ node's slot of `irq` (interrupt_irq_node). */
export function irqSlot(irq: number): SlotRef {
  return { cnode: irqNodeRef, index: irq };
}

// ---- the CDT rules of cap_insert ----------------------------------------------------------

/** is_cap_revocable: whether a cap derived from `src` is an original cap. */
export function isCapRevocable(newCap: Cap, src: Cap): boolean {
  switch (newCap.type) {
    case 'endpoint':
    case 'notification':
      return !(src.type === newCap.type && src.badge === newCap.badge);
    case 'irqhandler':
      return src.type === 'irqcontrol';
    case 'untyped':
      return true;
    default:
      return false;
  }
}

/**
 * should_be_parent_of: `parent` (original or not) is to become the CDT parent of `child`.
 * A badged endpoint or notification cap parents only non-original caps of its own badge.
 */
export function shouldBeParentOf(parent: Cap, parentOriginal: boolean, child: Cap, childOriginal: boolean): boolean {
  if (!parentOriginal || !sameRegionAs(parent, child)) return false;
  if ((parent.type === 'endpoint' || parent.type === 'notification') && parent.badge !== 0) {
    return (child.type === 'endpoint' || child.type === 'notification') && child.badge === parent.badge && !childOriginal;
  }
  return true;
}

// ---- user-requested transformations ------------------------------------------------------

/** mask_cap: what is left of a cap's rights under the rights word `mask`. */
export function maskCapRights(mask: Word, cap: Cap): Cap {
  switch (cap.type) {
    case 'endpoint':
      return { ...cap, rights: cap.rights & mask & 0xf };
    case 'notification':
      return { ...cap, rights: cap.rights & mask & 0x3 };
    case 'reply':
      return { ...cap, rights: cap.rights & mask & 0x4 };
    case 'frame':
      return { ...cap, vmRights: maskVMRights(cap.vmRights, mask) };
    default:
      return cap;
  }
}

/**
 * update_cap_data: a badge for an unbadged endpoint or notification cap (only when not
 * `preserve`), a guard for a CNode cap; the null cap when the change is not allowed.
 */
export function updateCapData(preserve: boolean, data: Word, cap: Cap): Cap {
  switch (cap.type) {
    case 'endpoint':
    case 'notification':
      return !preserve && cap.badge === 0 ? { ...cap, badge: data & badgeMask } : nullCap;
    case 'cnode': {
      const guardSize = cnodeCapDataGuardSize(data);
      if (guardSize + cap.radix > seL4_WordBits) return nullCap;
      return { ...cap, guardSize, guard: cnodeCapDataStoredGuard(data) };
    }
    default:
      return cap;
  }
}

/**
 * derive_cap: the cap as it may be copied from a slot. `hasChildren` tells whether the
 * source slot has CDT children (an untyped with children cannot be copied).
 */
export function deriveCap(cap: Cap, hasChildren: boolean): { cap: Cap } | { error: SyscallError } {
  switch (cap.type) {
    case 'zombie':
    case 'irqcontrol':
      return { cap: nullCap };
    case 'untyped':
      return hasChildren ? { error: { error: 'RevokeFirst' } } : { cap };
    case 'pagetable':
      return cap.mapped === null ? { error: { error: 'IllegalOperation' } } : { cap };
    case 'frame':
      return { cap: { ...cap, mapped: null } };
    default:
      return { cap };
  }
}

/** CNode_CancelBadgedSends needs an endpoint cap with all four rights. */
export function hasCancelSendRights(cap: Cap): boolean {
  return cap.type === 'endpoint' && cap.rights === 0xf;
}
