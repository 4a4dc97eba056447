// sel4test's binding.c (BIND0002-BIND006), the badged-send cancellation tests of endpoints.c and
// cnodeops.c (CANCEL_BADGED_SENDS_0001/0002, CNODEOP0006), translated to the run loop and run in
// lockstep. docs/sel4-facts.md section 23.1 lists the sel4test tests.
import { describe, expect, it } from 'vitest';
import {
  messageInfoFromWord,
  seL4_AllRights,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType,
} from '../../libsel4/index.ts';
import type { ProgramContext } from '../../refinement/run.ts';
import { Scenario } from './sched-common.ts';

const E = seL4_Error;
const R = seL4_CapInitThreadCNode;
const T = seL4_ObjectType;
const empty = seL4_MessageInfo_new(0, 0, 0, 0);

/** Mints `ep` with `badge` into root slot `badged`, and copies that (a child of it) into `derived`. */
function* mintWithCopy(sys: ProgramContext, ep: number, badged: number, derived: number, badge: number) {
  expect(yield* sys.api.seL4_CNode_Mint(R, badged, 32, R, ep, 32, seL4_AllRights, badge)).toBe(E.seL4_NoError);
  expect(yield* sys.api.seL4_CNode_Copy(R, derived, 32, R, badged, 32, seL4_AllRights)).toBe(E.seL4_NoError);
}

/** Revokes the badged cap in root slot `badged` (deleting its copy) and cancels its badge's sends. */
function* revokeAndCancel(sys: ProgramContext, badged: number) {
  expect(yield* sys.api.seL4_CNode_Revoke(R, badged, 32)).toBe(E.seL4_NoError);
  expect(yield* sys.api.seL4_CNode_CancelBadgedSends(R, badged, 32)).toBe(E.seL4_NoError);
}

