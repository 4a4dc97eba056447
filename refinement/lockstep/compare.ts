// Hand-written comparators over the read-only view every layer offers. A mismatch names
// the first differing place in seL4 terms, e.g. `cnode 0x80010000 slot 3: badge: 5 vs 0`.
import {
  capDifference,
  hex,
  irqNodeRef,
  maxIRQ,
  type KernelView,
  type ObjectView,
  type Observation,
  type Preemption,
  type ReadyQueueView,
  type SchedulerView,
  type SlotRef,
  type Touched,
} from '../../libsel4/index.ts';

export interface Mismatch {
  /** Where the two sides differ, in seL4 terms. */
  readonly path: string;
  /** The lower layer's value, then the upper layer's. */
  readonly lower: string;
  readonly upper: string;
}

export function slotName(view: KernelView, slot: SlotRef): string {
  if (slot.cnode === irqNodeRef) return irqNodeSlotName(slot.index);
  const holder = view.object(slot.cnode);
  return `${holder?.type === 'tcb' ? 'tcb' : 'cnode'} ${hex(slot.cnode)} slot ${slot.index}`;
}

/** An IRQ node slot in seL4 terms: `irq node slot 5`. */
export function irqNodeSlotName(irq: number): string {
  return `irq node slot ${irq}`;
}

/** The IRQ node's slots, 0..maxIRQ. */
export const irqNodeSlots: readonly SlotRef[] = Object.freeze(Array.from({ length: maxIRQ + 1 }, (_, irq) => Object.freeze({ cnode: irqNodeRef, index: irq })));

/** Compares every IRQ line (state, pending, claimed) through the views: `irq 5: state`. */
export function compareIrqs(lower: KernelView, upper: KernelView): Mismatch | null {
  for (let irq = 0; irq <= maxIRQ; irq++) {
    const a = lower.irq(irq);
    const b = upper.irq(irq);
    if (a.state !== b.state) return { path: `irq ${irq}: state`, lower: a.state, upper: b.state };
    if (a.pending !== b.pending) return { path: `irq ${irq}: pending`, lower: String(a.pending), upper: String(b.pending) };
    if (a.claimed !== b.claimed) return { path: `irq ${irq}: claimed`, lower: String(a.claimed), upper: String(b.claimed) };
  }
  return null;
}

/** A slot named in a link or CDT parent: `0x80000000[3]`, `irq node[5]`, or `none`. */
export function slotRefText(p: SlotRef | null): string {
  if (p === null) return 'none';
  return p.cnode === irqNodeRef ? `irq node[${p.index}]` : `${hex(p.cnode)}[${p.index}]`;
}

export function compareSlot(lower: KernelView, upper: KernelView, slot: SlotRef): Mismatch | null {
  const a = lower.cap(slot);
  const b = upper.cap(slot);
  if (a === null || b === null) {
    if (a === b) return null;
    return { path: `${slotName(lower, slot)}: exists`, lower: String(a !== null), upper: String(b !== null) };
  }
  const diff = capDifference(a, b);
  if (diff !== null) {
    const [field, values] = diff.split(': ', 2) as [string, string];
    const [lv, uv] = (values ?? '').split(' vs ');
    return { path: `${slotName(lower, slot)}: ${field}`, lower: lv ?? '', upper: uv ?? '' };
  }
  const pa = lower.cdtParent(slot);
  const pb = upper.cdtParent(slot);
  if (pa?.cnode !== pb?.cnode || pa?.index !== pb?.index) {
    return { path: `${slotName(lower, slot)}: CDT parent`, lower: slotRefText(pa), upper: slotRefText(pb) };
  }
  return null;
}

export function compareObject(lower: KernelView, upper: KernelView, addr: number): Mismatch | null {
  return objectViewsDifference(addr, lower.object(addr), upper.object(addr));
}

/** Two views of the object at `addr` (null: no object there). */
function objectViewsDifference(addr: number, a: ObjectView | null, b: ObjectView | null): Mismatch | null {
  if (a === null || b === null) {
    if (a === b) return null;
    return { path: `object ${hex(addr)}`, lower: a?.type ?? 'none', upper: b?.type ?? 'none' };
  }
  return objectDifference(a, b);
}

