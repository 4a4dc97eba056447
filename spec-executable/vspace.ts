// Virtual memory on riscv32 (Sv32): the VSpace invocations, page-table walks, unmapping and the
// deletion of ASIDs and pools (seL4's vspace.c / l4v's Kernel/VSpace/RISCV64.hs, Sv39 read as Sv32).
//
// A page table is kept as its valid PTEs, decoded (PteView); `pteWord` gives the Sv32 bits of
// each and `storePTE` accepts only words seL4 writes, so the walks below read and write PTE words
// as seL4 does. Entries 512..1023 of a root are the kernel window, a flag (copyGlobalMappings).
import {
  accessKinds,
  hex,
  InvocationLabel,
  maskVMRights,
  seL4_ASIDPoolBits,
  seL4_ASIDPoolIndexBits,
  seL4_PageBits,
  seL4_PageTableBits,
  seL4_UserTop,
  TCBSlot,
  VMRights,
  type AccessKind,
  type Cap,
  type CapOf,
  type PteView,
  type SlotRef,
  type SyscallError,
  type Translation,
  type Word,
} from '../libsel4/index.ts';
import { cteInsert, hasChildren, isFinalCapability } from './cnode.ts';
import { isSyscallError, lookupTargetSlot } from './cspace.ts';
import { asidTableSize, getCap, getObject, getTCB, Step, userWord, type ExecState, type PageTableObject } from './state.ts';
import type { InvocationArgs } from './syscall.ts';

// ---------------------------------------------------------------- geometry and PTE bits

/** Sv32: 10 index bits per level, 1024 PTEs of 4 bytes in a 4 KiB table. */
const ptIndexBits = 10;
const ptEntryCount = 2 ** ptIndexBits;
/** The root's first kernel-window entry (PPTR_BASE 0x80000000 >> 22). */
const kernelWindowFirstIndex = seL4_UserTop / 2 ** (seL4_PageBits + ptIndexBits);
/** maxPTLevel on Sv32: level 1 is the root, level 0 the 4 KiB level. */
const maxPTLevel = 1;
const asidPoolSize = 2 ** seL4_ASIDPoolIndexBits;

const pteValid = 0x1;
const pteRead = 0x2;
const pteWrite = 0x4;
const pteExecute = 0x8;
const pteUser = 0x10;
const pteAccessed = 0x40;
const pteDirty = 0x80;
/** PPN starts at bit 10. */
const ptePPNShift = 10;

/** ptBitsLeft: the bits of vaddr below a level's index (12 at level 0, 22 at the root). */
function ptBitsLeft(level: number): number {
  return ptIndexBits * level + seL4_PageBits;
}

/** ptIndex: vaddr's index into a table of `level`. */
function ptIndex(level: number, vaddr: Word): number {
  return Math.floor((vaddr >>> 0) / 2 ** ptBitsLeft(level)) % ptEntryCount;
}

function pteFromPaddr(paddr: number): Word {
  return ((paddr / 2 ** seL4_PageBits) * 2 ** ptePPNShift) >>> 0;
}

/** getPPtrFromHWPTE: the address a PTE's PPN names. */
function ptePaddr(pte: Word): number {
  return Math.floor((pte >>> 0) / 2 ** ptePPNShift) * 2 ** seL4_PageBits;
}

/** isPageTablePTE: valid with R, W and X clear (a pointer to the next level). */
function isPageTablePTE(pte: Word): boolean {
  return (pte & pteValid) !== 0 && (pte & (pteRead | pteWrite | pteExecute)) === 0;
}

/** A PageTablePTE: V set, the table's PPN. */
function tablePTE(table: number): Word {
  return (pteFromPaddr(table) | pteValid) >>> 0;
}

/** makeUserPTE: a user leaf with A and D preset; VMKernelOnly without execute is the invalid PTE (0). */
function makeUserPTE(paddr: number, executable: boolean, rights: VMRights): Word {
  if (rights === VMRights.VMKernelOnly && !executable) return 0;
  const read = rights !== VMRights.VMKernelOnly ? pteRead : 0;
  const write = rights === VMRights.VMReadWrite ? pteWrite : 0;
  const exec = executable ? pteExecute : 0;
  return (pteFromPaddr(paddr) | pteValid | read | write | exec | pteUser | pteAccessed | pteDirty) >>> 0;
}

/** The Sv32 word of a PTE as the view keeps it. */
function pteWord(entry: PteView): Word {
  if (entry.kind === 'table') return tablePTE(entry.table);
  return makeUserPTE(entry.frame, entry.executable, vmRightsOf(entry.rights));
}

function vmRightsOf(rights: number): VMRights {
  if (rights === VMRights.VMReadWrite || rights === VMRights.VMReadOnly || rights === VMRights.VMKernelOnly) return rights;
  throw new Error(`executable spec invariant: vm rights ${rights}`);
}

