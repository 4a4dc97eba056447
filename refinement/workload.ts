// The generated workload: fast-check draws abstract steps (an operation and raw choices);
// each is resolved when it runs against what the root task's CSpace holds then, so most
// calls name existing caps and free slots, and some carry arbitrary words to reach the
// error paths. Resolved calls are concrete libsel4 calls, recorded for the report.
import fc from 'fast-check';
import {
  InvocationLabel,
  Reg,
  SYSCALL_MAX,
  SYSCALL_MIN,
  isFrameType,
  numRegisters,
  objectSizeBits,
  seL4_MaxUntypedBits,
  seL4_MinSchedContextBits,
  seL4_MinUntypedBits,
  seL4_MsgMaxLength,
  seL4_ObjectTypeCount,
  seL4_RetypeFanOutLimit,
  seL4_SlotBits,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_CNode_CapData_new,
  seL4_CanRead,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  seL4_Syscall,
  slotId,
  syscallWord,
  type SlotRef,
} from '../libsel4/index.ts';
import { vitalSlots, type Knowledge, type Occupied } from './knowledge.ts';
import { mayStop, resolveThreadStep, schedulingFirst, threadOperations, type ThreadOperation } from './workload-threads.ts';
import { fastpathScenario, faultScenario, ipcOperations, lendScenario, passiveScenario, queueScenario, resolveIpcStep, transferScenario, type IpcOperation } from './workload-ipc.ts';
import { badgesScenario, cnodeScenario, cspaceScenario, deviceScenario, scenarioStep, slicesScenario, twinsScenario, type Scenario } from './workload-scenarios.ts';
import { accessStart, addressSpaceScenario, asidsScenario, resolveVspaceStep } from './workload-vspace.ts';
import { driverScenario, resolveIrqStep } from './workload-irq.ts';
import { preemptionScenario } from './workload-preemption.ts';
import { Picker, address, freeBytes, retypeCall, call, perturb, pickEmpty, pickOccupied, resolvableCptr, send, sendSyscalls, shaped, type Message, type ResolvedCall } from './workload-picks.ts';

/** The workloads a check can draw: `default`, and `deep`, which grows large states on purpose. */
export const workloadNames = ['default', 'deep'] as const;
export type WorkloadName = (typeof workloadNames)[number];

export const operations = [
  'retype',
  'copy',
  'mint',
  'move',
  'mutate',
  'rotate',
  'delete',
  'revoke',
  'cancelBadgedSends',
  'rawInvocation',
  'rawSyscall',
  'endRun',
  'vspace',
  'irq',
  ...threadOperations,
  ...ipcOperations,
] as const;
export type Operation = (typeof operations)[number];

/** One generated step: what to do, and the raw choices that pick its arguments. */
export interface WorkloadStep {
  readonly op: Operation;
  /** 0 = well-formed arguments, 1 = one argument replaced by an arbitrary or boundary word. */
  readonly perturb: boolean;
  readonly picks: readonly number[];
  readonly words: readonly number[];
}

/**
 * How often each operation is drawn. `endRun` (the root task deletes its own vital caps, or
 * faults) ends most runs it appears in, so it is rare: a few runs in a hundred of 100 steps.
 */
const weights: Record<WorkloadName, Record<Operation, number>> = {
  default: {
    retype: 1900, copy: 1200, mint: 1200, move: 700, mutate: 500, rotate: 500, delete: 900, revoke: 700,
    cancelBadgedSends: 300, rawInvocation: 500, rawSyscall: 120, endRun: 8, vspace: 1800, irq: 1200,
    threadObject: 900, setupThread: 2600, schedControl: 500, priority: 600, schedContext: 500, resumeSuspend: 600,
    threadRegisters: 500, notificationBinding: 250, yield: 150, passTime: 900, exception: 60,
    ipcObject: 600, ipcSend: 800, ipcReceive: 800, ipcReply: 400, notify: 400, ipcDelete: 250,
  },
  // Ten times finer: deep runs are long, and an `endRun` would cut them short. No IRQ steps: they grow nothing.
  deep: {
    retype: 30000, copy: 30000, mint: 15000, move: 4000, mutate: 3000, rotate: 3000, delete: 4000, revoke: 1500,
    cancelBadgedSends: 1000, rawInvocation: 3000, rawSyscall: 500, endRun: 1, vspace: 1500, irq: 0,
    threadObject: 1000, setupThread: 1500, schedControl: 500, priority: 500, schedContext: 500, resumeSuspend: 500,
    threadRegisters: 500, notificationBinding: 250, yield: 100, passTime: 1000, exception: 20,
    ipcObject: 500, ipcSend: 300, ipcReceive: 300, ipcReply: 100, notify: 200, ipcDelete: 100,
  },
};

/** Choices per step: enough that one step's draws never repeat (repeats would correlate them). */
const pickCount = 40;
const wordCount = 8;

export function workloadStepArbitrary(workload: WorkloadName = 'default'): fc.Arbitrary<WorkloadStep> {
  const w = weights[workload];
  return fc.record({
    op: fc.oneof(...operations.map((op) => ({ arbitrary: fc.constant(op), weight: w[op] }))),
    perturb: fc.nat(9).map((n) => n === 0),
    picks: fc.array(fc.nat(), { minLength: pickCount, maxLength: pickCount }),
    words: fc.array(fc.nat({ max: 0xffffffff }), { minLength: wordCount, maxLength: wordCount }),
  });
}

