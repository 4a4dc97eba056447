// Invariants of page tables, ASID pools and the caps to them, named after l4v's (RISCV64
// ArchInvariants_AI): valid_asid_table (a pool in at most one ASID table slot, its caps naming
// that slot), valid_vspace_objs (what the tables reachable from the ASID table hold: roots with
// the kernel window, 4 MiB leaves in roots, 4 KiB leaves in level-1 tables, every target present
// with the right type and size), unique_table_refs (no page table mapped twice, no reachable root
// also a level-1 table), valid_vs_lookup (every reachable mapping is recorded by a cap to its
// object), valid_table_caps (an unmapped page table cap names an empty table) and wellformed
// mapping data. Only tables reachable through the ASID table are constrained (vs_lookup): a
// root whose pool is deleted, or a table whose root is gone, may hold stale entries (sel4-facts §24.8).
// And the view's translation agrees with these tables (get_vspace_of_thread, ptable_lift).
import {
  hex,
  seL4_ASIDPoolIndexBits,
  seL4_LargePageBits,
  seL4_PageBits,
  seL4_UserTop,
  TCBSlot,
  VMRights,
  type Cap,
  type KernelView,
  type ObjectView,
  type PteView,
  type Translation,
} from '../../libsel4/index.ts';
import type { Filled } from '../listing.ts';

type PageTableView = Extract<ObjectView, { type: 'pagetable' }>;
type Leaf = Extract<PteView, { kind: 'page' }>;

/** Entries of a page table; the first kernel-window index of a root. */
const ptEntries = 1024;
const kernelWindowIndex = seL4_UserTop / 2 ** seL4_LargePageBits;

function pageTableAt(objects: ReadonlyMap<number, ObjectView>, addr: number): PageTableView | null {
  const o = objects.get(addr);
  return o?.type === 'pagetable' ? o : null;
}

/** valid_asid_table: pools in distinct, well-formed table slots; each pool cap names its pool's slot. */
export function validAsidTable(objects: ReadonlyMap<number, ObjectView>, filled: readonly Filled[]): string | null {
  const slotOwner = new Map<number, number>();
  for (const o of objects.values()) {
    if (o.type !== 'asidpool' || o.asidBase === null) continue;
    if (o.asidBase % 2 ** seL4_ASIDPoolIndexBits !== 0 || o.asidBase >= 2 ** (seL4_ASIDPoolIndexBits + 5)) return `valid_asid_table: pool ${hex(o.addr)} has base ${o.asidBase}`;
    const other = slotOwner.get(o.asidBase);
    if (other !== undefined) return `valid_asid_table: pools ${hex(other)} and ${hex(o.addr)} both have base ${o.asidBase}`;
    slotOwner.set(o.asidBase, o.addr);
  }
  for (const { slot, cap } of filled) {
    if (cap.type !== 'asidpool') continue;
    const pool = objects.get(cap.ptr);
    if (pool?.type !== 'asidpool' || pool.asidBase !== cap.asidBase) {
      return `valid_asid_table: the pool cap in ${hex(slot.cnode)}[${slot.index}] has base ${cap.asidBase}, its pool ${pool?.type === 'asidpool' ? `is at ${pool.asidBase}` : 'does not exist'}`;
    }
  }
  return null;
}

/** A reachable mapping: the ASID and virtual address it is reached by, and what it points at. */
interface Reached {
  readonly asid: number;
  readonly vaddr: number;
  readonly target: number;
  readonly kind: 'root' | 'table' | 'page';
}

/**
 * valid_vspace_objs and unique_table_refs over what the ASID table reaches: every assigned
 * ASID is non-zero and names a root with the kernel window and user entries below it; a root's
 * table entries name level-1 tables (each named once, none a reachable root) holding only
 * 4 KiB leaves; leaves name frames of their level's size. Returns the reachable mappings.
 */
