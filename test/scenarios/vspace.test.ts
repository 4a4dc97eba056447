// VSpace scenarios in our own words after sel4test's vspace.c and frames.c (VSPACE0001-0005,
// FRAMEEXPORTS0001's remap, FRAMEDIPC0001-0003 without the helper thread's fault) and the rules
// of docs/sel4-facts.md §24, run on each layer alone and on all three in lockstep. What needs
// translated user memory or VM faults waits for the next slice (issue 11, V2).
import { describe, expect, it } from 'vitest';
import {
  seL4_AllRights,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_CapInitThreadASIDPool,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadVSpace,
  seL4_CapASIDControl,
  seL4_Error,
  seL4_LookupFailureType,
  seL4_ObjectType,
  seL4_RISCV_Default_VMAttributes,
  seL4_RISCV_ExecuteNever,
  seL4_ReadWrite,
  type BootConfigInput,
  type Cap,
  type LayerName,
  type ObjectView,
  type PteView,
} from '../../libsel4/index.ts';
import { bootSystem, type System } from '../../refinement/system.ts';

const modes: (LayerName | 'lockstep')[] = ['abstract', 'executable', 'impl', 'lockstep'];
const root = seL4_CapInitThreadCNode;
const E = seL4_Error;
const T = seL4_ObjectType;
const { seL4_MissingCapability, seL4_InvalidRoot } = seL4_LookupFailureType;
const noAttr = seL4_RISCV_Default_VMAttributes;
const page = 0x1000;
const mega = 0x400000;

interface Ctx {
  sys: System;
  cap(index: number): Cap | null;
  object(addr: number): ObjectView | null;
  /** Retypes `count` objects of `type` into fresh root slots; returns the first slot. */
  make(type: number, count?: number, sizeBits?: number): number;
  /** The next `count` free root slots (taken): the first. */
  slot(count?: number): number;
  /** The first slot of the boot device untyped. */
  device: number;
}

function setup(mode: LayerName | 'lockstep', config?: BootConfigInput): Ctx {
  const sys = bootSystem({ layer: mode, ...(config ? { config } : {}) });
  const bi = sys.plan.bootInfo;
  const biggest = bi.untypedList.reduce((best, u, i) => (!u.isDevice && u.sizeBits > bi.untypedList[best]!.sizeBits ? i : best), 0);
  const device = bi.untyped.start + bi.untypedList.findIndex((u) => u.isDevice);
  let free = bi.empty.start;
  const make = (type: number, count = 1, sizeBits = 0) => {
    const at = free;
    expect(sys.api.seL4_Untyped_Retype(bi.untyped.start + biggest, type, sizeBits, root, 0, 0, at, count)).toBe(E.seL4_NoError);
    free += count;
    return at;
  };
  return {
    sys,
    cap: (index) => sys.view().cap({ cnode: sys.plan.rootCNode, index }),
    object: (addr) => sys.view().object(addr),
    make,
    slot: (count = 1) => {
      free += count;
      return free - count;
    },
    device,
  };
}

const ptrOf = (cap: Cap | null): number => {
  if (cap === null || !('ptr' in cap)) throw new Error(`no object cap: ${JSON.stringify(cap)}`);
  return cap.ptr;
};

/** The page-table entries of the table at `addr`, by index. */
function entriesOf(ctx: Ctx, addr: number): Map<number, PteView> {
  const o = ctx.object(addr);
  if (o?.type !== 'pagetable') throw new Error(`no page table at ${addr.toString(16)}`);
  return new Map(o.entries.map((e) => [e.index, e]));
}

/** The leaf a vaddr reaches from `rootAddr` through the views (a table entry at the root, then its entry), or null. */
function leafOf(ctx: Ctx, rootAddr: number, vaddr: number): PteView | null {
  const top = entriesOf(ctx, rootAddr).get(vaddr >>> 22) ?? null;
  if (top === null || top.kind === 'page') return top;
  return entriesOf(ctx, top.table).get((vaddr >>> 12) & 0x3ff) ?? null;
}

