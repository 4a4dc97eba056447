// The run loop: user programs, written as generators of libsel4 calls, run as the threads of a
// booted system (one layer, or several in lockstep). The root task's program runs first; it
// starts others as a seL4 root task does (retype a TCB and an SC, configure them, write the
// registers with pc = a program's entry, resume). Whichever thread the kernel makes current
// runs; `compute` passes time on the machine's clock, and the idle thread lets it pass up to the
// next timer deadline.
import {
  Reg,
  accessKinds,
  createSel4Calls,
  maxReleaseTicks,
  noUserWrites,
  numRegisters,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_CapNull,
  seL4_Error,
  seL4_MinSchedContextBits,
  seL4_ObjectType,
  ticksPerMicrosecond,
  usToTicks,
  type AccessKind,
  type BootPlan,
  type KernelEvent,
  type ThreadEvent,
  type Observation,
  type RaiseDuringEntry,
  type Sel4Calls,
  type Stub,
  type Word,
  type seL4_CPtr,
} from '../libsel4/index.ts';
import { bootSystem, checkedIrq, checkedRaise, type System, type SystemOptions } from './system.ts';

/** What a program's thread can do besides libsel4 calls. */
export interface ProgramContext {
  /** The thread's libsel4 calls; those that enter the kernel run with `yield*`. */
  readonly api: Sel4Calls;
  /** Computes for `us` microseconds of the thread's own time: time while it is preempted does not count. */
  compute(us: bigint): Stub<Observation>;
  /**
   * Arms the thread's next syscall: a device raises PLIC source `irq` inside it, before its
   * `workUnits`-th preemption point (or when its work is done). If the syscall is preempted, each
   * attempt made again carries the same raise, until one completes.
   */
  raiseAfter(irq: number, workUnits: number): void;
  /**
   * Loads the aligned word holding `vaddr` (any 32-bit address) through the thread's page tables.
   * An access that faults enters the kernel (a VMFault to the thread's fault handler) and is made
   * again when the thread next runs: the program sees only the access that succeeded.
   */
  load(vaddr: Word): Stub<Word>;
  /** Stores `value` to the aligned word holding `vaddr`, as `load` does its access. */
  store(vaddr: Word, value: Word): Stub<void>;
  /** Fetches the instruction word at `vaddr` (the pc stays as it is), as `load` does its access. */
  execute(vaddr: Word): Stub<Word>;
  /** The entry address of `program` (registered on first use): a thread started at it runs it. */
  entry(program: Program): Word;
  /** The thread's TCB address. */
  readonly tcb: number;
  /** Registers a0-a7 when the program started: its arguments. */
  readonly args: readonly Word[];
  /** The system's boot plan (the root task's bootinfo and CNode). */
  readonly plan: BootPlan;
}

/** A user program: a generator of kernel entries, made with `yield*` of `sys.api` calls and `sys.compute`. */
export type Program = (sys: ProgramContext) => Generator<KernelEvent, unknown, Observation>;

export interface RunLimits {
  /** Most kernel entries (default 10 000). */
  readonly maxSteps?: number;
  /** The clock (µs since boot) at which the run stops (default: none; the clock stops at maxReleaseTicks). */
  readonly maxTimeUs?: bigint;
}

/** A device interrupt the run raises when the clock reaches `atUs` (µs since boot): an `interrupt` event of PLIC source `irq`. */
export interface DeviceInterrupt {
  readonly atUs: bigint;
  readonly irq: number;
}

export interface RunOptions extends RunLimits {
  /** A booted system, or the options to boot one (default: lockstep on the default pairs). */
  readonly system?: System | SystemOptions;
  /** The devices' schedule: each interrupt raised once, in time order (ties in the order given). */
  readonly devices?: readonly DeviceInterrupt[];
}

/**
 * Why a run stopped: every program finished; the system is idle with no release pending that a
 * timer interrupt could make runnable; a limit; an entry the model does not cover yet; or the
 * clock did not move while time was passed (a layer that does not model time).
 */
export type StopReason = 'finished' | 'idle' | 'steps' | 'time' | 'unmodelled' | 'stalled';

interface Stop {
  readonly reason: StopReason;
  readonly detail: string;
}

