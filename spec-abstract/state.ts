// The abstract kernel state and its small, immutable building blocks.
//
// State shape. The containers are persistent maps in address order (RadixMap, a radix trie:
// a write copies one short path whatever the state's size, and the entries in an address range
// are found without visiting the others), so a step costs the same on a large state as on a small one:
//
//   AbstractState
//   ├─ heap      address → KObject (l4v's kheap).
//   │              KObject = cnode | tcb | endpoint | notification | reply | schedcontext
//   │                        | frame | pagetable | asidpool, each with its address `addr`.
//   │              CNodes and TCBs hold their cap slots in `slots`: index → SlotEntry, the
//   │              filled slots only (an index without an entry holds the null cap).
//   │              SlotEntry = { cap, parent, original, children }:
//   │                cap       the capability (never the null cap: an empty slot has no entry),
//   │                parent    the slot's parent in the capability derivation tree (CDT) or null,
//   │                original  the abstract spec's is_original_cap flag,
//   │                children  the slots whose parent is this slot, by slot address (a RadixMap:
//   │                          adding or removing one child costs the same among 20,000 as among 2).
//   │              Untyped memory is not an object: an untyped cap names a region.
//   ├─ capRefs   address → the slots holding a cap that names the object there (all caps with a
//   │              `ptr` except untyped caps; an IRQ handler cap under its IRQ node slot's
//   │              address). A derived index that makes "final" cheap to decide.
//   ├─ memory    address → the 32 words of a 128-byte block of user-visible physical memory (IPC
//   │              buffers, bootinfo); words of absent blocks read as zero.
//   ├─ asidTable riscv_asid_table: ASID table index (the ASID's high bits) → ASID pool address, or null.
//   ├─ current   ksCurThread: TCB address of the thread that runs next, or null (idle).
//   ├─ sched     time and the scheduler's queues (SchedState below).
//   ├─ irqs      per IRQ 0..maxIRQ: interrupt_states and the PLIC's pending and claimed bits.
//   └─ irqNode   interrupt_irq_node: one cap slot per IRQ, named (irqNodeRef, irq); no object.
//
// A slot is named by (address of the CNode or TCB holding it, index); `slotAddr` (seL4's cte
// pointer, holder + 16 · index) identifies it uniquely because objects never overlap.
//
// Kernel operations work on a `Kernel`: the state they started from plus their writes so
// far, committed at the end with one `immer.produce` that stores the changed maps.
// Reading functions take a `Readable` (a state, or a Kernel whose writes they read through),
// so reads never go through immer drafts.
import { castDraft, Immer } from 'immer';
import { RadixMap } from '../libsel4/radix-map.ts';
import {
  irqAtBoot,
  irqNodeRef,
  maxIRQ,
  nullCap,
  seL4_NumASIDPoolsBits,
  seL4_SlotBits,
  type BlockingView,
  type FaultView,
  type EndpointState,
  type IrqView,
  type ObjectView,
  type Preemption,
  type SchedulerView,
  tcbSlotCount,
  type Cap,
  type SlotRef,
  type ThreadState,
  type Touched,
  type VMRights,
  type Word,
} from '../libsel4/index.ts';
import type { PreemptionRun } from './preemption.ts';
import type { WitnessOracle } from './witness.ts';

/** The layer's immer instance: no auto-freezing (copies stay cheap), no global settings. */
export const immer = new Immer({ autoFreeze: false });

export interface SlotEntry {
  readonly cap: Cap;
  readonly parent: SlotRef | null;
  readonly original: boolean;
  readonly children: RadixMap<SlotRef>;
}

/** The filled slots of a CNode or TCB by index. */
export type SlotTable = RadixMap<SlotEntry>;

export interface CNodeObject {
  readonly type: 'cnode';
  readonly addr: number;
  readonly radix: number;
  readonly slots: SlotTable;
}

