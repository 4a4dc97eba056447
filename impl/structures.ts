// Capabilities as two-word bitfields, in the spirit of seL4's structures_32.bf and the
// riscv32 structures.bf. The type tag sits in the low bits of word 0 with seL4's numbers:
// a 4-bit tag, or, when the low nibble is 0xE, an 8-bit tag.
//
//   cap            tag   word 0                                          word 1
//   null           0x0   0                                               0
//   untyped        0x2   ptr[31:4]                                       freeIndex[31:6] isDevice[5] sizeBits[4:0]
//   endpoint       0x4   badge[31:4]                                     ptr[31:4] rights[3:0]
//   notification   0x6   badge[31:4]                                     ptr[31:4] rights[3:0]
//   reply          0x8   rights[7:4]                                     ptr
//   cnode          0xA   ptr[31:4]                                       guardSize[27:23] radix[22:18] guard[17:0]
//   thread         0xC   ptr[31:4]                                       0
//   frame          0x1   vaddr[31:12] isDevice[8]                        ptr[31:12] asid[8:0]
//                        vmRights[7:6] large[4]
//   pagetable      0x3   vaddr[31:12] mapped[9]                          ptr[31:12] asid[8:0]
//   asidcontrol    0xB   -                                               0
//   asidpool       0xD   ptr[31:4]                                       asidBase
//   irqcontrol     0x0E  -                                               0
//   irqhandler     0x1E  -                                               irq
//   domain         0x3E  -                                               0
//   schedcontext   0x4E  sizeBits[13:8]                                  ptr
//   schedcontrol   0x5E  -                                               core
//   zombie         0x2E  zombieType[13:8]                                capZombieID: ptr | number
//
// A zombie's capZombieID is the object's address with the slot count in its low bits+1 bits
// (bits: the CNode's radix, or 4 for a TCB's; zombieType 32 means a TCB), as seL4's Zombie_new.
// freeIndex counts 16-byte units; rights are the seL4_CapRights bits (Write 0, Read 1,
// Grant 2, GrantReply 3); `large` is 1 for a 4 MiB frame; vaddr is the mapped address. As in
// seL4, a frame cap is mapped when its ASID is not 0 (asidInvalid), a page table cap when its
// mapped bit is set (PageTable_Unmap clears only that bit).
import type { Cap, CapType, Mapping } from '../libsel4/index.ts';
import {
  seL4_ASIDPoolBits,
  seL4_EndpointBits,
  seL4_LargePageBits,
  seL4_NotificationBits,
  seL4_PageBits,
  seL4_PageTableBits,
  seL4_ReplyBits,
  seL4_SlotBits,
  seL4_TCBBits,
  zombieTypeTCB,
  type VMRights,
} from '../libsel4/index.ts';
import { fail } from './state.ts';

export const CapTag = {
  null: 0x0,
  frame: 0x1,
  untyped: 0x2,
  pagetable: 0x3,
  endpoint: 0x4,
  notification: 0x6,
  reply: 0x8,
  cnode: 0xa,
  asidcontrol: 0xb,
  thread: 0xc,
  asidpool: 0xd,
  irqcontrol: 0x0e,
  irqhandler: 0x1e,
  domain: 0x3e,
  schedcontext: 0x4e,
  schedcontrol: 0x5e,
  zombie: 0x2e,
} as const satisfies Record<CapType, number>;

const tagNames: Partial<Record<number, CapType>> = {};
for (const [name, tag] of Object.entries(CapTag)) tagNames[tag] = name as CapType;

export function capTag(w0: number): number {
  const t = w0 & 0xf;
  return t === 0xe ? w0 & 0xff : t;
}

export function isValidTag(tag: number): boolean {
  return tagNames[tag] !== undefined;
}

export function capTypeName(tag: number): CapType {
  return tagNames[tag] ?? fail(`unknown cap tag ${tag}`);
}

