// sel4test's schedcontext.c (SCHED_CONTEXT_0006-0013) and scheduler.c (SCHED0008, SCHED0009)
// translated to the run loop and run in lockstep. Where sel4test sleeps on its timer, the root
// drops below its helpers and computes: virtual time passes, and a helper that can run does.
// docs/sel4-facts.md section 23.1 lists the sel4test tests.
import { describe, expect, it } from 'vitest';
import {
  Reg,
  numRegisters,
  seL4_AllRights,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType,
} from '../../libsel4/index.ts';
import { startThread, type Program, type ProgramContext } from '../../refinement/run.ts';
import { Scenario, biggestUntypedSlot, type Helper } from './sched-common.ts';

const E = seL4_Error;
const R = seL4_CapInitThreadCNode;
const T = seL4_ObjectType;
const empty = seL4_MessageInfo_new(0, 0, 0, 0);

/** Lets the helpers run for `us` of the root's time: the root drops to priority 1 and computes. */
function* sleep(s: Scenario, sys: ProgramContext, us = 25_000n) {
  yield* s.rootPriority(sys, 1);
  yield* sys.compute(us);
  yield* s.rootPriority(sys, 255);
}

/** sel4test's create_passive_thread: the helper starts, tells the root on `ep` that it waits, and loses its SC. */
function* startPassive(s: Scenario, sys: ProgramContext, helper: Helper, i: number, ep: number) {
  yield* s.start(sys, [helper], i);
  yield* sys.api.seL4_Wait(ep);
  yield* s.ownSC(sys, i, false);
}

/** A client whose SC has 1 ms every 10 ms: a thread spinning on it leaves the root time to run. */
const client = (program: Program): Helper => ({ program, priority: 100, budgetUs: 1_000n, periodUs: 10_000n });

