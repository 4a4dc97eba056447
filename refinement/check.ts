// A refinement check: fast-check draws workloads, each runs on the chosen layers in lockstep
// from a fresh boot; any disagreement is shrunk to a short trace and reported with a replay
// command.
import fc from 'fast-check';
import {
  Reg,
  invocationLabelName,
  isThreadEvent,
  messageInfoFromWord,
  seL4_Syscall,
  syscallFromWord,
  syscallName,
  parseBootConfig,
  seL4_CapInitThreadCNode,
  seL4_LargePageBits,
  seL4_ObjectType,
  type BootConfigInput,
  type KernelEvent,
  type KernelView,
  type LayerName,
  type RaiseDuringEntry,
  type Observation,
  type ThreadEvent,
  type Touched,
} from '../libsel4/index.ts';
import { FaultStates, accessKeys, accessResult, IrqStates, Tally, preemptionCoverage, preemptionKey, restartOutcome, ThreadStates, canRunAgain, exceptionKey, fastpathCoverage, faultKey, interruptKey, interruptResult, ipcKey, irqKey, irqLineOf, momentOf, schedulerEventsOf, schedulerKey, stateSize, timeKey, timerFired, type RunRecord, type SchedulerMoment, type StateSize } from './coverage.ts';
import { checkInvariants, type InvariantCounts } from './invariants/index.ts';
import { Knowledge } from './knowledge.ts';
import { answerOf } from './reports/describe.ts';
import { shrinkEntries, type ShrinkLimits, type ShrinkOutcome } from './shrink.ts';
import type { LayerOptions } from './layers.ts';
import { RefinementFailure, type PairName } from './lockstep/index.ts';
import { bootSystem, type System, type SystemOptions } from './system.ts';
import type { ResolvedCall } from './workload-picks.ts';
import { resolveStep, runStyle, workloadStepArbitrary, type RunStyle, type WorkloadName, type WorkloadStep } from './workload.ts';

export interface CheckOptions {
  readonly runs: number;
  /** Most entries in one run. */
  readonly steps: number;
  readonly seed: number;
  /** fast-check's replay path of a failure (the run's number): only that run is checked. */
  readonly path?: string;
  readonly pairs: readonly PairName[];
  readonly config?: BootConfigInput;
  /** Check each layer's invariants after every step (always at the end of each run). */
  readonly invariantsEveryStep: boolean;
  readonly onProgress?: (progress: Progress) => void;
  /** What bounds the shrinking of a failing run (default: `defaultShrinkLimits`). */
  readonly shrinkLimits?: ShrinkLimits;
  /** Called after each passing run with what it covered (worker threads forward it). */
  readonly onRun?: (run: RunRecord) => void;
  /** How the layers are built (tests plant faults through it); default: the impl in debug mode. */
  readonly layerOptions?: LayerOptions;
  /** Which workload the runs draw (workload.ts); default `default`. */
  readonly workload?: WorkloadName;
}

export interface Progress {
  readonly runsDone: number;
  readonly runs: number;
  readonly steps: number;
  readonly shrinking: boolean;
}

/** Invocation (or syscall) -> result -> how often. */
export type Coverage = Map<string, Map<string, number>>;

export interface TraceLine {
  readonly call: string;
  readonly result: string;
}

export interface FailureReport {
  readonly seed: number;
  readonly path: string;
  readonly failure: RefinementFailure;
  /** The shrunk run, one line per entry; the last one is where the layers disagreed. */
  readonly trace: readonly TraceLine[];
  /** The same run as the kernel entries it made, replayable on any layer. */
  readonly events: readonly KernelEvent[];
  /** How shrinking ended, and after how many replays. */
  readonly shrink: ShrinkOutcome;
  /** The failing run's boot configuration when it is not the check's (a `large` run). */
  readonly config?: BootConfigInput;
}