/** Arch caps (odd 4-bit tags), as seL4's isArchCap. */
export function isArchTag(tag: number): boolean {
  return (tag & 1) === 1;
}

// ---- field accessors on the two words ----

const hiPtr4 = (w: number) => (w & ~0xf) >>> 0;
const hiPtr12 = (w: number) => (w & ~0xfff) >>> 0;

export const untypedPtr = hiPtr4;
export const untypedSizeBits = (w1: number) => w1 & 0x1f;
export const untypedIsDevice = (w1: number) => (w1 & 0x20) !== 0;
/** Free index in 16-byte units. */
export const untypedFreeIndex = (w1: number) => w1 >>> 6;
export function untypedWithFreeIndex(w1: number, freeIndex: number): number {
  return ((freeIndex << 6) | (w1 & 0x3f)) >>> 0;
}

export const endpointBadge = (w0: number) => w0 >>> 4;
export const endpointPtr = hiPtr4;
export const capRightsBits = (w1: number) => w1 & 0xf;

export const replyRights = (w0: number) => (w0 >>> 4) & 0xf;

export const cnodePtr = hiPtr4;
export const cnodeGuardSize = (w1: number) => (w1 >>> 23) & 0x1f;
export const cnodeRadix = (w1: number) => (w1 >>> 18) & 0x1f;
export const cnodeGuard = (w1: number) => w1 & 0x3ffff;
export function cnodeWords1(radix: number, guardSize: number, guard: number): number {
  return (((guardSize & 0x1f) << 23) | ((radix & 0x1f) << 18) | (guard & 0x3ffff)) >>> 0;
}

export const threadPtr = hiPtr4;

export const frameLarge = (w0: number) => (w0 & 0x10) !== 0;
export const frameSizeBits = (w0: number) => (frameLarge(w0) ? seL4_LargePageBits : seL4_PageBits);
export const frameVMRights = (w0: number) => ((w0 >>> 6) & 0x3) as VMRights;
export const frameIsDevice = (w0: number) => (w0 & 0x100) !== 0;
/** A page table cap's capPTIsMapped bit in word 0. */
export const ptMappedBit = 0x200;
export const mappedFlag = (w0: number) => (w0 & ptMappedBit) !== 0;
export const mappedVaddr = hiPtr12;
export const mappedAsid = (w1: number) => w1 & 0x1ff;
export const pagePtr = hiPtr12;

export const asidPoolPtr = hiPtr4;

export const schedContextSizeBits = (w0: number) => (w0 >>> 8) & 0x3f;

/** seL4's TCB_CNODE_RADIX: a TCB Zombie's number takes its low 5 bits. */
const tcbCNodeRadix = 4;
export const zombieType = (w0: number) => (w0 >>> 8) & 0x3f;
/** cap_zombie_cap_get_capZombieBits: the radix whose slots the Zombie counts. */
const zombieBits = (w0: number) => (zombieType(w0) === zombieTypeTCB ? tcbCNodeRadix : zombieType(w0));
const zombieNumberMask = (w0: number) => 2 ** (zombieBits(w0) + 1) - 1;
export const zombieNumber = (w0: number, w1: number) => w1 & zombieNumberMask(w0);
export const zombiePtr = (w0: number, w1: number) => (w1 & ~zombieNumberMask(w0)) >>> 0;
/** Zombie_new: the Zombie of the object at `ptr` (slot 0) with `number` slots left. */
export function zombieWords(number: number, type: number, ptr: number): CapWords {
  const w0 = ((type << 8) | CapTag.zombie) >>> 0;
  const mask = zombieNumberMask(w0);
  return { w0, w1: ((ptr & ~mask) | (number & mask)) >>> 0 };
}
/** cap_zombie_cap_set_capZombieNumber. */
export function zombieWithNumber(w0: number, w1: number, number: number): number {
  return (zombiePtr(w0, w1) | (number & zombieNumberMask(w0))) >>> 0;
}