export function validVSpaceObjs(objects: ReadonlyMap<number, ObjectView>): { violation: string } | { reached: Reached[] } {
  const reached: Reached[] = [];
  const roots = new Map<number, number>();
  const tables = new Map<number, string>();
  const fail = (violation: string) => ({ violation });
  for (const pool of objects.values()) {
    if (pool.type !== 'asidpool' || pool.asidBase === null) continue;
    for (const [low, root] of pool.entries) {
      const asid = pool.asidBase + low;
      const at = `ASID ${asid} (pool ${hex(pool.addr)})`;
      if (asid === 0) return fail(`valid_vspace_objs: ASID 0 is assigned in pool ${hex(pool.addr)}`);
      const table = pageTableAt(objects, root);
      if (table === null) return fail(`valid_vspace_objs: ${at} names ${hex(root)}, not a page table`);
      if (!table.kernelWindow) return fail(`valid_vspace_objs: the root ${hex(root)} of ${at} lacks the kernel window`);
      if (roots.has(root)) return fail(`unique_table_refs: root ${hex(root)} has ASIDs ${roots.get(root)} and ${asid}`);
      roots.set(root, asid);
      reached.push({ asid, vaddr: 0, target: root, kind: 'root' });
    }
  }
  for (const [root, asid] of roots) {
    for (const pte of pageTableAt(objects, root)!.entries) {
      const vaddr = pte.index * 2 ** seL4_LargePageBits;
      const at = `root ${hex(root)} (ASID ${asid}) entry ${pte.index}`;
      if (pte.index >= kernelWindowIndex) return fail(`valid_vspace_objs: ${at} is a user entry in the kernel window`);
      if (pte.kind === 'page') {
        const problem = leafProblem(objects, pte, seL4_LargePageBits);
        if (problem !== null) return fail(`valid_vspace_objs: ${at} ${problem}`);
        reached.push({ asid, vaddr, target: pte.frame, kind: 'page' });
        continue;
      }
      const table = pageTableAt(objects, pte.table);
      if (table === null) return fail(`valid_vspace_objs: ${at} names ${hex(pte.table)}, not a page table`);
      if (roots.has(pte.table) || table.kernelWindow) return fail(`unique_table_refs: ${at} names the root ${hex(pte.table)}`);
      const other = tables.get(pte.table);
      if (other !== undefined) return fail(`unique_table_refs: table ${hex(pte.table)} is mapped at ${other} and ${at}`);
      tables.set(pte.table, at);
      reached.push({ asid, vaddr, target: pte.table, kind: 'table' });
      for (const leaf of table.entries) {
        const leafAt = `table ${hex(pte.table)} entry ${leaf.index}`;
        if (leaf.index >= ptEntries) return fail(`valid_vspace_objs: ${leafAt} is past the table`);
        if (leaf.kind === 'table') return fail(`valid_vspace_objs: ${leafAt} names a table below level 1`);
        const problem = leafProblem(objects, leaf, seL4_PageBits);
        if (problem !== null) return fail(`valid_vspace_objs: ${leafAt} ${problem}`);
        reached.push({ asid, vaddr: vaddr + leaf.index * 2 ** seL4_PageBits, target: leaf.frame, kind: 'page' });
      }
    }
  }
  return { reached };
}

/**
 * A user leaf names a frame of its level's size, with rights make_user_pte gives: ReadWrite,
 * ReadOnly, or KernelOnly only if executable (a leaf allowing nothing would be an Sv32 table pointer).
 */
function leafProblem(objects: ReadonlyMap<number, ObjectView>, leaf: Leaf, levelBits: number): string | null {
  const o = objects.get(leaf.frame);
  if (o?.type !== 'frame') return `names ${hex(leaf.frame)}, not a frame`;
  if (o.sizeBits !== levelBits || leaf.sizeBits !== levelBits) return `maps the ${o.sizeBits}-bit frame ${hex(leaf.frame)} as ${leaf.sizeBits} bits at a ${levelBits}-bit level`;
  if (![VMRights.VMKernelOnly, VMRights.VMReadOnly, VMRights.VMReadWrite].some((r) => r === leaf.rights)) return `has rights ${leaf.rights}`;
  if (leaf.rights === VMRights.VMKernelOnly && !leaf.executable) return 'allows no access (make_user_pte makes such a PTE invalid)';
  return null;
}

