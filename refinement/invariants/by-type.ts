// A map's objects grouped by type in one pass: most of the scheduling invariants look at a few
// types (threads, scheduling contexts, replies) among many objects, once each per check.
import type { ObjectView } from '../../libsel4/index.ts';

type Type = ObjectView['type'];
export type OfType<T extends Type> = Extract<ObjectView, { type: T }>;

/** The objects of a map by type, each list in the map's order. */
export class ObjectsByType {
  private readonly lists = new Map<Type, ObjectView[]>();
  /** Each listed object's position in the map, list by list. */
  private readonly positions = new Map<Type, number[]>();

  constructor(objects: ReadonlyMap<number, ObjectView>) {
    let position = 0;
    for (const o of objects.values()) {
      let list = this.lists.get(o.type);
      let at = this.positions.get(o.type);
      if (list === undefined || at === undefined) {
        this.lists.set(o.type, (list = []));
        this.positions.set(o.type, (at = []));
      }
      list.push(o);
      at.push(position++);
    }
  }

  of<T extends Type>(type: T): readonly OfType<T>[] {
    return (this.lists.get(type) ?? []) as OfType<T>[];
  }

  /** The objects of any of `types`, in the map's order. */
  ofTypes(types: readonly Type[]): readonly ObjectView[] {
    const lists = types.map((t) => this.lists.get(t) ?? []);
    const positions = types.map((t) => this.positions.get(t) ?? []);
    const next = types.map(() => 0);
    const merged: ObjectView[] = [];
    for (;;) {
      let pick = -1;
      for (let k = 0; k < types.length; k++) {
        if (next[k]! < lists[k]!.length && (pick === -1 || positions[k]![next[k]!]! < positions[pick]![next[pick]!]!)) pick = k;
      }
      if (pick === -1) return merged;
      merged.push(lists[pick]![next[pick]!++]!);
    }
  }
}
