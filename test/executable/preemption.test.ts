// The executable spec's preemption points (docs/sel4-facts.md section 26): revoke, finalise and
// reset points, the work unit count kept across entries, the raise during an entry, the budget
// clause, and what a preempted syscall leaves for its re-execution.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as IL,
  messageInfoFromWord,
  Reg,
  seL4_AllRights,
  seL4_CapIRQControl,
  seL4_CapInitThreadVSpace,
  TCBSlot,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType as T,
  seL4_Syscall as S,
  type BootConfigInput,
  type Cap,
  type KernelEvent,
  type Observation,
  type RaiseDuringEntry,
} from '../../libsel4/index.ts';
import { irqInvariantViolation, preemptionInvariantViolation, Step, userWord } from '../../spec-executable/index.ts';
import { preemptionPointsInRow, preemptionStops } from '../../spec-executable/preemption.ts';
import { L, ROOT } from './harness.ts';
import { IPC } from './ipc-harness.ts';

const E = seL4_Error;
/** The IRQ the tests' device raises during an entry; its handler has no notification. */
const IRQ = 7;

/** A root task whose next syscalls may be armed with a `raise`; every state keeps the interrupt and work unit invariants. */
class Preempt extends IPC {
  armed: RaiseDuringEntry | null = null;
  handler = -1;

  constructor(config: BootConfigInput) {
    super(config);
  }

  override enter(event: KernelEvent): Observation {
    const armedEvent = event.kind === 'syscall' && this.armed !== null ? { ...event, raise: this.armed } : event;
    const observation = super.enter(armedEvent);
    const violation = irqInvariantViolation(this.state) ?? preemptionInvariantViolation(this.state);
    if (violation !== null) throw new Error(`invariant broken: ${violation}`);
    return observation;
  }

  /** A handler for IRQ; the interrupt it takes stays claimed until `ack`. */
  issueHandler(): void {
    this.handler = this.freeSlot();
    expect(this.api.seL4_IRQControl_Get(seL4_CapIRQControl, IRQ, ROOT, this.handler, 32)).toBe(E.seL4_NoError);
  }

  ack(): void {
    expect(this.api.seL4_IRQHandler_Ack(this.handler)).toBe(E.seL4_NoError);
  }

  /** Runs `call` armed with `raise` (the IRQ acknowledged first, so it can preempt again); returns the entry's observation. */
  armedCall(raise: RaiseDuringEntry | null, call: () => void): Observation {
    if (this.handler >= 0 && L.view(this.state).irq(IRQ).claimed) this.ack();
    this.armed = raise;
    try {
      call();
    } finally {
      this.armed = null;
    }
    return this.last!.observation;
  }

  workUnits(): number {
    const units = L.view(this.state).workUnitsCompleted();
    if (units === null) throw new Error('the executable spec counts work units');
    return units;
  }

  capAt(slot: number): Cap {
    return this.cap(slot) ?? { type: 'null' };
  }

  freeIndex(slot: number): number {
    const cap = this.capAt(slot);
    if (cap.type !== 'untyped') throw new Error(`slot ${slot} holds a ${cap.type} cap, not an untyped`);
    return cap.freeIndex;
  }

  /** A child untyped of 2^sizeBits bytes retyped from the big untyped. */
  untyped(sizeBits: number): number {
    return this.retype(T.seL4_UntypedObject, sizeBits);
  }
}

/** Bounds the re-execution loops: an operation that loses its progress would never complete. */
const maxAttempts = 40;
const raiseAt = (afterWorkUnits: number): RaiseDuringEntry => ({ irq: IRQ, afterWorkUnits });

/** A 4 KiB untyped holding a frame the user wrote to, its frame deleted: the next Retype from it resets it. */
function usedUntyped(h: Preempt): { ut: number; base: number; words: number[] } {
  const ut = h.untyped(12);
  const frame = h.freeSlot();
  expect(h.api.seL4_Untyped_Retype(ut, T.seL4_RISCV_4K_Page, 0, ROOT, 0, 0, frame, 1)).toBe(E.seL4_NoError);
  const base = h.ptr(ut);
  const words = [0x10, 0x7f0, 0xffc];
  const k = new Step(h.state);
  for (const offset of words) k.setWord(base + offset, 0xabc00000 + offset);
  h.state = k.state;
  expect(h.api.seL4_CNode_Delete(ROOT, frame, 32)).toBe(E.seL4_NoError);
  return { ut, base, words };
}

