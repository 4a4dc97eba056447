// Boot: materialises the shared boot plan as an executable-spec state (seL4's boot.c, root task part).
import { Map as IMap } from 'immutable';
import type { BootObject, BootPlan, Word } from '../libsel4/index.ts';
import { cteInsert } from './cnode.ts';
import { emptyTCB } from './objects.ts';
import { Step, type ExecState, type KObject, type Slot } from './state.ts';

function bootObject(obj: BootObject): KObject {
  switch (obj.type) {
    case 'cnode':
      return { type: 'cnode', addr: obj.addr, radix: obj.radix, slots: IMap<number, Slot>() };
    case 'tcb':
      return emptyTCB(obj.addr);
    case 'frame':
      return { type: 'frame', addr: obj.addr, sizeBits: obj.sizeBits, isDevice: false };
    case 'pagetable':
      return { type: 'pagetable', addr: obj.addr };
    case 'asidpool':
      return { type: 'asidpool', addr: obj.addr };
    case 'schedcontext':
      return { type: 'schedcontext', addr: obj.addr, sizeBits: obj.sizeBits, tcb: null, configured: false };
  }
}

/**
 * The root task's start: its objects, the initial caps in the root CNode (each the root of its
 * own derivation tree, revocable and firstBadged), the root TCB's CSpace, VSpace and IPC buffer
 * caps inserted after the root CNode caps they are copied from, the thread Running at priority
 * and MCP 255 on its configured scheduling context, and the bootinfo frame filled in.
 */
export function boot(plan: BootPlan): ExecState {
  const k = new Step({
    objects: IMap<number, KObject>(plan.objects.map((obj) => [obj.addr, bootObject(obj)] as const)),
    memory: IMap<number, Word>(),
    current: null,
  });
  for (const [index, cap] of plan.rootCaps) {
    k.setSlot({ cnode: plan.rootCNode, index }, { cap, mdb: { prev: null, next: null, revocable: true, firstBadged: true } });
  }
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
  const sc = k.object(plan.rootSC);
  if (sc !== null && sc.type === 'schedcontext') k.setObject({ ...sc, tcb: plan.rootTCB, configured: true });
  plan.bootInfoWords.forEach((word, i) => k.setWord(plan.bootInfoFrame + 4 * i, word));
  k.setCurrent(plan.rootTCB);
  return k.state;
}
