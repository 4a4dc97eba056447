// Invariants every layer must keep, named after seL4's (l4v's Invariants_A / Invariants_H), a
// module per kernel area: cspace (objects, caps, the CDT), mdb (the MDB lists, only for the two
// lower layers, which have one), tcb, schedcontext, notification, endpoint, reply, scheduler,
// vspace (page tables, ASID pools and the caps to them, and translate), interrupt (IRQ lines, IRQ node, handlers)
// and untyped (nothing above a free index). All are checked over a listing of the layer's state and its view.
import type { ObjectView, Touched } from '../../libsel4/index.ts';
import { listLayer, objectBytes, objectsByAddr, type Listing } from '../listing.ts';
import { cdtInvariants, pspaceDistinctAligned, validCapFields, validCaps, zombiesFinal } from './cspace.ts';
import { irqInvariants } from './interrupt.ts';
import { checkMDB } from './mdb.ts';
import { validEpQ, validNtfnQ, validTcbState } from './endpoint.ts';
import { notificationRefs } from './notification.ts';
import { replyTcbRefs, validReplies } from './reply.ts';
import { activeScsValid, schedContextRefs } from './schedcontext.ts';
import { currentThread, readyOrRelease, timeBounded, timerDeadline, validBlocked, validReadyQs, validReleaseQ, type SchedulingState } from './scheduler.ts';
import { validTcbSched } from './tcb.ts';
import { ObjectsByType } from './by-type.ts';
import { untypedFree } from './untyped.ts';
import { translationsAgree, vspaceInvariants } from './vspace.ts';
import type { RunningLayer } from '../running.ts';

/** How often each named invariant was checked, by its l4v names. */
export type InvariantCounts = Map<string, number>;

/** Runs one named check, counting it in `counts` if given. */
function counted(counts: InvariantCounts | undefined, name: string, check: () => string | null): string | null {
  if (counts) counts.set(name, (counts.get(name) ?? 0) + 1);
  return check();
}

function objectMap(listing: Listing): Map<number, ObjectView> {
  return objectsByAddr(listing.objects);
}

/** Every invariant of one layer's state; the first violation, or null. */
export function checkListing(listing: Listing, counts?: InvariantCounts): string | null {
  const objects = objectMap(listing);
  const mdb = listing.mdb;
  return (
    counted(counts, 'pspace_distinct/pspace_aligned', () => pspaceDistinctAligned(listing.objects)) ??
    counted(counts, 'valid_caps', () => validCaps(objects, listing.filled)) ??
    counted(counts, 'valid_badges/valid_cap/valid_untyped', () => validCapFields(listing.filled)) ??
    counted(counts, 'zombies_final/valid_cap (Zombies)', () => zombiesFinal(listing.filled)) ??
    counted(counts, 'valid_mdb/untyped_mdb/no_loops (CDT)', () => cdtInvariants(objects, listing.filled)) ??
    counted(counts, 'valid_vspace_objs/valid_asid_table/unique_table_refs/valid_vs_lookup/valid_table_caps', () => vspaceInvariants(objects, listing.filled)) ??
    (mdb ? counted(counts, 'valid_dlist/mdb_chain_0/untyped_inc (MDB)', () => checkMDB(mdb, (ptr) => (objects.has(ptr) ? objectBytes(objects.get(ptr)!) : null))) : null) ??
    counted(counts, 'valid_irq_node/valid_irq_handlers/valid_irq_states', () => irqInvariants(listing.irqs, listing.filled)) ??
    checkScheduling({ objects, scheduler: listing.scheduler, current: listing.current }, counts)
  );
}

/** The invariants of threads, scheduling contexts, the scheduler, endpoints, notifications and replies; the first violation, or null. */
export function checkScheduling(s: SchedulingState, counts?: InvariantCounts): string | null {
  const byType = new ObjectsByType(s.objects);
  return (
    counted(counts, 'valid_tcb (priority, MCP, domain)', () => validTcbSched(byType.of('tcb'))) ??
    counted(counts, 'active_scs_valid/valid_refills', () => activeScsValid(byType.of('schedcontext'))) ??
    counted(counts, 'sym_refs (scheduling contexts)', () => schedContextRefs(s.objects, byType)) ??
    counted(counts, 'sym_refs (notification bindings)', () => notificationRefs(s.objects, byType)) ??
    counted(counts, 'valid_ready_qs', () => validReadyQs(s)) ??
    counted(counts, 'valid_release_q', () => validReleaseQ(s)) ??
    counted(counts, 'ready_or_release', () => readyOrRelease(s)) ??
    counted(counts, 'cur_sc_tcb/ct_in_state/ct_not_in_q/ct_released', () => currentThread(s)) ??
    counted(counts, 'valid_blocked', () => validBlocked(s, byType)) ??
    counted(counts, 'consumed_time_bounded/current_time_bounded', () => timeBounded(s)) ??
    counted(counts, 'setNextInterrupt (timer deadline)', () => timerDeadline(s)) ??
    counted(counts, 'valid_tcb_state', () => validTcbState(s.objects, byType)) ??
    counted(counts, 'valid_ep/valid_ep_q', () => validEpQ(s.objects, byType)) ??
    counted(counts, 'valid_ntfn_q', () => validNtfnQ(s.objects, byType)) ??
    counted(counts, 'sym_refs (reply objects)', () => replyTcbRefs(s.objects, byType)) ??
    counted(counts, 'valid_replies/reply_sc', () => validReplies(s.objects, byType))
  );
}

/**
 * Every invariant of a running layer. The untyped invariant reads memory: given `touched` (what
 * the last entry wrote), it looks only at the untypeds it names (their slot, or an object in
 * their region); otherwise at all of them.
 */
export function checkInvariants(layer: RunningLayer, counts?: InvariantCounts, touched?: readonly Touched[]): string | null {
  const listing = listLayer(layer);
  const view = layer.view();
  return (
    checkListing(listing, counts) ??
    counted(counts, 'get_vspace_of_thread/ptable_lift (translate agrees with the page tables)', () => translationsAgree(objectMap(listing), view)) ??
    counted(counts, 'untyped_free (nothing above a free index, RAM zero)', () => untypedFree(listing.objects, listing.filled, (from, to) => view.nonZeroWord(from, to), (paddr) => view.userWord(paddr), touched ?? null))
  );
}
