// Virtual memory on riscv32 (Sv32), as seL4's arch/riscv/kernel/vspace.c and the arch part of
// object/objecttype.c: page tables are 4 KiB objects in memory holding 1,024 real Sv32 PTEs,
// ASID pools are 4 KiB objects whose first 16 words point at VSpace roots, and the ASID table
// (32 pool pointers) and the kernel's root page table are kernel globals of the state.
// Pointers in pools and the ASID table are link words (addr | 1, 0 for none; see state.ts).
// Decoders check the arguments in seL4's order and return the error or an invocation whose
// perform cannot fail. No TLB or satp is modelled (V2): sfence and setVMRoot have no effect here,
// and every user access (accessUserMemory) walks the current page tables.
import {
  InvocationLabel,
  VMRights,
  maskVMRights,
  seL4_ASIDPoolBits,
  seL4_ASIDPoolIndexBits,
  seL4_LargePageBits,
  seL4_NumASIDPoolsBits,
  seL4_PageBits,
  seL4_PageTableBits,
  seL4_UserTop,
  msgRegisters,
  type AccessKind,
  type PteView,
  type SyscallError,
  type Translation,
} from '../libsel4/index.ts';
import { cteInsert, ensureNoChildren, isFinalCapability, isNullSlot, slotW0, slotW1, writeCap } from './cnode.ts';
import { lookupSlotForCNodeOp } from './cspace.ts';
import { NONE, fail, ghostAdd, ghostClearRange, inRam, linkTarget, linkWord, markObject, readWord, writeObjectWord, writeObjectWords, writeUserWord, zeroRange, type ImplState } from './state.ts';
import {
  CapTag,
  asidPoolPtr,
  capTag,
  frameIsDevice,
  frameSizeBits,
  frameVMRights,
  mappedAsid,
  mappedFlag,
  mappedVaddr,
  pagePtr,
  ptMappedBit,
  untypedIsDevice,
  untypedPtr,
  untypedSizeBits,
  untypedWithFreeIndex,
} from './structures.ts';
import { syscallArg, type InvocationContext } from './syscall.ts';
import { ThreadStateNum, replyWords, setRegister, setThreadState, tcbSlot } from './tcb.ts';

// ---- Sv32 geometry and PTE bits (structures.bf: V R W X U G A D from bit 0, PPN from bit 10) ----

export const ptEntryCount = 1 << (seL4_PageTableBits - 2);
/** RISCV_GET_PT_INDEX(PPTR_BASE, 0): the first root entry of the kernel window. */
export const kernelWindowFirstIndex = seL4_UserTop >>> seL4_LargePageBits;
const pptrTopIndex = 0xff800000 >>> seL4_LargePageBits;
const asidPoolCount = 1 << seL4_NumASIDPoolsBits;
const asidPoolEntries = 1 << seL4_ASIDPoolIndexBits;

export const PteBit = { V: 0x1, R: 0x2, W: 0x4, X: 0x8, U: 0x10, G: 0x20, A: 0x40, D: 0x80 } as const;
const ppnShift = 10;

const pteValid = (pte: number) => (pte & PteBit.V) !== 0;
// Masks as plain constants: the walk of every user access tests them, and a small function is inlined.
const pteVRWX = PteBit.V | PteBit.R | PteBit.W | PteBit.X;
const pteVU = PteBit.V | PteBit.U;
const pteRW = PteBit.R | PteBit.W;
const pteRWX = PteBit.R | PteBit.W | PteBit.X;
const [pteR, pteW, pteX, pteV] = [PteBit.R, PteBit.W, PteBit.X, PteBit.V];
/** isPTEPageTable: valid, and none of R, W, X. */
const isPTEPageTable = (pte: number) => (pte & pteVRWX) === pteV;
/** The physical address a PTE's PPN names. */
const pageBytes = 2 ** seL4_PageBits;
/** (A constant factor: `2 ** seL4_PageBits` here was a Math.pow call per walk.) */
const ptePaddr = (pte: number) => (pte >>> ppnShift) * pageBytes;
const pteOf = (paddr: number, flags: number) => (Math.floor(paddr / 2 ** seL4_PageBits) * 2 ** ppnShift + flags) >>> 0;

/** A next-level table entry: V only. */
const tablePTE = (table: number) => pteOf(table, PteBit.V);

/** makeUserPTE: a user leaf with A and D preset; nothing readable, writable or executable is the invalid PTE. */
export function makeUserPTE(paddr: number, executable: boolean, rights: VMRights): number {
  const read = rights !== VMRights.VMKernelOnly;
  const write = rights === VMRights.VMReadWrite;
  if (!read && !write && !executable) return 0;
  return pteOf(paddr, PteBit.V | (read ? PteBit.R : 0) | (write ? PteBit.W : 0) | (executable ? PteBit.X : 0) | PteBit.U | PteBit.A | PteBit.D);
}