/** The view of a valid PTE word at `index`; a leaf maps 2^sizeBits bytes. */
function pteView(index: number, pte: Word, sizeBits: number): PteView {
  if (isPageTablePTE(pte)) return { index, kind: 'table', table: ptePaddr(pte) };
  const rights = (pte & pteWrite) !== 0 ? VMRights.VMReadWrite : (pte & pteRead) !== 0 ? VMRights.VMReadOnly : VMRights.VMKernelOnly;
  return { index, kind: 'page', frame: ptePaddr(pte), sizeBits, rights, executable: (pte & pteExecute) !== 0 };
}

// ---------------------------------------------------------------- reading and writing PTEs

/** A PTE's place: a table and an index into it. */
export interface PTSlot {
  readonly table: number;
  readonly index: number;
}

function pageTableAt(state: ExecState, table: number): PageTableObject {
  const obj = getObject(state, table);
  if (obj === null || obj.type !== 'pagetable') throw new Error(`executable spec invariant: no page table at ${table}`);
  return obj;
}

/** The PTE word at a slot (0, InvalidPTE, where no valid entry is kept). Kernel-window entries are never read. */
function pteAt(state: ExecState, slot: PTSlot): Word {
  const table = pageTableAt(state, slot.table);
  if (table.kernelWindow && slot.index >= kernelWindowFirstIndex) throw new Error('executable spec invariant: a kernel-window PTE read');
  const entry = table.entries.find((e) => e.index === slot.index);
  return entry === undefined ? 0 : pteWord(entry);
}

/** storePTE: writes a PTE word; a leaf's size is `sizeBits` (the level it sits at). */
function storePTE(k: Step, slot: PTSlot, pte: Word, sizeBits: number): void {
  const table = pageTableAt(k.state, slot.table);
  if (!Number.isInteger(slot.index) || slot.index < 0 || slot.index >= ptEntryCount) throw new Error(`executable spec invariant: PTE index ${slot.index}`);
  if (table.kernelWindow && slot.index >= kernelWindowFirstIndex) throw new Error('executable spec invariant: a kernel-window PTE written');
  const kept = table.entries.filter((e) => e.index !== slot.index);
  if (pte !== 0) {
    const entry = pteView(slot.index, pte, sizeBits);
    if (pteWord(entry) !== pte) throw new Error(`executable spec invariant: PTE ${pte} is not one seL4 writes`);
    kept.push(entry);
    kept.sort((a, b) => a.index - b.index);
  }
  k.setObject({ ...table, entries: kept });
}

// ---------------------------------------------------------------- lookups

/**
 * findVSpaceForASID: the VSpace root an ASID names, through the ASID table and its pool; null
 * (seL4's InvalidRoot lookup failure) when the table slot or the pool entry is empty.
 */
export function findVSpaceForASID(state: ExecState, asid: number): number | null {
  if (!Number.isInteger(asid) || asid <= 0 || asid >= asidTableSize * asidPoolSize) throw new Error(`executable spec invariant: ASID ${asid}`);
  const pool = state.asidTable[asid >>> seL4_ASIDPoolIndexBits] ?? null;
  if (pool === null) return null;
  const obj = getObject(state, pool);
  if (obj === null || obj.type !== 'asidpool') throw new Error(`executable spec invariant: the ASID table names no pool at ${pool}`);
  return obj.entries.find(([low]) => low === asid % asidPoolSize)?.[1] ?? null;
}

/**
 * lookupPTSlot: walks from the root towards vaddr, following table PTEs, and stops at the first
 * other entry or at the 4 KiB level; gives the slot and the bits of vaddr it covers (22 or 12).
 */
export function lookupPTSlot(state: ExecState, root: number, vaddr: Word): { slot: PTSlot; bitsLeft: number } {
  let table = root;
  for (let level = maxPTLevel; ; level--) {
    const slot = { table, index: ptIndex(level, vaddr) };
    const pte = pteAt(state, slot);
    if (level === 0 || !isPageTablePTE(pte)) return { slot, bitsLeft: ptBitsLeft(level) };
    table = ptePaddr(pte);
  }
}

/** lookupPTFromLevel (Sv32): the root slot for vaddr if it is a table PTE pointing at `target`. */
function lookupPTFromRoot(state: ExecState, root: number, vaddr: Word, target: number): PTSlot | null {
  const slot = { table: root, index: ptIndex(maxPTLevel, vaddr) };
  const pte = pteAt(state, slot);
  return isPageTablePTE(pte) && ptePaddr(pte) === target ? slot : null;
}

// ---------------------------------------------------------------- unmapping and deletion

/**
 * unmapPageTable: a page table is taken out of the VSpace it was mapped into. If the ASID still
 * names a root whose entry for vaddr points at this table, that entry is cleared; otherwise
 * (the root deleted, the ASID reused, the entry replaced) nothing changes.
 */