export interface CheckSummary {
  readonly runs: number;
  readonly steps: number;
  readonly elapsedMs: number;
  readonly coverage: Coverage;
  readonly choices: ReadonlyMap<string, number>;
  /** How often each named invariant was checked in the passing runs. */
  readonly invariants: ReadonlyMap<string, number>;
  /** Passing runs that ended early (the root task unable to run), by the entry that did it. */
  readonly endedRuns: ReadonlyMap<string, number>;
  readonly largestState: StateSize;
  readonly failure: FailureReport | null;
  /** Milliseconds from the start to the first failing run, and spent shrinking it. */
  readonly foundAfterMs: number | null;
  readonly shrinkMs: number | null;
}

/** The object type an invocation label belongs to. */
function labelObject(label: string): string | null {
  if (label.startsWith('Untyped')) return 'untyped';
  if (label.startsWith('CNode')) return 'cnode';
  if (label.startsWith('TCB')) return 'thread';
  if (label.startsWith('SchedControl')) return 'schedcontrol';
  if (label.startsWith('SchedContext')) return 'schedcontext';
  if (label.startsWith('RISCVPageTable')) return 'pagetable';
  if (label.startsWith('RISCVPage')) return 'frame';
  if (label.startsWith('RISCVASIDControl')) return 'asidcontrol';
  if (label.startsWith('RISCVASIDPool')) return 'asidpool';
  if (label === 'IRQIssueIRQHandler' || label === 'RISCVIRQIssueIRQHandlerTrigger') return 'irqcontrol';
  if (label.startsWith('IRQ')) return 'irqhandler';
  return null;
}

/** Caps whose invocation is IPC: the label is the message's, not an operation. */
const ipcCaps: ReadonlySet<string> = new Set(['endpoint', 'notification', 'reply']);

/**
 * Coverage key of an entry: the invocation label when it was sent to a cap of its own type
 * (`CNodeCopy`), `CNodeCopy on thread cap` otherwise, `Call to endpoint` (notification, reply)
 * for IPC, or the syscall.
 */
function coverageKey(sysno: number, sentInfo: number, invokedCap: string): string {
  switch (sysno) {
    case seL4_Syscall.seL4_SysCall:
    case seL4_Syscall.seL4_SysSend:
    case seL4_Syscall.seL4_SysNBSend: {
      if (ipcCaps.has(invokedCap)) return `${syscallName(sysno).replace('seL4_Sys', '')} to ${invokedCap}`;
      const label = invocationLabelName(messageInfoFromWord(sentInfo).label);
      const prefix = sysno === seL4_Syscall.seL4_SysCall ? '' : `${syscallName(sysno).replace('seL4_Sys', '')} `;
      return labelObject(label) === invokedCap ? `${prefix}${label}` : `${prefix}${label} on ${invokedCap} cap`;
    }
    case seL4_Syscall.seL4_SysYield:
      return 'Yield';
    default:
      return sysno >= -11 && sysno <= -1 ? syscallName(sysno) : 'UnknownSyscall';
  }
}

/**
 * Why a run ended early, from the entry after which no thread could run any more: the root
 * task lost its own caps (the entry changed slots: a delete, revoke or move of its TCB, CNode or
 * scheduling context cap), stopped at a TCB or scheduling-context invocation (a Suspend, a
 * Read/CopyRegisters suspending it, its context unbound, or a cap fault in one), or faulted (a
 * cap fault, an unknown syscall or a user exception: it has no fault handler); and no other
 * thread was ready or waiting for its release.
 */
function endedBy(key: string, touched: readonly Touched[]): string {
  if (touched.some((t) => t.slots.length > 0)) return `lost its own caps (${key})`;
  return /^(Send |NBSend )?(TCB|SchedContext|SchedControl)\w+$/.test(key) ? `stopped at ${key}` : 'faulted';
}

/** An entry a thread was left to make again: the call and entry that first made it, and whether a preemption point stopped it. */
interface Restart {
  readonly text: string;
  readonly event: ThreadEvent;
  readonly preempted: boolean;
}

/** The step that makes a kept entry again, with the registers as they are now (its raise kept). */
function again(restart: Restart): ResolvedCall {
  const { event } = restart;
  return {
    text: `again: ${restart.text}`,
    run(api, devices) {
      if (event.kind === 'exception') {
        api.raiseException(event.number, event.code);
        return;
      }
      if (event.kind === 'access') {
        api.userAccess(event.access, event.vaddr, event.value);
        return;
      }
      if (event.raise) devices.raiseDuringNext(event.raise);
      api.rawSyscall([]);
    },
  };
}