/**
 * How a run grows, decided by its first step. `bulk` runs (one in eight of the default
 * workload, every deep one) retype objects by the hundred and extend chains of untyped
 * copies; `deep` runs also nest CNodes level under level and exhaust and reset untypeds.
 */
export interface RunStyle {
  readonly bulk: boolean;
  readonly deep: boolean;
  /** Where the copies of a chain of untyped copies were sent (and the untyped's address), newest last. */
  readonly chain: { readonly slot: SlotRef; readonly ptr: number }[];
  /** The same slots, by slotKey. */
  readonly chainKeys: Set<string>;
  /** The untyped the last bulk Retype drew on: now and then revoked and retyped again (reset). */
  bulkSource: SlotRef | null;
  /** Where the last chain copy was sent, and how many in a row from the same tip did not land. */
  chainDest: SlotRef | null;
  chainMisses: number;
  /** Steps in a row made by threads other than the root task. */
  stepsAway: number;
  /**
   * Whether the run is about threads (one in four that are not bulk): most of its capability
   * steps set threads up instead, so several run, wait for their release and preempt each other.
   */
  readonly threads: boolean;
  /** The composite step under way (workload-scenarios.ts), if any. */
  scenario: Scenario | null;
  /**
   * Whether the run boots with 4 MiB more RAM (one in sixteen default runs, when the check boots
   * the default configuration: check.ts), so that it can map and use a 4 MiB frame.
   */
  readonly large: boolean;
}

const sameSlot = (a: SlotRef, b: SlotRef) => a.cnode === b.cnode && a.index === b.index;

export function runStyle(workload: WorkloadName, first: WorkloadStep): RunStyle {
  return { bulk: workload === 'deep' || first.picks[pickCount - 1]! % 8 === 0, deep: workload === 'deep', chain: [], chainKeys: new Set(), bulkSource: null, chainDest: null, chainMisses: 0, stepsAway: 0, threads: first.picks[pickCount - 2]! % 4 === 0, scenario: null, large: workload === 'default' && first.picks[pickCount - 5]! % 16 === 0 };
}


/** A rights word: all rights most of the time, else any of the 16 combinations, sometimes with high bits set. */
function rightsWord(p: Picker): number {
  if (p.chance(50)) return 0xf;
  return (p.below(16) | (p.chance(10) ? p.word(3) & ~0xf : 0)) >>> 0;
}

/** Cap data: for a CNode cap a guard size at and around the limit 32 - radix, and guards at their widths. */
function capData(p: Picker, target: Occupied | undefined): number {
  if (target?.cap.type === 'cnode' && p.chance(70)) {
    const limit = 32 - target.cap.radix;
    const guardSize = p.chance(30) ? p.of([0, limit - 1, limit, limit + 1, 18, 31])! : p.below(limit + 2);
    const guard = p.chance(20) ? 0x3ffff : p.below(2 ** Math.min(Math.max(guardSize, 0), 18));
    return seL4_CNode_CapData_new(guard, Math.max(0, guardSize));
  }
  if (p.chance(30)) return 0;
  if (p.chance(60)) return 1 + p.below(3);
  return p.chance(30) ? p.of([0x0fffffff, 0x10000000, 0xffffffff])! : p.word(1);
}

const objectTypes = Object.values(seL4_ObjectType);
const T = seL4_ObjectType;

/** A size_bits for `type`, at and around each bound decodeUntypedInvocation checks it against. */
function retypeSize(p: Picker, type: number, untypedBits: number): number {
  if (p.chance(3)) return p.of([31, 32, 33, 0xffffffff])!;
  switch (type) {
    case T.seL4_UntypedObject:
      if (p.chance(10)) return p.of([seL4_MinUntypedBits - 1, seL4_MinUntypedBits, untypedBits, seL4_MaxUntypedBits, seL4_MaxUntypedBits + 1])!;
      return 4 + p.below(Math.max(1, untypedBits - 3));
    case T.seL4_CapTableObject:
      // A CNode of radix r takes r + 4 bits: 25 is the largest that fits seL4_MaxUntypedBits.
      if (p.chance(10)) return p.of([0, 1, seL4_MaxUntypedBits - seL4_SlotBits, seL4_MaxUntypedBits - seL4_SlotBits + 1])!;
      return 1 + p.below(p.chance(80) ? 5 : 9);
    case T.seL4_SchedContextObject:
      if (p.chance(10)) return p.of([seL4_MinSchedContextBits - 1, seL4_MaxUntypedBits, seL4_MaxUntypedBits + 1])!;
      return 7 + p.below(3);
    default:
      return p.chance(90) ? 0 : p.below(40);
  }
}

/** Object types the bulk retypes make by the hundred: small ones. */
const bulkTypes = [T.seL4_EndpointObject, T.seL4_NotificationObject, T.seL4_ReplyObject, T.seL4_UntypedObject, T.seL4_CapTableObject];

/** The root of a Retype's destination lookup, and its node_index and node_depth, for CNode `dest`. */
function destinationPath(k: Knowledge, p: Picker, dest: number): { root: number; index: number; depth: number } {
  if (dest !== k.rootCNode) {
    const holder = pickOccupied(k, p, (o) => o.cap.type === 'cnode' && o.cap.ptr === dest);
    if (holder) {
      const a = address(k, p, holder.slot);
      return { root: a.service, index: a.index, depth: a.depth };
    }
  } else if (p.chance(30)) {
    return { root: seL4_CapInitThreadCNode, index: seL4_CapInitThreadCNode, depth: 32 };
  }
  return { root: seL4_CapInitThreadCNode, index: 0, depth: 0 };
}

