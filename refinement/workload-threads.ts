// The workload's threads and scheduling: TCBs, scheduling contexts and IPC-buffer frames are
// retyped, configured to share the root task's CSpace and VSpace, given budgets, periods and
// priorities, resumed and suspended in every state; time passes and threads fault. Whoever is
// current makes the call: a thread above the root task's priority runs the workload until it
// gives the processor back (it suspends itself, lowers its priority, faults, or its budget ends).
import {
  InvocationLabel,
  TCBSlot,
  maxPeriodMicroseconds,
  maxTicks,
  minBudgetMicroseconds,
  seL4_CanRead,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_IPCBufferSizeBits,
  seL4_MaxPrio,
  seL4_MinSchedContextBits,
  seL4_NotificationBits,
  seL4_ObjectType,
  seL4_PageBits,
  seL4_SchedContext_Sporadic,
  ticksToUs,
  type CapOf,
  type ObjectView,
  type SchedulerView,
  timeWords,
} from '../libsel4/index.ts';
import { momentOf } from './coverage.ts';
import type { Knowledge } from './knowledge.ts';
import { wakeRoot } from './workload-ipc.ts';
import { Picker, call, freeBytes, perturb, pickEmpty, retypeCall, shaped, type ResolvedCall } from './workload-picks.ts';
import type { RunStyle, WorkloadStep } from './workload.ts';

export const threadOperations = [
  'threadObject',
  'setupThread',
  'schedControl',
  'priority',
  'schedContext',
  'resumeSuspend',
  'threadRegisters',
  'notificationBinding',
  'yield',
  'passTime',
  'exception',
] as const;
export type ThreadOperation = (typeof threadOperations)[number];

type TcbView = Extract<ObjectView, { type: 'tcb' }>;
type ScView = Extract<ObjectView, { type: 'schedcontext' }>;

/** A cap in the root CNode (its cptr is its index) and the object it names. */
interface Held<C, O> {
  readonly cptr: number;
  readonly cap: C;
  readonly object: O;
}
type HeldThread = Held<CapOf<'thread'>, TcbView>;
type HeldSchedContext = Held<CapOf<'schedcontext'>, ScView>;

function heldThreads(k: Knowledge): HeldThread[] {
  const v = k.view();
  return k.ofType('thread', true).flatMap((o) => {
    const object = v.object(o.cap.ptr);
    return object?.type === 'tcb' ? [{ cptr: o.slot.index, cap: o.cap, object }] : [];
  });
}

function heldSchedContexts(k: Knowledge): HeldSchedContext[] {
  const v = k.view();
  return k.ofType('schedcontext', true).flatMap((o) => {
    const object = v.object(o.cap.ptr);
    return object?.type === 'schedcontext' ? [{ cptr: o.slot.index, cap: o.cap, object }] : [];
  });
}

/** Where a thread is: what Resume and Suspend are drawn against. */
type Whereabouts = 'current' | 'ready' | 'released' | 'inactive' | 'other';

/** Where each thread is, read from the scheduler once. */
function placesOf(k: Knowledge): (tcb: TcbView) => Whereabouts {
  const v = k.view();
  const current = v.current();
  const s = v.scheduler();
  return (tcb) => whereabouts(tcb, current, s);
}

function whereabouts(tcb: TcbView, current: number | null, s: SchedulerView): Whereabouts {
  if (current === tcb.addr) return 'current';
  if (s.readyQueues.some((q) => q.threads.includes(tcb.addr))) return 'ready';
  if (s.releaseQueue.includes(tcb.addr)) return 'released';
  return tcb.state === 'Inactive' ? 'inactive' : 'other';
}

/** A thread cap: another thread than the root task's most of the time, in the given place when one is. */
function pickThread(k: Knowledge, p: Picker, where?: Whereabouts): HeldThread | undefined {
  const all = heldThreads(k);
  const placeOf = placesOf(k);
  const placed = where === undefined ? all : all.filter((t) => placeOf(t.object) === where);
  const from = placed.length > 0 ? placed : all;
  const created = from.filter((t) => t.object.addr !== k.rootTCB);
  return p.of(created.length > 0 && p.chance(80) ? created : from);
}

/** The cptr of a cap of another type than `type` (InvalidCapability, IllegalOperation), or the null slot. */
function otherCap(k: Knowledge, p: Picker, type: string): number {
  return p.of(k.inRoot().filter((o) => o.cap.type !== type))?.slot.index ?? 0;
}

const T = seL4_ObjectType;

/**
 * One TCB, scheduling context, notification (to bind) or 4 KiB frame (an IPC buffer) from an
 * untyped with room, into an empty root slot.
 */
function resolveThreadObject(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const roll = p.below(100);
  const type = roll < 35 ? T.seL4_TCBObject : roll < 65 ? T.seL4_SchedContextObject : roll < 80 ? T.seL4_NotificationObject : T.seL4_RISCV_4K_Page;
  const sizeBits = type !== T.seL4_SchedContextObject ? 0 : p.chance(80) ? seL4_MinSchedContextBits + p.below(3) : seL4_MinSchedContextBits - 1;
  const bytes = type === T.seL4_NotificationObject ? 2 ** seL4_NotificationBits
    : 2 ** (type === T.seL4_TCBObject ? 10 : type === T.seL4_SchedContextObject ? Math.max(sizeBits, seL4_MinSchedContextBits) : seL4_PageBits);
  // Room left, or untouched since boot (a full untyped without children is reset by the Retype).
  const roomy = (u: CapOf<'untyped'>) => freeBytes(u) >= bytes || (u.freeIndex === 2 ** u.sizeBits && 2 ** u.sizeBits >= 4 * bytes);
  const untyped = p.of(k.ofType('untyped', true).filter((u) => !u.cap.isDevice && roomy(u.cap)));
  if (!untyped) return null;
  // Threads and contexts two at a time now and then: they come to run side by side.
  const count = p.chance(type === T.seL4_RISCV_4K_Page ? 85 : 60) ? 1 : 2 + p.below(2);
  const offset = k.freeRun(k.rootCNode, count, p.below(2 ** k.rootRadix())) ?? pickEmpty(k, p, true).index;
  return retypeCall(k, p, step, [untyped.slot.index, type, sizeBits, seL4_CapInitThreadCNode, 0, 0, offset, count]);
}