/** One kernel entry of a run. */
export interface RunEntry {
  readonly step: number;
  /** The thread that was current (null: the idle thread). */
  readonly thread: number | null;
  readonly event: KernelEvent;
  /** The clock after the entry. */
  readonly clockTicks: bigint;
  /** The thread current after the entry. */
  readonly current: number | null;
}

/** A stretch of time during which one thread (null: the idle thread) ran. */
export interface Slice {
  readonly thread: number | null;
  /** The program it ran, or 'idle'. */
  readonly program: string;
  readonly fromTicks: bigint;
  readonly toTicks: bigint;
}

export interface ThreadSummary {
  readonly tcb: number;
  readonly program: string;
  readonly finished: boolean;
}

export interface RunResult {
  readonly stop: StopReason;
  /** The stop reason in words. */
  readonly detail: string;
  readonly system: System;
  readonly entries: readonly RunEntry[];
  /** Who ran when, adjacent stretches of one thread merged. */
  readonly timeline: readonly Slice[];
  readonly clockTicks: bigint;
  /** Every thread that ran a program, in the order they started. */
  readonly threads: readonly ThreadSummary[];
}

/** A program misbehaved: it threw, yielded something that is not a kernel entry, or its thread ran on after it ended. */
export class ProgramError extends Error {
  constructor(
    readonly tcb: number,
    readonly program: string,
    readonly step: number,
    problem: string,
  ) {
    super(`program ${program} on thread ${hex(tcb)} at step ${step}: ${problem}`);
    this.name = 'ProgramError';
  }
}

/**
 * The user exception a thread takes when its program returns (riscv scause 2, illegal
 * instruction: what follows the program's code). With no fault handler seL4 makes it Inactive.
 */
export const programEndException = { number: 2, code: 0 } as const;

/** Where registered programs' entry addresses start, and the distance between two. */
export const programEntryBase = 0x4000_0000;
export const programEntryStride = 0x1000;

/** Consecutive time events that may leave the clock where it was (a timer interrupt already due). */
const stalledTimeEvents = 3;

/** A kernel entry a thread makes itself: a syscall or an exception. */
type UserEntry = ThreadEvent;


/** A scheduled device interrupt, in ticks. */
interface Device {
  readonly atTicks: bigint;
  readonly irq: number;
}

/** The devices' schedule in time order, each checked: an Error names the first bad entry. */
function deviceSchedule(devices: unknown): Device[] {
  if (devices === undefined) return [];
  if (!Array.isArray(devices)) throw new Error(`devices must be an array of { atUs, irq }, not ${describeValue(devices)}`);
  const schedule = devices.map((device: unknown, i): Device => {
    const at = typeof device === 'object' && device !== null && 'atUs' in device ? device.atUs : undefined;
    if (typeof at !== 'bigint' || at < 0n) throw new Error(`devices[${i}].atUs must be a non-negative bigint of microseconds, not ${describeValue(at)}`);
    const irq = typeof device === 'object' && device !== null && 'irq' in device ? device.irq : undefined;
    return { atTicks: usToTicks(at), irq: checkedIrq(irq, `devices[${i}].irq`) };
  });
  return schedule.map((d, i) => [d, i] as const).sort(([a, i], [b, j]) => (a.atTicks < b.atTicks ? -1 : a.atTicks > b.atTicks ? 1 : i - j)).map(([d]) => d);
}

interface ThreadRun {
  readonly tcb: number;
  readonly program: string;
  readonly generator: Generator<KernelEvent, unknown, Observation>;
  started: boolean;
  /** Ticks left of the computation in progress. */
  computeTicks: bigint;
  /** A syscall, exception or faulted access the kernel left to be made again (seL4's Restart): made when the thread next runs. */
  restart: UserEntry | null;
  /** The word the thread's last access loaded, fetched or stored, until the program is resumed with it. */
  accessed: Word | undefined;
  /** The raise the program armed its next syscall with (raiseAfter). */
  armed: RaiseDuringEntry | null;
  finished: boolean;
}

const hex = (value: number): string => `0x${value.toString(16)}`;

const isWord = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;