/** The mapping a frame or page table cap records, keyed as ASID:vaddr:object. */
function recorded(cap: Cap): string | null {
  if ((cap.type !== 'frame' && cap.type !== 'pagetable') || cap.mapped === null) return null;
  return `${cap.mapped.asid}:${cap.mapped.vaddr}:${cap.ptr}`;
}

/** valid_vs_lookup: every reachable root, table and page is recorded by a cap to it with that ASID and address. */
export function validVsLookup(reached: readonly Reached[], filled: readonly Filled[]): string | null {
  const records = new Set<string>();
  for (const { cap } of filled) {
    const r = recorded(cap);
    if (r !== null) records.add(r);
  }
  for (const m of reached) {
    if (!records.has(`${m.asid}:${m.vaddr}:${m.target}`)) return `valid_vs_lookup: no cap records the ${m.kind} ${hex(m.target)} at ASID ${m.asid} vaddr ${hex(m.vaddr)}`;
  }
  return null;
}

/**
 * valid_table_caps and wellformed mapping data: a mapped cap has a non-zero ASID and a user
 * address aligned to its size (a page table's to 4 MiB); a frame cap's size is its frame's; an
 * unmapped page table cap names an empty table; all caps to one table record the same mapping.
 */
export function validTableCaps(objects: ReadonlyMap<number, ObjectView>, filled: readonly Filled[]): string | null {
  const mappingOf = new Map<number, string>();
  for (const { slot, cap } of filled) {
    if (cap.type !== 'frame' && cap.type !== 'pagetable') continue;
    const at = `the ${cap.type} cap in ${hex(slot.cnode)}[${slot.index}]`;
    const alignBits = cap.type === 'frame' ? cap.sizeBits : seL4_LargePageBits;
    const m = cap.mapped;
    if (m !== null && (m.asid === 0 || m.vaddr >= seL4_UserTop || m.vaddr % 2 ** alignBits !== 0)) return `wellformed_mapdata: ${at} records ASID ${m.asid} vaddr ${hex(m.vaddr)}`;
    const o = objects.get(cap.ptr);
    if (cap.type === 'frame') {
      if (o?.type !== 'frame' || o.sizeBits !== cap.sizeBits) return `valid_cap: ${at} names no ${cap.sizeBits}-bit frame`;
      continue;
    }
    if (o?.type !== 'pagetable') return `valid_cap: ${at} names no page table`;
    if (m === null && (o.entries.length > 0 || o.kernelWindow)) return `valid_table_caps: ${at} is unmapped but its table is not empty`;
    const mapping = m === null ? 'none' : `${m.asid}:${m.vaddr}`;
    const other = mappingOf.get(cap.ptr);
    if (other !== undefined && other !== mapping) return `valid_table_caps: caps to table ${hex(cap.ptr)} record ${other} and ${mapping}`;
    mappingOf.set(cap.ptr, mapping);
  }
  return null;
}

/** Every VSpace invariant; the first violation, or null. */
export function vspaceInvariants(objects: ReadonlyMap<number, ObjectView>, filled: readonly Filled[]): string | null {
  const walked = validVSpaceObjs(objects);
  if ('violation' in walked) return walked.violation;
  return validAsidTable(objects, filled) ?? validVsLookup(walked.reached, filled) ?? validTableCaps(objects, filled);
}

// ---- translation ----------------------------------------------------------------------------

/** The first or last of some entries of a table, by index. */
function extremeEntry<T extends PteView>(entries: readonly T[], last: boolean): T | null {
  let found: T | null = null;
  for (const e of entries) if (found === null || (last ? e.index > found.index : e.index < found.index)) found = e;
  return found;
}