/** The object a physical cap names (0 for caps naming none), as seL4's cap_get_capPtr. */
export function capPtr(w0: number, w1: number): number {
  switch (capTag(w0)) {
    case CapTag.untyped:
    case CapTag.cnode:
    case CapTag.thread:
    case CapTag.asidpool:
      return hiPtr4(w0);
    case CapTag.endpoint:
    case CapTag.notification:
      return hiPtr4(w1);
    case CapTag.reply:
    case CapTag.schedcontext:
      return w1;
    case CapTag.frame:
    case CapTag.pagetable:
      return hiPtr12(w1);
    case CapTag.zombie:
      return zombiePtr(w0, w1);
    default:
      return 0;
  }
}

/** Whether the cap names a region of memory, as seL4's cap_get_capIsPhysical. */
export function capIsPhysical(tag: number): boolean {
  switch (tag) {
    case CapTag.untyped:
    case CapTag.endpoint:
    case CapTag.notification:
    case CapTag.cnode:
    case CapTag.thread:
    case CapTag.reply:
    case CapTag.schedcontext:
    case CapTag.frame:
    case CapTag.pagetable:
    case CapTag.asidpool:
    case CapTag.zombie:
      return true;
    default:
      return false;
  }
}

/** log2 of the size of the region a cap names, as seL4's cap_get_capSizeBits. */
export function capSizeBits(w0: number, w1: number): number {
  switch (capTag(w0)) {
    case CapTag.untyped:
      return untypedSizeBits(w1);
    case CapTag.endpoint:
      return seL4_EndpointBits;
    case CapTag.notification:
      return seL4_NotificationBits;
    case CapTag.cnode:
      return cnodeRadix(w1) + seL4_SlotBits;
    case CapTag.thread:
      return seL4_TCBBits;
    case CapTag.reply:
      return seL4_ReplyBits;
    case CapTag.schedcontext:
      return schedContextSizeBits(w0);
    case CapTag.frame:
      return frameSizeBits(w0);
    case CapTag.pagetable:
      return seL4_PageTableBits;
    case CapTag.asidpool:
      return seL4_ASIDPoolBits;
    case CapTag.zombie:
      return zombieType(w0) === zombieTypeTCB ? seL4_TCBBits : zombieType(w0) + seL4_SlotBits;
    default:
      return 0;
  }
}

// ---- whole caps: plain data <-> words ----

/** A cap in flight between decode and perform: its two words, changed in place by cap transforms. */
export interface CapWords {
  w0: number;
  w1: number;
}

/** The mapping's words; a page table cap also sets its mapped bit. */
function mappingWords(mapped: Mapping | null, mappedBit: number): { w0: number; w1: number } {
  if (mapped === null) return { w0: 0, w1: 0 };
  return { w0: (hiPtr12(mapped.vaddr) | mappedBit) >>> 0, w1: mapped.asid & 0x1ff };
}

function mappingOf(isMapped: boolean, w0: number, w1: number): Mapping | null {
  return isMapped ? { asid: mappedAsid(w1), vaddr: mappedVaddr(w0) } : null;
}

