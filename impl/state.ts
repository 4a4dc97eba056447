// The impl's whole state: one simulated physical memory holding every kernel object at its
// physical address, a ghost table of which objects exist (for the view and the checker
// only, like seL4's ghost state), the current thread, and the per-step record of what was
// written. Every store to memory goes through the write functions below, which also mark
// the slot or object they touch; that is the `touched` field of a step's outcome.
//
// Memory: a Uint32Array over the RAM region of the boot config, word index
// (paddr - ramBase) >> 2. Device regions are not backed: no kernel object lives there and
// device frame contents are not modelled (they read as zero).
//
// Slot names: the checker names a slot by the CNode or TCB holding it. A ghost index,
// `slotOwner`, has one entry per 16 bytes of RAM: for a slot of a CNode or TCB, 1 + the
// holder's offset from ramBase in 16-byte units; else 0. Like the ghost table it is only
// for reporting. `slotStamp` holds, per 16 bytes, the last step that marked that slot dirty.
//
// Link words (MDB prev/next, object pointers in records): a pointer to a 16-byte aligned
// slot or object is stored as `addr | 1`; 0 means none. This keeps address 0 usable when
// RAM starts at 0, and leaves bits 1..3 free for flags.
import { seL4_SlotBits, tcbSlotCount, type LookupFailure, type ObjectKind, type SlotRef } from '../libsel4/index.ts';

/** What the ghost table records about one object: its type and size. */
export interface GhostObject {
  readonly type: ObjectKind;
  readonly sizeBits: number;
  readonly isDevice: boolean;
}

export interface ImplState {
  readonly mem: Uint32Array;
  readonly ramBase: number;
  readonly ramEnd: number;
  /** Objects that exist, by address; never read by kernel decisions. */
  readonly ghost: Map<number, GhostObject>;
  /** TCB address of the thread that runs next, or null. */
  current: number | null;
  /** Invariant assertions on (tests) or off (benchmarks). */
  readonly debug: boolean;
  /** Slots (by address) and objects written during the current step; may repeat entries. */
  dirtySlots: number[];
  dirtyObjects: number[];
  /** User memory words (by address) written during the current step. */
  userWrites: number[];
  /** Whether the current step created or detyped objects (or zeroed memory). */
  retyped: boolean;
  /** CNodes and TCBs whose finalisation is in progress (a cycle guard for deletion). */
  readonly finalising: Set<number>;
  /** The last lookup's failure and remaining bits, like seL4's current_lookup_fault. */
  lookupFault: LookupFailure;
  bitsRemaining: number;
  /** Per 16 bytes of RAM: the CNode or TCB holding the slot there (see above). */
  readonly slotOwner: Uint32Array;
  /** Per 16 bytes of RAM: the step that last marked the slot there; `step` is the current one. */
  readonly slotStamp: Uint32Array;
  /**
   * Per 4 KiB page of RAM: 1 if a word in it may be non-zero. Zeroing skips clean pages, so
   * resetting a large untyped costs what was written, not its size. Simulation only.
   */
  readonly dirtyPages: Uint8Array;
  step: number;
  /** The IPC buffer words last observed, reused while that frame is not written. */
  observedBuffer: { readonly addr: number; readonly frame: number; readonly words: readonly number[] } | null;
}

/** "No slot / no object" in addresses held as JS numbers. */
export const NONE = -1;

export class ImplInvariantError extends Error {}

/** Raises on a broken invariant: an impl bug, never a user's doing. */
export function fail(message: string): never {
  throw new ImplInvariantError(`impl invariant violated: ${message}`);
}

