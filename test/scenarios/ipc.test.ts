// IPC scenarios in the manner of sel4test's ipc.c, ipc_rights.c, endpoints.c, binding.c and
// nbwait.c (MCS), on the run loop: the root task and its helpers are programs, the kernel decides
// who runs. Shared variables play the part of sel4test's globals; kernel state is read from the
// layer's view. docs/sel4-facts.md section 23.1 lists the sel4test tests.
//
// Translated here: IPC0001 (Send then Recv, lengths up to 120, senders below, at and above the
// receiver), IPC0002 (Call answered by ReplyRecv), IPC0003 (the reply sent with seL4_Send on the
// reply cap), IPC0004 (NBSend arrives only at a waiting receiver), IPC0010 (a caller waiting
// for its reply suspended and deleted), IPC0011 in one hop (a passive server on the client's
// donated context), IPC0016 (a passive server that replies by Send keeps no context), IPC0017
// (NBSend to a passive server donates nothing), IPCRIGHTS0001 (no Write, no message),
// IPCRIGHTS0003 (no Grant, no cap), CANCEL_BADGED_SENDS (only the badge cancelled restarts),
// BIND0001 (a bound thread receives signals through its endpoint wait), NBWAIT0001
// (polls that find nothing give badge 0), SCHED0007 (callers queue highest priority first), and
// endpoint deletion restarting its queue (cancelAllIPC). The rest are in ipc-chains.test.ts,
// binding.test.ts and schedcontext.test.ts (README lists them).
import { describe, expect, it } from 'vitest';
import {
  messageInfoFromWord,
  seL4_AllRights,
  seL4_CanGrant,
  seL4_CanWrite,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  type Stub,
} from '../../libsel4/index.ts';
import type { ProgramContext } from '../../refinement/run.ts';
import { Scenario, modes } from './sched-common.ts';

const E = seL4_Error;
const R = seL4_CapInitThreadCNode;
const T = seL4_ObjectType;


/** The word i of message n: every word of every message differs. */
const word = (n: number, i: number) => ((n << 12) | (i + 1)) >>> 0;

/** Sends message `n` of `length` words (label n) through `dest` with `send`. */
function* sendMessage(sys: ProgramContext, n: number, length: number, send: (info: number) => Stub<unknown>): Stub<void> {
  for (let i = 0; i < length; i++) sys.api.seL4_SetMR(i, word(n, i));
  yield* send(seL4_MessageInfo_new(n, 0, 0, length));
}

/** What a receiver saw: the label, the length and whether every word was message n's. */
function seen(sys: ProgramContext, info: number): { label: number; length: number; words: boolean } {
  const { label, length } = messageInfoFromWord(info);
  const words = Array.from({ length }, (_, i) => sys.api.seL4_GetMR(i) === word(label, i)).every(Boolean);
  return { label, length, words };
}

const lengths = [0, 1, 4, 5, 119, 120];

