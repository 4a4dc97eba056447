// Reports of a mutants run: one line per mutant as it finishes, the whole catalogue by area
// with the score, and the same as JSON.
import type { MutantResult, MutantRunSettings, MutationScore } from './mutant-run.ts';

const mutantsReportFormat = 'sel4-model mutants report';
const mutantsReportVersion = 1;

const statusWidth = 'equivalent'.length + 1;

function seconds(s: number): string {
  return `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

/** How the check found the mutant out, or why it was not. */
function detail(r: MutantResult): string {
  const f = r.failure;
  if (r.status !== 'killed' || f === null) return r.message;
  const found = r.foundAfterSeconds === null ? '' : `failed after ${seconds(r.foundAfterSeconds)}, `;
  const at = f.step < 0 ? 'at boot' : `at entry ${f.step} of ${f.traceLength}`;
  return `${found}${r.steps ?? 0} steps checked before; ${f.kind} (${f.pair}) ${at}: ${f.where}: ${f.lower} vs ${f.upper}`;
}

function statusText(r: MutantResult): string {
  return r.status === 'survived' || r.status === 'stale' || r.status === 'error' ? r.status.toUpperCase() : r.status;
}

/** A survivor's known reason, from its catalogue entry. */
function knownReason(r: MutantResult): string {
  return r.status === 'survived' && r.mutant.survives !== null ? `; known weakness: ${r.mutant.survives}` : '';
}

/** One line per mutant: its result, name and file, and how it was found out. */
function formatMutantLine(r: MutantResult): string {
  return `${statusText(r).padEnd(statusWidth)}${r.mutant.name} (${r.mutant.file}, ${seconds(r.wallSeconds)}): ${detail(r)}${knownReason(r)}`;
}

export function formatProgress(done: number, total: number, r: MutantResult): string {
  const width = String(total).length;
  return `[${String(done).padStart(width)}/${total}] ${statusText(r).padEnd(statusWidth)}${r.mutant.name} (${seconds(r.wallSeconds)})`;
}

function scoreLine(s: MutationScore): string {
  const detected = s.killed + s.crashed + s.timeout;
  if (s.score === null) return 'mutation score: no mutant was scored';
  const parts = [`${s.killed} by a refinement failure`];
  if (s.crashed > 0) parts.push(`${s.crashed} by crashing the check`);
  if (s.timeout > 0) parts.push(`${s.timeout} by hanging`);
  return `mutation score: ${s.score.toFixed(1)}% (${detected} of ${detected + s.survived} killed: ${parts.join(', ')}; ${s.survived} survived)`;
}

function othersLine(s: MutationScore): string | null {
  const parts: string[] = [];
  if (s.equivalent > 0) parts.push(`${s.equivalent} equivalent (not scored)`);
  if (s.stale > 0) parts.push(`${s.stale} STALE (their text no longer matches the code)`);
  if (s.error > 0) parts.push(`${s.error} ERROR (the check could not run)`);
  if (s.notRun > 0) parts.push(`${s.notRun} not run`);
  return parts.length > 0 ? `also: ${parts.join(', ')}` : null;
}

/** The whole report: mutants by area in catalogue order, then the score and the times. */
export function formatMutantsReport(settings: MutantRunSettings, results: readonly MutantResult[], score: MutationScore, elapsedSeconds: number): string {
  const { runs, steps, seed, timeLimitSeconds, workers } = settings;
  const lines = [`mutants checked with: --runs ${runs} --steps ${steps} --seed ${seed} --time-limit ${timeLimitSeconds}`];
  let area = '';
  for (const r of results) {
    if (r.mutant.area !== area) {
      area = r.mutant.area;
      lines.push('', `${area}:`);
    }
    lines.push(`  ${formatMutantLine(r)}`);
  }
  lines.push('', scoreLine(score));
  const others = othersLine(score);
  if (others) lines.push(others);
  if (score.medianSecondsToFailure !== null && score.medianWallSecondsToKill !== null) {
    lines.push(`median time to kill: ${seconds(score.medianSecondsToFailure)} to the first failure, ${seconds(score.medianWallSecondsToKill)} for the whole check (start-up and shrinking included)`);
  }
  lines.push(`finished in ${seconds(elapsedSeconds)} on ${workers} worker${workers === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

/** The report as JSON data. */
export function mutantsReportJson(settings: MutantRunSettings, catalogue: string, results: readonly MutantResult[], score: MutationScore, elapsedSeconds: number): object {
  const { runs, steps, seed, timeLimitSeconds, workers, runEquivalent } = settings;
  return {
    format: mutantsReportFormat,
    version: mutantsReportVersion,
    settings: { catalogue, runs, steps, seed, timeLimitSeconds, workers, runEquivalent },
    score,
    elapsedSeconds,
    mutants: results.map((r) => ({
      name: r.mutant.name,
      area: r.mutant.area,
      file: r.mutant.file,
      origin: r.mutant.origin,
      description: r.mutant.description,
      equivalent: r.mutant.equivalent,
      survives: r.mutant.survives,
      status: r.status,
      message: r.message,
      foundAfterSeconds: r.foundAfterSeconds,
      wallSeconds: r.wallSeconds,
      runs: r.runs,
      steps: r.steps,
      failure: r.failure,
    })),
  };
}
