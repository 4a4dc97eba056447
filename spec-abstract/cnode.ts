// Deleting and revoking capabilities, and the CNode invocations (l4v CSpace_A rec_del,
// cap_delete, cap_revoke, finalise_cap; Decode_A decode_cnode_invocation; CNode_AI's
// invoke_cnode). Deletion follows docs/model.md: a final CNode or TCB cap deletes the slots of
// its object, highest index first, unless that object is already being finalised.
import { InvocationLabel, type Cap, type CapOf, type SlotRef, type SyscallError } from '../libsel4/index.ts';
import { cteInsert, cteMove, cteSwap, descendantsOf, emptySlot, hasChildren, isDescendant, isFinalCap } from './cdt.ts';
import { lookupSlotForCNodeOp } from './cspace.ts';
import { cancelAllIPC, cancelBadgedSends, cancelIPC } from './endpoint.ts';
import { cancelAllSignals, unbindMaybeNotification } from './notification.ts';
import { replyAt, replyRemove } from './reply.ts';
import { deriveCap, hasCancelSendRights, maskCapRights, sameObjectAs, updateCapData } from './objects.ts';
import { finaliseSchedContext, schedContextMaybeUnbindNtfn } from './schedcontext.ts';
import {
  begin,
  capAt,
  commit,
  entryAt,
  filledSlots,
  objectAt,
  run,
  sameSlot,
  slotAddr,
  slotsNaming,
  tcbAt,
  type AbstractState,
  type Branch,
  type Kernel,
  type Readable,
  type TouchLog,
} from './state.ts';
import type { InvocationMessage } from './syscall.ts';
import type { WitnessOracle } from './witness.ts';
import { finaliseThread } from './tcb.ts';

// ---- deletion ---------------------------------------------------------------------------

/** Deletes every non-null slot of a CNode or TCB, highest index first (once per finalisation). */
function deleteHeldSlots(k: Kernel, holder: number): void {
  if (k.finalising.has(holder)) return;
  const object = objectAt(k, holder);
  if (object === null || (object.type !== 'cnode' && object.type !== 'tcb')) return;
  k.finalising.add(holder);
  for (const { slot } of filledSlots(object).reverse()) deleteSlot(k, slot);
  k.finalising.delete(holder);
}

/**
 * fast_finalise of the last reply cap: a caller waiting on the reply is removed as by a reply
 * (reply_remove), a receiver waiting with it has its IPC cancelled.
 */
function finaliseReply(k: Kernel, reply: number): void {
  const tcb = replyAt(k, reply).tcb;
  if (tcb === null) return;
  if (tcbAt(k, tcb)!.state === 'BlockedOnReply') replyRemove(k, tcb, reply);
  else cancelIPC(k, tcb);
}

/** finalise_cap for the last cap to an object: what happens to the object itself. */
function finaliseCap(k: Kernel, cap: Cap): void {
  switch (cap.type) {
    case 'cnode':
      deleteHeldSlots(k, cap.ptr);
      return;
    case 'thread':
      finaliseThread(k, cap.ptr);
      deleteHeldSlots(k, cap.ptr);
      return;
    case 'schedcontext':
      finaliseSchedContext(k, cap.ptr);
      return;
    case 'notification':
      schedContextMaybeUnbindNtfn(k, cap.ptr);
      unbindMaybeNotification(k, cap.ptr);
      cancelAllSignals(k, cap.ptr);
      return;
    case 'endpoint':
      cancelAllIPC(k, cap.ptr);
      return;
    case 'reply':
      finaliseReply(k, cap.ptr);
      return;
    default:
      // Mappings are not modelled; the rest have nothing to clean up.
      return;
  }
}

/**
 * cap_delete: empty a slot. If it holds the last cap to an object, the object is finalised
 * first; finalisation may itself empty the slot (a CNode that holds its own last cap).
 */
export function deleteSlot(k: Kernel, slot: SlotRef): void {
  const entry = entryAt(k, slot);
  if (entry === null) return;
  if (isFinalCap(k, slot, entry.cap)) finaliseCap(k, entry.cap);
  if (entryAt(k, slot) === null) return;
  emptySlot(k, slot);
}

// ---- revoke -----------------------------------------------------------------------------