function isKernelEvent(value: unknown): value is KernelEvent {
  if (typeof value !== 'object' || value === null || !('kind' in value)) return false;
  if (value.kind === 'time') return 'ticks' in value && typeof value.ticks === 'bigint' && value.ticks >= 0n;
  if (value.kind !== 'syscall' && value.kind !== 'exception' && value.kind !== 'access') return false;
  const user = 'user' in value ? value.user : null;
  const writes = typeof user === 'object' && user !== null && 'regs' in user && 'ipcBuffer' in user && Array.isArray(user.regs) && Array.isArray(user.ipcBuffer);
  if (value.kind === 'syscall') return writes;
  if (value.kind === 'access') {
    const kind = 'access' in value ? value.access : undefined;
    const stored = 'value' in value ? value.value : undefined;
    return writes && accessKinds.some((k) => k === kind) && 'vaddr' in value && isWord(value.vaddr) && (stored === undefined || isWord(stored));
  }
  return writes && 'number' in value && typeof value.number === 'number' && 'code' in value && typeof value.code === 'number';
}

/** `value` as an unsigned word: an integer from -0x80000000 to 0xffffffff; else an Error naming `what`. */
function checkedWord(value: unknown, what: string): Word {
  if (typeof value === 'number' && Number.isInteger(value) && value >= -0x8000_0000 && value <= 0xffffffff) return value >>> 0;
  throw new Error(`${what} must be a 32-bit word (an integer from -0x80000000 to 0xffffffff), not ${describeValue(value)}`);
}

function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value !== 'object' || value === null) return String(value);
  try {
    return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  } catch {
    return Object.prototype.toString.call(value);
  }
}

class Run {
  private readonly entryOf = new Map<Program, Word>();
  private readonly programAt = new Map<Word, Program>();
  private readonly threads = new Map<number, ThreadRun>();
  private readonly entries: RunEntry[] = [];
  private readonly timeline: Slice[] = [];
  private readonly maxSteps: number;
  private readonly maxTimeTicks: bigint;
  private stopped: Stop | null = null;
  private stillTimeEvents = 0;
  /** Whether the last entry was left to be made again (Observation.restarted). */
  private restarted = false;
  /** What the last entry's access loaded, fetched or stored (Observation.accessed). */
  private accessed: Word | undefined = undefined;
  /** Device interrupts not raised yet, the next first. */
  private readonly devices: Device[];

  constructor(
    private readonly system: System,
    limits: RunLimits,
    devices: unknown,
  ) {
    this.devices = deviceSchedule(devices);
    this.maxSteps = limits.maxSteps ?? 10_000;
    const limitTicks = limits.maxTimeUs === undefined ? maxReleaseTicks : usToTicks(limits.maxTimeUs);
    this.maxTimeTicks = limitTicks < maxReleaseTicks ? limitTicks : maxReleaseTicks;
  }

  run(root: Program): RunResult {
    const rootTCB = this.system.plan.rootTCB;
    this.threads.set(rootTCB, this.start(rootTCB, root, this.system.observe(rootTCB)));
    while (this.stopped === null) this.stopped = this.limitReached() ?? this.step();
    return {
      stop: this.stopped.reason,
      detail: this.stopped.detail,
      system: this.system,
      entries: this.entries,
      timeline: this.timeline,
      clockTicks: this.clock(),
      threads: [...this.threads.values()].map((t) => ({ tcb: t.tcb, program: t.program, finished: t.finished })),
    };
  }

  private clock(): bigint {
    return this.system.view().scheduler().clockTicks;
  }

  private limitReached(): Stop | null {
    if (this.entries.length >= this.maxSteps) return { reason: 'steps', detail: `${this.maxSteps} kernel entries made` };
    if (this.clock() >= this.maxTimeTicks) return { reason: 'time', detail: `the clock reached ${formatMicroseconds(this.maxTimeTicks)}` };
    return null;
  }

  /** One step: a device interrupt that is due, else the current thread (or idle) runs until its next kernel entry. */
  private step(): Stop | null {
    const current = this.system.view().current();
    const device = this.devices[0];
    if (device && device.atTicks <= this.clock()) {
      this.devices.shift();
      return this.enter(current, { kind: 'interrupt', irq: device.irq });
    }
    if (current === null) return this.idle();
    const thread = this.threadAt(current);
    if (thread.restart !== null) return this.enterAgain(thread, thread.restart);
    if (thread.computeTicks > 0n) return this.passTime(thread, thread.computeTicks);
    return this.advance(thread);
  }