/** pte_next(paddr, leaf): the kernel window's 4 MiB leaves (R W X, global, not user). */
const kernelLeaf = (paddr: number) => pteOf(paddr, PteBit.V | PteBit.R | PteBit.W | PteBit.X | PteBit.G | PteBit.A | PteBit.D);

/**
 * map_kernel_window: physical memory from PADDR_BASE (RAM's base rounded down to 4 MiB) at
 * PPTR_BASE up to PPTR_TOP, then the kernel ELF's 4 MiB (at the start of RAM here); the kernel
 * device entry stays invalid (no kernel devices are modelled).
 */
export function kernelRootPageTable(ramBase: number): Uint32Array {
  const table = new Uint32Array(ptEntryCount);
  const paddrBase = ramBase - (ramBase % 2 ** seL4_LargePageBits);
  for (let index = kernelWindowFirstIndex; index < pptrTopIndex; index++) {
    // paddr_t is a 32-bit word: the window wraps as seL4's arithmetic does.
    table[index] = kernelLeaf((paddrBase + (index - kernelWindowFirstIndex) * 2 ** seL4_LargePageBits) % 2 ** 32);
  }
  table[pptrTopIndex] = kernelLeaf(paddrBase);
  return table;
}

// ---- memory access ----

function assertObject(state: ImplState, addr: number, type: 'pagetable' | 'asidpool'): void {
  if (state.debug && state.ghost.get(addr)?.type !== type) fail(`no ${type} at ${addr.toString(16)}`);
}

const readPTE = (state: ImplState, table: number, index: number) => readWord(state, table + index * 4);

function writePTE(state: ImplState, table: number, index: number, pte: number): void {
  assertObject(state, table, 'pagetable');
  if (state.debug && (pte & (PteBit.V | PteBit.R | PteBit.W)) === (PteBit.V | PteBit.W)) fail('a write-only PTE');
  writeObjectWord(state, table, index * 4, pte);
}

/** The pool the ASID table names at `high`, or NONE. */
function asidTablePool(state: ImplState, high: number): number {
  return linkTarget(state.asidTable[high]!);
}

function setAsidTable(state: ImplState, high: number, pool: number): void {
  const old = asidTablePool(state, high);
  if (state.debug && pool !== NONE && old !== NONE) fail(`ASID table slot ${high} holds a pool already`);
  state.asidTable[high] = linkWord(pool);
  // The pools' views show their table base.
  if (old !== NONE) markObject(state, old);
  if (pool !== NONE) markObject(state, pool);
}

const poolRoot = (state: ImplState, pool: number, low: number) => linkTarget(readWord(state, pool + low * 4));

function setPoolRoot(state: ImplState, pool: number, low: number, root: number): void {
  assertObject(state, pool, 'asidpool');
  if (state.debug && root !== NONE) {
    assertObject(state, root, 'pagetable');
    if (poolRoot(state, pool, low) !== NONE) fail(`ASID pool entry ${low} assigned twice`);
    if (!holdsKernelWindow(state, root)) fail(`VSpace root ${root.toString(16)} assigned without the kernel window`);
  }
  writeObjectWord(state, pool, low * 4, linkWord(root));
}

// ---- lookups ----

/** The root the ASID names, or NONE: findVSpaceForASID without its checks (the walk of every user access uses it). */
function asidRoot(state: ImplState, asid: number): number {
  const pool = asidTablePool(state, asid >>> seL4_ASIDPoolIndexBits);
  return pool === NONE ? NONE : poolRoot(state, pool, asid & (asidPoolEntries - 1));
}

/** findVSpaceForASID: the root the ASID names, or NONE (the lookup failure is InvalidRoot). */
export function findVSpaceForASID(state: ImplState, asid: number): number {
  const root = asidRoot(state, asid);
  if (state.debug && root !== NONE) {
    assertObject(state, asidTablePool(state, asid >>> seL4_ASIDPoolIndexBits), 'asidpool');
    assertObject(state, root, 'pagetable');
  }
  return root;
}

/** What lookupPTSlot returns: the table and index of the slot it stopped at, and the bits left. */
interface PTSlot {
  readonly table: number;
  readonly index: number;
  readonly bitsLeft: number;
}

