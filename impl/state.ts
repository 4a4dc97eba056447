// The impl's whole state: one simulated physical memory holding every kernel object at its
// physical address, a ghost table of which objects exist (for the view and the checker
// only, like seL4's ghost state), the current thread, and the per-step record of what was
// written. Every store to memory goes through the write functions below, which also mark
// the slot or object they touch; that is the `touched` field of a step's outcome.
//
// Memory: the RAM region of the boot plan as words by index (paddr - ramBase) >> 2 (see
// ram.ts). Device regions are not backed: no kernel object lives there and device frame
// contents are not modelled (they read as zero). The IRQ node (seL4's intStateIRQNode, kept
// in the kernel image's memory) is kernel memory right after RAM: its slot for IRQ i is at
// irqNode + 16 i, where irqNode is RAM's end (mod 2^32, so 0 when RAM ends at 4 GiB); the
// same word index arithmetic reaches it, so the MDB code links to and from its slots as to
// any. Outside the kernel it is named { cnode: irqNodeRef, index: irq } (slotRefOf).
//
// Slot names: the checker names a slot by the CNode or TCB holding it. Objects are aligned
// to their size and never overlap, so the holder of a slot address is the CNode of some
// existing size at the address rounded down to that size, or the TCB at the address rounded
// down to 1 KiB; the ghost table says which (see slotRefOf). Like the ghost table this is
// only for reporting.
//
// Link words (MDB prev/next, object pointers in records): a pointer to a 16-byte aligned
// slot or object is stored as `addr | 1`; 0 means none. This keeps address 0 usable when
// RAM starts at 0, and leaves bits 1..3 free for flags. 64-bit values (times) are two words,
// low word first (readU64 / writeObjectU64).
//
// Kernel globals of the scheduler (seL4's statedata.c) are fields of the state: the clock,
// ksCurTime, ksConsumed, ksCurSC, ksSchedulerAction, ksReprogram, the programmed deadline,
// ksReadyQueues (head and tail per priority, domain 0) with the two-level priority bitmap
// ksReadyQueuesL1Bitmap / L2Bitmap, and ksReleaseQueue (head and tail). The idle thread's
// scheduling context is kernel-internal: ksCurSC is NONE while it is the current one.
import {
  irqNodeRef,
  type Preemption,
  type RaiseDuringEntry,
  maxIRQ,
  seL4_NumASIDPoolsBits,
  seL4_PageTableBits,
  seL4_SlotBits,
  seL4_TCBBits,
  tcbSlotCount,
  type Choice,
  type LookupFailure,
  type ObjectKind,
  type SlotRef,
} from '../libsel4/index.ts';
import type { FastpathOutcome } from './fastpath.ts';
import { createRam, ramPageWordMask, type Ram } from './ram.ts';

/** What the ghost table records about one object: its type and size. */
export interface GhostObject {
  readonly type: ObjectKind;
  readonly sizeBits: number;
  readonly isDevice: boolean;
}