export interface TCBObject {
  readonly type: 'tcb';
  readonly addr: number;
  readonly state: ThreadState;
  readonly priority: number;
  readonly mcp: number;
  readonly domain: number;
  /** Bound scheduling context. */
  readonly schedContext: number | null;
  /** tcbFlags (SetFlags). */
  readonly flags: Word;
  /** tcbYieldTo: the scheduling context this thread yielded to. */
  readonly yieldTo: number | null;
  /** tcbBoundNotification. */
  readonly boundNotification: number | null;
  /** The thread state's data (l4v's BlockedOn* arguments): non-null exactly when the state is BlockedOn*. */
  readonly blocking: BlockingView | null;
  /** tcbFault: the pending fault, null when none (the view's FaultView). */
  readonly fault: FaultView | null;
  readonly ipcBufferVaddr: Word;
  /** seL4_UserContext, 32 words. */
  readonly regs: readonly Word[];
  readonly slots: SlotTable;
}

/** An endpoint: l4v's IdleEP, SendEP queue or RecvEP queue (the queue is empty exactly when Idle). */
export interface EndpointObject {
  readonly type: 'endpoint';
  readonly addr: number;
  readonly state: EndpointState;
  readonly queue: readonly number[];
}

/**
 * A notification: the fields of its view (l4v's ntfn_obj: IdleNtfn, WaitingNtfn queue or
 * ActiveNtfn word; bound TCB and SC). The word is 0 unless Active; Active with word 0 is a
 * badge-0 signal pending.
 */
export type NotificationObject = Extract<ObjectView, { type: 'notification' }>;

export interface ReplyObject {
  readonly type: 'reply';
  readonly addr: number;
  /** reply_tcb. */
  readonly tcb: number | null;
  /** reply_sc: the SC whose call stack (sc_replies) this reply heads. */
  readonly sc: number | null;
  /** The SC whose call stack holds this reply anywhere (l4v's sc_with_reply, kept as an index). */
  readonly stack: number | null;
}

/** A scheduling context: the fields of its view (refills head first), and whether it is active. */
export type SchedContextObject = Extract<ObjectView, { type: 'schedcontext' }> & {
  /** sc_active, i.e. refillMax > 0 (kept as a field for the refinement checker's comparison). */
  readonly configured: boolean;
};

export interface FrameObject {
  readonly type: 'frame';
  readonly addr: number;
  readonly sizeBits: number;
  readonly isDevice: boolean;
}

/**
 * A valid page-table entry (l4v's PageTablePTE and PagePTE; InvalidPTE is an absent entry):
 * a next-level table, or a leaf mapping `frame` (4 KiB in a level-1 table, 4 MiB in a root)
 * with its VM rights and whether it is executable.
 */
export type Pte =
  | { readonly kind: 'table'; readonly table: number }
  | { readonly kind: 'page'; readonly frame: number; readonly rights: VMRights; readonly executable: boolean };

/** A page table (a VSpace root or a level-1 table): its valid entries by index. */
export interface PageTableObject {
  readonly type: 'pagetable';
  readonly addr: number;
  /** Valid entries by index (0..1023); entries 512..1023 of a root are the kernel window instead. */
  readonly ptes: RadixMap<Pte>;
  /** Entries 512..1023 hold the kernel window's (copy_global_mappings). */
  readonly kernelWindow: boolean;
}

/** An ASID pool: the VSpace root of each low ASID (asidLowBits), or null. */
export interface AsidPoolObject {
  readonly type: 'asidpool';
  readonly addr: number;
  readonly roots: readonly (number | null)[];
  /** The ASID table index naming this pool, or null (kept as an index of `asidTable`). */
  readonly tableIndex: number | null;
}

export type KObject =
  | CNodeObject
  | TCBObject
  | EndpointObject
  | NotificationObject
  | ReplyObject
  | SchedContextObject
  | FrameObject
  | PageTableObject
  | AsidPoolObject;

/** interrupt_irq_node: the IRQ node's cap slots, one per IRQ 0..maxIRQ (not an object). */
export interface IrqNode {
  readonly type: 'irqnode';
  readonly addr: number;
  readonly slots: SlotTable;
}

/** What holds cap slots: a CNode, a TCB, or the IRQ node. */
export type SlotHolder = CNodeObject | TCBObject | IrqNode;

