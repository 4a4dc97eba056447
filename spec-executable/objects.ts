// Operations on caps by type, object creation, and how objects look from outside
// (seL4's objecttype.c / ObjectType.lhs).
import { Map as IMap } from 'immutable';
import {
  badgeMask,
  cnodeCapDataGuardSize,
  cnodeCapDataStoredGuard,
  maskBits,
  maskVMRights,
  nullCap,
  seL4_ASIDPoolBits,
  seL4_EndpointBits,
  seL4_LargePageBits,
  seL4_NotificationBits,
  seL4_ObjectType,
  zombieTypeTCB,
  seL4_PageBits,
  seL4_PageTableBits,
  seL4_ReplyBits,
  seL4_SlotBits,
  seL4_TCBBits,
  seL4_WordBits,
  VMRights,
  type Cap,
  type ObjectView,
  type Word,
} from '../libsel4/index.ts';
import type { KObject, SchedContextObject, Slot, TCBObject } from './state.ts';

/** log2 of the bytes of memory a cap covers, for caps that cover memory ("physical" caps). */
function capRegionBits(cap: Cap): number | null {
  switch (cap.type) {
    case 'untyped':
    case 'frame':
    case 'schedcontext':
      return cap.sizeBits;
    case 'endpoint':
      return seL4_EndpointBits;
    case 'notification':
      return seL4_NotificationBits;
    case 'reply':
      return seL4_ReplyBits;
    case 'cnode':
      return cap.radix + seL4_SlotBits;
    case 'thread':
      return seL4_TCBBits;
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

/** Whether `b` lies inside the memory region of `a`, which covers 2^aBits bytes at aPtr. */
function regionContains(aPtr: number, aBits: number, bPtr: number, bBits: number): boolean {
  const aTop = aPtr + 2 ** aBits - 1;
  const bTop = bPtr + 2 ** bBits - 1;
  return aPtr <= bPtr && bTop <= aTop;
}

/**
 * sameRegionAs: `b` names the same object as `a` or, for untyped and frame caps, something
 * inside `a`'s memory. This is the region half of the MDB parent test.
 */
export function sameRegionAs(a: Cap, b: Cap): boolean {
  switch (a.type) {
    case 'untyped': {
      const bBits = capRegionBits(b);
      return bBits !== null && 'ptr' in b && regionContains(a.ptr, a.sizeBits, b.ptr, bBits);
    }
    case 'frame':
      return b.type === 'frame' && regionContains(a.ptr, a.sizeBits, b.ptr, b.sizeBits);
    case 'endpoint':
    case 'notification':
    case 'reply':
    case 'thread':
    case 'pagetable':
    case 'asidpool':
      return b.type === a.type && b.ptr === a.ptr;
    case 'cnode':
      return b.type === 'cnode' && b.ptr === a.ptr && b.radix === a.radix;
    case 'schedcontext':
      return b.type === 'schedcontext' && b.ptr === a.ptr && b.sizeBits === a.sizeBits;
    case 'irqcontrol':
      return b.type === 'irqcontrol' || b.type === 'irqhandler';
    case 'irqhandler':
      return b.type === 'irqhandler' && b.irq === a.irq;
    case 'domain':
    case 'schedcontrol':
    case 'asidcontrol':
      return b.type === a.type;
    case 'null':
    case 'zombie':
      return false;
  }
}

/**
 * sameObjectAs: `a` and `b` refer to the same object, so deleting one of them is not the last
 * reference. Untyped caps never match (their memory is not an object); an IRQ handler is not the
 * IRQ control object; frames must agree in base, size and device flag.
 */
export function sameObjectAs(a: Cap, b: Cap): boolean {
  if (a.type === 'untyped') return false;
  if (a.type === 'irqcontrol' && b.type === 'irqhandler') return false;
  if (a.type === 'frame' && b.type === 'frame') return a.ptr === b.ptr && a.sizeBits === b.sizeBits && a.isDevice === b.isDevice;
  return sameRegionAs(a, b);
}

/**
 * isCapRevocable: whether a cap derived from `src` starts a new revocable subtree. A badged
 * endpoint or notification minted from a cap with another badge does, as do untyped caps and
 * IRQ handlers issued by IRQ control; plain copies never do.
 */
export function isCapRevocable(derived: Cap, src: Cap): boolean {
  switch (derived.type) {
    case 'endpoint':
    case 'notification':
      return src.type === derived.type && derived.badge !== src.badge;
    case 'irqhandler':
      return src.type === 'irqcontrol';
    case 'untyped':
      return true;
    default:
      return false;
  }
}

/** maskCapRights: rights can only be removed; caps without rights are unchanged. */
export function maskCapRights(rightsMask: Word, cap: Cap): Cap {
  const mask = rightsMask & 0xf;
  switch (cap.type) {
    case 'endpoint':
      return { ...cap, rights: cap.rights & mask };
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
 * updateCapData: Mint (preserve = false) may badge an unbadged endpoint or notification; Mint,
 * Mutate and Rotate set a CNode cap's guard. A result that would be invalid is the null cap.
 */
export function updateCapData(preserve: boolean, data: Word, cap: Cap): Cap {
  switch (cap.type) {
    case 'endpoint':
    case 'notification':
      return !preserve && cap.badge === 0 ? { ...cap, badge: data & badgeMask } : nullCap;
    case 'cnode': {
      const guardSize = cnodeCapDataGuardSize(data);
      if (guardSize + cap.radix > seL4_WordBits) return nullCap;
      return { ...cap, guard: cnodeCapDataStoredGuard(data), guardSize };
    }
    default:
      return cap;
  }
}

/** Whether a cap's holder can cancel badged sends on it: an endpoint cap with all four rights. */
export function hasCancelSendRights(cap: Cap): boolean {
  return cap.type === 'endpoint' && (cap.rights & 0xf) === 0xf;
}

// ---------------------------------------------------------------- creation

export function emptyTCB(addr: number): TCBObject {
  return {
    type: 'tcb', addr, state: 'Inactive', priority: 0, mcp: 0, domain: 0, schedContext: null,
    ipcBufferVaddr: 0, flags: 0, yieldTo: null, boundNotification: null, blocking: null, fault: null, regs: new Array<Word>(32).fill(0), slots: IMap<number, Slot>(),
  };
}

/** A fresh SC: not configured, no refills, nothing bound. */
export function emptySchedContext(addr: number, sizeBits: number): SchedContextObject {
  return {
    type: 'schedcontext', addr, sizeBits, tcb: null, configured: false, periodTicks: 0n, consumedTicks: 0n,
    refillMax: 0, refills: [], sporadic: false, badge: 0, yieldFrom: null, notification: null, replies: [],
  };
}

/**
 * createObject: the cap to a new object of `type` at `addr` and the object in its initial state
 * (null for a new untyped, which is memory, not an object). The arguments are already checked.
 */
export function createObject(type: seL4_ObjectType, addr: number, userSize: number, isDevice: boolean): { cap: Cap; object: KObject | null } {
  switch (type) {
    case seL4_ObjectType.seL4_UntypedObject:
      return { cap: { type: 'untyped', ptr: addr, sizeBits: userSize, freeIndex: 0, isDevice }, object: null };
    case seL4_ObjectType.seL4_TCBObject:
      return { cap: { type: 'thread', ptr: addr }, object: emptyTCB(addr) };
    case seL4_ObjectType.seL4_EndpointObject:
      return { cap: { type: 'endpoint', ptr: addr, badge: 0, rights: 0xf }, object: { type: 'endpoint', addr, state: 'Idle', queue: [] } };
    case seL4_ObjectType.seL4_NotificationObject:
      return { cap: { type: 'notification', ptr: addr, badge: 0, rights: 0x3 }, object: { type: 'notification', addr, state: 'Idle', word: 0, queue: [], tcb: null, schedContext: null } };
    case seL4_ObjectType.seL4_CapTableObject:
      return {
        cap: { type: 'cnode', ptr: addr, radix: userSize, guardSize: 0, guard: 0 },
        object: { type: 'cnode', addr, radix: userSize, slots: IMap<number, Slot>() },
      };
    case seL4_ObjectType.seL4_SchedContextObject:
      return {
        cap: { type: 'schedcontext', ptr: addr, sizeBits: userSize },
        object: emptySchedContext(addr, userSize),
      };
    case seL4_ObjectType.seL4_ReplyObject:
      return { cap: { type: 'reply', ptr: addr, rights: 0x4 }, object: { type: 'reply', addr, tcb: null, schedContext: null } };
    case seL4_ObjectType.seL4_RISCV_4K_Page:
    case seL4_ObjectType.seL4_RISCV_Mega_Page: {
      const sizeBits = type === seL4_ObjectType.seL4_RISCV_4K_Page ? seL4_PageBits : seL4_LargePageBits;
      return {
        cap: { type: 'frame', ptr: addr, sizeBits, vmRights: VMRights.VMReadWrite, isDevice, mapped: null },
        object: { type: 'frame', addr, sizeBits, isDevice },
      };
    }
    case seL4_ObjectType.seL4_RISCV_PageTableObject:
      return { cap: { type: 'pagetable', ptr: addr, mapped: null }, object: { type: 'pagetable', addr, entries: [], kernelWindow: false } };
  }
}

/** A thread's IPC buffer address from its buffer cap (TCB slot 2) and buffer vaddr; null if it has none. */
export function ipcBufferAddress(bufferCap: Cap, ipcBufferVaddr: Word): number | null {
  if (bufferCap.type !== 'frame' || bufferCap.isDevice) return null;
  return bufferCap.ptr + ((ipcBufferVaddr & maskBits(bufferCap.sizeBits)) >>> 0);
}

// ---------------------------------------------------------------- outside view

export function objectView(obj: KObject): ObjectView {
  switch (obj.type) {
    case 'cnode':
      return { type: 'cnode', addr: obj.addr, radix: obj.radix };
    case 'tcb':
      return {
        type: 'tcb', addr: obj.addr, state: obj.state, priority: obj.priority, mcp: obj.mcp, domain: obj.domain,
        schedContext: obj.schedContext, ipcBufferVaddr: obj.ipcBufferVaddr, flags: obj.flags, yieldTo: obj.yieldTo,
        boundNotification: obj.boundNotification, blocking: obj.blocking, fault: obj.fault,
      };
    case 'endpoint':
      return { type: 'endpoint', addr: obj.addr, state: obj.state, queue: obj.queue };
    case 'notification':
      return { type: 'notification', addr: obj.addr, state: obj.state, word: obj.word, queue: obj.queue, tcb: obj.tcb, schedContext: obj.schedContext };
    case 'reply':
      return { type: 'reply', addr: obj.addr, tcb: obj.tcb, schedContext: obj.schedContext };
    case 'schedcontext': {
      const { configured, ...view } = obj;
      if (configured !== view.refillMax > 0) throw new Error(`executable spec invariant: SC ${obj.addr} configured flag out of step`);
      return view;
    }
    case 'frame':
      return { type: 'frame', addr: obj.addr, sizeBits: obj.sizeBits, isDevice: obj.isDevice };
    case 'pagetable':
      return { type: 'pagetable', addr: obj.addr, entries: obj.entries, kernelWindow: obj.kernelWindow };
    case 'asidpool':
      return { type: 'asidpool', addr: obj.addr, asidBase: obj.asidBase, entries: obj.entries };
  }
}