/** Deletions the revoke exploration may try before it gives up on completeness. */
const revokeSearchLimit = 2000;

/**
 * Whether the order in which descendants are deleted can change the result: only if some
 * CNode or TCB can be finalised during the revoke (all caps to it lie in slots the revoke
 * deletes) and the slots so deleted, transitively, include the revoked slot itself. If the
 * revoked slot survives, every order deletes the same slots and finalises the same objects.
 */
function orderCanMatter(s: Readable, slot: SlotRef, descendants: readonly SlotRef[]): boolean {
  const deleted = new Map(descendants.map((d) => [slotAddr(d), d]));
  const finalised = new Set<number>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const candidate of [...deleted.values()]) {
      const cap = capAt(s, candidate);
      if ((cap.type !== 'cnode' && cap.type !== 'thread') || finalised.has(cap.ptr)) continue;
      const holders = slotsNaming(s, cap.ptr).filter((h) => sameObjectAs(cap, capAt(s, h)));
      if (!holders.every((h) => deleted.has(slotAddr(h)))) continue;
      finalised.add(cap.ptr);
      changed = true;
      const object = objectAt(s, cap.ptr);
      if (object?.type === 'cnode' || object?.type === 'tcb') {
        for (const { slot: inner } of filledSlots(object)) deleted.set(slotAddr(inner), inner);
      }
    }
  }
  return deleted.has(slotAddr(slot));
}

/**
 * cap_revoke as the layer below did it: the CDT descendants of a slot deleted one at a time in
 * the witnessed order, each of which must be a remaining descendant when it goes, until none is
 * left or the slot itself has been emptied. The branch is named as a choice when the order could
 * change the result.
 */
function revokeAsWitnessed(k: Kernel, slot: SlotRef, oracle: WitnessOracle): Branch {
  const matters = capAt(k, slot).type !== 'null' && hasChildren(k, slot) && orderCanMatter(k, slot, descendantsOf(k, slot));
  while (capAt(k, slot).type !== 'null' && hasChildren(k, slot)) {
    deleteSlot(k, oracle.revokeNext(slot, (d) => isDescendant(k, d, slot), () => descendantsOf(k, slot)));
  }
  oracle.revokeDone(slot);
  return matters ? { k, choice: 'revoke order (result depends on it), as witnessed' } : { k };
}

/**
 * cap_revoke: delete the CDT descendants of a slot one at a time, in any order, until none
 * is left or the slot itself has been emptied. Returns every distinct result; when no
 * order can matter, the one result of deleting them in depth-first order.
 */
export function revokeBranches(state: AbstractState, slot: SlotRef, log: TouchLog): Branch[] {
  const descendants = descendantsOf(state, slot);
  if (capAt(state, slot).type === 'null' || descendants.length === 0) return [{ k: begin(state, log) }];
  if (!orderCanMatter(state, slot, descendants)) {
    const k = begin(state, log);
    descendants.forEach((d) => deleteSlot(k, d));
    return [{ k }];
  }
  const explored = exploreRevoke(state, slot, log);
  if (explored.outcomes.length === 1 && !explored.truncated) return [{ k: begin(explored.outcomes[0]!.state, explored.outcomes[0]!.log) }];
  const note = explored.truncated ? ' (search bound reached: the set may be incomplete)' : '';
  return explored.outcomes.map((o, i) => ({ k: begin(o.state, o.log), choice: `revoke order #${i + 1}${note}` }));
}

/**
 * Every result of revoking `slot`, found by branching on "which remaining descendant next".
 * States with the same surviving descendants (and the revoked cap alive or not) are merged:
 * which slots a series of deletions empties, which objects it finalises and where the
 * surviving caps hang in the CDT (under their nearest surviving ancestor) depend only on the
 * set of slots deleted, not on the order. Stops after `revokeSearchLimit` deletions
 * (`truncated`), still returning one result at least.
 */
