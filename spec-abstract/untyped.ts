// Untyped memory: Retype carves new objects out of an untyped region (l4v Decode_A
// decode_untyped_invocation, Retype_A retype_region / create_cap, Untyped_AI invoke_untyped).
import {
  InvocationLabel,
  isFrameType,
  objectSizeBits,
  resetChunkBits,
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
import { createCaps, hasChildren, setCap } from './cdt.ts';
import { lookupSlotForCNodeOp } from './cspace.ts';
import { createObject } from './objects.ts';
import { preemptionPoint } from './preemption.ts';
import {
  capAt,
  objectsInRange,
  putObject,
  removeObject,
  slotRef,
  zeroMemory,
  type Kernel,
  type Readable,
} from './state.ts';
import type { InvocationMessage } from './syscall.ts';

export interface RetypeInvocation {
  readonly untypedSlot: SlotRef;
  readonly untyped: CapOf<'untyped'>;
  /** The untyped has no CDT children: its region is reset before allocating. */
  readonly reset: boolean;
  readonly type: seL4_ObjectType;
  readonly userSizeBits: number;
  readonly objectSizeBits: number;
  /** Byte offset in the untyped where the first object goes. */
  readonly firstOffset: number;
  readonly destCNode: number;
  readonly destOffset: number;
  readonly count: number;
}

type Decoded = { readonly invocation: RetypeInvocation } | { readonly error: SyscallError };

/**
 * decode_untyped_invocation: Retype(type, size_bits, node_index, node_depth, node_offset,
 * num_objects) with the root CNode as extra cap 0. Checks in seL4's order (facts §8.2).
 */
export function decodeUntypedInvocation(s: Readable, msg: InvocationMessage, untypedSlot: SlotRef, cap: CapOf<'untyped'>): Decoded {
  const { label, length, mr, extraCaps } = msg;
  if (label !== InvocationLabel.UntypedRetype) return { error: { error: 'IllegalOperation' } };
  if (length < 6 || extraCaps.length < 1) return { error: { error: 'TruncatedMessage' } };
  const newType = mr(0);
  const userSizeBits = mr(1);
  const nodeIndex = mr(2);
  const nodeDepth = mr(3);
  const nodeOffset = mr(4);
  const count = mr(5);
  const T = seL4_ObjectType;

  if (newType >= seL4_ObjectTypeCount) return { error: { error: 'InvalidArgument', argumentIndex: 0 } };
  const type = newType as seL4_ObjectType;
  const sizeBits = userSizeBits >= seL4_WordBits ? null : objectSizeBits(type, userSizeBits);
  if (sizeBits === null || sizeBits > seL4_MaxUntypedBits) return { error: { error: 'RangeError', min: 0, max: seL4_MaxUntypedBits } };
  if (type === T.seL4_CapTableObject && userSizeBits === 0) return { error: { error: 'InvalidArgument', argumentIndex: 1 } };
  if (type === T.seL4_UntypedObject && userSizeBits < seL4_MinUntypedBits) return { error: { error: 'InvalidArgument', argumentIndex: 1 } };
  if (type === T.seL4_SchedContextObject && userSizeBits < seL4_MinSchedContextBits) return { error: { error: 'InvalidArgument', argumentIndex: 1 } };

  const root = extraCaps[0]!.cap;
  let nodeCap = root;
  if (nodeDepth !== 0) {
    const lookup = lookupSlotForCNodeOp(s, false, root, nodeIndex, nodeDepth);
    if ('error' in lookup) return lookup;
    nodeCap = capAt(s, lookup.slot);
  }
  if (nodeCap.type !== 'cnode') {
    return { error: { error: 'FailedLookup', source: false, failure: { type: 'MissingCapability', bitsLeft: nodeDepth } } };
  }
  const nodeSize = 2 ** nodeCap.radix;
  if (nodeOffset > nodeSize - 1) return { error: { error: 'RangeError', min: 0, max: nodeSize - 1 } };
  if (count < 1 || count > seL4_RetypeFanOutLimit) return { error: { error: 'RangeError', min: 1, max: seL4_RetypeFanOutLimit } };
  if (count > nodeSize - nodeOffset) return { error: { error: 'RangeError', min: 1, max: nodeSize - nodeOffset } };
  for (let i = nodeOffset; i < nodeOffset + count; i++) {
    if (capAt(s, slotRef(nodeCap.ptr, i)).type !== 'null') return { error: { error: 'DeleteFirst' } };
  }

  const reset = !hasChildren(s, untypedSlot);
  const freeIndex = reset ? 0 : cap.freeIndex;
  const freeBytes = 2 ** cap.sizeBits - freeIndex;
  if (Math.floor(freeBytes / 2 ** sizeBits) < count) return { error: { error: 'NotEnoughMemory', bytesAvailable: freeBytes } };
  if (cap.isDevice && !isFrameType(type) && type !== T.seL4_UntypedObject) return { error: { error: 'InvalidArgument', argumentIndex: 1 } };

  const objectBytes = 2 ** sizeBits;
  const firstOffset = Math.ceil((cap.ptr + freeIndex) / objectBytes) * objectBytes - cap.ptr;
  return {
    invocation: {
      untypedSlot, untyped: cap, reset, type, userSizeBits, objectSizeBits: sizeBits, firstOffset,
      destCNode: nodeCap.ptr, destOffset: nodeOffset, count,
    },
  };
}

/**
 * reset_untyped_cap: every object in the region is detyped (its memory becomes untyped again);
 * then RAM is zeroed a 2^resetChunkBits chunk at a time from the chunk holding the last used
 * byte down, the free index lowered to the chunk's start and a preemption point after each. A
 * device untyped, or one smaller than a chunk, is done at once (RAM zeroed), with no point.
 * A preemption leaves the free index where it got to: the next attempt starts below it.
 */
function resetUntyped(k: Kernel, slot: SlotRef, cap: CapOf<'untyped'>): void {
  if (cap.freeIndex === 0) return;
  for (const addr of objectsInRange(k, cap.ptr, cap.ptr + 2 ** cap.sizeBits)) removeObject(k, addr);
  if (cap.isDevice || cap.sizeBits < resetChunkBits) {
    if (!cap.isDevice) zeroMemory(k, cap.ptr, 2 ** cap.sizeBits);
    setCap(k, slot, { ...cap, freeIndex: 0 });
    return;
  }
  const chunkBytes = 2 ** resetChunkBits;
  const top = Math.floor((cap.freeIndex - 1) / chunkBytes) * chunkBytes;
  // The chunks from `top` down to `done` are zeroed and the free index lowered to `done` only
  // when a point may stop (or at the end): the same state, without a write per chunk.
  let done = top + chunkBytes;
  const settle = (offset: number): void => {
    if (offset === done) return;
    zeroMemory(k, cap.ptr + offset, done - offset);
    setCap(k, slot, { ...cap, freeIndex: offset });
    done = offset;
  };
  for (let offset = top; offset >= 0; offset -= chunkBytes) preemptionPoint(k, 'reset', () => settle(offset));
  settle(0);
}

/**
 * invoke_untyped Retype: reset if the decode found no children, then place `count` objects
 * back to back from the aligned free index, advance the free index past them, and put an
 * original cap to each, a CDT child of the untyped, into the destination slots in order.
 */
export function performRetype(k: Kernel, inv: RetypeInvocation): void {
  if (inv.reset) resetUntyped(k, inv.untypedSlot, inv.untyped);
  const objectBytes = 2 ** inv.objectSizeBits;
  setCap(k, inv.untypedSlot, { ...inv.untyped, freeIndex: inv.firstOffset + inv.count * objectBytes });
  const dests = Array.from({ length: inv.count }, (_, i) => slotRef(inv.destCNode, inv.destOffset + i));
  createCaps(k, inv.untypedSlot, dests, (i) => {
    const created = createObject(inv.type, inv.untyped.ptr + inv.firstOffset + i * objectBytes, inv.userSizeBits, inv.untyped.isDevice);
    if (created.object !== null) putObject(k, created.object);
    return created.cap;
  });
}