const defaultMemory = parseBootConfig(undefined).memory;
/**
 * How a `large` run boots when the check boots the default configuration: 4 MiB more RAM, so a
 * boot untyped holds a 4 MiB frame (the default RAM holds none).
 */
export const largeRunConfig: BootConfigInput = { memory: { base: defaultMemory.base, sizeBytes: defaultMemory.sizeBytes + 2 ** seL4_LargePageBits } };

/** Runs one workload on a fresh system. */
class Driver {
  readonly trace: TraceLine[] = [];
  readonly coverage: [string, string][] = [];
  /** The coverage key of the entry after which the root task could no longer run. */
  ended: string | null = null;
  /** The entry made with no thread to run it (once none could run any more). */
  private idleEntered = false;
  /** How this run grows: decided by its first step. */
  private style: RunStyle | null = null;
  /** The run's system, booted when first needed (after the first step's style: a large run boots with more RAM). */
  private run: Booted | null = null;
  /** What the last device interrupt a step raised answered. */
  private interrupted: Observation | null = null;
  /** How steps raise device interrupts: through the system, keeping the observation. */
  private readonly devices = {
    interrupt: (irq: number): Observation => (this.interrupted = this.system.interrupt(irq)),
    raiseDuringNext: (raise: RaiseDuringEntry): void => this.system.raiseDuringNext(raise),
  };
  /** Entries the kernel left to be made again (Restart), by thread: made again, before any new step, when that thread runs. */
  private readonly restarts = new Map<number, Restart>();

  constructor(
    /** How the run boots (a large run of the default configuration: with `largeRunConfig`). */
    public bootOptions: SystemOptions,
    private bootKnowledge?: Knowledge,
    private readonly workload: WorkloadName = 'default',
  ) {}

  private get booted(): Booted {
    return (this.run ??= boot(this.bootOptions, this.bootKnowledge));
  }
  get system(): System {
    return this.booted.system;
  }
  get knowledge(): Knowledge {
    return this.booted.knowledge;
  }

  execute(step: WorkloadStep): void {
    if (this.style === null) {
      this.style = runStyle(this.workload, step);
      // A large run of the default boot, not booted yet (a bench preloads objects first): more RAM, its knowledge read afresh.
      if (this.style.large && this.run === null && this.bootOptions.config === undefined) {
        this.bootOptions = { ...this.bootOptions, config: largeRunConfig };
        this.bootKnowledge = undefined;
      }
    }
    // Once no thread can run any more, one more entry checks the kernel with none to run.
    const before = momentOf(this.system.view());
    if (!canRunAgain(before)) {
      if (this.idleEntered) return;
      this.idleEntered = true;
    }
    this.interrupted = null;
    const restart = before.current === null ? undefined : this.restarts.get(before.current);
    const resolved = restart ? again(restart) : resolveStep(step, this.knowledge, this.style);
    const line = { call: resolved.text, result: '(disagreement)' };
    this.trace.push(line);
    const entries = this.system.trace.length;
    resolved.run(this.system.api, this.devices);
    const entered = this.system.trace[entries]!;
    // An entry made again is told by the call that first made it (its registers are as written then).
    const event = restart?.event ?? entered;
    const now = this.system.view();
    const after = momentOf(now);
    const [key, result] = this.entryCoverage(event, before, after, now, restart !== undefined);
    this.trace[this.trace.length - 1] = { call: line.call, result };
    const observation = this.system.api.lastObservation();
    this.coverage.push([key, result], ...fastpathCoverage(observation), ...preemptionCoverage(observation, event, key));
    this.keepRestarts(before.current, resolved.text, event, observation, restart);
    const priority = (tcb: number) => {
      const o = now.object(tcb);
      return o?.type === 'tcb' ? o.priority : -1;
    };
    for (const e of schedulerEventsOf(before, after, event, key === 'Yield', priority)) this.coverage.push([schedulerKey, e]);
    const touchedObjects = new Set(this.system.lastTouched().flatMap((t) => t.objects));
    const ipcEvents = this.booted.threads.step(now, touchedObjects);
    for (const e of ipcEvents) this.coverage.push([ipcKey, e]);
    for (const e of this.booted.irqs.step(now, event, key, this.system.lastTouched(), ipcEvents.includes('woken'))) this.coverage.push([irqKey, e]);
    for (const e of this.booted.faults.step(now, touchedObjects, key)) this.coverage.push([faultKey, e]);
    if (!canRunAgain(after)) this.ended ??= endedBy(key, this.system.lastTouched());
    this.knowledge.update(this.system.lastTouched());
  }

