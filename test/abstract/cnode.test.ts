// CNode invocations in the abstract spec: every check in seL4's order, rights and cap data,
// and the capability derivation tree (copy, mint, move, rotate, delete, revoke).
import { beforeEach, describe, expect, it } from 'vitest';
import {
  InvocationLabel as L,
  seL4_CNode_CapData_new,
  seL4_Error as E,
  seL4_ObjectType as T,
  Reg,
  type Cap,
  type SlotRef,
} from '../../libsel4/index.ts';
import { allFilledSlots, descendantsOf, isOriginalCap } from '../../spec-abstract/index.ts';
import { bootHarness, call, lastReply, type Harness } from './harness.ts';

let h: Harness;
let big: number;
/** Two endpoints (root slots 100, 101), a notification (102), a reply object (103). */
let ep: number;

const cap = (slot: number): Cap | null => h.view().cap(h.root(slot));
const parent = (slot: number): SlotRef | null => h.view().cdtParent(h.root(slot));
const original = (slot: number): boolean => isOriginalCap(h.state(), h.root(slot));
const copy = (dest: number, src: number, rights = 0xf) => h.api.seL4_CNode_Copy(2, dest, 32, 2, src, 32, rights);
const mint = (dest: number, src: number, badge: number, rights = 0xf) => h.api.seL4_CNode_Mint(2, dest, 32, 2, src, 32, rights, badge);
const move = (dest: number, src: number) => h.api.seL4_CNode_Move(2, dest, 32, 2, src, 32);
const del = (slot: number) => h.api.seL4_CNode_Delete(2, slot, 32);
const revoke = (slot: number) => h.api.seL4_CNode_Revoke(2, slot, 32);

beforeEach(() => {
  h = bootHarness();
  big = h.untyped + h.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits === 21);
  expect(h.api.seL4_Untyped_Retype(big, T.seL4_EndpointObject, 0, 2, 0, 0, 100, 2)).toBe(0);
  expect(h.api.seL4_Untyped_Retype(big, T.seL4_NotificationObject, 0, 2, 0, 0, 102, 1)).toBe(0);
  expect(h.api.seL4_Untyped_Retype(big, T.seL4_ReplyObject, 0, 2, 0, 0, 103, 1)).toBe(0);
  ep = (cap(100) as { ptr: number }).ptr;
});

