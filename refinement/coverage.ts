// Coverage of a check in seL4 terms: how often each invocation or syscall was reached and what
// it answered, which of its documented errors were never returned, how often each invariant was
// checked, which abstract-spec choices were taken; summed over runs, batches and shards.
import { Reg, TCBSlot, accessKinds, errorName, preemptionPointKinds, invocationLabels, irqNodeRef, plicMaxIRQ, seL4_CanWrite, seL4_Syscall, seL4_UserTop, slotId, syscallFromWord, tcbSlotCount, timerPrecisionTicks, type AccessEvent, type AccessKind, type Cap, type FaultView, type IrqView, type KernelEvent, type KernelView, type Observation, type SchedulerView, type SlotRef, type ThreadState, type Touched } from '../libsel4/index.ts';
import { fastpathCallReasons, fastpathOutcomes, fastpathReplyRecvReasons } from '../impl/index.ts';
import type { Coverage } from './check.ts';

/** What one passing run contributed. */
export interface RunRecord {
  /** Entries checked. */
  readonly steps: number;
  /** (invocation or syscall, result) of each entry. */
  readonly entries: readonly (readonly [string, string])[];
  readonly choices: ReadonlyMap<string, number>;
  readonly invariants: ReadonlyMap<string, number>;
  /** Why the root task could no longer run, ending the run early (`faulted`, `lost its own caps (...)`); null if it did not. */
  readonly ended: string | null;
  /** How large the state was at the end of the run. */
  readonly size: StateSize;
}

/** Coverage keys of entries that are not syscalls, and of the scheduler's events. */
export const timeKey = 'Time';
export const interruptKey = 'Interrupt';
export const exceptionKey = 'UserException';
export const schedulerKey = 'Scheduler';

/** The scheduler's events a check counts, under the key `Scheduler` (see `schedulerEventsOf`). */
export const schedulerEvents = ['preemption', 'budget-expiry', 'release', 'round-robin', 'yield', 'idle'] as const;
export type SchedulerEvent = (typeof schedulerEvents)[number];

/** The lowest layer's scheduler at one moment, and the thread that runs then (null: the idle thread). */
export interface SchedulerMoment {
  readonly scheduler: SchedulerView;
  readonly current: number | null;
  /** When the head of the release queue is released (its context's head refill), if there is one. */
  readonly releaseHeadTicks: bigint | null;
}

export function momentOf(view: KernelView): SchedulerMoment {
  const scheduler = view.scheduler();
  const head = scheduler.releaseQueue.length > 0 ? view.object(scheduler.releaseQueue[0]!) : null;
  const sc = head?.type === 'tcb' && head.schedContext !== null ? view.object(head.schedContext) : null;
  const releaseHeadTicks = sc?.type === 'schedcontext' && sc.refills.length > 0 ? sc.refills[0]!.releaseTicks : null;
  return { scheduler, current: view.current(), releaseHeadTicks };
}

const isReady = (m: SchedulerMoment, tcb: number) => m.scheduler.readyQueues.some((q) => q.threads.includes(tcb));

/** Whether a thread runs, or will once time passes (one waits for its release). */
export function canRunAgain(m: SchedulerMoment): boolean {
  return m.current !== null || m.scheduler.releaseQueue.length > 0 || m.scheduler.readyQueues.length > 0;
}

/** Whether the timer interrupt came during a step: the clock reached the deadline programmed before it. */
export function timerFired(before: SchedulerMoment, after: SchedulerMoment): boolean {
  const deadline = before.scheduler.timerDeadlineTicks;
  return deadline !== null && after.scheduler.clockTicks >= deadline;
}

/**
 * The scheduler's events in one step, from the lowest layer's scheduler before and after it:
 * `release`, a thread left the release queue for a ready queue or the processor (awaken);
 * `budget-expiry`, time passed up to the programmed deadline while a thread's budget was charged,
 * and the deadline was not the release queue head's release; `round-robin`, on such an expiry another thread of the
 * same priority runs and the one that ran waits at the tail of its queue; `preemption`, another
 * thread runs, of higher priority than the one that ran, which is still ready; `yield`, a thread
 * called seL4_Yield; `idle`, a thread ran before and the idle thread runs after.
 */
export function schedulerEventsOf(before: SchedulerMoment, after: SchedulerMoment, event: KernelEvent, isYield: boolean, priority: (tcb: number) => number): SchedulerEvent[] {
  const events: SchedulerEvent[] = [];
  const was = before.current;
  const now = after.current;
  const released = before.scheduler.releaseQueue.filter((t) => !after.scheduler.releaseQueue.includes(t) && (t === now || isReady(after, t)));
  for (let n = 0; n < released.length; n++) events.push('release');
  // The deadline is programmed a timer precision early: one that close to a release is the release's.
  const forRelease = before.releaseHeadTicks !== null && before.scheduler.timerDeadlineTicks! + timerPrecisionTicks >= before.releaseHeadTicks;
  const expired = event.kind === 'time' && timerFired(before, after) && before.scheduler.currentSchedContext !== null && released.length === 0 && !forRelease;
  if (expired) events.push('budget-expiry');
  if (was !== null && now !== null && was !== now && isReady(after, was)) {
    const queue = after.scheduler.readyQueues.find((q) => q.threads.includes(was))!;
    if (priority(now) > priority(was)) events.push('preemption');
    else if (expired && priority(now) === priority(was) && queue.threads[queue.threads.length - 1] === was) events.push('round-robin');
  }
  if (isYield && was !== null) events.push('yield');
  if (was !== null && now === null) events.push('idle');
  return events;
}

