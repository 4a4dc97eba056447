// Boot: the initial state is the boot plan made concrete (l4v Init_A / KernelInit_A, as
// seL4's boot code lays out the root task; every layer builds the same plan).
import { bootThreadTimeSliceMicroseconds, usToTicks, type BootObject, type BootPlan } from '../libsel4/index.ts';
import { placeCap } from './cdt.ts';
import { initialTcb, unconfiguredSchedContext } from './objects.ts';
import { minRefills } from './schedcontext.ts';
import { schedule } from './scheduler.ts';
import { bootVSpace, emptyAsidPool, emptyPageTable } from './vspace.ts';
import { emptySlotTable, emptyState, putObject, run, setCurrent, slotRef, TouchLog, updateSched, writeMemoryWord, type AbstractState, type KObject } from './state.ts';

function bootObject(o: BootObject, plan: BootPlan): KObject {
  switch (o.type) {
    case 'cnode':
      return { type: 'cnode', addr: o.addr, radix: o.radix, slots: emptySlotTable };
    case 'tcb': {
      const regs = initialTcb(o.addr).regs.slice();
      for (const [index, value] of plan.initialRegs) regs[index] = value >>> 0;
      return {
        ...initialTcb(o.addr), state: 'Running', priority: 255, mcp: 255, schedContext: plan.rootSC,
        ipcBufferVaddr: plan.ipcBufferVaddr, regs,
      };
    }
    case 'schedcontext': {
      // configure_sched_context: round robin, the boot time slice from time 0, MIN_REFILLS.
      const budgetTicks = usToTicks(bootThreadTimeSliceMicroseconds);
      return {
        ...unconfiguredSchedContext(o.addr, o.sizeBits), tcb: plan.rootTCB, configured: true, refillMax: minRefills,
        refills: [{ releaseTicks: 0n, amountTicks: budgetTicks }, { releaseTicks: 0n, amountTicks: 0n }],
      };
    }
    case 'frame':
      return { type: 'frame', addr: o.addr, sizeBits: o.sizeBits, isDevice: false };
    case 'pagetable':
      return emptyPageTable(o.addr);
    case 'asidpool':
      return emptyAsidPool(o.addr);
  }
}

/**
 * The root task's objects, its caps (each root CNode cap an original cap with no CDT
 * parent; the root TCB's CSpace, VSpace and IPC buffer caps non-original children of the
 * root CNode slots they were copied from), the root task's VSpace, the bootinfo words; then, as init_kernel ends,
 * the idle thread current with the root as the scheduler action and the timer to be
 * reprogrammed, and schedule() switches to the root.
 */
export function bootState(plan: BootPlan): AbstractState {
  return run(emptyState(), new TouchLog(), (k) => {
    for (const o of plan.objects) putObject(k, bootObject(o, plan));
    for (const [index, cap] of plan.rootCaps) placeCap(k, cap, slotRef(plan.rootCNode, index), null, true);
    for (const [tcbSlot, rootSlot, cap] of plan.tcbCaps) {
      placeCap(k, cap, slotRef(plan.rootTCB, tcbSlot), slotRef(plan.rootCNode, rootSlot), false);
    }
    bootVSpace(k, plan);
    plan.bootInfoWords.forEach((word, i) => writeMemoryWord(k, plan.bootInfoFrame + 4 * i, word));
    setCurrent(k, null);
    updateSched(k, { action: plan.rootTCB, reprogram: true });
    schedule(k);
  });
}
