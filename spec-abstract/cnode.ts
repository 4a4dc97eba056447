// Deleting and revoking capabilities, and the CNode invocations (l4v CSpace_A rec_del,
// cap_delete, cap_revoke, finalise_cap; Decode_A decode_cnode_invocation; CNode_AI's
// invoke_cnode). The last cap to a CNode or TCB becomes a Zombie: exposed, it empties the
// object's slots from the highest down; unexposed, it is parked in the object's slot 0.
import { InvocationLabel, nullCap, tcbSlotCount, zombieTypeTCB, type Cap, type CapOf, type SlotRef, type SyscallError } from '../libsel4/index.ts';
import { cteInsert, cteMove, cteSwap, descendantsOf, firstChild, emptySlot, hasChildren, isDescendant, isFinalCap, setCap } from './cdt.ts';
import { lookupSlotForCNodeOp } from './cspace.ts';
import { cancelAllIPC, cancelBadgedSends, cancelIPC } from './endpoint.ts';
import { finaliseIRQHandler } from './interrupt.ts';
import { cancelAllSignals, unbindMaybeNotification } from './notification.ts';
import { replyAt, replyRemove } from './reply.ts';
import { deriveCap, hasCancelSendRights, maskCapRights, sameObjectAs, updateCapData } from './objects.ts';
import { preemptionPoint, type PreemptionRun } from './preemption.ts';
import { finaliseSchedContext, schedContextMaybeUnbindNtfn } from './schedcontext.ts';
import {
  asidTableOf,
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
  TouchLog,
  type Readable,
} from './state.ts';
import type { InvocationMessage } from './syscall.ts';
import type { WitnessOracle } from './witness.ts';
import { finaliseThread } from './tcb.ts';
import { objectView } from './view.ts';
import { finaliseVSpaceCap, vspaceObjectsWritten, vspaceOrderCanMatter } from './vspace.ts';

// ---- deletion ---------------------------------------------------------------------------

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

/**
 * finalise_cap: what deleting a cap does to its object, and the cap left behind. A Zombie stays;
 * a non-final cap leaves nothing. The last cap to a CNode or a TCB leaves its Zombie, counting
 * all its slots (the thread finalised first); the last cap to another object cleans it up.
 */
function finaliseCap(k: Kernel, cap: Cap, final: boolean): Cap {
  if (cap.type === 'zombie') return cap;
  if (cap.type === 'frame' || cap.type === 'pagetable' || cap.type === 'asidpool') {
    finaliseVSpaceCap(k, cap, final);
    return nullCap;
  }
  if (!final) return nullCap;
  switch (cap.type) {
    case 'cnode':
      return { type: 'zombie', ptr: cap.ptr, zombieType: cap.radix, count: 2 ** cap.radix };
    case 'thread':
      finaliseThread(k, cap.ptr);
      return { type: 'zombie', ptr: cap.ptr, zombieType: zombieTypeTCB, count: tcbSlotCount };
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
      finaliseReply(k, cap.ptr);
      break;
    case 'irqhandler':
      finaliseIRQHandler(k, cap.irq);
      break;
    default:
      // The rest have nothing to clean up.
      break;
  }
  return nullCap;
}

/** Slot `index` of the CNode or TCB a Zombie names. */
function zombieSlot(zombie: CapOf<'zombie'>, index: number): SlotRef {
  return { cnode: zombie.ptr, index };
}

/** cap_removeable: null, or a Zombie with no slot left but possibly the one it sits in. */
function capRemovable(cap: Cap, slot: SlotRef): boolean {
  if (cap.type === 'null') return true;
  if (cap.type !== 'zombie') throw new Error('finalise_cap left neither a Zombie nor a null cap');
  return cap.count === 0 || (cap.count === 1 && sameSlot(zombieSlot(cap, 0), slot));
}

function isCyclicZombie(cap: Cap, slot: SlotRef): boolean {
  return cap.type === 'zombie' && sameSlot(zombieSlot(cap, 0), slot);
}

