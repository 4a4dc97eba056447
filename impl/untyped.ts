// Untyped memory and Retype, as seL4's untyped.c. An untyped cap's free index (16-byte
// units, in the cap's second word) marks where the next objects go; memory above it is
// zero. An untyped with no CDT children is reset before a Retype: its objects are detyped,
// its used memory zeroed one 2^resetChunkBits chunk at a time from the top, the free index
// lowered to each chunk's start and a preemption point after each; a preempted reset is
// continued by the next attempt from the free index it left.
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
  type SyscallError,
} from '../libsel4/index.ts';
import { ensureNoChildren, insertNewCap, isNullSlot, slotBytes, slotW0, slotW1, writeCap } from './cnode.ts';
import { lookupSlotForCNodeOp } from './cspace.ts';
import { createObject, ghostObjectOf } from './objects.ts';
import { passQuietPoints, preemptionPoint, quietPoints, statusNone, statusPreempted, type PreemptionStatus } from './preemption.ts';
import { fail, ghostAddRun, ghostClearRange, zeroRange, type ImplState } from './state.ts';
import {
  CapTag,
  capTag,
  cnodePtr,
  cnodeRadix,
  untypedFreeIndex,
  untypedIsDevice,
  untypedPtr,
  untypedSizeBits,
  untypedWithFreeIndex,
} from './structures.ts';
import { syscallArg, type InvocationContext } from './syscall.ts';

export interface RetypeInvocation {
  readonly op: 'retype';
  readonly untyped: number;
  readonly reset: boolean;
  /** Address of the first new object. */
  readonly base: number;
  readonly type: number;
  readonly userSize: number;
  readonly objectSizeBits: number;
  readonly destCNode: number;
  readonly destOffset: number;
  readonly count: number;
  readonly isDevice: boolean;
}

/**
 * decodeUntypedInvocation: Retype(type, size_bits, node_index, node_depth, node_offset,
 * num_objects) with cap 0 the root of the destination CNode lookup. Checks in seL4's order.
 */
export function decodeUntypedInvocation(state: ImplState, ctx: InvocationContext, untyped: number): RetypeInvocation | SyscallError {
  if (ctx.label !== InvocationLabel.UntypedRetype) return { error: 'IllegalOperation' };
  if (ctx.length < 6 || ctx.extraCaps.length < 1) return { error: 'TruncatedMessage' };
  const newType = syscallArg(state, ctx, 0);
  const userSize = syscallArg(state, ctx, 1);
  const nodeIndex = syscallArg(state, ctx, 2);
  const nodeDepth = syscallArg(state, ctx, 3);
  const nodeOffset = syscallArg(state, ctx, 4);
  const nodeWindow = syscallArg(state, ctx, 5);
  const rootSlot = ctx.extraCaps[0]!;

  const T = seL4_ObjectType;
  if (newType >= seL4_ObjectTypeCount) return { error: 'InvalidArgument', argumentIndex: 0 };
  const objectSize = objectSizeBits(newType as seL4_ObjectType, userSize);
  if (userSize >= 32 || objectSize > seL4_MaxUntypedBits) return { error: 'RangeError', min: 0, max: seL4_MaxUntypedBits };
  if (newType === T.seL4_CapTableObject && userSize === 0) return { error: 'InvalidArgument', argumentIndex: 1 };
  if (newType === T.seL4_UntypedObject && userSize < seL4_MinUntypedBits) return { error: 'InvalidArgument', argumentIndex: 1 };
  if (newType === T.seL4_SchedContextObject && userSize < seL4_MinSchedContextBits) return { error: 'InvalidArgument', argumentIndex: 1 };

  let nodeSlot = rootSlot;
  if (nodeDepth !== 0) {
    const found = lookupSlotForCNodeOp(state, false, rootSlot, nodeIndex, nodeDepth);
    if (typeof found !== 'number') return found;
    nodeSlot = found;
  }
  const node0 = slotW0(state, nodeSlot);
  if (capTag(node0) !== CapTag.cnode) {
    return { error: 'FailedLookup', source: false, failure: { type: 'MissingCapability', bitsLeft: nodeDepth } };
  }
  const nodeSize = 2 ** cnodeRadix(slotW1(state, nodeSlot));
  if (nodeOffset > nodeSize - 1) return { error: 'RangeError', min: 0, max: nodeSize - 1 };
  if (nodeWindow < 1 || nodeWindow > seL4_RetypeFanOutLimit) return { error: 'RangeError', min: 1, max: seL4_RetypeFanOutLimit };
  if (nodeWindow > nodeSize - nodeOffset) return { error: 'RangeError', min: 1, max: nodeSize - nodeOffset };
  const destCNode = cnodePtr(node0);
  for (let i = nodeOffset; i < nodeOffset + nodeWindow; i++) {
    if (!isNullSlot(state, destCNode + i * slotBytes)) return { error: 'DeleteFirst' };
  }

  const w0 = slotW0(state, untyped);
  const w1 = slotW1(state, untyped);
  const reset = ensureNoChildren(state, untyped);
  const freeOffset = reset ? 0 : untypedFreeIndex(w1) * 16;
  const freeBytes = 2 ** untypedSizeBits(w1) - freeOffset;
  if (freeBytes >>> objectSize < nodeWindow) return { error: 'NotEnoughMemory', bytesAvailable: freeBytes };
  const isDevice = untypedIsDevice(w1);
  if (isDevice && !isFrameType(newType) && newType !== T.seL4_UntypedObject) return { error: 'InvalidArgument', argumentIndex: 1 };

  const objectBytes = 2 ** objectSize;
  const base = Math.ceil((untypedPtr(w0) + freeOffset) / objectBytes) * objectBytes;
  return {
    op: 'retype', untyped, reset, base, type: newType, userSize, objectSizeBits: objectSize,
    destCNode, destOffset: nodeOffset, count: nodeWindow, isDevice,
  };
}

