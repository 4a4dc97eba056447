// The executable spec's state, and the one write path every kernel step goes through.
//
// State shape (all persistent, never mutated; a step builds a new version and the old one stays valid):
//
//   ExecState
//     objects : RadixMap<KObject>       every kernel object by physical address (untyped memory is not an object)
//     memory  : RadixMap<Word>          user memory words by byte address; a missing key reads as 0, zero is never stored
//     (RadixMap: a persistent trie in address order, as Haskell's Data.Map is a persistent tree: a write
//     copies one path, and the objects or words in a region are found without visiting the rest)
//     current : TCB address | null      the thread that runs next (ksCurThread; null = the idle thread)
//     sched   : SchedState              time, ksCurSC and the ready and release queues (scheduler.ts)
//     asidTable : (pool | null)[32]     riscvKSASIDTable: the ASID pool of each high ASID value (vspace.ts)
//     interrupts: InterruptState        intStateIRQTable with the PLIC's pending and claimed bits, one line per
//                                       IRQ 0..maxIRQ, and intStateIRQNode's non-null slots (interrupt.ts)
//
//     workUnitsCompleted : number       ksWorkUnitsCompleted: preemption points passed since the last check
//                                       (kept across entries; preemption.ts), below the boot config's limit
//     maxWorkUnitsPerPreemption : number the limit (CONFIG_MAX_NUM_WORK_UNITS_PER_PREEMPTION), from the boot config
//
//   KObject = cnode | tcb | endpoint | notification | reply | schedcontext | frame | pagetable | asidpool
//     cnode and tcb carry `slots : IMap<index, Slot>`, sparse: a missing index is a null cap with a zero
//     MDB node, and a null cap is never stored. A CNode has 2^radix slots, a TCB 5 (CSpace, VSpace,
//     IPC buffer, fault handler, timeout handler). The IRQ node's slots are no object's: they are named
//     { cnode: irqNodeRef, index: irq } and kept in `interrupts.node`, and getSlot and setSlot reach them.
//
//   A page table keeps its valid PTEs outside the kernel window, decoded (PteView: the Sv32 bits are a
//   function of them, vspace.ts), and whether entries 512..1023 hold the kernel window; an ASID pool
//   its assigned roots by low ASID bits and its base in the ASID table (kept equal to `asidTable`).
//
//   Slot = { cap, mdb: { prev, next, revocable, firstBadged } }
//     The mapping database (MDB) is seL4's: one doubly linked list per derivation tree, in depth-first
//     CDT order, `prev`/`next` naming slots as { cnode, index } (cnode = address of the CNode or TCB
//     holding the slot). Parenthood is not stored; it follows from list order, `revocable`,
//     `firstBadged` and the caps (isMDBParentOf in cnode.ts).
import { Map as IMap } from 'immutable';
import { RadixMap } from '../libsel4/radix-map.ts';
import {
  capDifference,
  hex,
  irqAtBoot,
  irqNodeRef,
  maxIRQ,
  nullCap,
  seL4_ASIDPoolIndexBits,
  seL4_NumASIDPoolsBits,
  tcbSlotCount,
  type BlockingView,
  type FaultView,
  type Cap,
  type IrqView,
  type Choice,
  type ObjectView,
  type Preemption,
  type RaiseDuringEntry,
  type SlotRef,
  type ThreadState,
  type Touched,
  type Word,
} from '../libsel4/index.ts';

export interface MDBNode {
  readonly prev: SlotRef | null;
  readonly next: SlotRef | null;
  readonly revocable: boolean;
  readonly firstBadged: boolean;
}

export interface Slot {
  readonly cap: Cap;
  readonly mdb: MDBNode;
}

/** Non-null slots of a CNode or TCB, by index. */
export type SlotTable = IMap<number, Slot>;

/** 2^asidHighBits: the ASID table's slots. */
export const asidTableSize = 2 ** seL4_NumASIDPoolsBits;

