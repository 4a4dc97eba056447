// The workload's VSpace steps (riscv32 Sv32): ASID pools made from 4 KiB untypeds, page tables
// assigned as roots and mapped under them at drawn addresses, 4 KiB and 4 MiB frames mapped with
// every rights word and attribute, remapped, unmapped and asked their address, caps of frames and
// tables copied, and frames, tables, roots and pools deleted or revoked while mapped; and a
// composite step that builds a small address space and tears it down in a drawn order, and one
// that uses up a pool's ASIDs or the ASID table. User memory: loads, stores and fetches by the
// running thread that hit (at pages its frame caps record mapped) and that fault (unmapped, kernel
// addresses, read-only stores, no-X fetches, no or a stale VSpace), and a composite step with a
// thread whose faults the root task serves as a pager, in the root's VSpace or in one of its own
// sharing a frame with the root's, torn down while the thread uses it.
import {
  InvocationLabel,
  TCBSlot,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_EndpointBits,
  seL4_MessageInfo_new,
  seL4_ReplyBits,
  type AccessKind,
  seL4_AllRights,
  seL4_CapASIDControl,
  seL4_CapInitThreadASIDPool,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadVSpace,
  seL4_LargePageBits,
  seL4_ObjectType,
  seL4_PageBits,
  seL4_PageTableBits,
  seL4_UserTop,
  type CapOf,
  type SlotRef,
} from '../libsel4/index.ts';
import { momentOf } from './coverage.ts';
import type { Knowledge, Occupied } from './knowledge.ts';
import { Picker, call, freeBytes, perturb, pickEmpty, shaped, type ResolvedCall } from './workload-picks.ts';
import { copy, freeRootSlot, objectsAt, once, retype, rootSlot, scenarioStep, slotCall, threadsMade, untypedWithRoom, type Action, type Scenario, type ThreadsMade } from './workload-scenarios.ts';
import { midBudgetTicks, passTicks } from './workload-threads.ts';
import type { RunStyle, WorkloadStep } from './workload.ts';

const R = seL4_CapInitThreadCNode;
const T = seL4_ObjectType;
/** Bytes a root entry covers (vaddr bits 21..0). */
const windowBytes = 2 ** seL4_LargePageBits;
const userWindows = seL4_UserTop / windowBytes;

type Held<K extends 'frame' | 'pagetable' | 'asidpool' | 'untyped'> = { slot: SlotRef; cap: CapOf<K> };

/** Whether a page-table cap is an assigned root: its table holds the kernel window (the boot root always is one). */
function isRoot(k: Knowledge, cap: CapOf<'pagetable'>): boolean {
  if (cap.mapped === null) return false;
  const object = k.view().object(cap.ptr);
  const boot = k.capAt(rootSlot(k, seL4_CapInitThreadVSpace));
  return (object?.type === 'pagetable' && object.kernelWindow) || (boot?.type === 'pagetable' && boot.ptr === cap.ptr);
}

const tables = (k: Knowledge): Held<'pagetable'>[] => k.ofType('pagetable', true);
const roots = (k: Knowledge) => tables(k).filter((t) => isRoot(k, t.cap));
const unmappedTables = (k: Knowledge) => tables(k).filter((t) => t.cap.mapped === null);
/** The 4 MiB windows of `root` that a table is mapped in (as its caps record). */
const windowsOf = (k: Knowledge, root: CapOf<'pagetable'>): number[] =>
  tables(k).filter((t) => t.cap.mapped !== null && !isRoot(k, t.cap) && t.cap.mapped.asid === root.mapped?.asid).map((t) => t.cap.mapped!.vaddr);

/** The frames mapped in `root`'s address space (as their caps record). */
const framesIn = (k: Knowledge, root: CapOf<'pagetable'>): CapOf<'frame'>[] =>
  k.ofType('frame', true).map((f) => f.cap).filter((f) => f.mapped !== null && f.mapped.asid === root.mapped?.asid);

/** Any root cap but one of `type` (a wrong-type argument), or slot 0 (a null cap). */
function otherThan(k: Knowledge, p: Picker, type: string): number {
  // Never an endpoint: invoked, it is a Call that blocks the caller (as perturb's rule).
  return p.of(k.inRoot().filter((o) => o.cap.type !== type && o.cap.type !== 'endpoint' && !k.isVital(o)))?.slot.index ?? 0;
}

/** A VSpace argument: an assigned root mostly, else a mapped non-root table, an unmapped table or another cap. */
function vspaceArgument(k: Knowledge, p: Picker): number {
  const roll = p.below(100);
  const all = tables(k);
  const pick = roll < 80 ? p.of(roots(k)) : roll < 87 ? p.of(all.filter((t) => t.cap.mapped !== null && !isRoot(k, t.cap))) : roll < 93 ? p.of(unmappedTables(k)) : undefined;
  return pick?.slot.index ?? (roll < 93 ? seL4_CapInitThreadVSpace : otherThan(k, p, 'pagetable'));
}

/** A page-table vaddr: a 4 MiB window of user space mostly, unaligned now and then, or a kernel address. */
function tableVaddr(k: Knowledge, p: Picker, root: CapOf<'pagetable'> | null): number {
  const roll = p.below(100);
  const used = root ? windowsOf(k, root) : [];
  if (roll < 12 && used.length > 0) return p.of(used)!;
  // A window a 4 MiB frame is mapped in (DeleteFirst: the root entry is a leaf).
  const megas = root ? framesIn(k, root).filter((f) => f.sizeBits === seL4_LargePageBits) : [];
  if (roll < 18 && megas.length > 0) return (p.of(megas)!.mapped!.vaddr + p.below(windowBytes)) >>> 0;
  if (roll < 75) return (p.below(userWindows) * windowBytes) >>> 0;
  if (roll < 88) return (p.below(userWindows) * windowBytes + 1 + p.below(windowBytes - 1)) >>> 0;
  return p.of([seL4_UserTop, 0xbfc00000, 0xc0000000, 0xffc00000, 0xffffffff, p.word(1)])!;
}