describe.each(modes)('IPC scenarios on %s', (mode) => {
  it.each([99, 100, 101])('IPC0001: Send then Recv of every length, a sender at %i against a receiver at 100, either started first', (senderPriority) => {
    for (const receiverFirst of [true, false]) {
      const s = new Scenario(mode);
      const ep = s.object(0);
      const got: ReturnType<typeof seen>[] = [];
      function* receiver(sys: ProgramContext) {
        for (const _ of lengths) got.push(seen(sys, (yield* sys.api.seL4_Recv(ep, s.object(1))).info));
      }
      function* sender(sys: ProgramContext) {
        for (const [n, length] of lengths.entries()) yield* sendMessage(sys, n + 1, length, (info) => sys.api.seL4_Send(ep, info));
      }
      const helpers = [{ program: receiver, priority: 100, buffer: true }, { program: sender, priority: senderPriority, buffer: true }];
      const result = s.run(function* root(sys) {
        yield* s.retype(sys, T.seL4_EndpointObject, ep);
        yield* s.retype(sys, T.seL4_ReplyObject, s.object(1));
        yield* s.start(sys, receiverFirst ? helpers : [...helpers].reverse());
      });
      expect(result.stop).toBe('finished');
      expect(got).toEqual(lengths.map((length, n) => ({ label: n + 1, length, words: true })));
    }
  });

  it('IPC0002 and IPC0003: a Call answered by ReplyRecv, or by Send on the reply cap and a Recv; the caller sees the reply', () => {
    for (const bySend of [false, true]) {
      const s = new Scenario(mode);
      const [ep, reply] = [s.object(0), s.object(1)];
      const replies: ReturnType<typeof seen>[] = [];
      const asked: ReturnType<typeof seen>[] = [];
      function* server(sys: ProgramContext) {
        let info = (yield* sys.api.seL4_Recv(ep, reply)).info;
        for (;;) {
          const request = seen(sys, info);
          asked.push(request);
          // The reply is message label + 100, one word longer (at most 120).
          for (let i = 0; i <= request.length && i < 120; i++) sys.api.seL4_SetMR(i, word(request.label + 100, i));
          const m = seL4_MessageInfo_new(request.label + 100, 0, 0, Math.min(request.length + 1, 120));
          if (bySend) {
            yield* sys.api.seL4_Send(reply, m);
            info = (yield* sys.api.seL4_Recv(ep, reply)).info;
          } else {
            info = (yield* sys.api.seL4_ReplyRecv(ep, m, reply)).info;
          }
        }
      }
      function* client(sys: ProgramContext) {
        for (const [n, length] of lengths.entries()) {
          let info = 0;
          yield* sendMessage(sys, n + 1, length, function* (m) {
            info = yield* sys.api.seL4_Call(ep, m);
          });
          replies.push(seen(sys, info));
        }
      }
      const result = s.run(function* root(sys) {
        yield* s.retype(sys, T.seL4_EndpointObject, ep);
        yield* s.retype(sys, T.seL4_ReplyObject, reply);
        yield* s.start(sys, [{ program: server, priority: 101, buffer: true }, { program: client, priority: 100, buffer: true }]);
      });
      // The server waits for the next call when the client has finished.
      expect(result.stop).toBe('idle');
      expect(asked).toEqual(lengths.map((length, n) => ({ label: n + 1, length, words: true })));
      expect(replies).toEqual(lengths.map((length, n) => ({ label: n + 101, length: Math.min(length + 1, 120), words: true })));
      expect(s.tcb(0).state).toBe('BlockedOnReceive');
      expect(s.view(reply)).toMatchObject({ tcb: s.tcb(0).addr, schedContext: null });
    }
  });

  it('IPC0004: an NBSend arrives only when the receiver already waits', () => {
    for (const senderPriority of [99, 101]) {
      const s = new Scenario(mode);
      const ep = s.object(0);
      const got: number[] = [];
      function* receiver(sys: ProgramContext) {
        const { info } = yield* sys.api.seL4_Wait(ep);
        got.push(messageInfoFromWord(info).label);
      }
      function* sender(sys: ProgramContext) {
        yield* sys.api.seL4_NBSend(ep, seL4_MessageInfo_new(1, 0, 0, 0));
        // Dropped if nobody waited: this one is received then.
        yield* sys.api.seL4_Send(ep, seL4_MessageInfo_new(2, 0, 0, 0));
      }
      const result = s.run(function* root(sys) {
        yield* s.retype(sys, T.seL4_EndpointObject, ep);
        yield* s.start(sys, [{ program: receiver, priority: 100 }, { program: sender, priority: senderPriority }]);
      });
      expect(got).toEqual([senderPriority < 100 ? 1 : 2]);
      // A sender below the receiver blocks in its Send: nobody receives it.
      expect(result.stop).toBe(senderPriority < 100 ? 'idle' : 'finished');
    }
  });

  it('IPC0010: a caller waiting for its reply is suspended (the reply object freed) and deleted without harm', () => {
    const s = new Scenario(mode);
    const [ep, reply] = [s.object(0), s.object(1)];
    const states: string[] = [];
    function* server(sys: ProgramContext) {
      yield* sys.api.seL4_Recv(ep, reply);
      // Waits again with another reply object: the caller stays BlockedOnReply on the first.
      yield* sys.api.seL4_Recv(ep, s.object(2));
    }
    function* client(sys: ProgramContext) {
      yield* sys.api.seL4_Call(ep, seL4_MessageInfo_new(7, 0, 0, 0));
    }
    s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      yield* s.retype(sys, T.seL4_ReplyObject, reply);
      yield* s.retype(sys, T.seL4_ReplyObject, s.object(2));
      yield* s.start(sys, [{ program: server, priority: 100 }, { program: client, priority: 90 }]);
      // The root (255) waits below both; the server takes the call and waits again.
      expect(yield* sys.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 50)).toBe(E.seL4_NoError);
      states.push(s.tcb(1).state, s.tcb(0).state);
      expect(s.view(reply)).toMatchObject({ tcb: s.tcb(1).addr });
      expect(yield* sys.api.seL4_TCB_Suspend(s.tcbSlot(1))).toBe(E.seL4_NoError);
      states.push(s.tcb(1).state);
      expect(s.view(reply)).toMatchObject({ tcb: null });
      expect(yield* sys.api.seL4_CNode_Delete(R, s.tcbSlot(1), 32)).toBe(E.seL4_NoError);
      expect(s.view(ep)).toMatchObject({ state: 'Recv', queue: [s.tcb(0).addr] });
    });
    expect(states).toEqual(['BlockedOnReply', 'BlockedOnReceive', 'Inactive']);
  });

  it('IPC0011 (one hop): a passive server runs on the client context the Call donates, and the reply returns it', () => {
    const s = new Scenario(mode);
    const [ep, reply] = [s.object(0), s.object(1)];
    const servedOn: (number | null)[] = [];
    const answers: number[] = [];
    function* server(sys: ProgramContext) {
      let { info } = yield* sys.api.seL4_Recv(ep, reply);
      for (;;) {
        servedOn.push(s.tcb(0).schedContext);
        sys.api.seL4_SetMR(0, sys.api.seL4_GetMR(0) * 2);
        ({ info } = yield* sys.api.seL4_ReplyRecv(ep, seL4_MessageInfo_new(0, 0, 0, 1), reply));
        expect(messageInfoFromWord(info).length).toBe(1);
      }
    }
    function* client(sys: ProgramContext) {
      for (const n of [3, 5]) {
        sys.api.seL4_SetMR(0, n);
        yield* sys.api.seL4_Call(ep, seL4_MessageInfo_new(0, 0, 0, 1));
        answers.push(sys.api.seL4_GetMR(0));
        expect(s.tcb(1).schedContext).toBe(s.scOf(1));
      }
    }
    const result = s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      yield* s.retype(sys, T.seL4_ReplyObject, reply);
      yield* s.start(sys, [{ program: server, priority: 120 }]);
      // Below the server, the root lets it wait in Recv; then its context is taken away: it is passive.
      expect(yield* sys.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 110)).toBe(E.seL4_NoError);
      expect(s.tcb(0).state).toBe('BlockedOnReceive');
      expect(yield* sys.api.seL4_SchedContext_Unbind(s.tcbSlot(0) + 1)).toBe(E.seL4_NoError);
      yield* s.start(sys, [{ program: client, priority: 100 }], 1);
    });
    expect(result.stop).toBe('idle');
    expect(answers).toEqual([6, 10]);
    expect(servedOn).toEqual([s.scOf(1), s.scOf(1)]);
    expect(s.tcb(0)).toMatchObject({ state: 'BlockedOnReceive', schedContext: null });
    expect(s.view(s.tcbSlot(1) + 1)).toMatchObject({ tcb: s.tcb(1).addr, replies: [] });
  });

  it('IPC0016 and IPC0017: a passive server that replies by Send keeps no context; an NBSend to a passive waiter donates none', () => {
    const s = new Scenario(mode);
    const [ep, reply, ep2] = [s.object(0), s.object(1), s.object(2)];
    let afterReply = false;
    let served = 0;
    function* server(sys: ProgramContext) {
      yield* sys.api.seL4_Recv(ep, reply);
      served++;
      yield* sys.api.seL4_Send(reply, seL4_MessageInfo_new(0, 0, 0, 0));
      afterReply = true;
    }
    function* waiter(sys: ProgramContext) {
      yield* sys.api.seL4_Wait(ep2);
      served++;
    }
    function* client(sys: ProgramContext) {
      yield* sys.api.seL4_Call(ep, seL4_MessageInfo_new(0, 0, 0, 0));
      sys.api.seL4_SetMR(0, 42);
      yield* sys.api.seL4_NBSend(ep2, seL4_MessageInfo_new(9, 0, 0, 1));
    }
    const result = s.run(function* root(sys) {
      for (const [slot, type] of [[ep, T.seL4_EndpointObject], [reply, T.seL4_ReplyObject], [ep2, T.seL4_EndpointObject]] as const) yield* s.retype(sys, type, slot);
      yield* s.start(sys, [{ program: server, priority: 120 }, { program: waiter, priority: 120 }]);
      expect(yield* sys.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 110)).toBe(E.seL4_NoError);
      for (const i of [0, 1]) expect(yield* sys.api.seL4_SchedContext_Unbind(s.tcbSlot(i) + 1)).toBe(E.seL4_NoError);
      yield* s.start(sys, [{ program: client, priority: 100 }], 2);
    });
    // The server and the waiter are left with no context to run on.
    expect(result.stop).toBe('idle');
    // The server ran on the client's context up to its Send; the context went back with the reply.
    expect([served, afterReply]).toEqual([1, false]);
    expect(s.tcb(0)).toMatchObject({ state: 'Running', schedContext: null });
    // The waiter got the message (woken, its registers written) but has no context to run on.
    expect(s.tcb(1)).toMatchObject({ state: 'Running', schedContext: null });
    const regs = s.system.observe(s.tcb(1).addr).caller!.regs;
    expect(messageInfoFromWord(regs[17]!)).toMatchObject({ label: 9, length: 1 });
    expect(regs[18]).toBe(42);
  });

  it('IPCRIGHTS0001 and IPCRIGHTS0003: a Send through a cap without Write is dropped; a cap sent without Grant does not arrive', () => {
    const s = new Scenario(mode);
    const [ep, noWrite, noGrant, ntfn] = [s.object(0), s.object(1), s.object(2), s.object(3)];
    const got: { label: number; extraCaps: number; slot: string }[] = [];
    function* receiver(sys: ProgramContext) {
      for (const n of [0, 1]) {
        sys.api.seL4_SetCapReceivePath(R, s.free(n), 32);
        const { info } = yield* sys.api.seL4_Wait(ep);
        const cap = s.system.view().cap({ cnode: s.system.plan.rootCNode, index: s.free(n) });
        got.push({ label: messageInfoFromWord(info).label, extraCaps: messageInfoFromWord(info).extraCaps, slot: cap?.type ?? 'none' });
      }
    }
    function* sender(sys: ProgramContext) {
      yield* sys.api.seL4_Send(noWrite, seL4_MessageInfo_new(1, 0, 0, 0));
      for (const [label, via] of [[2, noGrant], [3, ep]] as const) {
        sys.api.seL4_SetCap(0, ntfn);
        yield* sys.api.seL4_Send(via, seL4_MessageInfo_new(label, 0, 1, 0));
      }
    }
    s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      yield* s.retype(sys, T.seL4_NotificationObject, ntfn);
      expect(yield* sys.api.seL4_CNode_Mint(R, noWrite, 32, R, ep, 32, seL4_AllRights & ~seL4_CanWrite, 0)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_CNode_Mint(R, noGrant, 32, R, ep, 32, seL4_AllRights & ~seL4_CanGrant, 0)).toBe(E.seL4_NoError);
      yield* s.start(sys, [{ program: receiver, priority: 100, buffer: true }, { program: sender, priority: 90, buffer: true }]);
    });
    expect(got).toEqual([
      { label: 2, extraCaps: 0, slot: 'null' },
      { label: 3, extraCaps: 1, slot: 'notification' },
    ]);
  });

  it('CANCEL_BADGED_SENDS: only the senders of the cancelled badge leave the queue, the others stay in order', () => {
    const s = new Scenario(mode);
    const ep = s.object(0);
    const badged = (b: number) => s.object(b);
    const sender = (b: number) =>
      function* (sys: ProgramContext) {
        yield* sys.api.seL4_Call(badged(b), seL4_MessageInfo_new(b, 0, 0, 0));
      };
    const queues: number[][] = [];
    s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      for (const b of [1, 2]) expect(yield* sys.api.seL4_CNode_Mint(R, badged(b), 32, R, ep, 32, seL4_AllRights, b)).toBe(E.seL4_NoError);
      yield* s.start(sys, [1, 2, 1, 2].map((b) => ({ program: sender(b), priority: 100 })));
      expect(yield* sys.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 50)).toBe(E.seL4_NoError);
      const view = s.view(ep);
      queues.push(view.type === 'endpoint' ? [...view.queue] : []);
      expect(yield* sys.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 255)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_CNode_CancelBadgedSends(R, badged(2), 32)).toBe(E.seL4_NoError);
      const after = s.view(ep);
      queues.push(after.type === 'endpoint' ? [...after.queue] : []);
      expect([1, 3].map((i) => s.tcb(i).state)).toEqual(['Restart', 'Restart']);
      expect([0, 2].map((i) => s.tcb(i).blocking?.badge)).toEqual([1, 1]);
      // An unbadged cap cancels nothing.
      expect(yield* sys.api.seL4_CNode_CancelBadgedSends(R, ep, 32)).toBe(E.seL4_NoError);
      expect(s.view(ep)).toMatchObject({ state: 'Send', queue: queues[1] });
      // Deleting the endpoint's last caps restarts the rest (cancelAllIPC).
      for (const slot of [badged(1), badged(2), ep]) expect(yield* sys.api.seL4_CNode_Delete(R, slot, 32)).toBe(E.seL4_NoError);
      expect([0, 2].map((i) => s.tcb(i).state)).toEqual(['Restart', 'Restart']);
    });
    const t = [0, 1, 2, 3].map((i) => s.tcb(i).addr);
    expect([...queues[0]!].sort()).toEqual([...t].sort());
    expect(queues[1]).toEqual(queues[0]!.filter((addr) => addr === t[0] || addr === t[2]));
  });

  it('BIND0001 and NBWAIT0001: a bound thread waiting on an endpoint gets both messages and signals, told apart by the badge; empty polls give badge 0', () => {
    const s = new Scenario(mode);
    const [ep, ntfn, epBadged, ntfnBadged] = [s.object(0), s.object(1), s.object(2), s.object(3)];
    const badges: number[] = [];
    function* waiter(sys: ProgramContext) {
      badges.push((yield* sys.api.seL4_NBRecv(ep, s.object(4))).sender, (yield* sys.api.seL4_Poll(ntfn)).sender);
      for (let n = 0; n < 3; n++) badges.push((yield* sys.api.seL4_Wait(ep)).sender);
    }
    function* sender(sys: ProgramContext) {
      yield* sys.api.seL4_Send(epBadged, seL4_MessageInfo_new(0, 0, 0, 0));
      yield* sys.api.seL4_Signal(ntfnBadged);
      yield* sys.api.seL4_Send(epBadged, seL4_MessageInfo_new(0, 0, 0, 0));
    }
    const result = s.run(function* root(sys) {
      for (const [slot, type] of [[ep, T.seL4_EndpointObject], [ntfn, T.seL4_NotificationObject], [s.object(4), T.seL4_ReplyObject]] as const) yield* s.retype(sys, type, slot);
      expect(yield* sys.api.seL4_CNode_Mint(R, epBadged, 32, R, ep, 32, seL4_AllRights, 0x11)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_CNode_Mint(R, ntfnBadged, 32, R, ntfn, 32, seL4_AllRights, 0x22)).toBe(E.seL4_NoError);
      yield* s.start(sys, [{ program: waiter, priority: 100, budgetUs: 10_000n }, { program: sender, priority: 90 }]);
      expect(yield* sys.api.seL4_TCB_BindNotification(s.tcbSlot(0), ntfn)).toBe(E.seL4_NoError);
    });
    expect(result.stop).toBe('finished');
    expect(badges).toEqual([0, 0, 0x11, 0x22, 0x11]);
  });

  it('SCHED0007: callers started in mixed order queue highest priority first; a server receives them so', () => {
    const s = new Scenario(mode);
    const [ep, reply] = [s.object(0), s.object(1)];
    const order: number[] = [];
    const priorities = [101, 105, 103, 105, 102];
    const caller = (i: number) =>
      function* (sys: ProgramContext) {
        yield* sys.api.seL4_Call(ep, seL4_MessageInfo_new(i, 0, 0, 0));
      };
    function* server(sys: ProgramContext) {
      let { info } = yield* sys.api.seL4_Recv(ep, reply);
      for (;;) {
        order.push(messageInfoFromWord(info).label);
        ({ info } = yield* sys.api.seL4_ReplyRecv(ep, seL4_MessageInfo_new(0, 0, 0, 0), reply));
      }
    }
    s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      yield* s.retype(sys, T.seL4_ReplyObject, reply);
      yield* s.start(sys, priorities.map((priority, i) => ({ program: caller(i), priority })));
      // Below the callers, above the server: every caller blocks in its Call before the server waits.
      expect(yield* sys.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 100)).toBe(E.seL4_NoError);
      const view = s.view(ep);
      const queued = view.type === 'endpoint' ? view.queue.map((addr) => priorities.findIndex((_, i) => s.tcb(i).addr === addr)) : [];
      expect(queued.map((i) => priorities[i])).toEqual([105, 105, 103, 102, 101]);
      order.push(...queued);
      yield* s.start(sys, [{ program: server, priority: 50 }], priorities.length);
    });
    // The queue as it stood, then the labels the server received in that order.
    expect(order.slice(5)).toEqual(order.slice(0, 5));
  });
});
