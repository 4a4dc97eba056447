// What each cap type means, as seL4's objecttype.c: which caps name the same region or
// object, how rights masks and cap data change a cap, how a cap is derived for a copy,
// which new caps are revocable, how the last cap to an object finalises it, and how Retype
// creates an object. Caps are handled as their two words (see structures.ts).
import {
  maskVMRights,
  seL4_EndpointBits,
  seL4_LargePageBits,
  seL4_NotificationBits,
  seL4_ObjectType,
  seL4_PageBits,
  seL4_PageTableBits,
  seL4_ReplyBits,
  seL4_TCBBits,
  type ObjectKind,
  tcbSlotCount,
  zombieTypeTCB,
  type SyscallError,
} from '../libsel4/index.ts';
import { ensureNoChildren } from './cnode.ts';
import { fail, type GhostObject, type ImplState } from './state.ts';
import {
  CapTag,
  capIsPhysical,
  capPtr,
  capSizeBits,
  capTag,
  cnodeRadix,
  cnodeWords1,
  endpointBadge,
  frameIsDevice,
  frameSizeBits,
  frameVMRights,
  isArchTag,
  mappedFlag,
  replyRights,
  schedContextSizeBits,
  zombieWords,
  type CapWords,
} from './structures.ts';
import { cancelAllSignals, unbindMaybeNotification } from './notification.ts';
import { cancelAllIPC } from './endpoint.ts';
import { deletingIRQHandler } from './interrupt.ts';
import { finaliseReply } from './reply.ts';
import { finaliseThread } from './tcb.ts';
import { archFinaliseCap } from './vspace.ts';
import { finaliseSchedContext, schedContextMaybeUnbindNtfn } from './schedcontext.ts';

/** Whether cap b names memory inside what cap a names (seL4's sameRegionAs). */
export function sameRegionAs(a0: number, a1: number, b0: number, b1: number): boolean {
  const ta = capTag(a0);
  const tb = capTag(b0);
  switch (ta) {
    case CapTag.untyped: {
      if (!capIsPhysical(tb)) return false;
      const aBase = capPtr(a0, a1);
      const bBase = capPtr(b0, b1);
      const aTop = aBase + (1 << capSizeBits(a0, a1)) - 1;
      const bTop = bBase + (1 << capSizeBits(b0, b1)) - 1;
      return aBase <= bBase && bTop <= aTop && bBase <= bTop;
    }
    case CapTag.endpoint:
    case CapTag.notification:
    case CapTag.thread:
    case CapTag.reply:
    case CapTag.pagetable:
    case CapTag.asidpool:
      return tb === ta && capPtr(a0, a1) === capPtr(b0, b1);
    case CapTag.cnode:
      return tb === ta && capPtr(a0, a1) === capPtr(b0, b1) && cnodeRadix(a1) === cnodeRadix(b1);
    case CapTag.schedcontext:
      return tb === ta && capPtr(a0, a1) === capPtr(b0, b1) && schedContextSizeBits(a0) === schedContextSizeBits(b0);
    case CapTag.domain:
    case CapTag.schedcontrol:
    case CapTag.asidcontrol:
      return tb === ta;
    case CapTag.irqcontrol:
      return tb === CapTag.irqcontrol || tb === CapTag.irqhandler;
    case CapTag.irqhandler:
      return tb === ta && a1 === b1;
    case CapTag.frame: {
      if (tb !== CapTag.frame) return false;
      const aBase = capPtr(a0, a1);
      const bBase = capPtr(b0, b1);
      return aBase <= bBase && aBase + (1 << frameSizeBits(a0)) >= bBase + (1 << frameSizeBits(b0));
    }
    default:
      return false;
  }
}

/** Whether two caps name the same object (seL4's sameObjectAs, used by isFinalCapability). */
export function sameObjectAs(a0: number, a1: number, b0: number, b1: number): boolean {
  const ta = capTag(a0);
  if (ta === CapTag.untyped || ta === CapTag.irqcontrol) return false;
  if (ta === CapTag.frame && capTag(b0) === CapTag.frame) {
    return capPtr(a0, a1) === capPtr(b0, b1) && frameSizeBits(a0) === frameSizeBits(b0) && frameIsDevice(a0) === frameIsDevice(b0);
  }
  return sameRegionAs(a0, a1, b0, b1);
}

/**
 * maskCapRights: a copy may only lose rights. Endpoint rights are and-ed with the mask,
 * notification rights with its Write and Read bits, reply rights with its Grant bit, frame
 * VM rights go through maskVMRights; other caps carry no rights.
 */
export function maskCapRights(cap: CapWords, rights: number): void {
  switch (capTag(cap.w0)) {
    case CapTag.endpoint:
      cap.w1 = ((cap.w1 & ~0xf) | (cap.w1 & rights & 0xf)) >>> 0;
      return;
    case CapTag.notification:
      cap.w1 = ((cap.w1 & ~0xf) | (cap.w1 & rights & 0x3)) >>> 0;
      return;
    case CapTag.reply:
      cap.w0 = ((cap.w0 & ~0xf0) | ((replyRights(cap.w0) & rights & 0x4) << 4)) >>> 0;
      return;
    case CapTag.frame:
      cap.w0 = ((cap.w0 & ~0xc0) | (maskVMRights(frameVMRights(cap.w0), rights) << 6)) >>> 0;
      return;
  }
}

