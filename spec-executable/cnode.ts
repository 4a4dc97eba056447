// CNode invocations and the mapping database (seL4's cnode.c / CNode.lhs): the MDB list
// operations, delete with finalisation, revoke, and the CDT read off the MDB.
import { InvocationLabel, nullCap, slotKey, tcbSlotCount, zombieTypeTCB, type Cap, type CapOf, type SlotRef, type SyscallError, type Word } from '../libsel4/index.ts';
import { isSyscallError, lookupPivotSlot, lookupSourceSlot, lookupTargetSlot } from './cspace.ts';
import { hasCancelSendRights, isCapRevocable, maskCapRights, sameObjectAs, sameRegionAs, updateCapData } from './objects.ts';
import { cancelAllIPC, cancelBadgedSends } from './endpoint.ts';
import { cancelAllSignals, unbindMaybeNotification } from './notification.ts';
import { replyClear } from './reply.ts';
import { finaliseSchedContext, schedContextMaybeUnbindNtfn } from './schedcontext.ts';
import { deletedIRQHandler, deletingIRQHandler } from './interrupt.ts';
import { preemptionPoint } from './preemption.ts';
import { allSlots, getCap, getSlot, nullSlot, sameSlot, slotAddr, type ExecState, type Slot, type Step } from './state.ts';
import type { InvocationArgs } from './syscall.ts';
import { finaliseThread } from './tcb.ts';
import { finaliseVSpaceCap } from './vspace.ts';

// ---------------------------------------------------------------- the MDB

/**
 * isMDBParentOf: whether `b`, following `a` in the MDB list, is its CDT child. `a` must be
 * revocable and `b` in its region; below a badged endpoint or notification only caps with the
 * same badge that do not start a new badge generation (firstBadged) count.
 */
export function isMDBParentOf(a: Slot, b: Slot): boolean {
  if (!a.mdb.revocable || !sameRegionAs(a.cap, b.cap)) return false;
  if (a.cap.type === 'endpoint' || a.cap.type === 'notification') {
    if (a.cap.badge === 0) return true;
    return b.cap.type === a.cap.type && b.cap.badge === a.cap.badge && !b.mdb.firstBadged;
  }
  return true;
}

/** Whether the slot has CDT children (ensureNoChildren fails): its MDB successor is its child. */
export function hasChildren(state: ExecState, ref: SlotRef): boolean {
  const slot = getSlot(state, ref);
  if (slot === null || slot.mdb.next === null) return false;
  return isMDBParentOf(slot, getSlot(state, slot.mdb.next) ?? nullSlot);
}

/** isFinalCapability: no MDB neighbour refers to the same object, so this is the last cap to it. */
export function isFinalCapability(state: ExecState, ref: SlotRef): boolean {
  const slot = getSlot(state, ref) ?? nullSlot;
  const { prev, next } = slot.mdb;
  if (prev !== null && sameObjectAs(getCap(state, prev), slot.cap)) return false;
  return next === null || !sameObjectAs(slot.cap, getCap(state, next));
}

function setNext(k: Step, ref: SlotRef, next: SlotRef | null): void {
  k.setMDB(ref, { ...k.slot(ref).mdb, next });
}

function setPrev(k: Step, ref: SlotRef, prev: SlotRef | null): void {
  k.setMDB(ref, { ...k.slot(ref).mdb, prev });
}

/** setUntypedCapAsFull: copying an untyped cap whole leaves the source with no free memory. */
function setUntypedCapAsFull(k: Step, srcCap: Cap, newCap: Cap, src: SlotRef): void {
  if (srcCap.type === 'untyped' && newCap.type === 'untyped' && srcCap.ptr === newCap.ptr && srcCap.sizeBits === newCap.sizeBits) {
    k.setCap(src, { ...srcCap, freeIndex: 2 ** srcCap.sizeBits });
  }
}

/**
 * cteInsert: puts `newCap`, derived from the cap in `src`, into the empty slot `dest`, directly
 * after `src` in the MDB. It is a child of `src` if `src` is revocable; whether it is itself
 * revocable (and starts a badge generation) is isCapRevocable.
 */
export function cteInsert(k: Step, newCap: Cap, src: SlotRef, dest: SlotRef): void {
  const srcSlot = k.slot(src);
  const revocable = isCapRevocable(newCap, srcSlot.cap);
  const next = srcSlot.mdb.next;
  setUntypedCapAsFull(k, srcSlot.cap, newCap, src);
  k.setSlot(dest, { cap: newCap, mdb: { prev: src, next, revocable, firstBadged: revocable } });
  setNext(k, src, dest);
  if (next !== null) setPrev(k, next, dest);
}

