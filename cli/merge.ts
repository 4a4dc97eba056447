// `sel4-model merge`: the JSON reports of a check's shards combined into one summary.
import { mergeReports, readReport, ReportError, type MergedReports } from '../refinement/check-report.ts';
import { writeFileAtomic } from '../refinement/files.ts';
import { coverageToJson, formatCoverageDetails, pairText, unreachedPairs, type CoveragePair } from '../refinement/coverage.ts';
import { junitXml, shardCases } from '../refinement/junit.ts';
import { formatSummary } from '../refinement/report.ts';
import { parseRequirement } from './check.ts';
import { UsageError, outputFile, parseCommandLine, valued } from './usage.ts';

export const usage = `usage: sel4-model merge FILE... [options]

Combines the JSON reports of the shards of one check ('sel4-model check --shard I/N
--report-json FILE') into one summary: runs, steps, coverage, and every shard's failure.

options:
  --junit FILE      write a JUnit XML report (one testcase per shard)
  --coverage-json FILE
                    write the combined coverage as JSON
  --require-coverage PAIRS
                    fail unless every invocation:result pair was reached by some shard
  -h, --help        this text

exit status: 0 every shard passed, 1 a shard failed, was interrupted or has no report, or the
required coverage was not reached, 2 bad usage or a malformed report (the message names the
file and the field)`;

interface ParsedMerge {
  readonly files: readonly string[];
  readonly junit: string | null;
  readonly coverageJson: string | null;
  readonly requireCoverage: readonly CoveragePair[];
}

const mergeOptions = {
  junit: valued,
  'coverage-json': valued,
  'require-coverage': valued,
} as const;

export function parseMergeArgs(args: readonly string[]): ParsedMerge {
  const { values: v, positionals: files } = parseCommandLine(args, mergeOptions, true);
  if (files.length === 0) throw new UsageError('needs the report files to merge');
  return {
    files,
    junit: v.junit === undefined ? null : outputFile('--junit', v.junit),
    coverageJson: v['coverage-json'] === undefined ? null : outputFile('--coverage-json', v['coverage-json']),
    requireCoverage: v['require-coverage'] === undefined ? [] : parseRequirement(v['require-coverage']),
  };
}

function formatShards(m: MergedReports): string {
  const lines = [
    `shards:  ${m.reports.length} of ${m.shardCount} merged (${(m.elapsedMs / 1000).toFixed(1)} s in all, the longest ${(m.longestMs / 1000).toFixed(1)} s)`,
  ];
  if (m.missingShards.length > 0) lines.push(`missing: no report for shard${m.missingShards.length > 1 ? 's' : ''} ${m.missingShards.map((i) => `${i}/${m.shardCount}`).join(', ')}`);
  for (const { file, report } of m.interrupted) lines.push(`interrupted: ${file} after ${report.runs} runs`);
  return `${lines.join('\n')}\n`;
}

function write(flag: string, file: string, text: string): void {
  try {
    writeFileAtomic(file, text);
  } catch (error) {
    throw new ReportError(`cannot write ${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

export function mergeCommand(args: readonly string[]): number {
  const parsed = parseMergeArgs(args);
  let merged: MergedReports;
  try {
    merged = mergeReports(parsed.files.map((file) => ({ file, report: readReport(file) })));
    const t = merged.tally;
    if (parsed.junit) write('--junit', parsed.junit, junitXml('sel4-model check', shardCases(merged)));
    if (parsed.coverageJson) write('--coverage-json', parsed.coverageJson, `${JSON.stringify({ runs: t.runs, steps: t.steps, ...coverageToJson(t) }, null, 2)}\n`);
  } catch (error) {
    if (error instanceof ReportError) {
      process.stderr.write(`sel4-model merge: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const t = merged.tally;
  const summary = { runs: t.runs, steps: t.steps, elapsedMs: merged.elapsedMs, coverage: t.coverage, choices: t.choices, invariants: t.invariants, endedRuns: t.endedRuns, largestState: t.largestState, failure: null, foundAfterMs: null, shrinkMs: null };
  process.stdout.write(formatSummary(summary));
  process.stdout.write(formatCoverageDetails(t));
  process.stdout.write(formatShards(merged));
  for (const { file, report } of merged.failed) process.stdout.write(`\n${file}:${report.failure!.text}`);
  const unreached = unreachedPairs(t.coverage, parsed.requireCoverage);
  if (unreached.length > 0) process.stdout.write(`required coverage not reached: ${unreached.map(pairText).join(', ')}\n`);
  const passed = merged.failed.length === 0 && merged.interrupted.length === 0 && merged.missingShards.length === 0 && unreached.length === 0;
  process.stdout.write(passed ? 'PASS\n' : 'FAIL\n');
  return passed ? 0 : 1;
}