/** How many objects: mostly one; at and around the fan-out limit, the window left and the memory left. */
function retypeCount(p: Picker, room: number, fits: number): number {
  if (p.chance(8)) return p.of([0, seL4_RetypeFanOutLimit, seL4_RetypeFanOutLimit + 1, room, room + 1, fits, fits + 1])!;
  return p.chance(70) ? 1 : 1 + p.below(p.chance(90) ? 4 : 300);
}

function resolveRetype(k: Knowledge, p: Picker, step: WorkloadStep, style: RunStyle): ResolvedCall | null {
  // The chain of copies is left alone: a child of its tip would stop the next copy (RevokeFirst),
  // and revoking its root (after exhausting it) would delete it all.
  const rootUntypeds = k.ofType('untyped', true);
  const untypeds = style.chainKeys.size === 0 ? rootUntypeds : rootUntypeds.filter((u) => !style.chainKeys.has(slotId(u.slot)));
  const devices = untypeds.filter((u) => u.cap.isDevice);
  const bulk = style.bulk && p.chance(50);
  const roomiest = () => untypeds.filter((u) => !u.cap.isDevice).reduce<(typeof untypeds)[number] | undefined>((best, u) => (!best || freeBytes(u.cap) > freeBytes(best.cap) ? u : best), undefined);
  const again = bulk && style.bulkSource && p.chance(30) ? untypeds.find((u) => sameSlot(u.slot, style.bulkSource!)) : undefined;
  // Bulk runs also retype from the small untypeds they just made, in no particular order.
  const recentSmall = style.bulk && !bulk && p.chance(30) ? p.of(k.recent().filter((o) => o.cap.type === 'untyped' && o.slot.cnode === k.rootCNode)) : undefined;
  const untyped = again ?? (bulk ? roomiest() : undefined) ?? (recentSmall?.cap.type === 'untyped' ? { slot: recentSmall.slot, cap: recentSmall.cap } : undefined) ?? (devices.length > 0 && p.chance(10) ? p.of(devices) : undefined) ?? p.of(untypeds);
  if (!untyped) return null;
  const type = untyped.cap.isDevice && p.chance(80)
    ? p.of([T.seL4_UntypedObject, ...objectTypes.filter(isFrameType)])!
    : bulk ? p.of(bulkTypes)! : p.chance(3) ? seL4_ObjectTypeCount + p.below(3) - 1 : p.of(objectTypes)!;
  // Deep runs also make a few large CNodes now and then: room for thousands more caps.
  const bigCNode = style.deep && type === T.seL4_CapTableObject && p.chance(15);
  const cnodeBits = bigCNode ? 8 + p.below(3) : 1 + p.below(2);
  const sizeBits = bulk ? (type === T.seL4_CapTableObject ? cnodeBits : type === T.seL4_UntypedObject ? 4 : 0) : retypeSize(p, type, untyped.cap.sizeBits);
  const nested = [...k.cnodes.keys()];
  const large = style.deep && bulk && p.chance(50) ? p.of(nested.filter((c) => k.cnodes.get(c)! >= 8 && c !== k.rootCNode)) : undefined;
  // Deep runs put new objects into the newest CNode often: CNodes nest level under level.
  const dest = large ?? (style.deep && p.chance(30) ? nested[nested.length - 1]! : p.chance(70) ? k.rootCNode : (p.of(nested) ?? k.rootCNode));
  const path = destinationPath(k, p, dest);
  const size = 2 ** (k.cnodes.get(dest) ?? 12);
  const objectBytes = 2 ** objectSizeBits(type as seL4_ObjectType, sizeBits);
  const fits = Math.floor(freeBytes(untyped.cap) / objectBytes);
  if (bulk) {
    // Hundreds of objects into a run of empty slots, as many as the untyped holds.
    const wanted = Math.max(1, Math.min(seL4_RetypeFanOutLimit, size, fits, bigCNode ? 1 + p.below(2) : 64 + p.below(193)));
    const run = k.freeRun(dest, wanted, p.below(size));
    const [offset, count] = run === undefined ? [pickEmpty(k, p).index, 1] : [run, wanted];
    style.bulkSource = untyped.slot;
    return retypeCall(k, p, step, [untyped.slot.index, type, sizeBits, path.root, path.index, path.depth, offset, count]);
  }
  const offset = p.chance(3) ? p.of([size - 1, size, size + 1])! : pickEmpty(k, p).index % size;
  const count = retypeCount(p, size - offset, fits);
  return retypeCall(k, p, step, [untyped.slot.index, type, sizeBits, path.root, path.index, path.depth, offset, count]);
}



type CopyLike = 'copy' | 'mint' | 'move' | 'mutate';

/**
 * The newest copy of the run's chain of untyped copies (a copy that failed left its slot empty:
 * the one before is still the tip). Without a chain, one starts from an untyped with nothing
 * allocated (so no children: a cap with children cannot be copied), a boot one if there is one.
 */