/** The IPC events a check counts, under the key `IPC` (see `ThreadStates`). */
export const ipcKey = 'IPC';
export const ipcEvents = [
  'blocked-on-send',
  'blocked-on-receive',
  'blocked-on-reply',
  'blocked-on-notification',
  'woken',
  'restarted',
  'cancelled',
  'donation',
  'reply-return',
  'notification-lend',
] as const;
export type IpcEvent = (typeof ipcEvents)[number];

const blockedEvent: Partial<Record<ThreadState, IpcEvent>> = {
  BlockedOnSend: 'blocked-on-send',
  BlockedOnReceive: 'blocked-on-receive',
  BlockedOnReply: 'blocked-on-reply',
  BlockedOnNotification: 'blocked-on-notification',
};
/** What a thread that was blocked became: woken (Running), restarted (Restart: cancelAllIPC, cancelBadgedSends), cancelled (Inactive). */
const unblockedEvent: Partial<Record<ThreadState, IpcEvent>> = { Running: 'woken', Restart: 'restarted', Inactive: 'cancelled' };

interface ThreadMoment {
  readonly state: ThreadState;
  readonly schedContext: number | null;
}

/**
 * Every thread's state and scheduling context, kept up to date from the objects each entry
 * touched, to tell the IPC events of an entry: `blocked-on-*`, a thread entered that state;
 * `woken`, `restarted`, `cancelled`, a blocked thread became Running, Restart or Inactive;
 * `donation`, a scheduling context went from one thread to another (a Call to a passive
 * receiver, a first phase's send); `reply-return`, it went back to a caller that was
 * BlockedOnReply; `notification-lend`, a context bound to a notification was lent to a thread.
 */
export class ThreadStates {
  private readonly threads = new Map<number, ThreadMoment>();

  constructor(view: KernelView) {
    for (const o of view.objects()) if (o.type === 'tcb') this.threads.set(o.addr, { state: o.state, schedContext: o.schedContext });
  }

  /** The IPC events of one entry that touched `objects`; records the touched threads' new states. */
  step(view: KernelView, objects: Iterable<number>): IpcEvent[] {
    const events: IpcEvent[] = [];
    const changed: [number, ThreadMoment | null][] = [];
    for (const addr of objects) {
      const before = this.threads.get(addr);
      const o = view.object(addr);
      if (o?.type !== 'tcb') {
        if (before) changed.push([addr, null]);
        continue;
      }
      const after = { state: o.state, schedContext: o.schedContext };
      changed.push([addr, after]);
      if (before && after.state !== before.state) {
        const event = blockedEvent[after.state] ?? (blockedEvent[before.state] ? unblockedEvent[after.state] : undefined);
        if (event) events.push(event);
      }
      if (after.schedContext !== null && after.schedContext !== (before?.schedContext ?? null)) {
        const moved = this.movedContext(view, addr, before, after.schedContext);
        if (moved) events.push(moved);
      }
    }
    for (const [addr, after] of changed) {
      if (after) this.threads.set(addr, after);
      else this.threads.delete(addr);
    }
    return events;
  }

  /** How `thread` came to hold `sc`: from another thread, or lent by a notification while it was blocked (null: bound by an invocation). */
  private movedContext(view: KernelView, thread: number, before: ThreadMoment | undefined, sc: number): IpcEvent | null {
    const from = [...this.threads.entries()].find(([addr, t]) => addr !== thread && t.schedContext === sc);
    if (from) return before?.state === 'BlockedOnReply' ? 'reply-return' : 'donation';
    const o = view.object(sc);
    const wasBlocked = before !== undefined && blockedEvent[before.state] !== undefined;
    return wasBlocked && o?.type === 'schedcontext' && o.notification !== null ? 'notification-lend' : null;
  }
}

/**
 * What an `interrupt` event did with its line (the entry's result under `Interrupt`): `delivered`
 * (taken, the IRQ node slot's notification signalled), `delivered-no-handler` (taken with no
 * notification cap with Write installed: nothing signalled), `pending-masked` (the IRQ is
 * Inactive: the line stays pending), `pending-claimed` (an earlier delivery not yet acknowledged:
 * the line stays pending), `out-of-range` (no PLIC source 1..plicMaxIRQ: nothing happens).
 */
export const interruptResults = ['delivered', 'delivered-no-handler', 'pending-masked', 'pending-claimed', 'out-of-range'] as const;
export type InterruptResult = (typeof interruptResults)[number];

/** A PLIC source as an entry finds it: the line, and whether its IRQ node slot holds a notification cap with Write. */
export interface IrqLine {
  readonly line: IrqView;
  readonly slot: Cap | null;
}

const isSource = (irq: number) => irq >= 1 && irq <= plicMaxIRQ;

