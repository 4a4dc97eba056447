// The VSpace slice in the abstract spec (sel4-facts §24): the boot VSpace, the seven riscv32
// VSpace invocations with their checks in seL4's order, the open choices of MakePool and Assign,
// derivation, and what deleting frame, page table and pool caps does.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ChoiceRejected,
  InvocationLabel as L,
  Reg,
  seL4_AllRights,
  seL4_CanRead,
  seL4_CapASIDControl,
  seL4_CapInitThreadASIDPool,
  seL4_CapInitThreadCNode as rootCNode,
  seL4_CapInitThreadVSpace,
  seL4_Error as E,
  seL4_ObjectType as T,
  type Cap,
  type ObjectView,
} from '../../libsel4/index.ts';
import { abstractLayer, allFilledSlots, vspaceMappings } from '../../spec-abstract/index.ts';
import { bootHarness, call, type Harness } from './harness.ts';
import { jsonText } from './spaces.ts';

let h: Harness;
/** The largest RAM untyped (2^23 bytes with 16 MiB of RAM). */
let big: number;
/** Next free root CNode slot handed out by `slot()`. */
let next: number;

function slot(): number {
  return next++;
}

function retype(type: number, sizeBits = 0): number {
  const dest = slot();
  expect(h.api.seL4_Untyped_Retype(big, type, sizeBits, rootCNode, 0, 0, dest, 1)).toBe(E.seL4_NoError);
  return dest;
}

function capAt(index: number): Cap {
  return h.view().cap(h.root(index))!;
}

function ptrOf(index: number): number {
  const cap = capAt(index);
  if (!('ptr' in cap)) throw new Error(`slot ${index} names no object`);
  return cap.ptr;
}

function objectAt<K extends ObjectView['type']>(addr: number, type: K): Extract<ObjectView, { type: K }> {
  const o = h.view().object(addr);
  if (o?.type !== type) throw new Error(`no ${type} at ${addr}`);
  return o as Extract<ObjectView, { type: K }>;
}

/** A new pool from a fresh 4 KiB untyped (in the lowest free ASID table slot, the first outcome). */
function makePool(): number {
  const untyped = retype(T.seL4_UntypedObject, 12);
  const dest = slot();
  expect(call(h, seL4_CapASIDControl, L.RISCVASIDControlMakePool, [dest, 32], [untyped, rootCNode]).error).toBe(E.seL4_NoError);
  return dest;
}

/** A new root assigned in `pool`, with the lowest free ASID. */
function newRoot(pool = seL4_CapInitThreadASIDPool): number {
  const root = retype(T.seL4_RISCV_PageTableObject);
  expect(call(h, pool, L.RISCVASIDPoolAssign, [], [root]).error).toBe(E.seL4_NoError);
  return root;
}

function mapTable(table: number, root: number, vaddr: number): number {
  return call(h, table, L.RISCVPageTableMap, [vaddr, 0], [root]).error;
}

function mapPage(frame: number, root: number, vaddr: number, rights = seL4_AllRights, attr = 0): ReturnType<typeof call> {
  return call(h, frame, L.RISCVPageMap, [vaddr, rights, attr], [root]);
}

/** A new root with a table at window 0 and a 4 KiB frame mapped at 0x5000. */
function mappedFrame(pool = seL4_CapInitThreadASIDPool): { root: number; table: number; frame: number } {
  const root = newRoot(pool);
  const table = retype(T.seL4_RISCV_PageTableObject);
  const frame = retype(T.seL4_RISCV_4K_Page);
  expect(mapTable(table, root, 0)).toBe(E.seL4_NoError);
  expect(mapPage(frame, root, 0x5000).error).toBe(E.seL4_NoError);
  return { root, table, frame };
}

beforeEach(() => {
  h = bootHarness({ memory: { base: 0x80000000, sizeBytes: 16 << 20 } });
  const list = h.plan.untypeds;
  const largest = Math.max(...list.filter((u) => !u.isDevice).map((u) => u.sizeBits));
  big = h.untyped + list.findIndex((u) => !u.isDevice && u.sizeBits === largest);
  next = h.free;
});