/** One IRQ line: interrupt_states and the interrupt controller's bits, as the view shows it. */
export type IrqLine = IrqView;

/**
 * Time and the scheduler (l4v's cur_time, consumed_time, cur_sc, ready_queues,
 * release_queue, scheduler_action, reprogram_timer, and the machine's clock and timer).
 * Every entry ends with the action 'resume' and reprogram false (schedule resets both).
 */
export interface SchedState extends SchedulerView {
  /** ksSchedulerAction: resume the current thread, choose a new one, or switch to this TCB. */
  readonly action: SchedulerAction;
  /** ksReprogram. */
  readonly reprogram: boolean;
}

export interface AbstractState {
  readonly heap: RadixMap<KObject>;
  readonly capRefs: RadixMap<readonly SlotRef[]>;
  /** 128-byte blocks by base address. */
  readonly memory: RadixMap<readonly Word[]>;
  /** riscv_asid_table: 2^asidHighBits entries, each an ASID pool address or null. */
  readonly asidTable: readonly (number | null)[];
  readonly current: number | null;
  readonly sched: SchedState;
  /** By IRQ, 0..maxIRQ. */
  readonly irqs: readonly IrqLine[];
  readonly irqNode: IrqNode;
}

export const initialSched: SchedState = Object.freeze({
  clockTicks: 0n, curTimeTicks: 0n, consumedTicks: 0n, currentSchedContext: null, readyQueues: [], releaseQueue: [], timerDeadlineTicks: null,
  action: 'resume', reprogram: false,
});

/** The ASID table with no pool. */
export const emptyAsidTable: readonly (number | null)[] = Object.freeze(new Array<number | null>(2 ** seL4_NumASIDPoolsBits).fill(null));

/** Bytes per block of `memory`. */
export const blockBytes = 128;

/** The IRQ lines as boot leaves them: the timer's Timer, every other Inactive, none pending or claimed. */
const bootIrqs: readonly IrqLine[] = Object.freeze(Array.from({ length: maxIRQ + 1 }, (_, irq) => Object.freeze(irqAtBoot(irq))));

const emptyIrqNode: IrqNode = Object.freeze({ type: 'irqnode', addr: irqNodeRef, slots: RadixMap.of<SlotEntry>() });

export function emptyState(): AbstractState {
  return {
    heap: RadixMap.of(), capRefs: RadixMap.of(), memory: RadixMap.of(), asidTable: emptyAsidTable, current: null, sched: initialSched,
    irqs: bootIrqs, irqNode: emptyIrqNode,
  };
}

/** A slot's children when it has none. */
export const noChildren: RadixMap<SlotRef> = RadixMap.of();

// ---- keys -------------------------------------------------------------------------------

/** seL4's cte pointer of a slot: identifies a slot across the state. */
export function slotAddr(slot: SlotRef): number {
  return slot.cnode + slot.index * 2 ** seL4_SlotBits;
}

export function sameSlot(a: SlotRef | null, b: SlotRef | null): boolean {
  return a === b || (a !== null && b !== null && a.cnode === b.cnode && a.index === b.index);
}

export function slotRef(cnode: number, index: number): SlotRef {
  return { cnode, index };
}

/** The slot table of a new CNode or TCB: every slot null. */
export const emptySlotTable: SlotTable = RadixMap.of();

// ---- reading ----------------------------------------------------------------------------

/** Anything the state can be read from: a state, or kernel operations under way. */
export type Readable = AbstractState | Kernel;

function isKernel(s: Readable): s is Kernel {
  return 'base' in s;
}

export function objectAt(s: Readable, addr: number): KObject | null {
  if (!isKernel(s)) return s.heap.get(addr) ?? null;
  const pending = s.objects.get(addr);
  return pending !== undefined ? pending : (s.base.heap.get(addr) ?? null);
}

export function tcbAt(s: Readable, addr: number): TCBObject | null {
  const o = objectAt(s, addr);
  return o?.type === 'tcb' ? o : null;
}