export interface ImplState {
  readonly mem: Ram;
  readonly ramBase: number;
  readonly ramEnd: number;
  /** Objects that exist, by address; never read by kernel decisions. */
  readonly ghost: GhostTable;
  /** The ghost table's addresses, ascending, and beside each the order it was created in. */
  readonly ghostAddrs: number[];
  readonly ghostSeqs: number[];
  ghostNextSeq: number;
  /** Per size in bits: how many CNodes of that size exist (to find the holder of a slot). */
  readonly cnodeSizeCounts: Uint32Array;
  /** The last holder slotHolder found and the end of its slots (NONE: none); forgotten on detype. */
  lastHolder: number;
  lastHolderEnd: number;
  /** ksCurThread: TCB address of the thread that runs next, or null for the idle thread. */
  current: number | null;
  /** Invariant assertions on (tests) or off (benchmarks). */
  readonly debug: boolean;
  /** Whether steps record what they touched (the checker's instrumentation; off to measure the kernel alone). */
  readonly recordTouched: boolean;
  /** KernelFastpath: Call and ReplyRecv try the fastpath first (fastpath.ts). */
  readonly fastpath: boolean;
  /** What the fastpath did with this entry (undefined: not a Call or ReplyRecv, or the fastpath is off). */
  fastpathOutcome: FastpathOutcome | undefined;
  /** The machine's clock (timer ticks). */
  clockTicks: bigint;
  /** ksCurTime: the clock at the last kernel entry. */
  curTimeTicks: bigint;
  /** ksConsumed: ticks used by ksCurSC and not yet charged to it. */
  consumedTicks: bigint;
  /** ksCurSC: the scheduling context being charged, NONE for the idle thread's. */
  curSC: number;
  /** ksSchedulerAction: a TCB address, SchedulerAction.resumeCurrentThread or .chooseNewThread. */
  schedulerAction: number;
  /** ksReprogram: the timer deadline must be recomputed at the end of this entry. */
  reprogram: boolean;
  /** The deadline last passed to setDeadline (absolute ticks), or null before the first. */
  timerDeadlineTicks: bigint | null;
  /** ksReadyQueues of domain 0: head and tail TCB per priority, NONE when empty. */
  readonly readyHeads: number[];
  readonly readyTails: number[];
  /** ksReadyQueuesL1Bitmap (bit i: some priority in 32i..32i+31 is ready) and L2Bitmap (by inverted L1 index). */
  l1Bitmap: number;
  readonly l2Bitmap: Uint32Array;
  /** ksReleaseQueue: head and tail TCB (ordered by the release time of their SC's head refill), NONE when empty. */
  releaseHead: number;
  releaseTail: number;
  /** Slots (by address) and objects written during the current step; may repeat entries. */
  readonly dirtySlots: AddressLog;
  readonly dirtyObjects: AddressLog;
  /** User memory words (by address) written during the current step (recorded even without `recordTouched`: the observation reuses the IPC buffer words it read last through them). */
  readonly userWrites: AddressLog;
  /** The choices this step made where seL4 leaves one open (its revokes' deletions, MakePool's table slot, Assign's ASID): the step's witness. */
  readonly choices: Choice[];
  /** Whether the current step zeroed memory (the only change to user memory not in userWrites). */
  zeroed: boolean;
  /** This entry's syscall was not carried out: the caller makes it again when it next runs. */
  restarted: boolean;
  /** The last lookup's failure and remaining bits, like seL4's current_lookup_fault. */
  lookupFault: LookupFailure;
  bitsRemaining: number;
  /** riscvKSASIDTable: the pool of each ASID high part, as link words (0: none). */
  readonly asidTable: Uint32Array;
  /** kernel_root_pageTable: the kernel's root PTEs, whose entries 512..1023 every VSpace root copies (set at boot). */
  readonly kernelRoot: Uint32Array;
  /** The IRQ node's slot 0 (kernel memory right after RAM; see above). */
  readonly irqNode: number;
  /** intStateIRQTable: each IRQ's state (IrqStateNum of interrupt.ts); an Inactive line is masked. */
  readonly irqStates: Uint8Array;
  /** The PLIC's bits per source: pending (raised, not claimed) and claimed (delivered, not completed). */
  readonly irqPending: Uint8Array;
  readonly irqClaimed: Uint8Array;
  /** How many sources are deliverable (pending, unmasked, unclaimed): 0 between events. */
  deliverableIRQs: number;
  /** ksWorkUnitsCompleted: preemption points passed since the last check (kept across entries; preemption.ts). */
  workUnitsCompleted: number;
  /** CONFIG_MAX_NUM_WORK_UNITS_PER_PREEMPTION, from the boot configuration. */
  readonly maxWorkUnitsPerPreemption: number;
  /** Preemption points passed in this entry (counted for the event's `raise`). */
  entryWorkUnits: number;
  /** The device interrupt this entry's event raises before one of its points; null once raised, or none. */
  raise: RaiseDuringEntry | null;
  /** Where and why this entry's operation stopped, or null. */
  preempted: Preemption | null;
  /** The IPC buffer words last observed, kept up to date with every step's user writes (view.ts). */
  observedBuffer: { readonly addr: number; readonly frame: number; readonly words: readonly number[] } | null;
}

/**
 * Addresses recorded during one step, in order. Its array is kept from step to step: emptying
 * an array by setting its length drops its storage, so every step used to grow a new one.
 */
export class AddressLog {
  private readonly entries: number[] = [];
  /** How many addresses this step recorded. */
  length = 0;
  push(addr: number): void {
    this.entries[this.length++] = addr;
  }
  /** The i-th address recorded (0 <= i < length). */
  at(i: number): number {
    return this.entries[i]!;
  }
  /** The last address recorded, or NONE. */
  last(): number {
    return this.length === 0 ? NONE : this.entries[this.length - 1]!;
  }
  clear(): void {
    this.length = 0;
  }
}

const ghostPageBits = 10;
const ghostPageMask = (1 << ghostPageBits) - 1;

