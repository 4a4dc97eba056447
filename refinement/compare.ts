// Hand-written comparators over the read-only view every layer offers. A mismatch names
// the first differing place in seL4 terms, e.g. `cnode 0x80010000 slot 3: badge: 5 vs 0`.
import {
  capDifference,
  hex,
  type KernelView,
  type ObjectView,
  type Observation,
  type SlotRef,
  type Touched,
} from '../libsel4/index.ts';

export interface Mismatch {
  /** Where the two sides differ, in seL4 terms. */
  readonly path: string;
  /** The lower layer's value, then the upper layer's. */
  readonly lower: string;
  readonly upper: string;
}

export function slotName(view: KernelView, slot: SlotRef): string {
  const holder = view.object(slot.cnode);
  return `${holder?.type === 'tcb' ? 'tcb' : 'cnode'} ${hex(slot.cnode)} slot ${slot.index}`;
}

function parentText(p: SlotRef | null): string {
  return p === null ? 'none' : `${hex(p.cnode)}[${p.index}]`;
}

export function compareSlot(lower: KernelView, upper: KernelView, slot: SlotRef): Mismatch | null {
  const a = lower.cap(slot);
  const b = upper.cap(slot);
  if (a === null || b === null) {
    if (a === b) return null;
    return { path: `${slotName(lower, slot)}: exists`, lower: String(a !== null), upper: String(b !== null) };
  }
  const diff = capDifference(a, b);
  if (diff !== null) {
    const [field, values] = diff.split(': ', 2) as [string, string];
    const [lv, uv] = (values ?? '').split(' vs ');
    return { path: `${slotName(lower, slot)}: ${field}`, lower: lv ?? '', upper: uv ?? '' };
  }
  const pa = lower.cdtParent(slot);
  const pb = upper.cdtParent(slot);
  if (pa?.cnode !== pb?.cnode || pa?.index !== pb?.index) {
    return { path: `${slotName(lower, slot)}: CDT parent`, lower: parentText(pa), upper: parentText(pb) };
  }
  return null;
}

export function compareObject(lower: KernelView, upper: KernelView, addr: number): Mismatch | null {
  const a = lower.object(addr);
  const b = upper.object(addr);
  if (a === null || b === null) {
    if (a === b) return null;
    return { path: `object ${hex(addr)}`, lower: a?.type ?? 'none', upper: b?.type ?? 'none' };
  }
  return objectDifference(a, b);
}

/** JSON.stringify replacer: 64-bit times are bigints. */
function bigintAsText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function objectDifference(a: ObjectView, b: ObjectView): Mismatch | null {
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const key of keys) {
    const va = JSON.stringify(ra[key], bigintAsText);
    const vb = JSON.stringify(rb[key], bigintAsText);
    if (va !== vb) return { path: `${a.type} ${hex(a.addr)}: ${key}`, lower: va ?? 'undefined', upper: vb ?? 'undefined' };
  }
  return null;
}

/** Compares what a step touched on either side. */
export function compareTouched(lower: KernelView, upper: KernelView, touched: readonly Touched[]): Mismatch | null {
  for (const t of touched) {
    for (const addr of t.objects) {
      const m = compareObject(lower, upper, addr);
      if (m) return m;
    }
    for (const slot of t.slots) {
      const m = compareSlot(lower, upper, slot);
      if (m) return m;
    }
  }
  return null;
}

/** The first differing word of thread `tcb`'s `what` (its registers or IPC buffer). */
function wordsDifference(tcb: number, what: string, a: readonly number[] | null, b: readonly number[] | null, names?: readonly string[]): Mismatch | null {
  if (a === null || b === null) {
    return a === b ? null : { path: `thread ${hex(tcb)}: ${what}`, lower: a === null ? 'none' : 'present', upper: b === null ? 'none' : 'present' };
  }
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      return { path: `thread ${hex(tcb)}: ${what} ${names?.[i] ?? `word ${i}`}`, lower: hex(a[i] ?? 0), upper: hex(b[i] ?? 0) };
    }
  }
  return null;
}

/** Compares what the user sees after an entry. */
export function compareObservations(lower: Observation, upper: Observation, registerNames: readonly string[]): Mismatch | null {
  if (lower.unmodelled !== upper.unmodelled) {
    return { path: 'unmodelled behaviour', lower: String(lower.unmodelled), upper: String(upper.unmodelled) };
  }
  if (lower.current !== upper.current) {
    return { path: 'thread that runs next', lower: lower.current === null ? 'idle' : hex(lower.current), upper: upper.current === null ? 'idle' : hex(upper.current) };
  }
  const a = lower.caller;
  const b = upper.caller;
  if (a === null || b === null) {
    return a === b ? null : { path: 'caller', lower: a === null ? 'none' : hex(a.tcb), upper: b === null ? 'none' : hex(b.tcb) };
  }
  if (a.tcb !== b.tcb) return { path: 'caller', lower: hex(a.tcb), upper: hex(b.tcb) };
  if (a.state !== b.state) return { path: `thread ${hex(a.tcb)}: state`, lower: a.state, upper: b.state };
  return (
    wordsDifference(a.tcb, 'register', a.regs, b.regs, registerNames) ??
    wordsDifference(a.tcb, 'IPC buffer', a.ipcBuffer, b.ipcBuffer)
  );
}
