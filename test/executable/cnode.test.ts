import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as IL,
  Reg,
  seL4_CapASIDControl,
  seL4_CapBootInfoFrame,
  seL4_CapDomain,
  seL4_CapInitThreadIPCBuffer,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_CapIRQControl,
  seL4_CNode_CapData_new,
  seL4_Error,
  seL4_ObjectType as T,
  VMRights,
} from '../../libsel4/index.ts';
import { ExecHarness, L, ROOT } from './harness.ts';

const E = seL4_Error;
const EP_PTR = 0x80200000; // first object retyped from the big untyped

/** A harness with an endpoint retyped into root slot `ep` (an original cap: revocable). */
function withEndpoint() {
  const h = new ExecHarness();
  const ep = h.empty;
  expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_EndpointObject, 0, ROOT, 0, 0, ep, 1)).toBe(E.seL4_NoError);
  return { h, ep, free: ep + 1 };
}

describe('CNode invocation checks, in seL4 order', () => {
  it('rejects labels outside Revoke..Rotate and messages shorter than 2 words', () => {
    const { h, free } = withEndpoint();
    expect(h.call(ROOT, IL.UntypedRetype, [free, 32])).toBe(E.seL4_IllegalOperation);
    expect(h.call(ROOT, IL.IRQIssueIRQHandler, [free, 32])).toBe(E.seL4_IllegalOperation);
    expect(h.call(ROOT, IL.CNodeDelete, [free])).toBe(E.seL4_TruncatedMessage);
  });

  it('looks the target up as a destination (source = 0)', () => {
    const { h } = withEndpoint();
    expect(h.api.seL4_CNode_Delete(ROOT, 5, 0)).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([1, 32]);
    expect(h.api.seL4_CNode_Revoke(ROOT, 0x1000, 32)).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual([0, 4, 32, 0, 20]);
  });

  it('Copy: truncation, occupied destination, source lookup, empty source, then the rights word', () => {
    const { h, ep, free } = withEndpoint();
    expect(h.call(ROOT, IL.CNodeCopy, [free, 32, ep], [ROOT])).toBe(E.seL4_TruncatedMessage);
    expect(h.call(ROOT, IL.CNodeCopy, [free, 32, ep, 32, 0xf], [])).toBe(E.seL4_TruncatedMessage);
    // The destination is checked before the source root.
    expect(h.api.seL4_CNode_Copy(ROOT, ep, 32, seL4_CapInitThreadTCB, 0, 32, 0xf)).toBe(E.seL4_DeleteFirst);
    expect(h.api.seL4_CNode_Copy(ROOT, free, 32, seL4_CapInitThreadTCB, ep, 32, 0xf)).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual([1, 1]);
    expect(h.api.seL4_CNode_Copy(ROOT, free, 32, ROOT, ep, 40, 0xf)).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([1, 32]);
    expect(h.api.seL4_CNode_Copy(ROOT, free, 32, ROOT, free + 1, 32, 0xf)).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual([1, 2, 32]);
    // Empty source is found before the missing rights word.
    expect(h.call(ROOT, IL.CNodeCopy, [free, 32, free + 1, 32], [ROOT])).toBe(E.seL4_FailedLookup);
    expect(h.call(ROOT, IL.CNodeCopy, [free, 32, ep, 32], [ROOT])).toBe(E.seL4_TruncatedMessage);
    expect(h.cap(free)).toEqual({ type: 'null' });
  });

  it('Copy derives: untyped with children RevokeFirst, unmapped page table and IRQ control IllegalOperation', () => {
    const { h, free } = withEndpoint();
    expect(h.api.seL4_CNode_Copy(ROOT, free, 32, ROOT, h.bigUntyped, 32, 0xf)).toBe(E.seL4_RevokeFirst);
    expect(h.api.seL4_CNode_Copy(ROOT, free, 32, ROOT, seL4_CapIRQControl, 32, 0xf)).toBe(E.seL4_IllegalOperation);
    expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_RISCV_PageTableObject, 0, ROOT, 0, 0, free, 1)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Copy(ROOT, free + 1, 32, ROOT, free, 32, 0xf)).toBe(E.seL4_IllegalOperation);
    // A mapped page table copies as it is; a frame copy is unmapped.
    expect(h.api.seL4_CNode_Copy(ROOT, free + 1, 32, ROOT, seL4_CapInitThreadVSpace, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.cap(free + 1)).toEqual(h.cap(seL4_CapInitThreadVSpace));
    expect(h.api.seL4_CNode_Copy(ROOT, free + 2, 32, ROOT, seL4_CapBootInfoFrame, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.cap(free + 2)).toEqual({ ...h.cap(seL4_CapBootInfoFrame)!, mapped: null });
    for (const slot of [seL4_CapDomain, seL4_CapASIDControl, seL4_CapInitThreadSC]) {
      expect(h.api.seL4_CNode_Copy(ROOT, free + 3, 32, ROOT, slot, 32, 0)).toBe(E.seL4_NoError);
      expect(h.cap(free + 3)).toEqual(h.cap(slot));
      expect(h.api.seL4_CNode_Delete(ROOT, free + 3, 32)).toBe(E.seL4_NoError);
    }
  });

  it('masks rights by cap type', () => {
    const { h, ep, free } = withEndpoint();
    expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_NotificationObject, 0, ROOT, 0, 0, free, 1)).toBe(E.seL4_NoError);
    expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_ReplyObject, 0, ROOT, 0, 0, free + 1, 1)).toBe(E.seL4_NoError);
    const copy = (src: number, dest: number, rights: number) => expect(h.api.seL4_CNode_Copy(ROOT, dest, 32, ROOT, src, 32, rights)).toBe(E.seL4_NoError);
    copy(ep, free + 2, 0x6);
    expect(h.cap(free + 2)).toMatchObject({ type: 'endpoint', rights: 0x6 });
    copy(free, free + 3, 0xe);
    expect(h.cap(free + 3)).toMatchObject({ type: 'notification', rights: 0x2 });
    copy(free + 1, free + 4, 0xb);
    expect(h.cap(free + 4)).toMatchObject({ type: 'reply', rights: 0 });
    copy(seL4_CapInitThreadIPCBuffer, free + 5, 0x2);
    expect(h.cap(free + 5)).toMatchObject({ type: 'frame', vmRights: VMRights.VMReadOnly });
    copy(seL4_CapInitThreadIPCBuffer, free + 6, 0x1);
    expect(h.cap(free + 6)).toMatchObject({ type: 'frame', vmRights: VMRights.VMKernelOnly });
    copy(seL4_CapInitThreadTCB, free + 7, 0);
    expect(h.cap(free + 7)).toEqual(h.cap(seL4_CapInitThreadTCB));
    // Rights never grow back.
    copy(free + 2, free + 8, 0xf);
    expect(h.cap(free + 8)).toMatchObject({ rights: 0x6 });
  });

  it('Mint: needs 6 words, badges only unbadged caps (28 bits), and checks CNode guards', () => {
    const { h, ep, free } = withEndpoint();
    expect(h.call(ROOT, IL.CNodeMint, [free, 32, ep, 32, 0xf], [ROOT])).toBe(E.seL4_TruncatedMessage);
    expect(h.api.seL4_CNode_Mint(ROOT, free, 32, ROOT, ep, 32, 0xf, 0xf0000005)).toBe(E.seL4_NoError);
    expect(h.cap(free)).toEqual({ type: 'endpoint', ptr: EP_PTR, badge: 5, rights: 0xf });
    expect(h.api.seL4_CNode_Mint(ROOT, free + 1, 32, ROOT, free, 32, 0xf, 6)).toBe(E.seL4_IllegalOperation);
    expect(h.api.seL4_CNode_Mint(ROOT, free + 1, 32, ROOT, free, 32, 0xf, 0)).toBe(E.seL4_IllegalOperation);
    expect(h.api.seL4_CNode_Mint(ROOT, free + 1, 32, ROOT, ROOT, 32, 0xf, seL4_CNode_CapData_new(0, 21))).toBe(E.seL4_IllegalOperation);
    expect(h.api.seL4_CNode_Mint(ROOT, free + 1, 32, ROOT, ROOT, 32, 0xf, seL4_CNode_CapData_new(0x3ffff, 20))).toBe(E.seL4_NoError);
    expect(h.cap(free + 1)).toMatchObject({ type: 'cnode', guardSize: 20, guard: 0xfffff & 0x3ffff });
    expect(h.api.seL4_CNode_Mint(ROOT, free + 2, 32, ROOT, seL4_CapInitThreadTCB, 32, 0, 1234)).toBe(E.seL4_NoError);
    expect(h.cap(free + 2)).toEqual(h.cap(seL4_CapInitThreadTCB));
  });

  it('Move and Mutate: truncation, occupied destination, empty source; Mutate never keeps an endpoint', () => {
    const { h, ep, free } = withEndpoint();
    expect(h.call(ROOT, IL.CNodeMove, [free, 32, ep], [ROOT])).toBe(E.seL4_TruncatedMessage);
    expect(h.api.seL4_CNode_Move(ROOT, ep, 32, ROOT, free, 32)).toBe(E.seL4_DeleteFirst);
    expect(h.api.seL4_CNode_Move(ROOT, free, 32, ROOT, free + 1, 32)).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual([1, 2, 32]);
    expect(h.call(ROOT, IL.CNodeMutate, [free, 32, ep, 32], [ROOT])).toBe(E.seL4_TruncatedMessage);
    expect(h.api.seL4_CNode_Mutate(ROOT, free, 32, ROOT, ep, 32, 0)).toBe(E.seL4_IllegalOperation);
    expect(h.api.seL4_CNode_Mutate(ROOT, free, 32, ROOT, ROOT, 32, seL4_CNode_CapData_new(3, 2))).toBe(E.seL4_NoError);
    expect(h.cap(free)).toMatchObject({ type: 'cnode', radix: 12, guardSize: 2, guard: 3 });
    expect(h.cap(ROOT)).toEqual({ type: 'null' });
  });

  it('Rotate: checks in order and rotates dest <- pivot <- source', () => {
    const { h, ep, free } = withEndpoint();
    const rotate = (dest: number, destData: number, pivot: number, pivotData: number, src: number, depths: [number, number] = [32, 32]) =>
      h.api.seL4_CNode_Rotate(ROOT, dest, 32, destData, ROOT, pivot, depths[0], pivotData, ROOT, src, depths[1]);
    expect(h.call(ROOT, IL.CNodeRotate, [free, 32, 0, free, 32, 0, ep], [ROOT, ROOT])).toBe(E.seL4_TruncatedMessage);
    expect(h.call(ROOT, IL.CNodeRotate, [free, 32, 0, free, 32, 0, ep, 32], [ROOT])).toBe(E.seL4_TruncatedMessage);
    // Source lookup first, then pivot lookup; both report source = 1.
    expect(rotate(free, 0, free + 1, 0, ep, [0, 0])).toBe(E.seL4_RangeError);
    expect(rotate(free, 0, free + 1, 0, 0x1000 | ep, [0, 32])).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual([1, 4, 32, 0, 20]);
    expect(rotate(free, 0, 0x1000, 0, ep)).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual([1, 4, 32, 0, 20]);
    expect(rotate(free, 0, ep, 0, ep)).toBe(E.seL4_IllegalOperation);
    expect(rotate(free, 0, free, 0, ep)).toBe(E.seL4_IllegalOperation);
    expect(rotate(seL4_CapDomain, 0, free, 0, ep)).toBe(E.seL4_DeleteFirst);
    expect(rotate(free, 0, free + 1, 0, free + 2)).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual([1, 2, 32]);
    expect(rotate(free, 0, free + 1, 0, seL4_CapDomain)).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual([0, 2, 32]);
    expect(rotate(free, 0, seL4_CapDomain, 0, ep)).toBe(E.seL4_IllegalOperation);
    expect(rotate(free, 0, ep, 0, seL4_CapDomain)).toBe(E.seL4_IllegalOperation);

    const domain = h.cap(seL4_CapDomain);
    const tcb = h.cap(seL4_CapInitThreadTCB);
    expect(rotate(free, 0, seL4_CapDomain, 0, seL4_CapInitThreadTCB)).toBe(E.seL4_NoError);
    expect([h.cap(free), h.cap(seL4_CapDomain), h.cap(seL4_CapInitThreadTCB)]).toEqual([domain, tcb, { type: 'null' }]);
    // The pivot's new guard comes from MR5, the destination's from MR2.
    expect(rotate(ROOT + 100, seL4_CNode_CapData_new(1, 1), seL4_CapDomain, seL4_CNode_CapData_new(2, 2), ROOT)).toBe(E.seL4_NoError);
    expect(h.cap(seL4_CapDomain)).toMatchObject({ type: 'cnode', guard: 2, guardSize: 2 });
    expect(h.cap(ROOT + 100)).toEqual(tcb);
  });

  it('Rotate with source == destination swaps two caps with their MDB nodes, adjacent or not', () => {
    const h = new ExecHarness();
    const [orig, copy] = [h.empty, h.empty + 1];
    expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_CapTableObject, 2, ROOT, 0, 0, orig, 1)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Copy(ROOT, copy, 32, ROOT, orig, 32, 0xf)).toBe(E.seL4_NoError);
    const before = [h.slot(orig)!, h.slot(copy)!];
    expect(h.api.seL4_CNode_Rotate(ROOT, orig, 32, 0, ROOT, copy, 32, 0, ROOT, orig, 32)).toBe(E.seL4_NoError);
    // The original cap (now in `copy`) comes first in the MDB and is still the other's parent.
    expect(h.slot(h.bigUntyped)!.mdb.next).toEqual(h.root(copy));
    expect(h.slot(copy)).toEqual({ cap: before[0]!.cap, mdb: { ...before[0]!.mdb, next: h.root(orig) } });
    expect(h.slot(orig)).toEqual({ cap: before[1]!.cap, mdb: { ...before[1]!.mdb, prev: h.root(copy) } });
    expect(h.parent(orig)).toEqual(h.root(copy));
    // Swap with a cap in another tree.
    expect(h.api.seL4_CNode_Rotate(ROOT, copy, 32, 0, ROOT, seL4_CapDomain, 32, 0, ROOT, copy, 32)).toBe(E.seL4_NoError);
    expect(h.cap(seL4_CapDomain)).toMatchObject({ type: 'cnode', radix: 2 });
    expect(h.parent(orig)).toEqual(h.root(seL4_CapDomain));
    expect(h.slot(copy)).toEqual({ cap: { type: 'domain' }, mdb: { prev: null, next: null, revocable: true, firstBadged: true } });
  });

  it('CancelBadgedSends needs an endpoint cap with all rights', () => {
    const { h, ep, free } = withEndpoint();
    expect(h.api.seL4_CNode_CancelBadgedSends(ROOT, free, 32)).toBe(E.seL4_IllegalOperation);
    expect(h.api.seL4_CNode_CancelBadgedSends(ROOT, seL4_CapInitThreadTCB, 32)).toBe(E.seL4_IllegalOperation);
    expect(h.api.seL4_CNode_Mint(ROOT, free, 32, ROOT, ep, 32, 0x7, 9)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_CancelBadgedSends(ROOT, free, 32)).toBe(E.seL4_IllegalOperation);
    const rootCNode = h.state.objects.get(h.plan.rootCNode);
    expect(h.api.seL4_CNode_CancelBadgedSends(ROOT, ep, 32)).toBe(E.seL4_NoError);
    expect(h.state.objects.get(h.plan.rootCNode)).toBe(rootCNode);
    expect(h.last!.touched.slots).toEqual([]);
  });

  it('Revoke and Delete of an empty slot succeed and change nothing', () => {
    const { h, free } = withEndpoint();
    const objects = h.state.objects;
    expect(h.api.seL4_CNode_Revoke(ROOT, free, 32)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Delete(ROOT, free, 32)).toBe(E.seL4_NoError);
    expect(h.last!.touched.slots).toEqual([]);
    expect(h.state.objects.get(h.plan.rootCNode)).toBe(objects.get(h.plan.rootCNode));
  });
});

