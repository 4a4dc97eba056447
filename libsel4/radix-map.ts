// A persistent map from 32-bit unsigned keys (addresses, slot indices) to values, in key order,
// for the specifications' states. It is a radix trie of 32-way nodes, as high as its largest key
// needs (at most 7 levels for 32 bits): a write copies the one path from the root to its key (a
// few short arrays), whatever the map's size; the keys in a range are found by visiting only the
// subtrees that overlap it; earlier versions stay valid and share everything a write did not change.

const bitsPerLevel = 5;
const fanout = 2 ** bitsPerLevel;
const maxHeight = 7;

/**
 * Inner nodes hold nodes of the level below; nodes of the last level (shift 0) hold the values,
 * with a bit per digit that holds one (`held`, bit d for digit d: a walk skips the empty digits
 * of sparse leaves, such as those of objects 16 bytes apart or more).
 */
type Node<V> = { readonly kind: 'inner'; readonly children: readonly (Node<V> | undefined)[] } | { readonly kind: 'leaf'; readonly values: readonly (V | undefined)[]; readonly held: number };

/** A node still being built (by `RadixMap.of`), not yet shared with any map. */
type MutableNode<V> = { readonly kind: 'inner'; readonly children: (MutableNode<V> | undefined)[] } | { readonly kind: 'leaf'; readonly values: (V | undefined)[]; held: number };

function mutableNode<V>(shift: number): MutableNode<V> {
  return shift === 0 ? { kind: 'leaf', values: new Array<V | undefined>(fanout).fill(undefined), held: 0 } : { kind: 'inner', children: new Array<MutableNode<V> | undefined>(fanout).fill(undefined) };
}

function isKey(key: number): boolean {
  return key >>> 0 === key;
}

function assertKey(key: number): void {
  if (!isKey(key)) throw new Error(`radix map: key ${key} is not a 32-bit unsigned integer`);
}

/** Keys a trie of `height` levels holds: [0, 2^(5 · height)), by height. */
const capacities = Array.from({ length: maxHeight + 1 }, (_, height) => 2 ** (bitsPerLevel * height));

function capacity(height: number): number {
  return capacities[height]!;
}

/** The fewest levels that hold `key`. */
function heightFor(key: number): number {
  let height = 1;
  while (key >= capacity(height)) height++;
  return height;
}

/** `node` with `key` set to `value` (undefined: removed), or `node` itself if nothing changes. */
function written<V>(node: Node<V> | undefined, shift: number, key: number, value: V | undefined): Node<V> | undefined {
  if (node === undefined && value === undefined) return undefined;
  const current: Node<V> = node ?? mutableNode<V>(shift);
  const d = (key >>> shift) & (fanout - 1);
  if (current.kind === 'leaf') {
    if (current.values[d] === value) return node;
    const values = current.values.slice();
    values[d] = value;
    const held = value === undefined ? current.held & ~(1 << d) : current.held | (1 << d);
    return held === 0 ? undefined : { kind: 'leaf', values, held };
  }
  const child = written(current.children[d], shift - bitsPerLevel, key, value);
  if (child === current.children[d]) return node;
  const children = current.children.slice();
  children[d] = child;
  return child === undefined && children.every((c) => c === undefined) ? undefined : { kind: 'inner', children };
}

/** Appends the entries of `node` (whose keys start at `base`) with keys in [start, end) to `into`, in key order. */
function collect<V>(node: Node<V>, shift: number, base: number, start: number, end: number, into: [number, V][]): void {
  const span = 2 ** shift;
  if (start <= base && base + fanout * span <= end) {
    collectAll(node, shift, base, into, null);
    return;
  }
  const first = Math.max(0, Math.floor((start - base) / span));
  const last = Math.min(fanout - 1, Math.floor((end - 1 - base) / span));
  for (let d = first; d <= last; d++) {
    const key = base + d * span;
    if (node.kind === 'leaf') {
      const value = node.values[d];
      if (value !== undefined) into.push([key, value]);
    } else {
      const child = node.children[d];
      if (child !== undefined) collect(child, shift - bitsPerLevel, key, start, end, into);
    }
  }
}

/**
 * Appends every entry of `node` (whose keys start at `base`) in key order, without range
 * arithmetic: as [key, value] pairs to `entries`, or (`entries` null) keys to `keys` and values to `values`.
 */
function collectAll<V>(node: Node<V>, shift: number, base: number, entries: [number, V][] | null, keys: number[] | null, values?: V[]): void {
  if (node.kind === 'leaf') {
    const leafValues = node.values;
    // The held digits, lowest first.
    for (let rest = node.held; rest !== 0; rest &= rest - 1) {
      const d = 31 - Math.clz32(rest & -rest);
      const value = leafValues[d]!;
      if (entries !== null) entries.push([base + d, value]);
      else {
        keys?.push(base + d);
        values?.push(value);
      }
    }
    return;
  }
  const span = 2 ** shift;
  const children = node.children;
  for (let d = 0; d < fanout; d++) {
    const child = children[d];
    if (child !== undefined) collectAll(child, shift - bitsPerLevel, base + d * span, entries, keys, values);
  }
}