  /**
   * Keeps the entry of a thread that was left Restart, and the access of a thread that faulted, to
   * be made again (with its raise) when the thread runs; forgets the kept entries of threads that
   * can no longer run them (no longer Running or Restart, or without a scheduling context; a
   * faulted access waits while its fault does). A preempted entry made again that completes, or
   * forgotten, is coverage (`restart-completed`, `restart-abandoned`).
   */
  private keepRestarts(caller: number | null, text: string, event: KernelEvent, observation: Observation, made: Restart | undefined): void {
    if (caller !== null && isThreadEvent(event)) {
      const faulted = event.kind === 'access' && observation.accessed === undefined && observation.unmodelled === null;
      if (observation.restarted || faulted) {
        const preempted = (made?.preempted ?? false) || observation.preempted !== undefined;
        this.restarts.set(caller, { text: made?.text ?? text, event, preempted });
      } else if (made) {
        this.restarts.delete(caller);
        if (made.preempted) this.coverage.push([preemptionKey, 'restart-completed']);
      }
    }
    const view = this.system.view();
    for (const [tcb, kept] of this.restarts) {
      const outcome = restartOutcome(view, tcb, kept.event.kind === 'access');
      if (outcome === 'waiting') continue;
      this.restarts.delete(tcb);
      if (kept.preempted) this.coverage.push([preemptionKey, 'restart-abandoned']);
    }
  }

  /** The coverage key and result of an entry: the invocation or syscall and its answer, `Time`, `UserException`. */
  private entryCoverage(event: KernelEvent, before: SchedulerMoment, after: SchedulerMoment, now: KernelView, again: boolean): [string, string] {
    if (event.kind === 'time') return [timeKey, timerFired(before, after) ? 'timer-interrupt' : 'no-interrupt'];
    if (event.kind === 'access') {
      const observation = this.system.api.lastObservation();
      const result = observation.unmodelled !== null ? `unmodelled: ${observation.unmodelled}` : accessResult(now, before.current!, event, observation, again);
      return [accessKeys[event.access], result];
    }
    if (event.kind === 'interrupt') {
      const unmodelled = this.interrupted?.unmodelled ?? null;
      return [interruptKey, unmodelled !== null ? `unmodelled: ${unmodelled}` : interruptResult(this.booted.irqs.before(event.irq), irqLineOf(now, event.irq)?.line ?? null)];
    }
    const sent = new Map(event.user.regs);
    const sysno = syscallFromWord(sent.get(Reg.a7) ?? 0);
    const result = answerOf(event.kind === 'exception' ? seL4_Syscall.seL4_SysYield : sysno, this.system.api.lastObservation());
    if (event.kind === 'exception') return [exceptionKey, result];
    const cptr = sent.get(Reg.a0) ?? 0;
    return [coverageKey(sysno, sent.get(Reg.a1) ?? 0, this.invokedCapType(cptr)), result];
  }

  /** The type of the cap a cptr names in the root CNode before the entry ran. */
  private invokedCapType(cptr: number): string {
    const { rootCNode } = this.system.plan;
    const radix = this.knowledge.cnodes.get(rootCNode)!;
    if (cptr >>> radix !== 0) return 'unresolvable';
    return this.knowledge.capAt({ cnode: rootCNode, index: cptr })?.type ?? 'null';
  }

  finish(): void {
    this.system.lockstep?.finish();
  }
}