/** Number of slots of a CNode, TCB or the IRQ node. */
export function slotCount(holder: SlotHolder): number {
  // A CNode's radix is at most 25 (its object is at most 2^29 bytes), so the shift is exact.
  if (holder.type === 'irqnode') return maxIRQ + 1;
  return holder.type === 'cnode' ? 1 << holder.radix : tcbSlotCount;
}

/** The IRQ node as written so far. */
export function irqNodeOf(s: Readable): IrqNode {
  if (isKernel(s)) return s.irqNode ?? s.base.irqNode;
  return s.irqNode;
}

/** The CNode or TCB at `addr` (or the IRQ node, at irqNodeRef), if there is one. */
export function slotHolderAt(s: Readable, addr: number): SlotHolder | null {
  if (addr === irqNodeRef) return irqNodeOf(s);
  const o = objectAt(s, addr);
  return o?.type === 'cnode' || o?.type === 'tcb' ? o : null;
}

export function hasSlot(holder: SlotHolder, index: number): boolean {
  return index >= 0 && index < slotCount(holder) && Number.isInteger(index);
}

/** The CNode or TCB holding `slot`, if the slot exists. */
export function holderOf(s: Readable, slot: SlotRef): SlotHolder | null {
  const holder = slotHolderAt(s, slot.cnode);
  return holder !== null && hasSlot(holder, slot.index) ? holder : null;
}

/** The entry of slot `index` of a CNode or TCB (null if empty). */
export function entryIn(holder: SlotHolder, index: number): SlotEntry | null {
  return holder.slots.get(index) ?? null;
}

export function entryAt(s: Readable, slot: SlotRef): SlotEntry | null {
  const holder = holderOf(s, slot);
  return holder === null ? null : entryIn(holder, slot.index);
}

/** The cap in a slot; the null cap for an empty or nonexistent slot. */
export function capAt(s: Readable, slot: SlotRef): Cap {
  return entryAt(s, slot)?.cap ?? nullCap;
}

/** Non-null slots of a CNode, TCB or the IRQ node, by increasing index. */
export function filledSlots(holder: SlotHolder): { slot: SlotRef; entry: SlotEntry }[] {
  return [...holder.slots.entries()].map(([index, entry]) => ({ slot: slotRef(holder.addr, index), entry }));
}

export function allObjects(s: Readable): KObject[] {
  if (!isKernel(s)) return [...s.heap.values()];
  const written = [...s.objects.values()].filter((o): o is KObject => o !== null);
  return [...allObjects(s.base).filter((o) => !s.objects.has(o.addr)), ...written].sort((a, b) => a.addr - b.addr);
}

/** Addresses of the objects in [start, end), unordered. */
export function objectsInRange(s: Readable, start: number, end: number): number[] {
  const inRange = (addr: number) => addr >= start && addr < end;
  if (isKernel(s)) {
    const result = objectsInRange(s.base, start, end).filter((addr) => !s.objects.has(addr));
    for (const [addr, o] of s.objects) if (o !== null && inRange(addr)) result.push(addr);
    return result;
  }
  return [...s.heap.keysInRange(start, end)];
}

/** Slots holding a cap that names the object at `ptr` (untyped caps excluded). */
export function slotsNaming(s: Readable, ptr: number): readonly SlotRef[] {
  if (isKernel(s)) return s.capRefs.get(ptr) ?? slotsNaming(s.base, ptr);
  return s.capRefs.get(ptr) ?? [];
}

/** The 32 words of the 128-byte block at `base`, or null if it reads as zero. */
export function memoryBlock(s: Readable, base: number): readonly Word[] | null {
  if (isKernel(s)) return s.memory.get(base) ?? memoryBlock(s.base, base);
  return s.memory.get(base) ?? null;
}

/** The lowest word address in [from, to) whose word is not zero, or null (a committed state's blocks). */
export function firstNonZeroWord(s: AbstractState, from: number, to: number): number | null {
  const start = Math.ceil(from / 4) * 4;
  for (const [base, words] of s.memory.entriesInRange(start - (start % blockBytes), to)) {
    for (let i = 0; i < words.length; i++) {
      const paddr = base + i * 4;
      if (paddr >= start && paddr < to && words[i] !== 0) return paddr;
    }
  }
  return null;
}

