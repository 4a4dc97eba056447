// CNodes, slots and the mapping database (MDB), as seL4's cnode.c.
//
// Memory layout. A slot (cte) is 16 bytes, 16-byte aligned:
//   word 0, 1  the cap (two-word bitfield, see structures.ts)
//   word 2     MDB prev: link to the previous slot (address | 1), 0 if none
//   word 3     MDB next: link to the next slot (address | 1), 0 if none,
//              | revocable << 1 | firstBadged << 2
// A CNode of radix r is 2^r slots, 2^(r + 4) bytes; slot i is at cnode + 16 i. A TCB's
// five slots are its first 80 bytes (see tcb.ts). An empty slot is four zero words.
//
// The MDB is one doubly linked list per derivation tree in depth-first order: a slot's
// CDT children are the run of slots right after it for which isMDBParentOf holds.
import { InvocationLabel, type SlotRef, type SyscallError } from '../libsel4/index.ts';
import { cancelBadgedSends } from './endpoint.ts';
import { deletedIRQHandler } from './interrupt.ts';
import { lookupSlotForCNodeOp } from './cspace.ts';
import { preemptionPoint, statusNone, statusPreempted, type PreemptionStatus } from './preemption.ts';
import {
  deriveCap,
  finaliseCap,
  hasCancelSendRights,
  isCapRevocable,
  maskCapRights,
  sameObjectAs,
  sameRegionAs,
  updateCapData,
} from './objects.ts';
import { syscallArg, type InvocationContext } from './syscall.ts';
import { NONE, fail, linkTarget, linkWord, slotRefOf, writeSlotPair, writeSlotWord, writeSlotWords, type ImplState } from './state.ts';
import {
  CapTag,
  capTag,
  endpointBadge,
  endpointPtr,
  isValidTag,
  untypedFreeIndex,
  untypedPtr,
  untypedSizeBits,
  untypedWithFreeIndex,
  zombieNumber,
  zombiePtr,
  zombieWithNumber,
  type CapWords,
} from './structures.ts';

export const slotBytes = 16;
const REVOCABLE = 0x2;
const FIRST_BADGED = 0x4;

// ---- slot reads ----

export function slotW0(state: ImplState, slot: number): number {
  return state.mem.get((slot - state.ramBase) >>> 2);
}

export function slotW1(state: ImplState, slot: number): number {
  return state.mem.get(((slot - state.ramBase) >>> 2) + 1);
}

export function isNullSlot(state: ImplState, slot: number): boolean {
  return capTag(slotW0(state, slot)) === CapTag.null;
}

export function mdbPrev(state: ImplState, slot: number): number {
  return linkTarget(state.mem.get(((slot - state.ramBase) >>> 2) + 2));
}

function nextWord(state: ImplState, slot: number): number {
  return state.mem.get(((slot - state.ramBase) >>> 2) + 3);
}

export function mdbNext(state: ImplState, slot: number): number {
  return linkTarget(nextWord(state, slot));
}

export function mdbRevocable(state: ImplState, slot: number): boolean {
  return (nextWord(state, slot) & REVOCABLE) !== 0;
}

export function mdbFirstBadged(state: ImplState, slot: number): boolean {
  return (nextWord(state, slot) & FIRST_BADGED) !== 0;
}

export function loadCap(state: ImplState, slot: number): CapWords {
  return { w0: slotW0(state, slot), w1: slotW1(state, slot) };
}

// ---- slot writes (all through writeSlotWord) ----

export function writeCap(state: ImplState, slot: number, w0: number, w1: number): void {
  if (state.debug) checkCapWords(w0, w1);
  writeSlotPair(state, slot, 0, w0, w1);
}

function setPrev(state: ImplState, slot: number, prev: number): void {
  writeSlotWord(state, slot, 2, linkWord(prev));
}

function setNext(state: ImplState, slot: number, next: number): void {
  writeSlotWord(state, slot, 3, ((nextWord(state, slot) & (REVOCABLE | FIRST_BADGED)) | linkWord(next)) >>> 0);
}