  /** Only the idle thread can run: time passes to the timer deadline, if a release is pending, or to the next device interrupt. */
  private idle(): Stop | null {
    if ([...this.threads.values()].every((t) => t.finished)) return { reason: 'finished', detail: 'every program has finished' };
    const scheduler = this.system.view().scheduler();
    const releasing = scheduler.releaseQueue.length > 0 && scheduler.timerDeadlineTicks !== null;
    if (!releasing && this.devices.length === 0) {
      return { reason: 'idle', detail: 'only the idle thread can run, no release is pending and no device interrupt is scheduled' };
    }
    const untilDeadline = releasing ? scheduler.timerDeadlineTicks! - scheduler.clockTicks : maxReleaseTicks;
    return this.passTime(null, untilDeadline > 0n ? untilDeadline : 1n);
  }

  /** The run of the thread at `tcb`, started now if its pc is a program's entry. */
  private threadAt(tcb: number): ThreadRun {
    const known = this.threads.get(tcb);
    if (known && !known.finished) return known;
    const observation = this.system.observe(tcb);
    const pc = observation.caller?.regs[Reg.pc] ?? 0;
    const program = this.programAt.get(pc);
    if (!program) {
      const problem = `at pc ${hex(pc)}, which is no registered program's entry`;
      if (known) throw new ProgramError(tcb, known.program, this.entries.length, `its thread runs again after the program ended, ${problem}`);
      throw new ProgramError(tcb, '(none)', this.entries.length, `a thread runs ${problem}`);
    }
    const thread = this.start(tcb, program, observation);
    this.threads.delete(tcb);
    this.threads.set(tcb, thread);
    return thread;
  }

  private start(tcb: number, program: Program, observation: Observation): ThreadRun {
    const api = createSel4Calls(observation);
    function* access(kind: AccessKind, vaddr: unknown, value?: unknown): Stub<Word> {
      const address = checkedWord(vaddr, `the address of a ${kind}`);
      const word = yield* api.userAccess(kind, address, value === undefined ? undefined : checkedWord(value, 'the value of a store'));
      // The run loop resumes a program only after its access translated.
      if (word === null) throw new Error(`the ${kind} at ${hex(address)} was resumed without its word`);
      return word;
    }
    const context: ProgramContext = {
      api,
      tcb,
      plan: this.system.plan,
      args: (observation.caller?.regs ?? []).slice(Reg.a0, Reg.a7 + 1),
      entry: (p) => this.entry(p),
      raiseAfter(irq, workUnits) {
        thread.armed = checkedRaise({ irq, afterWorkUnits: workUnits });
      },
      load: (vaddr) => access('load', vaddr),
      *store(vaddr, value) {
        if (value === undefined) throw new Error(`a store takes an address and a value, not only ${describeValue(vaddr)}`);
        yield* access('store', vaddr, value);
      },
      execute: (vaddr) => access('execute', vaddr),
      compute(us) {
        if (typeof us !== 'bigint' || us < 0n) throw new Error(`compute takes a non-negative bigint of microseconds, not ${describeValue(us)}`);
        return api.passTime(usToTicks(us));
      },
    };
    const thread: ThreadRun = { tcb, program: program.name || 'anonymous', generator: program(context), started: false, computeTicks: 0n, restart: null, accessed: undefined, armed: null, finished: false };
    return thread;
  }

  private entry(program: Program): Word {
    const known = this.entryOf.get(program);
    if (known !== undefined) return known;
    const address = programEntryBase + this.entryOf.size * programEntryStride;
    this.entryOf.set(program, address);
    this.programAt.set(address, program);
    return address;
  }

  /** Resumes the program with what its thread sees now, and makes the entry it yields next. */
  private advance(thread: ThreadRun): Stop | null {
    const step = this.entries.length;
    let next: IteratorResult<KernelEvent, unknown>;
    try {
      next = thread.started ? thread.generator.next(this.resumed(thread)) : thread.generator.next();
    } catch (error) {
      throw new ProgramError(thread.tcb, thread.program, step, `threw ${error instanceof Error ? error.message : describeValue(error)}`);
    }
    thread.started = true;
    if (next.done) {
      thread.finished = true;
      return this.enterAgain(thread, { kind: 'exception', user: noUserWrites, ...programEndException });
    }
    const event: unknown = next.value;
    if (!isKernelEvent(event) || event.kind === 'interrupt') {
      throw new ProgramError(thread.tcb, thread.program, step, `yielded ${describeValue(event)}, which is not a kernel entry (yield* sys.api calls and sys.compute)`);
    }
    if (event.kind === 'syscall' && thread.armed !== null) {
      const raise = thread.armed;
      thread.armed = null;
      return this.enterAgain(thread, { ...event, raise });
    }
    if (event.kind !== 'time') return this.enterAgain(thread, event);
    thread.computeTicks = event.ticks;
    return null;
  }

