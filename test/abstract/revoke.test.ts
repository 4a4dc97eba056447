// Revoke in the abstract spec: descendants may go in any order, and the spec returns every
// distinct result. (The laws over random spaces are in laws.test.ts.)
import { describe, expect, it } from 'vitest';
import { seL4_ObjectType as T } from '../../libsel4/index.ts';
import { capAt, entryAt } from '../../spec-abstract/state.ts';
import { bootHarness, type Harness } from './harness.ts';
import { bigUntyped, fingerprint } from './spaces.ts';

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
