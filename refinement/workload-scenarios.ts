// Composite steps a real user makes, so the workload reaches rare situations by construction:
// badges minted twice from one endpoint and revoked (the MDB's badge generations); a small
// CNode filled from slot 0 and deleted; device memory used up, then asked for an object; threads configured alike, resumed together, spending
// their budgets back to back and released by one timer interrupt (release-time ties, two
// threads woken by one awaken). A scenario is a list of actions, each resolved against the
// state when it runs; one that finds the state not as it left it abandons the scenario and the
// step does what it drew.
import {
  InvocationLabel,
  minBudgetMicroseconds,
  minBudgetTicks,
  seL4_CNode_CapData_new,
  seL4_AllRights,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_EndpointBits,
  seL4_IPCBufferSizeBits,
  seL4_MinSchedContextBits,
  seL4_ObjectType,
  seL4_PageBits,
  seL4_RetypeFanOutLimit,
  seL4_SchedContext_Sporadic,
  seL4_SlotBits,
  seL4_TCBBits,
  timerPrecisionTicks,
  type Cap,
  type CapOf,
  type SlotRef,
} from '../libsel4/index.ts';
import type { Knowledge, SlotAddress } from './knowledge.ts';
import { Picker, call, freeBytes, send, sendSyscalls, type ResolvedCall } from './workload-picks.ts';
import { passTicks, releaseTimeOf, rootPriority, schedControlCptr, setPriorityCall } from './workload-threads.ts';

/**
 * What an action makes the step do: a call (`done`: the scenario moves on after it), `next`: no
 * call, the next action runs in this step; null: the state is not as expected, the scenario ends.
 */
export type Action = (k: Knowledge, p: Picker) => { readonly call: ResolvedCall; readonly done: boolean } | 'next' | null;

export interface Scenario {
  readonly name: 'badges' | 'twins' | 'cnode' | 'cspace' | 'device' | 'slices' | 'passive' | 'transfer' | 'queue' | 'fault' | 'fastpath' | 'lend' | 'vspace' | 'asids' | 'driver' | 'preemption';
  readonly actions: Action[];
}

/** The next call of the run's scenario, if one is under way and the state is as it expects. */
export function scenarioStep(k: Knowledge, p: Picker, scenario: Scenario): ResolvedCall | null {
  while (scenario.actions.length > 0) {
    const next = scenario.actions[0]!(k, p);
    if (next === null) break;
    if (next === 'next' || next.done) scenario.actions.shift();
    if (next !== 'next') return next.call;
  }
  scenario.actions.length = 0;
  return null;
}

export const once = (c: ResolvedCall) => ({ call: c, done: true });

/** A free slot of the root CNode, its cptr (the root CNode resolves a slot index at depth 32). */
export function freeRootSlot(k: Knowledge, p: Picker, count = 1): number | undefined {
  return k.freeRun(k.rootCNode, count, p.below(2 ** k.rootRadix()));
}

export const rootSlot = (k: Knowledge, index: number): SlotRef => ({ cnode: k.rootCNode, index });

/** A non-device untyped of the root CNode with `bytes` free. */
export function untypedWithRoom(k: Knowledge, p: Picker, bytes: number): number | undefined {
  return p.of(k.ofType('untyped', true).filter((u) => !u.cap.isDevice && freeBytes(u.cap) >= bytes))?.slot.index;
}

const R = seL4_CapInitThreadCNode;
const T = seL4_ObjectType;

/** Untyped_Retype into the root CNode, or into the CNode whose cap is at root slot `node` (depth 32). */
export function retype(untyped: number, type: number, sizeBits: number, offset: number, count: number, node?: number): ResolvedCall {
  const [index, depth] = node === undefined ? [0, 0] : [node, 32];
  const a = [untyped, type, sizeBits, R, index, depth, offset, count];
  return call('seL4_Untyped_Retype', a, (api) => void api.seL4_Untyped_Retype(untyped, type, sizeBits, R, index, depth, offset, count));
}

// ---- badges ----

export function mint(dest: number, src: number, rights: number, badge: number): ResolvedCall {
  return call('seL4_CNode_Mint', [R, dest, 32, R, src, 32, rights, badge], (api) => void api.seL4_CNode_Mint(R, dest, 32, R, src, 32, rights, badge));
}

export function copy(dest: number, src: number): ResolvedCall {
  return call('seL4_CNode_Copy', [R, dest, 32, R, src, 32, seL4_AllRights], (api) => void api.seL4_CNode_Copy(R, dest, 32, R, src, 32, seL4_AllRights));
}

