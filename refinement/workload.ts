// The generated workload: fast-check draws abstract steps (an operation and raw choices);
// each is resolved when it runs against what the root task's CSpace holds then, so most
// calls name existing caps and free slots, and some carry arbitrary words to reach the
// error paths. Resolved calls are concrete libsel4 calls, recorded for the report.
import fc from 'fast-check';
import {
  InvocationLabel,
  Reg,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_CNode_CapData_new,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  seL4_Syscall,
  syscallWord,
  type Sel4Api,
  type SlotRef,
} from '../libsel4/index.ts';
import type { Knowledge, Occupied, SlotAddress } from './knowledge.ts';

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

const weights: Record<Operation, number> = {
  retype: 22,
  copy: 14,
  mint: 14,
  move: 8,
  mutate: 6,
  rotate: 6,
  delete: 10,
  revoke: 8,
  cancelBadgedSends: 3,
  rawInvocation: 6,
  rawSyscall: 1,
};

/** Choices per step: enough that one step's draws never repeat (repeats would correlate them). */
const pickCount = 40;
const wordCount = 8;

export const workloadStepArbitrary: fc.Arbitrary<WorkloadStep> = fc.record({
  op: fc.oneof(...operations.map((op) => ({ arbitrary: fc.constant(op), weight: weights[op] }))),
  perturb: fc.nat(9).map((n) => n === 0),
  picks: fc.array(fc.nat(), { minLength: pickCount, maxLength: pickCount }),
  words: fc.array(fc.nat({ max: 0xffffffff }), { minLength: wordCount, maxLength: wordCount }),
});

/** A concrete call as run, for reports: `seL4_CNode_Copy(2, 30, 32, 2, 18, 32, 0xf)`. */
export interface ResolvedCall {
  readonly text: string;
  run(api: Sel4Api): void;
}

class Picker {
  private next = 0;
  constructor(private readonly step: WorkloadStep) {}
  nat(): number {
    return this.step.picks[this.next++ % this.step.picks.length]!;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.nat() % n;
  }
  chance(percent: number): boolean {
    return this.below(100) < percent;
  }
  of<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.below(items.length)];
  }
  word(i: number): number {
    return this.step.words[i % this.step.words.length]!;
  }
}

const hexWord = (w: number) => (w > 9 ? `0x${(w >>> 0).toString(16)}` : String(w));

function call(name: string, args: readonly number[], run: (api: Sel4Api) => void): ResolvedCall {
  return { text: `${name}(${args.map(hexWord).join(', ')})`, run };
}

/** Addresses a slot from the root task; falls back to the root CNode cap with depth 32. */
function address(k: Knowledge, p: Picker, slot: SlotRef): SlotAddress {
  const found = k.addresses(slot);
  return p.of(found) ?? { service: seL4_CapInitThreadCNode, index: slot.index, depth: 32 };
}

/** Root slots whose loss ends the root task: its TCB, its CNode (revoke), its scheduling context. */
const vital = new Set([seL4_CapInitThreadTCB, seL4_CapInitThreadCNode, seL4_CapInitThreadSC]);

/** An occupied slot; the root task's own vital caps only rarely, so runs go on. */
function pickOccupied(k: Knowledge, p: Picker, filter?: (o: Occupied) => boolean): Occupied | undefined {
  const spareVital = p.chance(99);
  const keep = (o: Occupied) => (!spareVital || o.slot.cnode !== k.rootCNode || !vital.has(o.slot.index)) && (!filter || filter(o));
  const recent = p.chance(30) ? k.recent().filter(keep) : [];
  return p.of(recent.length > 0 ? recent : k.all().filter(keep));
}

/** An empty slot, in the root CNode most of the time. */
function pickEmpty(k: Knowledge, p: Picker): SlotRef {
  const nested = [...k.cnodes.keys()].filter((c) => c !== k.rootCNode);
  const cnode = nested.length > 0 && p.chance(30) ? p.of(nested)! : k.rootCNode;
  const size = 2 ** k.cnodes.get(cnode)!;
  for (let tries = 0; tries < 8; tries++) {
    const slot = { cnode, index: p.below(size) };
    if (k.isEmpty(slot)) return slot;
  }
  return { cnode, index: p.below(size) };
}

/**
 * Replaces one argument with an arbitrary word or a boundary value. Arguments at `cptrs`
 * (caps the root task invokes or passes) are spared most of the time: a cptr that does not
 * resolve is a cap fault, which ends the run.
 */
