// The abstract spec's IPC: endpoints, message and cap transfer, reply objects and the call stack,
// scheduling-context donation, blocking notifications, cancellation and deletion. Threads share
// the root's CSpace; each has its own IPC buffer frame. Expected values follow seL4's rules
// (docs/sel4-facts.md sections 19-20).
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel,
  IPCBuffer,
  msgWordIndex,
  Reg,
  seL4_AllRights,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_Syscall as S,
  type Word,
} from '../../libsel4/index.ts';
import { info, ipcWorld, message, object, received, seen, sys, type IpcWorld } from './ipc-world.ts';
import { ok, ROOT_CNODE, ROOT_SC, ROOT_TCB } from './threads.ts';

const noBlocking = { object: null, badge: 0, canGrant: false, canGrantReply: false, isCall: false, reply: null };

/** t0 (current) waits on the endpoint with reply object r0. */
function t0Receives(w: IpcWorld): void {
  const o = sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]]);
  expect(o.caller?.state).toBe('BlockedOnReceive');
  expect(o.current).toBe(w.addr(ROOT_TCB));
}

describe('endpoints: send and receive', () => {
  it('a queued receiver gets the badge, label, length and words of a send, and runs; the endpoint goes Idle', () => {
    const w = ipcWorld({ t0: 200 });
    const [t0, ep, r0] = [w.addr(w.t0), w.addr(w.ep), w.addr(w.r0)];
    t0Receives(w);
    expect(object(w, w.ep)).toEqual({ type: 'endpoint', addr: ep, state: 'Recv', queue: [t0] });
    expect(w.tcb(w.t0).blocking).toEqual({ ...noBlocking, object: ep, reply: r0 });
    expect(object(w, w.r0)).toEqual({ type: 'reply', addr: r0, tcb: t0, schedContext: null });
    const o = sys(w, S.seL4_SysSend, message(w.ep2, info(7, 0, 0, 6), [11, 12, 13, 14]), [[msgWordIndex(4), 15], [msgWordIndex(5), 16]]);
    expect(o.caller?.state).toBe('Running');
    expect(o.current).toBe(t0);
    const t = seen(w, w.t0);
    expect(received(t)).toEqual([2, info(7, 0, 0, 6), 11, 12, 13, 14]);
    expect(t.ipcBuffer!.slice(msgWordIndex(4), msgWordIndex(6))).toEqual([15, 16]);
    expect(w.tcb(w.t0)).toMatchObject({ state: 'Running', blocking: null });
    expect(object(w, w.ep)).toEqual({ type: 'endpoint', addr: ep, state: 'Idle', queue: [] });
    expect(object(w, w.r0)).toMatchObject({ tcb: null });
  });

  it('a sender without a receiver blocks in priority order; NBRecv takes the head sender, which runs on', () => {
    const w = ipcWorld({ t0: 200, t1: 150 });
    const [root, t0, t1, ep] = [w.addr(ROOT_TCB), w.addr(w.t0), w.addr(w.t1), w.addr(w.ep)];
    expect(sys(w, S.seL4_SysSend, message(w.ep, info(1, 0, 0, 1), [0xa0])).current).toBe(t1);
    expect(sys(w, S.seL4_SysCall, message(w.ep, info(2, 0, 0, 1), [0xa1])).current).toBe(root);
    expect(object(w, w.ep)).toEqual({ type: 'endpoint', addr: ep, state: 'Send', queue: [t0, t1] });
    // A queued thread whose priority changes moves in the queue.
    expect(w.h.api.seL4_TCB_SetPriority(w.t1, ROOT_TCB, 250)).toBe(ok);
    expect(object(w, w.ep)).toMatchObject({ queue: [t1, t0] });
    expect(w.h.api.seL4_TCB_SetPriority(w.t1, ROOT_TCB, 150)).toBe(ok);
    expect(w.tcb(w.t0).blocking).toEqual({ ...noBlocking, object: ep, canGrant: true, canGrantReply: true });
    expect(w.tcb(w.t1).blocking).toEqual({ ...noBlocking, object: ep, canGrant: true, canGrantReply: true, isCall: true });
    // A message longer than seL4_MsgMaxLength is cut to 120 words.
    const o = sys(w, S.seL4_SysNBRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]]);
    expect(received(o.caller!)).toEqual([0, info(1, 0, 0, 1), 0xa0, 0, 0, 0]);
    expect(o.current).toBe(t0);
    expect(object(w, w.ep)).toEqual({ type: 'endpoint', addr: ep, state: 'Send', queue: [t1] });
    // t0 queues again, ahead of the lower-priority t1; a length over 120 is clamped.
    expect(sys(w, S.seL4_SysSend, message(w.ep, info(3, 0, 0, 127))).caller?.state).toBe('BlockedOnSend');
    expect(object(w, w.ep)).toMatchObject({ state: 'Send', queue: [t0, t1] });
    expect(received(sys(w, S.seL4_SysNBRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]]).caller!)[1]).toBe(info(3, 0, 0, 120));
    // t0 takes t1's Call with r0: t1 waits on r0; t0 has an SC, so nothing is donated.
    const call = sys(w, S.seL4_SysNBRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]]);
    expect(received(call.caller!).slice(0, 3)).toEqual([0, info(2, 0, 0, 1), 0xa1]);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'BlockedOnReply', blocking: { ...noBlocking, reply: w.addr(w.r0) }, schedContext: w.addr(w.s1) });
    expect(object(w, w.r0)).toMatchObject({ tcb: t1, schedContext: null });
    expect(object(w, w.ep)).toMatchObject({ state: 'Idle', queue: [] });
  });
});

