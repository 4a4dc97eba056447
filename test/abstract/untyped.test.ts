// Untyped_Retype in the abstract spec: every check in seL4's order, placement, the CDT,
// object initial states, and reset (detype) of an untyped without children.
import { beforeEach, describe, expect, it } from 'vitest';
import { InvocationLabel as L, seL4_Error as E, seL4_ObjectType as T, type Cap } from '../../libsel4/index.ts';
import { isOriginalCap } from '../../spec-abstract/index.ts';
import { childrenOf } from '../../spec-abstract/cdt.ts';
import { bootHarness, call, type Harness } from './harness.ts';

let h: Harness;
/** Slot of the largest RAM untyped (2^21 bytes at the default configuration). */
let big: number;
/** Slot of the 128-byte RAM untyped. */
let small: number;
/** Slot of the device untyped. */
let device: number;

function retype(type: number, sizeBits: number, offset: number, count: number, nodeIndex = 0, nodeDepth = 0, service = big, root = 2): number {
  return h.api.seL4_Untyped_Retype(service, type, sizeBits, root, nodeIndex, nodeDepth, offset, count);
}

function untypedCap(slot: number): Extract<Cap, { type: 'untyped' }> {
  const cap = h.view().cap(h.root(slot));
  if (cap?.type !== 'untyped') throw new Error(`slot ${slot} holds no untyped`);
  return cap;
}

beforeEach(() => {
  h = bootHarness();
  const list = h.plan.untypeds;
  big = h.untyped + list.findIndex((u) => !u.isDevice && u.sizeBits === 21);
  small = h.untyped + list.findIndex((u) => !u.isDevice && u.sizeBits === 7);
  device = h.untyped + list.findIndex((u) => u.isDevice);
});

describe('Untyped_Retype checks, in order', () => {
  const args = (type: number, size: number, index: number, depth: number, offset: number, count: number) => [type, size, index, depth, offset, count];

  it('rejects other labels and short messages', () => {
    expect(call(h, big, L.CNodeCopy, args(2, 0, 0, 0, 100, 1), [2]).error).toBe(E.seL4_IllegalOperation);
    expect(call(h, big, L.UntypedRetype, args(2, 0, 0, 0, 100, 1), [2], 5).error).toBe(E.seL4_TruncatedMessage);
    expect(call(h, big, L.UntypedRetype, args(2, 0, 0, 0, 100, 1), []).error).toBe(E.seL4_TruncatedMessage);
    // The label check comes first, even with a short message.
    expect(call(h, big, L.CNodeCopy, [], []).error).toBe(E.seL4_IllegalOperation);
  });

  it('checks the type, then the size', () => {
    expect(call(h, big, L.UntypedRetype, args(10, 99, 0, 0, 100, 1), [2])).toMatchObject({ error: E.seL4_InvalidArgument, mrs: [0] });
    for (const [type, size] of [[2, 32], [2, 0xffffffff], [T.seL4_CapTableObject, 26], [T.seL4_UntypedObject, 30], [T.seL4_SchedContextObject, 30]]) {
      expect(call(h, big, L.UntypedRetype, args(type!, size!, 0, 0, 100, 1), [2])).toMatchObject({ error: E.seL4_RangeError, mrs: [0, 29] });
    }
    expect(retype(T.seL4_CapTableObject, 25, 100, 1)).toBe(E.seL4_NotEnoughMemory);
    expect(call(h, big, L.UntypedRetype, args(T.seL4_CapTableObject, 0, 0, 0, 100, 1), [2])).toMatchObject({ error: E.seL4_InvalidArgument, mrs: [1] });
    expect(call(h, big, L.UntypedRetype, args(T.seL4_UntypedObject, 3, 0, 0, 100, 1), [2])).toMatchObject({ error: E.seL4_InvalidArgument, mrs: [1] });
    expect(call(h, big, L.UntypedRetype, args(T.seL4_SchedContextObject, 6, 0, 0, 100, 1), [2])).toMatchObject({ error: E.seL4_InvalidArgument, mrs: [1] });
  });

  it('finds the destination CNode: the root itself at depth 0, else a CNode-op lookup', () => {
    const r = (index: number, depth: number, root = 2) => call(h, big, L.UntypedRetype, args(2, 0, index, depth, 100, 1), [root]);
    expect(r(0, 33)).toMatchObject({ error: E.seL4_RangeError, mrs: [1, 32] });
    expect(r(2, 12)).toMatchObject({ error: E.seL4_FailedLookup, mrs: [0, 4, 12, 0, 20] });
    expect(r(2, 32, 1)).toMatchObject({ error: E.seL4_FailedLookup, mrs: [0, 1] });
    // Destination cap not a CNode: MissingCapability with bitsLeft = node_depth.
    expect(r(1, 32)).toMatchObject({ error: E.seL4_FailedLookup, mrs: [0, 2, 32] });
    expect(r(0, 0, 1)).toMatchObject({ error: E.seL4_FailedLookup, mrs: [0, 2, 0] });
    expect(r(500, 32)).toMatchObject({ error: E.seL4_FailedLookup, mrs: [0, 2, 32] });
    // Slot 2 holds the root CNode cap itself: a valid destination.
    expect(r(2, 32).error).toBe(E.seL4_NoError);
  });

  it('checks the destination window', () => {
    const r = (offset: number, count: number) => call(h, big, L.UntypedRetype, args(2, 0, 0, 0, offset, count), [2]);
    expect(r(4096, 1)).toMatchObject({ error: E.seL4_RangeError, mrs: [0, 4095] });
    expect(r(100, 0)).toMatchObject({ error: E.seL4_RangeError, mrs: [1, 256] });
    expect(r(100, 257)).toMatchObject({ error: E.seL4_RangeError, mrs: [1, 256] });
    expect(r(4090, 10)).toMatchObject({ error: E.seL4_RangeError, mrs: [1, 6] });
    expect(r(10, 1)).toMatchObject({ error: E.seL4_DeleteFirst, mrs: [] });
    expect(r(5, 3)).toMatchObject({ error: E.seL4_DeleteFirst, mrs: [] });
  });

  it('checks memory, then device memory', () => {
    expect(retype(T.seL4_EndpointObject, 0, 100, 9, 0, 0, small)).toBe(E.seL4_NotEnoughMemory);
    expect(h.api.seL4_GetMR(0)).toBe(128);
    expect(retype(T.seL4_RISCV_Mega_Page, 0, 100, 1)).toBe(E.seL4_NotEnoughMemory);
    expect(h.api.seL4_GetMR(0)).toBe(2 ** 21);
    expect(retype(T.seL4_EndpointObject, 0, 100, 8, 0, 0, small)).toBe(E.seL4_NoError);
    expect(retype(T.seL4_EndpointObject, 0, 200, 1, 0, 0, small)).toBe(E.seL4_NotEnoughMemory);
    expect(h.api.seL4_GetMR(0)).toBe(0);
    expect(retype(T.seL4_EndpointObject, 0, 300, 1, 0, 0, device)).toBe(E.seL4_InvalidArgument);
    expect(h.api.seL4_GetMR(0)).toBe(1);
    // Too large and on device memory: memory is checked first.
    expect(retype(T.seL4_TCBObject, 0, 300, 65, 0, 0, device)).toBe(E.seL4_NotEnoughMemory);
  });
});