/** insertNewCap: a cap to an object just retyped from the untyped in `parent`, inserted right after it. */
export function insertNewCap(k: Step, parent: SlotRef, slot: SlotRef, cap: Cap): void {
  const next = k.slot(parent).mdb.next;
  k.setSlot(slot, { cap, mdb: { prev: parent, next, revocable: true, firstBadged: true } });
  if (next !== null) setPrev(k, next, slot);
  setNext(k, parent, slot);
}

/** cteMove: `newCap` goes to the empty slot `dest` and takes over the MDB node of `src`, which is emptied. */
export function cteMove(k: Step, newCap: Cap, src: SlotRef, dest: SlotRef): void {
  const mdb = k.slot(src).mdb;
  k.setSlot(dest, { cap: newCap, mdb });
  k.setSlot(src, nullSlot);
  if (mdb.prev !== null) setNext(k, mdb.prev, dest);
  if (mdb.next !== null) setPrev(k, mdb.next, dest);
}

/**
 * cteSwap: exchanges two caps together with their MDB nodes. The neighbour updates happen in
 * seL4's order, one node after the other, which also swaps two adjacent nodes correctly.
 */
function cteSwap(k: Step, cap1: Cap, slot1: SlotRef, cap2: Cap, slot2: SlotRef): void {
  k.setCap(slot1, cap2);
  k.setCap(slot2, cap1);
  const mdb1 = k.slot(slot1).mdb;
  if (mdb1.prev !== null) setNext(k, mdb1.prev, slot2);
  if (mdb1.next !== null) setPrev(k, mdb1.next, slot2);
  const mdb2 = k.slot(slot2).mdb;
  k.setMDB(slot1, mdb2);
  k.setMDB(slot2, mdb1);
  if (mdb2.prev !== null) setNext(k, mdb2.prev, slot1);
  if (mdb2.next !== null) setPrev(k, mdb2.next, slot1);
}

/**
 * emptySlot: unlinks the slot from the MDB and clears it. Its CDT children become children of
 * its parent; its successor inherits its firstBadged flag so badge generations stay apart. Then
 * postCapDeletion of what finalisation left to clean up.
 */
function emptySlot(k: Step, ref: SlotRef, cleanupInfo: Cap): void {
  const slot = k.slot(ref);
  if (slot.cap.type === 'null') return;
  const { prev, next } = slot.mdb;
  if (prev !== null) setNext(k, prev, next);
  if (next !== null) {
    const nextMDB = k.slot(next).mdb;
    k.setMDB(next, { ...nextMDB, prev, firstBadged: nextMDB.firstBadged || slot.mdb.firstBadged });
  }
  k.setSlot(ref, nullSlot);
  postCapDeletion(k, cleanupInfo);
}

/** postCapDeletion: the last handler cap of an IRQ is gone, so the IRQ is Inactive. */
function postCapDeletion(k: Step, cleanupInfo: Cap): void {
  if (cleanupInfo.type === 'irqhandler') deletedIRQHandler(k, cleanupInfo.irq);
}

/**
 * capSwapForDelete: the Zombie in `slot` and the cap in its object's slot 0 exchange places,
 * MDB nodes included (cteSwap; a move when slot 0 is empty, as empty slots are not stored).
 */
function capSwapForDelete(k: Step, slot0: SlotRef, slot: SlotRef): void {
  if (sameSlot(slot0, slot)) return;
  if (k.cap(slot0).type === 'null') cteMove(k, k.cap(slot), slot, slot0);
  else cteSwap(k, k.cap(slot0), slot0, k.cap(slot), slot);
}

/** What finaliseCap leaves: the remainder in the slot, and the cap postCapDeletion cleans up after (or null). */
interface Finalised {
  readonly remainder: Cap;
  readonly cleanupInfo: Cap;
}

/**
 * finaliseCap: what deleting a cap does to its object (finaliseObject), and what it leaves: the
 * last handler cap of an IRQ is the cleanup info, so the IRQ goes Inactive once its slot is empty.
 */
function finaliseCap(k: Step, cap: Cap, final: boolean): Finalised {
  const remainder = finaliseObject(k, cap, final);
  return { remainder, cleanupInfo: final && cap.type === 'irqhandler' ? cap : nullCap };
}