/** Every non-zero word of user memory as [physical address, word], ascending (a committed state's blocks). */
export function* nonZeroWords(s: AbstractState): Generator<[number, Word]> {
  for (const [base, words] of s.memory.entries()) {
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) yield [base + 4 * i, words[i]!];
  }
}

export function memoryWord(s: Readable, paddr: number): Word {
  const offset = paddr % blockBytes;
  return memoryBlock(s, paddr - offset)?.[offset >>> 2] ?? 0;
}

// ---- what a step wrote ------------------------------------------------------------------

/** Slots, objects and user-memory words written during a step (for `Outcome.touched`). */
export class TouchLog {
  private readonly slots = new Map<number, SlotRef>();
  private readonly objects = new Set<number>();
  private readonly userWords = new Set<number>();

  slot(slot: SlotRef): void {
    this.slots.set(slotAddr(slot), slot);
  }

  object(addr: number): void {
    this.objects.add(addr);
  }

  /** A word of user memory a user store wrote (by its physical address). */
  userWord(paddr: number): void {
    this.userWords.add(paddr);
  }

  clone(): TouchLog {
    const copy = new TouchLog();
    for (const [key, slot] of this.slots) copy.slots.set(key, slot);
    for (const addr of this.objects) copy.objects.add(addr);
    for (const paddr of this.userWords) copy.userWords.add(paddr);
    return copy;
  }

  /** Adds what `other` logged, as if it had been logged here after what this log holds. */
  absorb(other: TouchLog): this {
    for (const [key, slot] of other.slots) this.slots.set(key, slot);
    for (const addr of other.objects) this.objects.add(addr);
    for (const paddr of other.userWords) this.userWords.add(paddr);
    return this;
  }

  /** The slots written, in the order first written. */
  slotsWritten(): IterableIterator<SlotRef> {
    return this.slots.values();
  }

  toTouched(): Touched {
    const touched = { slots: [...this.slots.values()], objects: [...this.objects] };
    return this.userWords.size === 0 ? touched : { ...touched, userWords: [...this.userWords] };
  }
}

/** One allowed result of a kernel operation and, if several are allowed, which choice it is. */
export interface Branch {
  readonly k: Kernel;
  readonly choice?: string;
}

/**
 * What kernel operations work on: the state they started from, the writes made so far
 * (read through by every reading function), a log of what they wrote, and the CNodes and
 * TCBs whose finalisation is in progress. `run` commits the writes in one immer update.
 */
export interface Kernel {
  readonly base: AbstractState;
  /** Written objects by address; null for a detyped one. */
  readonly objects: Map<number, KObject | null>;
  readonly capRefs: Map<number, readonly SlotRef[]>;
  /** Written 128-byte memory blocks by base address. */
  readonly memory: Map<number, readonly Word[]>;
  /** The ASID table written so far (undefined: unchanged). */
  asidTable: readonly (number | null)[] | undefined;
  current: number | null | undefined;
  /** The scheduler state written so far (undefined: unchanged). */
  sched: SchedState | undefined;
  /** The IRQ lines and the IRQ node written so far (undefined: unchanged). */
  irqs: readonly IrqLine[] | undefined;
  irqNode: IrqNode | undefined;
  readonly log: TouchLog;
  /** The witness the entry follows where seL4 leaves a choice open; null: every choice is enumerated. */
  readonly oracle: WitnessOracle | null;
  /** The entry's syscall was not carried out (check_budget_restart, or preempted with the caller Restart): the caller makes it again. */
  restarted: boolean;
  /** The entry's preemption points (null: operations run by `run`, and tests, have none that count or stop). */
  readonly preemption: PreemptionRun | null;
  /** Where and why a preemption point stopped the entry's operation. */
  preempted: Preemption | null;
}

export type SchedulerAction = 'resume' | 'choose' | number;

