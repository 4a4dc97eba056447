// Fault delivery in the manner of sel4test's faults.c (MCS), on the run loop and on every layer
// and in lockstep: a helper thread whose fault handler (TCB slot 3, set with TCB_SetSpace) is an
// endpoint the root task waits on takes a user exception, an unknown syscall or a cap fault; the
// root task receives the fault message, sees the helper blocked on its reply with the fault
// pending, and answers: a restarting reply (label 0, registers from the message where the fault
// type takes them) or not (label 1: Inactive). Then timeout faults (slot 4) as TIMEOUTFAULT0001
// and 0002 raise them (a thread spinning past its budget, a passive server spinning on its
// client's context) and as a reply raises one (doReplyTransfer), and a receive through a cap
// without Read as IPCRIGHTS0002 (ipc_rights.c). docs/sel4-facts.md section 21 has the layouts.
import { describe, expect, it } from 'vitest';
import {
  Reg,
  messageInfoFromWord,
  numRegisters,
  seL4_CanRead,
  seL4_CanWrite,
  usToTicks,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  type FaultView,
  type Stub,
} from '../../libsel4/index.ts';
import { runSystem, startThread, type Program, type ProgramContext } from '../../refinement/run.ts';
import { HelperSlots, biggestUntypedSlot, modes } from './sched-common.ts';

const E = seL4_Error;
const R = seL4_CapInitThreadCNode;

interface Delivered {
  readonly label: number;
  readonly length: number;
  readonly words: readonly number[];
  readonly faulterState: string;
  readonly fault: FaultView | null;
}

/**
 * The root task starts `faulter` at priority 100 with the endpoint as its fault handler, waits
 * on the endpoint with a reply object, records what arrives, and replies with `replyLabel` and
 * `replyWords`. Returns what the root saw and the faulter's state and fault after the reply.
 */
function deliver(mode: (typeof modes)[number], faulter: Program, replyLabel: number, replyWords: readonly number[]) {
  const s = new HelperSlots(mode);
  const ep = s.tcbSlot(4);
  const reply = ep + 1;
  let delivered: Delivered | null = null;
  function* root(sys: ProgramContext): Stub<void> {
    const untyped = biggestUntypedSlot(sys.plan.bootInfo);
    expect(yield* sys.api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, R, 0, 0, ep, 1)).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_ReplyObject, 0, R, 0, 0, reply, 1)).toBe(E.seL4_NoError);
    const tcb = s.tcbSlot(0);
    expect(yield* startThread(sys, { program: faulter, untyped, slot: tcb, priority: 100, budgetUs: 10_000n, periodUs: 10_000n, resume: false })).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_TCB_SetSpace(tcb, ep, R, 0, seL4_CapInitThreadVSpace, 0)).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_TCB_Resume(tcb)).toBe(E.seL4_NoError);
    const { info } = yield* sys.api.seL4_Recv(ep, reply);
    const { label, length } = messageInfoFromWord(info);
    const faulterNow = s.tcb(0);
    delivered = { label, length, words: Array.from({ length: Math.min(length, 4) }, (_, i) => sys.api.seL4_GetMR(i)), faulterState: faulterNow.state, fault: faulterNow.fault };
    replyWords.forEach((w, i) => sys.api.seL4_SetMR(i, w));
    yield* sys.api.seL4_Send(reply, seL4_MessageInfo_new(replyLabel, 0, 0, replyWords.length));
  }
  const result = runSystem(root, { system: s.system, maxSteps: 200 });
  return { result, delivered: delivered as Delivered | null, after: s.tcb(0) };
}