/** A pool made from a fresh 4 KiB untyped: its slot. */
function makePool(ctx: Ctx): number {
  const untyped = ctx.make(T.seL4_UntypedObject, 1, 12);
  const at = ctx.slot();
  expect(ctx.sys.api.seL4_RISCV_ASIDControl_MakePool(seL4_CapASIDControl, untyped, root, at, 32)).toBe(E.seL4_NoError);
  return at;
}

/** A fresh root assigned from `pool` (the boot pool by default): its slot. */
function makeRoot(ctx: Ctx, pool = seL4_CapInitThreadASIDPool): number {
  const at = ctx.make(T.seL4_RISCV_PageTableObject);
  expect(ctx.sys.api.seL4_RISCV_ASIDPool_Assign(pool, at)).toBe(E.seL4_NoError);
  return at;
}

/** A root with a page table mapped at `window`: [root slot, table slot]. */
function rootWithTable(ctx: Ctx, window = 0x40000000): [number, number] {
  const vspace = makeRoot(ctx);
  const table = ctx.make(T.seL4_RISCV_PageTableObject);
  expect(ctx.sys.api.seL4_RISCV_PageTable_Map(table, vspace, window, noAttr)).toBe(E.seL4_NoError);
  return [vspace, table];
}

/** A frame mapped at 0x40000000 in a fresh root and a copy of its cap mapped at `copyVaddr`. */
function frameAndMappedCopy(ctx: Ctx, copyVaddr: number): { rootAddr: number; frame: number; copy: number } {
  const { seL4_RISCV_Page_Map, seL4_CNode_Copy } = ctx.sys.api;
  const [vspace] = rootWithTable(ctx);
  const frame = ctx.make(T.seL4_RISCV_4K_Page);
  expect(seL4_RISCV_Page_Map(frame, vspace, 0x40000000, seL4_AllRights, noAttr)).toBe(E.seL4_NoError);
  const copy = ctx.slot();
  expect(seL4_CNode_Copy(root, copy, 32, root, frame, 32, seL4_AllRights)).toBe(E.seL4_NoError);
  expect(seL4_RISCV_Page_Map(copy, vspace, copyVaddr, seL4_AllRights, noAttr)).toBe(E.seL4_NoError);
  return { rootAddr: ptrOf(ctx.cap(vspace)), frame, copy };
}

const mapped = (cap: Cap | null) => (cap !== null && 'mapped' in cap ? cap.mapped : undefined);