/** Starts kernel operations from `state`, logging what they write to `log`. */
export function begin(state: AbstractState, log: TouchLog, oracle: WitnessOracle | null = null, preemption: PreemptionRun | null = null): Kernel {
  return {
    base: state, objects: new Map(), capRefs: new Map(), memory: new Map(), asidTable: undefined, current: undefined, sched: undefined,
    irqs: undefined, irqNode: undefined, log, oracle, restarted: false, preemption, preempted: null,
  };
}

/** Runs kernel operations from `state`; returns the state they leave. */
export function run(state: AbstractState, log: TouchLog, body: (k: Kernel) => void): AbstractState {
  const k = begin(state, log);
  body(k);
  return commit(k);
}

/** `map` with the `pending` writes applied (key → value, or null, or a value `isNone` says is none, to remove). */
function applied<T>(map: RadixMap<T>, pending: ReadonlyMap<number, T | null>, isNone: (value: T) => boolean = () => false): RadixMap<T> {
  let result = map;
  for (const [key, value] of pending) result = value === null || isNone(value) ? result.delete(key) : result.set(key, value);
  return result;
}

/** The state kernel operations leave: their writes applied to their starting state. */
export function commit(k: Kernel): AbstractState {
  const sameCurrent = k.current === undefined || k.current === k.base.current;
  const sameSched = k.sched === undefined || k.sched === k.base.sched;
  const sameAsidTable = k.asidTable === undefined || k.asidTable === k.base.asidTable;
  const sameIrqs = k.irqs === undefined || k.irqs === k.base.irqs;
  const sameIrqNode = k.irqNode === undefined || k.irqNode === k.base.irqNode;
  if (k.objects.size === 0 && k.capRefs.size === 0 && k.memory.size === 0 && sameCurrent && sameSched && sameAsidTable && sameIrqs && sameIrqNode) return k.base;
  // The maps, the scheduler state and the arrays written (each a new one) are stored as they are (immer does not look into them).
  const heap = castDraft(applied(k.base.heap, k.objects));
  return immer.produce(k.base, (d) => {
    d.heap = heap;
    d.capRefs = castDraft(applied(k.base.capRefs, k.capRefs, (slots) => slots.length === 0));
    d.memory = castDraft(applied(k.base.memory, k.memory));
    if (!sameAsidTable) d.asidTable = castDraft(Object.freeze(k.asidTable!));
    if (!sameCurrent) d.current = k.current!;
    if (!sameSched) d.sched = castDraft(Object.freeze(k.sched!));
    if (!sameIrqs) d.irqs = castDraft(Object.freeze(k.irqs!));
    if (!sameIrqNode) d.irqNode = castDraft(k.irqNode!);
  });
}

// ---- writing ----------------------------------------------------------------------------

/** Puts an object at its address, replacing whatever object was there. */
export function putObject(k: Kernel, object: KObject): void {
  k.objects.set(object.addr, object);
  k.log.object(object.addr);
}

/** Detypes the object at `addr`. */
export function removeObject(k: Kernel, addr: number): void {
  if (objectAt(k, addr) === null) return;
  k.objects.set(addr, null);
  k.log.object(addr);
}

/** Replaces fields of the object at `addr` if it has the given type. */
export function updateObject<T extends KObject['type']>(k: Kernel, addr: number, type: T, fields: Partial<Extract<KObject, { type: T }>>): void {
  const o = objectAt(k, addr);
  if (o?.type === type) putObject(k, { ...o, ...fields } as KObject);
}

/** Sets (or, with null, clears) the entry of an existing slot. Links are the caller's business. */
export function setEntry(k: Kernel, slot: SlotRef, entry: SlotEntry | null): void {
  const holder = holderOf(k, slot);
  if (holder === null || (entry === null && entryIn(holder, slot.index) === null)) return;
  const slots = entry === null ? holder.slots.delete(slot.index) : holder.slots.set(slot.index, entry);
  if (holder.type === 'irqnode') k.irqNode = { ...holder, slots };
  else putObject(k, { ...holder, slots });
  k.log.slot(slot);
}

/** Replaces fields of a non-empty slot's entry. */
export function updateEntry(k: Kernel, slot: SlotRef, fields: Partial<SlotEntry>): void {
  const entry = entryAt(k, slot);
  if (entry !== null) setEntry(k, slot, { ...entry, ...fields });
}