/** A Page_Map vaddr for a frame of `sizeBits` in `root`: its own mapping (a remap), a page of a mapped table, a free window, or a bad address. */
function frameVaddr(k: Knowledge, p: Picker, frame: CapOf<'frame'>, root: CapOf<'pagetable'> | null): number {
  const roll = p.below(100);
  if (frame.mapped !== null && roll < 30) return frame.mapped.vaddr;
  const pages = 2 ** (seL4_LargePageBits - seL4_PageBits);
  const windows = root ? windowsOf(k, root) : [];
  // Where another frame is mapped (DeleteFirst), or, for a 4 MiB frame, a page boundary inside a window (AlignmentError).
  const others = root ? framesIn(k, root).filter((f) => f.ptr !== frame.ptr) : [];
  if (roll < 40 && others.length > 0) return p.of(others)!.mapped!.vaddr;
  if (frame.sizeBits === seL4_LargePageBits && roll < 45) return (p.below(userWindows) * windowBytes + (1 + p.below(pages - 1)) * 2 ** seL4_PageBits) >>> 0;
  if (frame.sizeBits === seL4_PageBits && windows.length > 0 && roll < 75) return (p.of(windows)! + p.below(pages) * 2 ** seL4_PageBits) >>> 0;
  if (roll < 85) return (p.below(userWindows) * windowBytes + (frame.sizeBits === seL4_PageBits ? p.below(pages) * 2 ** seL4_PageBits : 0)) >>> 0;
  if (roll < 93) return (p.below(seL4_UserTop / 2 ** seL4_PageBits) * 2 ** seL4_PageBits + 1 + p.below(2 ** seL4_PageBits - 1)) >>> 0;
  return p.of([seL4_UserTop - 2 ** frame.sizeBits, seL4_UserTop - 2 ** seL4_PageBits, seL4_UserTop, 0xc0000000, 0xfffff000, p.word(2)])!;
}

/** A rights word for Page_Map: each of the 16 combinations, all bits now and then. */
const mapRights = (p: Picker): number => (p.chance(8) ? 0xffffffff : p.chance(25) ? seL4_AllRights : p.below(16));
/** A seL4_RISCV_VMAttributes word: default, ExecuteNever, an ignored bit, or any word. */
const mapAttributes = (p: Picker): number => p.of([0, 0, 1, 1, 2, 3, p.word(3)])!;

// ---- the calls ----

export function makePoolCall(service: number, untyped: number, index: number, depth: number): ResolvedCall {
  return call('seL4_RISCV_ASIDControl_MakePool', [service, untyped, R, index, depth], (api) => void api.seL4_RISCV_ASIDControl_MakePool(service, untyped, R, index, depth));
}
export function assignCall(pool: number, vspace: number): ResolvedCall {
  return call('seL4_RISCV_ASIDPool_Assign', [pool, vspace], (api) => void api.seL4_RISCV_ASIDPool_Assign(pool, vspace));
}
export function tableMapCall(table: number, vspace: number, vaddr: number, attr: number): ResolvedCall {
  return call('seL4_RISCV_PageTable_Map', [table, vspace, vaddr, attr], (api) => void api.seL4_RISCV_PageTable_Map(table, vspace, vaddr, attr));
}
export function pageMapCall(frame: number, vspace: number, vaddr: number, rights: number, attr: number): ResolvedCall {
  return call('seL4_RISCV_Page_Map', [frame, vspace, vaddr, rights, attr], (api) => void api.seL4_RISCV_Page_Map(frame, vspace, vaddr, rights, attr));
}
function tableUnmapCall(table: number): ResolvedCall {
  return call('seL4_RISCV_PageTable_Unmap', [table], (api) => void api.seL4_RISCV_PageTable_Unmap(table));
}
function pageUnmapCall(frame: number): ResolvedCall {
  return call('seL4_RISCV_Page_Unmap', [frame], (api) => void api.seL4_RISCV_Page_Unmap(frame));
}
function getAddressCall(frame: number): ResolvedCall {
  return call('seL4_RISCV_Page_GetAddress', [frame], (api) => void api.seL4_RISCV_Page_GetAddress(frame));
}

/** A new object of `type` from an untyped with room into a free root slot, when the workload has none to use. */
function made(k: Knowledge, p: Picker, type: number, sizeBits: number, objectBits: number): ResolvedCall | null {
  const untyped = untypedWithRoom(k, p, 2 ** objectBits);
  const at = freeRootSlot(k, p);
  return untyped === undefined || at === undefined ? null : retype(untyped, type, sizeBits, at, 1);
}

/** A 4 KiB non-device untyped with nothing retyped from it: what MakePool takes. */
const poolUntypeds = (k: Knowledge): Held<'untyped'>[] =>
  k.ofType('untyped', true).filter((u) => u.cap.sizeBits === seL4_PageTableBits && !u.cap.isDevice && u.cap.freeIndex === 0);

function resolveMakePool(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const fitting = p.of(poolUntypeds(k));
  if (!fitting && p.chance(70)) return made(k, p, T.seL4_UntypedObject, seL4_PageTableBits, seL4_PageTableBits);
  const roll = p.below(100);
  // A copy of a fitting untyped: the original has a child now (RevokeFirst when MakePool takes it).
  const copyTo = fitting && roll < 20 ? freeRootSlot(k, p) : undefined;
  if (fitting && copyTo !== undefined) return copy(copyTo, fitting.slot.index);
  // A used, larger, smaller or device untyped, or another cap: the errors of the untyped check.
  const untyped = fitting && p.chance(85) ? fitting.slot.index : p.chance(70) ? (p.of(k.ofType('untyped', true))?.slot.index ?? 0) : otherThan(k, p, 'untyped');
  // Now and then a destination that is taken or not a slot at depth 32 (DeleteFirst, FailedLookup, RangeError).
  const badDestination = roll >= 20 && roll < 45;
  const occupied = badDestination && p.chance(30) ? p.of(k.inRoot().filter((o) => !k.isVital(o)))?.slot.index : undefined;
  const index = occupied ?? pickEmpty(k, p, true).index;
  const depth = badDestination && occupied === undefined ? p.of([0, 31, 33, 64])! : 32;
  // ASID control where it is now (a Move or Mutate may have taken it from slot 5).
  const control = k.ofType('asidcontrol', true)[0]?.slot.index ?? seL4_CapASIDControl;
  const service = p.chance(92) ? control : otherThan(k, p, 'asidcontrol');
  const a = perturb([service, untyped, R, index, depth], k, p, step, [0, 1, 2]);
  return shaped(p, makePoolCall(a[0]!, a[1]!, a[3]!, a[4]!), { label: InvocationLabel.RISCVASIDControlMakePool, service: a[0]!, mrs: [a[3]!, a[4]!], caps: [a[1]!, a[2]!] });
}