/** lookupPTSlot: from the root, follow a table PTE to level 1; stop at any other entry. */
export function lookupPTSlot(state: ImplState, root: number, vaddr: number): PTSlot {
  const rootIndex = vaddr >>> seL4_LargePageBits;
  const pte = readPTE(state, root, rootIndex);
  if (!isPTEPageTable(pte)) return { table: root, index: rootIndex, bitsLeft: seL4_LargePageBits };
  const table = ptePaddr(pte);
  assertObject(state, table, 'pagetable');
  return { table, index: (vaddr >>> seL4_PageBits) & (ptEntryCount - 1), bitsLeft: seL4_PageBits };
}

// ---- user memory (l4v's get_vspace_of_thread and the Sv32 walk of ptable_lift / ptable_rights) ----

// Addresses above 2^31 (RAM at 0x80000000) are heap numbers: a call that is not inlined boxes
// them. The walk of every user access hands RAM word indices (small integers) around instead.

/** The RAM word index of a physical address in RAM. */
const wordIndex = (state: ImplState, paddr: number) => (paddr - state.ramBase) >>> 2;

/**
 * get_vspace_of_thread, as the root's RAM word index, or NONE for the kernel's table (whose
 * entries have no U: every user access faults). TCB slot 1 must hold a mapped page-table cap
 * whose ASID resolves (as findVSpaceForASID) to that same table.
 */
function vspaceRootIndex(state: ImplState, thread: number): number {
  const slot = tcbSlot(thread, 1);
  const w0 = slotW0(state, slot);
  if (capTag(w0) !== CapTag.pagetable || !mappedFlag(w0)) return NONE;
  const w1 = slotW1(state, slot);
  const table = pagePtr(w1);
  return asidRoot(state, mappedAsid(w1)) === table ? wordIndex(state, table) : NONE;
}

/** A leaf a user access may use: V and U, not W without R (reserved), and one of R, W, X. */
const isUserLeaf = (pte: number) => (pte & pteVU) === pteVU && (pte & pteRW) !== pteW && (pte & pteRWX) !== 0;

/**
 * The Sv32 walk from the root at word index `root`: the word index of the user leaf PTE that maps
 * vaddr (one of the root's 1,024 for a 4 MiB leaf), or NONE when the walk ends elsewhere (an
 * invalid or reserved entry, a table pointer at level 1, a leaf without U).
 */
function userLeafIndex(state: ImplState, root: number, vaddr: number): number {
  let entry = root + (vaddr >>> seL4_LargePageBits);
  let pte = state.mem.get(entry);
  if (isPTEPageTable(pte)) {
    const table = ptePaddr(pte);
    if (state.debug) assertObject(state, table, 'pagetable');
    entry = wordIndex(state, table) + ((vaddr >>> seL4_PageBits) & (ptEntryCount - 1));
    pte = state.mem.get(entry);
  }
  return isUserLeaf(pte) ? entry : NONE;
}

/** Whether the leaf PTE at word index `leaf` is one of the root's (a 4 MiB leaf): a root is never a level-1 table. */
const isRootEntry = (root: number, leaf: number) => leaf - root >= 0 && leaf - root < ptEntryCount;

/** A frame's offset bits of a word address (the low two cleared). */
const pageWordMask = 2 ** seL4_PageBits - 4;
const largePageWordMask = 2 ** seL4_LargePageBits - 4;

/** The PTE bit an access needs: R for a load, W for a store, X for a fetch. */
const accessBit = (access: AccessKind) => (access === 'load' ? pteR : access === 'store' ? pteW : pteX);

/**
 * A user access by `thread` (seL4's hardware): translate vaddr from the current page tables and
 * load, store (`value`, a word) or fetch the aligned word holding it. Returns that word (for a
 * store, `value`), or NONE when the access faults (the caller raises the VMFault). A frame outside
 * RAM (a device frame) loads 0 and drops stores. The word is at the leaf's frame plus vaddr's
 * offset in it (12 or 22 bits), rounded down to 4.
 */
export function accessUserMemory(state: ImplState, thread: number, access: AccessKind, vaddr: number, value: number): number {
  const root = vspaceRootIndex(state, thread);
  if (root === NONE) return NONE;
  const leaf = userLeafIndex(state, root, vaddr);
  if (leaf === NONE) return NONE;
  const pte = state.mem.get(leaf);
  if ((pte & accessBit(access)) === 0) return NONE;
  const frame = ptePaddr(pte);
  const large = isRootEntry(root, leaf);
  if (state.debug && large && frame % 2 ** seL4_LargePageBits !== 0) fail(`a 4 MiB leaf at ${frame.toString(16)} not aligned`);
  const paddr = frame + (vaddr & (large ? largePageWordMask : pageWordMask));
  if (access === 'store') {
    if (state.debug && value >>> 0 !== value) fail(`a store of ${value}: not a 32-bit word`);
    writeUserWord(state, frame, paddr, value);
    return value;
  }
  return inRam(state, paddr, 4) ? readWord(state, paddr) : 0;
}