describe('revoke points', () => {
  it('stop after the deletion where the raised interrupt is seen; the re-executed revoke deletes the rest', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 1 });
    h.issueHandler();
    const ep = h.retype(T.seL4_EndpointObject);
    const copies = Array.from({ length: 5 }, () => h.mint(ep, seL4_AllRights, 0));
    const observation = h.armedCall(raiseAt(2), () => h.api.seL4_CNode_Revoke(ROOT, ep, 32));
    expect(observation.preempted).toEqual({ at: 'revoke', reason: 'irq' });
    expect(observation.restarted).toBe(true);
    // No reply, and the caller, current again, was made Running by activateThread.
    expect(observation.caller?.state).toBe('Running');
    expect(messageInfoFromWord(observation.caller!.regs[Reg.a1]!).label).toBe(IL.CNodeRevoke);
    expect(h.last!.witness?.filter((c) => c.point === 'revoke')).toHaveLength(2);
    expect(h.last!.witness?.at(-1)).toEqual({ point: 'preemption', at: 'revoke', entryPoint: 2 });
    expect(copies.filter((slot) => h.capAt(slot).type === 'endpoint')).toHaveLength(3);
    // checkInterrupt took the interrupt that preempted.
    expect(L.view(h.state).irq(IRQ)).toMatchObject({ pending: false, claimed: true });

    const again = h.armedCall(null, () => expect(h.api.seL4_CNode_Revoke(ROOT, ep, 32)).toBe(E.seL4_NoError));
    expect(again.preempted).toBeUndefined();
    expect(again.restarted).toBe(false);
    expect(copies.every((slot) => h.capAt(slot).type === 'null')).toBe(true);
    expect(h.capAt(ep).type).toBe('endpoint');
  });

  it('do not stop with nothing pending; the count carries over from entry to entry', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 5 });
    const eps = Array.from({ length: 3 }, () => h.retype(T.seL4_EndpointObject));
    for (const ep of eps) for (let i = 0; i < 3; i++) h.mint(ep, seL4_AllRights, 0);
    const start = h.workUnits();
    const counts = eps.map((ep) => {
      const observation = h.armedCall(null, () => expect(h.api.seL4_CNode_Revoke(ROOT, ep, 32)).toBe(E.seL4_NoError));
      expect(observation.preempted).toBeUndefined();
      return h.workUnits();
    });
    expect(counts).toEqual([1, 2, 3].map((round) => (start + 3 * round) % 5));
    // An entry with no point leaves the count as it is.
    h.mint(eps[0]!, seL4_AllRights, 0);
    expect(h.workUnits()).toBe(counts[2]);
  });

  it('check only at the limit: the interrupt raised before the first point waits for the point where the count reaches it', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 4 });
    h.issueHandler();
    const ep = h.retype(T.seL4_EndpointObject);
    const copies = Array.from({ length: 8 }, () => h.mint(ep, seL4_AllRights, 0));
    const before = h.workUnits();
    const observation = h.armedCall(raiseAt(1), () => h.api.seL4_CNode_Revoke(ROOT, ep, 32));
    expect(observation.preempted).toEqual({ at: 'revoke', reason: 'irq' });
    // The check comes at the point where the count reaches 4.
    const deleted = 4 - before;
    expect(copies.filter((slot) => h.capAt(slot).type === 'null')).toHaveLength(deleted);
    expect(h.workUnits()).toBe(0);
  });
});

