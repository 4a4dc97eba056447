import { describe, expect, it } from 'vitest';
import { firstRamUntypedSlot, InvocationLabel, seL4_Error, seL4_ObjectType as T, VMRights } from '../../libsel4/index.ts';
import { getSlot, makeExecState, allObjects } from '../../spec-executable/index.ts';
import { ExecHarness, L, ROOT } from './harness.ts';

const E = seL4_Error;

/** Retype with the root CNode as destination (depth 0) unless given. */
function retype(h: ExecHarness, ut: number, type: number, size: number, offset: number, count: number, node: { index?: number; depth?: number; root?: number } = {}) {
  return h.api.seL4_Untyped_Retype(ut, type, size, node.root ?? ROOT, node.index ?? 0, node.depth ?? 0, offset, count);
}

describe('Untyped_Retype checks, in seL4 order', () => {
  it('rejects a label other than Retype with IllegalOperation', () => {
    const h = new ExecHarness();
    expect(h.call(h.bigUntyped, InvocationLabel.CNodeCopy, [T.seL4_EndpointObject, 0, 0, 0, h.empty, 1], [ROOT])).toBe(E.seL4_IllegalOperation);
    expect(h.replyInfo().length).toBe(0);
  });

  it('needs 6 message words and a root cap (TruncatedMessage)', () => {
    const h = new ExecHarness();
    expect(h.call(h.bigUntyped, InvocationLabel.UntypedRetype, [T.seL4_EndpointObject, 0, 0, 0, h.empty], [ROOT])).toBe(E.seL4_TruncatedMessage);
    expect(h.call(h.bigUntyped, InvocationLabel.UntypedRetype, [T.seL4_EndpointObject, 0, 0, 0, h.empty, 1], [])).toBe(E.seL4_TruncatedMessage);
  });

  it('checks the type first (InvalidArgument 0), even before the size', () => {
    const h = new ExecHarness();
    expect(retype(h, h.bigUntyped, 10, 99, h.empty, 1)).toBe(E.seL4_InvalidArgument);
    expect(h.mrs()).toEqual([0]);
    expect(retype(h, h.bigUntyped, 0xffffffff, 0, h.empty, 1)).toBe(E.seL4_InvalidArgument);
    expect(h.mrs()).toEqual([0]);
  });

  it('rejects size_bits >= 32 for every type and objects above 2^29 (RangeError 0..29)', () => {
    const h = new ExecHarness();
    for (const [type, size] of [[T.seL4_TCBObject, 32], [T.seL4_UntypedObject, 30], [T.seL4_CapTableObject, 26], [T.seL4_SchedContextObject, 0xffffffff], [T.seL4_EndpointObject, 40]]) {
      expect(retype(h, h.bigUntyped, type!, size!, h.empty, 1)).toBe(E.seL4_RangeError);
      expect(h.mrs()).toEqual([0, 29]);
    }
  });

  it('rejects CNodes of radix 0, untypeds below 16 bytes and SCs below 128 bytes (InvalidArgument 1)', () => {
    const h = new ExecHarness();
    for (const [type, size] of [[T.seL4_CapTableObject, 0], [T.seL4_UntypedObject, 3], [T.seL4_SchedContextObject, 6]]) {
      expect(retype(h, h.bigUntyped, type!, size!, h.empty, 1)).toBe(E.seL4_InvalidArgument);
      expect(h.mrs()).toEqual([1]);
    }
  });

  it('looks the destination CNode up with the CNode-op rules when depth is not 0', () => {
    const h = new ExecHarness();
    // Root cap not a CNode: InvalidRoot, reported as a destination (source = 0) failure.
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, 0, 1, { root: 1, index: ROOT, depth: 32 })).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual([0, 1]);
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, 0, 1, { index: ROOT, depth: 33 })).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([1, 32]);
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, 0, 1, { index: 0x100000 | ROOT, depth: 32 })).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual([0, 4, 32, 0, 20]);
  });

  it('needs the destination to be a CNode cap (MissingCapability with bitsLeft = depth)', () => {
    const h = new ExecHarness();
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, 0, 1, { index: 1, depth: 32 })).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual([0, 2, 32]);
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, 0, 1, { root: 1 })).toBe(E.seL4_FailedLookup);
    expect(h.mrs()).toEqual([0, 2, 0]);
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, h.empty, 1, { index: ROOT, depth: 32 })).toBe(E.seL4_NoError);
  });

  it('checks the offset, then the count against the fan-out limit, then against the CNode', () => {
    const h = new ExecHarness();
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, 4096, 1)).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([0, 4095]);
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, 4000, 0)).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([1, 256]);
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, 4000, 257)).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([1, 256]);
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, 4000, 97)).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([1, 96]);
  });

  it('needs every destination slot empty (DeleteFirst)', () => {
    const h = new ExecHarness();
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, h.empty - 1, 2)).toBe(E.seL4_DeleteFirst);
    expect(h.replyInfo().length).toBe(0);
  });

  it('reports the free bytes when the objects do not fit (NotEnoughMemory)', () => {
    const h = new ExecHarness();
    const small = firstRamUntypedSlot(h.plan.bootInfo); // 2^7 bytes
    const smallAddr = h.plan.untypeds[small - h.plan.bootInfo.untyped.start]!.paddr;
    expect(retype(h, small, T.seL4_EndpointObject, 0, h.empty, 9)).toBe(E.seL4_NotEnoughMemory);
    expect(h.mrs()).toEqual([128]);
    expect(retype(h, small, T.seL4_EndpointObject, 0, h.empty, 3)).toBe(E.seL4_NoError);
    expect(retype(h, small, T.seL4_NotificationObject, 0, h.empty + 3, 3)).toBe(E.seL4_NotEnoughMemory);
    expect(h.mrs()).toEqual([80]);
    // 80 bytes left from offset 48: (80 >> 5) = 2 notifications pass the check and fit after aligning to 64.
    expect(retype(h, small, T.seL4_NotificationObject, 0, h.empty + 3, 2)).toBe(E.seL4_NoError);
    expect(h.cap(h.empty + 3)).toEqual({ type: 'notification', ptr: smallAddr + 64, badge: 0, rights: 3 });
    expect(h.cap(h.empty + 4)).toMatchObject({ ptr: smallAddr + 96 });
    expect(h.cap(small)).toMatchObject({ freeIndex: 128 });
  });

  it('allows only frames and untypeds from device memory (InvalidArgument 1, after the memory check)', () => {
    const h = new ExecHarness();
    const dev = h.deviceUntyped;
    expect(retype(h, dev, T.seL4_EndpointObject, 0, h.empty, 1)).toBe(E.seL4_InvalidArgument);
    expect(h.mrs()).toEqual([1]);
    expect(retype(h, dev, T.seL4_RISCV_Mega_Page, 0, h.empty, 1)).toBe(E.seL4_NotEnoughMemory);
    expect(retype(h, dev, T.seL4_RISCV_4K_Page, 0, h.empty, 1)).toBe(E.seL4_NoError);
    expect(h.cap(h.empty)).toEqual({ type: 'frame', ptr: 0x10000000, sizeBits: 12, vmRights: VMRights.VMReadWrite, isDevice: true, mapped: null });
    expect(retype(h, dev, T.seL4_UntypedObject, 12, h.empty + 1, 1)).toBe(E.seL4_NoError);
    expect(h.cap(h.empty + 1)).toEqual({ type: 'untyped', ptr: 0x10001000, sizeBits: 12, freeIndex: 0, isDevice: true });
  });
});

