// The closing full comparisons' shortcuts: each takes a quick pass that only says "agrees" and
// otherwise falls back to the slot-by-slot comparison, so a difference is still found and
// named as before; and the executable slots are listed as E.allSlots lists them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hex, planBoot, type SlotRef } from '../../libsel4/index.ts';
import type * as A from '../../spec-abstract/index.ts';
import * as E from '../../spec-executable/index.ts';
import type * as I from '../../impl/index.ts';
import { diffExecAbstract, diffImplExec } from '../../refinement/abstraction/index.ts';
import { execSlots } from '../../refinement/abstraction/exec-index.ts';
import { checkInvariants } from '../../refinement/invariants/index.ts';
import { recordWorkload, workloadArbitrary } from '../../refinement/check.ts';
import { bootLayer } from '../../refinement/layers.ts';
import { closingListing, sharingListings } from '../../refinement/listing.ts';

const plan = planBoot({});

function run(seed: number) {
  const [commands] = fc.sample(workloadArbitrary(60), { seed, numRuns: 1 });
  const [impl, exec, abs] = (['impl', 'executable', 'abstract'] as const).map((n) => bootLayer(n, plan));
  for (const event of recordWorkload({ preloadObjects: 0 }, commands!).events) for (const layer of [impl!, exec!, abs!]) layer.step(event)[0]!.adopt();
  return { impl: impl!, exec: exec!, abs: abs! };
}

/** `state` with the slot at `ref` of a CNode or TCB set to `slot` (undefined: removed from its table). */
function withSlot(state: E.ExecState, ref: SlotRef, slot: E.Slot | undefined): E.ExecState {
  const holder = state.objects.get(ref.cnode);
  if (!E.isSlotHolder(holder)) throw new Error('no holder');
  const slots = slot === undefined ? holder.slots.delete(ref.index) : holder.slots.set(ref.index, slot);
  return { ...state, objects: state.objects.set(ref.cnode, { ...holder, slots }) };
}

describe('closing comparisons', () => {
  it('lists the executable slots as E.allSlots does', () => {
    const { exec } = run(3);
    const state = exec.state() as E.ExecState;
    expect(execSlots(state)).toEqual([...E.allSlots(state)]);
  });

  it('finds an executable slot the impl lacks, and one the impl has and the executable spec lacks, with or without the closing\'s listing', () => {
    const { impl, exec } = run(4);
    const implState = impl.state() as I.ImplState;
    const state = exec.state() as E.ExecState;
    const current = impl.view().current();
    const [ref, slot] = execSlots(state).find(([r, s]) => s.cap.type !== 'null' && state.objects.get(r.cnode)?.type === 'cnode')!;
    const holder = state.objects.get(ref.cnode) as E.CNodeObject;
    const free = Array.from({ length: 2 ** holder.radix }, (_, i) => i).find((i) => !holder.slots.has(i))!;
    const differences = () => [
      diffImplExec(implState, current, state),
      diffImplExec(implState, current, withSlot(state, { cnode: ref.cnode, index: free }, slot)),
      diffImplExec(implState, current, withSlot(state, ref, undefined)),
    ];
    const expected = [
      null,
      { path: `cnode ${hex(ref.cnode)} slot ${free}: type`, lower: 'null', upper: slot.cap.type },
      { path: `cnode ${hex(ref.cnode)} slot ${ref.index}: type`, lower: slot.cap.type, upper: 'null' },
    ];
    expect(differences()).toEqual(expected);
    sharingListings(() => {
      expect(checkInvariants(impl)).toBeNull();
      expect(closingListing(implState)).toBeDefined();
      expect(differences()).toEqual(expected);
    });
    expect(closingListing(implState)).toBeUndefined();
  });

  it('finds a flipped revocable flag and a slot only the abstract spec holds', () => {
    const { exec, abs } = run(5);
    expect(checkInvariants(exec)).toBeNull();
    const state = exec.state() as E.ExecState;
    const absState = abs.state() as A.AbstractState;
    expect(diffExecAbstract(state, absState)).toBeNull();
    const [ref, slot] = execSlots(state).find(([r, s]) => s.cap.type !== 'null' && state.objects.get(r.cnode)?.type === 'cnode')!;
    const flipped = { ...slot, mdb: { ...slot.mdb, revocable: !slot.mdb.revocable } };
    expect(diffExecAbstract(withSlot(state, ref, flipped), absState)).toEqual({
      path: `cnode ${hex(ref.cnode)} slot ${ref.index}: original (revocable)`,
      lower: String(!slot.mdb.revocable),
      upper: String(slot.mdb.revocable),
    });
    expect(diffExecAbstract(withSlot(state, ref, undefined), absState)).toEqual({ path: `cnode ${hex(ref.cnode)} slot ${ref.index}: type`, lower: 'null', upper: slot.cap.type });
  });
});