/** A run's system and what the driver tracks of it. */
interface Booted {
  readonly system: System;
  readonly knowledge: Knowledge;
  /** Threads' states and contexts, for the IPC events. */
  readonly threads: ThreadStates;
  /** Threads' states and pending faults, for the fault events. */
  readonly faults: FaultStates;
  /** PLIC sources not as boot left them, for the IRQ events. */
  readonly irqs: IrqStates;
}

function boot(options: SystemOptions, bootKnowledge?: Knowledge): Booted {
  const system = bootSystem(options);
  const view = system.view();
  return { system, knowledge: new Knowledge(() => system.view(), system.plan.rootCNode, bootKnowledge), threads: new ThreadStates(view), faults: new FaultStates(view), irqs: new IrqStates(view) };
}

function systemOptions(options: CheckOptions, invariantCounts?: InvariantCounts): SystemOptions {
  return {
    layer: 'lockstep',
    ...(options.config ? { config: options.config } : {}),
    pairs: options.pairs,
    invariants: (layer) => checkInvariants(layer, invariantCounts),
    invariantsEveryStep: options.invariantsEveryStep,
    ...(options.layerOptions ? { layerOptions: options.layerOptions } : {}),
  };
}

/**
 * Runs a workload on the executable spec alone and returns its concrete entries, for
 * benchmarks: first `preloadObjects` endpoints are retyped (to reach states of that size),
 * then the workload's steps.
 */
export function recordWorkload(
  options: { readonly preloadObjects: number; readonly config?: BootConfigInput },
  commands: Iterable<fc.Command<object, Driver>>,
): { events: KernelEvent[]; objects: number; trace: TraceLine[] } {
  const driver = new Driver({ layer: 'executable', ...(options.config ? { config: options.config } : {}) });
  const { bootInfo } = driver.system.plan;
  const biggest = bootInfo.untypedList.reduce((best, u, i) => (!u.isDevice && u.sizeBits > bootInfo.untypedList[best]!.sizeBits ? i : best), 0);
  for (let done = 0; done < options.preloadObjects; done += 250) {
    const n = Math.min(250, options.preloadObjects - done);
    driver.system.api.seL4_Untyped_Retype(bootInfo.untyped.start + biggest, seL4_ObjectType.seL4_EndpointObject, 0, seL4_CapInitThreadCNode, 0, 0, bootInfo.empty.start + done, n);
  }
  driver.knowledge.update(driver.system.lastTouched());
  fc.modelRun(() => ({ model: {}, real: driver }), commands);
  return { events: [...driver.system.trace], objects: driver.system.view().objects().length, trace: driver.trace };
}

/**
 * Coverage of generated workloads on one layer alone, without lockstep (no comparison, no
 * invariants): what the workload reaches on a layer, for tests and for trying the workload on
 * a layer whose neighbours are not ready yet.
 */
export function layerCoverage(options: { readonly layer: LayerName; readonly runs: number; readonly steps: number; readonly seed: number; readonly workload?: WorkloadName }): Tally {
  const tally = new Tally();
  const boot = new Driver({ layer: options.layer }).knowledge;
  const property = fc.property(workloadArbitrary(options.steps, options.workload), (commands) => {
    const driver = new Driver({ layer: options.layer }, boot, options.workload);
    fc.modelRun(() => ({ model: {}, real: driver }), commands);
    tally.addRun({ steps: driver.trace.length, entries: driver.coverage, choices: new Map(), invariants: new Map(), ended: driver.ended, size: stateSize(driver.system.view()) });
  });
  fc.assert(property, { seed: options.seed, numRuns: options.runs });
  return tally;
}

class StepCommand implements fc.Command<object, Driver> {
  constructor(readonly step: WorkloadStep) {}
  check(): boolean {
    return true;
  }
  run(_model: object, driver: Driver): void {
    driver.execute(this.step);
  }
  toString(): string {
    return `${this.step.op}${this.step.perturb ? '!' : ''}(${this.step.picks.slice(0, 3).join(',')})`;
  }
}

export type WorkloadCommands = Iterable<fc.Command<object, Driver>>;