function setNull(cap: CapWords): void {
  cap.w0 = 0;
  cap.w1 = 0;
}

/**
 * updateCapData: Mint (preserve = false) may badge an unbadged endpoint or notification;
 * Mutate and Rotate (preserve = true) turn any endpoint or notification cap into null.
 * A CNode cap takes a new guard and guard size (null if guard size + radix > 32).
 */
export function updateCapData(cap: CapWords, preserve: boolean, data: number): void {
  switch (capTag(cap.w0)) {
    case CapTag.endpoint:
    case CapTag.notification:
      if (!preserve && endpointBadge(cap.w0) === 0) cap.w0 = (((data & 0x0fffffff) << 4) | (cap.w0 & 0xf)) >>> 0;
      else setNull(cap);
      return;
    case CapTag.cnode: {
      const guardSize = (data >>> 3) & 0x1f;
      const radix = cnodeRadix(cap.w1);
      if (guardSize + radix > 32) {
        setNull(cap);
        return;
      }
      const guard = ((data >>> 8) & 0x3ffff) & (guardSize >= 18 ? 0x3ffff : (1 << guardSize) - 1);
      cap.w1 = cnodeWords1(radix, guardSize, guard);
      return;
    }
  }
}

/**
 * deriveCap: the cap a copy of `slot` gets. Zombie and IRQ control caps cannot be copied (null), an
 * untyped with children cannot (RevokeFirst), an unmapped page table cannot
 * (IllegalOperation); a frame copy is unmapped. Returns the error, or null on success.
 */
export function deriveCap(state: ImplState, slot: number, cap: CapWords): SyscallError | null {
  switch (capTag(cap.w0)) {
    case CapTag.zombie:
    case CapTag.irqcontrol:
      setNull(cap);
      return null;
    case CapTag.untyped:
      if (ensureNoChildren(state, slot)) return null;
      setNull(cap);
      return { error: 'RevokeFirst' };
    case CapTag.pagetable:
      if (mappedFlag(cap.w0)) return null;
      setNull(cap);
      return { error: 'IllegalOperation' };
    case CapTag.frame:
      // Unmapped: vaddr and ASID cleared.
      cap.w0 = ((cap.w0 & 0x1f0) | CapTag.frame) >>> 0;
      cap.w1 = (cap.w1 & ~0xfff) >>> 0;
      return null;
    default:
      return null;
  }
}

/** isCapRevocable: whether a cap derived from `src` starts a new CDT subtree of its own. */
export function isCapRevocable(new0: number, src0: number): boolean {
  const tag = capTag(new0);
  if (isArchTag(tag)) return false;
  switch (tag) {
    case CapTag.endpoint:
    case CapTag.notification:
      return endpointBadge(new0) !== endpointBadge(src0);
    case CapTag.irqhandler:
      return capTag(src0) === CapTag.irqcontrol;
    case CapTag.untyped:
      return true;
    default:
      return false;
  }
}

/**
 * finaliseCap: what deleting a cap does to its object, and what remains in the slot (the
 * remainder). A Zombie stays itself. The last cap to a CNode or a TCB becomes its Zombie,
 * counting all its slots (the thread is unbound and stopped first); for the last cap to any
 * other object the object is cleaned up (a scheduling context and a thread unbound, waiters
 * restarted, a reply object's caller let go, an IRQ's notification cap deleted: see
 * cleanupIRQOf in cnode.ts) and nothing remains. VSpace caps go to Arch_finaliseCap (vspace.ts), which
 * unmaps a frame cap's mapping whether final or not.
 */
export function finaliseCap(state: ImplState, w0: number, w1: number, final: boolean): CapWords {
  const tag = capTag(w0);
  if (tag === CapTag.zombie) return { w0, w1 };
  if (isArchTag(tag)) {
    archFinaliseCap(state, w0, w1, final);
    return { w0: 0, w1: 0 };
  }
  if (!final) return { w0: 0, w1: 0 };
  const ptr = capPtr(w0, w1);
  switch (tag) {
    case CapTag.cnode:
      return zombieWords(2 ** cnodeRadix(w1), cnodeRadix(w1), ptr);
    case CapTag.thread:
      finaliseThread(state, ptr);
      return zombieWords(tcbSlotCount, zombieTypeTCB, ptr);
    case CapTag.schedcontext:
      finaliseSchedContext(state, ptr);
      break;
    case CapTag.notification:
      schedContextMaybeUnbindNtfn(state, ptr);
      unbindMaybeNotification(state, ptr);
      cancelAllSignals(state, ptr);
      break;
    case CapTag.endpoint:
      cancelAllIPC(state, ptr);
      break;
    case CapTag.reply:
      finaliseReply(state, ptr);
      break;
    case CapTag.irqhandler:
      deletingIRQHandler(state, w1);
      break;
  }
  return { w0: 0, w1: 0 };
}