/** The view's translate: the user leaf that maps vaddr for the thread, or null (also for no TCB). */
export function translateUser(state: ImplState, thread: number, vaddr: number): Translation | null {
  if (state.ghost.get(thread)?.type !== 'tcb') return null;
  const root = vspaceRootIndex(state, thread);
  if (root === NONE) return null;
  const leaf = userLeafIndex(state, root, vaddr >>> 0);
  if (leaf === NONE) return null;
  const sizeBits = isRootEntry(root, leaf) ? seL4_LargePageBits : seL4_PageBits;
  const page = pteView(0, state.mem.get(leaf), sizeBits);
  if (page.kind !== 'page') return fail('a user leaf read as a table');
  const offset = (vaddr >>> 0) % 2 ** sizeBits;
  return { paddr: page.frame + offset - (offset % 4), frame: page.frame, sizeBits, rights: page.rights, executable: page.executable };
}

// ---- invocations ----

/** A map: the invoked cap's new words (now recording the mapping) and the PTE for the slot the walk found. */
interface MapInvocation {
  readonly op: 'pageTableMap' | 'pageMap';
  readonly slot: number;
  readonly w0: number;
  readonly w1: number;
  readonly pt: PTSlot;
  readonly pte: number;
}

export type VSpaceInvocation =
  | MapInvocation
  | { readonly op: 'pageTableUnmap'; readonly slot: number }
  | { readonly op: 'pageUnmap'; readonly slot: number }
  | { readonly op: 'pageGetAddress'; readonly paddr: number; readonly isCall: boolean }
  | { readonly op: 'makePool'; readonly untyped: number; readonly dest: number; readonly asidBase: number }
  | { readonly op: 'assign'; readonly asid: number; readonly pool: number; readonly vspaceSlot: number };

const invalidRoot: SyscallError = { error: 'FailedLookup', source: false, failure: { type: 'InvalidRoot' } };

/** decodeRISCVMMUInvocation: by the invoked arch cap's type. */
export function decodeRISCVMMUInvocation(state: ImplState, ctx: InvocationContext, slot: number, isCall: boolean): VSpaceInvocation | SyscallError {
  switch (capTag(slotW0(state, slot))) {
    case CapTag.pagetable:
      return decodePageTableInvocation(state, ctx, slot);
    case CapTag.frame:
      return decodeFrameInvocation(state, ctx, slot, isCall);
    case CapTag.asidcontrol:
      return decodeASIDControlInvocation(state, ctx);
    case CapTag.asidpool:
      return decodeASIDPoolInvocation(state, ctx, slot);
    default:
      return fail('decodeRISCVMMUInvocation of a cap that is no VSpace cap');
  }
}

/** The extra cap as a VSpace root: a mapped page table cap (resolveRoot then checks its ASID). */
function decodeVSpaceRoot(state: ImplState, extra: number): { readonly root: number; readonly asid: number } | SyscallError {
  const w0 = slotW0(state, extra);
  if (capTag(w0) !== CapTag.pagetable || !mappedFlag(w0)) return { error: 'InvalidCapability', capIndex: 1 };
  return { root: pagePtr(slotW1(state, extra)), asid: mappedAsid(slotW1(state, extra)) };
}

function resolveRoot(state: ImplState, root: number, asid: number): SyscallError | null {
  const found = findVSpaceForASID(state, asid);
  if (found === NONE) return invalidRoot;
  return found === root ? null : { error: 'InvalidCapability', capIndex: 1 };
}

