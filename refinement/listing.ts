// A plain listing of one layer's state for invariant checks: its objects, its non-null slots
// with their CDT parents, and (for the two lower layers) the MDB nodes. Each layer is listed
// from its own state, cheaply: sparse slot maps for the specs, a raw scan of slot words for
// the impl, and one pass per MDB list for the parents.
import { capObjectPtr, maxIRQ, type Cap, type IrqView, type ObjectView, type SchedulerView, type SlotRef } from '../libsel4/index.ts';
import * as A from '../spec-abstract/index.ts';
import * as E from '../spec-executable/index.ts';
import * as I from '../impl/index.ts';
import { abstractFilledSlots, abstractObjectViews, holdsNullCap } from './abstraction/index.ts';
import { execSlots } from './abstraction/exec-index.ts';
import { irqNodeSlots } from './lockstep/compare.ts';
import { SlotMap, sharePositions, slotPositions } from './slot-map.ts';
import { passedCheckMDB, type MDBEntry } from './invariants/mdb.ts';
import type { RunningLayer } from './running.ts';

export interface Filled {
  readonly slot: SlotRef;
  readonly cap: Cap;
  readonly parent: SlotRef | null;
}

export interface Listing {
  /** By increasing address. */
  readonly objects: readonly ObjectView[];
  readonly filled: readonly Filled[];
  readonly mdb: readonly MDBEntry[] | null;
  readonly scheduler: SchedulerView;
  /** The thread that runs next, null for the idle thread. */
  readonly current: number | null;
  /** The IRQ lines, 0..maxIRQ. */
  readonly irqs: readonly IrqView[];
}

/** The parts of a listing read off the layer's own state. */
type StateListing = Omit<Listing, 'scheduler' | 'current' | 'irqs'>;

export function objectBytes(o: ObjectView): number {
  switch (o.type) {
    case 'cnode':
      return 2 ** (o.radix + 4);
    case 'tcb':
      return 1024;
    case 'endpoint':
    case 'reply':
      return 16;
    case 'notification':
      return 32;
    case 'schedcontext':
    case 'frame':
      return 2 ** o.sizeBits;
    case 'pagetable':
    case 'asidpool':
      return 4096;
  }
}

/** sameRegionAs (docs/sel4-facts.md §9.1 rule 2): `size` gives the bytes of the object at an address. */
export function sameRegionAs(size: (ptr: number) => number | null, ca: Cap, cb: Cap): boolean {
  switch (ca.type) {
    case 'untyped': {
      const ptr = cb.type === 'untyped' ? cb.ptr : capObjectPtr(cb);
      const bytes = cb.type === 'untyped' ? 2 ** cb.sizeBits : ptr === null ? null : size(ptr);
      return ptr !== null && bytes !== null && ca.ptr <= ptr && ptr + bytes <= ca.ptr + 2 ** ca.sizeBits;
    }
    case 'frame':
      return cb.type === 'frame' && ca.ptr <= cb.ptr && cb.ptr + 2 ** cb.sizeBits <= ca.ptr + 2 ** ca.sizeBits;
    case 'cnode':
      return cb.type === 'cnode' && ca.ptr === cb.ptr && ca.radix === cb.radix;
    case 'irqcontrol':
      return cb.type === 'irqcontrol' || cb.type === 'irqhandler';
    case 'irqhandler':
      return cb.type === 'irqhandler' && ca.irq === cb.irq;
    case 'domain':
    case 'asidcontrol':
    case 'schedcontrol':
      return cb.type === ca.type;
    case 'null':
    case 'zombie':
      return false;
    default:
      return cb.type === ca.type && capObjectPtr(cb) === capObjectPtr(ca);
  }
}

/** isMDBParentOf (docs/sel4-facts.md §9.1): a revocable cap, the same region, and the badge rule. */
export function mdbParentOf(
  size: (ptr: number) => number | null,
  a: { readonly cap: Cap; readonly revocable: boolean },
  b: { readonly cap: Cap; readonly firstBadged: boolean },
): boolean {
  if (!a.revocable || !sameRegionAs(size, a.cap, b.cap)) return false;
  if ((a.cap.type === 'endpoint' || a.cap.type === 'notification') && a.cap.badge !== 0) {
    return (b.cap as { badge: number }).badge === a.cap.badge && !b.firstBadged;
  }
  return true;
}

