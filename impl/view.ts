// What the user and the checker see of the impl: the observation after a kernel entry
// (the caller's state, registers and IPC buffer, and who runs next) and the read-only
// KernelView shared by every layer.
import {
  ipcBufferWords,
  threadStates,
  type KernelView,
  type ObjectView,
  type Observation,
  type SchedulerView,
  type ThreadObservation,
  type Word,
} from '../libsel4/index.ts';
import { cdtParentOf, decodeObject, decodeObjects, decodeSlotCap, type ImplObject } from './decode.ts';
import { irqView } from './interrupt.ts';
import { queuesOf } from './scheduler.ts';
import { NONE, inRam, firstNonZeroUserWord, readUserWord, type ImplState } from './state.ts';
import { ipcBufferAddr, ipcBufferFrame, readRegisters, threadState } from './tcb.ts';
import { translateUser } from './vspace.ts';

export function observe(state: ImplState, caller: number | null, unmodelled: string | null): Observation {
  syncObservedBuffer(state);
  const observation: Observation = {
    current: state.current, caller: caller === null ? null : observeThread(state, caller), unmodelled, restarted: state.restarted,
    fastpath: state.fastpathOutcome,
  };
  return state.preempted === null ? observation : { ...observation, preempted: state.preempted };
}

/** The observation after an access that translated (no kernel entry): with the word loaded, fetched or stored. */
export function observeAccess(state: ImplState, caller: number, word: number): Observation {
  syncObservedBuffer(state);
  return {
    current: state.current, caller: observeThread(state, caller), unmodelled: null, restarted: state.restarted,
    fastpath: state.fastpathOutcome, accessed: word,
  };
}

function observeThread(state: ImplState, tcb: number): ThreadObservation | null {
  if (state.ghost.get(tcb)?.type !== 'tcb') return null;
  const buffer = ipcBufferAddr(state, tcb, 'user');
  return {
    tcb,
    state: threadStates[threadState(state, tcb)]!,
    regs: readRegisters(state, tcb),
    ipcBuffer: buffer === NONE ? null : observeBuffer(state, buffer, ipcBufferFrame(state, tcb)),
  };
}

/**
 * Brings the IPC buffer words observed last up to date with this step's user memory writes,
 * whoever the step observes (a fault message fills a waiting handler's buffer while the
 * faulting thread, maybe without a buffer, is the caller): changed words are copied and
 * patched; a step that zeroed memory (a reset, a new ASID pool) drops them (creating and
 * deleting objects writes no user memory; a frame's memory is zeroed before it is reused).
 * Every step that writes ends in `observe`, and patching again finds nothing new. An observed
 * array is never changed later.
 */
function syncObservedBuffer(state: ImplState): void {
  const last = state.observedBuffer;
  if (last === null) return;
  if (state.zeroed) {
    state.observedBuffer = null;
    return;
  }
  let patched: Word[] | null = null;
  const writes = state.userWrites;
  for (let i = 0; i < writes.length; i++) {
    const paddr = writes.at(i);
    const offset = paddr - last.addr;
    if (offset < 0 || offset >= ipcBufferWords * 4) continue;
    const value = state.mem.get((paddr - state.ramBase) >>> 2);
    if ((patched ?? last.words)[offset >>> 2] === value) continue;
    patched ??= last.words.slice();
    patched[offset >>> 2] = value;
  }
  if (patched !== null) state.observedBuffer = { addr: last.addr, frame: last.frame, words: patched };
}

/** The buffer's words: those observed last while they are this buffer's, else read afresh. */
function observeBuffer(state: ImplState, buffer: number, frame: number): readonly Word[] {
  const last = state.observedBuffer;
  if (last !== null && last.addr === buffer && last.frame === frame) return last.words;
  const words = readBuffer(state, buffer);
  state.observedBuffer = { addr: buffer, frame, words };
  return words;
}

function readBuffer(state: ImplState, buffer: number): Word[] {
  const words = new Array<Word>(ipcBufferWords);
  if (buffer % 4 === 0 && inRam(state, buffer, ipcBufferWords * 4)) {
    const base = (buffer - state.ramBase) >>> 2;
    for (let i = 0; i < ipcBufferWords; i++) words[i] = state.mem.get(base + i);
  } else {
    for (let i = 0; i < ipcBufferWords; i++) words[i] = readUserWord(state, buffer + i * 4);
  }
  return words;
}

/** The view's fields of an object record (the record without the impl's extras). */
function objectView(object: ImplObject): ObjectView {
  switch (object.type) {
    case 'tcb': {
      const { regs: _regs, ...view } = object;
      return view;
    }
    case 'schedcontext': {
      const { configured: _configured, ...view } = object;
      return view;
    }
    default:
      return object;
  }
}

/** The scheduler's globals and queues (the idle thread's SC shows as null). */
function schedulerView(state: ImplState): SchedulerView {
  const { readyQueues, releaseQueue } = queuesOf(state);
  return {
    clockTicks: state.clockTicks,
    curTimeTicks: state.curTimeTicks,
    consumedTicks: state.consumedTicks,
    currentSchedContext: state.curSC === NONE ? null : state.curSC,
    readyQueues,
    releaseQueue,
    timerDeadlineTicks: state.timerDeadlineTicks,
  };
}

export function createView(state: ImplState): KernelView {
  return {
    translate: (thread, vaddr) => translateUser(state, thread, vaddr),
    cap: (slot) => decodeSlotCap(state, slot),
    cdtParent: (slot) => cdtParentOf(state, slot),
    object: (addr) => {
      const object = decodeObject(state, addr);
      return object === null ? null : objectView(object);
    },
    objects: () => decodeObjects(state).map(objectView),
    current: () => state.current,
    userWord: (paddr) => readUserWord(state, paddr),
    nonZeroWord: (from, to) => firstNonZeroUserWord(state, from, to),
    scheduler: () => schedulerView(state),
    irq: (irq) => irqView(state, irq),
    workUnitsCompleted: () => state.workUnitsCompleted,
  };
}