/**
 * The ghost table's records by address: RAM addresses (objects are 16-byte aligned) index
 * pages of 1,024 records allocated at their first record (a Map keyed by addresses above
 * 2^30 hashes a boxed number per access); other addresses (device frames) go in a Map.
 */
export class GhostTable {
  private readonly pages: (Array<GhostObject | undefined> | undefined)[];
  private readonly others = new Map<number, GhostObject>();
  constructor(private readonly ramBase: number, ramBytes: number) {
    this.pages = new Array<Array<GhostObject | undefined> | undefined>(Math.ceil(ramBytes / (16 << ghostPageBits))).fill(undefined);
  }
  /** The record index of a 16-byte aligned RAM address, or -1 (a whole quotient: no remainder, which costs a call on doubles). */
  private index(addr: number): number {
    const i = (addr - this.ramBase) / 16;
    return i >= 0 && i < this.pages.length << ghostPageBits && Math.floor(i) === i ? i : -1;
  }
  get(addr: number): GhostObject | undefined {
    const i = this.index(addr);
    if (i < 0) return this.others.get(addr);
    const page = this.pages[i >>> ghostPageBits];
    return page === undefined ? undefined : page[i & ghostPageMask];
  }
  has(addr: number): boolean {
    return this.get(addr) !== undefined;
  }
  set(addr: number, object: GhostObject): void {
    const i = this.index(addr);
    if (i < 0) {
      this.others.set(addr, object);
      return;
    }
    // Left holey (a hole reads undefined): filling it cost more than twice the allocation.
    const page = (this.pages[i >>> ghostPageBits] ??= new Array<GhostObject | undefined>(1 << ghostPageBits));
    page[i & ghostPageMask] = object;
  }
  delete(addr: number): void {
    const i = this.index(addr);
    if (i < 0) {
      this.others.delete(addr);
      return;
    }
    const page = this.pages[i >>> ghostPageBits];
    if (page !== undefined) page[i & ghostPageMask] = undefined;
  }
}

const asidTableSize = 1 << seL4_NumASIDPoolsBits;

/** "No slot / no object" in addresses held as JS numbers. */
export const NONE = -1;

/** ksSchedulerAction values other than a TCB address. */
export const SchedulerAction = { resumeCurrentThread: -2, chooseNewThread: -3 } as const;

/** seL4_MaxPrio + 1 priorities; L2_BITMAP_SIZE words of 32 bits cover them. */
export const numPriorities = 256;
export const l2BitmapWords = numPriorities / 32;

export class ImplInvariantError extends Error {}

/** Raises on a broken invariant: an impl bug, never a user's doing. */
export function fail(message: string): never {
  throw new ImplInvariantError(`impl invariant violated: ${message}`);
}

/** The IRQ node's size: one slot per IRQ 0..maxIRQ. */
export const irqNodeBytes = (maxIRQ + 1) * 16;

export function createState(
  ramBase: number,
  ramBytes: number,
  debug: boolean,
  recordTouched: boolean,
  fastpath: boolean,
  maxWorkUnitsPerPreemption: number,
): ImplState {
  if (!Number.isInteger(maxWorkUnitsPerPreemption) || maxWorkUnitsPerPreemption < 1) {
    throw new RangeError(`maxWorkUnitsPerPreemption ${maxWorkUnitsPerPreemption}: must be an integer >= 1`);
  }
  return {
    mem: createRam(ramBytes, irqNodeBytes),
    ramBase,
    ramEnd: ramBase + ramBytes,
    ghost: new GhostTable(ramBase, ramBytes),
    ghostAddrs: [],
    ghostSeqs: [],
    ghostNextSeq: 0,
    cnodeSizeCounts: new Uint32Array(33),
    lastHolder: NONE,
    lastHolderEnd: NONE,
    current: null,
    debug,
    recordTouched,
    fastpath,
    fastpathOutcome: undefined,
    clockTicks: 0n,
    curTimeTicks: 0n,
    consumedTicks: 0n,
    curSC: NONE,
    schedulerAction: SchedulerAction.resumeCurrentThread,
    reprogram: false,
    timerDeadlineTicks: null,
    readyHeads: new Array<number>(numPriorities).fill(NONE),
    readyTails: new Array<number>(numPriorities).fill(NONE),
    l1Bitmap: 0,
    l2Bitmap: new Uint32Array(l2BitmapWords),
    releaseHead: NONE,
    releaseTail: NONE,
    dirtySlots: new AddressLog(),
    dirtyObjects: new AddressLog(),
    userWrites: new AddressLog(),
    choices: [],
    zeroed: false,
    restarted: false,
    lookupFault: { type: 'InvalidRoot' },
    bitsRemaining: 0,
    observedBuffer: null,
    asidTable: new Uint32Array(asidTableSize),
    kernelRoot: new Uint32Array(1 << (seL4_PageTableBits - 2)),
    irqNode: (ramBase + ramBytes) >>> 0,
    irqStates: new Uint8Array(maxIRQ + 1),
    irqPending: new Uint8Array(maxIRQ + 1),
    irqClaimed: new Uint8Array(maxIRQ + 1),
    deliverableIRQs: 0,
    workUnitsCompleted: 0,
    maxWorkUnitsPerPreemption,
    entryWorkUnits: 0,
    raise: null,
    preempted: null,
  };
}

