// Virtual memory on riscv32 (Sv32): page tables holding PTEs, the ASID table and ASID pools,
// the seven VSpace invocations, and what deleting a VSpace cap does (l4v ArchVSpace_A,
// ArchDecode_A, ArchInvocation_A, arch_finalise_cap; sel4-facts §24, Sv39 read as Sv32 by §24.13).
// Where l4v leaves a choice open (which free ASID table slot MakePool takes, which free ASID
// Assign takes: `select_ext`), the spec follows the witness of the layer below if it names the
// choice, and otherwise allows every free one, a branch each, the lowest first.
import {
  InvocationLabel,
  badgeRegister,
  maskVMRights,
  msgInfoRegister,
  seL4_ASIDPoolIndexBits,
  seL4_LargePageBits,
  seL4_MessageInfo_new,
  seL4_PageBits,
  seL4_PageTableBits,
  seL4_UserTop,
  TCBSlot,
  VMRights,
  type AccessKind,
  type BootPlan,
  type Cap,
  type CapOf,
  type Mapping,
  type SlotRef,
  type SyscallError,
  type Translation,
  type Word,
} from '../libsel4/index.ts';
import { RadixMap } from '../libsel4/radix-map.ts';
import { cteInsert, hasChildren, isFinalCap, setCap } from './cdt.ts';
import { lookupSlotForCNodeOp } from './cspace.ts';
import {
  asidTableOf,
  begin,
  capAt,
  commit,
  memoryWord,
  objectAt,
  objectsInRange,
  putObject,
  removeObject,
  setAsidTableEntry,
  slotRef,
  tcbAt,
  TouchLog,
  writeMemoryWord,
  zeroMemory,
  type AbstractState,
  type AsidPoolObject,
  type Branch,
  type FrameObject,
  type Kernel,
  type PageTableObject,
  type Pte,
  type Readable,
} from './state.ts';
import { setThreadState } from './scheduler.ts';
import type { InvocationMessage } from './syscall.ts';
import { ipcBufferAddress, setMR, setRegister } from './tcb.ts';

// ---- geometry ---------------------------------------------------------------------------

/** Entries of a page table (Sv32: 10 index bits). */
export const ptEntries = 2 ** (seL4_PageTableBits - 2);
/** ASIDs per pool (2^asidLowBits). */
export const asidPoolEntries = 2 ** seL4_ASIDPoolIndexBits;
/** The first root index of the kernel window (seL4_UserTop's). */
export const kernelWindowIndex = seL4_UserTop / 2 ** seL4_LargePageBits;

export function asidHigh(asid: number): number {
  return asid >>> seL4_ASIDPoolIndexBits;
}

export function asidLow(asid: number): number {
  return asid & (asidPoolEntries - 1);
}

/** The root index of `vaddr` (bits 31..22). */
function rootIndex(vaddr: number): number {
  return vaddr >>> seL4_LargePageBits;
}

/** The level-1 index of `vaddr` (bits 21..12). */
function leafIndex(vaddr: number): number {
  return (vaddr >>> seL4_PageBits) & (ptEntries - 1);
}

/** A new page table: every entry invalid, no kernel window. */
export function emptyPageTable(addr: number): PageTableObject {
  return { type: 'pagetable', addr, ptes: RadixMap.of(), kernelWindow: false };
}

/** A new ASID pool: no ASID assigned. */
export function emptyAsidPool(addr: number): AsidPoolObject {
  return { type: 'asidpool', addr, roots: new Array<number | null>(asidPoolEntries).fill(null), tableIndex: null };
}

// ---- reading ----------------------------------------------------------------------------

export function pageTableAt(s: Readable, addr: number): PageTableObject | null {
  const o = objectAt(s, addr);
  return o?.type === 'pagetable' ? o : null;
}

function asidPoolAt(s: Readable, addr: number): AsidPoolObject | null {
  const o = objectAt(s, addr);
  return o?.type === 'asidpool' ? o : null;
}