/**
 * finaliseObject: finaliseCap's work on the object, and the remainder left in the slot. A
 * Zombie stays as it is; a non-final cap leaves nothing. The last cap to a CNode becomes its
 * Zombie counting all its slots; the last cap to a thread too, after the thread loses its
 * scheduling context, leaves every queue and stops. For the last cap to another object: a
 * scheduling context is unbound (thread, notification, call stack); a notification is unbound
 * from its SC and its thread and its waiters restart; an endpoint's queued threads restart; a
 * reply lets go of its caller or receiver; an IRQ's last handler cap deletes the IRQ's
 * notification cap (deletingIRQHandler). VSpace caps: finaliseVSpaceCap (a mapped frame cap
 * unmaps even when not final). Other objects need nothing.
 */
function finaliseObject(k: Step, cap: Cap, final: boolean): Cap {
  if (cap.type === 'zombie') return cap;
  finaliseVSpaceCap(k, cap, final);
  if (!final) return nullCap;
  switch (cap.type) {
    case 'cnode':
      return { type: 'zombie', ptr: cap.ptr, zombieType: cap.radix, count: 2 ** cap.radix };
    case 'thread':
      finaliseThread(k, cap.ptr);
      return { type: 'zombie', ptr: cap.ptr, zombieType: zombieTypeTCB, count: tcbSlotCount };
    case 'irqhandler':
      deletingIRQHandler(k, cap.irq);
      break;
    case 'schedcontext':
      finaliseSchedContext(k, cap.ptr);
      break;
    case 'notification':
      schedContextMaybeUnbindNtfn(k, cap.ptr);
      unbindMaybeNotification(k, cap.ptr);
      cancelAllSignals(k, cap.ptr);
      break;
    case 'endpoint':
      cancelAllIPC(k, cap.ptr);
      break;
    case 'reply':
      replyClear(k, cap.ptr);
      break;
  }
  return nullCap;
}

/** capRemovable: nothing, or a Zombie with no slot left to empty but (maybe) the one it sits in. */
function capRemovable(cap: Cap, ref: SlotRef): boolean {
  if (cap.type === 'null') return true;
  if (cap.type !== 'zombie') throw new Error('finaliseCap left neither a Zombie nor a null cap');
  return cap.count === 0 || (cap.count === 1 && sameSlot(zombieSlot(cap, 0), ref));
}

/** Slot `index` of the CNode or TCB a Zombie names. */
function zombieSlot(zombie: CapOf<'zombie'>, index: number): SlotRef {
  return { cnode: zombie.ptr, index };
}

function isCyclicZombie(cap: Cap, ref: SlotRef): boolean {
  return cap.type === 'zombie' && sameSlot(zombieSlot(cap, 0), ref);
}

/**
 * finaliseSlot: finalises the slot's cap until the remainder can be removed (success, with the
 * last finalisation's cleanup info); other remainders are Zombies, reduced a slot at a time, a
 * preemption point after each reduction (the Zombie in the slot keeps the progress).
 * Without `immediate`, a Zombie become cyclic stops it unfinished.
 */
function finaliseSlot(k: Step, ref: SlotRef, immediate: boolean): { readonly success: boolean; readonly cleanupInfo: Cap } {
  while (k.cap(ref).type !== 'null') {
    const { remainder, cleanupInfo } = finaliseCap(k, k.cap(ref), isFinalCapability(k.state, ref));
    if (capRemovable(remainder, ref)) return { success: true, cleanupInfo };
    k.setCap(ref, remainder);
    if (!immediate && isCyclicZombie(remainder, ref)) return { success: false, cleanupInfo: nullCap };
    reduceZombie(k, ref, immediate);
    preemptionPoint(k, 'finalise');
  }
  return { success: true, cleanupInfo: nullCap };
}

/**
 * reduceZombie: exposed, the Zombie's last slot is deleted (unexposed) and the Zombie, if still
 * unchanged, counts one slot less (a deletion preempted leaves the count as it was); unexposed,
 * it moves to its object's slot 0 (capSwapForDelete).
 */
