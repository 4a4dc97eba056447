// Preemption points in the abstract spec (facts §26): a point may stop where an interrupt is
// deliverable; under a witness the spec stops exactly where the witness says, alone it offers
// every allowed stop. Revoke, the exposed delete of a CNode's last cap, and the chunked reset.
import { describe, expect, it } from 'vitest';
import {
  ChoiceRejected,
  createSel4Api,
  InvocationLabel as L,
  messageInfoFromWord,
  seL4_MessageInfo_new,
  planBoot,
  Reg,
  seL4_CapInitThreadSC,
  seL4_CapIRQControl,
  seL4_ObjectType as T,
  type KernelEvent,
  type Observation,
  type Outcome,
  type RaiseDuringEntry,
  type Sel4Api,
  type SlotRef,
  type Witness,
} from '../../libsel4/index.ts';
import { zombiesFinal } from '../../refinement/invariants/cspace.ts';
import { abstractLayer, allFilledSlots, type AbstractState } from '../../spec-abstract/index.ts';
import { capAt, memoryWord, run, TouchLog, writeMemoryWord } from '../../spec-abstract/state.ts';

/** A booted abstract spec whose next syscalls can carry a `raise` and follow a witness. */
interface Rig {
  readonly api: Sel4Api;
  state(): AbstractState;
  setState(s: AbstractState): void;
  outcomes(): readonly Outcome<AbstractState>[];
  /** Runs `body` with every syscall carrying `raise` and, if given, the spec following `witness`. */
  during<R>(raise: RaiseDuringEntry, witness: Witness | undefined, body: () => R): R;
  root(index: number): SlotRef;
  readonly bigUntyped: number;
}

const irq = 5;

function rig(): Rig {
  const plan = planBoot({});
  let state = abstractLayer.boot(plan);
  let outcomes: readonly Outcome<AbstractState>[] = [];
  let raise: RaiseDuringEntry | undefined;
  let witness: Witness | undefined;
  const enter = (event: KernelEvent): Observation => {
    const armed = event.kind === 'syscall' && raise !== undefined ? { ...event, raise } : event;
    outcomes = abstractLayer.step(state, armed, witness);
    state = outcomes[0]!.state;
    return outcomes[0]!.observation;
  };
  const api = createSel4Api({ enter }, abstractLayer.observe(state, plan.rootTCB));
  // IRQ 5 issued into root slot 90 (Signal, no notification): raising it makes it deliverable.
  expect(api.seL4_IRQControl_Get(seL4_CapIRQControl, irq, 2, 90, 32)).toBe(0);
  return {
    api,
    state: () => state,
    setState: (s) => (state = s),
    outcomes: () => outcomes,
    during: (r, w, body) => {
      raise = r;
      witness = w;
      try {
        return body();
      } finally {
        raise = undefined;
        witness = undefined;
      }
    },
    root: (index) => ({ cnode: plan.rootCNode, index }),
    bigUntyped: plan.bootInfo.untyped.start + plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits === 21),
  };
}

/** An endpoint in root slot 100 and `copies` copies of it in 101.. */
function endpointWithCopies(r: Rig, copies: number): void {
  expect(r.api.seL4_Untyped_Retype(r.bigUntyped, T.seL4_EndpointObject, 0, 2, 0, 0, 100, 1)).toBe(0);
  for (let i = 1; i <= copies; i++) expect(r.api.seL4_CNode_Copy(2, 100 + i, 32, 2, 100, 32, 0xf)).toBe(0);
}

const line = (r: Rig) => abstractLayer.view(r.state()).irq(irq);
const revokeChoice = (r: Rig, deleted: number): Witness[number] => ({ point: 'revoke', revoked: r.root(100), deleted: r.root(deleted) });