describe('sel4test scheduling-context scenarios, in lockstep', () => {
  it('SCHED_CONTEXT_0006: a thread running on a notification SC is deleted; the SC stays with the notification and is lent to the next waiter', () => {
    const s = new Scenario('lockstep');
    const ntfn = s.object(0);
    const states = [0, 0];
    let stop = false;
    const helper = (i: number) =>
      function* (sys: ProgramContext) {
        states[i] = 1;
        yield* sys.api.seL4_Wait(ntfn);
        states[i] = 2;
        while (!stop) yield* sys.compute(1_000n);
      };
    const seen: number[][] = [];
    s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_NotificationObject, ntfn);
      const scOf = (i: number) => s.tcbSlot(i) + 1;
      // At the root's priority: seL4_Yield lets them run.
      yield* s.start(sys, [{ program: helper(0), priority: 255 }]);
      yield* sys.api.seL4_Yield();
      seen.push([...states]);
      yield* s.ownSC(sys, 0, false);
      expect(yield* sys.api.seL4_SchedContext_Bind(scOf(0), ntfn)).toBe(E.seL4_NoError);
      yield* sys.api.seL4_Signal(ntfn);
      yield* sys.api.seL4_Yield();
      seen.push([...states]);
      expect(s.tcb(0).schedContext).toBe(s.scOf(0));
      expect(yield* sys.api.seL4_CNode_Delete(R, s.tcbSlot(0), 32)).toBe(E.seL4_NoError);
      expect(s.view(scOf(0))).toMatchObject({ tcb: null, notification: s.view(ntfn).addr });
      yield* sys.api.seL4_Yield();
      yield* s.start(sys, [{ program: helper(1), priority: 255 }], 1);
      yield* sys.api.seL4_Yield();
      seen.push([...states]);
      expect(yield* sys.api.seL4_CNode_Delete(R, scOf(1), 32)).toBe(E.seL4_NoError);
      yield* sys.api.seL4_Signal(ntfn);
      yield* sys.api.seL4_Signal(ntfn);
      yield* sys.api.seL4_Yield();
      seen.push([...states]);
      expect(s.tcb(1).schedContext).toBe(s.scOf(0));
      stop = true;
    });
    expect(seen).toEqual([[1, 0], [2, 0], [2, 1], [2, 2]]);
  });

  it('SCHED_CONTEXT_0007: a passive thread resumed runs once its SC is bound; binding an SC bound to a notification to a TCB that has it is IllegalOperation; Wait returns it lazily', () => {
    const s = new Scenario('lockstep');
    const ntfn = s.object(0);
    const ran = [false, false];
    const returner = (i: number) =>
      function* () {
        ran[i] = true;
      };
    function* lazy(sys: ProgramContext) {
      yield* sys.api.seL4_Wait(ntfn);
    }
    s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_NotificationObject, ntfn);
      yield* s.rootPriority(sys, 50);
      const untyped = biggestUntypedSlot(sys.plan.bootInfo);
      const create = (i: number) => startThread(sys, { program: returner(i), untyped, slot: s.tcbSlot(i), priority: 100, budgetUs: 10_000n, periodUs: 10_000n, resume: false });
      // Resume, then bind.
      expect(yield* create(0)).toBe(E.seL4_NoError);
      yield* s.ownSC(sys, 0, false);
      expect(yield* sys.api.seL4_TCB_Resume(s.tcbSlot(0))).toBe(E.seL4_NoError);
      expect(ran[0]).toBe(false);
      yield* s.ownSC(sys, 0, true);
      expect(ran[0]).toBe(true);
      // Bind, then resume.
      expect(yield* create(1)).toBe(E.seL4_NoError);
      yield* s.ownSC(sys, 1, false);
      yield* s.ownSC(sys, 1, true);
      expect(ran[1]).toBe(false);
      expect(yield* sys.api.seL4_TCB_Resume(s.tcbSlot(1))).toBe(E.seL4_NoError);
      expect(ran[1]).toBe(true);
      // The SC bound to the (finished) thread and to the notification.
      const sc = s.tcbSlot(1) + 1;
      expect(yield* sys.api.seL4_SchedContext_Bind(sc, ntfn)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_TCB_SetPriority(s.tcbSlot(1), seL4_CapInitThreadTCB, 51)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_SchedContext_Bind(sc, s.tcbSlot(1))).toBe(E.seL4_IllegalOperation);
      const regs = Array.from({ length: numRegisters }, (_, r) => (r === Reg.pc ? sys.entry(lazy) : 0));
      expect(yield* sys.api.seL4_TCB_WriteRegisters(s.tcbSlot(1), true, 0, numRegisters, regs)).toBe(E.seL4_NoError);
      // Its Wait on the notification that has its SC gave the SC back.
      expect(s.tcb(1)).toMatchObject({ state: 'BlockedOnNotification', schedContext: null });
      expect(yield* sys.api.seL4_SchedContext_Bind(sc, s.tcbSlot(1))).toBe(E.seL4_NoError);
    });
    expect(s.tcb(1).schedContext).toBe(s.scOf(1));
  });

  it('SCHED_CONTEXT_0008: deleting a passive server that holds an SC donated by NBSendWait through a proxy; the client, given its SC back, finishes', () => {
    const s = new Scenario('lockstep');
    const [clientSend, clientWait, proxySend, serverEp] = [s.object(0), s.object(1), s.object(2), s.object(3)];
    const finished = { server: false, client: false };
    function* server(sys: ProgramContext) {
      yield* sys.api.seL4_NBSendWait(serverEp, empty, proxySend);
      finished.server = true;
    }
    function* proxy(sys: ProgramContext) {
      yield* sys.api.seL4_NBSendWait(proxySend, empty, clientSend);
      yield* sys.api.seL4_NBSendWait(proxySend, empty, clientSend);
      throw new Error('the proxy should not get here');
    }
    function* clientProgram(sys: ProgramContext) {
      yield* sys.api.seL4_NBSendWait(clientSend, empty, clientWait);
      finished.client = true;
    }
    s.run(function* root(sys) {
      for (const ep of [clientSend, clientWait, proxySend, serverEp]) yield* s.retype(sys, T.seL4_EndpointObject, ep);
      yield* startPassive(s, sys, { program: server, priority: 100 }, 0, serverEp);
      yield* startPassive(s, sys, { program: proxy, priority: 100 }, 1, proxySend);
      yield* s.start(sys, [{ program: clientProgram, priority: 100 }], 2);
      yield* sleep(s, sys);
      expect(finished).toEqual({ server: true, client: false });
      expect(s.tcb(0).schedContext).toBe(s.scOf(2));
      expect(yield* sys.api.seL4_CNode_Delete(R, s.tcbSlot(0), 32)).toBe(E.seL4_NoError);
      expect(s.view(s.tcbSlot(2) + 1)).toMatchObject({ tcb: null });
      yield* s.ownSC(sys, 2, true);
      yield* sys.api.seL4_Signal(clientWait);
      yield* sleep(s, sys);
      expect(finished.client).toBe(true);
    });
  });

  /** A passive server that spins on whatever SC it is given, counting. */
  const spinner = (ep: () => number, reply: () => number, count: () => void) =>
    function* server(sys: ProgramContext) {
      yield* sys.api.seL4_NBSendRecv(ep(), empty, ep(), reply());
      for (;;) {
        count();
        yield* sys.compute(100n);
      }
    };

  it('SCHED_CONTEXT_0009 and SCHED_CONTEXT_0010: a passive server spinning on a client SC stops when its reply object is deleted (the SC back with the caller) or the SC unbound from it', () => {
    for (const how of ['delete reply', 'unbind'] as const) {
      const s = new Scenario('lockstep');
      const [ep, reply] = [s.object(0), s.object(1)];
      let spins = 0;
      let clientDone = false;
      function* caller(sys: ProgramContext) {
        if (how === 'delete reply') yield* sys.api.seL4_Call(ep, empty);
        else yield* sys.api.seL4_NBSendWait(ep, empty, ep);
        clientDone = true;
      }
      const counts: number[] = [];
      s.run(function* root(sys) {
        yield* s.retype(sys, T.seL4_EndpointObject, ep);
        yield* s.retype(sys, T.seL4_ReplyObject, reply);
        yield* startPassive(s, sys, { program: spinner(() => ep, () => reply, () => spins++), priority: 100 }, 0, ep);
        yield* s.start(sys, [client(caller)], 1);
        yield* sleep(s, sys);
        counts.push(spins);
        if (how === 'delete reply') {
          expect(yield* sys.api.seL4_CNode_Delete(R, reply, 32)).toBe(E.seL4_NoError);
          expect(s.tcb(1)).toMatchObject({ state: 'Inactive', schedContext: s.scOf(1) });
        } else {
          expect(yield* sys.api.seL4_SchedContext_UnbindObject(s.tcbSlot(1) + 1, s.tcbSlot(0))).toBe(E.seL4_NoError);
        }
        expect(s.tcb(0).schedContext).toBeNull();
        counts.push(spins);
        yield* sleep(s, sys);
        counts.push(spins);
        // Bound back once its budget is released (a blocked thread takes no SC still waiting for a refill).
        if (how === 'unbind') yield* s.ownSC(sys, 1, true);
        // sel4test's restart_after_syscall: the client goes on after its call.
        expect(yield* sys.api.seL4_TCB_Resume(s.tcbSlot(1))).toBe(E.seL4_NoError);
        yield* sleep(s, sys);
      });
      expect(counts[0]).toBeGreaterThan(0);
      expect(counts[2]).toBe(counts[1]);
      expect(clientDone).toBe(true);
    }
  });

  it('SchedContext_Unbind of a context donated to a passive server unbinds it from the server and cuts its call stack (the reply forgets it), as seL4\'s invokeSchedContext_Unbind does', () => {
    const s = new Scenario('lockstep');
    const [ep, reply] = [s.object(0), s.object(1)];
    let spins = 0;
    function* caller(sys: ProgramContext) {
      yield* sys.api.seL4_Call(ep, empty);
    }
    s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      yield* s.retype(sys, T.seL4_ReplyObject, reply);
      yield* startPassive(s, sys, { program: spinner(() => ep, () => reply, () => spins++), priority: 100 }, 0, ep);
      yield* s.start(sys, [client(caller)], 1);
      yield* sleep(s, sys);
      const donated = s.scOf(1);
      expect(s.tcb(0).schedContext).toBe(donated);
      expect(s.view(reply)).toMatchObject({ tcb: s.tcbPtr(1), schedContext: donated });
      expect(yield* sys.api.seL4_SchedContext_Unbind(s.tcbSlot(1) + 1)).toBe(E.seL4_NoError);
      expect(s.tcb(0).schedContext).toBeNull();
      expect(s.view(reply)).toMatchObject({ tcb: s.tcbPtr(1), schedContext: null });
      expect(s.system.view().object(donated)).toMatchObject({ tcb: null, replies: [] });
    });
    expect(spins).toBeGreaterThan(0);
  });

  /** Client, proxy and passive spinning server: the client calls the proxy, which calls the server. */
  class Chain {
    readonly s = new Scenario('lockstep');
    readonly ep = this.s.object(0);
    readonly ep2 = this.s.object(1);
    readonly proxyReply = this.s.object(2);
    readonly serverReply = this.s.object(3);
    spins = 0;
    readonly done = { proxy: false, client: false };

    *setUp(sys: ProgramContext) {
      const { s } = this;
      for (const slot of [this.ep, this.ep2]) yield* s.retype(sys, T.seL4_EndpointObject, slot);
      for (const slot of [this.proxyReply, this.serverReply]) yield* s.retype(sys, T.seL4_ReplyObject, slot);
      yield* startPassive(s, sys, { program: spinner(() => this.ep2, () => this.serverReply, () => this.spins++), priority: 100 }, 0, this.ep2);
      const chain = this;
      function* proxy(proxySys: ProgramContext) {
        yield* proxySys.api.seL4_NBSendRecv(chain.ep, empty, chain.ep, chain.proxyReply);
        yield* proxySys.api.seL4_Call(chain.ep2, empty);
        chain.done.proxy = true;
      }
      function* caller(callerSys: ProgramContext) {
        yield* callerSys.api.seL4_Call(chain.ep, empty);
        chain.done.client = true;
      }
      yield* startPassive(s, sys, { program: proxy, priority: 100 }, 1, this.ep);
      yield* s.start(sys, [client(caller)], 2);
      yield* sleep(s, sys);
      expect(this.spins).toBeGreaterThan(0);
      expect(s.tcb(0).schedContext).toBe(s.scOf(2));
    }

    /** Lets time pass and expects the server not to have spun meanwhile. */
    *expectNoSpin(sys: ProgramContext) {
      const spins = this.spins;
      yield* sleep(this.s, sys);
      expect(this.spins).toBe(spins);
    }
  }

  it('SCHED_CONTEXT_0011: deleting the server reply returns the SC to the proxy, deleting the proxy reply returns it to the client', () => {
    const c = new Chain();
    const { s } = c;
    s.run(function* root(sys) {
      yield* c.setUp(sys);
      expect(yield* sys.api.seL4_CNode_Delete(R, c.serverReply, 32)).toBe(E.seL4_NoError);
      expect(s.tcb(1)).toMatchObject({ state: 'Inactive', schedContext: s.scOf(2) });
      yield* c.expectNoSpin(sys);
      expect(yield* sys.api.seL4_CNode_Delete(R, c.proxyReply, 32)).toBe(E.seL4_NoError);
      expect(s.tcb(2)).toMatchObject({ state: 'Inactive', schedContext: s.scOf(2) });
      expect(yield* sys.api.seL4_TCB_Resume(s.tcbSlot(2))).toBe(E.seL4_NoError);
      yield* sleep(s, sys);
    });
    expect(c.done).toEqual({ proxy: false, client: true });
  });

  it('SCHED_CONTEXT_0012: deleting the proxy reply first cuts the chain; the server reply then returns the SC to the proxy only; the client never runs', () => {
    const c = new Chain();
    const { s } = c;
    s.run(function* root(sys) {
      yield* c.setUp(sys);
      expect(yield* sys.api.seL4_CNode_Delete(R, c.proxyReply, 32)).toBe(E.seL4_NoError);
      expect(s.tcb(2)).toMatchObject({ state: 'Inactive', schedContext: null });
      expect(yield* sys.api.seL4_CNode_Delete(R, c.serverReply, 32)).toBe(E.seL4_NoError);
      expect(s.tcb(1)).toMatchObject({ state: 'Inactive', schedContext: s.scOf(2) });
      yield* c.expectNoSpin(sys);
      expect(yield* sys.api.seL4_TCB_Resume(s.tcbSlot(2))).toBe(E.seL4_NoError);
      yield* sleep(s, sys);
    });
    expect(c.done).toEqual({ proxy: false, client: false });
  });

  it('SCHED_CONTEXT_0013: deleting the client SC mid-chain stops everyone; a new SC bound to the proxy lets it finish, then the client', () => {
    const c = new Chain();
    const { s } = c;
    const sc = s.object(10);
    s.run(function* root(sys) {
      yield* c.setUp(sys);
      expect(yield* sys.api.seL4_CNode_Delete(R, s.tcbSlot(2) + 1, 32)).toBe(E.seL4_NoError);
      yield* c.expectNoSpin(sys);
      expect(yield* sys.api.seL4_CNode_Delete(R, c.serverReply, 32)).toBe(E.seL4_NoError);
      // sel4test binds the new SC before configuring it.
      yield* s.newSchedContext(sys, sc, false);
      expect(yield* sys.api.seL4_SchedContext_Bind(sc, s.tcbSlot(1))).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_SchedControl_ConfigureFlags(sys.plan.bootInfo.schedcontrol.start, sc, 10_000n, 10_000n, 0, 0, 0)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_TCB_Resume(s.tcbSlot(1))).toBe(E.seL4_NoError);
      yield* sleep(s, sys);
      expect(c.done).toEqual({ proxy: true, client: false });
      expect(yield* sys.api.seL4_SchedContext_UnbindObject(sc, s.tcbSlot(1))).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_SchedContext_Bind(sc, s.tcbSlot(2))).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_TCB_Resume(s.tcbSlot(2))).toBe(E.seL4_NoError);
      yield* sleep(s, sys);
    });
    expect(c.done).toEqual({ proxy: true, client: true });
  });
});