  /** What the program of `thread` sees when it is resumed: its thread now, and the word of its access. */
  private resumed(thread: ThreadRun): Observation {
    const observation = this.system.observe(thread.tcb);
    const accessed = thread.accessed;
    thread.accessed = undefined;
    return accessed === undefined ? observation : { ...observation, accessed };
  }

  /**
   * A syscall, exception or access of `thread`. One the kernel did not carry out (its budget could
   * not cover the entry, or a preemption point stopped its operation), and an access that faulted,
   * is made again, with the registers as they are and the same `raise`, when the thread next runs,
   * as seL4 restarts it; the program sees only the entry that was carried out.
   */
  private enterAgain(thread: ThreadRun, event: UserEntry): Stop | null {
    thread.restart = null;
    const stop = this.enter(thread.tcb, event);
    const faulted = event.kind === 'access' && this.accessed === undefined;
    if (this.restarted || faulted) thread.restart = { ...event, user: noUserWrites };
    else if (event.kind === 'access') thread.accessed = this.accessed;
    return stop;
  }

  /** `thread` (null: idle) computes for up to `ticks`; a computing thread is charged only what the clock shows it spent. */
  private passTime(thread: ThreadRun | null, ticks: bigint): Stop | null {
    const before = this.clock();
    const device = this.devices[0];
    // Time stops at the next device interrupt (due ones are raised before any thread runs).
    const untilDevice = device ? device.atTicks - before : maxReleaseTicks;
    const allowed = [this.maxTimeTicks - before, untilDevice].reduce((a, b) => (a < b ? a : b));
    const requested = ticks < allowed ? ticks : allowed;
    const stop = this.enter(thread?.tcb ?? null, { kind: 'time', ticks: requested });
    const spent = this.clock() - before;
    if (spent < 0n || spent > requested) throw new Error(`a time event of ${requested} ticks moved the clock by ${spent}`);
    if (thread) thread.computeTicks -= spent < thread.computeTicks ? spent : thread.computeTicks;
    if (spent > 0n) {
      this.record(thread, before, before + spent);
      this.stillTimeEvents = 0;
    } else if (++this.stillTimeEvents >= stalledTimeEvents) {
      const deadline = this.system.view().scheduler().timerDeadlineTicks;
      const programmed = deadline === null ? 'no timer deadline' : `the timer deadline at ${formatMicroseconds(deadline)}`;
      return stop ?? { reason: 'stalled', detail: `the clock stayed at ${formatMicroseconds(before)} over ${stalledTimeEvents} time events (${programmed})` };
    }
    return stop;
  }

  private record(thread: ThreadRun | null, fromTicks: bigint, toTicks: bigint): void {
    const last = this.timeline.at(-1);
    const tcb = thread?.tcb ?? null;
    if (last && last.thread === tcb && last.toTicks === fromTicks) {
      this.timeline[this.timeline.length - 1] = { ...last, toTicks };
      return;
    }
    this.timeline.push({ thread: tcb, program: thread?.program ?? 'idle', fromTicks, toTicks });
  }

  private enter(thread: number | null, event: KernelEvent): Stop | null {
    const step = this.entries.length;
    const observation = this.system.enter(event);
    this.restarted = observation.restarted;
    this.accessed = observation.accessed;
    this.entries.push({ step, thread, event, clockTicks: this.clock(), current: observation.current });
    if (observation.unmodelled === null) return null;
    return { reason: 'unmodelled', detail: `step ${step} (${event.kind}${thread === null ? '' : ` of ${hex(thread)}`}): ${observation.unmodelled}` };
  }
}

