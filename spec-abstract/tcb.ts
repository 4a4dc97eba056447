// Threads: their registers, IPC buffer, message registers and thread state, and what
// finalising a TCB does to the thread itself (l4v Tcb_A, TcbAcc_A, IpcCancel_A suspend).
import {
  IPCBuffer,
  ipcBufferWords,
  msgRegisters,
  msgWordIndex,
  numRegisters,
  TCBSlot,
  type ThreadState,
  type UserWrites,
  type Word,
} from '../libsel4/index.ts';
import { unbindSchedContext } from './schedcontext.ts';
import { blockBytes, capAt, memoryBlock, memoryWord, slotRef, tcbAt, updateObject, writeMemoryWord, type Readable, type Kernel } from './state.ts';

/**
 * The physical address of a thread's IPC buffer, or null when it has none: TCB slot 2
 * must hold a non-device frame cap; the buffer sits at the IPC buffer vaddr's offset
 * within that frame.
 */
export function ipcBufferAddress(s: Readable, tcb: number): number | null {
  const thread = tcbAt(s, tcb);
  if (thread === null) return null;
  const frame = capAt(s, slotRef(tcb, TCBSlot.ipcBuffer));
  if (frame.type !== 'frame' || frame.isDevice) return null;
  return frame.ptr + (thread.ipcBufferVaddr % 2 ** frame.sizeBits);
}

export function register(s: Readable, tcb: number, index: number): Word {
  return tcbAt(s, tcb)?.regs[index] ?? 0;
}

/** The 128 words of an IPC buffer (512-byte aligned, so made of whole memory blocks). */
export function ipcBufferContents(s: Readable, buffer: number): Word[] {
  const words: Word[] = [];
  for (let base = buffer; base < buffer + 4 * ipcBufferWords; base += blockBytes) {
    const block = memoryBlock(s, base);
    for (let i = 0; i < blockBytes / 4; i++) words.push(block?.[i] ?? 0);
  }
  return words;
}

/** Message register `i` as the kernel reads it: a2..a5, then the IPC buffer. */
export function getMR(s: Readable, tcb: number, buffer: number | null, i: number): Word {
  if (i < msgRegisters.length) return register(s, tcb, msgRegisters[i]!);
  return buffer === null ? 0 : memoryWord(s, buffer + 4 * msgWordIndex(i));
}

/** The extra-cap CPtr `i` a sender put in its IPC buffer. */
export function extraCapPtr(s: Readable, buffer: number, i: number): Word {
  return memoryWord(s, buffer + 4 * (IPCBuffer.capsOrBadges + i));
}

/** Applies what the user thread did since its last entry: register and IPC buffer writes. */
export function applyUserWrites(k: Kernel, tcb: number, user: UserWrites): void {
  const thread = tcbAt(k, tcb);
  if (thread === null) return;
  const regs = [...thread.regs];
  for (const [index, value] of user.regs) {
    if (Number.isInteger(index) && index >= 0 && index < numRegisters) regs[index] = value >>> 0;
  }
  updateObject(k, tcb, 'tcb', { regs });
  const buffer = ipcBufferAddress(k, tcb);
  if (buffer === null) return;
  for (const [index, value] of user.ipcBuffer) {
    if (Number.isInteger(index) && index >= 0 && index < ipcBufferWords) writeMemoryWord(k, buffer + 4 * index, value);
  }
}

export function setRegister(k: Kernel, tcb: number, index: number, value: Word): void {
  const thread = tcbAt(k, tcb);
  if (thread === null) return;
  const regs = [...thread.regs];
  regs[index] = value >>> 0;
  updateObject(k, tcb, 'tcb', { regs });
}

/** Sets message register `i` of a reply; returns false if it had nowhere to go. */
export function setMR(k: Kernel, tcb: number, buffer: number | null, i: number, value: Word): boolean {
  if (i < msgRegisters.length) {
    setRegister(k, tcb, msgRegisters[i]!, value);
    return true;
  }
  if (buffer === null) return false;
  writeMemoryWord(k, buffer + 4 * msgWordIndex(i), value);
  return true;
}

export function setThreadState(k: Kernel, tcb: number, state: ThreadState): void {
  updateObject(k, tcb, 'tcb', { state });
}

/**
 * What finalising a TCB does to the thread: its scheduling context is unbound and the
 * thread is suspended (Inactive). Its cap slots are deleted by the caller.
 */
export function unbindAndSuspend(k: Kernel, tcb: number): void {
  const thread = tcbAt(k, tcb);
  if (thread === null) return;
  if (thread.schedContext !== null) unbindSchedContext(k, thread.schedContext);
  updateObject(k, tcb, 'tcb', { schedContext: null, state: 'Inactive' });
}
