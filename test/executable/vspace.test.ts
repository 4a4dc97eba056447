// The executable spec's VSpace: the seven riscv32 invocations with their checks in seL4's order
// (sel4-facts 24.3-24.7), derivation (24.2), finalisation and stale caps (24.8), the boot VSpace (24.11).
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as IL,
  seL4_AllRights as allRights,
  seL4_CanRead as canRead,
  seL4_CanWrite as canWrite,
  seL4_CapASIDControl,
  seL4_CapInitThreadASIDPool,
  seL4_CapInitThreadVSpace,
  seL4_Error,
  seL4_ObjectType as T,
  VMRights,
  type Cap,
  type ObjectView,
  type PteView,
} from '../../libsel4/index.ts';
import { asidTableOfPools, allObjects } from '../../spec-executable/index.ts';
import { ExecHarness, L, ROOT } from './harness.ts';

const E = seL4_Error;
const mega = 0x400000;
/** seL4_RISCV_ExecuteNever. */
const executeNever = 0x1;

/** RAM enough for a 4 MiB frame. */
const bigRam = { memory: { base: 0x80000000, sizeBytes: 16 << 20 } };

/** A harness with a slot allocator over the root CNode's empty slots. */
class VSpaceHarness extends ExecHarness {
  private nextSlot = this.empty;

  slots(count: number): number {
    const first = this.nextSlot;
    this.nextSlot += count;
    return first;
  }

  /** Retypes `count` objects from the biggest RAM untyped into fresh slots; gives the first slot. */
  retype(type: number, sizeBits: number, count = 1): number {
    const first = this.slots(count);
    expect(this.api.seL4_Untyped_Retype(this.bigUntyped, type, sizeBits, ROOT, 0, 0, first, count)).toBe(E.seL4_NoError);
    return first;
  }

  ptr(slot: number): number {
    const cap = this.cap(slot);
    if (cap === null || !('ptr' in cap)) throw new Error(`slot ${slot} holds no object cap`);
    return cap.ptr;
  }

  object(addr: number): ObjectView | null {
    return L.view(this.state).object(addr);
  }

  entries(table: number): readonly PteView[] {
    const obj = this.object(table);
    if (obj === null || obj.type !== 'pagetable') throw new Error(`no page table at ${table}`);
    return obj.entries;
  }

  /** A new pool (from a fresh 4 KiB untyped) in a fresh slot. */
  makePool(): number {
    const ut = this.retype(T.seL4_UntypedObject, 12);
    const dest = this.slots(1);
    expect(this.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [dest, 32], [ut, ROOT])).toBe(E.seL4_NoError);
    return dest;
  }

  /** A fresh page table assigned an ASID from `pool` (the boot pool by default). */
  newRoot(pool = seL4_CapInitThreadASIDPool): number {
    const root = this.retype(T.seL4_RISCV_PageTableObject, 0);
    expect(this.call(pool, IL.RISCVASIDPoolAssign, [], [root])).toBe(E.seL4_NoError);
    return root;
  }

  /** A new root, an unmapped page table and an unmapped 4 KiB frame. */
  rootTableFrame(): { root: number; pt: number; frame: number } {
    const root = this.newRoot();
    return { root, pt: this.retype(T.seL4_RISCV_PageTableObject, 0), frame: this.retype(T.seL4_RISCV_4K_Page, 0) };
  }

  mapTable(table: number, root: number, vaddr: number): number {
    return this.call(table, IL.RISCVPageTableMap, [vaddr, 0], [root]);
  }

  mapPage(frame: number, root: number, vaddr: number, rights = allRights, attr = 0): number {
    return this.call(frame, IL.RISCVPageMap, [vaddr, rights, attr], [root]);
  }

  /** The error reply's first word (InvalidCapability's index, FailedLookup's source...). */
  mr(i: number): number {
    return this.mrs(i + 1)[i]!;
  }
}

function mappedOf(cap: Cap | null): { asid: number; vaddr: number } | null {
  if (cap === null || (cap.type !== 'frame' && cap.type !== 'pagetable')) throw new Error('not a frame or page table cap');
  return cap.mapped;
}

