// `sel4-model check`: the refinement check with progress, a summary and a replay command.
import { availableParallelism } from 'node:os';
import { BootConfigError, parseBootConfig, type BootConfigInput } from '../libsel4/index.ts';
import type { CheckOptions } from '../refinement/check.ts';
import { buildReport, type CheckReport } from '../refinement/check-report.ts';
import { readJsonFile, shellWord, writeFileAtomic } from '../refinement/files.ts';
import { CoverageSpecError, formatCoverageDetails, pairText, parseCoverageRequirement, unreachedPairs, type CoveragePair } from '../refinement/coverage.ts';
import { checkCases, junitXml } from '../refinement/junit.ts';
import { writeKernelCoverage } from '../refinement/kernel-coverage.ts';
import { workloadNames, type WorkloadName } from '../refinement/workload.ts';
import { defaultPairs, pairNames } from '../refinement/lockstep/index.ts';
import { batchRuns, runParallelCheck, type Batch, type ModuleExport, type ParallelProgress, type ParallelSummary, type Shard } from '../refinement/parallel.ts';
import { formatFailure, formatSummary } from '../refinement/report.ts';
import { counterexampleOf, writeCounterexample } from '../refinement/reports/counterexample.ts';
import { savedLines } from '../refinement/reports/explain.ts';
import { withInterrupts, type Interrupts } from './interrupts.ts';
import { parsePairList } from './replay.ts';
import { UsageError, flag, outputDirectory, outputFile, parseCommandLine, seedOption, valued, wholeNumber } from './usage.ts';

export const usage = `usage: sel4-model check [options]

Runs the refinement check: generated root-task workloads on the layers in lockstep.

options:
  --runs N          workloads to run (default 100)
  --steps N         most kernel entries per workload (default 100)
  --seed N          fast-check seed, a 32-bit signed integer (default: random, printed)
  --path P          the run number of a failure, from the replay line a failing check prints
                    (with its seed): checks only that run
  --layers PAIRS    comma-separated pairs to check, lower-upper:
                    ${pairNames.join(', ')} (default impl-executable,executable-abstract)
  --config FILE     boot configuration (JSON: memory, deviceRegions, rootCNodeSizeBits, fastpath,
                    maxWorkUnitsPerPreemption, default 100)
  --workload NAME   default, or deep: grow large states on purpose (thousands of objects, long
                    derivation chains, nested CNodes, exhausted untypeds); pair it with a high --steps
  --invariants-every-step
                    check every layer's invariants after each step (default: at the end of each run)
  --quiet           no progress output (on a terminal: a one-line bar with an ETA)
  --save-to DIR     where a failure is saved as a counterexample file, for 'sel4-model replay'
                    and 'sel4-model explain' (default counterexamples/; e.g. corpus/)
  --workers N|auto  worker threads (default 1; auto: one per core); the runs checked do not
                    depend on N
  --shard I/N       run only slice I (1-based) of N of the runs, for CI matrices
  --time-budget S   run batches of runs until S seconds are spent (with --runs: at most that many)
  --report-json FILE
                    write the JSON report (settings, runs, coverage, failure) for 'sel4-model merge'
  --junit FILE      write a JUnit XML report (one testcase per batch of runs)
  --coverage-json FILE
                    write the coverage (invocation results, invariants, choices) as JSON
  --kernel-coverage print V8's branch coverage of each layer's kernel code (impl/, spec-*/)
  --kernel-coverage-unreached FILE
                    write the unreached branch arms (file:line arm) to FILE (implies --kernel-coverage)
  --require-coverage PAIRS
                    fail unless every invocation:result pair was reached, e.g.
                    CNodeCopy:seL4_RevokeFirst,UntypedRetype:seL4_NotEnoughMemory; also the
                    scheduler's events (Scheduler:preemption, budget-expiry, release,
                    round-robin, yield, idle), Time:timer-interrupt or Time:no-interrupt, the
                    IPC events (IPC:donation, reply-return, blocked-on-send, ...), the fault
                    events (Fault:delivered-timeout, reply-restart, timeout-on-reply, ...), IPC
                    on caps ('Call to endpoint:caller BlockedOnReply'), the impl's IPC fastpath
                    (Fastpath:taken, Fastpath:budget, 'Fastpath Call:receiver-has-sc', ...), what
                    device interrupts did (Interrupt:delivered, pending-masked, pending-claimed,
                    ...), the IRQ events (IRQ:issued, ack-completes, ack-redelivers, ...) and
                    preemption (Preemption:revoke, finalise, reset: where an operation stopped;
                    irq, budget: why; first-phase, thread-control, restart-completed,
                    restart-abandoned)
  -h, --help        this text

Ctrl-C or SIGTERM prints the summary so far, writes the reports asked for, and exits 130
(143 on SIGTERM). Output files and directories are checked before the check starts.

exit status: 0 pass, 1 refinement failure or coverage not reached, 2 bad usage or input, 130 interrupted
(143 on SIGTERM)`;