export function createState(ramBase: number, ramBytes: number, debug: boolean): ImplState {
  return {
    mem: new Uint32Array(ramBytes >>> 2),
    ramBase,
    ramEnd: ramBase + ramBytes,
    ghost: new Map(),
    current: null,
    debug,
    dirtySlots: [],
    dirtyObjects: [],
    userWrites: [],
    retyped: false,
    finalising: new Set(),
    lookupFault: { type: 'InvalidRoot' },
    bitsRemaining: 0,
    slotOwner: new Uint32Array(ramBytes >>> 4),
    slotStamp: new Uint32Array(ramBytes >>> 4),
    dirtyPages: new Uint8Array(Math.ceil(ramBytes / pageBytes)),
    step: 1,
    observedBuffer: null,
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
  return state.mem[(paddr - state.ramBase) >>> 2]!;
}

/** A word of user memory: zero outside RAM (device memory is not modelled). */
export function readUserWord(state: ImplState, paddr: number): number {
  if (!Number.isInteger(paddr) || !inRam(state, paddr - (paddr % 4), 4)) return 0;
  return state.mem[(paddr - state.ramBase) >>> 2]!;
}

// ---- the one write path ----

const pageBytes = 4096;

function store(state: ImplState, paddr: number, value: number): void {
  const offset = paddr - state.ramBase;
  state.mem[offset >>> 2] = value;
  state.dirtyPages[Math.floor(offset / pageBytes)] = 1;
}

/** Stores word `word` (0..3) of the slot at `slot`. */
export function writeSlotWord(state: ImplState, slot: number, word: number, value: number): void {
  store(state, slot + 4 * word, value);
  markSlot(state, slot);
}

/** Stores the word at byte `offset` of the object record at `obj`. */
export function writeObjectWord(state: ImplState, obj: number, offset: number, value: number): void {
  store(state, obj + offset, value);
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
  for (let page = Math.floor(start / pageBytes); page * pageBytes < end; page++) {
    if (state.dirtyPages[page] === 0) continue;
    const from = Math.max(start, page * pageBytes);
    const to = Math.min(end, (page + 1) * pageBytes);
    state.mem.fill(0, from >>> 2, to >>> 2);
    if (from === page * pageBytes && to === (page + 1) * pageBytes) state.dirtyPages[page] = 0;
  }
  state.retyped = true;
}

// ---- the ghost table ----

export function ghostAdd(state: ImplState, addr: number, object: GhostObject): void {
  if (state.debug) {
    if (addr % 2 ** object.sizeBits !== 0) fail(`object at ${addr.toString(16)} not aligned to 2^${object.sizeBits}`);
    if (state.ghost.has(addr)) fail(`object created over an existing one at ${addr.toString(16)}`);
  }
  state.ghost.set(addr, object);
  setSlotOwner(state, addr, object, ((addr - state.ramBase) >>> 4) + 1);
  markObject(state, addr);
  state.retyped = true;
}

function setSlotOwner(state: ImplState, addr: number, object: GhostObject, owner: number): void {
  const slots = object.type === 'cnode' ? 1 << (object.sizeBits - seL4_SlotBits) : object.type === 'tcb' ? tcbSlotCount : 0;
  if (slots === 0) return;
  const first = (addr - state.ramBase) >>> 4;
  state.slotOwner.fill(owner, first, first + slots);
}

/** The slot at `slot` as { holder, index }, or null if no CNode or TCB holds a slot there. */
export function slotRefOf(state: ImplState, slot: number): SlotRef | null {
  if (!inRam(state, slot, 16) || slot % 16 !== 0) return null;
  const owner = state.slotOwner[(slot - state.ramBase) >>> 4]!;
  if (owner === 0) return null;
  const holder = state.ramBase + (owner - 1) * 16;
  return { cnode: holder, index: (slot - holder) / 16 };
}

/** Removes every object inside [base, base + bytes) from the ghost table (detype). */
export function ghostClearRange(state: ImplState, base: number, bytes: number): void {
  const end = base + bytes;
  state.retyped = true;
  for (const [addr, object] of state.ghost) {
    if (addr >= base && addr < end) {
      state.ghost.delete(addr);
      setSlotOwner(state, addr, object, 0);
      markObject(state, addr);
    }
  }
}

function markSlot(state: ImplState, slot: number): void {
  const i = (slot - state.ramBase) >>> 4;
  if (state.slotStamp[i] === state.step) return;
  state.slotStamp[i] = state.step;
  state.dirtySlots.push(slot);
}

// Consecutive writes mostly hit the same object, so only a repeat of the last entry is
// skipped here; touchedOf removes the remaining repeats.
function markObject(state: ImplState, obj: number): void {
  const dirty = state.dirtyObjects;
  if (dirty[dirty.length - 1] !== obj) dirty.push(obj);
}

/** Starts a step: forgets what the previous step wrote. */
export function beginStep(state: ImplState): void {
  state.step = (state.step + 1) >>> 0;
  if (state.step === 0) {
    state.slotStamp.fill(0);
    state.step = 1;
  }
  state.dirtySlots = [];
  state.dirtyObjects = [];
  state.userWrites = [];
  state.retyped = false;
}
