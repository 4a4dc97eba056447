// CSpace addressing, as seL4's cspace.c: resolving the bits of a CPtr through a tree of
// CNode caps (guard first, then radix), the thread lookup used for invoked and extra caps
// (32 bits from the thread's CSpace root, remaining bits accepted at a non-CNode cap), and
// the CNode-operation lookup (a caller-given root and depth, the address must resolve fully).
import type { SyscallError } from '../libsel4/index.ts';
import { slotW0, slotW1, slotBytes } from './cnode.ts';
import { NONE, fail, type ImplState } from './state.ts';
import { CapTag, capTag, cnodeGuard, cnodeGuardSize, cnodePtr, cnodeRadix } from './structures.ts';
import { tcbSlot } from './tcb.ts';

/**
 * resolveAddressBits: walks `nBits` low bits of `cptr`, most significant first, from the
 * CNode cap (root0, root1). Returns the slot reached, with `state.bitsRemaining` the bits not
 * consumed (non-zero when the walk stopped at a non-CNode cap), or NONE with
 * `state.lookupFault` set.
 */
export function resolveAddressBits(state: ImplState, root0: number, root1: number, cptr: number, nBits: number): number {
  state.bitsRemaining = nBits;
  if (capTag(root0) !== CapTag.cnode) {
    state.lookupFault = { type: 'InvalidRoot' };
    return NONE;
  }
  let w0 = root0;
  let w1 = root1;
  for (;;) {
    const radix = cnodeRadix(w1);
    const guardSize = cnodeGuardSize(w1);
    const levelBits = radix + guardSize;
    if (levelBits === 0) fail('a CNode cap that resolves no bits'); // no such cap can be made
    const capGuard = cnodeGuard(w1);
    const guard = guardSize === 0 ? 0 : (cptr >>> ((nBits - guardSize) & 31)) & ((1 << guardSize) - 1);
    if (guardSize > nBits || guard !== capGuard) {
      state.lookupFault = { type: 'GuardMismatch', bitsLeft: nBits, guardFound: capGuard, bitsFound: guardSize };
      return NONE;
    }
    if (levelBits > nBits) {
      state.lookupFault = { type: 'DepthMismatch', bitsLeft: nBits, bitsFound: levelBits };
      return NONE;
    }
    const offset = (cptr >>> (nBits - levelBits)) & (radix === 0 ? 0 : 0xffffffff >>> (32 - radix));
    const slot = cnodePtr(w0) + offset * slotBytes;
    if (nBits === levelBits) {
      state.bitsRemaining = 0;
      return slot;
    }
    nBits -= levelBits;
    w0 = slotW0(state, slot);
    w1 = slotW1(state, slot);
    if (capTag(w0) !== CapTag.cnode) {
      state.bitsRemaining = nBits;
      return slot;
    }
  }
}

/** lookupSlot: a thread's lookup of `cptr`, all 32 bits from its CSpace root (TCB slot 0). */
export function lookupSlot(state: ImplState, tcb: number, cptr: number): number {
  const root = tcbSlot(tcb, 0);
  return resolveAddressBits(state, slotW0(state, root), slotW1(state, root), cptr, 32);
}

/**
 * lookupSlotForCNodeOp: `cptr` resolved to exactly `depth` bits from the CNode cap in
 * `rootSlot`. Failures are FailedLookup errors flagged with `isSource`, or RangeError for a
 * depth outside 1..32.
 */
export function lookupSlotForCNodeOp(state: ImplState, isSource: boolean, rootSlot: number, cptr: number, depth: number): number | SyscallError {
  const root0 = slotW0(state, rootSlot);
  if (capTag(root0) !== CapTag.cnode) return { error: 'FailedLookup', source: isSource, failure: { type: 'InvalidRoot' } };
  if (depth < 1 || depth > 32) return { error: 'RangeError', min: 1, max: 32 };
  const slot = resolveAddressBits(state, root0, slotW1(state, rootSlot), cptr, depth);
  if (slot === NONE) return { error: 'FailedLookup', source: isSource, failure: state.lookupFault };
  if (state.bitsRemaining !== 0) {
    return { error: 'FailedLookup', source: isSource, failure: { type: 'DepthMismatch', bitsLeft: state.bitsRemaining, bitsFound: 0 } };
  }
  return slot;
}
