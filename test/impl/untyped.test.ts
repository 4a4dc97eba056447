// Untyped_Retype on the impl: every check of seL4's decodeUntypedInvocation in order, then
// placement, the new caps and objects, the CDT, and reset/detype.
import { describe, expect, it } from 'vitest';
import { InvocationLabel, seL4_Error, seL4_MessageInfo_new } from '../../libsel4/index.ts';
import { decodeObject, ghostObjects, implLayer, readUserWord } from '../../impl/index.ts';
import { writeUserWord } from '../../impl/state.ts';
import { CNODE, D, T, bootRoot, deviceUntyped, type Root } from './harness.ts';

const E = seL4_Error;
const FREE = 100; // a free root CNode slot

function retype(r: Root, ut: number, type: number, sizeBits: number, offset: number, n: number, index = 0, depth = 0) {
  return r.api.seL4_Untyped_Retype(ut, type, sizeBits, CNODE, index, depth, offset, n);
}

describe('impl Retype: checks in seL4 order', () => {
  it('rejects a label other than Retype with IllegalOperation', () => {
    const r = bootRoot();
    r.api.seL4_SetMR(0, T.seL4_EndpointObject);
    const info = r.api.seL4_Call(r.untyped(12), seL4_MessageInfo_new(InvocationLabel.CNodeCopy, 0, 1, 6));
    expect(info >>> 12).toBe(E.seL4_IllegalOperation);
  });

  it('needs six message words and the root cap (TruncatedMessage)', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    expect(r.api.seL4_Call(ut, seL4_MessageInfo_new(InvocationLabel.UntypedRetype, 0, 1, 5)) >>> 12).toBe(E.seL4_TruncatedMessage);
    expect(r.api.seL4_Call(ut, seL4_MessageInfo_new(InvocationLabel.UntypedRetype, 0, 0, 6)) >>> 12).toBe(E.seL4_TruncatedMessage);
  });

  it('rejects an object type >= 10 with InvalidArgument(0)', () => {
    const r = bootRoot();
    expect(retype(r, r.untyped(12), 10, 0, FREE, 1)).toBe(E.seL4_InvalidArgument);
    expect(r.mrs(1)).toEqual([0]);
    expect(retype(r, r.untyped(12), 0xffffffff, 0, FREE, 1)).toBe(E.seL4_InvalidArgument);
  });

  it('rejects size_bits >= 32 or an object above 2^29 with RangeError{0, 29}', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    for (const [type, size] of [[T.seL4_EndpointObject, 32], [T.seL4_UntypedObject, 30], [T.seL4_CapTableObject, 26], [T.seL4_SchedContextObject, 31]]) {
      expect(retype(r, ut, type!, size!, FREE, 1)).toBe(E.seL4_RangeError);
      expect(r.mrs(2)).toEqual([0, 29]);
    }
  });

  it('rejects a CNode of radix 0, an untyped below 2^4 and an SC below 2^7 with InvalidArgument(1)', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    for (const [type, size] of [[T.seL4_CapTableObject, 0], [T.seL4_UntypedObject, 3], [T.seL4_SchedContextObject, 6]]) {
      expect(retype(r, ut, type!, size!, FREE, 1)).toBe(E.seL4_InvalidArgument);
      expect(r.mrs(1)).toEqual([1]);
    }
  });

  it('reports destination lookup failures as FailedLookup (source 0) or RangeError{1, 32}', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    // root cap is not a CNode
    expect(r.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, ut, 0, 32, FREE, 1)).toBe(E.seL4_FailedLookup);
    expect(r.mrs(2)).toEqual([0, 1]);
    // depth out of range
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE, 1, 0, 33)).toBe(E.seL4_RangeError);
    expect(r.mrs(2)).toEqual([1, 32]);
    // guard mismatch: the root CNode's 20-bit guard is 0
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE, 1, 0x80000002, 32)).toBe(E.seL4_FailedLookup);
    expect(r.mrs(5)).toEqual([0, 4, 32, 0, 20]);
    // depth mismatch: 31 bits cannot pass a 32-bit level
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE, 1, 2, 31)).toBe(E.seL4_FailedLookup);
    expect(r.mrs(4)).toEqual([0, 3, 31, 32]);
  });

  it('needs a CNode cap at the destination: FailedLookup MissingCapability{node_depth}', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE, 1, 1, 32)).toBe(E.seL4_FailedLookup); // slot 1 holds the TCB cap
    expect(r.mrs(3)).toEqual([0, 2, 32]);
    expect(r.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, ut, 0, 0, FREE, 1)).toBe(E.seL4_FailedLookup); // depth 0: cap0 itself
    expect(r.mrs(3)).toEqual([0, 2, 0]);
  });

  it('checks the offset, then the count against the fan-out limit, then against the CNode', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    expect(retype(r, ut, T.seL4_EndpointObject, 0, 4096, 1)).toBe(E.seL4_RangeError);
    expect(r.mrs(2)).toEqual([0, 4095]);
    expect(retype(r, ut, T.seL4_EndpointObject, 0, 4096, 0)).toBe(E.seL4_RangeError); // offset first
    expect(r.mrs(2)).toEqual([0, 4095]);
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE, 0)).toBe(E.seL4_RangeError);
    expect(r.mrs(2)).toEqual([1, 256]);
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE, 257)).toBe(E.seL4_RangeError);
    expect(r.mrs(2)).toEqual([1, 256]);
    expect(retype(r, ut, T.seL4_EndpointObject, 0, 4090, 7)).toBe(E.seL4_RangeError);
    expect(r.mrs(2)).toEqual([1, 6]);
  });

  it('needs every destination slot empty (DeleteFirst)', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    expect(retype(r, ut, T.seL4_EndpointObject, 0, 14, 3)).toBe(E.seL4_DeleteFirst); // slot 14 holds the SC cap
  });

  it('reports the free bytes when the objects do not fit (NotEnoughMemory)', () => {
    const r = bootRoot();
    const ut = r.untyped(7); // 128 bytes
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE, 9)).toBe(E.seL4_NotEnoughMemory);
    expect(r.mrs(1)).toEqual([128]);
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE, 4)).toBe(E.seL4_NoError);
    // with children, the free index stays: 64 bytes are left
    expect(retype(r, ut, T.seL4_NotificationObject, 0, FREE + 10, 3)).toBe(E.seL4_NotEnoughMemory);
    expect(r.mrs(1)).toEqual([64]);
  });

  it('creates only frames and untypeds from device memory (InvalidArgument(1), after the memory check)', () => {
    const r = bootRoot();
    const dev = deviceUntyped(r);
    expect(retype(r, dev, T.seL4_TCBObject, 0, FREE, 1)).toBe(E.seL4_InvalidArgument);
    expect(r.mrs(1)).toEqual([1]);
    expect(retype(r, dev, T.seL4_TCBObject, 0, FREE, 256)).toBe(E.seL4_NotEnoughMemory);
    expect(retype(r, dev, T.seL4_RISCV_4K_Page, 0, FREE, 2)).toBe(E.seL4_NoError);
    expect(r.cap(FREE)).toMatchObject({ type: 'frame', isDevice: true, vmRights: 3, mapped: null });
    expect(retype(r, dev, T.seL4_UntypedObject, 8, FREE + 2, 1)).toBe(E.seL4_NoError);
    expect(r.cap(FREE + 2)).toMatchObject({ type: 'untyped', isDevice: true, freeIndex: 0, sizeBits: 8 });
  });

  it('changes nothing on an error and leaves the caller Running', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    const before = r.cap(ut);
    expect(retype(r, ut, T.seL4_EndpointObject, 0, 14, 3)).toBe(E.seL4_DeleteFirst);
    expect(r.cap(ut)).toEqual(before);
    expect(r.obs().caller!.state).toBe('Running');
    expect(r.lastTouched.slots).toEqual([]);
  });
});