/** The page table at `addr`; reaching anything else through the VSpace structures breaks an invariant. */
function pageTable(s: Readable, addr: number): PageTableObject {
  const table = pageTableAt(s, addr);
  if (table === null) throw new Error(`abstract spec invariant: no page table at 0x${addr.toString(16)}`);
  return table;
}

function pteAt(s: Readable, table: number, index: number): Pte | null {
  return pageTable(s, table).ptes.get(index) ?? null;
}

/** pool_for_asid: the pool the ASID table names for the ASID's high bits. */
function poolForAsid(s: Readable, asid: number): number | null {
  return asidTableOf(s)[asidHigh(asid)] ?? null;
}

/** vspace_for_asid: the VSpace root assigned to a non-zero ASID, or null. */
export function vspaceForAsid(s: Readable, asid: number): number | null {
  if (asid === 0) return null;
  const pool = poolForAsid(s, asid);
  return pool === null ? null : (asidPoolAt(s, pool)!.roots[asidLow(asid)] ?? null);
}

/** A slot of a page table, and the bits of the address its entry translates (pt_bits_left). */
interface PtSlot {
  readonly table: number;
  readonly index: number;
  readonly bitsLeft: number;
}

/** pt_lookup_slot: from the root, follow a table PTE once; stop at the first other entry. */
function ptLookupSlot(s: Readable, root: number, vaddr: number): PtSlot {
  const top = pteAt(s, root, rootIndex(vaddr));
  if (top?.kind !== 'table') return { table: root, index: rootIndex(vaddr), bitsLeft: seL4_LargePageBits };
  return { table: top.table, index: leafIndex(vaddr), bitsLeft: seL4_PageBits };
}

/**
 * The VSpace as a partial map (what vs_lookup gives a user): each mapped page of a root, by
 * virtual address, with its frame, size, rights and executable bit.
 */
export function vspaceMappings(s: Readable, root: number): Map<number, { frame: number; sizeBits: number; rights: VMRights; executable: boolean }> {
  const result = new Map<number, { frame: number; sizeBits: number; rights: VMRights; executable: boolean }>();
  for (const [i, pte] of pageTable(s, root).ptes.entries()) {
    if (pte.kind === 'page') {
      result.set(i * 2 ** seL4_LargePageBits, { frame: pte.frame, sizeBits: seL4_LargePageBits, rights: pte.rights, executable: pte.executable });
      continue;
    }
    for (const [j, leaf] of pageTable(s, pte.table).ptes.entries()) {
      if (leaf.kind !== 'page') throw new Error('abstract spec invariant: a table PTE in a level-1 table');
      result.set(i * 2 ** seL4_LargePageBits + j * 2 ** seL4_PageBits, { frame: leaf.frame, sizeBits: seL4_PageBits, rights: leaf.rights, executable: leaf.executable });
    }
  }
  return result;
}

// ---- user accesses ------------------------------------------------------------------------

/**
 * get_vspace_of_thread: the root in the thread's TCB slot 1 if that cap is a page table cap
 * mapped with an ASID whose VSpace root is that same table; null means the kernel's own table
 * (riscv_global_pt), which maps nothing a user may touch.
 */
function vspaceOfThread(s: Readable, tcb: number): number | null {
  if (tcbAt(s, tcb) === null) return null;
  const cap = capAt(s, slotRef(tcb, TCBSlot.vspace));
  if (cap.type !== 'pagetable' || cap.mapped === null) return null;
  return vspaceForAsid(s, cap.mapped.asid) === cap.ptr ? cap.ptr : null;
}

/**
 * ptable_lift and ptable_rights of a thread (get_page_info from its VSpace): the leaf that maps
 * `vaddr`, with the physical address of the aligned word holding it; null when the walk ends in
 * no leaf. Above seL4_UserTop a root holds only the kernel window, whose leaves lack U.
 */
export function translateUser(s: Readable, tcb: number, vaddr: Word): Translation | null {
  const root = vspaceOfThread(s, tcb);
  const address = vaddr >>> 0;
  if (root === null || address >= seL4_UserTop) return null;
  const slot = ptLookupSlot(s, root, address);
  const pte = pteAt(s, slot.table, slot.index);
  if (pte?.kind !== 'page') return null;
  const offsetBytes = address % 2 ** slot.bitsLeft;
  return { paddr: pte.frame + offsetBytes - (offsetBytes % 4), frame: pte.frame, sizeBits: slot.bitsLeft, rights: pte.rights, executable: pte.executable };
}