describe('CNode invocation checks, in order', () => {
  it('rejects labels outside Revoke..Rotate, then short messages', () => {
    for (const label of [0, L.UntypedRetype, L.TCBSetFlags, L.IRQIssueIRQHandler, 0xfffff]) {
      expect(call(h, 2, label, [100, 32]).error).toBe(E.seL4_IllegalOperation);
    }
    expect(call(h, 2, L.CNodeDelete, [100]).error).toBe(E.seL4_TruncatedMessage);
    expect(call(h, 2, L.CNodeRevoke, []).error).toBe(E.seL4_TruncatedMessage);
  });

  it('Copy/Mint/Move/Mutate: message, destination, source, then the cap', () => {
    for (const label of [L.CNodeCopy, L.CNodeMint, L.CNodeMove, L.CNodeMutate]) {
      expect(call(h, 2, label, [200, 32, 100], [2]).error).toBe(E.seL4_TruncatedMessage);
      expect(call(h, 2, label, [200, 32, 100, 32, 0xf, 0], []).error).toBe(E.seL4_TruncatedMessage);
      // Destination occupied is reported before the source is looked at.
      expect(call(h, 2, label, [101, 32, 5000, 99, 0xf, 0], [1]).error).toBe(E.seL4_DeleteFirst);
      expect(call(h, 2, label, [200, 32, 100, 32, 0xf, 0], [1])).toMatchObject({ error: E.seL4_FailedLookup, mrs: [1, 1] });
      expect(call(h, 2, label, [200, 32, 100, 0, 0xf, 0], [2])).toMatchObject({ error: E.seL4_RangeError, mrs: [1, 32] });
      expect(call(h, 2, label, [200, 32, 300, 32, 0xf, 0], [2])).toMatchObject({ error: E.seL4_FailedLookup, mrs: [1, 2, 32] });
    }
    expect(call(h, 2, L.CNodeCopy, [200, 32, 100, 32], [2]).error).toBe(E.seL4_TruncatedMessage);
    expect(call(h, 2, L.CNodeMint, [200, 32, 100, 32, 0xf], [2]).error).toBe(E.seL4_TruncatedMessage);
    expect(call(h, 2, L.CNodeMutate, [200, 32, 100, 32], [2]).error).toBe(E.seL4_TruncatedMessage);
    expect(call(h, 2, L.CNodeMove, [200, 32, 100, 32], [2]).error).toBe(E.seL4_NoError);
  });

  it('derives caps: IRQControl cannot be copied, an untyped with children needs a revoke, unmapped page tables are refused', () => {
    expect(copy(200, 4)).toBe(E.seL4_IllegalOperation);
    expect(lastReply(h).mrs).toEqual([]);
    expect(copy(200, big)).toBe(E.seL4_RevokeFirst);
    expect(h.api.seL4_Untyped_Retype(big, T.seL4_RISCV_PageTableObject, 0, 2, 0, 0, 104, 1)).toBe(0);
    expect(copy(200, 104)).toBe(E.seL4_IllegalOperation);
    // The root page table is mapped (assigned an ASID): it can be copied, mapping kept.
    expect(copy(200, 3)).toBe(E.seL4_NoError);
    expect(cap(200)).toEqual(cap(3));
    // Frame copies are unmapped.
    expect(copy(201, 9)).toBe(E.seL4_NoError);
    expect(cap(201)).toEqual({ ...cap(9), mapped: null });
    for (const slot of [5, 6, 11, 17]) expect(copy(210 + slot, slot)).toBe(E.seL4_NoError);
    expect(cap(221)).toEqual({ type: 'domain' });
  });

  it('masks rights on Copy and Mint', () => {
    expect(copy(200, 100, 0x5)).toBe(0);
    expect(cap(200)).toMatchObject({ type: 'endpoint', rights: 0x5 });
    expect(copy(201, 102, 0xe)).toBe(0);
    expect(cap(201)).toMatchObject({ type: 'notification', rights: 0x2 });
    expect(copy(202, 103, 0x3)).toBe(0);
    expect(cap(202)).toMatchObject({ type: 'reply', rights: 0 });
    expect(copy(203, 9, 0x2)).toBe(0);
    expect(cap(203)).toMatchObject({ type: 'frame', vmRights: 2 });
    expect(copy(204, 9, 0x1)).toBe(0);
    expect(cap(204)).toMatchObject({ type: 'frame', vmRights: 1 });
    expect(copy(205, 2, 0)).toBe(0);
    expect(cap(205)).toEqual(cap(2));
    expect(mint(206, 100, 7, 0x3)).toBe(0);
    expect(cap(206)).toEqual({ type: 'endpoint', ptr: ep, badge: 7, rights: 0x3 });
  });

  it('applies cap data: badges only on unbadged caps (28 bits), guards that fit', () => {
    expect(mint(200, 100, 0xffffffff)).toBe(0);
    expect(cap(200)).toMatchObject({ badge: 0x0fffffff });
    expect(mint(201, 200, 5)).toBe(E.seL4_IllegalOperation);
    expect(mint(202, 102, 9)).toBe(0);
    expect(cap(202)).toMatchObject({ type: 'notification', badge: 9 });
    expect(mint(203, 2, seL4_CNode_CapData_new(0, 21))).toBe(E.seL4_IllegalOperation);
    expect(mint(203, 2, seL4_CNode_CapData_new(0x3ffff, 20))).toBe(0);
    expect(cap(203)).toMatchObject({ type: 'cnode', guardSize: 20, guard: 0x3ffff });
    expect(mint(204, 2, seL4_CNode_CapData_new(0xff, 4) | 0xfc000007)).toBe(0);
    expect(cap(204)).toMatchObject({ type: 'cnode', guardSize: 4, guard: 0xf });
    // Other caps ignore the data word.
    expect(mint(205, 1, 0x1234)).toBe(0);
    expect(cap(205)).toEqual(cap(1));
  });

  it('Mutate keeps no badge changes: endpoints and notifications always fail', () => {
    const mutate = (dest: number, src: number, data: number) => h.api.seL4_CNode_Mutate(2, dest, 32, 2, src, 32, data);
    expect(mutate(200, 100, 0)).toBe(E.seL4_IllegalOperation);
    expect(mutate(200, 102, 5)).toBe(E.seL4_IllegalOperation);
    expect(copy(110, 2)).toBe(0);
    expect(mutate(111, 110, seL4_CNode_CapData_new(3, 8))).toBe(0);
    expect(cap(110)).toEqual({ type: 'null' });
    expect(cap(111)).toMatchObject({ type: 'cnode', guardSize: 8, guard: 3 });
    expect(mutate(112, 111, seL4_CNode_CapData_new(0, 21))).toBe(E.seL4_IllegalOperation);
    expect(mutate(112, 103, 0xffff)).toBe(0);
    expect(cap(112)).toMatchObject({ type: 'reply', rights: 4 });
  });

  it('Rotate: message, source, pivot, then slot identities, destination, emptiness and cap data', () => {
    const rotate = (dest: number, destData: number, pivot: number, pivotData: number, src: number, length = 8, caps = [2, 2]) =>
      call(h, 2, L.CNodeRotate, [dest, 32, destData, pivot, 32, pivotData, src, 32].slice(0, length), caps);
    expect(rotate(200, 0, 201, 0, 100, 7).error).toBe(E.seL4_TruncatedMessage);
    expect(rotate(200, 0, 201, 0, 100, 8, [2]).error).toBe(E.seL4_TruncatedMessage);
    expect(call(h, 2, L.CNodeRotate, [200, 32, 0, 201, 32, 0, 100, 32], [2, 1])).toMatchObject({ error: E.seL4_FailedLookup, mrs: [1, 1] });
    expect(call(h, 2, L.CNodeRotate, [200, 32, 0, 201, 32, 0, 100, 32], [1, 2])).toMatchObject({ error: E.seL4_FailedLookup, mrs: [1, 1] });
    expect(call(h, 2, L.CNodeRotate, [200, 32, 0, 201, 0, 0, 100, 32], [2, 2])).toMatchObject({ error: E.seL4_RangeError, mrs: [1, 32] });
    expect(rotate(200, 0, 100, 0, 100).error).toBe(E.seL4_IllegalOperation);
    expect(rotate(200, 0, 200, 0, 100).error).toBe(E.seL4_IllegalOperation);
    expect(rotate(101, 0, 1, 0, 2).error).toBe(E.seL4_DeleteFirst);
    expect(rotate(200, 0, 1, 0, 300)).toMatchObject({ error: E.seL4_FailedLookup, mrs: [1, 2, 32] });
    expect(rotate(200, 0, 301, 0, 1)).toMatchObject({ error: E.seL4_FailedLookup, mrs: [0, 2, 32] });
    // Endpoints cannot take new cap data in place.
    expect(rotate(200, 0, 1, 0, 100).error).toBe(E.seL4_IllegalOperation);
    expect(rotate(200, 0, 100, 0, 1).error).toBe(E.seL4_IllegalOperation);
    // src → pivot, pivot → dest.
    const tcb = cap(1);
    const cnodeCap = cap(2);
    expect(rotate(200, 0x1234, 1, seL4_CNode_CapData_new(1, 4), 2).error).toBe(E.seL4_NoError);
    expect(cap(200)).toEqual(tcb);
    expect(cap(1)).toEqual({ ...cnodeCap, guardSize: 4, guard: 1 });
    expect(cap(2)).toEqual({ type: 'null' });
    expect(parent(200)).toBeNull();
    expect(original(1)).toBe(true);
    expect(h.view().cdtParent({ cnode: h.plan.rootTCB, index: 0 })).toEqual(h.root(1));
  });

  it('CancelBadgedSends needs an endpoint cap with all rights', () => {
    const cancel = (slot: number) => h.api.seL4_CNode_CancelBadgedSends(2, slot, 32);
    expect(cancel(100)).toBe(E.seL4_NoError);
    expect(mint(200, 100, 3)).toBe(0);
    expect(cancel(200)).toBe(E.seL4_NoError);
    expect(mint(201, 100, 3, 0x7)).toBe(0);
    expect(cancel(201)).toBe(E.seL4_IllegalOperation);
    expect(cancel(102)).toBe(E.seL4_IllegalOperation);
    expect(cancel(300)).toBe(E.seL4_IllegalOperation);
  });

  it('Delete and Revoke of an empty slot, or of a cap without children, succeed and change nothing', () => {
    const slots = allFilledSlots(h.state());
    const objects = h.view().objects();
    expect(del(300)).toBe(E.seL4_NoError);
    expect(revoke(300)).toBe(E.seL4_NoError);
    expect(revoke(100)).toBe(E.seL4_NoError);
    expect(allFilledSlots(h.state())).toEqual(slots);
    expect(h.view().objects()).toEqual(objects);
    expect(h.lastOutcomes()).toHaveLength(1);
    expect(h.api.lastObservation().caller?.regs[Reg.a1]).toBe(0);
  });
});

