// Reading an executable-spec state for a comparison: a step's reads look each address up once;
// reading the whole state goes through the persistent object map copied once into a native map
// (its lookups by address are far cheaper than the trie's, above all on large states),
// remembered per (immutable) state. And a map keyed by slot that builds no string keys.
import type { SlotRef } from '../../libsel4/index.ts';
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
    const objects = new Map<number, E.KObject>(exec.objects.entries());
    reader = {
      object: (addr) => objects.get(addr) ?? null,
      slot: (ref) => slotOf(objects.get(ref.cnode), ref.index),
    };
    indexes.set(exec, reader);
  }
  return reader;
}

/**
 * A map keyed by slot, without building string keys: per holder address, a map by index (the
 * holder last used is remembered, as reads mostly stay in one CNode).
 */
export class SlotMap<T> {
  private readonly holders = new Map<number, Map<number, T>>();
  private count = 0;
  private lastHolder = NaN;
  private lastSlots: Map<number, T> | undefined = undefined;

  get size(): number {
    return this.count;
  }

  get(ref: SlotRef): T | undefined {
    return this.slotsOf(ref.cnode, false)?.get(ref.index);
  }

  has(ref: SlotRef): boolean {
    return this.slotsOf(ref.cnode, false)?.has(ref.index) ?? false;
  }

  set(ref: SlotRef, value: T): void {
    const slots = this.slotsOf(ref.cnode, true)!;
    if (!slots.has(ref.index)) this.count++;
    slots.set(ref.index, value);
  }

  private slotsOf(holder: number, create: boolean): Map<number, T> | undefined {
    if (holder === this.lastHolder && this.lastSlots !== undefined) return this.lastSlots;
    let slots = this.holders.get(holder);
    if (slots === undefined) {
      if (!create) return undefined;
      this.holders.set(holder, (slots = new Map()));
    }
    this.lastHolder = holder;
    this.lastSlots = slots;
    return slots;
  }
}