describe('the boot VSpace', () => {
  it('is the root with the kernel window, ASID 1 of pool 0, the image table and the boot frames mapped read-write executable', () => {
    const { plan } = h;
    const root = objectAt(plan.vspaceRoot, 'pagetable');
    expect(root.kernelWindow).toBe(true);
    expect(objectAt(plan.asidPool, 'asidpool')).toMatchObject({ asidBase: 0, entries: [[1, plan.vspaceRoot]] });
    const mappedCaps = plan.rootCaps.filter(([, c]) => (c.type === 'frame' || c.type === 'pagetable') && c.mapped !== null && c.ptr !== plan.vspaceRoot);
    const tables = mappedCaps.flatMap(([, c]) => (c.type === 'pagetable' ? [c] : []));
    expect(tables.length).toBeGreaterThan(0);
    expect(root.entries).toEqual(tables.map((c) => ({ index: c.mapped!.vaddr >>> 22, kind: 'table', table: c.ptr })));
    const mappings = vspaceMappings(h.state(), plan.vspaceRoot);
    for (const [, cap] of mappedCaps) {
      if (cap.type !== 'frame') continue;
      expect(mappings.get(cap.mapped!.vaddr)).toEqual({ frame: cap.ptr, sizeBits: 12, rights: 3, executable: true });
    }
    expect(mappings.size).toBe(mappedCaps.filter(([, c]) => c.type === 'frame').length);
  });
});

describe('ASIDControl_MakePool and ASIDPool_Assign', () => {
  it('takes any free ASID table slot (every one an allowed outcome, the lowest first) and zeroes the untyped', () => {
    const untyped = retype(T.seL4_UntypedObject, 12);
    const dest = slot();
    expect(call(h, seL4_CapASIDControl, L.RISCVASIDControlMakePool, [dest, 32], [untyped, rootCNode]).error).toBe(E.seL4_NoError);
    const outcomes = h.lastOutcomes();
    expect(outcomes.map((o) => o.choice)).toEqual(Array.from({ length: 31 }, (_, i) => `ASID table slot ${i + 1} for the new pool`));
    const pool = ptrOf(dest);
    expect(capAt(dest)).toEqual({ type: 'asidpool', ptr: pool, asidBase: 16 });
    expect(objectAt(pool, 'asidpool')).toEqual({ type: 'asidpool', addr: pool, asidBase: 16, entries: [] });
    expect(capAt(untyped)).toMatchObject({ type: 'untyped', freeIndex: 4096 });
    expect(h.view().cdtParent(h.root(dest))).toEqual(h.root(untyped));
    // The untyped has a child now: RevokeFirst, before the destination is looked at.
    expect(call(h, seL4_CapASIDControl, L.RISCVASIDControlMakePool, [dest, 99], [untyped, rootCNode]).error).toBe(E.seL4_RevokeFirst);
  });

  it('follows the slot or ASID the layer below witnessed, and rejects a taken one', () => {
    const untyped = retype(T.seL4_UntypedObject, 12);
    const dest = slot();
    h.following([{ point: 'asidPool', index: 7 }], () => call(h, seL4_CapASIDControl, L.RISCVASIDControlMakePool, [dest, 32], [untyped, rootCNode]));
    expect(h.lastOutcomes().map((o) => o.choice)).toEqual(['ASID table slot 7 for the new pool, as witnessed']);
    expect(capAt(dest)).toMatchObject({ asidBase: 112 });
    const root = retype(T.seL4_RISCV_PageTableObject);
    h.following([{ point: 'asid', asid: 120 }], () => call(h, dest, L.RISCVASIDPoolAssign, [], [root]));
    expect(capAt(root)).toMatchObject({ mapped: { asid: 120, vaddr: 0 } });
    const other = retype(T.seL4_RISCV_PageTableObject);
    expect(() => h.following([{ point: 'asid', asid: 120 }], () => call(h, dest, L.RISCVASIDPoolAssign, [], [other]))).toThrow(ChoiceRejected);
    expect(() => h.following([{ point: 'asid', asid: 3 }], () => call(h, dest, L.RISCVASIDPoolAssign, [], [other]))).toThrow(/Assign took ASID 3/);
  });

  it('checks MakePool in seL4 order', () => {
    const untyped = retype(T.seL4_UntypedObject, 12);
    const wrongSize = retype(T.seL4_UntypedObject, 13);
    const dest = slot();
    const make = (args: number[], caps: number[], length?: number) => call(h, seL4_CapASIDControl, L.RISCVASIDControlMakePool, args, caps, length).error;
    expect(call(h, seL4_CapASIDControl, L.RISCVASIDPoolAssign, [dest, 32], [untyped, rootCNode]).error).toBe(E.seL4_IllegalOperation);
    expect(make([dest], [untyped, rootCNode])).toBe(E.seL4_TruncatedMessage);
    expect(make([dest, 32], [untyped])).toBe(E.seL4_TruncatedMessage);
    expect(make([dest, 32], [wrongSize, rootCNode])).toBe(E.seL4_InvalidCapability);
    expect(make([dest, 32], [rootCNode, rootCNode])).toBe(E.seL4_InvalidCapability);
    expect(make([dest, 33], [untyped, rootCNode])).toBe(E.seL4_RangeError);
    expect(make([seL4_CapASIDControl, 32], [untyped, rootCNode])).toBe(E.seL4_DeleteFirst);
    for (let i = 0; i < 31; i++) makePool();
    expect(make([dest, 32], [untyped, rootCNode])).toBe(E.seL4_DeleteFirst);
  });

  it('assigns any free ASID of the pool (never ASID 0), copies the kernel window in, and checks Assign in order', () => {
    const root = retype(T.seL4_RISCV_PageTableObject);
    expect(call(h, seL4_CapInitThreadASIDPool, L.RISCVASIDPoolAssign, [], [root]).error).toBe(E.seL4_NoError);
    expect(h.lastOutcomes().map((o) => o.choice)).toEqual(Array.from({ length: 14 }, (_, i) => `ASID ${i + 2} assigned`));
    expect(capAt(root)).toEqual({ type: 'pagetable', ptr: ptrOf(root), mapped: { asid: 2, vaddr: 0 } });
    expect(objectAt(ptrOf(root), 'pagetable')).toEqual({ type: 'pagetable', addr: ptrOf(root), entries: [], kernelWindow: true });
    expect(objectAt(h.plan.asidPool, 'asidpool').entries).toEqual([[1, h.plan.vspaceRoot], [2, ptrOf(root)]]);
    const assign = (pool: number, caps: number[], label: number = L.RISCVASIDPoolAssign) => call(h, pool, label, [], caps).error;
    expect(assign(seL4_CapInitThreadASIDPool, [root], L.RISCVASIDControlMakePool)).toBe(E.seL4_IllegalOperation);
    expect(assign(seL4_CapInitThreadASIDPool, [])).toBe(E.seL4_TruncatedMessage);
    expect(assign(seL4_CapInitThreadASIDPool, [root])).toBe(E.seL4_InvalidCapability);
    expect(assign(seL4_CapInitThreadASIDPool, [seL4_CapInitThreadVSpace])).toBe(E.seL4_InvalidCapability);
    const pool = makePool();
    for (let i = 0; i < 16; i++) newRoot(pool);
    const extra = retype(T.seL4_RISCV_PageTableObject);
    expect(assign(pool, [extra])).toBe(E.seL4_DeleteFirst);
  });
});