/**
 * CDT parents from MDB lists: one walk per list with a stack of open ancestors. By position in
 * `entries` (of each slot's last listing): the parent, undefined where no walk from a head
 * reached; and the parent's position, -1 for none.
 */
function parentsFromMDB(entries: readonly MDBEntry[], size: (ptr: number) => number | null): { parents: (SlotRef | null | undefined)[]; parentPositions: Int32Array } {
  const positions = slotPositions(entries);
  const parents = new Array<SlotRef | null | undefined>(entries.length).fill(undefined);
  const parentPositions = new Int32Array(entries.length).fill(-1);
  for (const head of entries) {
    if (head.prev !== null) continue;
    const stack: MDBEntry[] = [];
    const stackPositions: number[] = [];
    let steps = 0;
    for (let at: MDBEntry | undefined = head; at && steps <= entries.length; steps++) {
      while (stack.length > 0 && !mdbParentOf(size, stack[stack.length - 1]!, at)) {
        stack.pop();
        stackPositions.pop();
      }
      const position = positions.get(at.slot)!;
      parents[position] = stack.length > 0 ? stack[stack.length - 1]!.slot : null;
      parentPositions[position] = stack.length > 0 ? stackPositions[stackPositions.length - 1]! : -1;
      stack.push(at);
      stackPositions.push(position);
      const next: number | undefined = at.next === null ? undefined : positions.get(at.next);
      at = next === undefined ? undefined : entries[next];
    }
  }
  return { parents, parentPositions };
}

/** A listing's objects by address, made once per list (the listing's parents, its invariants and the closing comparison share it). */
const objectMaps = new WeakMap<readonly ObjectView[], Map<number, ObjectView>>();

export function objectsByAddr(objects: readonly ObjectView[]): Map<number, ObjectView> {
  let byAddr = objectMaps.get(objects);
  if (byAddr === undefined) {
    byAddr = new Map<number, ObjectView>();
    for (const o of objects) byAddr.set(o.addr, o);
    objectMaps.set(objects, byAddr);
  }
  return byAddr;
}

/**
 * Per position in a list of slots: the position of its slot's last listing (`self`), and that of
 * its CDT parent's (`parent`; -1 for no parent, -2 for a parent not listed).
 */
export interface ParentLinks {
  readonly self: Int32Array;
  readonly parent: Int32Array;
}

/** Each list's parent links, made once per list (or given by the parent derivation that made the list). */
const linkMaps = new WeakMap<readonly Filled[], ParentLinks>();

export function parentLinks(filled: readonly Filled[]): ParentLinks {
  let links = linkMaps.get(filled);
  if (links === undefined) {
    const positions = slotPositions(filled);
    links = { self: new Int32Array(filled.length), parent: new Int32Array(filled.length) };
    for (let i = 0; i < filled.length; i++) {
      const f = filled[i]!;
      links.self[i] = positions.get(f.slot)!;
      links.parent[i] = f.parent === null ? -1 : (positions.get(f.parent) ?? -2);
    }
    linkMaps.set(filled, links);
  }
  return links;
}

/** The listing's slots with their CDT parents (sharing `entries`' positions and the parents' positions), and the parents by position. */
function withParents(entries: readonly MDBEntry[], objects: readonly ObjectView[]): { filled: Filled[]; parents: (SlotRef | null | undefined)[] } {
  const byAddr = objectsByAddr(objects);
  const { parents, parentPositions } = parentsFromMDB(entries, (ptr) => {
    const o = byAddr.get(ptr);
    return o === undefined ? null : objectBytes(o);
  });
  const positions = slotPositions(entries);
  const links = { self: new Int32Array(entries.length), parent: new Int32Array(entries.length) };
  const filled = entries.map((e, i) => {
    const self = positions.get(e.slot)!;
    links.self[i] = self;
    links.parent[i] = parentPositions[self]!;
    return { slot: e.slot, cap: e.cap, parent: parents[self] ?? null };
  });
  sharePositions(entries, filled);
  linkMaps.set(filled, links);
  return { filled, parents };
}

