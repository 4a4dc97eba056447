// What every layer offers: kernel entries (events), what the user sees afterwards
// (observations), and a read-only view of kernel state that is the same on every layer.
import type { Cap, SlotRef } from './caps.ts';
import { kernelTimerIRQ, type Word } from './constants.ts';
import type { BootPlan } from './bootinfo.ts';

export type LayerName = 'abstract' | 'executable' | 'impl';
export const layerNames: readonly LayerName[] = ['abstract', 'executable', 'impl'];

/**
 * What the user thread did since its last kernel entry, applied by the layer to its own
 * state before the kernel runs: register writes (indices of seL4_UserContext) and
 * writes to its IPC buffer (word index, value).
 */
export interface UserWrites {
  readonly regs: ReadonlyArray<readonly [number, Word]>;
  readonly ipcBuffer: ReadonlyArray<readonly [number, Word]>;
}

/**
 * One event of the machine. `syscall`: the current thread enters the kernel with the syscall in
 * a7 (after its user writes are applied); an unknown number takes seL4's unknown-syscall path.
 * `exception`: the current thread takes a user exception (riscv scause `number`, `code` as
 * seL4's seL4_UserException message carries it). `time`: the current thread (or the idle thread)
 * computes for `ticks` timer ticks; if the timer interrupt comes meanwhile, the kernel is entered
 * by it at that moment and the rest of the time is not spent (the clock shows how much was). The
 * interrupt comes at the programmed deadline, but only after at least one tick of user time: the
 * model's kernel entries take no time, and a deadline seL4 programs in the past (it subtracts the
 * timer precision) stands for an interrupt taken right after the kernel's exit, which takes time.
 * 0 ticks change nothing. The clock never passes `maxReleaseTicks` (libsel4/time.ts).
 */
export type KernelEvent =
  | { readonly kind: 'syscall'; readonly user: UserWrites; readonly raise?: RaiseDuringEntry }
  | { readonly kind: 'exception'; readonly user: UserWrites; readonly number: Word; readonly code: Word }
  | AccessEvent
  | { readonly kind: 'time'; readonly ticks: bigint }
  | InterruptEvent;

/** What a user memory access does: a load, a store, or an instruction fetch (riscv's three VM fault causes). */
export const accessKinds = ['load', 'store', 'execute'] as const;
export type AccessKind = (typeof accessKinds)[number];

/**
 * `access`: the current thread (its user writes applied first) loads, stores or fetches the 32-bit
 * word at virtual address `vaddr`: the aligned word that holds it (`vaddr & ~3`; the model has no
 * misaligned or byte accesses). `value` is the word a store writes (0 if absent; ignored by loads
 * and fetches). The access is translated as l4v's ADT defines it (`get_vspace_of_thread`, then the
 * Sv32 walk): TCB slot 1 must hold a page-table cap mapped with an ASID whose VSpace root is that
 * same table (else the kernel's own table is used and every user access faults), and the walk must
 * end in a valid leaf PTE with U set that allows the access (R for a load, W for a store, X for a
 * fetch). Then the word is read or written in the frame's memory (a device frame: a load reads 0,
 * a store is dropped) and the kernel is not entered: no time passes, nothing else changes, no
 * interrupt is taken. Otherwise the access faults and the kernel is entered as seL4's
 * handleVMFaultEvent: updateTimestamp and checkBudgetRestart, then handleVMFault's fault (see
 * `vmFault`) delivered as handleFault delivers every fault, then schedule and activateThread, and
 * the device interrupts then deliverable, as after every entry. The fault's address is `vaddr`
 * as given (stval).
 */
export interface AccessEvent {
  readonly kind: 'access';
  readonly user: UserWrites;
  readonly access: AccessKind;
  readonly vaddr: Word;
  readonly value?: Word;
}

/**
 * seL4's normalised fault status (FSR) of a VM fault: handleVMFault reports riscv's access-fault
 * cause for both page and access faults (RISCVLoadAccessFault 5, RISCVStoreAccessFault 7,
 * RISCVInstructionAccessFault 1).
 */
export const vmFaultStatus: Readonly<Record<AccessKind, number>> = { load: 5, store: 7, execute: 1 };

