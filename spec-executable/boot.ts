// Boot: materialises the shared boot plan as an executable-spec state (seL4's boot.c, root task part).
import { Map as IMap } from 'immutable';
import { bootThreadTimeSliceMicroseconds, usToTicks, type BootObject, type BootPlan, type Word } from '../libsel4/index.ts';
import { cteInsert } from './cnode.ts';
import { emptySchedContext, emptyTCB } from './objects.ts';
import { minRefills, refillNew, schedContextAt } from './schedcontext.ts';
import { schedule } from './scheduler.ts';
import { bootVSpace } from './vspace.ts';
import { RadixMap } from '../libsel4/radix-map.ts';
import { asidTableSize, initialSchedState, interruptsAtBoot, Step, type ExecState, type KObject, type Slot } from './state.ts';

function bootObject(obj: BootObject): KObject {
  switch (obj.type) {
    case 'cnode':
      return { type: 'cnode', addr: obj.addr, radix: obj.radix, slots: IMap<number, Slot>() };
    case 'tcb':
      return emptyTCB(obj.addr);
    case 'frame':
      return { type: 'frame', addr: obj.addr, sizeBits: obj.sizeBits, isDevice: false };
    case 'pagetable':
      return { type: 'pagetable', addr: obj.addr, entries: [], kernelWindow: false };
    case 'asidpool':
      return { type: 'asidpool', addr: obj.addr, asidBase: null, entries: [] };
    case 'schedcontext':
      return emptySchedContext(obj.addr, obj.sizeBits);
  }
}

/**
 * The root task's start: its objects, the initial caps in the root CNode (each the root of its
 * own derivation tree, revocable and firstBadged), the root TCB's CSpace, VSpace and IPC buffer
 * caps inserted after the root CNode caps they are copied from, the thread Running at priority
 * and MCP 255 on its scheduling context (round robin, 5 ms, from time 0: configure_sched_context),
 * the root VSpace (ASID 1 in pool 0, the boot page tables and frames mapped), and the bootinfo frame filled in. Boot ends as init_kernel does: the idle thread is current, the
 * root is the scheduler action, the timer must be programmed, and schedule() runs.
 */
export function boot(plan: BootPlan): ExecState {
  const k = new Step({
    objects: RadixMap.of(plan.objects.map((obj) => [obj.addr, bootObject(obj)] as const)),
    memory: RadixMap.of<Word>(),
    current: null,
    sched: initialSchedState,
    asidTable: new Array<number | null>(asidTableSize).fill(null),
    interrupts: interruptsAtBoot,
    workUnitsCompleted: 0,
    maxWorkUnitsPerPreemption: plan.config.maxWorkUnitsPerPreemption,
  });
  for (const [index, cap] of plan.rootCaps) {
    k.setSlot({ cnode: plan.rootCNode, index }, { cap, mdb: { prev: null, next: null, revocable: true, firstBadged: true } });
  }
  bootVSpace(k, plan.rootCaps, plan.vspaceRoot, plan.asidPool);
  for (const [tcbSlot, rootSlot, cap] of plan.tcbCaps) {
    cteInsert(k, cap, { cnode: plan.rootCNode, index: rootSlot }, { cnode: plan.rootTCB, index: tcbSlot });
  }

  const tcb = k.tcb(plan.rootTCB);
  const regs = tcb.regs.slice();
  for (const [index, value] of plan.initialRegs) regs[index] = value >>> 0;
  k.setObject({
    ...tcb, state: 'Running', priority: 255, mcp: 255, domain: 0, schedContext: plan.rootSC,
    ipcBufferVaddr: plan.ipcBufferVaddr, regs,
  });
  const sc = schedContextAt(k, plan.rootSC);
  const budgetTicks = usToTicks(bootThreadTimeSliceMicroseconds);
  k.setObject({ ...refillNew(sc, minRefills, budgetTicks, 0n, k.sched.curTimeTicks), tcb: plan.rootTCB });
  plan.bootInfoWords.forEach((word, i) => k.setWord(plan.bootInfoFrame + 4 * i, word));
  k.action = { kind: 'switchTo', tcb: plan.rootTCB };
  k.reprogram = true;
  schedule(k);
  return k.state;
}