describe('sel4test binding and badged-send scenarios, in lockstep', () => {
  it('BIND0002: a thread waiting on its own bound notification receives each signal with its badge', () => {
    const s = new Scenario('lockstep');
    const [ntfn, badged] = [s.object(0), s.object(1)];
    const signals = 5;
    const badges: number[] = [];
    function* sender(sys: ProgramContext) {
      // A Send on a notification cap signals it.
      for (let n = 0; n < signals; n++) yield* sys.api.seL4_Send(badged, empty);
    }
    const result = s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_NotificationObject, ntfn);
      expect(yield* sys.api.seL4_CNode_Mint(R, badged, 32, R, ntfn, 32, seL4_AllRights, 1)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_TCB_BindNotification(seL4_CapInitThreadTCB, ntfn)).toBe(E.seL4_NoError);
      yield* s.start(sys, [{ program: sender, priority: 100 }]);
      for (let n = 0; n < signals; n++) badges.push((yield* sys.api.seL4_Wait(ntfn)).sender);
      expect(yield* sys.api.seL4_TCB_UnbindNotification(seL4_CapInitThreadTCB)).toBe(E.seL4_NoError);
    });
    expect(result.stop).toBe('finished');
    expect(badges).toEqual(Array.from({ length: signals }, () => 1));
    expect(s.tcb('root').boundNotification).toBeNull();
  });

  it.each([
    ['BIND0003', 10, 9],
    ['BIND0004', 9, 10],
  ])('%s: a bound thread at %i waiting on its notification and a signaller at %i both finish', (_, waiterPriority, senderPriority) => {
    const s = new Scenario('lockstep');
    const ntfn = s.object(0);
    const badges: number[] = [];
    function* waiter(sys: ProgramContext) {
      badges.push((yield* sys.api.seL4_Wait(ntfn)).sender);
    }
    function* sender(sys: ProgramContext) {
      yield* sys.api.seL4_Send(ntfn, empty);
    }
    const result = s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_NotificationObject, ntfn);
      yield* s.start(sys, [{ program: waiter, priority: waiterPriority }]);
      expect(yield* sys.api.seL4_TCB_BindNotification(s.tcbSlot(0), ntfn)).toBe(E.seL4_NoError);
      yield* s.start(sys, [{ program: sender, priority: senderPriority }], 1);
    });
    expect(result.stop).toBe('finished');
    expect(result.threads.every((t) => t.finished)).toBe(true);
    expect(badges).toEqual([0]);
  });

  it.each([
    ['BIND005', false],
    ['BIND006', true],
  ])('%s: a signal to a bound passive thread waiting on an endpoint wakes it; it runs at once only if an SC is bound to the notification (%s)', (_, scOnNotification) => {
    const s = new Scenario('lockstep');
    const [ep, ntfn] = [s.object(0), s.object(1)];
    let state = 0;
    const seen: number[] = [];
    function* helper(sys: ProgramContext) {
      state = 1;
      yield* sys.api.seL4_Wait(ep);
      state = 2;
    }
    const result = s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      yield* s.retype(sys, T.seL4_NotificationObject, ntfn);
      yield* s.rootPriority(sys, 9);
      yield* s.start(sys, [{ program: helper, priority: 10 }]);
      expect(yield* sys.api.seL4_TCB_BindNotification(s.tcbSlot(0), ntfn)).toBe(E.seL4_NoError);
      seen.push(state);
      yield* s.ownSC(sys, 0, false);
      if (scOnNotification) expect(yield* sys.api.seL4_SchedContext_Bind(s.tcbSlot(0) + 1, ntfn)).toBe(E.seL4_NoError);
      yield* sys.api.seL4_Signal(ntfn);
      seen.push(state);
      if (!scOnNotification) {
        expect(s.tcb(0)).toMatchObject({ state: 'Running', schedContext: null });
        yield* s.ownSC(sys, 0, true);
        seen.push(state);
      }
    });
    expect(result.stop).toBe('finished');
    expect(seen).toEqual(scOnNotification ? [1, 2] : [1, 1, 2]);
  });

  it('CNODEOP0006: CancelBadgedSends on an unbadged endpoint cap succeeds and leaves the cap; on an empty slot it is IllegalOperation', () => {
    const s = new Scenario('lockstep');
    const [ep, emptySlot] = [s.object(0), s.object(1)];
    s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      expect(yield* sys.api.seL4_CNode_CancelBadgedSends(R, ep, 32)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_CNode_CancelBadgedSends(R, emptySlot, 32)).toBe(E.seL4_IllegalOperation);
    });
    const at = (index: number) => s.system.view().cap({ cnode: s.system.plan.rootCNode, index })?.type;
    expect([at(ep), at(emptySlot)]).toEqual(['endpoint', 'null']);
  });

  // A Call on an empty slot is no cap fault: the lookup finds the slot, and invoking its null cap
  // is an InvalidCapability error replied to the caller. The run loop shows a kernel restart as the
  // call returning with the registers unchanged (README: Differences from seL4); the program then
  // makes it again, as seL4 does.
  it('CANCEL_BADGED_SENDS_0001: revoking a badged cap and cancelling its sends aborts exactly that caller, whose Call made again fails', () => {
    const s = new Scenario('lockstep');
    const ep = s.object(0);
    const senders = 4;
    const badgedSlot = (i: number) => s.object(1 + 2 * i);
    const derivedSlot = (i: number) => s.object(2 + 2 * i);
    const reply = s.object(20);
    const done = Array.from({ length: senders }, () => -1);
    const sender = (i: number) =>
      function* (sys: ProgramContext) {
        const message = i + 100;
        const call = () => {
          sys.api.seL4_SetMR(0, message);
          return sys.api.seL4_Call(derivedSlot(i), seL4_MessageInfo_new(0, 0, 0, 1));
        };
        const first = messageInfoFromWord(yield* call());
        expect([first.length, sys.api.seL4_GetMR(0)]).toEqual([1, ~message >>> 0]);
        done[i] = 0;
        let info = messageInfoFromWord(yield* call());
        if (info.label === 0 && sys.api.seL4_GetMR(0) === message) info = messageInfoFromWord(yield* call());
        done[i] = info.label === E.seL4_InvalidCapability ? 1 : 2;
      };
    const doneAfterEach: number[][] = [];
    s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      yield* s.retype(sys, T.seL4_ReplyObject, reply);
      for (let i = 0; i < senders; i++) {
        yield* mintWithCopy(sys, ep, badgedSlot(i), derivedSlot(i), i + 200);
      }
      yield* s.start(sys, Array.from({ length: senders }, (_, i) => ({ program: sender(i), priority: 100 })));
      // Below the senders for a moment (sel4test calls a bouncer at priority 0), the root lets them run.
      const letRun = function* () {
        yield* s.rootPriority(sys, 50);
        yield* s.rootPriority(sys, 255);
      };
      yield* letRun();
      for (let n = 0; n < senders; n++) {
        const { info, sender: badge } = yield* sys.api.seL4_Recv(ep, reply);
        expect(messageInfoFromWord(info).length).toBe(1);
        expect(sys.api.seL4_GetMR(0)).toBe(badge - 100);
        sys.api.seL4_SetMR(0, ~sys.api.seL4_GetMR(0) >>> 0);
        yield* sys.api.seL4_Send(reply, seL4_MessageInfo_new(0, 0, 0, 1));
      }
      yield* letRun();
      expect(done).toEqual(done.map(() => 0));
      for (let i = 0; i < senders; i++) {
        yield* revokeAndCancel(sys, badgedSlot(i));
        yield* letRun();
        doneAfterEach.push([...done]);
        const view = s.view(ep);
        expect(view.type === 'endpoint' ? view.queue.length : -1).toBe(senders - 1 - i);
      }
    });
    expect(doneAfterEach).toEqual(Array.from({ length: senders }, (_, i) => Array.from({ length: senders }, (_, j) => (j <= i ? 1 : 0))));
  });

  it('CANCEL_BADGED_SENDS_0002: helpers calling from a server loop through badged copies: after revoking one badge, only that helper\'s Call fails', () => {
    const s = new Scenario('lockstep');
    const ep = s.object(0);
    const helpers = 3;
    const badgedSlot = (i: number) => s.object(1 + 3 * i);
    const derivedSlot = (i: number) => s.object(2 + 3 * i);
    const syncEp = (i: number) => s.object(3 + 3 * i);
    const replyOf = (i: number) => s.object(20 + i);
    const status = Array.from({ length: helpers }, () => -1);
    function* bouncer(sys: ProgramContext) {
      yield* sys.api.seL4_Recv(ep, replyOf(helpers));
      for (;;) yield* sys.api.seL4_ReplyRecv(ep, empty, replyOf(helpers));
    }
    const helper = (i: number) =>
      function* (sys: ProgramContext) {
        for (;;) {
          yield* sys.api.seL4_Recv(syncEp(i), replyOf(i));
          const info = yield* sys.api.seL4_Call(derivedSlot(i), empty);
          status[i] = messageInfoFromWord(info).label !== E.seL4_InvalidCapability ? 1 : 0;
          yield* sys.api.seL4_Send(replyOf(i), empty);
        }
      };
    const statusAfterEach: number[][] = [];
    const result = s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      for (let i = 0; i <= helpers; i++) yield* s.retype(sys, T.seL4_ReplyObject, replyOf(i));
      yield* s.start(sys, [{ program: bouncer, priority: 100 }]);
      for (let i = 0; i < helpers; i++) {
        yield* s.retype(sys, T.seL4_EndpointObject, syncEp(i));
        yield* mintWithCopy(sys, ep, badgedSlot(i), derivedSlot(i), i + 200);
        yield* s.start(sys, [{ program: helper(i), priority: 100 }], 1 + i);
      }
      const callEach = function* () {
        for (let j = 0; j < helpers; j++) yield* sys.api.seL4_Call(syncEp(j), empty);
      };
      yield* callEach();
      expect(status).toEqual(status.map(() => 1));
      for (let i = 0; i < helpers; i++) {
        yield* revokeAndCancel(sys, badgedSlot(i));
        yield* callEach();
        statusAfterEach.push([...status]);
      }
    });
    expect(result.stop).toBe('idle');
    expect(statusAfterEach).toEqual(Array.from({ length: helpers }, (_, i) => Array.from({ length: helpers }, (_, j) => (j <= i ? 0 : 1))));
  });
});
