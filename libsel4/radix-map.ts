// A persistent map from 32-bit addresses to values, in address order, for the specifications'
// states (objects by address, memory by address). It is a radix trie of 32-way nodes, 7 levels
// over the address's bits: a write copies the one path from the root to its key (7 short arrays),
// whatever the map's size; the keys in a range are found by visiting only the subtrees that overlap
// it; earlier versions stay valid and share everything the write did not change.

/** Bits of the key per level, and the levels: 2 + 6 · 5 = 32 bits. */
const bitsPerLevel = 5;
const levels = 7;
const fanout = 2 ** bitsPerLevel;

/** Inner nodes hold nodes of the next level; nodes of the last level hold the values. */
type Node<V> = { readonly kind: 'inner'; readonly children: readonly (Node<V> | undefined)[] } | { readonly kind: 'leaf'; readonly values: readonly (V | undefined)[] };

/** Bits of the key below the level's digit (2^shift keys under one child of a node at `level`). */
function shiftOf(level: number): number {
  return (levels - 1 - level) * bitsPerLevel;
}

function digit(key: number, level: number): number {
  return Math.floor(key / 2 ** shiftOf(level)) % fanout;
}

/** A node still being built (by `RadixMap.of`), not yet shared with any map. */
type MutableNode<V> = { readonly kind: 'inner'; readonly children: (MutableNode<V> | undefined)[] } | { readonly kind: 'leaf'; readonly values: (V | undefined)[] };

function mutableNode<V>(level: number): MutableNode<V> {
  return level === levels - 1 ? { kind: 'leaf', values: new Array<V | undefined>(fanout).fill(undefined) } : { kind: 'inner', children: new Array<MutableNode<V> | undefined>(fanout).fill(undefined) };
}

function assertKey(key: number): void {
  if (!Number.isInteger(key) || key < 0 || key >= 2 ** 32) throw new Error(`radix map: key ${key} is not a 32-bit address`);
}

/** `node` with `key` set to `value` (undefined: removed), or `node` itself if nothing changes. */
function written<V>(node: Node<V> | undefined, level: number, key: number, value: V | undefined): Node<V> | undefined {
  if (node === undefined && value === undefined) return undefined;
  const current: Node<V> = node ?? mutableNode<V>(level);
  const d = digit(key, level);
  if (current.kind === 'leaf') {
    if (current.values[d] === value) return node;
    const values = current.values.slice();
    values[d] = value;
    return value === undefined && values.every((v) => v === undefined) ? undefined : { kind: 'leaf', values };
  }
  const child = written(current.children[d], level + 1, key, value);
  if (child === current.children[d]) return node;
  const children = current.children.slice();
  children[d] = child;
  return child === undefined && children.every((c) => c === undefined) ? undefined : { kind: 'inner', children };
}

/** The entries of `node` (whose keys start at `base`) with keys in [start, end), in key order. */
function* entriesIn<V>(node: Node<V>, level: number, base: number, start: number, end: number): Generator<[number, V]> {
  const span = 2 ** shiftOf(level);
  const first = Math.max(0, Math.floor((start - base) / span));
  const last = Math.min(fanout - 1, Math.floor((end - 1 - base) / span));
  for (let d = first; d <= last; d++) {
    const key = base + d * span;
    if (node.kind === 'leaf') {
      const value = node.values[d];
      if (value !== undefined) yield [key, value];
    } else {
      const child = node.children[d];
      if (child !== undefined) yield* entriesIn(child, level + 1, key, start, end);
    }
  }
}

export class RadixMap<V> {
  private constructor(
    private readonly root: Node<V> | undefined,
    readonly size: number,
  ) {}

  /** A map of `entries` (a later entry for a key replaces an earlier one), built in place. */
  static of<V>(entries: Iterable<readonly [number, V]> = []): RadixMap<V> {
    let root: MutableNode<V> | undefined;
    let size = 0;
    for (const [key, value] of entries) {
      assertKey(key);
      if (value === undefined) throw new Error('radix map: a value cannot be undefined');
      root ??= mutableNode<V>(0);
      let node = root;
      for (let level = 0; node.kind === 'inner'; level++) {
        const d = digit(key, level);
        node = node.children[d] ??= mutableNode<V>(level + 1);
      }
      const d = digit(key, levels - 1);
      if (node.values[d] === undefined) size++;
      node.values[d] = value;
    }
    return new RadixMap<V>(root, size);
  }

  get(key: number): V | undefined {
    let node = this.root;
    for (let level = 0; node !== undefined; level++) {
      if (node.kind === 'leaf') return node.values[digit(key, level)];
      node = node.children[digit(key, level)];
    }
    return undefined;
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  set(key: number, value: V): RadixMap<V> {
    assertKey(key);
    if (value === undefined) throw new Error('radix map: a value cannot be undefined');
    return this.write(key, value);
  }

  delete(key: number): RadixMap<V> {
    return Number.isInteger(key) && key >= 0 && key < 2 ** 32 ? this.write(key, undefined) : this;
  }

  deleteAll(keys: Iterable<number>): RadixMap<V> {
    let map: RadixMap<V> = this;
    for (const key of keys) map = map.delete(key);
    return map;
  }

  /** Entries with keys in [start, end), in key order. */
  entriesInRange(start: number, end: number): Generator<[number, V]> {
    return this.root === undefined ? emptyEntries<V>() : entriesIn(this.root, 0, 0, Math.max(0, start), Math.min(2 ** 32, end));
  }

  /** Keys in [start, end), in order. */
  *keysInRange(start: number, end: number): Generator<number> {
    for (const [key] of this.entriesInRange(start, end)) yield key;
  }

  /** Every entry, in key order. */
  entries(): Generator<[number, V]> {
    return this.entriesInRange(0, 2 ** 32);
  }

  *keys(): Generator<number> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): Generator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  private write(key: number, value: V | undefined): RadixMap<V> {
    const had = this.get(key) !== undefined;
    const root = written(this.root, 0, key, value);
    if (root === this.root) return this;
    return new RadixMap(root, this.size + (value === undefined ? -1 : had ? 0 : 1));
  }
}

function* emptyEntries<V>(): Generator<[number, V]> {}
