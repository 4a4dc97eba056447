// The workload's composite steps (refinement/workload-scenarios.ts) reach the situations they
// are built for, on the impl alone: a revoke of a badged endpoint cap beside another badge
// generation of its endpoint (a second mint of one badge, or a copy of another badge), a revoke
// of an unbadged endpoint cap whose CDT children are badged mints, a used refill charged exactly
// where the tail refill ends while the ring has room for another (schedule_used merges it), two
// threads waiting for the same release time, and two threads of one priority released by one
// timer interrupt, a thread suspended while it waits for its release; a CNode with a cap in
// slot 0 finalised; a thread without an IPC buffer naming a slot past the root CNode's guard; a
// CNode cap mutated to guard size + radix = 32; CancelBadgedSends on a badged cap with only some
// rights; a kernel object asked of a used-up device untyped; invocations sent with
// capsUnwrapped set, an extra cap short; and the guarded CSpace's: lookups through a guard whose
// lowest bit is 1 and through a guardless CNode in an odd slot, a guard given wider than its
// size, a Retype one slot past a CNode's end, a swap of two copies of a CNode cap, a Copy
// without its rights word.
import { describe, expect, it } from 'vitest';
import { InvocationLabel, Reg, isFrameType, messageInfoFromWord, objectSizeBits, seL4_AllRights, seL4_ObjectType, type CapOf, type KernelEvent, type KernelView } from '../../libsel4/index.ts';
import type { Knowledge } from '../../refinement/knowledge.ts';
import { eachWorkloadStep } from './workload-runs.ts';

interface Reached {
  /** Revokes of a badged endpoint cap while another cap to its endpoint, of its badge, is no CDT child of it. */
  revokedBesideSameBadge: number;
  /** Revokes of a badged endpoint cap while another cap to its endpoint, of another badge, is no CDT child of it. */
  revokedBesideOtherBadge: number;
  /** Revokes of an unbadged endpoint cap with a badged CDT child. */
  revokedUnbadgedWithBadgedChild: number;
  /** Steps that charged a partial use due exactly where the tail refill ends, the ring not full: merged into the tail. */
  usedMergedAtTailEnd: number;
  /** Steps after which two threads waited for the same release time. */
  releaseTies: number;
  /** Time events that released two threads of one priority at once. */
  releasedTogether: number;
  /** Deletes of the last cap to a CNode whose slot 0 holds a cap. */
  finalisedWithSlot0: number;
  /** Deletes, Revokes or CancelBadgedSends by a thread without an IPC buffer of a root slot past the root CNode's guard. */
  pastGuardWithoutBuffer: number;
  /** Mutates of a CNode cap to a guard size that makes guard size + radix exactly 32. */
  widestGuard: number;
  /** CancelBadgedSends on a badged endpoint cap with some rights but not all. */
  cancelWithSomeRights: number;
  /** Suspends of a thread waiting in the release queue. */
  suspendedWaiting: number;
  /** Retypes of a kernel object (no frame, no untyped) from a device untyped without room for it. */
  deviceUsedUp: number;
  /** CNode Copy, Mint, Move or Mutate sent without the extra cap it needs, with capsUnwrapped set. */
  unwrappedCapShort: number;
  /** Copies or Retypes whose lookup resolves through a CNode cap with a guard whose lowest bit is 1. */
  throughOddGuard: number;
  /** Copies or Retypes whose lookup resolves through a CNode cap without guard held in an odd slot. */
  guardlessInOddSlot: number;
  /** Mints or Mutates of a CNode cap with guard bits above the guard size given. */
  wideGuard: number;
  /** Retypes into a CNode whose window runs exactly one slot past its end. */
  onePastEnd: number;
  /** Rotates that swap two CNode caps to the same CNode. */
  swappedCopies: number;
  /** CNode Copies sent with four words (no rights word) and their extra cap. */
  copyWithoutRights: number;
}

const copyLike: ReadonlySet<number> = new Set([InvocationLabel.CNodeCopy, InvocationLabel.CNodeMint, InvocationLabel.CNodeMove, InvocationLabel.CNodeMutate]);

function unwrappedCapShort(event: KernelEvent | undefined): boolean {
  if (event?.kind !== 'syscall') return false;
  const word = new Map(event.user.regs).get(Reg.a1);
  if (word === undefined) return false;
  const info = messageInfoFromWord(word);
  return copyLike.has(info.label) && info.extraCaps === 0 && info.capsUnwrapped !== 0 && info.length >= 4;
}