const isLeaf = (e: PteView): e is Leaf => e.kind === 'page';

/**
 * The first or last user leaf reached from `root` through its first or last entry: its virtual
 * page, the leaf, and the leaf's level size (22 in the root, 12 in a level-1 table).
 */
function extremeLeaf(objects: ReadonlyMap<number, ObjectView>, root: PageTableView, last: boolean): { vaddr: number; leaf: Leaf; sizeBits: number } | null {
  const top = extremeEntry(root.entries, last);
  if (top === null) return null;
  const vaddr = top.index * 2 ** seL4_LargePageBits;
  if (top.kind === 'page') return { vaddr, leaf: top, sizeBits: seL4_LargePageBits };
  const table = pageTableAt(objects, top.table);
  const leaf = table === null ? null : extremeEntry(table.entries.filter(isLeaf), last);
  return leaf === null ? null : { vaddr: vaddr + leaf.index * 2 ** seL4_PageBits, leaf, sizeBits: seL4_PageBits };
}

function translationText(t: Translation | null): string {
  return t === null ? 'no translation' : `paddr ${hex(t.paddr)} (frame ${hex(t.frame)}, ${t.sizeBits} bits, rights ${t.rights}, ${t.executable ? 'executable' : 'execute-never'})`;
}

function sameTranslation(a: Translation | null, b: Translation | null): boolean {
  if (a === null || b === null) return a === b;
  return a.paddr === b.paddr && a.frame === b.frame && a.sizeBits === b.sizeBits && a.rights === b.rights && a.executable === b.executable;
}

/**
 * get_vspace_of_thread and ptable_lift/ptable_rights: for every thread, the view's translate
 * agrees with a walk of the listed tables from its TCB slot 1 cap at a few addresses (the first
 * and the last leaf of the table the cap names, each at an unaligned address in its page's last
 * word, and the kernel window). The cap's table is the thread's VSpace only while the cap is
 * mapped with an ASID whose root it is; otherwise nothing translates.
 */
export function translationsAgree(objects: ReadonlyMap<number, ObjectView>, view: Pick<KernelView, 'cap' | 'translate'>): string | null {
  const rootOfAsid = new Map<number, number>();
  for (const o of objects.values()) {
    if (o.type !== 'asidpool' || o.asidBase === null) continue;
    for (const [low, root] of o.entries) rootOfAsid.set(o.asidBase + low, root);
  }
  for (const o of objects.values()) {
    if (o.type !== 'tcb') continue;
    const cap = view.cap({ cnode: o.addr, index: TCBSlot.vspace });
    const table = cap?.type === 'pagetable' ? pageTableAt(objects, cap.ptr) : null;
    const valid = cap?.type === 'pagetable' && cap.mapped !== null && rootOfAsid.get(cap.mapped.asid) === cap.ptr;
    const probes: { vaddr: number; expected: Translation | null }[] = [{ vaddr: seL4_UserTop + 2 ** seL4_PageBits, expected: null }];
    for (const last of [false, true]) {
      const reached = table === null ? null : extremeLeaf(objects, table, last);
      if (reached === null) continue;
      const offsetBytes = 2 ** reached.sizeBits - 3;
      const { frame, rights, executable } = reached.leaf;
      const expected = valid ? { paddr: frame + offsetBytes - (offsetBytes % 4), frame, sizeBits: reached.sizeBits, rights, executable } : null;
      probes.push({ vaddr: reached.vaddr + offsetBytes, expected });
    }
    for (const { vaddr, expected } of probes) {
      const got = view.translate(o.addr, vaddr);
      if (!sameTranslation(got, expected)) {
        return `ptable_lift: thread ${hex(o.addr)} at ${hex(vaddr)}: translate gives ${translationText(got)}, the walk from its VSpace cap ${translationText(expected)}`;
      }
    }
  }
  return null;
}
