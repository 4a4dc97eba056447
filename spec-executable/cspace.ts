// Capability addressing: resolving a CPtr through guarded CNodes (seL4's cspace.c / CSpace.lhs).
import { maskBits, seL4_WordBits, type Cap, type LookupFailure, type SlotRef, type SyscallError, type Word } from '../libsel4/index.ts';
import { getCap, type ExecState, type TCBObject } from './state.ts';

/** The `count` bits of `cptr` just below bit `top` (bits top-1 .. top-count). */
function bitsAt(cptr: Word, top: number, count: number): number {
  return ((cptr >>> (top - count)) & maskBits(count)) >>> 0;
}

export type ResolveResult =
  | { readonly ok: true; readonly slot: SlotRef; readonly bitsRemaining: number }
  | { readonly ok: false; readonly failure: LookupFailure };

/**
 * resolveAddressBits: walks the low `nBits` bits of `cptr`, most significant first, through CNode
 * caps starting at `nodeCap`. Each level checks its guard, then that its guard and radix fit in
 * the bits left, then indexes the CNode. It stops at the slot that uses up the bits (even if that
 * slot holds a CNode cap: this is how a CNode cap itself is named), or early at a slot that holds
 * no CNode cap, reporting the bits still unresolved.
 */
export function resolveAddressBits(state: ExecState, nodeCap: Cap, cptr: Word, nBits: number): ResolveResult {
  if (nodeCap.type !== 'cnode') return { ok: false, failure: { type: 'InvalidRoot' } };
  let node = nodeCap;
  let bitsLeft = nBits;
  for (;;) {
    const levelBits = node.radix + node.guardSize;
    if (node.guardSize > bitsLeft || bitsAt(cptr, bitsLeft, node.guardSize) !== node.guard) {
      return { ok: false, failure: { type: 'GuardMismatch', bitsLeft, guardFound: node.guard, bitsFound: node.guardSize } };
    }
    if (levelBits > bitsLeft) return { ok: false, failure: { type: 'DepthMismatch', bitsLeft, bitsFound: levelBits } };
    const index = bitsAt(cptr, bitsLeft - node.guardSize, node.radix);
    const slot = { cnode: node.ptr, index };
    if (bitsLeft === levelBits) return { ok: true, slot, bitsRemaining: 0 };
    bitsLeft -= levelBits;
    const next = getCap(state, slot);
    if (next.type !== 'cnode') return { ok: true, slot, bitsRemaining: bitsLeft };
    node = next;
  }
}

/**
 * lookupSlot: a thread's own lookup of a CPtr, all 32 bits from its CSpace root (TCB slot 0).
 * Landing on a non-CNode cap with bits left over is accepted.
 */
export function lookupSlot(state: ExecState, thread: TCBObject, cptr: Word): ResolveResult {
  return resolveAddressBits(state, getCap(state, { cnode: thread.addr, index: 0 }), cptr, seL4_WordBits);
}

/**
 * lookupSlotForCNodeOp: a slot named by (root, index, depth) in an invocation's arguments. The
 * root must be a CNode cap and the depth 1..32, and the lookup must use up exactly `depth` bits.
 * `isSource` marks which lookup failed in the error reply.
 */
export function lookupSlotForCNodeOp(state: ExecState, isSource: boolean, root: Cap, cptr: Word, depth: Word): SlotRef | SyscallError {
  if (root.type !== 'cnode') return { error: 'FailedLookup', source: isSource, failure: { type: 'InvalidRoot' } };
  if (depth < 1 || depth > seL4_WordBits) return { error: 'RangeError', min: 1, max: seL4_WordBits };
  const result = resolveAddressBits(state, root, cptr, depth);
  if (!result.ok) return { error: 'FailedLookup', source: isSource, failure: result.failure };
  if (result.bitsRemaining !== 0) {
    return { error: 'FailedLookup', source: isSource, failure: { type: 'DepthMismatch', bitsLeft: result.bitsRemaining, bitsFound: 0 } };
  }
  return result.slot;
}

export function lookupTargetSlot(state: ExecState, root: Cap, cptr: Word, depth: Word): SlotRef | SyscallError {
  return lookupSlotForCNodeOp(state, false, root, cptr, depth);
}

export function lookupSourceSlot(state: ExecState, root: Cap, cptr: Word, depth: Word): SlotRef | SyscallError {
  return lookupSlotForCNodeOp(state, true, root, cptr, depth);
}

export function lookupPivotSlot(state: ExecState, root: Cap, cptr: Word, depth: Word): SlotRef | SyscallError {
  return lookupSlotForCNodeOp(state, true, root, cptr, depth);
}

export function isSyscallError<T extends object>(value: T | SyscallError): value is SyscallError {
  return 'error' in value;
}
