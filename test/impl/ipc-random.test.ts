// Random IPC on the impl with its debug checks on: the root and three threads (one a passive
// server blocked in Recv) make random sends, calls, receives, replies, signals, Suspend /
// Resume / SetPriority, deletions, CancelBadgedSends and SC (un)binding, with good and bad
// caps, and time passes. After every step the view must be consistent: blocked threads are in
// the queue of what they wait on (and only they), reply objects and their threads name each
// other, an SC's call stack is made of replies whose callers wait on them, with reply_sc only
// at its head, and SC/TCB bindings are symmetric.
import { afterAll, describe, expect, it } from 'vitest';
import {
  InvocationLabel,
  Reg,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_CapInitThreadTCB,
  seL4_MessageInfo_new,
  seL4_Syscall,
  syscallWord,
  type ObjectView,
  type Word,
} from '../../libsel4/index.ts';
import { createImplLayer } from '../../impl/index.ts';
import { CNODE, D, T, bootRoot, makeThread } from './harness.ts';

const S = seL4_Syscall;

/** xorshift32: a deterministic stream in [0, 1). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

/** The queue of an endpoint or notification (an empty list for anything else, which the caller's check then fails on). */
function queueOf(object: ObjectView | undefined, type: 'endpoint' | 'notification'): readonly number[] {
  expect(object?.type).toBe(type);
  return object !== undefined && (object.type === 'endpoint' || object.type === 'notification') ? object.queue : [];
}

/** The IPC consistency of a whole view (see the header). */
function checkIpc(objects: ObjectView[]): void {
  const byAddr = new Map(objects.map((o) => [o.addr, o]));
  for (const o of objects) {
    if (o.type === 'tcb') count(o.state);
    if (o.type === 'schedcontext' && o.replies.length > 0) count(`stack${o.replies.length}`);
    if (o.type === 'endpoint' && o.queue.length > 1) count(`epq${o.queue.length}`);
    if (o.type === 'notification' && o.queue.length > 0) count('ntfnq');
    if (o.type === 'tcb') {
      const b = o.blocking;
      if (o.state === 'BlockedOnSend' || o.state === 'BlockedOnReceive') {
        expect(queueOf(byAddr.get(b!.object!), 'endpoint')).toContain(o.addr);
        if (o.state === 'BlockedOnReceive' && b!.reply !== null) expect(byAddr.get(b!.reply)).toMatchObject({ tcb: o.addr });
      } else if (o.state === 'BlockedOnNotification') {
        expect(queueOf(byAddr.get(b!.object!), 'notification')).toContain(o.addr);
      } else if (o.state === 'BlockedOnReply') {
        expect(byAddr.get(b!.reply!)).toMatchObject({ tcb: o.addr });
      } else {
        expect(b).toBeNull();
      }
      if (o.schedContext !== null) expect(byAddr.get(o.schedContext)).toMatchObject({ tcb: o.addr });
    }
    if (o.type === 'endpoint') {
      for (const t of o.queue) expect(byAddr.get(t)).toMatchObject({ state: o.state === 'Send' ? 'BlockedOnSend' : 'BlockedOnReceive', blocking: { object: o.addr } });
      expect(o.state === 'Idle').toBe(o.queue.length === 0);
    }
    if (o.type === 'notification') {
      for (const t of o.queue) expect(byAddr.get(t)).toMatchObject({ state: 'BlockedOnNotification', blocking: { object: o.addr } });
    }
    if (o.type === 'reply' && o.tcb !== null) {
      const t = byAddr.get(o.tcb) as Extract<ObjectView, { type: 'tcb' }>;
      expect(['BlockedOnReceive', 'BlockedOnReply']).toContain(t.state);
      expect(t.blocking!.reply).toBe(o.addr);
    }
    if (o.type === 'schedcontext') {
      if (o.tcb !== null) expect(byAddr.get(o.tcb)).toMatchObject({ schedContext: o.addr });
      o.replies.forEach((rep, i) => {
        const rv = byAddr.get(rep) as Extract<ObjectView, { type: 'reply' }>;
        expect(rv.tcb).not.toBeNull();
        expect(byAddr.get(rv.tcb!)).toMatchObject({ state: 'BlockedOnReply' });
        expect(rv.schedContext).toBe(i === 0 ? o.addr : null);
      });
    }
  }
}

/** How often each state was seen, so that the test can require the runs to reach them. */
const reached = new Map<string, number>();
function count(what: string): void {
  reached.set(what, (reached.get(what) ?? 0) + 1);
}