/** The fault handleVMFault raises for a failed access: VMFault [address, FSR, instruction (1 for a fetch)]. */
export function vmFault(access: AccessKind, vaddr: Word): FaultView {
  return { type: 'VMFault', words: [vaddr >>> 0, vmFaultStatus[access], access === 'execute' ? 1 : 0] };
}

/** The fault message's label for each fault type (seL4_FaultType on riscv, MCS). */
export const faultLabel: Readonly<Record<FaultView['type'], number>> = { CapFault: 1, UnknownSyscall: 2, UserException: 3, Timeout: 5, VMFault: 6 };

/** A VMFault message's words (seL4_VMFault_Msg): IP (FaultIP), Addr, PrefetchFault, FSR; 4 words. */
export const seL4_VMFault = { IP: 0, Addr: 1, PrefetchFault: 2, FSR: 3, Length: 4 } as const;

/**
 * How the current state translates a thread's user access at a virtual address (l4v's
 * `ptable_lift` and `ptable_rights` of the thread): the leaf that maps it. Its rights decide which
 * accesses succeed (a load needs rights 3 or 2, a store 3, a fetch `executable`).
 */
export interface Translation {
  /** The physical address of the aligned word holding the virtual address. */
  readonly paddr: number;
  /** The mapped frame: its base address and size (12 or 22). */
  readonly frame: number;
  readonly sizeBits: number;
  /** vm_rights of the leaf, as PteView's: 3 ReadWrite, 2 ReadOnly, 1 KernelOnly. */
  readonly rights: number;
  readonly executable: boolean;
}

/**
 * `interrupt`: a device raises PLIC source `irq` (1..plicMaxIRQ) now, while the current thread (or
 * the idle thread) runs; no time passes. The source's pending bit is set. A pending source whose
 * IRQ is not Inactive (unmasked) and not claimed is taken at once: the kernel claims it (pending
 * cleared, claimed set) and is entered as seL4's handleInterruptEntry (updateTimestamp,
 * checkBudget, handleInterrupt, schedule, activateThread). The same holds at the end of every
 * kernel entry (a Get that unmasks, an Ack that completes a claim): pending deliverable sources
 * are then taken, the lowest IRQ first, each its own interrupt entry, before the event ends. A
 * number outside 1..plicMaxIRQ names no source: nothing happens.
 */
export interface InterruptEvent {
  readonly kind: 'interrupt';
  readonly irq: number;
}

/**
 * A device interrupt raised while the kernel works on a syscall (the check's way to reach every
 * preemption point): PLIC source `irq` is raised just before the entry's `afterWorkUnits`-th
 * preemption point (counted from 1 in this entry, whatever ksWorkUnitsCompleted is), so that
 * point's check sees it pending (a value below 1 counts as 1); an entry with fewer points raises it when its work is done,
 * before the pending sources are taken at the end of the entry. An `irq` outside 1..plicMaxIRQ
 * raises nothing. A restarted entry made again carries the same field.
 */
export interface RaiseDuringEntry {
  readonly irq: number;
  readonly afterWorkUnits: number;
}

/**
 * seL4's preemption points (docs/sel4-facts.md section 26.2): `revoke` after each deletion in
 * cteRevoke, `finalise` after each reduceZombie in finaliseSlot (exposed or not), `reset` after
 * each chunk of resetUntypedCap.
 */
export const preemptionPointKinds = ['revoke', 'finalise', 'reset'] as const;
export type PreemptionPointKind = (typeof preemptionPointKinds)[number];

/**
 * Where and why an entry was preempted: at a point whose check found an interrupt pending (`irq`)
 * or the current scheduling context not active or its budget insufficient (`budget`). The
 * caller was left in Restart: its syscall is made again when it next runs.
 */
export interface Preemption {
  readonly at: PreemptionPointKind;
  readonly reason: 'irq' | 'budget';
}

/** Events a user thread makes (its writes since its last entry come with them). */
export type ThreadEvent = Extract<KernelEvent, { readonly user: UserWrites }>;

export function isThreadEvent(event: KernelEvent): event is ThreadEvent {
  return event.kind === 'syscall' || event.kind === 'exception' || event.kind === 'access';
}

/** A refill of a scheduling context: `amount` ticks of budget usable from `releaseTicks` on. */
export interface Refill {
  readonly releaseTicks: bigint;
  readonly amountTicks: bigint;
}

