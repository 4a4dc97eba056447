// The two abstraction functions of the refinement chain, and the comparisons built on them.
//
//   impl -> executable: decode simulated memory (cap bitfields, MDB nodes, object records,
//     the ghost table, the IRQ node and lines) into the executable spec's state. Both layers are deterministic, so
//     the decoded state must EQUAL the executable state: caps, MDB links and flags, objects,
//     user memory, the current thread.
//   executable -> abstract: the MDB list becomes the CDT parent relation (a slot's parent is
//     the nearest slot before it in its list whose run of descendants reaches it), and
//     `revocable` becomes the abstract spec's `is_original_cap`.
// The scheduler's part of the state is in scheduler.ts.
import { Map as IMap } from 'immutable';
import {
  capDifference,
  capEqual,
  hex,
  irqNodeRef,
  maxIRQ,
  type Cap,
  type IrqView,
  type ObjectView,
  type SlotRef,
  type Touched,
} from '../../libsel4/index.ts';
import * as A from '../../spec-abstract/index.ts';
import * as E from '../../spec-executable/index.ts';
import * as I from '../../impl/index.ts';
import { compareIrqs, compareScheduler, fieldsDifference, fieldsEqualWith, irqNodeSlotName, irqNodeSlots, slotRefText, type Mismatch } from '../lockstep/compare.ts';
import { implSched } from './scheduler.ts';
import { checkedListParents, closingListing, mdbParentOf, objectBytes, objectsByAddr } from '../listing.ts';
import type { MDBEntry } from '../invariants/mdb.ts';
import { execObjectAddrs, execReader, execSlots, type ExecReader } from './exec-index.ts';
import { SlotMap } from '../slot-map.ts';

// ------------------------------------------------------------------ impl -> executable

function execSlotOf(data: { cap: Cap; mdb: E.MDBNode }): E.Slot {
  return { cap: data.cap, mdb: data.mdb };
}

/** The executable-spec slot that a slot of impl memory decodes to (null if there is no such slot). */
export function implSlot(impl: I.ImplState, ref: SlotRef): E.Slot | null {
  const data = I.decodeSlot(impl, ref);
  return data === null ? null : execSlotOf(data);
}

/** A slot's two cap words are zero exactly when it holds the null cap. */
export function holdsNullCap(impl: I.ImplState, slotAddr: number): boolean {
  const word = (slotAddr - impl.ramBase) >>> 2;
  return impl.mem.get(word) === 0 && impl.mem.get(word + 1) === 0;
}

function decodedSlots(impl: I.ImplState, addr: number, count: number): E.SlotTable {
  return IMap<number, E.Slot>().withMutations((m) => {
    for (let index = 0; index < count; index++) {
      if (holdsNullCap(impl, addr + 16 * index)) continue;
      const data = I.decodeSlot(impl, { cnode: addr, index });
      if (data !== null && data.cap.type !== 'null') m.set(index, execSlotOf(data));
    }
  });
}

/** The executable-spec object an impl object record decodes to. */
export function implObject(impl: I.ImplState, addr: number): E.KObject | null {
  const o = I.decodeObject(impl, addr);
  if (o === null) return null;
  switch (o.type) {
    case 'cnode':
      return { ...o, slots: decodedSlots(impl, addr, 2 ** o.radix) };
    case 'tcb':
      return { ...o, slots: decodedSlots(impl, addr, 5) };
    default:
      return o;
  }
}

/** The impl's IRQ lines and IRQ node (its non-null slots by IRQ), as the executable spec keeps them. */
function implInterrupts(impl: I.ImplState): { readonly lines: readonly IrqView[]; readonly node: E.SlotTable } {
  const view = I.implLayer.view(impl);
  const node = IMap<number, E.Slot>().withMutations((m) => {
    for (const ref of irqNodeSlots) {
      const slot = implSlot(impl, ref);
      if (slot !== null && slot.cap.type !== 'null') m.set(ref.index, slot);
    }
  });
  return { lines: Array.from({ length: maxIRQ + 1 }, (_, irq) => view.irq(irq)), node };
}

/** The abstraction function impl -> executable: the whole decoded state, the interrupt state included. */
export function implToExec(impl: I.ImplState, current: number | null): E.ExecState {
  const objects = impl.ghostAddrs.map((addr) => implObject(impl, addr)!);
  const parts = { objects, memory: implUserWords(impl), current, sched: implSched(impl), interrupts: implInterrupts(impl) };
  return E.makeExecState(parts);
}

