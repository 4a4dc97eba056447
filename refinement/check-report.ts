// The JSON report of a check (`--report-json`): its settings, what ran, coverage and the failure
// if any; read back with validation, and merged across the shards of a check.
import { z } from 'zod';
import { coverageToJson, tallyFromJson, Tally } from './coverage.ts';
import { readJsonFile } from './files.ts';
import { pairNames } from './lockstep/index.ts';
import type { ParallelSummary } from './parallel.ts';
import { shrinkEnds } from './shrink.ts';
import { workloadNames } from './workload.ts';

export const reportFormat = 'sel4-model check report';
export const reportVersion = 1;

const count = z.number().int().min(0);
const coverageSchema = z
  .object({
    invocations: z.record(z.string(), z.record(z.string(), count)),
    invariants: z.record(z.string(), count),
    choices: z.record(z.string(), count),
    /** Absent in reports written before these were counted. */
    largestState: z.object({ objects: count, filledSlots: count, cdtDepth: count }).strict().optional(),
    endedRuns: z.record(z.string(), count).optional(),
  })
  .strict();

const settingsSchema = z
  .object({
    seed: z.number().int(),
    /** Runs of the whole check (all shards); null: until the time budget was spent. */
    runs: z.number().int().positive().nullable(),
    steps: z.number().int().positive(),
    pairs: z.array(z.enum(pairNames)).min(1),
    invariantsEveryStep: z.boolean(),
    /** The boot configuration file, as given. */
    config: z.string().nullable(),
    /** The replay path, when the check replayed one. */
    path: z.string().nullable(),
    workers: z.number().int().positive(),
    shard: z
      .object({ index: z.number().int().positive(), count: z.number().int().positive() })
      .strict()
      .refine((s) => s.index <= s.count, { message: 'index must not exceed count' })
      .nullable(),
    timeBudgetSeconds: z.number().positive().nullable(),
    /** The workload, when not the default one. */
    workload: z.enum(workloadNames).optional(),
  })
  .strict();

const batchSchema = z
  .object({
    index: count,
    seed: z.number().int(),
    /** Runs planned, and the first one's number in the check. */
    runs: z.number().int().positive(),
    firstRun: count,
    passingRuns: count,
    steps: count,
    elapsedMs: z.number().min(0),
    outcome: z.enum(['passed', 'failed', 'interrupted']),
  })
  .strict();

const failureSchema = z
  .object({
    batch: count,
    /** fast-check seed, path and run count that replay it on one worker. */
    seed: z.number().int(),
    path: z.string(),
    runs: z.number().int().positive(),
    kind: z.string(),
    step: z.number().int().min(-1),
    pair: z.string(),
    where: z.string(),
    lower: z.string(),
    upper: z.string(),
    replay: z.string(),
    /** How shrinking ended (absent in reports of older versions). */
    shrink: z.object({ replays: count, end: z.enum(shrinkEnds) }).strict().optional(),
    /** The counterexample as the check printed it. */
    text: z.string(),
  })
  .strict();

const reportSchema = z
  .object({
    format: z.literal(reportFormat),
    version: z.literal(reportVersion),
    settings: settingsSchema,
    runs: count,
    steps: count,
    elapsedMs: z.number().min(0),
    interrupted: z.boolean(),
    batches: z.array(batchSchema),
    coverage: coverageSchema,
    failure: failureSchema.nullable(),
  })
  .strict();

export type CheckReport = z.output<typeof reportSchema>;
export type ReportSettings = CheckReport['settings'];

/** A report file that cannot be read, parsed or merged; the message names the file and field. */
export class ReportError extends Error {}