describe.each(modes)('fault delivery on %s', (mode) => {
  it('a user exception reaches the handler (label 3: FaultIP, sp, number, 0; the code kept in its 28-bit field) and a reply with label 1 leaves the thread Inactive, its fault cleared', () => {
    function* faulter(sys: ProgramContext): Stub<void> {
      yield* sys.api.raiseException(7, 0x4000_0009);
    }
    const { delivered, after } = deliver(mode, faulter, 1, []);
    expect(delivered).toMatchObject({ label: 3, length: 4, faulterState: 'BlockedOnReply', fault: { type: 'UserException', words: [7, 9] } });
    expect(delivered!.words[2]).toBe(7);
    expect(after).toMatchObject({ state: 'Inactive', fault: null });
  });

  it('an unknown syscall reaches the handler (label 2, 11 words) and a restarting reply writes FaultIP and sp from the message', () => {
    let seenAfter: readonly number[] = [];
    function* faulter(sys: ProgramContext): Stub<void> {
      const observation = yield* sys.api.rawSyscall([[Reg.a7, 5]]);
      seenAfter = [observation.caller?.regs[Reg.pc] ?? -1, observation.caller?.regs[Reg.sp] ?? -1];
    }
    const { delivered } = deliver(mode, faulter, 0, [0x4000, 0x8000]);
    expect(delivered).toMatchObject({ label: 2, length: 11, faulterState: 'BlockedOnReply', fault: { type: 'UnknownSyscall', words: [5] } });
    expect(seenAfter).toEqual([0x4000, 0x8000]);
  });

  it('a Call on a CPtr whose guard does not match is a cap fault (label 1: the CPtr, not in the receive phase, GuardMismatch) and its reply always restarts', () => {
    const badCPtr = 0x8000_0000;
    let resumed = false;
    function* faulter(sys: ProgramContext): Stub<void> {
      yield* sys.api.seL4_Call(badCPtr, seL4_MessageInfo_new(0, 0, 0, 0));
      resumed = true;
    }
    const { delivered } = deliver(mode, faulter, 1, []);
    expect(delivered).toMatchObject({ label: 1, faulterState: 'BlockedOnReply', fault: { type: 'CapFault' } });
    expect(delivered!.words.slice(1, 4)).toEqual([badCPtr, 0, 4]);
    expect(delivered!.fault!.words.slice(0, 3)).toEqual([badCPtr, 0, 4]); // the failure as the error reply encodes it (type + 1)
    expect(resumed).toBe(true);
  });
});

/** Spins: computes for ever, 10 ms at a time. */
function* spin(sys: ProgramContext): Stub<void> {
  for (;;) yield* sys.compute(10_000n);
}

/** A timeout fault message as the root task received it, and when. */
interface TimeoutSeen {
  readonly badge: number;
  readonly label: number;
  readonly length: number;
  readonly words: readonly number[];
  readonly atTicks: bigint;
}

function* receivedTimeout(sys: ProgramContext, info: number, badge: number, s: HelperSlots): Stub<TimeoutSeen> {
  const { label, length } = messageInfoFromWord(info);
  return { badge, label, length, words: [0, 1, 2].map((i) => sys.api.seL4_GetMR(i)), atTicks: s.system.view().scheduler().clockTicks };
}

describe.each(modes)('timeout faults and rights on %s', (mode) => {
  it('TIMEOUTFAULT0001: a thread spinning with 1 ms of budget every 2 ms raises a timeout fault each period (label 5, length 3, MR0 its context\'s badge), answered each time', () => {
    const s = new HelperSlots(mode);
    const [ep, reply] = [s.tcbSlot(4), s.tcbSlot(4) + 1];
    const [tcb, sc] = [s.tcbSlot(0), s.tcbSlot(0) + 1];
    const rounds = 4;
    const seen: TimeoutSeen[] = [];
    function* root(sys: ProgramContext): Stub<void> {
      const untyped = biggestUntypedSlot(sys.plan.bootInfo);
      expect(yield* sys.api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, R, 0, 0, ep, 1)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_ReplyObject, 0, R, 0, 0, reply, 1)).toBe(E.seL4_NoError);
      expect(yield* startThread(sys, { program: spin, untyped, slot: tcb, priority: 100, budgetUs: 1000n, periodUs: 2000n, resume: false })).toBe(E.seL4_NoError);
      // The context's badge (sel4test's `data`) is what each timeout fault carries in MR0.
      expect(yield* sys.api.seL4_SchedControl_ConfigureFlags(sys.plan.bootInfo.schedcontrol.start, sc, 1000n, 2000n, 0, 1, 0)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_TCB_SetTimeoutEndpoint(tcb, ep)).toBe(E.seL4_NoError);
      expect(yield* sys.api.seL4_TCB_Resume(tcb)).toBe(E.seL4_NoError);
      let { info, sender } = yield* sys.api.seL4_Recv(ep, reply);
      for (let round = 1; round < rounds; round++) {
        seen.push(yield* receivedTimeout(sys, info, sender, s));
        expect(s.tcb(0)).toMatchObject({ state: 'BlockedOnReply', fault: { type: 'Timeout', words: [1] } });
        ({ info, sender } = yield* sys.api.seL4_ReplyRecv(ep, seL4_MessageInfo_new(0, 0, 0, 0), reply));
      }
      seen.push(yield* receivedTimeout(sys, info, sender, s));
      yield* sys.api.seL4_Send(reply, seL4_MessageInfo_new(0, 0, 0, 0));
    }
    runSystem(root, { system: s.system, maxTimeUs: 2000n * BigInt(rounds) });
    expect(seen).toHaveLength(rounds);
    for (const [i, t] of seen.entries()) {
      // The handler cap is unbadged; MR1-MR2 the time consumed (µs, low word first): about the budget.
      expect(t).toMatchObject({ badge: 0, label: 5, length: 3 });
      expect(t.words[0]).toBe(1);
      expect(t.words[1]).toBeGreaterThan(990);
      expect(t.words[1]).toBeLessThanOrEqual(1000);
      expect(t.words[2]).toBe(0);
      // One fault each period, once the budget is spent (the timer fires a precision early).
      const periodStart = usToTicks(2000n * BigInt(i));
      expect(t.atTicks > periodStart + usToTicks(990n) && t.atTicks <= periodStart + usToTicks(1000n)).toBe(true);
    }
  });
});