function setMdb(state: ImplState, slot: number, prev: number, next: number, revocable: boolean, firstBadged: boolean): void {
  writeSlotPair(state, slot, 2, linkWord(prev), mdbNextWord(next, revocable, firstBadged));
}

/** The MDB node's word 3: the link to `next` with the flags. */
function mdbNextWord(next: number, revocable: boolean, firstBadged: boolean): number {
  return (linkWord(next) | (revocable ? REVOCABLE : 0) | (firstBadged ? FIRST_BADGED : 0)) >>> 0;
}

/** writeCap then setMdb, with one page lookup. */
function writeCapAndMdb(state: ImplState, slot: number, w0: number, w1: number, prev: number, next: number, revocable: boolean, firstBadged: boolean): void {
  if (state.debug) checkCapWords(w0, w1);
  writeSlotWords(state, slot, w0, w1, linkWord(prev), mdbNextWord(next, revocable, firstBadged));
}

/** The raw prev word (for moving a node with its flags; see nextWord). */
function prevWord(state: ImplState, slot: number): number {
  return state.mem.get(((slot - state.ramBase) >>> 2) + 2);
}

function setMdbWords(state: ImplState, slot: number, prev: number, next: number): void {
  writeSlotPair(state, slot, 2, prev, next);
}

// ---- debug invariants ----

function checkCapWords(w0: number, w1: number): void {
  const tag = capTag(w0);
  if (!isValidTag(tag)) fail(`cap with invalid tag ${tag}`);
  if (tag === CapTag.null && (w0 !== 0 || w1 !== 0)) fail('null cap with non-zero words');
  if (tag === CapTag.untyped && untypedFreeIndex(w1) * 16 > 2 ** untypedSizeBits(w1)) fail('untyped free index beyond the untyped');
}

/** The MDB links around `slot` agree in both directions. */
function checkLinks(state: ImplState, slot: number): void {
  if (slot === NONE) return;
  const prev = mdbPrev(state, slot);
  const next = mdbNext(state, slot);
  if (prev !== NONE && mdbNext(state, prev) !== slot) fail(`mdb: prev(${slot.toString(16)}).next is not the slot`);
  if (next !== NONE && mdbPrev(state, next) !== slot) fail(`mdb: next(${slot.toString(16)}).prev is not the slot`);
  if (isNullSlot(state, slot) && (prev !== NONE || next !== NONE)) fail(`mdb: empty slot ${slot.toString(16)} is linked`);
}

function checkEmptyDestination(state: ImplState, slot: number): void {
  if (!isNullSlot(state, slot) || mdbPrev(state, slot) !== NONE || mdbNext(state, slot) !== NONE) {
    fail(`destination slot ${slot.toString(16)} is not empty`);
  }
}

// ---- the MDB operations ----

/** setUntypedCapAsFull: copying an untyped over the same region leaves the source unusable. */
function setUntypedCapAsFull(state: ImplState, src: number, new0: number, new1: number): void {
  const src0 = slotW0(state, src);
  const src1 = slotW1(state, src);
  if (capTag(src0) === CapTag.untyped && capTag(new0) === CapTag.untyped) {
    if (untypedPtr(src0) === untypedPtr(new0) && untypedSizeBits(src1) === untypedSizeBits(new1)) {
      writeCap(state, src, src0, untypedWithFreeIndex(src1, 2 ** untypedSizeBits(src1) / 16));
    }
  }
}

/** A cap that starts a derivation tree of its own (boot): revocable, first badged, unlinked. */
export function placeOriginalCap(state: ImplState, slot: number, w0: number, w1: number): void {
  if (state.debug) checkEmptyDestination(state, slot);
  writeCap(state, slot, w0, w1);
  setMdb(state, slot, NONE, NONE, true, true);
}

/** cteInsert: a cap derived from `src` goes into empty `dest`, directly after `src` in the MDB. */
export function cteInsert(state: ImplState, w0: number, w1: number, src: number, dest: number): void {
  if (state.debug) checkEmptyDestination(state, dest);
  const revocable = isCapRevocable(w0, slotW0(state, src));
  const next = mdbNext(state, src);
  setUntypedCapAsFull(state, src, w0, w1);
  writeCap(state, dest, w0, w1);
  setMdb(state, dest, src, next, revocable, revocable);
  setNext(state, src, dest);
  if (next !== NONE) setPrev(state, next, dest);
  if (state.debug) checkLinks(state, dest);
}

