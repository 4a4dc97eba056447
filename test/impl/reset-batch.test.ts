// resetUntypedCap clears the chunks whose preemption points would only count together
// (quietPoints): the state it leaves, its work units and its preemption must be those of
// seL4's loop, one chunk and one point at a time, whatever the counters, the event's raise
// and the limit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resetChunkBits } from '../../libsel4/index.ts';
import type { ImplState } from '../../impl/index.ts';
import { slotW0, slotW1, writeCap } from '../../impl/cnode.ts';
import { IrqStateNum } from '../../impl/interrupt.ts';
import { preemptionPoint, statusNone, statusPreempted, type PreemptionStatus } from '../../impl/preemption.ts';
import { ghostClearRange, zeroRange } from '../../impl/state.ts';
import { untypedFreeIndex, untypedIsDevice, untypedPtr, untypedSizeBits, untypedWithFreeIndex } from '../../impl/structures.ts';
import { resetUntypedCap } from '../../impl/untyped.ts';
import { CNODE, T, bootRoot } from './harness.ts';

const chunkBytes = 2 ** resetChunkBits;

/** seL4's loop: one chunk zeroed, the free index lowered to it, then its point. */
function resetChunkByChunk(state: ImplState, slot: number): PreemptionStatus {
  const w0 = slotW0(state, slot);
  const w1 = slotW1(state, slot);
  const usedBytes = untypedFreeIndex(w1) * 16;
  const sizeBits = untypedSizeBits(w1);
  if (usedBytes === 0 || untypedIsDevice(w1) || sizeBits < resetChunkBits) return resetUntypedCap(state, slot);
  ghostClearRange(state, untypedPtr(w0), 2 ** sizeBits);
  for (let offset = Math.floor((usedBytes - 1) / chunkBytes) * chunkBytes; offset >= 0; offset -= chunkBytes) {
    zeroRange(state, untypedPtr(w0) + offset, chunkBytes);
    writeCap(state, slot, w0, untypedWithFreeIndex(w1, offset / 16));
    if (preemptionPoint(state, 'reset') === statusPreempted) return statusPreempted;
  }
  return statusNone;
}

interface Setup {
  readonly maxUnits: number;
  /** A boot untyped (its index among them) or a child of 2^childBits retyped from one. */
  readonly bootIndex: number;
  readonly childBits: number | null;
  /** The free index as a fraction of the untyped. */
  readonly freeFraction: number;
  readonly fill: readonly { readonly at: number; readonly value: number }[];
  readonly unitsFraction: number;
  readonly entryUnits: number;
  readonly raise: { readonly afterWorkUnits: number; readonly enabled: boolean } | null;
  readonly consumedTicks: bigint;
  readonly debug: boolean;
}

const FREE = 200;
const IRQ = 3;

/** A booted impl with the untyped of `s` in its state as `s` says; the untyped's slot. */
function prepare(s: Setup): { state: ImplState; slot: number } {
  const r = bootRoot({ maxWorkUnitsPerPreemption: s.maxUnits }, { debug: s.debug, recordTouched: true });
  const untypeds = r.plan.untypeds;
  let index = r.plan.bootInfo.untyped.start + (s.bootIndex % untypeds.length);
  if (s.childBits !== null) {
    expect(r.api.seL4_Untyped_Retype(r.untyped(16), T.seL4_UntypedObject, s.childBits, CNODE, 0, 0, FREE, 1)).toBe(0);
    index = FREE;
  }
  const state = r.state;
  const slot = r.plan.rootCNode + index * 16;
  const w0 = slotW0(state, slot);
  const w1 = slotW1(state, slot);
  const bytes = 2 ** untypedSizeBits(w1);
  const used = Math.floor((s.freeFraction * bytes) / 16) * 16;
  writeCap(state, slot, w0, untypedWithFreeIndex(w1, used / 16));
  const base = untypedPtr(w0);
  if (!untypedIsDevice(w1) && used > 0) {
    for (const { at, value } of s.fill) state.mem.set((base - state.ramBase + Math.floor(at * used / 4) * 4) >>> 2, value);
  }
  state.workUnitsCompleted = Math.floor(s.unitsFraction * s.maxUnits);
  state.entryWorkUnits = s.entryUnits;
  state.consumedTicks = s.consumedTicks;
  if (s.raise !== null) {
    if (s.raise.enabled) state.irqStates[IRQ] = IrqStateNum.Signal;
    state.raise = { irq: IRQ, afterWorkUnits: s.raise.afterWorkUnits };
  }
  return { state, slot };
}

/** Every field but memory, and memory word by word. */
function expectSameState(a: ImplState, b: ImplState): void {
  const { mem: memA, ...restA } = a;
  const { mem: memB, ...restB } = b;
  expect(restA).toEqual(restB);
  expect(Buffer.from(memA.snapshot().buffer).equals(Buffer.from(memB.snapshot().buffer))).toBe(true);
}

/** 0 to 0.999 (fc.double's draws crowd near 0). */
const fraction = fc.integer({ min: 0, max: 999 }).map((n) => n / 1000);

const setupArb: fc.Arbitrary<Setup> = fc.record({
  maxUnits: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 300 }), fc.constant(1 << 20)),
  bootIndex: fc.nat(64),
  childBits: fc.option(fc.integer({ min: 4, max: 14 }), { nil: null }),
  freeFraction: fc.oneof(fraction, fc.constantFrom(0, 1)),
  fill: fc.array(fc.record({ at: fraction, value: fc.integer({ min: 1, max: 0xffffffff }) }), { maxLength: 20 }),
  unitsFraction: fraction,
  entryUnits: fc.nat(100),
  raise: fc.option(fc.record({ afterWorkUnits: fc.nat(200), enabled: fc.boolean() }), { nil: null, freq: 3 }),
  consumedTicks: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1n << 40n })),
  debug: fc.boolean(),
});

describe('resetUntypedCap, its quiet chunks together', () => {
  it('leaves the state, work units and preemption of the chunk-by-chunk loop', () => {
    let preempted = 0;
    fc.assert(
      fc.property(setupArb, (s) => {
        const batched = prepare(s);
        const reference = prepare(s);
        expectSameState(batched.state, reference.state);
        const status = resetUntypedCap(batched.state, batched.slot);
        expect(status).toBe(resetChunkByChunk(reference.state, reference.slot));
        if (status === statusPreempted) preempted++;
        expectSameState(batched.state, reference.state);
      }),
      { numRuns: 250, seed: 20261206 },
    );
    expect(preempted).toBeGreaterThan(20);
  });

  it('passes many points at once (2^16 bytes, limit 100: one clearing per 100 chunks)', () => {
    const s: Setup = {
      maxUnits: 100, bootIndex: 0, childBits: 16, freeFraction: 1, fill: [], unitsFraction: 0, entryUnits: 0,
      raise: null, consumedTicks: 0n, debug: false,
    };
    const { state, slot } = prepare(s);
    let clears = 0;
    const zero = state.mem.zero.bind(state.mem);
    state.mem.zero = (from, to) => {
      clears++;
      zero(from, to);
    };
    expect(resetUntypedCap(state, slot)).toBe(statusNone);
    expect(untypedFreeIndex(slotW1(state, slot))).toBe(0);
    expect(clears).toBe(Math.ceil(2 ** 16 / chunkBytes / 100));
  });
});