function decodePageTableInvocation(state: ImplState, ctx: InvocationContext, slot: number): VSpaceInvocation | SyscallError {
  const w0 = slotW0(state, slot);
  const w1 = slotW1(state, slot);
  const table = pagePtr(w1);
  if (ctx.label === InvocationLabel.RISCVPageTableUnmap) {
    if (!isFinalCapability(state, slot)) return { error: 'RevokeFirst' };
    if (mappedFlag(w0) && findVSpaceForASID(state, mappedAsid(w1)) === table) return { error: 'RevokeFirst' };
    return { op: 'pageTableUnmap', slot };
  }
  if (ctx.label !== InvocationLabel.RISCVPageTableMap) return { error: 'IllegalOperation' };
  if (ctx.length < 2 || ctx.extraCaps.length < 1) return { error: 'TruncatedMessage' };
  if (mappedFlag(w0)) return { error: 'InvalidCapability', capIndex: 0 };
  const vaddr = syscallArg(state, ctx, 0);
  const vspace = decodeVSpaceRoot(state, ctx.extraCaps[0]!);
  if ('error' in vspace) return vspace;
  if (vaddr >= seL4_UserTop) return { error: 'InvalidArgument', argumentIndex: 0 };
  const rootError = resolveRoot(state, vspace.root, vspace.asid);
  if (rootError !== null) return rootError;
  const pt = lookupPTSlot(state, vspace.root, vaddr);
  if (pt.bitsLeft === seL4_PageBits || pteValid(readPTE(state, pt.table, pt.index))) return { error: 'DeleteFirst' };
  const base = vaddr - (vaddr % 2 ** pt.bitsLeft);
  return { op: 'pageTableMap', slot, w0: (base | ptMappedBit | CapTag.pagetable) >>> 0, w1: (table | vspace.asid) >>> 0, pt, pte: tablePTE(table) };
}

function decodeFrameInvocation(state: ImplState, ctx: InvocationContext, slot: number, isCall: boolean): VSpaceInvocation | SyscallError {
  const w0 = slotW0(state, slot);
  const w1 = slotW1(state, slot);
  switch (ctx.label) {
    case InvocationLabel.RISCVPageMap:
      return decodePageMap(state, ctx, slot, w0, w1);
    case InvocationLabel.RISCVPageUnmap:
      return { op: 'pageUnmap', slot };
    case InvocationLabel.RISCVPageGetAddress:
      return { op: 'pageGetAddress', paddr: pagePtr(w1), isCall };
    default:
      return { error: 'IllegalOperation' };
  }
}

function decodePageMap(state: ImplState, ctx: InvocationContext, slot: number, w0: number, w1: number): VSpaceInvocation | SyscallError {
  if (ctx.length < 3 || ctx.extraCaps.length < 1) return { error: 'TruncatedMessage' };
  const vaddr = syscallArg(state, ctx, 0);
  const rightsMask = syscallArg(state, ctx, 1);
  const attributes = syscallArg(state, ctx, 2);
  const sizeBits = frameSizeBits(w0);
  const vspace = decodeVSpaceRoot(state, ctx.extraCaps[0]!);
  if ('error' in vspace) return vspace;
  const rootError = resolveRoot(state, vspace.root, vspace.asid);
  if (rootError !== null) return rootError;
  if ((vaddr + 2 ** sizeBits - 1) >>> 0 >= seL4_UserTop) return { error: 'InvalidArgument', argumentIndex: 0 };
  if (vaddr % 2 ** sizeBits !== 0) return { error: 'AlignmentError' };
  const pt = lookupPTSlot(state, vspace.root, vaddr);
  if (pt.bitsLeft !== sizeBits) return { error: 'FailedLookup', source: false, failure: { type: 'MissingCapability', bitsLeft: pt.bitsLeft } };
  const current = readPTE(state, pt.table, pt.index);
  const frameAsid = mappedAsid(w1);
  if (frameAsid !== 0) {
    if (frameAsid !== vspace.asid) return { error: 'InvalidCapability', capIndex: 1 };
    if (mappedVaddr(w0) !== vaddr) return { error: 'InvalidArgument', argumentIndex: 0 };
    if (isPTEPageTable(current)) return { error: 'DeleteFirst' };
  } else if (pteValid(current)) {
    return { error: 'DeleteFirst' };
  }
  const rights = maskVMRights(frameVMRights(w0), rightsMask);
  const executable = (attributes & 1) === 0;
  const frame = pagePtr(w1);
  return {
    op: 'pageMap', slot, w0: (vaddr | (w0 & 0xfff)) >>> 0, w1: (frame | vspace.asid) >>> 0, pt, pte: makeUserPTE(frame, executable, rights),
  };
}

function decodeASIDControlInvocation(state: ImplState, ctx: InvocationContext): VSpaceInvocation | SyscallError {
  if (ctx.label !== InvocationLabel.RISCVASIDControlMakePool) return { error: 'IllegalOperation' };
  if (ctx.length < 2 || ctx.extraCaps.length < 2) return { error: 'TruncatedMessage' };
  const index = syscallArg(state, ctx, 0);
  const depth = syscallArg(state, ctx, 1);
  const untyped = ctx.extraCaps[0]!;
  let high = 0;
  while (high < asidPoolCount && asidTablePool(state, high) !== NONE) high++;
  if (high === asidPoolCount) return { error: 'DeleteFirst' };
  const u0 = slotW0(state, untyped);
  const u1 = slotW1(state, untyped);
  if (capTag(u0) !== CapTag.untyped || untypedSizeBits(u1) !== seL4_ASIDPoolBits || untypedIsDevice(u1)) return { error: 'InvalidCapability', capIndex: 1 };
  if (!ensureNoChildren(state, untyped)) return { error: 'RevokeFirst' };
  const dest = lookupSlotForCNodeOp(state, false, ctx.extraCaps[1]!, index, depth);
  if (typeof dest !== 'number') return dest;
  if (!isNullSlot(state, dest)) return { error: 'DeleteFirst' };
  return { op: 'makePool', untyped, dest, asidBase: high << seL4_ASIDPoolIndexBits };
}

