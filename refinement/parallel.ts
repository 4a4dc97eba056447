// A check on several worker threads, one shard of a check, or a check that runs until a time
// budget is spent. The runs are cut into batches, each a fast-check run of its own with a seed
// derived from the main seed and the batch's index, so which runs are checked depends only on the
// seed and the run count: not on the number of workers, and the shards of a check together are
// exactly the check. A failure is reported from the first failing batch (all earlier ones are
// finished first), with the batch's seed and run count, which replay it on one worker.
import { Worker } from 'node:worker_threads';
import type { BootConfigInput, KernelEvent } from '../libsel4/index.ts';
import type { CheckOptions, CheckSummary, FailureReport, TraceLine } from './check.ts';
import type { Mismatch } from './lockstep/compare.ts';
import { Tally, type RunRecord } from './coverage.ts';
import { KernelCoverage, type KernelBranch } from './kernel-coverage.ts';
import { RefinementFailure, type FailureKind } from './lockstep/index.ts';
import type { ShrinkOutcome } from './shrink.ts';

/** Slice `index` (1-based) of `count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** A fast-check run of `runs` workloads from `seed`; `firstRun` is its first run's number in the check. */
export interface Batch {
  readonly index: number;
  readonly seed: number;
  readonly runs: number;
  readonly firstRun: number;
}

/** A batch's runs when a check runs until its time budget is spent. */
export const unboundedBatchRuns = 10;

/** Runs per batch: about 64 batches per check (so workers share the load), at most 50 runs each. */
export function batchRuns(runs: number | null): number {
  return runs === null ? unboundedBatchRuns : Math.min(50, Math.max(1, Math.ceil(runs / 64)));
}

