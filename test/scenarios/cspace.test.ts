// Scripted root-task scenarios, run on each layer alone and on all three in lockstep. They read
// like sel4test: libsel4 calls with libsel4's argument orders, then assertions on the reply and
// on kernel state through the read-only view.
import { describe, expect, it } from 'vitest';
import {
  seL4_AllRights,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_CapIRQControl,
  seL4_CNode_CapData_new,
  seL4_Error,
  seL4_LookupFailureType,
  seL4_NoRights,
  seL4_ObjectType,
  seL4_ReadWrite,
  decodeBootInfo,
  type Cap,
  type LayerName,
} from '../../libsel4/index.ts';
import { bootSystem, type System } from '../../refinement/system.ts';

const modes: (LayerName | 'lockstep')[] = ['abstract', 'executable', 'impl', 'lockstep'];
const root = seL4_CapInitThreadCNode;
const E = seL4_Error;

interface Ctx {
  sys: System;
  /** First free slot, first untyped slot. */
  free: number;
  untyped: number;
  cap(index: number, cnode?: number): Cap | null;
}

function setup(mode: LayerName | 'lockstep'): Ctx {
  const sys = bootSystem({ layer: mode });
  const bi = sys.plan.bootInfo;
  const biggest = bi.untypedList.reduce((best, u, i) => (!u.isDevice && u.sizeBits > bi.untypedList[best]!.sizeBits ? i : best), 0);
  return {
    sys,
    free: bi.empty.start,
    untyped: bi.untyped.start + biggest,
    cap: (index, cnode = sys.plan.rootCNode) => sys.view().cap({ cnode, index }),
  };
}