type SlotOp = 'Delete' | 'Revoke' | 'CancelBadgedSends';

export function slotCall(op: SlotOp, index: number): ResolvedCall {
  return call(`seL4_CNode_${op}`, [R, index, 32], (api) => {
    if (op === 'Delete') api.seL4_CNode_Delete(R, index, 32);
    else if (op === 'Revoke') api.seL4_CNode_Revoke(R, index, 32);
    else api.seL4_CNode_CancelBadgedSends(R, index, 32);
  });
}

/** The endpoint cap of a root slot, if it names the endpoint at `ptr` with `badge` (any badge when undefined). */
function endpointAt(k: Knowledge, index: number, ptr: number, badge?: number): Cap | null {
  const cap = k.capAt(rootSlot(k, index));
  return cap?.type === 'endpoint' && cap.ptr === ptr && (badge === undefined || cap.badge === badge) ? cap : null;
}

/**
 * Badges from one unbadged endpoint E, then a revoke of a badged cap whose MDB successor is
 * another cap to E that is no child of it:
 * - twice: mint badge X from E into A, again into A2 (both start a badge generation), revoke A2
 *   (A, next to it, stays: a cap of the same badge but its own generation);
 * - another badge: mint Y from E into B, copy B into B2 (no generation of its own), delete B,
 *   mint X from E into A (A's successor is B2), revoke A (B2 stays: another badge).
 * Now and then the mints keep only some rights, A's badged sends are cancelled at the end
 * (which needs all four rights), and E is revoked last (its badged mints are its CDT children).
 */
export function badgesScenario(p: Picker): Scenario {
  const slots = new Map<string, number>();
  let ptr = -1;
  const badgeX = p.chance(70) ? 1 + p.below(3) : 1 + p.below(0xfffffff);
  const badgeY = badgeX === 1 ? 2 : badgeX - 1;
  const rights = p.chance(60) ? seL4_AllRights : 1 + p.below(seL4_AllRights - 1);
  const endpoint: Action = (k, p) => {
    const unbadged = p.of(k.inRoot().filter((o) => o.cap.type === 'endpoint' && o.cap.badge === 0 && !k.isVital(o)));
    if (unbadged) {
      slots.set('E', unbadged.slot.index);
      return 'next';
    }
    const offset = freeRootSlot(k, p);
    const untyped = untypedWithRoom(k, p, 2 ** seL4_EndpointBits);
    if (offset === undefined || untyped === undefined) return null;
    slots.set('E', offset);
    return once(retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, offset, 1));
  };
  // The endpoint as it was found or made: every later action checks its slots still hold it.
  const found: Action = (k) => {
    const cap = k.capAt(rootSlot(k, slots.get('E')!));
    if (cap?.type !== 'endpoint' || cap.badge !== 0) return null;
    ptr = cap.ptr;
    return 'next';
  };
  const mintInto = (name: string, badge: number): Action => (k, p) => {
    const dest = freeRootSlot(k, p);
    if (dest === undefined || !endpointAt(k, slots.get('E')!, ptr, 0)) return null;
    slots.set(name, dest);
    return once(mint(dest, slots.get('E')!, rights, badge));
  };
  const holds = (k: Knowledge, name: string, badge: number) => endpointAt(k, slots.get(name)!, ptr, badge) !== null;
  const copyInto = (name: string, from: string, badge: number): Action => (k, p) => {
    const dest = freeRootSlot(k, p);
    if (dest === undefined || !holds(k, from, badge)) return null;
    slots.set(name, dest);
    return once(copy(dest, slots.get(from)!));
  };
  const onSlot = (op: SlotOp, name: string, badge: number): Action => (k) => (holds(k, name, badge) ? once(slotCall(op, slots.get(name)!)) : null);
  const twice = [mintInto('A', badgeX), mintInto('A2', badgeX), onSlot('Revoke', 'A2', badgeX)];
  const another = [mintInto('B', badgeY), copyInto('B2', 'B', badgeY), onSlot('Delete', 'B', badgeY), mintInto('A', badgeX), onSlot('Revoke', 'A', badgeX)];
  const cancel = p.chance(50) ? [onSlot('CancelBadgedSends', 'A', badgeX)] : [];
  const revokeE = p.chance(50) ? [onSlot('Revoke', 'E', 0)] : [];
  return { name: 'badges', actions: [endpoint, found, ...(p.chance(60) ? twice : another), ...cancel, ...revokeE] };
}