const slotArgs = /^seL4_CNode_(Revoke|Delete|CancelBadgedSends)\(2, (\w+), 0x20\)$/;

/** Whether deleting root slot `index` finalises a CNode whose slot 0 holds a cap: its only cap. */
function finalisesSlot0(view: KernelView, k: Knowledge, index: number): boolean {
  const cap = view.cap({ cnode: k.rootCNode, index });
  if (cap?.type !== 'cnode' || cap.ptr === k.rootCNode || view.cap({ cnode: cap.ptr, index: 0 }) === null) return false;
  return k.all().filter((o) => o.cap.type === 'cnode' && o.cap.ptr === cap.ptr).length === 1;
}

/** Whether root slot `index` holds a badged endpoint cap with some rights but not all. */
function someRightsBadged(view: KernelView, k: Knowledge, index: number): boolean {
  const cap = view.cap({ cnode: k.rootCNode, index });
  return cap?.type === 'endpoint' && cap.badge !== 0 && cap.rights !== 0 && cap.rights !== seL4_AllRights;
}

/** A cap to the endpoint that `index` holds, elsewhere in the root CNode and not its CDT child, of the same badge or another. */
function besideRevoked(view: KernelView, k: Knowledge, index: number): 'same' | 'other' | null {
  const revoked = { cnode: k.rootCNode, index };
  const cap = view.cap(revoked);
  if (cap?.type !== 'endpoint' || cap.badge === 0) return null;
  let found: 'same' | 'other' | null = null;
  for (const o of k.inRoot()) {
    if (o.slot.index === index || o.cap.type !== 'endpoint' || o.cap.ptr !== cap.ptr || o.cap.badge === 0) continue;
    const parent = view.cdtParent(o.slot);
    if (parent?.cnode === revoked.cnode && parent.index === index) continue;
    if (o.cap.badge === cap.badge) return 'same';
    found = 'other';
  }
  return found;
}

/** Whether root slot `index` holds an unbadged endpoint cap with a badged CDT child in the root CNode. */
function unbadgedWithBadgedChild(view: KernelView, k: Knowledge, index: number): boolean {
  const cap = view.cap({ cnode: k.rootCNode, index });
  if (cap?.type !== 'endpoint' || cap.badge !== 0) return false;
  return k.inRoot().some((o) => {
    if (o.cap.type !== 'endpoint' || o.cap.ptr !== cap.ptr || o.cap.badge === 0) return false;
    const parent = view.cdtParent(o.slot);
    return parent?.cnode === k.rootCNode && parent.index === index;
  });
}

type Refill = { readonly releaseTicks: bigint; readonly amountTicks: bigint };

/** The current SC's period, refill limit and refills, copied out. */
function currentRefills(view: KernelView): { sc: number; periodTicks: bigint; refillMax: number; refills: Refill[] } | null {
  const ptr = view.scheduler().currentSchedContext;
  const sc = ptr === null ? null : view.object(ptr);
  return ptr !== null && sc?.type === 'schedcontext' ? { sc: ptr, periodTicks: sc.periodTicks, refillMax: sc.refillMax, refills: sc.refills.map((r) => ({ ...r })) } : null;
}

/**
 * Whether a step charged the SC a partial use (its head moved on by the use) due one period
 * after the head's release, exactly where the tail ended, and the tail absorbed it while the
 * ring had room for another refill.
 */
function mergedAtTailEnd(before: ReturnType<typeof currentRefills>, view: KernelView): boolean {
  if (before === null || before.periodTicks === 0n || before.refills.length < 2 || before.refills.length >= before.refillMax) return false;
  const sc = view.object(before.sc);
  if (sc?.type !== 'schedcontext' || sc.refills.length !== before.refills.length) return false;
  const head = before.refills[0]!;
  const tail = before.refills[before.refills.length - 1]!;
  const newTail = sc.refills[sc.refills.length - 1]!;
  const used = newTail.amountTicks - tail.amountTicks;
  return used > 0n && tail.releaseTicks + tail.amountTicks === head.releaseTicks + before.periodTicks && newTail.releaseTicks === tail.releaseTicks && sc.refills[0]!.releaseTicks === head.releaseTicks + used;
}