/** The non-zero words of the impl's frames; 4 KiB pages the impl never wrote are skipped. */
function* implUserWords(impl: I.ImplState): Generator<[number, number]> {
  const page = 4096;
  for (const addr of [...impl.ghostAddrs]) {
    const g = impl.ghost.get(addr)!;
    if (g.type !== 'frame' || g.isDevice) continue;
    for (let at = addr; at < addr + 2 ** g.sizeBits; at += page) {
      if (!impl.mem.backed(Math.floor((at - impl.ramBase) / page))) continue;
      for (let paddr = at; paddr < at + page; paddr += 4) {
        const w = I.readUserWord(impl, paddr);
        if (w !== 0) yield [paddr, w];
      }
    }
  }
}

function ascending(xs: readonly number[]): boolean {
  for (let i = 1; i < xs.length; i++) if (!(xs[i - 1]! < xs[i]!)) return false;
  return true;
}

/**
 * The addresses in `a` or `b`, each once, ascending: a merge when both lists are ascending
 * already (as the states keep them), else a sort.
 */
function sortedUnion(a: readonly number[], b: readonly number[]): number[] {
  if (!ascending(a) || !ascending(b)) return [...new Set([...a, ...b])].sort((x, y) => x - y);
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? a[i]! : Infinity;
    const y = j < b.length ? b[j]! : Infinity;
    out.push(x <= y ? x : y);
    if (x <= y) i++;
    if (y <= x) j++;
  }
  return out;
}

/** The first slot of an executable CNode or TCB that differs from the impl's (each index in order). */
function holderSlotsDifference(impl: I.ImplState, addr: number, upper: E.CNodeObject | E.TCBObject, count: number): Mismatch | null {
  const execSlots = new Map(upper.slots);
  for (let index = 0; index < count; index++) {
    const execSlot = execSlots.get(index) ?? null;
    if (execSlot === null && holdsNullCap(impl, addr + 16 * index)) continue;
    const ref = { cnode: addr, index };
    const m = diffSlots(ref, upper, implSlot(impl, ref), execSlot ?? E.nullSlot);
    if (m) return m;
  }
  return null;
}

/**
 * Whether holderSlotsDifference finds nothing, reading only the impl's non-null slots: each
 * agrees with the executable slot at its index, and the executable holder has no other slot.
 * False: not known.
 */
function holderSlotsAgree(impl: I.ImplState, addr: number, upper: E.CNodeObject | E.TCBObject, count: number): boolean {
  let matched = 0;
  for (let index = 0; index < count; index++) {
    if (holdsNullCap(impl, addr + 16 * index)) continue;
    const execSlot = upper.slots.get(index);
    if (execSlot === undefined) return false;
    const ref = { cnode: addr, index };
    if (diffSlots(ref, upper, implSlot(impl, ref), execSlot) !== null) return false;
    matched++;
  }
  return matched === upper.slots.size;
}

/** What the closing's listing of the impl state decoded: its objects by address, and its non-null slots' runs by holder. */
interface ListedImpl {
  readonly objects: ReadonlyMap<number, { readonly type: string }>;
  readonly slots: readonly MDBEntry[];
  /** Each holder's run of slots in `slots`: [start, end); null if its slots are not one run. */
  readonly runs: ReadonlyMap<number, readonly [number, number] | null>;
}

/** The impl state as this closing's invariants listed it (the same state: no step since), or null outside a closing. */
function listedImpl(impl: I.ImplState): ListedImpl | null {
  const listing = closingListing(impl);
  if (listing === undefined || listing.mdb === null) return null;
  const slots = listing.mdb;
  const runs = new Map<number, [number, number] | null>();
  for (let i = 0; i < slots.length; i++) {
    const holder = slots[i]!.slot.cnode;
    if (holder === irqNodeRef) continue;
    const run = runs.get(holder);
    if (run === undefined) runs.set(holder, [i, i + 1]);
    else if (run !== null && run[1] === i) run[1] = i + 1;
    else runs.set(holder, null);
  }
  return { objects: objectsByAddr(listing.objects), slots, runs };
}