describe('revoke, following a witness', () => {
  it('stops at the witnessed point after the deletions before it: no reply, the caller restarted, the interrupt taken', () => {
    const r = rig();
    endpointWithCopies(r, 5);
    const witness: Witness = [revokeChoice(r, 101), revokeChoice(r, 102), revokeChoice(r, 103), { point: 'preemption', at: 'revoke', entryPoint: 3 }];
    r.during({ irq, afterWorkUnits: 2 }, witness, () => r.api.seL4_CNode_Revoke(2, 100, 32));
    expect(r.outcomes()).toHaveLength(1);
    const { observation } = r.outcomes()[0]!;
    expect(observation.preempted).toEqual({ at: 'revoke', reason: 'irq' });
    expect(observation.restarted).toBe(true);
    // activate_thread made the restarted caller Running; its message info is still the Revoke's (no reply written).
    expect(observation.caller?.state).toBe('Running');
    expect(messageInfoFromWord(observation.caller!.regs[Reg.a1]!).label).toBe(L.CNodeRevoke);
    expect([101, 102, 103, 104, 105].map((i) => capAt(r.state(), r.root(i)).type)).toEqual(['null', 'null', 'null', 'endpoint', 'endpoint']);
    // The preemption path claimed the interrupt and handled it.
    expect(line(r)).toMatchObject({ pending: false, claimed: true });
  });

  it('goes on where the witness names no preemption, and then completes', () => {
    const r = rig();
    endpointWithCopies(r, 2);
    r.during({ irq, afterWorkUnits: 1 }, [revokeChoice(r, 101), revokeChoice(r, 102)], () => expect(r.api.seL4_CNode_Revoke(2, 100, 32)).toBe(0));
    const { observation } = r.outcomes()[0]!;
    expect(observation.preempted).toBeUndefined();
    expect(observation.restarted).toBe(false);
    expect(capAt(r.state(), r.root(102)).type).toBe('null');
    // Raised at the first point, not stopped there: taken at the end of the entry.
    expect(line(r)).toMatchObject({ pending: false, claimed: true });
  });

  it('rejects a witnessed stop where nothing is deliverable and the budget suffices, or at another kind of point', () => {
    const r = rig();
    endpointWithCopies(r, 2);
    // Raised only at the second point: the first may not stop, so the revoke would have had to go on.
    const early: Witness = [revokeChoice(r, 101), { point: 'preemption', at: 'revoke', entryPoint: 1 }];
    expect(() => r.during({ irq, afterWorkUnits: 2 }, early, () => r.api.seL4_CNode_Revoke(2, 100, 32))).toThrow(ChoiceRejected);
    const wrongKind: Witness = [revokeChoice(r, 101), revokeChoice(r, 102), { point: 'preemption', at: 'reset', entryPoint: 2 }];
    expect(() => r.during({ irq, afterWorkUnits: 1 }, wrongKind, () => r.api.seL4_CNode_Revoke(2, 100, 32))).toThrow(/its preemption point 2 \(a reset point\), where the abstract spec did not reach that point/);
    const nothingPending: Witness = [revokeChoice(r, 101), revokeChoice(r, 102), { point: 'preemption', at: 'revoke', entryPoint: 2 }];
    expect(() => r.during({ irq: 0, afterWorkUnits: 1 }, nothingPending, () => r.api.seL4_CNode_Revoke(2, 100, 32))).toThrow(/its preemption point 2 \(a revoke point\), where the abstract spec did not reach that point or may not stop there/);
    // Nothing was adopted: the copies are all there.
    expect(capAt(r.state(), r.root(101)).type).toBe('endpoint');
  });
});