/** cap_swap_for_delete: the Zombie in `slot` and whatever is in `slot0` change places, CDT positions too. */
function capSwapForDelete(k: Kernel, slot0: SlotRef, slot: SlotRef): void {
  if (sameSlot(slot0, slot)) return;
  if (entryAt(k, slot0) === null) cteMove(k, capAt(k, slot), slot, slot0);
  else cteSwap(k, capAt(k, slot0), slot0, capAt(k, slot), slot);
}

/**
 * rec_del's FinaliseSlotCall: finalise the slot's cap until what remains is removable; every
 * other remainder is a Zombie, reduced (ReduceZombieCall), with a preemption point after each
 * reduction. Unexposed, a Zombie that has become cyclic ends it unfinished (false). A preemption
 * leaves the Zombie in the slot: the next attempt continues from its count.
 */
function finaliseSlot(k: Kernel, slot: SlotRef, exposed: boolean): boolean {
  for (let cap = capAt(k, slot); cap.type !== 'null'; cap = capAt(k, slot)) {
    const remainder = finaliseCap(k, cap, isFinalCap(k, slot, cap));
    if (capRemovable(remainder, slot)) return true;
    setCap(k, slot, remainder);
    if (!exposed && isCyclicZombie(remainder, slot)) return false;
    reduceZombie(k, slot, exposed);
    preemptionPoint(k, 'finalise');
  }
  return true;
}

/**
 * rec_del's ReduceZombieCall: exposed, the Zombie's last slot is deleted unexposed and the
 * Zombie, if unchanged, counts one slot less; unexposed, it is swapped into its object's slot 0.
 */
function reduceZombie(k: Kernel, slot: SlotRef, exposed: boolean): void {
  const zombie = capAt(k, slot);
  if (zombie.type !== 'zombie' || zombie.count === 0) throw new Error('reduce_zombie expects an unremovable Zombie');
  if (!exposed) {
    capSwapForDelete(k, zombieSlot(zombie, 0), slot);
    return;
  }
  recDelete(k, zombieSlot(zombie, zombie.count - 1), false);
  const now = capAt(k, slot);
  if (now.type === 'zombie' && now.ptr === zombie.ptr && now.count === zombie.count && now.zombieType === zombie.zombieType) {
    setCap(k, slot, { ...zombie, count: zombie.count - 1 });
  }
}

/** rec_del's CTEDeleteCall: the slot is emptied if the delete is exposed or finalisation finished. */
function recDelete(k: Kernel, slot: SlotRef, exposed: boolean): void {
  if (finaliseSlot(k, slot, exposed) || exposed) emptySlot(k, slot);
}

/** cap_delete: an exposed deletion of a slot, as a user asks for it. */
export function deleteSlot(k: Kernel, slot: SlotRef): void {
  recDelete(k, slot, true);
}

/** cap_delete_one: fast_finalise and empty_slot, for slots that never hold a CNode, TCB or Zombie cap (the IRQ node's). */
export function cteDeleteOne(k: Kernel, slot: SlotRef): void {
  const cap = capAt(k, slot);
  if (cap.type === 'null') return;
  if (holdsSlots(cap)) throw new Error(`abstract spec invariant: cap_delete_one of a ${cap.type} cap`);
  finaliseCap(k, cap, isFinalCap(k, slot, cap));
  emptySlot(k, slot);
}

// ---- revoke -----------------------------------------------------------------------------

/** Deletions the revoke exploration may try before it gives up on completeness. */
const revokeSearchLimit = 2000;

/** What a revoke may reach: the CNodes and TCBs it may finalise, and the slots it may delete. */
interface RevokeReach {
  readonly finalised: ReadonlySet<number>;
  readonly deleted: ReadonlyMap<number, SlotRef>;
}

/**
 * The CNodes and TCBs a revoke may finalise: those all of whose caps lie in slots it may delete
 * (the descendants, and transitively the slots of objects so finalised). An over-approximation.
 */