/**
 * Whether holderSlotsDifference finds nothing, from the listing of a holder it decoded (and
 * so scanned, as many slots as the executable holder has once their objects agree): the impl's
 * non-null slots each agree with the executable slot at their index, and the executable holder
 * has no other slot. False: not known.
 */
function listedSlotsAgree(listed: ListedImpl, addr: number, upper: E.CNodeObject | E.TCBObject): boolean {
  const run = listed.runs.get(addr);
  if (run === null) return false;
  const [start, end] = run ?? [0, 0];
  for (let i = start; i < end; i++) {
    const e = listed.slots[i]!;
    const execSlot = upper.slots.get(e.slot.index);
    if (execSlot === undefined || !capEqual(e.cap, execSlot.cap) || !mdbEqual(e, execSlot.mdb)) return false;
  }
  return end - start === upper.slots.size;
}

/**
 * The closing comparison of impl and executable spec: the same as comparing implToExec with
 * the executable state, object by object, without building the decoded state.
 */
export function diffImplExec(impl: I.ImplState, implCurrent: number | null, exec: E.ExecState): Mismatch | null {
  if (implCurrent !== exec.current) return { path: 'current thread', lower: String(implCurrent), upper: String(exec.current) };
  const reader = execReader(exec);
  const listed = listedImpl(impl);
  for (const addr of sortedUnion(impl.ghostAddrs, execObjectAddrs(exec))) {
    const lower = listed?.objects.get(addr) ?? I.decodeObject(impl, addr);
    const upper = reader.object(addr);
    const m = diffObjects(addr, lower, upper);
    if (m) return m;
    if (upper && (upper.type === 'cnode' || upper.type === 'tcb')) {
      const count = upper.type === 'cnode' ? 2 ** upper.radix : 5;
      const agree = listed?.objects.has(addr) ? listedSlotsAgree(listed, addr, upper) : holderSlotsAgree(impl, addr, upper, count);
      const m2 = agree ? null : holderSlotsDifference(impl, addr, upper, count);
      if (m2) return m2;
    }
  }
  for (const ref of irqNodeSlots) {
    const m = diffSlots(ref, null, implSlot(impl, ref), reader.slot(ref));
    if (m) return m;
  }
  const written = new Map(implUserWords(impl));
  for (const [paddr] of E.allUserWords(exec)) if (!written.has(paddr)) written.set(paddr, 0);
  for (const [paddr, w] of written) {
    const e = E.userWord(exec, paddr);
    if (w !== e) return { path: `user memory ${hex(paddr)}`, lower: hex(w), upper: hex(e) };
  }
  return null;
}

// ------------------------------------------------------------------ comparing executable states

function where(ref: SlotRef, holder: E.KObject | null | undefined): string {
  if (ref.cnode === irqNodeRef) return irqNodeSlotName(ref.index);
  return `${holder?.type === 'tcb' ? 'tcb' : 'cnode'} ${hex(ref.cnode)} slot ${ref.index}`;
}

/** Compares two executable-spec slots: cap, then MDB links and flags. */
export function diffSlots(ref: SlotRef, holder: E.KObject | null | undefined, lower: E.Slot | null, upper: E.Slot | null): Mismatch | null {
  if (lower === upper) return null;
  if (lower !== null && upper !== null && capEqual(lower.cap, upper.cap) && mdbEqual(lower.mdb, upper.mdb)) return null;
  const at = where(ref, holder);
  if (lower === null || upper === null) {
    return lower === upper ? null : { path: `${at}: exists`, lower: String(lower !== null), upper: String(upper !== null) };
  }
  const capDiff = capDifference(lower.cap, upper.cap);
  if (capDiff !== null) {
    const [field, values = ''] = capDiff.split(': ', 2) as [string, string?];
    const [lv = '', uv = ''] = values.split(' vs ');
    return { path: `${at}: ${field}`, lower: lv, upper: uv };
  }
  const a = lower.mdb;
  const b = upper.mdb;
  if (!E.sameSlot(a.prev, b.prev)) return { path: `${at}: MDB prev`, lower: slotRefText(a.prev), upper: slotRefText(b.prev) };
  if (!E.sameSlot(a.next, b.next)) return { path: `${at}: MDB next`, lower: slotRefText(a.next), upper: slotRefText(b.next) };
  if (a.revocable !== b.revocable) return { path: `${at}: MDB revocable`, lower: String(a.revocable), upper: String(b.revocable) };
  if (a.firstBadged !== b.firstBadged) return { path: `${at}: MDB firstBadged`, lower: String(a.firstBadged), upper: String(b.firstBadged) };
  return null;
}