// ---- a CNode filled and deleted ----

/** What the CNode scenario nests in its CNode: type, size bits, object bits. */
const nestedObjects: readonly (readonly [number, number, number])[] = [
  [T.seL4_CapTableObject, 1, 1 + seL4_SlotBits],
  [T.seL4_TCBObject, 0, seL4_TCBBits],
];

/**
 * A small CNode retyped into the root CNode, now and then its cap moved by Mutate to another
 * root slot with the widest guard it may take (guard size + radix = 32), objects retyped into it
 * from its slot 0 on (now and then all its slots, or all but one), now and then a CNode or TCB
 * retyped into a free slot of it, a cap copied into it now and then, then its only cap deleted: finalising it
 * deletes every slot, down to slot 0, and parks the nested CNode or TCB as a cyclic Zombie in
 * its own slot 0; now and then the nested object's untyped is revoked after, which empties it.
 */
export function cnodeScenario(p: Picker): Scenario {
  const radix = 1 + p.below(3);
  const nesting = p.chance(75);
  let at = -1;
  const made: Action = (k, p) => {
    const slot = freeRootSlot(k, p);
    const untyped = untypedWithRoom(k, p, 2 ** (radix + seL4_SlotBits + 1));
    if (slot === undefined || untyped === undefined) return null;
    at = slot;
    return once(retype(untyped, seL4_ObjectType.seL4_CapTableObject, radix, slot, 1));
  };
  const cnodeAt = (k: Knowledge) => {
    const cap = k.capAt(rootSlot(k, at));
    return cap?.type === 'cnode' && cap.radix === radix ? cap : null;
  };
  const guarded: Action = (k, p) => {
    const dest = freeRootSlot(k, p);
    if (!cnodeAt(k) || dest === undefined) return null;
    const guardSize = 32 - radix;
    const data = seL4_CNode_CapData_new(p.below(2 ** Math.min(guardSize, 18)), guardSize);
    const from = at;
    at = dest;
    return once(call('seL4_CNode_Mutate', [R, dest, 32, R, from, 32, data], (api) => void api.seL4_CNode_Mutate(R, dest, 32, R, from, 32, data)));
  };
  const filled: Action = (k, p) => {
    const type = p.of([seL4_ObjectType.seL4_EndpointObject, seL4_ObjectType.seL4_NotificationObject])!;
    const count = p.chance(50) ? 1 : 2 ** radix - (nesting ? 1 : 0);
    const untyped = untypedWithRoom(k, p, count * 2 ** seL4_EndpointBits);
    if (!cnodeAt(k) || untyped === undefined) return null;
    return once(retype(untyped, type, 0, 0, count, at));
  };
  const copied: Action = (k, p) => {
    const cnode = cnodeAt(k);
    const src = p.of(k.inRoot().filter((o) => !k.isVital(o) && (o.cap.type === 'endpoint' || o.cap.type === 'notification' || o.cap.type === 'frame')));
    if (!cnode) return null;
    const index = k.freeRun(cnode.ptr, 1, 0);
    if (!src || index === undefined) return 'next';
    const path = k.addresses({ cnode: cnode.ptr, index });
    const to = p.of(path);
    if (!to) return 'next';
    const a = [to.service, to.index, to.depth, R, src.slot.index, 32, seL4_AllRights];
    return once(call('seL4_CNode_Copy', a, (api) => void api.seL4_CNode_Copy(to.service, to.index, to.depth, R, src.slot.index, 32, seL4_AllRights)));
  };
  const deleted: Action = (k) => (cnodeAt(k) ? once(slotCall('Delete', at)) : null);
  let nestedFrom = -1;
  const nested: Action = (k, p) => {
    const cnode = cnodeAt(k);
    const [type, sizeBits, objectBits] = p.of(nestedObjects)!;
    const untyped = untypedWithRoom(k, p, 2 ** objectBits);
    if (!cnode || untyped === undefined) return null;
    const index = k.freeRun(cnode.ptr, 1, 0);
    if (index === undefined) return 'next';
    nestedFrom = untyped;
    return once(retype(untyped, type, sizeBits, index, 1, at));
  };
  const revoked: Action = (k) => (k.capAt(rootSlot(k, nestedFrom))?.type === 'untyped' ? once(slotCall('Revoke', nestedFrom)) : null);
  return {
    name: 'cnode',
    actions: [
      made,
      ...(p.chance(40) ? [guarded] : []),
      filled,
      ...(nesting ? [nested] : []),
      ...(p.chance(50) ? [copied] : []),
      deleted,
      ...(nesting && p.chance(50) ? [revoked] : []),
    ],
  };
}