function revokeReach(s: Readable, descendants: readonly SlotRef[]): RevokeReach {
  const deleted = new Map(descendants.map((d) => [slotAddr(d), d]));
  const finalised = new Set<number>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const candidate of [...deleted.values()]) {
      const cap = capAt(s, candidate);
      if (!holdsSlots(cap) || finalised.has(cap.ptr)) continue;
      const holders = slotsNaming(s, cap.ptr).filter((h) => sameObjectAs(cap, capAt(s, h)) || sameSlot(h, candidate));
      if (!holders.every((h) => deleted.has(slotAddr(h)))) continue;
      finalised.add(cap.ptr);
      changed = true;
      const object = objectAt(s, cap.ptr);
      if (object?.type === 'cnode' || object?.type === 'tcb') {
        for (const { slot: inner } of filledSlots(object)) deleted.set(slotAddr(inner), inner);
      }
    }
  }
  return { finalised, deleted };
}

/** A cap whose finalisation empties slots: to a CNode or a TCB, or a Zombie. */
function holdsSlots(cap: Cap): cap is CapOf<'cnode'> | CapOf<'thread'> | CapOf<'zombie'> {
  return cap.type === 'cnode' || cap.type === 'thread' || cap.type === 'zombie';
}

/**
 * Whether the order in which descendants are deleted can change the result: if the revoked slot
 * itself may be deleted (the revoke stops there), or if a CNode or TCB it may finalise holds a
 * cap to a CNode or TCB in its slots, which is then parked as a Zombie or emptied depending on
 * the order; or if it may delete VSpace caps whose order changes what stays in page tables and
 * pools. Otherwise every order deletes the same slots and finalises the same objects.
 */
function orderCanMatter(s: Readable, slot: SlotRef, descendants: readonly SlotRef[]): boolean {
  const { finalised, deleted } = revokeReach(s, descendants);
  if (deleted.has(slotAddr(slot))) return true;
  if (vspaceOrderCanMatter([...deleted.values()].map((d) => capAt(s, d)))) return true;
  for (const ptr of finalised) {
    const object = objectAt(s, ptr);
    if ((object?.type === 'cnode' || object?.type === 'tcb') && filledSlots(object).some(({ entry }) => holdsSlots(entry.cap))) return true;
  }
  return false;
}

/**
 * cap_revoke as the layer below did it: the CDT descendants of a slot deleted one at a time in
 * the witnessed order, each of which must be a remaining descendant when it goes, with a
 * preemption point after each, until none is left or the slot itself has been emptied. The branch is named as a choice when the order could
 * change the result.
 */
function revokeAsWitnessed(k: Kernel, slot: SlotRef, oracle: WitnessOracle): Branch {
  const matters = capAt(k, slot).type !== 'null' && hasChildren(k, slot) && orderCanMatter(k, slot, descendantsOf(k, slot));
  while (capAt(k, slot).type !== 'null' && hasChildren(k, slot)) {
    deleteSlot(k, oracle.revokeNext(slot, (d) => isDescendant(k, d, slot), () => descendantsOf(k, slot)));
    preemptionPoint(k, 'revoke');
  }
  oracle.revokeDone(slot);
  return matters ? { k, choice: 'revoke order (result depends on it), as witnessed' } : { k };
}

/**
 * cap_revoke: delete the CDT descendants of a slot one at a time, in any order, until none
 * is left or the slot itself has been emptied. Returns every distinct result; when no
 * order can matter, the one result of deleting them in depth-first order.
 */
export function revokeBranches(state: AbstractState, slot: SlotRef, log: TouchLog, preemption: PreemptionRun | null = null): Branch[] {
  const descendants = descendantsOf(state, slot);
  if (capAt(state, slot).type === 'null' || descendants.length === 0) return [{ k: begin(state, log, null, preemption) }];
  if (!orderCanMatter(state, slot, descendants)) {
    const one = revokeInOneOrder(state, slot, log);
    return [{ k: begin(one.state, one.log, null, preemption) }];
  }
  const explored = exploreRevoke(state, slot, log);
  if (explored.outcomes.length === 1 && !explored.truncated) return [{ k: begin(explored.outcomes[0]!.state, explored.outcomes[0]!.log, null, preemption) }];
  const note = explored.truncated ? ' (search bound reached: the set may be incomplete)' : '';
  return explored.outcomes.map((o, i) => ({ k: begin(o.state, o.log, null, preemption), choice: `revoke order #${i + 1}${note}` }));
}

