// Laws of the abstract spec's IPC over random runs (fast-check): two threads make random sends,
// calls, receives, replies and signals; the root suspends, resumes, rebinds SCs, deletes reply
// objects, cancels badged sends and signals; time passes. After every entry the
// queues, blocking data, reply links and call stacks agree with each other, the entry has one
// outcome, and its `touched` names every object it changed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IPCBuffer,
  msgRegisters,
  nbsendRecvDestRegister,
  Reg,
  replyRegister,
  seL4_Syscall as S,
  type KernelView,
  type ObjectView,
  type Word,
} from '../../libsel4/index.ts';
import { abstractLayer, allObjects, objectView, type AbstractState } from '../../spec-abstract/index.ts';
import { info, ipcWorld, sys, type IpcWorld } from './ipc-world.ts';
import { jsonText } from './spaces.ts';
import { ROOT_CNODE, ROOT_TCB } from './threads.ts';

type View<K extends ObjectView['type']> = Extract<ObjectView, { type: K }>;

/** The first broken rule of the IPC state, or null. */
function brokenRule(v: KernelView): string | null {
  const objects = v.objects();
  const tcbs = objects.filter((o): o is View<'tcb'> => o.type === 'tcb');
  const byAddr = new Map(objects.map((o) => [o.addr, o]));
  for (const t of tcbs) {
    const blocked = t.state.startsWith('BlockedOn');
    if (blocked !== (t.blocking !== null)) return `tcb ${t.addr}: ${t.state} with blocking ${JSON.stringify(t.blocking)}`;
    if (t.state === 'BlockedOnSend' || t.state === 'BlockedOnReceive' || t.state === 'BlockedOnNotification') {
      const o = byAddr.get(t.blocking!.object!);
      if ((o?.type !== 'endpoint' && o?.type !== 'notification') || !o.queue.includes(t.addr)) return `tcb ${t.addr}: not in the queue of ${t.blocking!.object}`;
    }
    const reply = t.blocking?.reply ?? null;
    if (reply !== null && (byAddr.get(reply) as View<'reply'> | undefined)?.tcb !== t.addr) return `tcb ${t.addr}: reply ${reply} does not name it`;
    if (t.schedContext !== null && (byAddr.get(t.schedContext) as View<'schedcontext'>).tcb !== t.addr) return `tcb ${t.addr}: its SC names another thread`;
  }
  for (const o of objects) {
    if (o.type === 'endpoint') {
      if ((o.state === 'Idle') !== (o.queue.length === 0)) return `endpoint ${o.addr}: ${o.state} with queue ${o.queue}`;
      const want = o.state === 'Send' ? 'BlockedOnSend' : 'BlockedOnReceive';
      for (const t of o.queue) {
        const tcb = byAddr.get(t) as View<'tcb'>;
        if (tcb.state !== want || tcb.blocking?.object !== o.addr) return `endpoint ${o.addr}: queued ${t} is ${tcb.state}`;
      }
      const priorities = o.queue.map((t) => (byAddr.get(t) as View<'tcb'>).priority);
      if (priorities.some((p, i) => i > 0 && p > priorities[i - 1]!)) return `endpoint ${o.addr}: queue out of priority order`;
      if (new Set(o.queue).size !== o.queue.length) return `endpoint ${o.addr}: a thread queued twice`;
    }
    if (o.type === 'notification') {
      for (const t of o.queue) if ((byAddr.get(t) as View<'tcb'>).state !== 'BlockedOnNotification') return `notification ${o.addr}: queued ${t} is not waiting`;
      if (o.queue.length > 0 && o.word !== 0) return `notification ${o.addr}: waiters and a word`;
    }
    if (o.type === 'reply' && o.tcb !== null) {
      const tcb = byAddr.get(o.tcb) as View<'tcb'>;
      if (tcb.blocking?.reply !== o.addr) return `reply ${o.addr}: its thread ${o.tcb} does not hold it`;
    }
    if (o.type === 'reply' && o.schedContext !== null && (byAddr.get(o.schedContext) as View<'schedcontext'>).replies[0] !== o.addr) {
      return `reply ${o.addr}: names SC ${o.schedContext}, whose stack it does not head`;
    }
    if (o.type === 'schedcontext') {
      for (const [i, r] of o.replies.entries()) {
        const reply = byAddr.get(r) as View<'reply'>;
        if (reply.schedContext !== (i === 0 ? o.addr : null)) return `SC ${o.addr}: reply ${r} at depth ${i} names ${reply.schedContext}`;
        if (reply.tcb === null || (byAddr.get(reply.tcb) as View<'tcb'>).state !== 'BlockedOnReply') return `SC ${o.addr}: reply ${r} has no caller waiting`;
      }
      if (o.tcb !== null && (byAddr.get(o.tcb) as View<'tcb'>).schedContext !== o.addr) return `SC ${o.addr}: its thread has another SC`;
    }
  }
  return null;
}

/** The syscalls threads make, calls and receives with a reply object more often than the others. */
const syscalls = [
  S.seL4_SysCall, S.seL4_SysCall, S.seL4_SysReplyRecv, S.seL4_SysReplyRecv, S.seL4_SysRecv, S.seL4_SysRecv, S.seL4_SysNBSendRecv,
  S.seL4_SysNBSendWait, S.seL4_SysSend, S.seL4_SysNBSend, S.seL4_SysNBRecv, S.seL4_SysWait, S.seL4_SysNBWait,
];