describe('finalise points', () => {
  it('a Zombie counts down over preempted Delete attempts, then the slot is emptied', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 1 });
    h.issueHandler();
    const inner = h.retype(T.seL4_CapTableObject, 3);
    const ep = h.retype(T.seL4_EndpointObject);
    expect(h.api.seL4_CNode_Copy(inner, 5, 3, ROOT, ep, 32, seL4_AllRights)).toBe(E.seL4_NoError);
    const innerAddr = h.ptr(inner);
    const counts: number[] = [];
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const observation = h.armedCall(raiseAt(1), () => h.api.seL4_CNode_Delete(ROOT, inner, 32));
      if (observation.preempted === undefined) break;
      expect(observation.preempted).toEqual({ at: 'finalise', reason: 'irq' });
      expect(observation.restarted).toBe(true);
      const zombie = h.capAt(inner);
      if (zombie.type !== 'zombie') throw new Error(`expected a Zombie, got ${zombie.type}`);
      expect(zombie.ptr).toBe(innerAddr);
      counts.push(zombie.count);
      // The copy in slot 5 goes with the reduction from count 6 to 5.
      expect(h.cap({ cnode: innerAddr, index: 5 })?.type).toBe(zombie.count > 5 ? 'endpoint' : 'null');
    }
    expect(counts).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
    expect(h.capAt(inner).type).toBe('null');
    // The last attempt has no point: its raise comes when its work is done, and is delivered then.
    expect(L.view(h.state).irq(IRQ)).toMatchObject({ pending: false, claimed: true });
  });

  it('the budget clause: deleting the current SC stops at the next check with nothing pending; binding an SC lets the thread finish', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 1 });
    const inner = h.retype(T.seL4_CapTableObject, 2);
    const t = h.thread(100);
    // The thread's SC cap moves into the inner CNode's last slot: deleting the CNode deletes the SC.
    expect(h.api.seL4_CNode_Move(inner, 3, 2, ROOT, t.scSlot, 32)).toBe(E.seL4_NoError);
    h.yieldToThreads();
    expect(h.state.current).toBe(t.tcb);
    const deleteInner: Array<[number, number]> = [
      [Reg.a0, ROOT], [Reg.a1, seL4_MessageInfo_new(IL.CNodeDelete, 0, 0, 2)], [Reg.a2, inner], [Reg.a3, 32],
    ];
    h.sys(t.tcb, S.seL4_SysCall, deleteInner);
    const observation = h.last!.observation;
    expect(observation.preempted).toEqual({ at: 'finalise', reason: 'budget' });
    expect(observation.restarted).toBe(true);
    expect(h.view(t.tcb)).toMatchObject({ state: 'Restart', schedContext: null });
    expect(h.state.current).toBe(h.rootTCB);
    expect(h.capAt(inner)).toMatchObject({ type: 'zombie', count: 3 });

    const sc = h.retype(T.seL4_SchedContextObject, 8);
    const schedControl = h.plan.bootInfo.schedcontrol.start;
    expect(h.api.seL4_SchedControl_ConfigureFlags(schedControl, sc, 1000n, 1000n, 0, 0, 0)).toBe(E.seL4_NoError);
    expect(h.api.seL4_SchedContext_Bind(sc, t.tcbSlot)).toBe(E.seL4_NoError);
    expect(h.state.current).toBe(t.tcb);
    expect(h.view(t.tcb)).toMatchObject({ state: 'Running' });
    h.sys(t.tcb, S.seL4_SysCall, deleteInner);
    expect(h.last!.observation.preempted).toBeUndefined();
    expect(h.capAt(inner).type).toBe('null');
    expect(messageInfoFromWord(h.regs(t.tcb)[Reg.a1]!).label).toBe(E.seL4_NoError);
  });
});

describe('ThreadControlCaps', () => {
  it('never reaches a point replacing a CSpace root that is the last cap to its CNode: the decode refuses it (slotCapLongRunningDelete)', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 1 });
    h.issueHandler();
    const t = h.thread(100);
    const cnode = h.retype(T.seL4_CapTableObject, 2);
    expect(h.api.seL4_TCB_SetSpace(t.tcbSlot, 0, cnode, 0, seL4_CapInitThreadVSpace, 0)).toBe(E.seL4_NoError);
    // The thread's slot 0 holds the last cap to the CNode.
    expect(h.api.seL4_CNode_Delete(ROOT, cnode, 32)).toBe(E.seL4_NoError);
    const slot0 = h.cap({ cnode: t.tcb, index: TCBSlot.cspace });
    const observation = h.armedCall(raiseAt(1), () => expect(h.api.seL4_TCB_SetSpace(t.tcbSlot, 0, ROOT, 0, seL4_CapInitThreadVSpace, 0)).toBe(E.seL4_IllegalOperation));
    expect(observation.preempted).toBeUndefined();
    expect(h.cap({ cnode: t.tcb, index: TCBSlot.cspace })).toBe(slot0);
    expect(slot0).toMatchObject({ type: 'cnode' });
  });
});