export function exploreRevoke(state: AbstractState, slot: SlotRef, log: TouchLog): { outcomes: Explored[]; truncated: boolean } {
  const initial = descendantsOf(state, slot);
  const key = (s: AbstractState): string => {
    const alive = capAt(s, slot).type !== 'null';
    return `${alive ? 'live' : 'gone'}:${initial.filter((d) => capAt(s, d).type !== 'null').map(slotAddr).join(',')}`;
  };
  const outcomes: Explored[] = [];
  const seen = new Set<string>([key(state)]);
  const stack: Explored[] = [{ state, log }];
  let searched = 0;
  let truncated = false;
  while (stack.length > 0) {
    const node = stack.pop()!;
    const remaining = capAt(node.state, slot).type === 'null' ? [] : descendantsOf(node.state, slot);
    if (remaining.length === 0) {
      outcomes.push(node);
      continue;
    }
    const children: Explored[] = [];
    for (const next of remaining) {
      if (searched >= revokeSearchLimit) {
        truncated = true;
        break;
      }
      searched++;
      const childLog = node.log.clone();
      const child = run(node.state, childLog, (k) => deleteSlot(k, next));
      const childKey = key(child);
      if (seen.has(childKey)) continue;
      seen.add(childKey);
      children.push({ state: child, log: childLog });
    }
    stack.push(...children.reverse());
  }
  if (outcomes.length === 0) outcomes.push(revokeInOneOrder(state, slot, log));
  return { outcomes, truncated };
}

/** A state reached while exploring revoke orders, with what the path to it wrote. */
export interface Explored {
  readonly state: AbstractState;
  readonly log: TouchLog;
}

/** One allowed revoke: always delete the first remaining descendant (depth-first order). */
function revokeInOneOrder(state: AbstractState, slot: SlotRef, log: TouchLog): Explored {
  const next = run(state, log, (k) => {
    for (;;) {
      const remaining = capAt(k, slot).type === 'null' ? [] : descendantsOf(k, slot);
      if (remaining.length === 0) return;
      deleteSlot(k, remaining[0]!);
    }
  });
  return { state: next, log };
}

// ---- CNode invocations --------------------------------------------------------------------

export type CNodeInvocation =
  | { readonly op: 'revoke'; readonly slot: SlotRef }
  | { readonly op: 'delete'; readonly slot: SlotRef }
  | { readonly op: 'cancelBadgedSends'; readonly cap: Cap }
  /** Copy and Mint: a derived cap goes into `dest`, placed in the CDT relative to `src`. */
  | { readonly op: 'insert'; readonly cap: Cap; readonly src: SlotRef; readonly dest: SlotRef }
  /** Move and Mutate. */
  | { readonly op: 'move'; readonly cap: Cap; readonly src: SlotRef; readonly dest: SlotRef }
  /** The pivot's cap goes to `dest` as `pivotCap`, the source's to the pivot as `srcCap`. */
  | { readonly op: 'rotate'; readonly srcCap: Cap; readonly pivotCap: Cap; readonly src: SlotRef; readonly pivot: SlotRef; readonly dest: SlotRef };

type Decoded = { readonly invocation: CNodeInvocation } | { readonly error: SyscallError };

const truncated: Decoded = { error: { error: 'TruncatedMessage' } };
const illegal: Decoded = { error: { error: 'IllegalOperation' } };

function missing(source: boolean, bitsLeft: number): Decoded {
  return { error: { error: 'FailedLookup', source, failure: { type: 'MissingCapability', bitsLeft } } };
}

/**
 * decode_cnode_invocation: the invoked CNode cap is the root of the target slot lookup
 * (MR0 index, MR1 depth). Checks in seL4's order; see docs/model.md and §7.2 of the facts.
 */
