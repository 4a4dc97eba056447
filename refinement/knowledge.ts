// What the workload generator knows of the root task's CSpace: which CNodes exist, which of
// their slots hold which caps, and how to address a slot from the root task. Kept up to date
// from what each entry touched, so choosing arguments never scans the whole state.
import { seL4_CapInitThreadCNode, seL4_CapInitThreadSC, seL4_CapInitThreadTCB, slotId, type Cap, type CapOf, type KernelView, type SlotRef, type Touched } from '../libsel4/index.ts';

export interface Occupied {
  readonly slot: SlotRef;
  readonly cap: Cap;
}

/** A CNode-operation address: the cap at `service` (a root slot), then `index` resolved with `depth` bits. */
export interface SlotAddress {
  readonly service: number;
  readonly index: number;
  readonly depth: number;
}

/** Most CNode caps on an address path: deep runs nest CNodes several levels down. */
const maxPathCaps = 8;

/** Root slots of the caps the root task cannot run without: its TCB, CNode and scheduling context. */
export const vitalSlots: readonly number[] = [seL4_CapInitThreadTCB, seL4_CapInitThreadCNode, seL4_CapInitThreadSC];

export class Knowledge {
  /** CNode address -> radix. */
  readonly cnodes = new Map<number, number>();
  /** Non-null slots of CNodes, by slot key. */
  readonly occupied = new Map<string, Occupied>();
  /** CNode address -> keys of the slots holding caps to it. */
  private readonly capsTo = new Map<number, Set<string>>();
  private occupiedList: Occupied[] | null = null;
  /** Keys of the slots filled at boot. */
  readonly bootKeys: ReadonlySet<string>;
  /** Keys of the slots filled most recently, newest last (a program works on what it just made). */
  private readonly recentKeys: string[] = [];

  constructor(
    /** The lowest layer's state now: threads and scheduling contexts are read from it when a step needs them. */
    readonly view: () => KernelView,
    readonly rootCNode: number,
    /** Knowledge of the same boot, to copy instead of reading every slot again. */
    from?: Knowledge,
  ) {
    if (from) {
      for (const [addr, radix] of from.cnodes) this.cnodes.set(addr, radix);
      for (const [key, o] of from.occupied) this.occupied.set(key, o);
      for (const [addr, keys] of from.capsTo) this.capsTo.set(addr, new Set(keys));
      this.bootKeys = from.bootKeys;
      this.vitalObjects = from.vitalObjects;
      this.rootTCB = from.rootTCB;
      return;
    }
    for (const object of view().objects()) {
      if (object.type === 'cnode') this.addCNode(object.addr, object.radix);
    }
    this.bootKeys = new Set(this.occupied.keys());
    const root = (index: number) => this.occupied.get(slotId({ cnode: rootCNode, index }))?.cap;
    this.vitalObjects = new Set(vitalSlots.map(root).flatMap((cap) => (cap && 'ptr' in cap ? [cap.ptr] : [])));
    const tcb = root(seL4_CapInitThreadTCB);
    if (tcb?.type !== 'thread') throw new Error('the root CNode holds no TCB cap at seL4_CapInitThreadTCB after boot');
    this.rootTCB = tcb.ptr;
  }

  /** The root task's TCB. */
  readonly rootTCB: number;

  /** The root task's TCB, CNode and scheduling context: a cap to one of them is vital to it. */
  readonly vitalObjects: ReadonlySet<number>;

  /**
   * Whether the root task needs the cap in `slot`: any cap to its TCB or scheduling context (the
   * last one's deletion stops it), and the CNode cap in its root slot (every CNode operation's service).
   */
  isVital(o: Occupied): boolean {
    const { cap, slot } = o;
    if (cap.type === 'cnode') return slot.cnode === this.rootCNode && slot.index === seL4_CapInitThreadCNode;
    return (cap.type === 'thread' || cap.type === 'schedcontext') && this.vitalObjects.has(cap.ptr);
  }

  /** Whether the slot was filled at boot (whatever it holds now). */
  isBootSlot(slot: SlotRef): boolean {
    return this.bootKeys.has(slotId(slot));
  }

  private addCNode(addr: number, radix: number): void {
    this.cnodes.set(addr, radix);
    const v = this.view();
    for (let index = 0; index < 2 ** radix; index++) this.refreshSlot(v, { cnode: addr, index });
  }

  private removeCNode(addr: number): void {
    const radix = this.cnodes.get(addr);
    if (radix === undefined) return;
    this.cnodes.delete(addr);
    for (let index = 0; index < 2 ** radix; index++) this.forget(slotId({ cnode: addr, index }));
  }

  private forget(key: string): void {
    const old = this.occupied.get(key);
    if (!old) return;
    this.occupied.delete(key);
    this.occupiedList = null;
    if (old.cap.type === 'cnode') this.capsTo.get(old.cap.ptr)?.delete(key);
  }

