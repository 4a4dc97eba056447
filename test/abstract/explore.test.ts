// The revoke search's shortcuts pinned against the plain definitions: the merge key kept up to
// date from what each deletion wrote finds exactly the results every order leads to; the first
// child found by reading ranges is the first of all children; a log absorbing another logs as
// if it had logged both in turn.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SlotRef } from '../../libsel4/index.ts';
import { allFilledSlots, type AbstractState } from '../../spec-abstract/index.ts';
import { childrenOf, descendantsOf, firstChild } from '../../spec-abstract/cdt.ts';
import { deleteSlot, exploreRevoke } from '../../spec-abstract/cnode.ts';
import { capAt, run, TouchLog } from '../../spec-abstract/state.ts';
import { buildSpace, fingerprint, op } from './spaces.ts';

/** The distinct results of every deletion order, by a search over whole states (no merge key). */
function everyOrder(s: AbstractState, slot: SlotRef): Set<string> {
  const results = new Set<string>();
  const seen = new Set<string>();
  const stack = [s];
  while (stack.length > 0) {
    const state = stack.pop()!;
    const remaining = capAt(state, slot).type === 'null' ? [] : descendantsOf(state, slot);
    if (remaining.length === 0) results.add(fingerprint(state));
    for (const next of remaining) {
      const child = run(state, new TouchLog(), (k) => deleteSlot(k, next));
      const print = fingerprint(child);
      if (seen.has(print)) continue;
      seen.add(print);
      stack.push(child);
    }
  }
  return results;
}

describe('the revoke search', () => {
  it('returns exactly the distinct results of all deletion orders, each once', () => {
    let multiple = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 25 }), (ops) => {
        const s = buildSpace(ops).state();
        for (const { slot } of allFilledSlots(s)) {
          const descendants = descendantsOf(s, slot).length;
          if (descendants === 0 || descendants > 7) continue;
          const explored = exploreRevoke(s, slot, new TouchLog());
          expect(explored.truncated).toBe(false);
          const found = explored.outcomes.map((o) => fingerprint(o.state));
          expect(new Set(found).size).toBe(found.length);
          expect(new Set(found)).toEqual(everyOrder(s, slot));
          if (found.length > 1) multiple++;
        }
      }),
      { numRuns: 30, seed: 20261206 },
    );
    // The spaces include revokes whose order matters.
    expect(multiple).toBeGreaterThan(0);
  });
});

describe('firstChild', () => {
  it('is the first of the children in address order', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 25 }), (ops) => {
        const s = buildSpace(ops).state();
        for (const { slot } of allFilledSlots(s)) expect(firstChild(s, slot)).toEqual(childrenOf(s, slot)[0] ?? null);
      }),
      { numRuns: 40, seed: 3 },
    );
  });
});

describe('TouchLog.absorb', () => {
  it('logs as if the absorbed writes had been logged after the log\'s own', () => {
    const a = { cnode: 0x1000, index: 1 };
    const b = { cnode: 0x1000, index: 2 };
    const c = { cnode: 0x2000, index: 0 };
    const both = new TouchLog();
    const first = new TouchLog();
    const second = new TouchLog();
    for (const log of [both, first]) {
      log.slot(b);
      log.object(0x3000);
    }
    for (const log of [both, second]) {
      log.slot(c);
      log.slot(b);
      log.slot(a);
      log.object(0x4000);
      log.userWord(0x8000);
    }
    first.absorb(second);
    expect(first.toTouched()).toEqual(both.toTouched());
    expect(first.toTouched().slots).toEqual([b, c, a]);
  });
});
