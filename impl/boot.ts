// Boot, as seL4's boot.c: materialises the boot plan (the same for every layer) in memory:
// the IRQ table (init_irqs: the timer's IRQ Timer, the rest Inactive), the root task's
// objects, its caps at seL4's initial slots, its VSpace (the kernel window, ASID 1 in pool 0,
// the mapped boot page tables and frames), its TCB and scheduling context, and the bootinfo
// frame.
import { bootThreadTimeSliceMicroseconds, rootTaskPriority, seL4_SlotBits, seL4_TCBBits, usToTicks, type BootObject, type BootPlan } from '../libsel4/index.ts';
import { cteInsert, placeOriginalCap, slotBytes } from './cnode.ts';
import { initIRQs } from './interrupt.ts';
import { schedule } from './scheduler.ts';
import { minRefills, refillNew, setScTcb } from './schedcontext.ts';
import { beginStep, createState, ghostAdd, writeUserWord, type GhostObject, type ImplState } from './state.ts';
import { encodeCap } from './structures.ts';
import { bootVSpace, kernelRootPageTable } from './vspace.ts';
import { ThreadStateNum, initThread, setTcbSchedContext, setThreadState, tcbSlot } from './tcb.ts';

function ghostOf(object: BootObject): GhostObject {
  switch (object.type) {
    case 'cnode':
      return { type: 'cnode', sizeBits: object.radix + seL4_SlotBits, isDevice: false };
    case 'tcb':
      return { type: 'tcb', sizeBits: seL4_TCBBits, isDevice: false };
    case 'frame':
    case 'schedcontext':
      return { type: object.type, sizeBits: object.sizeBits, isDevice: false };
    case 'pagetable':
    case 'asidpool':
      return { type: object.type, sizeBits: 12, isDevice: false };
  }
}

/**
 * The initial state: root CNode caps each the root of its own derivation tree, the root
 * TCB's CSpace, VSpace and IPC buffer caps copied from them, the root thread Running at
 * priority and MCP 255 on the root SC (configure_sched_context: round robin, MIN_REFILLS, the
 * boot thread time slice, released at 0), and the bootinfo words written. Boot ends as
 * init_kernel does: the idle thread current, the root the scheduler action, ksReprogram set,
 * then schedule (the root runs on its SC and the timer deadline is programmed).
 */
export function bootState(plan: BootPlan, debug: boolean, recordTouched: boolean): ImplState {
  const state = createState(plan.config.memory.base, plan.config.memory.sizeBytes, debug, recordTouched, plan.config.fastpath, plan.config.maxWorkUnitsPerPreemption);
  initIRQs(state);
  for (const object of plan.objects) ghostAdd(state, object.addr, ghostOf(object));

  const rootSlot = (index: number) => plan.rootCNode + index * slotBytes;
  const rootCaps = plan.rootCaps.map(([index, cap]) => ({ index, ...encodeCap(cap, debug) }));
  for (const { index, w0, w1 } of rootCaps) placeOriginalCap(state, rootSlot(index), w0, w1);
  state.kernelRoot.set(kernelRootPageTable(state.ramBase));
  bootVSpace(state, plan.vspaceRoot, plan.asidPool, rootCaps);
  for (const [index, source, cap] of plan.tcbCaps) {
    const { w0, w1 } = encodeCap(cap, debug);
    cteInsert(state, w0, w1, rootSlot(source), tcbSlot(plan.rootTCB, index));
  }

  setTcbSchedContext(state, plan.rootTCB, plan.rootSC);
  refillNew(state, plan.rootSC, minRefills, usToTicks(bootThreadTimeSliceMicroseconds), 0n);
  setScTcb(state, plan.rootSC, plan.rootTCB);
  initThread(state, plan.rootTCB, { priority: rootTaskPriority, mcp: rootTaskPriority, ipcBufferVaddr: plan.ipcBufferVaddr, regs: plan.initialRegs });
  setThreadState(state, plan.rootTCB, ThreadStateNum.Running);
  plan.bootInfoWords.forEach((word, i) => writeUserWord(state, plan.bootInfoFrame, plan.bootInfoFrame + i * 4, word));

  state.current = null;
  state.schedulerAction = plan.rootTCB;
  state.reprogram = true;
  schedule(state);
  beginStep(state);
  return state;
}
