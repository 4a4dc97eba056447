// The VSpace invariants: the boot VSpace and a VSpace built by invocations (with a stale root
// after its pool is deleted) keep them all; a planted violation of each is reported under its
// l4v name.
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as L,
  seL4_AllRights,
  seL4_CapASIDControl,
  seL4_CapInitThreadCNode as rootCNode,
  seL4_Error as E,
  seL4_ObjectType as T,
  type Cap,
  type ObjectView,
} from '../../libsel4/index.ts';
import type { Filled } from '../../refinement/listing.ts';
import { vspaceInvariants } from '../../refinement/invariants/vspace.ts';
import { allFilledSlots } from '../../spec-abstract/index.ts';
import { bootHarness, call, type Harness } from '../abstract/harness.ts';

interface World {
  readonly objects: Map<number, ObjectView>;
  readonly filled: Filled[];
  /** Root CNode slots of the new pool, the assigned root, its table and a mapped frame. */
  readonly pool: number;
  readonly root: number;
  readonly table: number;
  readonly frame: number;
  readonly h: Harness;
}

function listing(h: Harness): { objects: Map<number, ObjectView>; filled: Filled[] } {
  return {
    objects: new Map(h.view().objects().map((o) => [o.addr, o])),
    filled: allFilledSlots(h.state()).map(({ slot, cap, parent }) => ({ slot, cap, parent })),
  };
}

/** A pool, a root assigned in it, a table under the root and a frame mapped in the table. */
function world(): World {
  const h = bootHarness();
  const big = h.untyped + h.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits === 21);
  let next = h.free;
  const retype = (type: number, sizeBits = 0) => {
    expect(h.api.seL4_Untyped_Retype(big, type, sizeBits, rootCNode, 0, 0, next, 1)).toBe(E.seL4_NoError);
    return next++;
  };
  const untyped = retype(T.seL4_UntypedObject, 12);
  const pool = next++;
  expect(call(h, seL4_CapASIDControl, L.RISCVASIDControlMakePool, [pool, 32], [untyped, rootCNode]).error).toBe(E.seL4_NoError);
  const root = retype(T.seL4_RISCV_PageTableObject);
  const table = retype(T.seL4_RISCV_PageTableObject);
  const frame = retype(T.seL4_RISCV_4K_Page);
  expect(call(h, pool, L.RISCVASIDPoolAssign, [], [root]).error).toBe(E.seL4_NoError);
  expect(call(h, table, L.RISCVPageTableMap, [0x10000000, 0], [root]).error).toBe(E.seL4_NoError);
  expect(call(h, frame, L.RISCVPageMap, [0x10003000, seL4_AllRights, 0], [root]).error).toBe(E.seL4_NoError);
  return { ...listing(h), pool, root, table, frame, h };
}

function ptr(w: World, index: number): number {
  const cap = w.h.view().cap(w.h.root(index));
  if (cap === null || !('ptr' in cap)) throw new Error('no object cap');
  return cap.ptr;
}

function replaceObject(w: World, addr: number, change: (o: ObjectView) => ObjectView): Map<number, ObjectView> {
  const objects = new Map(w.objects);
  objects.set(addr, change(objects.get(addr)!));
  return objects;
}

function replaceCap(w: World, index: number, change: (c: Cap) => Cap): Filled[] {
  return w.filled.map((f) => (f.slot.cnode === w.h.plan.rootCNode && f.slot.index === index ? { ...f, cap: change(f.cap) } : f));
}