/** What the passive-server timeout scenario saw: each timeout fault the root task received, and the threads' own views. */
interface ServerTimeouts {
  readonly faults: TimeoutSeen[];
  readonly serverFault: FaultView | null;
  readonly serverOnClientContext: boolean;
  /** The client's state and fault right after the root task replied to it through the server's reply object. */
  readonly clientAfterReply: { readonly state: string; readonly fault: FaultView | null };
  readonly clientGot: number | null;
  readonly serverRegsAfter: readonly number[] | null;
}

/** The words of a 32-register timeout reply (seL4_UserContext order: pc, ra, sp, gp, s0-s11, a0-a7, t0-t6, tp). */
const restoredRegs = Array.from({ length: numRegisters }, (_, i) => 0x2000 + 4 * i);

/**
 * sel4test's TIMEOUTFAULT0002: a passive server (its timeout handler a cap to `tfep` badged 2)
 * spins on the context its client's Call donated (badged 1, 1 ms budget) until the budget runs
 * out: a timeout fault through the server's handler, which the root task receives. The root
 * task replies to the client through the server's reply object (MR0 = -1), binds the server's
 * own context back and resets the server with a 32-register timeout reply. With
 * `clientHandler`, the client has a timeout handler too (badged 3): the reply finds the
 * client's context without budget and raises a timeout fault for the client (doReplyTransfer),
 * which the root task receives and answers.
 */
