// The invariants the preemption slice changes or adds, each violation planted (facts §26.3):
// Zombies of any count between entries, nothing above an untyped's free index; and the lockstep's
// checks at a preemption point (the invariants, the preempted field, ksWorkUnitsCompleted).
import { describe, expect, it } from 'vitest';
import { abstractLayer } from '../../spec-abstract/index.ts';
import { planBoot, type Cap, type KernelView, type Observation, type ObjectView, type SlotRef } from '../../libsel4/index.ts';
import { zombiesFinal } from '../../refinement/invariants/cspace.ts';
import { untypedFree } from '../../refinement/invariants/untyped.ts';
import { compareObservations, compareWorkUnits } from '../../refinement/lockstep/compare.ts';
import { Lockstep, RefinementFailure } from '../../refinement/lockstep/index.ts';
import type { Filled } from '../../refinement/listing.ts';
import type { RunningLayer } from '../../refinement/running.ts';

const cnodeX = 0x8000_1000;
const at = (cnode: number, index: number): SlotRef => ({ cnode, index });
const filled = (slot: SlotRef, cap: Cap): Filled => ({ slot, cap, parent: null });
const zombie = (count: number): Cap => ({ type: 'zombie', ptr: cnodeX, zombieType: 2, count });
const endpoint: Cap = { type: 'endpoint', ptr: 0x8000_2000, badge: 0, rights: 0xf };

describe('zombies_final with preempted exposed deletes', () => {
  it('allows a non-cyclic Zombie of any count from 0, over empty slots at and above its count', () => {
    expect(zombiesFinal([filled(at(0x9000_0000, 7), zombie(0))])).toBeNull();
    expect(zombiesFinal([filled(at(0x9000_0000, 7), zombie(3)), filled(at(cnodeX, 2), endpoint)])).toBeNull();
    expect(zombiesFinal([filled(at(cnodeX, 0), zombie(1))])).toBeNull();
  });

  it('finds a count above the slots, a slot filled at or above the count, a cyclic count 0, two Zombies, another cap to the object', () => {
    expect(zombiesFinal([filled(at(0x9000_0000, 7), zombie(5))])).toMatch(/counting 5 of 4 slots/);
    expect(zombiesFinal([filled(at(0x9000_0000, 7), zombie(2)), filled(at(cnodeX, 2), endpoint)])).toMatch(/at or above the count 2/);
    expect(zombiesFinal([filled(at(cnodeX, 0), zombie(0))])).toMatch(/cyclic Zombie counting 0/);
    expect(zombiesFinal([filled(at(0x9000_0000, 7), zombie(0)), filled(at(0x9000_0000, 8), zombie(0))])).toMatch(/^zombies_final: .* both hold a Zombie/);
    const cnodeCap: Cap = { type: 'cnode', ptr: cnodeX, radix: 2, guardSize: 0, guard: 0 };
    expect(zombiesFinal([filled(at(0x9000_0000, 7), zombie(0)), filled(at(0x9000_0000, 8), cnodeCap)])).toMatch(/^zombies_final: .* cnode cap to 0x80001000/);
  });
});