function chainTip(k: Knowledge, p: Picker, style: RunStyle): Occupied | undefined {
  // Copies from the tip that keep not landing (it has a child after all): start a new chain.
  style.chainMisses = style.chainDest && k.isEmpty(style.chainDest) ? style.chainMisses + 1 : 0;
  style.chainDest = null;
  if (style.chainMisses >= 4) {
    style.chain.length = 0;
    style.chainKeys.clear();
    style.chainMisses = 0;
  }
  while (style.chain.length > 0) {
    const { slot, ptr } = style.chain[style.chain.length - 1]!;
    const cap = k.capAt(slot);
    // Still the chain's copy: not emptied, nor refilled with another cap since.
    if (cap?.type === 'untyped' && cap.ptr === ptr) return { slot, cap };
    style.chain.pop();
    style.chainKeys.delete(slotId(slot));
  }
  const fresh = k.ofType('untyped').filter((u) => u.cap.freeIndex === 0 && !u.cap.isDevice);
  const boot = fresh.filter((u) => k.isBootSlot(u.slot));
  return p.of(boot.length > 0 ? boot : fresh);
}

/** The source of a Copy or Mint: in a bulk run often the tip of its chain of untyped copies, which grows. */
function copySource(op: CopyLike, k: Knowledge, p: Picker, style: RunStyle): { src: Occupied; chain: boolean } | undefined {
  if (style.bulk && (op === 'copy' || op === 'mint') && p.chance(style.deep ? 85 : 40)) {
    const from = chainTip(k, p, style);
    if (from) return { src: from, chain: true };
  }
  const badgeable = (o: Occupied) => (o.cap.type === 'endpoint' || o.cap.type === 'notification') && o.cap.badge === 0;
  const src = (op === 'mint' && p.chance(25) ? pickOccupied(k, p, badgeable) : undefined) ?? pickOccupied(k, p, undefined, style);
  return src && { src, chain: false };
}

function resolveCopyLike(op: CopyLike, k: Knowledge, p: Picker, step: WorkloadStep, style: RunStyle): ResolvedCall | null {
  const source = copySource(op, k, p, style);
  if (!source) return null;
  const src = source.src;
  const inItself = op === 'copy' && p.chance(4) ? selfCopy(k, p) : undefined;
  if (inItself) return copyCall(op, k, p, step, inItself.src, inItself.dest);
  const dest = source.chain ? chainDest(k, p) : p.chance(90) ? pickEmpty(k, p) : (pickOccupied(k, p, undefined, style)?.slot ?? pickEmpty(k, p));
  if (source.chain) style.chainDest = dest;
  if (source.chain && k.isEmpty(dest) && src.cap.type === 'untyped') {
    style.chainKeys.add(slotId(src.slot));
    style.chain.push({ slot: dest, ptr: src.cap.ptr });
    style.chainKeys.add(slotId(dest));
  }
  // A chain copy keeps its arguments: a perturbed destination would put the copy elsewhere.
  return copyCall(op, k, p, source.chain ? { ...step, perturb: false } : step, src, dest);
}

/** An empty slot for the next chain copy: in the root CNode, or once that is full in a large CNode it can address. */
function chainDest(k: Knowledge, p: Picker): SlotRef {
  const root = pickEmpty(k, p, true);
  if (k.isEmpty(root)) return root;
  for (const [cnode, radix] of k.cnodes) {
    if (radix < 8 || cnode === k.rootCNode) continue;
    const index = k.freeRun(cnode, 1, p.below(2 ** radix));
    if (index !== undefined && k.addresses({ cnode, index }).length > 0) return { cnode, index };
  }
  const index = k.freeRun(k.rootCNode, 1, 0);
  return index !== undefined ? { cnode: k.rootCNode, index } : root;
}

/**
 * A CNode cap and an empty slot of that CNode: the copy makes a CNode that holds a cap to
 * itself, whose deletion finalises the CNode while it is being finalised.
 */
function selfCopy(k: Knowledge, p: Picker): { src: Occupied; dest: SlotRef } | undefined {
  const holder = pickOccupied(k, p, (o) => o.cap.type === 'cnode' && o.cap.ptr !== k.rootCNode);
  if (holder?.cap.type !== 'cnode') return undefined;
  const index = k.freeRun(holder.cap.ptr, 1, p.below(2 ** holder.cap.radix));
  return index === undefined ? undefined : { src: holder, dest: { cnode: holder.cap.ptr, index } };
}