/**
 * A field's value as a report shows it: 64-bit times in decimal, addresses (large numbers) in
 * hex, null as `none`, lists and records (refills) field by field.
 */
export function valueText(value: unknown): string {
  if (value === null) return 'none';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return value > 0xffff ? hex(value) : String(value);
  if (Array.isArray(value)) return `[${value.map(valueText).join(', ')}]`;
  if (typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${k} ${valueText(v)}`).join(', ')}}`;
  return String(value);
}

/** The first place where two field values differ, as `[i].key` below `path`; lists and records structurally. */
export function valueDifference(path: string, a: unknown, b: unknown): Mismatch | null {
  if (a === b) return null;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length || i >= b.length) return { path: `${path}[${i}]`, lower: i < a.length ? valueText(a[i]) : 'none', upper: i < b.length ? valueText(b[i]) : 'none' };
      const m = valueDifference(`${path}[${i}]`, a[i], b[i]);
      if (m) return m;
    }
    return null;
  }
  if (isRecord(a) && isRecord(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const m = valueDifference(`${path}.${key}`, a[key], b[key]);
      if (m) return m;
    }
    return null;
  }
  return { path, lower: valueText(a), upper: valueText(b) };
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether valueDifference finds no difference: the same walk, building nothing. */
function valueEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!valueEqual(a[i], b[i])) return false;
    return true;
  }
  if (isRecord(a) && isRecord(b)) {
    for (const key of Object.keys(a)) if (!valueEqual(a[key], b[key])) return false;
    for (const key of Object.keys(b)) if (!Object.prototype.propertyIsEnumerable.call(a, key) && !valueEqual(a[key], b[key])) return false;
    return true;
  }
  return false;
}