/** A non-empty ready queue: threads of one priority, head first. */
export interface ReadyQueueView {
  readonly priority: number;
  readonly threads: readonly number[];
}

/** The scheduler's state (seL4's ksCurTime, ksConsumed, ksCurSC, ksReadyQueues, ksReleaseQueue). */
export interface SchedulerView {
  /** The machine's clock, in timer ticks (10 MHz); user time passes on it between kernel entries. */
  readonly clockTicks: bigint;
  /** ksCurTime: the clock at the last kernel entry. */
  readonly curTimeTicks: bigint;
  /** ksConsumed: ticks used by the current scheduling context and not yet charged to it. */
  readonly consumedTicks: bigint;
  /** ksCurSC: the scheduling context being charged; null for the idle thread's. */
  readonly currentSchedContext: number | null;
  /** Non-empty ready queues (domain 0), highest priority first. */
  readonly readyQueues: readonly ReadyQueueView[];
  /** ksReleaseQueue, head (earliest release) first. */
  readonly releaseQueue: readonly number[];
  /** The programmed timer deadline, in absolute ticks; null while none is programmed. */
  readonly timerDeadlineTicks: bigint | null;
}

export const threadStates = [
  'Inactive',
  'Running',
  'Restart',
  'BlockedOnReceive',
  'BlockedOnSend',
  'BlockedOnReply',
  'BlockedOnNotification',
  'IdleThreadState',
] as const;
export type ThreadState = (typeof threadStates)[number];

/** What the user sees after an entry: the thread that entered, and who runs next. */
export interface Observation {
  /** TCB address of the thread that runs next, or null when only the idle thread can run. */
  readonly current: number | null;
  /** The thread that made the entry, as it is now. */
  readonly caller: ThreadObservation | null;
  /** Set when the entry reached kernel behaviour this model does not cover yet; state is unchanged. */
  readonly unmodelled: string | null;
  /**
   * The caller's syscall (or exception) was not carried out and is made again when the thread
   * next runs: its budget could not cover the kernel entry (checkBudgetRestart), so seL4 left it
   * in Restart with its PC on the `ecall`.
   */
  readonly restarted: boolean;
  /** Set when a preemption point stopped the entry's operation (the caller then is Restart: `restarted`). */
  readonly preempted?: Preemption;
  /**
   * After an `access` event that translated: the word loaded or fetched, or the word stored. Absent
   * after every other event, and after an access that faulted (the kernel was entered: the caller
   * now waits on its fault handler, or is Inactive; or `restarted`, when its budget could not cover
   * the entry). A faulted access is made again when the thread next runs, as the restarted
   * instruction of seL4.
   */
  readonly accessed?: Word;
  /**
   * The impl only (like seL4's ksKernelEntry.is_fastpath, with a reason): for Call and ReplyRecv,
   * `taken` when the IPC fastpath did the entry, else why it left it to the slow path; undefined
   * otherwise. Not compared between layers.
   */
  readonly fastpath?: string;
}

export interface ThreadObservation {
  readonly tcb: number;
  readonly state: ThreadState;
  /** All 32 registers, seL4_UserContext order. */
  readonly regs: readonly Word[];
  /** The 128 words of its IPC buffer, or null if it has none. */
  readonly ipcBuffer: readonly Word[] | null;
}