export const nullMDBNode: MDBNode = Object.freeze({ prev: null, next: null, revocable: false, firstBadged: false });
export const nullSlot: Slot = Object.freeze({ cap: nullCap, mdb: nullMDBNode });

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
  /** The bound scheduling context's address. */
  readonly schedContext: number | null;
  readonly ipcBufferVaddr: Word;
  /** tcbFlags (SetFlags). */
  readonly flags: Word;
  /** tcbYieldTo: the scheduling context this thread yielded to. */
  readonly yieldTo: number | null;
  /** tcbBoundNotification. */
  readonly boundNotification: number | null;
  /** The blocking fields of the thread state (blockingObject, badge, rights, isCall, replyObject); null unless BlockedOn*. */
  readonly blocking: BlockingView | null;
  /** tcbFault: the pending fault, null when none (the view's FaultView). */
  readonly fault: FaultView | null;
  /** The 32 user registers, seL4_UserContext order. */
  readonly regs: readonly Word[];
  readonly slots: SlotTable;
}

/** An endpoint: its state (IdleEP, SendEP, RecvEP) and its queue, head first, in priority order. */
export type EndpointObject = Extract<ObjectView, { type: 'endpoint' }>;

/** A notification: the fields of its view (word, queue, bound TCB and SC). */
export type NotificationObject = Extract<ObjectView, { type: 'notification' }>;

/**
 * A reply object: replyTCB, and the SC whose call stack it heads (replyNext = Head sc). The rest of
 * the call stack is the SC's `replies` (l4v's sc_replies); replyPrev/replyNext are not kept, as the
 * links of a chain cut from its SC are never read again (replyRemove only clears them).
 */
export type ReplyObject = Extract<ObjectView, { type: 'reply' }>;

/**
 * An SC as the view shows it (refills head first: seL4's ring indices are not modelled, only the
 * order matters to the algorithms; empty exactly when refillMax is 0), plus `configured`.
 */
export type SchedContextObject = Extract<ObjectView, { type: 'schedcontext' }> & {
  /** sc_active: refillMax > 0, kept equal to it (the refinement checker reads it). */
  readonly configured: boolean;
};

export interface FrameObject {
  readonly type: 'frame';
  readonly addr: number;
  readonly sizeBits: number;
  readonly isDevice: boolean;
}

/** A page table: its valid PTEs by increasing index (the kernel window's excepted) and whether it holds the kernel window. */
export type PageTableObject = Extract<ObjectView, { type: 'pagetable' }>;

/** An ASID pool: [low ASID bits, root] for each assigned ASID, by increasing low bits; `asidBase` mirrors the ASID table. */
export type ASIDPoolObject = Extract<ObjectView, { type: 'asidpool' }>;

export type KObject =
  | CNodeObject
  | TCBObject
  | EndpointObject
  | NotificationObject
  | ReplyObject
  | SchedContextObject
  | FrameObject
  | PageTableObject
  | ASIDPoolObject;

export type SlotHolder = CNodeObject | TCBObject;

/**
 * The scheduler's state between kernel entries (seL4's ksCurTime, ksConsumed, ksCurSC,
 * ksReadyQueues of domain 0, ksReleaseQueue, and the deadline last given to setDeadline).
 * ksSchedulerAction and ksReprogram live only during an entry (they are reset by schedule), so
 * they are fields of the Step.
 */
export interface SchedState {
  /** The machine's clock. */
  readonly clockTicks: bigint;
  readonly curTimeTicks: bigint;
  readonly consumedTicks: bigint;
  /** ksCurSC; null for the idle thread's kernel-internal SC. */
  readonly curSC: number | null;
  /** Non-empty ready queues by priority, head first. */
  readonly readyQueues: IMap<number, readonly number[]>;
  /** Head (earliest head-refill release) first. */
  readonly releaseQueue: readonly number[];
  readonly timerDeadlineTicks: bigint | null;
}

export const initialSchedState: SchedState = Object.freeze({
  clockTicks: 0n, curTimeTicks: 0n, consumedTicks: 0n, curSC: null,
  readyQueues: IMap<number, readonly number[]>(), releaseQueue: [], timerDeadlineTicks: null,
});

export type SchedulerAction =
  | { readonly kind: 'resume' }
  | { readonly kind: 'choose' }
  | { readonly kind: 'switchTo'; readonly tcb: number };

/** riscvKSASIDTable: slot i holds the pool of ASIDs i << 4 .. (i << 4) + 15, or null. */
export type ASIDTable = readonly (number | null)[];

/**
 * seL4's interrupt state: intStateIRQTable with the PLIC's pending and claimed bits (`lines[irq]`,
 * IRQ 0..maxIRQ; an Inactive line is masked), and intStateIRQNode, the IRQ node's non-null slots by IRQ.
 */