/** Encodes a cap into its two words. With `debug`, checks that every field fits its bitfield. */
export function encodeCap(cap: Cap, debug: boolean): CapWords {
  if (debug) checkEncodable(cap);
  switch (cap.type) {
    case 'null':
      return { w0: 0, w1: 0 };
    case 'untyped':
      return {
        w0: (cap.ptr | CapTag.untyped) >>> 0,
        w1: (((cap.freeIndex >>> 4) << 6) | ((cap.isDevice ? 1 : 0) << 5) | cap.sizeBits) >>> 0,
      };
    case 'endpoint':
    case 'notification':
      return { w0: ((cap.badge << 4) | CapTag[cap.type]) >>> 0, w1: (cap.ptr | cap.rights) >>> 0 };
    case 'reply':
      return { w0: (cap.rights << 4) | CapTag.reply, w1: cap.ptr >>> 0 };
    case 'cnode':
      return { w0: (cap.ptr | CapTag.cnode) >>> 0, w1: cnodeWords1(cap.radix, cap.guardSize, cap.guard) };
    case 'thread':
      return { w0: (cap.ptr | CapTag.thread) >>> 0, w1: 0 };
    case 'frame': {
      const m = mappingWords(cap.mapped, 0);
      const flags = ((cap.isDevice ? 1 : 0) << 8) | (cap.vmRights << 6) | ((cap.sizeBits === seL4_LargePageBits ? 1 : 0) << 4);
      return { w0: (m.w0 | flags | CapTag.frame) >>> 0, w1: (cap.ptr | m.w1) >>> 0 };
    }
    case 'pagetable': {
      const m = mappingWords(cap.mapped, ptMappedBit);
      return { w0: (m.w0 | CapTag.pagetable) >>> 0, w1: (cap.ptr | m.w1) >>> 0 };
    }
    case 'asidpool':
      return { w0: (cap.ptr | CapTag.asidpool) >>> 0, w1: cap.asidBase >>> 0 };
    case 'schedcontext':
      return { w0: (cap.sizeBits << 8) | CapTag.schedcontext, w1: cap.ptr >>> 0 };
    case 'irqhandler':
      return { w0: CapTag.irqhandler, w1: cap.irq >>> 0 };
    case 'schedcontrol':
      return { w0: CapTag.schedcontrol, w1: cap.core >>> 0 };
    case 'irqcontrol':
    case 'domain':
    case 'asidcontrol':
      return { w0: CapTag[cap.type], w1: 0 };
    case 'zombie':
      return zombieWords(cap.count, cap.zombieType, cap.ptr);
  }
}

/** Decodes two cap words into plain data. */
export function decodeCap(w0: number, w1: number): Cap {
  switch (capTag(w0)) {
    case CapTag.null:
      return { type: 'null' };
    case CapTag.untyped:
      return { type: 'untyped', ptr: untypedPtr(w0), sizeBits: untypedSizeBits(w1), freeIndex: untypedFreeIndex(w1) * 16, isDevice: untypedIsDevice(w1) };
    case CapTag.endpoint:
      return { type: 'endpoint', ptr: endpointPtr(w1), badge: endpointBadge(w0), rights: capRightsBits(w1) };
    case CapTag.notification:
      return { type: 'notification', ptr: endpointPtr(w1), badge: endpointBadge(w0), rights: capRightsBits(w1) };
    case CapTag.reply:
      return { type: 'reply', ptr: w1, rights: replyRights(w0) };
    case CapTag.cnode:
      return { type: 'cnode', ptr: cnodePtr(w0), radix: cnodeRadix(w1), guardSize: cnodeGuardSize(w1), guard: cnodeGuard(w1) };
    case CapTag.thread:
      return { type: 'thread', ptr: threadPtr(w0) };
    case CapTag.frame:
      return {
        type: 'frame', ptr: pagePtr(w1), sizeBits: frameSizeBits(w0), vmRights: frameVMRights(w0),
        isDevice: frameIsDevice(w0), mapped: mappingOf(mappedAsid(w1) !== 0, w0, w1),
      };
    case CapTag.pagetable:
      return { type: 'pagetable', ptr: pagePtr(w1), mapped: mappingOf(mappedFlag(w0), w0, w1) };
    case CapTag.asidcontrol:
      return { type: 'asidcontrol' };
    case CapTag.asidpool:
      return { type: 'asidpool', ptr: asidPoolPtr(w0), asidBase: w1 };
    case CapTag.irqcontrol:
      return { type: 'irqcontrol' };
    case CapTag.irqhandler:
      return { type: 'irqhandler', irq: w1 };
    case CapTag.domain:
      return { type: 'domain' };
    case CapTag.schedcontext:
      return { type: 'schedcontext', ptr: w1, sizeBits: schedContextSizeBits(w0) };
    case CapTag.schedcontrol:
      return { type: 'schedcontrol', core: w1 };
    case CapTag.zombie:
      return { type: 'zombie', ptr: zombiePtr(w0, w1), zombieType: zombieType(w0), count: zombieNumber(w0, w1) };
    default:
      return fail(`cap words ${w0.toString(16)} ${w1.toString(16)} carry no valid tag`);
  }
}