// ---- a CSpace behind a guard ----

/** Cap data that keeps a CNode cap's guard as it is. */
const guardData = (cap: CapOf<'cnode'>) => seL4_CNode_CapData_new(cap.guard, cap.guardSize);

/** A Retype whose destination CNode is named by `root`, `index`, `depth` (any lookup path). */
function retypeThrough(untyped: number, type: number, sizeBits: number, at: SlotAddress | null, offset: number, count: number): ResolvedCall {
  const [root, index, depth] = at === null ? [R, 0, 0] : [at.service, at.index, at.depth];
  const a = [untyped, type, sizeBits, root, index, depth, offset, count];
  return call('seL4_Untyped_Retype', a, (api) => void api.seL4_Untyped_Retype(untyped, type, sizeBits, root, index, depth, offset, count));
}

/**
 * A program's CSpace behind a guard, looked up through at every depth: a CNode C (radix 1-3)
 * minted or mutated into G with a guard of 1 to 32 - radix bits (mostly odd; now and then
 * given wider than its size, which the kernel cuts), now and then a CNode D (radix 1-2, no
 * guard) retyped into a slot of C; then a cap copied into C or D through G (at depth guard +
 * radix, or one level more), and now and then: endpoints retyped into the last slots of C or D
 * (sometimes one too many: RangeError), a Copy sent without its rights word (TruncatedMessage),
 * G copied into G2 (its MDB neighbour) and the two swapped by a Rotate, then G2 used; last C
 * revoked (G and G2 are its children) or G deleted.
 */