function serverTimeouts(mode: (typeof modes)[number], clientHandler: boolean): ServerTimeouts {
  const s = new HelperSlots(mode);
  const [server, client] = [s.tcbSlot(0), s.tcbSlot(1)];
  const [tfep, ep, ro, serverReply, clientReply, serverTfep, clientTfep] = Array.from({ length: 7 }, (_, i) => s.tcbSlot(4) + i);
  const faults: TimeoutSeen[] = [];
  let seenAtFault: Omit<ServerTimeouts, 'faults' | 'clientGot' | 'serverRegsAfter' | 'clientAfterReply'> | null = null;
  let clientAfterReply: ServerTimeouts['clientAfterReply'] | null = null;
  let clientGot: number | null = null;
  let serverRegsAfter: number[] | null = null;
  function* serve(sys: ProgramContext): Stub<void> {
    yield* sys.api.seL4_Recv(ep, ro);
    const after = yield* sys.compute(2000n);
    serverRegsAfter = after.caller?.regs.slice() ?? null;
  }
  function* ask(sys: ProgramContext): Stub<void> {
    yield* sys.api.seL4_Call(ep, seL4_MessageInfo_new(0, 0, 0, 0));
    clientGot = sys.api.seL4_GetMR(0);
  }
  function* root(sys: ProgramContext): Stub<void> {
    const untyped = biggestUntypedSlot(sys.plan.bootInfo);
    const control = sys.plan.bootInfo.schedcontrol.start;
    for (const [slot, type] of [[tfep, seL4_ObjectType.seL4_EndpointObject], [ep, seL4_ObjectType.seL4_EndpointObject], [ro, seL4_ObjectType.seL4_ReplyObject], [serverReply, seL4_ObjectType.seL4_ReplyObject], [clientReply, seL4_ObjectType.seL4_ReplyObject]] as const) {
      expect(yield* sys.api.seL4_Untyped_Retype(untyped, type, 0, R, 0, 0, slot, 1)).toBe(E.seL4_NoError);
    }
    expect(yield* sys.api.seL4_CNode_Mint(R, serverTfep, 32, R, tfep, 32, 0xf, 2)).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_CNode_Mint(R, clientTfep, 32, R, tfep, 32, 0xf, 3)).toBe(E.seL4_NoError);
    // The server's own context is round robin (no timeout faults on it); the root task lets it reach its Recv, then takes it.
    expect(yield* startThread(sys, { program: serve, untyped, slot: server, priority: 200, budgetUs: 10_000n, periodUs: 10_000n, resume: false })).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_TCB_SetTimeoutEndpoint(server, serverTfep)).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_TCB_Resume(server)).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 150)).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_SchedContext_Unbind(server + 1)).toBe(E.seL4_NoError);
    expect(yield* startThread(sys, { program: ask, untyped, slot: client, priority: 100, budgetUs: 1000n, periodUs: 10_000n, resume: false })).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_SchedControl_ConfigureFlags(control, client + 1, 1000n, 10_000n, 0, 1, 0)).toBe(E.seL4_NoError);
    if (clientHandler) expect(yield* sys.api.seL4_TCB_SetTimeoutEndpoint(client, clientTfep)).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_TCB_Resume(client)).toBe(E.seL4_NoError);
    const first = yield* sys.api.seL4_Recv(tfep, serverReply);
    faults.push(yield* receivedTimeout(sys, first.info, first.sender, s));
    const serverNow = s.tcb(0);
    seenAtFault = { serverFault: serverNow.fault, serverOnClientContext: serverNow.schedContext === scOf(s, client + 1) };
    // Reply to the client on the server's behalf.
    sys.api.seL4_SetMR(0, 0xffffffff);
    yield* sys.api.seL4_Send(ro, seL4_MessageInfo_new(0, 0, 0, 1));
    clientAfterReply = { state: s.tcb(1).state, fault: s.tcb(1).fault };
    if (clientHandler) {
      const second = yield* sys.api.seL4_Recv(tfep, clientReply);
      faults.push(yield* receivedTimeout(sys, second.info, second.sender, s));
      yield* sys.api.seL4_Send(clientReply, seL4_MessageInfo_new(0, 0, 0, 0));
    }
    // Reset the server on its own context: every register from the reply.
    expect(yield* sys.api.seL4_SchedContext_Bind(server + 1, server)).toBe(E.seL4_NoError);
    restoredRegs.forEach((w, i) => sys.api.seL4_SetMR(i, w));
    yield* sys.api.seL4_Send(serverReply, seL4_MessageInfo_new(0, 0, 0, numRegisters));
  }
  runSystem(root, { system: s.system, maxTimeUs: 50_000n });
  return { faults, ...seenAtFault!, clientAfterReply: clientAfterReply!, clientGot, serverRegsAfter };
}

/** The address of the scheduling context whose cap is in root slot `slot`. */
function scOf(s: HelperSlots, slot: number): number {
  const cap = s.system.view().cap({ cnode: s.system.plan.rootCNode, index: slot });
  return cap?.type === 'schedcontext' ? cap.ptr : -1;
}

