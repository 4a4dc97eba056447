// Invariants every layer must keep, named after seL4's (l4v's Invariants_A / Invariants_H).
// These read the layer-independent view; layer-specific ones (the MDB list) live beside them.
import {
  capObjectPtr,
  hex,
  slotKey,
  tcbSlotCount,
  type Cap,
  type KernelView,
  type ObjectView,
  type SlotRef,
} from '../libsel4/index.ts';
import type { RunningLayer } from './running.ts';

export function objectSizeBits(o: ObjectView): number {
  switch (o.type) {
    case 'cnode':
      return o.radix + 4;
    case 'tcb':
      return 10;
    case 'endpoint':
    case 'reply':
      return 4;
    case 'notification':
      return 5;
    case 'schedcontext':
    case 'frame':
      return o.sizeBits;
    case 'pagetable':
    case 'asidpool':
      return 12;
  }
}

const objectTypeOfCap: Partial<Record<Cap['type'], ObjectView['type']>> = {
  endpoint: 'endpoint',
  notification: 'notification',
  reply: 'reply',
  cnode: 'cnode',
  thread: 'tcb',
  schedcontext: 'schedcontext',
  frame: 'frame',
  pagetable: 'pagetable',
  asidpool: 'asidpool',
};

function slotCount(o: ObjectView): number {
  return o.type === 'cnode' ? 2 ** o.radix : o.type === 'tcb' ? tcbSlotCount : 0;
}

interface Filled {
  readonly slot: SlotRef;
  readonly cap: Cap;
}

function filledSlots(view: KernelView, objects: readonly ObjectView[]): Filled[] {
  const out: Filled[] = [];
  for (const o of objects) {
    const n = slotCount(o);
    for (let index = 0; index < n; index++) {
      const slot = { cnode: o.addr, index };
      const cap = view.cap(slot);
      if (cap && cap.type !== 'null') out.push({ slot, cap });
    }
  }
  return out;
}

/** pspace_distinct: no two objects overlap; pspace_aligned: each is aligned to its size. */
function pspaceDistinctAligned(objects: readonly ObjectView[]): string | null {
  let end = 0;
  let last: ObjectView | null = null;
  for (const o of objects) {
    const size = 2 ** objectSizeBits(o);
    if (o.addr % size !== 0) return `pspace_aligned: ${o.type} ${hex(o.addr)} not aligned to ${size}`;
    if (last && o.addr < end) return `pspace_distinct: ${o.type} ${hex(o.addr)} overlaps ${last.type} ${hex(last.addr)}`;
    end = o.addr + size;
    last = o;
  }
  return null;
}

/** valid_caps: every cap names an existing object of its type (and matching size). */
function validCaps(view: KernelView, filled: readonly Filled[]): string | null {
  for (const { slot, cap } of filled) {
    const wanted = objectTypeOfCap[cap.type];
    if (!wanted) continue;
    const object = view.object(capObjectPtr(cap)!);
    if (!object || object.type !== wanted) {
      return `valid_caps: ${slotKey(slot)} holds a ${cap.type} cap to ${hex(capObjectPtr(cap)!)}, which is ${object ? `a ${object.type}` : 'no object'}`;
    }
    if (cap.type === 'cnode' && object.type === 'cnode' && cap.radix !== object.radix) {
      return `valid_caps: ${slotKey(slot)} cnode cap radix ${cap.radix} but the CNode has radix ${object.radix}`;
    }
  }
  return null;
}

function regionOf(cap: Cap, view: KernelView): [number, number] | null {
  if (cap.type === 'untyped') return [cap.ptr, cap.ptr + 2 ** cap.sizeBits];
  const ptr = capObjectPtr(cap);
  if (ptr === null) return null;
  const object = view.object(ptr);
  return object ? [ptr, ptr + 2 ** objectSizeBits(object)] : null;
}

/**
 * The CDT: no_loops (the parent relation is acyclic), untyped_mdb (a cap whose parent is an
 * untyped lies inside it and below its free index).
 */
function cdtInvariants(view: KernelView, filled: readonly Filled[]): string | null {
  const byKey = new Map(filled.map((f) => [slotKey(f.slot), f]));
  for (const f of filled) {
    const parent = view.cdtParent(f.slot);
    if (!parent) continue;
    const p = byKey.get(slotKey(parent));
    if (!p) return `valid_mdb: ${slotKey(f.slot)} has parent ${slotKey(parent)}, an empty slot`;
    if (p.cap.type === 'untyped') {
      const inner = regionOf(f.cap, view);
      if (inner && (inner[0] < p.cap.ptr || inner[1] > p.cap.ptr + 2 ** p.cap.sizeBits)) {
        return `untyped_mdb: ${slotKey(f.slot)} (${f.cap.type} ${hex(inner[0])}) is a child of untyped ${hex(p.cap.ptr)} but lies outside it`;
      }
      if (inner && inner[1] > p.cap.ptr + p.cap.freeIndex) {
        return `untyped_free_index: ${slotKey(f.slot)} lies above the free index of its parent untyped ${hex(p.cap.ptr)}`;
      }
    }
    const seen = new Set<string>([slotKey(f.slot)]);
    for (let at: SlotRef | null = parent; at; at = view.cdtParent(at)) {
      const key = slotKey(at);
      if (seen.has(key)) return `no_loops: the CDT has a cycle through ${key}`;
      seen.add(key);
    }
  }
  return null;
}

/** valid_badges: badges fit in 28 bits; cnode guards fit their guard size and with the radix in 32 bits. */
function validCapFields(filled: readonly Filled[]): string | null {
  for (const { slot, cap } of filled) {
    if ((cap.type === 'endpoint' || cap.type === 'notification') && cap.badge >>> 28 !== 0) {
      return `valid_badges: ${slotKey(slot)} badge ${hex(cap.badge)} exceeds 28 bits`;
    }
    if (cap.type === 'cnode' && (cap.guardSize + cap.radix > 32 || cap.guard >= 2 ** cap.guardSize)) {
      return `valid_cap: ${slotKey(slot)} cnode guard ${cap.guard}/${cap.guardSize} with radix ${cap.radix}`;
    }
    if (cap.type === 'untyped' && (cap.freeIndex < 0 || cap.freeIndex > 2 ** cap.sizeBits || cap.freeIndex % 16 !== 0)) {
      return `valid_untyped: ${slotKey(slot)} free index ${cap.freeIndex} of a 2^${cap.sizeBits} untyped`;
    }
  }
  return null;
}

/** All view-level invariants of one layer's state; the first violation, or null. */
export function checkViewInvariants(view: KernelView): string | null {
  const objects = view.objects();
  const filled = filledSlots(view, objects);
  return pspaceDistinctAligned(objects) ?? validCaps(view, filled) ?? validCapFields(filled) ?? cdtInvariants(view, filled);
}

export function checkInvariants(layer: RunningLayer): string | null {
  return checkViewInvariants(layer.view());
}
