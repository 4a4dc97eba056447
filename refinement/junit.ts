// JUnit XML for CI systems: a check's report as one testcase per batch of runs, merged shard
// reports as one testcase per shard; a failure carries the counterexample as the check printed it.
import type { CheckReport, MergedReports } from './check-report.ts';

export interface JUnitCase {
  readonly name: string;
  readonly seconds: number;
  readonly failure?: { readonly message: string; readonly text: string };
  /** Why the case did not run to the end. */
  readonly skipped?: string;
}

/** Characters XML 1.0 cannot carry at all. */
const notXml = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function attr(text: string): string {
  return text
    .replace(notXml, '?')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\n/g, '&#10;');
}

function cdata(text: string): string {
  return `<![CDATA[${text.replace(notXml, '?').replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

export function junitXml(suite: string, cases: readonly JUnitCase[]): string {
  const failures = cases.filter((c) => c.failure).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const seconds = cases.reduce((sum, c) => sum + c.seconds, 0).toFixed(3);
  const counts = `tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds}"`;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${attr(suite)}" ${counts}>`, `  <testsuite name="${attr(suite)}" ${counts}>`];
  for (const c of cases) {
    const open = `    <testcase classname="${attr(suite)}" name="${attr(c.name)}" time="${c.seconds.toFixed(3)}"`;
    if (c.failure) {
      lines.push(`${open}>`, `      <failure message="${attr(c.failure.message)}" type="RefinementFailure">${cdata(c.failure.text)}</failure>`, '    </testcase>');
    } else if (c.skipped !== undefined) {
      lines.push(`${open}>`, `      <skipped message="${attr(c.skipped)}"/>`, '    </testcase>');
    } else {
      lines.push(`${open}/>`);
    }
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

function failureOf(report: CheckReport): JUnitCase['failure'] {
  const f = report.failure!;
  return { message: `${f.kind} mismatch at step ${f.step} (${f.pair}): ${f.where}`, text: f.text };
}

/** One testcase per batch of a check's report. */
export function checkCases(report: CheckReport): JUnitCase[] {
  return report.batches.map((b) => {
    const last = b.firstRun + b.runs;
    const name = `${b.runs === 1 ? `run ${last}` : `runs ${b.firstRun + 1}-${last}`} (batch ${b.index}, seed ${b.seed})`;
    const base = { name, seconds: b.elapsedMs / 1000 };
    if (b.outcome === 'failed' && report.failure) return { ...base, failure: failureOf(report) };
    if (b.outcome === 'interrupted') return { ...base, skipped: `interrupted after ${b.passingRuns} of ${b.runs} runs` };
    return base;
  });
}

/** One testcase per shard of merged reports; a shard without a report fails. */
export function shardCases(merged: MergedReports): JUnitCase[] {
  const cases = merged.reports.map(({ file, report }): JUnitCase => {
    const shard = report.settings.shard ?? { index: 1, count: 1 };
    const base = { name: `shard ${shard.index}/${shard.count}: ${report.runs} runs (${file})`, seconds: report.elapsedMs / 1000 };
    if (report.failure) return { ...base, failure: failureOf(report) };
    if (report.interrupted) return { ...base, skipped: `interrupted after ${report.runs} runs` };
    return base;
  });
  for (const index of merged.missingShards) {
    const message = `no report for shard ${index}/${merged.shardCount}`;
    cases.push({ name: `shard ${index}/${merged.shardCount}`, seconds: 0, failure: { message, text: message } });
  }
  return cases;
}