export function unmapPageTable(k: Step, asid: number, vaddr: Word, table: number): void {
  const root = findVSpaceForASID(k.state, asid);
  if (root === null) return;
  const slot = lookupPTFromRoot(k.state, root, vaddr, table);
  if (slot !== null) storePTE(k, slot, 0, seL4_PageTableBits);
}

/**
 * unmapPage: a frame's mapping is removed from a VSpace. Only if the ASID still names a root, the
 * walk for vaddr stops at the frame's size, and the PTE there maps this very frame is it cleared;
 * a stale record (its table gone or replaced) unmaps nothing.
 */
export function unmapPage(k: Step, sizeBits: number, asid: number, vaddr: Word, frame: number): void {
  const root = findVSpaceForASID(k.state, asid);
  if (root === null) return;
  const { slot, bitsLeft } = lookupPTSlot(k.state, root, vaddr);
  if (bitsLeft !== sizeBits) return;
  const pte = pteAt(k.state, slot);
  if ((pte & pteValid) === 0 || isPageTablePTE(pte) || ptePaddr(pte) !== frame) return;
  storePTE(k, slot, 0, sizeBits);
}

/**
 * deleteASIDPool: the last cap to a pool is deleted, so its ASIDs stop resolving: the ASID table
 * slot is cleared if it still names this pool. The roots assigned in it are left as they are.
 */
export function deleteASIDPool(k: Step, base: number, pool: number): void {
  if (base % asidPoolSize !== 0) throw new Error(`executable spec invariant: pool base ${base} not aligned`);
  const index = base >>> seL4_ASIDPoolIndexBits;
  if (k.state.asidTable[index] !== pool) return;
  k.setASIDTableEntry(index, null);
  const obj = getObject(k.state, pool);
  if (obj !== null && obj.type === 'asidpool') k.setObject({ ...obj, asidBase: null });
}

/**
 * deleteASID: the last cap to an assigned VSpace root is deleted, so its ASID is released: the
 * pool entry is cleared if it still names this root (the TLB flush of the ASID is not modelled).
 */
export function deleteASID(k: Step, asid: number, root: number): void {
  const pool = k.state.asidTable[asid >>> seL4_ASIDPoolIndexBits] ?? null;
  if (pool === null) return;
  const obj = getObject(k.state, pool);
  if (obj === null || obj.type !== 'asidpool') throw new Error(`executable spec invariant: the ASID table names no pool at ${pool}`);
  const low = asid % asidPoolSize;
  if (!obj.entries.some(([l, r]) => l === low && r === root)) return;
  k.setObject({ ...obj, entries: obj.entries.filter(([l]) => l !== low) });
}

/**
 * finaliseCap for the VSpace caps (Arch_finaliseCap): a frame cap with a mapping unmaps it, final
 * or not (each copy records its own); the last cap to a mapped page table deletes its ASID when it
 * is a live root, else unmaps it from its root; the last cap to a pool deletes the pool from the
 * ASID table. ASID control caps need nothing.
 */
export function finaliseVSpaceCap(k: Step, cap: Cap, final: boolean): void {
  switch (cap.type) {
    case 'frame':
      if (cap.mapped !== null) unmapPage(k, cap.sizeBits, cap.mapped.asid, cap.mapped.vaddr, cap.ptr);
      return;
    case 'pagetable':
      if (!final || cap.mapped === null) return;
      if (findVSpaceForASID(k.state, cap.mapped.asid) === cap.ptr) deleteASID(k, cap.mapped.asid, cap.ptr);
      else unmapPageTable(k, cap.mapped.asid, cap.mapped.vaddr, cap.ptr);
      return;
    case 'asidpool':
      if (final) deleteASIDPool(k, cap.asidBase, cap.ptr);
      return;
    default:
      return;
  }
}

// ---------------------------------------------------------------- invocations

export type VSpaceInvocation =
  | { readonly kind: 'pageTableMap'; readonly cap: CapOf<'pagetable'>; readonly capSlot: SlotRef; readonly pte: Word; readonly ptSlot: PTSlot }
  | { readonly kind: 'pageTableUnmap'; readonly cap: CapOf<'pagetable'>; readonly capSlot: SlotRef }
  | { readonly kind: 'pageMap'; readonly cap: CapOf<'frame'>; readonly capSlot: SlotRef; readonly pte: Word; readonly ptSlot: PTSlot }
  | { readonly kind: 'pageUnmap'; readonly cap: CapOf<'frame'>; readonly capSlot: SlotRef }
  | { readonly kind: 'pageGetAddress'; readonly paddr: number }
  | { readonly kind: 'makePool'; readonly frame: number; readonly slot: SlotRef; readonly parent: SlotRef; readonly base: number }
  | { readonly kind: 'assign'; readonly asid: number; readonly pool: number; readonly rootSlot: SlotRef };