export function linkWord(addr: number): number {
  return addr === NONE ? 0 : (addr | 1) >>> 0;
}

export function linkTarget(word: number): number {
  return (word & 1) === 0 ? NONE : (word & ~0xf) >>> 0;
}

export function inRam(state: ImplState, paddr: number, bytes: number): boolean {
  return paddr >= state.ramBase && paddr + bytes <= state.ramEnd;
}

// ---- reads ----

export function readWord(state: ImplState, paddr: number): number {
  return state.mem.get((paddr - state.ramBase) >>> 2);
}

/** The 64-bit value at paddr (low word first). Times mostly fit the low word: then one conversion. */
export function readU64(state: ImplState, paddr: number): bigint {
  const high = readWord(state, paddr + 4);
  const low = readWord(state, paddr);
  return high === 0 ? BigInt(low) : (BigInt(high) << 32n) | BigInt(low);
}

/** A word of user memory: zero outside RAM (device memory is not modelled). */
/** The lowest word address in [from, to) of RAM whose word is not zero, or null; pages never written are skipped. */
export function firstNonZeroUserWord(state: ImplState, from: number, to: number): number | null {
  const start = Math.max(from, state.ramBase);
  const end = Math.min(to, state.ramEnd);
  if (start >= end) return null;
  const first = Math.ceil((start - state.ramBase) / 4);
  const last = Math.ceil((end - state.ramBase) / 4);
  if (state.mem.isZero(first, last)) return null;
  for (let i = first; i < last; i++) if (state.mem.get(i) !== 0) return state.ramBase + i * 4;
  return null;
}

export function readUserWord(state: ImplState, paddr: number): number {
  if (!Number.isInteger(paddr) || !inRam(state, paddr - (paddr % 4), 4)) return 0;
  return state.mem.get((paddr - state.ramBase) >>> 2);
}

// ---- the write paths: a word, or a run of words inside one page of RAM ----

function store(state: ImplState, paddr: number, value: number): void {
  state.mem.set((paddr - state.ramBase) >>> 2, value);
}

/** The page of RAM holding the word at `paddr` (allocated if never written), for a run of stores inside it; index it from ramPageIndex. Marks nothing. */
export function ramPageAt(state: ImplState, paddr: number): Uint32Array {
  return state.mem.pageOf((paddr - state.ramBase) >>> 2);
}

/** Where the word at `paddr` is in the array ramPageAt gives. */
export function ramPageIndex(state: ImplState, paddr: number): number {
  return ((paddr - state.ramBase) >>> 2) & ramPageWordMask;
}

/** Stores `value` at `index` of `page` (ramPageAt's array holding the object at `obj`) and marks the object. */
export function writePageWord(state: ImplState, obj: number, page: Uint32Array, index: number, value: number): void {
  page[index] = value;
  markObject(state, obj);
}

/** Stores word `word` (0..3) of the slot at `slot`. */
export function writeSlotWord(state: ImplState, slot: number, word: number, value: number): void {
  store(state, slot + 4 * word, value);
  markSlot(state, slot);
}

/** Stores words `word` and `word` + 1 (0 or 2) of the slot at `slot` (16-byte aligned: in one page of memory). */
export function writeSlotPair(state: ImplState, slot: number, word: number, first: number, second: number): void {
  const index = (slot - state.ramBase) >>> 2;
  const page = state.mem.pageOf(index);
  const at = (index & ramPageWordMask) + word;
  page[at] = first;
  page[at + 1] = second;
  markSlot(state, slot);
}