/** Whether the cap carries every right CancelBadgedSends needs (an endpoint cap with all four). */
export function hasCancelSendRights(w0: number, w1: number): boolean {
  return capTag(w0) === CapTag.endpoint && (w1 & 0xf) === 0xf;
}

// ---- object creation (Retype) ----

// The ghost records are immutable, so objects alike share one.
const ghost = (type: ObjectKind, sizeBits: number, isDevice = false): GhostObject => Object.freeze({ type, sizeBits, isDevice });
const bySize = (type: ObjectKind) => Array.from({ length: 33 }, (_, sizeBits) => ghost(type, sizeBits));
const cnodeGhosts = bySize('cnode');
const schedContextGhosts = bySize('schedcontext');
const fixedGhosts: Partial<Record<number, GhostObject>> = {
  [seL4_ObjectType.seL4_TCBObject]: ghost('tcb', seL4_TCBBits),
  [seL4_ObjectType.seL4_EndpointObject]: ghost('endpoint', seL4_EndpointBits),
  [seL4_ObjectType.seL4_NotificationObject]: ghost('notification', seL4_NotificationBits),
  [seL4_ObjectType.seL4_ReplyObject]: ghost('reply', seL4_ReplyBits),
  [seL4_ObjectType.seL4_RISCV_PageTableObject]: ghost('pagetable', seL4_PageTableBits),
};
const frameGhosts = [false, true].map((isDevice) => ({ small: ghost('frame', seL4_PageBits, isDevice), large: ghost('frame', seL4_LargePageBits, isDevice) }));

/** What the ghost table records for a new object of `type` and size (null for untyped memory: no object). */
export function ghostObjectOf(type: number, sizeBits: number, isDevice: boolean): GhostObject | null {
  switch (type) {
    case seL4_ObjectType.seL4_UntypedObject:
      return null;
    case seL4_ObjectType.seL4_CapTableObject:
      return cnodeGhosts[sizeBits]!;
    case seL4_ObjectType.seL4_SchedContextObject:
      return schedContextGhosts[sizeBits]!;
    case seL4_ObjectType.seL4_RISCV_4K_Page:
      return frameGhosts[isDevice ? 1 : 0]!.small;
    case seL4_ObjectType.seL4_RISCV_Mega_Page:
      return frameGhosts[isDevice ? 1 : 0]!.large;
    default:
      return fixedGhosts[type] ?? fail(`ghost record of unknown type ${type}`);
  }
}

/**
 * createObject: the cap to a new object of `type` at `addr`, in memory that is already zero,
 * which is every object's initial state. The caller records the object in the ghost table.
 */
export function createObject(state: ImplState, type: number, addr: number, userSize: number, sizeBits: number, isDevice: boolean): CapWords {
  if (state.debug && type !== seL4_ObjectType.seL4_UntypedObject && !isDevice) checkZero(state, addr, sizeBits);
  switch (type) {
    case seL4_ObjectType.seL4_UntypedObject:
      return { w0: (addr | CapTag.untyped) >>> 0, w1: ((isDevice ? 0x20 : 0) | userSize) >>> 0 };
    case seL4_ObjectType.seL4_TCBObject:
      return { w0: (addr | CapTag.thread) >>> 0, w1: 0 };
    case seL4_ObjectType.seL4_EndpointObject:
      return { w0: CapTag.endpoint, w1: (addr | 0xf) >>> 0 };
    case seL4_ObjectType.seL4_NotificationObject:
      return { w0: CapTag.notification, w1: (addr | 0x3) >>> 0 };
    case seL4_ObjectType.seL4_CapTableObject:
      return { w0: (addr | CapTag.cnode) >>> 0, w1: cnodeWords1(userSize, 0, 0) };
    case seL4_ObjectType.seL4_SchedContextObject:
      return { w0: (userSize << 8) | CapTag.schedcontext, w1: addr >>> 0 };
    case seL4_ObjectType.seL4_ReplyObject:
      return { w0: (0x4 << 4) | CapTag.reply, w1: addr >>> 0 };
    case seL4_ObjectType.seL4_RISCV_4K_Page:
    case seL4_ObjectType.seL4_RISCV_Mega_Page: {
      const flags = ((isDevice ? 1 : 0) << 8) | (3 << 6) | ((type === seL4_ObjectType.seL4_RISCV_Mega_Page ? 1 : 0) << 4);
      return { w0: flags | CapTag.frame, w1: addr >>> 0 };
    }
    case seL4_ObjectType.seL4_RISCV_PageTableObject:
      return { w0: CapTag.pagetable, w1: addr >>> 0 };
    default:
      return fail(`createObject of unknown type ${type}`);
  }
}

function checkZero(state: ImplState, addr: number, sizeBits: number): void {
  const from = (addr - state.ramBase) >>> 2;
  if (!state.mem.isZero(from, from + 2 ** (sizeBits - 2))) fail(`new object at ${addr.toString(16)} is not in zeroed memory`);
}