/** insertNewCap: a cap to a new object goes after its untyped, revocable and first badged. */
export function insertNewCap(state: ImplState, parent: number, slot: number, w0: number, w1: number): void {
  if (state.debug) checkEmptyDestination(state, slot);
  const next = mdbNext(state, parent);
  writeCapAndMdb(state, slot, w0, w1, parent, next, true, true);
  if (next !== NONE) setPrev(state, next, slot);
  setNext(state, parent, slot);
  if (state.debug) checkLinks(state, slot);
}

/** cteMove: the cap (possibly changed) and its whole MDB node move from `src` to empty `dest`. */
export function cteMove(state: ImplState, w0: number, w1: number, src: number, dest: number): void {
  if (state.debug) checkEmptyDestination(state, dest);
  const prevW = prevWord(state, src);
  const nextW = nextWord(state, src);
  writeCap(state, dest, w0, w1);
  writeCap(state, src, 0, 0);
  setMdbWords(state, dest, prevW, nextW);
  setMdbWords(state, src, 0, 0);
  relink(state, prevW, nextW, dest);
  if (state.debug) checkLinks(state, dest);
}

/** cteSwap: two slots exchange caps (cap1 lands in slot2) and MDB nodes; C's order of updates. */
export function cteSwap(state: ImplState, cap1: CapWords, slot1: number, cap2: CapWords, slot2: number): void {
  writeCap(state, slot1, cap2.w0, cap2.w1);
  writeCap(state, slot2, cap1.w0, cap1.w1);
  const prev1 = prevWord(state, slot1);
  const next1 = nextWord(state, slot1);
  relink(state, prev1, next1, slot2);
  const prev2 = prevWord(state, slot2);
  const next2 = nextWord(state, slot2);
  setMdbWords(state, slot1, prev2, next2);
  setMdbWords(state, slot2, prev1, next1);
  relink(state, prev2, next2, slot1);
  if (state.debug) {
    checkLinks(state, slot1);
    checkLinks(state, slot2);
  }
}

/** Points the neighbours named by an MDB node's words at `slot`. */
function relink(state: ImplState, prevW: number, nextW: number, slot: number): void {
  const prev = linkTarget(prevW);
  if (prev !== NONE) setNext(state, prev, slot);
  const next = linkTarget(nextW);
  if (next !== NONE) setPrev(state, next, slot);
}

/**
 * emptySlot: unlinks the slot from the MDB (its CDT children move to its parent; its
 * firstBadged flag passes to its successor) and leaves it null; then postCapDeletion: the
 * IRQ of a final IRQ handler cap (`cleanupIRQ`, NONE if none) is made Inactive.
 */
function emptySlot(state: ImplState, slot: number, cleanupIRQ: number): void {
  if (isNullSlot(state, slot)) return;
  const prev = mdbPrev(state, slot);
  const next = mdbNext(state, slot);
  const firstBadged = mdbFirstBadged(state, slot);
  if (prev !== NONE) setNext(state, prev, next);
  if (next !== NONE) {
    setPrev(state, next, prev);
    if (firstBadged) writeSlotWord(state, next, 3, (nextWord(state, next) | FIRST_BADGED) >>> 0);
  }
  writeCap(state, slot, 0, 0);
  setMdbWords(state, slot, 0, 0);
  if (state.debug) {
    checkLinks(state, prev);
    checkLinks(state, next);
  }
  if (cleanupIRQ !== NONE) deletedIRQHandler(state, cleanupIRQ);
}

/** isMDBParentOf: whether slot b, following slot a, is in a's CDT subtree. */
export function isMDBParentOf(state: ImplState, a: number, b: number): boolean {
  if (!mdbRevocable(state, a)) return false;
  const a0 = slotW0(state, a);
  const b0 = slotW0(state, b);
  if (!sameRegionAs(a0, slotW1(state, a), b0, slotW1(state, b))) return false;
  const tag = capTag(a0);
  if (tag === CapTag.endpoint || tag === CapTag.notification) {
    const badge = endpointBadge(a0);
    return badge === 0 || (badge === endpointBadge(b0) && !mdbFirstBadged(state, b));
  }
  return true;
}