const isWord = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const fits = (v: number, bits: number) => Number.isInteger(v) && v >= 0 && v < 2 ** bits;
const aligned = (v: number, bits: number) => isWord(v) && v % 2 ** bits === 0;

function checkMapping(mapped: Mapping | null, what: string): void {
  if (mapped !== null && (!fits(mapped.asid, 9) || !aligned(mapped.vaddr, seL4_PageBits))) fail(`${what} mapping does not fit its bitfield`);
  if (what === 'frame' && mapped !== null && mapped.asid === 0) fail('a mapped frame cap with ASID 0 (asidInvalid)');
}

/** Every field of the cap fits the bitfield that holds it. */
function checkEncodable(cap: Cap): void {
  const bad = (field: string) => fail(`${cap.type} cap field ${field} does not fit its bitfield`);
  switch (cap.type) {
    case 'untyped':
      if (!aligned(cap.ptr, 4)) bad('ptr');
      if (cap.sizeBits < 4 || cap.sizeBits > 29 || !Number.isInteger(cap.sizeBits)) bad('sizeBits');
      if (!aligned(cap.freeIndex, 4) || cap.freeIndex > 2 ** cap.sizeBits) bad('freeIndex');
      return;
    case 'endpoint':
    case 'notification':
      if (!aligned(cap.ptr, 4)) bad('ptr');
      if (!fits(cap.badge, 28)) bad('badge');
      if (!fits(cap.rights, 4)) bad('rights');
      return;
    case 'reply':
      if (!isWord(cap.ptr)) bad('ptr');
      if (!fits(cap.rights, 4)) bad('rights');
      return;
    case 'cnode':
      if (!aligned(cap.ptr, 4)) bad('ptr');
      if (!fits(cap.radix, 5)) bad('radix');
      if (!fits(cap.guardSize, 5)) bad('guardSize');
      if (!fits(cap.guard, 18)) bad('guard');
      return;
    case 'thread':
    case 'asidpool':
      if (!aligned(cap.ptr, 4)) bad('ptr');
      if (cap.type === 'asidpool' && !isWord(cap.asidBase)) bad('asidBase');
      return;
    case 'frame':
      if (!aligned(cap.ptr, seL4_PageBits)) bad('ptr');
      if (cap.sizeBits !== seL4_PageBits && cap.sizeBits !== seL4_LargePageBits) bad('sizeBits');
      if (!fits(cap.vmRights, 2)) bad('vmRights');
      checkMapping(cap.mapped, 'frame');
      return;
    case 'pagetable':
      if (!aligned(cap.ptr, seL4_PageBits)) bad('ptr');
      checkMapping(cap.mapped, 'pagetable');
      return;
    case 'schedcontext':
      if (!isWord(cap.ptr)) bad('ptr');
      if (!fits(cap.sizeBits, 6)) bad('sizeBits');
      return;
    case 'irqhandler':
      if (!isWord(cap.irq)) bad('irq');
      return;
    case 'schedcontrol':
      if (!isWord(cap.core)) bad('core');
      return;
    case 'zombie': {
      const bits = cap.zombieType === zombieTypeTCB ? tcbCNodeRadix : cap.zombieType;
      if (cap.zombieType !== zombieTypeTCB && !fits(cap.zombieType, 5)) bad('zombieType');
      if (!aligned(cap.ptr, bits + 1)) bad('ptr');
      if (!fits(cap.count, bits + 1)) bad('count');
      return;
    }
    case 'null':
    case 'irqcontrol':
    case 'domain':
    case 'asidcontrol':
      return;
  }
}