describe('reply objects, the call stack and donation', () => {
  it('Call and ReplyRecv: the caller waits on the server\'s reply object, the reply comes back through it', () => {
    const w = ipcWorld({ t0: 200 });
    const [root, t0, r0] = [w.addr(ROOT_TCB), w.addr(w.t0), w.addr(w.r0)];
    t0Receives(w);
    const call = sys(w, S.seL4_SysCall, message(w.ep, info(9, 0, 0, 2), [5, 6]));
    expect(call.current).toBe(t0);
    expect(received(seen(w, w.t0)).slice(0, 4)).toEqual([0, info(9, 0, 0, 2), 5, 6]);
    expect(w.tcb(ROOT_TCB)).toMatchObject({ state: 'BlockedOnReply', blocking: { ...noBlocking, reply: r0 }, schedContext: w.addr(ROOT_SC) });
    expect(object(w, w.r0)).toEqual({ type: 'reply', addr: r0, tcb: root, schedContext: null });
    // The server replies and waits again in one ReplyRecv.
    const o = sys(w, S.seL4_SysReplyRecv, [...message(w.ep, info(0, 0, 0, 1), [99]), [Reg.a6, w.r0]]);
    expect(o.caller?.state).toBe('BlockedOnReceive');
    expect(o.current).toBe(root);
    expect(received(seen(w, ROOT_TCB)).slice(0, 3)).toEqual([0, info(0, 0, 0, 1), 99]);
    expect(object(w, w.r0)).toMatchObject({ tcb: t0, schedContext: null });
    // A second send on the reply cap (nobody waits on it) does nothing.
    expect(w.h.api.seL4_Call(w.r0, info(0, 0, 0, 0))).toBe(info(0, 0, 0, 0));
  });

  it('a Call to a passive server donates the caller\'s SC through the reply; the reply returns it', () => {
    const w = ipcWorld({ t1: 200 });
    const [root, t1, r1, rootSC] = [w.addr(ROOT_TCB), w.addr(w.t1), w.addr(w.r1), w.addr(ROOT_SC)];
    expect(sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r1]]).current).toBe(root);
    expect(w.h.api.seL4_SchedContext_Unbind(w.s1)).toBe(ok);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'BlockedOnReceive', schedContext: null });
    const call = sys(w, S.seL4_SysCall, message(w.ep, info(1, 0, 0, 1), [42]));
    expect(call.current).toBe(t1);
    expect(w.tcb(w.t1).schedContext).toBe(rootSC);
    expect(w.tcb(ROOT_TCB)).toMatchObject({ state: 'BlockedOnReply', schedContext: null, blocking: { ...noBlocking, reply: r1 } });
    expect(w.sc(ROOT_SC)).toMatchObject({ tcb: t1, replies: [r1] });
    expect(object(w, w.r1)).toEqual({ type: 'reply', addr: r1, tcb: root, schedContext: rootSC });
    expect(w.sched().currentSchedContext).toBe(rootSC);
    const o = sys(w, S.seL4_SysReplyRecv, [...message(w.ep, info(0, 0, 0, 1), [43]), [Reg.a6, w.r1]]);
    expect(o.current).toBe(root);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'BlockedOnReceive', schedContext: null });
    expect(w.tcb(ROOT_TCB)).toMatchObject({ state: 'Running', schedContext: rootSC, blocking: null });
    expect(w.sc(ROOT_SC)).toMatchObject({ tcb: root, replies: [] });
    expect(object(w, w.r1)).toEqual({ type: 'reply', addr: r1, tcb: t1, schedContext: null });
    expect(received(seen(w, ROOT_TCB)).slice(1, 3)).toEqual([info(0, 0, 0, 1), 43]);
  });

  it('deleting the reply object a donated SC went through returns the SC; the caller stops, the server loses it', () => {
    const w = ipcWorld({ t1: 200 });
    const [root, rootSC] = [w.addr(ROOT_TCB), w.addr(ROOT_SC)];
    sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r1]]);
    expect(w.h.api.seL4_SchedContext_Unbind(w.s1)).toBe(ok);
    sys(w, S.seL4_SysCall, message(w.ep, info(1, 0, 0, 0)));
    // The server, on the root's SC, deletes the reply cap (its CSpace is the root's CNode).
    const o = sys(w, S.seL4_SysCall, message(ROOT_CNODE, info(InvocationLabel.CNodeDelete, 0, 0, 2), [w.r1, 32]));
    expect(o.caller).toMatchObject({ state: 'Running' });
    expect(o.current).toBeNull();
    expect(w.tcb(ROOT_TCB)).toMatchObject({ state: 'Inactive', schedContext: rootSC, blocking: null });
    expect(w.sc(ROOT_SC)).toMatchObject({ tcb: root, replies: [] });
    expect(w.tcb(w.t1).schedContext).toBeNull();
  });
});