function perturb(args: number[], p: Picker, step: WorkloadStep, cptrs: readonly number[]): number[] {
  if (!step.perturb || args.length === 0) return args;
  const out = [...args];
  const boundary = [0, 1, 31, 32, 33, 0xffffffff, 0x80000000, p.word(0)];
  const choices = args.map((_, i) => i).filter((i) => !cptrs.includes(i) || p.chance(2));
  const times = p.chance(20) ? 2 : 1;
  for (let n = 0; n < times; n++) {
    const at = p.of(choices);
    if (at !== undefined) out[at] = p.of(boundary)!;
  }
  return out;
}

/**
 * A well-formed invocation sent with a message that is too short (fewer message words or
 * extra caps than the stub sends) some of the time, so each length check is reached with
 * arguments that pass the checks before it.
 */
function maybeShort(p: Picker, normal: ResolvedCall, label: number, service: number, mrs: readonly number[], caps: readonly number[]): ResolvedCall {
  if (!p.chance(5)) return normal;
  const dropCap = caps.length > 0 && p.chance(25);
  const length = dropCap ? mrs.length : mrs.length - 1 - p.below(2);
  const extraCaps = dropCap ? caps.length - 1 : caps.length;
  const info = seL4_MessageInfo_new(label, 0, extraCaps, Math.max(0, length));
  return call('seL4_Call', [service, info, ...mrs, ...caps], (api) => {
    mrs.forEach((v, i) => api.seL4_SetMR(i, v));
    caps.forEach((c, i) => api.seL4_SetCap(i, c));
    api.seL4_Call(service, info);
  });
}

function rightsWord(p: Picker): number {
  return p.chance(55) ? 0xf : p.below(16);
}

function capData(p: Picker, target: Occupied | undefined): number {
  if (target?.cap.type === 'cnode' && p.chance(70)) {
    const guardSize = p.below(33 - target.cap.radix + 1);
    return seL4_CNode_CapData_new(p.below(2 ** Math.min(guardSize, 18)), guardSize);
  }
  if (p.chance(30)) return 0;
  if (p.chance(70)) return 1 + p.below(3);
  return p.word(1);
}

const objectTypes = Object.values(seL4_ObjectType);

function retypeSize(p: Picker, type: number, untypedBits: number): number {
  switch (type) {
    case seL4_ObjectType.seL4_UntypedObject:
      return p.chance(5) ? 3 : 4 + p.below(Math.max(1, untypedBits - 3));
    case seL4_ObjectType.seL4_CapTableObject:
      return p.chance(5) ? 0 : 1 + p.below(p.chance(80) ? 5 : 9);
    case seL4_ObjectType.seL4_SchedContextObject:
      return p.chance(10) ? 6 : 7 + p.below(3);
    default:
      return p.chance(90) ? 0 : p.below(40);
  }
}

function resolveRetype(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const untyped = p.of(k.ofType('untyped', true));
  if (!untyped) return null;
  const type = p.chance(3) ? 10 + p.below(3) : p.of(objectTypes)!;
  const sizeBits = retypeSize(p, type, untyped.cap.sizeBits);
  const dest = p.chance(70) ? k.rootCNode : (p.of([...k.cnodes.keys()]) ?? k.rootCNode);
  let root = seL4_CapInitThreadCNode;
  let nodeIndex = 0;
  let nodeDepth = 0;
  if (dest !== k.rootCNode) {
    const holder = pickOccupied(k, p, (o) => o.cap.type === 'cnode' && o.cap.ptr === dest);
    if (holder) ({ service: root, index: nodeIndex, depth: nodeDepth } = address(k, p, holder.slot));
  } else if (p.chance(30)) {
    nodeIndex = seL4_CapInitThreadCNode;
    nodeDepth = 32;
  }
  const size = 2 ** (k.cnodes.get(dest) ?? 12);
  const offset = p.chance(3) ? size : pickEmpty(k, p).index % size;
  const count = p.chance(3) ? 255 + p.below(3) : p.chance(70) ? 1 : 1 + p.below(p.chance(90) ? 4 : 300);
  const a = perturb([untyped.slot.index, type, sizeBits, root, nodeIndex, nodeDepth, offset, count], p, step, [0, 3]);
  const normal = call('seL4_Untyped_Retype', a, (api) => api.seL4_Untyped_Retype(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!));
  return maybeShort(p, normal, InvocationLabel.UntypedRetype, a[0]!, [a[1]!, a[2]!, a[4]!, a[5]!, a[6]!, a[7]!], [a[3]!]);
}