/** The words of a call's text: `seL4_Untyped_Retype(0x1d, 2, 0, ...)`. */
function argsOf(text: string, name: string): number[] | null {
  return text.startsWith(`${name}(`) ? text.slice(name.length + 1, -1).split(', ').map(Number) : null;
}

/** Whether a Retype asks a device untyped with no room left for an object other than a frame or an untyped. */
function deviceUsedUp(view: KernelView, k: Knowledge, text: string): boolean {
  const a = argsOf(text, 'seL4_Untyped_Retype');
  const cap = a ? view.cap({ cnode: k.rootCNode, index: a[0]! }) : null;
  if (!a || cap?.type !== 'untyped' || !cap.isDevice || isFrameType(a[1]!) || a[1] === seL4_ObjectType.seL4_UntypedObject) return false;
  return 2 ** cap.sizeBits - cap.freeIndex < 2 ** objectSizeBits(a[1] as seL4_ObjectType, a[2]!);
}

/** Whether the current thread has no IPC buffer (its buffer slot holds no non-device frame). */
function withoutBuffer(view: KernelView): boolean {
  const current = view.current();
  const buffer = current === null ? null : view.cap({ cnode: current, index: 2 });
  return current !== null && !(buffer?.type === 'frame' && !buffer.isDevice);
}

/** Whether a Mutate gives a CNode cap of the root CNode a guard size of exactly 32 - radix. */
function mutatesToWidestGuard(view: KernelView, k: Knowledge, text: string): boolean {
  const a = argsOf(text, 'seL4_CNode_Mutate');
  if (!a) return false;
  const cap = view.cap({ cnode: k.rootCNode, index: a[4]! });
  return cap?.type === 'cnode' && ((a[6]! >>> 3) & 0x1f) + cap.radix === 32;
}

interface Level {
  readonly cap: CapOf<'cnode'>;
  readonly index: number;
}

/** The CNode caps a lookup of `index` at `depth` from root slot `service` passes, with the slot it takes in each; null if it fails. */
function lookupLevels(view: KernelView, k: Knowledge, service: number, index: number, depth: number): Level[] | null {
  let cap = view.cap({ cnode: k.rootCNode, index: service });
  const levels: Level[] = [];
  let bits = depth;
  while (cap?.type === 'cnode' && bits > 0) {
    const levelBits = cap.guardSize + cap.radix;
    if (levelBits > bits || Math.floor(index / 2 ** (bits - cap.guardSize)) % 2 ** cap.guardSize !== cap.guard) return null;
    const slot = Math.floor(index / 2 ** (bits - levelBits)) % 2 ** cap.radix;
    levels.push({ cap, index: slot });
    bits -= levelBits;
    if (bits > 0) cap = view.cap({ cnode: cap.ptr, index: slot });
  }
  return bits === 0 ? levels : null;
}

/** The lookups of a Copy (both) or a Retype (its destination). */
function lookupsOf(view: KernelView, k: Knowledge, text: string): Level[][] {
  const copy = argsOf(text, 'seL4_CNode_Copy');
  const retype = argsOf(text, 'seL4_Untyped_Retype');
  const paths = copy ? [copy.slice(0, 3), copy.slice(3, 6)] : retype ? [retype.slice(3, 6)] : [];
  return paths.map(([service, index, depth]) => lookupLevels(view, k, service!, index!, depth!)).filter((levels): levels is Level[] => levels !== null);
}

/** Whether a Retype's window into its destination CNode ends exactly one slot past the CNode's end. */
function retypesOnePastEnd(view: KernelView, k: Knowledge, text: string): boolean {
  const a = argsOf(text, 'seL4_Untyped_Retype');
  if (!a || a[5] === 0) return false;
  const last = lookupLevels(view, k, a[3]!, a[4]!, a[5]!)?.at(-1);
  const dest = last ? view.cap({ cnode: last.cap.ptr, index: last.index }) : null;
  return dest?.type === 'cnode' && a[6]! < 2 ** dest.radix && a[6]! + a[7]! === 2 ** dest.radix + 1;
}