/** A kernel object as the read-only view shows it. Slots of CNodes and TCBs are read with `cap`. */
export type ObjectView =
  | { readonly type: 'cnode'; readonly addr: number; readonly radix: number }
  | {
      readonly type: 'tcb';
      readonly addr: number;
      readonly state: ThreadState;
      readonly priority: number;
      readonly mcp: number;
      readonly domain: number;
      readonly schedContext: number | null;
      readonly ipcBufferVaddr: number;
      /** tcbFlags (seL4_TCB_SetFlags). */
      readonly flags: Word;
      /** tcbYieldTo: the scheduling context this thread yielded to (YieldTo), or null. */
      readonly yieldTo: number | null;
      /** tcbBoundNotification (seL4_TCB_BindNotification), or null. */
      readonly boundNotification: number | null;
      /** What the thread is blocked on (its thread_state_t fields), null unless state is BlockedOn*. */
      readonly blocking: BlockingView | null;
      /** tcbFault: the fault being delivered or waiting for its reply, null when none is pending. */
      readonly fault: FaultView | null;
    }
  | {
      readonly type: 'endpoint';
      readonly addr: number;
      /** Idle: no queue; Send: senders queued; Recv: receivers queued (l4v's IdleEP, SendEP, RecvEP). */
      readonly state: EndpointState;
      readonly queue: readonly number[];
    }
  | {
      readonly type: 'notification';
      readonly addr: number;
      /** Idle; Waiting: threads queued; Active: a signal pending (even one with badge 0). */
      readonly state: NotificationState;
      /** ntfnMsgIdentifier: the pending badges ORed together while Active, shown 0 otherwise. */
      readonly word: Word;
      readonly queue: readonly number[];
      /** ntfnBoundTCB: the thread this notification is bound to, or null. */
      readonly tcb: number | null;
      /** ntfnSchedContext: the scheduling context bound to it (SchedContext_Bind), or null. */
      readonly schedContext: number | null;
    }
  | {
      readonly type: 'reply';
      readonly addr: number;
      /** replyTCB: the caller blocked on this reply (BlockedOnReply) or the receiver waiting with it (BlockedOnReceive). */
      readonly tcb: number | null;
      /** l4v's reply_sc: the scheduling context whose call stack this reply heads, or null. */
      readonly schedContext: number | null;
    }
  | {
      readonly type: 'schedcontext';
      readonly addr: number;
      readonly sizeBits: number;
      readonly tcb: number | null;
      /** scPeriod in ticks (0 for a round-robin context). */
      readonly periodTicks: bigint;
      /** scConsumed in ticks (read and reset by SchedContext_Consumed). */
      readonly consumedTicks: bigint;
      /** scRefillMax: 0 until SchedControl configures it. */
      readonly refillMax: number;
      /** The refill queue, head first (the ring's order, not its indices). */
      readonly refills: readonly Refill[];
      readonly sporadic: boolean;
      readonly badge: Word;
      /** scYieldFrom: the thread that yielded to this context, or null. */
      readonly yieldFrom: number | null;
      /** scNotification: the notification bound to this context (SchedContext_Bind), or null. */
      readonly notification: number | null;
      /**
       * l4v's sc_replies: the call stack of replies this context was donated through, the most
       * recent (scReply, the head) first; in the C, scReply and the replies' replyPrev links.
       */
      readonly replies: readonly number[];
    }
  | { readonly type: 'frame'; readonly addr: number; readonly sizeBits: number; readonly isDevice: boolean }
  | {
      readonly type: 'pagetable';
      readonly addr: number;
      /** The valid entries outside the kernel window, by increasing index (invalid entries are absent). */
      readonly entries: readonly PteView[];
      /** Whether entries 512-1023 hold the kernel window's (copied into a VSpace root by ASIDPool_Assign). */
      readonly kernelWindow: boolean;
    }
  | {
      readonly type: 'asidpool';
      readonly addr: number;
      /** The ASID table's entry for this pool times 2^asidLowBits (its first ASID), or null if the table names it nowhere. */
      readonly asidBase: number | null;
      /** The assigned ASIDs' VSpace roots: [low bits of the ASID, root page table address], by increasing low bits. */
      readonly entries: readonly (readonly [low: number, root: number])[];
    };

/**
 * A valid Sv32 page-table entry (pte_t with V set) as the view shows it: a next-level table
 * (V set, R W X clear), or a leaf mapping the frame at `frame` (4 KiB in a level-1 table, 4 MiB
 * in a root) with `rights` the vm_rights_t its R and W bits give back (VMReadWrite 3: R and W;
 * VMReadOnly 2: R only; VMKernelOnly 1: neither) and `executable` its X bit.
 */
export type PteView =
  | { readonly index: number; readonly kind: 'table'; readonly table: number }
  | { readonly index: number; readonly kind: 'page'; readonly frame: number; readonly sizeBits: number; readonly rights: number; readonly executable: boolean };

export type ObjectKind = ObjectView['type'];

export const irqStates = ['Inactive', 'Signal', 'Timer', 'Reserved'] as const;
export type IrqState = (typeof irqStates)[number];