/** An IPC buffer address: aligned to seL4_IPCBufferSizeBits, now and then not (AlignmentError). */
function bufferAddress(p: Picker): number {
  const aligned = 0x40000000 + p.below(8) * 2 ** seL4_IPCBufferSizeBits;
  return p.chance(90) ? aligned : aligned + 4 * (1 + p.below(100));
}

/** A frame for an IPC buffer: a 4 KiB non-device frame mostly, else any cap (IllegalOperation) or none. */
function bufferFrame(k: Knowledge, p: Picker): number {
  const frames = k.ofType('frame', true).filter((f) => !f.cap.isDevice && f.cap.sizeBits === seL4_PageBits);
  if (frames.length > 0 && p.chance(85)) return p.of(frames)!.slot.index;
  return p.chance(50) ? otherCap(k, p, 'frame') : 0;
}

/** TCB_Configure: the root CNode as CSpace, the root VSpace, an IPC buffer; or SetSpace, or SetIPCBuffer. */
function configureCall(k: Knowledge, p: Picker, step: WorkloadStep, t: HeldThread): ResolvedCall {
  const cspace = p.chance(92) ? seL4_CapInitThreadCNode : otherCap(k, p, 'cnode');
  const vspace = p.chance(92) ? seL4_CapInitThreadVSpace : otherCap(k, p, 'pagetable');
  const withBuffer = p.chance(85);
  const buffer = withBuffer ? bufferAddress(p) : 0;
  const frame = withBuffer ? bufferFrame(k, p) : 0;
  const how = p.below(10);
  if (how < 6) {
    const a = perturb([t.cptr, cspace, 0, vspace, 0, buffer, frame], k, p, step, [0, 1, 3, 6]);
    const normal = call('seL4_TCB_Configure', a, (api) => api.seL4_TCB_Configure(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!));
    return shaped(p, normal, { label: InvocationLabel.TCBConfigure, service: a[0]!, mrs: [a[2]!, a[4]!, a[5]!], caps: [a[1]!, a[3]!, a[6]!] });
  }
  if (how < 9) {
    const faultEp = p.chance(85) ? 0 : (p.of(k.ofType('endpoint', true))?.slot.index ?? otherCap(k, p, 'endpoint'));
    const a = perturb([t.cptr, faultEp, cspace, 0, vspace, 0], k, p, step, [0, 1, 2, 4]);
    const normal = call('seL4_TCB_SetSpace', a, (api) => api.seL4_TCB_SetSpace(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!));
    return shaped(p, normal, { label: InvocationLabel.TCBSetSpace, service: a[0]!, mrs: [a[3]!, a[5]!], caps: [a[1]!, a[2]!, a[4]!] });
  }
  const a = perturb([t.cptr, bufferAddress(p), bufferFrame(k, p)], k, p, step, [0, 2]);
  const normal = call('seL4_TCB_SetIPCBuffer', a, (api) => api.seL4_TCB_SetIPCBuffer(a[0]!, a[1]!, a[2]!));
  return shaped(p, normal, { label: InvocationLabel.TCBSetIPCBuffer, service: a[0]!, mrs: [a[1]!], caps: [a[2]!] });
}

/** MIN_REFILLS: the refills of a context configured with no extra ones. */
const minRefills = 2;

/** Whether a scheduling context has been given a budget (SchedControl_ConfigureFlags). */
const configured = (sc: ScView) => sc.refillMax > 0;

/**
 * The next thing a thread that cannot run yet lacks: a CSpace and IPC buffer, a scheduling
 * context (made, configured, bound), a priority, Resume. So threads come to run in a few steps.
 */