describe('PageTable_Map and Page_Map', () => {
  it('checks PageTable_Map in seL4 order and maps the table at its 4 MiB window', () => {
    const root = newRoot();
    const table = retype(T.seL4_RISCV_PageTableObject);
    const frame = retype(T.seL4_RISCV_4K_Page);
    const unassigned = retype(T.seL4_RISCV_PageTableObject);
    expect(call(h, table, L.RISCVPageGetAddress, [], []).error).toBe(E.seL4_IllegalOperation);
    expect(call(h, table, L.RISCVPageTableMap, [0x400000], [root]).error).toBe(E.seL4_TruncatedMessage);
    expect(call(h, table, L.RISCVPageTableMap, [0x400000, 0], []).error).toBe(E.seL4_TruncatedMessage);
    expect(mapTable(seL4_CapInitThreadVSpace, root, 0x400000)).toBe(E.seL4_InvalidCapability);
    expect(mapTable(table, unassigned, 0x400000)).toBe(E.seL4_InvalidCapability);
    expect(mapTable(table, frame, 0x400000)).toBe(E.seL4_InvalidCapability);
    expect(mapTable(table, root, 0x80000000)).toBe(E.seL4_InvalidArgument);
    expect(mapTable(table, root, 0x400123)).toBe(E.seL4_NoError);
    expect(capAt(table)).toMatchObject({ mapped: { asid: 2, vaddr: 0x400000 } });
    expect(objectAt(ptrOf(root), 'pagetable').entries).toEqual([{ index: 1, kind: 'table', table: ptrOf(table) }]);
    const second = retype(T.seL4_RISCV_PageTableObject);
    expect(mapTable(second, root, 0x7fffff)).toBe(E.seL4_DeleteFirst);
    // A mapped non-root table as the VSpace: InvalidCapability(1).
    expect(mapTable(second, table, 0x800000)).toBe(E.seL4_InvalidCapability);
  });

  it('checks Page_Map in seL4 order, masks rights, and remaps at the same place', () => {
    const root = newRoot();
    const root2 = newRoot();
    const frame = retype(T.seL4_RISCV_4K_Page);
    const another = retype(T.seL4_RISCV_4K_Page);
    const other = retype(T.seL4_RISCV_PageTableObject);
    const table = retype(T.seL4_RISCV_PageTableObject);
    const table2 = retype(T.seL4_RISCV_PageTableObject);
    // The mega page fills the untyped up to its end: retyped last.
    const mega = retype(T.seL4_RISCV_Mega_Page);
    expect(call(h, frame, L.RISCVPageMap, [0x1000, 3], [root]).error).toBe(E.seL4_TruncatedMessage);
    expect(mapPage(frame, other, 0x1000).error).toBe(E.seL4_InvalidCapability);
    expect(mapPage(frame, root, 0x80000000).error).toBe(E.seL4_InvalidArgument);
    expect(mapPage(frame, root, 0x1001).error).toBe(E.seL4_AlignmentError);
    expect(mapPage(frame, root, 0x1000).mrs).toEqual([0, 2, 22]);
    expect(mapPage(mega, root, 0x400000, seL4_CanRead, 1).error).toBe(E.seL4_NoError);
    expect(objectAt(ptrOf(root), 'pagetable').entries).toEqual([{ index: 1, kind: 'page', frame: ptrOf(mega), sizeBits: 22, rights: 2, executable: false }]);
    expect(mapTable(table, root, 0x400000)).toBe(E.seL4_DeleteFirst);
    expect(mapPage(frame, root, 0x401000).mrs).toEqual([0, 2, 22]);
    expect(mapTable(table, root, 0)).toBe(E.seL4_NoError);
    expect(mapPage(mega, root, 0).mrs).toEqual([0, 2, 12]);
    expect(mapPage(frame, root, 0x1000).error).toBe(E.seL4_NoError);
    expect(mapPage(frame, root, 0x2000).error).toBe(E.seL4_InvalidArgument);
    expect(mapPage(frame, root, 0x1000, seL4_CanRead).error).toBe(E.seL4_NoError);
    expect(vspaceMappings(h.state(), ptrOf(root)).get(0x1000)).toEqual({ frame: ptrOf(frame), sizeBits: 12, rights: 2, executable: true });
    expect(mapPage(another, root, 0x1000).error).toBe(E.seL4_DeleteFirst);
    // Another VSpace: the walk there fails first; with a table there, the cap's ASID differs.
    expect(mapPage(frame, root2, 0x1000).mrs).toEqual([0, 2, 22]);
    expect(mapTable(table2, root2, 0)).toBe(E.seL4_NoError);
    expect(mapPage(frame, root2, 0x1000).error).toBe(E.seL4_InvalidCapability);
  });

  it('leaves an invalid PTE for a kernel-only, execute-never mapping, so another frame maps there', () => {
    const root = newRoot();
    const table = retype(T.seL4_RISCV_PageTableObject);
    const frame = retype(T.seL4_RISCV_4K_Page);
    const another = retype(T.seL4_RISCV_4K_Page);
    expect(mapTable(table, root, 0)).toBe(E.seL4_NoError);
    expect(mapPage(frame, root, 0x3000, 0, 1).error).toBe(E.seL4_NoError);
    expect(capAt(frame)).toMatchObject({ mapped: { asid: 2, vaddr: 0x3000 } });
    expect(objectAt(ptrOf(table), 'pagetable').entries).toEqual([]);
    expect(mapPage(another, root, 0x3000, 0, 0).error).toBe(E.seL4_NoError);
    expect(objectAt(ptrOf(table), 'pagetable').entries).toEqual([{ index: 3, kind: 'page', frame: ptrOf(another), sizeBits: 12, rights: 1, executable: true }]);
  });
});