/** Stores all four words of the slot at `slot` (a cap and its MDB node) with one page lookup. */
export function writeSlotWords(state: ImplState, slot: number, w0: number, w1: number, prev: number, next: number): void {
  const index = (slot - state.ramBase) >>> 2;
  const page = state.mem.pageOf(index);
  const at = index & ramPageWordMask;
  page[at] = w0;
  page[at + 1] = w1;
  page[at + 2] = prev;
  page[at + 3] = next;
  markSlot(state, slot);
}

/** Stores the word at byte `offset` of the object record at `obj`. */
export function writeObjectWord(state: ImplState, obj: number, offset: number, value: number): void {
  store(state, obj + offset, value);
  markObject(state, obj);
}

/** Stores `words` from byte `offset` of the object at `obj` on. */
export function writeObjectWords(state: ImplState, obj: number, offset: number, words: Uint32Array): void {
  state.mem.setWords((obj + offset - state.ramBase) >>> 2, words);
  markObject(state, obj);
}

/** Stores the 64-bit `value` at byte `offset` of the object at `obj` (low word first). */
export function writeObjectU64(state: ImplState, obj: number, offset: number, value: bigint): void {
  if (state.debug && (value < 0n || value >= 1n << 64n)) fail(`64-bit store of ${value} out of range`);
  const small = value >= 0n && value <= 0xffffffffn;
  store(state, obj + offset, small ? Number(value) : Number(value & 0xffffffffn));
  store(state, obj + offset + 4, small ? 0 : Number(value >> 32n));
  markObject(state, obj);
}

/** Stores a word of user memory inside the frame at `frame`; outside RAM it is dropped. */
export function writeUserWord(state: ImplState, frame: number, paddr: number, value: number): void {
  if (!inRam(state, paddr, 4)) return;
  store(state, paddr, value);
  markObject(state, frame);
  state.userWrites.push(paddr);
}

/** Zeroes [paddr, paddr + bytes) of RAM (pages never written are zero already); the caller marks what it detyped. */
export function zeroRange(state: ImplState, paddr: number, bytes: number): void {
  const start = Math.max(paddr, state.ramBase) - state.ramBase;
  const end = Math.min(paddr + bytes, state.ramEnd) - state.ramBase;
  if (start < end) state.mem.zero(start >>> 2, end >>> 2);
  state.zeroed = true;
}

// ---- the ghost table ----