function resolveAssign(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const fresh = p.of(unmappedTables(k));
  if (!fresh && p.chance(70)) return made(k, p, T.seL4_RISCV_PageTableObject, 0, seL4_PageTableBits);
  const pool = p.chance(93) ? (p.of(k.ofType('asidpool', true))?.slot.index ?? 0) : otherThan(k, p, 'asidpool');
  const vspace = fresh && p.chance(80) ? fresh.slot.index : p.chance(70) ? (p.of(tables(k))?.slot.index ?? 0) : otherThan(k, p, 'pagetable');
  const a = perturb([pool, vspace], k, p, step, [0, 1]);
  return shaped(p, assignCall(a[0]!, a[1]!), { label: InvocationLabel.RISCVASIDPoolAssign, service: a[0]!, mrs: [], caps: [a[1]!] });
}

function resolveTableMap(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const fresh = p.of(unmappedTables(k));
  if (!fresh && p.chance(70)) return made(k, p, T.seL4_RISCV_PageTableObject, 0, seL4_PageTableBits);
  const table = fresh && p.chance(85) ? fresh.slot.index : p.chance(70) ? (p.of(tables(k))?.slot.index ?? 0) : otherThan(k, p, 'pagetable');
  const vspace = vspaceArgument(k, p);
  const root = k.capAt(rootSlot(k, vspace));
  const vaddr = tableVaddr(k, p, root?.type === 'pagetable' ? root : null);
  const a = perturb([table, vspace, vaddr, mapAttributes(p)], k, p, step, [0, 1]);
  return shaped(p, tableMapCall(a[0]!, a[1]!, a[2]!, a[3]!), { label: InvocationLabel.RISCVPageTableMap, service: a[0]!, mrs: [a[2]!, a[3]!], caps: [a[1]!] });
}

/** The root a mapped frame's ASID names, if the CSpace holds one. */
const rootOfAsid = (k: Knowledge, asid: number) => roots(k).find((r) => r.cap.mapped?.asid === asid);

function resolvePageMap(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const frames = k.ofType('frame', true);
  if (frames.length === 0 || p.chance(4)) {
    const mega = p.chance(30);
    return made(k, p, mega ? T.seL4_RISCV_Mega_Page : T.seL4_RISCV_4K_Page, 0, mega ? seL4_LargePageBits : seL4_PageBits);
  }
  const frame = p.chance(95) ? p.of(frames)! : undefined;
  const own = frame?.cap.mapped ? rootOfAsid(k, frame.cap.mapped.asid) : undefined;
  const vspace = own && p.chance(40) ? own.slot.index : vspaceArgument(k, p);
  const root = k.capAt(rootSlot(k, vspace));
  const vaddr = frame ? frameVaddr(k, p, frame.cap, root?.type === 'pagetable' ? root : null) : tableVaddr(k, p, null);
  const service = frame?.slot.index ?? otherThan(k, p, 'frame');
  const a = perturb([service, vspace, vaddr, mapRights(p), mapAttributes(p)], k, p, step, [0, 1]);
  return shaped(p, pageMapCall(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!), { label: InvocationLabel.RISCVPageMap, service: a[0]!, mrs: [a[2]!, a[3]!, a[4]!], caps: [a[1]!] });
}

/** A cap of `type` for an argument-less invocation: a mapped one mostly; now and then a cap of another type (IllegalOperation). */
function invoked(k: Knowledge, p: Picker, type: 'frame' | 'pagetable'): number {
  const all = k.ofType(type, true);
  const mapped = all.filter((o) => o.cap.mapped !== null);
  const pick = p.chance(5) ? undefined : mapped.length > 0 && p.chance(70) ? p.of(mapped) : p.of(all);
  return pick?.slot.index ?? otherThan(k, p, type);
}

/** Caps of VSpace objects in the root CNode: frames, page tables and pools (the boot ones included). */
const vspaceCaps = (k: Knowledge): Occupied[] =>
  k.inRoot().filter((o) => o.cap.type === 'frame' || o.cap.type === 'pagetable' || o.cap.type === 'asidpool');

/** A copy of a frame or page-table cap (an unmapped table's copy fails), with rights masked now and then. */
function resolveCopy(k: Knowledge, p: Picker): ResolvedCall | null {
  const src = p.of(vspaceCaps(k).filter((o) => o.cap.type !== 'asidpool' || p.chance(20)));
  const at = freeRootSlot(k, p);
  if (!src || at === undefined) return null;
  const rights = p.chance(60) ? seL4_AllRights : p.below(16);
  return call('seL4_CNode_Copy', [R, at, 32, R, src.slot.index, 32, rights], (api) => void api.seL4_CNode_Copy(R, at, 32, R, src.slot.index, 32, rights));
}

/** Delete or revoke of a frame, table, root or pool cap, mapped ones first; or a revoke of the untyped a pool came from. */
function resolveRemoval(k: Knowledge, p: Picker): ResolvedCall | null {
  const used = k.ofType('untyped', true).filter((u) => u.cap.sizeBits === seL4_PageTableBits && !u.cap.isDevice && freeBytes(u.cap) === 0);
  if (used.length > 0 && p.chance(15)) return slotCall('Revoke', p.of(used)!.slot.index);
  const caps = vspaceCaps(k);
  const mapped = caps.filter((o) => (o.cap.type === 'frame' || o.cap.type === 'pagetable') && o.cap.mapped !== null);
  const target = mapped.length > 0 && p.chance(60) ? p.of(mapped) : p.of(caps);
  return target ? slotCall(p.chance(70) ? 'Delete' : 'Revoke', target.slot.index) : null;
}