  private refreshSlot(v: KernelView, slot: SlotRef): void {
    const key = slotId(slot);
    this.forget(key);
    const cap = v.cap(slot);
    if (cap === null || cap.type === 'null') return;
    this.occupied.set(key, { slot, cap });
    this.occupiedList = null;
    this.recentKeys.push(key);
    if (this.recentKeys.length > 16) this.recentKeys.shift();
    if (cap.type === 'cnode') {
      let set = this.capsTo.get(cap.ptr);
      if (!set) this.capsTo.set(cap.ptr, (set = new Set()));
      set.add(key);
    }
  }

  /** Kernel entries made since boot. */
  entries = 0;

  /** Brings the knowledge up to date with what an entry touched. */
  update(touched: readonly Touched[]): void {
    this.entries++;
    const v = this.view();
    for (const t of touched) {
      for (const addr of t.objects) {
        const object = v.object(addr);
        if (object?.type === 'cnode') {
          if (!this.cnodes.has(addr)) this.addCNode(addr, object.radix);
        } else {
          this.removeCNode(addr);
        }
      }
      for (const slot of t.slots) {
        if (this.cnodes.has(slot.cnode)) this.refreshSlot(v, slot);
      }
    }
  }

  /** The root CNode's radix: cptrs below 2^radix resolve in it. */
  rootRadix(): number {
    return this.cnodes.get(this.rootCNode)!;
  }

  /** The first index from `from` on (wrapping) where `count` empty slots of `cnode` follow each other, if any. */
  freeRun(cnode: number, count: number, from: number): number | undefined {
    const size = 2 ** (this.cnodes.get(cnode) ?? 0);
    if (count > size) return undefined;
    let run = 0;
    for (let n = 0; n < size + count; n++) {
      const index = (from + n) % size;
      if (index === 0) run = 0;
      run = this.isEmpty({ cnode, index }) ? run + 1 : 0;
      if (run === count) return index - count + 1;
    }
    return undefined;
  }

  /** Occupied slots among the most recently filled ones. */
  recent(): Occupied[] {
    return this.recentKeys.map((key) => this.occupied.get(key)).filter((o): o is Occupied => o !== undefined);
  }

  all(): readonly Occupied[] {
    this.occupiedList ??= [...this.occupied.values()];
    return this.occupiedList;
  }

  inRoot(): Occupied[] {
    return this.all().filter((o) => o.slot.cnode === this.rootCNode);
  }

  ofType<T extends Cap['type']>(type: T, rootOnly = false): { slot: SlotRef; cap: CapOf<T> }[] {
    return this.all().filter((o) => o.cap.type === type && (!rootOnly || o.slot.cnode === this.rootCNode)) as {
      slot: SlotRef;
      cap: CapOf<T>;
    }[];
  }

  capAt(slot: SlotRef): Cap | null {
    return this.occupied.get(slotId(slot))?.cap ?? null;
  }

  isEmpty(slot: SlotRef): boolean {
    return !this.occupied.has(slotId(slot));
  }

  /**
   * Ways to name `slot` in a CNode operation, shortest first: through a root slot holding a
   * CNode cap, then through CNode caps stored in slots, each contributing its guard and radix.
   */
  addresses(slot: SlotRef): SlotAddress[] {
    const found: SlotAddress[] = [];
    this.collect(slot.cnode, slot.index, 0, 0, maxPathCaps, found);
    return found.sort((a, b) => a.depth - b.depth);
  }

  /** `suffix` holds `suffixBits` low bits of the index still to be resolved below `cnode`. */
  private collect(cnode: number, index: number, suffix: number, suffixBits: number, capsLeft: number, out: SlotAddress[]): void {
    if (capsLeft === 0 || out.length >= 8) return;
    const holders = this.capsTo.get(cnode);
    if (!holders) return;
    for (const key of holders) {
      const holder = this.occupied.get(key);
      if (!holder || holder.cap.type !== 'cnode') continue;
      const cap = holder.cap;
      const levelBits = cap.guardSize + cap.radix;
      const bits = levelBits + suffixBits;
      if (bits > 32 || index >= 2 ** cap.radix) continue;
      const level = cap.guard * 2 ** cap.radix + index;
      const value = level * 2 ** suffixBits + suffix;
      if (holder.slot.cnode === this.rootCNode) out.push({ service: holder.slot.index, index: value >>> 0, depth: bits });
      if (!(holder.slot.cnode === this.rootCNode && holder.slot.index === seL4_CapInitThreadCNode)) {
        this.collect(holder.slot.cnode, holder.slot.index, value, bits, capsLeft - 1, out);
      }
    }
  }
}
