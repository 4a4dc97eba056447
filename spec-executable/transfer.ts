// Message transfer between two threads (seL4's thread.c doIPCTransfer, doNormalTransfer,
// transferCaps; tcb.c lookupExtraCaps, copyMRs; cnode.c getReceiveSlots).
import {
  badgeRegister,
  IPCBuffer,
  messageInfoFromWordKernel,
  msgInfoRegister,
  msgRegisters,
  seL4_MessageInfo_new,
  seL4_MsgMaxLength,
  type Cap,
  type FaultView,
  type SlotRef,
  type Word,
} from '../libsel4/index.ts';
import { cteInsert, deriveCap } from './cnode.ts';
import { isSyscallError, lookupSlot, lookupTargetSlot } from './cspace.ts';
import { capFault, doFaultTransfer } from './fault.ts';
import { getCap, type ExecState, type Step, type TCBObject } from './state.ts';
import { getRegister, lookupIPCBuffer, readIPCBuffer, setRegisters, writeIPCBuffer } from './tcb.ts';

type Buffer = NonNullable<ReturnType<typeof lookupIPCBuffer>>;

/** An extra cap of the message: the cap and the sender's slot it came from. */
interface ExtraCap {
  readonly cap: Cap;
  readonly slot: SlotRef;
}

/**
 * lookupExtraCaps: the slots named by caps_or_badges[0 .. extraCaps) of the sender's IPC buffer,
 * looked up in its CSpace; the first failed lookup gives its cap fault instead. No buffer means no
 * extra caps.
 */
export function lookupExtraCaps(state: ExecState, tcb: TCBObject, buffer: Buffer | null, extraCaps: number): SlotRef[] | FaultView {
  if (buffer === null) return [];
  const slots: SlotRef[] = [];
  for (let i = 0; i < extraCaps; i++) {
    const found = lookupSlot(state, tcb, readIPCBuffer(state, buffer, IPCBuffer.capsOrBadges + i));
    if (!found.ok) return capFault(readIPCBuffer(state, buffer, IPCBuffer.capsOrBadges + i), false, found.failure);
    slots.push(found.slot);
  }
  return slots;
}

/**
 * copyMRs: MR0-MR3 register to register, the rest IPC buffer word to IPC buffer word when both
 * threads have one. Returns how many words arrived (at most 4 without both buffers).
 */
function copyMRs(k: Step, sender: number, sendBuffer: Buffer | null, receiver: number, receiveBuffer: Buffer | null, length: number): number {
  const senderTCB = k.tcb(sender);
  const inRegisters = Math.min(length, msgRegisters.length);
  setRegisters(k, receiver, msgRegisters.slice(0, inRegisters).map((reg) => [reg, getRegister(senderTCB, reg)] as const));
  if (sendBuffer === null || receiveBuffer === null) return inRegisters;
  const words: [number, Word][] = [];
  for (let i = msgRegisters.length + 1; i <= length; i++) words.push([i, readIPCBuffer(k.state, sendBuffer, i)]);
  writeIPCBuffer(k, receiveBuffer, words);
  return Math.min(length, seL4_MsgMaxLength);
}

/**
 * getReceiveSlots: the receiver's one receive slot, named by its IPC buffer's receiveCNode (a CPtr
 * in its CSpace), receiveIndex and receiveDepth; it must be empty. Any failure means no slot.
 */
function getReceiveSlot(state: ExecState, receiver: TCBObject, buffer: Buffer): SlotRef | null {
  const root = lookupSlot(state, receiver, readIPCBuffer(state, buffer, IPCBuffer.receiveCNode));
  if (!root.ok) return null;
  const index = readIPCBuffer(state, buffer, IPCBuffer.receiveIndex);
  const depth = readIPCBuffer(state, buffer, IPCBuffer.receiveDepth);
  const slot = lookupTargetSlot(state, getCap(state, root.slot), index, depth);
  if (isSyscallError(slot) || getCap(state, slot).type !== 'null') return null;
  return slot;
}

/**
 * transferCaps: each extra cap in order. An endpoint cap to the endpoint the message goes through
 * is unwrapped (its badge into caps_or_badges[i], bit i of capsUnwrapped); any other cap is
 * derived into the receive slot, which takes one cap. It stops at the first cap that cannot be
 * delivered; extraCaps counts those delivered.
 */
function transferCaps(k: Step, caps: readonly ExtraCap[], endpoint: number | null, receiver: number, receiveBuffer: Buffer | null): { extraCaps: number; capsUnwrapped: number } {
  if (receiveBuffer === null || caps.length === 0) return { extraCaps: 0, capsUnwrapped: 0 };
  let slot = getReceiveSlot(k.state, k.tcb(receiver), receiveBuffer);
  let capsUnwrapped = 0;
  for (const [i, { cap, slot: src }] of caps.entries()) {
    if (cap.type === 'endpoint' && cap.ptr === endpoint) {
      writeIPCBuffer(k, receiveBuffer, [[IPCBuffer.capsOrBadges + i, cap.badge]]);
      capsUnwrapped |= 1 << i;
      continue;
    }
    if (slot === null) return { extraCaps: i, capsUnwrapped };
    const derived = deriveCap(k.state, src, cap);
    if (isSyscallError(derived) || derived.type === 'null') return { extraCaps: i, capsUnwrapped };
    cteInsert(k, derived, src, slot);
    slot = null;
  }
  return { extraCaps: caps.length, capsUnwrapped };
}

/**
 * doIPCTransfer: a sender with a pending fault sends its fault message (doFaultTransfer); otherwise
 * doNormalTransfer: the sender's tag, message words and (with Grant) extra caps go to the receiver; the receiver's a1 is
 * the tag with the length copied and the caps delivered, its a0 the badge. `endpoint` is null for
 * a reply, which unwraps nothing.
 */
export function doIPCTransfer(k: Step, sender: number, endpoint: number | null, badge: Word, grant: boolean, receiver: number): void {
  if (k.tcb(sender).fault !== null) return doFaultTransfer(k, badge, sender, receiver);
  const senderTCB = k.tcb(sender);
  const receiveBuffer = lookupIPCBuffer(k.state, k.tcb(receiver), 'receiver');
  const sendBuffer = lookupIPCBuffer(k.state, senderTCB, 'sender');
  const tag = messageInfoFromWordKernel(getRegister(senderTCB, msgInfoRegister));
  const found = grant ? lookupExtraCaps(k.state, senderTCB, sendBuffer, tag.extraCaps) : [];
  const slots = Array.isArray(found) ? found : [];
  const caps = slots.map((slot) => ({ cap: getCap(k.state, slot), slot }));
  const length = copyMRs(k, sender, sendBuffer, receiver, receiveBuffer, tag.length);
  const { extraCaps, capsUnwrapped } = transferCaps(k, caps, endpoint, receiver, receiveBuffer);
  setRegisters(k, receiver, [
    [msgInfoRegister, seL4_MessageInfo_new(tag.label, capsUnwrapped, extraCaps, length)],
    [badgeRegister, badge],
  ]);
}
