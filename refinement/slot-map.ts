// A map keyed by slot (holder address, index) that builds no string keys: the checker's
// listings, invariants and parent derivations key their slots with it.
import type { SlotRef } from '../libsel4/index.ts';

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
    const before = slots.size;
    slots.set(ref.index, value);
    this.count += slots.size - before;
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

/** Each list's slot positions, made once per list (or shared with a list of the same slots in the same order). */
const positionMaps = new WeakMap<readonly { readonly slot: SlotRef }[], SlotMap<number>>();

/**
 * Each slot of `list` by its position (the last one, should a slot be listed twice), made once
 * per list: the invariants and the parent derivation of one listing share it.
 */
export function slotPositions(list: readonly { readonly slot: SlotRef }[]): SlotMap<number> {
  let positions = positionMaps.get(list);
  if (positions === undefined) {
    positions = new SlotMap<number>();
    for (let i = 0; i < list.length; i++) positions.set(list[i]!.slot, i);
    positionMaps.set(list, positions);
  }
  return positions;
}

/** Gives `list` the positions of `same`, which lists the same slots in the same order. */
export function sharePositions(same: readonly { readonly slot: SlotRef }[], list: readonly { readonly slot: SlotRef }[]): void {
  positionMaps.set(list, slotPositions(same));
}