/**
 * Every result of revoking `slot`, found by branching on "which remaining descendant next".
 * States with the same surviving descendants (and the revoked cap alive or not) and the same
 * contents of every CNode and TCB the revoke may finalise are merged: which objects were emptied
 * and which parked as Zombies is then the same, and so is where the surviving caps hang in the
 * CDT (under their nearest surviving ancestor). Stops after `revokeSearchLimit` deletions
 * (`truncated`), still returning one result at least.
 */
export function exploreRevoke(state: AbstractState, slot: SlotRef, log: TouchLog): { outcomes: Explored[]; truncated: boolean } {
  const initial = descendantsOf(state, slot);
  const reach = revokeReach(state, initial);
  const finalisable = [...reach.finalised];
  const vspaceObjects = vspaceObjectsWritten(state, [...reach.deleted.values()].map((d) => capAt(state, d)));
  const survivors = new SurvivorSet(state, initial);
  // What every CNode and TCB it may finalise holds, and every page table and pool it may write.
  const watched = [...finalisable.map((addr) => ({ addr, of: holderKey })), ...vspaceObjects.map((addr) => ({ addr, of: vspaceObjectKey }))];
  const key = (s: Readable, alive: Uint16Array, contents: readonly string[]): string =>
    // Fixed lengths, a ':' after the table (digits and commas) and NULs (in neither content key) keep the fields apart.
    `${capAt(s, slot).type !== 'null' ? 'live' : 'gone'}${survivors.key(alive)}${asidTableOf(s).join(',')}:${contents.join('\0')}`;
  const outcomes: Explored[] = [];
  const root: Searched = { at: state, log: () => log, alive: survivors.initial(), contents: watched.map(({ addr, of }) => of(state, addr)) };
  const seen = new Set<string>([key(state, root.alive, root.contents)]);
  const stack: Searched[] = [root];
  let searched = 0;
  let truncated = false;
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (capAt(node.at, slot).type === 'null' || !hasChildren(node.at, slot)) {
      outcomes.push({ state: settled(node.at), log: node.log() });
      continue;
    }
    if (searched >= revokeSearchLimit) {
      truncated = true;
      continue;
    }
    const base = settled(node.at);
    const baseLog = node.log();
    const children: Searched[] = [];
    for (const next of descendantsOf(base, slot)) {
      if (searched >= revokeSearchLimit) {
        truncated = true;
        break;
      }
      searched++;
      const stepLog = new TouchLog();
      const k = begin(base, stepLog);
      deleteSlot(k, next);
      const alive = survivors.after(node.alive, k, stepLog);
      // An object the deletion did not write reads the same.
      const contents = watched.map(({ addr, of }, i) => (k.objects.has(addr) ? of(k, addr) : node.contents[i]!));
      const childKey = key(k, alive, contents);
      if (seen.has(childKey)) continue;
      seen.add(childKey);
      children.push({ at: k, log: () => baseLog.clone().absorb(stepLog), alive, contents });
    }
    stack.push(...children.reverse());
  }
  if (outcomes.length === 0) outcomes.push(revokeInOneOrder(state, slot, log));
  return { outcomes, truncated };
}

function settled(at: AbstractState | Kernel): AbstractState {
  return 'base' in at ? commit(at) : at;
}

/** Characters made by one String.fromCharCode call (its arguments go on the stack). */
const keyChunkChars = 4096;

/**
 * A state of the revoke search, with which of the initial descendants still hold a cap. Most
 * states are only looked at (the search bound cuts it short): a deletion's writes are committed,
 * and its log made, when its state is expanded or is a result.
 */
interface Searched {
  readonly at: AbstractState | Kernel;
  readonly log: () => TouchLog;
  readonly alive: Uint16Array;
  /** The watched objects' contents (holderKey, vspaceObjectKey). */
  readonly contents: readonly string[];
}

