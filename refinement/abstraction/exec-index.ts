// Reading a whole executable-spec state: the persistent object map copied once into a native
// map (its lookups by address are far cheaper than the trie's, above all on large states),
// remembered per (immutable) state, and a map keyed by slot that builds no string keys.
import { slotId, type SlotRef } from '../../libsel4/index.ts';
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

/** Indices below this share one number with their holder's address (exactly: below 2^52). */
const indexLimit = 2 ** 20;

/**
 * A map keyed by slot, without building string keys: a slot whose holder is a 32-bit address
 * and whose index is below 2^20 (every real slot) is one number; any other key (a corrupt
 * link) is kept apart by its text.
 */
export class SlotMap<T> {
  private readonly byNumber = new Map<number, T>();
  private readonly others = new Map<string, T>();

  get size(): number {
    return this.byNumber.size + this.others.size;
  }

  get(ref: SlotRef): T | undefined {
    const key = numberKey(ref);
    return key === null ? this.others.get(slotId(ref)) : this.byNumber.get(key);
  }

  has(ref: SlotRef): boolean {
    const key = numberKey(ref);
    return key === null ? this.others.has(slotId(ref)) : this.byNumber.has(key);
  }

  set(ref: SlotRef, value: T): void {
    const key = numberKey(ref);
    if (key === null) this.others.set(slotId(ref), value);
    else this.byNumber.set(key, value);
  }
}

function numberKey(ref: SlotRef): number | null {
  const { cnode, index } = ref;
  if (cnode >>> 0 !== cnode || index >>> 0 !== index || index >= indexLimit) return null;
  return cnode * indexLimit + index;
}