type VSpaceCap = CapOf<'frame' | 'pagetable' | 'asidcontrol' | 'asidpool'>;

/** decodeRISCVMMUInvocation: dispatch on the invoked VSpace cap. */
export function decodeRISCVMMUInvocation(state: ExecState, args: InvocationArgs, slot: SlotRef, cap: VSpaceCap): VSpaceInvocation | SyscallError {
  switch (cap.type) {
    case 'frame':
      return decodeRISCVFrameInvocation(state, args, slot, cap);
    case 'pagetable':
      return decodeRISCVPageTableInvocation(state, args, slot, cap);
    case 'asidcontrol':
      return decodeRISCVASIDControlInvocation(state, args);
    case 'asidpool':
      return decodeRISCVASIDPoolInvocation(state, args, cap);
  }
}

/** A map call's extra cap: a mapped page table cap, as (root, ASID); anything else is InvalidCapability(1). */
function mappedVSpaceCap(cap: Cap): { root: number; asid: number } | SyscallError {
  if (cap.type !== 'pagetable' || cap.mapped === null) return { error: 'InvalidCapability', capIndex: 1 };
  return { root: cap.ptr, asid: cap.mapped.asid };
}

/** The ASID must name a root (else FailedLookup, InvalidRoot), and that root be the cap's table (else InvalidCapability(1)). */
function checkVSpaceRoot(state: ExecState, vspace: { root: number; asid: number }): SyscallError | null {
  const root = findVSpaceForASID(state, vspace.asid);
  if (root === null) return { error: 'FailedLookup', source: false, failure: { type: 'InvalidRoot' } };
  return root === vspace.root ? null : { error: 'InvalidCapability', capIndex: 1 };
}

/**
 * Page_Map, Page_Unmap and Page_GetAddress. A map names a VSpace (an assigned root), a user address
 * aligned to the frame's size, rights (masked by the cap's) and attributes (bit 0: execute never);
 * the walk must end at the frame's level, and the slot be free unless the cap remaps its own
 * mapping there. Unmap and GetAddress take no arguments.
 */
export function decodeRISCVFrameInvocation(state: ExecState, args: InvocationArgs, capSlot: SlotRef, cap: CapOf<'frame'>): VSpaceInvocation | SyscallError {
  switch (args.label) {
    case InvocationLabel.RISCVPageMap:
      return decodeFrameMap(state, args, capSlot, cap);
    case InvocationLabel.RISCVPageUnmap:
      return { kind: 'pageUnmap', cap, capSlot };
    case InvocationLabel.RISCVPageGetAddress:
      return { kind: 'pageGetAddress', paddr: cap.ptr };
    default:
      return { error: 'IllegalOperation' };
  }
}

function decodeFrameMap(state: ExecState, args: InvocationArgs, capSlot: SlotRef, cap: CapOf<'frame'>): VSpaceInvocation | SyscallError {
  if (args.length < 3 || args.extraCaps.length < 1) return { error: 'TruncatedMessage' };
  const vaddr = args.arg(0) >>> 0;
  const rightsMask = args.arg(1);
  const attr = args.arg(2);
  const vspace = mappedVSpaceCap(getCap(state, args.extraCaps[0]!));
  if (isSyscallError(vspace)) return vspace;
  const rootError = checkVSpaceRoot(state, vspace);
  if (rootError !== null) return rootError;
  const frameBytes = 2 ** cap.sizeBits;
  if (((vaddr + frameBytes - 1) >>> 0) >= seL4_UserTop) return { error: 'InvalidArgument', argumentIndex: 0 };
  if (vaddr % frameBytes !== 0) return { error: 'AlignmentError' };
  const { slot, bitsLeft } = lookupPTSlot(state, vspace.root, vaddr);
  if (bitsLeft !== cap.sizeBits) return { error: 'FailedLookup', source: false, failure: { type: 'MissingCapability', bitsLeft } };
  const old = pteAt(state, slot);
  if (cap.mapped !== null) {
    if (cap.mapped.asid !== vspace.asid) return { error: 'InvalidCapability', capIndex: 1 };
    if (cap.mapped.vaddr !== vaddr) return { error: 'InvalidArgument', argumentIndex: 0 };
    if (isPageTablePTE(old)) return { error: 'DeleteFirst' };
  } else if (old !== 0) {
    return { error: 'DeleteFirst' };
  }
  const rights = maskVMRights(cap.vmRights, rightsMask);
  const executable = (attr & 0x1) === 0;
  return {
    kind: 'pageMap', cap: { ...cap, mapped: { asid: vspace.asid, vaddr } }, capSlot,
    pte: makeUserPTE(cap.ptr, executable, rights), ptSlot: slot,
  };
}

/**
 * PageTable_Map and PageTable_Unmap. A map puts an unmapped table under an assigned root at the
 * 4 MiB window of a user address, where the root holds nothing yet. An unmap needs the last cap
 * to the table, and the table must not be a live root.
 */