function mdbEqual(a: E.MDBNode, b: E.MDBNode): boolean {
  return E.sameSlot(a.prev, b.prev) && E.sameSlot(a.next, b.next) && a.revocable === b.revocable && a.firstBadged === b.firstBadged;
}

/** Compares the fields of two objects (not their slots): 64-bit times, lists and refill records structurally. */
export function diffObjects(addr: number, lower: { readonly type: string } | null, upper: { readonly type: string } | null): Mismatch | null {
  if (lower === null || upper === null) {
    if (lower === upper) return null;
    return { path: `object ${hex(addr)}`, lower: lower?.type ?? 'none', upper: upper?.type ?? 'none' };
  }
  return fieldsDifference(() => `${lower.type} ${hex(addr)}`, lower, upper);
}

/**
 * After a step: the decoded impl and the executable spec agree on every object and slot either
 * touched. (User memory the kernel wrote in a step is the caller's IPC buffer, which the
 * observation compares; the words a user store wrote are compared through the views, see
 * lockstep/pairs.ts; the closing full comparison covers all of it.)
 */
export function compareImplExecTouched(impl: I.ImplState, exec: E.ExecState, touched: readonly Touched[]): Mismatch | null {
  const reader = execReader(exec);
  for (const t of touched) {
    for (const addr of t.objects) {
      const m = diffObjects(addr, I.decodeObject(impl, addr), reader.object(addr));
      if (m) return m;
    }
    for (const ref of t.slots) {
      const m = diffSlots(ref, reader.object(ref.cnode), implSlot(impl, ref), reader.slot(ref));
      if (m) return m;
    }
  }
  return null;
}

/** The decoded impl state equals the executable state (the IRQ lines and the IRQ node too). */
export function diffExecStates(lower: E.ExecState, upper: E.ExecState): Mismatch | null {
  if (lower.current !== upper.current) return { path: 'current thread', lower: String(lower.current), upper: String(upper.current) };
  const sched = compareScheduler(E.view(lower).scheduler(), E.view(upper).scheduler()) ?? compareIrqs(E.view(lower), E.view(upper));
  if (sched) return sched;
  for (const ref of irqNodeSlots) {
    const m = diffSlots(ref, null, E.getSlot(lower, ref), E.getSlot(upper, ref));
    if (m) return m;
  }
  const addrs = [...new Set([...lower.objects.keys(), ...upper.objects.keys()])].sort((x, y) => x - y);
  for (const addr of addrs) {
    const a = lower.objects.get(addr) ?? null;
    const b = upper.objects.get(addr) ?? null;
    const m = diffObjects(addr, a, b);
    if (m) return m;
    if (a && b && (a.type === 'cnode' || a.type === 'tcb') && (b.type === 'cnode' || b.type === 'tcb')) {
      const indices = [...new Set([...a.slots.keys(), ...b.slots.keys()])].sort((x, y) => x - y);
      for (const index of indices) {
        const m2 = diffSlots({ cnode: addr, index }, a, a.slots.get(index) ?? null, b.slots.get(index) ?? null);
        if (m2) return m2;
      }
    }
  }
  for (const paddr of [...new Set([...lower.memory.keys(), ...upper.memory.keys()])].sort((x, y) => x - y)) {
    const a = lower.memory.get(paddr) ?? 0;
    const b = upper.memory.get(paddr) ?? 0;
    if (a !== b) return { path: `user memory ${hex(paddr)}`, lower: hex(a), upper: hex(b) };
  }
  return null;
}

// ------------------------------------------------------------------ executable -> abstract

function parentOf(exec: ExecReader, a: E.Slot, b: E.Slot): boolean {
  const size = (ptr: number) => {
    const o = exec.object(ptr);
    return o ? objectBytes(E.objectView(o)) : null;
  };
  return mdbParentOf(size, { cap: a.cap, revocable: a.mdb.revocable }, { cap: b.cap, firstBadged: b.mdb.firstBadged });
}