function copyCall(op: CopyLike, k: Knowledge, p: Picker, step: WorkloadStep, src: Occupied, dest: SlotRef): ResolvedCall {
  const d = address(k, p, dest);
  const s = { ...address(k, p, src.slot) };
  if (p.chance(3)) {
    // A source root that is not a CNode cap, sometimes with a depth out of range as well.
    s.service = pickOccupied(k, p, (o) => o.slot.cnode === k.rootCNode && o.cap.type !== 'cnode')?.slot.index ?? s.service;
    if (p.chance(50)) s.depth = p.chance(50) ? 0 : 33;
  } else if (p.chance(3)) {
    s.depth = p.of([0, 33])!; // out of range with a valid root
  }
  const base = [d.service, d.index, d.depth, s.service, s.index, s.depth];
  const label = { copy: InvocationLabel.CNodeCopy, mint: InvocationLabel.CNodeMint, move: InvocationLabel.CNodeMove, mutate: InvocationLabel.CNodeMutate }[op];
  const extra = { copy: [rightsWord(p)], mint: [rightsWord(p), capData(p, src)], move: [], mutate: [capData(p, src)] }[op];
  const a = perturb([...base, ...extra], k, p, step, [0, 3]);
  const name = `seL4_CNode_${op[0]!.toUpperCase()}${op.slice(1)}`;
  const normal = call(name, a, (api) => {
    const [a0, a1, a2, a3, a4, a5, a6, a7] = a as [number, number, number, number, number, number, number, number];
    if (op === 'copy') api.seL4_CNode_Copy(a0, a1, a2, a3, a4, a5, a6);
    else if (op === 'mint') api.seL4_CNode_Mint(a0, a1, a2, a3, a4, a5, a6, a7);
    else if (op === 'move') api.seL4_CNode_Move(a0, a1, a2, a3, a4, a5);
    else api.seL4_CNode_Mutate(a0, a1, a2, a3, a4, a5, a6);
  });
  return shaped(p, normal, { label, service: a[0]!, mrs: [a[1]!, a[2]!, ...a.slice(4)], caps: [a[3]!] });
}

function resolveRotate(k: Knowledge, p: Picker, step: WorkloadStep, style: RunStyle): ResolvedCall | null {
  const bothEmpty = p.chance(8);
  const src = bothEmpty ? undefined : pickOccupied(k, p, undefined, style);
  const pivot = bothEmpty ? undefined : pickOccupied(k, p, undefined, style);
  if (!bothEmpty && (!src || !pivot)) return null;
  const srcSlot = src?.slot ?? pickEmpty(k, p);
  const pivotSlot = pivot?.slot ?? pickEmpty(k, p);
  // The source (a swap), the pivot (IllegalOperation), another cap (DeleteFirst), or an empty slot.
  const other = () => (p.chance(6) ? pickOccupied(k, p, undefined, style)?.slot : undefined);
  const dest = p.chance(20) ? srcSlot : p.chance(5) ? pivotSlot : (other() ?? pickEmpty(k, p));
  const d = address(k, p, dest);
  const pv = address(k, p, pivotSlot);
  const s = address(k, p, srcSlot);
  const a = perturb([d.service, d.index, d.depth, capData(p, pivot), pv.service, pv.index, pv.depth, capData(p, src), s.service, s.index, s.depth], k, p, step, [0, 4, 8]);
  const normal = call('seL4_CNode_Rotate', a, (api) =>
    api.seL4_CNode_Rotate(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!),
  );
  return shaped(p, normal, { label: InvocationLabel.CNodeRotate, service: a[0]!, mrs: [a[1]!, a[2]!, a[3]!, a[5]!, a[6]!, a[7]!, a[9]!, a[10]!], caps: [a[4]!, a[8]!] });
}

/** Caps worth revoking; deep runs spare the boot untypeds (all the state grows from them) unless `all`. */
function revocable(k: Knowledge, style: RunStyle, spareBoot: boolean): (o: Occupied) => boolean {
  return (o) => (o.cap.type === 'untyped' && !(style.deep && spareBoot && k.isBootSlot(o.slot))) || o.cap.type === 'cnode' || o.cap.type === 'endpoint';
}

function resolveSlotOp(op: 'delete' | 'revoke' | 'cancelBadgedSends', k: Knowledge, p: Picker, step: WorkloadStep, style: RunStyle): ResolvedCall | null {
  // Bulk runs revoke the untyped their Retypes exhausted now and then; the next Retype from it resets it.
  const exhausted = op === 'revoke' && style.bulkSource && p.chance(style.deep ? 5 : 25) ? style.bulkSource : null;
  const wanted = exhausted ? { slot: exhausted } :
    op === 'cancelBadgedSends'
      ? pickOccupied(k, p, (o) => o.cap.type === 'endpoint') ?? pickOccupied(k, p)
      : op === 'revoke' && p.chance(60)
        ? pickOccupied(k, p, revocable(k, style, !p.chance(5)), style, true)
        : pickOccupied(k, p, undefined, style, true);
  const slot = wanted?.slot ?? pickEmpty(k, p);
  const at = address(k, p, slot);
  const a = perturb([at.service, at.index, at.depth], k, p, step, [0]);
  // A boundary index never names the root task's vital caps (only endRun deletes them): past the guard instead.
  const named = a[0] === seL4_CapInitThreadCNode && a[2] === 32 ? k.capAt({ cnode: k.rootCNode, index: a[1]! }) : null;
  if (named && k.isVital({ slot: { cnode: k.rootCNode, index: a[1]! }, cap: named })) a[1] = (a[1]! + 2 ** k.rootRadix()) >>> 0;
  return slotCall(op, a, p);
}

const slotLabels = { delete: InvocationLabel.CNodeDelete, revoke: InvocationLabel.CNodeRevoke, cancelBadgedSends: InvocationLabel.CNodeCancelBadgedSends };

function slotCall(op: 'delete' | 'revoke' | 'cancelBadgedSends', a: readonly number[], p: Picker): ResolvedCall {
  const name = { delete: 'seL4_CNode_Delete', revoke: 'seL4_CNode_Revoke', cancelBadgedSends: 'seL4_CNode_CancelBadgedSends' }[op];
  const normal = call(name, a, (api) => {
    if (op === 'delete') api.seL4_CNode_Delete(a[0]!, a[1]!, a[2]!);
    else if (op === 'revoke') api.seL4_CNode_Revoke(a[0]!, a[1]!, a[2]!);
    else api.seL4_CNode_CancelBadgedSends(a[0]!, a[1]!, a[2]!);
  });
  return shaped(p, normal, { label: slotLabels[op], service: a[0]!, mrs: [a[1]!, a[2]!], caps: [] });
}