export function buildReport(
  settings: ReportSettings,
  summary: ParallelSummary,
  failure: { readonly replay: string; readonly text: string } | null,
): CheckReport {
  const f = summary.failure;
  const batch = summary.failedBatch;
  return {
    format: reportFormat,
    version: reportVersion,
    settings,
    runs: summary.runs,
    steps: summary.steps,
    elapsedMs: summary.elapsedMs,
    interrupted: summary.interrupted,
    batches: summary.batches.map((b) => ({
      index: b.batch.index,
      seed: b.batch.seed,
      runs: b.batch.runs,
      firstRun: b.batch.firstRun,
      passingRuns: b.runs,
      steps: b.steps,
      elapsedMs: b.elapsedMs,
      outcome: b.outcome,
    })),
    coverage: coverageToJson(summary),
    failure:
      f && batch && failure
        ? {
            batch: batch.index,
            seed: f.seed,
            path: f.path,
            runs: batch.runs,
            kind: f.failure.kind,
            step: f.failure.step,
            pair: f.failure.pair,
            where: f.failure.mismatch.path,
            lower: f.failure.mismatch.lower,
            upper: f.failure.mismatch.upper,
            replay: failure.replay,
            shrink: { ...f.shrink },
            text: failure.text,
          }
        : null,
  };
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('') || '(top level)';
}

export function parseReport(file: string, json: unknown): CheckReport {
  const parsed = reportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ReportError(`${file}: ${fieldPath(issue.path)}: ${issue.message}`);
  }
  return parsed.data;
}

export function readReport(file: string): CheckReport {
  return parseReport(file, readJsonFile(file, ReportError));
}

export interface NamedReport {
  readonly file: string;
  readonly report: CheckReport;
}

export interface MergedReports {
  readonly reports: readonly NamedReport[];
  /** Shards of the check, and those without a report. */
  readonly shardCount: number;
  readonly missingShards: readonly number[];
  readonly tally: Tally;
  /** Summed over the shards, and the longest one. */
  readonly elapsedMs: number;
  readonly longestMs: number;
  readonly failed: readonly NamedReport[];
  readonly interrupted: readonly NamedReport[];
}

/** The settings every shard of one check shares. */
const sharedSettings = ['seed', 'runs', 'steps', 'pairs', 'invariantsEveryStep', 'config', 'path', 'timeBudgetSeconds', 'workload'] as const;

function shardOf(report: CheckReport): { index: number; count: number } {
  return report.settings.shard ?? { index: 1, count: 1 };
}

/** Checks the reports are distinct shards of one check. */
function checkShards(reports: readonly NamedReport[]): void {
  const first = reports[0]!;
  const seen = new Map<number, string>();
  for (const r of reports) {
    for (const key of sharedSettings) {
      const mine = JSON.stringify(r.report.settings[key]);
      const theirs = JSON.stringify(first.report.settings[key]);
      if (mine !== theirs) {
        throw new ReportError(`${r.file}: settings.${key} is ${mine} but ${first.file} has ${theirs} (merge combines the shards of one check)`);
      }
    }
    const shard = shardOf(r.report);
    if (shard.count !== shardOf(first.report).count) {
      throw new ReportError(`${r.file}: settings.shard.count is ${shard.count} but ${first.file} has ${shardOf(first.report).count}`);
    }
    const other = seen.get(shard.index);
    if (other !== undefined) throw new ReportError(`${r.file}: shard ${shard.index}/${shard.count} again (also in ${other})`);
    seen.set(shard.index, r.file);
  }
}

export function mergeReports(reports: readonly NamedReport[]): MergedReports {
  if (reports.length === 0) throw new ReportError('no reports to merge');
  checkShards(reports);
  const shardCount = shardOf(reports[0]!.report).count;
  const present = new Set(reports.map((r) => shardOf(r.report).index));
  const tally = new Tally();
  for (const { report } of reports) tally.add(tallyFromJson(report.coverage, report.runs, report.steps));
  const sorted = [...reports].sort((a, b) => shardOf(a.report).index - shardOf(b.report).index);
  return {
    reports: sorted,
    shardCount,
    missingShards: Array.from({ length: shardCount }, (_, i) => i + 1).filter((i) => !present.has(i)),
    tally,
    elapsedMs: reports.reduce((sum, r) => sum + r.report.elapsedMs, 0),
    longestMs: Math.max(...reports.map((r) => r.report.elapsedMs)),
    failed: sorted.filter((r) => r.report.failure !== null),
    interrupted: sorted.filter((r) => r.report.interrupted),
  };
}
