// Revoke in the abstract spec: descendants may go in any order, and the spec returns every
// distinct result. (The laws over random spaces are in laws.test.ts.)
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChoiceRejected, seL4_ObjectType as T, type Outcome, type SlotRef, type Witness } from '../../libsel4/index.ts';
import type { AbstractState } from '../../spec-abstract/index.ts';
import { descendantsOf, hasChildren } from '../../spec-abstract/cdt.ts';
import { deleteSlot } from '../../spec-abstract/cnode.ts';
import { capAt, entryAt, run, TouchLog } from '../../spec-abstract/state.ts';
import { bootHarness, type Harness } from './harness.ts';
import { bigUntyped, fingerprint, jsonText } from './spaces.ts';

/**
 * Untyped U moved into slot 0 of a CNode X that was retyped from it, next to `endpoints`
 * endpoints: revoking X[0] may delete X's cap, and with it X[0] itself, at any point.
 */
function selfContainingRevoke(endpoints: number): { h: Harness; x: number } {
  const h = bootHarness();
  const big = bigUntyped(h);
  expect(h.api.seL4_Untyped_Retype(big, T.seL4_CapTableObject, 2, 2, 0, 0, 100, 1)).toBe(0);
  if (endpoints > 0) expect(h.api.seL4_Untyped_Retype(big, T.seL4_EndpointObject, 0, 2, 0, 0, 101, endpoints)).toBe(0);
  const x = (h.view().cap(h.root(100)) as { ptr: number }).ptr;
  expect(h.api.seL4_CNode_Move(100, 0, 2, 2, big, 32)).toBe(0);
  expect(h.view().cdtParent(h.root(101))).toEqual({ cnode: x, index: 0 });
  return { h, x };
}