export function decodeRISCVPageTableInvocation(state: ExecState, args: InvocationArgs, capSlot: SlotRef, cap: CapOf<'pagetable'>): VSpaceInvocation | SyscallError {
  switch (args.label) {
    case InvocationLabel.RISCVPageTableMap:
      return decodePageTableMap(state, args, capSlot, cap);
    case InvocationLabel.RISCVPageTableUnmap:
      if (!isFinalCapability(state, capSlot)) return { error: 'RevokeFirst' };
      if (cap.mapped !== null && findVSpaceForASID(state, cap.mapped.asid) === cap.ptr) return { error: 'RevokeFirst' };
      return { kind: 'pageTableUnmap', cap, capSlot };
    default:
      return { error: 'IllegalOperation' };
  }
}

function decodePageTableMap(state: ExecState, args: InvocationArgs, capSlot: SlotRef, cap: CapOf<'pagetable'>): VSpaceInvocation | SyscallError {
  if (args.length < 2 || args.extraCaps.length < 1) return { error: 'TruncatedMessage' };
  const vaddr = args.arg(0) >>> 0;
  if (cap.mapped !== null) return { error: 'InvalidCapability', capIndex: 0 };
  const vspace = mappedVSpaceCap(getCap(state, args.extraCaps[0]!));
  if (isSyscallError(vspace)) return vspace;
  if (vaddr >= seL4_UserTop) return { error: 'InvalidArgument', argumentIndex: 0 };
  const rootError = checkVSpaceRoot(state, vspace);
  if (rootError !== null) return rootError;
  const { slot, bitsLeft } = lookupPTSlot(state, vspace.root, vaddr);
  if (bitsLeft === seL4_PageBits || pteAt(state, slot) !== 0) return { error: 'DeleteFirst' };
  const windowBytes = 2 ** bitsLeft;
  return {
    kind: 'pageTableMap', cap: { ...cap, mapped: { asid: vspace.asid, vaddr: vaddr - (vaddr % windowBytes) } }, capSlot,
    pte: tablePTE(cap.ptr), ptSlot: slot,
  };
}

/**
 * ASIDControl_MakePool: a 4 KiB RAM untyped without children becomes a new ASID pool, given the
 * lowest free slot of the ASID table; its cap goes into an empty slot (MR0 index, MR1 depth below
 * extra cap 1) as the untyped's child.
 */
export function decodeRISCVASIDControlInvocation(state: ExecState, args: InvocationArgs): VSpaceInvocation | SyscallError {
  if (args.label !== InvocationLabel.RISCVASIDControlMakePool) return { error: 'IllegalOperation' };
  if (args.length < 2 || args.extraCaps.length < 2) return { error: 'TruncatedMessage' };
  const index = args.arg(0);
  const depth = args.arg(1);
  const parent = args.extraCaps[0]!;
  const free = state.asidTable.findIndex((pool) => pool === null);
  if (free < 0) return { error: 'DeleteFirst' };
  const untyped = getCap(state, parent);
  if (untyped.type !== 'untyped' || untyped.isDevice || untyped.sizeBits !== seL4_ASIDPoolBits) return { error: 'InvalidCapability', capIndex: 1 };
  if (hasChildren(state, parent)) return { error: 'RevokeFirst' };
  const slot = lookupTargetSlot(state, getCap(state, args.extraCaps[1]!), index, depth);
  if (isSyscallError(slot)) return slot;
  if (getCap(state, slot).type !== 'null') return { error: 'DeleteFirst' };
  return { kind: 'makePool', frame: untyped.ptr, slot, parent, base: free * asidPoolSize };
}

/**
 * ASIDPool_Assign: an unmapped page table becomes a VSpace root with the pool's lowest free ASID
 * (never ASID 0).
 */
export function decodeRISCVASIDPoolInvocation(state: ExecState, args: InvocationArgs, cap: CapOf<'asidpool'>): VSpaceInvocation | SyscallError {
  if (args.label !== InvocationLabel.RISCVASIDPoolAssign) return { error: 'IllegalOperation' };
  if (args.extraCaps.length < 1) return { error: 'TruncatedMessage' };
  const rootSlot = args.extraCaps[0]!;
  const rootCap = getCap(state, rootSlot);
  if (rootCap.type !== 'pagetable' || rootCap.mapped !== null) return { error: 'InvalidCapability', capIndex: 1 };
  const pool = state.asidTable[cap.asidBase >>> seL4_ASIDPoolIndexBits] ?? null;
  if (pool === null) return { error: 'FailedLookup', source: false, failure: { type: 'InvalidRoot' } };
  if (pool !== cap.ptr) return { error: 'InvalidCapability', capIndex: 0 };
  const obj = getObject(state, pool);
  if (obj === null || obj.type !== 'asidpool') throw new Error(`executable spec invariant: the ASID table names no pool at ${pool}`);
  for (let low = 0; low < asidPoolSize; low++) {
    if (cap.asidBase + low !== 0 && !obj.entries.some(([l]) => l === low)) return { kind: 'assign', asid: cap.asidBase + low, pool, rootSlot };
  }
  return { error: 'DeleteFirst' };
}