/** isFinalCapability: no MDB neighbour holds a cap to the same object. */
export function isFinalCapability(state: ImplState, slot: number): boolean {
  const w0 = slotW0(state, slot);
  const w1 = slotW1(state, slot);
  const prev = mdbPrev(state, slot);
  if (prev !== NONE && sameObjectAs(slotW0(state, prev), slotW1(state, prev), w0, w1)) return false;
  const next = mdbNext(state, slot);
  return next === NONE || !sameObjectAs(w0, w1, slotW0(state, next), slotW1(state, next));
}

/** ensureNoChildren: true when the slot has no CDT children. */
export function ensureNoChildren(state: ImplState, slot: number): boolean {
  const next = mdbNext(state, slot);
  return next === NONE || !isMDBParentOf(state, slot, next);
}

/** deleteSlot: an exposed cteDelete, the deletion a user asks for (preemptible: a CNode's or TCB's last cap). */
export function deleteSlot(state: ImplState, slot: number): PreemptionStatus {
  return cteDelete(state, slot, true);
}

/**
 * cteDelete: finalises the slot; it is emptied if the delete is exposed or finalisation
 * completed (an unexposed delete leaves a cyclic Zombie in place). Preempted, nothing is
 * emptied: the Zombie in the slot keeps the progress.
 */
function cteDelete(state: ImplState, slot: number, exposed: boolean): PreemptionStatus {
  const cleanupIRQ = finaliseSlot(state, slot, exposed);
  if (cleanupIRQ === finalisePreempted) return statusPreempted;
  // seL4: if (exposed || success); an exposed delete is never stopped (immediate).
  if (cleanupIRQ !== finaliseStopped) emptySlot(state, slot, cleanupIRQ);
  return statusNone;
}

/** finaliseSlot's answers when a cyclic Zombie stopped it, and when a preemption point did (otherwise: its cleanup IRQ, or NONE). */
const finaliseStopped = -2;
const finalisePreempted = -3;

/**
 * finaliseSlot: finalises the cap in the slot until what remains can be removed (null, or a
 * Zombie with no slots left but maybe its own); each other remainder is a Zombie, reduced by
 * one slot at a time, a preemption point after each. Unless `immediate`, a Zombie that has
 * become cyclic (it sits in its own slot 0) stops it: finaliseStopped, the slot is not
 * finished. Finished, the IRQ of a final IRQ handler cap finalised (seL4's cleanupInfo), or
 * NONE; preempted (here or inside), finalisePreempted.
 */
function finaliseSlot(state: ImplState, slot: number, immediate: boolean): number {
  while (!isNullSlot(state, slot)) {
    const cleanupIRQ = cleanupIRQOf(state, slot);
    const remainder = finaliseCap(state, slotW0(state, slot), slotW1(state, slot), isFinalCapability(state, slot));
    if (capRemovable(remainder, slot)) return cleanupIRQ;
    writeCap(state, slot, remainder.w0, remainder.w1);
    if (!immediate && isCyclicZombie(remainder, slot)) return finaliseStopped;
    if (reduceZombie(state, slot, immediate) === statusPreempted) return finalisePreempted;
    if (state.debug) checkZombieReduced(state, slot, remainder, immediate);
    if (preemptionPoint(state, 'finalise') === statusPreempted) return finalisePreempted;
  }
  return NONE;
}

/**
 * Debug, at finaliseSlot's point: the reduction made progress. Exposed: the slot is empty, or
 * its Zombie's count went down, or another (cyclic) Zombie replaced it; unexposed: the Zombie
 * has moved into its object's slot 0.
 */