function reduceZombie(k: Step, ref: SlotRef, immediate: boolean): void {
  const zombie = k.cap(ref);
  if (zombie.type !== 'zombie' || zombie.count === 0) throw new Error('reduceZombie expects an unremovable Zombie');
  if (!immediate) {
    capSwapForDelete(k, zombieSlot(zombie, 0), ref);
    return;
  }
  const endSlot = zombieSlot(zombie, zombie.count - 1);
  deleteSlot(k, endSlot, false);
  const now = k.cap(ref);
  if (now.type === 'zombie' && now.ptr === zombie.ptr && now.count === zombie.count && now.zombieType === zombie.zombieType) {
    k.setCap(ref, { ...zombie, count: zombie.count - 1 });
  }
}

/**
 * cteDelete: finalisation, then the slot emptied if the delete is exposed or finalisation
 * completed (a preempted finalisation empties nothing).
 */
function deleteSlot(k: Step, ref: SlotRef, exposed: boolean): void {
  const { success, cleanupInfo } = finaliseSlot(k, ref, exposed);
  if (success || exposed) emptySlot(k, ref, cleanupInfo);
}

/**
 * cteDeleteOne: deletes a cap that finalises at once and leaves nothing to clean up (the
 * notification caps of the IRQ node).
 */
export function cteDeleteOne(k: Step, ref: SlotRef): void {
  const cap = k.cap(ref);
  if (cap.type === 'null') return;
  const { remainder, cleanupInfo } = finaliseCap(k, cap, isFinalCapability(k.state, ref));
  if (remainder.type !== 'null' || cleanupInfo.type !== 'null') throw new Error(`executable spec invariant: cteDeleteOne of a ${cap.type} cap left something`);
  emptySlot(k, ref, nullCap);
}

/** cteDelete, exposed: CNode_Delete and every other deletion a user asks for. */
export function cteDelete(k: Step, ref: SlotRef): void {
  deleteSlot(k, ref, true);
}

/**
 * cteRevoke: deletes the slot's CDT descendants, always the one right after it, until none is
 * left, a preemption point after each deletion (the MDB keeps the progress). Each deletion is a
 * choice the abstract spec leaves open, so it joins the witness.
 */
export function cteRevoke(k: Step, ref: SlotRef): void {
  for (;;) {
    const slot = k.slot(ref);
    const next = slot.mdb.next;
    if (next === null || !isMDBParentOf(slot, k.slot(next))) return;
    k.choices.push({ point: 'revoke', revoked: ref, deleted: next });
    cteDelete(k, next);
    preemptionPoint(k, 'revoke');
  }
}

/**
 * deriveCap: the cap a Copy or Mint puts in the new slot. A Zombie or IRQ control cannot be copied (null);
 * an untyped cap only while it has no children; a page table cap only while mapped; a frame
 * cap's copy starts unmapped.
 */
export function deriveCap(state: ExecState, src: SlotRef, cap: Cap): Cap | SyscallError {
  switch (cap.type) {
    case 'zombie':
    case 'irqcontrol':
      return nullCap;
    case 'untyped':
      return hasChildren(state, src) ? { error: 'RevokeFirst' } : cap;
    case 'pagetable':
      return cap.mapped === null ? { error: 'IllegalOperation' } : cap;
    case 'frame':
      return { ...cap, mapped: null };
    default:
      return cap;
  }
}

// ---------------------------------------------------------------- the CDT, read off the MDB

/** Whether `c` lies in the MDB run right after `a` in which every slot is a child of `a`. */
function inSubtree(state: ExecState, a: SlotRef, c: SlotRef): boolean {
  const parent = getSlot(state, a) ?? nullSlot;
  let at = parent.mdb.next;
  while (at !== null) {
    const slot = getSlot(state, at) ?? nullSlot;
    if (!isMDBParentOf(parent, slot)) return false;
    if (sameSlot(at, c)) return true;
    at = slot.mdb.next;
  }
  return false;
}

/** The slot's CDT parent: the nearest slot before it in the MDB list whose descendants include it. */
export function cdtParent(state: ExecState, ref: SlotRef): SlotRef | null {
  const slot = getSlot(state, ref);
  if (slot === null || slot.cap.type === 'null') return null;
  for (let a = slot.mdb.prev; a !== null; a = (getSlot(state, a) ?? nullSlot).mdb.prev) {
    if (isMDBParentOf(getSlot(state, a) ?? nullSlot, slot) && inSubtree(state, a, ref)) return a;
  }
  return null;
}