describe('unmapping, addresses, derivation and deletion', () => {
  it('Page_Unmap clears the PTE and the cap, Page_GetAddress replies the physical address', () => {
    const { table, frame } = mappedFrame();
    expect(call(h, frame, L.RISCVPageGetAddress, [], [])).toMatchObject({ error: 0, length: 1, mrs: [ptrOf(frame)] });
    expect(call(h, frame, L.RISCVPageUnmap, [], []).error).toBe(E.seL4_NoError);
    expect(capAt(frame)).toMatchObject({ mapped: null });
    expect(objectAt(ptrOf(table), 'pagetable').entries).toEqual([]);
    expect(call(h, frame, L.RISCVPageUnmap, [], []).error).toBe(E.seL4_NoError);
    expect(call(h, frame, L.CNodeCopy, [], []).error).toBe(E.seL4_IllegalOperation);
  });

  it('PageTable_Unmap zeroes the table (frames in it keep their caps mapped), refuses a live root and a table with copies', () => {
    const { root, table, frame } = mappedFrame();
    expect(call(h, root, L.RISCVPageTableUnmap, [], []).error).toBe(E.seL4_RevokeFirst);
    const copy = slot();
    expect(h.api.seL4_CNode_Copy(rootCNode, copy, 32, rootCNode, table, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(capAt(copy)).toEqual(capAt(table));
    expect(call(h, table, L.RISCVPageTableUnmap, [], []).error).toBe(E.seL4_RevokeFirst);
    expect(h.api.seL4_CNode_Delete(rootCNode, copy, 32)).toBe(E.seL4_NoError);
    expect(call(h, table, L.RISCVPageTableUnmap, [], []).error).toBe(E.seL4_NoError);
    expect(objectAt(ptrOf(table), 'pagetable').entries).toEqual([]);
    expect(objectAt(ptrOf(root), 'pagetable').entries).toEqual([]);
    expect(capAt(frame)).toMatchObject({ mapped: { asid: 2, vaddr: 0x5000 } });
    expect(capAt(table)).toMatchObject({ mapped: null });
    expect(mapPage(frame, root, 0x5000).mrs).toEqual([0, 2, 22]);
    // An unmapped page table cap cannot be copied.
    expect(h.api.seL4_CNode_Copy(rootCNode, copy, 32, rootCNode, table, 32, seL4_AllRights)).toBe(E.seL4_IllegalOperation);
  });

  it('a frame cap copy is unmapped; deleting a mapped copy unmaps only its own mapping', () => {
    const { root, frame } = mappedFrame();
    const copy = slot();
    expect(h.api.seL4_CNode_Copy(rootCNode, copy, 32, rootCNode, frame, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(capAt(copy)).toMatchObject({ type: 'frame', mapped: null });
    expect(mapPage(copy, root, 0x6000).error).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Delete(rootCNode, copy, 32)).toBe(E.seL4_NoError);
    expect([...vspaceMappings(h.state(), ptrOf(root)).keys()]).toEqual([0x5000]);
    expect(h.api.seL4_CNode_Revoke(rootCNode, big, 32)).toBe(E.seL4_NoError);
    expect(objectAt(ptrOf(seL4_CapInitThreadVSpace), 'pagetable').kernelWindow).toBe(true);
  });

  it('deleting a mapped table unmaps it from the root; deleting a root deletes its ASID; deleting a pool empties its table slot', () => {
    const pool = makePool();
    const { root, table, frame } = mappedFrame(pool);
    const tableAddr = ptrOf(table);
    expect(h.api.seL4_CNode_Delete(rootCNode, table, 32)).toBe(E.seL4_NoError);
    expect(objectAt(ptrOf(root), 'pagetable').entries).toEqual([]);
    expect(objectAt(tableAddr, 'pagetable').entries).toHaveLength(1);
    expect(call(h, frame, L.RISCVPageUnmap, [], []).error).toBe(E.seL4_NoError);
    const poolAddr = ptrOf(pool);
    expect(h.api.seL4_CNode_Delete(rootCNode, pool, 32)).toBe(E.seL4_NoError);
    expect(objectAt(poolAddr, 'asidpool').asidBase).toBeNull();
    expect(capAt(root)).toMatchObject({ mapped: { asid: 16, vaddr: 0 } });
    expect(mapPage(frame, root, 0x400000).mrs).toEqual([0, 1]);
    const root2 = newRoot();
    const rootAddr = ptrOf(root2);
    expect(h.api.seL4_CNode_Delete(rootCNode, root2, 32)).toBe(E.seL4_NoError);
    expect(objectAt(h.plan.asidPool, 'asidpool').entries).toEqual([[1, h.plan.vspaceRoot]]);
    expect(objectAt(rootAddr, 'pagetable').kernelWindow).toBe(true);
  });

  it('revoking an untyped with a root, a table and a frame all mapped allows every order, with its own leftovers', () => {
    const child = retype(T.seL4_UntypedObject, 16);
    const fromChild = (type: number) => {
      const dest = slot();
      expect(h.api.seL4_Untyped_Retype(child, type, 0, rootCNode, 0, 0, dest, 1)).toBe(E.seL4_NoError);
      return dest;
    };
    const root = fromChild(T.seL4_RISCV_PageTableObject);
    const table = fromChild(T.seL4_RISCV_PageTableObject);
    const frame = fromChild(T.seL4_RISCV_4K_Page);
    expect(call(h, seL4_CapInitThreadASIDPool, L.RISCVASIDPoolAssign, [], [root]).error).toBe(E.seL4_NoError);
    mapTable(table, root, 0);
    mapPage(frame, root, 0x5000);
    const [rootAddr, tableAddr] = [ptrOf(root), ptrOf(table)];
    expect(h.api.seL4_CNode_Revoke(rootCNode, child, 32)).toBe(E.seL4_NoError);
    // The root keeps the table if it went first; the table keeps the frame if the frame went after it or the root.
    const leftovers = h.lastOutcomes().map((o) => {
      const view = abstractLayer.view(o.state);
      const entries = (addr: number) => (view.object(addr) as Extract<ObjectView, { type: 'pagetable' }>).entries.length;
      return `${entries(rootAddr)}${entries(tableAddr)}`;
    });
    expect(leftovers.sort()).toEqual(['00', '01', '10', '11']);
    for (const o of h.lastOutcomes()) expect(abstractLayer.view(o.state).object(h.plan.asidPool)).toMatchObject({ entries: [[1, h.plan.vspaceRoot]] });
  });

  it('names every slot and object each VSpace entry changed in its touched lists', () => {
    const untyped = retype(T.seL4_UntypedObject, 12);
    const [pool, root, table, frame] = [slot(), retype(T.seL4_RISCV_PageTableObject), retype(T.seL4_RISCV_PageTableObject), retype(T.seL4_RISCV_4K_Page)];
    const seen = () => ({
      objects: new Map(h.view().objects().map((o) => [o.addr, jsonText(o)])),
      slots: new Map(allFilledSlots(h.state()).map((f) => [`${f.slot.cnode}:${f.slot.index}`, jsonText([f.cap, f.parent])])),
    });
    const entries: (() => unknown)[] = [
      () => call(h, seL4_CapASIDControl, L.RISCVASIDControlMakePool, [pool, 32], [untyped, rootCNode]),
      () => call(h, pool, L.RISCVASIDPoolAssign, [], [root]),
      () => mapTable(table, root, 0),
      () => mapPage(frame, root, 0x5000),
      () => call(h, frame, L.RISCVPageUnmap, [], []),
      () => mapPage(frame, root, 0x5000),
      () => call(h, table, L.RISCVPageTableUnmap, [], []),
      () => h.api.seL4_CNode_Delete(rootCNode, frame, 32),
      () => h.api.seL4_CNode_Delete(rootCNode, pool, 32),
      () => h.api.seL4_CNode_Delete(rootCNode, root, 32),
    ];
    for (const entry of entries) {
      const before = seen();
      entry();
      const { touched } = h.lastOutcomes()[0]!;
      expect(h.api.lastObservation().caller?.regs[Reg.a1]! >>> 12).toBe(E.seL4_NoError);
      const after = seen();
      const slots = new Set(touched.slots.map((r) => `${r.cnode}:${r.index}`));
      for (const [addr, text] of after.objects) if (before.objects.get(addr) !== text) expect(touched.objects).toContain(addr);
      for (const [key, text] of after.slots) if (before.slots.get(key) !== text) expect(slots.has(key)).toBe(true);
      for (const key of before.slots.keys()) if (!after.slots.has(key)) expect(slots.has(key)).toBe(true);
    }
  });
});