/** Whether a Mint or Mutate of a root CNode cap gives guard bits above the guard size. */
function mintsWideGuard(view: KernelView, k: Knowledge, text: string): boolean {
  const mint = argsOf(text, 'seL4_CNode_Mint');
  const a = mint ?? argsOf(text, 'seL4_CNode_Mutate');
  if (!a) return false;
  const data = mint ? a[7]! : a[6]!;
  const guardSize = (data >>> 3) & 0x1f;
  return view.cap({ cnode: k.rootCNode, index: a[4]! })?.type === 'cnode' && guardSize < 18 && ((data >>> 8) & 0x3ffff) >>> guardSize !== 0;
}

/** Whether a Rotate swaps (its destination is its source) two root CNode caps to one CNode. */
function swapsCopies(view: KernelView, k: Knowledge, text: string): boolean {
  const a = argsOf(text, 'seL4_CNode_Rotate');
  if (!a || a[1] !== a[9] || a[0] !== a[8]) return false;
  const [src, pivot] = [view.cap({ cnode: k.rootCNode, index: a[9]! }), view.cap({ cnode: k.rootCNode, index: a[5]! })];
  return src?.type === 'cnode' && pivot?.type === 'cnode' && src.ptr === pivot.ptr;
}

/** Whether an entry sends a CNode Copy of four words with its extra cap. */
function copyWithoutRights(event: KernelEvent | undefined): boolean {
  if (event?.kind !== 'syscall') return false;
  const word = new Map(event.user.regs).get(Reg.a1);
  const info = word === undefined ? null : messageInfoFromWord(word);
  return info?.label === InvocationLabel.CNodeCopy && info.length === 4 && info.extraCaps === 1;
}

/** Whether a Suspend names a thread waiting in the release queue. */
function suspendsWaiting(view: KernelView, k: Knowledge, text: string): boolean {
  const a = argsOf(text, 'seL4_TCB_Suspend');
  const cap = a ? view.cap({ cnode: k.rootCNode, index: a[0]! }) : null;
  return cap?.type === 'thread' && view.scheduler().releaseQueue.includes(cap.ptr);
}

function headRelease(view: KernelView, tcb: number): bigint | null {
  const t = view.object(tcb);
  const sc = t?.type === 'tcb' && t.schedContext !== null ? view.object(t.schedContext) : null;
  return sc?.type === 'schedcontext' && sc.refills.length > 0 ? sc.refills[0]!.releaseTicks : null;
}

function priorityOf(view: KernelView, tcb: number): number {
  const t = view.object(tcb);
  return t?.type === 'tcb' ? t.priority : -1;
}

function observe(runs: number, steps: number, seed: number): Reached {
  const reached: Reached = { revokedBesideSameBadge: 0, revokedBesideOtherBadge: 0, revokedUnbadgedWithBadgedChild: 0, usedMergedAtTailEnd: 0, pastGuardWithoutBuffer: 0, widestGuard: 0, releaseTies: 0, releasedTogether: 0, finalisedWithSlot0: 0, cancelWithSomeRights: 0, suspendedWaiting: 0, deviceUsedUp: 0, unwrappedCapShort: 0, throughOddGuard: 0, guardlessInOddSlot: 0, wideGuard: 0, onePastEnd: 0, swappedCopies: 0, copyWithoutRights: 0 };
  eachWorkloadStep(runs, steps, seed, (sys, k, resolved) => {
    const before = sys.view();
    const slotOp = slotArgs.exec(resolved.text);
    const index = Number(slotOp?.[2]);
    const beside = slotOp?.[1] === 'Revoke' ? besideRevoked(before, k, index) : null;
    if (beside === 'same') reached.revokedBesideSameBadge++;
    if (beside === 'other') reached.revokedBesideOtherBadge++;
    if (slotOp?.[1] === 'Revoke' && unbadgedWithBadgedChild(before, k, index)) reached.revokedUnbadgedWithBadgedChild++;
    if (slotOp?.[1] === 'Delete' && finalisesSlot0(before, k, index)) reached.finalisedWithSlot0++;
    if (slotOp?.[1] === 'CancelBadgedSends' && someRightsBadged(before, k, index)) reached.cancelWithSomeRights++;
    if (deviceUsedUp(before, k, resolved.text)) reached.deviceUsedUp++;
    if (mutatesToWidestGuard(before, k, resolved.text)) reached.widestGuard++;
    if (slotOp && index >= 2 ** k.rootRadix() && withoutBuffer(before)) reached.pastGuardWithoutBuffer++;
    if (suspendsWaiting(before, k, resolved.text)) reached.suspendedWaiting++;
    const lookups = lookupsOf(before, k, resolved.text);
    if (lookups.some((levels) => levels.some((l) => l.cap.guardSize > 0 && l.cap.guard % 2 === 1))) reached.throughOddGuard++;
    if (lookups.some((levels) => levels.some((l, i) => i > 0 && l.cap.guardSize === 0 && levels[i - 1]!.index % 2 === 1))) reached.guardlessInOddSlot++;
    if (mintsWideGuard(before, k, resolved.text)) reached.wideGuard++;
    if (retypesOnePastEnd(before, k, resolved.text)) reached.onePastEnd++;
    if (swapsCopies(before, k, resolved.text)) reached.swappedCopies++;
    // The view reads the kernel as it is: what the step is compared with is copied out first.
    const waiting = [...before.scheduler().releaseQueue];
    const charged = currentRefills(before);
    const entries = sys.trace.length;
    resolved.run(sys.api, sys);
    if (unwrappedCapShort(sys.trace[entries])) reached.unwrappedCapShort++;
    if (copyWithoutRights(sys.trace[entries])) reached.copyWithoutRights++;
    const after = sys.view();
    if (mergedAtTailEnd(charged, after)) reached.usedMergedAtTailEnd++;
    const queue = after.scheduler().releaseQueue;
    const times = queue.map((t) => headRelease(after, t));
    if (times.some((t, i) => t !== null && times.indexOf(t) !== i)) reached.releaseTies++;
    const released = waiting.filter((t) => !queue.includes(t));
    if (resolved.text.startsWith('passTime') && released.some((t, i) => released.slice(i + 1).some((u) => priorityOf(after, u) === priorityOf(after, t)))) reached.releasedTogether++;
  });
  return reached;
}