describe('sel4test scheduler scenarios, in lockstep', () => {
  it('SCHED0008: a queued caller whose priority changes moves to its place in the endpoint queue', () => {
    const s = new Scenario('lockstep');
    const ep = s.object(0);
    const clients = 5;
    const badged = (i: number) => s.object(1 + i);
    const reply = (i: number) => s.object(10 + i);
    const [highest, lowest, middle] = [254, 254 - clients - 2, 254 - 3];
    const caller = (i: number) =>
      function* (sys: ProgramContext) {
        for (;;) yield* sys.api.seL4_Call(badged(i), empty);
      };
    const orders: number[][] = [];
    s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      for (let i = 0; i < clients; i++) {
        yield* s.retype(sys, T.seL4_ReplyObject, reply(i));
        expect(yield* sys.api.seL4_CNode_Mint(R, badged(i), 32, R, ep, 32, seL4_AllRights, i)).toBe(E.seL4_NoError);
      }
      const setClientPriority = function* (priority: number) {
        expect(yield* sys.api.seL4_TCB_SetPriority(s.tcbSlot(0), seL4_CapInitThreadTCB, priority)).toBe(E.seL4_NoError);
      };
      // Client 0 alone, its priority changed while it waits in the queue.
      yield* s.start(sys, [{ program: caller(0), priority: highest - clients - 1 }]);
      for (const priority of [lowest, lowest + 1]) {
        yield* setClientPriority(priority);
        expect((yield* sys.api.seL4_Recv(ep, reply(0))).sender).toBe(0);
        yield* sys.api.seL4_Send(reply(0), empty);
      }
      yield* s.start(sys, Array.from({ length: clients - 1 }, (_, n) => ({ program: caller(n + 1), priority: highest - clients + n })), 1);
      const receiveAll = function* () {
        const order: number[] = [];
        for (let i = 0; i < clients; i++) order.push((yield* sys.api.seL4_Recv(ep, reply(i))).sender);
        for (let i = 0; i < clients; i++) yield* sys.api.seL4_Send(reply(i), empty);
        orders.push(order);
      };
      for (const priority of [lowest, middle, highest - 1, highest, highest - 1, middle, lowest]) {
        // Every client queues (the root below them for a moment), then client 0 moves.
        yield* s.rootPriority(sys, 1);
        yield* s.rootPriority(sys, 255);
        yield* setClientPriority(priority);
        yield* receiveAll();
      }
    });
    // Client 0 at position 4, 2, 0, 0, 0, 2, 4; the others highest first.
    const at = (pos: number) => [...[4, 3, 2, 1].slice(0, pos), 0, ...[4, 3, 2, 1].slice(pos)];
    expect(orders).toEqual([4, 2, 0, 0, 0, 2, 4].map(at));
  });

  it('SCHED0009: servers of rising priority wait with ReplyRecv on one endpoint; each Call goes to the highest waiting server, also as they are suspended', () => {
    const s = new Scenario('lockstep');
    const [ep, servers] = [s.object(0), 5];
    const server = (i: number) =>
      function* (sys: ProgramContext) {
        yield* sys.api.seL4_Recv(ep, s.object(1 + i));
        for (;;) {
          sys.api.seL4_SetMR(0, i);
          yield* sys.api.seL4_ReplyRecv(ep, seL4_MessageInfo_new(0, 0, 0, 1), s.object(1 + i));
        }
      };
    const answers: number[] = [];
    s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      for (let i = 0; i < servers; i++) yield* s.retype(sys, T.seL4_ReplyObject, s.object(1 + i));
      const call = function* () {
        yield* sys.api.seL4_Call(ep, empty);
        answers.push(sys.api.seL4_GetMR(0));
      };
      for (let i = 0; i < servers; i++) {
        yield* s.start(sys, [{ program: server(i), priority: 254 - servers + i }], i);
        yield* sleep(s, sys, 1_000n);
        yield* call();
      }
      for (let i = 0; i < servers; i++) yield* call();
      for (let i = servers - 1; i > 0; i--) {
        expect(yield* sys.api.seL4_TCB_Suspend(s.tcbSlot(i))).toBe(E.seL4_NoError);
        yield* call();
      }
    });
    expect(answers).toEqual([0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 3, 2, 1, 0]);
  });
});
