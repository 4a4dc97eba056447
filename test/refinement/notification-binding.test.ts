// Binding notifications to threads (TCB_BindNotification / UnbindNotification) and to scheduling
// contexts (SchedContext_Bind / UnbindObject / Unbind), and what finalisation does to the links,
// on each layer alone: seL4's errors in seL4's order and the links both sides show in the view.
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as L,
  Reg,
  seL4_AllRights,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_CapInitThreadCNode as root,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_Error as E,
  seL4_MessageInfo_new,
  seL4_ObjectType as T,
  seL4_Syscall as S,
  syscallWord,
  type LayerName,
  type ObjectView,
} from '../../libsel4/index.ts';
import { notificationRefs } from '../../refinement/invariants/notification.ts';
import { bootSystem, type System } from '../../refinement/system.ts';

const layers: readonly LayerName[] = ['impl', 'executable', 'abstract'];

/** A RAM untyped of 2 MiB: room for TCBs and SCs. */
function bigUntyped(sys: System): number {
  return sys.plan.bootInfo.untyped.start + sys.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits === 21);
}

/**
 * Two TCBs, two notifications, two SCs and an endpoint in the first free slots, and a copy of
 * notification 0 without Read; `ptr` gives the object a slot's cap names.
 */
function setup(layer: LayerName) {
  const sys = bootSystem({ layer });
  const free = sys.plan.bootInfo.empty.start;
  const untyped = bigUntyped(sys);
  const { seL4_Untyped_Retype, seL4_CNode_Mint } = sys.api;
  const slots = { t0: free, t1: free + 1, n0: free + 2, n1: free + 3, sc0: free + 4, sc1: free + 5, ep: free + 6, n0WriteOnly: free + 7, empty: free + 8 };
  expect(seL4_Untyped_Retype(untyped, T.seL4_TCBObject, 0, root, 0, 0, slots.t0, 2)).toBe(E.seL4_NoError);
  expect(seL4_Untyped_Retype(untyped, T.seL4_NotificationObject, 0, root, 0, 0, slots.n0, 2)).toBe(E.seL4_NoError);
  expect(seL4_Untyped_Retype(untyped, T.seL4_SchedContextObject, 8, root, 0, 0, slots.sc0, 2)).toBe(E.seL4_NoError);
  expect(seL4_Untyped_Retype(untyped, T.seL4_EndpointObject, 0, root, 0, 0, slots.ep, 1)).toBe(E.seL4_NoError);
  expect(seL4_CNode_Mint(root, slots.n0WriteOnly, 32, root, slots.n0, 32, seL4_CanWrite, 0)).toBe(E.seL4_NoError);
  const ptr = (slot: number): number => {
    const cap = sys.view().cap({ cnode: sys.plan.rootCNode, index: slot });
    if (cap === null || !('ptr' in cap)) throw new Error(`no object cap in slot ${slot}`);
    return cap.ptr;
  };
  const object = (slot: number): ObjectView => sys.view().object(ptr(slot))!;
  /** A Call with this label and no extra caps: the error in the reply's label. */
  const noCaps = (service: number, label: number): number =>
    sys.api.rawSyscall([[Reg.a0, service], [Reg.a1, seL4_MessageInfo_new(label, 0, 0, 0)], [Reg.a7, syscallWord(S.seL4_SysCall)]]).caller!.regs[Reg.a1]! >>> 12;
  const symmetric = (): string | null => notificationRefs(new Map(sys.view().objects().map((o) => [o.addr, o])));
  return { sys, slots, ptr, object, noCaps, symmetric };
}

