// The abstract spec's fault delivery: cap faults, unknown syscalls and user exceptions sent to
// the handler in TCB slot 3, the fault message, the faulted thread waiting on the handler's reply
// object, the reply (handle_fault_reply) and cancellation. t1 (priority 150) faults, t0
// (priority 200) handles; expected values follow docs/sel4-facts.md section 21 and l4v's Ipc_A.
import { describe, expect, it } from 'vitest';
import { msgWordIndex, Reg, seL4_Syscall as S, syscallWord, type Word } from '../../libsel4/index.ts';
import { info, ipcWorld, message, object, received, seen, sys, type IpcWorld } from './ipc-world.ts';
import { ok, ROOT_CNODE, ROOT_TCB, ROOT_VSPACE } from './threads.ts';

const [pc, sp, ra] = [0x1000, 0x2000, 0x3000];
const badge = 1;

/** t1 gets the badge-1 endpoint cap as fault handler; t0 (current) waits for faults on the endpoint with r0. */
function handlerWaiting(): IpcWorld {
  const w = ipcWorld({ t0: 200, t1: 150 });
  expect(w.h.api.seL4_TCB_SetSpace(w.t1, w.ep1, ROOT_CNODE, 0, ROOT_VSPACE, 0)).toBe(ok);
  const o = sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]]);
  expect(o.current).toBe(w.addr(w.t1));
  return w;
}

/** The current thread takes a user exception with `pc` and `sp` set. */
function exception(w: IpcWorld, number: Word, code: Word) {
  return w.h.enter({ kind: 'exception', user: { regs: [[Reg.pc, pc], [Reg.sp, sp]], ipcBuffer: [] }, number, code });
}

/** The handler t0 sends on reply cap r0 with `label` and message words `mrs` (MR4 on in its IPC buffer). */
function replyWith(w: IpcWorld, label: number, mrs: readonly Word[]) {
  const buffer = mrs.slice(4).map((v, i): [number, Word] => [msgWordIndex(4 + i), v]);
  return sys(w, S.seL4_SysSend, message(w.r0, info(label, 0, 0, mrs.length), mrs), buffer);
}

/** The CNode cap guard of the root CNode: the width of the guard every lookup consumes first. */
function rootGuardBits(w: IpcWorld): number {
  const cap = w.h.view().cap(w.h.root(ROOT_CNODE));
  if (cap?.type !== 'cnode') throw new Error('no root CNode cap');
  return cap.guardSize;
}