describe('revoke with several allowed results', () => {
  it('returns both results when deleting one descendant can delete the revoked cap itself', () => {
    const { h, x } = selfContainingRevoke(1);
    expect(h.api.seL4_CNode_Revoke(100, 0, 2)).toBe(0);
    const outcomes = h.lastOutcomes();
    expect(outcomes.map((o) => o.choice)).toEqual(['revoke order #1', 'revoke order #2']);
    const endpointLeft = outcomes.map((o) => o.state).map((s) => capAt(s, h.root(101)).type);
    expect(endpointLeft.sort()).toEqual(['endpoint', 'null']);
    for (const o of outcomes) {
      expect(capAt(o.state, { cnode: x, index: 0 })).toEqual({ type: 'null' });
      expect(capAt(o.state, h.root(100))).toEqual({ type: 'null' });
      expect(o.observation.caller?.regs[11]).toBe(0);
      expect(o.touched.slots).toEqual(expect.arrayContaining([{ cnode: x, index: 0 }, h.root(100)]));
    }
    const survivor = outcomes.find((o) => capAt(o.state, h.root(101)).type === 'endpoint')!;
    expect(entryAt(survivor.state, h.root(101))?.parent).toBeNull();
  });

  it('says when the search bound cut the exploration short', () => {
    const { h } = selfContainingRevoke(12);
    expect(h.api.seL4_CNode_Revoke(100, 0, 2)).toBe(0);
    const outcomes = h.lastOutcomes();
    expect(outcomes.length).toBeGreaterThan(1);
    for (const o of outcomes) expect(o.choice).toMatch(/^revoke order #\d+ \(search bound reached: the set may be incomplete\)$/);
    expect(new Set(outcomes.map((o) => fingerprint(o.state))).size).toBe(outcomes.length);
  });
});

describe('revoke following a witness (as under the checker)', () => {
  /** The witnessed deletions of a revoke of X[0], by root slot. */
  const deleting = (x: number, h: Harness, ...rootSlots: number[]): Witness =>
    rootSlots.map((index) => ({ point: 'revoke', revoked: { cnode: x, index: 0 }, deleted: h.root(index) }));

  it('follows each allowed order to the result it leads to, and only that one', () => {
    const endpointFirst = selfContainingRevoke(1);
    endpointFirst.h.following(deleting(endpointFirst.x, endpointFirst.h, 101, 100), () => expect(endpointFirst.h.api.seL4_CNode_Revoke(100, 0, 2)).toBe(0));
    expect(endpointFirst.h.lastOutcomes()).toHaveLength(1);
    expect(capAt(endpointFirst.h.state(), endpointFirst.h.root(101)).type).toBe('null');

    const cnodeFirst = selfContainingRevoke(1);
    cnodeFirst.h.following(deleting(cnodeFirst.x, cnodeFirst.h, 100), () => expect(cnodeFirst.h.api.seL4_CNode_Revoke(100, 0, 2)).toBe(0));
    expect(cnodeFirst.h.lastOutcomes()).toHaveLength(1);
    expect(capAt(cnodeFirst.h.state(), cnodeFirst.h.root(101)).type).toBe('endpoint');
    expect(capAt(cnodeFirst.h.state(), { cnode: cnodeFirst.x, index: 0 })).toEqual({ type: 'null' });
    expect(cnodeFirst.h.lastOutcomes()[0]!.choice).toBe('revoke order (result depends on it), as witnessed');
  });

  it('follows a witness far past the bound the enumeration stops at', () => {
    const { h, x } = selfContainingRevoke(40);
    const order = [...Array.from({ length: 40 }, (_, i) => 101 + ((i * 7) % 40)), 100];
    h.following(deleting(x, h, ...order), () => expect(h.api.seL4_CNode_Revoke(100, 0, 2)).toBe(0));
    for (let i = 0; i < 40; i++) expect(capAt(h.state(), h.root(101 + i)).type).toBe('null');
  });

  it.each([
    ['stops while descendants remain', [101], /^the revoke of 0x[0-9a-f]+\[0\] stopped$/, /^delete one of its remaining descendants 0x[0-9a-f]+\[100\]$/],
    ['deletes a slot that is not a descendant', [2], /^the revoke of 0x[0-9a-f]+\[0\] deleted 0x[0-9a-f]+\[2\]$/, /^one of its remaining descendants 0x[0-9a-f]+\[100\], 0x[0-9a-f]+\[101\]$/],
    ['deletes on after the last descendant has gone', [100, 101], /deleted 0x[0-9a-f]+\[101\] after its last descendant had gone$/, /^stop$/],
  ])('rejects a witness that %s, naming the choice', (_, slots, made, allowed) => {
    const { h, x } = selfContainingRevoke(1);
    let rejected: unknown = null;
    try {
      h.following(deleting(x, h, ...slots), () => h.api.seL4_CNode_Revoke(100, 0, 2));
    } catch (error) {
      rejected = error;
    }
    expect(rejected).toBeInstanceOf(ChoiceRejected);
    expect((rejected as ChoiceRejected).made).toMatch(made);
    expect((rejected as ChoiceRejected).allowed).toMatch(allowed);
  });

  it('rejects a witnessed choice on an entry that offers none', () => {
    const { h, x } = selfContainingRevoke(1);
    expect(() => h.following(deleting(x, h, 101), () => h.api.seL4_CNode_Delete(2, 101, 32))).toThrow(
      /the abstract spec does not allow this revoke choice: the revoke of 0x[0-9a-f]+\[0\] deleted 0x[0-9a-f]+\[101\], where the abstract spec had no such choice to make/,
    );
  });
});

describe('revoke with and without a witness', () => {
  /** The deletions of a revoke of X[0] in the order `picks` chooses among the remaining descendants. */
  const orderOf = (s: AbstractState, revoked: SlotRef, picks: readonly number[]): Witness => {
    const witness: Witness[number][] = [];
    run(s, new TouchLog(), (k) => {
      for (let i = 0; capAt(k, revoked).type !== 'null' && hasChildren(k, revoked); i++) {
        const remaining = descendantsOf(k, revoked);
        const deleted = remaining[picks[i % picks.length]! % remaining.length]!;
        witness.push({ point: 'revoke', revoked, deleted });
        deleteSlot(k, deleted);
      }
    });
    return witness;
  };
  const result = (o: Outcome<AbstractState>): string => `${fingerprint(o.state)} ${jsonText(o.observation)}`;

  it('offers, without a witness, the result of every witnessed order, and pinned numbers of results', () => {
    const counts: number[] = [];
    for (const endpoints of [1, 2, 3]) {
      const alone = selfContainingRevoke(endpoints);
      expect(alone.h.api.seL4_CNode_Revoke(100, 0, 2)).toBe(0);
      const offered = new Set(alone.h.lastOutcomes().map(result));
      counts.push(offered.size);
      fc.assert(
        fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), (picks) => {
          const { h, x } = selfContainingRevoke(endpoints);
          const witness = orderOf(h.state(), { cnode: x, index: 0 }, picks);
          h.following(witness, () => expect(h.api.seL4_CNode_Revoke(100, 0, 2)).toBe(0));
          expect(h.lastOutcomes()).toHaveLength(1);
          expect(offered.has(result(h.lastOutcomes()[0]!))).toBe(true);
        }),
        { numRuns: 25, seed: endpoints },
      );
    }
    // X's cap goes at any point, with X[0]: any subset of the endpoints may be left.
    expect(counts).toEqual([2, 4, 8]);
  });
});