/** CDT parents of every slot on the MDB list through `ref`, by one walk with a stack of open ancestors. */
function listParents(exec: ExecReader, ref: SlotRef, into: SlotMap<SlotRef | null>): void {
  let head = ref;
  for (let guard = 0; guard < 10_000_000; guard++) {
    const prev = exec.slot(head)?.mdb.prev ?? null;
    if (prev === null) break;
    head = prev;
  }
  const stack: { ref: SlotRef; slot: E.Slot }[] = [];
  for (let at: SlotRef | null = head, guard = 0; at !== null && guard < 10_000_000; guard++) {
    const slot = exec.slot(at);
    if (!slot) break;
    while (stack.length > 0 && !parentOf(exec, stack[stack.length - 1]!.slot, slot)) stack.pop();
    into.set(at, stack.length > 0 ? stack[stack.length - 1]!.ref : null);
    stack.push({ ref: at, slot });
    at = slot.mdb.next;
  }
}

const parentCache = new WeakMap<E.ExecState, SlotMap<SlotRef | null>>();

/**
 * The CDT parent of a slot, read off the MDB list: the nearest earlier slot in its list whose
 * run of MDB children reaches this one. Parents are worked out a whole list at a time and
 * remembered for this (immutable) state; those of a listing whose MDB checkMDB passed are
 * taken as they are (the same walk).
 */
export function execCdtParent(exec: E.ExecState, ref: SlotRef): SlotRef | null {
  const reader = execReader(exec);
  const self = reader.slot(ref);
  if (!self || self.cap.type === 'null') return null;
  const parents = execParents(exec);
  if (!parents.has(ref)) listParents(reader, ref, parents);
  return parents.get(ref) ?? null;
}

/** The CDT parents of `exec`'s non-null slots worked out so far (all of them if its listing's MDB passed checkMDB). */
function execParents(exec: E.ExecState): SlotMap<SlotRef | null> {
  let parents = parentCache.get(exec);
  if (!parents) parentCache.set(exec, (parents = checkedListParents(exec) ?? new SlotMap()));
  return parents;
}

/**
 * The same parent worked out locally, for checking a step: the list walk's stack of open
 * ancestors just before a slot is its predecessor and the predecessor's ancestors, so the
 * parent is the first of those that has the slot as an MDB child. The ancestors are taken
 * from the abstract state, which earlier checks found to agree; the closing full comparison
 * re-derives every parent from the lists alone.
 */
function execCdtParentLocal(exec: ExecReader, abs: A.AbstractState, ref: SlotRef): SlotRef | null {
  const self = exec.slot(ref);
  if (!self || self.cap.type === 'null') return null;
  for (let at = self.mdb.prev, guard = 0; at !== null && guard < 4096; at = A.cdtParent(abs, at), guard++) {
    const candidate = exec.slot(at);
    if (!candidate) return null;
    if (parentOf(exec, candidate, self)) return at;
  }
  return null;
}

/** What the abstract state holds in one slot: as A.capInSlot, A.cdtParent and A.isOriginalCap. */
interface AbstractSlot {
  readonly cap: Cap | null;
  readonly parent: SlotRef | null;
  readonly original: boolean;
}

function abstractSlot(abs: A.AbstractState, ref: SlotRef): AbstractSlot {
  return { cap: A.capInSlot(abs, ref), parent: A.cdtParent(abs, ref), original: A.isOriginalCap(abs, ref) };
}

/** One slot: the cap, its CDT parent through the abstraction (`parent`), and revocable = is_original_cap. */
function diffAbstractSlot(exec: ExecReader, upper: AbstractSlot, ref: SlotRef, parent: (ref: SlotRef) => SlotRef | null): Mismatch | null {
  const holder = exec.object(ref.cnode);
  const at = () => where(ref, holder);
  const lowerSlot = exec.slot(ref);
  const lowerCap = lowerSlot?.cap ?? (holder ? { type: 'null' as const } : null);
  const upperCap = upper.cap;
  if (lowerCap === null || upperCap === null) {
    return lowerCap === upperCap ? null : { path: `${at()}: exists`, lower: String(lowerCap !== null), upper: String(upperCap !== null) };
  }
  const capDiff = capDifference(lowerCap, upperCap);
  if (capDiff !== null) {
    const [field, values = ''] = capDiff.split(': ', 2) as [string, string?];
    const [lv = '', uv = ''] = values.split(' vs ');
    return { path: `${at()}: ${field}`, lower: lv, upper: uv };
  }
  if (lowerCap.type === 'null') return null;
  const pa = parent(ref);
  const pb = upper.parent;
  if (!E.sameSlot(pa, pb)) return { path: `${at()}: CDT parent`, lower: slotRefText(pa), upper: slotRefText(pb) };
  const ra = lowerSlot!.mdb.revocable;
  const rb = upper.original;
  if (ra !== rb) return { path: `${at()}: original (revocable)`, lower: String(ra), upper: String(rb) };
  return null;
}