/**
 * One IRQ line (0..maxIRQ): seL4's intStateIRQTable entry and the interrupt controller's bits.
 * An Inactive line is masked (setIRQState masks exactly the Inactive ones); the kernel timer's
 * line is Timer from boot and never pending or claimed here (the timer has its own events).
 */
export interface IrqView {
  readonly irq: number;
  readonly state: IrqState;
  /** The PLIC's pending bit: raised and not yet claimed. */
  readonly pending: boolean;
  /** Claimed by the kernel when it was delivered and not yet completed (IRQHandler_Ack completes it). */
  readonly claimed: boolean;
}

/**
 * seL4's intStateIRQNode: one cap slot per IRQ (0..maxIRQ) in kernel memory, holding the
 * notification cap IRQHandler_SetNotification installs. Its slots are named
 * `{ cnode: irqNodeRef, index: irq }` on every layer (an identifier, not an address in the
 * model's RAM; no object lives there). They take part in the CDT like any slot.
 */
export const irqNodeRef = 0xfffff000;

/** An IRQ line as boot leaves it: the kernel timer's Timer, every other Inactive (masked), none pending. */
export function irqAtBoot(irq: number): IrqView {
  return { irq, state: irq === kernelTimerIRQ ? 'Timer' : 'Inactive', pending: false, claimed: false };
}

/**
 * A pending fault (seL4_Fault_t, and for a cap fault tcbLookupFailure): `words` are its fields in
 * seL4's order: CapFault [address, inReceivePhase (0/1), lookup failure type, its fields...]
 * (the failure as an error reply gives it, sel4-facts section 1.4); UnknownSyscall [syscall
 * number]; UserException [number, code]; Timeout [badge]; VMFault [address, FSR, instruction].
 */
export interface FaultView {
  readonly type: 'CapFault' | 'UnknownSyscall' | 'UserException' | 'Timeout' | 'VMFault';
  readonly words: readonly Word[];
}

export const endpointStates = ['Idle', 'Send', 'Recv'] as const;
export const notificationStates = ['Idle', 'Waiting', 'Active'] as const;
export type NotificationState = (typeof notificationStates)[number];
export type EndpointState = (typeof endpointStates)[number];

/**
 * A blocked thread's thread_state_t fields that mean something in its state (the rest shown as
 * 0, false or null, whatever stale bits a layer keeps):
 * - BlockedOnSend: `object` the endpoint, `badge`, `canGrant`, `canGrantReply`, `isCall`;
 * - BlockedOnReceive: `object` the endpoint, `reply` the reply object or null (MCS receiveIPC
 *   sets no canGrant: it is shown false);
 * - BlockedOnReply: `reply` the reply object;
 * - BlockedOnNotification: `object` the notification.
 */
export interface BlockingView {
  readonly object: number | null;
  readonly badge: Word;
  readonly canGrant: boolean;
  readonly canGrantReply: boolean;
  readonly isCall: boolean;
  readonly reply: number | null;
}

/** Number of cap slots in a TCB (its "CNode"): CSpace, VSpace, IPC buffer, fault handler, timeout handler. */
export const tcbSlotCount = 5;
export const TCBSlot = { cspace: 0, vspace: 1, ipcBuffer: 2, faultHandler: 3, timeoutHandler: 4 } as const;

/** A read-only view of one layer's state. */
export interface KernelView {
  /** The cap in a slot of a CNode or TCB; null if there is no such slot. */
  cap(slot: SlotRef): Cap | null;
  /** The slot's parent in the capability derivation tree. */
  cdtParent(slot: SlotRef): SlotRef | null;
  /** The object at an address, if one exists there. */
  object(addr: number): ObjectView | null;
  /** Every object, by increasing address. */
  objects(): ObjectView[];
  /** TCB address of the thread that runs next, or null. */
  current(): number | null;
  /** A word of physical memory outside kernel objects (frames such as IPC buffers and bootinfo). */
  userWord(paddr: number): Word;
  /** The lowest word address in [from, to) whose word is not zero, or null (what a scan of userWord finds, without the scan). */
  nonZeroWord(from: number, to: number): number | null;
  /** Time, the current scheduling context and the scheduler's queues. */
  scheduler(): SchedulerView;
  /** IRQ line `irq` (0..maxIRQ). Its slot in the IRQ node is read with `cap({ cnode: irqNodeRef, index: irq })`. */
  irq(irq: number): IrqView;
  /**
   * ksWorkUnitsCompleted: preemption points passed since the last check for a pending interrupt
   * (kept across entries, 0..maxWorkUnitsPerPreemption - 1); null in the abstract spec, which
   * keeps no counter (l4v's preemption point may stop at any point where stopping is allowed).
   */
  workUnitsCompleted(): number | null;
  /**
   * How `thread`'s user accesses at `vaddr` translate now (see AccessEvent): the user leaf PTE
   * that maps the word, or null when none does (every access there faults). Null for an address
   * that is no thread.
   */
  translate(thread: number, vaddr: Word): Translation | null;
}

