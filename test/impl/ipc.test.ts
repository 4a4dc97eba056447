// IPC on the impl: a root task and a server thread sharing the root's CSpace exchange
// messages through an endpoint and notifications (send/receive with badge and words, Call
// and ReplyRecv through a reply object with donation to a passive server and its return,
// Wait woken by Signal, a bound notification lending its SC to a thread blocked in Recv,
// cancellation on deletion, cap transfer with an unwrapped badge).
import { describe, expect, it } from 'vitest';
import {
  IPCBuffer,
  InvocationLabel,
  Reg,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_Syscall,
  syscallWord,
  type KernelView,
  type Observation,
  type Word,
} from '../../libsel4/index.ts';
import { createImplLayer } from '../../impl/index.ts';
import { CNODE, D, T, bootRoot, makeThread, regsOf, type Root } from './harness.ts';

const E = seL4_Error;
const S = seL4_Syscall;
const ROOT_TCB = seL4_CapInitThreadTCB;
// root CNode slots used here
const EP = 200;
const EP_BADGED = 201;
const NTFN = 202;
const NTFN_BADGED = 203;
const REPLY = 204;
const SERVER = 210; // TCB 210, SC 211, IPC buffer frame 212
const RECEIVED = 220;
const EP2 = 225;
const REPLY2 = 226;
const roundRobin = { budgetUs: 1000n, periodUs: 1000n, flags: 0 };

function view(r: Root): KernelView {
  return createImplLayer({ debug: true }).view(r.state);
}

function ptrOf(r: Root, slot: number): number {
  return (r.cap(slot) as { ptr: number }).ptr;
}

/** A syscall of whichever thread is current: registers (a7 = the syscall) and IPC buffer words. */
function enter(r: Root, sysno: number, regs: ReadonlyArray<readonly [number, Word]>, ipcBuffer: ReadonlyArray<readonly [number, Word]> = []): Observation {
  return r.enter({ kind: 'syscall', user: { regs: [...regs, [Reg.a7, syscallWord(sysno)]], ipcBuffer } });
}

/** Endpoint, notification (each with a badged copy) and reply object; a server thread at priority 100 with its own SC, not resumed. */
function setup(): { r: Root; server: number; serverSC: number; ep: number; ntfn: number; reply: number } {
  const r = bootRoot({}, { debug: true });
  const ut = r.untyped(16);
  const ok = (err: number) => expect(err).toBe(E.seL4_NoError);
  ok(r.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, CNODE, 0, 0, EP, 1));
  ok(r.api.seL4_CNode_Mint(CNODE, EP_BADGED, D, CNODE, EP, D, 0xf, 0x55));
  ok(r.api.seL4_Untyped_Retype(ut, T.seL4_NotificationObject, 0, CNODE, 0, 0, NTFN, 1));
  ok(r.api.seL4_CNode_Mint(CNODE, NTFN_BADGED, D, CNODE, NTFN, D, seL4_CanWrite | seL4_CanRead, 0x9));
  ok(r.api.seL4_Untyped_Retype(ut, T.seL4_ReplyObject, 0, CNODE, 0, 0, REPLY, 1));
  makeThread(r, SERVER, 100, roundRobin);
  return { r, server: ptrOf(r, SERVER), serverSC: ptrOf(r, SERVER + 1), ep: ptrOf(r, EP), ntfn: ptrOf(r, NTFN), reply: ptrOf(r, REPLY) };
}

/**
 * The root waits on the notification; the server runs and, with NBSendRecv, signals it through
 * the badged cap (waking the root) and blocks in Recv on the endpoint with the reply object.
 */
