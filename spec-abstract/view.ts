// What the outside sees of the abstract state: the read-only KernelView every layer offers,
// the observation after an entry, and accessors for the refinement checker.
import {
  nullCap,
  seL4_ASIDPoolIndexBits,
  seL4_LargePageBits,
  seL4_PageBits,
  type Cap,
  type PteView,
  type KernelView,
  type ObjectView,
  type Observation,
  type Preemption,
  type SchedulerView,
  type SlotRef,
  type ThreadObservation,
} from '../libsel4/index.ts';
import { ipcBufferAddress, ipcBufferContents } from './tcb.ts';
import { translateUser } from './vspace.ts';
import {
  allObjects,
  entryAt,
  entryIn,
  filledSlots,
  hasSlot,
  holderOf,
  irqLineOf,
  irqNodeOf,
  firstNonZeroWord,
  memoryWord,
  objectAt,
  slotHolderAt,
  tcbAt,
  type AbstractState,
  type KObject,
  type PageTableObject,
  type SchedState,
  type SlotEntry,
  type SlotHolder,
} from './state.ts';

/**
 * A page table's valid entries, as the view shows them. A leaf in a root (a table with the
 * kernel window: only an assigned root gets 4 MiB leaves) maps 4 MiB, in a level-1 table 4 KiB.
 */
function pteViews(table: PageTableObject): PteView[] {
  const leafSizeBits = table.kernelWindow ? seL4_LargePageBits : seL4_PageBits;
  return [...table.ptes.entries()].map(([index, pte]): PteView =>
    pte.kind === 'table'
      ? { index, kind: 'table', table: pte.table }
      : { index, kind: 'page', frame: pte.frame, sizeBits: leafSizeBits, rights: pte.rights, executable: pte.executable },
  );
}

export function objectView(o: KObject): ObjectView {
  switch (o.type) {
    case 'cnode':
      return { type: 'cnode', addr: o.addr, radix: o.radix };
    case 'tcb':
      return {
        type: 'tcb', addr: o.addr, state: o.state, priority: o.priority, mcp: o.mcp, domain: o.domain,
        schedContext: o.schedContext, ipcBufferVaddr: o.ipcBufferVaddr, flags: o.flags, yieldTo: o.yieldTo,
        boundNotification: o.boundNotification, blocking: o.blocking, fault: o.fault,
      };
    case 'endpoint':
      return { type: 'endpoint', addr: o.addr, state: o.state, queue: [...o.queue] };
    case 'notification':
      return { type: 'notification', addr: o.addr, state: o.state, word: o.word, queue: [...o.queue], tcb: o.tcb, schedContext: o.schedContext };
    case 'reply':
      return { type: 'reply', addr: o.addr, tcb: o.tcb, schedContext: o.sc };
    case 'schedcontext': {
      const { configured: _active, ...view } = o;
      return { ...view, refills: o.refills.map((r) => ({ ...r })), replies: [...o.replies] };
    }
    case 'frame':
      return { type: 'frame', addr: o.addr, sizeBits: o.sizeBits, isDevice: o.isDevice };
    case 'pagetable':
      return { type: 'pagetable', addr: o.addr, entries: pteViews(o), kernelWindow: o.kernelWindow };
    case 'asidpool':
      return {
        type: 'asidpool', addr: o.addr, asidBase: o.tableIndex === null ? null : o.tableIndex * 2 ** seL4_ASIDPoolIndexBits,
        entries: o.roots.flatMap((root, low) => (root === null ? [] : [[low, root] as const])),
      };
  }
}

/** The cap in a slot of a CNode or TCB (the null cap if empty); null if there is no such slot. */
export function capInSlot(s: AbstractState, slot: SlotRef): Cap | null {
  if (holderOf(s, slot) === null) return null;
  return entryAt(s, slot)?.cap ?? nullCap;
}

/** The slot's parent in the capability derivation tree. */
export function cdtParent(s: AbstractState, slot: SlotRef): SlotRef | null {
  return entryAt(s, slot)?.parent ?? null;
}

/** The abstract spec's is_original_cap flag of a slot (false for an empty slot). */
export function isOriginalCap(s: AbstractState, slot: SlotRef): boolean {
  return entryAt(s, slot)?.original ?? false;
}

export interface FilledSlot {
  readonly slot: SlotRef;
  readonly cap: Cap;
  readonly parent: SlotRef | null;
  readonly original: boolean;
}

/** Every non-null slot of every CNode and TCB, by holder address then index, then the IRQ node's. */
export function allFilledSlots(s: AbstractState): FilledSlot[] {
  const result: FilledSlot[] = [];
  const add = (holder: SlotHolder) => {
    for (const { slot, entry } of filledSlots(holder)) result.push({ slot, cap: entry.cap, parent: entry.parent, original: entry.original });
  };
  for (const o of allObjects(s)) if (o.type === 'cnode' || o.type === 'tcb') add(o);
  add(irqNodeOf(s));
  return result;
}

export function observeThread(s: AbstractState, tcb: number): ThreadObservation | null {
  const thread = tcbAt(s, tcb);
  if (thread === null) return null;
  const buffer = ipcBufferAddress(s, tcb, 'user');
  return { tcb, state: thread.state, regs: [...thread.regs], ipcBuffer: buffer === null ? null : ipcBufferContents(s, buffer) };
}

export function observe(s: AbstractState, caller: number | null, unmodelled: string | null = null, restarted = false, preempted: Preemption | null = null): Observation {
  const observation = { current: s.current, caller: caller === null ? null : observeThread(s, caller), unmodelled, restarted };
  return preempted === null ? observation : { ...observation, preempted };
}

export function schedulerView(sched: SchedState): SchedulerView {
  const { clockTicks, curTimeTicks, consumedTicks, currentSchedContext, readyQueues, releaseQueue, timerDeadlineTicks } = sched;
  return {
    clockTicks, curTimeTicks, consumedTicks, currentSchedContext, timerDeadlineTicks,
    readyQueues: readyQueues.map((q) => ({ priority: q.priority, threads: [...q.threads] })), releaseQueue: [...releaseQueue],
  };
}

/** The read-only view; it remembers the CNodes and TCBs it has found (the state never changes). */
export function viewOf(s: AbstractState): KernelView {
  const holders = new Map<number, SlotHolder | null>();
  const holder = (addr: number): SlotHolder | null => {
    let found = holders.get(addr);
    if (found === undefined) holders.set(addr, (found = slotHolderAt(s, addr)));
    return found;
  };
  const entry = (slot: SlotRef): SlotEntry | null | undefined => {
    const h = holder(slot.cnode);
    return h === null || !hasSlot(h, slot.index) ? undefined : entryIn(h, slot.index);
  };
  return {
    translate: (thread, vaddr) => translateUser(s, thread, vaddr),
    cap: (slot) => {
      const e = entry(slot);
      return e === undefined ? null : (e?.cap ?? nullCap);
    },
    cdtParent: (slot) => entry(slot)?.parent ?? null,
    object: (addr) => {
      const o = objectAt(s, addr);
      return o === null ? null : objectView(o);
    },
    objects: () => allObjects(s).map(objectView),
    current: () => s.current,
    userWord: (paddr) => memoryWord(s, paddr),
    nonZeroWord: (from, to) => firstNonZeroWord(s, from, to),
    scheduler: () => schedulerView(s.sched),
    irq: (irq) => irqLineOf(s, irq),
    workUnitsCompleted: () => null,
  };
}