/** sel4test's IPCRIGHTS0002: a helper receives on a cap to an endpoint minted with `rights`; without Read, a cap fault reaches its handler. */
function receiveWithRights(mode: (typeof modes)[number], rights: number) {
  const s = new HelperSlots(mode);
  const [ep, reply, faultEp, faultReply, minted] = Array.from({ length: 5 }, (_, i) => s.tcbSlot(4) + i);
  let received: { badge: number; word: number } | null = null;
  let fault: { label: number; words: number[]; helper: FaultView | null } | null = null;
  function* receiver(sys: ProgramContext): Stub<void> {
    const { sender } = yield* sys.api.seL4_Recv(minted, reply);
    received = { badge: sender, word: sys.api.seL4_GetMR(0) };
  }
  function* root(sys: ProgramContext): Stub<void> {
    const untyped = biggestUntypedSlot(sys.plan.bootInfo);
    for (const [slot, type] of [[ep, seL4_ObjectType.seL4_EndpointObject], [reply, seL4_ObjectType.seL4_ReplyObject], [faultEp, seL4_ObjectType.seL4_EndpointObject], [faultReply, seL4_ObjectType.seL4_ReplyObject]] as const) {
      expect(yield* sys.api.seL4_Untyped_Retype(untyped, type, 0, R, 0, 0, slot, 1)).toBe(E.seL4_NoError);
    }
    expect(yield* sys.api.seL4_CNode_Mint(R, minted, 32, R, ep, 32, rights, 0)).toBe(E.seL4_NoError);
    const tcb = s.tcbSlot(0);
    expect(yield* startThread(sys, { program: receiver, untyped, slot: tcb, priority: 200, budgetUs: 10_000n, periodUs: 10_000n, resume: false })).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_TCB_SetSpace(tcb, faultEp, R, 0, seL4_CapInitThreadVSpace, 0)).toBe(E.seL4_NoError);
    // Below the helper, the root task lets it receive first.
    expect(yield* sys.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 150)).toBe(E.seL4_NoError);
    expect(yield* sys.api.seL4_TCB_Resume(tcb)).toBe(E.seL4_NoError);
    if ((rights & seL4_CanRead) !== 0) {
      sys.api.seL4_SetMR(0, 0x6161);
      yield* sys.api.seL4_Send(ep, seL4_MessageInfo_new(0, 0, 0, 1));
    } else {
      const { info } = yield* sys.api.seL4_Recv(faultEp, faultReply);
      fault = { label: messageInfoFromWord(info).label, words: [0, 1, 2, 3].map((i) => sys.api.seL4_GetMR(i)), helper: s.tcb(0).fault };
    }
  }
  runSystem(root, { system: s.system, maxSteps: 200 });
  return { received: received as { badge: number; word: number } | null, fault: fault as { label: number; words: number[]; helper: FaultView | null } | null, minted };
}

describe.each(modes)('timeout faults of servers, and receive rights, on %s', (mode) => {
  it('TIMEOUTFAULT0002: a passive server spinning on its client\'s context raises a timeout fault through its own handler (its badge, MR0 the client context\'s badge); the client gets the handler\'s answer and the server is reset from a 32-register reply', () => {
    const r = serverTimeouts(mode, false);
    expect(r.faults).toHaveLength(1);
    expect(r.faults[0]).toMatchObject({ badge: 2, label: 5, length: 3 });
    expect(r.faults[0]!.words[0]).toBe(1);
    // No donation to the timeout handler: the server keeps the client's context while it waits for the answer.
    expect(r).toMatchObject({ serverFault: { type: 'Timeout', words: [1] }, serverOnClientContext: true });
    // The client has no timeout handler: its context, without budget, waits for its release; it then runs with the answer.
    expect(r.clientAfterReply).toEqual({ state: 'Running', fault: null });
    expect(r.clientGot).toBe(0xffffffff);
    expect(r.serverRegsAfter).toEqual(restoredRegs);
  });

  it('a reply to a caller whose context has no budget left, with a timeout handler, raises a timeout fault for it (doReplyTransfer), delivered after the reply\'s message', () => {
    const r = serverTimeouts(mode, true);
    expect(r.clientAfterReply).toEqual({ state: 'BlockedOnSend', fault: { type: 'Timeout', words: [1] } });
    expect(r.faults.map((f) => [f.badge, f.label, f.length, f.words[0]])).toEqual([
      [2, 5, 3, 1],
      [3, 5, 3, 1],
    ]);
    expect(r.clientGot).toBe(0xffffffff);
    expect(r.serverRegsAfter).toEqual(restoredRegs);
  });

  it.each([0, seL4_CanWrite, seL4_CanRead, seL4_CanRead | seL4_CanWrite])('IPCRIGHTS0002: a Recv through a cap with rights %i: without Read a cap fault (receive phase, MissingCapability) reaches the handler; with Read the message arrives', (rights) => {
    const { received, fault, minted } = receiveWithRights(mode, rights);
    if ((rights & seL4_CanRead) !== 0) {
      expect(received).toEqual({ badge: 0, word: 0x6161 });
      expect(fault).toBeNull();
    } else {
      expect(received).toBeNull();
      // MR0 FaultIP, MR1 the cptr, MR2 1 (receive phase), MR3 MissingCapability (type + 1).
      expect(fault).toMatchObject({ label: 1, helper: { type: 'CapFault' } });
      expect(fault!.words.slice(1)).toEqual([minted, 1, 2]);
    }
  });
});
