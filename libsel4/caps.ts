// Capabilities as plain tagged data: the user-visible description of a cap that every
// layer can produce (the impl decodes its two-word bitfields into this).
import type { VMRights } from './rights.ts';

export type Cap =
  | { readonly type: 'null' }
  /** freeIndex is a byte offset from ptr, a multiple of 16; 2^sizeBits means full. */
  | { readonly type: 'untyped'; readonly ptr: number; readonly sizeBits: number; readonly freeIndex: number; readonly isDevice: boolean }
  /** rights: seL4_CapRights bits the cap carries (Write = send, Read = receive, Grant, GrantReply). */
  | { readonly type: 'endpoint'; readonly ptr: number; readonly badge: number; readonly rights: number }
  /** rights: only Write (send) and Read (receive) are meaningful. */
  | { readonly type: 'notification'; readonly ptr: number; readonly badge: number; readonly rights: number }
  /** rights: only Grant is meaningful. */
  | { readonly type: 'reply'; readonly ptr: number; readonly rights: number }
  | { readonly type: 'cnode'; readonly ptr: number; readonly radix: number; readonly guardSize: number; readonly guard: number }
  | { readonly type: 'thread'; readonly ptr: number }
  | { readonly type: 'schedcontext'; readonly ptr: number; readonly sizeBits: number }
  | { readonly type: 'schedcontrol'; readonly core: number }
  | { readonly type: 'irqcontrol' }
  | { readonly type: 'irqhandler'; readonly irq: number }
  | { readonly type: 'domain' }
  | {
      readonly type: 'frame';
      readonly ptr: number;
      readonly sizeBits: number;
      readonly vmRights: VMRights;
      readonly isDevice: boolean;
      readonly mapped: Mapping | null;
    }
  | { readonly type: 'pagetable'; readonly ptr: number; readonly mapped: Mapping | null }
  | { readonly type: 'asidcontrol' }
  | { readonly type: 'asidpool'; readonly ptr: number; readonly asidBase: number }
  /**
   * What finalisation leaves of the last cap to a CNode or TCB while its slots are emptied:
   * ptr is the object (its slot 0), zombieType seL4's capZombieType (the CNode's radix, or
   * zombieTypeTCB), count the slots still to empty (slots count-1 down to 0).
   */
  | { readonly type: 'zombie'; readonly ptr: number; readonly zombieType: number; readonly count: number };

/** seL4's ZombieType_ZombieTCB (BIT(wordRadix) on 32 bits): a Zombie of a TCB's slots. */
export const zombieTypeTCB = 32;

export interface Mapping {
  readonly asid: number;
  readonly vaddr: number;
}

export type CapType = Cap['type'];
export type CapOf<T extends CapType> = Extract<Cap, { type: T }>;

export const nullCap: Cap = Object.freeze({ type: 'null' });

/** A slot is named by the object that holds it (a CNode or a TCB) and its index. */
export interface SlotRef {
  readonly cnode: number;
  readonly index: number;
}

/** A slot's identity as a map key: cheaper than `slotKey`, not for display. */
export function slotId(slot: SlotRef): string {
  return `${slot.cnode}:${slot.index}`;
}

export function slotKey(slot: SlotRef): string {
  return `${hex(slot.cnode)}[${slot.index}]`;
}

export function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

/** The object a cap names, or null for caps that name none (null, control caps, irq handlers, domain). */
export function capObjectPtr(cap: Cap): number | null {
  return 'ptr' in cap ? cap.ptr : null;
}

function mappingEqual(a: Mapping | null, b: Mapping | null): boolean {
  return a === b || (a !== null && b !== null && a.asid === b.asid && a.vaddr === b.vaddr);
}

/** Field-by-field equality of two caps. */
export function capEqual(a: Cap, b: Cap): boolean {
  if (a === b) return true;
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'frame': {
      const o = b as CapOf<'frame'>;
      return a.ptr === o.ptr && a.sizeBits === o.sizeBits && a.vmRights === o.vmRights && a.isDevice === o.isDevice && mappingEqual(a.mapped, o.mapped);
    }
    case 'pagetable': {
      const o = b as CapOf<'pagetable'>;
      return a.ptr === o.ptr && mappingEqual(a.mapped, o.mapped);
    }
    default: {
      const ra = a as unknown as Record<string, unknown>;
      const rb = b as unknown as Record<string, unknown>;
      for (const key in ra) if (ra[key] !== rb[key]) return false;
      return true;
    }
  }
}

/** First field in which two caps differ, as "field: a vs b", or null. */
export function capDifference(a: Cap, b: Cap): string | null {
  if (capEqual(a, b)) return null;
  if (a.type !== b.type) return `type: ${a.type} vs ${b.type}`;
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  for (const key in ra) {
    const va = JSON.stringify(ra[key]);
    const vb = JSON.stringify(rb[key]);
    if (va !== vb) return `${key}: ${va} vs ${vb}`;
  }
  return 'differs';
}

export function describeCap(cap: Cap): string {
  switch (cap.type) {
    case 'null':
    case 'irqcontrol':
    case 'domain':
    case 'asidcontrol':
      return cap.type;
    case 'untyped':
      return `untyped ${hex(cap.ptr)} 2^${cap.sizeBits} free@${cap.freeIndex}${cap.isDevice ? ' device' : ''}`;
    case 'endpoint':
    case 'notification':
      return `${cap.type} ${hex(cap.ptr)} badge ${cap.badge} rights ${cap.rights.toString(2).padStart(4, '0')}`;
    case 'reply':
      return `reply ${hex(cap.ptr)} rights ${cap.rights.toString(2).padStart(4, '0')}`;
    case 'cnode':
      return `cnode ${hex(cap.ptr)} radix ${cap.radix} guard ${cap.guard}/${cap.guardSize}`;
    case 'thread':
      return `thread ${hex(cap.ptr)}`;
    case 'schedcontext':
      return `schedcontext ${hex(cap.ptr)} 2^${cap.sizeBits}`;
    case 'schedcontrol':
      return `schedcontrol core ${cap.core}`;
    case 'irqhandler':
      return `irqhandler ${cap.irq}`;
    case 'frame':
      return `frame ${hex(cap.ptr)} 2^${cap.sizeBits} vm ${cap.vmRights}${cap.isDevice ? ' device' : ''}${cap.mapped ? ` mapped ${cap.mapped.asid}@${hex(cap.mapped.vaddr)}` : ''}`;
    case 'pagetable':
      return `pagetable ${hex(cap.ptr)}${cap.mapped ? ` mapped ${cap.mapped.asid}@${hex(cap.mapped.vaddr)}` : ''}`;
    case 'asidpool':
      return `asidpool ${hex(cap.ptr)} base ${cap.asidBase}`;
    case 'zombie':
      return `zombie ${hex(cap.ptr)} ${cap.zombieType === zombieTypeTCB ? 'tcb' : `radix ${cap.zombieType}`} count ${cap.count}`;
  }
}
