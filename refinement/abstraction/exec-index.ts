// Reading an executable-spec state for a comparison: objects and slots by address, straight
// from the state's persistent radix map (one reader per immutable state).
import { irqNodeRef, type SlotRef } from '../../libsel4/index.ts';
import * as E from '../../spec-executable/index.ts';

/** Reads of one executable state by address. */
export interface ExecReader {
  object(addr: number): E.KObject | null;
  /** As E.getSlot: null if no CNode or TCB at `ref.cnode` (or the IRQ node) has that index, a null slot if it is empty. */
  slot(ref: SlotRef): E.Slot | null;
}

/** E.getSlot's answer, given the holder the state has at the slot's address. */
function slotOf(holder: E.KObject | undefined, index: number): E.Slot | null {
  if (!E.isSlotHolder(holder) || !Number.isInteger(index) || index < 0 || index >= E.slotCount(holder)) return null;
  return holder.slots.get(index) ?? E.nullSlot;
}

const readers = new WeakMap<E.ExecState, ExecReader>();

export function execReader(exec: E.ExecState): ExecReader {
  let reader = readers.get(exec);
  if (reader === undefined) {
    reader = {
      object: (addr) => E.getObject(exec, addr),
      slot: (ref) => (ref.cnode === irqNodeRef ? E.getSlot(exec, ref) : slotOf(exec.objects.get(ref.cnode), ref.index)),
    };
    readers.set(exec, reader);
  }
  return reader;
}

const slotLists = new WeakMap<E.ExecState, readonly (readonly [SlotRef, E.Slot])[]>();

/** E.allSlots, listed once per (immutable) state: the invariants' listing and the closing comparison both walk it. */
export function execSlots(exec: E.ExecState): readonly (readonly [SlotRef, E.Slot])[] {
  let slots = slotLists.get(exec);
  if (slots === undefined) slotLists.set(exec, (slots = E.allSlots(exec)));
  return slots;
}

const addrLists = new WeakMap<E.ExecState, readonly number[]>();

/** The state's object addresses, ascending, listed once per (immutable) state: both closing comparisons walk them. */
export function execObjectAddrs(exec: E.ExecState): readonly number[] {
  let addrs = addrLists.get(exec);
  if (addrs === undefined) addrLists.set(exec, (addrs = exec.objects.keys()));
  return addrs;
}