/** Whether a leaf allows the access: R for a load (ReadOnly or ReadWrite), W for a store, X for a fetch. */
function allowsAccess(t: Translation, access: AccessKind): boolean {
  switch (access) {
    case 'load':
      return t.rights === VMRights.VMReadOnly || t.rights === VMRights.VMReadWrite;
    case 'store':
      return t.rights === VMRights.VMReadWrite;
    case 'execute':
      return t.executable;
  }
}

/** The frame a reachable leaf maps; a leaf naming anything else breaks valid_vspace_objs. */
function mappedFrame(s: Readable, t: Translation): FrameObject {
  const o = objectAt(s, t.frame);
  if (o?.type !== 'frame' || o.sizeBits !== t.sizeBits) throw new Error(`abstract spec invariant: a leaf maps 0x${t.frame.toString(16)}, no ${t.sizeBits}-bit frame`);
  return o;
}

/**
 * A user load, store or fetch by `tcb` of the word holding `vaddr`, as the hardware does it
 * through the thread's VSpace: the word loaded or fetched (0 from a device frame), or the word
 * stored (written, and logged, unless the frame is a device's); null when the access faults.
 */
export function accessUserMemory(k: Kernel, tcb: number, access: AccessKind, vaddr: Word, value: Word = 0): Word | null {
  const t = translateUser(k, tcb, vaddr);
  if (t === null || !allowsAccess(t, access)) return null;
  const device = mappedFrame(k, t).isDevice;
  if (access !== 'store') return device ? 0 : memoryWord(k, t.paddr);
  const word = value >>> 0;
  if (!device) {
    writeMemoryWord(k, t.paddr, word);
    k.log.userWord(t.paddr);
  }
  return word;
}

/**
 * accessUserMemory alone on a committed state (what the bench times): the word and the state
 * after the access, or null when it faults.
 */
export function accessUserState(state: AbstractState, tcb: number, access: AccessKind, vaddr: Word, value: Word = 0): { readonly accessed: Word; readonly state: AbstractState } | null {
  const k = begin(state, new TouchLog());
  const accessed = accessUserMemory(k, tcb, access, vaddr, value);
  return accessed === null ? null : { accessed, state: commit(k) };
}

// ---- writing ----------------------------------------------------------------------------

/** store_pte: entry `index` of `table` becomes `pte` (null: InvalidPTE). */
export function storePte(k: Kernel, table: number, index: number, pte: Pte | null): void {
  const t = pageTable(k, table);
  putObject(k, { ...t, ptes: pte === null ? t.ptes.delete(index) : t.ptes.set(index, pte) });
}

function setPoolEntry(k: Kernel, pool: number, low: number, root: number | null): void {
  const p = asidPoolAt(k, pool)!;
  const roots = [...p.roots];
  roots[low] = root;
  putObject(k, { ...p, roots });
}

/** make_user_pte: a leaf with the rights and executable bit, or InvalidPTE for neither. */
function makeUserPte(frame: number, rights: VMRights, executable: boolean): Pte | null {
  return rights === VMRights.VMKernelOnly && !executable ? null : { kind: 'page', frame, rights, executable };
}

/** unmap_page: clears the slot if the mapping still holds this frame at this size; otherwise nothing. */
function unmapPage(k: Kernel, sizeBits: number, mapping: Mapping, frame: number): void {
  const root = vspaceForAsid(k, mapping.asid);
  if (root === null) return;
  const slot = ptLookupSlot(k, root, mapping.vaddr);
  if (slot.bitsLeft !== sizeBits) return;
  const pte = pteAt(k, slot.table, slot.index);
  if (pte?.kind === 'page' && pte.frame === frame) storePte(k, slot.table, slot.index, null);
}