const vspaceSteps = ['makePool', 'assign', 'tableMap', 'tableUnmap', 'pageMap', 'pageUnmap', 'getAddress', 'copy', 'removal'] as const;
/** Per mille of the `vspace` steps each kind takes. */
const stepWeights: Readonly<Record<(typeof vspaceSteps)[number], number>> = {
  makePool: 250, assign: 110, tableMap: 170, tableUnmap: 60, pageMap: 290, pageUnmap: 70, getAddress: 50, copy: 70, removal: 90,
};

/** One VSpace step, of a kind drawn by `stepWeights`. */
export function resolveVspaceStep(step: WorkloadStep, k: Knowledge, p: Picker): ResolvedCall | null {
  let roll = p.below(1000);
  const kind = vspaceSteps.find((s) => (roll -= stepWeights[s]) < 0) ?? 'removal';
  switch (kind) {
    case 'makePool':
      return resolveMakePool(k, p, step);
    case 'assign':
      return resolveAssign(k, p, step);
    case 'tableMap':
      return resolveTableMap(k, p, step);
    case 'tableUnmap':
      return tableUnmapCall(invoked(k, p, 'pagetable'));
    case 'pageMap':
      return resolvePageMap(k, p, step);
    case 'pageUnmap':
      return pageUnmapCall(invoked(k, p, 'frame'));
    case 'getAddress':
      return getAddressCall(p.chance(95) ? invoked(k, p, 'frame') : invoked(k, p, 'pagetable'));
    case 'copy':
      return resolveCopy(k, p);
    case 'removal':
      return resolveRemoval(k, p);
  }
}

// ---- the composite step: a small address space, built and torn down ----

type Part = 'untyped' | 'pool' | 'root' | 'table' | 'small' | 'small2' | 'mega' | 'copy';

/**
 * An address space as a program builds one: a 4 KiB untyped made into an ASID pool (or the boot
 * pool when MakePool cannot), a root page table assigned from it, a page table mapped at a drawn
 * window, two 4 KiB frames mapped in it (the second read-only, either now and then execute-never)
 * and a 4 MiB frame in another window when memory allows; a frame's address asked, a remap with
 * fewer rights, a frame cap copied and the copy mapped; then everything deleted in a drawn order,
 * or the table unmapped first, or the pool's untyped revoked.
 */
export function addressSpaceScenario(p: Picker): Scenario {
  const slots = new Map<Part, number>();
  const window = p.below(userWindows) * windowBytes;
  const megaWindow = ((window / windowBytes + 1 + p.below(userWindows - 1)) % userWindows) * windowBytes;
  const page = (i: number) => (window + i * 2 ** seL4_PageBits) >>> 0;
  const [firstPage, secondPage, copyPage] = [p.below(1024), p.below(1024), p.below(1024)];
  const slotOf = (k: Knowledge, part: Part, type: string): number | null => {
    const at = slots.get(part);
    return at !== undefined && k.capAt(rootSlot(k, at))?.type === type ? at : null;
  };
  /** Retypes one object for `part` into a free root slot. */
  const object = (part: Part, type: number, objectBits: number, sizeBits = 0): Action => (k, p) => {
    const untyped = untypedWithRoom(k, p, 2 ** objectBits);
    const at = freeRootSlot(k, p);
    if (untyped === undefined || at === undefined) return part === 'mega' ? 'next' : null;
    slots.set(part, at);
    return once(retype(untyped, type, sizeBits, at, 1));
  };
  const pool: Action = (k, p) => {
    const untyped = slotOf(k, 'untyped', 'untyped');
    const at = freeRootSlot(k, p);
    if (untyped === null || at === undefined) return null;
    slots.set('pool', at);
    return once(makePoolCall(seL4_CapASIDControl, untyped, at, 32));
  };
  const poolSlot = (k: Knowledge) => slotOf(k, 'pool', 'asidpool') ?? (k.capAt(rootSlot(k, seL4_CapInitThreadASIDPool))?.type === 'asidpool' ? seL4_CapInitThreadASIDPool : null);
  const assign: Action = (k) => {
    const [at, root] = [poolSlot(k), slotOf(k, 'root', 'pagetable')];
    return at === null || root === null ? null : once(assignCall(at, root));
  };
  const tableMap: Action = (k, p) => {
    const [table, root] = [slotOf(k, 'table', 'pagetable'), slotOf(k, 'root', 'pagetable')];
    return table === null || root === null ? null : once(tableMapCall(table, root, p.chance(80) ? window : window + p.below(windowBytes), 0));
  };
  const pageMap = (part: Part, vaddr: () => number, rights: number): Action => (k, p) => {
    const [frame, root] = [slotOf(k, part, 'frame'), slotOf(k, 'root', 'pagetable')];
    if (frame === null) return 'next';
    return root === null ? null : once(pageMapCall(frame, root, vaddr(), rights, p.chance(25) ? 1 : 0));
  };
  const address: Action = (k) => {
    const frame = slotOf(k, 'small', 'frame');
    return frame === null ? null : once(getAddressCall(frame));
  };
  const copied: Action = (k, p) => {
    const [frame, at] = [slotOf(k, 'small', 'frame'), freeRootSlot(k, p)];
    if (frame === null || at === undefined) return null;
    slots.set('copy', at);
    return once(copy(at, frame));
  };
  const teardownParts = p.chance(15) ? (['untyped'] as Part[]) : shuffled<Part>(p, ['small', 'small2', 'mega', 'copy', 'table', 'root', 'pool']);
  const teardown: Action[] = teardownParts.map((part) => (k, p) => {
    const at = slots.get(part);
    if (at === undefined || k.isEmpty(rootSlot(k, at))) return 'next';
    return once(slotCall(part === 'untyped' || p.chance(20) ? 'Revoke' : 'Delete', at));
  });
  const unmapFirst: Action = (k) => {
    const table = slotOf(k, 'table', 'pagetable');
    return table === null ? 'next' : once(tableUnmapCall(table));
  };
  const small = () => page(firstPage);
  return {
    name: 'vspace',
    actions: [
      object('untyped', T.seL4_UntypedObject, seL4_PageTableBits, seL4_PageTableBits),
      pool,
      object('root', T.seL4_RISCV_PageTableObject, seL4_PageTableBits),
      assign,
      object('table', T.seL4_RISCV_PageTableObject, seL4_PageTableBits),
      tableMap,
      object('small', T.seL4_RISCV_4K_Page, seL4_PageBits),
      pageMap('small', small, seL4_AllRights),
      object('small2', T.seL4_RISCV_4K_Page, seL4_PageBits),
      pageMap('small2', () => page(secondPage), 0x2),
      ...(p.chance(50) ? [object('mega', T.seL4_RISCV_Mega_Page, seL4_LargePageBits), pageMap('mega', () => megaWindow, mapRights(p))] : []),
      address,
      ...(p.chance(50) ? [pageMap('small', small, p.below(16))] : []),
      ...(p.chance(50) ? [copied, pageMap('copy', () => page(copyPage), seL4_AllRights)] : []),
      ...(p.chance(25) ? [unmapFirst] : []),
      ...teardown,
    ],
  };
}