function decodeASIDPoolInvocation(state: ImplState, ctx: InvocationContext, slot: number): VSpaceInvocation | SyscallError {
  if (ctx.label !== InvocationLabel.RISCVASIDPoolAssign) return { error: 'IllegalOperation' };
  if (ctx.extraCaps.length < 1) return { error: 'TruncatedMessage' };
  const vspaceSlot = ctx.extraCaps[0]!;
  const v0 = slotW0(state, vspaceSlot);
  if (capTag(v0) !== CapTag.pagetable || mappedFlag(v0)) return { error: 'InvalidCapability', capIndex: 1 };
  const asidBase = slotW1(state, slot);
  const pool = asidTablePool(state, asidBase >>> seL4_ASIDPoolIndexBits);
  if (pool === NONE) return invalidRoot;
  if (pool !== asidPoolPtr(slotW0(state, slot))) return { error: 'InvalidCapability', capIndex: 0 };
  let low = 0;
  while (low < asidPoolEntries && (asidBase + low === 0 || poolRoot(state, pool, low) !== NONE)) low++;
  if (low === asidPoolEntries) return { error: 'DeleteFirst' };
  return { op: 'assign', asid: asidBase + low, pool, vspaceSlot };
}

export function performVSpaceInvocation(state: ImplState, thread: number, inv: VSpaceInvocation): void {
  switch (inv.op) {
    case 'pageTableMap':
      if (state.debug && pteValid(readPTE(state, inv.pt.table, inv.pt.index))) fail('PageTable_Map over a valid PTE');
      writeCap(state, inv.slot, inv.w0, inv.w1);
      writePTE(state, inv.pt.table, inv.pt.index, inv.pte);
      return;
    case 'pageMap':
      if (state.debug && isPTEPageTable(readPTE(state, inv.pt.table, inv.pt.index))) fail('Page_Map over a table PTE');
      writeCap(state, inv.slot, inv.w0, inv.w1);
      writePTE(state, inv.pt.table, inv.pt.index, inv.pte);
      return;
    case 'pageTableUnmap':
      return performPageTableUnmap(state, inv.slot);
    case 'pageUnmap':
      return performPageUnmap(state, inv.slot);
    case 'pageGetAddress':
      return performPageGetAddress(state, thread, inv.paddr, inv.isCall);
    case 'makePool':
      return performMakePool(state, inv.untyped, inv.dest, inv.asidBase);
    case 'assign':
      return performAssign(state, inv.asid, inv.pool, inv.vspaceSlot);
  }
}

/** performPageGetAddress: a Call gets the frame's physical address as MR0; the caller runs on (no empty reply). */
function performPageGetAddress(state: ImplState, thread: number, paddr: number, isCall: boolean): void {
  if (isCall) {
    setRegister(state, thread, msgRegisters[0]!, paddr);
    replyWords(state, thread, 1);
  }
  setThreadState(state, thread, ThreadStateNum.Running);
}

/** performPageTableInvocationUnmap: unlink a mapped table and clear all its entries; the cap becomes unmapped. */
function performPageTableUnmap(state: ImplState, slot: number): void {
  const w0 = slotW0(state, slot);
  const w1 = slotW1(state, slot);
  if (mappedFlag(w0)) {
    const table = pagePtr(w1);
    unmapPageTable(state, mappedAsid(w1), mappedVaddr(w0), table);
    for (let index = 0; index < ptEntryCount; index++) if (readPTE(state, table, index) !== 0) writePTE(state, table, index, 0);
  }
  // Only capPTIsMapped is cleared, as in seL4; the ASID and address bits stay.
  writeCap(state, slot, (w0 & ~ptMappedBit) >>> 0, w1);
}

/** performPageInvocationUnmap: unmapPage if the cap records a mapping; the cap forgets it in every case. */
function performPageUnmap(state: ImplState, slot: number): void {
  const w0 = slotW0(state, slot);
  const w1 = slotW1(state, slot);
  if (mappedAsid(w1) !== 0) unmapPage(state, frameSizeBits(w0), mappedAsid(w1), mappedVaddr(w0), pagePtr(w1));
  writeCap(state, slot, (w0 & 0xfff) >>> 0, pagePtr(w1));
}

