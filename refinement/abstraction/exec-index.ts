// Reading a whole executable-spec state: the persistent object map copied once into a native
// map (its lookups by address are far cheaper than the trie's, above all on large states),
// remembered per (immutable) state, and a map keyed by slot that builds no string keys.
import type { SlotRef } from '../../libsel4/index.ts';
import * as E from '../../spec-executable/index.ts';

/** Reads of one executable state by address. */
export interface ExecReader {
  object(addr: number): E.KObject | null;
  /** As E.getSlot: null if no CNode or TCB at `ref.cnode` has that index, a null slot if it is empty. */
  slot(ref: SlotRef): E.Slot | null;
}

/** Reads through the persistent map: for a few reads (a step's). */
export function directReader(exec: E.ExecState): ExecReader {
  return { object: (addr) => E.getObject(exec, addr), slot: (ref) => E.getSlot(exec, ref) };
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

/** A map keyed by slot: holder address, then index. */
export class SlotMap<T> {
  private readonly holders = new Map<number, Map<number, T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(ref: SlotRef): T | undefined {
    return this.holders.get(ref.cnode)?.get(ref.index);
  }

  has(ref: SlotRef): boolean {
    return this.holders.get(ref.cnode)?.has(ref.index) ?? false;
  }

  set(ref: SlotRef, value: T): void {
    let slots = this.holders.get(ref.cnode);
    if (slots === undefined) this.holders.set(ref.cnode, (slots = new Map()));
    if (!slots.has(ref.index)) this.count++;
    slots.set(ref.index, value);
  }
}