type CopyLike = 'copy' | 'mint' | 'move' | 'mutate';

function resolveCopyLike(op: CopyLike, k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const badgeable = (o: Occupied) => (o.cap.type === 'endpoint' || o.cap.type === 'notification') && o.cap.badge === 0;
  const src = (op === 'mint' && p.chance(25) ? pickOccupied(k, p, badgeable) : undefined) ?? pickOccupied(k, p);
  if (!src) return null;
  const dest = p.chance(90) ? pickEmpty(k, p) : (pickOccupied(k, p)?.slot ?? pickEmpty(k, p));
  const d = address(k, p, dest);
  const s = { ...address(k, p, src.slot) };
  if (p.chance(3)) {
    // A source root that is not a CNode cap, sometimes with a depth out of range as well.
    s.service = pickOccupied(k, p, (o) => o.slot.cnode === k.rootCNode && o.cap.type !== 'cnode')?.slot.index ?? s.service;
    if (p.chance(50)) s.depth = p.chance(50) ? 0 : 33;
  }
  const base = [d.service, d.index, d.depth, s.service, s.index, s.depth];
  switch (op) {
    case 'copy': {
      const a = perturb([...base, rightsWord(p)], p, step, [0, 3]);
      const normal = call('seL4_CNode_Copy', a, (api) => api.seL4_CNode_Copy(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!));
      return maybeShort(p, normal, InvocationLabel.CNodeCopy, a[0]!, [a[1]!, a[2]!, a[4]!, a[5]!, a[6]!], [a[3]!]);
    }
    case 'mint': {
      const a = perturb([...base, rightsWord(p), capData(p, src)], p, step, [0, 3]);
      const normal = call('seL4_CNode_Mint', a, (api) => api.seL4_CNode_Mint(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!));
      return maybeShort(p, normal, InvocationLabel.CNodeMint, a[0]!, [a[1]!, a[2]!, a[4]!, a[5]!, a[6]!, a[7]!], [a[3]!]);
    }
    case 'move': {
      const a = perturb(base, p, step, [0, 3]);
      const normal = call('seL4_CNode_Move', a, (api) => api.seL4_CNode_Move(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!));
      return maybeShort(p, normal, InvocationLabel.CNodeMove, a[0]!, [a[1]!, a[2]!, a[4]!, a[5]!], [a[3]!]);
    }
    case 'mutate': {
      const a = perturb([...base, capData(p, src)], p, step, [0, 3]);
      const normal = call('seL4_CNode_Mutate', a, (api) => api.seL4_CNode_Mutate(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!));
      return maybeShort(p, normal, InvocationLabel.CNodeMutate, a[0]!, [a[1]!, a[2]!, a[4]!, a[5]!, a[6]!], [a[3]!]);
    }
  }
}

function resolveRotate(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const bothEmpty = p.chance(8);
  const src = bothEmpty ? undefined : pickOccupied(k, p);
  const pivot = bothEmpty ? undefined : pickOccupied(k, p);
  if (!bothEmpty && (!src || !pivot)) return null;
  const srcSlot = src?.slot ?? pickEmpty(k, p);
  const pivotSlot = pivot?.slot ?? pickEmpty(k, p);
  const dest = p.chance(20) ? srcSlot : p.chance(5) ? pivotSlot : pickEmpty(k, p);
  const d = address(k, p, dest);
  const pv = address(k, p, pivotSlot);
  const s = address(k, p, srcSlot);
  const a = perturb([d.service, d.index, d.depth, capData(p, pivot), pv.service, pv.index, pv.depth, capData(p, src), s.service, s.index, s.depth], p, step, [0, 4, 8]);
  const normal = call('seL4_CNode_Rotate', a, (api) =>
    api.seL4_CNode_Rotate(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!),
  );
  return maybeShort(p, normal, InvocationLabel.CNodeRotate, a[0]!, [a[1]!, a[2]!, a[3]!, a[5]!, a[6]!, a[7]!, a[9]!, a[10]!], [a[4]!, a[8]!]);
}