export function cspaceScenario(p: Picker): Scenario {
  const radix = 1 + p.below(3);
  const guardSize = p.chance(50) ? 1 + p.below(4) : p.chance(50) ? 32 - radix : 1 + p.below(32 - radix);
  const guard = (p.below(2 ** Math.min(guardSize, 18)) | (p.chance(80) ? 1 : 0)) >>> 0;
  // Bits above the guard size, as a program passing a wider value would: the kernel drops them.
  const wide = guardSize < 18 && p.chance(60) ? (1 + p.below(2 ** (18 - guardSize) - 1)) * 2 ** guardSize : 0;
  const innerRadix = 1 + p.below(2);
  const slots = { c: -1, g: -1, g2: -1, inner: -1 };
  let ptr = -1;
  const rootRuns = (k: Knowledge) => k.view().current() === k.rootTCB;
  /** The CNode cap to C in root slot `index`, if it is there. */
  const cnodeIn = (k: Knowledge, index: number): CapOf<'cnode'> | null => {
    const cap = index < 0 ? null : k.capAt(rootSlot(k, index));
    return cap?.type === 'cnode' && cap.ptr === ptr ? cap : null;
  };
  const innerPtr = (k: Knowledge): number | null => {
    const cap = slots.inner < 0 ? null : k.capAt({ cnode: ptr, index: slots.inner });
    return cap?.type === 'cnode' && cap.radix === innerRadix ? cap.ptr : null;
  };
  /** A free slot of C or (when there) D, and its address through the root slot `via`. */
  const throughGuard = (k: Knowledge, p: Picker, via: number): SlotAddress | null => {
    const inner = innerPtr(k);
    const cnode = inner !== null && p.chance(60) ? inner : ptr;
    const index = k.freeRun(cnode, 1, p.below(2 ** (k.cnodes.get(cnode) ?? 0)));
    return index === undefined ? null : (p.of(k.addresses({ cnode, index }).filter((a) => a.service === via)) ?? null);
  };
  const source = (k: Knowledge, p: Picker) => p.of(k.inRoot().filter((o) => !k.isVital(o) && (o.cap.type === 'endpoint' || o.cap.type === 'notification' || o.cap.type === 'frame')));
  const copyTo = (to: SlotAddress, src: number) => {
    const a = [to.service, to.index, to.depth, R, src, 32, seL4_AllRights];
    return call('seL4_CNode_Copy', a, (api) => void api.seL4_CNode_Copy(to.service, to.index, to.depth, R, src, 32, seL4_AllRights));
  };

  const made: Action = (k, p) => {
    const slot = freeRootSlot(k, p);
    const untyped = untypedWithRoom(k, p, 2 ** (radix + seL4_SlotBits));
    if (!rootRuns(k) || slot === undefined || untyped === undefined) return null;
    slots.c = slot;
    return once(retype(untyped, T.seL4_CapTableObject, radix, slot, 1));
  };
  const guarded: Action = (k, p) => {
    const cap = k.capAt(rootSlot(k, slots.c));
    const dest = freeRootSlot(k, p);
    if (!rootRuns(k) || cap?.type !== 'cnode' || cap.radix !== radix || dest === undefined) return null;
    ptr = cap.ptr;
    const data = seL4_CNode_CapData_new(guard | wide, guardSize);
    const from = slots.c;
    slots.g = dest;
    if (p.chance(70)) return once(call('seL4_CNode_Mint', [R, dest, 32, R, from, 32, seL4_AllRights, data], (api) => void api.seL4_CNode_Mint(R, dest, 32, R, from, 32, seL4_AllRights, data)));
    slots.c = -1;
    return once(call('seL4_CNode_Mutate', [R, dest, 32, R, from, 32, data], (api) => void api.seL4_CNode_Mutate(R, dest, 32, R, from, 32, data)));
  };
  const inner: Action = (k, p) => {
    const untyped = untypedWithRoom(k, p, 2 ** (innerRadix + seL4_SlotBits));
    if (!rootRuns(k) || !cnodeIn(k, slots.g) || untyped === undefined) return null;
    const index = k.freeRun(ptr, 1, p.below(2 ** radix));
    if (index === undefined) return 'next';
    slots.inner = index;
    return once(retype(untyped, T.seL4_CapTableObject, innerRadix, index, 1, slots.g));
  };
  const copied = (via: () => number): Action => (k, p) => {
    if (!rootRuns(k) || !cnodeIn(k, via())) return null;
    const to = throughGuard(k, p, via());
    const src = source(k, p);
    return to && src ? once(copyTo(to, src.slot.index)) : 'next';
  };
  // The last n slots of C or D, and now and then one more than there are.
  const window: Action = (k, p) => {
    if (!rootRuns(k) || !cnodeIn(k, slots.g)) return null;
    const innerIndex = innerPtr(k) !== null && p.chance(50) ? slots.inner : -1;
    const size = 2 ** (innerIndex < 0 ? radix : innerRadix);
    const n = 1 + p.below(Math.min(2, size));
    const count = p.chance(70) ? n + 1 : n;
    const untyped = untypedWithRoom(k, p, (count + 1) * 2 ** seL4_EndpointBits);
    const at = innerIndex < 0 ? { service: R, index: slots.g, depth: 32 } : p.of(k.addresses({ cnode: ptr, index: innerIndex }).filter((a) => a.service === slots.g));
    if (untyped === undefined || at === undefined) return 'next';
    return once(retypeThrough(untyped, p.of([T.seL4_EndpointObject, T.seL4_NotificationObject])!, 0, at, size - n, count));
  };
  // A Copy whose message stops before the rights word.
  const short: Action = (k, p) => {
    if (!rootRuns(k) || !cnodeIn(k, slots.g)) return null;
    const to = throughGuard(k, p, slots.g);
    const src = source(k, p);
    if (!to || !src) return 'next';
    return once(send(sendSyscalls[0], { label: InvocationLabel.CNodeCopy, service: to.service, mrs: [to.index, to.depth, src.slot.index, 32], caps: [R] }, 4, [R]));
  };
  const twin: Action = (k, p) => {
    const dest = freeRootSlot(k, p);
    if (!rootRuns(k) || !cnodeIn(k, slots.g) || dest === undefined) return null;
    slots.g2 = dest;
    return once(copy(dest, slots.g));
  };
  // Rotate with the source as destination: a swap of G and G2, each keeping its guard.
  const swapped: Action = (k) => {
    const [g, g2] = [cnodeIn(k, slots.g), cnodeIn(k, slots.g2)];
    if (!rootRuns(k) || !g || !g2) return null;
    const [at, pivot, toDest, toPivot] = [slots.g, slots.g2, guardData(g2), guardData(g)];
    const a = [R, at, 32, toDest, R, pivot, 32, toPivot, R, at, 32];
    return once(call('seL4_CNode_Rotate', a, (api) => void api.seL4_CNode_Rotate(R, at, 32, toDest, R, pivot, 32, toPivot, R, at, 32)));
  };
  const revoked: Action = (k) => {
    if (!rootRuns(k)) return null;
    if (cnodeIn(k, slots.c)) return once(slotCall('Revoke', slots.c));
    return cnodeIn(k, slots.g) ? once(slotCall('Delete', slots.g)) : null;
  };
  const swap = p.chance(50);
  return {
    name: 'cspace',
    actions: [
      made,
      guarded,
      ...(p.chance(50) ? [inner] : []),
      copied(() => slots.g),
      ...(p.chance(60) ? [window] : []),
      ...(p.chance(60) ? [short] : []),
      ...(swap ? [twin, swapped, copied(() => slots.g2)] : []),
      ...(p.chance(50) ? [revoked] : []),
    ],
  };
}