describe('the boot VSpace', () => {
  it('holds the plan\'s page tables and frames, the kernel window, and ASID 1 in pool 0', () => {
    const h = new VSpaceHarness();
    const root = h.plan.vspaceRoot;
    expect(h.object(root)).toMatchObject({ kernelWindow: true });
    const tables = h.plan.rootCaps.flatMap(([, c]) => (c.type === 'pagetable' && c.ptr !== root && c.mapped !== null ? [{ ptr: c.ptr, vaddr: c.mapped.vaddr }] : []));
    expect(tables.length).toBeGreaterThan(0);
    expect(h.entries(root)).toEqual(tables.map((t) => ({ index: t.vaddr / mega, kind: 'table', table: t.ptr })));
    const frames = h.plan.rootCaps.flatMap(([, c]) => (c.type === 'frame' && c.mapped !== null ? [{ ptr: c.ptr, vaddr: c.mapped.vaddr }] : []));
    for (const f of frames) {
      const table = tables.find((t) => t.vaddr === f.vaddr - (f.vaddr % mega))!;
      expect(h.entries(table.ptr)).toContainEqual({ index: (f.vaddr % mega) / 4096, kind: 'page', frame: f.ptr, sizeBits: 12, rights: VMRights.VMReadWrite, executable: true });
    }
    expect(tables.reduce((n, t) => n + h.entries(t.ptr).length, 0)).toBe(frames.length);
    expect(h.object(h.plan.asidPool)).toEqual({ type: 'asidpool', addr: h.plan.asidPool, asidBase: 0, entries: [[1, root]] });
    expect(h.state.asidTable[0]).toBe(h.plan.asidPool);
  });
});

describe('ASIDControl_MakePool, checks in seL4 order', () => {
  it('answers each error, the earlier check winning', () => {
    const h = new VSpaceHarness();
    const ut = h.retype(T.seL4_UntypedObject, 12);
    const dest = h.slots(1);
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDPoolAssign, [], [])).toBe(E.seL4_IllegalOperation);
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [dest], [ut, ROOT])).toBe(E.seL4_TruncatedMessage);
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [dest, 32], [ut])).toBe(E.seL4_TruncatedMessage);
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [dest, 32], [h.bigUntyped, ROOT])).toBe(E.seL4_InvalidCapability);
    expect(h.mr(0)).toBe(1);
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [dest, 32], [h.deviceUntyped, ROOT])).toBe(E.seL4_InvalidCapability);
    const parentOfChild = h.retype(T.seL4_UntypedObject, 12);
    const child = h.slots(1);
    expect(h.api.seL4_Untyped_Retype(parentOfChild, T.seL4_EndpointObject, 0, ROOT, 0, 0, child, 1)).toBe(E.seL4_NoError);
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [child, 32], [parentOfChild, ROOT])).toBe(E.seL4_RevokeFirst);
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [dest, 32], [ut, ut])).toBe(E.seL4_FailedLookup);
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [dest, 33], [ut, ROOT])).toBe(E.seL4_RangeError);
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [child, 32], [ut, ROOT])).toBe(E.seL4_DeleteFirst);
    expect(h.cap(ut)).toMatchObject({ freeIndex: 0 });
    // Once its child is deleted the untyped passes, whatever its free index; its old objects are detyped.
    const endpoint = h.ptr(child);
    expect(h.api.seL4_CNode_Delete(ROOT, child, 32)).toBe(E.seL4_NoError);
    expect(h.object(endpoint)).toMatchObject({ type: 'endpoint' });
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [child, 32], [parentOfChild, ROOT])).toBe(E.seL4_NoError);
    expect(h.object(endpoint)).toEqual({ type: 'asidpool', addr: endpoint, asidBase: 16, entries: [] });
  });

  it('makes a pool at the lowest free ASID table slot, as the untyped\'s child, until all 32 are taken', () => {
    const h = new VSpaceHarness();
    const pool = h.makePool();
    // The table slot is the entry's witnessed choice (l4v's abstract spec allows any free one).
    expect(h.last!.witness).toEqual([{ point: 'asidPool', index: 1 }]);
    const ut = pool - 1;
    expect(h.cap(pool)).toEqual({ type: 'asidpool', ptr: h.ptr(ut), asidBase: 16 });
    expect(h.cap(ut)).toMatchObject({ freeIndex: 4096 });
    expect(h.parent(pool)).toEqual(h.root(ut));
    expect(h.object(h.ptr(ut))).toEqual({ type: 'asidpool', addr: h.ptr(ut), asidBase: 16, entries: [] });
    for (let i = 2; i < 32; i++) expect(h.cap(h.makePool())).toMatchObject({ asidBase: i * 16 });
    const spare = h.retype(T.seL4_UntypedObject, 12);
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [h.slots(1), 32], [h.bigUntyped, ROOT])).toBe(E.seL4_DeleteFirst);
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [h.slots(1), 32], [spare, ROOT])).toBe(E.seL4_DeleteFirst);
    // Deleting a pool frees its table slot, and its untyped makes a pool again at once.
    expect(h.api.seL4_CNode_Delete(ROOT, pool, 32)).toBe(E.seL4_NoError);
    expect(h.state.asidTable[1]).toBeNull();
    expect(h.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [pool, 32], [ut, ROOT])).toBe(E.seL4_NoError);
    expect(h.cap(pool)).toMatchObject({ asidBase: 16 });
    expect(asidTableOfPools(allObjects(h.state))).toEqual(h.state.asidTable);
  });
});