/**
 * ASIDs used up, as sel4test's VSPACE0004 and VSPACE0005 do: 17 page tables retyped in one call
 * and assigned to one pool until it has no ASID left (DeleteFirst), or 32 4 KiB untypeds made
 * into pools until the ASID table is full (DeleteFirst). The pools stay for the rest of the run.
 */
export function asidsScenario(p: Picker): Scenario {
  const pools = p.chance(40);
  const count = pools ? 32 : 17;
  let first = -1;
  let pool = -1;
  let done = 0;
  const made: Action = (k, p) => {
    const untyped = untypedWithRoom(k, p, count * 2 ** seL4_PageTableBits);
    const at = freeRootSlot(k, p, count);
    if (untyped === undefined || at === undefined) return null;
    first = at;
    return once(retype(untyped, pools ? T.seL4_UntypedObject : T.seL4_RISCV_PageTableObject, pools ? seL4_PageTableBits : 0, at, count));
  };
  const each: Action = (k, p) => {
    const at = first + done;
    if (pools) {
      const dest = freeRootSlot(k, p);
      if (k.capAt(rootSlot(k, at))?.type !== 'untyped' || dest === undefined) return null;
      done++;
      return { call: makePoolCall(seL4_CapASIDControl, at, dest, 32), done: done === count };
    }
    if (pool < 0) pool = p.of(k.ofType('asidpool', true))?.slot.index ?? -1;
    if (k.capAt(rootSlot(k, pool))?.type !== 'asidpool' || k.capAt(rootSlot(k, at))?.type !== 'pagetable') return null;
    done++;
    return { call: assignCall(pool, at), done: done === count };
  };
  return { name: 'asids', actions: [made, each] };
}