describe('send-receive syscalls', () => {
  it('NBSendRecv to a passive receiver donates the sender\'s SC without a reply, then the sender waits', () => {
    const w = ipcWorld({ t1: 200 });
    const [root, t1, rootSC] = [w.addr(ROOT_TCB), w.addr(w.t1), w.addr(ROOT_SC)];
    expect(sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r1]]).current).toBe(root);
    expect(w.h.api.seL4_SchedContext_Unbind(w.s1)).toBe(ok);
    const o = sys(w, S.seL4_SysNBSendRecv, [...message(w.epB, info(5, 0, 0, 1), [77]), [Reg.t0, w.ep], [Reg.a6, w.r0]]);
    expect(o.caller).toMatchObject({ state: 'BlockedOnReceive' });
    expect(o.current).toBe(t1);
    expect(received(seen(w, w.t1)).slice(0, 3)).toEqual([0, info(5, 0, 0, 1), 77]);
    expect(w.sc(ROOT_SC)).toMatchObject({ tcb: t1, replies: [] });
    expect(w.tcb(ROOT_TCB)).toMatchObject({ schedContext: null, blocking: { ...noBlocking, object: w.addr(w.epB), reply: w.addr(w.r0) } });
    expect(object(w, w.r1)).toMatchObject({ tcb: null, schedContext: null });
    expect(w.sched().currentSchedContext).toBe(rootSC);
  });

  it('a first phase on a TCB cap does nothing (InvalidCapability, dropped); the receive still happens', () => {
    const w = ipcWorld({});
    // A Suspend of the root itself, as a first phase: not performed; the root then waits on the notification.
    const o = sys(w, S.seL4_SysNBSendWait, [...message(w.ntfn, info(InvocationLabel.TCBSuspend, 0, 0, 0)), [Reg.a6, ROOT_TCB]]);
    expect(o.caller).toMatchObject({ state: 'BlockedOnNotification' });
    expect(received(o.caller!)[1]).toBe(info(InvocationLabel.TCBSuspend, 0, 0, 0));
  });
});

