// The impl's VSpace slice: every decode error of the seven riscv32 VSpace invocations in seL4's
// order (sel4-facts 24.3-24.7), the PTE bits written (24.10), unmapping, finalisation and stale
// caps (24.8), derivation (24.2) and the boot VSpace (24.11).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as L,
  seL4_CapASIDControl,
  seL4_CapInitThreadASIDPool,
  seL4_CapInitThreadIPCBuffer,
  seL4_CapInitThreadVSpace,
  seL4_Error as E,
  seL4_MessageInfo_new,
  type ObjectView,
} from '../../libsel4/index.ts';
import { decodeObject } from '../../impl/decode.ts';
import { readWord } from '../../impl/state.ts';
import { asidPoolView, pageTableView } from '../../impl/vspace.ts';
import { CNODE, D, T, bootRoot, type Root } from './harness.ts';

/** A Call of `label` on `service` with message words `mrs` and extra caps `caps`; returns the error code. */
function call(r: Root, label: number, service: number, mrs: number[], caps: number[] = []): number {
  mrs.forEach((v, i) => r.api.seL4_SetMR(i, v));
  caps.forEach((c, i) => r.api.seL4_SetCap(i, c));
  return r.api.seL4_Call(service, seL4_MessageInfo_new(label, 0, caps.length, mrs.length)) >>> 12;
}

function object<K extends ObjectView['type']>(r: Root, addr: number, type: K): Extract<ObjectView, { type: K }> {
  const o = decodeObject(r.state, addr);
  if (o === null || o.type !== type) throw new Error(`no ${type} at ${addr.toString(16)}`);
  return o as Extract<ObjectView, { type: K }>;
}

const ptrOf = (r: Root, slot: number) => (r.cap(slot) as { ptr: number }).ptr;
const pte = (r: Root, table: number, index: number) => readWord(r.state, table + index * 4);

/** Slots from the first empty one: 4 KiB untyped U, pool P, root R, table PT, frames F, F2, mega frame M. */
interface Setup {
  readonly r: Root;
  readonly U: number;
  readonly P: number;
  readonly R: number;
  readonly PT: number;
  readonly F: number;
  readonly F2: number;
  readonly M: number;
  readonly free: number;
}

function setup(): Setup {
  const r = bootRoot({ memory: { base: 0x80000000, sizeBytes: 16 << 20 } });
  const s = r.plan.bootInfo.empty.start;
  const big = r.untyped(23);
  const slots = { U: s, P: s + 1, R: s + 2, PT: s + 3, F: s + 4, F2: s + 5, M: s + 6, free: s + 7 };
  expect(r.api.seL4_Untyped_Retype(big, T.seL4_RISCV_Mega_Page, 0, CNODE, 0, 0, slots.M, 1)).toBe(E.seL4_NoError);
  expect(r.api.seL4_Untyped_Retype(big, T.seL4_UntypedObject, 12, CNODE, 0, 0, slots.U, 1)).toBe(E.seL4_NoError);
  expect(r.api.seL4_Untyped_Retype(big, T.seL4_RISCV_PageTableObject, 0, CNODE, 0, 0, slots.R, 2)).toBe(E.seL4_NoError);
  expect(r.api.seL4_Untyped_Retype(big, T.seL4_RISCV_4K_Page, 0, CNODE, 0, 0, slots.F, 2)).toBe(E.seL4_NoError);
  return { r, ...slots };
}

/** A new pool in P and root R assigned in it. */
function assigned(): Setup {
  const v = setup();
  expect(call(v.r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [v.P, D], [v.U, CNODE])).toBe(E.seL4_NoError);
  expect(call(v.r, L.RISCVASIDPoolAssign, v.P, [], [v.R])).toBe(E.seL4_NoError);
  return v;
}

const VA = 0x00400000;

