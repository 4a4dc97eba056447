// Threads: state, registers and IPC buffer of a TCB (seL4's tcb.c / thread.c, the parts modelled so far).
import { ipcBufferWords, TCBSlot, type ThreadState, type Word } from '../libsel4/index.ts';
import { ipcBufferAddress } from './objects.ts';
import { getCap, getTCB, userWord, type ExecState, type Step, type TCBObject } from './state.ts';

export function setThreadState(k: Step, tcbAddr: number, state: ThreadState): void {
  const tcb = k.tcb(tcbAddr);
  if (tcb.state !== state) k.setObject({ ...tcb, state });
}

/** Writes registers (seL4_UserContext indices; other indices are ignored). */
export function setRegisters(k: Step, tcbAddr: number, writes: ReadonlyArray<readonly [number, Word]>): void {
  if (writes.length === 0) return;
  const tcb = k.tcb(tcbAddr);
  const regs = tcb.regs.slice();
  for (const [index, value] of writes) if (Number.isInteger(index) && index >= 0 && index < regs.length) regs[index] = value >>> 0;
  k.setObject({ ...tcb, regs });
}

export function getRegister(tcb: TCBObject, index: number): Word {
  return tcb.regs[index] ?? 0;
}

/** Where the thread's IPC buffer is: the frame holding it and the buffer's address, or null. */
export function lookupIPCBuffer(state: ExecState, tcb: TCBObject): { frame: number; addr: number } | null {
  const bufferCap = getCap(state, { cnode: tcb.addr, index: TCBSlot.ipcBuffer });
  const addr = ipcBufferAddress(bufferCap, tcb.ipcBufferVaddr);
  return addr === null || bufferCap.type !== 'frame' ? null : { frame: bufferCap.ptr, addr };
}

export function readIPCBuffer(state: ExecState, buffer: { addr: number }, index: number): Word {
  return userWord(state, buffer.addr + 4 * index);
}

/** Writes IPC buffer words (word index, value); indices outside the 128-word buffer are ignored. */
export function writeIPCBuffer(k: Step, buffer: { frame: number; addr: number }, writes: ReadonlyArray<readonly [number, Word]>): void {
  for (const [index, value] of writes) {
    if (!Number.isInteger(index) || index < 0 || index >= ipcBufferWords) continue;
    k.setWord(buffer.addr + 4 * index, value);
    k.touchObject(buffer.frame);
  }
}

/** The 128 words of a thread's IPC buffer, or null if it has none. */
export function ipcBufferContents(state: ExecState, tcbAddr: number): Word[] | null {
  const tcb = getTCB(state, tcbAddr);
  const buffer = tcb === null ? null : lookupIPCBuffer(state, tcb);
  if (buffer === null) return null;
  const words = new Array<Word>(ipcBufferWords);
  for (let i = 0; i < ipcBufferWords; i++) words[i] = readIPCBuffer(state, buffer, i);
  return words;
}

/** suspend: the thread stops and will not run again until resumed (no IPC to cancel yet). */
export function suspend(k: Step, tcbAddr: number): void {
  setThreadState(k, tcbAddr, 'Inactive');
}
