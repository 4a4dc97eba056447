// Invariants of capabilities and memory, named after l4v's (Invariants_AI): objects disjoint
// and aligned, caps naming existing objects of their type with valid fields, and the CDT
// acyclic and consistent with untyped containment.
import { capObjectPtr, hex, slotKey, tcbSlotCount, zombieTypeTCB, type Cap, type CapOf, type ObjectView, type SlotRef } from '../../libsel4/index.ts';
import { objectBytes, parentLinks, type Filled } from '../listing.ts';

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

/** pspace_distinct: no two objects overlap; pspace_aligned: each is aligned to its size. */
export function pspaceDistinctAligned(objects: readonly ObjectView[]): string | null {
  let end = 0;
  let last: ObjectView | null = null;
  for (const o of objects) {
    const size = objectBytes(o);
    if (o.addr % size !== 0) return `pspace_aligned: ${o.type} ${hex(o.addr)} not aligned to ${size}`;
    if (last && o.addr < end) return `pspace_distinct: ${o.type} ${hex(o.addr)} overlaps ${last.type} ${hex(last.addr)}`;
    end = o.addr + size;
    last = o;
  }
  return null;
}

/** The object type a cap names: a Zombie names a TCB or a CNode. */
function objectTypeNamed(cap: Cap): ObjectView['type'] | undefined {
  if (cap.type === 'zombie') return cap.zombieType === zombieTypeTCB ? 'tcb' : 'cnode';
  return objectTypeOfCap[cap.type];
}

/** valid_caps: every cap names an existing object of its type (a CNode cap or Zombie with its radix). */
export function validCaps(objects: ReadonlyMap<number, ObjectView>, filled: readonly Filled[]): string | null {
  for (const { slot, cap } of filled) {
    const wanted = objectTypeNamed(cap);
    if (!wanted) continue;
    const object = objects.get(capObjectPtr(cap)!);
    if (!object || object.type !== wanted) {
      return `valid_caps: ${slotKey(slot)} holds a ${cap.type} cap to ${hex(capObjectPtr(cap)!)}, which is ${object ? `a ${object.type}` : 'no object'}`;
    }
    if (cap.type === 'cnode' && object.type === 'cnode' && cap.radix !== object.radix) {
      return `valid_caps: ${slotKey(slot)} cnode cap radix ${cap.radix} but the CNode has radix ${object.radix}`;
    }
    if (cap.type === 'zombie' && object.type === 'cnode' && cap.zombieType !== object.radix) {
      return `valid_caps: ${slotKey(slot)} Zombie of radix ${cap.zombieType} but the CNode has radix ${object.radix}`;
    }
  }
  return null;
}

