// Untyped memory: Retype, with the free index and reset (seL4's untyped.c / Untyped.lhs).
import {
  InvocationLabel,
  isFrameType,
  resetChunkBits,
  objectSizeBits,
  seL4_MaxUntypedBits,
  seL4_MinSchedContextBits,
  seL4_MinUntypedBits,
  seL4_ObjectType,
  seL4_ObjectTypeCount,
  seL4_RetypeFanOutLimit,
  seL4_WordBits,
  type CapOf,
  type SlotRef,
  type SyscallError,
} from '../libsel4/index.ts';
import { hasChildren, insertNewCap } from './cnode.ts';
import { isSyscallError, lookupTargetSlot } from './cspace.ts';
import { createObject } from './objects.ts';
import { Preempted, preemptionPointsInRow } from './preemption.ts';
import { getCap, type ExecState, type Step } from './state.ts';
import type { InvocationArgs } from './syscall.ts';

export interface RetypeInvocation {
  readonly kind: 'retype';
  readonly untyped: SlotRef;
  /** The untyped has no children: its memory is reclaimed (detyped, zeroed) before allocating. */
  readonly reset: boolean;
  readonly objectType: seL4_ObjectType;
  readonly userSize: number;
  readonly objectSizeBits: number;
  /** Address of the first new object (the free pointer aligned up to the object size). */
  readonly base: number;
  readonly destCNode: number;
  readonly destOffset: number;
  readonly count: number;
  readonly isDevice: boolean;
}

function alignUp(value: number, bits: number): number {
  return Math.ceil(value / 2 ** bits) * 2 ** bits;
}

/**
 * decodeUntypedInvocation: checks a Retype in seL4's order. MR0 type, MR1 size_bits, MR2/MR3
 * index and depth of the destination CNode below extra cap 0 (depth 0: that cap itself), MR4
 * first slot, MR5 number of objects.
 */
export function decodeUntypedInvocation(
  state: ExecState,
  args: InvocationArgs,
  untypedSlot: SlotRef,
  untyped: CapOf<'untyped'>,
): RetypeInvocation | SyscallError {
  if (args.label !== InvocationLabel.UntypedRetype) return { error: 'IllegalOperation' };
  if (args.length < 6 || args.extraCaps.length < 1) return { error: 'TruncatedMessage' };
  const newType = args.arg(0);
  const userSize = args.arg(1);
  const nodeIndex = args.arg(2);
  const nodeDepth = args.arg(3);
  const nodeOffset = args.arg(4);
  const nodeWindow = args.arg(5);
  const rootCap = getCap(state, args.extraCaps[0]!);

  if (newType >= seL4_ObjectTypeCount) return { error: 'InvalidArgument', argumentIndex: 0 };
  const objectType = newType as seL4_ObjectType;
  const objSizeBits = objectSizeBits(objectType, userSize);
  if (userSize >= seL4_WordBits || objSizeBits > seL4_MaxUntypedBits) return { error: 'RangeError', min: 0, max: seL4_MaxUntypedBits };
  if (objectType === seL4_ObjectType.seL4_CapTableObject && userSize === 0) return { error: 'InvalidArgument', argumentIndex: 1 };
  if (objectType === seL4_ObjectType.seL4_UntypedObject && userSize < seL4_MinUntypedBits) return { error: 'InvalidArgument', argumentIndex: 1 };
  if (objectType === seL4_ObjectType.seL4_SchedContextObject && userSize < seL4_MinSchedContextBits) {
    return { error: 'InvalidArgument', argumentIndex: 1 };
  }

  let nodeCap = rootCap;
  if (nodeDepth !== 0) {
    const nodeSlot = lookupTargetSlot(state, rootCap, nodeIndex, nodeDepth);
    if (isSyscallError(nodeSlot)) return nodeSlot;
    nodeCap = getCap(state, nodeSlot);
  }
  if (nodeCap.type !== 'cnode') return { error: 'FailedLookup', source: false, failure: { type: 'MissingCapability', bitsLeft: nodeDepth } };

  const nodeSize = 2 ** nodeCap.radix;
  if (nodeOffset > nodeSize - 1) return { error: 'RangeError', min: 0, max: nodeSize - 1 };
  if (nodeWindow < 1 || nodeWindow > seL4_RetypeFanOutLimit) return { error: 'RangeError', min: 1, max: seL4_RetypeFanOutLimit };
  if (nodeWindow > nodeSize - nodeOffset) return { error: 'RangeError', min: 1, max: nodeSize - nodeOffset };
  for (let i = nodeOffset; i < nodeOffset + nodeWindow; i++) {
    if (getCap(state, { cnode: nodeCap.ptr, index: i }).type !== 'null') return { error: 'DeleteFirst' };
  }

  const reset = !hasChildren(state, untypedSlot);
  const freeIndex = reset ? 0 : untyped.freeIndex;
  const freeBytes = 2 ** untyped.sizeBits - freeIndex;
  if (Math.floor(freeBytes / 2 ** objSizeBits) < nodeWindow) return { error: 'NotEnoughMemory', bytesAvailable: freeBytes };
  if (untyped.isDevice && !isFrameType(objectType) && objectType !== seL4_ObjectType.seL4_UntypedObject) {
    return { error: 'InvalidArgument', argumentIndex: 1 };
  }

  return {
    kind: 'retype', untyped: untypedSlot, reset, objectType, userSize, objectSizeBits: objSizeBits,
    base: alignUp(untyped.ptr + freeIndex, objSizeBits), destCNode: nodeCap.ptr, destOffset: nodeOffset,
    count: nodeWindow, isDevice: untyped.isDevice,
  };
}