function checkZombieReduced(state: ImplState, slot: number, zombie: CapWords, immediate: boolean): void {
  const ptr = zombiePtr(zombie.w0, zombie.w1);
  if (!immediate) {
    if (slotW0(state, ptr) !== zombie.w0 || slotW1(state, ptr) !== zombie.w1) fail('finaliseSlot: the Zombie was not swapped into its slot 0');
    return;
  }
  const now0 = slotW0(state, slot);
  const now1 = slotW1(state, slot);
  if (capTag(now0) !== CapTag.zombie || zombiePtr(now0, now1) !== ptr) return;
  if (zombieNumber(now0, now1) >= zombieNumber(zombie.w0, zombie.w1)) fail('finaliseSlot: a preemption point with the Zombie count not lowered');
}

/**
 * finaliseCap's cleanupInfo, read before the slot's cap is finalised: the IRQ of a final IRQ
 * handler cap (postCapDeletion makes it Inactive once the slot is empty), or NONE.
 */
function cleanupIRQOf(state: ImplState, slot: number): number {
  const w0 = slotW0(state, slot);
  return capTag(w0) === CapTag.irqhandler && isFinalCapability(state, slot) ? slotW1(state, slot) : NONE;
}

/** cteDeleteOne: deletes a cap whose finalisation leaves nothing to clean up (an IRQ node slot's notification cap). */
export function cteDeleteOne(state: ImplState, slot: number): void {
  if (isNullSlot(state, slot)) return;
  if (state.debug && cleanupIRQOf(state, slot) !== NONE) fail('cteDeleteOne of an IRQ handler cap');
  const remainder = finaliseCap(state, slotW0(state, slot), slotW1(state, slot), isFinalCapability(state, slot));
  if (state.debug && !capRemovable(remainder, slot)) fail('cteDeleteOne: the cap should be removable');
  emptySlot(state, slot, NONE);
}

function capRemovable(cap: CapWords, slot: number): boolean {
  const tag = capTag(cap.w0);
  if (tag === CapTag.null) return true;
  if (tag !== CapTag.zombie) fail('finaliseCap left neither a Zombie nor a null cap');
  const n = zombieNumber(cap.w0, cap.w1);
  return n === 0 || (n === 1 && zombiePtr(cap.w0, cap.w1) === slot);
}

function isCyclicZombie(cap: CapWords, slot: number): boolean {
  return capTag(cap.w0) === CapTag.zombie && zombiePtr(cap.w0, cap.w1) === slot;
}

/**
 * reduceZombie: exposed, the Zombie's last slot is deleted (unexposed) and, if the Zombie is
 * still there unchanged, its count drops by one (not when that deletion was preempted); unexposed, the Zombie is swapped into its
 * object's slot 0 (capSwapForDelete), where it becomes cyclic and stays.
 */
function reduceZombie(state: ImplState, slot: number, immediate: boolean): PreemptionStatus {
  const w0 = slotW0(state, slot);
  const w1 = slotW1(state, slot);
  const ptr = zombiePtr(w0, w1);
  const n = zombieNumber(w0, w1);
  if (state.debug && n === 0) fail('reduceZombie of a removable Zombie');
  if (!immediate) {
    if (state.debug && ptr === slot) fail('a cyclic Zombie passed to an unexposed reduceZombie');
    cteSwap(state, loadCap(state, ptr), ptr, { w0, w1 }, slot);
    return statusNone;
  }
  const endSlot = ptr + (n - 1) * slotBytes;
  // unexposed: a nested CNode or TCB met here is parked, not emptied
  const status: PreemptionStatus =
    cteDelete(state, endSlot, false);
  if (status === statusPreempted) return statusPreempted;
  const now0 = slotW0(state, slot);
  const now1 = slotW1(state, slot);
  if (capTag(now0) === CapTag.null) return statusNone;
  if (now0 === w0 && now1 === w1) {
    if (state.debug && !isNullSlot(state, endSlot)) fail('reduceZombie: the deleted slot is not empty');
    writeCap(state, slot, w0, zombieWithNumber(w0, w1, n - 1));
  } else if (state.debug && !(capTag(now0) === CapTag.zombie && zombiePtr(now0, now1) === slot && ptr !== slot)) {
    fail('reduceZombie: expected the new Zombie to be cyclic');
  }
  return statusNone;
}

