// `sel4-model check`: the refinement check with progress, a summary and a replay command.
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { BootConfigError, parseBootConfig, type BootConfigInput } from '../libsel4/index.ts';
import type { CheckOptions } from '../refinement/check.ts';
import { buildReport, type CheckReport } from '../refinement/check-report.ts';
import { readJsonFile, writeFileAtomic } from '../refinement/files.ts';
import { CoverageSpecError, formatCoverageDetails, pairText, parseCoverageRequirement, unreachedPairs, type CoveragePair } from '../refinement/coverage.ts';
import { checkCases, junitXml } from '../refinement/junit.ts';
import { writeKernelCoverage } from '../refinement/kernel-coverage.ts';
import { workloadNames, type WorkloadName } from '../refinement/workload.ts';
import { pairNames, type PairName } from '../refinement/lockstep.ts';
import { batchRuns, runParallelCheck, type ModuleExport, type ParallelProgress, type ParallelSummary, type Shard } from '../refinement/parallel.ts';
import { formatFailure, formatSummary } from '../refinement/report.ts';
import { counterexampleOf, writeCounterexample } from '../refinement/counterexample.ts';
import { UsageError, flags, seedOption, wholeNumber } from './usage.ts';

export const usage = `usage: sel4-model check [options]

Runs the refinement check: generated root-task workloads on the layers in lockstep.

options:
  --runs N          workloads to run (default 100)
  --steps N         most kernel entries per workload (default 100)
  --seed N          fast-check seed (default: random, printed)
  --path P          replay path of a failure (with the seed it was found with)
  --layers PAIRS    comma-separated pairs to check, lower-upper:
                    ${pairNames.join(', ')} (default impl-executable,executable-abstract)
  --config FILE     boot configuration (JSON)
  --workload NAME   default, or deep: grow large states on purpose (thousands of objects, long
                    derivation chains, nested CNodes, exhausted untypeds); pair it with a high --steps
  --invariants-every-step
                    check every layer's invariants after each step (default: at the end of each run)
  --quiet           no progress output
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
                    with --kernel-coverage: write the unreached branch arms (file:line arm) to FILE
  --require-coverage PAIRS
                    fail unless every invocation:result pair was reached, e.g.
                    CNodeCopy:seL4_RevokeFirst,UntypedRetype:seL4_NotEnoughMemory
  -h, --help        this text

Ctrl-C prints the summary so far and exits 130.

exit status: 0 pass, 1 refinement failure or coverage not reached, 2 bad usage or input, 130 interrupted`;


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

