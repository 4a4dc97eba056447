// The MDB invariants on hand-built lists: untyped_inc (checked by a sweep over sorted ranges) and
// mdb_chain_0, each kept by a good list and reported for a planted violation.
import { describe, expect, it } from 'vitest';
import type { Cap, SlotRef } from '../../libsel4/index.ts';
import { checkMDB, passedCheckMDB, type MDBEntry } from '../../refinement/invariants/mdb.ts';

const ROOT = 0x80001000;
const slot = (index: number): SlotRef => ({ cnode: ROOT, index });
const untyped = (ptr: number, sizeBits: number): Cap => ({ type: 'untyped', ptr, sizeBits, freeIndex: 0, isDevice: false });
const noSize = () => null;

/** Caps in slots 0..n-1, linked in that order. */
function list(caps: readonly Cap[]): MDBEntry[] {
  return caps.map((cap, i) => ({
    slot: slot(i),
    cap,
    prev: i === 0 ? null : slot(i - 1),
    next: i === caps.length - 1 ? null : slot(i + 1),
    revocable: true,
    firstBadged: false,
  }));
}

describe('untyped_inc: untyped ranges are disjoint or nested', () => {
  it('holds for nested, disjoint and equal ranges in any order', () => {
    const caps = [untyped(0x80100000, 12), untyped(0x80000000, 20), untyped(0x80100000, 12), untyped(0x80200000, 16), untyped(0x80000000, 16)];
    expect(checkMDB(list(caps), noSize)).toBeNull();
  });

  it('names the pair whose ranges overlap partially', () => {
    const caps = [untyped(0x80000000, 20), untyped(0x80010000, 16), untyped(0x80018000, 16)];
    expect(checkMDB(list(caps), noSize)).toMatch(/^untyped_inc: untypeds at .*\[1\].* and .*\[2\].* overlap partially$/);
  });
});

describe('mdb_chain_0: every list is acyclic', () => {
  it('reports a list whose last entry links back to its first', () => {
    const entries = list([untyped(0x80000000, 12), untyped(0x80001000, 12)]);
    const cyclic = entries.map((e, i) => (i === 0 ? { ...e, prev: slot(1) } : { ...e, next: slot(0) }));
    expect(checkMDB(cyclic, noSize)).toMatch(/^mdb_chain_0: /);
  });
});

describe('passedCheckMDB: the lists checkMDB found well formed', () => {
  it('names exactly the lists that passed, not a failing one nor an unchecked one', () => {
    const good = list([untyped(0x80000000, 12), untyped(0x80001000, 12)]);
    const cyclic = good.map((e, i) => (i === 0 ? { ...e, prev: slot(1) } : { ...e, next: slot(0) }));
    expect(passedCheckMDB(good)).toBe(false);
    expect(checkMDB(good, noSize)).toBeNull();
    expect(checkMDB(cyclic, noSize)).not.toBeNull();
    expect([passedCheckMDB(good), passedCheckMDB(cyclic), passedCheckMDB([...good])]).toEqual([true, false, false]);
  });
});