describe('reset points', () => {
  it('lowers the free index a chunk per preempted attempt, zeroing the chunk, and places the objects at offset 0 at the end', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 1 });
    h.issueHandler();
    const { ut, base, words } = usedUntyped(h);
    const dest = h.freeSlot();
    const indices: number[] = [];
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const observation = h.armedCall(raiseAt(1), () => h.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, ROOT, 0, 0, dest, 1));
      if (observation.preempted === undefined) break;
      expect(observation.preempted).toEqual({ at: 'reset', reason: 'irq' });
      const freeIndex = h.freeIndex(ut);
      indices.push(freeIndex);
      for (const offset of words) expect(userWord(h.state, base + offset)).toBe(offset >= freeIndex ? 0 : 0xabc00000 + offset);
      expect(h.capAt(dest).type).toBe('null');
    }
    expect(indices).toEqual(Array.from({ length: 16 }, (_, i) => 0xf00 - 0x100 * i));
    expect(h.capAt(dest)).toMatchObject({ type: 'endpoint', ptr: base });
    expect(h.capAt(ut)).toMatchObject({ freeIndex: 16 });
  });

  it('starts at the chunk holding the last used byte, not at the top of the untyped', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 1 });
    h.issueHandler();
    const ut = h.untyped(12);
    const cnode = h.freeSlot();
    const ep = h.freeSlot();
    expect(h.api.seL4_Untyped_Retype(ut, T.seL4_CapTableObject, 4, ROOT, 0, 0, cnode, 1)).toBe(E.seL4_NoError);
    expect(h.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, ROOT, 0, 0, ep, 1)).toBe(E.seL4_NoError);
    expect(h.capAt(ut)).toMatchObject({ freeIndex: 0x110 });
    expect(h.api.seL4_CNode_Revoke(ROOT, ut, 32)).toBe(E.seL4_NoError);
    const indices: number[] = [];
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const observation = h.armedCall(raiseAt(1), () => h.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, ROOT, 0, 0, ep, 1));
      if (observation.preempted === undefined) break;
      indices.push(h.freeIndex(ut));
    }
    expect(indices).toEqual([0x100, 0]);
    expect(h.capAt(ep)).toMatchObject({ type: 'endpoint', ptr: h.ptr(ut) });
  });

  it('stops a 2 MiB reset mid-way at the first check after the raise, with the free index and memory of that point', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 100 });
    h.issueHandler();
    const ut = h.untyped(21);
    // A child untyped of the whole 2 MiB, deleted: the untyped is left full and without children.
    const whole = h.freeSlot();
    expect(h.api.seL4_Untyped_Retype(ut, T.seL4_UntypedObject, 21, ROOT, 0, 0, whole, 1)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Delete(ROOT, whole, 32)).toBe(E.seL4_NoError);
    expect(h.capAt(ut)).toMatchObject({ freeIndex: 1 << 21 });
    const base = h.ptr(ut);
    const k = new Step(h.state);
    k.setWord(base + 0x1000 - 4, 0x1234);
    h.state = k.state;
    const before = h.workUnits();
    const started = Date.now();
    const observation = h.armedCall(raiseAt(5000), () => h.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, ROOT, 0, 0, h.freeSlot(), 1));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(observation.preempted).toEqual({ at: 'reset', reason: 'irq' });
    const points = Math.ceil((before + 5000) / 100) * 100 - before;
    expect(h.capAt(ut)).toMatchObject({ freeIndex: (1 << 21) - 256 * points });
    expect(userWord(h.state, base + 0x1000 - 4)).toBe(0x1234);
    expect(h.workUnits()).toBe(0);
  });

  it('resets a device untyped at once with no point', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 1, deviceRegions: [{ base: 0x10000000, sizeBytes: 1 << 16 }] });
    h.issueHandler();
    const dev = h.deviceUntyped;
    const frame = h.freeSlot();
    expect(h.api.seL4_Untyped_Retype(dev, T.seL4_RISCV_4K_Page, 0, ROOT, 0, 0, frame, 1)).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Delete(ROOT, frame, 32)).toBe(E.seL4_NoError);
    const observation = h.armedCall(raiseAt(1), () => expect(h.api.seL4_Untyped_Retype(dev, T.seL4_RISCV_4K_Page, 0, ROOT, 0, 0, frame, 1)).toBe(E.seL4_NoError));
    expect(observation.preempted).toBeUndefined();
    expect(h.last!.witness?.some((c) => c.point === 'preemption')).toBe(false);
  });
});

