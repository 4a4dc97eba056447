// The capability derivation tree as a parent relation between slots, with the abstract
// spec's is_original_cap flag per slot (l4v CSpace_A: cap_insert, cap_move, cap_swap,
// empty_slot, descendants_of, is_final_cap). Every function keeps the children lists and
// the object → slots index (capRefs) in step with the caps and parents.
import type { Cap, SlotRef } from '../libsel4/index.ts';
import { RadixMap } from '../libsel4/radix-map.ts';
import { isCapRevocable, namedObject, sameObjectAs, shouldBeParentOf } from './objects.ts';
import {
  addCapRef,
  capAt,
  entryAt,
  noChildren,
  removeCapRef,
  sameSlot,
  setEntry,
  slotAddr,
  slotRef,
  slotsNaming,
  updateEntry,
  type Readable,
  type Kernel,
  type SlotEntry,
} from './state.ts';

function copyRef(slot: SlotRef | null): SlotRef | null {
  return slot === null ? null : slotRef(slot.cnode, slot.index);
}

function addChild(k: Kernel, parent: SlotRef, child: SlotRef): void {
  const entry = entryAt(k, parent);
  if (entry !== null) updateEntry(k, parent, { children: entry.children.set(slotAddr(child), slotRef(child.cnode, child.index)) });
}

function removeChild(k: Kernel, parent: SlotRef, child: SlotRef): void {
  const entry = entryAt(k, parent);
  if (entry !== null) updateEntry(k, parent, { children: entry.children.delete(slotAddr(child)) });
}

/** A children map of `slots`, keyed by slot address. */
function childrenMap(slots: Iterable<SlotRef>): RadixMap<SlotRef> {
  return RadixMap.of([...slots].map((slot) => [slotAddr(slot), slot] as const));
}

/** Writes a full entry into an empty slot and indexes its cap. */
function placeEntry(k: Kernel, slot: SlotRef, entry: SlotEntry): void {
  setEntry(k, slot, entry);
  const ptr = namedObject(entry.cap);
  if (ptr !== null) addCapRef(k, ptr, slot);
}

/** Clears a slot's entry and its index entry, leaving links to the caller. */
function clearEntry(k: Kernel, slot: SlotRef, cap: Cap): void {
  const ptr = namedObject(cap);
  if (ptr !== null) removeCapRef(k, ptr, slot);
  setEntry(k, slot, null);
}

/** Replaces the cap in a non-empty slot, keeping its place in the CDT. */
export function setCap(k: Kernel, slot: SlotRef, cap: Cap): void {
  const entry = entryAt(k, slot);
  if (entry === null) return;
  const oldPtr = namedObject(entry.cap);
  const newPtr = namedObject(cap);
  if (oldPtr !== newPtr && oldPtr !== null) removeCapRef(k, oldPtr, slot);
  updateEntry(k, slot, { cap });
  if (oldPtr !== newPtr && newPtr !== null) addCapRef(k, newPtr, slot);
}

/** Puts a cap into the empty slot `dest` with the given CDT parent and original flag. */
export function placeCap(k: Kernel, cap: Cap, dest: SlotRef, parent: SlotRef | null, original: boolean): void {
  if (entryAt(k, dest) !== null) return;
  placeEntry(k, dest, { cap, parent: copyRef(parent), original, children: noChildren });
  if (parent !== null) addChild(k, parent, dest);
}

/**
 * cap_insert: put `newCap`, derived from the cap in `src`, into the empty slot `dest`. The
 * new cap is original when is_cap_revocable says so; it becomes a child of `src` when `src`
 * should be its parent, else a sibling of `src` (a child of src's parent). Copying an
 * untyped cap to the same region marks the source full, so only the copy allocates.
 */
export function cteInsert(k: Kernel, newCap: Cap, src: SlotRef, dest: SlotRef): void {
  const srcEntry = entryAt(k, src);
  if (srcEntry === null || entryAt(k, dest) !== null) return;
  const srcCap = srcEntry.cap;
  const destOriginal = isCapRevocable(newCap, srcCap);
  const parent = shouldBeParentOf(srcCap, srcEntry.original, newCap, destOriginal) ? src : srcEntry.parent;
  if (srcCap.type === 'untyped' && newCap.type === 'untyped' && srcCap.ptr === newCap.ptr && srcCap.sizeBits === newCap.sizeBits) {
    setCap(k, src, { ...srcCap, freeIndex: 2 ** srcCap.sizeBits });
  }
  placeCap(k, newCap, dest, parent, destOriginal);
}

/**
 * create_cap (Retype) of each new object in turn: `create(i)` makes the object and its cap, which
 * goes as an original cap into the empty slot `dests[i]`, a child of the untyped's slot. The
 * untyped's entry gains its new children in one write (as if one at a time: children are by address).
 */
export function createCaps(k: Kernel, untypedSlot: SlotRef, dests: readonly SlotRef[], create: (i: number) => Cap): void {
  const untyped = entryAt(k, untypedSlot);
  let children = untyped?.children ?? noChildren;
  dests.forEach((dest, i) => {
    const cap = create(i);
    if (entryAt(k, dest) !== null) return;
    placeEntry(k, dest, { cap, parent: copyRef(untypedSlot), original: true, children: noChildren });
    children = children.set(slotAddr(dest), slotRef(dest.cnode, dest.index));
  });
  if (untyped !== null && children !== untyped.children) updateEntry(k, untypedSlot, { children });
}

