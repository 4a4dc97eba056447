// The VSpace invariants: the boot VSpace and a VSpace built by invocations (with a stale root
// after its pool is deleted) keep them all; a planted violation of each is reported under its
// l4v name.
import fc from 'fast-check';
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
import { translationsAgree, vspaceInvariants } from '../../refinement/invariants/vspace.ts';
import { abstractLayer, allFilledSlots } from '../../spec-abstract/index.ts';
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
    expect(check(replaceObject(w, tableAddr, (o) => ({ ...asTable(o), entries: [{ index: 3, kind: 'page', frame: frameAddr, sizeBits: 12, rights: 1, executable: false }] })))).toMatch(
      /^valid_vspace_objs: table .* entry 3 allows no access/,
    );
    expect(check(replaceObject(w, tableAddr, (o) => ({ ...asTable(o), entries: [{ index: 3, kind: 'page', frame: frameAddr, sizeBits: 12, rights: 0, executable: true }] })))).toMatch(
      /^valid_vspace_objs: table .* entry 3 has rights 0/,
    );
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

  it('hold after every step of random VSpace programs: maps, unmaps, copies, deletes and revokes in any order, over every allowed outcome', () => {
    // Slots: 60 a child untyped, 61-62 4 KiB untypeds, 63-64 pools, 65-68 page tables, 69-71 frames, 72-74 copies.
    const untypedSlot = fc.constantFrom(61, 62);
    const pool = fc.constantFrom(63, 64, 6);
    const table = fc.constantFrom(65, 65, 66, 67, 68, 3);
    const frame = fc.constantFrom(69, 70, 71, 72, 73, 74, 9, 10);
    const any = fc.constantFrom(60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74);
    const vaddr = fc.constantFrom(0x1000, 0x2000, 0x3000, 0, 0x401000, 0x10000000);
    const step = fc.oneof(
      fc.tuple(fc.constant('pageMap' as const), frame, fc.constantFrom(65, 3), vaddr, fc.constantFrom(0, 1, 2, 3), fc.constantFrom(0, 1)),
      fc.tuple(fc.constant('makePool' as const), untypedSlot, pool),
      fc.tuple(fc.constant('assign' as const), pool, table),
      fc.tuple(fc.constant('tableMap' as const), table, table, vaddr),
      fc.tuple(fc.constant('pageMap' as const), frame, fc.constantFrom(65, 3), vaddr, fc.constantFrom(0, 1, 2, 3), fc.constantFrom(0, 1)),
      fc.tuple(fc.constant('pageUnmap' as const), frame),
      fc.tuple(fc.constant('tableUnmap' as const), table),
      fc.tuple(fc.constant('copy' as const), fc.constantFrom(69, 70, 71, 65, 66, 63), fc.constantFrom(72, 73, 74)),
      fc.tuple(fc.constant('delete' as const), any),
      fc.tuple(fc.constant('revoke' as const), fc.constantFrom(60, 61, 69, 65)),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 5, maxLength: 30 }), (program) => {
        const h = bootHarness();
        const big = h.untyped + h.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits === 21);
        h.api.seL4_Untyped_Retype(big, T.seL4_UntypedObject, 18, rootCNode, 0, 0, 60, 1);
        h.api.seL4_Untyped_Retype(60, T.seL4_UntypedObject, 12, rootCNode, 0, 0, 61, 2);
        h.api.seL4_Untyped_Retype(60, T.seL4_RISCV_PageTableObject, 0, rootCNode, 0, 0, 65, 4);
        h.api.seL4_Untyped_Retype(60, T.seL4_RISCV_4K_Page, 0, rootCNode, 0, 0, 69, 3);
        // A VSpace to start from: pool 63, root 65 assigned in it, table 66 at its window 0.
        call(h, seL4_CapASIDControl, L.RISCVASIDControlMakePool, [63, 32], [61, rootCNode]);
        call(h, 63, L.RISCVASIDPoolAssign, [], [65]);
        call(h, 66, L.RISCVPageTableMap, [0, 0], [65]);
        for (const s of program) {
          if (s[0] === 'makePool') call(h, seL4_CapASIDControl, L.RISCVASIDControlMakePool, [s[2], 32], [s[1], rootCNode]);
          if (s[0] === 'assign') call(h, s[1], L.RISCVASIDPoolAssign, [], [s[2]]);
          if (s[0] === 'tableMap') call(h, s[1], L.RISCVPageTableMap, [s[3], 0], [s[2]]);
          if (s[0] === 'pageMap') call(h, s[1], L.RISCVPageMap, [s[3], s[4], s[5]], [s[2]]);
          if (s[0] === 'pageUnmap') call(h, s[1], L.RISCVPageUnmap, [], []);
          if (s[0] === 'tableUnmap') call(h, s[1], L.RISCVPageTableUnmap, [], []);
          if (s[0] === 'copy') h.api.seL4_CNode_Copy(rootCNode, s[2], 32, rootCNode, s[1], 32, seL4_AllRights);
          if (s[0] === 'delete') h.api.seL4_CNode_Delete(rootCNode, s[1], 32);
          if (s[0] === 'revoke') h.api.seL4_CNode_Revoke(rootCNode, s[1], 32);
          for (const outcome of h.lastOutcomes()) {
            const view = abstractLayer.view(outcome.state);
            const objects = new Map(view.objects().map((o) => [o.addr, o]));
            const filled = allFilledSlots(outcome.state).map(({ slot, cap, parent }) => ({ slot, cap, parent }));
            expect(vspaceInvariants(objects, filled), `${JSON.stringify(s)} (${outcome.choice ?? 'the one outcome'})`).toBeNull();
            expect(translationsAgree(objects, view), `${JSON.stringify(s)} (${outcome.choice ?? 'the one outcome'})`).toBeNull();
          }
        }
      }),
      { numRuns: 50, seed: 11 },
    );
  });
});