function resolveSetupThread(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const threads = heldThreads(k).filter((t) => t.object.addr !== k.rootTCB);
  const placeOf = placesOf(k);
  const ready = threads.filter((t) => placeOf(t.object) === 'ready');
  if (ready.length > 0 && p.chance(35)) {
    // Now and then the lowest of them: every ready thread runs before the root task again.
    const lowest = ready.reduce((low, t) => (t.object.priority < low.object.priority ? t : low));
    return preemptCall(k, p, p.chance(50) ? lowest : p.of(ready)!);
  }
  const t = p.of(threads.filter((t) => t.object.state === 'Inactive' || t.object.schedContext === null));
  if (!t) return resolveThreadObject(k, p, step);
  const v = k.view();
  const slotCap = (index: number) => v.cap({ cnode: t.object.addr, index });
  if ((slotCap(TCBSlot.cspace)?.type ?? 'null') === 'null' || ((slotCap(TCBSlot.ipcBuffer)?.type ?? 'null') === 'null' && p.chance(40))) {
    return configureCall(k, p, step, t);
  }
  const contexts = heldSchedContexts(k);
  const own = contexts.find((sc) => sc.object.addr === t.object.schedContext);
  if (own && !configured(own.object)) return configureFlagsCall(k, p, step, own.cptr);
  if (!own) {
    const free = contexts.filter((sc) => sc.object.tcb === null);
    const ready = free.filter((sc) => configured(sc.object));
    if (ready.length === 0) return free.length > 0 ? configureFlagsCall(k, p, step, p.of(free)!.cptr) : resolveThreadObject(k, p, step);
    const sc = p.of(ready)!;
    if (p.chance(50)) return bindCall(k, p, step, sc.cptr, t.cptr);
    return schedParamsCall(k, p, step, t, sc.cptr);
  }
  if (t.object.priority === 0 && p.chance(50)) {
    // Alongside another thread now and then: woken together, they meet in one ready queue.
    const peer = p.chance(50) ? p.of(threads.filter((o) => o !== t && o.object.priority > 0)) : undefined;
    return peer ? setPriorityCall(t.cptr, peer.object.priority) : priorityCall(k, p, step, t);
  }
  return tcbCall('Resume', t.cptr, k, p, step);
}

/**
 * A ready thread gets the processor: the root task lowers its own priority below the thread's
 * (or to it: they share the processor round robin), or raises the thread's to its own or above.
 */
function preemptCall(k: Knowledge, p: Picker, t: HeldThread): ResolvedCall {
  const rootPrio = rootPriority(k);
  const raise = p.chance(50) && rootPrio < seL4_MaxPrio;
  const [target, prio] = raise
    ? [t.cptr, p.chance(30) ? rootPrio : rootPrio + 1 + p.below(seL4_MaxPrio - rootPrio)]
    : [seL4_CapInitThreadTCB, p.chance(30) ? t.object.priority : p.below(Math.max(1, t.object.priority))];
  return setPriorityCall(target, prio);
}

/** SetPriority of `target` with the root task's TCB as authority (MCP 255). */
export function setPriorityCall(target: number, prio: number): ResolvedCall {
  return call('seL4_TCB_SetPriority', [target, seL4_CapInitThreadTCB, prio], (api) => void api.seL4_TCB_SetPriority(target, seL4_CapInitThreadTCB, prio));
}

export const schedControlCptr = (k: Knowledge) => k.ofType('schedcontrol', true)[0]?.slot.index ?? 0;

/** A budget and a period in µs: round robin (equal), sporadic (period longer), or at and past the bounds. */
function budgetAndPeriod(p: Picker): [bigint, bigint] {
  const min = minBudgetMicroseconds;
  const usual = () => min + BigInt(p.of([0, 5, 30, 80, 480, 980, 4980, p.below(20000)])!);
  const way = p.below(10);
  if (way < 3) {
    const budget = usual();
    return [budget, budget];
  }
  if (way < 8) {
    // Short periods: a thread whose refills wait for their release is released within a few steps.
    const budget = min + BigInt(p.of([0, 5, 30, 80, 480])!);
    return [budget, budget * BigInt(2 + p.below(p.chance(70) ? 4 : 12)) + BigInt(p.below(3))];
  }
  const bounds = [0n, min - 1n, min, maxPeriodMicroseconds, maxPeriodMicroseconds + 1n, maxTicks];
  const budget = p.of(bounds)!;
  return [budget, p.chance(50) ? p.of(bounds)! : budget - 1n < 0n ? 0n : budget - 1n];
}

interface SchedParams {
  readonly budgetUs: bigint;
  readonly periodUs: bigint;
  readonly extraRefills: number;
  readonly flags: number;
}

/**
 * The parameters of a configured sporadic or constant-bandwidth context other than the root
 * task's: threads configured alike and resumed at one time are released together.
 */
function paramsLike(k: Knowledge, p: Picker, scCptr: number, among: readonly HeldSchedContext[] = heldSchedContexts(k)): SchedParams | undefined {
  const rootContext = rootThread(k)?.schedContext;
  const like = p.of(among.filter((sc) => sc.cptr !== scCptr && sc.object.addr !== rootContext && sc.object.periodTicks > 0n));
  if (!like) return undefined;
  const budgetTicks = like.object.refills.reduce((sum, r) => sum + r.amountTicks, 0n);
  const flags = like.object.sporadic ? seL4_SchedContext_Sporadic : 0;
  return { budgetUs: ticksToUs(budgetTicks), periodUs: ticksToUs(like.object.periodTicks), extraRefills: like.object.refillMax - minRefills, flags };
}

function drawnParams(p: Picker): SchedParams {
  const [budgetUs, periodUs] = budgetAndPeriod(p);
  const extraRefills = p.chance(85) ? p.below(4) : p.of([p.below(64), 0xffffffff, p.word(6)])!;
  const flags = p.chance(50) ? seL4_SchedContext_Sporadic : p.chance(90) ? 0 : p.word(5);
  return { budgetUs, periodUs, extraRefills, flags };
}