/** A slot as every layer names it (cnode, index), for the step's witness. */
function witnessedSlot(state: ImplState, slot: number): SlotRef {
  return slotRefOf(state, slot) ?? fail('a revoke names a slot outside any CNode or TCB');
}

/**
 * cteRevoke: deletes the slot's CDT descendants, always the first one following it, a
 * preemption point after each. Each deletion is a choice the abstract spec leaves open; it
 * is recorded for the witness (also when the deletion is then preempted).
 */
export function cteRevoke(state: ImplState, slot: number): PreemptionStatus {
  let revoked: SlotRef | null = null;
  for (let next = mdbNext(state, slot); next !== NONE && isMDBParentOf(state, slot, next); next = mdbNext(state, slot)) {
    revoked ??= witnessedSlot(state, slot);
    state.choices.push({ point: 'revoke', revoked, deleted: witnessedSlot(state, next) });
    if (deleteSlot(state, next) === statusPreempted) return statusPreempted;
    // The deleted descendant left the MDB: one fewer to go.
    if (state.debug && !isNullSlot(state, next)) fail('cteRevoke: a preemption point with the deleted descendant still in its slot');
    if (preemptionPoint(state, 'revoke') === statusPreempted) return statusPreempted;
  }
  return statusNone;
}

// ---- CNode invocations ----

export type CNodeInvocation =
  | { readonly op: 'revoke' | 'delete'; readonly slot: number }
  | { readonly op: 'cancelBadgedSends'; readonly ep: number; readonly badge: number }
  | { readonly op: 'insert' | 'move'; readonly cap: CapWords; readonly src: number; readonly dest: number }
  | { readonly op: 'rotate'; readonly srcCap: CapWords; readonly pivotCap: CapWords; readonly src: number; readonly pivot: number; readonly dest: number };

const truncated: SyscallError = { error: 'TruncatedMessage' };
const illegal: SyscallError = { error: 'IllegalOperation' };
const deleteFirst: SyscallError = { error: 'DeleteFirst' };

function missing(source: boolean, depth: number): SyscallError {
  return { error: 'FailedLookup', source, failure: { type: 'MissingCapability', bitsLeft: depth } };
}

/**
 * decodeCNodeInvocation: the invoked CNode cap is the root of the target lookup (MR0 index,
 * MR1 depth). Checks follow seL4's order exactly; nothing is changed.
 */
export function decodeCNodeInvocation(state: ImplState, ctx: InvocationContext, invoked: number): CNodeInvocation | SyscallError {
  const L = InvocationLabel;
  const label = ctx.label;
  if (label < L.CNodeRevoke || label > L.CNodeRotate) return illegal;
  if (ctx.length < 2) return truncated;
  const dest = lookupSlotForCNodeOp(state, false, invoked, syscallArg(state, ctx, 0), syscallArg(state, ctx, 1));
  if (typeof dest !== 'number') return dest;

  if (label >= L.CNodeCopy && label <= L.CNodeMutate) return decodeCopyOrMove(state, ctx, dest);
  if (label === L.CNodeRevoke) return { op: 'revoke', slot: dest };
  if (label === L.CNodeDelete) return { op: 'delete', slot: dest };
  if (label === L.CNodeCancelBadgedSends) {
    const w0 = slotW0(state, dest);
    const w1 = slotW1(state, dest);
    return hasCancelSendRights(w0, w1) ? { op: 'cancelBadgedSends', ep: endpointPtr(w1), badge: endpointBadge(w0) } : illegal;
  }
  return decodeRotate(state, ctx, dest);
}

