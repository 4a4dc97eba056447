import { beforeEach, describe, expect, it } from 'vitest';
import { seL4_CNode_CapData_new, seL4_Error, seL4_ObjectType as T } from '../../libsel4/index.ts';
import { resolveAddressBits } from '../../spec-executable/cspace.ts';
import { ExecHarness, ROOT } from './harness.ts';

const E = seL4_Error;
const NESTED = 0x80200000; // the radix-4 CNode retyped first from the big untyped

/**
 * Root slot A: a radix-4 CNode (guard 0). Root slot R: the root CNode cap with guard size 12,
 * so it resolves 24 bits and leaves 8 for a second level. Root slot B: A's cap with guard 0x5 of
 * size 4 (8 bits per level). Nested slot 3 holds an endpoint; root slot EP holds another.
 */
function nested() {
  const h = new ExecHarness();
  const A = h.empty;
  const R = A + 1;
  const B = A + 2;
  const EP = A + 3;
  const D = A + 10;
  expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_CapTableObject, 4, ROOT, 0, 0, A, 1)).toBe(E.seL4_NoError);
  expect(h.api.seL4_CNode_Mint(ROOT, R, 32, ROOT, ROOT, 32, 0xf, seL4_CNode_CapData_new(0, 12))).toBe(E.seL4_NoError);
  expect(h.api.seL4_CNode_Mint(ROOT, B, 32, ROOT, A, 32, 0xf, seL4_CNode_CapData_new(5, 4))).toBe(E.seL4_NoError);
  expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_EndpointObject, 0, ROOT, A, 32, 3, 1)).toBe(E.seL4_NoError);
  expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_EndpointObject, 0, ROOT, 0, 0, EP, 1)).toBe(E.seL4_NoError);
  return { h, A, R, B, EP, D };
}

/** Copy into root slot D from (srcRoot, index, depth); returns the error and the reply's MRs. */
function copyFrom(n: ReturnType<typeof nested>, srcRoot: number, index: number, depth: number): [number, number[]] {
  const err = n.h.api.seL4_CNode_Copy(ROOT, n.D, 32, srcRoot, index, depth, 0xf);
  return [err, n.h.mrs()];
}

describe('CSpace addressing (resolveAddressBits)', () => {
  let n: ReturnType<typeof nested>;
  beforeEach(() => {
    n = nested();
  });

  it('sets up the guards as minted', () => {
    expect(n.h.cap(n.R)).toMatchObject({ type: 'cnode', radix: 12, guardSize: 12, guard: 0 });
    expect(n.h.cap(n.B)).toMatchObject({ type: 'cnode', ptr: NESTED, radix: 4, guardSize: 4, guard: 5 });
  });

  it('resolves through two guarded levels', () => {
    expect(copyFrom(n, n.R, (n.B << 8) | 0x53, 32)).toEqual([E.seL4_NoError, []]);
    expect(n.h.cap(n.D)).toMatchObject({ type: 'endpoint', ptr: 0x80200100 });
    expect(n.h.parent(n.D)).toEqual({ cnode: NESTED, index: 3 });
  });

  it('checks the guard before the depth: GuardMismatch {bitsLeft, guardFound, bitsFound}', () => {
    expect(copyFrom(n, n.R, (n.B << 8) | 0x63, 32)).toEqual([E.seL4_FailedLookup, [1, 4, 8, 5, 4]]);
    expect(copyFrom(n, n.R, 0x00100000 | (n.B << 8), 32)).toEqual([E.seL4_FailedLookup, [1, 4, 32, 0, 12]]);
    // Fewer bits left than the guard needs is a guard mismatch too.
    expect(copyFrom(n, n.R, n.B << 2, 26)).toEqual([E.seL4_FailedLookup, [1, 4, 2, 5, 4]]);
  });

  it('reports DepthMismatch {bitsLeft, bitsFound} when guard + radix exceed the bits left', () => {
    expect(copyFrom(n, n.R, (n.B << 4) | 5, 28)).toEqual([E.seL4_FailedLookup, [1, 3, 4, 8]]);
    expect(copyFrom(n, n.R, n.B, 20)).toEqual([E.seL4_FailedLookup, [1, 3, 20, 24]]);
  });

  it('names a CNode cap itself by stopping at its slot with depth = bits consumed', () => {
    expect(copyFrom(n, n.R, n.B, 24)).toEqual([E.seL4_NoError, []]);
    expect(n.h.cap(n.D)).toMatchObject({ type: 'cnode', ptr: NESTED, guard: 5, guardSize: 4 });
  });

  it('rejects bits left over at a non-CNode cap in CNode operations: DepthMismatch {bitsLeft, 0}', () => {
    expect(copyFrom(n, n.R, (n.EP << 8) | 0x12, 32)).toEqual([E.seL4_FailedLookup, [1, 3, 8, 0]]);
  });

  it('accepts bits left over at a non-CNode cap in the resolver itself (thread lookups)', () => {
    const rCap = n.h.cap(n.R)!;
    expect(resolveAddressBits(n.h.state, rCap, (n.EP << 8) | 0x12, 32)).toEqual({ ok: true, slot: n.h.root(n.EP), bitsRemaining: 8 });
    expect(resolveAddressBits(n.h.state, rCap, (n.B << 8) | 0x53, 32)).toEqual({ ok: true, slot: { cnode: NESTED, index: 3 }, bitsRemaining: 0 });
    expect(resolveAddressBits(n.h.state, { type: 'null' }, 0, 32)).toEqual({ ok: false, failure: { type: 'InvalidRoot' } });
  });

  it('runs the CNode-op pre-checks in order: InvalidRoot, then depth 1..32', () => {
    expect(copyFrom(n, 1, 0, 0)).toEqual([E.seL4_FailedLookup, [1, 1]]);
    expect(copyFrom(n, ROOT, n.EP, 0)).toEqual([E.seL4_RangeError, [1, 32]]);
    expect(copyFrom(n, ROOT, n.EP, 33)).toEqual([E.seL4_RangeError, [1, 32]]);
  });

  it('treats an empty slot as found, and CNode ops report it as MissingCapability {depth}', () => {
    expect(copyFrom(n, n.R, (n.B << 8) | 0x54, 32)).toEqual([E.seL4_FailedLookup, [1, 2, 32]]);
    expect(copyFrom(n, n.R, n.D, 24)).toEqual([E.seL4_FailedLookup, [1, 2, 24]]);
  });

  it('uses the low depth bits of the CPtr only', () => {
    expect(copyFrom(n, n.R, 0xf0000000 | (n.B << 4) | 5, 28)).toEqual([E.seL4_FailedLookup, [1, 3, 4, 8]]);
    expect(copyFrom(n, ROOT, 0xfffff000 | n.EP, 12)).toEqual([E.seL4_FailedLookup, [1, 4, 12, 0, 20]]);
  });
});