/** The CDT parent of every non-null slot (by slotKey), computed list by list in one pass each. */
export function cdtParents(state: ExecState): Map<string, SlotRef | null> {
  const parents = new Map<string, SlotRef | null>();
  for (const [ref, slot] of allSlots(state)) {
    if (slot.mdb.prev === null) listParents(state, ref, parents);
  }
  return parents;
}

/**
 * Parents along one MDB list: the descendants of node i are the run i+1 .. runEnd[i]-1; the parent
 * of node j is the nearest i < j with runEnd[i] > j, found by climbing the parents of node j-1.
 */
function listParents(state: ExecState, head: SlotRef, parents: Map<string, SlotRef | null>): void {
  const refs: SlotRef[] = [];
  const slots: Slot[] = [];
  const seen = new Set<number>();
  for (let at: SlotRef | null = head; at !== null && !seen.has(slotAddr(at)); ) {
    seen.add(slotAddr(at));
    const slot: Slot = getSlot(state, at) ?? nullSlot;
    refs.push(at);
    slots.push(slot);
    at = slot.mdb.next;
  }
  const runEnd: number[] = [];
  const parentIndex: number[] = [];
  for (let i = 0; i < slots.length; i++) {
    let end = i + 1;
    while (end < slots.length && isMDBParentOf(slots[i]!, slots[end]!)) end++;
    runEnd.push(end);
    let p = i - 1;
    while (p >= 0 && runEnd[p]! <= i) p = parentIndex[p]!;
    parentIndex.push(p);
    parents.set(slotKey(refs[i]!), p >= 0 ? refs[p]! : null);
  }
}

// ---------------------------------------------------------------- invocations

export type CNodeInvocation =
  | { readonly kind: 'revoke'; readonly slot: SlotRef }
  | { readonly kind: 'delete'; readonly slot: SlotRef }
  | { readonly kind: 'cancelBadgedSends'; readonly cap: CapOf<'endpoint'> }
  | { readonly kind: 'insert'; readonly cap: Cap; readonly src: SlotRef; readonly dest: SlotRef }
  | { readonly kind: 'move'; readonly cap: Cap; readonly src: SlotRef; readonly dest: SlotRef }
  | {
      readonly kind: 'rotate';
      readonly srcCap: Cap;
      readonly pivotCap: Cap;
      readonly src: SlotRef;
      readonly pivot: SlotRef;
      readonly dest: SlotRef;
    };

function missingCapability(source: boolean, depth: Word): SyscallError {
  return { error: 'FailedLookup', source, failure: { type: 'MissingCapability', bitsLeft: depth } };
}

/**
 * decodeCNodeInvocation: checks a CNode invocation in seL4's order. The invoked CNode cap is the
 * root for the destination (MR0 index, MR1 depth); source and pivot roots are extra caps.
 */
export function decodeCNodeInvocation(state: ExecState, args: InvocationArgs, cnodeCap: CapOf<'cnode'>): CNodeInvocation | SyscallError {
  const L = InvocationLabel;
  const { label, length } = args;
  if (label < L.CNodeRevoke || label > L.CNodeRotate) return { error: 'IllegalOperation' };
  if (length < 2) return { error: 'TruncatedMessage' };
  const dest = lookupTargetSlot(state, cnodeCap, args.arg(0), args.arg(1));
  if (isSyscallError(dest)) return dest;

  if (label >= L.CNodeCopy && label <= L.CNodeMutate) return decodeCopyOrMove(state, args, dest);
  if (label === L.CNodeRevoke) return { kind: 'revoke', slot: dest };
  if (label === L.CNodeDelete) return { kind: 'delete', slot: dest };
  if (label === L.CNodeCancelBadgedSends) {
    const cap = getCap(state, dest);
    if (cap.type !== 'endpoint' || !hasCancelSendRights(cap)) return { error: 'IllegalOperation' };
    return { kind: 'cancelBadgedSends', cap };
  }
  return decodeRotate(state, args, dest);
}