/** unmap_page_table: clears the root's entry if it still points at this table; otherwise nothing. */
function unmapPageTable(k: Kernel, mapping: Mapping, table: number): void {
  const root = vspaceForAsid(k, mapping.asid);
  if (root === null) return;
  const index = rootIndex(mapping.vaddr);
  const pte = pteAt(k, root, index);
  if (pte?.kind === 'table' && pte.table === table) storePte(k, root, index, null);
}

/** delete_asid: the pool entry is cleared if it still names this root. */
function deleteAsid(k: Kernel, asid: number, root: number): void {
  const pool = poolForAsid(k, asid);
  if (pool !== null && asidPoolAt(k, pool)!.roots[asidLow(asid)] === root) setPoolEntry(k, pool, asidLow(asid), null);
}

/** delete_asid_pool: the ASID table slot is cleared if it still names this pool. */
function deleteAsidPool(k: Kernel, base: number, pool: number): void {
  if (asidLow(base) !== 0) throw new Error('abstract spec invariant: an ASID pool base with low bits');
  if (asidTableOf(k)[asidHigh(base)] === pool) setAsidTableEntry(k, asidHigh(base), null);
}

// ---- boot ---------------------------------------------------------------------------------

/**
 * The root task's VSpace (create_it_address_space): the root, with the kernel window, assigned
 * its ASID in the boot pool at ASID table slot 0; each mapped boot page table under the root;
 * each mapped boot frame a read-write, executable leaf (PTE 0xDF).
 */
export function bootVSpace(k: Kernel, plan: BootPlan): void {
  const caps = plan.rootCaps.map(([, cap]) => cap);
  const rootCap = caps.find((cap) => cap.type === 'pagetable' && cap.ptr === plan.vspaceRoot);
  if (rootCap?.type !== 'pagetable' || rootCap.mapped === null) throw new Error('boot plan: the VSpace root cap is not mapped');
  const asid = rootCap.mapped.asid;
  setAsidTableEntry(k, asidHigh(asid), plan.asidPool);
  setPoolEntry(k, plan.asidPool, asidLow(asid), plan.vspaceRoot);
  putObject(k, { ...pageTable(k, plan.vspaceRoot), kernelWindow: true });
  for (const cap of caps) {
    if (cap.type !== 'pagetable' || cap.mapped === null || cap.ptr === plan.vspaceRoot) continue;
    if (cap.mapped.asid !== asid) throw new Error('boot plan: a page table mapped outside the root task\'s VSpace');
    storePte(k, plan.vspaceRoot, rootIndex(cap.mapped.vaddr), { kind: 'table', table: cap.ptr });
  }
  for (const cap of caps) {
    if (cap.type !== 'frame' || cap.mapped === null) continue;
    const slot = ptLookupSlot(k, plan.vspaceRoot, cap.mapped.vaddr);
    if (cap.mapped.asid !== asid || slot.bitsLeft !== cap.sizeBits) throw new Error(`boot plan: frame 0x${cap.ptr.toString(16)} has no page table`);
    storePte(k, slot.table, slot.index, { kind: 'page', frame: cap.ptr, rights: VMRights.VMReadWrite, executable: true });
  }
}

// ---- finalisation -----------------------------------------------------------------------

/**
 * arch_finalise_cap: a mapped frame cap (final or not) unmaps its page; the last mapped page
 * table cap deletes its ASID if it is a live root, else unmaps the table; the last pool cap
 * deletes the pool from the ASID table.
 */
export function finaliseVSpaceCap(k: Kernel, cap: CapOf<'frame'> | CapOf<'pagetable'> | CapOf<'asidpool'>, final: boolean): void {
  if (cap.type === 'frame') {
    if (cap.mapped !== null) unmapPage(k, cap.sizeBits, cap.mapped, cap.ptr);
    return;
  }
  if (!final) return;
  if (cap.type === 'asidpool') return deleteAsidPool(k, cap.asidBase, cap.ptr);
  if (cap.mapped === null) return;
  if (vspaceForAsid(k, cap.mapped.asid) === cap.ptr) deleteAsid(k, cap.mapped.asid, cap.ptr);
  else unmapPageTable(k, cap.mapped, cap.ptr);
}

