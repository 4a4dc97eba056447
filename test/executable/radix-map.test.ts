import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RadixMap } from '../../libsel4/radix-map.ts';

/** Keys around the places the trie's digits roll over, and kernel addresses. */
const keyArb = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.integer({ min: 0, max: 70 }),
  fc.integer({ min: 0x80000000, max: 0x80000400 }).map((k) => k - (k % 4)),
  fc.constantFrom(0, 31, 32, 1023, 1024, 2 ** 30 - 1, 2 ** 30, 2 ** 31, 2 ** 32 - 1),
);
const opArb = fc.oneof(
  fc.tuple(fc.constant('set' as const), keyArb, fc.integer()),
  fc.tuple(fc.constant('delete' as const), keyArb, fc.constant(0)),
);

describe('RadixMap', () => {
  it('agrees with a native Map on every version, in key order, and on ranges', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), keyArb, keyArb, (ops, a, b) => {
        let map = RadixMap.of<number>();
        const model = new Map<number, number>();
        const versions: [RadixMap<number>, [number, number][]][] = [];
        for (const [op, key, value] of ops) {
          if (op === 'set') {
            map = map.set(key, value);
            model.set(key, value);
          } else {
            map = map.delete(key);
            model.delete(key);
          }
          versions.push([map, [...model].sort(([x], [y]) => x - y)]);
        }
        for (const [version, expected] of versions) {
          expect([...version.entries()]).toEqual(expected);
          expect(version.keys()).toEqual(expected.map(([key]) => key));
          expect(version.values()).toEqual(expected.map(([, value]) => value));
          expect(version.size).toBe(expected.length);
          expect(version.first()).toEqual(expected[0]);
          for (const [key, value] of expected) expect(version.get(key)).toBe(value);
        }
        const [start, end] = a <= b ? [a, b] : [b, a];
        const inRange = [...model.keys()].filter((k) => k >= start && k < end).sort((x, y) => x - y);
        expect([...map.keysInRange(start, end)]).toEqual(inRange);
        // Ranges that cover whole subtrees (walked without range arithmetic) and cut others.
        for (const [from, to] of [[0, 2 ** 32], [start - (start % 1024), end + 1024], [start - (start % 32), start - (start % 32) + 32]] as const) {
          expect(map.entriesInRange(from, to)).toEqual([...model].filter(([k]) => k >= from && k < to).sort(([x], [y]) => x - y));
        }
        expect([...RadixMap.of(model).entries()]).toEqual([...model].sort(([x], [y]) => x - y));
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('returns itself for a write that changes nothing, and rejects keys that are no 32-bit unsigned integer', () => {
    const map = RadixMap.of([[0x80000000, 'a']]);
    expect(map.set(0x80000000, 'a')).toBe(map);
    expect(map.delete(0x80000010)).toBe(map);
    expect(map.delete(-1)).toBe(map);
    expect(map.get(2 ** 32 + 0x80000000)).toBeUndefined();
    expect(() => map.set(2 ** 32, 'b')).toThrow('not a 32-bit unsigned integer');
    expect(() => map.set(1.5, 'b')).toThrow('not a 32-bit unsigned integer');
  });
});