/** performASIDControlInvocation: the untyped becomes full, its 4 KiB a zeroed pool, named by the ASID table (the slot witnessed). */
function performMakePool(state: ImplState, untyped: number, dest: number, asidBase: number): void {
  const u0 = slotW0(state, untyped);
  const u1 = slotW1(state, untyped);
  const pool = untypedPtr(u0);
  writeCap(state, untyped, u0, untypedWithFreeIndex(u1, 2 ** seL4_ASIDPoolBits / 16));
  ghostClearRange(state, pool, 2 ** seL4_ASIDPoolBits);
  zeroRange(state, pool, 2 ** seL4_ASIDPoolBits);
  ghostAdd(state, pool, { type: 'asidpool', sizeBits: seL4_ASIDPoolBits, isDevice: false });
  cteInsert(state, (pool | CapTag.asidpool) >>> 0, asidBase, untyped, dest);
  if (state.debug && asidBase % asidPoolEntries !== 0) fail('ASID pool base not aligned');
  setAsidTable(state, asidBase >>> seL4_ASIDPoolIndexBits, pool);
  state.choices.push({ point: 'asidPool', index: asidBase >>> seL4_ASIDPoolIndexBits });
}

/** performASIDPoolInvocation: the root's cap is mapped (asid, 0), the kernel window copied in, the pool entry set (the ASID witnessed). */
function performAssign(state: ImplState, asid: number, pool: number, vspaceSlot: number): void {
  const root = pagePtr(slotW1(state, vspaceSlot));
  writeCap(state, vspaceSlot, (ptMappedBit | CapTag.pagetable) >>> 0, (root | asid) >>> 0);
  copyGlobalMappings(state, root);
  setPoolRoot(state, pool, asid & (asidPoolEntries - 1), root);
  state.choices.push({ point: 'asid', asid });
}

/** copyGlobalMappings: the kernel's root entries 512..1023 into `root`, copied at once. */
export function copyGlobalMappings(state: ImplState, root: number): void {
  assertObject(state, root, 'pagetable');
  writeObjectWords(state, root, kernelWindowFirstIndex * 4, state.kernelRoot.subarray(kernelWindowFirstIndex));
}

// ---- unmapping and deletion ----

/** unmapPageTable: clear the root entry for vaddr if it points at `table` in the ASID's live root. */
function unmapPageTable(state: ImplState, asid: number, vaddr: number, table: number): void {
  const root = findVSpaceForASID(state, asid);
  if (root === NONE) return;
  if (state.debug && root === table) fail('unmapPageTable of a VSpace root');
  const index = vaddr >>> seL4_LargePageBits;
  const pte = readPTE(state, root, index);
  if (isPTEPageTable(pte) && ptePaddr(pte) === table) writePTE(state, root, index, 0);
}

/** unmapPage: clear the slot if the walk stops at the frame's level on a valid leaf naming this frame. */
function unmapPage(state: ImplState, sizeBits: number, asid: number, vaddr: number, frame: number): void {
  const root = findVSpaceForASID(state, asid);
  if (root === NONE) return;
  const pt = lookupPTSlot(state, root, vaddr);
  if (pt.bitsLeft !== sizeBits) return;
  const pte = readPTE(state, pt.table, pt.index);
  if (!pteValid(pte) || isPTEPageTable(pte) || ptePaddr(pte) !== frame) return;
  writePTE(state, pt.table, pt.index, 0);
}

/** deleteASID: the pool entry is cleared if it names this root (hwASIDFlush and setVMRoot: no TLB here). */
function deleteASID(state: ImplState, asid: number, root: number): void {
  const pool = asidTablePool(state, asid >>> seL4_ASIDPoolIndexBits);
  const low = asid & (asidPoolEntries - 1);
  if (pool !== NONE && poolRoot(state, pool, low) === root) setPoolRoot(state, pool, low, NONE);
}

/** deleteASIDPool: the ASID table forgets the pool if it names it there; its roots are left alone. */
function deleteASIDPool(state: ImplState, asidBase: number, pool: number): void {
  if (state.debug && asidBase % asidPoolEntries !== 0) fail('ASID pool base not aligned');
  const high = asidBase >>> seL4_ASIDPoolIndexBits;
  if (asidTablePool(state, high) === pool) setAsidTable(state, high, NONE);
}