describe('a call stack of two donations', () => {
  /** root calls proxy t0 (on ep), t0 calls server t1 (on epB): both passive, both run on the root's SC. */
  function chain(): IpcWorld {
    const w = ipcWorld({ t0: 200, t1: 150 });
    expect(sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]]).current).toBe(w.addr(w.t1));
    expect(sys(w, S.seL4_SysRecv, [[Reg.a0, w.epB], [Reg.a6, w.r1]]).current).toBe(w.addr(ROOT_TCB));
    expect(w.h.api.seL4_SchedContext_Unbind(w.s0)).toBe(ok);
    expect(w.h.api.seL4_SchedContext_Unbind(w.s1)).toBe(ok);
    expect(sys(w, S.seL4_SysCall, message(w.ep, info(0, 0, 0, 0))).current).toBe(w.addr(w.t0));
    expect(sys(w, S.seL4_SysCall, message(w.epB, info(0, 0, 0, 0))).current).toBe(w.addr(w.t1));
    const [r0, r1, rootSC] = [w.addr(w.r0), w.addr(w.r1), w.addr(ROOT_SC)];
    expect(w.sc(ROOT_SC)).toMatchObject({ tcb: w.addr(w.t1), replies: [r1, r0] });
    expect(object(w, w.r1)).toMatchObject({ tcb: w.addr(w.t0), schedContext: rootSC });
    expect(object(w, w.r0)).toMatchObject({ tcb: w.addr(ROOT_TCB), schedContext: null });
    return w;
  }

  it('deleting the middle reply cuts the stack; the server\'s reply then returns the SC to the proxy only', () => {
    const w = chain();
    const [t0, r1] = [w.addr(w.t0), w.addr(w.r1)];
    sys(w, S.seL4_SysCall, message(ROOT_CNODE, info(InvocationLabel.CNodeDelete, 0, 0, 2), [w.r0, 32]));
    expect(w.tcb(ROOT_TCB)).toMatchObject({ state: 'Inactive', schedContext: null });
    expect(w.sc(ROOT_SC)).toMatchObject({ tcb: w.addr(w.t1), replies: [r1] });
    const o = sys(w, S.seL4_SysSend, message(w.r1, info(0, 0, 0, 0)));
    expect(o.current).toBe(t0);
    expect(w.sc(ROOT_SC)).toMatchObject({ tcb: t0, replies: [] });
    expect(object(w, w.r1)).toMatchObject({ tcb: null, schedContext: null });
    expect(w.tcb(w.t1).schedContext).toBeNull();
  });

  it('deleting the SC empties its call stack; every caller still waits on its reply', () => {
    const w = chain();
    const [root, t0, rootSC] = [w.addr(ROOT_TCB), w.addr(w.t0), w.addr(ROOT_SC)];
    const o = sys(w, S.seL4_SysCall, message(ROOT_CNODE, info(InvocationLabel.CNodeDelete, 0, 0, 2), [ROOT_SC, 32]));
    expect(o.current).toBeNull();
    expect(w.h.view().object(rootSC)).toMatchObject({ tcb: null, replies: [], refillMax: 0 });
    expect(object(w, w.r1)).toMatchObject({ tcb: t0, schedContext: null });
    expect(object(w, w.r0)).toMatchObject({ tcb: root, schedContext: null });
    expect(w.tcb(w.t0)).toMatchObject({ state: 'BlockedOnReply', schedContext: null });
    expect(w.tcb(ROOT_TCB)).toMatchObject({ state: 'BlockedOnReply', schedContext: null });
  });
});