interface Step {
  readonly kind: number;
  readonly picks: readonly number[];
}

const step: fc.Arbitrary<Step> = fc.record({ kind: fc.nat(29), picks: fc.array(fc.nat(1000), { minLength: 10, maxLength: 10 }) });

/**
 * One random entry: time passing, or the current thread's syscall. A thread sends, calls,
 * replies or receives through the endpoints, notifications and reply objects; the root (the
 * lowest priority) administers (suspend, resume, SC binding, reply deletion, badged-send
 * cancellation, priorities), signals, sends without blocking, or calls a server.
 */
function takeStep(w: IpcWorld, { kind, picks }: Step): void {
  const pick = <T>(i: number, from: readonly T[]): T => from[picks[i]! % from.length]!;
  const current = w.h.view().current();
  if (kind >= 27 || current === null) {
    w.h.enter({ kind: 'time', ticks: BigInt(picks[0]! * 50) });
    return;
  }
  const api = w.h.api;
  if (current === w.addr(ROOT_TCB)) {
    const t = pick(1, [w.t0, w.t1]);
    const call = () => api.seL4_Call(pick(2, [w.ep, w.epB]), info(0, 0, 0, 0));
    const admin = [
      call,
      call,
      () => api.seL4_SchedContext_Unbind(pick(2, [w.s0, w.s1])),
      () => api.seL4_SchedContext_Unbind(pick(2, [w.s0, w.s1])),
      () => api.seL4_SchedContext_Bind(pick(2, [w.s0, w.s1]), t),
      () => api.seL4_TCB_Suspend(t),
      () => api.seL4_TCB_Resume(t),
      () => api.seL4_CNode_Delete(ROOT_CNODE, pick(2, [w.r0, w.r1]), 32),
      () => api.seL4_CNode_CancelBadgedSends(ROOT_CNODE, pick(2, [w.ep1, w.ep2]), 32),
      () => api.seL4_TCB_SetPriority(t, ROOT_TCB, 110 + (picks[2]! % 100)),
      () => api.seL4_TCB_BindNotification(t, w.ntfn),
      () => api.seL4_SchedContext_Bind(pick(2, [w.s0, w.s1]), w.ntfn),
      () => api.seL4_NBSend(pick(2, [w.ep, w.ep1, w.epB, w.n4, w.n1]), info(0, 0, 0, picks[3]! % 3)),
      () => api.seL4_Signal(pick(2, [w.ntfn, w.n4, w.n1])),
    ];
    pick(4, admin)();
    return;
  }
  const sysno = pick(0, syscalls);
  const receiving = sysno === S.seL4_SysRecv || sysno === S.seL4_SysNBRecv || sysno === S.seL4_SysWait || sysno === S.seL4_SysNBWait;
  const sendCaps = [w.ep, w.ep1, w.ep2, w.epB, w.n4, w.r0, w.r1];
  const regs: [number, Word][] = [
    [Reg.a0, receiving || sysno !== S.seL4_SysCall && sysno !== S.seL4_SysSend && sysno !== S.seL4_SysNBSend ? pick(1, [w.ep, w.epB, w.ep, w.ntfn]) : pick(1, sendCaps)],
    [Reg.a1, info(picks[2]! % 4, 0, picks[3]! % 3, picks[4]! % 7)],
    [replyRegister, pick(5, [w.r0, w.r1])],
    [nbsendRecvDestRegister, pick(6, sendCaps)],
    ...msgRegisters.map((r, i): [number, Word] => [r, picks[i]!]),
  ];
  const buffer: [number, Word][] = [
    [IPCBuffer.capsOrBadges, pick(7, [w.ep, w.ep1, w.ntfn, w.r0, 0])],
    [IPCBuffer.capsOrBadges + 1, pick(8, [w.ep, w.ep2, w.n4, w.r1, 0])],
    [IPCBuffer.receiveCNode, ROOT_CNODE],
    [IPCBuffer.receiveIndex, w.spare + (picks[9]! % 4)],
    [IPCBuffer.receiveDepth, 32],
  ];
  sys(w, sysno, regs, buffer);
}

describe('abstract spec IPC laws', () => {
  it('queues, blocking data, reply links and call stacks stay consistent; one outcome; touched names every changed object', () => {
    const objectText = (s: AbstractState) => new Map(allObjects(s).map((o) => [o.addr, jsonText(objectView(o))]));
    fc.assert(
      fc.property(fc.integer({ min: 110, max: 220 }), fc.integer({ min: 110, max: 220 }), fc.array(step, { minLength: 10, maxLength: 120 }), (p0, p1, steps) => {
        const w = ipcWorld({ t0: p0, t1: p1 });
        for (const s of steps) {
          const before = w.h.state();
          takeStep(w, s);
          const outcomes = w.h.lastOutcomes();
          expect(outcomes.length).toBe(1);
          expect(outcomes[0]!.observation.unmodelled).toBeNull();
          expect(brokenRule(abstractLayer.view(w.h.state()))).toBeNull();
          const touched = new Set(outcomes[0]!.touched.objects);
          const [a, b] = [objectText(before), objectText(w.h.state())];
          for (const addr of new Set([...a.keys(), ...b.keys()])) if (a.get(addr) !== b.get(addr)) expect(touched.has(addr)).toBe(true);
        }
      }),
      { numRuns: 120, seed: 10 },
    );
  });
});