describe('a user exception', () => {
  it('goes to the handler waiting in Recv: label 3, FaultIP, sp, number, code, the handler cap\'s badge', () => {
    const w = handlerWaiting();
    const [t0, t1, r0] = [w.addr(w.t0), w.addr(w.t1), w.addr(w.r0)];
    const o = exception(w, 2, 5);
    expect(o.unmodelled).toBeNull();
    expect(o.current).toBe(t0);
    expect(received(seen(w, w.t0))).toEqual([badge, info(3, 0, 0, 4), pc, sp, 2, 5]);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'BlockedOnReply', blocking: { reply: r0 }, fault: { type: 'UserException', words: [2, 5] } });
    expect(object(w, w.r0)).toMatchObject({ tcb: t1 });
    expect(w.tcb(w.t0)).toMatchObject({ state: 'Running', fault: null });
  });

  it('a reply with label 0 writes FaultIP and sp and restarts the thread; the fault is cleared', () => {
    const w = handlerWaiting();
    exception(w, 2, 0);
    const o = replyWith(w, 0, [0x1004, 0x2400, 0xdead]);
    expect(o.current).toBe(w.addr(w.t0));
    expect(w.tcb(w.t1)).toMatchObject({ state: 'Restart', blocking: null, fault: null });
    const regs = seen(w, w.t1).regs;
    expect([regs[Reg.pc], regs[Reg.sp], regs[Reg.ra]]).toEqual([0x1004, 0x2400, 0]);
    expect(object(w, w.r0)).toMatchObject({ tcb: null });
  });

  it('a reply with another label still writes the registers, but the thread becomes Inactive', () => {
    const w = handlerWaiting();
    exception(w, 2, 0);
    replyWith(w, 1, [0x1008]);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'Inactive', fault: null });
    const regs = seen(w, w.t1).regs;
    expect([regs[Reg.pc], regs[Reg.sp]]).toEqual([0x1008, sp]);
  });

  it('queues on the handler endpoint when nobody waits; the handler\'s later Recv takes the fault message', () => {
    const w = ipcWorld({ t0: 200, t1: 150 });
    const [t0, t1, ep, r0] = [w.addr(w.t0), w.addr(w.t1), w.addr(w.ep), w.addr(w.r0)];
    expect(w.h.api.seL4_TCB_SetSpace(w.t1, w.ep1, ROOT_CNODE, 0, ROOT_VSPACE, 0)).toBe(ok);
    sys(w, S.seL4_SysRecv, [[Reg.a0, w.epB], [Reg.a6, w.r1]]);
    const o = exception(w, 8, 3);
    expect(o.current).toBe(w.addr(ROOT_TCB));
    expect(w.tcb(w.t1)).toMatchObject({
      state: 'BlockedOnSend',
      blocking: { object: ep, badge, canGrant: true, canGrantReply: true, isCall: false, reply: null },
      fault: { type: 'UserException', words: [8, 3] },
    });
    expect(object(w, w.ep)).toMatchObject({ state: 'Send', queue: [t1] });
    // The root wakes t0, which then receives on the fault endpoint and takes the queued fault.
    expect(sys(w, S.seL4_SysSend, message(w.epB, info(0, 0, 0, 0))).current).toBe(t0);
    const recv = sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]]);
    expect(recv.caller?.state).toBe('Running');
    expect(received(recv.caller!)).toEqual([badge, info(3, 0, 0, 4), pc, sp, 8, 3]);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'BlockedOnReply', blocking: { reply: r0 }, fault: { type: 'UserException', words: [8, 3] } });
    expect(object(w, w.ep)).toMatchObject({ state: 'Idle', queue: [] });
  });

  it('with no fault handler stops the thread (Inactive, no fault kept)', () => {
    const w = ipcWorld({ t0: 200, t1: 150 });
    sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]]);
    const o = exception(w, 2, 0);
    expect(o.caller).toMatchObject({ state: 'Inactive' });
    expect(w.tcb(w.t1)).toMatchObject({ state: 'Inactive', fault: null });
    expect(w.tcb(w.t0).state).toBe('BlockedOnReceive');
  });

  it('taken by a handler in Wait (no reply object) leaves the thread Inactive with its fault recorded', () => {
    const w = ipcWorld({ t0: 200, t1: 150 });
    expect(w.h.api.seL4_TCB_SetSpace(w.t1, w.ep1, ROOT_CNODE, 0, ROOT_VSPACE, 0)).toBe(ok);
    sys(w, S.seL4_SysWait, [[Reg.a0, w.ep]]);
    exception(w, 2, 0);
    expect(received(seen(w, w.t0))).toEqual([badge, info(3, 0, 0, 4), pc, sp, 2, 0]);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'Inactive', fault: { type: 'UserException', words: [2, 0] } });
  });
});

describe('a fault to a passive handler', () => {
  it('donates the faulted thread\'s SC through the reply object; the fault reply (ReplyRecv) returns it and the thread runs again', () => {
    const w = handlerWaiting();
    const [t0, t1, r0, s1] = [w.addr(w.t0), w.addr(w.t1), w.addr(w.r0), w.addr(w.s1)];
    expect(w.h.api.seL4_SchedContext_Unbind(w.s0)).toBe(ok);
    const o = exception(w, 2, 0);
    expect(o.current).toBe(t0);
    expect(w.tcb(w.t0).schedContext).toBe(s1);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'BlockedOnReply', schedContext: null });
    expect(w.sc(w.s1)).toMatchObject({ tcb: t0, replies: [r0] });
    const reply = sys(w, S.seL4_SysReplyRecv, [...message(w.ep, info(0, 0, 0, 2), [0x1004, 0x2004]), [Reg.a6, w.r0]]);
    expect(reply.current).toBe(t1);
    expect(w.tcb(w.t0)).toMatchObject({ state: 'BlockedOnReceive', schedContext: null });
    expect(w.tcb(w.t1)).toMatchObject({ state: 'Running', schedContext: s1, fault: null });
    expect(w.sc(w.s1)).toMatchObject({ tcb: t1, replies: [] });
    const regs = seen(w, w.t1).regs;
    expect([regs[Reg.pc], regs[Reg.sp]]).toEqual([0x1004, 0x2004]);
  });
});