const rawLabels = [
  InvocationLabel.UntypedRetype,
  InvocationLabel.CNodeRevoke,
  InvocationLabel.CNodeDelete,
  InvocationLabel.CNodeCancelBadgedSends,
  InvocationLabel.CNodeCopy,
  InvocationLabel.CNodeMint,
  InvocationLabel.CNodeMove,
  InvocationLabel.CNodeMutate,
  InvocationLabel.CNodeRotate,
  InvocationLabel.CNodeRevoke - 1,
  InvocationLabel.CNodeRotate + 1,
  InvocationLabel.InvalidInvocation,
  InvocationLabel.TCBSuspend,
];

/** An invocation of an existing cap with arbitrary label, length, message words and (resolvable) extra caps. */
function resolveRawInvocation(k: Knowledge, p: Picker): ResolvedCall {
  const label = p.chance(85) ? p.of(rawLabels)! : p.below(2 ** 20);
  const ownType = label === InvocationLabel.UntypedRetype ? 'untyped' : 'cnode';
  const own = p.chance(70) ? p.of(k.ofType(ownType, true)) : undefined;
  const picked = own ? own.slot.index : (p.of(k.inRoot())?.slot.index ?? p.below(64));
  // A Suspend of the root task's TCB while nothing else could run would end the run.
  const target = label === InvocationLabel.TCBSuspend && picked === seL4_CapInitThreadTCB && !mayStop(k, k.rootTCB) ? seL4_CapInitThreadCNode : picked;
  const length = p.chance(80) ? p.below(9) : p.chance(50) ? seL4_MsgMaxLength + p.below(8) - 1 : p.below(128);
  const extraCaps = p.below(4);
  const mrs = Array.from({ length: 8 }, (_, i) => (p.chance(50) ? p.below(40) : p.word(i)));
  const caps = Array.from({ length: 3 }, () => (p.chance(95) ? p.below(40) : resolvableCptr(k, p)));
  const info = seL4_MessageInfo_new(label, p.chance(20) ? p.below(8) : 0, extraCaps, length);
  const drawn = p.chance(80) ? sendSyscalls[0] : p.of(sendSyscalls)!;
  // A Call or Send to an endpoint blocks the caller: NBSend instead when no other thread could run then.
  const blocks = k.capAt({ cnode: k.rootCNode, index: target })?.type === 'endpoint' && !mayStop(k, k.view().current() ?? k.rootTCB);
  const syscall = blocks ? sendSyscalls[2] : drawn;
  return call(syscall[0], [target, info, ...mrs, ...caps], (api) => {
    mrs.forEach((v, i) => api.seL4_SetMR(i, v));
    caps.forEach((c, i) => api.seL4_SetCap(i, c));
    syscall[1](api, target, info);
  });
}

function rawSyscallCall(sysno: number, a0: number, info: number, index: number): ResolvedCall {
  return call('syscall', [syscallWord(sysno), a0, info, index, 32], (api) => {
    api.rawSyscall([
      [Reg.a0, a0],
      [Reg.a1, info],
      [Reg.a2, index],
      [Reg.a3, 32],
      [Reg.a7, syscallWord(sysno)],
    ]);
  });
}

/**
 * An entry that writes no register (the thread enters again as it is), or only a register that
 * does not exist (past the last, or negative), or an IPC buffer word outside the buffer (past
 * its end, or before it): the kernel ignores the bad writes.
 */
function resolveOddEntry(k: Knowledge, p: Picker): ResolvedCall {
  // Ways 0 and 1 enter again as the thread is, which needs an entry before (at boot a7 names no
  // syscall: a fault) and, after a receive (a0 holds a badge, not a cap: the receive made again
  // faults), another thread that can run.
  const again = k.entries > 0 && mayStop(k, k.view().current() ?? k.rootTCB);
  const way = again ? p.below(3) : 2;
  if (way === 0) return call('syscall', [], (api) => void api.rawSyscall([]));
  if (way === 1) {
    const reg = p.chance(70) ? numRegisters + p.below(8) : -1 - p.below(4);
    return call('syscall', [reg, p.word(4)], (api) => void api.rawSyscall([[reg, p.word(4)]]));
  }
  const dest = resolvableCptr(k, p);
  const info = seL4_MessageInfo_new(InvocationLabel.CNodeDelete, 0, 0, 0);
  if (p.chance(50)) {
    const mr = seL4_MsgMaxLength + p.below(16);
    return call('seL4_NBSend', [dest, info, mr], (api) => {
      api.seL4_SetMR(mr, p.word(5));
      api.seL4_NBSend(dest, info);
    });
  }
  const capIndex = -1000 - p.below(1000);
  return call('seL4_NBSend', [dest, info, capIndex], (api) => {
    api.seL4_SetCap(capIndex, p.word(5));
    api.seL4_NBSend(dest, info);
  });
}