describe('impl boot VSpace', () => {
  it('maps the root task frames with PTE 0xDF under the image page table, in a root with the kernel window', () => {
    const r = bootRoot();
    const root = r.plan.vspaceRoot;
    const imagePT = ptrOf(r, r.plan.bootInfo.userImagePaging.start);
    const view = object(r, root, 'pagetable');
    expect(view.kernelWindow).toBe(true);
    expect(view.entries).toEqual([{ index: 0, kind: 'table', table: imagePT }]);
    expect(pte(r, root, 0)).toBe(((imagePT >>> 12) << 10 | 0x01) >>> 0);
    expect(pte(r, root, 512) & 0xff).toBe(0xef);
    const ipc = r.plan.ipcBufferVaddr;
    expect(pte(r, imagePT, (ipc >>> 12) & 1023)).toBe(((r.plan.ipcBufferFrame >>> 12) << 10 | 0xdf) >>> 0);
    expect(object(r, imagePT, 'pagetable').entries).toContainEqual({
      index: (ipc >>> 12) & 1023, kind: 'page', frame: r.plan.ipcBufferFrame, sizeBits: 12, rights: 3, executable: true,
    });
    expect(object(r, r.plan.asidPool, 'asidpool')).toMatchObject({ asidBase: 0, entries: [[1, root]] });
  });
});

describe('impl ASIDControl_MakePool', () => {
  it('checks label, length, untyped, children, destination in order; then makes the pool at the lowest free table slot', () => {
    const v = setup();
    const { r } = v;
    expect(call(r, L.RISCVASIDPoolAssign, seL4_CapASIDControl, [v.P, D], [v.U, CNODE])).toBe(E.seL4_IllegalOperation);
    expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [v.P], [v.U, CNODE])).toBe(E.seL4_TruncatedMessage);
    expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [v.P, D], [v.U])).toBe(E.seL4_TruncatedMessage);
    expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [v.P, D], [v.F, CNODE])).toBe(E.seL4_InvalidCapability);
    expect(r.mrs(1)).toEqual([1]);
    expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [v.P, D], [r.untyped(13), CNODE])).toBe(E.seL4_InvalidCapability);
    expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [v.P, D], [v.U, v.F])).toBe(E.seL4_FailedLookup);
    expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [v.P, 33], [v.U, CNODE])).toBe(E.seL4_RangeError);
    expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [v.F, D], [v.U, CNODE])).toBe(E.seL4_DeleteFirst);
    expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [v.P, D], [v.U, CNODE])).toBe(E.seL4_NoError);
    expect(r.lastWitness).toEqual([{ point: 'asidPool', index: 1 }]);
    const pool = ptrOf(r, v.P);
    expect(r.cap(v.P)).toEqual({ type: 'asidpool', ptr: pool, asidBase: 16 });
    expect(r.cap(v.U)).toMatchObject({ freeIndex: 4096 });
    expect(object(r, pool, 'asidpool')).toMatchObject({ asidBase: 16, entries: [] });
    // The untyped now has a child: RevokeFirst, checked before the destination.
    expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [v.P, D], [v.U, CNODE])).toBe(E.seL4_RevokeFirst);
  });

  it('answers DeleteFirst once the 32 table slots hold pools', () => {
    const r = bootRoot({ memory: { base: 0x80000000, sizeBytes: 16 << 20 } });
    const s = r.plan.bootInfo.empty.start;
    expect(r.api.seL4_Untyped_Retype(r.untyped(20), T.seL4_UntypedObject, 12, CNODE, 0, 0, s, 32)).toBe(E.seL4_NoError);
    for (let i = 0; i < 31; i++) expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [s + 32 + i, D], [s + i, CNODE])).toBe(E.seL4_NoError);
    expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [s + 63, D], [s + 31, CNODE])).toBe(E.seL4_DeleteFirst);
  });
});