function resolveSlotOp(op: 'delete' | 'revoke' | 'cancelBadgedSends', k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const wanted =
    op === 'cancelBadgedSends'
      ? pickOccupied(k, p, (o) => o.cap.type === 'endpoint') ?? pickOccupied(k, p)
      : op === 'revoke' && p.chance(60)
        ? pickOccupied(k, p, (o) => o.cap.type === 'untyped' || o.cap.type === 'cnode' || o.cap.type === 'endpoint')
        : pickOccupied(k, p);
  const slot = wanted?.slot ?? pickEmpty(k, p);
  const at = address(k, p, slot);
  const a = perturb([at.service, at.index, at.depth], p, step, [0]);
  const name = { delete: 'seL4_CNode_Delete', revoke: 'seL4_CNode_Revoke', cancelBadgedSends: 'seL4_CNode_CancelBadgedSends' }[op];
  return call(name, a, (api) => {
    if (op === 'delete') api.seL4_CNode_Delete(a[0]!, a[1]!, a[2]!);
    else if (op === 'revoke') api.seL4_CNode_Revoke(a[0]!, a[1]!, a[2]!);
    else api.seL4_CNode_CancelBadgedSends(a[0]!, a[1]!, a[2]!);
  });
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
  InvocationLabel.InvalidInvocation,
  InvocationLabel.TCBSuspend,
];

/** An invocation of an existing cap with arbitrary label, length, message words and extra caps. */
function resolveRawInvocation(k: Knowledge, p: Picker): ResolvedCall {
  const label = p.chance(85) ? p.of(rawLabels)! : p.below(2 ** 20);
  const ownType = label === InvocationLabel.UntypedRetype ? 'untyped' : 'cnode';
  const own = p.chance(70) ? p.of(k.ofType(ownType, true)) : undefined;
  const target = own ? own.slot.index : p.chance(99) ? (p.of(k.inRoot())?.slot.index ?? p.below(64)) : p.word(0);
  const length = p.chance(80) ? p.below(9) : p.below(128);
  const extraCaps = p.below(4);
  const mrs = Array.from({ length: 8 }, (_, i) => (p.chance(50) ? p.below(40) : p.word(i)));
  const caps = Array.from({ length: 3 }, (_, i) => (p.chance(99) ? p.below(40) : p.word(i + 1)));
  const info = seL4_MessageInfo_new(label, p.chance(20) ? p.below(8) : 0, extraCaps, length);
  return call('seL4_Call', [target, info, ...mrs, ...caps], (api) => {
    mrs.forEach((v, i) => api.seL4_SetMR(i, v));
    caps.forEach((c, i) => api.seL4_SetCap(i, c));
    api.seL4_Call(target, info);
  });
}

/** A kernel entry with an arbitrary syscall number. */
function resolveRawSyscall(p: Picker): ResolvedCall {
  const numbers = [seL4_Syscall.seL4_SysYield, seL4_Syscall.seL4_SysNBSend, seL4_Syscall.seL4_SysSend, seL4_Syscall.seL4_SysRecv];
  const sysno = p.chance(98) ? p.of(numbers)! : p.word(2) | 0;
  // NBSend on a cptr that does not resolve does nothing at all; Send and Call would fault.
  const a0 = sysno === seL4_Syscall.seL4_SysNBSend && p.chance(25) ? (0xfffff000 | p.below(4096)) >>> 0 : p.below(40);
  const info = seL4_MessageInfo_new(InvocationLabel.CNodeDelete, 0, 0, 2);
  const index = p.below(64);
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

/** Turns a generated step into a concrete call, given what the CSpace holds now. */
export function resolveStep(step: WorkloadStep, k: Knowledge): ResolvedCall {
  const p = new Picker(step);
  let resolved: ResolvedCall | null;
  switch (step.op) {
    case 'retype':
      resolved = resolveRetype(k, p, step);
      break;
    case 'copy':
    case 'mint':
    case 'move':
    case 'mutate':
      resolved = resolveCopyLike(step.op, k, p, step);
      break;
    case 'rotate':
      resolved = resolveRotate(k, p, step);
      break;
    case 'delete':
    case 'revoke':
    case 'cancelBadgedSends':
      resolved = resolveSlotOp(step.op, k, p, step);
      break;
    case 'rawInvocation':
      resolved = resolveRawInvocation(k, p);
      break;
    case 'rawSyscall':
      resolved = resolveRawSyscall(p);
      break;
  }
  return resolved ?? resolveRawInvocation(k, p);
}
