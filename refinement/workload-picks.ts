// The parts every workload operation is built from: the picker that turns a step's raw
// choices into arguments, picking caps and slots from what the CSpace holds, perturbing
// arguments, and sending a call as libsel4 does or in another shape.
import { InvocationLabel, seL4_CapInitThreadCNode, seL4_MessageInfo_new, slotId, type CapOf, type Observation, type RaiseDuringEntry, type Sel4Api, type SlotRef } from '../libsel4/index.ts';
import type { Knowledge, Occupied, SlotAddress } from './knowledge.ts';
import type { RunStyle, WorkloadStep } from './workload.ts';

/**
 * What a step can do besides the running thread's libsel4 calls: a device raises an interrupt
 * (System.interrupt), or will raise one inside the next syscall (System.raiseDuringNext).
 */
export interface Devices {
  interrupt(irq: number): Observation;
  raiseDuringNext(raise: RaiseDuringEntry): void;
}

/** A concrete call as run, for reports: `seL4_CNode_Copy(2, 30, 32, 2, 18, 32, 0xf)`. */
export interface ResolvedCall {
  readonly text: string;
  run(api: Sel4Api, devices: Devices): void;
}

export class Picker {
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

export const hexWord = (w: number) => (w > 9 ? `0x${(w >>> 0).toString(16)}` : String(w));

export function call(name: string, args: readonly number[], run: (api: Sel4Api) => void): ResolvedCall {
  return { text: `${name}(${args.map(hexWord).join(', ')})`, run };
}

/** Addresses a slot from the root task; falls back to the root CNode cap with depth 32. */
export function address(k: Knowledge, p: Picker, slot: SlotRef): SlotAddress {
  const found = k.addresses(slot);
  return p.of(found) ?? { service: seL4_CapInitThreadCNode, index: slot.index, depth: 32 };
}

/**
 * An occupied slot, never one of the root task's vital caps (only `endRun` touches those), nor
 * one in the run's chain of copies, except now and then for a Delete or Revoke (`cutsChain`):
 * a copy or move of a member would leave its tip with a child, which cannot be copied.
 */
export function pickOccupied(k: Knowledge, p: Picker, filter?: (o: Occupied) => boolean, style?: RunStyle, cutsChain = false): Occupied | undefined {
  const spareChain = style !== undefined && style.chain.length > 0 && !(cutsChain && p.chance(style.deep ? 1 : 3));
  const inChain = (o: Occupied) => spareChain && style.chainKeys.has(slotId(o.slot));
  const keep = (o: Occupied) => !k.isVital(o) && (!filter || filter(o)) && !inChain(o);
  const recent = p.chance(30) ? k.recent().filter(keep) : [];
  return p.of(recent.length > 0 ? recent : k.all().filter(keep));
}

/** An empty slot, in the root CNode most of the time (or always). */
export function pickEmpty(k: Knowledge, p: Picker, rootOnly = false): SlotRef {
  const nested = rootOnly ? [] : [...k.cnodes.keys()].filter((c) => c !== k.rootCNode);
  const cnode = nested.length > 0 && p.chance(30) ? p.of(nested)! : k.rootCNode;
  const size = 2 ** k.cnodes.get(cnode)!;
  for (let tries = 0; tries < 8; tries++) {
    const slot = { cnode, index: p.below(size) };
    if (k.isEmpty(slot)) return slot;
  }
  return { cnode, index: p.below(size) };
}

/** A cptr the root task can resolve (the root CNode's radix, under its guard of zeros). */
export function resolvableCptr(k: Knowledge, p: Picker): number {
  return p.of([0, 1, 2 ** k.rootRadix() - 1, p.below(2 ** k.rootRadix())])!;
}

/**
 * Replaces one argument (sometimes two) with a boundary word, the argument plus or minus one,
 * or an arbitrary word. Arguments at `cptrs` (caps the root task invokes or passes) only get
 * cptrs that resolve: one that does not is a cap fault, which ends the run (see `endRun`); nor
 * one that names an endpoint: invoked, it is a Call that blocks the caller (the argument stays).
 */
export function perturb(args: number[], k: Knowledge, p: Picker, step: WorkloadStep, cptrs: readonly number[]): number[] {
  if (!step.perturb || args.length === 0) return args;
  const out = [...args];
  const boundary = [0, 1, 31, 32, 33, 0xffffffff, 0x80000000, p.word(0)];
  const times = p.chance(20) ? 2 : 1;
  for (let n = 0; n < times; n++) {
    const at = p.below(args.length);
    const cptr = cptrs.includes(at) ? resolvableCptr(k, p) : null;
    if (cptr !== null) out[at] = k.capAt({ cnode: k.rootCNode, index: cptr })?.type === 'endpoint' ? out[at]! : cptr;
    else out[at] = p.chance(40) ? (args[at]! + (p.chance(50) ? 1 : -1)) >>> 0 : p.of(boundary)!;
  }
  return out;
}

/** A message as the kernel sees it: syscall, label, words and extra caps. */
export interface Message {
  readonly label: number;
  readonly service: number;
  readonly mrs: readonly number[];
  readonly caps: readonly number[];
}

export const sendSyscalls = [
  ['seL4_Call', (api: Sel4Api, dest: number, info: number) => void api.seL4_Call(dest, info)],
  ['seL4_Send', (api: Sel4Api, dest: number, info: number) => api.seL4_Send(dest, info)],
  ['seL4_NBSend', (api: Sel4Api, dest: number, info: number) => api.seL4_NBSend(dest, info)],
] as const;

/**
 * Sends a message as `syscall` with `length` words and the given extra caps; `capsUnwrapped`
 * is a field only the kernel writes (on receive): a sender's value is ignored.
 */
export function send(syscall: (typeof sendSyscalls)[number], m: Message, length: number, caps: readonly number[], capsUnwrapped = 0): ResolvedCall {
  const info = seL4_MessageInfo_new(m.label, capsUnwrapped, caps.length, Math.max(0, length));
  const [name, enter] = syscall;
  return call(name, [m.service, info, ...m.mrs, ...caps], (api) => {
    m.mrs.forEach((v, i) => api.seL4_SetMR(i, v));
    caps.forEach((c, i) => api.seL4_SetCap(i, c));
    enter(api, m.service, info);
  });
}

/**
 * A well-formed invocation, sent as the libsel4 stub sends it most of the time; otherwise as
 * Call, Send or NBSend with every word, a word or two short, with an extra cap missing, or
 * (NBSend only: the others would fault) with an extra cap that does not resolve; and in any of
 * these shapes now and then with capsUnwrapped set. So each
 * length check is reached with arguments that pass the checks before it, on every syscall.
 */
export function shaped(p: Picker, normal: ResolvedCall, m: Message, percent = 8): ResolvedCall {
  if (!p.chance(percent)) return normal;
  const syscall = p.of(sendSyscalls)!;
  const shape = p.below(4);
  // Now and then with capsUnwrapped set, next to the extra-caps count in the message info.
  const unwrapped = p.chance(30) ? 1 + p.below(7) : 0;
  if (shape === 0 || (shape === 3 && syscall[0] !== 'seL4_NBSend')) return send(syscall, m, m.mrs.length, m.caps, unwrapped);
  if (shape === 1) return send(syscall, m, m.mrs.length - 1 - p.below(2), m.caps, unwrapped);
  if (shape === 2) return send(syscall, m, m.mrs.length, m.caps.slice(0, m.caps.length - 1 - p.below(m.caps.length)), unwrapped);
  const caps = [...m.caps];
  caps[p.below(caps.length)] = 0x80000000 | p.below(4096);
  return send(syscall, m, m.mrs.length, caps.length > 0 ? caps : [0xffffffff], unwrapped);
}

/** Untyped_Retype with `args` after the service (perturbed as the step says), in the shape the step picks. */
export function retypeCall(k: Knowledge, p: Picker, step: WorkloadStep, args: number[]): ResolvedCall {
  const a = perturb(args, k, p, step, [0, 3]);
  const normal = call('seL4_Untyped_Retype', a, (api) => api.seL4_Untyped_Retype(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!));
  return shaped(p, normal, { label: InvocationLabel.UntypedRetype, service: a[0]!, mrs: [a[1]!, a[2]!, a[4]!, a[5]!, a[6]!, a[7]!], caps: [a[3]!] });
}

/** Bytes an untyped has left. */
export const freeBytes = (u: CapOf<'untyped'>) => 2 ** u.sizeBits - u.freeIndex;