describe('impl ASIDPool_Assign', () => {
  it('checks label, cap, the pool in the table, a free entry; copies the kernel window', () => {
    const v = setup();
    const { r } = v;
    expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [v.P, D], [v.U, CNODE])).toBe(E.seL4_NoError);
    expect(call(r, L.RISCVPageMap, v.P, [], [v.R])).toBe(E.seL4_IllegalOperation);
    expect(call(r, L.RISCVASIDPoolAssign, v.P, [], [])).toBe(E.seL4_TruncatedMessage);
    expect(call(r, L.RISCVASIDPoolAssign, v.P, [], [v.F])).toBe(E.seL4_InvalidCapability);
    expect(call(r, L.RISCVASIDPoolAssign, v.P, [], [seL4_CapInitThreadVSpace])).toBe(E.seL4_InvalidCapability);
    expect(r.mrs(1)).toEqual([1]);
    const root = ptrOf(r, v.R);
    expect(object(r, root, 'pagetable').kernelWindow).toBe(false);
    expect(call(r, L.RISCVASIDPoolAssign, v.P, [], [v.R])).toBe(E.seL4_NoError);
    expect(r.lastWitness).toEqual([{ point: 'asid', asid: 16 }]);
    expect(r.cap(v.R)).toEqual({ type: 'pagetable', ptr: root, mapped: { asid: 16, vaddr: 0 } });
    expect(object(r, root, 'pagetable')).toMatchObject({ kernelWindow: true, entries: [] });
    expect(object(r, ptrOf(r, v.P), 'asidpool').entries).toEqual([[0, root]]);
    expect(call(r, L.RISCVASIDPoolAssign, v.P, [], [v.R])).toBe(E.seL4_InvalidCapability);
  });

  it('gives pool 0 fourteen more ASIDs (0 is invalid, 1 is the root task), then DeleteFirst', () => {
    const r = bootRoot({ memory: { base: 0x80000000, sizeBytes: 16 << 20 } });
    const s = r.plan.bootInfo.empty.start;
    expect(r.api.seL4_Untyped_Retype(r.untyped(20), T.seL4_RISCV_PageTableObject, 0, CNODE, 0, 0, s, 15)).toBe(E.seL4_NoError);
    for (let i = 0; i < 14; i++) expect(call(r, L.RISCVASIDPoolAssign, seL4_CapInitThreadASIDPool, [], [s + i])).toBe(E.seL4_NoError);
    expect(r.cap(s)).toMatchObject({ mapped: { asid: 2, vaddr: 0 } });
    expect(call(r, L.RISCVASIDPoolAssign, seL4_CapInitThreadASIDPool, [], [s + 14])).toBe(E.seL4_DeleteFirst);
  });
});

describe('impl PageTable_Map and PageTable_Unmap', () => {
  it('checks label, length, both caps, vaddr, ASID, the window in order', () => {
    const v = assigned();
    const { r } = v;
    expect(call(r, L.RISCVPageGetAddress, v.PT, [VA, 0], [v.R])).toBe(E.seL4_IllegalOperation);
    expect(call(r, L.RISCVPageTableMap, v.PT, [VA], [v.R])).toBe(E.seL4_TruncatedMessage);
    expect(call(r, L.RISCVPageTableMap, v.PT, [VA, 0], [])).toBe(E.seL4_TruncatedMessage);
    expect(call(r, L.RISCVPageTableMap, v.R, [VA, 0], [v.R])).toBe(E.seL4_InvalidCapability);
    expect(r.mrs(1)).toEqual([0]);
    expect(call(r, L.RISCVPageTableMap, v.PT, [VA, 0], [v.F])).toBe(E.seL4_InvalidCapability);
    expect(r.mrs(1)).toEqual([1]);
    expect(call(r, L.RISCVPageTableMap, v.PT, [0x80000000, 0], [v.R])).toBe(E.seL4_InvalidArgument);
    // A mapped non-root table as the root: its ASID resolves to another table.
    expect(call(r, L.RISCVPageTableMap, v.PT, [VA, 0], [seL4_CapInitThreadVSpace])).toBe(E.seL4_NoError);
    expect(r.api.seL4_Untyped_Retype(r.untyped(23), T.seL4_RISCV_PageTableObject, 0, CNODE, 0, 0, v.free, 1)).toBe(E.seL4_NoError);
    expect(call(r, L.RISCVPageTableMap, v.free, [VA, 0], [v.PT])).toBe(E.seL4_InvalidCapability);
    expect(r.mrs(1)).toEqual([1]);
    // Unaligned vaddr, same 4 MiB window in the new root: success, then DeleteFirst for another table there.
    expect(call(r, L.RISCVPageTableMap, v.free, [VA + 0x123, 3], [v.R])).toBe(E.seL4_NoError);
    const root = ptrOf(r, v.R);
    const table = ptrOf(r, v.free);
    expect(r.cap(v.free)).toEqual({ type: 'pagetable', ptr: table, mapped: { asid: 16, vaddr: VA } });
    expect(pte(r, root, 1)).toBe(((table >>> 12) << 10 | 1) >>> 0);
    expect(object(r, root, 'pagetable').entries).toEqual([{ index: 1, kind: 'table', table }]);
    expect(r.api.seL4_Untyped_Retype(r.untyped(23), T.seL4_RISCV_PageTableObject, 0, CNODE, 0, 0, v.free + 1, 1)).toBe(E.seL4_NoError);
    expect(call(r, L.RISCVPageTableMap, v.free + 1, [VA + 0x1000, 0], [v.R])).toBe(E.seL4_DeleteFirst);
  });

  it('Unmap: RevokeFirst for copies and live roots; clears the root entry and zeroes the table', () => {
    const v = assigned();
    const { r } = v;
    expect(call(r, L.RISCVPageTableUnmap, v.R, [], [])).toBe(E.seL4_RevokeFirst);
    expect(call(r, L.RISCVPageTableMap, v.PT, [VA, 0], [v.R])).toBe(E.seL4_NoError);
    expect(call(r, L.RISCVPageMap, v.F, [VA, 3, 0], [v.R])).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Copy(CNODE, v.free, D, CNODE, v.PT, D, 0xf)).toBe(E.seL4_NoError);
    expect(call(r, L.RISCVPageTableUnmap, v.PT, [], [])).toBe(E.seL4_RevokeFirst);
    expect(r.api.seL4_CNode_Delete(CNODE, v.free, D)).toBe(E.seL4_NoError);
    const table = ptrOf(r, v.PT);
    expect(call(r, L.RISCVPageTableUnmap, v.PT, [], [])).toBe(E.seL4_NoError);
    expect(pte(r, ptrOf(r, v.R), 1)).toBe(0);
    expect(object(r, table, 'pagetable').entries).toEqual([]);
    expect(r.cap(v.PT)).toMatchObject({ mapped: null });
    expect(r.cap(v.F)).toMatchObject({ mapped: { asid: 16, vaddr: VA } }); // a stale mapping
    expect(call(r, L.RISCVPageMap, v.F2, [VA, 3, 0], [v.R])).toBe(E.seL4_FailedLookup);
    expect(r.mrs(3)).toEqual([0, 2, 22]);
    expect(call(r, L.RISCVPageTableUnmap, v.PT, [], [])).toBe(E.seL4_NoError);
  });
});