describe('ASIDPool_Assign', () => {
  it('checks the label, the extra cap, then for a free entry; ASIDs are the lowest free, never 0', () => {
    const h = new VSpaceHarness();
    const pt = h.retype(T.seL4_RISCV_PageTableObject, 0);
    expect(h.call(seL4_CapInitThreadASIDPool, IL.RISCVPageMap, [], [pt])).toBe(E.seL4_IllegalOperation);
    expect(h.call(seL4_CapInitThreadASIDPool, IL.RISCVASIDPoolAssign, [], [])).toBe(E.seL4_TruncatedMessage);
    expect(h.call(seL4_CapInitThreadASIDPool, IL.RISCVASIDPoolAssign, [], [seL4_CapInitThreadVSpace])).toBe(E.seL4_InvalidCapability);
    expect(h.mr(0)).toBe(1);
    expect(h.call(seL4_CapInitThreadASIDPool, IL.RISCVASIDPoolAssign, [], [ROOT])).toBe(E.seL4_InvalidCapability);
    expect(h.call(seL4_CapInitThreadASIDPool, IL.RISCVASIDPoolAssign, [], [pt])).toBe(E.seL4_NoError);
    expect(h.last!.witness).toEqual([{ point: 'asid', asid: 2 }]);
    expect(h.cap(pt)).toEqual({ type: 'pagetable', ptr: h.ptr(pt), mapped: { asid: 2, vaddr: 0 } });
    expect(h.object(h.ptr(pt))).toEqual({ type: 'pagetable', addr: h.ptr(pt), entries: [], kernelWindow: true });
    // Pool 0 has 15 usable ASIDs: 1 (the root task's), 2, then 13 more.
    for (let asid = 3; asid < 16; asid++) expect(mappedOf(h.cap(h.newRoot()))).toEqual({ asid, vaddr: 0 });
    const spare = h.retype(T.seL4_RISCV_PageTableObject, 0);
    expect(h.call(seL4_CapInitThreadASIDPool, IL.RISCVASIDPoolAssign, [], [spare])).toBe(E.seL4_DeleteFirst);
    // A fresh pool takes 16, from its base.
    const pool = h.makePool();
    for (let low = 0; low < 16; low++) expect(mappedOf(h.cap(h.newRoot(pool)))).toEqual({ asid: 16 + low, vaddr: 0 });
    expect(h.call(pool, IL.RISCVASIDPoolAssign, [], [spare])).toBe(E.seL4_DeleteFirst);
  });
});