/** An object's fields as the abstraction compares them: the view's, plus registers and SC configuration. */
function comparable(view: ObjectView, regs: readonly number[] | undefined, configured: boolean | undefined): { readonly type: string } {
  if (view.type === 'tcb') {
    const withRegs: ObjectView & { readonly regs: readonly number[] | undefined } = { ...view, regs };
    return withRegs;
  }
  if (view.type === 'schedcontext') {
    const withConfigured: ObjectView & { readonly configured: boolean | undefined } = { ...view, configured };
    return withConfigured;
  }
  return view;
}

/**
 * Whether diffObjects finds no difference between comparable(a, ...) and comparable(b, ...) of
 * a TCB or SC, without building the copies (most compared objects agree); false: not known.
 */
function comparableEqual(
  a: ObjectView,
  b: ObjectView,
  regsA: readonly number[] | undefined,
  regsB: readonly number[] | undefined,
  configuredA: boolean | undefined,
  configuredB: boolean | undefined,
): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'tcb') return fieldsEqualWith(a, b, 'regs', regsA, regsB);
  if (a.type === 'schedcontext') return fieldsEqualWith(a, b, 'configured', configuredA, configuredB);
  return false;
}

/**
 * Pairs of object records (executable, abstract) found to agree. Both layers' records are
 * immutable, so a pair found equal stays equal: it is not compared field by field again.
 */
const agreeing = new WeakMap<E.KObject, object>();

function diffAbstractObject(exec: ExecReader, abs: A.AbstractState, addr: number): Mismatch | null {
  const a = exec.object(addr);
  const b = A.objectAt(abs, addr);
  if (a !== null && b !== null && agreeing.get(a) === b) return null;
  const viewA = a && E.objectView(a);
  const viewB = b && A.objectView(b);
  const regsA = a?.type === 'tcb' ? a.regs : undefined;
  const regsB = b?.type === 'tcb' ? b.regs : undefined;
  const configuredA = a?.type === 'schedcontext' ? a.configured : undefined;
  const configuredB = b?.type === 'schedcontext' ? b.configured : undefined;
  if (a !== null && b !== null && comparableEqual(viewA!, viewB!, regsA, regsB, configuredA, configuredB)) {
    agreeing.set(a, b);
    return null;
  }
  const lower = viewA && comparable(viewA, regsA, configuredA);
  const upper = viewB && comparable(viewB, regsB, configuredB);
  const m = diffObjects(addr, lower, upper);
  if (m === null && a !== null && b !== null) agreeing.set(a, b);
  return m;
}

export function compareExecAbstractTouched(exec: E.ExecState, abs: A.AbstractState, touched: readonly Touched[]): Mismatch | null {
  const reader = execReader(exec);
  const parent = (ref: SlotRef) => execCdtParentLocal(reader, abs, ref);
  for (const t of touched) {
    for (const addr of t.objects) {
      const m = diffAbstractObject(reader, abs, addr);
      if (m) return m;
    }
    for (const ref of t.slots) {
      const m = diffAbstractSlot(reader, abstractSlot(abs, ref), ref, parent);
      if (m) return m;
    }
  }
  return null;
}

const abstractObjectLists = new WeakMap<A.AbstractState, ReturnType<typeof A.allObjects>>();

/** A.allObjects, listed once per (immutable) abstract state. */
function abstractObjects(abs: A.AbstractState): ReturnType<typeof A.allObjects> {
  let objects = abstractObjectLists.get(abs);
  if (objects === undefined) abstractObjectLists.set(abs, (objects = A.allObjects(abs)));
  return objects;
}

const abstractFilled = new WeakMap<A.AbstractState, readonly A.FilledSlot[]>();

/** A.allFilledSlots, listed once per (immutable) abstract state. */
export function abstractFilledSlots(abs: A.AbstractState): readonly A.FilledSlot[] {
  let filled = abstractFilled.get(abs);
  if (filled === undefined) abstractFilled.set(abs, (filled = A.allFilledSlots(abs)));
  return filled;
}

