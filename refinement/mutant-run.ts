// Running the mutant catalogue: each mutant is applied to a scratch copy of the project (the
// layers' source folders copied, node_modules linked), and `sel4-model check` runs there as a
// child process with a time limit. Mutants run in parallel, one child per worker. A mutant is
// killed when the check reports a refinement failure, crashes it when the check dies with an
// uncaught error (e.g. an impl assertion at boot), times out when the check neither passes nor
// fails within the limit (the kernel hangs), survives when the check passes, and is stale when
// its text no longer matches the code exactly once. Crashes and time-outs count as killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readReport, type CheckReport } from './check-report.ts';
import { applyToProject, type Mutant } from './mutants.ts';

/** What a scratch copy holds: everything `sel4-model check` loads. */
const copiedFolders = ['bin', 'cli', 'libsel4', 'spec-abstract', 'spec-executable', 'impl', 'refinement'] as const;
const copiedFiles = ['package.json', 'tsconfig.json'] as const;

/** Seconds a check may run past its time budget (start-up, the last batch, shrinking) before it is ended. */
export const graceSeconds = 20;

export interface MutantRunSettings {
  /** The project the mutants apply to. */
  readonly root: string;
  readonly runs: number;
  readonly steps: number;
  readonly seed: number;
  readonly timeLimitSeconds: number;
  readonly workers: number;
  /** Run the mutants marked equivalent too (to confirm they survive); otherwise they are only applied. */
  readonly runEquivalent: boolean;
}

export type MutantStatus = 'killed' | 'crashed' | 'timeout' | 'survived' | 'stale' | 'error' | 'equivalent' | 'not run';

/** Where the check found the mutant out. */
export interface MutantFailure {
  readonly kind: string;
  readonly pair: string;
  /** The failing entry in the shrunk trace, and the trace's length. */
  readonly step: number;
  readonly traceLength: number;
  readonly where: string;
  readonly lower: string;
  readonly upper: string;
  readonly replay: string;
}

export interface MutantResult {
  readonly mutant: Mutant;
  readonly status: MutantStatus;
  /** What it was killed by, or why it survived, is stale, or could not run ('error': e.g. the mutated file does not compile). */
  readonly message: string;
  /** The check's own time to the first failure (printed as `failure found after X s`). */
  readonly foundAfterSeconds: number | null;
  /** The whole child process, start-up and shrinking included. */
  readonly wallSeconds: number;
  /** Runs and steps the check completed (passing runs, before a failure). */
  readonly runs: number | null;
  readonly steps: number | null;
  readonly failure: MutantFailure | null;
}

export interface MutantProgress {
  readonly done: number;
  readonly total: number;
  readonly result: MutantResult;
}

function result(mutant: Mutant, status: MutantStatus, message: string, rest: Partial<MutantResult> = {}): MutantResult {
  return { mutant, status, message, foundAfterSeconds: null, wallSeconds: 0, runs: null, steps: null, failure: null, ...rest };
}

/** A scratch copy at `dir` of everything the commands load from `root`, sharing its node_modules. */
export function copyProject(root: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const folder of copiedFolders) cpSync(join(root, folder), join(dir, folder), { recursive: true });
  for (const file of copiedFiles) cpSync(join(root, file), join(dir, file));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
}

/** A scratch copy of the project's sources with the mutated file written in; returns its directory. */
function prepareScratch(root: string, parent: string, mutant: Mutant, mutatedText: string): string {
  const dir = join(parent, mutant.name);
  copyProject(root, dir);
  writeFileSync(join(dir, mutant.file), mutatedText);
  return dir;
}

/** The check's command line in a scratch copy. */
function checkArguments(settings: MutantRunSettings, reportFile: string, saveTo: string): string[] {
  return [
    join('bin', 'sel4-model.js'), 'check', '--quiet', '--workers', '1',
    '--runs', String(settings.runs), '--steps', String(settings.steps), '--seed', String(settings.seed),
    '--time-budget', String(settings.timeLimitSeconds), '--report-json', reportFile, '--save-to', saveTo,
  ];
}

interface ChildOutcome {
  /** The exit status, or the signal that ended the process. */
  readonly code: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly wallSeconds: number;
}

/** Runs the check as a child process, ended after `limitSeconds`, or at once on `signal`. */
function runChild(args: string[], cwd: string, limitSeconds: number, signal: AbortSignal | undefined): Promise<ChildOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    const end = () => child.kill('SIGKILL');
    const timer = setTimeout(() => {
      timedOut = true;
      end();
    }, limitSeconds * 1000);
    signal?.addEventListener('abort', end, { once: true });
    const finish = (code: number | string | null) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', end);
      resolve({ code, stdout, stderr, timedOut, wallSeconds: (performance.now() - started) / 1000 });
    };
    child.on('error', (error) => {
      stderr += `${error.message}\n`;
      finish(null);
    });
    child.on('close', (code, killedBy) => finish(code ?? killedBy));
  });
}

/** The check's JSON report, or null if it wrote none (it crashed) or a malformed one. */
function reportOrNull(file: string): CheckReport | null {
  try {
    return readReport(file);
  } catch {
    return null;
  }
}

/** The first line of the error a crashed check printed (`Error: mdb: ...`), or its last line. */
function errorLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  return lines.find((l) => /^\w*Error\b/.test(l.trim())) ?? lines[lines.length - 1] ?? 'no output';
}