/** Copy, Mint, Move, Mutate: MR2 source index, MR3 source depth, extra cap 0 the source root. */
function decodeCopyOrMove(state: ExecState, args: InvocationArgs, dest: SlotRef): CNodeInvocation | SyscallError {
  const L = InvocationLabel;
  const { label, length } = args;
  if (length < 4 || args.extraCaps.length < 1) return { error: 'TruncatedMessage' };
  const srcDepth = args.arg(3);
  if (getCap(state, dest).type !== 'null') return { error: 'DeleteFirst' };
  const src = lookupSourceSlot(state, getCap(state, args.extraCaps[0]!), args.arg(2), srcDepth);
  if (isSyscallError(src)) return src;
  const srcCap = getCap(state, src);
  if (srcCap.type === 'null') return missingCapability(true, srcDepth);

  let newCap: Cap;
  let isMove: boolean;
  if (label === L.CNodeCopy) {
    if (length < 5) return { error: 'TruncatedMessage' };
    const derived = deriveCap(state, src, maskCapRights(args.arg(4), srcCap));
    if (isSyscallError(derived)) return derived;
    newCap = derived;
    isMove = false;
  } else if (label === L.CNodeMint) {
    if (length < 6) return { error: 'TruncatedMessage' };
    const derived = deriveCap(state, src, updateCapData(false, args.arg(5), maskCapRights(args.arg(4), srcCap)));
    if (isSyscallError(derived)) return derived;
    newCap = derived;
    isMove = false;
  } else if (label === L.CNodeMove) {
    newCap = srcCap;
    isMove = true;
  } else {
    if (length < 5) return { error: 'TruncatedMessage' };
    newCap = updateCapData(true, args.arg(4), srcCap);
    isMove = true;
  }
  if (newCap.type === 'null') return { error: 'IllegalOperation' };
  return { kind: isMove ? 'move' : 'insert', cap: newCap, src, dest };
}

/**
 * Rotate: MR2 data for the pivot's cap (landing in dest), MR3/MR4 pivot index/depth, MR5 data
 * for the source's cap (landing in pivot), MR6/MR7 source index/depth; extra caps: pivot root,
 * source root.
 */
function decodeRotate(state: ExecState, args: InvocationArgs, dest: SlotRef): CNodeInvocation | SyscallError {
  if (args.length < 8 || args.extraCaps.length < 2) return { error: 'TruncatedMessage' };
  const pivotData = args.arg(2);
  const pivotDepth = args.arg(4);
  const srcData = args.arg(5);
  const srcDepth = args.arg(7);
  const src = lookupSourceSlot(state, getCap(state, args.extraCaps[1]!), args.arg(6), srcDepth);
  if (isSyscallError(src)) return src;
  const pivot = lookupPivotSlot(state, getCap(state, args.extraCaps[0]!), args.arg(3), pivotDepth);
  if (isSyscallError(pivot)) return pivot;
  if (sameSlot(pivot, src) || sameSlot(pivot, dest)) return { error: 'IllegalOperation' };
  if (!sameSlot(src, dest) && getCap(state, dest).type !== 'null') return { error: 'DeleteFirst' };
  const srcCap = getCap(state, src);
  if (srcCap.type === 'null') return missingCapability(true, srcDepth);
  const pivotCap = getCap(state, pivot);
  if (pivotCap.type === 'null') return missingCapability(false, pivotDepth);
  const newSrcCap = updateCapData(true, srcData, srcCap);
  const newPivotCap = updateCapData(true, pivotData, pivotCap);
  if (newSrcCap.type === 'null' || newPivotCap.type === 'null') return { error: 'IllegalOperation' };
  return { kind: 'rotate', srcCap: newSrcCap, pivotCap: newPivotCap, src, pivot, dest };
}

/** Performs a decoded CNode invocation; it cannot fail. */
export function performCNodeInvocation(k: Step, inv: CNodeInvocation): void {
  switch (inv.kind) {
    case 'revoke':
      cteRevoke(k, inv.slot);
      return;
    case 'delete':
      cteDelete(k, inv.slot);
      return;
    case 'cancelBadgedSends':
      // Only a badged cap cancels anything.
      if (inv.cap.badge !== 0) cancelBadgedSends(k, inv.cap.ptr, inv.cap.badge);
      return;
    case 'insert':
      cteInsert(k, inv.cap, inv.src, inv.dest);
      return;
    case 'move':
      cteMove(k, inv.cap, inv.src, inv.dest);
      return;
    case 'rotate':
      // Rotate with src == dest swaps source and pivot; otherwise pivot moves to dest, then source to pivot.
      if (sameSlot(inv.src, inv.dest)) {
        cteSwap(k, inv.srcCap, inv.src, inv.pivotCap, inv.pivot);
      } else {
        cteMove(k, inv.pivotCap, inv.pivot, inv.dest);
        cteMove(k, inv.srcCap, inv.src, inv.pivot);
      }
      return;
  }
}
