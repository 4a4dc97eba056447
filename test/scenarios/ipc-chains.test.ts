// sel4test's MCS IPC tests (ipc.c) on donation chains, passive threads and scheduling contexts
// deleted under blocked threads, translated to the run loop. They run in lockstep: every entry on
// all three layers, compared, with the assertions on the view. docs/sel4-facts.md section 23.1
// lists the sel4test tests.
import { describe, expect, it } from 'vitest';
import {
  messageInfoFromWord,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  type Stub,
} from '../../libsel4/index.ts';
import type { ProgramContext } from '../../refinement/run.ts';
import { Scenario } from './sched-common.ts';

const E = seL4_Error;
const R = seL4_CapInitThreadCNode;
const T = seL4_ObjectType;
const empty = seL4_MessageInfo_new(0, 0, 0, 0);
const request = 12345678;
const answer = 0xdeadbeef;

/** The SC of the thread running `sys`, as the view shows it. */
const runningOn = (s: Scenario, sys: ProgramContext) => {
  const o = s.system.view().object(sys.tcb);
  return o?.type === 'tcb' ? o.schedContext : null;
};

describe('sel4test IPC scenarios (MCS), in lockstep', () => {
  const runs = 3;
  const proxies = 5;

  it.each([
    ['IPC0011', 8, 0],
    ['IPC0012', 8, 1],
    ['IPC0013', 8, -1],
    ['IPC0014', 1, 1],
    ['IPC0015', 1, 0],
  ])('%s: a client calls through five passive proxies to a passive server (%i-word messages, priority step %i); every hop runs on the client SC', (_, length, step) => {
    const s = new Scenario('lockstep');
    const ep = (i: number) => s.object(i); // proxy i receives on ep(i) and calls ep(i + 1)
    const reply = (i: number) => s.object(10 + i);
    const [clientPriority, serverPriority] = [10, 10 + step * proxies];
    const proxyState = Array.from({ length: proxies }, () => 0);
    let [serverState, clientState] = [0, 0];
    const hops: (number | null)[] = [];
    const lengths: number[] = [];
    const proxy = (i: number) =>
      function* (sys: ProgramContext) {
        proxyState[i]!++;
        let { info } = yield* sys.api.seL4_NBSendRecv(ep(i + 1), empty, ep(i), reply(i));
        for (let n = 0; n < runs; n++) {
          hops.push(runningOn(s, sys));
          lengths.push(messageInfoFromWord(info).length);
          expect(sys.api.seL4_GetMR(0)).toBe(request);
          sys.api.seL4_SetMR(0, request);
          yield* sys.api.seL4_Call(ep(i + 1), info);
          expect(sys.api.seL4_GetMR(0)).toBe(answer);
          sys.api.seL4_SetMR(0, answer);
          proxyState[i]!++;
          ({ info } = yield* sys.api.seL4_ReplyRecv(ep(i), info, reply(i)));
        }
      };
    function* server(sys: ProgramContext) {
      serverState++;
      let { info } = yield* sys.api.seL4_NBSendRecv(ep(proxies), empty, ep(proxies), reply(proxies));
      for (let n = 0; n < runs; n++) {
        hops.push(runningOn(s, sys));
        expect(sys.api.seL4_GetMR(0)).toBe(request);
        sys.api.seL4_SetMR(0, answer);
        serverState++;
        ({ info } = yield* sys.api.seL4_ReplyRecv(ep(proxies), info, reply(proxies)));
      }
    }
    function* client(sys: ProgramContext) {
      for (let n = 0; n < runs; n++) {
        sys.api.seL4_SetMR(0, request);
        const info = yield* sys.api.seL4_Call(ep(0), seL4_MessageInfo_new(0, 0, 0, length));
        expect(sys.api.seL4_GetMR(0)).toBe(answer);
        lengths.push(messageInfoFromWord(info).length);
        clientState++;
      }
    }
    const result = s.run(function* root(sys) {
      for (let i = 0; i <= proxies; i++) {
        yield* s.retype(sys, T.seL4_EndpointObject, ep(i));
        yield* s.retype(sys, T.seL4_ReplyObject, reply(i));
      }
      // Each proxy, then the server, starts on its own SC, tells the root it waits, and loses its SC.
      for (let i = 0; i <= proxies; i++) {
        const priority = i < proxies ? serverPriority + step * i : serverPriority;
        yield* s.start(sys, [{ program: i < proxies ? proxy(i) : server, priority, buffer: true }], i);
        yield* sys.api.seL4_Wait(ep(i + (i < proxies ? 1 : 0)));
        expect(i < proxies ? proxyState[i] : serverState).toBe(1);
        yield* s.ownSC(sys, i, false);
      }
      yield* s.start(sys, [{ program: client, priority: clientPriority, buffer: true }], proxies + 1);
    });
    // The server and the proxies wait again, passive; the client has finished.
    expect(result.stop).toBe('idle');
    expect([clientState, serverState, proxyState]).toEqual([runs, runs + 1, proxyState.map(() => runs + 1)]);
    expect(new Set(hops)).toEqual(new Set([s.scOf(proxies + 1)]));
    expect(hops).toHaveLength(runs * (proxies + 1));
    expect(new Set(lengths)).toEqual(new Set([length]));
    expect(s.tcb(proxies + 1).schedContext).toBe(s.scOf(proxies + 1));
    for (let i = 0; i <= proxies; i++) expect(s.tcb(i)).toMatchObject({ state: 'BlockedOnReceive', schedContext: null });
  });

  it('IPC0017: senders to a server without an SC block until it gets its SC back; an NBSend meanwhile is dropped', () => {
    const s = new Scenario('lockstep');
    const ep = s.object(0);
    const states = [0, 0];
    const labels: number[] = [];
    function* server(sys: ProgramContext) {
      // Tells the root it is initialised; the root, above it, runs before it reaches its Wait.
      yield* sys.api.seL4_Send(ep, empty);
      for (let n = 0; n < 4; n++) labels.push(messageInfoFromWord((yield* sys.api.seL4_Wait(ep)).info).label);
    }
    const sender = (i: number) =>
      function* (sys: ProgramContext) {
        states[i] = 1;
        yield* sys.api.seL4_Send(ep, seL4_MessageInfo_new(11 + i, 0, 0, 0));
        states[i] = 2;
      };
    const result = s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      yield* s.start(sys, [{ program: server, priority: 10 }]);
      yield* sys.api.seL4_Wait(ep);
      yield* s.ownSC(sys, 0, false);
      sys.api.seL4_SetMR(0, request);
      yield* sys.api.seL4_NBSend(ep, seL4_MessageInfo_new(1, 0, 0, 1));
      expect(sys.api.seL4_GetMR(0)).toBe(request);
      yield* s.start(sys, [0, 1].map((i) => ({ program: sender(i), priority: 9 })), 1);
      yield* s.rootPriority(sys, 8);
      expect(states).toEqual([1, 1]);
      yield* s.ownSC(sys, 0, true);
      expect(states).toEqual([2, 2]);
      yield* sys.api.seL4_NBSend(ep, seL4_MessageInfo_new(2, 0, 0, 0));
      yield* sys.api.seL4_Send(ep, seL4_MessageInfo_new(3, 0, 0, 0));
    });
    expect(result.stop).toBe('finished');
    // The sender resumed last runs first (tcbSchedEnqueue puts a resumed thread at the head of its
    // ready queue), so it queues first; the NBSend sent while the server had no SC never arrives.
    expect(labels).toEqual([12, 11, 2, 3]);
  });

  /** IPC0018-IPC0020: a helper at 10, above the root at 9, that sets its state to 1 and then makes `call` over and over, counting each return. */
  function counting(call: (sys: ProgramContext, ep: number) => Stub<unknown>) {
    const s = new Scenario('lockstep');
    const ep = s.object(0);
    const helper = { state: 0 };
    function* program(sys: ProgramContext) {
      helper.state = 1;
      for (;;) {
        yield* call(sys, ep);
        helper.state++;
      }
    }
    function* setUp(sys: ProgramContext) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      yield* s.rootPriority(sys, 9);
      yield* s.start(sys, [{ program, priority: 10 }]);
    }
    return { s, ep, helper, setUp };
  }

  it('IPC0018: the root receives from a sender whose SC was unbound while it was queued; the sender runs only once the SC is bound back', () => {
    const { s, ep, helper, setUp } = counting((sys, ep) => sys.api.seL4_Send(ep, empty));
    const seen: number[] = [];
    s.run(function* root(sys) {
      yield* setUp(sys);
      seen.push(helper.state);
      yield* s.ownSC(sys, 0, false);
      yield* sys.api.seL4_Wait(ep);
      seen.push(helper.state);
      expect(s.tcb(0)).toMatchObject({ state: 'Running', schedContext: null });
      yield* s.ownSC(sys, 0, true);
      seen.push(helper.state);
      for (const _ of [0, 1]) {
        yield* sys.api.seL4_Wait(ep);
        seen.push(helper.state);
      }
    });
    expect(seen).toEqual([1, 1, 2, 3, 4]);
  });

  it('IPC0019: deleting the SC of a thread blocked in Send: its message is still received, it does not run', () => {
    const { s, ep, helper, setUp } = counting((sys, ep) => {
      sys.api.seL4_SetMR(0, 77);
      return sys.api.seL4_Send(ep, seL4_MessageInfo_new(5, 0, 0, 1));
    });
    const seen: number[] = [];
    const result = s.run(function* root(sys) {
      yield* setUp(sys);
      seen.push(helper.state);
      expect(yield* sys.api.seL4_CNode_Delete(R, s.tcbSlot(0) + 1, 32)).toBe(E.seL4_NoError);
      expect(s.tcb(0)).toMatchObject({ state: 'BlockedOnSend', schedContext: null });
      const { info } = yield* sys.api.seL4_Wait(ep);
      expect([messageInfoFromWord(info).label, sys.api.seL4_GetMR(0)]).toEqual([5, 77]);
      seen.push(helper.state);
    });
    expect(result.stop).toBe('idle');
    expect(seen).toEqual([1, 1]);
    expect(helper.state).toBe(1);
    expect(s.tcb(0)).toMatchObject({ state: 'Running', schedContext: null });
  });

  it('IPC0020: deleting the SC of a thread blocked in Wait: a Send wakes it, it runs only once a new SC is bound', () => {
    const { s, ep, helper, setUp } = counting((sys, ep) => sys.api.seL4_Wait(ep));
    const seen: number[] = [];
    s.run(function* root(sys) {
      yield* setUp(sys);
      seen.push(helper.state);
      expect(yield* sys.api.seL4_CNode_Delete(R, s.tcbSlot(0) + 1, 32)).toBe(E.seL4_NoError);
      yield* sys.api.seL4_Send(ep, empty);
      seen.push(helper.state);
      expect(s.tcb(0)).toMatchObject({ state: 'Running', schedContext: null });
      yield* s.newSchedContext(sys, s.object(1));
      expect(yield* sys.api.seL4_SchedContext_Bind(s.object(1), s.tcbSlot(0))).toBe(E.seL4_NoError);
      seen.push(helper.state);
    });
    expect(seen).toEqual([1, 1, 2]);
    expect(s.tcb(0)).toMatchObject({ state: 'BlockedOnReceive', schedContext: s.view(s.object(1)).addr });
  });

  it('IPC0022: a passive spawner serves callers by starting a passive server per call and donating the caller SC with NBSendRecv; each server replies by Send', () => {
    const s = new Scenario('lockstep');
    const [ep, initEp] = [s.object(0), s.object(1)];
    const serverReply = (i: number) => s.object(10 + i);
    const [ourPriority, clients] = [10, 3];
    const serverIndex = (i: number) => 1 + clients + i;
    let served = 0;
    const servedOn: (number | null)[] = [];
    function* server(sys: ProgramContext) {
      const i = sys.args[0]!;
      yield* sys.api.seL4_NBSendWait(initEp, empty, initEp);
      servedOn[i] = runningOn(s, sys);
      yield* sys.api.seL4_Send(serverReply(i), empty);
    }
    function* spawner(sys: ProgramContext) {
      let first = ep;
      for (let i = 0; i < clients; i++) {
        yield* sys.api.seL4_NBSendRecv(first, empty, ep, serverReply(i));
        first = initEp;
        // On the caller's SC: start server i, let it wait, and make it passive.
        yield* s.start(sys, [{ program: server, priority: ourPriority + 1, args: [i] }], serverIndex(i));
        yield* sys.api.seL4_Wait(initEp);
        yield* s.ownSC(sys, serverIndex(i), false);
      }
      yield* sys.api.seL4_NBSendWait(first, empty, ep);
    }
    function* client(sys: ProgramContext) {
      yield* sys.api.seL4_Call(ep, empty);
      served++;
    }
    const result = s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      yield* s.retype(sys, T.seL4_EndpointObject, initEp);
      for (let i = 0; i < clients; i++) yield* s.retype(sys, T.seL4_ReplyObject, serverReply(i));
      yield* s.start(sys, [{ program: spawner, priority: ourPriority + 2, buffer: true }]);
      yield* sys.api.seL4_Wait(ep);
      yield* s.ownSC(sys, 0, false);
      yield* s.rootPriority(sys, ourPriority);
      yield* s.start(sys, Array.from({ length: clients }, () => ({ program: client, priority: ourPriority + 1 })), 1);
      yield* s.rootPriority(sys, ourPriority - 2);
    });
    expect(result.stop).toBe('idle');
    expect(served).toBe(clients);
    expect(servedOn).toEqual(Array.from({ length: clients }, (_, i) => s.scOf(1 + i)));
    for (let i = 0; i < clients; i++) expect(s.tcb(serverIndex(i)).schedContext).toBeNull();
    expect(s.tcb(0)).toMatchObject({ state: 'BlockedOnReceive', schedContext: null });
  });

  /** IPC0023 and IPC0024: a client that calls once, and a server that tells the root it waits (NBSendRecv), takes the call and waits again. */
  function replyScenario() {
    const s = new Scenario('lockstep');
    const [clientEp, serverEp, reply] = [s.object(0), s.object(1), s.object(2)];
    const state = { client: 0 };
    function* client(sys: ProgramContext) {
      state.client = 1;
      yield* sys.api.seL4_Call(clientEp, empty);
      state.client = 2;
    }
    function* server(sys: ProgramContext) {
      yield* sys.api.seL4_NBSendRecv(serverEp, empty, clientEp, reply);
      yield* sys.api.seL4_Wait(serverEp);
    }
    function* setUp(sys: ProgramContext) {
      for (const slot of [clientEp, serverEp]) yield* s.retype(sys, T.seL4_EndpointObject, slot);
      yield* s.retype(sys, T.seL4_ReplyObject, reply);
    }
    return { s, serverEp, reply, state, client, server, setUp };
  }

  it('IPC0023: the client SC a passive server runs on is deleted; a reply sent by Signal on the reply cap wakes the client, which does not run', () => {
    const { s, serverEp, reply, state, client, server, setUp } = replyScenario();
    const result = s.run(function* root(sys) {
      yield* setUp(sys);
      yield* s.start(sys, [{ program: client, priority: 100 }, { program: server, priority: 100 }]);
      yield* sys.api.seL4_Wait(serverEp);
      yield* s.ownSC(sys, 1, false);
      yield* s.rootPriority(sys, 10);
      for (const i of [0, 1]) expect(yield* sys.api.seL4_TCB_SetPriority(s.tcbSlot(i), seL4_CapInitThreadTCB, 11)).toBe(E.seL4_NoError);
      expect(state.client).toBe(1);
      expect(s.tcb(0).state).toBe('BlockedOnReply');
      expect(yield* sys.api.seL4_CNode_Delete(R, s.tcbSlot(0) + 1, 32)).toBe(E.seL4_NoError);
      yield* sys.api.seL4_Signal(reply);
      expect(state.client).toBe(1);
    });
    expect(result.stop).toBe('idle');
    expect(state.client).toBe(1);
    expect(s.tcb(0)).toMatchObject({ state: 'Running', schedContext: null });
  });

  it('IPC0024: deleting the reply object of a passive server running on a donated SC returns the SC to the caller (Inactive); deleting that SC then: nothing runs', () => {
    const { s, serverEp, reply, state, client, server, setUp } = replyScenario();
    const result = s.run(function* root(sys) {
      yield* setUp(sys);
      yield* s.start(sys, [{ program: server, priority: 11 }]);
      yield* sys.api.seL4_Wait(serverEp);
      yield* s.rootPriority(sys, 10);
      yield* s.ownSC(sys, 0, false);
      yield* s.start(sys, [{ program: client, priority: 11 }], 1);
      expect(state.client).toBe(1);
      expect(s.tcb(0)).toMatchObject({ state: 'BlockedOnReceive', schedContext: s.scOf(1) });
      expect(yield* sys.api.seL4_CNode_Delete(R, reply, 32)).toBe(E.seL4_NoError);
      expect(s.tcb(0).schedContext).toBeNull();
      expect(s.tcb(1)).toMatchObject({ state: 'Inactive', schedContext: s.scOf(1) });
      expect(yield* sys.api.seL4_CNode_Delete(R, s.tcbSlot(1) + 1, 32)).toBe(E.seL4_NoError);
    });
    expect(result.stop).toBe('idle');
    expect(state.client).toBe(1);
    expect(s.tcb(1)).toMatchObject({ state: 'Inactive', schedContext: null });
  });

  it.each([98, 100, 102])('IPC0025 and IPC0026: two threads exchange messages with NBSendRecv on one endpoint (one at %i, the other at 100), either started first, and both finish', (priority) => {
    for (const secondFirst of [false, true]) {
      const s = new Scenario('lockstep');
      const ep = s.object(0);
      const exchanges = 3;
      const received: number[][] = [[], []];
      const party = (i: number) =>
        function* (sys: ProgramContext) {
          for (let n = 0; n < exchanges; n++) {
            const { info } = yield* sys.api.seL4_NBSendRecv(ep, seL4_MessageInfo_new(10 * i + n, 0, 0, 0), ep, s.object(1 + i));
            received[i]!.push(messageInfoFromWord(info).label);
          }
          // Wakes the other, still waiting for one more.
          yield* sys.api.seL4_NBSend(ep, seL4_MessageInfo_new(10 * i + exchanges, 0, 0, 0));
        };
      const helpers = [{ program: party(0), priority }, { program: party(1), priority: 100 }];
      const result = s.run(function* root(sys) {
        yield* s.retype(sys, T.seL4_EndpointObject, ep);
        for (const i of [0, 1]) yield* s.retype(sys, T.seL4_ReplyObject, s.object(1 + i));
        if (secondFirst) {
          yield* s.start(sys, [helpers[1]!], 1);
          yield* s.start(sys, [helpers[0]!], 0);
        } else {
          yield* s.start(sys, helpers);
        }
      });
      expect(result.stop).toBe('finished');
      // The first to send sent to nobody: it receives the other's messages 0-2, the other its 1-3.
      const first = received[0]![0]! % 10 === 0 ? 0 : 1;
      const other = 1 - first;
      expect(received[first]).toEqual([0, 1, 2].map((n) => 10 * other + n));
      expect(received[other]).toEqual([1, 2, 3].map((n) => 10 * first + n));
    }
  });

  it('IPC0027: a Call donates to a passive server below the client priority; the server, given an SC back, finishes; also with the client calling first', () => {
    const s = new Scenario('lockstep');
    const ep = s.object(0);
    const replies: number[] = [];
    const servedOn: (number | null)[] = [];
    const server = (n: number) =>
      function* (sys: ProgramContext) {
        const { info } = yield* sys.api.seL4_NBSendRecv(ep, empty, ep, s.object(1 + n));
        servedOn.push(runningOn(s, sys));
        yield* sys.api.seL4_Send(s.object(1 + n), seL4_MessageInfo_new(messageInfoFromWord(info).label + 100, 0, 0, 0));
      };
    const client = (n: number) =>
      function* (sys: ProgramContext) {
        replies.push(messageInfoFromWord(yield* sys.api.seL4_Call(ep, seL4_MessageInfo_new(n, 0, 0, 0))).label);
      };
    const result = s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      for (const n of [0, 1]) yield* s.retype(sys, T.seL4_ReplyObject, s.object(1 + n));
      // The server first: started, waiting, made passive; then the client.
      yield* s.start(sys, [{ program: server(0), priority: 1 }]);
      yield* sys.api.seL4_Wait(ep);
      yield* s.ownSC(sys, 0, false);
      yield* s.start(sys, [{ program: client(1), priority: 2 }], 1);
      yield* s.rootPriority(sys, 0);
      expect(replies).toEqual([101]);
      expect(s.tcb(0)).toMatchObject({ state: 'Running', schedContext: null });
      yield* s.rootPriority(sys, 255);
      yield* s.ownSC(sys, 0, true);
      yield* s.rootPriority(sys, 0);
      expect(s.tcb(0).state).toBe('Inactive');
      yield* s.rootPriority(sys, 255);
      // The client resumed first (it cannot run yet); the second server at a default priority of 100.
      yield* s.start(sys, [{ program: client(2), priority: 2 }], 2);
      yield* s.start(sys, [{ program: server(1), priority: 100 }], 3);
      yield* sys.api.seL4_Wait(ep);
      yield* s.ownSC(sys, 3, false);
      yield* s.rootPriority(sys, 0);
      expect(replies).toEqual([101, 102]);
      expect(s.tcb(3)).toMatchObject({ state: 'Running', schedContext: null });
      yield* s.rootPriority(sys, 255);
      yield* s.ownSC(sys, 3, true);
    });
    expect(result.stop).toBe('finished');
    expect(servedOn).toEqual([s.scOf(1), s.scOf(2)]);
  });
});