export function decodeCNodeInvocation(s: Readable, msg: InvocationMessage, cap: CapOf<'cnode'>): Decoded {
  const L = InvocationLabel;
  const { label, length, mr, extraCaps } = msg;
  if (label < L.CNodeRevoke || label > L.CNodeRotate) return illegal;
  if (length < 2) return truncated;
  const target = lookupSlotForCNodeOp(s, false, cap, mr(0), mr(1));
  if ('error' in target) return target;
  const dest = target.slot;

  if (label >= L.CNodeCopy && label <= L.CNodeMutate) {
    if (length < 4 || extraCaps.length < 1) return truncated;
    const srcDepth = mr(3);
    if (capAt(s, dest).type !== 'null') return { error: { error: 'DeleteFirst' } };
    const source = lookupSlotForCNodeOp(s, true, extraCaps[0]!.cap, mr(2), srcDepth);
    if ('error' in source) return source;
    const src = source.slot;
    const srcCap = capAt(s, src);
    if (srcCap.type === 'null') return missing(true, srcDepth);
    let newCap: Cap;
    let op: 'insert' | 'move';
    if (label === L.CNodeCopy || label === L.CNodeMint) {
      if (length < (label === L.CNodeCopy ? 5 : 6)) return truncated;
      const masked = maskCapRights(mr(4), srcCap);
      const derived = deriveCap(label === L.CNodeCopy ? masked : updateCapData(false, mr(5), masked), hasChildren(s, src));
      if ('error' in derived) return derived;
      newCap = derived.cap;
      op = 'insert';
    } else if (label === L.CNodeMove) {
      newCap = srcCap;
      op = 'move';
    } else {
      if (length < 5) return truncated;
      newCap = updateCapData(true, mr(4), srcCap);
      op = 'move';
    }
    if (newCap.type === 'null') return illegal;
    return { invocation: { op, cap: newCap, src, dest } };
  }
  if (label === L.CNodeRevoke) return { invocation: { op: 'revoke', slot: dest } };
  if (label === L.CNodeDelete) return { invocation: { op: 'delete', slot: dest } };
  if (label === L.CNodeCancelBadgedSends) {
    const destCap = capAt(s, dest);
    return hasCancelSendRights(destCap) ? { invocation: { op: 'cancelBadgedSends', cap: destCap } } : illegal;
  }
  // CNodeRotate
  if (length < 8 || extraCaps.length < 2) return truncated;
  const pivotDepth = mr(4);
  const srcDepth = mr(7);
  const source = lookupSlotForCNodeOp(s, true, extraCaps[1]!.cap, mr(6), srcDepth);
  if ('error' in source) return source;
  const pivotLookup = lookupSlotForCNodeOp(s, true, extraCaps[0]!.cap, mr(3), pivotDepth);
  if ('error' in pivotLookup) return pivotLookup;
  const src = source.slot;
  const pivot = pivotLookup.slot;
  if (sameSlot(pivot, src) || sameSlot(pivot, dest)) return illegal;
  if (!sameSlot(src, dest) && capAt(s, dest).type !== 'null') return { error: { error: 'DeleteFirst' } };
  const srcCap = capAt(s, src);
  if (srcCap.type === 'null') return missing(true, srcDepth);
  const pivotCap = capAt(s, pivot);
  if (pivotCap.type === 'null') return missing(false, pivotDepth);
  const newSrcCap = updateCapData(true, mr(5), srcCap);
  const newPivotCap = updateCapData(true, mr(2), pivotCap);
  if (newSrcCap.type === 'null' || newPivotCap.type === 'null') return illegal;
  return { invocation: { op: 'rotate', srcCap: newSrcCap, pivotCap: newPivotCap, src, pivot, dest } };
}

/**
 * invoke_cnode: performs a decoded CNode invocation. Only revoke may allow several results;
 * it continues from the committed state, so the caller carries on with the returned branches.
 */
export function performCNodeInvocation(k: Kernel, inv: CNodeInvocation): Branch[] {
  switch (inv.op) {
    case 'revoke':
      if (k.oracle !== null) return [revokeAsWitnessed(k, inv.slot, k.oracle)];
      return revokeBranches(commit(k), inv.slot, k.log);
    case 'delete':
      deleteSlot(k, inv.slot);
      break;
    case 'cancelBadgedSends':
      // An unbadged cap cancels nothing (invokeCNodeCancelBadgedSends).
      if (inv.cap.type === 'endpoint' && inv.cap.badge !== 0) cancelBadgedSends(k, inv.cap.ptr, inv.cap.badge);
      break;
    case 'insert':
      cteInsert(k, inv.cap, inv.src, inv.dest);
      break;
    case 'move':
      cteMove(k, inv.cap, inv.src, inv.dest);
      break;
    case 'rotate':
      if (sameSlot(inv.src, inv.dest)) {
        cteSwap(k, inv.srcCap, inv.src, inv.pivotCap, inv.pivot);
      } else {
        cteMove(k, inv.pivotCap, inv.pivot, inv.dest);
        cteMove(k, inv.srcCap, inv.src, inv.pivot);
      }
      break;
  }
  return [{ k }];
}