export interface InterruptState {
  readonly lines: readonly IrqView[];
  readonly node: SlotTable;
}

/** Boot: every line Inactive but the kernel timer's, none pending or claimed; the IRQ node empty. */
export const interruptsAtBoot: InterruptState = Object.freeze({
  lines: Object.freeze(Array.from({ length: maxIRQ + 1 }, (_, irq) => irqAtBoot(irq))),
  node: IMap<number, Slot>(),
});

export interface ExecState {
  readonly objects: RadixMap<KObject>;
  readonly memory: RadixMap<Word>;
  readonly current: number | null;
  readonly sched: SchedState;
  readonly asidTable: ASIDTable;
  readonly interrupts: InterruptState;
  readonly workUnitsCompleted: number;
  readonly maxWorkUnitsPerPreemption: number;
}

/** seL4's default CONFIG_MAX_NUM_WORK_UNITS_PER_PREEMPTION, for states built without a boot configuration. */
export const defaultMaxWorkUnitsPerPreemption = 100;

// ---------------------------------------------------------------- reading

export function sameSlot(a: SlotRef | null, b: SlotRef | null): boolean {
  return a === b || (a !== null && b !== null && a.cnode === b.cnode && a.index === b.index);
}

/** The slot's physical address (CNode or TCB address + 16 * index): a unique number per slot. */
export function slotAddr(ref: SlotRef): number {
  return ref.cnode + ref.index * 16;
}

export function isSlotHolder(obj: KObject | null | undefined): obj is SlotHolder {
  return obj !== undefined && obj !== null && (obj.type === 'cnode' || obj.type === 'tcb');
}

/** Whether `irq` names an IRQ line (0..maxIRQ), so also a slot of the IRQ node. */
export function isIRQ(irq: number): boolean {
  return Number.isInteger(irq) && irq >= 0 && irq <= maxIRQ;
}

export function slotCount(holder: SlotHolder): number {
  return holder.type === 'cnode' ? 2 ** holder.radix : tcbSlotCount;
}

export function getObject(state: ExecState, addr: number): KObject | null {
  return state.objects.get(addr) ?? null;
}

export function getTCB(state: ExecState, addr: number): TCBObject | null {
  const obj = state.objects.get(addr);
  return obj !== undefined && obj.type === 'tcb' ? obj : null;
}

/** The slot at `ref`, or null if no CNode or TCB there has that index. */
export function getSlot(state: ExecState, ref: SlotRef): Slot | null {
  if (ref.cnode === irqNodeRef) return isIRQ(ref.index) ? (state.interrupts.node.get(ref.index) ?? nullSlot) : null;
  const holder = state.objects.get(ref.cnode);
  if (!isSlotHolder(holder) || !Number.isInteger(ref.index) || ref.index < 0 || ref.index >= slotCount(holder)) return null;
  return holder.slots.get(ref.index) ?? nullSlot;
}

/** The cap at `ref`; the null cap for a slot that does not exist. */
export function getCap(state: ExecState, ref: SlotRef): Cap {
  return getSlot(state, ref)?.cap ?? nullCap;
}

/** Every object, by address. */
export function allObjects(state: ExecState): Iterable<KObject> {
  return state.objects.values();
}

/** Every non-null slot of every CNode and TCB, then of the IRQ node. */
export function allSlots(state: ExecState): [SlotRef, Slot][] {
  const slots: [SlotRef, Slot][] = [];
  for (const obj of state.objects.values()) {
    if (isSlotHolder(obj)) obj.slots.forEach((slot, index) => void slots.push([{ cnode: obj.addr, index }, slot]));
  }
  state.interrupts.node.forEach((slot, index) => void slots.push([{ cnode: irqNodeRef, index }, slot]));
  return slots;
}

/** IRQ line `irq` (0..maxIRQ). */
export function irqLine(state: ExecState, irq: number): IrqView {
  const line = isIRQ(irq) ? state.interrupts.lines[irq] : undefined;
  if (line === undefined) throw new Error(`no IRQ line ${irq}: the lines are 0..${maxIRQ}`);
  return line;
}

export function userWord(state: ExecState, paddr: number): Word {
  return state.memory.get(paddr) ?? 0;
}