/**
 * invokeUntyped_Retype: resets the untyped if asked (preemptible: then nothing else is done),
 * moves its free index past the new objects, then creates the objects and puts their caps,
 * newest first, after the untyped.
 */
export function performRetype(state: ImplState, inv: RetypeInvocation): PreemptionStatus {
  if (inv.reset && resetUntypedCap(state, inv.untyped) === statusPreempted) return statusPreempted;
  const w0 = slotW0(state, inv.untyped);
  const objectBytes = 2 ** inv.objectSizeBits;
  const freeRef = inv.base + inv.count * objectBytes;
  if (state.debug && freeRef > untypedPtr(w0) + 2 ** untypedSizeBits(slotW1(state, inv.untyped))) fail('retyped objects beyond their untyped');
  writeCap(state, inv.untyped, w0, untypedWithFreeIndex(slotW1(state, inv.untyped), (freeRef - untypedPtr(w0)) / 16));
  const ghost = ghostObjectOf(inv.type, inv.objectSizeBits, inv.isDevice);
  if (ghost !== null) ghostAddRun(state, inv.base, inv.count, objectBytes, ghost);
  createObjects(state, inv, objectBytes);
  return statusNone;
}

/**
 * The objects and their caps, each after the untyped. A loop of its own: V8 inlines
 * createObject and insertNewCap here (not within performRetype's budget), so no cap record
 * or address is allocated per object.
 */
function createObjects(state: ImplState, inv: RetypeInvocation, objectBytes: number): void {
  for (let i = 0; i < inv.count; i++) {
    const cap = createObject(state, inv.type, inv.base + i * objectBytes, inv.userSize, inv.objectSizeBits, inv.isDevice);
    insertNewCap(state, inv.untyped, inv.destCNode + (inv.destOffset + i) * slotBytes, cap.w0, cap.w1);
  }
}

const chunkBytes = 2 ** resetChunkBits;

/**
 * resetUntypedCap: with a free index above 0, every object in the untyped is detyped; a device
 * untyped (not cleared) or one smaller than a chunk (cleared whole) is freed at once, with no
 * point; any other is cleared chunk by chunk from the one holding its last used byte down to
 * its base, the free index set to each chunk's start before the chunk's preemption point.
 * Chunks whose points would only count (quietPoints) are cleared together, their points
 * passed at once: the state is as chunk by chunk.
 */
export function resetUntypedCap(state: ImplState, slot: number): PreemptionStatus {
  const w0 = slotW0(state, slot);
  const w1 = slotW1(state, slot);
  const usedBytes = untypedFreeIndex(w1) * 16;
  if (usedBytes === 0) return statusNone;
  const base = untypedPtr(w0);
  const sizeBits = untypedSizeBits(w1);
  ghostClearRange(state, base, 2 ** sizeBits);
  if (untypedIsDevice(w1) || sizeBits < resetChunkBits) {
    // seL4 clears the whole block; above the free index it is zero already
    if (!untypedIsDevice(w1)) zeroRange(state, base, usedBytes);
    writeCap(state, slot, w0, untypedWithFreeIndex(w1, 0));
    return statusNone;
  }
  for (let offset = Math.floor((usedBytes - 1) / chunkBytes) * chunkBytes; offset >= 0; offset -= chunkBytes) {
    const quiet = Math.min(quietPoints(state), offset / chunkBytes);
    const lowest = offset - quiet * chunkBytes;
    zeroRange(state, base + lowest, offset + chunkBytes - lowest);
    if (state.debug) checkResetProgress(state, slot, lowest);
    writeCap(state, slot, w0, untypedWithFreeIndex(w1, lowest / 16));
    passQuietPoints(state, quiet);
    if (preemptionPoint(state, 'reset') === statusPreempted) return statusPreempted;
    offset = lowest; // the chunks down to `lowest` are done
  }
  return statusNone;
}

/** Debug, before a reset's point: the free index goes down, to a chunk's start. */
function checkResetProgress(state: ImplState, slot: number, offsetBytes: number): void {
  if (offsetBytes % chunkBytes !== 0) fail(`resetUntypedCap: free offset ${offsetBytes} is not chunk-aligned`);
  if (offsetBytes >= untypedFreeIndex(slotW1(state, slot)) * 16) fail('resetUntypedCap: a preemption point with the free index not lowered');
}
