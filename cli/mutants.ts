// `sel4-model mutants`: how strong is the check? Runs the catalogue of planted kernel bugs
// (mutants/*.md) against it and reports which it kills, how fast, and the mutation score.
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../refinement/files.ts';
import { graceSeconds, mutationScore, runMutants, type MutantResult, type MutantRunSettings } from '../refinement/mutant-run.ts';
import { formatMutantsReport, formatProgress, mutantsReportJson } from '../refinement/mutant-report.ts';
import { applyToProject, CatalogueError, loadCatalogue, selectMutants, type Mutant } from '../refinement/mutants.ts';
import { withInterrupts, type Interrupts } from './interrupts.ts';
import { UsageError, flag, outputFile, parseCommandLine, seedOption, valued, wholeNumber } from './usage.ts';

/** The project the mutants apply to: the one this command belongs to. */
const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export const usage = `usage: sel4-model mutants [options]

Runs a catalogue of realistic kernel bugs (mutants/*.md) against the refinement check. Each
mutant is applied to a scratch copy of the project, where 'sel4-model check' runs as a child
process; mutants run in parallel. A mutant is killed when the check reports a failure (or
crashes, or hangs), survives when it passes; one whose text no longer matches the code exactly
once is stale. Mutants marked equivalent (they behave exactly like the original) are applied
but not run or scored, unless named with --only.

options:
  --only NAME,...   run only these mutants
  --runs N          workloads the check runs per mutant (default 300)
  --steps N         most kernel entries per workload (default 100)
  --seed N          the check's seed (default: random, printed)
  --time-limit S    seconds of checking per mutant (default 60); a check still running
                    ${graceSeconds} s after that is ended and the mutant counted as hanging (killed)
  --workers N|auto  mutants checked at once (default auto: one per core)
  --min-score P     pass when the mutation score is at least P percent, even if some survive
  --json FILE       write the report as JSON
  --catalogue DIR   the catalogue directory (default mutants/ of this project)
  --list            list the catalogue and check every entry still applies; run nothing
  --quiet           no progress output
  -h, --help        this text

The mutation score is the share of killed mutants (crashed and hanging included) among
those scored (killed and survived). The report gives, per killed mutant, the check's time to
the first failure, the steps it checked before it, and where the layers disagreed.

exit status: 0 every scored mutant killed, or the score reaches --min-score; 1 otherwise, or
a mutant is stale or could not run; 2 bad usage, a malformed catalogue (the message names
the file and line) or one with no mutants; 130 interrupted (143 on SIGTERM)`;

interface ParsedMutants {
  readonly only: readonly string[] | null;
  readonly runs: number;
  readonly steps: number;
  readonly seed: number;
  readonly timeLimitSeconds: number;
  readonly workers: number;
  readonly minScore: number | null;
  readonly json: string | null;
  readonly catalogue: string;
  readonly list: boolean;
  readonly quiet: boolean;
}

function decimal(flag: string, value: string | undefined, min: number, max: number, what: string): number {
  const n = value === undefined || !/^\d+(\.\d+)?$/.test(value) ? NaN : Number(value);
  if (!(n >= min && n <= max)) throw new UsageError(`${flag} needs ${what}`);
  return n;
}