function isPlainRecord(value: object): value is Readonly<Record<string, unknown>> {
  return Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * Whether fieldsDifference finds no difference, without building the copies, key sets and
 * paths it needs to name one (most compared objects are equal). Only for plain records, whose
 * copies read as they do.
 */
function fieldsEqual(a: object, b: object): boolean {
  if (!isPlainRecord(a) || !isPlainRecord(b)) return false;
  const keysA = Object.keys(a);
  for (const key of keysA) if (key !== 'slots' && !valueEqual(a[key], b[key])) return false;
  const keysB = Object.keys(b);
  // The same keys in the same order (records of one shape): b has no key a lacks.
  if (sameKeys(keysA, keysB)) return true;
  for (const key of keysB) if (key !== 'slots' && !Object.prototype.propertyIsEnumerable.call(a, key) && !valueEqual(a[key], b[key])) return false;
  return true;
}

/**
 * Whether fieldsDifference finds no difference between `a` and `b` extended with `key` (values
 * `va` and `vb`), without building the extended copies. False (not known) if either has a `key` of its own.
 */
export function fieldsEqualWith(a: object, b: object, key: string, va: unknown, vb: unknown): boolean {
  if (Object.prototype.hasOwnProperty.call(a, key) || Object.prototype.hasOwnProperty.call(b, key)) return false;
  return key !== 'slots' && fieldsEqual(a, b) && valueEqual(va, vb);
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The first differing field of two objects (their `slots`, compared slot by slot elsewhere, left
 * out). `what` names the objects in the mismatch (a function: only built when they differ).
 */
export function fieldsDifference(what: () => string, a: object, b: object): Mismatch | null {
  if (fieldsEqual(a, b)) return null;
  const ra: Readonly<Record<string, unknown>> = { ...a };
  const rb: Readonly<Record<string, unknown>> = { ...b };
  for (const key of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    if (key === 'slots') continue;
    const m = valueDifference(key, ra[key], rb[key]);
    if (m) return { ...m, path: `${what()}: ${m.path}` };
  }
  return null;
}

function objectDifference(a: ObjectView, b: ObjectView): Mismatch | null {
  return fieldsDifference(() => `${a.type} ${hex(a.addr)}`, a, b);
}

const threadsText = (threads: readonly number[] | undefined) => (threads === undefined ? 'empty' : `[${threads.map(hex).join(', ')}]`);
const schedContextText = (sc: number | null) => (sc === null ? "the idle thread's" : hex(sc));
const deadlineText = (ticks: bigint | null) => (ticks === null ? 'none' : ticks.toString());

/** The first ready queue (highest priority first) whose threads differ. */
function readyQueuesDifference(a: readonly ReadyQueueView[], b: readonly ReadyQueueView[]): Mismatch | null {
  const priorities = [...new Set([...a, ...b].map((q) => q.priority))].sort((x, y) => y - x);
  for (const priority of priorities) {
    const qa = a.find((q) => q.priority === priority)?.threads;
    const qb = b.find((q) => q.priority === priority)?.threads;
    const same = qa !== undefined && qb !== undefined && qa.length === qb.length && qa.every((t, i) => t === qb[i]);
    if (!same) return { path: `scheduler: ready queue ${priority}`, lower: threadsText(qa), upper: threadsText(qb) };
  }
  return null;
}

/**
 * Compares the scheduler's state (small: compared after every step), in seL4's names:
 * `scheduler: ksCurTime`, `scheduler: ready queue 255`, `scheduler: timer deadline`.
 */
export function compareScheduler(a: SchedulerView, b: SchedulerView): Mismatch | null {
  const times: ReadonlyArray<readonly [string, bigint, bigint]> = [
    ['clock', a.clockTicks, b.clockTicks],
    ['ksCurTime', a.curTimeTicks, b.curTimeTicks],
    ['ksConsumed', a.consumedTicks, b.consumedTicks],
  ];
  for (const [name, ta, tb] of times) {
    if (ta !== tb) return { path: `scheduler: ${name}`, lower: ta.toString(), upper: tb.toString() };
  }
  if (a.currentSchedContext !== b.currentSchedContext) {
    return { path: 'scheduler: ksCurSC', lower: schedContextText(a.currentSchedContext), upper: schedContextText(b.currentSchedContext) };
  }
  const ready = readyQueuesDifference(a.readyQueues, b.readyQueues);
  if (ready) return ready;
  const release = a.releaseQueue.length === b.releaseQueue.length && a.releaseQueue.every((t, i) => t === b.releaseQueue[i]);
  if (!release) return { path: 'scheduler: release queue', lower: threadsText(a.releaseQueue), upper: threadsText(b.releaseQueue) };
  if (a.timerDeadlineTicks !== b.timerDeadlineTicks) {
    return { path: 'scheduler: timer deadline', lower: deadlineText(a.timerDeadlineTicks), upper: deadlineText(b.timerDeadlineTicks) };
  }
  return null;
}

/** Compares, through the views, the objects a step touched on either side. */
export function compareTouchedObjects(lower: KernelView, upper: KernelView, touched: readonly Touched[]): Mismatch | null {
  for (const t of touched) {
    for (const addr of t.objects) {
      const m = compareObject(lower, upper, addr);
      if (m) return m;
    }
  }
  return null;
}

/**
 * Compares every object, the scheduler's state and the IRQ lines through the views (the closing comparison's
 * part that needs no abstraction), each side's objects listed once; `upperObjects` is the upper
 * view's objects() when the caller has them already.
 */
export function compareViews(lower: KernelView, upper: KernelView, upperObjects: readonly ObjectView[] = upper.objects()): Mismatch | null {
  const b = new Map<number, ObjectView>();
  for (const o of upperObjects) b.set(o.addr, o);
  for (const o of lower.objects()) {
    const m = objectViewsDifference(o.addr, o, b.get(o.addr) ?? null);
    if (m) return m;
    b.delete(o.addr);
  }
  const [extra] = b.values();
  if (extra) return { path: `object ${hex(extra.addr)}`, lower: 'none', upper: extra.type };
  return compareScheduler(lower.scheduler(), upper.scheduler()) ?? compareIrqs(lower, upper);
}

/** Compares, through the views, the user-memory words a store of the step wrote on either side: `user memory 0x80012010`. */
export function compareTouchedUserWords(lower: KernelView, upper: KernelView, touched: readonly Touched[]): Mismatch | null {
  for (const t of touched) {
    for (const paddr of t.userWords ?? []) {
      const a = lower.userWord(paddr);
      const b = upper.userWord(paddr);
      if (a !== b) return { path: `user memory ${hex(paddr)}`, lower: hex(a), upper: hex(b) };
    }
  }
  return null;
}

/** Compares what a step touched on either side: objects, slots, user-memory words. */
export function compareTouched(lower: KernelView, upper: KernelView, touched: readonly Touched[]): Mismatch | null {
  const objects = compareTouchedObjects(lower, upper, touched);
  if (objects) return objects;
  for (const t of touched) {
    for (const slot of t.slots) {
      const m = compareSlot(lower, upper, slot);
      if (m) return m;
    }
  }
  return compareTouchedUserWords(lower, upper, touched);
}

/** The first differing word of thread `tcb`'s `what` (its registers or IPC buffer). */
function wordsDifference(tcb: number, what: string, a: readonly number[] | null, b: readonly number[] | null, names?: readonly string[]): Mismatch | null {
  if (a === null || b === null) {
    return a === b ? null : { path: `thread ${hex(tcb)}: ${what}`, lower: a === null ? 'none' : 'present', upper: b === null ? 'none' : 'present' };
  }
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      return { path: `thread ${hex(tcb)}: ${what} ${names?.[i] ?? `word ${i}`}`, lower: hex(a[i] ?? 0), upper: hex(b[i] ?? 0) };
    }
  }
  return null;
}

