// CNode invocations on the impl: seL4's decode checks in order, lookups through guards and
// nested CNodes, and the MDB/CDT rules of copy, mint, move, mutate, rotate, delete, revoke.
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel,
  seL4_CNode_CapData_new,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_CapIRQControl,
  seL4_CapInitThreadVSpace,
  seL4_CapBootInfoFrame,
  zombieTypeTCB,
} from '../../libsel4/index.ts';
import { decodeObject, decodeSlot, implLayer } from '../../impl/index.ts';
import { writeCap } from '../../impl/cnode.ts';
import { decodeCap, zombieWords } from '../../impl/structures.ts';
import { createState, readWord, writeSlotPair, writeSlotWords } from '../../impl/state.ts';
import { CNODE, D, T, bootRoot, type Root } from './harness.ts';

const E = seL4_Error;
const L = InvocationLabel;
const EP = 100; // first endpoint made by `withEndpoints`

/** A root task with `n` endpoints at slots 100.. (children of the 2^12 untyped). */
function withEndpoints(n = 2): Root {
  const r = bootRoot();
  expect(r.api.seL4_Untyped_Retype(r.untyped(12), T.seL4_EndpointObject, 0, CNODE, 0, 0, EP, n)).toBe(E.seL4_NoError);
  return r;
}

/** A sub-CNode of `radix` at root slot `slot`, made from the 2^17 untyped. */
function makeCNode(r: Root, slot: number, radix: number): number {
  expect(r.api.seL4_Untyped_Retype(r.untyped(17), T.seL4_CapTableObject, radix, CNODE, 0, 0, slot, 1)).toBe(E.seL4_NoError);
  return (r.cap(slot) as { ptr: number }).ptr;
}

function call(r: Root, label: number, service: number, mrs: number[], extraCaps = 0): number {
  mrs.forEach((v, i) => r.api.seL4_SetMR(i, v));
  return r.api.seL4_Call(service, seL4_MessageInfo_new(label, 0, extraCaps, mrs.length)) >>> 12;
}

function slotData(r: Root, cnode: number, index: number) {
  return decodeSlot(r.state, { cnode, index })!;
}