/**
 * resetUntypedCap: reclaims an untyped whose children are all gone. Every object in its range is
 * detyped (on every attempt, as l4v's delete_objects). Device memory is left alone and RAM of an
 * untyped smaller than a chunk zeroed at once, the free index set to 0, with no preemption point.
 * Otherwise chunk by chunk from the one holding the last used byte down to offset 0: the chunk
 * zeroed, the free index lowered to its start, a preemption point; a stop leaves the free index
 * there, and the next attempt continues below it.
 */
function resetUntypedCap(k: Step, slot: SlotRef): void {
  const cap = k.cap(slot);
  if (cap.type !== 'untyped' || cap.freeIndex === 0) return;
  const sizeBytes = 2 ** cap.sizeBits;
  k.removeObjectsIn(cap.ptr, sizeBytes);
  if (cap.isDevice || cap.sizeBits < resetChunkBits) {
    if (!cap.isDevice) k.clearMemory(cap.ptr, sizeBytes);
    k.setCap(slot, { ...cap, freeIndex: 0 });
    return;
  }
  const chunkBytes = 2 ** resetChunkBits;
  const topOffset = Math.floor((cap.freeIndex - 1) / chunkBytes) * chunkBytes;
  // The points read neither memory nor the cap, so the chunks' writes are made once, where the
  // points end: the state there is the one seL4 has at that point (a copy per chunk would be slow).
  const { passed, stopped } = preemptionPointsInRow(k, 'reset', topOffset / chunkBytes + 1);
  const offset = topOffset - (passed - 1) * chunkBytes;
  k.clearMemory(cap.ptr + offset, topOffset + chunkBytes - offset);
  k.setCap(slot, { ...cap, freeIndex: offset });
  if (stopped) throw new Preempted('reset');
}

/**
 * invokeUntypedRetype: after an optional reset, moves the free index past the new objects, then
 * creates them one by one, each cap going into its destination slot directly after the untyped
 * in the MDB (so the last object created comes first).
 */
export function performUntypedInvocation(k: Step, inv: RetypeInvocation): void {
  if (inv.reset) resetUntypedCap(k, inv.untyped);
  const untyped = k.cap(inv.untyped);
  if (untyped.type !== 'untyped') return;
  const objectBytes = 2 ** inv.objectSizeBits;
  const freeRef = inv.base + inv.count * objectBytes;
  k.setCap(inv.untyped, { ...untyped, freeIndex: freeRef - untyped.ptr });
  for (let i = 0; i < inv.count; i++) {
    const { cap, object } = createObject(inv.objectType, inv.base + i * objectBytes, inv.userSize, inv.isDevice);
    if (object !== null) k.setObject(object);
    insertNewCap(k, inv.untyped, { cnode: inv.destCNode, index: inv.destOffset + i }, cap);
  }
}