describe('untyped_free', () => {
  const base = 0x8010_0000;
  const untyped = (freeIndex: number, isDevice = false): Filled => filled(at(0x9000_0000, 1), { type: 'untyped', ptr: base, sizeBits: 12, freeIndex, isDevice });
  const endpointAt = (addr: number): ObjectView => ({ type: 'endpoint', addr, state: 'Idle', queue: [] });
  const zero = () => 0;
  /** What a layer's view answers for nonZeroWord, found by scanning `word`. */
  const scan = (word: (paddr: number) => number) => (from: number, to: number) => {
    for (let paddr = from; paddr < to; paddr += 4) if (word(paddr) !== 0) return paddr;
    return null;
  };
  const memory = (word: (paddr: number) => number) => [scan(word), word] as const;

  it('holds with objects below the free index and zero memory above it', () => {
    expect(untypedFree([endpointAt(base), endpointAt(base + 0x7f0)], [untyped(0x800)], scan(zero), zero, null)).toBeNull();
  });

  it('finds an object at or above the free index, and non-zero memory there', () => {
    expect(untypedFree([endpointAt(base + 0x800)], [untyped(0x800)], scan(zero), zero, null)).toMatch(/has endpoint 0x80100800 at or above its free index/);
    expect(untypedFree([], [untyped(0x800)], ...memory((paddr) => (paddr === base + 0xffc ? 7 : 0)), null)).toMatch(/memory 0x80100ffc = 0x0*7 at or above/);
    // Below the free index memory may hold anything (a reset zeroes it chunk by chunk from the top).
    expect(untypedFree([], [untyped(0x800)], ...memory((paddr) => (paddr < base + 0x800 ? 7 : 0)), null)).toBeNull();
  });

  it('skips device untypeds, and untypeds an entry did not touch when told what it touched', () => {
    const dirty = (paddr: number) => (paddr === base + 0xf00 ? 1 : 0);
    expect(untypedFree([], [untyped(0, true)], scan(dirty), dirty, null)).toBeNull();
    expect(untypedFree([], [untyped(0)], scan(dirty), dirty, [{ slots: [], objects: [] }])).toBeNull();
    expect(untypedFree([], [untyped(0)], scan(dirty), dirty, [{ slots: [at(0x9000_0000, 1)], objects: [] }])).toMatch(/untyped_free/);
    expect(untypedFree([], [untyped(0)], scan(dirty), dirty, [{ slots: [], objects: [base + 0x40] }])).toMatch(/untyped_free/);
  });
});

describe('the lockstep at a preemption point', () => {
  const idle: Observation = { current: null, caller: null, unmodelled: null, restarted: false };
  const stopped: Observation = { ...idle, restarted: true, preempted: { at: 'reset', reason: 'irq' } };

  /** A layer whose entries observe `next()`, with a real view. */
  function fakeLayer(next: () => Observation): RunningLayer {
    const view = abstractLayer.view(abstractLayer.boot(planBoot({})));
    return {
      name: 'abstract',
      view: () => view,
      observe: () => idle,
      step: () => [{ observation: next(), touched: { slots: [], objects: [] }, choice: undefined, witness: undefined, state: null, view, adopt: () => undefined }],
      state: () => null,
    };
  }

  it('checks the invariants after a preempted entry even when not asked to after every step', () => {
    let observation = idle;
    let checks = 0;
    let violation: string | null = null;
    const lockstep = new Lockstep([fakeLayer(() => observation)], [], () => (checks++, violation), false);
    const event = { kind: 'time', ticks: 1n } as const;
    lockstep.enter(event);
    expect(checks).toBe(1);
    observation = stopped;
    lockstep.enter(event);
    expect(checks).toBe(2);
    violation = 'zombie: planted';
    expect(() => lockstep.enter(event)).toThrow(RefinementFailure);
  });

  it('compares where and why the layers stopped, and ksWorkUnitsCompleted where both keep it', () => {
    expect(compareObservations(stopped, idle, [])).toEqual({ path: 'preemptionPoint that stopped the syscall (kind, reason)', lower: 'reset point (irq)', upper: 'none' });
    expect(compareObservations(stopped, { ...stopped, preempted: { at: 'reset', reason: 'budget' } }, [])?.upper).toBe('reset point (budget)');
    expect(compareObservations(stopped, stopped, [])).toBeNull();
    const units = (n: number | null): KernelView => ({ ...abstractLayer.view(abstractLayer.boot(planBoot({}))), workUnitsCompleted: () => n });
    expect(compareWorkUnits(units(3), units(4))?.path).toMatch(/^ksWorkUnitsCompleted/);
    expect(compareWorkUnits(units(3), units(3))).toBeNull();
    expect(compareWorkUnits(units(3), units(null))).toBeNull();
  });
});