export function addCapRef(k: Kernel, ptr: number, slot: SlotRef): void {
  k.capRefs.set(ptr, [...slotsNaming(k, ptr), slotRef(slot.cnode, slot.index)]);
}

export function removeCapRef(k: Kernel, ptr: number, slot: SlotRef): void {
  k.capRefs.set(ptr, slotsNaming(k, ptr).filter((r) => !sameSlot(r, slot)));
}

export function writeMemoryWord(k: Kernel, paddr: number, value: Word): void {
  const offset = paddr % blockBytes;
  const base = paddr - offset;
  const words = [...(memoryBlock(k, base) ?? new Array<Word>(blockBytes / 4).fill(0))];
  words[offset >>> 2] = value >>> 0;
  k.memory.set(base, words);
}

export function setCurrent(k: Kernel, tcb: number | null): void {
  k.current = tcb;
}

/** ksCurThread as written so far. */
export function currentThread(s: Readable): number | null {
  if (isKernel(s)) return s.current !== undefined ? s.current : s.base.current;
  return s.current;
}

/** riscv_asid_table as written so far. */
export function asidTableOf(s: Readable): readonly (number | null)[] {
  if (isKernel(s)) return s.asidTable ?? s.base.asidTable;
  return s.asidTable;
}

/** Sets ASID table entry `index` to `pool` (or null), keeping the pools' `tableIndex` in step. */
export function setAsidTableEntry(k: Kernel, index: number, pool: number | null): void {
  const table = [...asidTableOf(k)];
  const old = table[index] ?? null;
  table[index] = pool;
  k.asidTable = table;
  if (old !== null) updateObject(k, old, 'asidpool', { tableIndex: null });
  if (pool !== null) updateObject(k, pool, 'asidpool', { tableIndex: index });
}

/** The IRQ lines, 0..maxIRQ (a new array after every write: equal arrays, equal lines). */
export function irqLines(s: Readable): readonly IrqLine[] {
  return isKernel(s) ? (s.irqs ?? s.base.irqs) : s.irqs;
}

/** IRQ line `irq` (0..maxIRQ) as written so far. */
export function irqLineOf(s: Readable, irq: number): IrqLine {
  const line = irqLines(s)[irq];
  if (line === undefined) throw new RangeError(`IRQ ${irq} is not in 0..${maxIRQ}`);
  return line;
}

/** Replaces fields of IRQ line `irq`. */
export function updateIrqLine(k: Kernel, irq: number, fields: Partial<Omit<IrqLine, 'irq'>>): void {
  const lines = [...(k.irqs ?? k.base.irqs)];
  lines[irq] = { ...irqLineOf(k, irq), ...fields };
  k.irqs = lines;
}

export function schedOf(s: Readable): SchedState {
  if (isKernel(s)) return s.sched ?? s.base.sched;
  return s.sched;
}

export function updateSched(k: Kernel, fields: Partial<SchedState>): void {
  k.sched = { ...schedOf(k), ...fields };
}

/** Ranges of at most this many blocks are zeroed by looking each block up. */
const smallRangeBlocks = 16;

/** Zeroes physical memory in [base, base + sizeBytes). */
export function zeroMemory(k: Kernel, base: number, sizeBytes: number): void {
  const end = base + sizeBytes;
  const firstBlock = base - (base % blockBytes);
  // A small range (a reset chunk) is looked up block by block; a large one from the blocks held.
  const blocks = sizeBytes <= smallRangeBlocks * blockBytes
    ? Array.from({ length: Math.ceil((end - firstBlock) / blockBytes) }, (_, i) => firstBlock + i * blockBytes).filter((block) => memoryBlock(k, block) !== null)
    : new Set([...k.base.memory.keysInRange(base - blockBytes + 1, end), ...k.memory.keys()]);
  for (const block of blocks) {
    if (block + blockBytes <= base || block >= end) continue;
    const words = memoryBlock(k, block)!.map((w, i) => (block + 4 * i >= base && block + 4 * i < end ? 0 : w));
    k.memory.set(block, words);
  }
}