describe('impl Page_Map, Page_Unmap, Page_GetAddress', () => {
  function mappedTable(): Setup {
    const v = assigned();
    expect(call(v.r, L.RISCVPageTableMap, v.PT, [VA, 0], [v.R])).toBe(E.seL4_NoError);
    return v;
  }

  it('checks length, root cap, ASID, vaddr, alignment, the walk, remap and occupancy in order', () => {
    const v = mappedTable();
    const { r } = v;
    expect(call(r, L.RISCVPageMap, v.F, [VA, 3], [v.R])).toBe(E.seL4_TruncatedMessage);
    expect(call(r, L.RISCVPageMap, v.F, [VA, 3, 0], [])).toBe(E.seL4_TruncatedMessage);
    expect(call(r, L.RISCVPageMap, v.F, [VA, 3, 0], [v.F2])).toBe(E.seL4_InvalidCapability);
    expect(call(r, L.RISCVPageMap, v.F, [VA, 3, 0], [v.PT])).toBe(E.seL4_InvalidCapability);
    expect(call(r, L.RISCVPageMap, v.F, [0x7ffff000 + 0x1000, 3, 0], [v.R])).toBe(E.seL4_InvalidArgument);
    expect(call(r, L.RISCVPageMap, v.F, [VA + 4, 3, 0], [v.R])).toBe(E.seL4_AlignmentError);
    expect(call(r, L.RISCVPageMap, v.F, [0x00800000, 3, 0], [v.R])).toBe(E.seL4_FailedLookup);
    expect(r.mrs(3)).toEqual([0, 2, 22]);
    expect(call(r, L.RISCVPageMap, v.M, [VA, 3, 0], [v.R])).toBe(E.seL4_FailedLookup);
    expect(r.mrs(3)).toEqual([0, 2, 12]);
    expect(call(r, L.RISCVPageMap, v.F, [VA, 3, 0], [v.R])).toBe(E.seL4_NoError);
    expect(call(r, L.RISCVPageMap, v.F2, [VA, 3, 0], [v.R])).toBe(E.seL4_DeleteFirst);
    expect(call(r, L.RISCVPageMap, v.F, [VA + 0x1000, 3, 0], [v.R])).toBe(E.seL4_InvalidArgument);
    // Into another VSpace: the walk (no table at VA there) comes before the remap checks.
    expect(call(r, L.RISCVPageMap, v.F, [VA, 3, 0], [seL4_CapInitThreadVSpace])).toBe(E.seL4_FailedLookup);
    expect(call(r, L.RISCVPageMap, v.F, [0x3ff000, 3, 0], [seL4_CapInitThreadVSpace])).toBe(E.seL4_InvalidCapability);
    expect(r.mrs(1)).toEqual([1]);
  });

  it('writes makeUserPTE: rights masked, X unless ExecuteNever, A D U preset; a remap changes them', () => {
    const v = mappedTable();
    const { r } = v;
    const table = ptrOf(r, v.PT);
    const frame = ptrOf(r, v.F);
    const index = (VA >>> 12) & 1023;
    const cases: [number, number, number][] = [[3, 0, 0xdf], [3, 1, 0xd7], [2, 0, 0xdb], [2, 1, 0xd3], [0, 0, 0xd9], [1, 0, 0xd9]];
    for (const [rights, attr, low] of cases) {
      expect(call(r, L.RISCVPageMap, v.F, [VA, rights, attr], [v.R])).toBe(E.seL4_NoError);
      expect(pte(r, table, index)).toBe(((frame >>> 12) << 10 | low) >>> 0);
    }
    expect(object(r, table, 'pagetable').entries).toEqual([{ index, kind: 'page', frame, sizeBits: 12, rights: 1, executable: true }]);
    // VMKernelOnly and ExecuteNever: the invalid PTE; the slot is free for another frame.
    expect(call(r, L.RISCVPageMap, v.F, [VA, 0, 1], [v.R])).toBe(E.seL4_NoError);
    expect(pte(r, table, index)).toBe(0);
    expect(call(r, L.RISCVPageMap, v.F2, [VA, 3, 0], [v.R])).toBe(E.seL4_NoError);
    // A 4 MiB frame as a root leaf.
    expect(call(r, L.RISCVPageMap, v.M, [0x00c00000, 2, 0], [v.R])).toBe(E.seL4_NoError);
    expect(object(r, ptrOf(r, v.R), 'pagetable').entries).toContainEqual({ index: 3, kind: 'page', frame: ptrOf(r, v.M), sizeBits: 22, rights: 2, executable: true });
  });

  it('Unmap clears the PTE and the cap (also a stale one); GetAddress replies the physical address', () => {
    const v = mappedTable();
    const { r } = v;
    const table = ptrOf(r, v.PT);
    const index = (VA >>> 12) & 1023;
    expect(call(r, L.RISCVPageUnmap, v.F, [], [])).toBe(E.seL4_NoError);
    expect(call(r, L.RISCVPageMap, v.F, [VA, 3, 0], [v.R])).toBe(E.seL4_NoError);
    expect(call(r, L.RISCVPageUnmap, v.F, [], [])).toBe(E.seL4_NoError);
    expect(pte(r, table, index)).toBe(0);
    expect(r.cap(v.F)).toMatchObject({ mapped: null });
    const info = r.api.seL4_Call(v.F, seL4_MessageInfo_new(L.RISCVPageGetAddress, 0, 0, 0));
    expect(info).toBe(seL4_MessageInfo_new(0, 0, 0, 1));
    expect(r.mrs(1)).toEqual([ptrOf(r, v.F)]);
    expect(call(r, L.RISCVPageTableMap, v.F, [VA, 0], [v.R])).toBe(E.seL4_IllegalOperation);
  });
});

