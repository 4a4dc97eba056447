// Message transfer between two threads (l4v Ipc_A do_ipc_transfer, do_normal_transfer,
// lookup_extra_caps, transfer_caps; Tcb_A copy_mrs; CSpace_A get_receive_slots; seL4's
// thread.c). A sender with a pending fault sends its fault message instead (do_fault_transfer).
import {
  badgeRegister,
  IPCBuffer,
  messageInfoFromWordKernel,
  msgInfoRegister,
  msgRegisters,
  msgWordIndex,
  seL4_MessageInfo_new,
  type Cap,
  type LookupFailure,
  type SlotRef,
  type Word,
  type seL4_MessageInfo,
} from '../libsel4/index.ts';
import { cteInsert, hasChildren } from './cdt.ts';
import { lookupSlotForCNodeOp, lookupSlotForThread } from './cspace.ts';
import { deriveCap } from './objects.ts';
import { makeFaultMsg } from './fault.ts';
import { capAt, memoryWord, tcbAt, writeMemoryWord, type Kernel, type Readable } from './state.ts';
import { extraCapPtr, ipcBufferAddress, register, setMR, setRegister } from './tcb.ts';

/** An extra cap of a message, with the sender's slot it was found in. */
export interface ExtraCap {
  readonly cap: Cap;
  readonly slot: SlotRef;
}

/**
 * lookup_extra_caps: the caps named by the first `extraCaps` CPtrs of the sender's IPC buffer
 * (none without a buffer), or the first CPtr whose lookup failed.
 */
export function lookupExtraCaps(
  s: Readable,
  tcb: number,
  buffer: number | null,
  info: seL4_MessageInfo,
): { caps: ExtraCap[] } | { failedCptr: Word; failure: LookupFailure } {
  const caps: ExtraCap[] = [];
  if (buffer === null) return { caps };
  for (let i = 0; i < info.extraCaps; i++) {
    const cptr = extraCapPtr(s, buffer, i);
    const found = lookupSlotForThread(s, tcb, cptr);
    if (!found.ok) return { failedCptr: cptr, failure: found.failure };
    caps.push({ cap: capAt(s, found.slot), slot: found.slot });
  }
  return { caps };
}

/**
 * copy_mrs: the first `length` message registers, a2-a5 register to register, the rest IPC
 * buffer to IPC buffer when both threads have one. Returns how many were copied.
 */
function copyMRs(k: Kernel, sender: number, senderBuffer: number | null, receiver: number, receiverBuffer: number | null, length: number): number {
  const inRegisters = Math.min(length, msgRegisters.length);
  for (let i = 0; i < inRegisters; i++) setRegister(k, receiver, msgRegisters[i]!, register(k, sender, msgRegisters[i]!));
  if (senderBuffer === null || receiverBuffer === null) return inRegisters;
  for (let i = msgRegisters.length; i < length; i++) {
    const offset = 4 * msgWordIndex(i);
    writeMemoryWord(k, receiverBuffer + offset, memoryWord(k, senderBuffer + offset));
  }
  return length;
}

/**
 * get_receive_slots: the empty slot the receiver names in its IPC buffer (the CNode cap at the
 * receive root CPtr, then index and depth within it), or null if there is none.
 */
function getReceiveSlot(s: Readable, receiver: number, buffer: number): SlotRef | null {
  const root = lookupSlotForThread(s, receiver, memoryWord(s, buffer + 4 * IPCBuffer.receiveCNode));
  if (!root.ok) return null;
  const index = memoryWord(s, buffer + 4 * IPCBuffer.receiveIndex);
  const depth = memoryWord(s, buffer + 4 * IPCBuffer.receiveDepth);
  const target = lookupSlotForCNodeOp(s, false, capAt(s, root.slot), index, depth);
  if ('error' in target || capAt(s, target.slot).type !== 'null') return null;
  return target.slot;
}

/**
 * transfer_caps: the extra caps in order. A cap to the endpoint the message goes through is
 * unwrapped (its badge into the receiver's caps_or_badges word, its capsUnwrapped bit set);
 * another is derived and inserted into the receive slot, which takes one cap. The first cap
 * that finds no slot or does not derive stops the transfer. Returns the caps handled and the
 * unwrapped bits.
 */
function transferCaps(k: Kernel, caps: readonly ExtraCap[], endpoint: number | null, receiver: number, buffer: number | null): { extraCaps: number; capsUnwrapped: number } {
  if (buffer === null) return { extraCaps: 0, capsUnwrapped: 0 };
  let slot = getReceiveSlot(k, receiver, buffer);
  let capsUnwrapped = 0;
  let handled = 0;
  for (const { cap, slot: source } of caps) {
    if (cap.type === 'endpoint' && cap.ptr === endpoint) {
      writeMemoryWord(k, buffer + 4 * (IPCBuffer.capsOrBadges + handled), cap.badge);
      capsUnwrapped |= 1 << handled;
    } else {
      if (slot === null) break;
      const derived = deriveCap(cap, hasChildren(k, source));
      if ('error' in derived || derived.cap.type === 'null') break;
      cteInsert(k, derived.cap, source, slot);
      slot = null;
    }
    handled++;
  }
  return { extraCaps: handled, capsUnwrapped };
}

/**
 * do_fault_transfer: the sender's fault message (label the fault type, no caps), words from MR4
 * on only into a receiver IPC buffer; the receiver's a0 gets the badge.
 */
function doFaultTransfer(k: Kernel, sender: number, badge: Word, receiver: number, receiverBuffer: number | null): void {
  const fault = tcbAt(k, sender)!.fault!;
  const { label, words } = makeFaultMsg(k, sender, fault);
  let sent = 0;
  while (sent < words.length && setMR(k, receiver, receiverBuffer, sent, words[sent]!)) sent++;
  setRegister(k, receiver, msgInfoRegister, seL4_MessageInfo_new(label, 0, 0, sent));
  setRegister(k, receiver, badgeRegister, badge);
}

/**
 * do_ipc_transfer: a fault transfer if the sender has a fault pending; else (a normal transfer): the sender's message info (length clamped), its message
 * registers, and with `grant` its extra caps (looked up again now; a failed lookup sends none)
 * go to the receiver; the receiver's a1 gets the label, the length copied and the caps
 * handled, its a0 the badge. `endpoint` is null for a reply.
 */
export function doIPCTransfer(k: Kernel, sender: number, endpoint: number | null, badge: Word, grant: boolean, receiver: number): void {
  const receiverBuffer = ipcBufferAddress(k, receiver, 'receiver');
  if (tcbAt(k, sender)!.fault !== null) return doFaultTransfer(k, sender, badge, receiver, receiverBuffer);
  const senderBuffer = ipcBufferAddress(k, sender, 'sender');
  const info = messageInfoFromWordKernel(register(k, sender, msgInfoRegister));
  const extra = grant ? lookupExtraCaps(k, sender, senderBuffer, info) : { caps: [] };
  const caps = 'caps' in extra ? extra.caps : [];
  const length = copyMRs(k, sender, senderBuffer, receiver, receiverBuffer, info.length);
  const transferred = transferCaps(k, caps, endpoint, receiver, receiverBuffer);
  setRegister(k, receiver, msgInfoRegister, seL4_MessageInfo_new(info.label, transferred.capsUnwrapped, transferred.extraCaps, length));
  setRegister(k, receiver, badgeRegister, badge);
}