export function irqLineOf(view: KernelView, irq: number): IrqLine | null {
  return isSource(irq) ? { line: view.irq(irq), slot: view.cap({ cnode: irqNodeRef, index: irq }) } : null;
}

const signals = (slot: Cap | null) => slot?.type === 'notification' && (slot.rights & seL4_CanWrite) !== 0;

/** The result of an interrupt event, from its line before and after (null: out of range). */
export function interruptResult(before: IrqLine | null, after: IrqView | null): InterruptResult {
  if (before === null || after === null) return 'out-of-range';
  if (before.line.claimed) return 'pending-claimed';
  if (before.line.state === 'Inactive') return 'pending-masked';
  return after.claimed && signals(before.slot) ? 'delivered' : 'delivered-no-handler';
}

/** The IRQ events a check counts, under the key `IRQ` (see `IrqStates`). */
export const irqKey = 'IRQ';
export const irqEvents = [
  'issued',
  'handler-deleted',
  'notification-set',
  'notification-cleared',
  'ack-completes',
  'ack-redelivers',
  'issue-delivers-pending',
  'delivery-wakes-thread',
] as const;
export type IrqEvent = (typeof irqEvents)[number];

/**
 * The PLIC sources that are not as boot left them, kept up to date from each entry, to tell the
 * IRQ events of an entry: `issued` (Inactive to Signal: IRQControl_Get), `handler-deleted`
 * (Signal to Inactive: the last handler cap deleted), `notification-set` and
 * `notification-cleared` (the IRQ node slot's cap installed or replaced, or emptied),
 * `ack-completes` (a claim completed), `ack-redelivers` (a claim completed and the line, pending
 * meanwhile, delivered again at the entry's end), `issue-delivers-pending` (a Get unmasked a
 * pending line, delivered at the entry's end), `delivery-wakes-thread` (an interrupt event's
 * delivery woke a thread). Only lines that changed can: those not as at boot, those whose IRQ
 * node slot the entry touched, the event's own line, and every line on an IRQControl entry.
 */
export class IrqStates {
  private readonly lines = new Map<number, IrqLine>();

  constructor(view: KernelView) {
    for (let irq = 1; irq <= plicMaxIRQ; irq++) this.record(irq, irqLineOf(view, irq)!);
  }

  private record(irq: number, now: IrqLine): void {
    const { line, slot } = now;
    const asAtBoot = line.state === 'Inactive' && !line.pending && !line.claimed && (slot === null || slot.type === 'null');
    if (asAtBoot) this.lines.delete(irq);
    else this.lines.set(irq, now);
  }

  /** The line as recorded before this entry. */
  before(irq: number): IrqLine | null {
    return isSource(irq) ? (this.lines.get(irq) ?? { line: { irq, state: 'Inactive', pending: false, claimed: false }, slot: null }) : null;
  }

  /** The IRQ events of one entry (`key` its coverage key, `woke` whether it woke a thread); records the lines' new states. */
  step(view: KernelView, event: KernelEvent, key: string, touched: readonly Touched[], woke: boolean): IrqEvent[] {
    const candidates = new Set(this.lines.keys());
    for (const t of touched) for (const s of t.slots) if (s.cnode === irqNodeRef && isSource(s.index)) candidates.add(s.index);
    if (event.kind === 'interrupt' && isSource(event.irq)) candidates.add(event.irq);
    if (/IRQIssueIRQHandler/.test(key)) for (let irq = 1; irq <= plicMaxIRQ; irq++) candidates.add(irq);
    const events: IrqEvent[] = [];
    for (const irq of [...candidates].sort((a, b) => a - b)) {
      const before = this.before(irq)!;
      const after = irqLineOf(view, irq)!;
      events.push(...lineEvents(before, after, event.kind === 'interrupt' && event.irq === irq, woke));
      this.record(irq, after);
    }
    return events;
  }
}

const slotText = (cap: Cap | null) => (cap === null || cap.type === 'null' ? '' : JSON.stringify(cap));

function lineEvents(before: IrqLine, after: IrqLine, raised: boolean, woke: boolean): IrqEvent[] {
  const events: IrqEvent[] = [];
  const [b, a] = [before.line, after.line];
  if (b.state === 'Inactive' && a.state === 'Signal') events.push('issued');
  if (b.state === 'Signal' && a.state === 'Inactive') events.push('handler-deleted');
  if (slotText(before.slot) !== slotText(after.slot)) events.push(after.slot === null || after.slot.type === 'null' ? 'notification-cleared' : 'notification-set');
  const taken = b.pending && !a.pending && a.claimed;
  if (b.claimed && (!a.claimed || taken)) events.push(taken ? 'ack-redelivers' : 'ack-completes');
  else if (taken && b.state === 'Inactive') events.push('issue-delivers-pending');
  if (raised && woke && !b.claimed && a.claimed) events.push('delivery-wakes-thread');
  return events;
}

/** The fault events a check counts, under the key `Fault` (see `FaultStates`). */
export const faultKey = 'Fault';
export const faultEvents = [
  'delivered-cap-fault',
  'delivered-cap-fault-receive',
  'delivered-unknown-syscall',
  'delivered-user-exception',
  'delivered-timeout',
  'delivered-vm-fault',
  'reply-restart',
  'reply-no-restart',
  'cancelled',
  'timeout-on-reply',
] as const;
export type FaultEvent = (typeof faultEvents)[number];