describe('impl VSpace derivation and finalisation', () => {
  it('a frame copy is unmapped; an unmapped page table cannot be copied', () => {
    const v = assigned();
    const { r } = v;
    expect(r.api.seL4_CNode_Copy(CNODE, v.free, D, CNODE, v.PT, D, 0xf)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_CNode_Copy(CNODE, v.free, D, CNODE, seL4_CapInitThreadIPCBuffer, D, 0xf)).toBe(E.seL4_NoError);
    expect(r.cap(v.free)).toMatchObject({ type: 'frame', mapped: null });
    expect(r.api.seL4_CNode_Copy(CNODE, v.free + 1, D, CNODE, v.R, D, 0xf)).toBe(E.seL4_NoError);
    expect(r.cap(v.free + 1)).toEqual(r.cap(v.R));
  });

  it('deleting a mapped frame copy unmaps it; deleting the table clears the root entry', () => {
    const v = assigned();
    const { r } = v;
    expect(call(r, L.RISCVPageTableMap, v.PT, [VA, 0], [v.R])).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Copy(CNODE, v.free, D, CNODE, v.F, D, 0xf)).toBe(E.seL4_NoError);
    expect(call(r, L.RISCVPageMap, v.free, [VA, 3, 0], [v.R])).toBe(E.seL4_NoError);
    const table = ptrOf(r, v.PT);
    expect(pte(r, table, (VA >>> 12) & 1023)).not.toBe(0);
    expect(r.api.seL4_CNode_Delete(CNODE, v.free, D)).toBe(E.seL4_NoError);
    expect(pte(r, table, (VA >>> 12) & 1023)).toBe(0);
    expect(call(r, L.RISCVPageMap, v.F, [VA, 3, 0], [v.R])).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Delete(CNODE, v.PT, D)).toBe(E.seL4_NoError);
    expect(pte(r, ptrOf(r, v.R), 1)).toBe(0);
    // The table's memory is not cleared, and the frame cap keeps its stale mapping.
    expect(pte(r, table, (VA >>> 12) & 1023)).not.toBe(0);
    expect(call(r, L.RISCVPageUnmap, v.F, [], [])).toBe(E.seL4_NoError);
  });

  it('deleting the last root cap frees its ASID; deleting the pool empties its table slot and strands its roots', () => {
    const v = assigned();
    const { r } = v;
    const pool = ptrOf(r, v.P);
    expect(r.api.seL4_Untyped_Retype(r.untyped(23), T.seL4_RISCV_PageTableObject, 0, CNODE, 0, 0, v.free, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Copy(CNODE, v.free + 1, D, CNODE, v.R, D, 0xf)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Delete(CNODE, v.free + 1, D)).toBe(E.seL4_NoError);
    expect(object(r, pool, 'asidpool').entries).toEqual([[0, ptrOf(r, v.R)]]);
    expect(r.api.seL4_CNode_Delete(CNODE, v.R, D)).toBe(E.seL4_NoError);
    expect(object(r, pool, 'asidpool').entries).toEqual([]);
    expect(call(r, L.RISCVASIDPoolAssign, v.P, [], [v.free])).toBe(E.seL4_NoError);
    expect(r.cap(v.free)).toMatchObject({ mapped: { asid: 16, vaddr: 0 } });
    expect(r.api.seL4_CNode_Delete(CNODE, v.P, D)).toBe(E.seL4_NoError);
    expect(object(r, pool, 'asidpool').asidBase).toBeNull();
    expect(call(r, L.RISCVPageTableMap, v.PT, [VA, 0], [v.free])).toBe(E.seL4_FailedLookup);
    expect(r.mrs(2)).toEqual([0, 1]);
    expect(call(r, L.RISCVASIDPoolAssign, seL4_CapInitThreadASIDPool, [], [v.free])).toBe(E.seL4_InvalidCapability);
    // The stranded root passes Unmap's checks and is zeroed, kernel window included.
    expect(call(r, L.RISCVPageTableUnmap, v.free, [], [])).toBe(E.seL4_NoError);
    expect(object(r, ptrOf(r, v.free), 'pagetable').kernelWindow).toBe(false);
    // MakePool from the same untyped again, once the pool cap is gone.
    expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [v.P, D], [v.U, CNODE])).toBe(E.seL4_NoError);
    expect(r.cap(v.P)).toMatchObject({ asidBase: 16 });
  });
});