describe('the raise and the syscall path', () => {
  it('raises an interrupt not reached when the entry is done; numbers naming no source raise nothing', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 1 });
    h.issueHandler();
    const ep = h.retype(T.seL4_EndpointObject);
    const copy = h.freeSlot();
    const observation = h.armedCall(raiseAt(3), () => expect(h.api.seL4_CNode_Copy(ROOT, copy, 32, ROOT, ep, 32, seL4_AllRights)).toBe(E.seL4_NoError));
    expect(observation.preempted).toBeUndefined();
    expect(L.view(h.state).irq(IRQ)).toMatchObject({ pending: false, claimed: true });
    h.ack();
    const before = h.state.interrupts.lines;
    h.armedCall({ irq: 0, afterWorkUnits: 1 }, () => expect(h.api.seL4_CNode_Revoke(ROOT, ep, 32)).toBe(E.seL4_NoError));
    expect(h.state.interrupts.lines).toEqual(before);
  });

  it('a first phase preempted skips its receive', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 1 });
    h.issueHandler();
    const ntfn = h.retype(T.seL4_NotificationObject);
    const { ut } = usedUntyped(h);
    const dest = h.freeSlot();
    const retypeMRs = [T.seL4_EndpointObject, 0, 0, 0, dest, 1];
    const nbSendWait = () => {
      retypeMRs.forEach((v, i) => h.api.seL4_SetMR(i, v));
      h.api.seL4_SetCap(0, ROOT);
      h.api.seL4_NBSendWait(ut, seL4_MessageInfo_new(IL.UntypedRetype, 0, 1, 6), ntfn);
    };
    const observation = h.armedCall(raiseAt(1), nbSendWait);
    expect(observation.preempted).toEqual({ at: 'reset', reason: 'irq' });
    expect(observation.caller?.state).toBe('Running');
    expect(h.view(h.ptr(ntfn))).toMatchObject({ state: 'Idle', queue: [] });
    // Unpreempted, the same syscall retypes, then waits on the notification.
    h.ack();
    nbSendWait();
    expect(h.capAt(dest).type).toBe('endpoint');
    expect(h.view(h.plan.rootTCB)).toMatchObject({ state: 'BlockedOnNotification' });
  });

  it('exceptions are never preempted and pass no point', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 3 });
    h.issueHandler();
    const before = h.workUnits();
    const observation = h.enter({ kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 2, code: 0 });
    expect(observation.preempted).toBeUndefined();
    expect(h.workUnits()).toBe(before);
    expect(L.view(h.state).irq(IRQ)).toMatchObject({ pending: false, claimed: false });
  });
});

describe('points in a row', () => {
  it('pass, count, raise and stop exactly as the same points one by one', () => {
    const h = new Preempt({ maxWorkUnitsPerPreemption: 1 });
    h.issueHandler();
    const booted = h.state;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }), fc.nat(11), fc.integer({ min: 0, max: 40 }), fc.nat(5), fc.option(fc.integer({ min: 0, max: 45 })),
        (limit, countSeed, points, entrySeed, afterWorkUnits) => {
          const state = { ...booted, maxWorkUnitsPerPreemption: limit, workUnitsCompleted: countSeed % limit };
          const step = (): Step => {
            const k = new Step(state);
            k.entryWorkUnits = entrySeed;
            k.raise = afterWorkUnits === null ? null : raiseAt(afterWorkUnits);
            return k;
          };
          const inRow = step();
          const { passed, stopped } = preemptionPointsInRow(inRow, 'reset', points);
          const oneByOne = step();
          let expectedPassed = 0;
          let expectedStop = false;
          while (expectedPassed < points && !expectedStop) {
            expectedPassed += 1;
            expectedStop = preemptionStops(oneByOne, 'reset');
          }
          expect({ passed, stopped }).toEqual({ passed: expectedPassed, stopped: expectedStop });
          expect(inRow.state.workUnitsCompleted).toBe(oneByOne.state.workUnitsCompleted);
          expect(inRow.entryWorkUnits).toBe(oneByOne.entryWorkUnits);
          expect(inRow.raise).toEqual(oneByOne.raise);
          expect(inRow.state.interrupts.lines).toEqual(oneByOne.state.interrupts.lines);
          expect(inRow.preempted).toEqual(oneByOne.preempted);
          expect(inRow.choices).toEqual(oneByOne.choices);
        },
      ),
      { numRuns: 200, seed: 12 },
    );
  });
});