describe('notifications that block', () => {
  it('Wait blocks on an idle notification; a Signal wakes the waiter with the badge; Wait on an Active one returns at once', () => {
    const w = ipcWorld({ t0: 200 });
    const [root, t0, ntfn] = [w.addr(ROOT_TCB), w.addr(w.t0), w.addr(w.ntfn)];
    expect(sys(w, S.seL4_SysWait, [[Reg.a0, w.ntfn]]).current).toBe(root);
    expect(object(w, w.ntfn)).toMatchObject({ word: 0, queue: [t0] });
    expect(w.tcb(w.t0)).toMatchObject({ state: 'BlockedOnNotification', blocking: { ...noBlocking, object: ntfn } });
    expect(sys(w, S.seL4_SysSend, message(w.n4, info(0, 0, 0, 0))).current).toBe(t0);
    expect(seen(w, w.t0).regs[Reg.a0]).toBe(4);
    expect(w.tcb(w.t0)).toMatchObject({ state: 'Running', blocking: null });
    expect(object(w, w.ntfn)).toMatchObject({ word: 0, queue: [] });
    // Two signals with nobody waiting: the badges are ORed; Wait takes them without blocking.
    sys(w, S.seL4_SysSend, message(w.n4, info(0, 0, 0, 0)));
    sys(w, S.seL4_SysNBSend, message(w.n1, info(0, 0, 0, 0)));
    expect(object(w, w.ntfn)).toMatchObject({ word: 5, queue: [] });
    const o = sys(w, S.seL4_SysWait, [[Reg.a0, w.ntfn]]);
    expect(o.caller).toMatchObject({ state: 'Running' });
    expect(o.caller?.regs[Reg.a0]).toBe(5);
    expect(object(w, w.ntfn)).toMatchObject({ word: 0 });
  });

  it('a bound notification wakes its thread blocked in Recv on an endpoint; a pending one is taken by Recv instead of a message', () => {
    const w = ipcWorld({ t0: 200 });
    const [root, t0] = [w.addr(ROOT_TCB), w.addr(w.t0)];
    expect(w.h.api.seL4_TCB_BindNotification(w.t0, w.ntfn)).toBe(ok);
    t0Receives(w);
    expect(sys(w, S.seL4_SysSend, message(w.n4, info(0, 0, 0, 0))).current).toBe(t0);
    expect(seen(w, w.t0).regs[Reg.a0]).toBe(4);
    expect(w.tcb(w.t0)).toMatchObject({ state: 'Running', blocking: null });
    expect(object(w, w.ep)).toMatchObject({ state: 'Idle', queue: [] });
    expect(object(w, w.r0)).toMatchObject({ tcb: null });
    // Signalled while running, then Recv on the endpoint: the word comes back at once.
    sys(w, S.seL4_SysSend, message(w.n1, info(0, 0, 0, 0)));
    expect(object(w, w.ntfn)).toMatchObject({ word: 1 });
    const o = sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]]);
    expect(o.caller).toMatchObject({ state: 'Running' });
    expect(o.caller?.regs[Reg.a0]).toBe(1);
    expect(object(w, w.ntfn)).toMatchObject({ word: 0 });
    expect(object(w, w.ep)).toMatchObject({ state: 'Idle', queue: [] });
    expect(o.current).toBe(t0);
    expect(w.h.view().current()).not.toBe(root);
  });

  it('a notification\'s SC is lent to a passive waiter it wakes, and given back when the waiter waits again', () => {
    const w = ipcWorld({ t1: 200 });
    const [root, t1, s1] = [w.addr(ROOT_TCB), w.addr(w.t1), w.addr(w.s1)];
    expect(sys(w, S.seL4_SysWait, [[Reg.a0, w.ntfn]]).current).toBe(root);
    expect(w.h.api.seL4_SchedContext_Unbind(w.s1)).toBe(ok);
    expect(w.h.api.seL4_SchedContext_Bind(w.s1, w.ntfn)).toBe(ok);
    expect(sys(w, S.seL4_SysSend, message(w.ntfn, info(0, 0, 0, 0))).current).toBe(t1);
    expect(w.tcb(w.t1).schedContext).toBe(s1);
    expect(w.sc(w.s1)).toMatchObject({ tcb: t1, notification: w.addr(w.ntfn) });
    expect(sys(w, S.seL4_SysWait, [[Reg.a0, w.ntfn]]).current).toBe(root);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'BlockedOnNotification', schedContext: null });
    expect(w.sc(w.s1).tcb).toBeNull();
  });
});

