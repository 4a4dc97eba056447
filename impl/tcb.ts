// Thread control blocks, as seL4's tcb.c and thread.c (the parts modelled so far).
//
// Memory layout of a TCB (1 KiB, 1 KiB aligned):
//   0x000  slot 0 CSpace root, 1 VSpace root, 2 IPC buffer frame, 3 fault handler,
//          4 timeout handler (16 bytes each, see cnode.ts)
//   0x200  thread state (index in libsel4's threadStates: Inactive 0, Running 1, Restart 2, ...)
//   0x204  priority
//   0x208  maximum controlled priority (MCP)
//   0x20C  domain
//   0x210  scheduling context: link (address | 1), 0 if none
//   0x214  IPC buffer virtual address
//   0x240  the 32 registers, seL4_UserContext order (128 bytes)
// Everything else is zero. A new TCB (all zero) is Inactive with priority 0, no SC, no caps.
import { numRegisters, tcbSlotCount, threadStates, type ObjectView, type ThreadState, type Word } from '../libsel4/index.ts';
import { deleteSlot, slotBytes, slotW0, slotW1 } from './cnode.ts';
import { NONE, fail, linkTarget, linkWord, markObject, readWord, writeObjectWord, type ImplState } from './state.ts';
import { CapTag, capTag, frameIsDevice, frameSizeBits, pagePtr } from './structures.ts';
import { setScTcb } from './schedcontext.ts';

const STATE = 0x200;
const PRIORITY = 0x204;
const MCP = 0x208;
const DOMAIN = 0x20c;
const SCHED_CONTEXT = 0x210;
const IPC_BUFFER_VADDR = 0x214;
const REGISTERS = 0x240;

export const ThreadStateNum = Object.fromEntries(threadStates.map((s, i) => [s, i])) as { readonly [K in ThreadState]: number };

export function tcbSlot(tcb: number, index: number): number {
  return tcb + index * slotBytes;
}

export function threadState(state: ImplState, tcb: number): number {
  return readWord(state, tcb + STATE);
}

export function setThreadState(state: ImplState, tcb: number, ts: number): void {
  writeObjectWord(state, tcb, STATE, ts);
}

export function getRegister(state: ImplState, tcb: number, reg: number): Word {
  return readWord(state, tcb + REGISTERS + reg * 4);
}

export function setRegister(state: ImplState, tcb: number, reg: number, value: Word): void {
  writeObjectWord(state, tcb, REGISTERS + reg * 4, value);
}

/** The user's register writes, in order; writes to registers that do not exist are ignored. */
export function setRegisters(state: ImplState, tcb: number, regs: ReadonlyArray<readonly [number, Word]>): void {
  const base = (tcb + REGISTERS - state.ramBase) >>> 2;
  let written = false;
  for (let i = 0; i < regs.length; i++) {
    const reg = regs[i]![0];
    if (reg >>> 0 !== reg || reg >= numRegisters) continue;
    state.mem.set(base + reg, regs[i]![1] >>> 0);
    written = true;
  }
  if (written) markObject(state, tcb);
}

export function tcbSchedContext(state: ImplState, tcb: number): number {
  return linkTarget(readWord(state, tcb + SCHED_CONTEXT));
}

export function setTcbSchedContext(state: ImplState, tcb: number, sc: number): void {
  writeObjectWord(state, tcb, SCHED_CONTEXT, linkWord(sc));
}

/** The fields a root thread starts with (boot); a retyped TCB keeps its all-zero state. */
export function initThread(state: ImplState, tcb: number, fields: {
  priority: number; mcp: number; ipcBufferVaddr: number; regs: ReadonlyArray<readonly [number, Word]>;
}): void {
  writeObjectWord(state, tcb, PRIORITY, fields.priority);
  writeObjectWord(state, tcb, MCP, fields.mcp);
  writeObjectWord(state, tcb, IPC_BUFFER_VADDR, fields.ipcBufferVaddr >>> 0);
  for (const [reg, value] of fields.regs) setRegister(state, tcb, reg, value >>> 0);
}

/**
 * The thread's IPC buffer as a physical address, or NONE: TCB slot 2 must hold a non-device
 * frame cap; the buffer sits at the IPC buffer vaddr's offset inside that frame.
 */
export function ipcBufferAddr(state: ImplState, tcb: number): number {
  const slot = tcbSlot(tcb, 2);
  const w0 = slotW0(state, slot);
  if (capTag(w0) !== CapTag.frame || frameIsDevice(w0)) return NONE;
  return pagePtr(slotW1(state, slot)) + (readWord(state, tcb + IPC_BUFFER_VADDR) & ((1 << frameSizeBits(w0)) - 1));
}

/** The frame holding the thread's IPC buffer (for marking user memory writes). */
export function ipcBufferFrame(state: ImplState, tcb: number): number {
  return pagePtr(slotW1(state, tcbSlot(tcb, 2)));
}

/**
 * Finalising a thread (its last cap deleted): its scheduling context is unbound, it becomes
 * Inactive, and its five slots are deleted from the last down (skipped when this TCB is
 * already being finalised: a cycle through its own slots).
 */
export function finaliseThread(state: ImplState, tcb: number): void {
  const sc = tcbSchedContext(state, tcb);
  if (sc !== NONE) {
    setScTcb(state, sc, NONE);
    setTcbSchedContext(state, tcb, NONE);
  }
  setThreadState(state, tcb, ThreadStateNum.Inactive);
  if (state.finalising.has(tcb)) return;
  state.finalising.add(tcb);
  for (let index = tcbSlotCount - 1; index >= 0; index--) deleteSlot(state, tcbSlot(tcb, index));
  state.finalising.delete(tcb);
}

/** A TCB's fields as the view shows them, plus its registers. */
export type TcbRecord = Omit<Extract<ObjectView, { readonly type: 'tcb' }>, 'type' | 'addr' | 'flags' | 'yieldTo'> & { readonly regs: readonly Word[] };

/** The TCB's fields as plain data. */
export function decodeTcb(state: ImplState, tcb: number): TcbRecord {
  const sc = tcbSchedContext(state, tcb);
  return {
    state: threadStates[threadState(state, tcb)] ?? fail(`TCB ${tcb.toString(16)} has an invalid thread state`),
    priority: readWord(state, tcb + PRIORITY),
    mcp: readWord(state, tcb + MCP),
    domain: readWord(state, tcb + DOMAIN),
    schedContext: sc === NONE ? null : sc,
    ipcBufferVaddr: readWord(state, tcb + IPC_BUFFER_VADDR),
    regs: readRegisters(state, tcb),
  };
}

export function readRegisters(state: ImplState, tcb: number): Word[] {
  const base = (tcb + REGISTERS - state.ramBase) >>> 2;
  const regs = new Array<Word>(numRegisters);
  for (let i = 0; i < numRegisters; i++) regs[i] = state.mem.get(base + i);
  return regs;
}