describe('Untyped_Retype effects', () => {
  it('creates objects back to back from the aligned free index, with original caps as CDT children', () => {
    const u = untypedCap(big);
    expect(u.freeIndex).toBe(2 ** 21);
    expect(retype(T.seL4_EndpointObject, 0, 100, 3)).toBe(E.seL4_NoError);
    const reply = h.api.lastObservation().caller!;
    expect(reply.regs[11]).toBe(0);
    for (let i = 0; i < 3; i++) {
      expect(h.view().cap(h.root(100 + i))).toEqual({ type: 'endpoint', ptr: u.ptr + 16 * i, badge: 0, rights: 0xf });
      expect(h.view().cdtParent(h.root(100 + i))).toEqual(h.root(big));
      expect(isOriginalCap(h.state(), h.root(100 + i))).toBe(true);
      expect(h.view().object(u.ptr + 16 * i)).toEqual({ type: 'endpoint', addr: u.ptr + 16 * i, state: 'Idle', queue: [] });
    }
    expect(untypedCap(big).freeIndex).toBe(48);
    const touched = h.lastOutcomes()[0]!.touched;
    expect(touched.slots).toEqual(expect.arrayContaining([h.root(big), h.root(100), h.root(101), h.root(102)]));
    expect(touched.objects).toEqual(expect.arrayContaining([u.ptr, u.ptr + 16, u.ptr + 32]));
    // The untyped's slot has them all as children (written at once), by slot address.
    expect(childrenOf(h.state(), h.root(big))).toEqual([h.root(100), h.root(101), h.root(102)]);
    // With children, allocation goes on from the free index, aligned to the object size.
    expect(retype(T.seL4_TCBObject, 0, 103, 1)).toBe(E.seL4_NoError);
    expect(h.view().cap(h.root(103))).toEqual({ type: 'thread', ptr: u.ptr + 1024 });
    expect(childrenOf(h.state(), h.root(big))).toEqual([h.root(100), h.root(101), h.root(102), h.root(103)]);
    expect(untypedCap(big).freeIndex).toBe(2048);
  });

  it('creates every object type in its initial state', () => {
    const u = untypedCap(big);
    const at = (offset: number) => u.ptr + offset;
    const made: [number, number, number][] = [
      [T.seL4_TCBObject, 0, 0x400],
      [T.seL4_NotificationObject, 0, 32],
      [T.seL4_ReplyObject, 0, 16],
      [T.seL4_CapTableObject, 3, 128],
      [T.seL4_SchedContextObject, 8, 256],
      [T.seL4_RISCV_4K_Page, 0, 4096],
      [T.seL4_RISCV_PageTableObject, 0, 4096],
      [T.seL4_UntypedObject, 10, 1024],
    ];
    let free = 0;
    made.forEach(([type, size, bytes], i) => {
      expect(retype(type, size, 100 + i, 1)).toBe(E.seL4_NoError);
      free = Math.ceil(free / bytes) * bytes;
      made[i]![2] = free;
      free += bytes;
    });
    const caps = made.map((_, i) => h.view().cap(h.root(100 + i)));
    const a = made.map(([, , offset]) => at(offset));
    expect(caps).toEqual([
      { type: 'thread', ptr: a[0] },
      { type: 'notification', ptr: a[1], badge: 0, rights: 3 },
      { type: 'reply', ptr: a[2], rights: 4 },
      { type: 'cnode', ptr: a[3], radix: 3, guardSize: 0, guard: 0 },
      { type: 'schedcontext', ptr: a[4], sizeBits: 8 },
      { type: 'frame', ptr: a[5], sizeBits: 12, vmRights: 3, isDevice: false, mapped: null },
      { type: 'pagetable', ptr: a[6], mapped: null },
      { type: 'untyped', ptr: a[7], sizeBits: 10, freeIndex: 0, isDevice: false },
    ]);
    expect(h.view().object(a[0]!)).toEqual({ type: 'tcb', addr: a[0], state: 'Inactive', priority: 0, mcp: 0, domain: 0, schedContext: null, ipcBufferVaddr: 0, flags: 0, yieldTo: null, boundNotification: null, blocking: null, fault: null });
    expect(h.view().object(a[1]!)).toEqual({ type: 'notification', addr: a[1], state: 'Idle', word: 0, queue: [], tcb: null, schedContext: null });
    expect(h.view().object(a[2]!)).toEqual({ type: 'reply', addr: a[2], tcb: null, schedContext: null });
    expect(h.view().object(a[3]!)).toEqual({ type: 'cnode', addr: a[3], radix: 3 });
    expect(h.view().object(a[4]!)).toEqual({
      type: 'schedcontext', addr: a[4], sizeBits: 8, tcb: null, periodTicks: 0n, consumedTicks: 0n, refillMax: 0, refills: [], sporadic: false,
      badge: 0, yieldFrom: null, notification: null, replies: [],
    });
    expect(h.view().object(a[5]!)).toEqual({ type: 'frame', addr: a[5], sizeBits: 12, isDevice: false });
    expect(h.view().object(a[6]!)).toEqual({ type: 'pagetable', addr: a[6], entries: [], kernelWindow: false });
    expect(h.view().object(a[7]!)).toBeNull();
    for (let i = 0; i < 8; i++) expect(h.view().cap({ cnode: a[0]!, index: i })).toEqual(i < 5 ? { type: 'null' } : null);
    expect(h.view().cap({ cnode: a[3]!, index: 7 })).toEqual({ type: 'null' });
    expect(h.view().cap({ cnode: a[3]!, index: 8 })).toBeNull();
  });

  it('gives caps from device memory the device flag', () => {
    const u = untypedCap(device);
    expect(retype(T.seL4_RISCV_4K_Page, 0, 100, 1, 0, 0, device)).toBe(E.seL4_NoError);
    expect(retype(T.seL4_UntypedObject, 8, 101, 1, 0, 0, device)).toBe(E.seL4_NoError);
    expect(h.view().cap(h.root(100))).toEqual({ type: 'frame', ptr: u.ptr, sizeBits: 12, vmRights: 3, isDevice: true, mapped: null });
    expect(h.view().object(u.ptr)).toEqual({ type: 'frame', addr: u.ptr, sizeBits: 12, isDevice: true });
    expect(h.view().cap(h.root(101))).toEqual({ type: 'untyped', ptr: u.ptr + 4096, sizeBits: 8, freeIndex: 0, isDevice: true });
  });

  it('places caps into another CNode through node_index/node_depth', () => {
    expect(retype(T.seL4_CapTableObject, 4, 100, 1)).toBe(E.seL4_NoError);
    const cnode = h.view().cap(h.root(100))!;
    expect(retype(T.seL4_EndpointObject, 0, 14, 2, 100, 32)).toBe(E.seL4_NoError);
    expect(h.view().cap({ cnode: (cnode as { ptr: number }).ptr, index: 15 })?.type).toBe('endpoint');
    expect(h.view().cdtParent({ cnode: (cnode as { ptr: number }).ptr, index: 14 })).toEqual(h.root(big));
    expect(retype(T.seL4_EndpointObject, 0, 15, 2, 100, 32)).toBe(E.seL4_RangeError);
    expect(h.api.seL4_GetMR(1)).toBe(1);
    // The CNode cap as the root, at depth 0.
    expect(retype(T.seL4_EndpointObject, 0, 3, 1, 0, 0, big, 100)).toBe(E.seL4_NoError);
    expect(h.view().cap({ cnode: (cnode as { ptr: number }).ptr, index: 3 })?.type).toBe('endpoint');
  });

  it('resets an untyped without children: objects are detyped and allocation restarts at 0', () => {
    const u = untypedCap(big);
    expect(retype(T.seL4_TCBObject, 0, 100, 2)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Delete(2, 100, 32)).toBe(E.seL4_NoError);
    // A child remains: allocation continues.
    expect(retype(T.seL4_EndpointObject, 0, 100, 1)).toBe(E.seL4_NoError);
    expect(h.view().cap(h.root(100))).toEqual({ type: 'endpoint', ptr: u.ptr + 2048, badge: 0, rights: 0xf });
    expect(h.view().object(u.ptr)?.type).toBe('tcb');
    expect(h.api.seL4_CNode_Revoke(2, big, 32)).toBe(E.seL4_NoError);
    // Finalised objects stay until the region is reset.
    expect(h.view().object(u.ptr + 1024)?.type).toBe('tcb');
    expect(untypedCap(big).freeIndex).toBe(2048 + 16);
    expect(retype(T.seL4_NotificationObject, 0, 100, 1)).toBe(E.seL4_NoError);
    expect(h.view().object(u.ptr)).toEqual({ type: 'notification', addr: u.ptr, state: 'Idle', word: 0, queue: [], tcb: null, schedContext: null });
    expect(h.view().object(u.ptr + 1024)).toBeNull();
    expect(h.view().object(u.ptr + 2048)).toBeNull();
    expect(untypedCap(big).freeIndex).toBe(32);
    const touched = h.lastOutcomes()[0]!.touched.objects;
    expect(touched).toEqual(expect.arrayContaining([u.ptr, u.ptr + 1024, u.ptr + 2048]));
  });

  it('treats a copied untyped as the only allocator: copies mark the source full', () => {
    expect(h.api.seL4_CNode_Copy(2, 100, 32, 2, big, 32, 0xf)).toBe(E.seL4_NoError);
    expect(untypedCap(big).freeIndex).toBe(2 ** 21);
    expect(h.view().cdtParent(h.root(100))).toEqual(h.root(big));
    expect(isOriginalCap(h.state(), h.root(100))).toBe(true);
    // The source has a child, so it cannot reset: it is full.
    expect(retype(T.seL4_EndpointObject, 0, 101, 1)).toBe(E.seL4_NotEnoughMemory);
    expect(h.api.seL4_GetMR(0)).toBe(0);
    expect(retype(T.seL4_EndpointObject, 0, 101, 1, 0, 0, 100)).toBe(E.seL4_NoError);
    expect(h.view().cdtParent(h.root(101))).toEqual(h.root(100));
    // An untyped with children cannot be copied.
    expect(h.api.seL4_CNode_Copy(2, 102, 32, 2, 100, 32, 0xf)).toBe(E.seL4_RevokeFirst);
  });

  it('gives child untypeds their own region inside the parent', () => {
    const u = untypedCap(big);
    expect(retype(T.seL4_UntypedObject, 12, 100, 2)).toBe(E.seL4_NoError);
    expect(retype(T.seL4_EndpointObject, 0, 102, 1, 0, 0, 101)).toBe(E.seL4_NoError);
    expect(h.view().cap(h.root(102))).toEqual({ type: 'endpoint', ptr: u.ptr + 4096, badge: 0, rights: 0xf });
    expect(h.view().cdtParent(h.root(102))).toEqual(h.root(101));
    expect(untypedCap(101).freeIndex).toBe(16);
  });
});