describe('cancellation and deletion', () => {
  it('deleting the last endpoint cap restarts every queued thread; deleting the notification restarts its waiters', () => {
    const w = ipcWorld({ t0: 200, t1: 150 });
    const [t0, t1] = [w.addr(w.t0), w.addr(w.t1)];
    expect(sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]]).current).toBe(t1);
    expect(sys(w, S.seL4_SysWait, [[Reg.a0, w.ntfn]]).current).toBe(w.addr(ROOT_TCB));
    const epAddr = w.addr(w.ep);
    const ntfnAddr = w.addr(w.ntfn);
    // The badged copies go first (a revoke); only the last cap's deletion cancels.
    expect(w.h.api.seL4_CNode_Revoke(ROOT_CNODE, w.ep, 32)).toBe(ok);
    expect(w.h.view().object(epAddr)).toMatchObject({ state: 'Recv', queue: [t0] });
    expect(w.h.api.seL4_CNode_Delete(ROOT_CNODE, w.ep, 32)).toBe(ok);
    expect(w.h.view().current()).toBe(t0);
    expect(w.tcb(w.t0)).toMatchObject({ state: 'Running', blocking: null });
    expect(w.h.view().object(epAddr)).toMatchObject({ state: 'Idle', queue: [] });
    expect(w.h.view().object(w.addr(w.r0))).toMatchObject({ tcb: null });
    // t0 blocks again (on the notification), then the root deletes the notification.
    sys(w, S.seL4_SysWait, [[Reg.a0, w.ntfn]]);
    expect(w.h.view().object(ntfnAddr)).toMatchObject({ queue: [t0, t1] });
    expect(w.h.api.seL4_CNode_Revoke(ROOT_CNODE, w.ntfn, 32)).toBe(ok);
    expect(w.h.api.seL4_CNode_Delete(ROOT_CNODE, w.ntfn, 32)).toBe(ok);
    expect(w.h.view().object(ntfnAddr)).toMatchObject({ queue: [] });
    expect(w.h.view().current()).toBe(t0);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'Restart', blocking: null });
    expect(w.sched().readyQueues).toEqual([{ priority: 150, threads: [t1] }, { priority: 100, threads: [w.addr(ROOT_TCB)] }]);
  });

  it('CancelBadgedSends restarts only the senders of that badge; Suspend cancels a blocked thread\'s IPC', () => {
    const w = ipcWorld({ t0: 200, t1: 150 });
    const [root, t0, t1] = [w.addr(ROOT_TCB), w.addr(w.t0), w.addr(w.t1)];
    expect(sys(w, S.seL4_SysSend, message(w.ep1, info(0, 0, 0, 0))).current).toBe(t1);
    expect(sys(w, S.seL4_SysCall, message(w.ep2, info(0, 0, 0, 0))).current).toBe(root);
    expect(w.tcb(w.t0).blocking).toMatchObject({ badge: 1, isCall: false });
    expect(w.tcb(w.t1).blocking).toMatchObject({ badge: 2, isCall: true });
    expect(w.h.api.seL4_CNode_CancelBadgedSends(ROOT_CNODE, w.ep, 32)).toBe(ok);
    expect(object(w, w.ep)).toMatchObject({ state: 'Send', queue: [t0, t1] });
    expect(w.h.api.seL4_CNode_CancelBadgedSends(ROOT_CNODE, w.ep1, 32)).toBe(ok);
    expect(object(w, w.ep)).toMatchObject({ state: 'Send', queue: [t1] });
    expect(w.h.view().current()).toBe(t0);
    expect(w.tcb(w.t0)).toMatchObject({ state: 'Running', blocking: null });
    // t0 suspends the queued caller t1: out of the queue, Inactive.
    const o = sys(w, S.seL4_SysCall, message(w.t1, info(InvocationLabel.TCBSuspend, 0, 0, 0)));
    expect(received(o.caller!)[1]).toBe(info(0, 0, 0, 0));
    expect(w.tcb(w.t1)).toMatchObject({ state: 'Inactive', blocking: null });
    expect(object(w, w.ep)).toMatchObject({ state: 'Idle', queue: [] });
  });
});