export function workloadArbitrary(steps: number, workload: WorkloadName = 'default'): fc.Arbitrary<WorkloadCommands> {
  return fc.commands([workloadStepArbitrary(workload).map((s) => new StepCommand(s))], { maxCommands: steps, size: 'max' });
}

export function runCheck(options: CheckOptions): CheckSummary {
  const started = performance.now();
  const tally = new Tally();
  let failed = false;
  let foundAt: number | null = null;
  // Every run boots the same system: learn its CSpace once. A layer that fails at boot fails
  // every run, at step -1, with nothing to shrink.
  let bootKnowledge: Knowledge;
  try {
    bootKnowledge = new Driver(systemOptions(options)).knowledge;
  } catch (error) {
    if (!(error instanceof RefinementFailure)) throw error;
    const elapsedMs = performance.now() - started;
    return {
      runs: 0, steps: 0, elapsedMs, coverage: tally.coverage, choices: tally.choices, invariants: tally.invariants,
      endedRuns: tally.endedRuns, largestState: tally.largestState,
      failure: { seed: options.seed, path: options.path ?? '', failure: error, trace: [], events: [], shrink: { replays: 0, end: 'complete' } },
      foundAfterMs: elapsedMs, shrinkMs: 0,
    };
  }
  const property = fc.property(workloadArbitrary(options.steps, options.workload), (commands) => {
    let driver: Driver | null = null;
    const invariantCounts: InvariantCounts = new Map();
    try {
      driver = new Driver(systemOptions(options, invariantCounts), bootKnowledge, options.workload);
      const d = driver;
      fc.modelRun(() => ({ model: {}, real: d }), commands);
      d.finish();
    } catch (error) {
      failed = true;
      foundAt ??= performance.now();
      options.onProgress?.({ runsDone: tally.runs, runs: options.runs, steps: tally.steps, shrinking: true });
      throw error;
    }
    if (!failed) {
      const run: RunRecord = {
        steps: driver.trace.length, entries: driver.coverage, choices: driver.system.lockstep!.choices, invariants: invariantCounts,
        ended: driver.ended, size: stateSize(driver.system.view()),
      };
      tally.addRun(run);
      options.onRun?.(run);
      options.onProgress?.({ runsDone: tally.runs, runs: options.runs, steps: tally.steps, shrinking: false });
    }
  });
  const details = fc.check(property, {
    seed: options.seed,
    numRuns: options.path !== undefined ? 1 : options.runs,
    ...(options.path !== undefined ? { path: options.path } : {}),
    // Shrinking happens on the concrete entries (shrink.ts), not on the generated steps.
    endOnFailure: true,
  });
  let failure: FailureReport | null = null;
  if (details.failed && details.counterexample) {
    const [commands] = details.counterexample;
    const driver = new Driver(systemOptions(options), bootKnowledge, options.workload);
    let error: unknown = details.errorInstance;
    try {
      fc.modelRun(() => ({ model: {}, real: driver }), commands);
      driver.finish();
    } catch (e) {
      error = e;
    }
    const refinement =
      error instanceof RefinementFailure
        ? error
        : new RefinementFailure('crash', driver.trace.length - 1, 'checker', { path: 'the check threw', lower: String(error), upper: 'no error' });
    const runOptions = driver.bootOptions;
    const boot = () => bootSystem(runOptions);
    const shrunk = shrinkEntries(boot, driver.system.trace, refinement, options.shrinkLimits);
    failure = {
      seed: details.seed,
      path: details.counterexamplePath ?? '',
      failure: shrunk.failure ?? refinement,
      trace: shrunk.trace,
      events: [...shrunk.events],
      shrink: shrunk.shrink,
      ...(runOptions.config !== options.config && runOptions.config ? { config: runOptions.config } : {}),
    };
  }
  const ended = performance.now();
  return {
    runs: tally.runs,
    steps: tally.steps,
    elapsedMs: ended - started,
    coverage: tally.coverage,
    choices: tally.choices,
    invariants: tally.invariants,
    endedRuns: tally.endedRuns,
    largestState: tally.largestState,
    failure,
    foundAfterMs: foundAt === null ? null : foundAt - started,
    shrinkMs: foundAt === null ? null : ended - foundAt,
  };
}
