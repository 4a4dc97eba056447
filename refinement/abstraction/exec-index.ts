// Reading an executable-spec state for a comparison: a step's reads look each address up once;
// reading the whole state goes through the persistent object map copied once into a native map
// (its lookups by address are far cheaper than the trie's, above all on large states),
// remembered per (immutable) state. And a map keyed by slot that builds no string keys.
import { slotId, type SlotRef } from '../../libsel4/index.ts';
import * as E from '../../spec-executable/index.ts';

/** Reads of one executable state by address. */
export interface ExecReader {
  object(addr: number): E.KObject | null;
  /** As E.getSlot: null if no CNode or TCB at `ref.cnode` has that index, a null slot if it is empty. */
  slot(ref: SlotRef): E.Slot | null;
}

/**
 * Reads through the persistent map, each address looked up once: for the reads of one step's
 * comparison (many of its slots are in one CNode).
 */
export function directReader(exec: E.ExecState): ExecReader {
  const seen = new Map<number, E.KObject | null>();
  const object = (addr: number) => {
    let found = seen.get(addr);
    if (found === undefined) seen.set(addr, (found = E.getObject(exec, addr)));
    return found;
  };
  return { object, slot: (ref) => slotOf(object(ref.cnode) ?? undefined, ref.index) };
}

/** E.getSlot's answer, given the holder the state has at the slot's address. */
function slotOf(holder: E.KObject | undefined, index: number): E.Slot | null {
  if (!E.isSlotHolder(holder) || !Number.isInteger(index) || index < 0 || index >= E.slotCount(holder)) return null;
  return holder.slots.get(index) ?? E.nullSlot;
}

const indexes = new WeakMap<E.ExecState, ExecReader>();

/** Reads through a native copy of the object map, made once per state: for reading all of it. */
export function indexedReader(exec: E.ExecState): ExecReader {
  let reader = indexes.get(exec);
  if (reader === undefined) {
    const objects = new Map<number, E.KObject>(exec.objects);
    reader = {
      object: (addr) => objects.get(addr) ?? null,
      slot: (ref) => slotOf(objects.get(ref.cnode), ref.index),
    };
    indexes.set(exec, reader);
  }
  return reader;
}

/** Above this a slot index is kept by its text (no real slot has one: a corrupt link may). */
const indexLimit = 2 ** 20;

/**
 * A map keyed by slot, without building string keys: per holder address, an array by index
 * (the holder last used is remembered, as reads mostly stay in one CNode). A key whose index is
 * no array index below 2^20 (a corrupt link) is kept apart by its text.
 */
export class SlotMap<T> {
  private readonly holders = new Map<number, (T | undefined)[]>();
  private readonly others = new Map<string, T>();
  private count = 0;
  private lastHolder = NaN;
  private lastSlots: (T | undefined)[] | undefined = undefined;

  get size(): number {
    return this.count + this.others.size;
  }

  get(ref: SlotRef): T | undefined {
    if (!arrayIndex(ref.index)) return this.others.get(slotId(ref));
    return this.slotsOf(ref.cnode, false)?.[ref.index];
  }

  has(ref: SlotRef): boolean {
    return this.get(ref) !== undefined;
  }

  set(ref: SlotRef, value: T): void {
    if (!arrayIndex(ref.index)) {
      this.others.set(slotId(ref), value);
      return;
    }
    const slots = this.slotsOf(ref.cnode, true)!;
    while (slots.length <= ref.index) slots.push(undefined); // dense: writes past the end would make it a slow sparse array
    if (slots[ref.index] === undefined) this.count++;
    slots[ref.index] = value;
  }

  private slotsOf(holder: number, create: boolean): (T | undefined)[] | undefined {
    if (holder === this.lastHolder) return this.lastSlots;
    let slots = this.holders.get(holder);
    if (slots === undefined) {
      if (!create) return undefined;
      this.holders.set(holder, (slots = []));
    }
    this.lastHolder = holder;
    this.lastSlots = slots;
    return slots;
  }
}

function arrayIndex(index: number): boolean {
  return index >>> 0 === index && index < indexLimit;
}
