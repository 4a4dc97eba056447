// IPC on the executable spec: send and receive with badges and message words, Call and ReplyRecv
// through a reply object, donation to a passive server and its return, notifications that block,
// a bound notification delivered to a receiver, cancellation on deletion, cap transfer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as IL,
  IPCBuffer,
  messageInfoFromWord,
  Reg,
  seL4_AllRights,
  seL4_CanWrite,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType as T,
  seL4_Syscall as S,
  type Word,
} from '../../libsel4/index.ts';
import { ROOT } from './harness.ts';
import { IPC } from './ipc-harness.ts';

const E = seL4_Error;

const info = (label: number, length: number, extraCaps = 0) => seL4_MessageInfo_new(label, 0, extraCaps, length);

describe('endpoints', () => {
  it('a blocked sender delivers its badge, label and words (registers, then the IPC buffer) to a receiver', () => {
    const h = new IPC();
    const { ep, reply, ntfn } = h.ipcObjects();
    const badged = h.mint(ep, seL4_CanWrite, 0x55);
    const a = h.thread(100);
    h.yieldToThreads();
    // a blocks sending first; b, made later at a higher priority, queues before it.
    h.sys(a.tcb, S.seL4_SysSend, [[Reg.a0, badged], [Reg.a1, info(7, 6)], [Reg.a2, 1], [Reg.a3, 2], [Reg.a4, 3], [Reg.a5, 4]], [[5, 5], [6, 6]]);
    const b = h.thread(150);
    h.sys(b.tcb, S.seL4_SysSend, [[Reg.a0, badged], [Reg.a1, info(9, 1)], [Reg.a2, 0xb]]);
    expect(h.view(h.ptr(ep))).toEqual({ type: 'endpoint', addr: h.ptr(ep), state: 'Send', queue: [b.tcb, a.tcb] });
    expect(h.view(a.tcb)).toMatchObject({
      state: 'BlockedOnSend', blocking: { object: h.ptr(ep), badge: 0x55, canGrant: false, canGrantReply: false, isCall: false, reply: null },
    });
    expect(h.state.current).toBe(h.rootTCB);
    // The root receives b's message first (priority order), then a's.
    h.sys(h.rootTCB, S.seL4_SysNBRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    expect(h.regs(h.rootTCB)[Reg.a0]).toBe(0x55);
    expect(messageInfoFromWord(h.regs(h.rootTCB)[Reg.a1]!)).toEqual({ label: 9, capsUnwrapped: 0, extraCaps: 0, length: 1 });
    expect(h.state.current).toBe(b.tcb);
    h.sys(b.tcb, S.seL4_SysWait, [[Reg.a0, ntfn]]);
    h.sys(h.rootTCB, S.seL4_SysNBRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    const root = h.regs(h.rootTCB);
    expect(messageInfoFromWord(root[Reg.a1]!)).toEqual({ label: 7, capsUnwrapped: 0, extraCaps: 0, length: 6 });
    expect([root[Reg.a2], root[Reg.a3], root[Reg.a4], root[Reg.a5]]).toEqual([1, 2, 3, 4]);
    expect(h.buffer(h.rootTCB).slice(5, 7)).toEqual([5, 6]);
    expect(h.view(h.ptr(ep))).toMatchObject({ state: 'Idle', queue: [] });
    expect(h.state.current).toBe(a.tcb);
    expect(h.view(a.tcb)).toMatchObject({ state: 'Running', blocking: null });
    // a waits to receive with no reply object (Wait): the endpoint is in state Recv.
    h.sys(a.tcb, S.seL4_SysWait, [[Reg.a0, ep]]);
    expect(h.view(h.ptr(ep))).toMatchObject({ state: 'Recv', queue: [a.tcb] });
    expect(h.view(a.tcb)).toMatchObject({ state: 'BlockedOnReceive', blocking: { object: h.ptr(ep), reply: null, badge: 0, isCall: false } });
  });

  it('a non-blocking send with no receiver is dropped; a non-blocking receive with no sender gets badge 0', () => {
    const h = new IPC();
    const { ep, reply } = h.ipcObjects();
    h.sys(h.rootTCB, S.seL4_SysNBSend, [[Reg.a0, ep], [Reg.a1, info(1, 0)]]);
    expect(h.view(h.ptr(ep))).toMatchObject({ state: 'Idle', queue: [] });
    h.sys(h.rootTCB, S.seL4_SysNBRecv, [[Reg.a0, ep], [Reg.a6, reply], [Reg.a1, 0x1234]]);
    expect(h.regs(h.rootTCB)[Reg.a0]).toBe(0);
    expect(h.regs(h.rootTCB)[Reg.a1]).toBe(0x1234);
    expect(h.view(h.rootTCB)).toMatchObject({ state: 'Running' });
  });
});

describe('Call, ReplyRecv and donation', () => {
  it('a Call to a passive server donates the caller\'s SC through the reply object; the reply returns it', () => {
    const h = new IPC();
    const { ep, reply } = h.ipcObjects();
    const server = h.thread(200);
    const [epAddr, replyAddr, rootSC] = [h.ptr(ep), h.ptr(reply), h.ptr(seL4_CapInitThreadSC)];
    h.yieldToThreads();
    h.sys(server.tcb, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    expect(h.view(server.tcb)).toMatchObject({ state: 'BlockedOnReceive', blocking: { object: epAddr, reply: replyAddr } });
    expect(h.view(replyAddr)).toEqual({ type: 'reply', addr: replyAddr, tcb: server.tcb, schedContext: null });
    // The server becomes passive.
    expect(h.api.seL4_SchedContext_UnbindObject(server.scSlot, server.tcbSlot)).toBe(E.seL4_NoError);
    expect(h.view(server.tcb)).toMatchObject({ schedContext: null });

    h.sys(h.rootTCB, S.seL4_SysCall, [[Reg.a0, ep], [Reg.a1, info(3, 1)], [Reg.a2, 10]]);
    expect(h.state.current).toBe(server.tcb);
    expect(h.view(h.rootTCB)).toMatchObject({ state: 'BlockedOnReply', schedContext: null, blocking: { object: null, reply: replyAddr } });
    expect(h.view(server.tcb)).toMatchObject({ state: 'Running', schedContext: rootSC });
    expect(h.view(rootSC)).toMatchObject({ tcb: server.tcb, replies: [replyAddr] });
    expect(h.view(replyAddr)).toEqual({ type: 'reply', addr: replyAddr, tcb: h.rootTCB, schedContext: rootSC });
    expect(h.regs(server.tcb)[Reg.a2]).toBe(10);
    expect(messageInfoFromWord(h.regs(server.tcb)[Reg.a1]!).label).toBe(3);

    h.sys(server.tcb, S.seL4_SysReplyRecv, [[Reg.a0, ep], [Reg.a6, reply], [Reg.a1, info(0, 1)], [Reg.a2, 11]]);
    expect(h.state.current).toBe(h.rootTCB);
    expect(h.view(h.rootTCB)).toMatchObject({ state: 'Running', schedContext: rootSC, blocking: null });
    expect(h.view(rootSC)).toMatchObject({ tcb: h.rootTCB, replies: [] });
    expect(h.view(server.tcb)).toMatchObject({ state: 'BlockedOnReceive', schedContext: null });
    expect(h.view(replyAddr)).toEqual({ type: 'reply', addr: replyAddr, tcb: server.tcb, schedContext: null });
    expect(h.regs(h.rootTCB)[Reg.a0]).toBe(0);
    expect(h.regs(h.rootTCB)[Reg.a2]).toBe(11);
    expect(messageInfoFromWord(h.regs(h.rootTCB)[Reg.a1]!)).toEqual({ label: 0, capsUnwrapped: 0, extraCaps: 0, length: 1 });
  });

  it('a Call to a server with its own SC donates nothing; a Call without Grant or GrantReply leaves the caller Inactive', () => {
    const h = new IPC();
    const { ep, reply } = h.ipcObjects();
    const sendOnly = h.mint(ep, seL4_CanWrite, 0);
    const server = h.thread(200);
    const rootSC = h.ptr(seL4_CapInitThreadSC);
    h.yieldToThreads();
    h.sys(server.tcb, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    h.sys(h.rootTCB, S.seL4_SysCall, [[Reg.a0, ep], [Reg.a1, info(3, 0)]]);
    expect(h.view(server.tcb)).toMatchObject({ state: 'Running', schedContext: server.sc });
    expect(h.view(h.rootTCB)).toMatchObject({ state: 'BlockedOnReply', schedContext: rootSC });
    expect(h.view(rootSC)).toMatchObject({ replies: [] });
    expect(h.view(h.ptr(reply))).toMatchObject({ tcb: h.rootTCB, schedContext: null });
    // The server replies with Send on the reply cap and waits again; the root runs on.
    h.sys(server.tcb, S.seL4_SysSend, [[Reg.a0, reply], [Reg.a1, info(0, 0)]]);
    expect(h.view(h.rootTCB)).toMatchObject({ state: 'Running' });

    h.sys(server.tcb, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    h.sys(h.rootTCB, S.seL4_SysCall, [[Reg.a0, sendOnly], [Reg.a1, info(3, 0)]]);
    expect(h.view(h.rootTCB)).toMatchObject({ state: 'Inactive', blocking: null });
    expect(h.view(h.ptr(reply))).toMatchObject({ tcb: null });
  });
});

describe('notifications', () => {
  it('Wait blocks until a Signal wakes the first waiter with the badge', () => {
    const h = new IPC();
    const ntfn = h.retype(T.seL4_NotificationObject);
    const badged = h.mint(ntfn, seL4_AllRights, 0x3);
    const w = h.thread(100);
    h.yieldToThreads();
    h.sys(w.tcb, S.seL4_SysWait, [[Reg.a0, ntfn]]);
    expect(h.view(w.tcb)).toMatchObject({ state: 'BlockedOnNotification', blocking: { object: h.ptr(ntfn), reply: null } });
    expect(h.view(h.ptr(ntfn))).toMatchObject({ word: 0, queue: [w.tcb] });
    h.sys(h.rootTCB, S.seL4_SysSend, [[Reg.a0, badged], [Reg.a1, 0]]);
    expect(h.state.current).toBe(w.tcb);
    expect(h.view(w.tcb)).toMatchObject({ state: 'Running', blocking: null });
    expect(h.regs(w.tcb)[Reg.a0]).toBe(0x3);
    expect(h.view(h.ptr(ntfn))).toMatchObject({ word: 0, queue: [] });
    // A second Signal with nobody waiting is kept in the word; Wait takes it without blocking.
    h.sys(w.tcb, S.seL4_SysSend, [[Reg.a0, badged], [Reg.a1, 0]]);
    expect(h.view(h.ptr(ntfn))).toMatchObject({ word: 0x3 });
    h.sys(w.tcb, S.seL4_SysWait, [[Reg.a0, ntfn]]);
    expect(h.view(w.tcb)).toMatchObject({ state: 'Running' });
    expect(h.view(h.ptr(ntfn))).toMatchObject({ word: 0 });
  });

  it('a bound notification wakes its thread blocked in Recv; a pending signal is taken by Recv instead of a message', () => {
    const h = new IPC();
    const { ep, reply, ntfn } = h.ipcObjects();
    const badged = h.mint(ntfn, seL4_AllRights, 0x5);
    const t = h.thread(100);
    expect(h.api.seL4_TCB_BindNotification(t.tcbSlot, ntfn)).toBe(E.seL4_NoError);
    h.yieldToThreads();
    h.sys(t.tcb, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    expect(h.view(h.ptr(ep))).toMatchObject({ state: 'Recv', queue: [t.tcb] });
    h.sys(h.rootTCB, S.seL4_SysSend, [[Reg.a0, badged], [Reg.a1, 0]]);
    expect(h.state.current).toBe(t.tcb);
    expect(h.view(t.tcb)).toMatchObject({ state: 'Running', blocking: null });
    expect(h.regs(t.tcb)[Reg.a0]).toBe(0x5);
    expect(h.view(h.ptr(ep))).toMatchObject({ state: 'Idle', queue: [] });
    expect(h.view(h.ptr(reply))).toMatchObject({ tcb: null });
    expect(h.view(h.ptr(ntfn))).toMatchObject({ word: 0 });

    h.sys(t.tcb, S.seL4_SysSend, [[Reg.a0, badged], [Reg.a1, 0]]);
    expect(h.view(h.ptr(ntfn))).toMatchObject({ word: 0x5 });
    h.sys(t.tcb, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    expect(h.view(t.tcb)).toMatchObject({ state: 'Running' });
    expect(h.regs(t.tcb)[Reg.a0]).toBe(0x5);
    expect(h.view(h.ptr(ntfn))).toMatchObject({ word: 0 });
    expect(h.view(h.ptr(ep))).toMatchObject({ state: 'Idle' });
  });

  it('a passive waiter borrows the notification\'s SC when signalled and gives it back when it waits again', () => {
    const h = new IPC();
    const ntfn = h.retype(T.seL4_NotificationObject);
    const w = h.thread(100);
    h.yieldToThreads();
    h.sys(w.tcb, S.seL4_SysWait, [[Reg.a0, ntfn]]);
    expect(h.api.seL4_SchedContext_UnbindObject(w.scSlot, w.tcbSlot)).toBe(E.seL4_NoError);
    expect(h.api.seL4_SchedContext_Bind(w.scSlot, ntfn)).toBe(E.seL4_NoError);
    h.sys(h.rootTCB, S.seL4_SysSend, [[Reg.a0, ntfn], [Reg.a1, 0]]);
    expect(h.state.current).toBe(w.tcb);
    expect(h.view(w.tcb)).toMatchObject({ state: 'Running', schedContext: w.sc });
    expect(h.view(w.sc)).toMatchObject({ tcb: w.tcb, notification: h.ptr(ntfn) });
    h.sys(w.tcb, S.seL4_SysWait, [[Reg.a0, ntfn]]);
    expect(h.view(w.tcb)).toMatchObject({ state: 'BlockedOnNotification', schedContext: null });
    expect(h.view(w.sc)).toMatchObject({ tcb: null, notification: h.ptr(ntfn) });
    expect(h.state.current).toBe(h.rootTCB);
  });
});

describe('cancellation and deletion', () => {
  it('deleting the last endpoint cap restarts every queued thread; Suspend cancels a receive and frees its reply object', () => {
    const h = new IPC();
    const ep = h.retype(T.seL4_EndpointObject);
    const ep2 = h.retype(T.seL4_EndpointObject);
    const reply = h.retype(T.seL4_ReplyObject);
    const a = h.thread(100);
    const b = h.thread(110);
    const c = h.thread(120);
    h.yieldToThreads();
    h.sys(c.tcb, S.seL4_SysRecv, [[Reg.a0, ep2], [Reg.a6, reply]]);
    h.sys(b.tcb, S.seL4_SysSend, [[Reg.a0, ep], [Reg.a1, info(0, 0)]]);
    h.sys(a.tcb, S.seL4_SysCall, [[Reg.a0, ep], [Reg.a1, info(0, 0)]]);
    expect(h.view(h.ptr(ep))).toMatchObject({ state: 'Send', queue: [b.tcb, a.tcb] });
    expect(h.view(a.tcb)).toMatchObject({ blocking: { isCall: true, canGrant: true, canGrantReply: true } });

    expect(h.view(h.ptr(reply))).toMatchObject({ tcb: c.tcb });
    expect(h.api.seL4_TCB_Suspend(c.tcbSlot)).toBe(E.seL4_NoError);
    expect(h.view(c.tcb)).toMatchObject({ state: 'Inactive', blocking: null });
    expect(h.view(h.ptr(ep2))).toMatchObject({ state: 'Idle', queue: [] });
    expect(h.view(h.ptr(reply))).toMatchObject({ tcb: null });

    // Both senders restart their syscalls; b, the higher priority, runs at once.
    const epAddr = h.ptr(ep);
    expect(h.api.seL4_CNode_Delete(ROOT, ep, 32)).toBe(E.seL4_NoError);
    expect(h.view(epAddr)).toMatchObject({ state: 'Idle', queue: [] });
    expect(h.view(a.tcb)).toMatchObject({ state: 'Restart', blocking: null });
    expect(h.state.current).toBe(b.tcb);
    expect(h.view(b.tcb)).toMatchObject({ state: 'Running', blocking: null });
  });

  it('CancelBadgedSends restarts the senders with that badge only', () => {
    const h = new IPC();
    const ep = h.retype(T.seL4_EndpointObject);
    const one = h.mint(ep, seL4_AllRights, 1);
    const two = h.mint(ep, seL4_AllRights, 2);
    const a = h.thread(100);
    const b = h.thread(110);
    h.yieldToThreads();
    h.sys(b.tcb, S.seL4_SysSend, [[Reg.a0, two], [Reg.a1, info(0, 0)]]);
    h.sys(a.tcb, S.seL4_SysSend, [[Reg.a0, one], [Reg.a1, info(0, 0)]]);
    expect(h.api.seL4_CNode_CancelBadgedSends(ROOT, one, 32)).toBe(E.seL4_NoError);
    expect(h.state.current).toBe(a.tcb);
    expect(h.view(a.tcb)).toMatchObject({ state: 'Running', blocking: null });
    expect(h.view(b.tcb)).toMatchObject({ state: 'BlockedOnSend', blocking: { badge: 2 } });
    expect(h.view(h.ptr(ep))).toMatchObject({ state: 'Send', queue: [b.tcb] });
  });

  it('deleting a reply object whose caller waits on it releases the caller, returning the donated SC', () => {
    const h = new IPC();
    const { ep, reply } = h.ipcObjects();
    const server = h.thread(200);
    const rootSC = h.ptr(seL4_CapInitThreadSC);
    h.yieldToThreads();
    h.sys(server.tcb, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    expect(h.api.seL4_SchedContext_UnbindObject(server.scSlot, server.tcbSlot)).toBe(E.seL4_NoError);
    h.sys(h.rootTCB, S.seL4_SysCall, [[Reg.a0, ep], [Reg.a1, info(0, 0)]]);
    expect(h.view(rootSC)).toMatchObject({ tcb: server.tcb, replies: [h.ptr(reply)] });
    // The server deletes the reply cap: the caller leaves BlockedOnReply (Inactive) and gets its SC back.
    expect(h.state.current).toBe(server.tcb);
    expect(h.api.seL4_CNode_Delete(ROOT, reply, 32)).toBe(E.seL4_NoError);
    expect(h.cap(reply)).toEqual({ type: 'null' });
    expect(h.state.current).toBeNull();
    expect(h.view(h.rootTCB)).toMatchObject({ state: 'Inactive', schedContext: rootSC });
    expect(h.view(rootSC)).toMatchObject({ tcb: h.rootTCB, replies: [] });
    expect(h.view(server.tcb)).toMatchObject({ schedContext: null });
  });
});

describe('deleting threads and scheduling contexts in a call', () => {
  /** The root calls a passive server through a reply object; returns the server, reply and root SC. */
  function calledServer(h: IPC): { server: ReturnType<IPC['thread']>; replyAddr: number; rootSC: number } {
    const { ep, reply } = h.ipcObjects();
    const server = h.thread(200);
    h.yieldToThreads();
    h.sys(server.tcb, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    expect(h.api.seL4_SchedContext_UnbindObject(server.scSlot, server.tcbSlot)).toBe(E.seL4_NoError);
    h.sys(h.rootTCB, S.seL4_SysCall, [[Reg.a0, ep], [Reg.a1, info(0, 0)]]);
    const rootSC = h.ptr(seL4_CapInitThreadSC);
    expect(h.view(rootSC)).toMatchObject({ tcb: server.tcb, replies: [h.ptr(reply)] });
    return { server, replyAddr: h.ptr(reply), rootSC };
  }

  it('deleting the donated SC drops its call stack; the caller stays blocked on its reply', () => {
    const h = new IPC();
    const { server, replyAddr, rootSC } = calledServer(h);
    expect(h.api.seL4_CNode_Delete(ROOT, seL4_CapInitThreadSC, 32)).toBe(E.seL4_NoError);
    expect(h.view(rootSC)).toMatchObject({ tcb: null, replies: [], refillMax: 0 });
    expect(h.view(replyAddr)).toEqual({ type: 'reply', addr: replyAddr, tcb: h.rootTCB, schedContext: null });
    expect(h.view(h.rootTCB)).toMatchObject({ state: 'BlockedOnReply', blocking: { reply: replyAddr } });
    expect(h.view(server.tcb)).toMatchObject({ schedContext: null });
    expect(h.state.current).toBeNull();
  });

  it('deleting the blocked caller takes its reply out of the stack; the SC stays with the server', () => {
    const h = new IPC();
    const { server, replyAddr, rootSC } = calledServer(h);
    expect(h.state.current).toBe(server.tcb);
    expect(h.api.seL4_CNode_Delete(ROOT, seL4_CapInitThreadTCB, 32)).toBe(E.seL4_NoError);
    expect(h.view(replyAddr)).toEqual({ type: 'reply', addr: replyAddr, tcb: null, schedContext: null });
    expect(h.view(rootSC)).toMatchObject({ tcb: server.tcb, replies: [] });
    expect(h.view(h.rootTCB)).toMatchObject({ state: 'Inactive', blocking: null, schedContext: null });
    expect(h.state.current).toBe(server.tcb);
  });
});

describe('cap transfer', () => {
  it('with Grant, an endpoint cap to the same endpoint is unwrapped into its badge and another cap fills the receive slot', () => {
    const h = new IPC();
    const { ep, reply, ntfn } = h.ipcObjects();
    const badged = h.mint(ep, seL4_AllRights, 0x77);
    const receiveSlot = h.freeSlot();
    const t = h.thread(100);
    h.yieldToThreads();
    const receivePath: [number, Word][] = [[IPCBuffer.receiveCNode, ROOT], [IPCBuffer.receiveIndex, receiveSlot], [IPCBuffer.receiveDepth, 32]];
    h.sys(t.tcb, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]], receivePath);
    h.sys(h.rootTCB, S.seL4_SysSend, [[Reg.a0, ep], [Reg.a1, info(4, 0, 2)]], [[IPCBuffer.capsOrBadges, badged], [IPCBuffer.capsOrBadges + 1, ntfn]]);
    expect(messageInfoFromWord(h.regs(t.tcb)[Reg.a1]!)).toEqual({ label: 4, capsUnwrapped: 0b01, extraCaps: 2, length: 0 });
    expect(h.buffer(t.tcb)[IPCBuffer.capsOrBadges]).toBe(0x77);
    expect(h.cap(receiveSlot)).toEqual(h.cap(ntfn));
    expect(h.parent(receiveSlot)).toEqual(h.root(ntfn));
  });

  it('without Grant no cap is transferred; a full receive slot takes none and stops the count', () => {
    const h = new IPC();
    const { ep, reply, ntfn } = h.ipcObjects();
    const noGrant = h.mint(ep, seL4_CanWrite, 0);
    const t = h.thread(100);
    h.yieldToThreads();
    const receivePath: [number, Word][] = [[IPCBuffer.receiveCNode, ROOT], [IPCBuffer.receiveIndex, ntfn], [IPCBuffer.receiveDepth, 32]];
    h.sys(t.tcb, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]], receivePath);
    h.sys(h.rootTCB, S.seL4_SysSend, [[Reg.a0, noGrant], [Reg.a1, info(4, 0, 1)]], [[IPCBuffer.capsOrBadges, ntfn]]);
    expect(messageInfoFromWord(h.regs(t.tcb)[Reg.a1]!)).toMatchObject({ extraCaps: 0, capsUnwrapped: 0 });
    h.sys(t.tcb, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    // Grant, but the receive slot (the notification's own slot) is full.
    h.sys(h.rootTCB, S.seL4_SysSend, [[Reg.a0, ep], [Reg.a1, info(4, 0, 1)]], [[IPCBuffer.capsOrBadges, ntfn]]);
    expect(messageInfoFromWord(h.regs(t.tcb)[Reg.a1]!)).toMatchObject({ extraCaps: 0, capsUnwrapped: 0 });
  });
});

describe('random IPC workloads', () => {
  /** Threads (one a passive server), endpoints, notifications, replies and badged caps: the caps a0 names most often, the reply caps, every other cap. */
  function world(): { h: IPC; targets: number[]; replies: number[]; caps: number[]; labels: number[] } {
    const h = new IPC();
    const { ep, reply, ntfn } = h.ipcObjects();
    const more = h.ipcObjects();
    const replies = [reply, more.reply, h.retype(T.seL4_ReplyObject)];
    const targets = [ep, more.ep, ntfn, more.ntfn, h.mint(ep, seL4_AllRights, 1), h.mint(ep, seL4_CanWrite, 2), h.mint(ntfn, seL4_AllRights, 4), ...replies];
    const threads = [h.thread(100), h.thread(110), h.thread(120)];
    expect(h.api.seL4_TCB_BindNotification(threads[0]!.tcbSlot, more.ntfn)).toBe(E.seL4_NoError);
    const caps = [...targets, ...threads.flatMap((t) => [t.tcbSlot, t.scSlot]), ROOT, 0, h.freeSlot()];
    h.yieldToThreads();
    // The highest thread becomes a passive server waiting on `ep`.
    const server = threads[2]!;
    h.sys(server.tcb, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    expect(h.api.seL4_SchedContext_UnbindObject(server.scSlot, server.tcbSlot)).toBe(E.seL4_NoError);
    return { h, targets, replies, caps, labels: [IL.CNodeDelete, IL.TCBSuspend, IL.TCBResume, IL.SchedContextUnbind, IL.SchedContextBind, IL.TCBSetPriority, IL.CNodeCancelBadgedSends, 0] };
  }

  const sysnos = [S.seL4_SysCall, S.seL4_SysReplyRecv, S.seL4_SysNBSendRecv, S.seL4_SysNBSendWait, S.seL4_SysSend, S.seL4_SysNBSend, S.seL4_SysRecv, S.seL4_SysNBRecv, S.seL4_SysWait, S.seL4_SysNBWait, S.seL4_SysYield];
  const pick = fc.nat({ max: 1000 });
  const opArb = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('time' as const), ticks: fc.bigInt({ min: 0n, max: 30_000n }) }), weight: 1 },
    {
      arbitrary: fc.record({
        kind: fc.constant('sys' as const), sysno: fc.constantFrom(...sysnos), a0: pick, a6: pick, t0: pick, label: pick, invoke: fc.nat({ max: 9 }),
        length: fc.nat({ max: 8 }), extraCaps: fc.nat({ max: 3 }), words: fc.array(pick, { minLength: 6, maxLength: 6 }),
      }),
      weight: 6,
    },
  );

  it('keep the scheduler and IPC invariants and never leave the model (deletion, suspension and unbinding included)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        const { h, targets, replies, caps, labels } = world();
        const cap = (i: number) => caps[i % caps.length]!;
        for (const op of ops) {
          if (op.kind === 'time' || h.state.current === null) {
            h.enter({ kind: 'time', ticks: op.kind === 'time' ? op.ticks : 1000n });
            continue;
          }
          // Now and then an invocation of any cap (deletion, suspension, unbinding), else IPC.
          const label = op.invoke === 0 ? labels[op.label % labels.length]! : op.label % 4;
          const a0 = op.invoke === 0 ? cap(op.a0) : targets[op.a0 % targets.length]!;
          const [w0, w1, w2, w3, w4, w5] = op.words.map(cap) as [number, number, number, number, number, number];
          const regs: [number, Word][] = [[Reg.a0, a0], [Reg.a6, op.a6 % 5 === 0 ? cap(op.a6) : replies[op.a6 % replies.length]!], [Reg.t0, targets[op.t0 % targets.length]!], [Reg.a1, info(label, op.length, op.extraCaps)], [Reg.a2, w0], [Reg.a3, op.words[1]! % 3 === 0 ? 32 : w1]];
          const buffer: [number, Word][] = [[IPCBuffer.capsOrBadges, w2], [IPCBuffer.capsOrBadges + 1, w3], [IPCBuffer.receiveCNode, ROOT], [IPCBuffer.receiveIndex, w4], [IPCBuffer.receiveDepth, w5 % 2 === 0 ? 32 : 0]];
          h.sys(h.state.current, op.sysno, regs, buffer);
          expect(h.last!.observation.unmodelled).toBeNull();
        }
      }),
      { numRuns: 60 },
    );
  });
});