describe.each(modes)('VSpace scenarios on %s', (mode) => {
  it("boots the root task's VSpace: ASID 1 in pool 0, the kernel window, every boot frame mapped read-write-execute", () => {
    const ctx = setup(mode);
    const { plan } = ctx.sys;
    expect(ctx.cap(seL4_CapInitThreadVSpace)).toEqual({ type: 'pagetable', ptr: plan.vspaceRoot, mapped: { asid: 1, vaddr: 0 } });
    expect(ctx.object(plan.asidPool)).toEqual({ type: 'asidpool', addr: plan.asidPool, asidBase: 0, entries: [[1, plan.vspaceRoot]] });
    expect(ctx.object(plan.vspaceRoot)).toMatchObject({ kernelWindow: true });
    const frames = plan.rootCaps.filter(([, c]) => c.type === 'frame' && c.mapped !== null);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const [, c] of frames) {
      if (c.type !== 'frame' || c.mapped === null) continue;
      expect(leafOf(ctx, plan.vspaceRoot, c.mapped.vaddr)).toEqual({ index: (c.mapped.vaddr >>> 12) & 0x3ff, kind: 'page', frame: c.ptr, sizeBits: 12, rights: 3, executable: true });
    }
  });

  it('VSPACE0002: a pool from a 4 KiB untyped; the own VSpace cannot be assigned again, a fresh root can', () => {
    const ctx = setup(mode);
    const { seL4_RISCV_ASIDPool_Assign, seL4_GetMR } = ctx.sys.api;
    const pool = makePool(ctx);
    expect(ctx.cap(pool)).toMatchObject({ type: 'asidpool', asidBase: 16 });
    expect(ctx.object(ptrOf(ctx.cap(pool)))).toMatchObject({ asidBase: 16, entries: [] });
    expect(seL4_RISCV_ASIDPool_Assign(pool, seL4_CapInitThreadVSpace)).toBe(E.seL4_InvalidCapability);
    expect(seL4_GetMR(0)).toBe(1);
    const fresh = ctx.make(T.seL4_RISCV_PageTableObject);
    expect(ctx.object(ptrOf(ctx.cap(fresh)))).toMatchObject({ entries: [], kernelWindow: false });
    expect(seL4_RISCV_ASIDPool_Assign(pool, fresh)).toBe(E.seL4_NoError);
    expect(ctx.cap(fresh)).toEqual({ type: 'pagetable', ptr: ptrOf(ctx.cap(fresh)), mapped: { asid: 16, vaddr: 0 } });
    expect(ctx.object(ptrOf(ctx.cap(fresh)))).toMatchObject({ entries: [], kernelWindow: true });
    expect(ctx.object(ptrOf(ctx.cap(pool)))).toMatchObject({ entries: [[0, ptrOf(ctx.cap(fresh))]] });
  });

  it('VSPACE0003, VSPACE0004: 31 more pools can be made, the 32nd is DeleteFirst', () => {
    const ctx = setup(mode);
    const untypeds = ctx.make(T.seL4_UntypedObject, 32, 12);
    const first = ctx.slot(32);
    for (let i = 0; i < 31; i++) {
      expect(ctx.sys.api.seL4_RISCV_ASIDControl_MakePool(seL4_CapASIDControl, untypeds + i, root, first + i, 32)).toBe(E.seL4_NoError);
      expect(ctx.cap(first + i)).toMatchObject({ type: 'asidpool', asidBase: (i + 1) << 4 });
    }
    expect(ctx.sys.api.seL4_RISCV_ASIDControl_MakePool(seL4_CapASIDControl, untypeds + 31, root, first + 31, 32)).toBe(E.seL4_DeleteFirst);
  });

  it('VSPACE0005: a fresh pool takes 16 roots, the 17th is DeleteFirst; pool 0 has 14 left after the root task', () => {
    const ctx = setup(mode);
    const pool = makePool(ctx);
    const tables = ctx.make(T.seL4_RISCV_PageTableObject, 17);
    for (let i = 0; i < 16; i++) {
      expect(ctx.sys.api.seL4_RISCV_ASIDPool_Assign(pool, tables + i)).toBe(E.seL4_NoError);
      expect(mapped(ctx.cap(tables + i))).toEqual({ asid: 16 + i, vaddr: 0 });
    }
    expect(ctx.sys.api.seL4_RISCV_ASIDPool_Assign(pool, tables + 16)).toBe(E.seL4_DeleteFirst);
    const more = ctx.make(T.seL4_RISCV_PageTableObject, 15);
    for (let i = 0; i < 14; i++) expect(ctx.sys.api.seL4_RISCV_ASIDPool_Assign(seL4_CapInitThreadASIDPool, more + i)).toBe(E.seL4_NoError);
    // ASID 0 is never assigned and the root task holds 1: the first fresh root got 2.
    expect(mapped(ctx.cap(more))).toEqual({ asid: 2, vaddr: 0 });
    expect(ctx.sys.api.seL4_RISCV_ASIDPool_Assign(seL4_CapInitThreadASIDPool, more + 14)).toBe(E.seL4_DeleteFirst);
  });

  it('MakePool checks the untyped (size, device, children), then the destination', () => {
    const ctx = setup(mode);
    const { seL4_RISCV_ASIDControl_MakePool: makePoolCall, seL4_GetMR } = ctx.sys.api;
    const big = ctx.make(T.seL4_UntypedObject, 1, 13);
    expect(makePoolCall(seL4_CapASIDControl, big, root, ctx.slot(), 32)).toBe(E.seL4_InvalidCapability);
    expect(seL4_GetMR(0)).toBe(1);
    const used = ctx.make(T.seL4_UntypedObject, 1, 12);
    expect(ctx.sys.api.seL4_Untyped_Retype(used, T.seL4_EndpointObject, 0, root, 0, 0, ctx.slot(), 1)).toBe(E.seL4_NoError);
    expect(makePoolCall(seL4_CapASIDControl, used, root, ctx.slot(), 40)).toBe(E.seL4_RevokeFirst);
    const fresh = ctx.make(T.seL4_UntypedObject, 1, 12);
    expect(makePoolCall(seL4_CapASIDControl, fresh, root, seL4_CapInitThreadVSpace, 32)).toBe(E.seL4_DeleteFirst);
    expect(makePoolCall(seL4_CapASIDControl, fresh, root, ctx.slot(), 33)).toBe(E.seL4_RangeError);
    expect(makePoolCall(seL4_CapASIDControl, ctx.device, root, ctx.slot(), 32)).toBe(E.seL4_InvalidCapability);
  });

  it('PageTable_Map: user addresses only, unaligned ones rounded down, one table per 4 MiB window, the VSpace an assigned root', () => {
    const ctx = setup(mode);
    const { seL4_RISCV_PageTable_Map, seL4_GetMR } = ctx.sys.api;
    const vspace = makeRoot(ctx);
    const [table, other, unassigned] = [0, 1, 2].map(() => ctx.make(T.seL4_RISCV_PageTableObject));
    expect(seL4_RISCV_PageTable_Map(table!, vspace, 0x80000000, noAttr)).toBe(E.seL4_InvalidArgument);
    expect(seL4_GetMR(0)).toBe(0);
    expect(seL4_RISCV_PageTable_Map(table!, unassigned!, 0x400000, noAttr)).toBe(E.seL4_InvalidCapability);
    expect(seL4_GetMR(0)).toBe(1);
    expect(seL4_RISCV_PageTable_Map(table!, vspace, 0x400123, 3)).toBe(E.seL4_NoError);
    expect(mapped(ctx.cap(table!))).toEqual({ asid: 2, vaddr: 0x400000 });
    expect([...entriesOf(ctx, ptrOf(ctx.cap(vspace))).values()]).toEqual([{ index: 1, kind: 'table', table: ptrOf(ctx.cap(table!)) }]);
    expect(seL4_RISCV_PageTable_Map(other!, vspace, 0x7ff000, noAttr)).toBe(E.seL4_DeleteFirst);
    expect(seL4_RISCV_PageTable_Map(table!, vspace, 0x800000, noAttr)).toBe(E.seL4_InvalidCapability);
    expect(seL4_GetMR(0)).toBe(0);
    // A mapped table that is not the ASID's root is no VSpace.
    expect(seL4_RISCV_PageTable_Map(other!, table!, 0x800000, noAttr)).toBe(E.seL4_InvalidCapability);
    expect(seL4_GetMR(0)).toBe(1);
  });

  it('derivation: an unmapped page table cap cannot be copied (it can be moved); a frame copy is unmapped', () => {
    const ctx = setup(mode);
    const { seL4_CNode_Copy, seL4_CNode_Move, seL4_RISCV_Page_Map } = ctx.sys.api;
    const table = ctx.make(T.seL4_RISCV_PageTableObject);
    expect(seL4_CNode_Copy(root, ctx.slot(), 32, root, table, 32, seL4_AllRights)).toBe(E.seL4_IllegalOperation);
    const moved = ctx.slot();
    expect(seL4_CNode_Move(root, moved, 32, root, table, 32)).toBe(E.seL4_NoError);
    const [vspace, mappedTable] = rootWithTable(ctx);
    const tableCopy = ctx.slot();
    expect(seL4_CNode_Copy(root, tableCopy, 32, root, mappedTable, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(mapped(ctx.cap(tableCopy))).toEqual(mapped(ctx.cap(mappedTable)));
    const frame = ctx.make(T.seL4_RISCV_4K_Page);
    expect(seL4_RISCV_Page_Map(frame, vspace, 0x40000000, seL4_AllRights, noAttr)).toBe(E.seL4_NoError);
    const frameCopy = ctx.slot();
    expect(seL4_CNode_Copy(root, frameCopy, 32, root, frame, 32, seL4_CanRead)).toBe(E.seL4_NoError);
    expect(ctx.cap(frameCopy)).toMatchObject({ type: 'frame', vmRights: 2, mapped: null });
  });

  it('Page_Map: the checks in seL4 order, the PTE its rights and attributes give, remap, GetAddress, Unmap (FRAMEEXPORTS0001)', () => {
    const ctx = setup(mode);
    const { seL4_RISCV_Page_Map, seL4_RISCV_Page_Unmap, seL4_RISCV_Page_GetAddress, seL4_GetMR } = ctx.sys.api;
    const [vspace] = rootWithTable(ctx, 0x40000000);
    const rootAddr = ptrOf(ctx.cap(vspace));
    const [frame, other] = [ctx.make(T.seL4_RISCV_4K_Page), ctx.make(T.seL4_RISCV_4K_Page)];
    const words = (n: number) => Array.from({ length: n }, (_, i) => seL4_GetMR(i));
    expect(seL4_RISCV_Page_Map(frame, vspace, 0x40400000, seL4_AllRights, noAttr)).toBe(E.seL4_FailedLookup);
    expect(words(3)).toEqual([0, seL4_MissingCapability, 22]);
    expect(seL4_RISCV_Page_Map(frame, vspace, 0x40000800, seL4_AllRights, noAttr)).toBe(E.seL4_AlignmentError);
    expect(seL4_RISCV_Page_Map(frame, vspace, 0xc0000000, seL4_AllRights, noAttr)).toBe(E.seL4_InvalidArgument);
    expect(seL4_GetMR(0)).toBe(0);
    expect(seL4_RISCV_Page_Map(frame, frame, 0x40001000, seL4_AllRights, noAttr)).toBe(E.seL4_InvalidCapability);
    expect(seL4_GetMR(0)).toBe(1);

    expect(seL4_RISCV_Page_Map(frame, vspace, 0x40001000, seL4_AllRights, noAttr)).toBe(E.seL4_NoError);
    const frameAddr = ptrOf(ctx.cap(frame));
    expect(mapped(ctx.cap(frame))).toEqual({ asid: 2, vaddr: 0x40001000 });
    expect(leafOf(ctx, rootAddr, 0x40001000)).toEqual({ index: 1, kind: 'page', frame: frameAddr, sizeBits: 12, rights: 3, executable: true });
    // A remap at the same address with fewer rights and execute-never; elsewhere it is InvalidArgument.
    expect(seL4_RISCV_Page_Map(frame, vspace, 0x40001000, seL4_CanRead, seL4_RISCV_ExecuteNever)).toBe(E.seL4_NoError);
    expect(leafOf(ctx, rootAddr, 0x40001000)).toMatchObject({ rights: 2, executable: false });
    expect(seL4_RISCV_Page_Map(frame, vspace, 0x40002000, seL4_AllRights, noAttr)).toBe(E.seL4_InvalidArgument);
    expect(seL4_GetMR(0)).toBe(0);
    expect(seL4_RISCV_Page_Map(other, vspace, 0x40001000, seL4_AllRights, noAttr)).toBe(E.seL4_DeleteFirst);
    // Write without read masks to kernel-only: executable, no R or W.
    expect(seL4_RISCV_Page_Map(other, vspace, 0x40003000, seL4_CanWrite, noAttr)).toBe(E.seL4_NoError);
    expect(leafOf(ctx, rootAddr, 0x40003000)).toMatchObject({ rights: 1, executable: true });

    expect(seL4_RISCV_Page_GetAddress(frame)).toEqual({ error: E.seL4_NoError, paddr: frameAddr });
    expect(seL4_RISCV_Page_Unmap(frame)).toBe(E.seL4_NoError);
    expect(mapped(ctx.cap(frame))).toBeNull();
    expect(leafOf(ctx, rootAddr, 0x40001000)).toBeNull();
    expect(seL4_RISCV_Page_Unmap(frame)).toBe(E.seL4_NoError);
    expect(seL4_RISCV_Page_GetAddress(frame)).toEqual({ error: E.seL4_NoError, paddr: frameAddr });
  });

  it('a kernel-only execute-never mapping leaves the slot invalid: another frame maps there while both caps record it', () => {
    const ctx = setup(mode);
    const { seL4_RISCV_Page_Map } = ctx.sys.api;
    const [vspace] = rootWithTable(ctx);
    const [frame, other] = [ctx.make(T.seL4_RISCV_4K_Page), ctx.make(T.seL4_RISCV_4K_Page)];
    expect(seL4_RISCV_Page_Map(frame, vspace, 0x40005000, seL4_CanWrite, seL4_RISCV_ExecuteNever)).toBe(E.seL4_NoError);
    expect(leafOf(ctx, ptrOf(ctx.cap(vspace)), 0x40005000)).toBeNull();
    expect(seL4_RISCV_Page_Map(other, vspace, 0x40005000, seL4_ReadWrite, noAttr)).toBe(E.seL4_NoError);
    expect([mapped(ctx.cap(frame)), mapped(ctx.cap(other))]).toEqual([{ asid: 2, vaddr: 0x40005000 }, { asid: 2, vaddr: 0x40005000 }]);
    expect(leafOf(ctx, ptrOf(ctx.cap(vspace)), 0x40005000)).toMatchObject({ frame: ptrOf(ctx.cap(other)), rights: 3 });
  });

  it('a frame maps into one VSpace at a time; a copy of its cap maps into another', () => {
    const ctx = setup(mode);
    const { seL4_RISCV_Page_Map, seL4_CNode_Copy, seL4_GetMR } = ctx.sys.api;
    const [first] = rootWithTable(ctx);
    const [second] = rootWithTable(ctx);
    const frame = ctx.make(T.seL4_RISCV_4K_Page);
    expect(seL4_RISCV_Page_Map(frame, first, 0x40000000, seL4_AllRights, noAttr)).toBe(E.seL4_NoError);
    expect(seL4_RISCV_Page_Map(frame, second, 0x40000000, seL4_AllRights, noAttr)).toBe(E.seL4_InvalidCapability);
    expect(seL4_GetMR(0)).toBe(1);
    const copy = ctx.slot();
    expect(seL4_CNode_Copy(root, copy, 32, root, frame, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(seL4_RISCV_Page_Map(copy, second, 0x40000000, seL4_AllRights, noAttr)).toBe(E.seL4_NoError);
    expect(leafOf(ctx, ptrOf(ctx.cap(second)), 0x40000000)).toMatchObject({ frame: ptrOf(ctx.cap(frame)) });
    expect(leafOf(ctx, ptrOf(ctx.cap(first)), 0x40000000)).toMatchObject({ frame: ptrOf(ctx.cap(frame)) });
  });

  it('PageTable_Unmap zeroes the table (its frame caps keep their record); a live root or a table with a copy is RevokeFirst', () => {
    const ctx = setup(mode);
    const { seL4_RISCV_PageTable_Unmap, seL4_RISCV_Page_Map, seL4_RISCV_Page_Unmap, seL4_CNode_Copy, seL4_CNode_Delete, seL4_GetMR } = ctx.sys.api;
    const [vspace, table] = rootWithTable(ctx);
    const frame = ctx.make(T.seL4_RISCV_4K_Page);
    expect(seL4_RISCV_Page_Map(frame, vspace, 0x40000000, seL4_AllRights, noAttr)).toBe(E.seL4_NoError);
    expect(seL4_RISCV_PageTable_Unmap(vspace)).toBe(E.seL4_RevokeFirst);
    const copy = ctx.slot();
    expect(seL4_CNode_Copy(root, copy, 32, root, table, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(seL4_RISCV_PageTable_Unmap(table)).toBe(E.seL4_RevokeFirst);
    expect(seL4_CNode_Delete(root, copy, 32)).toBe(E.seL4_NoError);
    expect(seL4_RISCV_PageTable_Unmap(table)).toBe(E.seL4_NoError);
    expect(mapped(ctx.cap(table))).toBeNull();
    expect(ctx.object(ptrOf(ctx.cap(table)))).toMatchObject({ entries: [] });
    expect(entriesOf(ctx, ptrOf(ctx.cap(vspace))).size).toBe(0);
    expect(mapped(ctx.cap(frame))).toEqual({ asid: 2, vaddr: 0x40000000 });
    expect(seL4_RISCV_PageTable_Unmap(table)).toBe(E.seL4_NoError);
    const other = ctx.make(T.seL4_RISCV_4K_Page);
    expect(seL4_RISCV_Page_Map(other, vspace, 0x40000000, seL4_AllRights, noAttr)).toBe(E.seL4_FailedLookup);
    expect([seL4_GetMR(0), seL4_GetMR(1), seL4_GetMR(2)]).toEqual([0, seL4_MissingCapability, 22]);
    expect(seL4_RISCV_Page_Unmap(frame)).toBe(E.seL4_NoError);
    expect(mapped(ctx.cap(frame))).toBeNull();
  });

  it('VSPACE0001: after the root is deleted its frame unmaps without error', () => {
    const ctx = setup(mode);
    const { seL4_RISCV_Page_Map, seL4_RISCV_Page_Unmap, seL4_CNode_Delete } = ctx.sys.api;
    const [vspace] = rootWithTable(ctx);
    const frame = ctx.make(T.seL4_RISCV_4K_Page);
    expect(seL4_RISCV_Page_Map(frame, vspace, 0x40000000, seL4_AllRights, noAttr)).toBe(E.seL4_NoError);
    const pool = ptrOf(ctx.cap(seL4_CapInitThreadASIDPool));
    expect(seL4_CNode_Delete(root, vspace, 32)).toBe(E.seL4_NoError);
    // deleteASID: the pool forgets the root; the root task's own ASID stays.
    expect(ctx.object(pool)).toMatchObject({ entries: [[1, ctx.sys.plan.vspaceRoot]] });
    expect(seL4_RISCV_Page_Unmap(frame)).toBe(E.seL4_NoError);
    expect(mapped(ctx.cap(frame))).toBeNull();
  });

  it('FRAMEDIPC0003 without the fault: deleting a mapped copy of a frame cap unmaps the copy only', () => {
    const ctx = setup(mode);
    const { rootAddr, frame, copy } = frameAndMappedCopy(ctx, 0x40001000);
    expect(ctx.sys.api.seL4_CNode_Delete(root, copy, 32)).toBe(E.seL4_NoError);
    expect(leafOf(ctx, rootAddr, 0x40001000)).toBeNull();
    expect(leafOf(ctx, rootAddr, 0x40000000)).toMatchObject({ frame: ptrOf(ctx.cap(frame)) });
  });

  it('revoking a mapped frame deletes its mapped copies and their mappings', () => {
    const ctx = setup(mode);
    const { rootAddr, frame, copy } = frameAndMappedCopy(ctx, 0x40002000);
    expect(ctx.sys.api.seL4_CNode_Revoke(root, frame, 32)).toBe(E.seL4_NoError);
    expect(ctx.cap(copy)).toEqual({ type: 'null' });
    expect(leafOf(ctx, rootAddr, 0x40002000)).toBeNull();
    expect(leafOf(ctx, rootAddr, 0x40000000)).toMatchObject({ frame: ptrOf(ctx.cap(frame)) });
  });

  it('deleting a pool leaves its roots orphaned: Page_Map finds no root, Assign refuses them; MakePool takes the slot again', () => {
    const ctx = setup(mode);
    const { seL4_RISCV_Page_Map, seL4_RISCV_ASIDPool_Assign, seL4_RISCV_ASIDControl_MakePool: makePoolCall, seL4_CNode_Delete, seL4_GetMR } = ctx.sys.api;
    const untyped = ctx.make(T.seL4_UntypedObject, 1, 12);
    const pool = ctx.slot();
    expect(makePoolCall(seL4_CapASIDControl, untyped, root, pool, 32)).toBe(E.seL4_NoError);
    const vspace = makeRoot(ctx, pool);
    const frame = ctx.make(T.seL4_RISCV_4K_Page);
    expect(seL4_CNode_Delete(root, pool, 32)).toBe(E.seL4_NoError);
    // deleteASIDPool: the ASID table names no pool at 16 any more.
    expect(ctx.sys.view().objects().filter((o) => o.type === 'asidpool' && o.asidBase === 16)).toEqual([]);
    expect(mapped(ctx.cap(vspace))).toEqual({ asid: 16, vaddr: 0 });
    expect(seL4_RISCV_Page_Map(frame, vspace, 0x40000000, seL4_AllRights, noAttr)).toBe(E.seL4_FailedLookup);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([0, seL4_InvalidRoot]);
    expect(seL4_RISCV_ASIDPool_Assign(seL4_CapInitThreadASIDPool, vspace)).toBe(E.seL4_InvalidCapability);
    const again = ctx.slot();
    expect(makePoolCall(seL4_CapASIDControl, untyped, root, again, 32)).toBe(E.seL4_NoError);
    expect(ctx.cap(again)).toMatchObject({ type: 'asidpool', asidBase: 16 });
  });

  it('FRAMEDIPC0001, FRAMEDIPC0002: a device frame is no IPC buffer; it maps like RAM and tells its address; no page table from device memory', () => {
    const ctx = setup(mode);
    const { seL4_Untyped_Retype, seL4_TCB_Configure, seL4_TCB_SetIPCBuffer, seL4_RISCV_Page_Map, seL4_RISCV_Page_GetAddress } = ctx.sys.api;
    const deviceFrame = ctx.slot();
    expect(seL4_Untyped_Retype(ctx.device, T.seL4_RISCV_4K_Page, 0, root, 0, 0, deviceFrame, 1)).toBe(E.seL4_NoError);
    expect(ctx.cap(deviceFrame)).toMatchObject({ type: 'frame', isDevice: true, vmRights: 3, mapped: null });
    expect(seL4_Untyped_Retype(ctx.device, T.seL4_RISCV_PageTableObject, 0, root, 0, 0, ctx.slot(), 1)).toBe(E.seL4_InvalidArgument);
    const tcb = ctx.make(T.seL4_TCBObject);
    expect(seL4_TCB_Configure(tcb, root, 0, seL4_CapInitThreadVSpace, 0, 0x40000000, deviceFrame)).toBe(E.seL4_IllegalOperation);
    expect(seL4_TCB_SetIPCBuffer(tcb, 0x40000000, deviceFrame)).toBe(E.seL4_IllegalOperation);
    const [vspace] = rootWithTable(ctx);
    expect(seL4_RISCV_Page_Map(deviceFrame, vspace, 0x40000000, seL4_AllRights, noAttr)).toBe(E.seL4_NoError);
    expect(seL4_RISCV_Page_GetAddress(deviceFrame)).toEqual({ error: E.seL4_NoError, paddr: ptrOf(ctx.cap(deviceFrame)) });
  });

  it('4 MiB frames: mapped at the root, not where a table is; no table or 4 KiB frame over them (32 MiB of RAM)', () => {
    const ctx = setup(mode, { memory: { base: 0x80000000, sizeBytes: 32 << 20 } });
    const { seL4_RISCV_Page_Map, seL4_RISCV_PageTable_Map, seL4_GetMR } = ctx.sys.api;
    const [vspace] = rootWithTable(ctx, 0x40000000);
    const rootAddr = ptrOf(ctx.cap(vspace));
    const big = ctx.make(T.seL4_RISCV_Mega_Page);
    const words = () => [seL4_GetMR(0), seL4_GetMR(1), seL4_GetMR(2)];
    expect(seL4_RISCV_Page_Map(big, vspace, 0x40000000, seL4_AllRights, noAttr)).toBe(E.seL4_FailedLookup);
    expect(words()).toEqual([0, seL4_MissingCapability, 12]);
    expect(seL4_RISCV_Page_Map(big, vspace, 0x40401000, seL4_AllRights, noAttr)).toBe(E.seL4_AlignmentError);
    // The end check comes first: a misaligned 4 MiB frame that would cross the user top.
    expect(seL4_RISCV_Page_Map(big, vspace, 0x7fc00000 + page, seL4_AllRights, noAttr)).toBe(E.seL4_InvalidArgument);
    expect(seL4_RISCV_Page_Map(big, vspace, 0x40400000, seL4_ReadWrite, seL4_RISCV_ExecuteNever)).toBe(E.seL4_NoError);
    expect(entriesOf(ctx, rootAddr).get(0x40400000 >>> 22)).toEqual({ index: 0x101, kind: 'page', frame: ptrOf(ctx.cap(big)), sizeBits: 22, rights: 3, executable: false });
    const table = ctx.make(T.seL4_RISCV_PageTableObject);
    expect(seL4_RISCV_PageTable_Map(table, vspace, 0x40400000 + mega / 2, noAttr)).toBe(E.seL4_DeleteFirst);
    const small = ctx.make(T.seL4_RISCV_4K_Page);
    expect(seL4_RISCV_Page_Map(small, vspace, 0x40401000, seL4_AllRights, noAttr)).toBe(E.seL4_FailedLookup);
    expect(words()).toEqual([0, seL4_MissingCapability, 22]);
  });
});