/** The lowest word address in [from, to) whose word is not zero, or null. */
export function firstNonZeroUserWord(state: ExecState, from: number, to: number): number | null {
  for (const [paddr, word] of state.memory.entriesInRange(Math.ceil(from / 4) * 4, to)) if (word !== 0) return paddr;
  return null;
}

/** Every non-zero user memory word, as (byte address, word). */
export function allUserWords(state: ExecState): Iterable<[number, Word]> {
  return state.memory.entries();
}

// ---------------------------------------------------------------- building

export interface ExecStateParts {
  readonly objects: Iterable<KObject>;
  readonly memory: Iterable<readonly [number, Word]>;
  readonly current: number | null;
  readonly sched: SchedState;
  /** The interrupt state; boot's (interruptsAtBoot) if not given. */
  readonly interrupts?: InterruptState;
  /** ksWorkUnitsCompleted; 0 if not given. */
  readonly workUnitsCompleted?: number;
  /** The preemption limit; seL4's default (100) if not given. */
  readonly maxWorkUnitsPerPreemption?: number;
}

/** A slot table from (index, slot) pairs; null caps are dropped. */
export function slotTable(entries: Iterable<readonly [number, Slot]>): SlotTable {
  return IMap<number, Slot>().withMutations((m) => {
    for (const [index, slot] of entries) if (slot.cap.type !== 'null') m.set(index, slot);
  });
}

/** The ASID table the pools name: each pool with a base sits at slot base >> 4. */
export function asidTableOfPools(objects: Iterable<KObject>): ASIDTable {
  const table = new Array<number | null>(asidTableSize).fill(null);
  for (const obj of objects) {
    if (obj.type !== 'asidpool' || obj.asidBase === null) continue;
    const index = obj.asidBase >>> seL4_ASIDPoolIndexBits;
    if (table[index] !== null) throw new Error(`executable spec invariant: two ASID pools at ASID table slot ${index}`);
    table[index] = obj.addr;
  }
  return table;
}

/**
 * Builds a state from its parts (zero memory words are dropped), e.g. from decoded impl memory.
 * The ASID table follows from the pools' bases.
 */
export function makeExecState(parts: ExecStateParts): ExecState {
  const objectList = [...parts.objects];
  const objects = RadixMap.of(objectList.map((obj) => [obj.addr, obj] as const));
  const memory = RadixMap.of([...parts.memory].filter(([, word]) => word >>> 0 !== 0).map(([paddr, word]) => [paddr, word >>> 0] as const));
  const interrupts = parts.interrupts ?? interruptsAtBoot;
  if (interrupts.lines.length !== maxIRQ + 1 || interrupts.lines.some((line, irq) => line.irq !== irq)) {
    throw new Error(`an executable state needs IRQ lines 0..${maxIRQ} in order`);
  }
  const maxWorkUnitsPerPreemption = parts.maxWorkUnitsPerPreemption ?? defaultMaxWorkUnitsPerPreemption;
  const workUnitsCompleted = parts.workUnitsCompleted ?? 0;
  if (!Number.isInteger(maxWorkUnitsPerPreemption) || maxWorkUnitsPerPreemption < 1) throw new Error(`an executable state needs a preemption limit >= 1, got ${maxWorkUnitsPerPreemption}`);
  if (!Number.isInteger(workUnitsCompleted) || workUnitsCompleted < 0 || workUnitsCompleted >= maxWorkUnitsPerPreemption) {
    throw new Error(`an executable state needs 0 <= workUnitsCompleted < ${maxWorkUnitsPerPreemption}, got ${workUnitsCompleted}`);
  }
  return {
    objects, memory, current: parts.current, sched: parts.sched, asidTable: asidTableOfPools(objectList), interrupts,
    workUnitsCompleted, maxWorkUnitsPerPreemption,
  };
}

// ---------------------------------------------------------------- comparing

function refText(ref: SlotRef | null): string {
  return ref === null ? 'null' : `${hex(ref.cnode)}[${ref.index}]`;
}