/** Files a check writes. */
export interface CheckOutputs {
  readonly reportJson: string | null;
  readonly junit: string | null;
  readonly coverageJson: string | null;
}

/** How the runs are spread: workers, shards, a time budget; and the coverage required. */
export interface ScaleSettings {
  readonly workers: number;
  readonly shard: Shard | null;
  readonly timeBudgetSeconds: number | null;
  /** --runs was given: with a time budget it caps the runs. */
  readonly runsGiven: boolean;
  readonly requireCoverage: readonly CoveragePair[];
  readonly outputs: CheckOutputs;
}

export interface ParsedCheck {
  readonly options: Omit<CheckOptions, 'onProgress'>;
  readonly quiet: boolean;
  readonly configPath: string | null;
  readonly scale: ScaleSettings;
  /** Directory a counterexample file is written to. */
  readonly saveTo: string;
  /** --kernel-coverage, and the file its unreached arms go to. */
  readonly kernelCoverage: { readonly unreachedFile: string | null } | null;
}

const maxWorkers = 256;

function parseWorkers(value: string | undefined): number {
  if (value === 'auto') return availableParallelism();
  if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > maxWorkers) {
    throw new UsageError(`--workers needs a number of worker threads from 1 to ${maxWorkers}, or auto`);
  }
  return Number(value);
}

function parseShard(value: string | undefined): Shard {
  const m = value === undefined ? null : /^(\d+)\/(\d+)$/.exec(value);
  if (!m) throw new UsageError(`--shard needs I/N, the slice I of N (e.g. 2/4)`);
  const [index, count] = [Number(m[1]), Number(m[2])];
  if (count < 1 || index < 1 || index > count) throw new UsageError(`--shard ${value}: I must be between 1 and N`);
  return { index, count };
}

function parseSeconds(flag: string, value: string | undefined): number {
  const n = value === undefined || !/^\d+(\.\d+)?$/.test(value) ? NaN : Number(value);
  if (!(n > 0 && n <= 1e7)) throw new UsageError(`${flag} needs a number of seconds greater than 0`);
  return n;
}

export function parseRequirement(value: string | undefined): CoveragePair[] {
  try {
    return parseCoverageRequirement(value ?? '');
  } catch (error) {
    if (error instanceof CoverageSpecError) throw new UsageError(`--require-coverage: ${error.message}`);
    throw error;
  }
}