function mdbEntry(slot: SlotRef, cap: Cap, mdb: E.MDBNode): MDBEntry {
  return { slot, cap, prev: mdb.prev, next: mdb.next, revocable: mdb.revocable, firstBadged: mdb.firstBadged };
}

/** The MDB entries of each listed executable state, with the CDT parents derived from them. */
const listedParents = new WeakMap<E.ExecState, { readonly mdb: readonly MDBEntry[]; readonly parents: SlotMap<SlotRef | null> }>();

/**
 * The CDT parent of every non-null slot of `s`, as its listing derived them, once checkMDB has
 * found that listing's MDB well formed (then one walk from each list's head reaches every
 * slot, as execCdtParent's walk does); otherwise undefined.
 */
export function checkedListParents(s: E.ExecState): SlotMap<SlotRef | null> | undefined {
  const listed = listedParents.get(s);
  return listed !== undefined && passedCheckMDB(listed.mdb) ? listed.parents : undefined;
}

function listExecutable(s: E.ExecState): StateListing {
  const objects = E.view(s).objects();
  const mdb: MDBEntry[] = [];
  for (const [slot, data] of execSlots(s)) if (data.cap.type !== 'null') mdb.push(mdbEntry(slot, data.cap, data.mdb));
  const { filled, parents } = withParents(mdb, objects);
  const walked = new SlotMap<SlotRef | null>();
  for (let i = 0; i < mdb.length; i++) {
    const parent = parents[i];
    if (parent !== undefined) walked.set(mdb[i]!.slot, parent);
  }
  listedParents.set(s, { mdb, parents: walked });
  return { objects, filled, mdb };
}

/** The impl's non-null slots (the IRQ node's too): a null cap is two zero words, so a raw scan finds the rest. */
function listImpl(s: I.ImplState): StateListing {
  const objects = I.decodeObjects(s) as ObjectView[];
  const mdb: MDBEntry[] = [];
  for (const o of objects) {
    const count = o.type === 'cnode' ? 2 ** o.radix : o.type === 'tcb' ? 5 : 0;
    for (let index = 0; index < count; index++) {
      if (holdsNullCap(s, o.addr + index * 16)) continue;
      const slot = { cnode: o.addr, index };
      const data = I.decodeSlot(s, slot)!;
      mdb.push(mdbEntry(slot, data.cap, data.mdb));
    }
  }
  for (const slot of irqNodeSlots) {
    const data = I.decodeSlot(s, slot);
    if (data !== null && data.cap.type !== 'null') mdb.push(mdbEntry(slot, data.cap, data.mdb));
  }
  return { objects, filled: withParents(mdb, objects).filled, mdb };
}

function listAbstract(s: A.AbstractState): StateListing {
  return {
    objects: abstractObjectViews(s),
    filled: abstractFilledSlots(s),
    mdb: null,
  };
}

function listState(layer: RunningLayer): StateListing {
  switch (layer.name) {
    case 'abstract':
      return listAbstract(layer.state() as A.AbstractState);
    case 'executable':
      return listExecutable(layer.state() as E.ExecState);
    case 'impl':
      return listImpl(layer.state() as I.ImplState);
  }
}

/** The listings made during the current closing (no layer steps meanwhile), by layer state; null outside one. */
let closingListings: Map<unknown, Listing> | null = null;

/**
 * Runs a run's closing (its invariants, then its full comparisons: no layer steps meanwhile),
 * the comparisons reading each layer's listing that the invariants made.
 */
export function sharingListings<T>(closing: () => T): T {
  const outer = closingListings;
  closingListings = new Map();
  try {
    return closing();
  } finally {
    closingListings = outer;
  }
}

/** The listing of a layer state made during the current closing, if any. */
export function closingListing(state: unknown): Listing | undefined {
  return closingListings?.get(state);
}

export function listLayer(layer: RunningLayer): Listing {
  const view = layer.view();
  const irqs = Array.from({ length: maxIRQ + 1 }, (_, irq) => view.irq(irq));
  const listing = { ...listState(layer), scheduler: view.scheduler(), current: view.current(), irqs };
  closingListings?.set(layer.state(), listing);
  return listing;
}