// ---- device memory used up ----

/**
 * A device untyped given out as 4 KiB frames until it is used up, then asked for a kernel
 * object (no memory left: NotEnoughMemory comes before the device check); now and then
 * revoked and asked again (InvalidArgument: device memory holds frames and untypeds only).
 */
export function deviceScenario(p: Picker): Scenario {
  let device = -1;
  const objectType = p.of([T.seL4_EndpointObject, T.seL4_NotificationObject, T.seL4_TCBObject, T.seL4_CapTableObject])!;
  const isDevice = (k: Knowledge) => {
    const cap = k.capAt(rootSlot(k, device));
    return cap?.type === 'untyped' && cap.isDevice ? cap : null;
  };
  const frames: Action = (k, p) => {
    const untyped = p.of(k.ofType('untyped', true).filter((u) => u.cap.isDevice));
    if (!untyped || untyped.cap.type !== 'untyped') return null;
    device = untyped.slot.index;
    const count = Math.min(Math.floor(freeBytes(untyped.cap) / 2 ** seL4_PageBits), seL4_RetypeFanOutLimit);
    if (count === 0) return 'next';
    const at = freeRootSlot(k, p, count);
    return at === undefined ? null : once(retype(device, T.seL4_RISCV_4K_Page, 0, at, count));
  };
  const object: Action = (k, p) => {
    const at = freeRootSlot(k, p);
    return isDevice(k) && at !== undefined ? once(retype(device, objectType, objectType === T.seL4_CapTableObject ? 1 : 0, at, 1)) : null;
  };
  const revoked: Action = (k) => (isDevice(k) ? once(slotCall('Revoke', device)) : null);
  return { name: 'device', actions: [frames, object, ...(p.chance(40) ? [revoked, object] : [])] };
}

// ---- twins ----

/** A 4 KiB non-device frame for an IPC buffer, and where it goes; none when the CSpace has none. */
function ipcBuffer(k: Knowledge, p: Picker): [number, number] {
  const frame = p.of(k.ofType('frame', true).filter((f) => !f.cap.isDevice && f.cap.sizeBits === seL4_PageBits));
  return frame ? [0x40000000 + p.below(8) * 2 ** seL4_IPCBufferSizeBits, frame.slot.index] : [0, 0];
}

/** The objects of the thread or scheduling-context caps in `count` root slots from `offset`, or null if one is not there. */
export function objectsAt(k: Knowledge, offset: number, count: number, type: 'thread' | 'schedcontext'): number[] | null {
  const ptrs: number[] = [];
  for (let i = 0; i < count; i++) {
    const cap = k.capAt(rootSlot(k, offset + i));
    if (cap?.type !== type) return null;
    ptrs.push(cap.ptr);
  }
  return ptrs;
}

/** How the threads of a scenario are configured: all alike. */
export interface ThreadSetup {
  readonly count: number;
  readonly budgetUs: bigint;
  readonly periodUs: bigint;
  readonly extraRefills: number;
  readonly flags: number;
  /** Whether the threads get an IPC buffer (when the CSpace has a frame for one). */
  readonly buffered: boolean;
  /** The badge of their scheduling contexts (ConfigureFlags; 0 unless given). */
  readonly scBadge?: number;
}

/** Where a scenario's threads are: their TCB and SC caps from these root slots on, and their priority. */
export interface ThreadsMade {
  tcbOffset: number;
  scOffset: number;
  priority: number;
}

/**
 * `count` threads made, configured alike, bound, given one priority and resumed in one instant,
 * above the root task, which then lowers itself below them.
 */