/** The seed of batch `index` of a check with seed `seed` (an int32 hash of the two). */
export function deriveSeed(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** The batches of a check of `runs` runs (null: without end), or of one shard of it. */
export function* planBatches(seed: number, runs: number | null, shard?: Shard): Generator<Batch> {
  const size = batchRuns(runs);
  const count = runs === null ? Infinity : Math.ceil(runs / size);
  for (let index = shard ? shard.index - 1 : 0; index < count; index += shard ? shard.count : 1) {
    const firstRun = index * size;
    yield { index, seed: deriveSeed(seed, index), runs: runs === null ? size : Math.min(size, runs - firstRun), firstRun };
  }
}

/** The check's settings as a worker receives them (plain data: seed and runs come per batch). */
export type WorkerCheckOptions = Omit<CheckOptions, 'runs' | 'seed' | 'onProgress' | 'onRun' | 'layerOptions' | 'shrinkLimits'>;

/** A module export a worker loads as its `LayerOptions` (tests plant faults this way). */
export interface ModuleExport {
  readonly url: string;
  readonly name: string;
}

export interface WorkerSetup {
  readonly check: WorkerCheckOptions;
  readonly layerOptionsModule?: ModuleExport;
  /** Take V8's branch coverage of the kernel code after each batch. */
  readonly kernelCoverage?: boolean;
}

export interface ToWorker {
  readonly type: 'batch';
  readonly batch: Batch;
}

/** A FailureReport as it crosses a thread boundary. */
export interface SerialFailure {
  readonly seed: number;
  readonly path: string;
  readonly kind: FailureKind;
  readonly step: number;
  readonly pair: string;
  readonly mismatch: Mismatch;
  readonly trace: readonly TraceLine[];
  readonly events: readonly KernelEvent[];
  readonly shrink: ShrinkOutcome;
  readonly config?: BootConfigInput;
}

export type FromWorker =
  | { readonly type: 'run'; readonly batch: number; readonly record: RunRecord }
  | { readonly type: 'shrinking'; readonly batch: number }
  | {
      readonly type: 'done';
      readonly batch: number;
      readonly elapsedMs: number;
      readonly foundAfterMs: number | null;
      readonly shrinkMs: number | null;
      readonly failure: SerialFailure | null;
      readonly kernelCoverage: readonly KernelBranch[] | null;
    };

export interface ParallelProgress {
  readonly runsDone: number;
  /** Runs planned; null when the check runs until its time budget is spent. */
  readonly runs: number | null;
  readonly steps: number;
  readonly elapsedMs: number;
  readonly timeBudgetMs: number | null;
  /** A failure was found and is being shrunk. */
  readonly shrinking: boolean;
}

export interface ParallelCheckOptions {
  readonly check: WorkerCheckOptions;
  readonly seed: number;
  /** Runs in the whole check (all shards); null: until the time budget is spent. */
  readonly runs: number | null;
  readonly workers: number;
  readonly shard?: Shard;
  readonly timeBudgetMs?: number;
  /** Aborting stops the workers and settles the summary at once: it covers the runs done so far. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ParallelProgress) => void;
  readonly layerOptionsModule?: ModuleExport;
  /** Measure V8's branch coverage of each layer's kernel code (kernel-coverage.ts). */
  readonly kernelCoverage?: boolean;
}

export type BatchOutcome = 'passed' | 'failed' | 'interrupted';

export interface BatchResult {
  readonly batch: Batch;
  /** Passing runs, and their steps. */
  readonly runs: number;
  readonly steps: number;
  readonly elapsedMs: number;
  readonly outcome: BatchOutcome;
}

export interface ParallelSummary extends CheckSummary {
  /** The batches the summary covers, in order: a failure's batch is the last. */
  readonly batches: readonly BatchResult[];
  /** The batch that failed: its seed and run count replay the failure on one worker. */
  readonly failedBatch: Batch | null;
  /** Stopped by the signal before the planned runs were done. */
  readonly interrupted: boolean;
  readonly workers: number;
  /** V8's branch coverage of the kernel code, when it was asked for. */
  readonly kernelCoverage: KernelCoverage | null;
}

/** The batches a check runs: one run, from the seed as given, when it replays a path. */
function batchesOf(o: ParallelCheckOptions): Iterable<Batch> {
  if (o.check.path !== undefined) return [{ index: 0, seed: o.seed, runs: 1, firstRun: 0 }];
  return planBatches(o.seed, o.runs, o.shard);
}

/** Runs planned and batches in them; null runs for a check without end. */
function planned(o: ParallelCheckOptions): { runs: number | null; batches: number } {
  if (o.runs === null && o.check.path === undefined) return { runs: null, batches: Infinity };
  let runs = 0;
  let batches = 0;
  for (const b of batchesOf(o)) {
    runs += b.runs;
    batches++;
  }
  return { runs, batches };
}

// Workers start from an evaluated script that registers the TypeScript hooks, starts the kernel
// coverage if asked (before any kernel module loads), then loads the entry.
const workerBootstrap = `
const { workerData } = require('node:worker_threads');
import(workerData.typescript)
  .then((ts) => { ts.registerTypeScript(); return workerData.setup.kernelCoverage ? import(workerData.coverage).then((c) => c.startKernelCoverage()) : null; })
  .then(() => import(workerData.entry));
`;
const typescriptModule = new URL('../bin/typescript.js', import.meta.url).href;
const workerEntry = new URL('./check-worker.ts', import.meta.url).href;
const coverageModule = new URL('./kernel-coverage.ts', import.meta.url).href;

class BatchState {
  readonly tally = new Tally();
  outcome: BatchOutcome | 'running' = 'running';
  elapsedMs = 0;
  failure: SerialFailure | null = null;
  foundAfterMs: number | null = null;
  shrinkMs: number | null = null;
  constructor(
    readonly batch: Batch,
    /** When it was handed out, from the start of the check. */
    readonly startedMs: number,
  ) {}
}

/** One parallel check: hands batches to workers, gathers what they report. */
class ParallelRun {
  private readonly started = performance.now();
  private readonly plan: Iterator<Batch>;
  private readonly planned: { runs: number | null; batches: number };
  private readonly states = new Map<number, BatchState>();
  /** Working workers and the batch each runs. */
  private readonly busy = new Map<Worker, number>();
  private readonly stopping = new Set<Worker>();
  private live = 0;
  private workersStarted = 0;
  private firstFailure = Infinity;
  private interrupted = false;
  private shrinking = false;
  private runsDone = 0;
  private steps = 0;
  private settled = false;
  private readonly onAbort = () => this.interrupt();
  private readonly kernelCoverage: KernelCoverage | null;

  constructor(
    private readonly o: ParallelCheckOptions,
    private readonly resolve: (summary: ParallelSummary) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.plan = batchesOf(o)[Symbol.iterator]();
    this.planned = planned(o);
    this.kernelCoverage = o.kernelCoverage ? new KernelCoverage() : null;
  }

  start(): void {
    if (this.o.signal?.aborted) this.interrupted = true;
    this.o.signal?.addEventListener('abort', this.onAbort, { once: true });
    const workers = Math.min(this.o.workers, this.planned.batches);
    if (workers === 0 || this.interrupted) return this.finish();
    for (let i = 0; i < workers; i++) this.spawn();
  }

  private spawn(): void {
    const setup: WorkerSetup = {
      check: this.o.check,
      ...(this.o.layerOptionsModule ? { layerOptionsModule: this.o.layerOptionsModule } : {}),
      ...(this.o.kernelCoverage ? { kernelCoverage: true } : {}),
    };
    const worker = new Worker(workerBootstrap, { eval: true, workerData: { typescript: typescriptModule, entry: workerEntry, coverage: coverageModule, setup } });
    this.live++;
    this.workersStarted++;
    worker.on('message', (message: FromWorker) => this.onMessage(worker, message));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', () => {
      this.live--;
      this.busy.delete(worker);
      if (this.live === 0) this.finish();
    });
    this.assign(worker);
  }

  private stop(worker: Worker): void {
    this.busy.delete(worker);
    this.stopping.add(worker);
    void worker.terminate();
  }

  private nextBatch(): Batch | null {
    if (this.interrupted || this.firstFailure !== Infinity) return null;
    if (this.o.timeBudgetMs !== undefined && performance.now() - this.started >= this.o.timeBudgetMs) return null;
    const next = this.plan.next();
    return next.done ? null : next.value;
  }

  private assign(worker: Worker): void {
    const batch = this.nextBatch();
    if (!batch) return this.stop(worker);
    this.states.set(batch.index, new BatchState(batch, performance.now() - this.started));
    this.busy.set(worker, batch.index);
    worker.postMessage({ type: 'batch', batch } satisfies ToWorker);
  }

  private onMessage(worker: Worker, message: FromWorker): void {
    const state = this.states.get(message.batch);
    if (this.stopping.has(worker) || !state) return;
    switch (message.type) {
      case 'run':
        state.tally.addRun(message.record);
        this.runsDone++;
        this.steps += message.record.steps;
        break;
      case 'shrinking':
        this.shrinking = true;
        break;
      case 'done':
        state.outcome = message.failure ? 'failed' : 'passed';
        state.elapsedMs = message.elapsedMs;
        state.failure = message.failure;
        state.foundAfterMs = message.foundAfterMs;
        state.shrinkMs = message.shrinkMs;
        if (message.kernelCoverage) this.kernelCoverage?.add(message.kernelCoverage);
        this.busy.delete(worker);
        if (message.failure) this.failed(message.batch);
        this.assign(worker);
        break;
    }
    this.progress();
  }

  /** Batch `index` failed: later batches no longer matter; earlier ones still run. */
  private failed(index: number): void {
    if (index > this.firstFailure) return;
    this.firstFailure = index;
    for (const [worker, batch] of this.busy) {
      if (batch > index) {
        this.states.delete(batch);
        this.stop(worker);
      }
    }
  }

  private interrupt(): void {
    if (this.settled) return;
    this.interrupted = true;
    const now = performance.now() - this.started;
    for (const [worker, batch] of this.busy) {
      const state = this.states.get(batch)!;
      state.outcome = 'interrupted';
      state.elapsedMs = now - state.startedMs;
      this.stop(worker);
    }
    // The summary does not wait for the workers to end: what they would still say is ignored.
    this.finish();
  }

  private progress(): void {
    this.o.onProgress?.({
      runsDone: this.runsDone,
      runs: this.planned.runs,
      steps: this.steps,
      elapsedMs: performance.now() - this.started,
      timeBudgetMs: this.o.timeBudgetMs ?? null,
      shrinking: this.shrinking,
    });
  }

  private fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.o.signal?.removeEventListener('abort', this.onAbort);
    for (const worker of [...this.busy.keys()]) this.stop(worker);
    this.reject(error);
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    this.o.signal?.removeEventListener('abort', this.onAbort);
    this.resolve(this.summary());
  }

  private summary(): ParallelSummary {
    const kept = [...this.states.values()].filter((s) => s.batch.index <= this.firstFailure).sort((a, b) => a.batch.index - b.batch.index);
    const tally = new Tally();
    for (const s of kept) tally.add(s.tally);
    const failing = this.states.get(this.firstFailure) ?? null;
    const f = failing?.failure ?? null;
    const failure: FailureReport | null = f && {
      seed: f.seed,
      path: f.path,
      failure: new RefinementFailure(f.kind, f.step, f.pair, f.mismatch),
      trace: f.trace,
      events: f.events,
      shrink: f.shrink,
      ...(f.config ? { config: f.config } : {}),
    };
    return {
      runs: tally.runs,
      steps: tally.steps,
      elapsedMs: performance.now() - this.started,
      coverage: tally.coverage,
      choices: tally.choices,
      invariants: tally.invariants,
      endedRuns: tally.endedRuns,
      largestState: tally.largestState,
      failure,
      foundAfterMs: failing && failing.foundAfterMs !== null ? failing.startedMs + failing.foundAfterMs : null,
      shrinkMs: failing?.shrinkMs ?? null,
      batches: kept.map((s) => ({
        batch: s.batch,
        runs: s.tally.runs,
        steps: s.tally.steps,
        elapsedMs: s.elapsedMs,
        outcome: s.outcome === 'running' ? 'interrupted' : s.outcome,
      })),
      failedBatch: failing?.batch ?? null,
      interrupted: this.interrupted,
      workers: this.workersStarted,
      kernelCoverage: this.kernelCoverage,
    };
  }
}

/** Runs a check on `workers` worker threads (see the top of this file). */
export function runParallelCheck(options: ParallelCheckOptions): Promise<ParallelSummary> {
  return new Promise((resolve, reject) => new ParallelRun(options, resolve, reject).start());
}
