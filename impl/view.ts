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
import { NONE, inRam, readUserWord, type ImplState } from './state.ts';
import { ipcBufferAddr, ipcBufferFrame, readRegisters, threadState } from './tcb.ts';

export function observe(state: ImplState, caller: number | null, unmodelled: string | null): Observation {
  const observation: Observation = {
    current: state.current, caller: caller === null ? null : observeThread(state, caller), unmodelled, restarted: state.restarted,
    fastpath: state.fastpathOutcome,
  };
  return state.preempted === null ? observation : { ...observation, preempted: state.preempted };
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
 * The buffer's words. The last observed array is reused while this step's user memory
 * writes left its words unchanged, and copied and patched otherwise, unless the step created
 * or detyped objects (then it is read afresh). An observed array is never changed later.
 */
function observeBuffer(state: ImplState, buffer: number, frame: number): readonly Word[] {
  const last = state.observedBuffer;
  if (last !== null && last.addr === buffer && last.frame === frame && !state.retyped) {
    let words = last.words;
    let patched: Word[] | null = null;
    for (const paddr of state.userWrites) {
      const offset = paddr - buffer;
      if (offset < 0 || offset >= ipcBufferWords * 4) continue;
      const value = state.mem.get((paddr - state.ramBase) >>> 2);
      if (words[offset >>> 2] === value) continue;
      patched ??= words.slice();
      patched[offset >>> 2] = value;
      words = patched;
    }
    if (patched !== null) state.observedBuffer = { addr: buffer, frame, words: patched };
    return words;
  }
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
    cap: (slot) => decodeSlotCap(state, slot),
    cdtParent: (slot) => cdtParentOf(state, slot),
    object: (addr) => {
      const object = decodeObject(state, addr);
      return object === null ? null : objectView(object);
    },
    objects: () => decodeObjects(state).map(objectView),
    current: () => state.current,
    userWord: (paddr) => readUserWord(state, paddr),
    scheduler: () => schedulerView(state),
    irq: (irq) => irqView(state, irq),
    workUnitsCompleted: () => state.workUnitsCompleted,
  };
}