function readConfig(path: string): BootConfigInput {
  if (path === '') throw new UsageError('--config needs a file');
  const json = readJsonFile(path, UsageError, `--config ${path}`);
  try {
    return parseBootConfig(json);
  } catch (error) {
    if (error instanceof BootConfigError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
}

const checkOptions = {
  runs: valued,
  steps: valued,
  seed: valued,
  path: valued,
  layers: valued,
  config: valued,
  'invariants-every-step': flag,
  quiet: flag,
  'save-to': valued,
  workers: valued,
  shard: valued,
  'time-budget': valued,
  'report-json': valued,
  junit: valued,
  'coverage-json': valued,
  'require-coverage': valued,
  workload: valued,
  'kernel-coverage': flag,
  'kernel-coverage-unreached': valued,
} as const;

function parseWorkload(value: string): WorkloadName {
  if (!(workloadNames as readonly string[]).includes(value)) throw new UsageError(`--workload needs one of ${workloadNames.join(', ')}`);
  return value as WorkloadName;
}

/** --path: the run number a failing check printed, one of the `runs` runs of its seed. */
function parsePath(value: string, runs: number): string {
  if (!/^\d+$/.test(value)) throw new UsageError(`--path needs the run number a failing check printed in its replay line (e.g. --path 3)`);
  if (Number(value) >= runs) throw new UsageError(`--path ${value}: the check has runs 0 to ${runs - 1} (--runs ${runs}); give the --runs of the replay line`);
  return value;
}

export function parseCheckArgs(args: readonly string[]): ParsedCheck {
  const v = parseCommandLine(args, checkOptions, false).values;
  if (v.path !== undefined && (v.shard !== undefined || v['time-budget'] !== undefined)) {
    throw new UsageError('--path replays one failure: it cannot be combined with --shard or --time-budget');
  }
  const configPath = v.config ?? null;
  const shard = v.shard === undefined ? null : parseShard(v.shard);
  const timeBudgetSeconds = v['time-budget'] === undefined ? null : parseSeconds('--time-budget', v['time-budget']);
  const config = configPath === null ? undefined : readConfig(configPath);
  const runs = v.runs === undefined ? 100 : wholeNumber('--runs', v.runs, 10_000_000);
  const path = v.path === undefined ? undefined : parsePath(v.path, runs);
  const workload = v.workload === undefined ? 'default' : parseWorkload(v.workload);
  const options = {
    runs,
    steps: v.steps === undefined ? 100 : wholeNumber('--steps', v.steps, 100_000),
    seed: v.seed === undefined ? (Math.random() * 2 ** 31) | 0 : seedOption(v.seed),
    ...(path !== undefined ? { path } : {}),
    pairs: v.layers === undefined ? defaultPairs : parsePairList(v.layers),
    ...(config ? { config } : {}),
    invariantsEveryStep: v['invariants-every-step'] ?? false,
    ...(workload !== 'default' ? { workload } : {}),
  };
  const outputs: CheckOutputs = {
    reportJson: v['report-json'] === undefined ? null : outputFile('--report-json', v['report-json']),
    junit: v.junit === undefined ? null : outputFile('--junit', v.junit),
    coverageJson: v['coverage-json'] === undefined ? null : outputFile('--coverage-json', v['coverage-json']),
  };
  return {
    options,
    quiet: v.quiet ?? false,
    configPath,
    scale: {
      workers: v.workers === undefined ? 1 : parseWorkers(v.workers),
      shard,
      timeBudgetSeconds,
      runsGiven: v.runs !== undefined,
      requireCoverage: v['require-coverage'] === undefined ? [] : parseRequirement(v['require-coverage']),
      outputs,
    },
    saveTo: v['save-to'] === undefined ? 'counterexamples' : outputDirectory('--save-to', v['save-to']),
    kernelCoverage: v['kernel-coverage-unreached'] !== undefined
      ? { unreachedFile: outputFile('--kernel-coverage-unreached', v['kernel-coverage-unreached']) }
      : v['kernel-coverage'] ? { unreachedFile: null } : null,
  };
}

/** The command line that replays a failure: its batch's seed, path and run count, on one worker. */
export function replayCommand(parsed: ParsedCheck, seed: number, path: string, runs: number): string {
  const o = parsed.options;
  // A failure at boot fails every run: it has no path.
  const parts = ['npx sel4-model check', '--workers 1', `--seed ${seed}`, ...(path === '' ? [] : [`--path ${path}`]), `--runs ${runs}`, `--steps ${o.steps}`, `--layers ${o.pairs.join(',')}`];
  if (parsed.configPath) parts.push(`--config ${shellWord(parsed.configPath)}`);
  if (o.invariantsEveryStep) parts.push('--invariants-every-step');
  if (o.workload) parts.push(`--workload ${o.workload}`);
  return parts.join(' ');
}

/** Worker threads the check runs on: one when it replays a path. */
function workersOf(parsed: ParsedCheck): number {
  return parsed.options.path !== undefined ? 1 : parsed.scale.workers;
}

/** Runs a check plans: null until the time budget is spent. */
function plannedRuns(parsed: ParsedCheck): number | null {
  return parsed.scale.timeBudgetSeconds !== null && !parsed.scale.runsGiven ? null : parsed.options.runs;
}

/** Where progress goes: a terminal (with its width and cursor movement) or a log. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): boolean;
  cursorTo?(x: number): boolean;
  clearLine?(dir: -1 | 0 | 1): boolean;
}

export interface ProgressPrinter {
  update(p: ParallelProgress): void;
  /** After the check: ends the progress bar's line. */
  end(): void;
}

/** A duration for an ETA: `45s`, `3m05s`, `2h07m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

/** The share of the check done, from 0 to 1. */
function doneFraction(p: ParallelProgress): number {
  return Math.min(1, p.runs !== null ? p.runsDone / p.runs : p.elapsedMs / p.timeBudgetMs!);
}

/** Time left: the budget's rest, or the runs left at the rate so far; null before anything is done. */
function etaMs(p: ParallelProgress): number | null {
  if (p.runs === null) return p.timeBudgetMs! - p.elapsedMs;
  const f = doneFraction(p);
  return f > 0 ? (p.elapsedMs * (1 - f)) / f : null;
}

function runsText(p: ParallelProgress): string {
  return p.runs !== null ? `${p.runsDone}/${p.runs} runs` : `${p.runsDone} runs, ${Math.round(p.elapsedMs / 1000)} of ${Math.round(p.timeBudgetMs! / 1000)} s`;
}

function rateOf(p: ParallelProgress): number {
  return p.elapsedMs > 0 ? Math.round(p.steps / (p.elapsedMs / 1000)) : 0;
}

/** Widest progress bar, and narrowest worth drawing. */
const barWidth = { most: 30, least: 5 };

/** The terminal's progress line, at most `columns - 1` characters (the last column would wrap). */
export function progressLine(p: ParallelProgress, columns: number): string {
  const eta = etaMs(p);
  const tail = p.shrinking
    ? `${runsText(p)}, failure found, shrinking...`
    : `${runsText(p)}, ${p.steps} steps, ${rateOf(p)} steps/s${eta === null ? '' : `, ETA ${formatDuration(eta)}`}`;
  const room = columns - 1;
  const width = Math.min(barWidth.most, room - tail.length - 3);
  if (width < barWidth.least) return tail.slice(0, room);
  const filled = Math.round(doneFraction(p) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}`;
}

/** Columns assumed when a terminal does not say. */
const defaultColumns = 80;

/** Without a terminal, a progress line every tenth of the check, and at least this often. */
const plainLineEveryMs = 30_000;

export function progressPrinter(stream: ProgressStream): ProgressPrinter {
  const terminal = stream.isTTY === true && stream.cursorTo !== undefined && stream.clearLine !== undefined;
  let lastDraw = -Infinity;
  let drawn = false;
  let lastTenth = -1;
  let lastLineMs = 0;
  let shrinkingShown = false;
  const draw = (p: ParallelProgress) => {
    if (p.elapsedMs - lastDraw < 100 && doneFraction(p) < 1 && !p.shrinking) return;
    lastDraw = p.elapsedMs;
    drawn = true;
    stream.cursorTo!(0);
    stream.write(progressLine(p, stream.columns ?? defaultColumns));
    stream.clearLine!(1);
  };
  const log = (p: ParallelProgress) => {
    const fraction = doneFraction(p);
    if (p.shrinking) {
      if (!shrinkingShown) stream.write(`failure found after ${p.runsDone} runs, shrinking\n`);
      shrinkingShown = true;
    } else if (Math.floor(fraction * 10) !== lastTenth || p.elapsedMs - lastLineMs >= plainLineEveryMs) {
      lastTenth = Math.floor(fraction * 10);
      lastLineMs = p.elapsedMs;
      stream.write(`${runsText(p)}, ${p.steps} steps, ${rateOf(p)} steps/s\n`);
    }
  };
  return {
    update: terminal ? draw : log,
    end: () => {
      if (drawn) stream.write('\n');
    },
  };
}

function describeCheck(parsed: ParsedCheck): string {
  const o = parsed.options;
  const s = parsed.scale;
  const runs = plannedRuns(parsed);
  const parts = [
    `${runs === null ? 'runs' : `${runs} runs`} of up to ${o.steps} steps`,
    `seed ${o.seed}`,
    `pairs ${o.pairs.join(', ')}`,
    `${workersOf(parsed)} worker${workersOf(parsed) === 1 ? '' : 's'}`,
  ];
  if (s.shard) parts.push(`shard ${s.shard.index}/${s.shard.count}`);
  if (s.timeBudgetSeconds !== null) parts.push(`until ${s.timeBudgetSeconds} s are spent`);
  return parts.join(', ');
}

/** How the runs were spread over batches, shards and the time budget. */
function formatScale(parsed: ParsedCheck, summary: ParallelSummary): string {
  const s = parsed.scale;
  if (parsed.options.path !== undefined) return '';
  const lines = [`batches: ${summary.batches.length} (up to ${batchRuns(plannedRuns(parsed))} runs each), seeds derived from ${parsed.options.seed}, on ${summary.workers} worker${summary.workers === 1 ? '' : 's'}`];
  if (s.shard) lines.push(`shard ${s.shard.index}/${s.shard.count}: every ${s.shard.count === 1 ? '' : `${s.shard.count}th `}batch from batch ${s.shard.index - 1}`);
  if (s.timeBudgetSeconds !== null) lines.push(`time budget ${s.timeBudgetSeconds} s: ${summary.runs} runs fit (${(summary.elapsedMs / 1000).toFixed(1)} s)`);
  return `${lines.join('\n')}\n`;
}

function reportOf(parsed: ParsedCheck, summary: ParallelSummary, failure: { replay: string; text: string } | null): CheckReport {
  const o = parsed.options;
  const s = parsed.scale;
  const settings = {
    seed: o.seed,
    runs: plannedRuns(parsed),
    steps: o.steps,
    pairs: [...o.pairs],
    invariantsEveryStep: o.invariantsEveryStep,
    config: parsed.configPath,
    path: o.path ?? null,
    workers: workersOf(parsed),
    shard: s.shard,
    timeBudgetSeconds: s.timeBudgetSeconds,
    ...(o.workload ? { workload: o.workload } : {}),
  };
  return buildReport(settings, summary, failure);
}

/** The run count of the failing batch: as given when the check replayed a path, so a replay prints and saves what the check it came from did. */
function failedRuns(parsed: ParsedCheck, batch: Batch): number {
  return parsed.options.path !== undefined ? parsed.options.runs : batch.runs;
}

/** The counterexample as printed, with the command that replays it. */
function failureText(parsed: ParsedCheck, summary: ParallelSummary): { replay: string; text: string } | null {
  if (!summary.failure || !summary.failedBatch) return null;
  const replay = replayCommand(parsed, summary.failure.seed, summary.failure.path, failedRuns(parsed, summary.failedBatch));
  return { replay, text: formatFailure(summary.failure, replay) };
}

/** Writes the requested files; returns the first error, or null. */
function writeOutputs(parsed: ParsedCheck, report: CheckReport): string | null {
  const { outputs } = parsed.scale;
  const files: [string, string | null, () => string][] = [
    ['--report-json', outputs.reportJson, () => `${JSON.stringify(report, null, 2)}\n`],
    ['--junit', outputs.junit, () => junitXml('sel4-model check', checkCases(report))],
    ['--coverage-json', outputs.coverageJson, () => `${JSON.stringify({ runs: report.runs, steps: report.steps, ...report.coverage }, null, 2)}\n`],
  ];
  for (const [flag, file, text] of files) {
    if (file === null) continue;
    try {
      writeFileAtomic(file, text());
    } catch (error) {
      return `cannot write ${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
    }
  }
  return null;
}