describe('PageTable_Map and PageTable_Unmap', () => {
  it('answers each map error in order', () => {
    const h = new VSpaceHarness();
    const { root, pt, frame } = h.rootTableFrame();
    const imagePT = h.plan.bootInfo.userImagePaging.start;
    expect(h.call(pt, IL.RISCVPageGetAddress, [], [])).toBe(E.seL4_IllegalOperation);
    expect(h.call(pt, IL.RISCVPageTableMap, [0], [root])).toBe(E.seL4_TruncatedMessage);
    expect(h.call(pt, IL.RISCVPageTableMap, [0, 0], [])).toBe(E.seL4_TruncatedMessage);
    expect(h.mapTable(imagePT, frame, 0x80000000)).toBe(E.seL4_InvalidCapability);
    expect(h.mr(0)).toBe(0);
    expect(h.mapTable(pt, frame, 0x80000000)).toBe(E.seL4_InvalidCapability);
    expect(h.mr(0)).toBe(1);
    expect(h.mapTable(pt, pt, 0)).toBe(E.seL4_InvalidCapability);
    expect(h.mapTable(pt, root, 0x80000000)).toBe(E.seL4_InvalidArgument);
    expect(h.mr(0)).toBe(0);
    expect(h.mapTable(pt, imagePT, 0x400000)).toBe(E.seL4_InvalidCapability);
    expect(h.mr(0)).toBe(1);
    expect(h.mapTable(pt, seL4_CapInitThreadVSpace, 0)).toBe(E.seL4_DeleteFirst);
    // An unaligned vaddr maps the 4 MiB window it lies in.
    expect(h.mapTable(pt, root, 0x400123)).toBe(E.seL4_NoError);
    expect(mappedOf(h.cap(pt))).toEqual({ asid: 2, vaddr: 0x400000 });
    expect(h.entries(h.ptr(root))).toEqual([{ index: 1, kind: 'table', table: h.ptr(pt) }]);
    const pt2 = h.retype(T.seL4_RISCV_PageTableObject, 0);
    expect(h.mapTable(pt2, root, 0x7fffff)).toBe(E.seL4_DeleteFirst);
  });

  it('unmaps only the last cap of a table that is not a live root, zeroing it; the frames below keep their records', () => {
    const h = new VSpaceHarness();
    const { root, pt, frame } = h.rootTableFrame();
    expect(h.mapTable(pt, root, 0)).toBe(E.seL4_NoError);
    expect(h.mapPage(frame, root, 0x3000)).toBe(E.seL4_NoError);
    const copy = h.slots(1);
    expect(h.api.seL4_CNode_Copy(ROOT, copy, 32, ROOT, pt, 32, allRights)).toBe(E.seL4_NoError);
    expect(h.cap(copy)).toEqual(h.cap(pt));
    expect(h.call(pt, IL.RISCVPageTableUnmap, [], [])).toBe(E.seL4_RevokeFirst);
    expect(h.api.seL4_CNode_Delete(ROOT, copy, 32)).toBe(E.seL4_NoError);
    expect(h.entries(h.ptr(pt))).toHaveLength(1);
    expect(h.call(root, IL.RISCVPageTableUnmap, [], [])).toBe(E.seL4_RevokeFirst);
    expect(h.call(pt, IL.RISCVPageTableUnmap, [], [])).toBe(E.seL4_NoError);
    expect(h.cap(pt)).toMatchObject({ mapped: null });
    expect(h.entries(h.ptr(root))).toEqual([]);
    expect(h.entries(h.ptr(pt))).toEqual([]);
    expect(mappedOf(h.cap(frame))).toEqual({ asid: 2, vaddr: 0x3000 });
    expect(h.call(pt, IL.RISCVPageTableUnmap, [], [])).toBe(E.seL4_NoError);
    // An unmapped page table cap cannot be copied; moved it can.
    expect(h.api.seL4_CNode_Copy(ROOT, copy, 32, ROOT, pt, 32, allRights)).toBe(E.seL4_IllegalOperation);
    expect(h.api.seL4_CNode_Move(ROOT, copy, 32, ROOT, pt, 32)).toBe(E.seL4_NoError);
  });
});