// ---- revoke order ------------------------------------------------------------------------

/** A cap whose deletion may write page tables, pools or the ASID table. */
function writesVSpace(cap: Cap): cap is CapOf<'frame'> | CapOf<'pagetable'> | CapOf<'asidpool'> {
  return cap.type === 'asidpool' || ((cap.type === 'frame' || cap.type === 'pagetable') && cap.mapped !== null);
}

/**
 * Whether deleting these caps in different orders may leave different VSpace objects: a table,
 * root or pool that goes first leaves the mappings below it in place (unreachable), one that
 * goes last has them cleared first. Frames alone commute (unmap_page checks the frame).
 */
export function vspaceOrderCanMatter(caps: readonly Cap[]): boolean {
  const writing = caps.filter(writesVSpace);
  return writing.length >= 2 && writing.some((cap) => cap.type !== 'frame');
}

/**
 * The page tables and pools deleting these caps may write (their own objects, the roots and
 * tables their mappings are reached through, the pools of their ASIDs), by address.
 */
export function vspaceObjectsWritten(s: Readable, caps: readonly Cap[]): number[] {
  const result = new Set<number>();
  for (const cap of caps.filter(writesVSpace)) {
    if (cap.type === 'asidpool' || cap.type === 'pagetable') result.add(cap.ptr);
    const mapping = cap.type === 'asidpool' ? null : cap.mapped;
    if (mapping === null) continue;
    const pool = poolForAsid(s, mapping.asid);
    if (pool !== null) result.add(pool);
    const root = vspaceForAsid(s, mapping.asid);
    if (root === null) continue;
    result.add(root);
    const top = pteAt(s, root, rootIndex(mapping.vaddr));
    if (top?.kind === 'table') result.add(top.table);
  }
  return [...result];
}

// ---- invocations ------------------------------------------------------------------------

export type VSpaceInvocation =
  | { readonly op: 'pageMap'; readonly slot: SlotRef; readonly cap: CapOf<'frame'>; readonly pteSlot: PtSlot; readonly pte: Pte | null }
  | { readonly op: 'pageUnmap'; readonly slot: SlotRef; readonly cap: CapOf<'frame'> }
  | { readonly op: 'pageGetAddress'; readonly paddr: number }
  | { readonly op: 'pageTableMap'; readonly slot: SlotRef; readonly cap: CapOf<'pagetable'>; readonly root: number; readonly index: number }
  | { readonly op: 'pageTableUnmap'; readonly slot: SlotRef; readonly cap: CapOf<'pagetable'> }
  /** MakePool into one of the `free` ASID table slots (the choice is open). */
  | { readonly op: 'makePool'; readonly frame: number; readonly untypedSlot: SlotRef; readonly dest: SlotRef; readonly free: readonly number[] }
  /** Assign one of the `free` ASIDs of the pool (the choice is open) to the root in `rootSlot`. */
  | { readonly op: 'assign'; readonly pool: number; readonly rootSlot: SlotRef; readonly free: readonly number[] };

type Decoded = { readonly invocation: VSpaceInvocation } | Failure;
type VSpaceCap = CapOf<'frame'> | CapOf<'pagetable'> | CapOf<'asidcontrol'> | CapOf<'asidpool'>;

type Failure = { readonly error: SyscallError };
const illegal: Failure = { error: { error: 'IllegalOperation' } };
const truncated: Failure = { error: { error: 'TruncatedMessage' } };
const deleteFirst: Failure = { error: { error: 'DeleteFirst' } };
const revokeFirst: Failure = { error: { error: 'RevokeFirst' } };
const invalidCap1: Failure = { error: { error: 'InvalidCapability', capIndex: 1 } };
const invalidArg0: Failure = { error: { error: 'InvalidArgument', argumentIndex: 0 } };
const invalidRoot: Failure = { error: { error: 'FailedLookup', source: false, failure: { type: 'InvalidRoot' } } };

