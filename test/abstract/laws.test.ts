// Laws of the abstract spec over random capability spaces (fast-check): revoke results do
// not depend on the order of deletion unless a CNode or TCB is finalised; the CDT indexes
// stay in step; every step's `touched` names everything it changed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SlotRef } from '../../libsel4/index.ts';
import { allFilledSlots, allObjects, objectView, type AbstractState, type TCBObject } from '../../spec-abstract/index.ts';
import { descendantsOf, isFinalCap } from '../../spec-abstract/cdt.ts';
import { deleteSlot, exploreRevoke, revokeBranches } from '../../spec-abstract/cnode.ts';
import { namedObject } from '../../spec-abstract/objects.ts';
import { addCapRef, begin, capAt, commit, entryAt, putObject, removeCapRef, run, slotAddr, slotsNaming, TouchLog } from '../../spec-abstract/state.ts';
import { bootHarness } from './harness.ts';
import { buildSpace, fingerprint, jsonText, op } from './spaces.ts';

/** Revokes `slot` by deleting a descendant picked by `pick` each time. */
function revokeInOrder(s: AbstractState, slot: SlotRef, pick: (n: number) => number): AbstractState {
  return run(s, new TouchLog(), (k) => {
    for (;;) {
      const remaining = capAt(k, slot).type === 'null' ? [] : descendantsOf(k, slot);
      if (remaining.length === 0) return;
      deleteSlot(k, remaining[pick(remaining.length)]!);
    }
  });
}

/** Slots worth revoking: every non-null slot with descendants. */
function revocable(s: AbstractState): SlotRef[] {
  return allFilledSlots(s).map((f) => f.slot).filter((slot) => descendantsOf(s, slot).length > 0);
}

describe('abstract spec laws', () => {
  it('revoke: every deletion order gives one of the returned results, and there is one result when no descendant is a final CNode or TCB cap', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 25 }), fc.array(fc.nat(), { minLength: 40, maxLength: 40 }), (ops, picks) => {
        const s = buildSpace(ops).state();
        for (const slot of revocable(s)) {
          const explored = exploreRevoke(s, slot, new TouchLog());
          const allowed = new Set(explored.outcomes.map((o) => fingerprint(o.state)));
          for (let trial = 0; trial < 3; trial++) {
            let n = trial;
            const random = revokeInOrder(s, slot, (count) => picks[n++ % picks.length]! % count);
            if (!explored.truncated) expect(allowed.has(fingerprint(random))).toBe(true);
          }
          const noFinalHolder = descendantsOf(s, slot).every((d) => {
            const cap = capAt(s, d);
            return (cap.type !== 'cnode' && cap.type !== 'thread') || !isFinalCap(s, d, cap);
          });
          const branches = revokeBranches(s, slot, new TouchLog());
          expect(branches.length).toBe(allowed.size);
          if (noFinalHolder) expect(allowed.size).toBe(1);
          if (allowed.size === 1) expect(fingerprint(commit(branches[0]!.k))).toBe([...allowed][0]);
        }
      }),
      { numRuns: 60, seed: 20240611 },
    );
  });

  it('CDT: children lists and the object → slots index agree with the caps and parents', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 30 }), (ops) => {
        const s = buildSpace(ops).state();
        const filled = allFilledSlots(s);
        const filledKeys = new Set(filled.map((f) => slotAddr(f.slot)));
        for (const { slot, cap, parent } of filled) {
          if (parent !== null) {
            expect(filledKeys.has(slotAddr(parent))).toBe(true);
            expect([...entryAt(s, parent)!.children.values()].map(slotAddr)).toContain(slotAddr(slot));
          }
          for (const child of entryAt(s, slot)!.children.values()) expect(entryAt(s, child)?.parent).toEqual(slot);
          const ptr = namedObject(cap);
          if (ptr !== null) expect(slotsNaming(s, ptr).map(slotAddr)).toContain(slotAddr(slot));
        }
        for (const slot of allObjects(s).flatMap((o) => slotsNaming(s, o.addr))) expect(filledKeys.has(slotAddr(slot))).toBe(true);
      }),
      { numRuns: 60, seed: 7 },
    );
  });

  it('touched: every slot whose cap or CDT parent changed and every object that changed is named', () => {
    const slotText = (s: AbstractState) => new Map(allFilledSlots(s).map((f) => [slotAddr(f.slot), jsonText([f.cap, f.parent])]));
    const objectText = (s: AbstractState) => new Map(allObjects(s).map((o) => [o.addr, jsonText(objectView(o))]));
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 30 }), (ops) => {
        buildSpace(ops, (h, before) => {
          for (const outcome of h.lastOutcomes()) {
            const touchedSlots = new Set(outcome.touched.slots.map(slotAddr));
            const touchedObjects = new Set(outcome.touched.objects);
            const [a, b] = [slotText(before), slotText(outcome.state)];
            for (const key of new Set([...a.keys(), ...b.keys()])) if (a.get(key) !== b.get(key)) expect(touchedSlots.has(key)).toBe(true);
            const [oa, ob] = [objectText(before), objectText(outcome.state)];
            for (const addr of new Set([...oa.keys(), ...ob.keys()])) if (oa.get(addr) !== ob.get(addr)) expect(touchedObjects.has(addr)).toBe(true);
          }
        });
      }),
      { numRuns: 40, seed: 11 },
    );
  });

  it('commit: the starting state itself when the writes change nothing, else a new state sharing what they left alone', () => {
    const base = bootHarness().state();
    const same = begin(base, new TouchLog());
    const tcb = allObjects(base).find((o): o is TCBObject => o.type === 'tcb')!;
    putObject(same, tcb);
    expect(commit(same)).toBe(base);
    const k = begin(base, new TouchLog());
    putObject(k, { ...tcb, priority: tcb.priority + 1 });
    const next = commit(k);
    expect(next).not.toBe(base);
    expect(Object.keys(next)).toEqual(Object.keys(base));
    expect(next.heap.get(tcb.addr)).toMatchObject({ priority: tcb.priority + 1 });
    expect(base.heap.get(tcb.addr)).toBe(tcb);
    for (const key of ['capRefs', 'memory', 'asidTable', 'current', 'sched', 'irqs', 'irqNode'] as const) expect(next[key]).toBe(base[key]);
  });

  it('commit: an object no cap names any more leaves the capRefs index; one named again is back', () => {
    const base = bootHarness().state();
    const [ptr, slots] = base.capRefs.entries()[0]!;
    const k = begin(base, new TouchLog());
    for (const slot of slots) removeCapRef(k, ptr, slot);
    const next = commit(k);
    expect(next.capRefs.has(ptr)).toBe(false);
    expect(slotsNaming(next, ptr)).toEqual([]);
    const again = begin(next, new TouchLog());
    addCapRef(again, ptr, slots[0]!);
    expect(commit(again).capRefs.get(ptr)).toEqual([slots[0]]);
  });
});