describe('Untyped_Retype effects', () => {
  it('creates every object type with its initial cap and object', () => {
    const h = new ExecHarness();
    const ut = h.bigUntyped;
    const base = 0x80200000;
    const types: [number, number][] = [
      [T.seL4_UntypedObject, 16], [T.seL4_TCBObject, 0], [T.seL4_EndpointObject, 0], [T.seL4_NotificationObject, 0],
      [T.seL4_CapTableObject, 3], [T.seL4_SchedContextObject, 8], [T.seL4_ReplyObject, 0], [T.seL4_RISCV_4K_Page, 0],
      [T.seL4_RISCV_PageTableObject, 0],
    ];
    types.forEach(([type, size], i) => expect(retype(h, ut, type, size, h.empty + i, 1)).toBe(E.seL4_NoError));
    const view = L.view(h.state);
    expect(h.cap(h.empty)).toEqual({ type: 'untyped', ptr: base, sizeBits: 16, freeIndex: 0, isDevice: false });
    const tcb = base + 0x10000;
    expect(h.cap(h.empty + 1)).toEqual({ type: 'thread', ptr: tcb });
    expect(view.object(tcb)).toEqual({ type: 'tcb', addr: tcb, state: 'Inactive', priority: 0, mcp: 0, domain: 0, schedContext: null, ipcBufferVaddr: 0, flags: 0, yieldTo: null, boundNotification: null, blocking: null, fault: null });
    expect(h.cap(h.empty + 2)).toEqual({ type: 'endpoint', ptr: tcb + 0x400, badge: 0, rights: 0xf });
    expect(view.object(tcb + 0x400)).toEqual({ type: 'endpoint', addr: tcb + 0x400, state: 'Idle', queue: [] });
    expect(h.cap(h.empty + 3)).toEqual({ type: 'notification', ptr: tcb + 0x420, badge: 0, rights: 0x3 });
    expect(view.object(tcb + 0x420)).toEqual({ type: 'notification', addr: tcb + 0x420, state: 'Idle', word: 0, queue: [], tcb: null, schedContext: null });
    expect(h.cap(h.empty + 4)).toEqual({ type: 'cnode', ptr: tcb + 0x480, radix: 3, guardSize: 0, guard: 0 });
    expect(view.object(tcb + 0x480)).toEqual({ type: 'cnode', addr: tcb + 0x480, radix: 3 });
    expect(h.cap(h.empty + 5)).toEqual({ type: 'schedcontext', ptr: tcb + 0x500, sizeBits: 8 });
    expect(view.object(tcb + 0x500)).toEqual({
      type: 'schedcontext', addr: tcb + 0x500, sizeBits: 8, tcb: null, periodTicks: 0n, consumedTicks: 0n, refillMax: 0, refills: [],
      sporadic: false, badge: 0, yieldFrom: null, notification: null, replies: [],
    });
    expect(h.cap(h.empty + 6)).toEqual({ type: 'reply', ptr: tcb + 0x600, rights: 0x4 });
    expect(view.object(tcb + 0x600)).toEqual({ type: 'reply', addr: tcb + 0x600, tcb: null, schedContext: null });
    expect(h.cap(h.empty + 7)).toEqual({ type: 'frame', ptr: tcb + 0x1000, sizeBits: 12, vmRights: VMRights.VMReadWrite, isDevice: false, mapped: null });
    expect(h.cap(h.empty + 8)).toEqual({ type: 'pagetable', ptr: tcb + 0x2000, mapped: null });
    expect(view.object(tcb + 0x2000)).toEqual({ type: 'pagetable', addr: tcb + 0x2000, entries: [], kernelWindow: false });
    expect(h.cap(ut)).toMatchObject({ freeIndex: tcb + 0x3000 - base });
    // A new TCB's slots exist and are empty.
    expect(h.cap({ cnode: tcb, index: 4 })).toEqual({ type: 'null' });
  });

  it('places objects consecutively from the aligned free index and inserts each cap right after the untyped', () => {
    const h = new ExecHarness();
    const ut = h.bigUntyped;
    expect(retype(h, ut, T.seL4_EndpointObject, 0, h.empty, 1)).toBe(E.seL4_NoError);
    expect(retype(h, ut, T.seL4_TCBObject, 0, h.empty + 1, 3)).toBe(E.seL4_NoError);
    expect([1, 2, 3].map((i) => h.cap(h.empty + i))).toEqual([0x80200400, 0x80200800, 0x80200c00].map((ptr) => ({ type: 'thread', ptr })));
    expect(h.cap(ut)).toMatchObject({ freeIndex: 0x1000 });
    // MDB order after the untyped: newest first.
    const order: number[] = [];
    for (let at = h.slot(ut)!.mdb.next; at !== null; at = getSlot(h.state, at)!.mdb.next) order.push(at.index);
    expect(order).toEqual([h.empty + 3, h.empty + 2, h.empty + 1, h.empty]);
    for (let i = 0; i < 4; i++) {
      expect(h.parent(h.empty + i)).toEqual(h.root(ut));
      expect(h.slot(h.empty + i)!.mdb).toMatchObject({ revocable: true, firstBadged: true });
    }
  });

  it('resets an untyped without children: detypes its objects and allocates from offset 0 again', () => {
    const h = new ExecHarness();
    const ut = h.bigUntyped;
    expect(retype(h, ut, T.seL4_EndpointObject, 0, h.empty, 2)).toBe(E.seL4_NoError);
    expect(L.view(h.state).object(0x80200010)).toMatchObject({ type: 'endpoint' });
    expect(h.api.seL4_CNode_Delete(ROOT, h.empty, 32)).toBe(E.seL4_NoError);
    // Still has a child: allocation continues at the free index, nothing is detyped.
    expect(retype(h, ut, T.seL4_NotificationObject, 0, h.empty, 1)).toBe(E.seL4_NoError);
    expect(h.cap(h.empty)).toMatchObject({ ptr: 0x80200020 });
    expect(h.api.seL4_CNode_Revoke(ROOT, ut, 32)).toBe(E.seL4_NoError);
    expect(L.view(h.state).object(0x80200020)).toMatchObject({ type: 'notification' });
    expect(retype(h, ut, T.seL4_TCBObject, 0, h.empty, 1)).toBe(E.seL4_NoError);
    expect(h.last!.touched.objects).toEqual(expect.arrayContaining([0x80200000, 0x80200010, 0x80200020]));
    const view = L.view(h.state);
    expect(view.object(0x80200000)).toMatchObject({ type: 'tcb' });
    expect(view.object(0x80200010)).toBeNull();
    expect(view.object(0x80200020)).toBeNull();
    expect(h.cap(ut)).toMatchObject({ freeIndex: 0x400 });
  });

  it('zeroes non-device memory when it resets, but not device memory', () => {
    const h = new ExecHarness();
    const base = 0x80200000;
    const seeded = makeExecState({
      objects: allObjects(h.state),
      memory: [...h.state.memory.entries(), [base + 8, 7], [0x10000008, 9]],
      current: h.state.current,
      sched: h.state.sched,
    });
    h.state = seeded;
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, h.empty, 1)).toBe(E.seL4_NoError);
    expect(retype(h, h.deviceUntyped, T.seL4_RISCV_4K_Page, 0, h.empty + 1, 1)).toBe(E.seL4_NoError);
    const view = L.view(h.state);
    expect(view.userWord(base + 8)).toBe(0);
    expect(view.userWord(0x10000008)).toBe(9);
  });

  it('copies an untyped only without children, and the copy leaves the source full', () => {
    const h = new ExecHarness();
    const ut = h.bigUntyped;
    expect(h.api.seL4_CNode_Copy(ROOT, h.empty, 32, ROOT, ut, 32, 0)).toBe(E.seL4_NoError);
    expect(h.cap(ut)).toMatchObject({ freeIndex: 2 ** 21 });
    expect(h.cap(h.empty)).toMatchObject({ type: 'untyped', freeIndex: 2 ** 21 });
    expect(h.slot(h.empty)!.mdb).toMatchObject({ revocable: true, firstBadged: true });
    expect(h.parent(h.empty)).toEqual(h.root(ut));
    // The source now has a child: NotEnoughMemory (it is full and cannot reset).
    expect(retype(h, ut, T.seL4_EndpointObject, 0, h.empty + 1, 1)).toBe(E.seL4_NotEnoughMemory);
    expect(h.mrs()).toEqual([0]);
    expect(h.api.seL4_CNode_Copy(ROOT, h.empty + 1, 32, ROOT, ut, 32, 0)).toBe(E.seL4_RevokeFirst);
    // The copy has no children: it resets and allocates.
    expect(retype(h, h.empty, T.seL4_EndpointObject, 0, h.empty + 1, 1)).toBe(E.seL4_NoError);
    expect(h.cap(h.empty + 1)).toMatchObject({ ptr: 0x80200000 });
    expect(h.parent(h.empty + 1)).toEqual(h.root(h.empty));
  });

  it('makes child untypeds that are CDT parents of what is retyped from them', () => {
    const h = new ExecHarness();
    expect(retype(h, h.bigUntyped, T.seL4_UntypedObject, 12, h.empty, 2)).toBe(E.seL4_NoError);
    expect(retype(h, h.empty + 1, T.seL4_EndpointObject, 0, h.empty + 2, 1)).toBe(E.seL4_NoError);
    expect(h.cap(h.empty + 2)).toMatchObject({ ptr: 0x80201000 });
    expect(h.parent(h.empty + 2)).toEqual(h.root(h.empty + 1));
    expect(h.parent(h.empty + 1)).toEqual(h.root(h.bigUntyped));
    // Revoking the big untyped removes grandchildren too.
    expect(h.api.seL4_CNode_Revoke(ROOT, h.bigUntyped, 32)).toBe(E.seL4_NoError);
    for (let i = 0; i < 3; i++) expect(h.cap(h.empty + i)).toEqual({ type: 'null' });
    expect(h.slot(h.bigUntyped)!.mdb.next).toBeNull();
  });

  it('retypes into a CNode named by index and depth, and into the new CNode itself', () => {
    const h = new ExecHarness();
    expect(retype(h, h.bigUntyped, T.seL4_CapTableObject, 2, h.empty, 1)).toBe(E.seL4_NoError);
    const cnode = 0x80200000;
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, 3, 1, { index: h.empty, depth: 32 })).toBe(E.seL4_NoError);
    expect(h.cap({ cnode, index: 3 })).toMatchObject({ type: 'endpoint', ptr: 0x80200040 });
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, 2, 2, { index: h.empty, depth: 32 })).toBe(E.seL4_DeleteFirst);
    expect(retype(h, h.bigUntyped, T.seL4_EndpointObject, 0, 3, 2, { index: h.empty, depth: 32 })).toBe(E.seL4_RangeError);
    expect(h.mrs()).toEqual([1, 1]);
  });
});