export function threadsMade(setup: ThreadSetup, made: ThreadsMade): Action[] {
  const { count, budgetUs, periodUs, extraRefills, flags, buffered } = setup;
  const scBadge = setup.scBadge ?? 0;
  const scBits = seL4_MinSchedContextBits + 1;
  const retyped = (bits: number, type: number): Action => (k, p) => {
    const at = freeRootSlot(k, p, count);
    const untyped = untypedWithRoom(k, p, (count + 1) * 2 ** bits);
    if (at === undefined || untyped === undefined) return null;
    if (type === T.seL4_TCBObject) made.tcbOffset = at;
    else made.scOffset = at;
    return once(retype(untyped, type, type === T.seL4_TCBObject ? 0 : bits, at, count));
  };
  const each = (f: (k: Knowledge, p: Picker, i: number) => ResolvedCall | null): Action[] =>
    Array.from({ length: count }, (_, i): Action => (k, p) => {
      if (!objectsAt(k, made.tcbOffset, count, 'thread') || (made.scOffset >= 0 && !objectsAt(k, made.scOffset, count, 'schedcontext'))) return null;
      const c = f(k, p, i);
      return c && once(c);
    });
  const configure = each((k, p, i) => {
    const tcb = made.tcbOffset + i;
    const [buffer, frame] = buffered ? ipcBuffer(k, p) : [0, 0];
    const a = [tcb, seL4_CapInitThreadCNode, 0, seL4_CapInitThreadVSpace, 0, buffer, frame];
    return call('seL4_TCB_Configure', a, (api) => void api.seL4_TCB_Configure(tcb, seL4_CapInitThreadCNode, 0, seL4_CapInitThreadVSpace, 0, buffer, frame));
  });
  const configureFlags = each((k, _p, i) => {
    const control = schedControlCptr(k);
    const sc = made.scOffset + i;
    return {
      text: `seL4_SchedControl_ConfigureFlags(${control}, ${sc}, ${budgetUs}, ${periodUs}, ${extraRefills}, ${scBadge}, ${flags})`,
      run: (api) => void api.seL4_SchedControl_ConfigureFlags(control, sc, budgetUs, periodUs, extraRefills, scBadge, flags),
    };
  });
  const bind = each((_k, _p, i) => call('seL4_SchedContext_Bind', [made.scOffset + i, made.tcbOffset + i], (api) => void api.seL4_SchedContext_Bind(made.scOffset + i, made.tcbOffset + i)));
  const prioritise = each((k, p, i) => {
    if (i === 0) {
      const rootPrio = rootPriority(k);
      if (rootPrio < 2) return null;
      made.priority = 1 + p.below(rootPrio - 1);
    }
    return setPriorityCall(made.tcbOffset + i, made.priority);
  });
  const resume = each((_k, _p, i) => call('seL4_TCB_Resume', [made.tcbOffset + i], (api) => void api.seL4_TCB_Resume(made.tcbOffset + i)));
  const lowerRoot: Action = (k) => (k.view().current() === k.rootTCB ? once(setPriorityCall(seL4_CapInitThreadTCB, made.priority - 1)) : 'next');
  return [retyped(seL4_TCBBits, T.seL4_TCBObject), retyped(scBits, T.seL4_SchedContextObject), ...configure, ...configureFlags, ...bind, ...prioritise, ...resume, lowerRoot];
}

const sporadicMostly = (p: Picker) => (p.chance(85) ? seL4_SchedContext_Sporadic : 0);

/**
 * Two or three threads made, configured alike (the same sporadic budget, period and refills),
 * bound, given one priority and resumed in one instant, above the root task, which lowers
 * itself below them; each spends its budget up to the timer deadline, so all wait for the same
 * release time (one of three is now and then suspended while it waits); then time passes up
 * to it: one timer interrupt releases them all.
 */