describe.each(layers)('notification binding on %s', (layer) => {
  it('TCB_BindNotification: TruncatedMessage, then IllegalOperation for a bound thread, a cap that is no notification, no Read, a bound notification', () => {
    const { sys, slots, ptr, object, noCaps, symmetric } = setup(layer);
    const { seL4_TCB_BindNotification: bind } = sys.api;
    expect(noCaps(slots.t0, L.TCBBindNotification)).toBe(E.seL4_TruncatedMessage);
    expect(bind(slots.t0, slots.ep)).toBe(E.seL4_IllegalOperation);
    expect(bind(slots.t0, slots.empty)).toBe(E.seL4_IllegalOperation);
    expect(bind(slots.t0, slots.n0WriteOnly)).toBe(E.seL4_IllegalOperation);
    expect(object(slots.n0)).toMatchObject({ tcb: null });
    expect(bind(slots.t0, slots.n0)).toBe(E.seL4_NoError);
    expect(object(slots.t0)).toMatchObject({ boundNotification: ptr(slots.n0) });
    expect(object(slots.n0)).toMatchObject({ tcb: ptr(slots.t0) });
    // Bound already: a free notification is refused, and a missing cap is still TruncatedMessage first.
    expect(bind(slots.t0, slots.n1)).toBe(E.seL4_IllegalOperation);
    expect(noCaps(slots.t0, L.TCBBindNotification)).toBe(E.seL4_TruncatedMessage);
    // The notification is bound to t0: t1 cannot take it.
    expect(bind(slots.t1, slots.n0)).toBe(E.seL4_IllegalOperation);
    expect(object(slots.t1)).toMatchObject({ boundNotification: null });
    expect(symmetric()).toBeNull();
  });

  it('TCB_UnbindNotification: IllegalOperation without a bound notification; unbinding frees both sides', () => {
    const { sys, slots, ptr, object, symmetric } = setup(layer);
    const { seL4_TCB_BindNotification: bind, seL4_TCB_UnbindNotification: unbind } = sys.api;
    expect(unbind(slots.t0)).toBe(E.seL4_IllegalOperation);
    expect(bind(slots.t0, slots.n0)).toBe(E.seL4_NoError);
    expect(unbind(slots.t0)).toBe(E.seL4_NoError);
    expect(object(slots.t0)).toMatchObject({ boundNotification: null });
    expect(object(slots.n0)).toMatchObject({ tcb: null });
    expect(unbind(slots.t0)).toBe(E.seL4_IllegalOperation);
    expect(bind(slots.t1, slots.n0)).toBe(E.seL4_NoError);
    expect(object(slots.n0)).toMatchObject({ tcb: ptr(slots.t1) });
    expect(symmetric()).toBeNull();
  });

  it('SchedContext_Bind of a notification: InvalidCapability for another cap, IllegalOperation for a bound SC or a bound notification', () => {
    const { sys, slots, ptr, object, noCaps, symmetric } = setup(layer);
    const { seL4_SchedContext_Bind: bind } = sys.api;
    expect(noCaps(slots.sc0, L.SchedContextBind)).toBe(E.seL4_TruncatedMessage);
    expect(bind(slots.sc0, slots.ep)).toBe(E.seL4_InvalidCapability);
    expect(bind(slots.sc0, slots.n0WriteOnly)).toBe(E.seL4_NoError); // no right is needed
    expect(object(slots.sc0)).toMatchObject({ notification: ptr(slots.n0), tcb: null });
    expect(object(slots.n0)).toMatchObject({ schedContext: ptr(slots.sc0) });
    expect(bind(slots.sc0, slots.n1)).toBe(E.seL4_IllegalOperation);
    expect(bind(slots.sc1, slots.n0)).toBe(E.seL4_IllegalOperation);
    // The same SC can also take a thread, and the notification a thread of its own.
    expect(bind(slots.sc0, slots.t0)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_TCB_BindNotification(slots.t1, slots.n0)).toBe(E.seL4_NoError);
    expect(object(slots.n0)).toMatchObject({ schedContext: ptr(slots.sc0), tcb: ptr(slots.t1) });
    expect(symmetric()).toBeNull();
  });

  it('SchedContext_UnbindObject of a notification: IllegalOperation unless it is the one bound; Unbind frees thread and notification', () => {
    const { sys, slots, object, symmetric } = setup(layer);
    const { seL4_SchedContext_Bind: bind, seL4_SchedContext_UnbindObject: unbindObject } = sys.api;
    expect(unbindObject(slots.sc0, slots.n0)).toBe(E.seL4_IllegalOperation);
    expect(bind(slots.sc0, slots.n0)).toBe(E.seL4_NoError);
    expect(unbindObject(slots.sc0, slots.n1)).toBe(E.seL4_IllegalOperation);
    expect(unbindObject(slots.sc0, slots.n0)).toBe(E.seL4_NoError);
    expect(object(slots.sc0)).toMatchObject({ notification: null });
    expect(object(slots.n0)).toMatchObject({ schedContext: null });
    expect(bind(slots.sc0, slots.n1)).toBe(E.seL4_NoError);
    expect(bind(slots.sc0, slots.t0)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_SchedContext_Unbind(slots.sc0)).toBe(E.seL4_NoError);
    expect(object(slots.sc0)).toMatchObject({ notification: null, tcb: null });
    expect(object(slots.n1)).toMatchObject({ schedContext: null });
    expect(object(slots.t0)).toMatchObject({ schedContext: null });
    expect(symmetric()).toBeNull();
  });

  it('deleting the last cap to a TCB, a notification or an SC unbinds its links; deleting another copy does not', () => {
    const { sys, slots, ptr, object, symmetric } = setup(layer);
    const { seL4_CNode_Delete: del, seL4_CNode_Copy: copy } = sys.api;
    const n0 = ptr(slots.n0);
    const n1 = ptr(slots.n1);
    expect(sys.api.seL4_TCB_BindNotification(slots.t0, slots.n0)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_SchedContext_Bind(slots.sc0, slots.n1)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_TCB_BindNotification(slots.t1, slots.n1)).toBe(E.seL4_NoError);
    // The TCB goes: n0 is free again.
    expect(copy(root, slots.empty, 32, root, slots.t0, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    expect(del(root, slots.t0, 32)).toBe(E.seL4_NoError);
    expect(sys.view().object(n0)).toMatchObject({ tcb: object(slots.empty).addr });
    expect(del(root, slots.empty, 32)).toBe(E.seL4_NoError);
    expect(sys.view().object(n0)).toMatchObject({ tcb: null });
    // n1 goes (both copies, the write-only one of n0 stays): its SC and its thread are free.
    expect(del(root, slots.n1, 32)).toBe(E.seL4_NoError);
    expect(object(slots.sc0)).toMatchObject({ notification: null });
    expect(object(slots.t1)).toMatchObject({ boundNotification: null });
    // The SC goes: n0, bound to it, is free.
    expect(sys.api.seL4_SchedContext_Bind(slots.sc0, slots.n0)).toBe(E.seL4_NoError);
    expect(del(root, slots.sc0, 32)).toBe(E.seL4_NoError);
    expect(sys.view().object(n0)).toMatchObject({ schedContext: null });
    expect(sys.view().object(n1)).toMatchObject({ tcb: null, schedContext: null });
    expect(symmetric()).toBeNull();
  });

  it('revoking the untyped unbinds everything before the objects go', () => {
    const { sys, slots, symmetric } = setup(layer);
    expect(sys.api.seL4_TCB_BindNotification(slots.t0, slots.n0)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_SchedContext_Bind(slots.sc0, slots.n1)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_TCB_BindNotification(seL4_CapInitThreadTCB, slots.n1)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_CNode_Revoke(root, bigUntyped(sys), 32)).toBe(E.seL4_NoError);
    expect(sys.view().object(sys.view().current()!)).toMatchObject({ boundNotification: null });
    expect(symmetric()).toBeNull();
  });

  it('a receive on a notification bound to another thread is a cap fault; the bound thread itself receives', () => {
    const { sys, slots } = setup(layer);
    const wait = (cptr: number) => sys.api.rawSyscall([[Reg.a0, cptr], [Reg.a7, syscallWord(S.seL4_SysNBWait)]]);
    expect(sys.api.seL4_TCB_BindNotification(seL4_CapInitThreadTCB, slots.n0)).toBe(E.seL4_NoError);
    sys.api.rawSyscall([[Reg.a0, slots.n0WriteOnly], [Reg.a7, syscallWord(S.seL4_SysSend)]]);
    expect(sys.api.seL4_CNode_Mint(root, slots.empty, 32, root, slots.n0, 32, seL4_CanRead | seL4_CanWrite, 6)).toBe(E.seL4_NoError);
    sys.api.rawSyscall([[Reg.a0, slots.empty], [Reg.a7, syscallWord(S.seL4_SysSend)]]);
    expect(wait(slots.n0).caller!.regs[Reg.a0]).toBe(6);
    expect(sys.api.seL4_TCB_UnbindNotification(seL4_CapInitThreadTCB)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_TCB_BindNotification(slots.t0, slots.n0)).toBe(E.seL4_NoError);
    expect(wait(slots.n0).caller!.state).toBe('Inactive');
  });
});

describe('the root task and its own SC', () => {
  it('binds the root SC to a notification like any other, on every layer alike', () => {
    const sys = bootSystem({ layer: 'lockstep', pairs: ['impl-executable', 'executable-abstract'] });
    const free = sys.plan.bootInfo.empty.start;
    expect(sys.api.seL4_Untyped_Retype(bigUntyped(sys), T.seL4_NotificationObject, 0, root, 0, 0, free, 1)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_SchedContext_Bind(seL4_CapInitThreadSC, free)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_SchedContext_Unbind(seL4_CapInitThreadSC)).toBe(E.seL4_IllegalOperation);
    expect(sys.api.seL4_SchedContext_UnbindObject(seL4_CapInitThreadSC, free)).toBe(E.seL4_NoError);
    expect(sys.view().object(sys.view().current()!)).toMatchObject({ schedContext: expect.any(Number) });
  });
});

describe('sym_refs for notification bindings', () => {
  const tcb: ObjectView = {
    type: 'tcb', addr: 0x1000, state: 'Inactive', priority: 0, mcp: 0, domain: 0, schedContext: null, ipcBufferVaddr: 0, flags: 0,
    yieldTo: null, boundNotification: 0x2000, blocking: null, fault: null,
  };
  const ntfn: ObjectView = { type: 'notification', addr: 0x2000, state: 'Idle', word: 0, queue: [], tcb: 0x1000, schedContext: null };

  it('holds when both sides name each other, and names the side whose link is not mirrored', () => {
    expect(notificationRefs(new Map<number, ObjectView>([[tcb.addr, tcb], [ntfn.addr, ntfn]]))).toBeNull();
    expect(notificationRefs(new Map<number, ObjectView>([[tcb.addr, tcb], [ntfn.addr, { ...ntfn, tcb: null }]]))).toBe(
      'sym_refs: tcb 0x00001000 has bound notification 0x00002000, which does not name it back',
    );
    expect(notificationRefs(new Map<number, ObjectView>([[ntfn.addr, { ...ntfn, tcb: null, schedContext: 0x3000 }]]))).toBe(
      'sym_refs: notification 0x00002000 has scheduling context 0x00003000, which does not name it back',
    );
  });
});