/**
 * What a step wrote: slots whose cap or derivation links changed (the slot's MDB node in
 * the lower layers, its CDT parent or children in the abstract spec) and objects whose
 * fields changed, were created or were detyped. The checker compares only these after a
 * step, and everything at the end of a run.
 */
export interface Touched {
  readonly slots: readonly SlotRef[];
  readonly objects: readonly number[];
  /** Physical addresses of the user-memory words a store of the step wrote (absent: none). */
  readonly userWords?: readonly number[];
}

/**
 * A choice a layer made where seL4 leaves one open. `revoke`: during the revoke of `revoked`,
 * the descendant it deleted next (seL4 deletes the one after it in the MDB; the abstract spec
 * allows any remaining descendant). `asidPool`: the ASID table slot ASIDControl_MakePool gave
 * the new pool; `asid`: the ASID ASIDPool_Assign gave the root (seL4 takes the lowest free one;
 * l4v's abstract spec any free one). A layer that does not witness these leaves the abstract
 * spec to offer every free one as an outcome. `preemption`: the point where the entry's operation
 * stopped, its kind and `entryPoint`, how many preemption points the entry passed (this one
 * included, every kind counted, from 1). Pushed only where a layer stopped; continuing is never
 * witnessed: the abstract spec may stop at any point where an interrupt is deliverable or the
 * budget does not allow going on, and follows the witness to the one where the layer stopped.
 */
export type Choice =
  | { readonly point: 'revoke'; readonly revoked: SlotRef; readonly deleted: SlotRef }
  | { readonly point: 'asidPool'; readonly index: number }
  | { readonly point: 'asid'; readonly asid: number }
  | { readonly point: 'preemption'; readonly at: PreemptionPointKind; readonly entryPoint: number };

/** The choices one kernel entry made, in the order it made them. */
export type Witness = readonly Choice[];

/**
 * Thrown by the abstract spec when it follows a witness and meets a choice it does not allow:
 * `made` is what the witness did, `allowed` what the spec allows at that point.
 */
export class ChoiceRejected extends Error {
  constructor(
    readonly point: Choice['point'],
    readonly made: string,
    readonly allowed: string,
  ) {
    super(`the abstract spec does not allow this ${point} choice: ${made} (allowed: ${allowed})`);
  }
}

export interface Outcome<S> {
  readonly state: S;
  readonly observation: Observation;
  readonly touched: Touched;
  /** Which of the abstract spec's allowed choices this outcome is, when there are several. */
  readonly choice?: string;
  /** The choices the entry made (deterministic layers), for the abstract spec to follow. */
  readonly witness?: Witness;
}

/**
 * One layer of the kernel. The executable spec and the impl return exactly one outcome, with
 * the witness of the choices they made; given a witness, the abstract spec follows it and
 * returns the one outcome it leads to (or throws ChoiceRejected); without one, it returns
 * every outcome it allows (at least one).
 * The impl mutates and returns the state it was given.
 */
export interface KernelLayer<S> {
  readonly name: LayerName;
  boot(plan: BootPlan): S;
  step(state: S, event: KernelEvent, witness?: Witness): readonly Outcome<S>[];
  view(state: S): KernelView;
  observe(state: S, caller: number | null): Observation;
}

/** An entry's user writes when the thread wrote nothing. */
export const noUserWrites: UserWrites = Object.freeze({ regs: Object.freeze([]), ipcBuffer: Object.freeze([]) });

/** The user writes an event carries (none for the passing of time). */
export function userWritesOf(event: KernelEvent): UserWrites {
  return isThreadEvent(event) ? event.user : noUserWrites;
}