/** A preemption as `revoke point (irq)`, or `none`. */
function preemptionText(p: Preemption | undefined): string {
  return p === undefined ? 'none' : `${p.at} point (${p.reason})`;
}

/** An observation's accessed word, or `none`. */
function accessedText(word: number | undefined): string {
  return word === undefined ? 'none' : hex(word);
}

/** ksWorkUnitsCompleted of two layers that keep it (null: the abstract spec keeps none). */
export function compareWorkUnits(lower: KernelView, upper: KernelView): Mismatch | null {
  const a = lower.workUnitsCompleted();
  const b = upper.workUnitsCompleted();
  if (a === null || b === null || a === b) return null;
  return { path: 'ksWorkUnitsCompleted (preemption points passed since the last check for a pending interrupt)', lower: String(a), upper: String(b) };
}

/** Compares what the user sees after an entry. */
export function compareObservations(lower: Observation, upper: Observation, registerNames: readonly string[]): Mismatch | null {
  if (lower.unmodelled !== upper.unmodelled) {
    return { path: 'unmodelled behaviour', lower: String(lower.unmodelled), upper: String(upper.unmodelled) };
  }
  if (preemptionText(lower.preempted) !== preemptionText(upper.preempted)) {
    return { path: 'preemptionPoint that stopped the syscall (kind, reason)', lower: preemptionText(lower.preempted), upper: preemptionText(upper.preempted) };
  }
  if (lower.accessed !== upper.accessed) {
    return { path: 'word the user access loaded, fetched or stored (none: it faulted)', lower: accessedText(lower.accessed), upper: accessedText(upper.accessed) };
  }
  if (lower.restarted !== upper.restarted) {
    return { path: 'syscall restarted (budget could not cover the entry, or its operation was preempted)', lower: String(lower.restarted), upper: String(upper.restarted) };
  }
  if (lower.current !== upper.current) {
    return { path: 'thread that runs next', lower: lower.current === null ? 'idle' : hex(lower.current), upper: upper.current === null ? 'idle' : hex(upper.current) };
  }
  const a = lower.caller;
  const b = upper.caller;
  if (a === null || b === null) {
    return a === b ? null : { path: 'caller', lower: a === null ? 'none' : hex(a.tcb), upper: b === null ? 'none' : hex(b.tcb) };
  }
  if (a.tcb !== b.tcb) return { path: 'caller', lower: hex(a.tcb), upper: hex(b.tcb) };
  if (a.state !== b.state) return { path: `thread ${hex(a.tcb)}: state`, lower: a.state, upper: b.state };
  return (
    wordsDifference(a.tcb, 'register', a.regs, b.regs, registerNames) ??
    wordsDifference(a.tcb, 'IPC buffer', a.ipcBuffer, b.ipcBuffer)
  );
}
