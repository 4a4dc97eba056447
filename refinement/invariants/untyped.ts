// Untyped memory between kernel entries (l4v's untyped_inc and valid_untyped with the
// preemption slice's reset, Untyped_AI reset_untyped_cap_invs_etc): above a RAM untyped's free
// index there is no object and the memory reads zero. A reset lowers the free index one chunk
// at a time, only after zeroing the chunk, so this holds at every preemption point too.
import { hex, slotKey, type CapOf, type ObjectView, type Touched, type Word } from '../../libsel4/index.ts';
import { objectBytes, type Filled } from '../listing.ts';

/** The untyped caps to check: all of them, or those `touched` names or whose region holds a touched object. */
function untypedsToCheck(filled: readonly Filled[], touched: readonly Touched[] | null): { slot: Filled['slot']; cap: CapOf<'untyped'> }[] {
  const untypeds: { slot: Filled['slot']; cap: CapOf<'untyped'> }[] = [];
  for (const { slot, cap } of filled) if (cap.type === 'untyped' && !cap.isDevice) untypeds.push({ slot, cap });
  if (touched === null) return untypeds;
  const slots = new Set(touched.flatMap((t) => t.slots.map(slotKey)));
  const objects = touched.flatMap((t) => t.objects);
  return untypeds.filter(({ slot, cap }) => slots.has(slotKey(slot)) || objects.some((addr) => addr >= cap.ptr && addr < cap.ptr + 2 ** cap.sizeBits));
}

/** The first object (by increasing address) that overlaps [start, end), if any. */
function objectOverlapping(objects: readonly ObjectView[], start: number, end: number): ObjectView | null {
  let low = 0;
  let high = objects.length;
  // The first object ending after `start`: objects are disjoint and sorted, so their ends are too.
  while (low < high) {
    const mid = (low + high) >>> 1;
    const o = objects[mid]!;
    if (o.addr + objectBytes(o) <= start) low = mid + 1;
    else high = mid;
  }
  const o = objects[low];
  return o !== undefined && o.addr < end ? o : null;
}

/**
 * untyped_free: no object lies in a RAM untyped's region at or above its free index, and that
 * memory reads zero. `objects` by increasing address; `touched` null checks every untyped.
 */
export function untypedFree(objects: readonly ObjectView[], filled: readonly Filled[], nonZeroWord: (from: number, to: number) => number | null, userWord: (paddr: number) => Word, touched: readonly Touched[] | null): string | null {
  for (const { slot, cap } of untypedsToCheck(filled, touched)) {
    const free = cap.ptr + cap.freeIndex;
    const end = cap.ptr + 2 ** cap.sizeBits;
    const object = objectOverlapping(objects, free, end);
    if (object !== null) return `untyped_free: ${slotKey(slot)} untyped ${hex(cap.ptr)} has ${object.type} ${hex(object.addr)} at or above its free index ${hex(cap.freeIndex)}`;
    const paddr = nonZeroWord(free, end);
    if (paddr !== null) return `untyped_free: ${slotKey(slot)} untyped ${hex(cap.ptr)} has memory ${hex(paddr)} = ${hex(userWord(paddr))} at or above its free index ${hex(cap.freeIndex)}`;
  }
  return null;
}