/** performPageTableInvocation: Map writes the root's table PTE and records the mapping in the cap;
 * Unmap unlinks a mapped table from its root, zeroes all 1024 entries, and marks the cap unmapped. */
function performPageTableInvocation(k: Step, inv: Extract<VSpaceInvocation, { kind: 'pageTableMap' | 'pageTableUnmap' }>): void {
  if (inv.kind === 'pageTableMap') {
    k.setCap(inv.capSlot, inv.cap);
    storePTE(k, inv.ptSlot, inv.pte, seL4_PageTableBits);
    return;
  }
  if (inv.cap.mapped !== null) {
    unmapPageTable(k, inv.cap.mapped.asid, inv.cap.mapped.vaddr, inv.cap.ptr);
    k.setObject({ ...pageTableAt(k.state, inv.cap.ptr), entries: [], kernelWindow: false });
  }
  const now = k.cap(inv.capSlot);
  if (now.type !== 'pagetable') throw new Error('executable spec invariant: PageTable_Unmap lost its cap');
  k.setCap(inv.capSlot, { ...now, mapped: null });
}

/**
 * performPageInvocation: Map writes the leaf PTE (new or remap) and records the mapping in the
 * cap; Unmap removes the cap's recorded mapping if it is still in place and marks the cap unmapped;
 * GetAddress answers the frame's physical address. Gives the reply words.
 */
function performPageInvocation(k: Step, inv: Extract<VSpaceInvocation, { kind: 'pageMap' | 'pageUnmap' | 'pageGetAddress' }>): Word[] {
  switch (inv.kind) {
    case 'pageMap':
      k.setCap(inv.capSlot, inv.cap);
      storePTE(k, inv.ptSlot, inv.pte, inv.cap.sizeBits);
      return [];
    case 'pageUnmap': {
      if (inv.cap.mapped !== null) unmapPage(k, inv.cap.sizeBits, inv.cap.mapped.asid, inv.cap.mapped.vaddr, inv.cap.ptr);
      const now = k.cap(inv.capSlot);
      if (now.type !== 'frame') throw new Error('executable spec invariant: Page_Unmap lost its cap');
      k.setCap(inv.capSlot, { ...now, mapped: null });
      return [];
    }
    case 'pageGetAddress':
      return [inv.paddr];
  }
}

/**
 * performASIDControlInvocation: the untyped's 4 KiB is detyped and zeroed and marked used up, the
 * new pool's cap inserted as its child, and the ASID table slot set to the pool (the slot is the
 * entry's witnessed choice: l4v's abstract spec allows any free one).
 */
function performASIDControlInvocation(k: Step, inv: Extract<VSpaceInvocation, { kind: 'makePool' }>): void {
  const poolBytes = 2 ** seL4_ASIDPoolBits;
  k.removeObjectsIn(inv.frame, poolBytes);
  k.clearMemory(inv.frame, poolBytes);
  const untyped = k.cap(inv.parent);
  if (untyped.type !== 'untyped') throw new Error('executable spec invariant: MakePool lost its untyped');
  k.setCap(inv.parent, { ...untyped, freeIndex: 2 ** untyped.sizeBits });
  k.setObject({ type: 'asidpool', addr: inv.frame, asidBase: inv.base, entries: [] });
  cteInsert(k, { type: 'asidpool', ptr: inv.frame, asidBase: inv.base }, inv.parent, inv.slot);
  k.setASIDTableEntry(inv.base >>> seL4_ASIDPoolIndexBits, inv.frame);
  k.choices.push({ point: 'asidPool', index: inv.base >>> seL4_ASIDPoolIndexBits });
}

/**
 * performASIDPoolInvocation: the root's cap records (ASID, 0), the root gets the kernel window
 * (copyGlobalMappings), and the pool's entry names the root (the ASID is the entry's witnessed
 * choice).
 */
function performASIDPoolInvocation(k: Step, inv: Extract<VSpaceInvocation, { kind: 'assign' }>): void {
  const cap = k.cap(inv.rootSlot);
  if (cap.type !== 'pagetable') throw new Error('executable spec invariant: Assign lost its page table cap');
  k.setCap(inv.rootSlot, { ...cap, mapped: { asid: inv.asid, vaddr: 0 } });
  const root = pageTableAt(k.state, cap.ptr);
  if (root.entries.some((e) => e.index >= kernelWindowFirstIndex)) throw new Error('executable spec invariant: a user PTE in the kernel window');
  k.setObject({ ...root, kernelWindow: true });
  const pool = getObject(k.state, inv.pool);
  if (pool === null || pool.type !== 'asidpool') throw new Error(`executable spec invariant: no pool at ${inv.pool}`);
  const low = inv.asid % asidPoolSize;
  const entries = [...pool.entries, [low, cap.ptr] as const].sort(([a], [b]) => a - b);
  k.setObject({ ...pool, entries });
  k.choices.push({ point: 'asid', asid: inv.asid });
}