/** Every root a live pool (one the ASID table names) names holds the kernel window, and every PTE reachable from it names an existing table or frame. */
function checkLiveRoots(r: Root): void {
  for (const o of r.state.ghostAddrs) {
    if (r.state.ghost.get(o)?.type !== 'asidpool') continue;
    const pool = asidPoolView(r.state, o);
    if (pool.asidBase === null) continue; // a deleted pool keeps its words; nothing resolves through it
    for (const [, root] of pool.entries) {
      const view = pageTableView(r.state, root);
      expect(view.kernelWindow).toBe(true);
      for (const e of view.entries) {
        if (e.kind === 'page') {
          expect(r.state.ghost.get(e.frame)).toMatchObject({ type: 'frame', sizeBits: 22 });
          continue;
        }
        expect(r.state.ghost.get(e.table)?.type).toBe('pagetable');
        for (const leaf of pageTableView(r.state, e.table).entries) expect(r.state.ghost.get(leaf.kind === 'page' ? leaf.frame : NaN)?.type).toBe('frame');
      }
    }
  }
}

describe('impl VSpace under random invocations', () => {
  it('keeps its assertions and the live roots consistent', () => {
    // Slots from S: 0-1 4 KiB untypeds, 2-3 pools, 4-8 page tables, 9-12 frames, 15 a mega frame, the rest spare.
    // Each step draws two numbers: mostly slots of the type the invocation wants, sometimes any slot.
    const op = fc.tuple(fc.nat({ max: 10 }), fc.nat({ max: 63 }), fc.nat({ max: 63 }), fc.constantFrom(0, 0x1000, 0x400000, 0x401000, 0x800000, 0xc00000, 0x7ffff000), fc.nat({ max: 15 }));
    const pick = (choices: readonly number[], n: number) => (n >= 48 ? n - 48 : choices[n % choices.length]!);
    const tables = [4, 5, 6, 7, 8];
    const frames = [9, 10, 11, 12, 15];
    fc.assert(
      fc.property(fc.array(op, { minLength: 10, maxLength: 40 }), (ops) => {
        const r = bootRoot({ memory: { base: 0x80000000, sizeBytes: 16 << 20 } });
        const s = r.plan.bootInfo.empty.start;
        const big = r.untyped(23);
        expect(r.api.seL4_Untyped_Retype(big, T.seL4_RISCV_Mega_Page, 0, CNODE, 0, 0, s + 15, 1)).toBe(E.seL4_NoError);
        expect(r.api.seL4_Untyped_Retype(big, T.seL4_UntypedObject, 12, CNODE, 0, 0, s, 2)).toBe(E.seL4_NoError);
        expect(r.api.seL4_Untyped_Retype(big, T.seL4_RISCV_PageTableObject, 0, CNODE, 0, 0, s + 4, 5)).toBe(E.seL4_NoError);
        expect(r.api.seL4_Untyped_Retype(big, T.seL4_RISCV_4K_Page, 0, CNODE, 0, 0, s + 9, 4)).toBe(E.seL4_NoError);
        const slot = (i: number) => s + i;
        // A pool in slot 2 with root 4, root 5 in pool 0, table 6 under root 4: the random steps start from live VSpaces.
        expect(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [slot(2), D], [slot(0), CNODE])).toBe(E.seL4_NoError);
        expect(call(r, L.RISCVASIDPoolAssign, slot(2), [], [slot(4)])).toBe(E.seL4_NoError);
        expect(call(r, L.RISCVASIDPoolAssign, seL4_CapInitThreadASIDPool, [], [slot(5)])).toBe(E.seL4_NoError);
        expect(call(r, L.RISCVPageTableMap, slot(6), [0x400000, 0], [slot(4)])).toBe(E.seL4_NoError);
        const root = (n: number) => (n % 5 === 4 ? seL4_CapInitThreadVSpace : slot(pick(tables, n)));
        for (const [kind, a, b, vaddr, rights] of ops) {
          switch (kind) {
            case 0: call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [slot(pick([2, 3, 13], a)), D], [slot(pick([0, 1], b)), CNODE]); break;
            case 1: call(r, L.RISCVASIDPoolAssign, b % 3 === 2 ? seL4_CapInitThreadASIDPool : slot(pick([2, 3], b)), [], [slot(pick(tables, a))]); break;
            case 2: call(r, L.RISCVPageTableMap, slot(pick(tables, a)), [vaddr, 0], [root(b)]); break;
            case 3: call(r, L.RISCVPageTableUnmap, slot(pick(tables, a)), [], []); break;
            case 4: case 5: call(r, L.RISCVPageMap, slot(pick(frames, a)), [vaddr, rights, rights >> 2], [root(b)]); break;
            case 6: call(r, L.RISCVPageUnmap, slot(pick(frames, a)), [], []); break;
            case 7: r.api.seL4_CNode_Copy(CNODE, slot(pick([13, 14], b)), D, CNODE, slot(a % 16), D, rights); break;
            case 8: r.api.seL4_CNode_Delete(CNODE, slot(a % 16), D); break;
            case 9: r.api.seL4_CNode_Revoke(CNODE, slot(a % 16), D); break;
            default: r.api.seL4_CNode_Move(CNODE, slot(pick([13, 14], b)), D, CNODE, slot(a % 16), D);
          }
          expect(r.obs().unmodelled).toBeNull();
          checkLiveRoots(r);
        }
      }),
      { seed: 11, numRuns: 40 },
    );
  });
});
