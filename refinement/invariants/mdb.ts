// valid_mdb of the two lower layers (l4v Invariants_H): the mapping database is a set of
// well-formed doubly linked lists in depth-first CDT order. Written once over a plain listing
// of slots, which the executable spec gives directly and the impl gives by decoding memory.
import { capObjectPtr, slotKey, type Cap, type SlotRef } from '../../libsel4/index.ts';
import { slotPositions } from '../slot-map.ts';

export interface MDBEntry {
  readonly slot: SlotRef;
  readonly cap: Cap;
  readonly prev: SlotRef | null;
  readonly next: SlotRef | null;
  readonly revocable: boolean;
  readonly firstBadged: boolean;
}

const key = (s: SlotRef | null) => (s === null ? 'null' : slotKey(s));
const same = (a: SlotRef | null, b: SlotRef) => a !== null && a.cnode === b.cnode && a.index === b.index;

/** The region a cap covers, for untyped containment: [start, end). */
function capRange(cap: Cap, objectSize: (ptr: number) => number | null): [number, number] | null {
  if (cap.type === 'untyped') return [cap.ptr, cap.ptr + 2 ** cap.sizeBits];
  const ptr = capObjectPtr(cap);
  if (ptr === null) return null;
  const size = objectSize(ptr);
  return size === null ? null : [ptr, ptr + size];
}

/**
 * Whether every two ranges are disjoint or nested, in O(n log n): in order of start (the longer
 * first), each range must lie inside the innermost earlier range still open at its start.
 */
function nestedOrDisjoint(ranges: readonly [number, number][]): boolean {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const open: [number, number][] = [];
  for (const range of sorted) {
    while (open.length > 0 && open[open.length - 1]![1] <= range[0]) open.pop();
    if (open.length > 0 && open[open.length - 1]![1] < range[1]) return false;
    open.push(range);
  }
  return true;
}

/** Entry lists checkMDB found to hold every invariant. */
const checkedLists = new WeakSet<readonly MDBEntry[]>();

/** Whether checkMDB found no violation in exactly this list (so it is a set of well-formed doubly linked lists, each from a head). */
export function passedCheckMDB(entries: readonly MDBEntry[]): boolean {
  return checkedLists.has(entries);
}

/**
 * Checks valid_dlist, no_0 / valid_nullcaps (only non-null slots are listed, and no link
 * names an unlisted slot), mdb_chain_0 (no list has a cycle), valid_badges and untyped_inc.
 * Returns the first violation.
 */
export function checkMDB(entries: readonly MDBEntry[], objectSize: (ptr: number) => number | null): string | null {
  const violation = mdbViolation(entries, objectSize);
  if (violation === null) checkedLists.add(entries);
  return violation;
}

function mdbViolation(entries: readonly MDBEntry[], objectSize: (ptr: number) => number | null): string | null {
  const positions = slotPositions(entries);
  const entryAt = (ref: SlotRef): MDBEntry | undefined => {
    const at = positions.get(ref);
    return at === undefined ? undefined : entries[at];
  };
  for (const e of entries) {
    if (e.next) {
      const n = entryAt(e.next);
      if (!n) return `valid_nullcaps: ${key(e.slot)} links to ${key(e.next)}, an empty slot`;
      if (!same(n.prev, e.slot)) return `valid_dlist: ${key(e.slot)}.next = ${key(e.next)} but its prev is ${key(n.prev)}`;
    }
    if (e.prev) {
      const p = entryAt(e.prev);
      if (!p) return `valid_nullcaps: ${key(e.slot)} links back to ${key(e.prev)}, an empty slot`;
      if (!same(p.next, e.slot)) return `valid_dlist: ${key(e.slot)}.prev = ${key(e.prev)} but its next is ${key(p.next)}`;
    }
  }
  // mdb_chain_0: walking forward from every list head visits each entry once (slots marked by position).
  const seen = new Uint8Array(entries.length);
  let seenCount = 0;
  for (const head of entries) {
    if (head.prev) continue;
    for (let at: MDBEntry | undefined = head; at; at = at.next ? entryAt(at.next) : undefined) {
      const position = positions.get(at.slot)!;
      if (seen[position] === 1) return `mdb_chain_0: the list through ${slotKey(at.slot)} has a cycle`;
      seen[position] = 1;
      seenCount++;
    }
  }
  if (seenCount !== entries.length) {
    const stray = entries.find((e) => seen[positions.get(e.slot)!] !== 1)!;
    return `mdb_chain_0: ${slotKey(stray.slot)} is on a list with no head (a cycle)`;
  }
  // valid_badges: a badged endpoint/notification cap that follows a cap to the same object with
  // a different badge starts a new badge generation, so it must be firstBadged.
  for (const e of entries) {
    if (!e.next) continue;
    const n = entryAt(e.next)!;
    if ((e.cap.type === 'endpoint' || e.cap.type === 'notification') && n.cap.type === e.cap.type && n.cap.ptr === e.cap.ptr) {
      if (n.cap.badge !== e.cap.badge && n.cap.badge !== 0 && !n.firstBadged) {
        return `valid_badges: ${slotKey(n.slot)} (badge ${n.cap.badge}) follows badge ${e.cap.badge} but is not firstBadged`;
      }
    }
  }
  // untyped_inc: two untyped caps either cover disjoint ranges or one contains the other (the
  // pairwise search only names the first pair that does not).
  const untypeds = entries.filter((e) => e.cap.type === 'untyped');
  if (nestedOrDisjoint(untypeds.map((e) => capRange(e.cap, objectSize)!))) return null;
  for (let i = 0; i < untypeds.length; i++) {
    for (let j = i + 1; j < untypeds.length; j++) {
      const a = capRange(untypeds[i]!.cap, objectSize)!;
      const b = capRange(untypeds[j]!.cap, objectSize)!;
      const disjoint = a[1] <= b[0] || b[1] <= a[0];
      const nested = (a[0] <= b[0] && b[1] <= a[1]) || (b[0] <= a[0] && a[1] <= b[1]);
      if (!disjoint && !nested) return `untyped_inc: untypeds at ${slotKey(untypeds[i]!.slot)} and ${slotKey(untypeds[j]!.slot)} overlap partially`;
    }
  }
  return null;
}