export class RadixMap<V> {
  private constructor(
    private readonly root: Node<V> | undefined,
    /** Levels of the trie: it holds keys below capacity(height). */
    private readonly height: number,
    readonly size: number,
  ) {}

  /** A map of `entries` (a later entry for a key replaces an earlier one), built in place. */
  static of<V>(entries: Iterable<readonly [number, V]> = []): RadixMap<V> {
    const list = [...entries];
    let height = 1;
    for (const [key, value] of list) {
      assertKey(key);
      if (value === undefined) throw new Error('radix map: a value cannot be undefined');
      height = Math.max(height, heightFor(key));
    }
    let root: MutableNode<V> | undefined;
    let size = 0;
    for (const [key, value] of list) {
      let shift = (height - 1) * bitsPerLevel;
      root ??= mutableNode<V>(shift);
      let node = root;
      while (node.kind === 'inner') {
        node = node.children[(key >>> shift) & (fanout - 1)] ??= mutableNode<V>(shift - bitsPerLevel);
        shift -= bitsPerLevel;
      }
      const d = key & (fanout - 1);
      if (node.values[d] === undefined) size++;
      node.values[d] = value;
      node.held |= 1 << d;
    }
    return new RadixMap<V>(root, height, size);
  }

  get(key: number): V | undefined {
    if (!isKey(key) || key >= capacity(this.height)) return undefined;
    let node = this.root;
    for (let shift = (this.height - 1) * bitsPerLevel; node !== undefined; shift -= bitsPerLevel) {
      const d = (key >>> shift) & (fanout - 1);
      if (node.kind === 'leaf') return node.values[d];
      node = node.children[d];
    }
    return undefined;
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  set(key: number, value: V): RadixMap<V> {
    assertKey(key);
    if (value === undefined) throw new Error('radix map: a value cannot be undefined');
    let root = this.root;
    let height = this.height;
    for (; key >= capacity(height); height++) {
      if (root !== undefined) root = { kind: 'inner', children: [root, ...new Array<undefined>(fanout - 1).fill(undefined)] };
    }
    const had = height === this.height && this.get(key) !== undefined;
    const newRoot = written(root, (height - 1) * bitsPerLevel, key, value);
    if (newRoot === this.root) return this;
    return new RadixMap(newRoot, height, this.size + (had ? 0 : 1));
  }

  delete(key: number): RadixMap<V> {
    if (this.get(key) === undefined) return this;
    return new RadixMap(written(this.root, (this.height - 1) * bitsPerLevel, key, undefined), this.height, this.size - 1);
  }

  deleteAll(keys: Iterable<number>): RadixMap<V> {
    let map: RadixMap<V> = this;
    for (const key of keys) map = map.delete(key);
    return map;
  }

  /** Entries with keys in [start, end), in key order. */
  entriesInRange(start: number, end: number): [number, V][] {
    const from = Math.max(0, start);
    const to = Math.min(capacity(this.height), end);
    const result: [number, V][] = [];
    if (this.root !== undefined && from < to) collect(this.root, (this.height - 1) * bitsPerLevel, 0, from, to, result);
    return result;
  }

  /** The entry with the lowest key, or undefined when the map is empty (an empty subtree is never kept). */
  first(): [number, V] | undefined {
    let node = this.root;
    let key = 0;
    for (let shift = (this.height - 1) * bitsPerLevel; node !== undefined; shift -= bitsPerLevel) {
      if (node.kind === 'leaf') {
        const d = node.values.findIndex((v) => v !== undefined);
        return d < 0 ? undefined : [key + d, node.values[d]!];
      }
      const d = node.children.findIndex((c) => c !== undefined);
      if (d < 0) return undefined;
      key += d * 2 ** shift;
      node = node.children[d];
    }
    return undefined;
  }

  /** Keys in [start, end), in order. */
  keysInRange(start: number, end: number): number[] {
    return this.entriesInRange(start, end).map(([key]) => key);
  }

  /** Every entry, in key order. */
  entries(): [number, V][] {
    const result: [number, V][] = [];
    if (this.root !== undefined) collectAll(this.root, (this.height - 1) * bitsPerLevel, 0, result, null);
    return result;
  }

  /** Every key, in order. */
  keys(): number[] {
    const result: number[] = [];
    if (this.root !== undefined) collectAll(this.root, (this.height - 1) * bitsPerLevel, 0, null, result);
    return result;
  }

  /** Every value, in key order. */
  values(): V[] {
    const result: V[] = [];
    if (this.root !== undefined) collectAll(this.root, (this.height - 1) * bitsPerLevel, 0, null, null, result);
    return result;
  }
}