/** Index of the first ghost address >= addr. */
function ghostIndex(state: ImplState, addr: number): number {
  const addrs = state.ghostAddrs;
  let lo = 0;
  let hi = addrs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (addrs[mid]! < addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function ghostAdd(state: ImplState, addr: number, object: GhostObject): void {
  ghostAddRun(state, addr, 1, 0, object);
}

/**
 * Records `count` objects alike, the first at `addr`, each `strideBytes` after the last
 * (a Retype's objects), in that order.
 */
export function ghostAddRun(state: ImplState, addr: number, count: number, strideBytes: number, object: GhostObject): void {
  if (count === 0) return;
  const index = ghostIndex(state, addr);
  // Mostly after every object: appended in place, else spliced in at once.
  const append = index === state.ghostAddrs.length;
  const addrs = append ? state.ghostAddrs : new Array<number>(count);
  const seqs = append ? state.ghostSeqs : new Array<number>(count);
  const first = append ? index : 0;
  const ghost = state.ghost;
  const debug = state.debug;
  let seq = state.ghostNextSeq;
  for (let i = 0; i < count; i++) {
    const at = addr + i * strideBytes;
    if (debug) checkNewGhost(state, at, object);
    ghost.set(at, object);
    addrs[first + i] = at;
    seqs[first + i] = seq++;
    markObject(state, at);
  }
  state.ghostNextSeq = seq;
  if (!append) {
    state.ghostAddrs.splice(index, 0, ...addrs);
    state.ghostSeqs.splice(index, 0, ...seqs);
  }
  if (object.type === 'cnode') state.cnodeSizeCounts[object.sizeBits]! += count;
}

/** Debug: a new object is aligned to its size and over no other. */
function checkNewGhost(state: ImplState, at: number, object: GhostObject): void {
  if (at % 2 ** object.sizeBits !== 0) fail(`object at ${at.toString(16)} not aligned to 2^${object.sizeBits}`);
  if (state.ghost.has(at)) fail(`object created over an existing one at ${at.toString(16)}`);
}

const tcbSlotBytes = tcbSlotCount * 16;

/** The CNode or TCB whose slots include the 16-byte aligned address `slot`, or NONE. */
export function slotHolder(state: ImplState, slot: number): number {
  if (slot >= state.lastHolder && slot < state.lastHolderEnd) return state.lastHolder;
  const tcb = slot - (slot % 2 ** seL4_TCBBits);
  if (slot - tcb < tcbSlotBytes && state.ghost.get(tcb)?.type === 'tcb') return rememberHolder(state, tcb, tcbSlotBytes);
  const counts = state.cnodeSizeCounts;
  for (let sizeBits = seL4_SlotBits + 1; sizeBits < counts.length; sizeBits++) {
    if (counts[sizeBits] === 0) continue;
    const cnode = slot - (slot % 2 ** sizeBits);
    const object = state.ghost.get(cnode);
    if (object !== undefined && object.type === 'cnode' && object.sizeBits === sizeBits) return rememberHolder(state, cnode, 2 ** sizeBits);
  }
  return NONE;
}

function rememberHolder(state: ImplState, holder: number, slotsBytes: number): number {
  state.lastHolder = holder;
  state.lastHolderEnd = holder + slotsBytes;
  return holder;
}

/** The IRQ node's slot at `slot` as { irqNodeRef, irq }, or null if it is not one. */
function irqNodeSlotRef(state: ImplState, slot: number): SlotRef | null {
  const offset = slot - state.irqNode;
  return offset >= 0 && offset < irqNodeBytes && offset % 16 === 0 ? { cnode: irqNodeRef, index: offset / 16 } : null;
}

/** The slot at `slot` as { holder, index } (the IRQ node's as { irqNodeRef, irq }), or null if no CNode or TCB holds a slot there. */
export function slotRefOf(state: ImplState, slot: number): SlotRef | null {
  if (!inRam(state, slot, 16) || slot % 16 !== 0) return irqNodeSlotRef(state, slot);
  const holder = slotHolder(state, slot);
  return holder === NONE ? null : { cnode: holder, index: (slot - holder) / 16 };
}

/** Removes every object inside [base, base + bytes) from the ghost table (detype), oldest first. */
export function ghostClearRange(state: ImplState, base: number, bytes: number): void {
  const from = ghostIndex(state, base);
  const to = ghostIndex(state, base + bytes);
  if (from === to) return;
  state.lastHolder = NONE;
  state.lastHolderEnd = NONE;
  const addrs = state.ghostAddrs.splice(from, to - from);
  const seqs = state.ghostSeqs.splice(from, to - from);
  // Only the record of what was touched keeps the creation order; forgetting is in any order.
  if (!state.recordTouched || isAscending(seqs)) {
    for (let i = 0; i < addrs.length; i++) ghostForget(state, addrs[i]!);
    return;
  }
  const order = addrs.map((_, i) => i);
  order.sort((a, b) => seqs[a]! - seqs[b]!);
  for (const i of order) ghostForget(state, addrs[i]!);
}

function ghostForget(state: ImplState, addr: number): void {
  const object = state.ghost.get(addr)!;
  state.ghost.delete(addr);
  if (object.type === 'cnode') state.cnodeSizeCounts[object.sizeBits]! -= 1;
  markObject(state, addr);
}

function isAscending(values: readonly number[]): boolean {
  for (let i = 1; i < values.length; i++) if (values[i - 1]! > values[i]!) return false;
  return true;
}

// Consecutive writes mostly hit the same slot or object, so only a repeat of the last entry
// is skipped here; touchedOf removes the remaining repeats. The marks test `recordTouched` and
// log in a function of their own: every store calls them, and V8 always inlines a function of
// at most 27 bytes of bytecode, where a bigger one competes for a caller's inlining budget.
function markSlot(state: ImplState, slot: number): void {
  if (state.recordTouched) logAddress(state.dirtySlots, slot);
}

/** Records that the step wrote the object at `obj` (repeats of the last one are skipped). */
export function markObject(state: ImplState, obj: number): void {
  if (state.recordTouched) logAddress(state.dirtyObjects, obj);
}

function logAddress(log: AddressLog, addr: number): void {
  if (log.last() !== addr) log.push(addr);
}

/** Starts a step: forgets what the previous step wrote. */
export function beginStep(state: ImplState): void {
  state.dirtySlots.clear();
  state.dirtyObjects.clear();
  state.userWrites.clear();
  // Setting an array's length is a runtime call even when it is 0 already.
  if (state.choices.length !== 0) state.choices.length = 0;
  state.zeroed = false;
  state.restarted = false;
  state.fastpathOutcome = undefined;
  state.preempted = null;
  state.entryWorkUnits = 0;
  state.raise = null;
}