/** performRISCVMMUInvocation: carries out a decoded VSpace invocation; gives the reply words. */
export function performRISCVMMUInvocation(k: Step, inv: VSpaceInvocation): Word[] {
  switch (inv.kind) {
    case 'pageTableMap':
    case 'pageTableUnmap':
      performPageTableInvocation(k, inv);
      return [];
    case 'pageMap':
    case 'pageUnmap':
    case 'pageGetAddress':
      return performPageInvocation(k, inv);
    case 'makePool':
      performASIDControlInvocation(k, inv);
      return [];
    case 'assign':
      performASIDPoolInvocation(k, inv);
      return [];
  }
}

// ---------------------------------------------------------------- user accesses

/**
 * get_vspace_of_thread: the root the thread's user accesses translate through: the page table of
 * its TCB slot 1 cap if that cap is mapped with an ASID that still names that very table; else
 * null, the kernel's own table, which maps nothing for the user.
 */
function vspaceOfThread(state: ExecState, thread: number): number | null {
  const cap = getCap(state, { cnode: thread, index: TCBSlot.vspace });
  if (cap.type !== 'pagetable' || cap.mapped === null) return null;
  return findVSpaceForASID(state, cap.mapped.asid) === cap.ptr ? cap.ptr : null;
}

/**
 * The Sv32 walk (ptable_lift, ptable_rights) from `root`: the leaf PTE that maps vaddr with U
 * set, or null (an invalid entry, or the kernel window, whose 4 MiB leaves lack U). No TLB: the
 * walk reads the current PTEs, as seL4 with its flushes shows them (sel4-facts 24.10).
 */
function userLeaf(state: ExecState, root: number, vaddr: Word): Translation | null {
  if (ptIndex(maxPTLevel, vaddr) >= kernelWindowFirstIndex) return null;
  const { slot, bitsLeft } = lookupPTSlot(state, root, vaddr);
  const pte = pteAt(state, slot);
  if ((pte & pteValid) === 0 || isPageTablePTE(pte) || (pte & pteUser) === 0) return null;
  const leaf = pteView(slot.index, pte, bitsLeft);
  if (leaf.kind !== 'page') throw new Error('executable spec invariant: a leaf PTE read as a table');
  const offset = (vaddr >>> 0) % 2 ** bitsLeft;
  return { paddr: leaf.frame + offset - (offset % 4), frame: leaf.frame, sizeBits: bitsLeft, rights: leaf.rights, executable: leaf.executable };
}

/** How the thread's accesses at vaddr translate now (KernelView.translate); null when nothing maps it or `thread` is no TCB. */
export function translate(state: ExecState, thread: number, vaddr: Word): Translation | null {
  if (getTCB(state, thread) === null) return null;
  const root = vspaceOfThread(state, thread);
  return root === null ? null : userLeaf(state, root, vaddr);
}

/** Whether a leaf's rights allow the access: R for a load, W for a store, X for a fetch. */
function leafAllows(leaf: Translation, access: AccessKind): boolean {
  switch (access) {
    case 'load':
      return leaf.rights === VMRights.VMReadWrite || leaf.rights === VMRights.VMReadOnly;
    case 'store':
      return leaf.rights === VMRights.VMReadWrite;
    case 'execute':
      return leaf.executable;
  }
}

/** A user access that translated: the new state, the word loaded, fetched or stored, and the word's address if a store wrote it. */
export interface UserAccessHit {
  readonly state: ExecState;
  readonly word: Word;
  readonly storedAt: number | null;
}

/**
 * A user load, store or fetch of the aligned word holding vaddr by `thread` (AccessEvent): through
 * its VSpace, with the leaf's rights; a device frame reads 0 and drops stores. Null when the
 * access faults (the kernel is then entered: handleVMFaultEvent). No kernel state changes.
 */