/** Copy, Mint, Move and Mutate: a source slot (cap 0 is its root) and the cap to put in dest. */
function decodeCopyOrMove(state: ImplState, ctx: InvocationContext, dest: number): CNodeInvocation | SyscallError {
  const L = InvocationLabel;
  if (ctx.length < 4 || ctx.extraCaps.length < 1) return truncated;
  const srcIndex = syscallArg(state, ctx, 2);
  const srcDepth = syscallArg(state, ctx, 3);
  if (!isNullSlot(state, dest)) return deleteFirst;
  const src = lookupSlotForCNodeOp(state, true, ctx.extraCaps[0]!, srcIndex, srcDepth);
  if (typeof src !== 'number') return src;
  if (isNullSlot(state, src)) return missing(true, srcDepth);

  const cap = loadCap(state, src);
  let isMove = false;
  switch (ctx.label) {
    case L.CNodeCopy: {
      if (ctx.length < 5) return truncated;
      maskCapRights(cap, syscallArg(state, ctx, 4));
      const err = deriveCap(state, src, cap);
      if (err !== null) return err;
      break;
    }
    case L.CNodeMint: {
      if (ctx.length < 6) return truncated;
      maskCapRights(cap, syscallArg(state, ctx, 4));
      updateCapData(cap, false, syscallArg(state, ctx, 5));
      const err = deriveCap(state, src, cap);
      if (err !== null) return err;
      break;
    }
    case L.CNodeMove:
      isMove = true;
      break;
    default: // CNodeMutate
      if (ctx.length < 5) return truncated;
      updateCapData(cap, true, syscallArg(state, ctx, 4));
      isMove = true;
  }
  if (capTag(cap.w0) === CapTag.null) return illegal;
  return { op: isMove ? 'move' : 'insert', cap, src, dest };
}

/** Rotate: pivot's cap to dest, source's cap to pivot (a swap when source is dest). */
function decodeRotate(state: ImplState, ctx: InvocationContext, dest: number): CNodeInvocation | SyscallError {
  if (ctx.length < 8 || ctx.extraCaps.length < 2) return truncated;
  const pivotData = syscallArg(state, ctx, 2);
  const pivotIndex = syscallArg(state, ctx, 3);
  const pivotDepth = syscallArg(state, ctx, 4);
  const srcData = syscallArg(state, ctx, 5);
  const srcIndex = syscallArg(state, ctx, 6);
  const srcDepth = syscallArg(state, ctx, 7);
  const src = lookupSlotForCNodeOp(state, true, ctx.extraCaps[1]!, srcIndex, srcDepth);
  if (typeof src !== 'number') return src;
  const pivot = lookupSlotForCNodeOp(state, true, ctx.extraCaps[0]!, pivotIndex, pivotDepth);
  if (typeof pivot !== 'number') return pivot;
  if (pivot === src || pivot === dest) return illegal;
  if (src !== dest && !isNullSlot(state, dest)) return deleteFirst;
  if (isNullSlot(state, src)) return missing(true, srcDepth);
  if (isNullSlot(state, pivot)) return missing(false, pivotDepth);
  const srcCap = loadCap(state, src);
  updateCapData(srcCap, true, srcData);
  const pivotCap = loadCap(state, pivot);
  updateCapData(pivotCap, true, pivotData);
  if (capTag(srcCap.w0) === CapTag.null || capTag(pivotCap.w0) === CapTag.null) return illegal;
  return { op: 'rotate', srcCap, pivotCap, src, pivot, dest };
}

/** invokeCNode*: Revoke and Delete are preemptible (the status), the others never stop. */
export function performCNodeInvocation(state: ImplState, inv: CNodeInvocation): PreemptionStatus {
  switch (inv.op) {
    case 'revoke':
      return cteRevoke(state, inv.slot);
    case 'delete':
      return deleteSlot(state, inv.slot);
    case 'cancelBadgedSends':
      // invokeCNodeCancelBadgedSends: a badge of 0 cancels nothing
      if (inv.badge !== 0) cancelBadgedSends(state, inv.ep, inv.badge);
      return statusNone;
    case 'insert':
      cteInsert(state, inv.cap.w0, inv.cap.w1, inv.src, inv.dest);
      return statusNone;
    case 'move':
      cteMove(state, inv.cap.w0, inv.cap.w1, inv.src, inv.dest);
      return statusNone;
    case 'rotate':
      if (inv.src === inv.dest) {
        cteSwap(state, inv.srcCap, inv.src, inv.pivotCap, inv.pivot);
      } else {
        cteMove(state, inv.pivotCap.w0, inv.pivotCap.w1, inv.pivot, inv.dest);
        cteMove(state, inv.srcCap.w0, inv.srcCap.w1, inv.src, inv.pivot);
      }
      return statusNone;
  }
}