/** An output file: its directory must exist, so a long check does not end unable to write it. */
export function outputFile(flag: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} needs a file`);
  const dir = dirname(resolve(value));
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) throw new UsageError(`${flag} ${value}: no directory ${dir}`);
  return value;
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
  const json = readJsonFile(path, UsageError, `--config ${path}`);
  try {
    return parseBootConfig(json);
  } catch (error) {
    if (error instanceof BootConfigError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
}

export function parseCheckArgs(args: readonly string[]): ParsedCheck {
  let runs = 100;
  let steps = 100;
  let seed: number | null = null;
  let path: string | undefined;
  let pairs: PairName[] = ['impl-executable', 'executable-abstract'];
  let config: BootConfigInput | undefined;
  let configPath: string | null = null;
  let invariantsEveryStep = false;
  let quiet = false;
  let workers = 1;
  let shard: Shard | null = null;
  let timeBudgetSeconds: number | null = null;
  let runsGiven = false;
  let requireCoverage: CoveragePair[] = [];
  const outputs: Record<keyof CheckOutputs, string | null> = { reportJson: null, junit: null, coverageJson: null };
  let saveTo = 'counterexamples';
  let kernelCoverage: { unreachedFile: string | null } | null = null;
  let workload: WorkloadName = 'default';
  for (const { arg, flag, value } of flags(args)) {
    switch (flag) {
      case '--runs':
        runs = wholeNumber('--runs', value(), 10_000_000);
        runsGiven = true;
        break;
      case '--steps':
        steps = wholeNumber('--steps', value(), 100_000);
        break;
      case '--seed':
        seed = seedOption(value());
        break;
      case '--path': {
        const v = value();
        if (v === undefined || !/^\d+(:\d+)*$/.test(v)) throw new UsageError('--path needs a replay path like 12:3:0');
        path = v;
        break;
      }
      case '--layers': {
        const v = value();
        if (v === undefined) throw new UsageError('--layers needs a list of pairs');
        const list = v.split(',').map((s) => s.trim());
        for (const p of list) {
          if (!(pairNames as readonly string[]).includes(p)) throw new UsageError(`--layers: unknown pair '${p}' (pairs: ${pairNames.join(', ')})`);
        }
        pairs = [...new Set(list)] as PairName[];
        break;
      }
      case '--config': {
        const v = value();
        if (v === undefined) throw new UsageError('--config needs a file');
        configPath = v;
        config = readConfig(v);
        break;
      }
      case '--invariants-every-step':
        invariantsEveryStep = true;
        break;
      case '--workload': {
        const v = value();
        if (!(workloadNames as readonly (string | undefined)[]).includes(v)) throw new UsageError(`--workload needs one of ${workloadNames.join(', ')}`);
        workload = v as WorkloadName;
        break;
      }
      case '--save-to':
        saveTo = saveDirectory(value());
        break;
      case '--quiet':
        quiet = true;
        break;
      case '--workers':
        workers = parseWorkers(value());
        break;
      case '--shard':
        shard = parseShard(value());
        break;
      case '--time-budget':
        timeBudgetSeconds = parseSeconds('--time-budget', value());
        break;
      case '--report-json':
        outputs.reportJson = outputFile(flag, value());
        break;
      case '--junit':
        outputs.junit = outputFile(flag, value());
        break;
      case '--coverage-json':
        outputs.coverageJson = outputFile(flag, value());
        break;
      case '--require-coverage':
        requireCoverage = parseRequirement(value());
        break;
      case '--kernel-coverage':
        kernelCoverage ??= { unreachedFile: null };
        break;
      case '--kernel-coverage-unreached':
        kernelCoverage = { unreachedFile: outputFile(flag, value()) };
        break;
      default:
        throw new UsageError(`unknown option '${arg}'`);
    }
  }
  if (path !== undefined && (shard || timeBudgetSeconds !== null)) throw new UsageError('--path replays one failure: it cannot be combined with --shard or --time-budget');
  seed ??= (Math.random() * 2 ** 31) | 0;
  return {
    options: { runs, steps, seed, ...(path !== undefined ? { path } : {}), pairs, ...(config ? { config } : {}), invariantsEveryStep, ...(workload !== 'default' ? { workload } : {}) },
    quiet,
    configPath,
    scale: { workers, shard, timeBudgetSeconds, runsGiven, requireCoverage, outputs },
    saveTo,
    kernelCoverage,
  };
}

/** The command line that replays a failure: its batch's seed, path and run count, on one worker. */
export function replayCommand(parsed: ParsedCheck, seed: number, path: string, runs: number): string {
  const o = parsed.options;
  const parts = ['npx sel4-model check', '--workers 1', `--seed ${seed}`, `--path ${path}`, `--runs ${runs}`, `--steps ${o.steps}`, `--layers ${o.pairs.join(',')}`];
  if (parsed.configPath) parts.push(`--config ${parsed.configPath}`);
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

/** Without a terminal, a progress line every tenth of the check, and at least this often. */
const plainLineEveryMs = 30_000;

export function progressPrinter(stream: Pick<NodeJS.WriteStream, 'isTTY' | 'write'>): (p: ParallelProgress) => void {
  let lastDraw = 0;
  let lastTenth = -1;
  let lastLineMs = 0;
  let shrinkingShown = false;
  return (p) => {
    const seconds = p.elapsedMs / 1000;
    const rate = seconds > 0 ? Math.round(p.steps / seconds) : 0;
    const fraction = Math.min(1, p.runs !== null ? p.runsDone / p.runs : p.elapsedMs / p.timeBudgetMs!);
    const runs = p.runs !== null ? `${p.runsDone}/${p.runs} runs` : `${p.runsDone} runs, ${Math.round(seconds)} of ${Math.round(p.timeBudgetMs! / 1000)} s`;
    if (stream.isTTY) {
      if (p.elapsedMs - lastDraw < 100 && fraction < 1 && !p.shrinking) return;
      lastDraw = p.elapsedMs;
      const width = 30;
      const filled = Math.round(fraction * width);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      const tail = p.shrinking ? 'failure found, shrinking...' : `${p.steps} steps, ${rate} steps/s`;
      stream.write(`\r${bar} ${runs}, ${tail}\x1b[K`);
    } else if (p.shrinking) {
      if (!shrinkingShown) stream.write(`failure found after ${p.runsDone} runs, shrinking\n`);
      shrinkingShown = true;
    } else if (Math.floor(fraction * 10) !== lastTenth || p.elapsedMs - lastLineMs >= plainLineEveryMs) {
      lastTenth = Math.floor(fraction * 10);
      lastLineMs = p.elapsedMs;
      stream.write(`${runs}, ${p.steps} steps, ${rate} steps/s\n`);
    }
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

/** The counterexample as printed, with the command that replays it. */
function failureText(parsed: ParsedCheck, summary: ParallelSummary): { replay: string; text: string } | null {
  if (!summary.failure || !summary.failedBatch) return null;
  const replay = replayCommand(parsed, summary.failure.seed, summary.failure.path, summary.failedBatch.runs);
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

/** --save-to: a directory, created when a failure is saved; it must not be a file. */
function saveDirectory(value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError('--save-to needs a directory');
  let isFile = false;
  try {
    isFile = !statSync(value).isDirectory();
  } catch {
    // created when a counterexample is saved
  }
  if (isFile) throw new UsageError(`--save-to ${value}: not a directory`);
  return value;
}

/** Saves the failure as a counterexample file and prints its path (or why it could not be written). */
function saveCounterexample(parsed: ParsedCheck, summary: ParallelSummary): void {
  if (!summary.failure || !summary.failedBatch) return;
  const o = parsed.options;
  const settings = { runs: summary.failedBatch.runs, steps: o.steps, pairs: o.pairs, invariantsEveryStep: o.invariantsEveryStep, ...(o.config ? { config: o.config } : {}) };
  try {
    const file = writeCounterexample(parsed.saveTo, counterexampleOf(summary.failure, settings));
    process.stdout.write(`counterexample: ${file}
  replay:  npx sel4-model replay ${file}
  explain: npx sel4-model explain ${file}
`);
  } catch (error) {
    process.stderr.write(`sel4-model check: cannot save the counterexample in ${parsed.saveTo}: ${(error as NodeJS.ErrnoException).code ?? String(error)}
`);
  }
}

export async function checkCommand(args: readonly string[], layerOptionsModule?: ModuleExport): Promise<number> {
  const parsed = parseCheckArgs(args);
  const err = process.stderr;
  const o = parsed.options;
  const s = parsed.scale;
  if (!parsed.quiet) err.write(`sel4-model check: ${describeCheck(parsed)}\n`);
  const abort = new AbortController();
  const interrupt = () => abort.abort();
  process.once('SIGINT', interrupt);
  let summary: ParallelSummary;
  try {
    summary = await runParallelCheck({
      check: o,
      seed: o.seed,
      runs: plannedRuns(parsed),
      workers: workersOf(parsed),
      ...(s.shard ? { shard: s.shard } : {}),
      ...(s.timeBudgetSeconds !== null ? { timeBudgetMs: s.timeBudgetSeconds * 1000 } : {}),
      signal: abort.signal,
      ...(parsed.quiet ? {} : { onProgress: progressPrinter(err) }),
      ...(layerOptionsModule ? { layerOptionsModule } : {}),
      ...(parsed.kernelCoverage ? { kernelCoverage: true } : {}),
    });
  } finally {
    process.off('SIGINT', interrupt);
  }
  if (!parsed.quiet && err.isTTY) err.write('\n');
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
    return 130;
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
  process.stdout.write('PASS\n');
  return 0;
}