describe('impl CNode invocation checks', () => {
  it('rejects labels outside Revoke..Rotate and short messages', () => {
    const r = bootRoot();
    for (const label of [0, L.TCBSetFlags, L.IRQIssueIRQHandler, 0xfffff]) expect(call(r, label, CNODE, [1, 32])).toBe(E.seL4_IllegalOperation);
    expect(call(r, L.CNodeDelete, CNODE, [1])).toBe(E.seL4_TruncatedMessage);
  });

  it('reports target lookup failures with source 0', () => {
    const r = bootRoot();
    expect(r.api.seL4_CNode_Delete(CNODE, 5, 0)).toBe(E.seL4_RangeError);
    expect(r.mrs(2)).toEqual([1, 32]);
    expect(r.api.seL4_CNode_Delete(CNODE, 5, 33)).toBe(E.seL4_RangeError);
    expect(r.api.seL4_CNode_Delete(CNODE, 5, 19)).toBe(E.seL4_FailedLookup); // guard is 20 bits
    expect(r.mrs(5)).toEqual([0, 4, 19, 0, 20]);
    expect(r.api.seL4_CNode_Delete(CNODE, 5, 24)).toBe(E.seL4_FailedLookup); // guard fits, radix does not
    expect(r.mrs(4)).toEqual([0, 3, 24, 32]);
  });

  it('resolves guards and nested CNodes; remaining bits at a non-CNode cap are a DepthMismatch', () => {
    const r = withEndpoints();
    const a = makeCNode(r, 200, 4);
    // a copy of A's cap with guard 0b01 of 2 bits: A then resolves 6 bits
    expect(r.api.seL4_CNode_Mint(CNODE, 201, D, CNODE, 200, D, 0xf, seL4_CNode_CapData_new(1, 2))).toBe(E.seL4_NoError);
    expect(r.cap(201)).toMatchObject({ type: 'cnode', radix: 4, guardSize: 2, guard: 1 });
    // put an endpoint cap in A[3] through the guarded cap: index 0b01_0011, depth 6
    expect(r.api.seL4_CNode_Copy(201, 0b010011, 6, CNODE, EP, D, 0xf)).toBe(E.seL4_NoError);
    expect(implLayer.view(r.state).cap({ cnode: a, index: 3 })).toMatchObject({ type: 'endpoint' });
    // a wrong guard
    expect(r.api.seL4_CNode_Delete(201, 0b100011, 6)).toBe(E.seL4_FailedLookup);
    expect(r.mrs(5)).toEqual([0, 4, 6, 1, 2]);
    // through A[3] (an endpoint) with 2 more bits: bits remain at a non-CNode cap
    expect(r.api.seL4_CNode_Delete(201, 0b01001101, 8)).toBe(E.seL4_FailedLookup);
    expect(r.mrs(4)).toEqual([0, 3, 2, 0]);
    // a CNode B of radix 2 in A[5]: A[5] then B[2] with 8 bits
    expect(r.api.seL4_Untyped_Retype(r.untyped(17), T.seL4_CapTableObject, 2, 201, 0, 0, 5, 1)).toBe(E.seL4_NoError);
    const b = (implLayer.view(r.state).cap({ cnode: a, index: 5 }) as { ptr: number }).ptr;
    expect(r.api.seL4_CNode_Copy(201, 0b01010110, 8, CNODE, EP, D, 0xf)).toBe(E.seL4_NoError);
    expect(implLayer.view(r.state).cap({ cnode: b, index: 2 })).toMatchObject({ type: 'endpoint' });
    // stopping at A[5] itself addresses the CNode cap (6 bits)
    expect(r.api.seL4_CNode_Copy(CNODE, 202, D, 201, 0b010101, 6, 0xf)).toBe(E.seL4_NoError);
    expect(r.cap(202)).toMatchObject({ type: 'cnode', ptr: b, radix: 2 });
    // too few bits for B's level
    expect(r.api.seL4_CNode_Delete(201, 0b0101011, 7)).toBe(E.seL4_FailedLookup);
    expect(r.mrs(4)).toEqual([0, 3, 1, 2]);
  });

  it('Copy: checks in order (a)-(g)', () => {
    const r = withEndpoints();
    expect(call(r, L.CNodeCopy, CNODE, [150, D, EP], 1)).toBe(E.seL4_TruncatedMessage); // length 3
    expect(call(r, L.CNodeCopy, CNODE, [150, D, EP, D, 0xf], 0)).toBe(E.seL4_TruncatedMessage); // no cap 0
    expect(r.api.seL4_CNode_Copy(CNODE, EP + 1, D, CNODE, 9999, D, 0xf)).toBe(E.seL4_DeleteFirst); // before the source lookup
    expect(r.api.seL4_CNode_Copy(CNODE, 150, D, seL4_CapInitThreadTCB, EP, D, 0xf)).toBe(E.seL4_FailedLookup);
    expect(r.mrs(2)).toEqual([1, 1]); // source, InvalidRoot
    expect(r.api.seL4_CNode_Copy(CNODE, 150, D, CNODE, EP, 40, 0xf)).toBe(E.seL4_RangeError);
    expect(r.api.seL4_CNode_Copy(CNODE, 150, D, CNODE, 151, D, 0xf)).toBe(E.seL4_FailedLookup);
    expect(r.mrs(3)).toEqual([1, 2, 32]); // source, MissingCapability{src_depth}
    r.api.seL4_SetCap(0, CNODE);
    expect(call(r, L.CNodeCopy, CNODE, [150, D, EP, D], 1)).toBe(E.seL4_TruncatedMessage); // length 4
    expect(r.api.seL4_CNode_Copy(CNODE, 150, D, CNODE, seL4_CapIRQControl, D, 0xf)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_CNode_Copy(CNODE, 150, D, CNODE, r.untyped(12), D, 0xf)).toBe(E.seL4_RevokeFirst);
    expect(r.cap(150)).toEqual({ type: 'null' });
  });

  it('Copy: masks rights, unmaps frames, refuses unmapped page tables', () => {
    const r = withEndpoints();
    expect(r.api.seL4_CNode_Copy(CNODE, 150, D, CNODE, EP, D, 0b0101)).toBe(E.seL4_NoError);
    expect(r.cap(150)).toMatchObject({ type: 'endpoint', rights: 0b0101, badge: 0 });
    expect(r.api.seL4_CNode_Copy(CNODE, 151, D, CNODE, seL4_CapBootInfoFrame, D, 0x2)).toBe(E.seL4_NoError);
    expect(r.cap(151)).toMatchObject({ type: 'frame', vmRights: 2, mapped: null });
    expect(r.api.seL4_CNode_Copy(CNODE, 152, D, CNODE, seL4_CapInitThreadVSpace, D, 0)).toBe(E.seL4_NoError); // mapped PT
    expect(r.api.seL4_Untyped_Retype(r.untyped(15), T.seL4_RISCV_PageTableObject, 0, CNODE, 0, 0, 153, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Copy(CNODE, 154, D, CNODE, 153, D, 0xf)).toBe(E.seL4_IllegalOperation);
    // notification and reply rights
    expect(r.api.seL4_Untyped_Retype(r.untyped(15), T.seL4_NotificationObject, 0, CNODE, 0, 0, 155, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Copy(CNODE, 156, D, CNODE, 155, D, 0xe)).toBe(E.seL4_NoError);
    expect(r.cap(156)).toMatchObject({ type: 'notification', rights: 0b10 });
    expect(r.api.seL4_Untyped_Retype(r.untyped(15), T.seL4_ReplyObject, 0, CNODE, 0, 0, 157, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Copy(CNODE, 158, D, CNODE, 157, D, 0xb)).toBe(E.seL4_NoError);
    expect(r.cap(158)).toMatchObject({ type: 'reply', rights: 0 });
  });

  it('Mint: badges unbadged caps only, sets CNode guards, needs six words', () => {
    const r = withEndpoints();
    r.api.seL4_SetCap(0, CNODE);
    expect(call(r, L.CNodeMint, CNODE, [150, D, EP, D, 0xf], 1)).toBe(E.seL4_TruncatedMessage);
    expect(r.api.seL4_CNode_Mint(CNODE, 150, D, CNODE, EP, D, 0xf, 0xf0000005)).toBe(E.seL4_NoError);
    expect(r.cap(150)).toMatchObject({ type: 'endpoint', badge: 5 }); // 28 bits kept
    expect(r.api.seL4_CNode_Mint(CNODE, 151, D, CNODE, 150, D, 0xf, 0)).toBe(E.seL4_IllegalOperation); // already badged
    const a = makeCNode(r, 200, 8);
    expect(r.api.seL4_CNode_Mint(CNODE, 201, D, CNODE, 200, D, 0, seL4_CNode_CapData_new(0x3ffff, 25))).toBe(E.seL4_IllegalOperation); // 25 + 8 > 32
    expect(r.api.seL4_CNode_Mint(CNODE, 201, D, CNODE, 200, D, 0, seL4_CNode_CapData_new(0x2f, 4))).toBe(E.seL4_NoError);
    expect(r.cap(201)).toEqual({ type: 'cnode', ptr: a, radix: 8, guardSize: 4, guard: 0xf });
    expect(r.api.seL4_CNode_Mint(CNODE, 202, D, CNODE, seL4_CapInitThreadTCB, D, 0, 1234)).toBe(E.seL4_NoError); // data ignored
    expect(r.cap(202)).toEqual(r.cap(seL4_CapInitThreadTCB));
  });

  it('Move and Mutate: move the cap with its MDB node; Mutate of an endpoint is illegal', () => {
    const r = withEndpoints();
    expect(r.api.seL4_CNode_Copy(CNODE, 150, D, CNODE, EP, D, 0xf)).toBe(E.seL4_NoError);
    const before = slotData(r, r.plan.rootCNode, 150);
    expect(r.api.seL4_CNode_Move(CNODE, 160, D, CNODE, 150, D)).toBe(E.seL4_NoError);
    expect(r.cap(150)).toEqual({ type: 'null' });
    expect(slotData(r, r.plan.rootCNode, 160)).toEqual(before);
    expect(slotData(r, r.plan.rootCNode, EP).mdb.next).toEqual(r.slot(160));
    expect(r.parent(160)).toEqual(r.slot(EP));
    expect(r.api.seL4_CNode_Mutate(CNODE, 161, D, CNODE, 160, D, 0)).toBe(E.seL4_IllegalOperation);
    r.api.seL4_SetCap(0, CNODE);
    expect(call(r, L.CNodeMutate, CNODE, [161, D, 160, D], 1)).toBe(E.seL4_TruncatedMessage);
    makeCNode(r, 200, 4);
    expect(r.api.seL4_CNode_Mutate(CNODE, 201, D, CNODE, 200, D, seL4_CNode_CapData_new(3, 2))).toBe(E.seL4_NoError);
    expect(r.cap(201)).toMatchObject({ type: 'cnode', guardSize: 2, guard: 3 });
    expect(r.cap(200)).toEqual({ type: 'null' });
  });

  it('Rotate: checks in order, then pivot -> dest and source -> pivot, or a swap', () => {
    const r = withEndpoints(3);
    const rotate = (dest: number, pivot: number, src: number) =>
      r.api.seL4_CNode_Rotate(CNODE, dest, D, 0, CNODE, pivot, D, 0, CNODE, src, D);
    r.api.seL4_SetCap(0, CNODE);
    r.api.seL4_SetCap(1, CNODE);
    expect(call(r, L.CNodeRotate, CNODE, [150, D, 0, EP, D, 0, EP + 1], 2)).toBe(E.seL4_TruncatedMessage);
    expect(call(r, L.CNodeRotate, CNODE, [150, D, 0, EP, D, 0, EP + 1, D], 1)).toBe(E.seL4_TruncatedMessage);
    expect(r.api.seL4_CNode_Rotate(CNODE, 150, D, 0, CNODE, EP, D, 0, CNODE, EP + 1, 0)).toBe(E.seL4_RangeError); // source first
    expect(rotate(150, EP, EP)).toBe(E.seL4_IllegalOperation); // pivot = source
    expect(rotate(EP, EP, EP + 1)).toBe(E.seL4_IllegalOperation); // pivot = dest
    expect(rotate(EP + 2, EP, EP + 1)).toBe(E.seL4_DeleteFirst);
    expect(rotate(150, EP, 151)).toBe(E.seL4_FailedLookup);
    expect(r.mrs(3)).toEqual([1, 2, 32]);
    expect(rotate(150, 152, EP)).toBe(E.seL4_FailedLookup);
    expect(r.mrs(3)).toEqual([0, 2, 32]); // pivot missing is reported with source 0
    expect(rotate(150, EP, EP + 1)).toBe(E.seL4_IllegalOperation); // endpoint caps do not survive updateCapData(preserve)
    const a = makeCNode(r, 200, 2);
    const b = makeCNode(r, 201, 3);
    const c = makeCNode(r, 202, 4);
    expect(rotate(210, 201, 200)).toBe(E.seL4_NoError);
    expect(r.cap(210)).toMatchObject({ ptr: b });
    expect(r.cap(201)).toMatchObject({ ptr: a });
    expect(r.cap(200)).toEqual({ type: 'null' });
    expect(r.api.seL4_CNode_Rotate(CNODE, 210, D, seL4_CNode_CapData_new(1, 1), CNODE, 202, D, seL4_CNode_CapData_new(1, 2), CNODE, 210, D)).toBe(E.seL4_NoError);
    expect(r.cap(210)).toMatchObject({ ptr: c, guardSize: 1, guard: 1 });
    expect(r.cap(202)).toMatchObject({ ptr: b, guardSize: 2, guard: 1 });
    expect(r.parent(210)).toEqual(r.slot(r.untyped(17)));
  });

  it('CancelBadgedSends needs an endpoint cap with all four rights', () => {
    const r = withEndpoints();
    expect(r.api.seL4_CNode_CancelBadgedSends(CNODE, seL4_CapInitThreadTCB, D)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_CNode_Copy(CNODE, 150, D, CNODE, EP, D, 0x7)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_CancelBadgedSends(CNODE, 150, D)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_CNode_CancelBadgedSends(CNODE, EP, D)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_CancelBadgedSends(CNODE, 150, 0)).toBe(E.seL4_RangeError);
  });
});

describe('impl CDT rules', () => {
  it('a copy of an original is its child, a copy of a copy is a sibling', () => {
    const r = withEndpoints();
    expect(r.api.seL4_CNode_Copy(CNODE, 150, D, CNODE, EP, D, 0xf)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Copy(CNODE, 151, D, CNODE, 150, D, 0xf)).toBe(E.seL4_NoError);
    expect(r.parent(150)).toEqual(r.slot(EP));
    expect(r.parent(151)).toEqual(r.slot(EP));
    expect(slotData(r, r.plan.rootCNode, 150).mdb).toEqual({ prev: r.slot(EP), next: r.slot(151), revocable: false, firstBadged: false });
  });

  it('mint starts badge generations; copies of a badged cap are its children', () => {
    const r = withEndpoints();
    expect(r.api.seL4_CNode_Mint(CNODE, 150, D, CNODE, EP, D, 0xf, 7)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Copy(CNODE, 151, D, CNODE, 150, D, 0xf)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Mint(CNODE, 152, D, CNODE, EP, D, 0xf, 7)).toBe(E.seL4_NoError);
    expect(r.parent(150)).toEqual(r.slot(EP));
    expect(r.parent(151)).toEqual(r.slot(150));
    expect(r.parent(152)).toEqual(r.slot(EP));
    expect(slotData(r, r.plan.rootCNode, 150).mdb).toMatchObject({ revocable: true, firstBadged: true });
    // revoking the second generation leaves the first
    expect(r.api.seL4_CNode_Revoke(CNODE, 152, D)).toBe(E.seL4_NoError);
    expect(r.cap(151)).toMatchObject({ badge: 7 });
    // deleting a generation's head passes firstBadged on: its copy starts the generation
    expect(r.api.seL4_CNode_Delete(CNODE, 150, D)).toBe(E.seL4_NoError);
    expect(slotData(r, r.plan.rootCNode, 151).mdb).toMatchObject({ revocable: false, firstBadged: true });
    expect(r.parent(151)).toEqual(r.slot(EP));
  });

  it('revoke deletes every descendant and keeps the slot', () => {
    const r = withEndpoints();
    expect(r.api.seL4_CNode_Mint(CNODE, 150, D, CNODE, EP, D, 0xf, 7)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Copy(CNODE, 151, D, CNODE, 150, D, 0xf)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Copy(CNODE, 152, D, CNODE, EP, D, 0xf)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Copy(CNODE, 153, D, CNODE, EP + 1, D, 0xf)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Revoke(CNODE, EP, D)).toBe(E.seL4_NoError);
    for (const s of [150, 151, 152]) expect(r.cap(s)).toEqual({ type: 'null' });
    expect(r.cap(EP)).toMatchObject({ type: 'endpoint' });
    expect(r.cap(153)).toMatchObject({ type: 'endpoint' });
    expect(r.api.seL4_CNode_Revoke(CNODE, 300, D)).toBe(E.seL4_NoError); // empty slot
    // revoking the untyped deletes every object cap made from it
    expect(r.api.seL4_CNode_Revoke(CNODE, r.untyped(12), D)).toBe(E.seL4_NoError);
    for (const s of [EP, EP + 1, 153]) expect(r.cap(s)).toEqual({ type: 'null' });
  });

  it('deleting the last cap to a CNode deletes its contents; cycles end', () => {
    const r = withEndpoints();
    const a = makeCNode(r, 200, 3);
    const b = makeCNode(r, 201, 3);
    expect(r.api.seL4_CNode_Copy(200, 1, 3, CNODE, EP, D, 0xf)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Move(200, 2, 3, CNODE, 201, D)).toBe(E.seL4_NoError); // A[2] = B (B's only cap)
    expect(r.api.seL4_CNode_Move(200, 3, 3, CNODE, EP + 1, D)).toBe(E.seL4_NoError); // A[3] = the second endpoint
    // B[0] = a cap to A made by a mint of A's cap (A's caps are now root 200 and B[0])
    expect(r.api.seL4_CNode_Mint(200, 0b010000, 6, CNODE, 200, D, 0, 0)).toBe(E.seL4_NoError);
    const view = implLayer.view(r.state);
    expect(view.cap({ cnode: b, index: 0 })).toMatchObject({ type: 'cnode', ptr: a });
    expect(r.api.seL4_CNode_Delete(CNODE, 200, D)).toBe(E.seL4_NoError); // not final: B[0] follows it
    expect(view.cap({ cnode: a, index: 1 })).toMatchObject({ type: 'endpoint' });
    // now the only cap to A is inside B, and the only cap to B is inside A: unreachable, no effect
    expect(r.api.seL4_CNode_Revoke(CNODE, r.untyped(17), D)).toBe(E.seL4_NoError);
    expect(view.cap({ cnode: a, index: 2 })).toEqual({ type: 'null' });
    expect(view.cap({ cnode: a, index: 1 })).toEqual({ type: 'null' });
    expect(view.cap({ cnode: b, index: 0 })).toEqual({ type: 'null' });
    expect(r.cap(EP)).toMatchObject({ type: 'endpoint' });
    expect(slotData(r, r.plan.rootCNode, EP).mdb.next).toBeNull();
    expect(r.cap(EP + 1)).toEqual({ type: 'null' });
  });

  it('a CNode holding the last cap to itself is deleted through the cycle', () => {
    const r = bootRoot();
    const a = makeCNode(r, 200, 2);
    expect(r.api.seL4_CNode_Move(200, 1, 2, CNODE, 200, D)).toBe(E.seL4_NoError);
    const view = implLayer.view(r.state);
    expect(view.cap({ cnode: a, index: 1 })).toMatchObject({ type: 'cnode', ptr: a });
    expect(r.api.seL4_CNode_Revoke(CNODE, r.untyped(17), D)).toBe(E.seL4_NoError);
    expect(view.cap({ cnode: a, index: 1 })).toEqual({ type: 'null' });
    expect(decodeSlot(r.state, { cnode: a, index: 1 })!.mdb).toEqual({ prev: null, next: null, revocable: false, firstBadged: false });
  });

  it('deleting a TCB unbinds its SC, stops it and deletes its slots', () => {
    const r = bootRoot();
    expect(r.api.seL4_Untyped_Retype(r.untyped(12), T.seL4_TCBObject, 0, CNODE, 0, 0, 150, 1)).toBe(E.seL4_NoError);
    const tcb = (r.cap(150) as { ptr: number }).ptr;
    expect(r.api.seL4_CNode_Delete(CNODE, 150, D)).toBe(E.seL4_NoError);
    expect(decodeObject(r.state, tcb)).toMatchObject({ type: 'tcb', state: 'Inactive' });
    expect(r.obs().current).toBe(r.plan.rootTCB);
  });

  it('deleting the running thread stops it: no reply, nothing runs', () => {
    const r = bootRoot();
    const a1Before = r.obs().caller!.regs[17];
    r.api.seL4_CNode_Delete(CNODE, seL4_CapInitThreadTCB, D);
    const obs = r.obs();
    expect(obs.caller!.state).toBe('Inactive');
    expect(obs.current).toBeNull();
    expect(obs.caller!.regs[17]).not.toBe(a1Before);
    expect(obs.caller!.regs[17]! >>> 12).toBe(L.CNodeDelete); // a1 still holds the request
    expect(decodeObject(r.state, r.plan.rootSC)).toMatchObject({ tcb: null, configured: true });
    for (let i = 0; i < 3; i++) expect(implLayer.view(r.state).cap({ cnode: r.plan.rootTCB, index: i })).toEqual({ type: 'null' });
    expect(slotData(r, r.plan.rootCNode, CNODE).mdb.next).toBeNull();
    // nothing can run: the next entry does nothing
    const next = r.enter({ kind: 'syscall', user: { regs: [[17, 1]], ipcBuffer: [] } });
    expect(next).toEqual({ current: null, caller: null, unmodelled: null, restarted: false });
  });

  it('deleting the root SC cap unconfigures it: the reply comes, then nothing runs', () => {
    const r = bootRoot();
    expect(r.api.seL4_CNode_Delete(CNODE, seL4_CapInitThreadSC, D)).toBe(E.seL4_NoError);
    expect(r.obs().caller!.state).toBe('Running');
    expect(r.obs().current).toBeNull();
    expect(decodeObject(r.state, r.plan.rootSC)).toMatchObject({ tcb: null, configured: false });
    expect(decodeObject(r.state, r.plan.rootTCB)).toMatchObject({ schedContext: null });
  });

  it('revoking the root CNode cap removes the thread\'s CSpace root: the next call faults', () => {
    const r = bootRoot();
    expect(r.api.seL4_CNode_Revoke(CNODE, CNODE, D)).toBe(E.seL4_NoError);
    expect(implLayer.view(r.state).cap({ cnode: r.plan.rootTCB, index: 0 })).toEqual({ type: 'null' });
    r.api.seL4_CNode_Delete(CNODE, 5, D);
    expect(r.obs().caller!.state).toBe('Inactive');
    expect(r.obs().current).toBeNull();
  });

  it('boot: TCB slots are children of root slots 2, 3, 10; boot caps are CDT roots', () => {
    const r = bootRoot();
    const view = implLayer.view(r.state);
    expect(view.cdtParent({ cnode: r.plan.rootTCB, index: 0 })).toEqual(r.slot(2));
    expect(view.cdtParent({ cnode: r.plan.rootTCB, index: 1 })).toEqual(r.slot(3));
    expect(view.cdtParent({ cnode: r.plan.rootTCB, index: 2 })).toEqual(r.slot(10));
    expect(view.cap({ cnode: r.plan.rootTCB, index: 2 })).toMatchObject({ type: 'frame', mapped: null });
    expect(view.cap({ cnode: r.plan.rootTCB, index: 5 })).toBeNull();
    for (const [index, cap] of r.plan.rootCaps) {
      expect(r.cap(index)).toEqual(cap);
      expect(r.parent(index)).toBeNull();
    }
  });
});

describe('impl Zombie caps', () => {
  it("keep seL4's bitfield: capZombieType in word 0, the count in the low radix+1 bits of capZombieID", () => {
    expect(zombieWords(4, 2, 0x80001000)).toEqual({ w0: (2 << 8) | 0x2e, w1: 0x80001004 });
    expect(zombieWords(5, zombieTypeTCB, 0x80100400)).toEqual({ w0: (32 << 8) | 0x2e, w1: 0x80100405 });
    expect(decodeCap((2 << 8) | 0x2e, 0x80001004)).toEqual({ type: 'zombie', ptr: 0x80001000, zombieType: 2, count: 4 });
    expect(decodeCap((32 << 8) | 0x2e, 0x80100405)).toEqual({ type: 'zombie', ptr: 0x80100400, zombieType: zombieTypeTCB, count: 5 });
  });

  it('are not invocable, are derived to null by Copy and are moved by Move', () => {
    const r = bootRoot();
    const cnode = makeCNode(r, 50, 2);
    const zombie = zombieWords(4, 2, cnode);
    writeCap(r.state, r.plan.rootCNode + 60 * 16, zombie.w0, zombie.w1); // planted: no lookup reaches a real one
    expect(r.cap(60)).toEqual({ type: 'zombie', ptr: cnode, zombieType: 2, count: 4 });
    expect(call(r, L.CNodeDelete, 60, [1, 32])).toBe(E.seL4_InvalidCapability);
    expect(r.api.seL4_CNode_Copy(CNODE, 61, D, CNODE, 60, D, 0xf)).toBe(E.seL4_IllegalOperation);
    expect(r.api.seL4_CNode_Move(CNODE, 61, D, CNODE, 60, D)).toBe(E.seL4_NoError);
    expect(r.cap(61)).toEqual({ type: 'zombie', ptr: cnode, zombieType: 2, count: 4 });
    expect(r.cap(60)).toEqual({ type: 'null' });
  });
});

describe('writeSlotPair', () => {
  it('stores two words of a slot (RAM and the IRQ node after it) and marks the slot once', () => {
    const ramBase = 0x80000000;
    const state = createState(ramBase, 1 << 20, false, true, true, 100);
    for (const slot of [ramBase, ramBase + 0x1ff0, state.irqNode + 16 * 3]) {
      state.dirtySlots.clear();
      writeSlotPair(state, slot, 0, 0xffffffff, 1);
      writeSlotPair(state, slot, 2, 0x80000011, 0x80000027);
      expect([0, 4, 8, 12].map((at) => readWord(state, slot + at))).toEqual([0xffffffff, 1, 0x80000011, 0x80000027]);
      expect(readWord(state, slot + 16)).toBe(0);
      expect(state.dirtySlots.length).toBe(1);
      expect(state.dirtySlots.at(0)).toBe(slot);
    }
  });
});

describe('writeSlotWords', () => {
  it('stores all four words of a slot (RAM and the IRQ node after it), no word beside them, and marks the slot once', () => {
    const ramBase = 0x80000000;
    const state = createState(ramBase, 1 << 20, false, true, true, 100);
    for (const slot of [ramBase + 16, ramBase + 0x1ff0, state.irqNode + 16 * 3]) {
      state.dirtySlots.clear();
      writeSlotWords(state, slot, 0xffffffff, 1, 0x80000011, 0x80000027);
      expect([-4, 0, 4, 8, 12, 16].map((at) => readWord(state, slot + at))).toEqual([0, 0xffffffff, 1, 0x80000011, 0x80000027, 0]);
      expect(state.dirtySlots.length).toBe(1);
      expect(state.dirtySlots.at(0)).toBe(slot);
    }
  });
});