/** valid_badges (28 bits), valid_cap for CNode guards, valid_untyped for the free index. */
export function validCapFields(filled: readonly Filled[]): string | null {
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

/** How many slots the object a Zombie names has. */
function zombieObjectSlots(cap: CapOf<'zombie'>): number {
  return cap.zombieType === zombieTypeTCB ? tcbSlotCount : 2 ** cap.zombieType;
}

/**
 * Zombies between kernel entries (l4v zombies_final and valid_cap of a Zombie). A Zombie is
 * parked by an unexposed delete (cyclic: in its own object's slot 0, count at least 1), or left
 * by a preempted exposed delete (anywhere, any count from 0: facts §26.3.2). Either way its
 * count is at most its object's slots, the object's slots at index >= count are empty (the
 * count is the progress), and it is the only cap to its object.
 */
export function zombiesFinal(filled: readonly Filled[]): string | null {
  const zombies = new Map<number, { slot: SlotRef; cap: CapOf<'zombie'> }>();
  for (const { slot, cap } of filled) {
    if (cap.type !== 'zombie') continue;
    const slots = zombieObjectSlots(cap);
    if (!Number.isInteger(cap.count) || cap.count < 0 || cap.count > slots) return `zombie: ${slotKey(slot)} holds a Zombie of ${hex(cap.ptr)} counting ${cap.count} of ${slots} slots`;
    if (slot.cnode === cap.ptr && slot.index === 0 && cap.count === 0) return `zombie: ${slotKey(slot)} holds a cyclic Zombie counting 0 slots`;
    const other = zombies.get(cap.ptr);
    if (other !== undefined) return `zombies_final: ${slotKey(slot)} and ${slotKey(other.slot)} both hold a Zombie of ${hex(cap.ptr)}`;
    zombies.set(cap.ptr, { slot, cap });
  }
  if (zombies.size === 0) return null;
  for (const { slot, cap } of filled) {
    const zombie = zombies.get(slot.cnode);
    if (zombie !== undefined && slot.index >= zombie.cap.count) {
      return `zombie: ${slotKey(slot)} holds a ${cap.type} cap at or above the count ${zombie.cap.count} of the Zombie in ${slotKey(zombie.slot)}`;
    }
    const ptr = cap.type === 'zombie' || cap.type === 'untyped' ? null : capObjectPtr(cap);
    if (ptr !== null && zombies.has(ptr)) return `zombies_final: ${slotKey(slot)} holds a ${cap.type} cap to ${hex(ptr)}, whose Zombie is in ${slotKey(zombies.get(ptr)!.slot)}`;
  }
  return null;
}

function regionOf(cap: Cap, objects: ReadonlyMap<number, ObjectView>): [number, number] | null {
  if (cap.type === 'untyped') return [cap.ptr, cap.ptr + 2 ** cap.sizeBits];
  const ptr = capObjectPtr(cap);
  if (ptr === null) return null;
  const object = objects.get(ptr);
  return object ? [ptr, ptr + objectBytes(object)] : null;
}

/**
 * The CDT: no_loops (the parent relation is acyclic), a parent slot is never empty, and
 * untyped_mdb (a cap whose parent is an untyped lies inside it and below its free index).
 * Each slot's walk up its ancestors stops at a slot an earlier walk went through: that one is
 * known to reach a root.
 */
export function cdtInvariants(objects: ReadonlyMap<number, ObjectView>, filled: readonly Filled[]): string | null {
  const links = parentLinks(filled);
  // The walk that went through each listed slot (by position), -1 for none.
  const walkOf = new Int32Array(filled.length).fill(-1);
  for (let i = 0; i < filled.length; i++) {
    const f = filled[i]!;
    const parent = f.parent;
    if (!parent) continue;
    const parentAt = links.parent[i]!;
    const p = parentAt < 0 ? undefined : filled[parentAt];
    if (!p) return `valid_mdb: ${slotKey(f.slot)} has parent ${slotKey(parent)}, an empty slot`;
    if (p.cap.type === 'untyped') {
      const inner = regionOf(f.cap, objects);
      if (inner && (inner[0] < p.cap.ptr || inner[1] > p.cap.ptr + 2 ** p.cap.sizeBits)) {
        return `untyped_mdb: ${slotKey(f.slot)} (${f.cap.type} ${hex(inner[0])}) is a child of untyped ${hex(p.cap.ptr)} but lies outside it`;
      }
      if (inner && inner[1] > p.cap.ptr + p.cap.freeIndex) {
        return `untyped_mdb: ${slotKey(f.slot)} lies above the free index of its parent untyped ${hex(p.cap.ptr)}`;
      }
    }
    const self = links.self[i]!;
    if (walkOf[self] !== -1) continue;
    walkOf[self] = i;
    // An unlisted ancestor has no parent: the walk ends there (as at a root).
    for (let position = parentAt; position >= 0; position = links.parent[position]!) {
      const walk = walkOf[position]!;
      if (walk === i) return `no_loops: the CDT has a cycle through ${slotKey(filled[position]!.slot)}`;
      if (walk !== -1) break;
      walkOf[position] = i;
    }
  }
  return null;
}