/** arch_decode_invocation: by the invoked cap's type. */
export function decodeVSpaceInvocation(s: Readable, msg: InvocationMessage, slot: SlotRef, cap: VSpaceCap): Decoded {
  switch (cap.type) {
    case 'frame':
      return decodeFrameInvocation(s, msg, slot, cap);
    case 'pagetable':
      return decodePageTableInvocation(s, msg, slot, cap);
    case 'asidcontrol':
      return decodeAsidControlInvocation(s, msg);
    case 'asidpool':
      return decodeAsidPoolInvocation(s, msg, cap);
  }
}

/** The VSpace cap argument: a mapped page table cap, as (table, ASID). */
function vspaceCapArgument(arg: { readonly cap: Cap } | undefined): { table: number; asid: number } | null {
  const cap = arg?.cap;
  return cap?.type === 'pagetable' && cap.mapped !== null ? { table: cap.ptr, asid: cap.mapped.asid } : null;
}

/** find_vspace_for_asid, then the root must be the argument's table. */
function resolveVSpace(s: Readable, arg: { table: number; asid: number }): { root: number; asid: number } | Failure {
  const root = vspaceForAsid(s, arg.asid);
  if (root === null) return invalidRoot;
  return root === arg.table ? { root, asid: arg.asid } : invalidCap1;
}

/** decode_frame_invocation: Map, Unmap, GetAddress. */
function decodeFrameInvocation(s: Readable, msg: InvocationMessage, slot: SlotRef, cap: CapOf<'frame'>): Decoded {
  const L = InvocationLabel;
  if (msg.label === L.RISCVPageUnmap) return { invocation: { op: 'pageUnmap', slot, cap } };
  if (msg.label === L.RISCVPageGetAddress) return { invocation: { op: 'pageGetAddress', paddr: cap.ptr } };
  if (msg.label !== L.RISCVPageMap) return illegal;
  if (msg.length < 3 || msg.extraCaps.length < 1) return truncated;
  const vaddr = msg.mr(0);
  const arg = vspaceCapArgument(msg.extraCaps[0]);
  if (arg === null) return invalidCap1;
  const target = resolveVSpace(s, arg);
  if ('error' in target) return target;
  const sizeBytes = 2 ** cap.sizeBits;
  if (((vaddr + sizeBytes - 1) >>> 0) >= seL4_UserTop) return invalidArg0;
  if (vaddr % sizeBytes !== 0) return { error: { error: 'AlignmentError' } };
  const pteSlot = ptLookupSlot(s, target.root, vaddr);
  if (pteSlot.bitsLeft !== cap.sizeBits) {
    return { error: { error: 'FailedLookup', source: false, failure: { type: 'MissingCapability', bitsLeft: pteSlot.bitsLeft } } };
  }
  const old = pteAt(s, pteSlot.table, pteSlot.index);
  if (cap.mapped !== null) {
    if (cap.mapped.asid !== target.asid) return invalidCap1;
    if (cap.mapped.vaddr !== vaddr) return invalidArg0;
    if (old?.kind === 'table') return deleteFirst;
  } else if (old !== null) {
    return deleteFirst;
  }
  const rights = maskVMRights(cap.vmRights, msg.mr(1));
  const executable = (msg.mr(2) & 1) === 0;
  const mapped: CapOf<'frame'> = { ...cap, mapped: { asid: target.asid, vaddr } };
  return { invocation: { op: 'pageMap', slot, cap: mapped, pteSlot, pte: makeUserPte(cap.ptr, rights, executable) } };
}