describe('the CDT as the MDB encodes it', () => {
  it('a copy of an original is its child; a copy of a copy is a sibling of the copy', () => {
    const { h, ep, free } = withEndpoint();
    expect(h.api.seL4_CNode_Copy(ROOT, free, 32, ROOT, ep, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Copy(ROOT, free + 1, 32, ROOT, free, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.parent(free)).toEqual(h.root(ep));
    expect(h.parent(free + 1)).toEqual(h.root(ep));
    expect(h.slot(free)!.mdb).toMatchObject({ revocable: false, firstBadged: false, next: h.root(free + 1) });
    // Revoking the copy removes nothing; revoking the original removes both.
    expect(h.api.seL4_CNode_Revoke(ROOT, free, 32)).toBe(E.seL4_NoError);
    expect(h.cap(free + 1)).toMatchObject({ type: 'endpoint' });
    expect(h.api.seL4_CNode_Revoke(ROOT, ep, 32)).toBe(E.seL4_NoError);
    expect([h.cap(free), h.cap(free + 1), h.cap(ep)!.type]).toEqual([{ type: 'null' }, { type: 'null' }, 'endpoint']);
    expect(L.view(h.state).object(EP_PTR)).toMatchObject({ type: 'endpoint' });
  });

  it('minting a badge starts a generation; a second mint of the same badge starts another', () => {
    const { h, ep, free } = withEndpoint();
    const [b1, b1copy, b2] = [free, free + 1, free + 2];
    expect(h.api.seL4_CNode_Mint(ROOT, b1, 32, ROOT, ep, 32, 0xf, 5)).toBe(E.seL4_NoError);
    expect(h.slot(b1)!.mdb).toMatchObject({ revocable: true, firstBadged: true });
    expect(h.api.seL4_CNode_Copy(ROOT, b1copy, 32, ROOT, b1, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.slot(b1copy)!.mdb).toMatchObject({ revocable: false, firstBadged: false });
    expect(h.api.seL4_CNode_Mint(ROOT, b2, 32, ROOT, ep, 32, 0xf, 5)).toBe(E.seL4_NoError);
    expect(h.parent(b1)).toEqual(h.root(ep));
    expect(h.parent(b1copy)).toEqual(h.root(b1));
    expect(h.parent(b2)).toEqual(h.root(ep));
    // b2 sits right before b1 in the MDB but b1 starts its own generation.
    expect(h.slot(b2)!.mdb.next).toEqual(h.root(b1));
    expect(h.api.seL4_CNode_Revoke(ROOT, b2, 32)).toBe(E.seL4_NoError);
    expect(h.cap(b1)).toMatchObject({ badge: 5 });
    // Deleting the head of a generation passes firstBadged on: the copy does not join b2's generation.
    expect(h.api.seL4_CNode_Delete(ROOT, b1, 32)).toBe(E.seL4_NoError);
    expect(h.slot(b1copy)!.mdb.firstBadged).toBe(true);
    expect(h.parent(b1copy)).toEqual(h.root(ep));
    expect(h.api.seL4_CNode_Revoke(ROOT, b2, 32)).toBe(E.seL4_NoError);
    expect(h.cap(b1copy)).toMatchObject({ badge: 5 });
  });

  it('a badged mint from a badged cap is impossible, and a copy of a badged cap keeps its badge', () => {
    const { h, ep, free } = withEndpoint();
    expect(h.api.seL4_CNode_Mint(ROOT, free, 32, ROOT, ep, 32, 0xf, 7)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Copy(ROOT, free + 1, 32, ROOT, free, 32, 0x3)).toBe(E.seL4_NoError);
    expect(h.cap(free + 1)).toEqual({ type: 'endpoint', ptr: EP_PTR, badge: 7, rights: 0x3 });
    expect(h.api.seL4_CNode_Mint(ROOT, free + 2, 32, ROOT, free + 1, 32, 0xf, 7)).toBe(E.seL4_IllegalOperation);
  });

  it('Move keeps the MDB position, the flags and the children', () => {
    const { h, ep, free } = withEndpoint();
    expect(h.api.seL4_CNode_Copy(ROOT, free, 32, ROOT, ep, 32, 0xf)).toBe(E.seL4_NoError);
    const node = h.slot(ep)!.mdb;
    expect(h.api.seL4_CNode_Move(ROOT, free + 5, 32, ROOT, ep, 32)).toBe(E.seL4_NoError);
    expect(h.slot(free + 5)!.mdb).toEqual(node);
    expect(h.slot(ep)).toEqual({ cap: { type: 'null' }, mdb: { prev: null, next: null, revocable: false, firstBadged: false } });
    expect(h.parent(free)).toEqual(h.root(free + 5));
    expect(h.parent(free + 5)).toEqual(h.root(h.bigUntyped));
    expect(h.slot(h.bigUntyped)!.mdb.next).toEqual(h.root(free + 5));
    expect(h.last!.touched.slots).toEqual(expect.arrayContaining([h.root(ep), h.root(free + 5), h.root(free), h.root(h.bigUntyped)]));
  });

  it('Revoke deletes every descendant and leaves the slot itself', () => {
    const { h, ep, free } = withEndpoint();
    expect(h.api.seL4_CNode_Mint(ROOT, free, 32, ROOT, ep, 32, 0xf, 1)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Copy(ROOT, free + 1, 32, ROOT, free, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Copy(ROOT, free + 2, 32, ROOT, ep, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Revoke(ROOT, h.bigUntyped, 32)).toBe(E.seL4_NoError);
    for (const slot of [ep, free, free + 1, free + 2]) expect(h.cap(slot)).toEqual({ type: 'null' });
    expect(h.slot(h.bigUntyped)!.mdb.next).toBeNull();
    expect(h.cap(h.bigUntyped)).toMatchObject({ type: 'untyped' });
  });
});

describe('delete and finalisation', () => {
  it('deleting the last cap to a CNode deletes its contents; their children move up', () => {
    const { h, ep, free } = withEndpoint();
    expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_CapTableObject, 2, ROOT, 0, 0, free, 1)).toBe(E.seL4_NoError);
    const cnode = 0x80200040;
    // Copies of the endpoint into CNode slots 0 and 3 (the new CNode cap itself is the root).
    expect(h.api.seL4_CNode_Copy(free, 0, 2, ROOT, ep, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Mint(free, 3, 2, ROOT, ep, 32, 0xf, 4)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Copy(ROOT, free + 1, 32, free, 3, 2, 0xf)).toBe(E.seL4_NoError);
    expect(h.parent(free + 1)).toEqual({ cnode, index: 3 });
    expect(h.api.seL4_CNode_Delete(ROOT, free, 32)).toBe(E.seL4_NoError);
    expect(h.cap({ cnode, index: 0 })).toEqual({ type: 'null' });
    expect(h.cap({ cnode, index: 3 })).toEqual({ type: 'null' });
    expect(h.parent(free + 1)).toEqual(h.root(ep));
    expect(h.slot(free + 1)!.mdb.firstBadged).toBe(true);
    expect(L.view(h.state).object(cnode)).toEqual({ type: 'cnode', addr: cnode, radix: 2 });
  });

  it('deleting a cap that is not the last leaves the object and its contents alone', () => {
    const { h, ep, free } = withEndpoint();
    expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_CapTableObject, 2, ROOT, 0, 0, free, 1)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Copy(free, 1, 2, ROOT, ep, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Copy(ROOT, free + 1, 32, ROOT, free, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Delete(ROOT, free, 32)).toBe(E.seL4_NoError);
    expect(h.cap({ cnode: 0x80200040, index: 1 })).toMatchObject({ type: 'endpoint' });
  });

  it('a CNode holding the only cap to itself is reclaimed by revoking its untyped', () => {
    const h = new ExecHarness();
    const c = h.empty;
    expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_CapTableObject, 2, ROOT, 0, 0, c, 1)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Copy(c, 1, 2, ROOT, c, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Delete(ROOT, c, 32)).toBe(E.seL4_NoError);
    expect(h.cap({ cnode: 0x80200000, index: 1 })).toMatchObject({ type: 'cnode', ptr: 0x80200000 });
    expect(h.parent({ cnode: 0x80200000, index: 1 })).toEqual(h.root(h.bigUntyped));
    expect(h.api.seL4_CNode_Revoke(ROOT, h.bigUntyped, 32)).toBe(E.seL4_NoError);
    expect(h.cap({ cnode: 0x80200000, index: 1 })).toEqual({ type: 'null' });
    expect(h.slot(h.bigUntyped)!.mdb.next).toBeNull();
  });

  it('deleting the last cap to the running thread stops it: no reply, nothing runs', () => {
    const h = new ExecHarness();
    const { plan } = h;
    // No reply: a1 still holds the message info the thread sent.
    expect(h.call(ROOT, IL.CNodeDelete, [seL4_CapInitThreadTCB, 32])).toBe(IL.CNodeDelete);
    const obs = h.observation();
    expect(obs.caller!.state).toBe('Inactive');
    expect(obs.current).toBeNull();
    const view = L.view(h.state);
    expect(view.object(plan.rootTCB)).toMatchObject({ state: 'Inactive', schedContext: null });
    expect(view.object(plan.rootSC)).toMatchObject({ tcb: null });
    for (let i = 0; i < 3; i++) expect(h.cap(h.tcbSlot(i))).toEqual({ type: 'null' });
    expect(h.slot(ROOT)!.mdb.next).toBeNull();
    // From now on an entry does nothing.
    const frozen = h.state;
    expect(h.api.seL4_CNode_Delete(ROOT, 5, 32)).toBe(0);
    expect(h.state).toBe(frozen);
    expect(h.observation()).toEqual({ current: null, caller: null, unmodelled: null, restarted: false });
  });

  it('deleting a copy of the thread cap does not finalise the thread', () => {
    const h = new ExecHarness();
    expect(h.api.seL4_CNode_Copy(ROOT, h.empty, 32, ROOT, seL4_CapInitThreadTCB, 32, 0)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Delete(ROOT, seL4_CapInitThreadTCB, 32)).toBe(E.seL4_NoError);
    expect(h.observation().current).toBe(h.plan.rootTCB);
    expect(h.cap(h.tcbSlot(0))).toMatchObject({ type: 'cnode' });
  });

  it('deleting the last SC cap unbinds and deconfigures it; the caller gets its reply but stops running', () => {
    const h = new ExecHarness();
    expect(h.api.seL4_CNode_Delete(ROOT, seL4_CapInitThreadSC, 32)).toBe(E.seL4_NoError);
    const obs = h.observation();
    expect(obs.caller!.state).toBe('Running');
    expect(obs.caller!.regs[Reg.a1]).toBe(0);
    expect(obs.current).toBeNull();
    expect(L.view(h.state).object(h.plan.rootSC)).toMatchObject({ tcb: null });
    expect(L.view(h.state).object(h.plan.rootTCB)).toMatchObject({ schedContext: null });
  });

  it('revoking the root CNode cap takes the thread its CSpace: the next call is a cap fault', () => {
    const h = new ExecHarness();
    expect(h.api.seL4_CNode_Revoke(ROOT, ROOT, 32)).toBe(E.seL4_NoError);
    expect(h.cap(h.tcbSlot(0))).toEqual({ type: 'null' });
    expect(h.observation().caller!.state).toBe('Running');
    h.api.seL4_CNode_Delete(ROOT, 5, 32);
    expect(h.observation().caller!.state).toBe('Inactive');
    expect(h.observation().current).toBeNull();
  });
});