const deliveredEvent: Record<FaultView['type'], FaultEvent | null> = {
  CapFault: 'delivered-cap-fault',
  UnknownSyscall: 'delivered-unknown-syscall',
  UserException: 'delivered-user-exception',
  Timeout: 'delivered-timeout',
  VMFault: 'delivered-vm-fault',
};

interface FaultMoment {
  readonly state: ThreadState;
  readonly fault: FaultView | null;
}

const sameFault = (a: FaultView | null, b: FaultView | null) => a?.type === b?.type && a?.words.join() === b?.words.join();

/** Entries that reply through a reply cap: a send on it, or a syscall whose first phase may. */
const replyEntry = /( to reply|^seL4_Sys(ReplyRecv|NBSendRecv|NBSendWait))$/;

/**
 * Every thread's state and pending fault, kept up to date from the objects each entry touched,
 * to tell the fault events of an entry: `delivered-*`, a faulted thread's message reached a
 * handler (it is now BlockedOnReply, or Inactive while a receiver was woken); `reply-restart`,
 * `reply-no-restart`, a reply cleared the fault of a thread blocked on it, leaving it Restart or
 * Inactive; `cancelled`, the fault was cleared otherwise (its reply deleted, it was suspended);
 * `timeout-on-reply`, a reply to a thread left it with a timeout fault (doReplyTransfer).
 */
export class FaultStates {
  private readonly threads = new Map<number, FaultMoment>();

  constructor(view: KernelView) {
    for (const o of view.objects()) if (o.type === 'tcb') this.threads.set(o.addr, { state: o.state, fault: o.fault });
  }

  /** The fault events of the entry `key` that touched `objects`; records the touched threads' states. */
  step(view: KernelView, objects: Iterable<number>, key: string): FaultEvent[] {
    const moments: [number, FaultMoment | undefined, FaultMoment][] = [];
    for (const addr of objects) {
      const o = view.object(addr);
      if (o?.type !== 'tcb') this.threads.delete(addr);
      else moments.push([addr, this.threads.get(addr), { state: o.state, fault: o.fault }]);
    }
    const receiverWoken = moments.some(([, before, after]) => before?.state === 'BlockedOnReceive' && after.state !== 'BlockedOnReceive');
    const events: FaultEvent[] = [];
    for (const [addr, before, after] of moments) {
      this.threads.set(addr, after);
      if (!before || (before.state === after.state && sameFault(before.fault, after.fault))) continue;
      const event = this.eventOf(before, after, receiverWoken, key);
      if (event) events.push(event);
    }
    return events;
  }

  private eventOf(before: FaultMoment, after: FaultMoment, receiverWoken: boolean, key: string): FaultEvent | null {
    const { fault } = after;
    if (before.state === 'BlockedOnReply' && before.fault !== null && fault === null) {
      if (after.state === 'Restart' || after.state === 'Running') return 'reply-restart';
      return replyEntry.test(key) ? 'reply-no-restart' : 'cancelled';
    }
    if (fault === null) return null;
    if (before.state === 'BlockedOnReply' && before.fault?.type !== 'Timeout' && fault.type === 'Timeout') return 'timeout-on-reply';
    const reached = after.state === 'BlockedOnReply' || (after.state === 'Inactive' && receiverWoken);
    if (!reached || before.state === 'BlockedOnReply') return null;
    return fault.type === 'CapFault' && fault.words[1] === 1 ? 'delivered-cap-fault-receive' : deliveredEvent[fault.type];
  }
}

/**
 * The impl's IPC fastpath, counted under `Fastpath` (Call and ReplyRecv together), `Fastpath Call`
 * and `Fastpath ReplyRecv`: `taken`, or the condition that sent the entry to the slow path.
 */
export const fastpathKey = 'Fastpath';
const fastpathResults: Readonly<Record<string, readonly string[]>> = {
  [fastpathKey]: fastpathOutcomes,
  [`${fastpathKey} Call`]: ['taken', ...fastpathCallReasons],
  [`${fastpathKey} ReplyRecv`]: ['taken', ...fastpathReplyRecvReasons],
};

/**
 * Preemption, counted under `Preemption`: where a layer stopped (`revoke`, `finalise`, `reset`),
 * why (`irq`, `budget`), a first phase stopped (the send of ReplyRecv, NBSendRecv, NBSendWait),
 * a thread-control invocation stopped (TCB_Configure, SetSpace, SetSchedParams, SetIPCBuffer,
 * SetTimeoutEndpoint: their slot replacements delete), `restart-completed` (an entry made again
 * after a preemption completed) and `restart-abandoned` (a preempted caller that could no longer
 * run it: no longer Running or Restart, or without a scheduling context).
 */
export const preemptionKey = 'Preemption';
export const preemptionEvents = [...preemptionPointKinds, 'irq', 'budget', 'first-phase', 'thread-control', 'restart-completed', 'restart-abandoned'] as const;
export type PreemptionEvent = (typeof preemptionEvents)[number];