/**
 * Runs `root` as the root task's program, and every program a thread starts at an entry
 * address, until a stop reason holds. A misbehaving program throws a ProgramError; in lockstep,
 * a disagreement of the layers throws the RefinementFailure.
 */
export function runSystem(root: Program, options: RunOptions = {}): RunResult {
  const given = options.system;
  const system = given !== undefined && 'enter' in given ? given : bootSystem(given);
  return new Run(system, options, options.devices).run(root);
}

/** Ticks as microseconds, with a decimal digit when they are not whole. */
export function formatMicroseconds(ticks: bigint): string {
  const fraction = ticks % ticksPerMicrosecond;
  return `${ticks / ticksPerMicrosecond}${fraction === 0n ? '' : `.${fraction}`} µs`;
}

/** The timeline, one line per stretch: from, to, and who ran. */
export function formatTimeline(timeline: readonly Slice[]): string {
  const width = Math.max(0, ...timeline.map((s) => formatMicroseconds(s.toTicks).length));
  return timeline
    .map((s) => {
      const who = s.thread === null ? 'idle' : `${s.program} (${hex(s.thread)})`;
      return `${formatMicroseconds(s.fromTicks).padStart(width)} - ${formatMicroseconds(s.toTicks).padStart(width)}  ${who}`;
    })
    .join('\n');
}

/** A thread for the root task to start with startThread. */
export interface ThreadSpec {
  readonly program: Program;
  /** The untyped to retype the TCB and the SC from. */
  readonly untyped: seL4_CPtr;
  /** Two free slots of the root CNode, from this one: the TCB's cap, then the SC's. */
  readonly slot: number;
  /** Priority, and maximum controlled priority. */
  readonly priority: number;
  readonly budgetUs: bigint;
  readonly periodUs: bigint;
  /** Arguments in a0, a1, ... */
  readonly args?: readonly Word[];
  /** Resume the thread at the end (default true); otherwise it stays Inactive until someone resumes it. */
  readonly resume?: boolean;
}

/**
 * What a root task does to start a program in a new thread, in libsel4 calls: retype a TCB and
 * a scheduling context, configure the TCB (the root's CSpace and VSpace, no IPC buffer), give the
 * SC its budget and period (SchedControl_ConfigureFlags), set the priority and bind the SC
 * (TCB_SetSchedParams), write pc = the program's entry and the arguments, and resume it.
 * The TCB's cap is left in `slot`, the SC's in `slot + 1`.
 * Returns the first error, or seL4_NoError.
 */
export function* startThread(sys: ProgramContext, spec: ThreadSpec): Stub<seL4_Error> {
  const { api } = sys;
  const cnode = seL4_CapInitThreadCNode;
  const [tcb, sc] = [spec.slot, spec.slot + 1];
  const args = spec.args ?? [];
  const regs = Array.from({ length: numRegisters }, (_, i) => (i === Reg.pc ? sys.entry(spec.program) : i >= Reg.a0 ? (args[i - Reg.a0] ?? 0) : 0));
  const calls: Array<() => Stub<seL4_Error>> = [
    () => api.seL4_Untyped_Retype(spec.untyped, seL4_ObjectType.seL4_TCBObject, 0, cnode, 0, 0, tcb, 1),
    () => api.seL4_Untyped_Retype(spec.untyped, seL4_ObjectType.seL4_SchedContextObject, seL4_MinSchedContextBits, cnode, 0, 0, sc, 1),
    () => api.seL4_TCB_Configure(tcb, cnode, 0, seL4_CapInitThreadVSpace, 0, 0, seL4_CapNull),
    () => api.seL4_SchedControl_ConfigureFlags(sys.plan.bootInfo.schedcontrol.start, sc, spec.budgetUs, spec.periodUs, 0, 0, 0),
    () => api.seL4_TCB_SetSchedParams(tcb, seL4_CapInitThreadTCB, spec.priority, spec.priority, sc, seL4_CapNull),
    () => api.seL4_TCB_WriteRegisters(tcb, false, 0, Reg.a0 + args.length, regs),
    ...(spec.resume === false ? [] : [() => api.seL4_TCB_Resume(tcb)]),
  ];
  for (const call of calls) {
    const error = yield* call();
    if (error !== seL4_Error.seL4_NoError) return error;
  }
  return seL4_Error.seL4_NoError;
}