export function twinsScenario(p: Picker): Scenario {
  const count = p.chance(70) ? 2 : 3;
  const budgetUs = minBudgetMicroseconds + BigInt(p.of([0, 5, 30, 80, 480])!);
  const periodUs = budgetUs * BigInt(2 + p.below(3));
  const extraRefills = p.below(2);
  const flags = sporadicMostly(p);
  const suspendOne = p.chance(count === 3 ? 60 : 10);
  const made: ThreadsMade = { tcbOffset: -1, scOffset: -1, priority: -1 };
  const tcbOffset = () => made.tcbOffset;
  let spent = 0;
  let waited = false;
  // Each thread computes up to the timer deadline (its budget's end); once none runs, time passes
  // to their release; the scenario ends when one of them runs again.
  const spend: Action = (k) => {
    const twins = objectsAt(k, tcbOffset(), count, 'thread');
    if (!twins || spent++ > count + Number(timerPrecisionTicks) + 4) return null;
    const s = k.view().scheduler();
    const current = k.view().current();
    if (current !== null && twins.includes(current)) {
      if (waited) return null;
      const deadline = s.timerDeadlineTicks;
      return deadline === null || deadline <= s.clockTicks ? null : { call: passTicks(deadline - s.clockTicks), done: false };
    }
    const waiting = twins.filter((t) => s.releaseQueue.includes(t));
    if (waiting.length > 1 && suspendOne && !waited) {
      // One of them is suspended while it waits: it leaves the release queue.
      waited = true;
      const cptr = tcbOffset() + twins.indexOf(waiting[0]!);
      return { call: call('seL4_TCB_Suspend', [cptr], (api) => void api.seL4_TCB_Suspend(cptr)), done: false };
    }
    // The timer fires a precision early (the refills not yet ready), then a tick at a time.
    const releases = waiting.flatMap((t) => releaseTimeOf(k, t) ?? []);
    if (releases.length === 0) return null;
    waited = true;
    const last = releases.reduce((a, b) => (a > b ? a : b));
    return { call: passTicks(last > s.clockTicks ? last - s.clockTicks : 0n), done: false };
  };
  return { name: 'twins', actions: [...threadsMade({ count, budgetUs, periodUs, extraRefills, flags, buffered: true }, made), spend] };
}


// ---- slices ----

/**
 * One sporadic thread (room for a third refill) made and run above the root task in slices:
 * it computes part of its budget and suspends itself (the switch charges a partial use, due
 * one period later), and the root task resumes it in the same instant (its head refill stays
 * where it was); the next slice's use is due exactly where the last one ends, so
 * schedule_used merges it into the tail. Now and then (always when started `without-buffer`)
 * the thread has no IPC buffer and, in its first slice, names a slot past the root CNode's
 * guard: the FailedLookup reply's five words are cut to the four message registers.
 */
export function slicesScenario(p: Picker, buffer: 'either' | 'without-buffer' = 'either'): Scenario {
  const budgetUs = minBudgetMicroseconds + BigInt(p.of([30, 80, 480])!);
  const periodUs = budgetUs * BigInt(2 + p.below(3));
  const flags = sporadicMostly(p);
  const rounds = 2 + p.below(2);
  const buffered = p.chance(60) && buffer === 'either';
  const made: ThreadsMade = { tcbOffset: -1, scOffset: -1, priority: -1 };
  const thread = (k: Knowledge) => objectsAt(k, made.tcbOffset, 1, 'thread')?.[0] ?? null;
  const compute: Action = (k, p) => {
    const s = k.view().scheduler();
    const sc = s.currentSchedContext === null ? null : k.view().object(s.currentSchedContext);
    if (k.view().current() !== thread(k) || sc?.type !== 'schedcontext' || sc.refills.length === 0 || s.timerDeadlineTicks === null) return null;
    const left = sc.refills[0]!.amountTicks - s.consumedTicks - minBudgetTicks;
    const toDeadline = s.timerDeadlineTicks - s.clockTicks;
    const most = (left < toDeadline ? left : toDeadline) / BigInt(2 * rounds);
    return most < 1n ? null : once(passTicks(1n + BigInt(p.below(Number(most)))));
  };
  const suspendSelf: Action = (k) => (k.view().current() === thread(k) ? once(call('seL4_TCB_Suspend', [made.tcbOffset], (api) => void api.seL4_TCB_Suspend(made.tcbOffset))) : null);
  const resumed: Action = (k) => (k.view().current() === k.rootTCB && thread(k) !== null ? once(call('seL4_TCB_Resume', [made.tcbOffset], (api) => void api.seL4_TCB_Resume(made.tcbOffset))) : null);
  const pastGuard: Action = (k, p) => {
    if (k.view().current() !== thread(k)) return null;
    const index = (2 ** k.rootRadix() * (1 + p.below(2 ** (32 - k.rootRadix()) - 1)) + p.below(2 ** k.rootRadix())) >>> 0;
    return once(call('seL4_CNode_Delete', [R, index, 32], (api) => void api.seL4_CNode_Delete(R, index, 32)));
  };
  const slices = Array.from({ length: rounds }, (_, i) => [compute, ...(i === 0 && !buffered ? [pastGuard] : []), suspendSelf, resumed]).flat();
  return { name: 'slices', actions: [...threadsMade({ count: 1, budgetUs, periodUs, extraRefills: 1, flags, buffered }, made), ...slices] };
}
