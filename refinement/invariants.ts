// Invariants every layer must keep, named after seL4's (l4v's Invariants_A / Invariants_H):
// checked over a listing of the layer's state; the MDB ones (mdb-invariants.ts) only for the
// two lower layers, which have an MDB. Those of threads and scheduling are in invariants/, a
// module per kernel area (tcb, schedcontext, scheduler), checked on every layer's view.
import { capObjectPtr, hex, slotId, slotKey, type Cap, type ObjectView, type SlotRef } from '../libsel4/index.ts';
import { listLayer, objectBytes, type Filled, type Listing } from './listing.ts';
import { checkMDB } from './mdb-invariants.ts';
import { activeScsValid, schedContextRefs } from './invariants/schedcontext.ts';
import { currentThread, readyOrRelease, timeBounded, timerDeadline, validBlocked, validReadyQs, validReleaseQ, type SchedulingState } from './invariants/scheduler.ts';
import { validTcbSched } from './invariants/tcb.ts';
import type { RunningLayer } from './running.ts';

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
function pspaceDistinctAligned(objects: readonly ObjectView[]): string | null {
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

/** valid_caps: every cap names an existing object of its type (a CNode cap with its radix). */
function validCaps(objects: ReadonlyMap<number, ObjectView>, filled: readonly Filled[]): string | null {
  for (const { slot, cap } of filled) {
    const wanted = objectTypeOfCap[cap.type];
    if (!wanted) continue;
    const object = objects.get(capObjectPtr(cap)!);
    if (!object || object.type !== wanted) {
      return `valid_caps: ${slotKey(slot)} holds a ${cap.type} cap to ${hex(capObjectPtr(cap)!)}, which is ${object ? `a ${object.type}` : 'no object'}`;
    }
    if (cap.type === 'cnode' && object.type === 'cnode' && cap.radix !== object.radix) {
      return `valid_caps: ${slotKey(slot)} cnode cap radix ${cap.radix} but the CNode has radix ${object.radix}`;
    }
  }
  return null;
}

/** valid_badges (28 bits), valid_cap for CNode guards, valid_untyped for the free index. */
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
 */
function cdtInvariants(objects: ReadonlyMap<number, ObjectView>, filled: readonly Filled[]): string | null {
  const byKey = new Map(filled.map((f) => [slotId(f.slot), f]));
  for (const f of filled) {
    const parent = f.parent;
    if (!parent) continue;
    const p = byKey.get(slotId(parent));
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
    const seen = new Set<string>([slotId(f.slot)]);
    for (let at: SlotRef | null = parent; at; at = byKey.get(slotId(at))?.parent ?? null) {
      const id = slotId(at);
      if (seen.has(id)) return `no_loops: the CDT has a cycle through ${slotKey(at)}`;
      seen.add(id);
    }
  }
  return null;
}

/** How often each named invariant was checked, by its l4v names. */
export type InvariantCounts = Map<string, number>;

/** Runs one named check, counting it in `counts` if given. */
function counted(counts: InvariantCounts | undefined, name: string, check: () => string | null): string | null {
  if (counts) counts.set(name, (counts.get(name) ?? 0) + 1);
  return check();
}

/** Every invariant of one layer's state; the first violation, or null. */
export function checkListing(listing: Listing, counts?: InvariantCounts): string | null {
  const objects = new Map(listing.objects.map((o) => [o.addr, o]));
  const mdb = listing.mdb;
  return (
    counted(counts, 'pspace_distinct/pspace_aligned', () => pspaceDistinctAligned(listing.objects)) ??
    counted(counts, 'valid_caps', () => validCaps(objects, listing.filled)) ??
    counted(counts, 'valid_badges/valid_cap/valid_untyped', () => validCapFields(listing.filled)) ??
    counted(counts, 'valid_mdb/untyped_mdb/no_loops (CDT)', () => cdtInvariants(objects, listing.filled)) ??
    (mdb ? counted(counts, 'valid_dlist/mdb_chain_0/untyped_inc (MDB)', () => checkMDB(mdb, (ptr) => (objects.has(ptr) ? objectBytes(objects.get(ptr)!) : null))) : null) ??
    checkScheduling({ objects, scheduler: listing.scheduler, current: listing.current }, counts)
  );
}

/** The invariants of threads, scheduling contexts and the scheduler; the first violation, or null. */
export function checkScheduling(s: SchedulingState, counts?: InvariantCounts): string | null {
  return (
    counted(counts, 'valid_tcb (priority, MCP, domain)', () => validTcbSched(s.objects.values())) ??
    counted(counts, 'active_scs_valid/valid_refills', () => activeScsValid(s.objects.values())) ??
    counted(counts, 'sym_refs (scheduling contexts)', () => schedContextRefs(s.objects)) ??
    counted(counts, 'valid_ready_qs', () => validReadyQs(s)) ??
    counted(counts, 'valid_release_q', () => validReleaseQ(s)) ??
    counted(counts, 'ready_or_release', () => readyOrRelease(s)) ??
    counted(counts, 'cur_sc_tcb/ct_in_state/ct_not_in_q/ct_released', () => currentThread(s)) ??
    counted(counts, 'valid_blocked', () => validBlocked(s)) ??
    counted(counts, 'consumed_time_bounded/current_time_bounded', () => timeBounded(s)) ??
    counted(counts, 'setNextInterrupt (timer deadline)', () => timerDeadline(s))
  );
}

export function checkInvariants(layer: RunningLayer, counts?: InvariantCounts): string | null {
  return checkListing(listLayer(layer), counts);
}