/** decode_page_table_invocation: Map and Unmap. */
function decodePageTableInvocation(s: Readable, msg: InvocationMessage, slot: SlotRef, cap: CapOf<'pagetable'>): Decoded {
  const L = InvocationLabel;
  if (msg.label === L.RISCVPageTableUnmap) {
    if (!isFinalCap(s, slot, cap)) return revokeFirst;
    if (cap.mapped !== null && vspaceForAsid(s, cap.mapped.asid) === cap.ptr) return revokeFirst;
    return { invocation: { op: 'pageTableUnmap', slot, cap } };
  }
  if (msg.label !== L.RISCVPageTableMap) return illegal;
  if (msg.length < 2 || msg.extraCaps.length < 1) return truncated;
  if (cap.mapped !== null) return { error: { error: 'InvalidCapability', capIndex: 0 } };
  const vaddr = msg.mr(0);
  const arg = vspaceCapArgument(msg.extraCaps[0]);
  if (arg === null) return invalidCap1;
  if (vaddr >= seL4_UserTop) return invalidArg0;
  const target = resolveVSpace(s, arg);
  if ('error' in target) return target;
  const pteSlot = ptLookupSlot(s, target.root, vaddr);
  if (pteSlot.bitsLeft === seL4_PageBits || pteAt(s, pteSlot.table, pteSlot.index) !== null) return deleteFirst;
  const windowBase = vaddr - (vaddr % 2 ** seL4_LargePageBits);
  const mapped: CapOf<'pagetable'> = { ...cap, mapped: { asid: target.asid, vaddr: windowBase } };
  return { invocation: { op: 'pageTableMap', slot, cap: mapped, root: target.root, index: pteSlot.index } };
}

/** decode_asid_control_invocation: MakePool(index, depth) with [untyped, root CNode]. */
function decodeAsidControlInvocation(s: Readable, msg: InvocationMessage): Decoded {
  if (msg.label !== InvocationLabel.RISCVASIDControlMakePool) return illegal;
  if (msg.length < 2 || msg.extraCaps.length < 2) return truncated;
  const free = asidTableOf(s).flatMap((pool, i) => (pool === null ? [i] : []));
  if (free.length === 0) return deleteFirst;
  const { cap: untyped, slot: untypedSlot } = msg.extraCaps[0]!;
  if (untyped.type !== 'untyped' || untyped.isDevice || untyped.sizeBits !== seL4_PageBits) return invalidCap1;
  if (hasChildren(s, untypedSlot)) return revokeFirst;
  const target = lookupSlotForCNodeOp(s, false, msg.extraCaps[1]!.cap, msg.mr(0), msg.mr(1));
  if ('error' in target) return target;
  if (capAt(s, target.slot).type !== 'null') return deleteFirst;
  return { invocation: { op: 'makePool', frame: untyped.ptr, untypedSlot, dest: target.slot, free } };
}

/** decode_asid_pool_invocation: Assign with [an unmapped page table]. */
function decodeAsidPoolInvocation(s: Readable, msg: InvocationMessage, cap: CapOf<'asidpool'>): Decoded {
  if (msg.label !== InvocationLabel.RISCVASIDPoolAssign) return illegal;
  const arg = msg.extraCaps[0];
  if (arg === undefined) return truncated;
  if (arg.cap.type !== 'pagetable' || arg.cap.mapped !== null) return invalidCap1;
  const pool = asidTableOf(s)[asidHigh(cap.asidBase)] ?? null;
  if (pool === null) return invalidRoot;
  if (pool !== cap.ptr) return { error: { error: 'InvalidCapability', capIndex: 0 } };
  const roots = asidPoolAt(s, pool)!.roots;
  const free = roots.flatMap((root, low) => (root === null && cap.asidBase + low !== 0 ? [cap.asidBase + low] : []));
  if (free.length === 0) return deleteFirst;
  return { invocation: { op: 'assign', pool, rootSlot: arg.slot, free } };
}

/**
 * perform_asid_control_invocation into table slot `index`: the untyped's objects are detyped and
 * its memory zeroed, its free index becomes full, a pool is made there, its cap (a CDT child of
 * the untyped) goes into `dest`, and the ASID table names it.
 */
function performMakePool(k: Kernel, inv: Extract<VSpaceInvocation, { op: 'makePool' }>, index: number): void {
  const sizeBytes = 2 ** seL4_PageBits;
  for (const addr of objectsInRange(k, inv.frame, inv.frame + sizeBytes)) removeObject(k, addr);
  zeroMemory(k, inv.frame, sizeBytes);
  const untyped = capAt(k, inv.untypedSlot);
  if (untyped.type !== 'untyped') throw new Error('abstract spec invariant: MakePool without its untyped');
  setCap(k, inv.untypedSlot, { ...untyped, freeIndex: sizeBytes });
  putObject(k, emptyAsidPool(inv.frame));
  const base = index * asidPoolEntries;
  cteInsert(k, { type: 'asidpool', ptr: inv.frame, asidBase: base }, inv.untypedSlot, inv.dest);
  setAsidTableEntry(k, index, inv.frame);
}

