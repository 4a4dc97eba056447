// Message transfer, as seL4's thread.c (doIPCTransfer, doNormalTransfer, transferCaps,
// doNBRecvFailedTransfer), tcb.c (lookupExtraCaps, copyMRs), cnode.c (getReceiveSlots) and
// vspace.c (lookupIPCBuffer). A sender with a pending fault sends its fault message instead
// (doFaultTransfer, fault.ts).
import {
  IPCBuffer,
  Reg,
  badgeRegister,
  msgInfoRegister,
  msgRegisters,
  seL4_MsgMaxExtraCaps,
  seL4_MsgMaxLength,
} from '../libsel4/index.ts';
import { cteInsert, slotW0, slotW1 } from './cnode.ts';
import { lookupSlot, lookupSlotForCNodeOp } from './cspace.ts';
import { deriveCap } from './objects.ts';
import { NONE, readUserWord, writeUserWord, type ImplState } from './state.ts';
import { CapTag, capTag, endpointBadge, endpointPtr, pagePtr } from './structures.ts';
import { doFaultTransfer } from './fault.ts';
import { getRegister, ipcBufferAddr, setRegister, tcbHasFault, tcbSlot } from './tcb.ts';

function bufferFrame(state: ImplState, tcb: number): number {
  return pagePtr(slotW1(state, tcbSlot(tcb, 2)));
}

const noSlots: readonly number[] = Object.freeze([]);

/** lookupExtraCaps failed: the CPtr that did not resolve (`state.lookupFault` says why). */
export interface ExtraCapFault {
  readonly faultCPtr: number;
}

/**
 * lookupExtraCaps: the slots named by caps_or_badges[0 .. extraCaps - 1] of the buffer (none
 * without a buffer), or the first CPtr that does not resolve.
 */
export function lookupExtraCaps(state: ImplState, thread: number, buffer: number, info: number): readonly number[] | ExtraCapFault {
  const count = buffer === NONE ? 0 : (info >>> 7) & 0x3;
  if (count === 0) return noSlots;
  const slots: number[] = [];
  for (let i = 0; i < count; i++) {
    const cptr = readUserWord(state, buffer + (IPCBuffer.capsOrBadges + i) * 4);
    const slot = lookupSlot(state, thread, cptr);
    if (slot === NONE) return { faultCPtr: cptr };
    slots.push(slot);
  }
  return slots;
}

/** messageInfoFromWord's length: clamped to seL4_MsgMaxLength. */
export function messageLength(info: number): number {
  return Math.min(info & 0x7f, seL4_MsgMaxLength);
}

/** copyMRs: registers a2-a5, then buffer words when both threads have one; returns the number copied. */
function copyMRs(state: ImplState, sender: number, sendBuffer: number, receiver: number, receiveBuffer: number, n: number): number {
  let i = 0;
  for (; i < n && i < msgRegisters.length; i++) setRegister(state, receiver, msgRegisters[i]!, getRegister(state, sender, msgRegisters[i]!));
  if (receiveBuffer === NONE || sendBuffer === NONE) return i;
  const frame = bufferFrame(state, receiver);
  for (; i < n; i++) {
    const offset = (IPCBuffer.msg + i) * 4;
    writeUserWord(state, frame, receiveBuffer + offset, readUserWord(state, sendBuffer + offset));
  }
  return i;
}

/**
 * getReceiveSlots: the empty slot the receiver's buffer names (receiveCNode looked up in its
 * CSpace, then receiveIndex / receiveDepth in that CNode), or NONE.
 */
function getReceiveSlot(state: ImplState, receiver: number, buffer: number): number {
  const root = lookupSlot(state, receiver, readUserWord(state, buffer + IPCBuffer.receiveCNode * 4));
  if (root === NONE) return NONE;
  const index = readUserWord(state, buffer + IPCBuffer.receiveIndex * 4);
  const depth = readUserWord(state, buffer + IPCBuffer.receiveDepth * 4);
  const slot = lookupSlotForCNodeOp(state, false, root, index, depth);
  if (typeof slot !== 'number' || capTag(slotW0(state, slot)) !== CapTag.null) return NONE;
  return slot;
}

/**
 * transferCaps: each extra cap in order: an endpoint cap to `ep` is unwrapped into its badge;
 * another is derived and inserted into the receive slot (one at most). Returns the tag's
 * extraCaps and capsUnwrapped fields, as bits [8:7] and [11:9].
 */
function transferCaps(state: ImplState, caps: readonly number[], ep: number, receiver: number, receiveBuffer: number): number {
  if (caps.length === 0 || receiveBuffer === NONE) return 0;
  let dest = getReceiveSlot(state, receiver, receiveBuffer);
  let unwrapped = 0;
  let i = 0;
  for (; i < caps.length && i < seL4_MsgMaxExtraCaps; i++) {
    const slot = caps[i]!;
    const cap = { w0: slotW0(state, slot), w1: slotW1(state, slot) };
    if (capTag(cap.w0) === CapTag.endpoint && endpointPtr(cap.w1) === ep) {
      writeUserWord(state, bufferFrame(state, receiver), receiveBuffer + (IPCBuffer.capsOrBadges + i) * 4, endpointBadge(cap.w0));
      unwrapped |= 1 << i;
      continue;
    }
    if (dest === NONE) break;
    if (deriveCap(state, slot, cap) !== null || capTag(cap.w0) === CapTag.null) break;
    cteInsert(state, cap.w0, cap.w1, slot, dest);
    dest = NONE;
  }
  return (unwrapped << 9) | (i << 7);
}

/**
 * doIPCTransfer / doNormalTransfer (a faulted sender: doFaultTransfer): the sender's tag, message words and (with Grant) extra
 * caps go to the receiver; its a1 gets label, length copied, extraCaps and capsUnwrapped,
 * its a0 the badge. `ep` is the endpoint the message travels through (NONE for a reply).
 */
export function doIPCTransfer(state: ImplState, sender: number, ep: number, badge: number, grant: boolean, receiver: number): void {
  const receiveBuffer = ipcBufferAddr(state, receiver, 'receiver');
  if (tcbHasFault(state, sender)) {
    doFaultTransfer(state, badge, sender, receiver, receiveBuffer);
    return;
  }
  const sendBuffer = ipcBufferAddr(state, sender, 'sender');
  const info = getRegister(state, sender, msgInfoRegister);
  const found = grant ? lookupExtraCaps(state, sender, sendBuffer, info) : noSlots;
  const caps = 'faultCPtr' in found ? noSlots : found;
  const length = copyMRs(state, sender, sendBuffer, receiver, receiveBuffer, messageLength(info));
  const capFields = transferCaps(state, caps, ep, receiver, receiveBuffer);
  setRegister(state, receiver, msgInfoRegister, ((info & ~0xfff) | capFields | length) >>> 0);
  setRegister(state, receiver, badgeRegister, badge >>> 0);
}

/** doNBRecvFailedTransfer: a non-blocking receive that found nothing gets badge 0. */
export function doNBRecvFailedTransfer(state: ImplState, thread: number): void {
  setRegister(state, thread, Reg.a0, 0);
}