describe('impl Retype: effect', () => {
  it('places objects from the aligned free index, newest cap first after the untyped', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    const base = (r.cap(ut) as { ptr: number }).ptr;
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE, 3)).toBe(E.seL4_NoError);
    expect(r.obs().caller!.regs[17]).toBe(0); // a1 = info(0, 0, 0, 0)
    for (let i = 0; i < 3; i++) {
      expect(r.cap(FREE + i)).toEqual({ type: 'endpoint', ptr: base + 16 * i, badge: 0, rights: 0xf });
      expect(r.parent(FREE + i)).toEqual(r.slot(ut));
    }
    expect(r.cap(ut)).toMatchObject({ freeIndex: 48 });
    // a TCB aligns up to 1 KiB
    expect(retype(r, ut, T.seL4_TCBObject, 0, FREE + 3, 1)).toBe(E.seL4_NoError);
    expect(r.cap(FREE + 3)).toEqual({ type: 'thread', ptr: base + 1024 });
    expect(r.cap(ut)).toMatchObject({ freeIndex: 2048 });
    const objs = implObjects(r);
    expect(objs.get(base + 1024)).toMatchObject({ type: 'tcb', state: 'Inactive', priority: 0, mcp: 0, schedContext: null, ipcBufferVaddr: 0 });
  });

  it('makes every type with its initial cap and object', () => {
    const r = bootRoot();
    const ut = r.untyped(21);
    const cases: [number, number, object, object | null][] = [
      [T.seL4_UntypedObject, 5, { type: 'untyped', sizeBits: 5, freeIndex: 0, isDevice: false }, null],
      [T.seL4_TCBObject, 0, { type: 'thread' }, { type: 'tcb', state: 'Inactive', domain: 0 }],
      [T.seL4_EndpointObject, 0, { type: 'endpoint', badge: 0, rights: 15 }, { type: 'endpoint', queue: [] }],
      [T.seL4_NotificationObject, 0, { type: 'notification', badge: 0, rights: 3 }, { type: 'notification', state: 'Idle', word: 0, queue: [] }],
      [T.seL4_CapTableObject, 3, { type: 'cnode', radix: 3, guardSize: 0, guard: 0 }, { type: 'cnode', radix: 3 }],
      [T.seL4_SchedContextObject, 8, { type: 'schedcontext', sizeBits: 8 }, { type: 'schedcontext', sizeBits: 8, tcb: null, configured: false }],
      [T.seL4_ReplyObject, 0, { type: 'reply', rights: 4 }, { type: 'reply', tcb: null }],
      [T.seL4_RISCV_4K_Page, 0, { type: 'frame', sizeBits: 12, vmRights: 3, isDevice: false, mapped: null }, { type: 'frame', sizeBits: 12, isDevice: false }],
      [T.seL4_RISCV_PageTableObject, 0, { type: 'pagetable', mapped: null }, { type: 'pagetable', entries: [], kernelWindow: false }],
      [T.seL4_RISCV_Mega_Page, 0, { type: 'frame', sizeBits: 22, vmRights: 3 }, null],
    ];
    let slot = FREE;
    for (const [type, size, cap, object] of cases) {
      const err = retype(r, ut, type, size, slot, 1);
      if (type === T.seL4_RISCV_Mega_Page) {
        expect(err).toBe(E.seL4_NotEnoughMemory); // a 2 MiB untyped cannot hold 4 MiB
        continue;
      }
      expect(err).toBe(E.seL4_NoError);
      const got = r.cap(slot)!;
      expect(got).toMatchObject(cap);
      const ptr = (got as { ptr: number }).ptr;
      expect(decodeObject(r.state, ptr)).toEqual(object === null ? null : { ...object, ...fullObjectFields(object), addr: ptr });
      slot++;
    }
  });

  it('retypes into a CNode reached through node_index/node_depth', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    expect(retype(r, ut, T.seL4_CapTableObject, 4, FREE, 1)).toBe(E.seL4_NoError);
    const sub = (r.cap(FREE) as { ptr: number }).ptr;
    expect(retype(r, ut, T.seL4_EndpointObject, 0, 15, 1, FREE, 32)).toBe(E.seL4_NoError);
    const view = implLayerView(r);
    expect(view.cap({ cnode: sub, index: 15 })).toMatchObject({ type: 'endpoint' });
    expect(view.cdtParent({ cnode: sub, index: 15 })).toEqual(r.slot(ut));
    // depth 0: the root cap names the destination CNode itself
    expect(r.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, FREE, 0, 0, 3, 1)).toBe(E.seL4_NoError);
    expect(view.cap({ cnode: sub, index: 3 })).toMatchObject({ type: 'endpoint' });
  });

  it('resets an untyped without children: detypes its objects, zeroes its memory, starts again at its base', () => {
    const r = bootRoot();
    const ut = r.untyped(13);
    const base = (r.cap(ut) as { ptr: number }).ptr;
    expect(retype(r, ut, T.seL4_RISCV_4K_Page, 0, FREE, 1)).toBe(E.seL4_NoError);
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE + 1, 1)).toBe(E.seL4_NoError);
    expect(r.cap(FREE + 1)).toMatchObject({ ptr: base + 4096 }); // with children: after the frame
    // write into the frame, as a user would (through the one write path to memory)
    writeUserWord(r.state, base, base, 0xdeadbeef);
    expect(readUserWord(r.state, base)).toBe(0xdeadbeef);
    expect(r.api.seL4_CNode_Delete(CNODE, FREE, D)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Delete(CNODE, FREE + 1, D)).toBe(E.seL4_NoError);
    // objects outlive their caps until the reset
    expect(decodeObject(r.state, base)).toMatchObject({ type: 'frame' });
    expect(retype(r, ut, T.seL4_NotificationObject, 0, FREE, 1)).toBe(E.seL4_NoError);
    expect(r.cap(FREE)).toMatchObject({ type: 'notification', ptr: base });
    expect(decodeObject(r.state, base)).toMatchObject({ type: 'notification' });
    expect(decodeObject(r.state, base + 4096)).toBeNull();
    expect(readUserWord(r.state, base)).toBe(0);
    expect(r.cap(ut)).toMatchObject({ freeIndex: 32 });
    expect(r.lastTouched.objects).toEqual(expect.arrayContaining([base, base + 4096]));
  });

  it('reports a reset\'s detyped objects oldest first, then the new ones, and keeps the ghost table in address order', () => {
    const r = bootRoot();
    const ut = r.untyped(13);
    const base = (r.cap(ut) as { ptr: number }).ptr;
    // two child untypeds; the higher one's endpoint is made first
    expect(retype(r, ut, T.seL4_UntypedObject, 12, FREE, 2)).toBe(E.seL4_NoError);
    expect(retype(r, FREE + 1, T.seL4_EndpointObject, 0, FREE + 2, 1)).toBe(E.seL4_NoError);
    expect(retype(r, FREE, T.seL4_CapTableObject, 2, FREE + 3, 1)).toBe(E.seL4_NoError);
    const high = base + 4096;
    expect(r.cap(FREE + 2)).toMatchObject({ type: 'endpoint', ptr: high });
    expect(r.cap(FREE + 3)).toMatchObject({ type: 'cnode', ptr: base });
    const addrs = ghostObjects(r.state).map((o) => o.addr);
    expect(addrs).toEqual([...addrs].sort((a, b) => a - b));
    // a slot of the new CNode is named by that CNode
    expect(r.api.seL4_CNode_Copy(CNODE, FREE + 4, D, CNODE, FREE + 2, D, 0xf)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Move(FREE + 3, 1, 2, CNODE, FREE + 4, D)).toBe(E.seL4_NoError);
    expect(r.lastTouched.slots).toContainEqual({ cnode: base, index: 1 });
    expect(r.api.seL4_CNode_Revoke(CNODE, ut, D)).toBe(E.seL4_NoError);
    expect(retype(r, ut, T.seL4_NotificationObject, 0, FREE, 2)).toBe(E.seL4_NoError);
    // (the caller's TCB and IPC buffer frame come first: the call wrote them)
    expect(r.lastTouched.objects.filter((a) => a >= base && a < base + 8192)).toEqual([high, base, base + 32]);
    expect(ghostObjects(r.state).filter((o) => o.addr >= base && o.addr < base + 8192).map((o) => o.type)).toEqual(['notification', 'notification']);
  });

  it('continues at the free index while the untyped has children', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    const base = (r.cap(ut) as { ptr: number }).ptr;
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE, 2)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Delete(CNODE, FREE, D)).toBe(E.seL4_NoError);
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE, 1)).toBe(E.seL4_NoError);
    expect(r.cap(FREE)).toMatchObject({ ptr: base + 32 });
  });

  it('allocates from a child untyped and marks the parent full when an untyped is copied', () => {
    const r = bootRoot();
    const ut = r.untyped(12);
    expect(r.api.seL4_CNode_Copy(CNODE, FREE, D, CNODE, ut, D, 0xf)).toBe(E.seL4_NoError);
    const size = 2 ** (r.cap(ut) as { sizeBits: number }).sizeBits;
    expect(r.cap(ut)).toMatchObject({ freeIndex: size });
    expect(r.parent(FREE)).toEqual(r.slot(ut));
    expect(retype(r, ut, T.seL4_EndpointObject, 0, FREE + 1, 1)).toBe(E.seL4_NotEnoughMemory);
    expect(r.mrs(1)).toEqual([0]);
    expect(retype(r, FREE, T.seL4_EndpointObject, 0, FREE + 1, 1)).toBe(E.seL4_NoError);
    expect(r.parent(FREE + 1)).toEqual(r.slot(FREE));
    // the copy has children now: copying it again needs a revoke first
    expect(r.api.seL4_CNode_Copy(CNODE, FREE + 2, D, CNODE, FREE, D, 0xf)).toBe(E.seL4_RevokeFirst);
  });
});

function implObjects(r: Root) {
  const map = new Map<number, object>();
  for (const o of implLayerView(r).objects()) map.set(o.addr, o);
  return map;
}

function implLayerView(r: Root) {
  return implLayer.view(r.state);
}

/** decodeObject's extra fields for a fresh object of the kind described. */
function fullObjectFields(object: object): object {
  const type = (object as { type: string }).type;
  if (type === 'tcb') return { priority: 0, mcp: 0, schedContext: null, ipcBufferVaddr: 0, flags: 0, yieldTo: null, boundNotification: null, blocking: null, fault: null, regs: new Array(32).fill(0) };
  if (type === 'schedcontext') return { periodTicks: 0n, consumedTicks: 0n, refillMax: 0, refills: [], sporadic: false, badge: 0, yieldFrom: null, notification: null, replies: [] };
  if (type === 'notification') return { tcb: null, schedContext: null };
  if (type === 'reply') return { schedContext: null };
  if (type === 'endpoint') return { state: 'Idle' };
  return {};
}
