// Reading the impl's memory back as plain data, for the view and for the refinement
// checker's abstraction function: slots (cap and MDB node), object records, the ghost
// table, user memory, and what a step touched. Slots are named as in every layer:
// { cnode, index }, where `cnode` is the CNode's address, or the TCB's for a TCB slot, or
// irqNodeRef for the IRQ node's (index: the IRQ).
// Finding the object that holds a slot uses the ghost table: this is
// reporting, never a kernel decision.
import { irqNodeRef, maxIRQ, seL4_SlotBits, tcbSlotCount, type Cap, type ObjectKind, type ObjectView, type SlotRef, type Touched, type Word } from '../libsel4/index.ts';
import { isMDBParentOf, mdbFirstBadged, mdbNext, mdbPrev, mdbRevocable, slotBytes, slotW0, slotW1 } from './cnode.ts';
import { decodeEndpoint } from './endpoint.ts';
import { irqSlot } from './interrupt.ts';
import { decodeNotification } from './notification.ts';
import { decodeReply } from './reply.ts';
import { decodeSchedContext } from './schedcontext.ts';
import { NONE, fail, readUserWord, slotRefOf, type AddressLog, type GhostObject, type ImplState } from './state.ts';
import { decodeCap } from './structures.ts';
import { decodeTcb } from './tcb.ts';
import { asidPoolView, pageTableView } from './vspace.ts';

export { readUserWord, slotRefOf };

export interface MdbNodeData {
  readonly prev: SlotRef | null;
  readonly next: SlotRef | null;
  readonly revocable: boolean;
  readonly firstBadged: boolean;
}

export interface SlotData {
  readonly cap: Cap;
  readonly mdb: MdbNodeData;
}

type ViewOf<T extends ObjectKind> = Extract<ObjectView, { readonly type: T }>;

/** An object record as plain data: the view's fields, plus TCB registers and whether an SC is configured (refillMax > 0). */
export type ImplObject =
  | Exclude<ObjectView, { readonly type: 'tcb' | 'schedcontext' }>
  | (ViewOf<'tcb'> & { readonly regs: readonly Word[] })
  | (ViewOf<'schedcontext'> & { readonly configured: boolean });

export interface GhostEntry extends GhostObject {
  readonly addr: number;
}

/** Number of slots an object holds: 2^radix for a CNode, 5 for a TCB, none otherwise. */
function slotCount(object: GhostObject): number {
  if (object.type === 'cnode') return 1 << (object.sizeBits - seL4_SlotBits);
  return object.type === 'tcb' ? tcbSlotCount : 0;
}

/** The address of a slot (the IRQ node's too), or NONE if no CNode or TCB holds such a slot. */
export function slotAddress(state: ImplState, ref: SlotRef): number {
  if (ref.cnode === irqNodeRef) return Number.isInteger(ref.index) && ref.index >= 0 && ref.index <= maxIRQ ? irqSlot(state, ref.index) : NONE;
  const object = state.ghost.get(ref.cnode);
  if (object === undefined || !Number.isInteger(ref.index) || ref.index < 0 || ref.index >= slotCount(object)) return NONE;
  return ref.cnode + ref.index * slotBytes;
}

function linkRef(state: ImplState, slot: number): SlotRef | null {
  if (slot === NONE) return null;
  return slotRefOf(state, slot) ?? fail(`MDB link to ${slot.toString(16)}, which no CNode or TCB holds`);
}

/** A slot's cap and MDB node, or null if no CNode or TCB holds such a slot. */
export function decodeSlot(state: ImplState, ref: SlotRef): SlotData | null {
  const slot = slotAddress(state, ref);
  if (slot === NONE) return null;
  return {
    cap: decodeCap(slotW0(state, slot), slotW1(state, slot)),
    mdb: {
      prev: linkRef(state, mdbPrev(state, slot)),
      next: linkRef(state, mdbNext(state, slot)),
      revocable: mdbRevocable(state, slot),
      firstBadged: mdbFirstBadged(state, slot),
    },
  };
}