function configureFlagsCall(k: Knowledge, p: Picker, step: WorkloadStep, scCptr: number, like?: SchedParams): ResolvedCall {
  const { budgetUs: budget, periodUs: period, extraRefills, flags } = like ?? (p.chance(55) ? paramsLike(k, p, scCptr) : undefined) ?? drawnParams(p);
  const badge = p.chance(50) ? 0 : p.word(7);
  const a = perturb([schedControlCptr(k), scCptr, extraRefills, badge, flags], k, p, step, [0, 1]);
  const normal = {
    text: `seL4_SchedControl_ConfigureFlags(${a[0]}, ${a[1]}, ${budget}, ${period}, ${a.slice(2).join(', ')})`,
    run: (api: Parameters<ResolvedCall['run']>[0]) => void api.seL4_SchedControl_ConfigureFlags(a[0]!, a[1]!, budget, period, a[2]!, a[3]!, a[4]!),
  };
  const mrs = [...timeWords(budget), ...timeWords(period), a[2]!, a[3]!, a[4]!];
  return shaped(p, normal, { label: InvocationLabel.SchedControlConfigureFlags, service: a[0]!, mrs, caps: [a[1]!] });
}

/** SchedControl_ConfigureFlags on a scheduling context (the root task's now and then), or on another cap. */
function resolveSchedControl(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall {
  const rootContext = rootThread(k)?.schedContext;
  const contexts = heldSchedContexts(k).filter((sc) => sc.object.addr !== rootContext || p.chance(5));
  // A ready thread's context made like another ready thread's: both refills start now, alike,
  // so once both budgets are spent the two threads wait for the same release time.
  const placeOf = placesOf(k);
  const v = k.view();
  const readyContexts = contexts.filter((sc) => {
    const t = sc.object.tcb === null ? null : v.object(sc.object.tcb);
    return t?.type === 'tcb' && placeOf(t) === 'ready';
  });
  const twin = readyContexts.length > 1 && p.chance(50) ? p.of(readyContexts)! : undefined;
  const like = twin && paramsLike(k, p, twin.cptr, readyContexts);
  if (twin && like) return configureFlagsCall(k, p, step, twin.cptr, like);
  const target = p.chance(93) ? (p.of(contexts)?.cptr ?? otherCap(k, p, 'schedcontext')) : otherCap(k, p, 'schedcontext');
  return configureFlagsCall(k, p, step, target);
}

/** The root task's TCB now (null once it is gone). */
function rootThread(k: Knowledge): TcbView | null {
  const root = k.view().object(k.rootTCB);
  return root?.type === 'tcb' ? root : null;
}

/** The root task's priority now. */
export function rootPriority(k: Knowledge): number {
  return rootThread(k)?.priority ?? seL4_MaxPrio;
}

/**
 * A priority for `t`: for another thread mostly below the root task's (it keeps the processor),
 * now and then above it; for the root task, lower than it is (others run) or back to the top;
 * and at and past the bounds the authority's MCP sets.
 */
function priorityFor(k: Knowledge, p: Picker, t: HeldThread, authorityMcp: number): number {
  const rootPrio = rootPriority(k);
  if (p.chance(12)) return p.of([0, seL4_MaxPrio, seL4_MaxPrio + 1, authorityMcp, authorityMcp + 1, 0xffffffff])!;
  if (t.object.addr === k.rootTCB) return p.chance(40) ? seL4_MaxPrio : 100 + p.below(seL4_MaxPrio - 100);
  if (rootPrio < seL4_MaxPrio && p.chance(20)) return rootPrio + 1 + p.below(seL4_MaxPrio - rootPrio);
  return p.chance(20) ? rootPrio : p.below(Math.max(1, rootPrio));
}

/** The authority of a priority change: the root task's TCB (MCP 255) mostly, another thread's, or another cap. */
function authority(k: Knowledge, p: Picker): { cptr: number; mcp: number } {
  const roll = p.below(100);
  if (roll < 80) return { cptr: seL4_CapInitThreadTCB, mcp: seL4_MaxPrio };
  const other = roll < 92 ? pickThread(k, p) : undefined;
  return other ? { cptr: other.cptr, mcp: other.object.mcp } : { cptr: otherCap(k, p, 'thread'), mcp: 0 };
}

function priorityCall(k: Knowledge, p: Picker, step: WorkloadStep, t: HeldThread): ResolvedCall {
  const auth = authority(k, p);
  const mcp = p.chance(70);
  // The root task keeps its MCP of 255 most of the time: it is the authority of most priority changes.
  const mcpValue = t.object.addr === k.rootTCB && p.chance(90) ? seL4_MaxPrio : p.chance(80) ? p.below(seL4_MaxPrio + 1) : priorityFor(k, p, t, auth.mcp);
  const value = mcp ? mcpValue : priorityFor(k, p, t, auth.mcp);
  const a = perturb([t.cptr, auth.cptr, value], k, p, step, [0, 1]);
  if (mcp && p.chance(40)) {
    const normal = call('seL4_TCB_SetMCPriority', a, (api) => api.seL4_TCB_SetMCPriority(a[0]!, a[1]!, a[2]!));
    return shaped(p, normal, { label: InvocationLabel.TCBSetMCPriority, service: a[0]!, mrs: [a[2]!], caps: [a[1]!] });
  }
  const normal = call('seL4_TCB_SetPriority', a, (api) => api.seL4_TCB_SetPriority(a[0]!, a[1]!, a[2]!));
  return shaped(p, normal, { label: InvocationLabel.TCBSetPriority, service: a[0]!, mrs: [a[2]!], caps: [a[1]!] });
}

/** SetSchedParams: MCP, priority, a scheduling context (kept, another, none, or another cap), a fault endpoint. */
function schedParamsCall(k: Knowledge, p: Picker, step: WorkloadStep, t: HeldThread, scCptr?: number): ResolvedCall {
  const auth = authority(k, p);
  const contexts = heldSchedContexts(k);
  const own = contexts.find((sc) => sc.object.addr === t.object.schedContext)?.cptr;
  // The root task keeps its own context most of the time: without one it cannot run.
  const keep = own !== undefined && p.chance(t.object.addr === k.rootTCB ? 90 : 50);
  const sc = scCptr ?? (keep ? own : p.chance(60) ? (p.of(contexts)?.cptr ?? 0) : p.chance(50) ? 0 : otherCap(k, p, 'schedcontext'));
  const faultEp = p.chance(85) ? 0 : (p.of(k.ofType('endpoint', true))?.slot.index ?? otherCap(k, p, 'endpoint'));
  const mcp = t.object.addr === k.rootTCB && p.chance(90) ? seL4_MaxPrio : p.below(seL4_MaxPrio + 1);
  const a = perturb([t.cptr, auth.cptr, mcp, priorityFor(k, p, t, auth.mcp), sc, faultEp], k, p, step, [0, 1, 4, 5]);
  const normal = call('seL4_TCB_SetSchedParams', a, (api) => api.seL4_TCB_SetSchedParams(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!));
  return shaped(p, normal, { label: InvocationLabel.TCBSetSchedParams, service: a[0]!, mrs: [a[2]!, a[3]!], caps: [a[1]!, a[4]!, a[5]!] });
}

function resolvePriority(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const t = p.chance(20) ? heldThreads(k).find((h) => h.object.addr === k.rootTCB) : pickThread(k, p);
  if (!t) return null;
  return p.chance(65) ? priorityCall(k, p, step, t) : schedParamsCall(k, p, step, t);
}

/** What UnbindObject names: mostly the SC's notification or thread, else another thread or cap. */
function unbindObjectTarget(k: Knowledge, p: Picker, sc: HeldSchedContext): number {
  const ntfn = k.ofType('notification', true).find((n) => n.cap.ptr === sc.object.notification);
  if (ntfn && p.chance(40)) return ntfn.slot.index;
  const holder = heldThreads(k).find((t) => t.object.addr === sc.object.tcb);
  if (holder && p.chance(80)) return holder.cptr;
  return p.chance(70) ? (pickThread(k, p)?.cptr ?? 0) : otherCap(k, p, 'thread');
}

function bindCall(k: Knowledge, p: Picker, step: WorkloadStep, scCptr: number, tcbCptr: number): ResolvedCall {
  const a = perturb([scCptr, tcbCptr], k, p, step, [0, 1]);
  const normal = call('seL4_SchedContext_Bind', a, (api) => api.seL4_SchedContext_Bind(a[0]!, a[1]!));
  return shaped(p, normal, { label: InvocationLabel.SchedContextBind, service: a[0]!, mrs: [], caps: [a[1]!] });
}

/** Bind, Unbind, UnbindObject, Consumed and YieldTo on scheduling contexts bound or not, to threads with or without one, and to notifications. */
function resolveSchedContext(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const contexts = heldSchedContexts(k);
  const current = k.view().current();
  // Bound to a thread that does not run now: what Unbind, UnbindObject and YieldTo act on.
  const boundElsewhere = contexts.filter((sc) => sc.object.tcb !== null && sc.object.tcb !== current);
  const sc = (p.chance(60) ? p.of(boundElsewhere) : undefined) ?? p.of(contexts);
  if (!sc) return null;
  const roll = p.below(100);
  if (roll < 30) {
    if (p.chance(25)) return bindCall(k, p, step, sc.cptr, notificationCap(k, p, 'schedContext'));
    const unbound = heldThreads(k).filter((t) => t.object.schedContext === null);
    const t = (p.chance(70) ? p.of(unbound) : undefined) ?? pickThread(k, p);
    return bindCall(k, p, step, sc.cptr, t?.cptr ?? otherCap(k, p, 'thread'));
  }
  if (roll < 45) {
    const a = perturb([sc.cptr], k, p, step, [0]);
    return shaped(p, call('seL4_SchedContext_Unbind', a, (api) => api.seL4_SchedContext_Unbind(a[0]!)), { label: InvocationLabel.SchedContextUnbind, service: a[0]!, mrs: [], caps: [] });
  }
  if (roll < 60) {
    const unbindable = contexts.filter((c) => (c.object.tcb !== null && c.object.tcb !== current) || c.object.notification !== null);
    const target = (p.chance(80) ? p.of(unbindable) : undefined) ?? sc;
    const a = perturb([target.cptr, unbindObjectTarget(k, p, target)], k, p, step, [0, 1]);
    const normal = call('seL4_SchedContext_UnbindObject', a, (api) => api.seL4_SchedContext_UnbindObject(a[0]!, a[1]!));
    return shaped(p, normal, { label: InvocationLabel.SchedContextUnbindObject, service: a[0]!, mrs: [], caps: [a[1]!] });
  }
  const yieldTo = roll >= 75;
  const a = [sc.cptr];
  const name = yieldTo ? 'seL4_SchedContext_YieldTo' : 'seL4_SchedContext_Consumed';
  const normal = call(name, a, (api) => void (yieldTo ? api.seL4_SchedContext_YieldTo(a[0]!) : api.seL4_SchedContext_Consumed(a[0]!)));
  return shaped(p, normal, { label: yieldTo ? InvocationLabel.SchedContextYieldTo : InvocationLabel.SchedContextConsumed, service: a[0]!, mrs: [], caps: [] });
}

function tcbCall(op: 'Resume' | 'Suspend', cptr: number, k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall {
  const a = perturb([cptr], k, p, step, [0]);
  const normal = call(`seL4_TCB_${op}`, a, (api) => void (op === 'Resume' ? api.seL4_TCB_Resume(a[0]!) : api.seL4_TCB_Suspend(a[0]!)));
  return shaped(p, normal, { label: op === 'Resume' ? InvocationLabel.TCBResume : InvocationLabel.TCBSuspend, service: a[0]!, mrs: [], caps: [] });
}

const places: readonly Whereabouts[] = ['current', 'ready', 'released', 'inactive', 'other'];

/**
 * Whether a step may stop `tcb` (suspend it, or fault it): not the thread that runs while no
 * other that can make calls (one with a CSpace) is ready (only `endRun` ends runs; a thread
 * waiting for its release may wait long).
 */
export function mayStop(k: Knowledge, tcb: number): boolean {
  const v = k.view();
  if (tcb !== v.current()) return true;
  return v.scheduler().readyQueues.some((q) => q.threads.some((t) => v.cap({ cnode: t, index: TCBSlot.cspace })?.type === 'cnode'));
}

/** Resume or Suspend of a thread in each place: running, ready, waiting for its release, inactive. */
function resolveResumeSuspend(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const t = pickThread(k, p, p.of(places));
  if (!t) return null;
  const resume = p.chance(55) || !mayStop(k, t.object.addr);
  return tcbCall(resume ? 'Resume' : 'Suspend', t.cptr, k, p, step);
}

/**
 * BindNotification of a notification cap (mostly one with Read, bound or not; now and then another
 * cap or none), or UnbindNotification of a thread, mostly a bound one.
 */
function notificationBindingCall(k: Knowledge, p: Picker, step: WorkloadStep, t: HeldThread): ResolvedCall {
  const bound = heldThreads(k).filter((h) => h.object.boundNotification !== null);
  if (p.chance(bound.length > 0 ? 55 : 10)) {
    const target = (p.chance(90) ? p.of(bound) : undefined) ?? t;
    const a = perturb([target.cptr], k, p, step, [0]);
    const normal = call('seL4_TCB_UnbindNotification', a, (api) => void api.seL4_TCB_UnbindNotification(a[0]!));
    return shaped(p, normal, { label: InvocationLabel.TCBUnbindNotification, service: a[0]!, mrs: [], caps: [] });
  }
  const free = heldThreads(k).filter((h) => h.object.boundNotification === null);
  const thread = (p.chance(70) ? p.of(free) : undefined) ?? t;
  const a = perturb([thread.cptr, notificationCap(k, p, 'tcb')], k, p, step, [0, 1]);
  const normal = call('seL4_TCB_BindNotification', a, (api) => void api.seL4_TCB_BindNotification(a[0]!, a[1]!));
  return shaped(p, normal, { label: InvocationLabel.TCBBindNotification, service: a[0]!, mrs: [], caps: [a[1]!] });
}

/**
 * A notification cap of the root CNode (85%; mostly one with Read whose `link` is free), else
 * another cap or the null slot.
 */
function notificationCap(k: Knowledge, p: Picker, link: 'tcb' | 'schedContext'): number {
  const v = k.view();
  const all = k.ofType('notification', true);
  const free = all.filter((n) => {
    const o = v.object(n.cap.ptr);
    return (n.cap.rights & seL4_CanRead) !== 0 && o?.type === 'notification' && o[link] === null;
  });
  const held = p.chance(85) ? ((p.chance(70) ? p.of(free) : undefined) ?? p.of(all)) : undefined;
  return held?.slot.index ?? otherCap(k, p, 'notification');
}

/** Bind/UnbindNotification on a thread. */
function resolveNotificationBinding(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const t = pickThread(k, p);
  return t ? notificationBindingCall(k, p, step, t) : null;
}

/** Read/Write/CopyRegisters, SetTLSBase, SetFlags, SetTimeoutEndpoint on a thread (the caller itself now and then). */
/**
 * How often a register, TLS or flags call is sent in another shape (short message, missing cap):
 * these calls are rare and their TruncatedMessage paths need the extra draws.
 */
const registerShapedPercent = 20;

function resolveThreadRegisters(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const current = k.view().current();
  const t = (p.chance(15) ? heldThreads(k).find((h) => h.object.addr === current) : undefined) ?? pickThread(k, p);
  if (!t) return null;
  const count = p.chance(85) ? 1 + p.below(32) : p.of([0, 33, 0xffffffff])!;
  const bit = () => p.chance(50);
  switch (p.below(6)) {
    case 0: {
      const suspend = p.chance(20) && mayStop(k, t.object.addr);
      const a = perturb([t.cptr, 0, count], k, p, step, [0]);
      const normal = call('seL4_TCB_ReadRegisters', [a[0]!, suspend ? 1 : 0, a[1]!, a[2]!], (api) => void api.seL4_TCB_ReadRegisters(a[0]!, suspend, a[1]!, a[2]!));
      return shaped(p, normal, { label: InvocationLabel.TCBReadRegisters, service: a[0]!, mrs: [(suspend ? 1 : 0) | (a[1]! << 8), a[2]!], caps: [] }, registerShapedPercent);
    }
    case 1: {
      const resume = p.chance(30);
      const regs = Array.from({ length: 32 }, (_, i) => (p.chance(70) ? p.below(4096) : p.word(i)));
      const a = perturb([t.cptr, 0, count], k, p, step, [0]);
      const normal = call('seL4_TCB_WriteRegisters', [a[0]!, resume ? 1 : 0, a[1]!, a[2]!], (api) => void api.seL4_TCB_WriteRegisters(a[0]!, resume, a[1]!, a[2]!, regs));
      const sent = regs.slice(0, Math.min(a[2]!, regs.length));
      return shaped(p, normal, { label: InvocationLabel.TCBWriteRegisters, service: a[0]!, mrs: [(resume ? 1 : 0) | (a[1]! << 8), a[2]!, ...sent], caps: [] }, registerShapedPercent);
    }
    case 2: {
      const held = p.chance(85) ? pickThread(k, p) : undefined;
      const source = held?.cptr ?? otherCap(k, p, 'thread');
      const flags = [bit() && (!held || mayStop(k, held.object.addr)), bit(), bit(), bit()] as const;
      const word = (flags[0] ? 1 : 0) | (flags[1] ? 2 : 0) | (flags[2] ? 4 : 0) | (flags[3] ? 8 : 0);
      const a = perturb([t.cptr, source], k, p, step, [0, 1]);
      const normal = call('seL4_TCB_CopyRegisters', [a[0]!, a[1]!, word], (api) => void api.seL4_TCB_CopyRegisters(a[0]!, a[1]!, flags[0], flags[1], flags[2], flags[3], 0));
      return shaped(p, normal, { label: InvocationLabel.TCBCopyRegisters, service: a[0]!, mrs: [word], caps: [a[1]!] }, registerShapedPercent);
    }
    case 3: {
      const a = perturb([t.cptr, p.word(2)], k, p, step, [0]);
      const normal = call('seL4_TCB_SetTLSBase', a, (api) => void api.seL4_TCB_SetTLSBase(a[0]!, a[1]!));
      return shaped(p, normal, { label: InvocationLabel.TCBSetTLSBase, service: a[0]!, mrs: [a[1]!], caps: [] }, registerShapedPercent);
    }
    case 4: {
      const a = perturb([t.cptr, p.chance(50) ? 0 : p.word(3), p.chance(50) ? p.below(4) : p.word(4)], k, p, step, [0]);
      const normal = call('seL4_TCB_SetFlags', a, (api) => void api.seL4_TCB_SetFlags(a[0]!, a[1]!, a[2]!));
      return shaped(p, normal, { label: InvocationLabel.TCBSetFlags, service: a[0]!, mrs: [a[1]!, a[2]!], caps: [] }, registerShapedPercent);
    }
    default: {
      const ep = p.chance(40) ? 0 : p.chance(70) ? (p.of(k.ofType('endpoint', true))?.slot.index ?? 0) : otherCap(k, p, 'endpoint');
      const a = perturb([t.cptr, ep], k, p, step, [0, 1]);
      const normal = call('seL4_TCB_SetTimeoutEndpoint', a, (api) => void api.seL4_TCB_SetTimeoutEndpoint(a[0]!, a[1]!));
      return shaped(p, normal, { label: InvocationLabel.TCBSetTimeoutEndpoint, service: a[0]!, mrs: [], caps: [a[1]!] }, registerShapedPercent);
    }
  }
}

const yieldCall = (): ResolvedCall => call('seL4_Yield', [], (api) => api.seL4_Yield());

/**
 * How long the current thread (or idle) computes: exactly up to the next release (and one tick
 * either side), nothing, a little, exactly up to the programmed deadline (and one tick either
 * side), a budget's worth, a lot, or all of time.
 */
function passTimeCall(k: Knowledge, p: Picker): ResolvedCall {
  const moment = momentOf(k.view());
  const s = moment.scheduler;
  const left = midBudgetTicks(k, s);
  // Part of what is left of a sporadic head refill: whatever switches next commits a partial use.
  if (left !== null && p.chance(40)) return passTicks(1n + BigInt(p.below(Number(left < 1_000_000n ? left : 1_000_000n))));
  const toDeadline = s.timerDeadlineTicks === null ? null : s.timerDeadlineTicks - s.clockTicks;
  const budgets = heldSchedContexts(k).flatMap((sc) => sc.object.refills.map((r) => r.amountTicks));
  // Up to the head's release, or now and then another waiting thread's: both are woken at once.
  const releaseTicks = s.releaseQueue.length > 1 && p.chance(40) ? releaseTimeOf(k, p.of(s.releaseQueue)!) : moment.releaseHeadTicks;
  const toRelease = releaseTicks === null ? null : releaseTicks - s.clockTicks;
  const roll = p.below(100);
  let ticks: bigint;
  if (toRelease !== null && roll < 30) ticks = toRelease + BigInt(p.of([0, 0, -1, 1])!);
  else if (roll < 5) ticks = 0n;
  else if (roll < 25) ticks = BigInt(1 + p.below(200));
  else if (roll < 55 && toDeadline !== null) ticks = toDeadline + BigInt(p.of([0, 0, 0, -1, 1])!);
  else if (roll < 75 && budgets.length > 0) ticks = p.of(budgets)!;
  else if (roll < 98) ticks = BigInt(p.below(10_000_000));
  else ticks = p.chance(50) ? 1n << 40n : maxTicks;
  return passTicks(ticks < 0n ? 0n : ticks);
}

/** When a thread waiting in the release queue is released: its head refill's release time. */
export function releaseTimeOf(k: Knowledge, tcb: number): bigint | null {
  const t = k.view().object(tcb);
  const sc = t?.type === 'tcb' && t.schedContext !== null ? k.view().object(t.schedContext) : null;
  return sc?.type === 'schedcontext' && sc.refills.length > 0 ? sc.refills[0]!.releaseTicks : null;
}

export function passTicks(amount: bigint): ResolvedCall {
  return { text: `passTime(${amount})`, run: (api) => void api.passTime(amount) };
}

/**
 * The ticks the current sporadic or constant-bandwidth context can still compute short of the
 * programmed deadline, less one (null: none, or round robin): a use that ends mid-budget.
 */
export function midBudgetTicks(k: Knowledge, s: SchedulerView): bigint | null {
  const sc = s.currentSchedContext === null ? null : k.view().object(s.currentSchedContext);
  if (sc?.type !== 'schedcontext' || sc.periodTicks === 0n || sc.refills.length === 0 || s.timerDeadlineTicks === null) return null;
  const budgetLeft = sc.refills[0]!.amountTicks - s.consumedTicks;
  const toDeadline = s.timerDeadlineTicks - s.clockTicks;
  const left = (budgetLeft < toDeadline ? budgetLeft : toDeadline) - 1n;
  return left > 0n ? left : null;
}

/** A user exception of the current thread (riscv scause values around the ones seL4 forwards as user exceptions). */
function exceptionCall(p: Picker): ResolvedCall {
  const number = p.of([0, 1, 2, 3, 4, 5, 6, 7, 0xffffffff])!;
  const code = p.word(1);
  return { text: `exception(${number}, ${code})`, run: (api) => void api.raiseException(number, code) };
}

/**
 * What a thread running instead of the root task does now and then, and always after a while:
 * resumes the root task if it was suspended, wakes it if it is blocked (workload-ipc.ts), gives
 * it its scheduling context back, or gives up the processor (suspends itself, lowers its
 * priority, yields, faults, or spends its budget).
 */
function giveBack(k: Knowledge, p: Picker, current: number): ResolvedCall {
  const root = rootThread(k);
  if (root?.state === 'Inactive') return call('seL4_TCB_Resume', [seL4_CapInitThreadTCB], (api) => void api.seL4_TCB_Resume(seL4_CapInitThreadTCB));
  const woken = root ? wakeRoot(k, p, root) : null;
  if (woken) return woken;
  if (root && root.schedContext === null) {
    return call('seL4_SchedContext_Bind', [seL4_CapInitThreadSC, seL4_CapInitThreadTCB], (api) => void api.seL4_SchedContext_Bind(seL4_CapInitThreadSC, seL4_CapInitThreadTCB));
  }
  const own = heldThreads(k).find((t) => t.object.addr === current);
  const roll = p.below(100);
  if (!mayStop(k, current)) return roll < 50 ? yieldCall() : passTimeCall(k, p);
  if (own && roll < 45) return call('seL4_TCB_Suspend', [own.cptr], (api) => void api.seL4_TCB_Suspend(own.cptr));
  if (own && roll < 70) {
    return setPriorityCall(own.cptr, p.below(Math.max(1, rootPriority(k))));
  }
  if (roll < 80) return yieldCall();
  if (roll < 90) return exceptionCall(p);
  return passTimeCall(k, p);
}

/** Steps another thread may run before it gives the processor back for sure. */
const mostStepsAway = 12;

/**
 * What every step checks first: with no thread to run, time passes; a thread other than the
 * root task that has run for a while gives the processor back. Null: the step does what it drew.
 */
export function schedulingFirst(k: Knowledge, p: Picker, style: RunStyle): ResolvedCall | null {
  const current = k.view().current();
  if (current === null) return passTimeCall(k, p);
  style.stepsAway = current === k.rootTCB ? 0 : style.stepsAway + 1;
  // Threads waiting for their release get it: time passes now and then while the root task runs.
  if (current === k.rootTCB) return k.view().scheduler().releaseQueue.length > 0 && p.chance(15) ? passTimeCall(k, p) : null;
  // A sporadic thread that has computed part of its head refill gives the processor back more
  // often: the switch commits a partial use (refill_budget_check).
  const s = k.view().scheduler();
  const midBudget = midBudgetTicks(k, s) !== null;
  if (style.stepsAway > mostStepsAway || p.chance(midBudget && s.consumedTicks > 0n ? 35 : 12)) return giveBack(k, p, current);
  // Other threads compute more than the root task does: their budgets run out, their refills
  // wait; on sporadic contexts more so (their refills split, merge and wait).
  return p.chance(midBudget ? 35 : 20) ? passTimeCall(k, p) : null;
}

/** Each thread operation's resolver; null when it has nothing to act on (the caller draws another). */
const threadResolvers: Record<ThreadOperation, (k: Knowledge, p: Picker, step: WorkloadStep) => ResolvedCall | null> = {
  threadObject: resolveThreadObject,
  setupThread: resolveSetupThread,
  schedControl: resolveSchedControl,
  priority: resolvePriority,
  schedContext: resolveSchedContext,
  resumeSuspend: resolveResumeSuspend,
  threadRegisters: resolveThreadRegisters,
  notificationBinding: resolveNotificationBinding,
  yield: yieldCall,
  passTime: passTimeCall,
  // The thread that runs faulting with nothing else to run would end the run: time passes instead.
  exception: (k, p) => (mayStop(k, k.view().current() ?? k.rootTCB) ? exceptionCall(p) : passTimeCall(k, p)),
};

export function resolveThreadStep(op: ThreadOperation, step: WorkloadStep, k: Knowledge, p: Picker): ResolvedCall | null {
  return threadResolvers[op](k, p, step);
}