describe('Page_Map, Page_Unmap, Page_GetAddress', () => {
  it('answers each map error in order', () => {
    const h = new VSpaceHarness(bigRam);
    const { root, pt, frame } = h.rootTableFrame();
    const other = h.retype(T.seL4_RISCV_4K_Page, 0);
    const big = h.retype(T.seL4_RISCV_Mega_Page, 0);
    expect(h.mapTable(pt, root, 0)).toBe(E.seL4_NoError);
    expect(h.call(frame, IL.RISCVPageTableMap, [0, 0], [root])).toBe(E.seL4_IllegalOperation);
    expect(h.call(frame, IL.RISCVPageMap, [0, 0], [root])).toBe(E.seL4_TruncatedMessage);
    expect(h.call(frame, IL.RISCVPageMap, [0, 0, 0], [])).toBe(E.seL4_TruncatedMessage);
    expect(h.mapPage(frame, h.slots(1), 0x80000000)).toBe(E.seL4_InvalidCapability);
    expect(h.mr(0)).toBe(1);
    expect(h.mapPage(frame, pt, 0x80000000)).toBe(E.seL4_InvalidCapability);
    expect(h.mapPage(frame, root, 0x7ffff001)).toBe(E.seL4_InvalidArgument);
    expect(h.mapPage(frame, root, 0x1001)).toBe(E.seL4_AlignmentError);
    expect(h.mapPage(big, root, 0x200000)).toBe(E.seL4_AlignmentError);
    expect(h.mapPage(frame, root, mega)).toBe(E.seL4_FailedLookup);
    expect(h.mrs(3)).toEqual([0, 2, 22]);
    expect(h.mapPage(big, root, 0)).toBe(E.seL4_FailedLookup);
    expect(h.mrs(3)).toEqual([0, 2, 12]);
    expect(h.mapPage(frame, root, 0x1000)).toBe(E.seL4_NoError);
    expect(h.mapPage(other, root, 0x1000)).toBe(E.seL4_DeleteFirst);
    expect(h.mapPage(frame, root, 0x2000)).toBe(E.seL4_InvalidArgument);
    expect(h.mapPage(frame, seL4_CapInitThreadVSpace, 0x2000)).toBe(E.seL4_InvalidCapability);
    expect(h.mr(0)).toBe(1);
  });

  it('maps with masked rights and attributes, remaps in place, unmaps and answers the address', () => {
    const h = new VSpaceHarness(bigRam);
    const { root, pt, frame } = h.rootTableFrame();
    const big = h.retype(T.seL4_RISCV_Mega_Page, 0);
    expect(h.mapTable(pt, root, 0)).toBe(E.seL4_NoError);
    expect(h.mapPage(frame, root, 0x5000, canRead, executeNever)).toBe(E.seL4_NoError);
    const page = { index: 5, kind: 'page', frame: h.ptr(frame), sizeBits: 12 };
    expect(h.entries(h.ptr(pt))).toEqual([{ ...page, rights: VMRights.VMReadOnly, executable: false }]);
    expect(h.cap(frame)).toMatchObject({ vmRights: VMRights.VMReadWrite, mapped: { asid: 2, vaddr: 0x5000 } });
    expect(h.mapPage(frame, root, 0x5000, allRights, 0)).toBe(E.seL4_NoError);
    expect(h.entries(h.ptr(pt))).toEqual([{ ...page, rights: VMRights.VMReadWrite, executable: true }]);
    // Write without read is kernel-only: executable it stays a PTE, execute-never it is none.
    expect(h.mapPage(frame, root, 0x5000, canWrite, 0)).toBe(E.seL4_NoError);
    expect(h.entries(h.ptr(pt))).toEqual([{ ...page, rights: VMRights.VMKernelOnly, executable: true }]);
    expect(h.mapPage(frame, root, 0x5000, canWrite, executeNever)).toBe(E.seL4_NoError);
    expect(h.entries(h.ptr(pt))).toEqual([]);
    expect(mappedOf(h.cap(frame))).toEqual({ asid: 2, vaddr: 0x5000 });
    expect(h.mapPage(big, root, mega * 3)).toBe(E.seL4_NoError);
    expect(h.entries(h.ptr(root))).toContainEqual({ index: 3, kind: 'page', frame: h.ptr(big), sizeBits: 22, rights: VMRights.VMReadWrite, executable: true });
    expect(h.call(big, IL.RISCVPageUnmap, [], [])).toBe(E.seL4_NoError);
    expect(h.entries(h.ptr(root))).toEqual([{ index: 0, kind: 'table', table: h.ptr(pt) }]);
    expect(h.cap(big)).toMatchObject({ mapped: null });
    expect(h.call(big, IL.RISCVPageUnmap, [], [])).toBe(E.seL4_NoError);
    expect(h.call(big, IL.RISCVPageGetAddress, [], [])).toBe(E.seL4_NoError);
    expect(h.mrs()).toEqual([h.ptr(big)]);
  });

  it('a frame cap copy is unmapped and maps on its own; deleting it unmaps only its mapping', () => {
    const h = new VSpaceHarness();
    const { root, pt, frame } = h.rootTableFrame();
    const copy = h.slots(1);
    expect(h.mapTable(pt, root, 0)).toBe(E.seL4_NoError);
    expect(h.mapPage(frame, root, 0x1000)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Copy(ROOT, copy, 32, ROOT, frame, 32, canRead)).toBe(E.seL4_NoError);
    expect(h.cap(copy)).toMatchObject({ vmRights: VMRights.VMReadOnly, mapped: null });
    expect(h.mapPage(copy, root, 0x2000)).toBe(E.seL4_NoError);
    expect(h.entries(h.ptr(pt)).map((e) => e.index)).toEqual([1, 2]);
    expect(h.api.seL4_CNode_Delete(ROOT, copy, 32)).toBe(E.seL4_NoError);
    expect(h.entries(h.ptr(pt)).map((e) => e.index)).toEqual([1]);
    // Revoking the original deletes the copies and their mappings (the original keeps its own).
    expect(h.api.seL4_CNode_Copy(ROOT, copy, 32, ROOT, frame, 32, allRights)).toBe(E.seL4_NoError);
    expect(h.mapPage(copy, root, 0x2000)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Revoke(ROOT, frame, 32)).toBe(E.seL4_NoError);
    expect(h.cap(copy)).toEqual({ type: 'null' });
    expect(h.entries(h.ptr(pt)).map((e) => e.index)).toEqual([1]);
  });
});