describe('an unknown syscall', () => {
  it('sends label 2 with FaultIP, sp, ra, a0-a6 and the number (MR4 on in the handler\'s IPC buffer); the reply sets those registers', () => {
    const w = handlerWaiting();
    const args = [10, 11, 12, 13, 14, 15, 16];
    const sysno = 0x1234;
    const regs: [number, Word][] = [[Reg.pc, pc], [Reg.sp, sp], [Reg.ra, ra], ...args.map((v, i): [number, Word] => [Reg.a0 + i, v]), [Reg.a7, sysno]];
    w.h.enter({ kind: 'syscall', user: { regs, ipcBuffer: [] } });
    const t0 = seen(w, w.t0);
    expect(received(t0)).toEqual([badge, info(2, 0, 0, 11), pc, sp, ra, 10]);
    expect(t0.ipcBuffer!.slice(msgWordIndex(4), msgWordIndex(11))).toEqual([11, 12, 13, 14, 15, 16, sysno]);
    expect(w.tcb(w.t1).fault).toEqual({ type: 'UnknownSyscall', words: [sysno] });
    // The reply gives ten registers and one word more, which is ignored.
    const reply = [0x1004, 0x2004, 0x3004, 20, 21, 22, 23, 24, 25, 26, 99];
    replyWith(w, 0, reply);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'Restart', fault: null });
    const after = seen(w, w.t1).regs;
    expect([Reg.pc, Reg.sp, Reg.ra, Reg.a0, Reg.a1, Reg.a2, Reg.a3, Reg.a4, Reg.a5, Reg.a6, Reg.a7].map((r) => after[r])).toEqual([...reply.slice(0, 10), sysno]);
  });
});

describe('a cap fault', () => {
  it('from a Call whose cap does not resolve: label 1, FaultIP, CPtr, 0, the lookup failure; the reply restarts without writing registers', () => {
    const w = handlerWaiting();
    const cptr = 0x80000000;
    const guardBits = rootGuardBits(w);
    w.h.enter({ kind: 'syscall', user: { regs: [[Reg.pc, pc], [Reg.a7, syscallWord(S.seL4_SysCall)], [Reg.a0, cptr], [Reg.a1, info(0, 0, 0, 0)]], ipcBuffer: [] } });
    // GuardMismatch (type 4): bits left 32, the guard (0) and its size.
    const failure = [4, 32, 0, guardBits];
    expect(w.tcb(w.t1).fault).toEqual({ type: 'CapFault', words: [cptr, 0, ...failure] });
    const t0 = seen(w, w.t0);
    expect(received(t0)).toEqual([badge, info(1, 0, 0, 7), pc, cptr, 0, 4]);
    expect(t0.ipcBuffer!.slice(msgWordIndex(4), msgWordIndex(7))).toEqual([32, 0, guardBits]);
    replyWith(w, 5, [0x1008, 0x2008]);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'Restart', fault: null });
    expect(seen(w, w.t1).regs[Reg.pc]).toBe(pc);
  });

  it('from a Recv on a slot without an endpoint or notification cap: in the receive phase, MissingCapability 0', () => {
    const w = handlerWaiting();
    sys(w, S.seL4_SysRecv, [[Reg.pc, pc], [Reg.a0, w.spare], [Reg.a6, w.r1]]);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'BlockedOnReply', fault: { type: 'CapFault', words: [w.spare, 1, 2, 0] } });
    expect(received(seen(w, w.t0))).toEqual([badge, info(1, 0, 0, 5), pc, w.spare, 1, 2]);
    expect(seen(w, w.t0).ipcBuffer![msgWordIndex(4)]).toBe(0);
  });

  it('from a Recv whose a6 names no reply cap: the CPtr is a6', () => {
    const w = handlerWaiting();
    sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.ep2]]);
    expect(w.tcb(w.t1).fault).toEqual({ type: 'CapFault', words: [w.ep2, 1, 2, 0] });
  });
});