/** Arch_finaliseCap: a frame cap with a mapping unmaps (final or not); the last page table or pool cap cleans up. */
export function archFinaliseCap(state: ImplState, w0: number, w1: number, final: boolean): void {
  switch (capTag(w0)) {
    case CapTag.frame:
      if (mappedAsid(w1) !== 0) unmapPage(state, frameSizeBits(w0), mappedAsid(w1), mappedVaddr(w0), pagePtr(w1));
      return;
    case CapTag.pagetable: {
      if (!final || !mappedFlag(w0)) return;
      const asid = mappedAsid(w1);
      const table = pagePtr(w1);
      if (findVSpaceForASID(state, asid) === table) deleteASID(state, asid, table);
      else unmapPageTable(state, asid, mappedVaddr(w0), table);
      return;
    }
    case CapTag.asidpool:
      if (final) deleteASIDPool(state, w1, asidPoolPtr(w0));
      return;
    default:
      return;
  }
}

// ---- boot (create_it_address_space, map_it_pt_cap, map_it_frame_cap, write_it_asid_pool) ----

/** The boot VSpace: kernel window in the root, the root at ASID 1 of pool 0, then the mapped boot page tables and frames. */
export function bootVSpace(state: ImplState, root: number, pool: number, caps: readonly { w0: number; w1: number }[]): void {
  copyGlobalMappings(state, root);
  const asid = 1;
  setPoolRoot(state, pool, asid, root);
  setAsidTable(state, 0, pool);
  for (const { w0, w1 } of caps) {
    if (capTag(w0) !== CapTag.pagetable || !mappedFlag(w0) || pagePtr(w1) === root) continue;
    writePTE(state, root, mappedVaddr(w0) >>> seL4_LargePageBits, tablePTE(pagePtr(w1)));
  }
  for (const { w0, w1 } of caps) {
    if (capTag(w0) !== CapTag.frame || mappedAsid(w1) === 0) continue;
    if (state.debug && (mappedAsid(w1) !== asid || frameIsDevice(w0))) fail('a boot frame mapped outside the root task VSpace');
    const pt = lookupPTSlot(state, root, mappedVaddr(w0));
    if (pt.bitsLeft !== seL4_PageBits) fail(`boot frame at ${mappedVaddr(w0).toString(16)} has no page table`);
    writePTE(state, pt.table, pt.index, makeUserPTE(pagePtr(w1), true, VMRights.VMReadWrite));
  }
}

// ---- the view ----

/** Whether entries 512..1023 of the table are the kernel's. */
function holdsKernelWindow(state: ImplState, table: number): boolean {
  for (let index = kernelWindowFirstIndex; index < ptEntryCount; index++) if (readPTE(state, table, index) !== state.kernelRoot[index]) return false;
  return true;
}

function pteView(index: number, pte: number, leafSizeBits: number): PteView {
  if (isPTEPageTable(pte)) return { index, kind: 'table', table: ptePaddr(pte) };
  const rights = (pte & PteBit.W) !== 0 ? VMRights.VMReadWrite : (pte & PteBit.R) !== 0 ? VMRights.VMReadOnly : VMRights.VMKernelOnly;
  return { index, kind: 'page', frame: ptePaddr(pte), sizeBits: leafSizeBits, rights, executable: (pte & PteBit.X) !== 0 };
}

/**
 * A page table's view: with the kernel window it is a root (valid entries below 512, leaves
 * 4 MiB), otherwise a level-1 table (valid entries of all 1,024, leaves 4 KiB).
 */
export function pageTableView(state: ImplState, table: number): { entries: PteView[]; kernelWindow: boolean } {
  const kernelWindow = holdsKernelWindow(state, table);
  const end = kernelWindow ? kernelWindowFirstIndex : ptEntryCount;
  const leafSizeBits = kernelWindow ? seL4_LargePageBits : seL4_PageBits;
  const entries: PteView[] = [];
  for (let index = 0; index < end; index++) {
    const pte = readPTE(state, table, index);
    if (pteValid(pte)) entries.push(pteView(index, pte, leafSizeBits));
  }
  return { entries, kernelWindow };
}

/** An ASID pool's view: its base from the ASID table, and its assigned roots. */
export function asidPoolView(state: ImplState, pool: number): { asidBase: number | null; entries: [number, number][] } {
  let asidBase: number | null = null;
  for (let high = 0; high < asidPoolCount; high++) if (asidTablePool(state, high) === pool) asidBase = high << seL4_ASIDPoolIndexBits;
  const entries: [number, number][] = [];
  for (let low = 0; low < asidPoolEntries; low++) {
    const root = poolRoot(state, pool, low);
    if (root !== NONE) entries.push([low, root]);
  }
  return { asidBase, entries };
}
