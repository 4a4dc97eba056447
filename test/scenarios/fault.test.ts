// Fault delivery in the manner of sel4test's faults.c (MCS), on the run loop and on every layer
// and in lockstep: a helper thread whose fault handler (TCB slot 3, set with TCB_SetSpace) is an
// endpoint the root task waits on takes a user exception, an unknown syscall or a cap fault; the
// root task receives the fault message, sees the helper blocked on its reply with the fault
// pending, and answers: a restarting reply (label 0, registers from the message where the fault
// type takes them) or not (label 1: Inactive). docs/sel4-facts.md section 21 has the layouts.
import { describe, expect, it } from 'vitest';
import {
  Reg,
  messageInfoFromWord,
  seL4_CapInitThreadCNode,
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