/**
 * A kernel entry by syscall number: Yield, Recv, Send or NBSend of a Delete (NBSend also to a
 * cptr that does not resolve: nothing happens), and on a notification: Call, Send or NBSend (a
 * Signal, or InvalidCapability without Write), or NBWait or NBRecv polling it when the root
 * task may receive on it (without Read it is a cap fault, which would end the run).
 */
function resolveRawSyscall(k: Knowledge, p: Picker): ResolvedCall {
  if (p.chance(20)) return resolveOddEntry(k, p);
  const notifications = k.ofType('notification', true);
  if (notifications.length > 0 && p.chance(30)) {
    const target = p.of(notifications)!;
    const receive = (target.cap.rights & seL4_CanRead) !== 0 && p.chance(50);
    const S = seL4_Syscall;
    const sysno = p.of(receive ? [S.seL4_SysNBWait, S.seL4_SysNBRecv] : [S.seL4_SysCall, S.seL4_SysSend, S.seL4_SysNBSend])!;
    return rawSyscallCall(sysno, target.slot.index, seL4_MessageInfo_new(p.below(64), 0, 0, p.below(5)), p.below(64));
  }
  // A Recv on what is not an endpoint with a reply cap in a6 is a cap fault that stops the thread: only while another can run.
  const recv = mayStop(k, k.view().current() ?? k.rootTCB) ? [seL4_Syscall.seL4_SysRecv] : [];
  const numbers = [seL4_Syscall.seL4_SysYield, seL4_Syscall.seL4_SysNBSend, seL4_Syscall.seL4_SysSend, ...recv];
  const sysno = p.of(numbers)!;
  const a0 = sysno === seL4_Syscall.seL4_SysNBSend && p.chance(25) ? (0xfffff000 | p.below(4096)) >>> 0 : resolvableCptr(k, p);
  return rawSyscallCall(sysno, a0, seL4_MessageInfo_new(InvocationLabel.CNodeDelete, 0, 0, 2), p.below(64));
}

/**
 * What ends a run now and then: the root task deletes or revokes one of its own vital caps
 * (its TCB, CNode or scheduling context), invokes a cap or passes an extra cap that does not
 * resolve (a cap fault: it has no fault handler), or makes an unknown syscall.
 */
function resolveEndRun(k: Knowledge, p: Picker): ResolvedCall {
  const way = p.below(4);
  if (way === 0) {
    const slot = p.of(vitalSlots)!;
    return slotCall(p.chance(70) ? 'delete' : 'revoke', [seL4_CapInitThreadCNode, slot, 32], p);
  }
  const unresolvable = (0x80000000 | p.below(2 ** 16)) >>> 0;
  const blocking = p.of(sendSyscalls.slice(0, 2))!;
  const m: Message = { label: InvocationLabel.CNodeDelete, service: seL4_CapInitThreadCNode, mrs: [seL4_CapInitThreadCNode, 32], caps: [] };
  if (way === 1) return send(blocking, { ...m, service: unresolvable }, 2, []);
  if (way === 2) return send(blocking, { ...m, label: InvocationLabel.CNodeCopy, mrs: [p.below(4096), 32, 0, 32, 0xf] }, 5, [unresolvable]);
  const sysno = p.of([SYSCALL_MIN - 1, SYSCALL_MAX + 1, p.word(2) | 0])!;
  return rawSyscallCall(sysno, resolvableCptr(k, p), seL4_MessageInfo_new(InvocationLabel.CNodeDelete, 0, 0, 2), p.below(64));
}

/**
 * The commonest steps on capabilities, which runs about threads mostly spend setting threads up
 * (the rarer ones keep their share: their error paths need every run they get).
 */
const capabilityOperations: ReadonlySet<Operation> = new Set(['retype', 'copy', 'move', 'delete', 'revoke']);

/**
 * Now and then a Mint starts the badges scenario, a Retype the CNode or the device one and, while
 * the root task runs, a thread step the twins or the slices one, an IPC step the passive-server,
 * the cap-transfer, the queue, the fault, the fastpath or the lending one (workload-ipc.ts), a
 * VSpace step the address-space or the ASID one (workload-vspace.ts), an IRQ step the driver one
 * (workload-irq.ts) (per mille of those steps;
 * runs about threads more often).
 */