/**
 * cap_move: the cap (possibly transformed into `newCap`) leaves `src` for the empty slot
 * `dest` and takes its place in the CDT with it: same parent, same original flag, and the
 * children of `src` now hang off `dest`.
 */
export function cteMove(k: Kernel, newCap: Cap, src: SlotRef, dest: SlotRef): void {
  const entry = entryAt(k, src);
  if (entry === null || sameSlot(src, dest) || entryAt(k, dest) !== null) return;
  clearEntry(k, src, entry.cap);
  placeEntry(k, dest, { ...entry, cap: newCap });
  for (const child of entry.children.values()) updateEntry(k, child, { parent: copyRef(dest) });
  if (entry.parent !== null) {
    removeChild(k, entry.parent, src);
    addChild(k, entry.parent, dest);
  }
}

/**
 * cap_swap: `cap1` (the new form of the cap in `slot1`) goes to `slot2` and `cap2` to
 * `slot1`; each carries its CDT position (parent, children, original flag) along.
 */
export function cteSwap(k: Kernel, cap1: Cap, slot1: SlotRef, cap2: Cap, slot2: SlotRef): void {
  const e1 = entryAt(k, slot1);
  const e2 = entryAt(k, slot2);
  if (e1 === null || e2 === null || sameSlot(slot1, slot2)) return;
  const swap = (r: SlotRef): SlotRef => (sameSlot(r, slot1) ? slot2 : sameSlot(r, slot2) ? slot1 : r);
  const moved = (e: SlotEntry, cap: Cap): SlotEntry => ({
    cap,
    parent: e.parent === null ? null : copyRef(swap(e.parent)),
    original: e.original,
    children: childrenMap([...e.children.values()].map((c) => copyRef(swap(c))!)),
  });
  const outside = (r: SlotRef | null): r is SlotRef => r !== null && !sameSlot(r, slot1) && !sameSlot(r, slot2);
  clearEntry(k, slot1, e1.cap);
  clearEntry(k, slot2, e2.cap);
  if (outside(e1.parent)) removeChild(k, e1.parent, slot1);
  if (outside(e2.parent)) removeChild(k, e2.parent, slot2);
  placeEntry(k, slot1, moved(e2, cap2));
  placeEntry(k, slot2, moved(e1, cap1));
  if (outside(e1.parent)) addChild(k, e1.parent, slot2);
  if (outside(e2.parent)) addChild(k, e2.parent, slot1);
  for (const child of [...e1.children.values()].filter(outside)) updateEntry(k, child, { parent: copyRef(slot2) });
  for (const child of [...e2.children.values()].filter(outside)) updateEntry(k, child, { parent: copyRef(slot1) });
}

/**
 * empty_slot: the slot becomes null and leaves the CDT; its children move up to its
 * parent. (Finalisation, if any, has already happened.)
 */
export function emptySlot(k: Kernel, slot: SlotRef): void {
  const entry = entryAt(k, slot);
  if (entry === null) return;
  clearEntry(k, slot, entry.cap);
  for (const child of entry.children.values()) updateEntry(k, child, { parent: entry.parent });
  if (entry.parent === null) return;
  const parent = entryAt(k, entry.parent);
  if (parent !== null) {
    let children = parent.children.delete(slotAddr(slot));
    for (const [addr, child] of entry.children.entries()) children = children.set(addr, child);
    updateEntry(k, entry.parent, { children });
  }
}

/** The CDT children of a slot, by increasing slot address. */
export function childrenOf(s: Readable, slot: SlotRef): SlotRef[] {
  return [...(entryAt(s, slot)?.children ?? noChildren).values()];
}

/** The child of `slot` with the lowest slot address (the first of childrenOf), or null. */
export function firstChild(s: Readable, slot: SlotRef): SlotRef | null {
  return (entryAt(s, slot)?.children ?? noChildren).first()?.[1] ?? null;
}

/** descendants_of: every slot below `slot` in the CDT, in depth-first order. */
export function descendantsOf(s: Readable, slot: SlotRef): SlotRef[] {
  const result: SlotRef[] = [];
  const seen = new Set<number>([slotAddr(slot)]);
  const stack = childrenOf(s, slot).reverse();
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(slotAddr(next))) continue;
    seen.add(slotAddr(next));
    result.push(next);
    stack.push(...childrenOf(s, next).reverse());
  }
  return result;
}

/** Whether `slot` lies below `ancestor` in the CDT: a walk up its parents. */
export function isDescendant(s: Readable, slot: SlotRef, ancestor: SlotRef): boolean {
  let parent = entryAt(s, slot)?.parent ?? null;
  for (let hops = 0; parent !== null; hops++) {
    if (sameSlot(parent, ancestor)) return true;
    if (hops > 1 << 20) throw new Error('abstract spec invariant: the CDT has a cycle');
    parent = entryAt(s, parent)?.parent ?? null;
  }
  return false;
}

export function hasChildren(s: Readable, slot: SlotRef): boolean {
  return (entryAt(s, slot)?.children.size ?? 0) > 0;
}

/**
 * is_final_cap: no other slot anywhere holds a cap to the same object. Caps that name no
 * object (untyped, control caps, domain) are never final.
 */
export function isFinalCap(s: Readable, slot: SlotRef, cap: Cap): boolean {
  const ptr = namedObject(cap);
  if (ptr === null) return false;
  return slotsNaming(s, ptr).every((other) => sameSlot(other, slot) || !sameObjectAs(cap, capAt(s, other)));
}