function shuffled<T>(p: Picker, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = p.below(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// ---- user memory accesses ----

/** The running thread's access: `load(0x100000)`, `store(0x100000, 0x2a)`, `execute(0x100000)`. */
export function accessCall(access: AccessKind, vaddr: number, value = 0): ResolvedCall {
  return call(access, access === 'store' ? [vaddr, value] : [vaddr], (api) => void api.userAccess(access, vaddr, value));
}

/** The VSpace a thread's TCB slot 1 names, if it holds a mapped page-table cap. */
function vspaceOf(k: Knowledge, thread: number): CapOf<'pagetable'> | null {
  const cap = k.view().cap({ cnode: thread, index: TCBSlot.vspace });
  return cap?.type === 'pagetable' && cap.mapped !== null ? cap : null;
}

/** Whether `access` by `thread` at `vaddr` hits, as the state translates it now. */
function hits(k: Knowledge, thread: number, access: AccessKind, vaddr: number): boolean {
  const t = k.view().translate(thread, vaddr);
  if (t === null) return false;
  return access === 'execute' ? t.executable : access === 'store' ? t.rights === 3 : t.rights !== 1;
}

const drawAccess = (p: Picker): AccessKind => p.of(['load', 'load', 'load', 'store', 'store', 'store', 'execute'] as const)!;
/** An address in a frame mapped at `base`: the aligned words mostly, now and then a byte of one. */
const inFrame = (p: Picker, base: number, sizeBits: number): number => (base + p.below(2 ** (sizeBits - 2)) * 4 + (p.chance(10) ? p.below(4) : 0)) >>> 0;

/**
 * A load, store or fetch by the running thread: mostly at a page its VSpace's frame caps record
 * mapped (hits, or faults on rights); else at an address that faults: unmapped, in the kernel's
 * range, any word; now and then a fetch from a page mapped kernel-only but executable (a hit). The
 * root task has no fault handler (a fault would end the run): it makes only accesses the state
 * says hit.
 */
export function resolveAccess(k: Knowledge, p: Picker): ResolvedCall | null {
  const thread = k.view().current();
  if (thread === null) return null;
  const root = vspaceOf(k, thread);
  const frame = root ? p.of(framesIn(k, root)) : undefined;
  const access = drawAccess(p);
  const value = p.word(4);
  const isRoot = thread === k.rootTCB;
  const faulting = !isRoot && p.chance(60);
  if (!faulting) {
    // Now and then a page whose rights are not plain read-write: a fetch where it is kernel-only but executable.
    const unusual = root && p.chance(30) ? p.of(framesIn(k, root).filter((f) => k.view().translate(thread, f.mapped!.vaddr)?.rights === 1)) : undefined;
    if (unusual) return accessCall('execute', inFrame(p, unusual.mapped!.vaddr, unusual.sizeBits));
    if (!frame) return null;
    const vaddr = inFrame(p, frame.mapped!.vaddr, frame.sizeBits);
    const kind = !isRoot || hits(k, thread, access, vaddr) ? access : hits(k, thread, 'load', vaddr) ? 'load' : null;
    return kind && accessCall(kind, vaddr, value);
  }
  const roll = p.below(100);
  const vaddr = roll < 45 ? (p.word(5) % seL4_UserTop) >>> 0 : roll < 70 ? (seL4_UserTop + (p.word(5) % seL4_UserTop)) >>> 0 : roll < 90 && frame ? inFrame(p, frame.mapped!.vaddr, frame.sizeBits) : p.word(6);
  return accessCall(access, vaddr, value);
}

/** The rights and attributes of a mapping that refuses `access`: execute-never for a fetch, read-only for a store, kernel-only (executable) for either data access. */
function refusing(p: Picker, access: AccessKind): { rights: number; attributes: number } {
  if (access === 'execute') return { rights: seL4_AllRights, attributes: 1 };
  const kernelOnly = access === 'load' || p.chance(40);
  return { rights: kernelOnly ? p.of([0, seL4_CanWrite])! : seL4_CanRead, attributes: 0 };
}

/** A device (or RAM) untyped of the root CNode with `bytes` free, or with no children (a Retype starts it afresh: boot leaves it marked full). */
function untypedFor(k: Knowledge, p: Picker, bytes: number, device: boolean): number | undefined {
  const view = k.view();
  const childless = (slot: SlotRef) => !k.all().some((o) => {
    const parent = view.cdtParent(o.slot);
    return parent !== null && parent.cnode === slot.cnode && parent.index === slot.index;
  });
  return p.of(k.ofType('untyped', true).filter((u) => u.cap.isDevice === device && 2 ** u.cap.sizeBits >= bytes && (freeBytes(u.cap) >= bytes || childless(u.slot))))?.slot.index;
}

/** A 4 KiB page of window 0 above the boot frames (the boot page table maps that window) that no frame cap records mapped in `root`. */
function freePage(k: Knowledge, p: Picker, root: CapOf<'pagetable'> | null, window: number): number {
  const used = new Set(root ? framesIn(k, root).map((f) => f.mapped!.vaddr) : []);
  for (let tries = 0; ; tries++) {
    const page = (window + (512 + p.below(512)) * 2 ** seL4_PageBits) >>> 0;
    if (!used.has(page) || tries > 8) return page;
  }
}

/**
 * A pager, as sel4test's PAGEFAULT tests and examples/pager.ts: an endpoint and a reply retyped;
 * in the `shared` form a VSpace of the thread's own (a root assigned from the boot pool, a page
 * table mapped in it) and a frame mapped in the root task's VSpace and, through a copy of its
 * cap, in the new one, the root task storing to it first. A thread made above the root task sets
 * its fault handler (the endpoint) and VSpace (the root's or the new one; now and then the mapped
 * table instead, not a root, where every access faults) with SetSpace, loads the shared word (it
 * sees the root task's store), then accesses a page nothing maps: the VMFault
 * reaches the root task (Recv), which retypes a frame (now and then from device memory: the access
 * is then a store, dropped), maps it at the faulting page and replies (label 0 mostly, another now
 * and then): the access is made again and hits. Half the time the first mapping refuses the
 * access (execute-never for a fetch, read-only or kernel-only for a store, kernel-only for a
 * load): it faults again and the pager maps the page again with all rights. The thread then waits
 * on the endpoint while the root task deletes or revokes the frame, the table, the new root, the
 * copy or (half the time the new root's ASID comes from a pool of its own, made from a fresh 4 KiB
 * untyped) the pool or its untyped in a drawn order, and signals it: its access faults now (a
 * stale VSpace, an unmapped page, a kernel address), now and then made one tick short of its
 * budget's end (its entry cannot be covered: restarted).
 */
export function pagerScenario(p: Picker): Scenario {
  const shared = p.chance(50);
  const made: ThreadsMade = { tcbOffset: -1, scOffset: -1, priority: -1 };
  const slots = new Map<'ep' | 'reply' | 'root' | 'table' | 'frame' | 'copy' | 'paged' | 'untyped' | 'pool', number>();
  // Half the time the thread's root gets its ASID from a pool of its own, which the teardown may delete.
  const ownPool = p.chance(50);
  // Now and then the thread's mapping of the shared frame is read-only: its store there faults, and is made again, faulting, after each reply.
  const readOnly = p.chance(20);
  const window = shared ? (1 + p.below(userWindows - 1)) * windowBytes : 0;
  // Now and then the paged frame is device memory, when a device untyped has room: the access is a store (dropped; the load after it reads 0).
  const device = p.chance(30);
  const access = device ? 'store' : p.of(['load', 'store', 'execute', 'execute'] as const)!;
  // Now and then the pager first maps the page with rights or attributes that refuse the access: it faults again (no-execute, kernel-only, read-only), and is served again.
  const refused = p.chance(50) ? refusing(p, access) : null;
  const value = p.word(2);
  let sharedAt = -1;
  let threadShared = -1;
  let faultAt = -1;
  const at = (k: Knowledge, part: Parameters<typeof slots.get>[0], type: string): number | null => {
    const slot = slots.get(part);
    return slot !== undefined && k.capAt(rootSlot(k, slot))?.type === type ? slot : null;
  };
  const rootRuns = (k: Knowledge) => k.view().current() === k.rootTCB;
  const thread = (k: Knowledge) => objectsAt(k, made.tcbOffset, 1, 'thread')?.[0];
  const threadRuns = (k: Knowledge) => thread(k) !== undefined && k.view().current() === thread(k);
  const bootRoot = (k: Knowledge): CapOf<'pagetable'> | null => {
    const cap = k.capAt(rootSlot(k, seL4_CapInitThreadVSpace));
    return cap?.type === 'pagetable' ? cap : null;
  };
  const object = (part: 'ep' | 'reply' | 'root' | 'table' | 'frame' | 'paged' | 'untyped', type: number, objectBits: number, sizeBits = 0): Action => (k, p) => {
    const untyped = (part === 'paged' && device ? untypedFor(k, p, 2 ** objectBits, true) : undefined) ?? untypedWithRoom(k, p, 2 ** objectBits);
    const slot = freeRootSlot(k, p);
    if (untyped === undefined || slot === undefined) return null;
    slots.set(part, slot);
    return once(retype(untyped, type, sizeBits, slot, 1));
  };
  const byRoot = (f: (k: Knowledge, p: Picker) => ResolvedCall | null): Action => (k, p) => {
    if (!rootRuns(k)) return null;
    const c = f(k, p);
    return c && once(c);
  };
  const byThread = (f: (k: Knowledge, p: Picker) => ResolvedCall | null): Action => (k, p) => {
    if (!threadRuns(k)) return null;
    const c = f(k, p);
    return c && once(c);
  };
  // Now and then (shared) the thread's VSpace is the mapped table, not a root: every access of it faults.
  const tableAsSpace = shared && p.chance(15);
  const threadSpace = (k: Knowledge): number | null => (shared ? at(k, tableAsSpace ? 'table' : 'root', 'pagetable') : seL4_CapInitThreadVSpace);
  // Where the table's entry of the shared page would map were the table walked as a root (a 4 MiB window).
  const asRoot = () => ((((threadShared - window) / 2 ** seL4_PageBits) * windowBytes + (threadShared % 2 ** seL4_PageBits)) >>> 0);
  const poolParts: Action[] = [
    object('untyped', T.seL4_UntypedObject, seL4_PageTableBits, seL4_PageTableBits),
    byRoot((k, p) => {
      const [untyped, slot] = [at(k, 'untyped', 'untyped'), freeRootSlot(k, p)];
      if (untyped === null || slot === undefined) return null;
      slots.set('pool', slot);
      return makePoolCall(k.ofType('asidcontrol', true)[0]?.slot.index ?? seL4_CapASIDControl, untyped, slot, 32);
    }),
  ];
  const sharedParts: Action[] = [
    ...(ownPool ? poolParts : []),
    object('root', T.seL4_RISCV_PageTableObject, seL4_PageTableBits),
    byRoot((k) => {
      const root = at(k, 'root', 'pagetable');
      // The boot pool where it was left (a Move may have put another cap, even an endpoint, in slot 6).
      const pool = ownPool ? at(k, 'pool', 'asidpool') : k.capAt(rootSlot(k, seL4_CapInitThreadASIDPool))?.type === 'asidpool' ? seL4_CapInitThreadASIDPool : null;
      return root === null || pool === null ? null : assignCall(pool, root);
    }),
    object('table', T.seL4_RISCV_PageTableObject, seL4_PageTableBits),
    byRoot((k) => {
      const [table, root] = [at(k, 'table', 'pagetable'), at(k, 'root', 'pagetable')];
      return table === null || root === null ? null : tableMapCall(table, root, window, 0);
    }),
    object('frame', T.seL4_RISCV_4K_Page, seL4_PageBits),
    byRoot((k, p) => {
      const frame = at(k, 'frame', 'frame');
      sharedAt = freePage(k, p, bootRoot(k), 0);
      return frame === null ? null : pageMapCall(frame, seL4_CapInitThreadVSpace, sharedAt, seL4_AllRights, 0);
    }),
    byRoot((k, p) => {
      const [frame, slot] = [at(k, 'frame', 'frame'), freeRootSlot(k, p)];
      if (frame === null || slot === undefined) return null;
      slots.set('copy', slot);
      return copy(slot, frame);
    }),
    byRoot((k, p) => {
      const [copied, root] = [at(k, 'copy', 'frame'), at(k, 'root', 'pagetable')];
      // The shared page in the thread's VSpace, and the page after it (in the same window), which faults.
      const index = p.below(1023);
      threadShared = (window + index * 2 ** seL4_PageBits) >>> 0;
      faultAt = (threadShared + 2 ** seL4_PageBits) >>> 0;
      return copied === null || root === null ? null : pageMapCall(copied, root, threadShared, readOnly ? seL4_CanRead : seL4_AllRights, 0);
    }),
    byRoot((k) => (hits(k, k.rootTCB, 'store', sharedAt) ? accessCall('store', sharedAt, value) : null)),
  ];
  // An IPC buffer: SetSpace's three caps travel in it.
  const setup = { count: 1, budgetUs: 2000n + BigInt(p.below(3000)), periodUs: 10_000n, extraRefills: 0, flags: 0, buffered: true };
  const setSpace = byThread((k) => {
    const [ep, space] = [at(k, 'ep', 'endpoint'), threadSpace(k)];
    const t = made.tcbOffset;
    return ep === null || space === null ? null : call('seL4_TCB_SetSpace', [t, ep, R, 0, space, 0], (api) => void api.seL4_TCB_SetSpace(t, ep, R, 0, space, 0));
  });
  const fault = byThread((k, p) => {
    if (!shared) faultAt = freePage(k, p, bootRoot(k), 0);
    return accessCall(access, (faultAt + p.below(1024) * 4) >>> 0, value);
  });
  const faulted = (k: Knowledge) => {
    const t = thread(k);
    const o = t === undefined ? null : k.view().object(t);
    return o?.type === 'tcb' && o.fault?.type === 'VMFault';
  };
  const receive = byRoot((k) => {
    const [ep, reply] = [at(k, 'ep', 'endpoint'), at(k, 'reply', 'reply')];
    return ep === null || reply === null || !faulted(k) ? null : call('seL4_Recv', [ep, reply], (api) => void api.seL4_Recv(ep, reply));
  });
  const mapFaulting = (rights: number, attributes: number) => byRoot((k) => {
    const [frame, space] = [at(k, 'paged', 'frame'), threadSpace(k)];
    const page = (faultAt & ~(2 ** seL4_PageBits - 1)) >>> 0;
    return frame === null || space === null ? null : pageMapCall(frame, space, page, rights, attributes);
  });
  // The reply's label: 0 mostly, now and then another (a VMFault's reply restarts the thread whatever it says).
  const answer = byRoot((k, p) => {
    const reply = at(k, 'reply', 'reply');
    const info = seL4_MessageInfo_new(p.chance(40) ? 1 + p.below(0xfffff) : 0, 0, 0, 0);
    return reply === null ? null : call('seL4_Send', [reply, info], (api) => void api.seL4_Send(reply, info));
  });
  // The second round, when the first mapping refused the access: skipped once the thread runs (its access hit).
  const unlessThreadRuns = (action: Action): Action => (k, p) => (threadRuns(k) ? 'next' : action(k, p));
  const served = refused === null
    ? [mapFaulting(seL4_AllRights, 0), answer]
    : [mapFaulting(refused.rights, refused.attributes), answer, ...[receive, mapFaulting(seL4_AllRights, 0), answer].map(unlessThreadRuns)];
  const wait = byThread((k) => {
    const ep = at(k, 'ep', 'endpoint');
    return ep === null ? null : call('seL4_Wait', [ep], (api) => void api.seL4_Wait(ep));
  });
  const parts = shuffled(p, ['paged', 'frame', 'copy', 'table', 'root', 'pool', 'untyped'] as const).filter((part) => shared || part === 'paged');
  const teardown: Action[] = parts.slice(0, 1 + p.below(parts.length)).map((part) => (k, p) => {
    const slot = slots.get(part);
    if (!rootRuns(k)) return null;
    if (slot === undefined || k.isEmpty(rootSlot(k, slot))) return 'next';
    return once(slotCall(part === 'untyped' || p.chance(25) ? 'Revoke' : 'Delete', slot));
  });
  const signal = byRoot((k) => {
    const ep = at(k, 'ep', 'endpoint');
    return ep === null ? null : call('seL4_Signal', [ep], (api) => void api.seL4_Signal(ep));
  });
  const again = byThread((_k, p) => {
    const roll = p.below(100);
    // A kernel address: a store mostly (a write through a kernel pointer).
    if (roll >= 70) return accessCall(p.of(['store', 'store', 'load', 'execute'] as const)!, (seL4_UserTop + p.below(seL4_UserTop)) >>> 0, value);
    return accessCall(drawAccess(p), roll < 35 && threadShared >= 0 ? threadShared : faultAt, value);
  });
  // Now and then the thread first computes up to one tick short of its budget's end: the access's entry cannot be covered (restarted).
  const spend: Action = (k) => {
    if (!threadRuns(k)) return null;
    const left = midBudgetTicks(k, momentOf(k.view()).scheduler);
    return left === null ? 'next' : once(passTicks(left));
  };
  return {
    name: 'vspace',
    actions: [
      object('ep', T.seL4_EndpointObject, seL4_EndpointBits),
      object('reply', T.seL4_ReplyObject, seL4_ReplyBits),
      object('paged', T.seL4_RISCV_4K_Page, seL4_PageBits),
      ...(shared ? sharedParts : []),
      ...threadsMade(setup, made),
      setSpace,
      ...(shared ? [byThread(() => accessCall('load', tableAsSpace ? asRoot() : threadShared)), byThread(() => accessCall('store', threadShared, (value ^ 1) >>> 0))] : []),
      fault,
      receive,
      ...served,
      // The thread's access made again (the check's restart) hits; then it loads the page and waits.
      byThread(() => accessCall('load', faultAt)),
      wait,
      ...(shared ? [byRoot((k) => (hits(k, k.rootTCB, 'load', sharedAt) ? accessCall('load', sharedAt) : null))] : []),
      ...teardown,
      signal,
      ...(p.chance(40) ? [spend] : []),
      again,
    ],
  };
}

/**
 * A 4 MiB frame the root task uses (a large run: check.ts boots it with room for one): retyped,
 * mapped in the root task's VSpace at a 4 MiB window nothing maps, with all rights; then words
 * past its first 4 KiB stored to, loaded and fetched.
 */
export function megaScenario(p: Picker): Scenario {
  let slot = -1;
  let base = -1;
  const value = p.word(3);
  const offsets = [0, 1].map(() => (2 ** seL4_PageBits + p.below(windowBytes - 2 ** seL4_PageBits)) & ~3);
  const make: Action = (k, p) => {
    const [untyped, at] = [untypedFor(k, p, windowBytes, false), freeRootSlot(k, p)];
    if (untyped === undefined || at === undefined) return null;
    slot = at;
    return once(retype(untyped, T.seL4_RISCV_Mega_Page, 0, at, 1));
  };
  const map: Action = (k, p) => {
    const root = k.capAt(rootSlot(k, seL4_CapInitThreadVSpace));
    if (k.capAt(rootSlot(k, slot))?.type !== 'frame' || root?.type !== 'pagetable' || k.view().current() !== k.rootTCB) return null;
    const used = new Set([...windowsOf(k, root), ...framesIn(k, root).map((f) => f.mapped!.vaddr - (f.mapped!.vaddr % windowBytes))]);
    base = p.of(Array.from({ length: userWindows }, (_, i) => i * windowBytes).filter((w) => !used.has(w))) ?? -1;
    return base < 0 ? null : once(pageMapCall(slot, seL4_CapInitThreadVSpace, base, seL4_AllRights, 0));
  };
  const use = (access: AccessKind, offset: number): Action => (k) => {
    const vaddr = (base + offset) >>> 0;
    return k.view().current() === k.rootTCB && hits(k, k.rootTCB, access, vaddr) ? once(accessCall(access, vaddr, value)) : null;
  };
  return { name: 'vspace', actions: [make, map, use('store', offsets[0]!), use('load', offsets[0]!), use('store', offsets[1]!), use('execute', offsets[1]!)] };
}

/**
 * Accesses join the workload in VSpace steps, by a pick of their own (the step's fourth last) so
 * that the other steps draw as before: a VSpace step of the root task, in a run not about threads
 * (whose own scenarios need their steps), starts the pager scenario now and then (60 per mille), and a VSpace step of any thread is a single access
 * (`resolveAccess`) in 100 per mille; in a large run a VSpace step of the root task starts the
 * 4 MiB frame's scenario in 300 per mille (it fails at once when the frame is made already). Its choices come from a picker of its own: a step that
 * makes no access draws the rest as before.
 */
export function accessStart(step: WorkloadStep, k: Knowledge, style: RunStyle): ResolvedCall | null {
  if (style.deep || style.scenario?.actions.length) return null;
  const p = new Picker(step);
  const roll = step.picks[step.picks.length - 4]! % 1000;
  if (step.op === 'vspace' && k.view().current() === k.rootTCB && !style.threads && roll < 60) {
    style.scenario = pagerScenario(p);
    return scenarioStep(k, p, style.scenario);
  }
  if (step.op === 'vspace' && k.view().current() === k.rootTCB && style.large && roll >= 160 && roll < 460) {
    style.scenario = megaScenario(p);
    return scenarioStep(k, p, style.scenario);
  }
  return roll >= 60 && roll < 160 && step.op === 'vspace' ? resolveAccess(k, p) : null;
}