function startScenario(op: Operation, k: Knowledge, p: Picker, style: RunStyle): ResolvedCall | null {
  if (style.deep || style.scenario?.actions.length) return null;
  const threadStep = (op === 'setupThread' || op === 'threadObject') && k.view().current() === k.rootTCB;
  const twins = threadStep && p.below(1000) < (style.threads ? 15 : 4);
  const slices = threadStep && !twins && p.below(1000) < (style.threads ? 10 : 3);
  const badges = op === 'mint' && p.below(1000) < 15;
  const cnode = op === 'retype' && p.below(1000) < 25;
  const device = op === 'retype' && !cnode && p.below(1000) < 6;
  const ipcStep = (op === 'ipcSend' || op === 'ipcReceive' || op === 'ipcReply') && k.view().current() === k.rootTCB;
  const passive = ipcStep && p.below(1000) < (style.threads ? 50 : 20);
  const transfer = ipcStep && !passive && p.below(1000) < (style.threads ? 20 : 8);
  const queue = ipcStep && !passive && !transfer && p.below(1000) < (style.threads ? 30 : 12);
  const fault = ipcStep && !passive && !transfer && !queue && p.below(1000) < (style.threads ? 80 : 40);
  const fastpath = ipcStep && !passive && !transfer && !queue && !fault && p.below(1000) < (style.threads ? 40 : 20);
  const lend = ipcStep && !passive && !transfer && !queue && !fault && !fastpath && p.below(1000) < (style.threads ? 20 : 8);
  const vspaceStep = op === 'vspace' && k.view().current() === k.rootTCB;
  const space = vspaceStep && p.below(1000) < 80;
  const asids = vspaceStep && !space && p.below(1000) < 15;
  const driver = op === 'irq' && k.view().current() === k.rootTCB && p.below(1000) < 100;
  if (!twins && !slices && !badges && !cnode && !device && !passive && !transfer && !queue && !fault && !fastpath && !lend && !space && !asids && !driver) return null;
  style.scenario = driver ? driverScenario(p) : space ? addressSpaceScenario(p) : asids ? asidsScenario(p) : twins ? twinsScenario(p) : slices ? slicesScenario(p) : badges ? badgesScenario(p) : cnode ? cnodeScenario(p) : device ? deviceScenario(p)
    : passive ? passiveScenario(p) : transfer ? transferScenario(p) : queue ? queueScenario(p) : fault ? faultScenario(p) : fastpath ? fastpathScenario(p) : lendScenario(p);
  return scenarioStep(k, p, style.scenario);
}

/**
 * A Revoke or Retype step of the root task starts a preemption scenario (workload-preemption.ts)
 * now and then (60 per mille), decided by a pick of its own, so that the other steps draw as before.
 */
function preemptionStart(step: WorkloadStep, k: Knowledge, p: Picker, style: RunStyle): ResolvedCall | null {
  if (style.deep || style.scenario?.actions.length || (step.op !== 'revoke' && step.op !== 'retype')) return null;
  if (k.view().current() !== k.rootTCB || step.picks[pickCount - 3]! % 1000 >= 60) return null;
  style.scenario = preemptionScenario(p);
  return scenarioStep(k, p, style.scenario);
}

/** The steps on capabilities that can start the guarded-CSpace scenario. */
const cspaceOperations: ReadonlySet<Operation> = new Set(['retype', 'copy', 'mint', 'move', 'mutate', 'rotate', 'delete', 'revoke']);

/**
 * A step on capabilities of the root task starts, now and then (25 per mille, by a pick of its
 * own, so that the other steps draw as before), the guarded-CSpace scenario
 * (workload-scenarios.ts) or, one time in four, the fastpath scenario's Call near the end of the
 * budget; and (10 per mille more) the slices scenario with a thread that has no IPC buffer, so
 * that an error reply longer than the message registers is cut: rare situations a kernel bug
 * may need, each made on purpose.
 */
function targetedStart(step: WorkloadStep, k: Knowledge, p: Picker, style: RunStyle): ResolvedCall | null {
  if (style.deep || style.scenario?.actions.length || !cspaceOperations.has(step.op)) return null;
  const pick = step.picks[pickCount - 4]! % 1000;
  if (k.view().current() !== k.rootTCB || pick >= 35) return null;
  style.scenario = pick >= 25 ? slicesScenario(p, 'without-buffer') : p.chance(25) ? fastpathScenario(p, 'budget') : cspaceScenario(p);
  return scenarioStep(k, p, style.scenario);
}

const ipcOperationSet: ReadonlySet<Operation> = new Set(ipcOperations);
const isIpcOperation = (op: IpcOperation | ThreadOperation): op is IpcOperation => ipcOperationSet.has(op);

/** Turns a generated step into a concrete call, given what the CSpace holds now and how the run grows. */
export function resolveStep(step: WorkloadStep, k: Knowledge, style: RunStyle): ResolvedCall {
  const p = new Picker(step);
  const planned = style.scenario && k.view().current() !== null ? scenarioStep(k, p, style.scenario) : null;
  if (planned) return planned;
  const first = schedulingFirst(k, p, style);
  if (first) return first;
  const started = accessStart(step, k, style) ?? preemptionStart(step, k, p, style) ?? targetedStart(step, k, p, style) ?? startScenario(step.op, k, p, style);
  if (started) return started;
  const op = style.threads && capabilityOperations.has(step.op) && p.chance(60) ? 'setupThread' : step.op;
  let resolved: ResolvedCall | null;
  switch (op) {
    case 'retype':
      resolved = resolveRetype(k, p, step, style);
      break;
    case 'copy':
    case 'mint':
    case 'move':
    case 'mutate':
      resolved = resolveCopyLike(op, k, p, step, style);
      break;
    case 'rotate':
      resolved = resolveRotate(k, p, step, style);
      break;
    case 'delete':
    case 'revoke':
    case 'cancelBadgedSends':
      resolved = resolveSlotOp(op, k, p, step, style);
      break;
    case 'rawInvocation':
      resolved = resolveRawInvocation(k, p);
      break;
    case 'rawSyscall':
      resolved = resolveRawSyscall(k, p);
      break;
    case 'endRun':
      resolved = resolveEndRun(k, p);
      break;
    case 'vspace':
      resolved = resolveVspaceStep(step, k, p);
      break;
    case 'irq':
      resolved = resolveIrqStep(k, p);
      break;
    default:
      resolved = isIpcOperation(op) ? resolveIpcStep(op, step, k, p) : resolveThreadStep(op, step, k, p);
  }
  return resolved ?? resolveRawInvocation(k, p);
}