describe('revoke without a witness', () => {
  it('offers the unstopped result and a stop at every point where one is allowed', () => {
    const r = rig();
    endpointWithCopies(r, 3);
    r.during({ irq, afterWorkUnits: 2 }, undefined, () => r.api.seL4_CNode_Revoke(2, 100, 32));
    const outcomes = r.outcomes();
    expect(outcomes.map((o) => o.choice)).toEqual(['not preempted', 'preempted at the allowed point 1', 'preempted at the allowed point 2']);
    const copiesLeft = outcomes.map((o) => [101, 102, 103].filter((i) => capAt(o.state, r.root(i)).type !== 'null').length);
    // Stops at the second and third points (the first comes before the interrupt is raised).
    expect(copiesLeft).toEqual([0, 1, 0]);
    expect(outcomes.map((o) => o.observation.preempted?.reason ?? null)).toEqual([null, 'irq', 'irq']);
  });

  it('offers no stop when nothing is ever deliverable', () => {
    const r = rig();
    endpointWithCopies(r, 3);
    r.during({ irq: 0, afterWorkUnits: 1 }, undefined, () => expect(r.api.seL4_CNode_Revoke(2, 100, 32)).toBe(0));
    expect(r.outcomes()).toHaveLength(1);
  });
});

describe('the exposed delete of the last cap to a CNode', () => {
  it('stops after a reduction with the Zombie counting what is left, and the next attempt finishes it', () => {
    const r = rig();
    expect(r.api.seL4_Untyped_Retype(r.bigUntyped, T.seL4_CapTableObject, 2, 2, 0, 0, 100, 1)).toBe(0);
    const x = (capAt(r.state(), r.root(100)) as { ptr: number }).ptr;
    r.during({ irq, afterWorkUnits: 2 }, [{ point: 'preemption', at: 'finalise', entryPoint: 2 }], () => r.api.seL4_CNode_Delete(2, 100, 32));
    // Stopped at the point after the second reduction, the one the witness names: two of the four slots are left.
    expect(r.outcomes().map((o) => (capAt(o.state, r.root(100)) as { count: number }).count)).toEqual([2]);
    expect(r.outcomes()[0]!.observation.preempted).toEqual({ at: 'finalise', reason: 'irq' });
    expect(capAt(r.state(), r.root(100))).toEqual({ type: 'zombie', ptr: x, zombieType: 2, count: 2 });
    expect(zombiesFinal(allFilledSlots(r.state()))).toBeNull();
    expect(r.api.seL4_CNode_Delete(2, 100, 32)).toBe(0);
    expect(capAt(r.state(), r.root(100)).type).toBe('null');
  });
});

describe('the budget clause', () => {
  it('lets the delete of a CNode holding the caller\'s own SC stop with no interrupt at all, the caller left Restart without an SC', () => {
    const r = rig();
    expect(r.api.seL4_Untyped_Retype(r.bigUntyped, T.seL4_CapTableObject, 1, 2, 0, 0, 100, 1)).toBe(0);
    // The root task's SC cap moved into slot 1 of the CNode: reducing it finalises the current SC.
    expect(r.api.seL4_CNode_Move(100, 1, 1, 2, seL4_CapInitThreadSC, 32)).toBe(0);
    r.during({ irq: 0, afterWorkUnits: 1 }, [{ point: 'preemption', at: 'finalise', entryPoint: 1 }], () => r.api.seL4_CNode_Delete(2, 100, 32));
    expect(r.outcomes()).toHaveLength(1);
    const { observation, state } = r.outcomes()[0]!;
    expect(observation.preempted).toEqual({ at: 'finalise', reason: 'budget' });
    expect(observation.restarted).toBe(true);
    expect(observation.caller?.state).toBe('Restart');
    expect(capAt(state, r.root(100))).toMatchObject({ type: 'zombie', count: 1 });
  });
});