describe('the capability derivation tree', () => {
  it('makes a copy of an original cap its child, and a copy of a copy its sibling', () => {
    expect(copy(200, 100)).toBe(0);
    expect(parent(200)).toEqual(h.root(100));
    expect(original(200)).toBe(false);
    expect(copy(201, 200)).toBe(0);
    expect(parent(201)).toEqual(h.root(100));
    expect(descendantsOf(h.state(), h.root(100))).toEqual([h.root(200), h.root(201)]);
    expect(h.lastOutcomes()[0]!.touched.slots).toEqual(expect.arrayContaining([h.root(201), h.root(100)]));
    // Copies of a copy of a root cap with no parent are roots too.
    expect(copy(202, 1)).toBe(0);
    expect(parent(202)).toEqual(h.root(1));
    expect(copy(203, 202)).toBe(0);
    expect(parent(203)).toEqual(h.root(1));
  });

  it('starts a new badge generation with every Mint of a badge from the unbadged cap', () => {
    expect(mint(200, 100, 5)).toBe(0);
    expect(original(200)).toBe(true);
    expect(parent(200)).toEqual(h.root(100));
    expect(copy(201, 200)).toBe(0);
    expect(parent(201)).toEqual(h.root(200));
    expect(original(201)).toBe(false);
    expect(copy(202, 201)).toBe(0);
    expect(parent(202)).toEqual(h.root(200));
    // Same badge again: a second generation, a sibling of the first, not its child.
    expect(mint(203, 100, 5)).toBe(0);
    expect(parent(203)).toEqual(h.root(100));
    expect(original(203)).toBe(true);
    // A Mint with badge 0 from the unbadged cap is a plain copy.
    expect(mint(204, 100, 0)).toBe(0);
    expect(original(204)).toBe(false);
    expect(parent(204)).toEqual(h.root(100));
    // Revoking the first generation leaves the second.
    expect(revoke(200)).toBe(0);
    expect([cap(201), cap(202)]).toEqual([{ type: 'null' }, { type: 'null' }]);
    expect(cap(203)).toMatchObject({ badge: 5 });
    // Revoking the unbadged original removes everything derived from it.
    expect(revoke(100)).toBe(0);
    for (const slot of [200, 203, 204]) expect(cap(slot)).toEqual({ type: 'null' });
    expect(cap(100)).toMatchObject({ type: 'endpoint', badge: 0 });
  });

  it('moves a cap together with its place in the tree', () => {
    expect(copy(200, 100)).toBe(0);
    expect(mint(201, 100, 4)).toBe(0);
    expect(copy(202, 201)).toBe(0);
    expect(move(300, 201)).toBe(0);
    expect(cap(201)).toEqual({ type: 'null' });
    expect(parent(201)).toBeNull();
    expect(parent(300)).toEqual(h.root(100));
    expect(original(300)).toBe(true);
    expect(original(201)).toBe(false);
    expect(parent(202)).toEqual(h.root(300));
    expect(h.lastOutcomes()[0]!.touched.slots).toEqual(expect.arrayContaining([h.root(201), h.root(300), h.root(202), h.root(100)]));
    expect(move(301, 100)).toBe(0);
    expect(parent(200)).toEqual(h.root(301));
    expect(parent(300)).toEqual(h.root(301));
    expect(parent(301)).toEqual(h.root(big));
  });

  it('swaps two caps with their places in the tree when Rotate has src = dest', () => {
    expect(copy(200, 100)).toBe(0);
    expect(copy(201, 101)).toBe(0);
    const rotate = call(h, 2, L.CNodeRotate, [100, 32, 0, 101, 32, 0, 100, 32], [2, 2]);
    expect(rotate.error).toBe(E.seL4_IllegalOperation);
    // Swap the TCB cap and the root CNode cap (CNode cap data 0 clears the guard).
    expect(copy(202, 1)).toBe(0);
    expect(copy(203, 2)).toBe(0);
    const tcbCap = cap(1);
    const swap = call(h, 2, L.CNodeRotate, [1, 32, 0, 2, 32, 0, 1, 32], [2, 2]);
    expect(swap.error).toBe(E.seL4_NoError);
    expect(cap(1)).toEqual({ ...h.plan.rootCaps.find(([i]) => i === 2)![1], guardSize: 0, guard: 0 });
    expect(cap(2)).toEqual(tcbCap);
    expect(parent(202)).toEqual(h.root(2));
    expect(parent(203)).toEqual(h.root(1));
    expect(h.view().cdtParent({ cnode: h.plan.rootTCB, index: 0 })).toEqual(h.root(1));
  });

  it('deletes the contents of a CNode with its last cap, and handles a CNode holding its own cap', () => {
    expect(h.api.seL4_Untyped_Retype(big, T.seL4_CapTableObject, 2, 2, 0, 0, 110, 1)).toBe(0);
    const x = (cap(110) as { ptr: number }).ptr;
    expect(h.api.seL4_CNode_Copy(110, 3, 2, 2, 100, 32, 0xf)).toBe(0);
    expect(h.api.seL4_CNode_Copy(110, 0, 2, 2, 101, 32, 0xf)).toBe(0);
    expect(copy(111, 110)).toBe(0);
    expect(del(110)).toBe(0);
    // Not the last cap: nothing happens to the contents.
    expect(h.view().cap({ cnode: x, index: 3 })?.type).toBe('endpoint');
    expect(del(111)).toBe(0);
    expect(h.view().cap({ cnode: x, index: 3 })).toEqual({ type: 'null' });
    expect(h.view().cap({ cnode: x, index: 0 })).toEqual({ type: 'null' });
    expect(descendantsOf(h.state(), h.root(100))).toEqual([]);
    expect(h.view().object(x)).toEqual({ type: 'cnode', addr: x, radix: 2 });
    const touched = h.lastOutcomes()[0]!.touched.slots;
    expect(touched).toEqual(expect.arrayContaining([h.root(111), { cnode: x, index: 3 }, { cnode: x, index: 0 }, h.root(100), h.root(101)]));

    // A CNode whose only cap sits in the CNode itself.
    expect(h.api.seL4_Untyped_Retype(big, T.seL4_CapTableObject, 2, 2, 0, 0, 112, 1)).toBe(0);
    const y = (cap(112) as { ptr: number }).ptr;
    expect(h.api.seL4_CNode_Move(112, 1, 2, 2, 112, 32)).toBe(0);
    expect(h.view().cap({ cnode: y, index: 1 })).toMatchObject({ type: 'cnode', ptr: y });
    expect(revoke(big)).toBe(0);
    expect(h.view().cap({ cnode: y, index: 1 })).toEqual({ type: 'null' });
    expect(h.view().object(y)?.type).toBe('cnode');
  });

  it('finalises a thread whose last cap is deleted: the root thread deleting itself gets no reply', () => {
    expect(h.api.seL4_Untyped_Retype(big, T.seL4_TCBObject, 0, 2, 0, 0, 104, 1)).toBe(0);
    const t = (cap(104) as { ptr: number }).ptr;
    expect(del(104)).toBe(0);
    expect(h.view().object(t)).toMatchObject({ state: 'Inactive' });
    const o = h.api.rawSyscall([[Reg.a0, 2], [Reg.a1, ((L.CNodeDelete << 12) | 2) >>> 0], [Reg.a2, 1], [Reg.a3, 32], [Reg.a7, 0xffffffff]]);
    expect(o.caller?.state).toBe('Inactive');
    expect(o.current).toBeNull();
    expect(o.caller?.regs[Reg.a1]).toBe(((L.CNodeDelete << 12) | 2) >>> 0);
    for (let i = 0; i < 5; i++) expect(h.view().cap({ cnode: h.plan.rootTCB, index: i })).toEqual({ type: 'null' });
    expect(h.view().object(h.plan.rootTCB)).toMatchObject({ state: 'Inactive', schedContext: null });
    expect(h.view().object(h.plan.rootSC)).toMatchObject({ tcb: null });
    expect(descendantsOf(h.state(), h.root(2))).toEqual([]);
  });

  it('unbinds a scheduling context whose last cap is deleted: the root thread stops running', () => {
    expect(del(14)).toBe(0);
    const o = h.api.lastObservation();
    expect(o.caller?.state).toBe('Running');
    expect(o.caller?.regs[Reg.a1]).toBe(0);
    expect(o.current).toBeNull();
    expect(h.view().object(h.plan.rootSC)).toMatchObject({ tcb: null });
    expect(h.view().object(h.plan.rootTCB)).toMatchObject({ schedContext: null });
    expect(h.lastOutcomes()[0]!.touched.objects).toEqual(expect.arrayContaining([h.plan.rootSC, h.plan.rootTCB]));
  });

  it('leaves the revoked cap in place and deletes all its descendants', () => {
    expect(copy(200, 100)).toBe(0);
    expect(mint(201, 100, 1)).toBe(0);
    expect(copy(202, 201)).toBe(0);
    expect(revoke(big)).toBe(0);
    for (const slot of [100, 101, 102, 103, 200, 201, 202]) expect(cap(slot)).toEqual({ type: 'null' });
    expect(cap(big)?.type).toBe('untyped');
    expect(h.lastOutcomes()).toHaveLength(1);
  });
});