/** First difference between two slots, as "field: a vs b", or null. */
export function slotDifference(a: Slot, b: Slot): string | null {
  const cap = capDifference(a.cap, b.cap);
  if (cap !== null) return `cap ${cap}`;
  if (!sameSlot(a.mdb.prev, b.mdb.prev)) return `mdb.prev: ${refText(a.mdb.prev)} vs ${refText(b.mdb.prev)}`;
  if (!sameSlot(a.mdb.next, b.mdb.next)) return `mdb.next: ${refText(a.mdb.next)} vs ${refText(b.mdb.next)}`;
  if (a.mdb.revocable !== b.mdb.revocable) return `mdb.revocable: ${a.mdb.revocable} vs ${b.mdb.revocable}`;
  if (a.mdb.firstBadged !== b.mdb.firstBadged) return `mdb.firstBadged: ${a.mdb.firstBadged} vs ${b.mdb.firstBadged}`;
  return null;
}

function slotTableDifference(a: SlotTable, b: SlotTable): string | null {
  if (a === b) return null;
  const indices = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y);
  for (const index of indices) {
    const diff = slotDifference(a.get(index) ?? nullSlot, b.get(index) ?? nullSlot);
    if (diff !== null) return `slot ${index}: ${diff}`;
  }
  return null;
}

/** A value as text for a difference report (bigints included, which JSON cannot show). */
function showValue(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
}