/** The cap in a slot, or null if no CNode or TCB holds such a slot. */
export function decodeSlotCap(state: ImplState, ref: SlotRef): Cap | null {
  const slot = slotAddress(state, ref);
  return slot === NONE ? null : decodeCap(slotW0(state, slot), slotW1(state, slot));
}

/**
 * The slot's parent in the capability derivation tree. Walking the MDB list from its head
 * with a stack of the previous slot's ancestors: a slot's parent is the nearest of them
 * that isMDBParentOf it.
 */
export function cdtParentOf(state: ImplState, ref: SlotRef): SlotRef | null {
  const target = slotAddress(state, ref);
  if (target === NONE) return null;
  let head = target;
  for (let prev = mdbPrev(state, head); prev !== NONE; prev = mdbPrev(state, head)) head = prev;
  const ancestors: number[] = [];
  for (let node = head; node !== NONE; node = mdbNext(state, node)) {
    while (ancestors.length > 0 && !isMDBParentOf(state, ancestors[ancestors.length - 1]!, node)) ancestors.pop();
    if (node === target) return ancestors.length === 0 ? null : linkRef(state, ancestors[ancestors.length - 1]!);
    ancestors.push(node);
  }
  return null;
}

/** The object record at `addr`, or null if no object exists there. */
export function decodeObject(state: ImplState, addr: number): ImplObject | null {
  const object = state.ghost.get(addr);
  if (object === undefined) return null;
  return objectRecord(state, addr, object);
}

function objectRecord(state: ImplState, addr: number, object: GhostObject): ImplObject {
  const type: ObjectKind = object.type;
  switch (type) {
    case 'cnode':
      return { type, addr, radix: object.sizeBits - seL4_SlotBits };
    case 'tcb':
      return { type, addr, ...decodeTcb(state, addr) };
    case 'endpoint':
      return { type, addr, ...decodeEndpoint(state, addr) };
    case 'notification':
      return { type, addr, ...decodeNotification(state, addr) };
    case 'reply':
      return { type, addr, ...decodeReply(state, addr) };
    case 'schedcontext':
      return { type, addr, sizeBits: object.sizeBits, ...decodeSchedContext(state, addr) };
    case 'frame':
      return { type, addr, sizeBits: object.sizeBits, isDevice: object.isDevice };
    case 'pagetable':
      return { type, addr, ...pageTableView(state, addr) };
    case 'asidpool':
      return { type, addr, ...asidPoolView(state, addr) };
  }
}

/** Every object in the ghost table, by increasing address. */
export function ghostObjects(state: ImplState): GhostEntry[] {
  return state.ghostAddrs.map((addr) => ({ addr, ...state.ghost.get(addr)! }));
}

/** Every object record, by increasing address. */
export function decodeObjects(state: ImplState): ImplObject[] {
  return state.ghostAddrs.map((addr) => objectRecord(state, addr, state.ghost.get(addr)!));
}

/** What the current step wrote: slots as refs (each once), objects by address (including detyped ones). */
export function touchedOf(state: ImplState): Touched {
  const slots: SlotRef[] = [];
  for (const slot of distinct(state.dirtySlots)) {
    const ref = slotRefOf(state, slot);
    if (ref !== null) slots.push(ref);
  }
  return { slots, objects: distinct(state.dirtyObjects) };
}

/** The entries without repeats, in first-seen order. */
function distinct(entries: AddressLog): number[] {
  if (entries.length > 32) {
    const seen = new Set<number>();
    for (let i = 0; i < entries.length; i++) seen.add(entries.at(i));
    return [...seen];
  }
  if (entries.length === 0) return [];
  // Started from its first address: an array of doubles at once (addresses from 2^31 on are not small integers).
  const out = [entries.at(0)];
  for (let i = 1; i < entries.length; i++) {
    const e = entries.at(i);
    if (!out.includes(e)) out.push(e);
  }
  return out;
}