describe('impl IPC under random events', () => {
  afterAll(() => {
    for (const what of ['BlockedOnSend', 'BlockedOnReceive', 'BlockedOnReply', 'BlockedOnNotification', 'Restart', 'stack1', 'epq2', 'ntfnq']) {
      expect(reached.get(what) ?? 0, what).toBeGreaterThan(0);
    }
  });
  for (let seed = 1; seed <= 40; seed++) {
    it(`seed ${seed}: 300 random steps keep the view consistent`, () => {
      const rand = rng(seed * 7919);
      const pick = <X>(xs: readonly X[]): X => xs[Math.floor(rand() * xs.length)]!;
      const r = bootRoot({}, { debug: true });
      const ut = r.untyped(16);
      expect(r.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, CNODE, 0, 0, 200, 1)).toBe(0);
      expect(r.api.seL4_CNode_Mint(CNODE, 201, D, CNODE, 200, D, 0xf, 0x55)).toBe(0);
      expect(r.api.seL4_CNode_Mint(CNODE, 207, D, CNODE, 200, D, 0x3, 0x66)).toBe(0);
      expect(r.api.seL4_Untyped_Retype(ut, T.seL4_NotificationObject, 0, CNODE, 0, 0, 202, 1)).toBe(0);
      expect(r.api.seL4_CNode_Mint(CNODE, 203, D, CNODE, 202, D, seL4_CanWrite | seL4_CanRead, 0x9)).toBe(0);
      expect(r.api.seL4_Untyped_Retype(ut, T.seL4_ReplyObject, 0, CNODE, 0, 0, 204, 3)).toBe(0);
      makeThread(r, 210, 100, { budgetUs: 1000n, periodUs: 2000n, flags: 0 });
      makeThread(r, 213, 150, { budgetUs: 1000n, periodUs: 2000n, flags: 1 });
      // 216 runs first, wakes the root and blocks in Recv with reply 206; then it is made passive
      makeThread(r, 216, 180, { budgetUs: 1000n, periodUs: 2000n, flags: 0 });
      r.enter({ kind: 'syscall', user: { regs: [[Reg.a0, 202], [Reg.a7, syscallWord(S.seL4_SysWait)]], ipcBuffer: [] } });
      expect(r.state.current).not.toBe(null);
      r.enter({ kind: 'syscall', user: { regs: [[Reg.t0, 203], [Reg.a0, 200], [Reg.a6, 206], [Reg.a1, 0], [Reg.a7, syscallWord(S.seL4_SysNBSendRecv)]], ipcBuffer: [] } });
      expect(r.state.current).toBe(r.plan.rootTCB);
      expect(r.api.seL4_SchedContext_UnbindObject(217, 216)).toBe(0);
      expect(r.api.seL4_Untyped_Retype(ut, T.seL4_SchedContextObject, 8, CNODE, 0, 0, 219, 1)).toBe(0);
      expect(r.api.seL4_SchedControl_ConfigureFlags(r.plan.bootInfo.schedcontrol.start, 219, 1000n, 1000n, 0, 0, 0)).toBe(0);
      if (rand() < 0.5) expect(r.api.seL4_SchedContext_Bind(219, 202)).toBe(0);
      if (rand() < 0.5) expect(r.api.seL4_TCB_BindNotification(210, 202)).toBe(0);
      const caps = [200, 201, 207, 202, 203, 204, 205, 206, 210, 213, 216, 211, 214, 219, 0, 300];
      const replies = [204, 205, 206, 0, 200];
      const threads = [210, 213, 216, seL4_CapInitThreadTCB];
      const layer = createImplLayer({ debug: true });
      for (let step = 0; step < 300; step++) {
        const state = r.state;
        if (state.current === null || rand() < 0.08) {
          r.enter({ kind: 'time', ticks: BigInt(Math.floor(rand() * 30000)) });
        } else {
          const choice = rand();
          const regs: [number, Word][] = [];
          let sysno: number;
          const info = seL4_MessageInfo_new(Math.floor(rand() * 10), 0, rand() < 0.2 ? 2 : 0, Math.floor(rand() * 7));
          const ipcBuffer: [number, Word][] = [[122, pick(caps)], [123, pick(caps)], [125, CNODE], [126, 300 + Math.floor(rand() * 3)], [127, D], [5, step]];
          if (choice < 0.45) {
            sysno = pick([S.seL4_SysSend, S.seL4_SysNBSend, S.seL4_SysCall, S.seL4_SysRecv, S.seL4_SysNBRecv, S.seL4_SysWait, S.seL4_SysNBWait, S.seL4_SysReplyRecv, S.seL4_SysNBSendRecv, S.seL4_SysNBSendWait]);
            regs.push([Reg.a0, pick(caps)], [Reg.a1, info], [Reg.a2, step], [Reg.a6, pick(replies)], [Reg.t0, pick(caps)]);
          } else if (choice < 0.6) {
            sysno = S.seL4_SysCall;
            const label = pick([InvocationLabel.TCBSuspend, InvocationLabel.TCBResume, InvocationLabel.TCBResume, InvocationLabel.TCBResume, InvocationLabel.TCBSetPriority]);
            regs.push([Reg.a0, pick(threads)], [Reg.a1, seL4_MessageInfo_new(label, 0, label === InvocationLabel.TCBSetPriority ? 1 : 0, 1)], [Reg.a2, Math.floor(rand() * 200)]);
            ipcBuffer.push([122, seL4_CapInitThreadTCB]);
          } else if (choice < 0.68) {
            sysno = S.seL4_SysCall;
            regs.push([Reg.a0, CNODE], [Reg.a1, seL4_MessageInfo_new(pick([InvocationLabel.CNodeDelete, InvocationLabel.CNodeCancelBadgedSends]), 0, 0, 2)], [Reg.a2, pick(caps)], [Reg.a3, D]);
          } else if (choice < 0.74) {
            sysno = S.seL4_SysCall;
            regs.push([Reg.a0, pick([211, 214, 217, 219])], [Reg.a1, seL4_MessageInfo_new(pick([InvocationLabel.SchedContextUnbind, InvocationLabel.SchedContextBind, InvocationLabel.SchedContextUnbindObject]), 0, 1, 0)]);
            ipcBuffer[0] = [122, pick([210, 213, 216, 202])];
          } else {
            sysno = pick([S.seL4_SysCall, S.seL4_SysCall, S.seL4_SysSend, S.seL4_SysReplyRecv, S.seL4_SysRecv, S.seL4_SysNBSendRecv]);
            regs.push([Reg.a0, pick([200, 201, 200])], [Reg.a1, info], [Reg.a6, pick([204, 205, 206])], [Reg.t0, pick([200, 201, 203, 204, 205])]);
          }
          regs.push([Reg.a7, syscallWord(sysno)]);
          r.enter({ kind: 'syscall', user: { regs, ipcBuffer } });
        }
        checkIpc(layer.view(r.state).objects());
      }
    });
  }
});