describe('finalisation and stale caps', () => {
  it('deleting a page table unlinks it from its root and keeps its entries; the frame cap below goes stale', () => {
    const h = new VSpaceHarness();
    const { root, pt, frame } = h.rootTableFrame();
    expect(h.mapTable(pt, root, mega)).toBe(E.seL4_NoError);
    expect(h.mapPage(frame, root, mega)).toBe(E.seL4_NoError);
    const table = h.ptr(pt);
    expect(h.api.seL4_CNode_Delete(ROOT, pt, 32)).toBe(E.seL4_NoError);
    expect(h.entries(h.ptr(root))).toEqual([]);
    expect(h.entries(table)).toHaveLength(1);
    expect(h.mapPage(frame, root, mega)).toBe(E.seL4_FailedLookup);
    expect(h.call(frame, IL.RISCVPageUnmap, [], [])).toBe(E.seL4_NoError);
    expect(h.entries(table)).toHaveLength(1);
    expect(h.cap(frame)).toMatchObject({ mapped: null });
  });

  it('deleting a root\'s last cap frees its ASID, which the next Assign reuses', () => {
    const h = new VSpaceHarness();
    const root = h.newRoot();
    const addr = h.ptr(root);
    expect(h.api.seL4_CNode_Delete(ROOT, root, 32)).toBe(E.seL4_NoError);
    expect(h.object(h.plan.asidPool)).toMatchObject({ entries: [[1, h.plan.vspaceRoot]] });
    expect(h.object(addr)).toMatchObject({ kernelWindow: true });
    expect(mappedOf(h.cap(h.newRoot()))).toEqual({ asid: 2, vaddr: 0 });
  });

  it('deleting a pool orphans its roots: maps into them fail, Assign refuses them, PageTable_Unmap zeroes them', () => {
    const h = new VSpaceHarness();
    const pool = h.makePool();
    const root = h.newRoot(pool);
    const pt = h.retype(T.seL4_RISCV_PageTableObject, 0);
    const frame = h.retype(T.seL4_RISCV_4K_Page, 0);
    expect(h.mapTable(pt, root, 0)).toBe(E.seL4_NoError);
    const poolAddr = h.ptr(pool);
    expect(h.api.seL4_CNode_Delete(ROOT, pool, 32)).toBe(E.seL4_NoError);
    expect(h.object(poolAddr)).toEqual({ type: 'asidpool', addr: poolAddr, asidBase: null, entries: [[0, h.ptr(root)]] });
    expect(h.state.asidTable[1]).toBeNull();
    expect(h.mapPage(frame, root, 0x1000)).toBe(E.seL4_FailedLookup);
    expect(h.mrs(2)).toEqual([0, 1]);
    expect(h.call(seL4_CapInitThreadASIDPool, IL.RISCVASIDPoolAssign, [], [root])).toBe(E.seL4_InvalidCapability);
    expect(h.call(root, IL.RISCVPageTableUnmap, [], [])).toBe(E.seL4_NoError);
    expect(h.object(h.ptr(root))).toEqual({ type: 'pagetable', addr: h.ptr(root), entries: [], kernelWindow: false });
    expect(h.call(seL4_CapInitThreadASIDPool, IL.RISCVASIDPoolAssign, [], [root])).toBe(E.seL4_NoError);
    // The table mapped under the orphan is stale: mapping it is InvalidCapability(0), unmapping it works.
    expect(h.mapTable(pt, root, 0)).toBe(E.seL4_InvalidCapability);
    expect(h.mr(0)).toBe(0);
    expect(h.call(pt, IL.RISCVPageTableUnmap, [], [])).toBe(E.seL4_NoError);
    expect(h.mapTable(pt, root, 0)).toBe(E.seL4_NoError);
  });
});