/** Saves the failure as a counterexample file and prints its path (or why it could not be written). */
function saveCounterexample(parsed: ParsedCheck, summary: ParallelSummary): void {
  if (!summary.failure || !summary.failedBatch) return;
  const o = parsed.options;
  const settings = { runs: failedRuns(parsed, summary.failedBatch), steps: o.steps, pairs: o.pairs, invariantsEveryStep: o.invariantsEveryStep, ...(o.config ? { config: o.config } : {}) };
  try {
    const file = writeCounterexample(parsed.saveTo, counterexampleOf(summary.failure, settings));
    process.stdout.write(savedLines(file));
  } catch (error) {
    process.stderr.write(`sel4-model check: cannot save the counterexample in ${parsed.saveTo}: ${(error as NodeJS.ErrnoException).code ?? String(error)}
`);
  }
}

export async function checkCommand(args: readonly string[], layerOptionsModule?: ModuleExport): Promise<number> {
  const parsed = parseCheckArgs(args);
  return withInterrupts((interrupts) => runChecked(parsed, interrupts, layerOptionsModule));
}

/** The check, its summary, its reports and its verdict; the exit status. */
async function runChecked(parsed: ParsedCheck, interrupts: Interrupts, layerOptionsModule: ModuleExport | undefined): Promise<number> {
  const err = process.stderr;
  const o = parsed.options;
  const s = parsed.scale;
  if (!parsed.quiet) err.write(`sel4-model check: ${describeCheck(parsed)}\n`);
  const progress = parsed.quiet ? null : progressPrinter(err);
  const summary = await runParallelCheck({
    check: o,
    seed: o.seed,
    runs: plannedRuns(parsed),
    workers: workersOf(parsed),
    ...(s.shard ? { shard: s.shard } : {}),
    ...(s.timeBudgetSeconds !== null ? { timeBudgetMs: s.timeBudgetSeconds * 1000 } : {}),
    signal: interrupts.signal,
    ...(progress ? { onProgress: progress.update } : {}),
    ...(layerOptionsModule ? { layerOptionsModule } : {}),
    ...(parsed.kernelCoverage ? { kernelCoverage: true } : {}),
  });
  progress?.end();
  process.stdout.write(formatSummary(summary));
  process.stdout.write(formatCoverageDetails(summary));
  process.stdout.write(formatScale(parsed, summary));
  if (summary.kernelCoverage) writeKernelCoverage(parsed.kernelCoverage?.unreachedFile ?? null, summary.kernelCoverage);
  const failed = failureText(parsed, summary);
  const writeError = writeOutputs(parsed, reportOf(parsed, summary, failed));
  if (writeError) err.write(`sel4-model check: ${writeError}\n`);
  if (summary.interrupted) {
    if (failed) process.stdout.write(failed.text);
    saveCounterexample(parsed, summary);
    process.stdout.write(`INTERRUPTED after ${summary.runs} runs\n`);
    return interrupts.status();
  }
  if (summary.failure && failed) {
    process.stdout.write(failed.text);
    saveCounterexample(parsed, summary);
    process.stdout.write('FAIL\n');
    return 1;
  }
  if (writeError) return 2;
  const unreached = unreachedPairs(summary.coverage, s.requireCoverage);
  if (unreached.length > 0) {
    process.stdout.write(`required coverage not reached: ${unreached.map(pairText).join(', ')}\nFAIL\n`);
    return 1;
  }
  if (o.path !== undefined) {
    process.stdout.write(`the run at --path ${o.path} of seed ${o.seed} passes: there is no failure to replay (fixed since, or the seed, steps, layers or configuration differ from the printed replay line)\n`);
  }
  process.stdout.write('PASS\n');
  return 0;
}