export function accessUserMemory(state: ExecState, thread: number, access: AccessKind, vaddr: Word, value: Word = 0): UserAccessHit | null {
  if (!accessKinds.includes(access)) throw new Error(`a user access is a load, store or execute, got ${String(access)}`);
  if (!Number.isInteger(vaddr) || !Number.isInteger(value)) throw new Error(`a user access needs integer words, got vaddr ${vaddr}, value ${value}`);
  if (getTCB(state, thread) === null) throw new Error(`executable spec invariant: a user access by ${hex(thread)}, no TCB`);
  const root = vspaceOfThread(state, thread);
  const leaf = root === null ? null : userLeaf(state, root, vaddr);
  if (leaf === null || !leafAllows(leaf, access)) return null;
  const frame = getObject(state, leaf.frame);
  if (frame === null || frame.type !== 'frame') throw new Error(`executable spec invariant: a user leaf maps no frame at ${hex(leaf.frame)}`);
  if (access !== 'store') return { state, word: frame.isDevice ? 0 : userWord(state, leaf.paddr), storedAt: null };
  if (frame.isDevice) return { state, word: value >>> 0, storedAt: null };
  const k = new Step(state);
  k.setWord(leaf.paddr, value);
  return { state: k.state, word: value >>> 0, storedAt: leaf.paddr };
}

// ---------------------------------------------------------------- invariants

/** What is wrong with a live root's table (reached through the ASID table), or null. */
function liveTableViolation(state: ExecState, table: number, level: number): string | null {
  const obj = getObject(state, table);
  if (obj === null || obj.type !== 'pagetable') return `no page table at ${hex(table)}, reached from a live root`;
  if (obj.kernelWindow !== (level === maxPTLevel)) return `page table ${hex(table)} at level ${level} with kernelWindow ${obj.kernelWindow}`;
  for (const entry of obj.entries) {
    if (entry.kind === 'table') {
      const below = level > 0 ? liveTableViolation(state, entry.table, level - 1) : `a table PTE in the level-0 table ${hex(table)}`;
      if (below !== null) return below;
      continue;
    }
    const frame = getObject(state, entry.frame);
    if (entry.sizeBits !== ptBitsLeft(level) || frame === null || frame.type !== 'frame' || frame.sizeBits !== entry.sizeBits) {
      return `PTE ${entry.index} of ${hex(table)} maps no frame of 2^${entry.sizeBits} bytes at ${hex(entry.frame)}`;
    }
  }
  return null;
}

/**
 * The VSpace invariants (valid_asid_table, valid_vspace_objs, in part): the ASID table and the
 * pools' bases agree; every root a pool names is a page table holding the kernel window; every
 * PTE reached from a live root points at a page table (from the root) or at a frame of its size.
 */
export function vspaceInvariantViolation(state: ExecState): string | null {
  for (let index = 0; index < asidTableSize; index++) {
    const pool = state.asidTable[index] ?? null;
    if (pool === null) continue;
    const obj = getObject(state, pool);
    if (obj === null || obj.type !== 'asidpool') return `ASID table slot ${index} names no pool`;
    if (obj.asidBase !== index * asidPoolSize) return `pool ${hex(pool)} in ASID table slot ${index} has base ${obj.asidBase}`;
    for (const [, root] of obj.entries) {
      const violation = liveTableViolation(state, root, maxPTLevel);
      if (violation !== null) return violation;
    }
  }
  for (const obj of state.objects.values()) {
    if (obj.type === 'asidpool' && obj.asidBase !== null && state.asidTable[obj.asidBase / asidPoolSize] !== obj.addr) {
      return `pool ${hex(obj.addr)} has base ${obj.asidBase} but the ASID table does not name it`;
    }
  }
  return null;
}

// ---------------------------------------------------------------- boot

/**
 * The root task's VSpace (create_it_address_space): the root assigned ASID 1 in the boot pool at
 * ASID table slot 0 with the kernel window, each mapped image page table in the root and each
 * mapped boot frame in its page table with PTE 0xDF (read, write, execute).
 */
export function bootVSpace(k: Step, rootCaps: ReadonlyArray<readonly [number, Cap]>, root: number, pool: number): void {
  const rootTable = pageTableAt(k.state, root);
  k.setObject({ ...rootTable, kernelWindow: true });
  const bootASID = 1;
  k.setObject({ type: 'asidpool', addr: pool, asidBase: 0, entries: [[bootASID, root]] });
  k.setASIDTableEntry(0, pool);
  for (const [, cap] of rootCaps) {
    if (cap.type !== 'pagetable' || cap.mapped === null || cap.ptr === root) continue;
    if (cap.mapped.asid !== bootASID) throw new Error('executable spec invariant: a boot page table outside the root VSpace');
    storePTE(k, lookupPTSlot(k.state, root, cap.mapped.vaddr).slot, tablePTE(cap.ptr), seL4_PageTableBits);
  }
  for (const [, cap] of rootCaps) {
    if (cap.type !== 'frame' || cap.mapped === null) continue;
    const { slot, bitsLeft } = lookupPTSlot(k.state, root, cap.mapped.vaddr);
    if (bitsLeft !== cap.sizeBits || pteAt(k.state, slot) !== 0) throw new Error('executable spec invariant: a boot frame without its page table');
    storePTE(k, slot, makeUserPTE(cap.ptr, true, VMRights.VMReadWrite), cap.sizeBits);
  }
}