describe('cancellation', () => {
  it('suspending a thread waiting for its fault reply clears the fault and lets go of the reply object', () => {
    const w = handlerWaiting();
    exception(w, 2, 0);
    expect(w.h.api.seL4_TCB_Suspend(w.t1)).toBe(ok);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'Inactive', blocking: null, fault: null });
    expect(object(w, w.r0)).toMatchObject({ tcb: null });
    // The handler's reply now finds nobody.
    replyWith(w, 0, [0x1004]);
    expect(seen(w, w.t1).regs[Reg.pc]).toBe(pc);
  });

  it('deleting the handler endpoint while a faulted thread is queued on it leaves the thread Inactive (restart_thread_if_no_fault)', () => {
    const w = ipcWorld({ t0: 200, t1: 150 });
    expect(w.h.api.seL4_TCB_SetSpace(w.t1, w.ep1, ROOT_CNODE, 0, ROOT_VSPACE, 0)).toBe(ok);
    sys(w, S.seL4_SysRecv, [[Reg.a0, w.epB], [Reg.a6, w.r1]]);
    exception(w, 2, 0);
    // The root revokes the original endpoint cap (its badged copies and t1's handler cap), then deletes it.
    expect(w.h.api.seL4_CNode_Revoke(ROOT_CNODE, w.ep, 32)).toBe(ok);
    expect(w.h.api.seL4_CNode_Delete(ROOT_CNODE, w.ep, 32)).toBe(ok);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'Inactive', blocking: null, fault: { type: 'UserException', words: [2, 0] } });
  });

  it('suspending a thread queued with its fault clears the fault and empties the queue', () => {
    const w = ipcWorld({ t0: 200, t1: 150 });
    expect(w.h.api.seL4_TCB_SetSpace(w.t1, w.ep1, ROOT_CNODE, 0, ROOT_VSPACE, 0)).toBe(ok);
    sys(w, S.seL4_SysRecv, [[Reg.a0, w.epB], [Reg.a6, w.r1]]);
    exception(w, 2, 0);
    expect(w.h.api.seL4_TCB_Suspend(w.t1)).toBe(ok);
    expect(w.tcb(w.t1)).toMatchObject({ state: 'Inactive', fault: null });
    expect(object(w, w.ep)).toMatchObject({ state: 'Idle', queue: [] });
  });
});

describe('a timeout fault', () => {
  it('goes through slot 4 when a sporadic budget runs out: label 5, the SC badge and consumed time; a restart reply to it postpones the thread', () => {
    const w = ipcWorld({ t1: 250 });
    const [t0, t1, r1, s0] = [w.addr(w.t0), w.addr(w.t1), w.addr(w.r1), w.addr(w.s0)];
    expect(sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r1]]).current).toBe(w.addr(ROOT_TCB));
    const api = w.h.api;
    const made = [
      api.seL4_TCB_Configure(w.t0, ROOT_CNODE, 0, ROOT_VSPACE, 0, 0, 0),
      api.seL4_SchedControl_ConfigureFlags(w.control, w.s0, 1000n, 10_000n, 0, 0x55, 0),
      api.seL4_TCB_SetTimeoutEndpoint(w.t0, w.ep1),
      api.seL4_TCB_SetSchedParams(w.t0, ROOT_TCB, 200, 200, w.s0, 0),
      api.seL4_TCB_Resume(w.t0),
    ];
    expect(made).toEqual([ok, ok, ok, ok, ok]);
    expect(w.h.view().current()).toBe(t0);
    const o = w.h.enter({ kind: 'time', ticks: 20_000n });
    expect(o.current).toBe(t1);
    expect(w.tcb(w.t0)).toMatchObject({ state: 'BlockedOnReply', blocking: { reply: r1 }, schedContext: s0, fault: { type: 'Timeout', words: [0x55] } });
    // The budget, 1000 µs less the 1 µs the timer is programmed early, was consumed, and the message took it.
    expect(received(seen(w, w.t1))).toEqual([badge, info(5, 0, 0, 3), 0x55, 999, 0, 0]);
    expect(w.sc(w.s0).consumedTicks).toBe(0n);
    const reply = sys(w, S.seL4_SysReplyRecv, [...message(w.ep, info(0, 0, 0, 3), [0x1004, 0x3004, 0x2004]), [Reg.a6, w.r1]]);
    expect(reply.current).toBe(w.addr(ROOT_TCB));
    expect(w.tcb(w.t0)).toMatchObject({ state: 'Restart', fault: null });
    expect(w.sched().releaseQueue).toEqual([t0]);
    const regs = seen(w, w.t0).regs;
    expect([regs[Reg.pc], regs[Reg.ra], regs[Reg.sp]]).toEqual([0x1004, 0x3004, 0x2004]);
  });
});