function serverWaitsOnEndpoint(r: Root, server: number, serverBuffer: ReadonlyArray<readonly [number, Word]> = []): void {
  const waited = enter(r, S.seL4_SysWait, [[Reg.a0, NTFN]]);
  expect(waited.caller!.state).toBe('BlockedOnNotification');
  expect(waited.current).toBe(server);
  expect(view(r).object(ptrOf(r, NTFN))).toMatchObject({ queue: [r.plan.rootTCB], word: 0 });
  const sent = enter(r, S.seL4_SysNBSendRecv, [[Reg.t0, NTFN_BADGED], [Reg.a0, EP], [Reg.a6, REPLY], [Reg.a1, 0]], serverBuffer);
  expect(sent.caller!.state).toBe('BlockedOnReceive');
  expect(sent.current).toBe(r.plan.rootTCB);
  // Signal woke the waiter: the badge in a0, the notification idle again
  expect(regsOf(r, r.plan.rootTCB)[Reg.a0]).toBe(0x9);
  expect(view(r).object(ptrOf(r, NTFN))).toMatchObject({ queue: [], word: 0 });
}

describe('impl IPC', () => {
  it('a blocked receiver gets the sender\'s badge, label and words; the endpoint queue and state follow', () => {
    const { r, server, ep, reply } = setup();
    serverWaitsOnEndpoint(r, server);
    expect(view(r).object(ep)).toEqual({ type: 'endpoint', addr: ep, state: 'Recv', queue: [server] });
    expect(view(r).object(server)).toMatchObject({
      state: 'BlockedOnReceive', blocking: { object: ep, badge: 0, canGrant: false, canGrantReply: false, isCall: false, reply },
    });
    expect(view(r).object(reply)).toEqual({ type: 'reply', addr: reply, tcb: server, schedContext: null });
    // the root sends 3 words with label 7 through the badged cap; the length is clamped by nothing
    const info = seL4_MessageInfo_new(7, 0, 0, 3);
    const obs = enter(r, S.seL4_SysSend, [[Reg.a0, EP_BADGED], [Reg.a1, info], [Reg.a2, 11], [Reg.a3, 22], [Reg.a4, 33], [Reg.a5, 44]]);
    expect(obs.caller!.state).toBe('Running');
    expect(obs.current).toBe(r.plan.rootTCB);
    for (const touched of [ep, server, reply, r.plan.rootTCB]) expect(r.lastTouched.objects).toContain(touched);
    const regs = regsOf(r, server);
    expect([regs[Reg.a0], regs[Reg.a1], regs[Reg.a2], regs[Reg.a3], regs[Reg.a4]]).toEqual([0x55, info, 11, 22, 33]);
    expect(regs[Reg.a5]).toBe(0); // past the length: untouched
    expect(view(r).object(ep)).toMatchObject({ state: 'Idle', queue: [] });
    // a plain send: the reply object is let go, the server runs when the root stops
    expect(view(r).object(reply)).toMatchObject({ tcb: null });
    expect(view(r).object(server)).toMatchObject({ state: 'Running', blocking: null });
    expect(view(r).scheduler().readyQueues).toEqual([{ priority: 100, threads: [server] }]);
  });

  it('a sender blocks in priority order; a non-blocking send to no receiver does nothing', () => {
    const { r, server, ep } = setup();
    enter(r, S.seL4_SysNBSend, [[Reg.a0, EP], [Reg.a1, 0]]);
    expect(view(r).object(ep)).toMatchObject({ state: 'Idle', queue: [] });
    const obs = enter(r, S.seL4_SysCall, [[Reg.a0, EP_BADGED], [Reg.a1, seL4_MessageInfo_new(1, 0, 0, 0)]]);
    expect(obs.caller!.state).toBe('BlockedOnSend');
    expect(obs.current).toBe(server);
    expect(view(r).object(r.plan.rootTCB)).toMatchObject({
      blocking: { object: ep, badge: 0x55, canGrant: true, canGrantReply: true, isCall: true, reply: null },
    });
    expect(view(r).object(ep)).toMatchObject({ state: 'Send', queue: [r.plan.rootTCB] });
    // the server receives without a reply cap (Wait): the Call cannot be answered, the caller is Inactive
    const got = enter(r, S.seL4_SysWait, [[Reg.a0, EP]]);
    expect(got.caller!.state).toBe('Running');
    expect(regsOf(r, server)[Reg.a0]).toBe(0x55);
    expect(view(r).object(r.plan.rootTCB)).toMatchObject({ state: 'Inactive', blocking: null });
    expect(view(r).object(ep)).toMatchObject({ state: 'Idle', queue: [] });
  });

  it('Call donates the caller\'s SC to a passive server through the reply object; ReplyRecv returns it', () => {
    const { r, server, serverSC, ep, reply } = setup();
    serverWaitsOnEndpoint(r, server);
    // make the blocked server passive
    expect(r.api.seL4_SchedContext_UnbindObject(SERVER + 1, SERVER)).toBe(E.seL4_NoError);
    expect(view(r).object(server)).toMatchObject({ schedContext: null, state: 'BlockedOnReceive' });
    const rootSC = r.plan.rootSC;
    const call = enter(r, S.seL4_SysCall, [[Reg.a0, EP], [Reg.a1, seL4_MessageInfo_new(5, 0, 0, 2)], [Reg.a2, 7], [Reg.a3, 8]]);
    expect(call.caller!.state).toBe('BlockedOnReply');
    expect(call.current).toBe(server);
    expect(view(r).scheduler().currentSchedContext).toBe(rootSC);
    const sregs = regsOf(r, server);
    expect([sregs[Reg.a0], sregs[Reg.a1], sregs[Reg.a2], sregs[Reg.a3]]).toEqual([0, seL4_MessageInfo_new(5, 0, 0, 2), 7, 8]);
    expect(view(r).object(reply)).toEqual({ type: 'reply', addr: reply, tcb: r.plan.rootTCB, schedContext: rootSC });
    expect(view(r).object(rootSC)).toMatchObject({ tcb: server, replies: [reply] });
    expect(view(r).object(r.plan.rootTCB)).toMatchObject({ schedContext: null, blocking: { object: null, reply } });
    expect(view(r).object(serverSC)).toMatchObject({ tcb: null, replies: [] });
    // ReplyRecv: the reply goes back with the SC, and the server waits again with the same reply object
    const rr = enter(r, S.seL4_SysReplyRecv, [[Reg.a0, EP], [Reg.a6, REPLY], [Reg.a1, seL4_MessageInfo_new(0, 0, 0, 1)], [Reg.a2, 99]]);
    expect(rr.caller!.state).toBe('BlockedOnReceive');
    expect(rr.current).toBe(r.plan.rootTCB);
    const rregs = regsOf(r, r.plan.rootTCB);
    expect([rregs[Reg.a0], rregs[Reg.a1], rregs[Reg.a2]]).toEqual([0, seL4_MessageInfo_new(0, 0, 0, 1), 99]);
    expect(view(r).object(rootSC)).toMatchObject({ tcb: r.plan.rootTCB, replies: [] });
    expect(view(r).object(server)).toMatchObject({ schedContext: null, blocking: { object: ep, reply } });
    expect(view(r).object(reply)).toEqual({ type: 'reply', addr: reply, tcb: server, schedContext: null });
  });

  it('a signal to a notification bound to a thread blocked in Recv wakes it with the badge and lends the notification\'s SC', () => {
    const { r, server, serverSC, ep, reply } = setup();
    serverWaitsOnEndpoint(r, server);
    expect(r.api.seL4_SchedContext_UnbindObject(SERVER + 1, SERVER)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_BindNotification(SERVER, NTFN)).toBe(E.seL4_NoError);
    expect(r.api.seL4_SchedContext_Bind(SERVER + 1, NTFN)).toBe(E.seL4_NoError);
    const signalled = enter(r, S.seL4_SysSend, [[Reg.a0, NTFN_BADGED], [Reg.a1, 0]]);
    expect(signalled.caller!.state).toBe('Running');
    expect(regsOf(r, server)[Reg.a0]).toBe(0x9);
    expect(view(r).object(server)).toMatchObject({ state: 'Running', blocking: null, schedContext: serverSC });
    expect(view(r).object(serverSC)).toMatchObject({ tcb: server, notification: ptrOf(r, NTFN) });
    expect(view(r).object(ep)).toMatchObject({ state: 'Idle', queue: [] });
    expect(view(r).object(reply)).toMatchObject({ tcb: null });
    expect(view(r).object(ptrOf(r, NTFN))).toMatchObject({ word: 0, queue: [] });
    expect(view(r).scheduler().readyQueues).toEqual([{ priority: 100, threads: [server] }]);
  });

  it('deleting the endpoint restarts its queued receiver; deleting the reply object of a pending Call returns the SC', () => {
    const { r, server, ep, reply } = setup();
    serverWaitsOnEndpoint(r, server);
    expect(r.api.seL4_CNode_Delete(CNODE, EP_BADGED, D)).toBe(E.seL4_NoError);
    expect(view(r).object(ep)).toMatchObject({ queue: [server] });
    expect(r.api.seL4_CNode_Delete(CNODE, EP, D)).toBe(E.seL4_NoError);
    expect(view(r).object(server)).toMatchObject({ state: 'Restart', blocking: null });
    expect(view(r).object(reply)).toMatchObject({ tcb: null });
    expect(view(r).scheduler().readyQueues).toEqual([{ priority: 100, threads: [server] }]);

    const second = setup();
    serverWaitsOnEndpoint(second.r, second.server);
    const q = second.r;
    expect(q.api.seL4_SchedContext_UnbindObject(SERVER + 1, SERVER)).toBe(E.seL4_NoError);
    expect(enter(q, S.seL4_SysCall, [[Reg.a0, EP], [Reg.a1, 0]]).current).toBe(second.server);
    // the server deletes the reply cap mid-call (a CNode Delete through the shared CSpace)
    const del = enter(q, S.seL4_SysCall, [[Reg.a0, CNODE], [Reg.a1, seL4_MessageInfo_new(InvocationLabel.CNodeDelete, 0, 0, 2)], [Reg.a2, REPLY], [Reg.a3, D]]);
    expect(del.caller!.regs[Reg.a1]).toBe(0);
    expect(view(q).object(q.plan.rootTCB)).toMatchObject({ state: 'Inactive', schedContext: q.plan.rootSC });
    expect(view(q).object(q.plan.rootSC)).toMatchObject({ tcb: q.plan.rootTCB, replies: [] });
    expect(view(q).object(second.reply)).toEqual({ type: 'reply', addr: second.reply, tcb: null, schedContext: null });
  });

  it('receivers queue in priority order; a priority change reorders the queue and a removal from its middle touches the endpoint', () => {
    const { r, server, ep } = setup();
    const b = makeThread(r, 230, 150, roundRobin);
    const c = makeThread(r, 233, 120, roundRobin);
    expect(enter(r, S.seL4_SysWait, [[Reg.a0, NTFN]]).current).toBe(b);
    expect(enter(r, S.seL4_SysWait, [[Reg.a0, EP]]).current).toBe(c);
    expect(enter(r, S.seL4_SysWait, [[Reg.a0, EP]]).current).toBe(server);
    const last = enter(r, S.seL4_SysNBSendRecv, [[Reg.t0, NTFN_BADGED], [Reg.a0, EP], [Reg.a6, REPLY], [Reg.a1, 0]]);
    expect(last.current).toBe(r.plan.rootTCB);
    expect(view(r).object(ep)).toMatchObject({ state: 'Recv', queue: [b, c, server] });
    expect(r.api.seL4_TCB_SetPriority(SERVER, ROOT_TCB, 130)).toBe(E.seL4_NoError);
    expect(view(r).object(ep)).toMatchObject({ queue: [b, server, c] });
    expect(r.api.seL4_TCB_SetPriority(233, ROOT_TCB, 150)).toBe(E.seL4_NoError);
    expect(view(r).object(ep)).toMatchObject({ queue: [b, c, server] });
    const suspended = enter(r, S.seL4_SysCall, [[Reg.a0, 233], [Reg.a1, seL4_MessageInfo_new(InvocationLabel.TCBSuspend, 0, 0, 0)]]);
    expect(suspended.caller!.state).toBe('Running');
    expect(view(r).object(ep)).toMatchObject({ state: 'Recv', queue: [b, server] });
    expect(r.lastTouched.objects).toContain(ep);
  });

  it('a call chain through two passive servers stacks both replies; deleting the bottom reply cuts the chain, deleting the SC drops its stack', () => {
    const { r, server: s1, reply: r1 } = setup();
    const ut = r.untyped(16);
    expect(r.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, CNODE, 0, 0, EP2, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_Untyped_Retype(ut, T.seL4_ReplyObject, 0, CNODE, 0, 0, REPLY2, 1)).toBe(E.seL4_NoError);
    const s2 = makeThread(r, 230, 150, roundRobin);
    const r2 = ptrOf(r, REPLY2);
    // S2 (150) blocks on EP2 with R2, then S1 (100) wakes the root and blocks on EP with R1
    expect(enter(r, S.seL4_SysWait, [[Reg.a0, NTFN]]).current).toBe(s2);
    expect(enter(r, S.seL4_SysRecv, [[Reg.a0, EP2], [Reg.a6, REPLY2]]).current).toBe(s1);
    expect(enter(r, S.seL4_SysNBSendRecv, [[Reg.t0, NTFN_BADGED], [Reg.a0, EP], [Reg.a6, REPLY], [Reg.a1, 0]]).current).toBe(r.plan.rootTCB);
    expect(r.api.seL4_SchedContext_UnbindObject(SERVER + 1, SERVER)).toBe(E.seL4_NoError);
    expect(r.api.seL4_SchedContext_UnbindObject(231, 230)).toBe(E.seL4_NoError);
    const rootSC = r.plan.rootSC;
    expect(enter(r, S.seL4_SysCall, [[Reg.a0, EP], [Reg.a1, 0]]).current).toBe(s1);
    expect(enter(r, S.seL4_SysCall, [[Reg.a0, EP2], [Reg.a1, 0]]).current).toBe(s2);
    expect(view(r).object(rootSC)).toMatchObject({ tcb: s2, replies: [r2, r1] });
    expect(view(r).object(r2)).toEqual({ type: 'reply', addr: r2, tcb: s1, schedContext: rootSC });
    expect(view(r).object(r1)).toEqual({ type: 'reply', addr: r1, tcb: r.plan.rootTCB, schedContext: null });
    // S2 deletes R1's cap: the root's call is cut off (Inactive), the stack keeps R2 only
    const deleteCap = (slot: number) => enter(r, S.seL4_SysCall, [
      [Reg.a0, CNODE], [Reg.a1, seL4_MessageInfo_new(InvocationLabel.CNodeDelete, 0, 0, 2)], [Reg.a2, slot], [Reg.a3, D],
    ]);
    expect(deleteCap(REPLY).caller!.regs[Reg.a1]).toBe(0);
    expect(view(r).object(r.plan.rootTCB)).toMatchObject({ state: 'Inactive', schedContext: null });
    expect(view(r).object(rootSC)).toMatchObject({ tcb: s2, replies: [r2] });
    expect(view(r).object(r1)).toMatchObject({ tcb: null, schedContext: null });
    expect(r.lastTouched.objects).toContain(rootSC);
    // S2 deletes the SC it runs on: it loses it, and R2 no longer heads a stack; nothing can run
    const gone = deleteCap(seL4_CapInitThreadSC);
    expect(gone.current).toBeNull();
    expect(view(r).object(rootSC)).toMatchObject({ tcb: null, replies: [] });
    expect(view(r).object(r2)).toEqual({ type: 'reply', addr: r2, tcb: s1, schedContext: null });
    expect(view(r).object(s1)).toMatchObject({ state: 'BlockedOnReply', blocking: { reply: r2 } });
    expect(view(r).object(s2)).toMatchObject({ state: 'Running', schedContext: null });
  });

  it('Suspend of a waiter takes it off the notification queue', () => {
    const { r, server, ntfn } = setup();
    expect(enter(r, S.seL4_SysWait, [[Reg.a0, NTFN]]).current).toBe(server);
    const suspend = enter(r, S.seL4_SysCall, [[Reg.a0, ROOT_TCB], [Reg.a1, seL4_MessageInfo_new(InvocationLabel.TCBSuspend, 0, 0, 0)]]);
    expect(suspend.caller!.state).toBe('Running');
    expect(view(r).object(r.plan.rootTCB)).toMatchObject({ state: 'Inactive', blocking: null });
    expect(view(r).object(ntfn)).toMatchObject({ queue: [], word: 0 });
  });

  it('CancelBadgedSends restarts the queued senders of its badge; with badge 0 it does nothing', () => {
    const { r, server, ep } = setup();
    expect(enter(r, S.seL4_SysSend, [[Reg.a0, EP_BADGED], [Reg.a1, 0]]).current).toBe(server);
    const cancel = (slot: number) => enter(r, S.seL4_SysCall, [
      [Reg.a0, CNODE], [Reg.a1, seL4_MessageInfo_new(InvocationLabel.CNodeCancelBadgedSends, 0, 0, 2)], [Reg.a2, slot], [Reg.a3, D],
    ]);
    expect(cancel(EP).current).toBe(server);
    expect(view(r).object(ep)).toMatchObject({ state: 'Send', queue: [r.plan.rootTCB] });
    const obs = cancel(EP_BADGED);
    expect(obs.caller!.regs[Reg.a1]).toBe(0);
    expect(obs.current).toBe(r.plan.rootTCB);
    expect(view(r).object(ep)).toMatchObject({ state: 'Idle', queue: [] });
    expect(view(r).object(r.plan.rootTCB)).toMatchObject({ state: 'Running', blocking: null });
  });

  it('transfers a cap into the receive slot and unwraps a badged cap of the same endpoint', () => {
    const { r, server } = setup();
    serverWaitsOnEndpoint(r, server, [[IPCBuffer.receiveCNode, CNODE], [IPCBuffer.receiveIndex, RECEIVED], [IPCBuffer.receiveDepth, D]]);
    r.api.seL4_SetCap(0, EP_BADGED);
    r.api.seL4_SetCap(1, NTFN_BADGED);
    r.api.seL4_SetCap(2, seL4_CapInitThreadSC);
    const info = seL4_MessageInfo_new(3, 0, 3, 0);
    r.api.rawSyscall([[Reg.a0, EP], [Reg.a1, info], [Reg.a7, syscallWord(S.seL4_SysSend)]]);
    // cap 0 unwrapped, cap 1 transferred, cap 2 finds the slot used: extraCaps = 2
    expect(regsOf(r, server)[Reg.a1]).toBe(seL4_MessageInfo_new(3, 1, 2, 0));
    const bufferWord = (i: number) => view(r).userWord(ptrOf(r, SERVER + 2) + i * 4);
    expect(bufferWord(IPCBuffer.capsOrBadges)).toBe(0x55);
    expect(r.cap(RECEIVED)).toMatchObject({ type: 'notification', badge: 0x9 });
    expect(r.parent(RECEIVED)).toEqual(r.slot(NTFN_BADGED));
    expect(r.lastTouched.slots).toContainEqual(r.slot(RECEIVED));
  });

  it('without Grant no cap moves; a full receive slot takes none but badges are still unwrapped; a Call without Grant or GrantReply leaves the caller Inactive', () => {
    const { r, server } = setup();
    const NO_GRANT = 240;
    expect(r.api.seL4_CNode_Mint(CNODE, NO_GRANT, D, CNODE, EP, D, seL4_CanRead | seL4_CanWrite, 0x77)).toBe(E.seL4_NoError);
    // the receive slot names the root CNode's own slot 2: full
    serverWaitsOnEndpoint(r, server, [[IPCBuffer.receiveCNode, CNODE], [IPCBuffer.receiveIndex, CNODE], [IPCBuffer.receiveDepth, D]]);
    r.api.seL4_SetCap(0, EP_BADGED);
    r.api.seL4_SetCap(1, NTFN_BADGED);
    r.api.rawSyscall([[Reg.a0, NO_GRANT], [Reg.a1, seL4_MessageInfo_new(1, 0, 2, 0)], [Reg.a7, syscallWord(S.seL4_SysSend)]]);
    expect(regsOf(r, server)[Reg.a0]).toBe(0x77);
    expect(regsOf(r, server)[Reg.a1]).toBe(seL4_MessageInfo_new(1, 0, 0, 0));

    const again = setup();
    serverWaitsOnEndpoint(again.r, again.server, [[IPCBuffer.receiveCNode, CNODE], [IPCBuffer.receiveIndex, CNODE], [IPCBuffer.receiveDepth, D]]);
    again.r.api.seL4_SetCap(0, NTFN_BADGED);
    again.r.api.seL4_SetCap(1, EP_BADGED);
    again.r.api.rawSyscall([[Reg.a0, EP], [Reg.a1, seL4_MessageInfo_new(1, 0, 2, 0)], [Reg.a7, syscallWord(S.seL4_SysSend)]]);
    // cap 0 needs the (full) slot: the transfer stops there, before the badge of cap 1
    expect(regsOf(again.r, again.server)[Reg.a1]).toBe(seL4_MessageInfo_new(1, 0, 0, 0));
    expect(again.r.cap(CNODE)).toMatchObject({ type: 'cnode' });

    const third = setup();
    serverWaitsOnEndpoint(third.r, third.server);
    expect(third.r.api.seL4_CNode_Mint(CNODE, NO_GRANT, D, CNODE, EP, D, seL4_CanRead | seL4_CanWrite, 0x77)).toBe(E.seL4_NoError);
    const call = enter(third.r, S.seL4_SysCall, [[Reg.a0, NO_GRANT], [Reg.a1, 0]]);
    expect(call.caller!.state).toBe('Inactive');
    expect(view(third.r).object(third.reply)).toMatchObject({ tcb: null });
    expect(view(third.r).object(third.server)).toMatchObject({ state: 'Running' });
  });

  it('a two-phase syscall whose receive faults runs its first phase, then sends the receive-phase cap fault to the handler', () => {
    const { r, ntfn, ep } = setup();
    expect(r.api.seL4_TCB_SetSchedParams(ROOT_TCB, ROOT_TCB, 255, 255, seL4_CapInitThreadSC, EP)).toBe(E.seL4_NoError);
    // NBSendWait: the first phase signals the notification; the Wait on an empty slot faults
    const obs = enter(r, S.seL4_SysNBSendWait, [[Reg.a6, NTFN_BADGED], [Reg.a0, 250], [Reg.a1, 0]]);
    expect(obs.unmodelled).toBeNull();
    expect(view(r).object(ntfn)).toMatchObject({ word: 0x9, queue: [] });
    expect(obs.caller!.state).toBe('BlockedOnSend');
    expect(view(r).object(r.plan.rootTCB)).toMatchObject({ fault: { type: 'CapFault', words: [250, 1, 2, 0] } });
    expect(view(r).object(ep)).toMatchObject({ state: 'Send', queue: [r.plan.rootTCB] });
  });

  it('a passive server replying with Send on the reply cap gives the SC back and stops (sel4test IPC0016); a Call on a free reply cap gets the empty reply', () => {
    const { r, server, reply } = setup();
    serverWaitsOnEndpoint(r, server);
    expect(r.api.seL4_SchedContext_UnbindObject(SERVER + 1, SERVER)).toBe(E.seL4_NoError);
    expect(enter(r, S.seL4_SysCall, [[Reg.a0, EP], [Reg.a1, 0]]).current).toBe(server);
    const replied = enter(r, S.seL4_SysSend, [[Reg.a0, REPLY], [Reg.a1, seL4_MessageInfo_new(0, 0, 0, 1)], [Reg.a2, 5]]);
    expect(replied.caller!.state).toBe('Running');
    expect(replied.current).toBe(r.plan.rootTCB);
    expect(regsOf(r, r.plan.rootTCB)[Reg.a2]).toBe(5);
    expect(view(r).object(server)).toMatchObject({ schedContext: null, state: 'Running' });
    expect(view(r).object(r.plan.rootSC)).toMatchObject({ tcb: r.plan.rootTCB, replies: [] });
    expect(view(r).scheduler().readyQueues).toEqual([]);
    // the reply object is free now: a Call on it replies empty
    const empty = enter(r, S.seL4_SysCall, [[Reg.a0, REPLY], [Reg.a1, seL4_MessageInfo_new(3, 0, 0, 0)], [Reg.a2, 1]]);
    expect(empty.caller!.regs[Reg.a1]).toBe(0);
    expect(empty.caller!.regs[Reg.a0]).toBe(0);
    expect(view(r).object(reply)).toMatchObject({ tcb: null });
  });
});