function valueDifference(key: string, a: unknown, b: unknown): string | null {
  if (a === b) return null;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${key}.length: ${a.length} vs ${b.length}`;
    const show = (v: unknown) => (typeof v === 'number' ? hex(v) : showValue(v));
    const i = a.findIndex((value, j) => show(value) !== show(b[j]));
    return i < 0 ? null : `${key}[${i}]: ${show(a[i])} vs ${show(b[i])}`;
  }
  return showValue(a) === showValue(b) ? null : `${key}: ${showValue(a)} vs ${showValue(b)}`;
}

/** First difference between two scheduler states, or null. */
export function schedDifference(a: SchedState, b: SchedState): string | null {
  if (a === b) return null;
  const queues = (s: SchedState) => [...s.readyQueues.entries()].sort(([p], [q]) => q - p);
  return (
    valueDifference('clockTicks', a.clockTicks, b.clockTicks) ??
    valueDifference('curTimeTicks', a.curTimeTicks, b.curTimeTicks) ??
    valueDifference('consumedTicks', a.consumedTicks, b.consumedTicks) ??
    valueDifference('curSC', a.curSC, b.curSC) ??
    valueDifference('readyQueues', queues(a), queues(b)) ??
    valueDifference('releaseQueue', a.releaseQueue, b.releaseQueue) ??
    valueDifference('timerDeadlineTicks', a.timerDeadlineTicks, b.timerDeadlineTicks)
  );
}

/** First difference between two objects at the same address, or null. */
export function objectDifference(a: KObject, b: KObject): string | null {
  if (a === b) return null;
  if (a.type !== b.type) return `type: ${a.type} vs ${b.type}`;
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  for (const key of Object.keys(ra)) {
    const va = ra[key];
    const vb = rb[key];
    const diff = key === 'slots' ? slotTableDifference(va as SlotTable, vb as SlotTable) : valueDifference(key, va, vb);
    if (diff !== null) return diff;
  }
  return null;
}

/**
 * First difference between two states, as a path ("object 0x80010000 slot 3: cap badge: 5 vs 0"),
 * or null if they are equal. With `touched`, only what it names is compared (plus `current` and
 * the scheduler state).
 */
export function stateDifference(a: ExecState, b: ExecState, touched?: Touched): string | null {
  if (a.current !== b.current) return `current: ${a.current === null ? 'null' : hex(a.current)} vs ${b.current === null ? 'null' : hex(b.current)}`;
  const sched = schedDifference(a.sched, b.sched);
  if (sched !== null) return `scheduler ${sched}`;
  const asidTable = valueDifference('asidTable', a.asidTable, b.asidTable);
  if (asidTable !== null) return asidTable;
  const lines = irqLinesDifference(a.interrupts.lines, b.interrupts.lines);
  if (lines !== null) return lines;
  if (touched !== undefined) {
    for (const ref of touched.slots) {
      const sa = getSlot(a, ref);
      const sb = getSlot(b, ref);
      if (sa === null || sb === null) {
        if (sa !== sb) return `slot ${refText(ref)}: ${sa === null ? 'missing' : 'present'} vs ${sb === null ? 'missing' : 'present'}`;
        continue;
      }
      const diff = slotDifference(sa, sb);
      if (diff !== null) return `slot ${refText(ref)}: ${diff}`;
    }
    for (const addr of touched.objects) {
      const diff = objectPairDifference(addr, a.objects.get(addr), b.objects.get(addr));
      if (diff !== null) return diff;
    }
    return null;
  }
  if (a.objects !== b.objects) {
    const addrs = [...new Set([...a.objects.keys(), ...b.objects.keys()])].sort((x, y) => x - y);
    for (const addr of addrs) {
      const diff = objectPairDifference(addr, a.objects.get(addr), b.objects.get(addr));
      if (diff !== null) return diff;
    }
  }
  const node = slotTableDifference(a.interrupts.node, b.interrupts.node);
  if (node !== null) return `IRQ node ${node}`;
  if (a.memory !== b.memory) {
    const paddrs = [...new Set([...a.memory.keys(), ...b.memory.keys()])].sort((x, y) => x - y);
    for (const paddr of paddrs) {
      const wa = userWord(a, paddr);
      const wb = userWord(b, paddr);
      if (wa !== wb) return `memory ${hex(paddr)}: ${hex(wa)} vs ${hex(wb)}`;
    }
  }
  return null;
}

function irqLinesDifference(a: readonly IrqView[], b: readonly IrqView[]): string | null {
  if (a === b) return null;
  for (let irq = 0; irq < Math.max(a.length, b.length); irq++) {
    const diff = valueDifference(`IRQ ${irq}`, a[irq], b[irq]);
    if (diff !== null) return diff;
  }
  return null;
}

function objectPairDifference(addr: number, a: KObject | undefined, b: KObject | undefined): string | null {
  if (a === undefined || b === undefined) {
    if (a === b) return null;
    return `object ${hex(addr)}: ${a === undefined ? 'absent' : a.type} vs ${b === undefined ? 'absent' : b.type}`;
  }
  const diff = objectDifference(a, b);
  return diff === null ? null : `object ${hex(addr)} (${a.type}) ${diff}`;
}

// ---------------------------------------------------------------- the write path

/**
 * One kernel entry in progress: the state as it is now, and what the entry has written so far.
 * Every write replaces `state` with a new persistent version (earlier versions are untouched) and
 * records the slot or object in the touched log. Plays the role of seL4 Haskell's Kernel monad.
 */
export class Step {
  private readonly touchedSlots = new Map<number, SlotRef>();
  private readonly touchedObjects = new Set<number>();
  /** The choices this entry made where seL4 leaves one open (the step's witness). */
  readonly choices: Choice[] = [];
  /** ksSchedulerAction: resume the current thread, choose a new one, or switch to a given one. */
  action: SchedulerAction = { kind: 'resume' };
  /** ksReprogram: the timer must be programmed again at the end of this entry. */
  reprogram = false;
  /** The caller will make the entry's syscall again (checkBudgetRestart, or a preempted operation with the caller left Restart). */
  restarted = false;
  /** The device interrupt the syscall event raises during this entry (its `raise`), until raised. */
  raise: RaiseDuringEntry | null = null;
  /** Preemption points passed in this entry (counted from 1), for `raise`. */
  entryWorkUnits = 0;
  /** Where and why a preemption point stopped this entry's operation. */
  preempted: Preemption | null = null;

  constructor(public state: ExecState) {}

  slot(ref: SlotRef): Slot {
    return getSlot(this.state, ref) ?? nullSlot;
  }

  cap(ref: SlotRef): Cap {
    return this.slot(ref).cap;
  }

  object(addr: number): KObject | null {
    return getObject(this.state, addr);
  }

  tcb(addr: number): TCBObject {
    const tcb = getTCB(this.state, addr);
    if (tcb === null) throw new Error(`executable spec invariant: no TCB at ${hex(addr)}`);
    return tcb;
  }

  setSlot(ref: SlotRef, slot: Slot): void {
    if (ref.cnode === irqNodeRef) return this.setIRQNodeSlot(ref, slot);
    const holder = this.state.objects.get(ref.cnode);
    if (!isSlotHolder(holder)) throw new Error(`executable spec invariant: slot ${refText(ref)} has no CNode or TCB`);
    const slots = slot.cap.type === 'null' ? holder.slots.delete(ref.index) : holder.slots.set(ref.index, slot);
    this.state = { ...this.state, objects: this.state.objects.set(ref.cnode, { ...holder, slots }) };
    this.touchedSlots.set(slotAddr(ref), ref);
  }

  private setIRQNodeSlot(ref: SlotRef, slot: Slot): void {
    if (!isIRQ(ref.index)) throw new Error(`executable spec invariant: IRQ node slot ${ref.index} outside 0..${maxIRQ}`);
    const { node } = this.state.interrupts;
    const next = slot.cap.type === 'null' ? node.delete(ref.index) : node.set(ref.index, slot);
    this.state = { ...this.state, interrupts: { ...this.state.interrupts, node: next } };
    this.touchedSlots.set(slotAddr(ref), ref);
  }

  setCap(ref: SlotRef, cap: Cap): void {
    this.setSlot(ref, { cap, mdb: this.slot(ref).mdb });
  }

  setMDB(ref: SlotRef, mdb: MDBNode): void {
    this.setSlot(ref, { cap: this.slot(ref).cap, mdb });
  }

  setObject(obj: KObject): void {
    this.state = { ...this.state, objects: this.state.objects.set(obj.addr, obj) };
    this.touchedObjects.add(obj.addr);
  }

  /** Detypes every object whose address lies in [base, base + sizeBytes). */
  removeObjectsIn(base: number, sizeBytes: number): void {
    const end = base + sizeBytes;
    const doomed = [...this.state.objects.keysInRange(base, end)];
    if (doomed.length === 0) return;
    this.state = { ...this.state, objects: this.state.objects.deleteAll(doomed) };
    for (const addr of doomed) this.touchedObjects.add(addr);
  }

  setWord(paddr: number, word: Word): void {
    const value = word >>> 0;
    const memory = value === 0 ? this.state.memory.delete(paddr) : this.state.memory.set(paddr, value);
    if (memory !== this.state.memory) this.state = { ...this.state, memory };
  }

  /** Zeroes user memory in [base, base + sizeBytes). */
  clearMemory(base: number, sizeBytes: number): void {
    const end = base + sizeBytes;
    const doomed = [...this.state.memory.keysInRange(base, end)];
    if (doomed.length === 0) return;
    this.state = { ...this.state, memory: this.state.memory.deleteAll(doomed) };
  }

  /** Records a change to an object that its write did not go through setObject (frame contents). */
  touchObject(addr: number): void {
    this.touchedObjects.add(addr);
  }

  /** Sets ASID table slot `index` (riscvKSASIDTable) to a pool or null. */
  setASIDTableEntry(index: number, pool: number | null): void {
    if (!Number.isInteger(index) || index < 0 || index >= asidTableSize) throw new Error(`executable spec invariant: ASID table index ${index}`);
    const asidTable = this.state.asidTable.slice();
    asidTable[index] = pool;
    this.state = { ...this.state, asidTable };
  }

  /** Replaces the line of IRQ `line.irq` (its state or PLIC bits). */
  setIRQLine(line: IrqView): void {
    if (!isIRQ(line.irq)) throw new Error(`executable spec invariant: IRQ ${line.irq} outside 0..${maxIRQ}`);
    const lines = this.state.interrupts.lines.slice();
    lines[line.irq] = line;
    this.state = { ...this.state, interrupts: { ...this.state.interrupts, lines } };
  }

  setCurrent(current: number | null): void {
    if (current !== this.state.current) this.state = { ...this.state, current };
  }

  setWorkUnitsCompleted(workUnitsCompleted: number): void {
    if (workUnitsCompleted !== this.state.workUnitsCompleted) this.state = { ...this.state, workUnitsCompleted };
  }

  get sched(): SchedState {
    return this.state.sched;
  }

  setSched(patch: Partial<SchedState>): void {
    this.state = { ...this.state, sched: { ...this.state.sched, ...patch } };
  }

  touched(): Touched {
    return { slots: [...this.touchedSlots.values()], objects: [...this.touchedObjects] };
  }
}

/**
 * Thrown where an entry reaches kernel behaviour this model does not cover yet (fault and
 * timeout delivery, blocking IPC); the entry is then discarded and reported as unmodelled.
 */
export class UnmodelledBehaviour extends Error {
  constructor(readonly what: string) {
    super(`unmodelled: ${what}`);
  }
}