/** What the child's outcome means for the mutant. */
function classify(mutant: Mutant, child: ChildOutcome, report: CheckReport | null, settings: MutantRunSettings): MutantResult {
  const found = /failure found after ([\d.]+) s/.exec(child.stdout);
  const traceLength = /shrunk trace \((\d+) steps/.exec(child.stdout);
  const common = { wallSeconds: child.wallSeconds, runs: report?.runs ?? null, steps: report?.steps ?? null };
  if (child.timedOut) {
    return result(mutant, 'timeout', `the check neither passed nor failed within ${settings.timeLimitSeconds + graceSeconds} s: the mutant makes the kernel hang`, common);
  }
  if (child.code === 1 && report?.failure) {
    const { kind, pair, step, where, lower, upper, replay } = report.failure;
    const failure: MutantFailure = { kind, pair, step, where, lower, upper, replay, traceLength: traceLength ? Number(traceLength[1]) : 0 };
    const note = mutant.equivalent === null ? '' : ' (marked equivalent, but the check tells it apart: fix the catalogue entry)';
    return result(mutant, 'killed', `${kind} (${pair}) at ${where}${note}`, { ...common, failure, foundAfterSeconds: found ? Number(found[1]) : null });
  }
  if (report === null && typeof child.code === 'number' && child.code !== 0) {
    if (/TransformError|SyntaxError/.test(child.stderr)) {
      return result(mutant, 'error', `the mutated ${mutant.file} does not compile: ${errorLine(child.stderr)}`, common);
    }
    return result(mutant, 'crashed', `the check crashed instead of reporting a failure: ${errorLine(child.stderr)}`, common);
  }
  if (child.code === 0 && report && !report.failure) {
    const cut = report.runs < settings.runs ? ` (the time limit allowed ${report.runs} of ${settings.runs} runs)` : '';
    const passed = `the check passed ${report.runs} runs, ${report.steps} steps${cut}`;
    if (mutant.equivalent !== null) return result(mutant, 'equivalent', `${passed}, as expected: ${mutant.equivalent}`, common);
    return result(mutant, 'survived', passed, common);
  }
  return result(mutant, 'error', `the check ended with status ${child.code}: ${errorLine(child.stderr || child.stdout)}`, common);
}

/** Applies one mutant to a scratch copy under `parent` and runs the check there. */
async function runOne(mutant: Mutant, settings: MutantRunSettings, parent: string, signal: AbortSignal | undefined): Promise<MutantResult> {
  const applied = applyToProject(mutant, settings.root);
  if (!applied.ok) return result(mutant, 'stale', applied.reason);
  if (mutant.equivalent !== null && !settings.runEquivalent) return result(mutant, 'equivalent', `not run: ${mutant.equivalent}`);
  const dir = prepareScratch(settings.root, parent, mutant, applied.text);
  try {
    const reportFile = join(dir, 'report.json');
    const child = await runChild(checkArguments(settings, reportFile, join(dir, 'counterexamples')), dir, settings.timeLimitSeconds + graceSeconds, signal);
    if (signal?.aborted) return result(mutant, 'not run', 'interrupted');
    return classify(mutant, child, reportOrNull(reportFile), settings);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the mutants, `settings.workers` at a time; `onResult` hears of each as it finishes.
 * Returns the results in the order of `mutants`.
 */
export async function runMutants(
  mutants: readonly Mutant[],
  settings: MutantRunSettings,
  options: { readonly onResult?: (p: MutantProgress) => void; readonly signal?: AbortSignal } = {},
): Promise<MutantResult[]> {
  const parent = mkdtempSync(join(tmpdir(), 'sel4-mutants-'));
  const results = new Array<MutantResult>(mutants.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < mutants.length) {
      const index = next++;
      const mutant = mutants[index]!;
      const r = options.signal?.aborted ? result(mutant, 'not run', 'interrupted') : await runOne(mutant, settings, parent, options.signal);
      results[index] = r;
      options.onResult?.({ done: ++done, total: mutants.length, result: r });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(settings.workers, mutants.length)) }, worker));
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
  return results;
}

// ---- the score ----

export interface MutationScore {
  readonly killed: number;
  readonly crashed: number;
  readonly timeout: number;
  readonly survived: number;
  readonly stale: number;
  readonly error: number;
  readonly equivalent: number;
  readonly notRun: number;
  /** Killed (by a failure, a crash or hanging) / (killed + survived), in percent; null when none was scored. */
  readonly score: number | null;
  /** Medians over the mutants killed by a failure: the check's time to the first failure, and the whole child process. */
  readonly medianSecondsToFailure: number | null;
  readonly medianWallSecondsToKill: number | null;
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function mutationScore(results: readonly MutantResult[]): MutationScore {
  const count = (s: MutantStatus) => results.filter((r) => r.status === s).length;
  const killed = count('killed');
  const crashed = count('crashed');
  const timeout = count('timeout');
  const survived = count('survived');
  const detected = killed + crashed + timeout;
  const byFailure = results.filter((r) => r.status === 'killed');
  return {
    killed, crashed, timeout, survived,
    stale: count('stale'), error: count('error'), equivalent: count('equivalent'), notRun: count('not run'),
    score: detected + survived === 0 ? null : (100 * detected) / (detected + survived),
    medianSecondsToFailure: median(byFailure.filter((r) => r.foundAfterSeconds !== null).map((r) => r.foundAfterSeconds!)),
    medianWallSecondsToKill: median(byFailure.map((r) => r.wallSeconds)),
  };
}