const firstPhaseSyscalls: ReadonlySet<number> = new Set([seL4_Syscall.seL4_SysReplyRecv, seL4_Syscall.seL4_SysNBSendRecv, seL4_Syscall.seL4_SysNBSendWait]);
const threadControl = /^(Send |NBSend )?TCB(Configure|SetSpace|SetSchedParams|SetIPCBuffer|SetTimeoutEndpoint)$/;

/** The preemption coverage entries of one entry (`key` its coverage key): none unless a preemption point stopped it. */
export function preemptionCoverage(observation: Observation, event: KernelEvent, key: string): [string, PreemptionEvent][] {
  const stopped = observation.preempted;
  if (stopped === undefined) return [];
  const entries: [string, PreemptionEvent][] = [[preemptionKey, stopped.at], [preemptionKey, stopped.reason]];
  const sysno = event.kind === 'syscall' ? syscallFromWord(new Map(event.user.regs).get(Reg.a7) ?? observation.caller?.regs[Reg.a7] ?? 0) : null;
  if (sysno !== null && firstPhaseSyscalls.has(sysno)) entries.push([preemptionKey, 'first-phase']);
  if (threadControl.test(key)) entries.push([preemptionKey, 'thread-control']);
  return entries;
}

/**
 * User memory accesses, counted under `Access load`, `Access store` and `Access execute`: `hit`;
 * `hit-again`, a faulted access made again that hit (its handler mapped the page); or why it
 * faulted: `kernel-address` (at or above seL4_UserTop), `no-vspace` (TCB slot 1 holds no mapped
 * page-table cap), `unmapped` (no leaf maps it, a stale VSpace included), `kernel-only`,
 * `read-only` (a store), `no-execute` (a fetch); `restarted` when the budget could not cover the
 * fault's entry.
 */
export const accessKeys: Readonly<Record<AccessKind, string>> = { load: 'Access load', store: 'Access store', execute: 'Access execute' };
export const accessResults = ['hit', 'hit-again', 'kernel-address', 'no-vspace', 'unmapped', 'kernel-only', 'read-only', 'no-execute', 'restarted'] as const;
export type AccessResult = (typeof accessResults)[number];

/**
 * What an access by `thread` did, read after it: a fault changes no mapping, so the translation
 * now is the one the access met. `again` when it was a faulted access made again.
 */
export function accessResult(view: KernelView, thread: number, event: AccessEvent, observation: Observation, again: boolean): AccessResult {
  if (observation.accessed !== undefined) return again ? 'hit-again' : 'hit';
  if (observation.restarted) return 'restarted';
  if (event.vaddr >= seL4_UserTop) return 'kernel-address';
  const translation = view.translate(thread, event.vaddr);
  if (translation === null) {
    const root = view.cap({ cnode: thread, index: TCBSlot.vspace });
    return root?.type === 'pagetable' && root.mapped !== null ? 'unmapped' : 'no-vspace';
  }
  if (event.access === 'execute') return 'no-execute';
  return translation.rights === 1 ? 'kernel-only' : 'read-only';
}

/** Whether a thread left Restart (or, `faultedAccess`, waiting on its VMFault) can still make its entry again (`waiting`), or never will (`gone`). */
export function restartOutcome(view: KernelView, tcb: number, faultedAccess = false): 'waiting' | 'gone' {
  const thread = view.object(tcb);
  if (thread?.type !== 'tcb' || thread.schedContext === null) return 'gone';
  const onFault = faultedAccess && thread.fault?.type === 'VMFault' && (thread.state === 'BlockedOnSend' || thread.state === 'BlockedOnReply');
  return thread.state === 'Running' || thread.state === 'Restart' || onFault ? 'waiting' : 'gone';
}

/** The fastpath's coverage entries of one entry (none unless the impl tried its fastpath; a7 still names the syscall). */
export function fastpathCoverage(observation: Observation): [string, string][] {
  const outcome = observation.fastpath;
  if (outcome === undefined || observation.caller === null) return [];
  const syscall = syscallFromWord(observation.caller.regs[Reg.a7]!) === seL4_Syscall.seL4_SysCall ? 'Call' : 'ReplyRecv';
  return [[fastpathKey, outcome], [`${fastpathKey} ${syscall}`, outcome]];
}

/** The size of a state: objects, slots holding a cap, and the longest CDT path (caps from a root to a leaf). */
export interface StateSize {
  readonly objects: number;
  readonly filledSlots: number;
  readonly cdtDepth: number;
}

const noSize: StateSize = { objects: 0, filledSlots: 0, cdtDepth: 0 };

/** The size of the state a view shows: read once, at the end of a run. */
export function stateSize(view: KernelView): StateSize {
  const objects = view.objects();
  const depths = new Map<string, number>();
  const depthOf = (slot: SlotRef): number => {
    let depth = depths.get(slotId(slot));
    if (depth === undefined) {
      // Climbs iteratively: a chain of copies can be thousands of caps long.
      const chain: SlotRef[] = [];
      let at: SlotRef | null = slot;
      let base = 0;
      while (at !== null) {
        const known = depths.get(slotId(at));
        if (known !== undefined) {
          base = known;
          break;
        }
        chain.push(at);
        at = view.cdtParent(at);
      }
      for (let i = chain.length - 1; i >= 0; i--) depths.set(slotId(chain[i]!), ++base);
      depth = base;
    }
    return depth;
  };
  let filledSlots = 0;
  let cdtDepth = 0;
  for (const object of objects) {
    const slots = object.type === 'cnode' ? 2 ** object.radix : object.type === 'tcb' ? tcbSlotCount : 0;
    for (let index = 0; index < slots; index++) {
      const cap = view.cap({ cnode: object.addr, index });
      if (cap === null || cap.type === 'null') continue;
      filledSlots++;
      cdtDepth = Math.max(cdtDepth, depthOf({ cnode: object.addr, index }));
    }
  }
  return { objects: objects.length, filledSlots, cdtDepth };
}