/**
 * Which of a revoke's initial descendants hold a cap, as a bit set (bit i: `initial[i]`),
 * brought up to date after a deletion from the slots it wrote rather than by reading them all.
 */
class SurvivorSet {
  private readonly byAddr = new Map<number, number>();
  private readonly byHolder = new Map<number, number[]>();

  constructor(
    private readonly state: AbstractState,
    private readonly slots: readonly SlotRef[],
  ) {
    slots.forEach((d, i) => {
      this.byAddr.set(slotAddr(d), i);
      const inHolder = this.byHolder.get(d.cnode);
      if (inHolder === undefined) this.byHolder.set(d.cnode, [i]);
      else inHolder.push(i);
    });
  }

  initial(): Uint16Array {
    const alive = new Uint16Array(Math.ceil(this.slots.length / 16));
    this.slots.forEach((d, i) => this.update(alive, this.state, i));
    return alive;
  }

  /** `before` after the writes of `k` (logged to `stepLog`): the slots written, and every slot of a holder that went away. */
  after(before: Uint16Array, k: Kernel, stepLog: TouchLog): Uint16Array {
    const alive = before.slice();
    for (const written of stepLog.slotsWritten()) {
      const i = this.byAddr.get(slotAddr(written));
      if (i !== undefined) this.update(alive, k, i);
    }
    for (const [addr, object] of k.objects) {
      if (object?.type === 'cnode' || object?.type === 'tcb') continue;
      for (const i of this.byHolder.get(addr) ?? []) this.update(alive, k, i);
    }
    return alive;
  }

  /** The set as a string of fixed length. */
  key(alive: Uint16Array): string {
    let text = '';
    for (let i = 0; i < alive.length; i += keyChunkChars) text += Reflect.apply(String.fromCharCode, null, alive.subarray(i, i + keyChunkChars));
    return text;
  }

  private update(alive: Uint16Array, s: Readable, i: number): void {
    const bit = 1 << (i & 15);
    if (capAt(s, this.slots[i]!).type !== 'null') alive[i >>> 4]! |= bit;
    else alive[i >>> 4]! &= ~bit;
  }
}

/** Which slots of a CNode or TCB are filled and with what: emptied and parked objects differ. */
function holderKey(s: Readable, addr: number): string {
  const object = objectAt(s, addr);
  if (object?.type !== 'cnode' && object?.type !== 'tcb') return '';
  return filledSlots(object).map(({ slot, entry }) => `${slot.index}=${entry.cap.type}`).join(',');
}

/** What a page table or pool holds (its view), for telling revoke results apart. */
function vspaceObjectKey(s: Readable, addr: number): string {
  const object = objectAt(s, addr);
  return object === null ? '' : JSON.stringify(objectView(object));
}

/** A state reached while exploring revoke orders, with what the path to it wrote. */
export interface Explored {
  readonly state: AbstractState;
  readonly log: TouchLog;
}

/** One allowed revoke: always delete the first remaining descendant (depth-first order). */
function revokeInOneOrder(state: AbstractState, slot: SlotRef, log: TouchLog): Explored {
  return { state: run(state, log, (k) => revokeDepthFirst(k, slot)), log };
}

/**
 * cap_revoke deleting the first remaining descendant each time, a preemption point after each
 * deletion. The first descendant in depth-first order is the slot's first child.
 */
function revokeDepthFirst(k: Kernel, slot: SlotRef): void {
  for (;;) {
    const first = capAt(k, slot).type === 'null' ? null : firstChild(k, slot);
    if (first === null) return;
    deleteSlot(k, first);
    preemptionPoint(k, 'revoke');
  }
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
      if (k.preemption?.stopAt != null) {
        // A run that is to stop (no witness): stops are offered along the depth-first order only.
        revokeDepthFirst(k, inv.slot);
        return [{ k, choice: 'revoke in depth-first order (the order preempted runs follow)' }];
      }
      if (k.preemption !== null) k.preemption.uncounted = true;
      return revokeBranches(commit(k), inv.slot, k.log, k.preemption);
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