describe.each(modes)('CSpace scenarios on %s', (mode) => {
  it('boots with seL4 initial caps and a bootinfo that lists the untypeds', () => {
    const { sys, cap } = setup(mode);
    expect(cap(seL4_CapInitThreadTCB)).toEqual({ type: 'thread', ptr: sys.plan.rootTCB });
    expect(cap(root)).toMatchObject({ type: 'cnode', radix: 12, guardSize: 20, guard: 0 });
    expect(cap(seL4_CapIRQControl)).toEqual({ type: 'irqcontrol' });
    const words = Array.from({ length: 23 + 2 * sys.plan.untypeds.length }, (_, i) => sys.view().userWord(sys.plan.bootInfoFrame + 4 * i));
    const bi = decodeBootInfo(words);
    expect(bi).toEqual(sys.plan.bootInfo);
    bi.untypedList.forEach((u, i) => {
      expect(cap(bi.untyped.start + i)).toEqual({ type: 'untyped', ptr: u.paddr, sizeBits: u.sizeBits, freeIndex: 2 ** u.sizeBits, isDevice: u.isDevice });
    });
    expect(cap(bi.empty.start)).toEqual({ type: 'null' });
  });

  it('retypes an endpoint: the first retype resets the untyped, the cap is a child of it', () => {
    const { sys, free, untyped, cap } = setup(mode);
    const { seL4_Untyped_Retype } = sys.api;
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, free, 2)).toBe(E.seL4_NoError);
    const ut = cap(untyped) as Extract<Cap, { type: 'untyped' }>;
    expect(ut.freeIndex).toBe(32);
    expect(cap(free)).toEqual({ type: 'endpoint', ptr: ut.ptr, badge: 0, rights: seL4_AllRights });
    expect(cap(free + 1)).toEqual({ type: 'endpoint', ptr: ut.ptr + 16, badge: 0, rights: seL4_AllRights });
    expect(sys.view().cdtParent({ cnode: sys.plan.rootCNode, index: free })).toEqual({ cnode: sys.plan.rootCNode, index: untyped });
    expect(sys.view().object(ut.ptr)).toEqual({ type: 'endpoint', addr: ut.ptr, state: 'Idle', queue: [] });
  });

  it('reports retype errors in seL4 order with their words', () => {
    const { sys, free, untyped } = setup(mode);
    const { seL4_Untyped_Retype, seL4_GetMR } = sys.api;
    expect(seL4_Untyped_Retype(untyped, 10, 0, root, 0, 0, free, 1)).toBe(E.seL4_InvalidArgument);
    expect(seL4_GetMR(0)).toBe(0);
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_UntypedObject, 32, root, 0, 0, free, 1)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([0, 29]);
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_CapTableObject, 0, root, 0, 0, free, 1)).toBe(E.seL4_InvalidArgument);
    expect(seL4_GetMR(0)).toBe(1);
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, 4096, 1)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([0, 4095]);
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, free, 0)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([1, 256]);
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, 4090, 10)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([1, 6]);
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, seL4_CapInitThreadTCB, 1)).toBe(E.seL4_DeleteFirst);
    // A destination that is not a CNode: MissingCapability with bitsLeft = node_depth.
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, root, seL4_CapInitThreadTCB, 32, 0, 1)).toBe(E.seL4_FailedLookup);
    expect([seL4_GetMR(0), seL4_GetMR(1), seL4_GetMR(2)]).toEqual([0, seL4_LookupFailureType.seL4_MissingCapability, 32]);
  });

  it('runs out of memory with the bytes left in MR0', () => {
    const { sys, free, cap } = setup(mode);
    const small = sys.plan.bootInfo.untypedList.findIndex((u) => !u.isDevice && u.sizeBits === 7);
    expect(small).toBeGreaterThanOrEqual(0);
    const slot = sys.plan.bootInfo.untyped.start + small;
    const { seL4_Untyped_Retype, seL4_GetMR } = sys.api;
    expect(seL4_Untyped_Retype(slot, seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, free, 7)).toBe(E.seL4_NoError);
    expect(seL4_Untyped_Retype(slot, seL4_ObjectType.seL4_NotificationObject, 0, root, 0, 0, free + 7, 1)).toBe(E.seL4_NotEnoughMemory);
    expect(seL4_GetMR(0)).toBe(16);
    expect(cap(free + 7)).toEqual({ type: 'null' });
  });

  it('masks rights on copy, mints a badge once, and refuses to re-badge', () => {
    const { sys, free, untyped, cap } = setup(mode);
    const { seL4_Untyped_Retype, seL4_CNode_Copy, seL4_CNode_Mint, seL4_CNode_Mutate } = sys.api;
    const rootCNode = sys.plan.rootCNode;
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, free, 1)).toBe(E.seL4_NoError);
    expect(seL4_CNode_Copy(root, free + 1, 32, root, free, 32, seL4_CanRead)).toBe(E.seL4_NoError);
    expect(cap(free + 1)).toMatchObject({ type: 'endpoint', badge: 0, rights: seL4_CanRead });
    expect(sys.view().cdtParent({ cnode: rootCNode, index: free + 1 })).toEqual({ cnode: rootCNode, index: free });
    expect(seL4_CNode_Mint(root, free + 2, 32, root, free, 32, seL4_AllRights, 0x12345678)).toBe(E.seL4_NoError);
    expect(cap(free + 2)).toMatchObject({ type: 'endpoint', badge: 0x2345678 });
    expect(seL4_CNode_Mint(root, free + 3, 32, root, free + 2, 32, seL4_AllRights, 7)).toBe(E.seL4_IllegalOperation);
    // A copy of the badged cap is its child; a mutate of an endpoint always fails.
    expect(seL4_CNode_Copy(root, free + 3, 32, root, free + 2, 32, seL4_ReadWrite)).toBe(E.seL4_NoError);
    expect(sys.view().cdtParent({ cnode: rootCNode, index: free + 3 })).toEqual({ cnode: rootCNode, index: free + 2 });
    expect(seL4_CNode_Mutate(root, free + 4, 32, root, free + 3, 32, 0)).toBe(E.seL4_IllegalOperation);
    expect(seL4_CNode_Copy(root, free + 4, 32, root, free + 3, 32, seL4_NoRights)).toBe(E.seL4_NoError);
    expect(cap(free + 4)).toMatchObject({ rights: 0 });
    // A copy of a non-original cap is its sibling.
    expect(sys.view().cdtParent({ cnode: rootCNode, index: free + 4 })).toEqual({ cnode: rootCNode, index: free + 2 });
  });

  it('addresses nested CNodes through guards and reports lookup failures', () => {
    const { sys, free, untyped, cap } = setup(mode);
    const { seL4_Untyped_Retype, seL4_CNode_Mint, seL4_CNode_Copy, seL4_GetMR } = sys.api;
    // A 16-slot CNode, and a cap to it with a 4-bit guard of 0b1010.
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_CapTableObject, 4, root, 0, 0, free, 1)).toBe(E.seL4_NoError);
    expect(seL4_CNode_Mint(root, free + 1, 32, root, free, 32, seL4_AllRights, seL4_CNode_CapData_new(0b1010, 4))).toBe(E.seL4_NoError);
    expect(cap(free + 1)).toMatchObject({ type: 'cnode', radix: 4, guardSize: 4, guard: 0b1010 });
    const nested = (cap(free) as Extract<Cap, { type: 'cnode' }>).ptr;
    // Copy the TCB cap into slot 5 of the nested CNode, addressed as guard ++ index with depth 8.
    expect(seL4_CNode_Copy(free + 1, (0b1010 << 4) | 5, 8, root, seL4_CapInitThreadTCB, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(cap(5, nested)).toEqual({ type: 'thread', ptr: sys.plan.rootTCB });
    // Wrong guard bits: GuardMismatch {bitsLeft 8, guardFound 0b1010, bitsFound 4}.
    expect(seL4_CNode_Copy(free + 1, (0b1011 << 4) | 6, 8, root, seL4_CapInitThreadTCB, 32, seL4_AllRights)).toBe(E.seL4_FailedLookup);
    expect([0, 1, 2, 3, 4].map(seL4_GetMR)).toEqual([0, seL4_LookupFailureType.seL4_GuardMismatch, 8, 0b1010, 4]);
    // Too few bits for guard + radix: DepthMismatch {bitsLeft 6, bitsFound 8}.
    expect(seL4_CNode_Copy(free + 1, 0b101001, 6, root, seL4_CapInitThreadTCB, 32, seL4_AllRights)).toBe(E.seL4_FailedLookup);
    expect([0, 1, 2, 3].map(seL4_GetMR)).toEqual([0, seL4_LookupFailureType.seL4_DepthMismatch, 6, 8]);
    // Depth out of range.
    expect(seL4_CNode_Copy(free + 1, 0, 33, root, seL4_CapInitThreadTCB, 32, seL4_AllRights)).toBe(E.seL4_RangeError);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([1, 32]);
    // Source root that is not a CNode: InvalidRoot, flagged as the source lookup.
    expect(seL4_CNode_Copy(root, free + 2, 32, seL4_CapInitThreadTCB, 0, 32, seL4_AllRights)).toBe(E.seL4_FailedLookup);
    expect([seL4_GetMR(0), seL4_GetMR(1)]).toEqual([1, seL4_LookupFailureType.seL4_InvalidRoot]);
    // Empty source: MissingCapability with bitsLeft = the source depth.
    expect(seL4_CNode_Copy(root, free + 2, 32, root, free + 3, 32, seL4_AllRights)).toBe(E.seL4_FailedLookup);
    expect([seL4_GetMR(0), seL4_GetMR(1), seL4_GetMR(2)]).toEqual([1, seL4_LookupFailureType.seL4_MissingCapability, 32]);
  });

  it('moves, rotates and swaps caps with their derivation links', () => {
    const { sys, free, untyped, cap } = setup(mode);
    const { seL4_Untyped_Retype, seL4_CNode_Move, seL4_CNode_Rotate, seL4_CNode_Copy } = sys.api;
    const rootCNode = sys.plan.rootCNode;
    // Frames: updateCapData leaves them unchanged, so Rotate accepts them.
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_RISCV_4K_Page, 0, root, 0, 0, free, 2)).toBe(E.seL4_NoError);
    const a = cap(free);
    const b = cap(free + 1);
    expect(seL4_CNode_Copy(root, free + 2, 32, root, free, 32, seL4_CanWrite)).toBe(E.seL4_NoError);
    expect(cap(free + 2)).toMatchObject({ type: 'frame', vmRights: 1 });
    expect(seL4_CNode_Move(root, free + 10, 32, root, free, 32)).toBe(E.seL4_NoError);
    expect(cap(free)).toEqual({ type: 'null' });
    expect(cap(free + 10)).toEqual(a);
    expect(sys.view().cdtParent({ cnode: rootCNode, index: free + 2 })).toEqual({ cnode: rootCNode, index: free + 10 });
    // Swap: src == dest.
    expect(seL4_CNode_Rotate(root, free + 1, 32, 0, root, free + 10, 32, 0, root, free + 1, 32)).toBe(E.seL4_NoError);
    expect(cap(free + 1)).toEqual(a);
    expect(cap(free + 10)).toEqual(b);
    // Rotate into an empty destination.
    expect(seL4_CNode_Rotate(root, free + 20, 32, 0, root, free + 1, 32, 0, root, free + 10, 32)).toBe(E.seL4_NoError);
    expect([cap(free + 20), cap(free + 1), cap(free + 10)]).toEqual([a, b, { type: 'null' }]);
    expect(seL4_CNode_Rotate(root, free + 20, 32, 0, root, free + 20, 32, 0, root, free + 1, 32)).toBe(E.seL4_IllegalOperation);
  });

  it('refuses to mutate or rotate endpoint and notification caps', () => {
    const { sys, free, untyped, cap } = setup(mode);
    const { seL4_Untyped_Retype, seL4_CNode_Rotate, seL4_CNode_Mutate } = sys.api;
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_NotificationObject, 0, root, 0, 0, free, 2)).toBe(E.seL4_NoError);
    expect(seL4_CNode_Mutate(root, free + 5, 32, root, free, 32, 0)).toBe(E.seL4_IllegalOperation);
    expect(seL4_CNode_Rotate(root, free + 1, 32, 0, root, free, 32, 0, root, free + 1, 32)).toBe(E.seL4_IllegalOperation);
    expect(cap(free + 5)).toEqual({ type: 'null' });
  });

  it('deletes a CNode with its contents and revokes descendants', () => {
    const { sys, free, untyped, cap } = setup(mode);
    const { seL4_Untyped_Retype, seL4_CNode_Copy, seL4_CNode_Delete, seL4_CNode_Revoke } = sys.api;
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_CapTableObject, 3, root, 0, 0, free, 1)).toBe(E.seL4_NoError);
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, free + 1, 1)).toBe(E.seL4_NoError);
    const nested = (cap(free) as Extract<Cap, { type: 'cnode' }>).ptr;
    // A copy of the endpoint goes into the nested CNode, addressed with depth 3.
    expect(seL4_CNode_Copy(free, 2, 3, root, free + 1, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(cap(2, nested)).toMatchObject({ type: 'endpoint' });
    expect(seL4_CNode_Delete(root, free, 32)).toBe(E.seL4_NoError);
    expect(cap(free)).toEqual({ type: 'null' });
    expect(cap(2, nested)).toEqual({ type: 'null' });
    // Revoke the untyped: the endpoint cap (its child) goes, the untyped stays.
    expect(seL4_CNode_Copy(root, free + 2, 32, root, free + 1, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(seL4_CNode_Revoke(root, untyped, 32)).toBe(E.seL4_NoError);
    expect(cap(free + 1)).toEqual({ type: 'null' });
    expect(cap(free + 2)).toEqual({ type: 'null' });
    expect(cap(untyped)).toMatchObject({ type: 'untyped' });
    // With no children left, the next retype resets the untyped and reuses its start.
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, free, 1)).toBe(E.seL4_NoError);
    expect(cap(free)).toMatchObject({ type: 'endpoint', ptr: (cap(untyped) as Extract<Cap, { type: 'untyped' }>).ptr });
  });

  it('answers an invocation of an empty slot with InvalidCapability, and of a missing cptr with a cap fault', () => {
    const { sys, free } = setup(mode);
    const { seL4_CNode_Delete, seL4_GetMR } = sys.api;
    expect(seL4_CNode_Delete(free, 0, 32)).toBe(E.seL4_InvalidCapability);
    expect(seL4_GetMR(0)).toBe(0);
    // A cptr with guard bits set cannot be looked up: the root task faults and, with no
    // fault handler, becomes Inactive; nothing runs afterwards.
    seL4_CNode_Delete(0xfff00000, 0, 32);
    expect(sys.api.lastObservation().caller?.state).toBe('Inactive');
    expect(sys.view().current()).toBeNull();
  });
});