/** The larger of two sizes, field by field. */
function largest(a: StateSize, b: StateSize): StateSize {
  return { objects: Math.max(a.objects, b.objects), filledSlots: Math.max(a.filledSlots, b.filledSlots), cdtDepth: Math.max(a.cdtDepth, b.cdtDepth) };
}

/** Coverage as JSON reports carry it. */
export interface CoverageJson {
  /** Invocation or syscall -> result -> how often. */
  readonly invocations: Record<string, Record<string, number>>;
  /** Invariant -> how often it was checked. */
  readonly invariants: Record<string, number>;
  /** Abstract-spec choice point -> how often a choice was taken there. */
  readonly choices: Record<string, number>;
  /** The largest state reached at the end of a run (each field its own maximum). */
  readonly largestState?: StateSize;
  /** Runs that ended early because the root task could no longer run, by why. */
  readonly endedRuns?: Record<string, number>;
}

function bump(counts: Map<string, number>, key: string, n: number): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}

/** Runs, steps and coverage summed over passing runs. */
export class Tally {
  runs = 0;
  steps = 0;
  readonly coverage: Coverage = new Map();
  readonly choices = new Map<string, number>();
  readonly invariants = new Map<string, number>();
  readonly endedRuns = new Map<string, number>();
  largestState: StateSize = noSize;

  addRun(run: RunRecord): void {
    this.runs++;
    this.steps += run.steps;
    if (run.ended !== null) bump(this.endedRuns, run.ended, 1);
    this.largestState = largest(this.largestState, run.size);
    for (const [key, result] of run.entries) this.addResult(key, result, 1);
    for (const [choice, n] of run.choices) bump(this.choices, choice, n);
    for (const [name, n] of run.invariants) bump(this.invariants, name, n);
  }

  add(other: Tally): void {
    this.runs += other.runs;
    this.steps += other.steps;
    for (const [why, n] of other.endedRuns) bump(this.endedRuns, why, n);
    this.largestState = largest(this.largestState, other.largestState);
    for (const [key, byResult] of other.coverage) for (const [result, n] of byResult) this.addResult(key, result, n);
    for (const [choice, n] of other.choices) bump(this.choices, choice, n);
    for (const [name, n] of other.invariants) bump(this.invariants, name, n);
  }

  private addResult(key: string, result: string, n: number): void {
    let byResult = this.coverage.get(key);
    if (!byResult) this.coverage.set(key, (byResult = new Map()));
    bump(byResult, result, n);
  }
}

const sortedRecord = (m: ReadonlyMap<string, number>): Record<string, number> =>
  Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function coverageToJson(t: TallyLike): CoverageJson {
  const keys = [...t.coverage.keys()].sort();
  return {
    invocations: Object.fromEntries(keys.map((k) => [k, sortedRecord(t.coverage.get(k)!)])),
    invariants: sortedRecord(t.invariants),
    choices: sortedRecord(t.choices),
    largestState: t.largestState,
    endedRuns: sortedRecord(t.endedRuns),
  };
}

/** What a summary carries of a tally. */
export interface TallyLike {
  readonly coverage: Coverage;
  readonly choices: ReadonlyMap<string, number>;
  readonly invariants: ReadonlyMap<string, number>;
  readonly endedRuns: ReadonlyMap<string, number>;
  readonly largestState: StateSize;
}

export function tallyFromJson(json: CoverageJson, runs: number, steps: number): Tally {
  const tally = new Tally();
  tally.runs = runs;
  tally.steps = steps;
  for (const [key, byResult] of Object.entries(json.invocations)) tally.coverage.set(key, new Map(Object.entries(byResult)));
  for (const [name, n] of Object.entries(json.invariants)) tally.invariants.set(name, n);
  for (const [choice, n] of Object.entries(json.choices)) tally.choices.set(choice, n);
  for (const [entry, n] of Object.entries(json.endedRuns ?? {})) tally.endedRuns.set(entry, n);
  tally.largestState = json.largestState ?? noSize;
  return tally;
}

/**
 * The errors seL4's manual and kernel source give each modelled invocation (reference §7.2,
 * §8.2; the VSpace ones from docs/sel4-facts.md §24), with success. The generator should reach all of them.
 */