const situations: readonly [string, keyof Reached][] = [
  ['revokes a badged endpoint cap next to a second mint of its badge', 'revokedBesideSameBadge'],
  ['revokes a badged endpoint cap next to a copy of another badge', 'revokedBesideOtherBadge'],
  ['revokes an unbadged endpoint cap whose CDT children include a badged mint', 'revokedUnbadgedWithBadgedChild'],
  ['merges a partial use due exactly where the tail refill ends into it, the ring not full', 'usedMergedAtTailEnd'],
  ['has two threads waiting for the same release time', 'releaseTies'],
  ['releases two threads of one priority with one timer interrupt', 'releasedTogether'],
  ['deletes the last cap to a CNode whose slot 0 holds a cap', 'finalisedWithSlot0'],
  ['has a thread without an IPC buffer name a slot past the root CNode\'s guard', 'pastGuardWithoutBuffer'],
  ['mutates a CNode cap to guard size + radix = 32', 'widestGuard'],
  ['cancels the badged sends of a badged endpoint cap with only some rights', 'cancelWithSomeRights'],
  ['suspends a thread while it waits for its release', 'suspendedWaiting'],
  ['asks a used-up device untyped for a kernel object', 'deviceUsedUp'],
  ['sends a CNode invocation an extra cap short with capsUnwrapped set', 'unwrappedCapShort'],
];

/**
 * What the guarded-CSpace scenario, and the targeted start's slices without an IPC buffer, make
 * on purpose: the other steps reach each now and then (0 to 3 times in these runs without
 * them), the targeted steps at least ten times (33 past the guard without a buffer).
 */
const often: readonly [string, keyof Reached][] = [
  ['has a thread without an IPC buffer name a slot past the root CNode\'s guard', 'pastGuardWithoutBuffer'],
  ['looks a slot up through a guard whose lowest bit is 1', 'throughOddGuard'],
  ['looks a slot up through a CNode without guard held in an odd slot', 'guardlessInOddSlot'],
  ['mints or mutates a CNode cap with guard bits above its guard size', 'wideGuard'],
  ['retypes into a CNode one slot past its end', 'onePastEnd'],
  ['swaps two caps to one CNode with a Rotate', 'swappedCopies'],
  ['sends a CNode Copy without its rights word', 'copyWithoutRights'],
];

describe("the workload's composite steps on the impl alone", () => {
  const reached = observe(100, 100, 1);

  it.each(situations)('%s', (_, situation) => {
    expect(reached[situation]).toBeGreaterThan(0);
  });

  it.each(often)('often %s', (_, situation) => {
    expect(reached[situation]).toBeGreaterThanOrEqual(10);
  });
});