const abstractViewLists = new WeakMap<A.AbstractState, readonly ObjectView[]>();

/**
 * The abstract view's objects() (every object's view by increasing address), listed once per
 * (immutable) state: the listing and the closing comparison share it. (A view per record
 * remembered across states cost more than making it: most records a closing lists are new.)
 */
export function abstractObjectViews(abs: A.AbstractState): readonly ObjectView[] {
  let list = abstractViewLists.get(abs);
  if (list === undefined) abstractViewLists.set(abs, (list = abstractObjects(abs).map((o) => A.objectView(o))));
  return list;
}

/**
 * Reads slots as ExecReader.slot does, remembering the last holder (the closing comparison
 * reads the slots of one holder after another); undefined for the IRQ node's (not known).
 */
class HolderReader {
  private holderAddr = NaN;
  private holder: E.CNodeObject | E.TCBObject | null = null;

  constructor(private readonly reader: ExecReader) {}

  slot(ref: SlotRef): E.Slot | null | undefined {
    if (ref.cnode === irqNodeRef) return undefined;
    if (ref.cnode !== this.holderAddr) {
      const holder = this.reader.object(ref.cnode);
      this.holderAddr = ref.cnode;
      this.holder = E.isSlotHolder(holder) ? holder : null;
    }
    const holder = this.holder;
    if (holder === null || !Number.isInteger(ref.index) || ref.index < 0 || ref.index >= E.slotCount(holder)) return null;
    return holder.slots.get(ref.index) ?? E.nullSlot;
  }
}

/**
 * Whether diffAbstractSlot finds nothing, given the executable slot (undefined: not known) and
 * its CDT parent as worked out already (undefined: not yet); false: not known.
 */
function abstractSlotAgrees(lower: E.Slot | null | undefined, upper: AbstractSlot, parent: SlotRef | null | undefined): boolean {
  if (lower === undefined || lower === null || upper.cap === null || !capEqual(lower.cap, upper.cap)) return false;
  if (lower.cap.type === 'null') return true;
  return parent !== undefined && E.sameSlot(parent, upper.parent) && lower.mdb.revocable === upper.original;
}

/** The whole executable state abstracts to the abstract state. */
export function diffExecAbstract(exec: E.ExecState, abs: A.AbstractState): Mismatch | null {
  if (exec.current !== abs.current) return { path: 'current thread', lower: String(exec.current), upper: String(abs.current) };
  const reader = execReader(exec);
  for (const addr of sortedUnion(execObjectAddrs(exec), abstractObjects(abs).map((o) => o.addr))) {
    const m = diffAbstractObject(reader, abs, addr);
    if (m) return m;
  }
  const upperFilled = abstractFilledSlots(abs);
  const upperBySlot = new SlotMap<A.FilledSlot>();
  for (const f of upperFilled) upperBySlot.set(f.slot, f);
  const parent = (ref: SlotRef) => execCdtParent(exec, ref);
  const parents = execParents(exec);
  const holders = new HolderReader(reader);
  let matched = 0;
  for (const [ref] of execSlots(exec)) {
    const f = upperBySlot.get(ref);
    if (f !== undefined) matched++;
    const upper = f ?? abstractSlot(abs, ref);
    if (abstractSlotAgrees(holders.slot(ref), upper, parents.get(ref))) continue;
    const m = diffAbstractSlot(reader, upper, ref, parent);
    if (m) return m;
  }
  if (matched < upperFilled.length) {
    const lowerSlots = new SlotMap<true>();
    for (const [ref] of execSlots(exec)) lowerSlots.set(ref, true);
    for (const f of upperFilled) {
      if (lowerSlots.has(f.slot)) continue;
      const m = diffAbstractSlot(reader, f, f.slot, parent);
      if (m) return m;
    }
  }
  for (const [paddr, word] of E.allUserWords(exec)) {
    if (A.userWord(abs, paddr) !== word) return { path: `user memory ${hex(paddr)}`, lower: hex(word), upper: hex(A.userWord(abs, paddr)) };
  }
  for (const [paddr, word] of A.allUserWords(abs)) {
    if (E.userWord(exec, paddr) !== word) return { path: `user memory ${hex(paddr)}`, lower: hex(E.userWord(exec, paddr)), upper: hex(word) };
  }
  return null;
}