export const documentedErrors: Readonly<Record<string, readonly string[]>> = {
  UntypedRetype: ['NoError', 'InvalidArgument', 'RangeError', 'FailedLookup', 'TruncatedMessage', 'DeleteFirst', 'NotEnoughMemory'],
  CNodeRevoke: ['NoError', 'FailedLookup', 'RangeError', 'TruncatedMessage'],
  CNodeDelete: ['NoError', 'FailedLookup', 'RangeError', 'TruncatedMessage'],
  CNodeCancelBadgedSends: ['NoError', 'FailedLookup', 'RangeError', 'IllegalOperation', 'TruncatedMessage'],
  CNodeCopy: ['NoError', 'FailedLookup', 'RangeError', 'DeleteFirst', 'TruncatedMessage', 'IllegalOperation', 'RevokeFirst'],
  CNodeMint: ['NoError', 'FailedLookup', 'RangeError', 'DeleteFirst', 'TruncatedMessage', 'IllegalOperation', 'RevokeFirst'],
  CNodeMove: ['NoError', 'FailedLookup', 'RangeError', 'DeleteFirst', 'TruncatedMessage'],
  CNodeMutate: ['NoError', 'FailedLookup', 'RangeError', 'DeleteFirst', 'TruncatedMessage', 'IllegalOperation'],
  CNodeRotate: ['NoError', 'FailedLookup', 'RangeError', 'DeleteFirst', 'TruncatedMessage', 'IllegalOperation'],
  // seL4's tcb.c, schedcontrol.c and schedcontext.c decoders (MCS).
  TCBReadRegisters: ['NoError', 'TruncatedMessage', 'RangeError', 'IllegalOperation'],
  TCBWriteRegisters: ['NoError', 'TruncatedMessage', 'IllegalOperation'],
  TCBCopyRegisters: ['NoError', 'TruncatedMessage', 'InvalidCapability'],
  TCBConfigure: ['NoError', 'TruncatedMessage', 'IllegalOperation', 'AlignmentError'],
  TCBSetPriority: ['NoError', 'TruncatedMessage', 'InvalidCapability', 'RangeError'],
  TCBSetMCPriority: ['NoError', 'TruncatedMessage', 'InvalidCapability', 'RangeError'],
  TCBSetSchedParams: ['NoError', 'TruncatedMessage', 'InvalidCapability', 'RangeError', 'IllegalOperation'],
  TCBSetTimeoutEndpoint: ['NoError', 'TruncatedMessage', 'InvalidCapability'],
  TCBSetIPCBuffer: ['NoError', 'TruncatedMessage', 'IllegalOperation', 'AlignmentError'],
  TCBSetSpace: ['NoError', 'TruncatedMessage', 'IllegalOperation', 'InvalidCapability'],
  TCBSuspend: ['NoError'],
  TCBResume: ['NoError'],
  TCBBindNotification: ['NoError', 'TruncatedMessage', 'IllegalOperation'],
  TCBUnbindNotification: ['NoError', 'IllegalOperation'],
  TCBSetTLSBase: ['NoError', 'TruncatedMessage'],
  TCBSetFlags: ['NoError', 'TruncatedMessage'],
  SchedControlConfigureFlags: ['NoError', 'TruncatedMessage', 'RangeError', 'InvalidCapability'],
  SchedContextBind: ['NoError', 'TruncatedMessage', 'IllegalOperation', 'InvalidCapability'],
  SchedContextUnbind: ['NoError', 'IllegalOperation'],
  SchedContextUnbindObject: ['NoError', 'TruncatedMessage', 'IllegalOperation', 'InvalidCapability'],
  SchedContextConsumed: ['NoError'],
  SchedContextYieldTo: ['NoError', 'IllegalOperation'],
  // seL4's riscv vspace.c decoders (docs/sel4-facts.md §24.3-24.7), on a cap of the invocation's own type.
  RISCVASIDControlMakePool: ['NoError', 'TruncatedMessage', 'DeleteFirst', 'InvalidCapability', 'RevokeFirst', 'FailedLookup', 'RangeError'],
  RISCVASIDPoolAssign: ['NoError', 'TruncatedMessage', 'InvalidCapability', 'DeleteFirst'],
  RISCVPageTableMap: ['NoError', 'TruncatedMessage', 'InvalidCapability', 'InvalidArgument', 'FailedLookup', 'DeleteFirst'],
  RISCVPageTableUnmap: ['NoError', 'RevokeFirst'],
  RISCVPageMap: ['NoError', 'TruncatedMessage', 'InvalidCapability', 'FailedLookup', 'InvalidArgument', 'AlignmentError', 'DeleteFirst'],
  RISCVPageUnmap: ['NoError'],
  RISCVPageGetAddress: ['NoError'],
  // seL4's interrupt.c and riscv interrupt.c decoders (docs/sel4-facts.md §25.2-25.3).
  IRQIssueIRQHandler: ['NoError', 'TruncatedMessage', 'RangeError', 'RevokeFirst', 'FailedLookup', 'DeleteFirst'],
  RISCVIRQIssueIRQHandlerTrigger: ['NoError', 'TruncatedMessage', 'RangeError', 'RevokeFirst', 'FailedLookup', 'DeleteFirst'],
  IRQAckIRQ: ['NoError'],
  IRQSetIRQHandler: ['NoError', 'TruncatedMessage', 'InvalidCapability'],
  IRQClearIRQHandler: ['NoError'],
};