/** perform_asid_pool_invocation with `asid`: the root's cap records it, the kernel window is copied, the pool names the root. */
function performAssign(k: Kernel, inv: Extract<VSpaceInvocation, { op: 'assign' }>, asid: number): void {
  const cap = capAt(k, inv.rootSlot);
  if (cap.type !== 'pagetable') throw new Error('abstract spec invariant: Assign without its page table');
  setCap(k, inv.rootSlot, { ...cap, mapped: { asid, vaddr: 0 } });
  putObject(k, { ...pageTable(k, cap.ptr), kernelWindow: true });
  setPoolEntry(k, inv.pool, asidLow(asid), cap.ptr);
}

/** The reply of Page_GetAddress to a Call: MR0 the frame's physical address. */
function replyAddress(k: Kernel, caller: number, paddr: number): void {
  const buffer = ipcBufferAddress(k, caller, 'receiver');
  setRegister(k, caller, badgeRegister, 0);
  setMR(k, caller, buffer, 0, paddr as Word);
  setRegister(k, caller, msgInfoRegister, seL4_MessageInfo_new(0, 0, 0, 1));
}

/**
 * The choice the layer below witnessed at `point` (checked to be allowed), or else one branch
 * per allowed choice, each from the state so far, the lowest first; a single choice is no
 * branch point.
 */
function branchOn(k: Kernel, point: 'asidPool' | 'asid', choices: readonly number[], name: (choice: number) => string, perform: (k: Kernel, choice: number) => void): Branch[] {
  const witnessed = k.oracle?.pick(point, choices) ?? null;
  if (witnessed !== null || choices.length === 1) {
    const choice = witnessed ?? choices[0]!;
    perform(k, choice);
    return choices.length === 1 ? [{ k }] : [{ k, choice: `${name(choice)}, as witnessed` }];
  }
  const base = commit(k);
  return choices.map((choice) => {
    const branch = begin(base, k.log.clone(), k.oracle);
    perform(branch, choice);
    return { k: branch, choice: name(choice) };
  });
}

/** perform_arch_invocation for `caller`; MakePool and Assign allow a result per free choice. */
export function performVSpaceInvocation(k: Kernel, inv: VSpaceInvocation, caller: number, isCall: boolean): Branch[] {
  switch (inv.op) {
    case 'pageMap':
      setCap(k, inv.slot, inv.cap);
      storePte(k, inv.pteSlot.table, inv.pteSlot.index, inv.pte);
      break;
    case 'pageUnmap':
      if (inv.cap.mapped !== null) unmapPage(k, inv.cap.sizeBits, inv.cap.mapped, inv.cap.ptr);
      setCap(k, inv.slot, { ...inv.cap, mapped: null });
      break;
    case 'pageGetAddress':
      if (isCall) replyAddress(k, caller, inv.paddr);
      setThreadState(k, caller, 'Running');
      break;
    case 'pageTableMap':
      setCap(k, inv.slot, inv.cap);
      storePte(k, inv.root, inv.index, { kind: 'table', table: inv.cap.ptr });
      break;
    case 'pageTableUnmap':
      if (inv.cap.mapped !== null) {
        unmapPageTable(k, inv.cap.mapped, inv.cap.ptr);
        putObject(k, emptyPageTable(inv.cap.ptr));
      }
      setCap(k, inv.slot, { ...inv.cap, mapped: null });
      break;
    case 'makePool':
      return branchOn(k, 'asidPool', inv.free, (i) => `ASID table slot ${i} for the new pool`, (b, i) => performMakePool(b, inv, i));
    case 'assign':
      return branchOn(k, 'asid', inv.free, (asid) => `ASID ${asid} assigned`, (b, asid) => performAssign(b, inv, asid));
  }
  return [{ k }];
}