describe('VSpace invariants', () => {
  it('hold at boot, for a built VSpace, and for a stale root after its pool is deleted', () => {
    const boot = listing(bootHarness());
    expect(vspaceInvariants(boot.objects, boot.filled)).toBeNull();
    const w = world();
    expect(vspaceInvariants(w.objects, w.filled)).toBeNull();
    expect(w.h.api.seL4_CNode_Delete(rootCNode, w.pool, 32)).toBe(E.seL4_NoError);
    expect(w.h.api.seL4_CNode_Delete(rootCNode, w.table, 32)).toBe(E.seL4_NoError);
    const stale = listing(w.h);
    // The stale root still points at the deleted table's object: unreachable, so allowed.
    expect(stale.objects.get(ptr(w, w.root))).toMatchObject({ entries: [{ kind: 'table' }] });
    expect(vspaceInvariants(stale.objects, stale.filled)).toBeNull();
  });

  it('report each planted violation by name', () => {
    const w = world();
    const rootAddr = ptr(w, w.root);
    const tableAddr = ptr(w, w.table);
    const frameAddr = ptr(w, w.frame);
    const poolAddr = ptr(w, w.pool);
    const check = (objects: Map<number, ObjectView>, filled: Filled[] = w.filled) => vspaceInvariants(objects, filled);
    const asPool = (o: ObjectView) => o as Extract<ObjectView, { type: 'asidpool' }>;
    const asTable = (o: ObjectView) => o as Extract<ObjectView, { type: 'pagetable' }>;
    expect(check(replaceObject(w, rootAddr, (o) => ({ ...asTable(o), kernelWindow: false })))).toMatch(/^valid_vspace_objs: .* lacks the kernel window/);
    expect(check(replaceObject(w, poolAddr, (o) => ({ ...asPool(o), asidBase: 0 })))).toMatch(/^valid_vspace_objs: ASID 0|^valid_asid_table/);
    expect(check(replaceObject(w, poolAddr, (o) => ({ ...asPool(o), entries: [[3, frameAddr]] })))).toMatch(/^valid_vspace_objs: .* not a page table/);
    expect(
      check(replaceObject(w, rootAddr, (o) => ({ ...asTable(o), entries: [...asTable(o).entries, { index: 0x41, kind: 'table', table: tableAddr }] }))),
    ).toMatch(/^unique_table_refs: table .* is mapped at/);
    expect(
      check(replaceObject(w, tableAddr, (o) => ({ ...asTable(o), entries: [{ index: 3, kind: 'page', frame: frameAddr, sizeBits: 22, rights: 3, executable: true }] }))),
    ).toMatch(/^valid_vspace_objs: table .* entry 3 maps the 12-bit frame/);
    expect(check(replaceObject(w, tableAddr, (o) => ({ ...asTable(o), entries: [{ index: 4, kind: 'page', frame: frameAddr, sizeBits: 12, rights: 3, executable: true }] })))).toMatch(
      /^valid_vs_lookup: no cap records the page/,
    );
    const pool0 = w.objects.get(w.h.plan.asidPool)!;
    expect(check(replaceObject(w, w.h.plan.asidPool, (o) => ({ ...asPool(o), asidBase: asPool(pool0).asidBase === 0 ? 16 : 0, entries: [] })))).toMatch(/^valid_asid_table: pools/);
    expect(check(w.objects, replaceCap(w, w.pool, (c) => ({ ...c, asidBase: 32 }) as Cap))).toMatch(/^valid_asid_table: the pool cap/);
    expect(check(w.objects, replaceCap(w, w.frame, (c) => ({ ...c, mapped: { asid: 16, vaddr: 0x10003800 } }) as Cap))).toMatch(/^valid_vs_lookup|^wellformed_mapdata/);
    expect(check(w.objects, replaceCap(w, w.table, (c) => ({ ...c, mapped: null }) as Cap))).toMatch(/^valid_vs_lookup|^valid_table_caps/);
    const unmapped = replaceObject(w, tableAddr, (o) => o);
    expect(
      check(unmapped, [...replaceCap(w, w.table, (c) => c), { slot: { cnode: w.h.plan.rootCNode, index: 4000 }, cap: { type: 'pagetable', ptr: tableAddr, mapped: null }, parent: null }]),
    ).toMatch(/^valid_table_caps: .* unmapped but its table is not empty/);
  });
});