describe('cap transfer', () => {
  /** t0 (current) waits on the endpoint with r0, naming root CNode slot `slot` as its receive slot. */
  function receiveInto(w: IpcWorld, slot: number): void {
    const path: [number, Word][] = [[IPCBuffer.receiveCNode, ROOT_CNODE], [IPCBuffer.receiveIndex, slot], [IPCBuffer.receiveDepth, 32]];
    expect(sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]], path).caller?.state).toBe('BlockedOnReceive');
  }

  /** The root sends an empty message through `cap` with `caps` as extra caps. */
  function sendCaps(w: IpcWorld, cap: number, caps: readonly number[]): void {
    const words = caps.map((c, i): [number, Word] => [IPCBuffer.capsOrBadges + i, c]);
    sys(w, S.seL4_SysSend, message(cap, info(0, 0, caps.length, 0)), words);
  }

  it('with Grant: a cap is copied into the receive slot, a cap of the same endpoint is unwrapped into its badge', () => {
    const w = ipcWorld({ t0: 200 });
    receiveInto(w, w.spare);
    sendCaps(w, w.ep, [w.ntfn, w.ep1]);
    const t = seen(w, w.t0);
    expect(t.regs[Reg.a1]).toBe(info(0, 0b10, 2, 0));
    expect(t.ipcBuffer![IPCBuffer.capsOrBadges + 1]).toBe(1);
    expect(w.h.view().cap(w.h.root(w.spare))).toEqual({ type: 'notification', ptr: w.addr(w.ntfn), badge: 0, rights: seL4_AllRights & 0x3 });
    expect(w.h.view().cdtParent(w.h.root(w.spare))).toEqual(w.h.root(w.ntfn));
    // The receive slot is full now: the unwrapped cap counts, the transfer stops at the next one.
    receiveInto(w, w.spare);
    sendCaps(w, w.ep, [w.ep2, w.n4]);
    expect(seen(w, w.t0).regs[Reg.a1]).toBe(info(0, 0b01, 1, 0));
    expect(seen(w, w.t0).ipcBuffer![IPCBuffer.capsOrBadges]).toBe(2);
  });

  it('without Grant no cap is transferred; a null cap stops the transfer', () => {
    const w = ipcWorld({ t0: 200 });
    expect(w.h.api.seL4_CNode_Mint(ROOT_CNODE, w.spare + 1, 32, ROOT_CNODE, w.ep, 32, seL4_CanWrite | seL4_CanRead, 3)).toBe(ok);
    receiveInto(w, w.spare);
    sendCaps(w, w.spare + 1, [w.ntfn]);
    expect(seen(w, w.t0).regs[Reg.a0]).toBe(3);
    expect(seen(w, w.t0).regs[Reg.a1]).toBe(info(0, 0, 0, 0));
    expect(w.h.view().cap(w.h.root(w.spare))).toEqual({ type: 'null' });
    receiveInto(w, w.spare);
    sendCaps(w, w.ep, [w.spare + 2, w.ntfn]);
    expect(seen(w, w.t0).regs[Reg.a1]).toBe(info(0, 0, 0, 0));
    expect(w.h.view().cap(w.h.root(w.spare))).toEqual({ type: 'null' });
  });
});
