// Capability addressing: resolving a CPtr through a graph of CNodes to a slot
// (l4v CSpace_A resolve_address_bits, lookup_slot_for_thread, lookup_slot_for_cnode_op).
import { seL4_WordBits, TCBSlot, type Cap, type LookupFailure, type SlotRef, type SyscallError, type Word } from '../libsel4/index.ts';
import { capAt, slotRef, type Readable } from './state.ts';

export type Resolved =
  | { readonly ok: true; readonly slot: SlotRef; readonly bitsRemaining: number }
  | { readonly ok: false; readonly failure: LookupFailure };

/** `width` bits of `word` starting `offset` bits above bit 0. */
function bitField(word: Word, offset: number, width: number): number {
  if (width === 0) return 0;
  return Math.floor(word / 2 ** offset) % 2 ** width;
}

/**
 * resolve_address_bits: consume the low `nBits` bits of `cptr`, most significant first,
 * starting at CNode cap `nodeCap`. Each CNode consumes its guard, then `radix` bits of
 * index; the walk goes on through CNode caps until the bits run out. Bits may remain when
 * the walk stops at a slot that does not hold a CNode cap.
 */
export function resolveAddressBits(s: Readable, nodeCap: Cap, cptr: Word, nBits: number): Resolved {
  if (nodeCap.type !== 'cnode') return { ok: false, failure: { type: 'InvalidRoot' } };
  const { guardSize, guard, radix } = nodeCap;
  if (guardSize > nBits || bitField(cptr, nBits - guardSize, guardSize) !== guard) {
    return { ok: false, failure: { type: 'GuardMismatch', bitsLeft: nBits, guardFound: guard, bitsFound: guardSize } };
  }
  const levelBits = guardSize + radix;
  if (levelBits > nBits) return { ok: false, failure: { type: 'DepthMismatch', bitsLeft: nBits, bitsFound: levelBits } };
  const bitsRemaining = nBits - levelBits;
  const slot = slotRef(nodeCap.ptr, bitField(cptr, bitsRemaining, radix));
  if (bitsRemaining === 0) return { ok: true, slot, bitsRemaining };
  const next = capAt(s, slot);
  if (next.type !== 'cnode') return { ok: true, slot, bitsRemaining };
  return resolveAddressBits(s, next, cptr, bitsRemaining);
}

/** lookup_slot_for_thread: a CPtr resolved with all 32 bits from the thread's CSpace root. */
export function lookupSlotForThread(s: Readable, tcb: number, cptr: Word): Resolved {
  const root = capAt(s, slotRef(tcb, TCBSlot.cspace));
  return resolveAddressBits(s, root, cptr, seL4_WordBits);
}

/**
 * lookup_slot_for_cnode_op: a slot named by (root, index, depth) for a CNode operation;
 * the walk must end exactly at the depth. `isSource` marks which lookup failed.
 */
export function lookupSlotForCNodeOp(s: Readable, isSource: boolean, root: Cap, index: Word, depth: Word): { slot: SlotRef } | { error: SyscallError } {
  if (root.type !== 'cnode') return { error: { error: 'FailedLookup', source: isSource, failure: { type: 'InvalidRoot' } } };
  if (depth < 1 || depth > seL4_WordBits) return { error: { error: 'RangeError', min: 1, max: seL4_WordBits } };
  const resolved = resolveAddressBits(s, root, index, depth);
  if (!resolved.ok) return { error: { error: 'FailedLookup', source: isSource, failure: resolved.failure } };
  if (resolved.bitsRemaining !== 0) {
    return { error: { error: 'FailedLookup', source: isSource, failure: { type: 'DepthMismatch', bitsLeft: resolved.bitsRemaining, bitsFound: 0 } } };
  }
  return { slot: resolved.slot };
}