function parseNames(value: string | undefined): string[] {
  const names = (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UsageError('--only needs mutant names, comma-separated (see --list)');
  return names;
}

const mutantsOptions = {
  only: valued,
  runs: valued,
  steps: valued,
  seed: valued,
  'time-limit': valued,
  workers: valued,
  'min-score': valued,
  json: valued,
  catalogue: valued,
  list: flag,
  quiet: flag,
} as const;

function parseCatalogueDir(value: string): string {
  if (value === '') throw new UsageError('--catalogue needs a directory');
  return value;
}

export function parseMutantsArgs(args: readonly string[]): ParsedMutants {
  const v = parseCommandLine(args, mutantsOptions, false).values;
  const workers = v.workers === 'auto' || v.workers === undefined ? availableParallelism() : wholeNumber('--workers', v.workers, 256);
  return {
    only: v.only === undefined ? null : parseNames(v.only),
    runs: v.runs === undefined ? 300 : wholeNumber('--runs', v.runs, 10_000_000),
    steps: v.steps === undefined ? 100 : wholeNumber('--steps', v.steps, 100_000),
    seed: v.seed === undefined ? (Math.random() * 2 ** 31) | 0 : seedOption(v.seed),
    timeLimitSeconds: v['time-limit'] === undefined ? 60 : decimal('--time-limit', v['time-limit'], 0.1, 1e6, 'a number of seconds (at least 0.1)'),
    workers,
    minScore: v['min-score'] === undefined ? null : decimal('--min-score', v['min-score'], 0, 100, 'a percentage from 0 to 100'),
    json: v.json === undefined ? null : outputFile('--json', v.json),
    catalogue: v.catalogue === undefined ? relative(process.cwd(), join(projectRoot, 'mutants')) || '.' : parseCatalogueDir(v.catalogue),
    list: v.list ?? false,
    quiet: v.quiet ?? false,
  };
}

function loadSelected(parsed: ParsedMutants): Mutant[] {
  try {
    const all = loadCatalogue(parsed.catalogue);
    return parsed.only ? selectMutants(all, parsed.only) : all;
  } catch (error) {
    if (error instanceof CatalogueError) throw new UsageError(error.message);
    throw error;
  }
}

/** --list: every mutant with its area, file and whether it still applies. */
function listCatalogue(mutants: readonly Mutant[], root: string): number {
  let stale = 0;
  for (const m of mutants) {
    const applied = applyToProject(m, root);
    if (!applied.ok) stale++;
    const mark = applied.ok ? (m.equivalent !== null ? 'equivalent' : 'applies') : 'STALE';
    process.stdout.write(`${mark.padEnd(11)}${m.area}/${m.name} (${m.file}): ${applied.ok ? m.description : applied.reason}\n`);
  }
  process.stdout.write(`${mutants.length} mutants, ${stale} stale\n`);
  return stale > 0 ? 1 : 0;
}

function passes(results: readonly MutantResult[], minScore: number | null): boolean {
  const s = mutationScore(results);
  if (s.stale > 0 || s.error > 0 || s.notRun > 0) return false;
  return s.survived === 0 || (minScore !== null && s.score !== null && s.score >= minScore);
}

export async function mutantsCommand(args: readonly string[]): Promise<number> {
  const parsed = parseMutantsArgs(args);
  const mutants = loadSelected(parsed);
  const settings: MutantRunSettings = {
    root: projectRoot,
    runs: parsed.runs,
    steps: parsed.steps,
    seed: parsed.seed,
    timeLimitSeconds: parsed.timeLimitSeconds,
    workers: parsed.workers,
    runEquivalent: parsed.only !== null,
  };
  if (parsed.list) return listCatalogue(mutants, settings.root);
  const equivalent = mutants.filter((m) => m.equivalent !== null).length;
  const err = process.stderr;
  if (!parsed.quiet) {
    err.write(
      `sel4-model mutants: ${mutants.length} mutants from ${parsed.catalogue}${equivalent > 0 && !settings.runEquivalent ? ` (${equivalent} equivalent: applied, not run)` : ''}, ` +
        `${settings.runs} runs of up to ${settings.steps} steps, seed ${settings.seed}, time limit ${settings.timeLimitSeconds} s each, ${settings.workers} worker${settings.workers === 1 ? '' : 's'}\n`,
    );
  }
  return withInterrupts((interrupts) => runAndReport(parsed, mutants, settings, interrupts));
}

/** Runs the mutants, prints the report and writes the JSON; the exit status. */
async function runAndReport(parsed: ParsedMutants, mutants: readonly Mutant[], settings: MutantRunSettings, interrupts: Interrupts): Promise<number> {
  const err = process.stderr;
  const started = performance.now();
  const results = await runMutants(mutants, settings, {
    signal: interrupts.signal,
    ...(parsed.quiet ? {} : { onResult: (p) => err.write(`${formatProgress(p.done, p.total, p.result)}\n`) }),
  });
  const elapsedSeconds = (performance.now() - started) / 1000;
  const score = mutationScore(results);
  process.stdout.write(formatMutantsReport(settings, results, score, elapsedSeconds));
  if (parsed.json) {
    try {
      writeFileAtomic(parsed.json, `${JSON.stringify(mutantsReportJson(settings, parsed.catalogue, results, score, elapsedSeconds), null, 2)}\n`);
    } catch (error) {
      err.write(`sel4-model mutants: cannot write --json ${parsed.json}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
      return 2;
    }
  }
  if (interrupts.signal.aborted) {
    process.stdout.write('INTERRUPTED\n');
    return interrupts.status();
  }
  const ok = passes(results, parsed.minScore);
  process.stdout.write(ok ? 'PASS\n' : 'FAIL\n');
  return ok ? 0 : 1;
}