describe('the reset of an untyped', () => {
  /** A 4 KiB untyped in slot 100 whose frame (slot 101) was deleted: the next Retype resets it. Memory planted at 0x100 and 0xf00. */
  function usedUntyped(r: Rig): number {
    expect(r.api.seL4_Untyped_Retype(r.bigUntyped, T.seL4_UntypedObject, 12, 2, 0, 0, 100, 1)).toBe(0);
    expect(r.api.seL4_Untyped_Retype(100, T.seL4_RISCV_4K_Page, 0, 2, 0, 0, 101, 1)).toBe(0);
    expect(r.api.seL4_CNode_Delete(2, 101, 32)).toBe(0);
    const ptr = (capAt(r.state(), r.root(100)) as { ptr: number }).ptr;
    r.setState(run(r.state(), new TouchLog(), (k) => [0x100, 0xf00].forEach((offset) => writeMemoryWord(k, ptr + offset, 0xdead))));
    return ptr;
  }
  const freeIndex = (r: Rig) => (capAt(r.state(), r.root(100)) as { freeIndex: number }).freeIndex;

  it('zeroes a chunk and lowers the free index before each point; a stop leaves the rest for the next attempt', () => {
    const r = rig();
    const ptr = usedUntyped(r);
    r.during({ irq, afterWorkUnits: 3 }, [{ point: 'preemption', at: 'reset', entryPoint: 3 }], () => r.api.seL4_Untyped_Retype(100, T.seL4_EndpointObject, 0, 2, 0, 0, 102, 1));
    expect(r.outcomes()[0]!.observation.preempted).toEqual({ at: 'reset', reason: 'irq' });
    expect(freeIndex(r)).toBe(0x1000 - 3 * 0x100);
    expect(memoryWord(r.state(), ptr + 0xf00)).toBe(0);
    expect(memoryWord(r.state(), ptr + 0x100)).toBe(0xdead);
    expect(capAt(r.state(), r.root(102)).type).toBe('null');
    expect(r.api.seL4_Untyped_Retype(100, T.seL4_EndpointObject, 0, 2, 0, 0, 102, 1)).toBe(0);
    expect(memoryWord(r.state(), ptr + 0x100)).toBe(0);
    expect((capAt(r.state(), r.root(102)) as { ptr: number }).ptr).toBe(ptr);
  });

  it('in the first phase of NBSendWait: a preempted Retype skips the receive, a completed one blocks on the notification', () => {
    const r = rig();
    usedUntyped(r);
    expect(r.api.seL4_Untyped_Retype(r.bigUntyped, T.seL4_NotificationObject, 0, 2, 0, 0, 103, 1)).toBe(0);
    const nbSendWaitRetype = () => {
      [T.seL4_EndpointObject, 0, 0, 0, 102, 1].forEach((word, i) => r.api.seL4_SetMR(i, word));
      r.api.seL4_SetCap(0, 2);
      return r.api.seL4_NBSendWait(100, seL4_MessageInfo_new(L.UntypedRetype, 0, 1, 6), 103);
    };
    r.during({ irq, afterWorkUnits: 1 }, [{ point: 'preemption', at: 'reset', entryPoint: 1 }], nbSendWaitRetype);
    expect(r.outcomes()[0]!.observation.preempted).toEqual({ at: 'reset', reason: 'irq' });
    expect(r.outcomes()[0]!.observation.caller?.state).toBe('Running');
    nbSendWaitRetype();
    expect(r.outcomes()[0]!.observation.caller?.state).toBe('BlockedOnNotification');
    expect(capAt(r.state(), r.root(102)).type).toBe('endpoint');
  });

  it('without a witness, offers a stop at every chunk after the interrupt is raised', () => {
    const r = rig();
    usedUntyped(r);
    r.during({ irq, afterWorkUnits: 14 }, undefined, () => r.api.seL4_Untyped_Retype(100, T.seL4_EndpointObject, 0, 2, 0, 0, 102, 1));
    const stopped = r.outcomes().filter((o) => o.observation.preempted !== undefined);
    // 16 chunks: points 14, 15 and 16 may stop.
    expect(stopped.map((o) => (capAt(o.state, r.root(100)) as { freeIndex: number }).freeIndex)).toEqual([0x200, 0x100, 0]);
  });
});