/** For each documented invocation: the documented results it never gave (all of them if never called). */
export function documentedGaps(coverage: Coverage): { invocation: string; reached: number; missing: string[] }[] {
  return Object.entries(documentedErrors).map(([invocation, errors]) => {
    const reached = coverage.get(invocation);
    const missing = errors.filter((e) => !reached?.has(`seL4_${e}`));
    return { invocation, reached: errors.length - missing.length, missing };
  });
}

/** The coverage lines the summary adds: state sizes, early ends, documented errors not reached, invariants checked. */
export function formatCoverageDetails(t: TallyLike & { readonly runs: number }): string {
  const lines: string[] = [];
  const big = t.largestState;
  lines.push(`largest state: ${big.objects} objects, ${big.filledSlots} filled slots; longest derivation chain: ${big.cdtDepth} caps`);
  const ended = [...t.endedRuns.values()].reduce((a, b) => a + b, 0);
  const by = [...t.endedRuns.entries()].sort((a, b) => b[1] - a[1]).map(([entry, n]) => `${entry} x${n}`);
  lines.push(`runs ended early, the root task unable to run: ${ended} of ${t.runs}${ended > 0 ? `: ${by.join(', ')}` : ''}`);
  const gaps = documentedGaps(t.coverage);
  const complete = gaps.filter((g) => g.missing.length === 0).length;
  lines.push(`documented results reached: ${complete} of ${gaps.length} invocations complete`);
  for (const g of gaps) {
    if (g.missing.length > 0) lines.push(`  ${g.invocation} ${g.reached}/${g.reached + g.missing.length}, never: ${g.missing.join(', ')}`);
  }
  if (t.invariants.size > 0) {
    lines.push(`invariants checked: ${[...t.invariants.entries()].map(([name, n]) => `${name} x${n}`).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** An (invocation or syscall, result) pair a check must reach. */
export interface CoveragePair {
  readonly invocation: string;
  readonly result: string;
}

export class CoverageSpecError extends Error {}

const syscallNames = new Set<string>([...Object.keys(seL4_Syscall), 'Yield', 'UnknownSyscall', exceptionKey]);
/** The results of the keys that are not invocations: scheduler events, and whether time ended in the timer interrupt. */
const eventResults: Readonly<Record<string, readonly string[]>> = {
  [schedulerKey]: schedulerEvents, [ipcKey]: ipcEvents, [faultKey]: faultEvents, [timeKey]: ['timer-interrupt', 'no-interrupt'], ...fastpathResults,
  [interruptKey]: interruptResults, [irqKey]: irqEvents, [preemptionKey]: preemptionEvents,
  ...Object.fromEntries(accessKinds.map((a) => [accessKeys[a], accessResults])),
};
const labels = new Set<string>(invocationLabels);
const otherResults = /^(returned|no thread ran|caller \w+|unmodelled: .+|label \d+)$/;

/** The invocation part of a coverage key: `CNodeCopy`, `Send CNodeCopy`, `CNodeCopy on thread cap`, `Call to endpoint`, `Yield`. */
function knownInvocation(key: string): boolean {
  if (syscallNames.has(key) || /^(Call|Send|NBSend) to (endpoint|notification|reply)$/.test(key)) return true;
  const label = key.replace(/^(Send|NBSend) /, '').replace(/ on \w+ cap$/, '');
  return labels.has(label);
}

function normaliseResult(result: string): string | null {
  if (errorName.includes(result)) return result;
  if (errorName.includes(`seL4_${result}`)) return `seL4_${result}`;
  return otherResults.test(result) ? result : null;
}

/** Parses `CNodeCopy:seL4_RevokeFirst,UntypedRetype:NotEnoughMemory,Scheduler:preemption` (the `seL4_` is optional). */
export function parseCoverageRequirement(text: string): CoveragePair[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new CoverageSpecError('needs a list of invocation:result pairs, e.g. CNodeCopy:seL4_RevokeFirst');
  return items.map((item) => {
    const colon = item.indexOf(':');
    if (colon < 0) throw new CoverageSpecError(`'${item}' is not an invocation:result pair (e.g. CNodeCopy:seL4_RevokeFirst)`);
    const invocation = item.slice(0, colon).trim();
    const events = eventResults[invocation];
    if (events) {
      const event = item.slice(colon + 1).trim();
      if (!events.includes(event)) throw new CoverageSpecError(`unknown result '${event}' in '${item}' (${invocation} has ${events.join(', ')})`);
      return { invocation, result: event };
    }
    const result = normaliseResult(item.slice(colon + 1).trim());
    if (!knownInvocation(invocation)) throw new CoverageSpecError(`unknown invocation or syscall '${invocation}' in '${item}'`);
    if (result === null) throw new CoverageSpecError(`unknown result '${item.slice(colon + 1).trim()}' in '${item}' (an seL4 error such as seL4_RevokeFirst)`);
    return { invocation, result };
  });
}

/** The required pairs the coverage never reached. */
export function unreachedPairs(coverage: Coverage, required: readonly CoveragePair[]): CoveragePair[] {
  return required.filter((p) => !coverage.get(p.invocation)?.has(p.result));
}

export function pairText(p: CoveragePair): string {
  return `${p.invocation}:${p.result}`;
}
