// A conformance run over recorded files, its counts, its text and its JSON report.
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { LayerName } from '../libsel4/index.ts';
import { ConformanceDataError, readConformanceFile, type ConformanceFile } from './conformance-data.ts';
import { failsAsKnown } from './conformance-known.ts';
import { countedFamilies, runTrace, type CountedFamily, type Difference, type LayerRun, type TraceResult } from './conformance.ts';
import type { LayerOptions } from './layers.ts';

export interface ConformanceOptions {
  readonly layers: readonly LayerName[];
  /** Only the traces of this name. */
  readonly trace?: string;
  /** Unmodelled entries, not comparable entries and known failures fail the run too. */
  readonly strict: boolean;
  readonly layerOptions?: LayerOptions;
}

/** The data files a list of files and folders names: every `*.json` of a folder, by name. */
function conformanceFiles(paths: readonly string[]): string[] {
  return paths.flatMap((path) => {
    let isFolder: boolean;
    try {
      isFolder = statSync(path).isDirectory();
    } catch (error) {
      throw new ConformanceDataError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    if (!isFolder) return [path];
    const files = readdirSync(path).filter((name) => name.endsWith('.json')).sort().map((name) => join(path, name));
    if (files.length === 0) throw new ConformanceDataError(`${path}: no recorded traces (*.json) in this folder`);
    return files;
  });
}

/** Per file and layer: how its traces and entries went. */
export interface Counts {
  traces: number;
  pass: number;
  fail: number;
  known: number;
  unmodelledTraces: number;
  entries: number;
  agreed: number;
  unmodelled: number;
  notComparable: number;
  volatileWords: number;
  /** Per counted family (TCB, SchedControl, SchedContext): its entries, and those that agreed. */
  families: Record<CountedFamily, { entries: number; agreed: number }>;
}

export interface ConformanceResult {
  readonly files: readonly { readonly file: string; readonly traces: readonly TraceResult[] }[];
  readonly layers: readonly LayerName[];
  readonly strict: boolean;
  readonly elapsedMs: number;
}

/** Reads every file first (a malformed one stops the run before anything is replayed), then replays. */
export function runConformance(paths: readonly string[], options: ConformanceOptions): ConformanceResult {
  const started = performance.now();
  const files: ConformanceFile[] = conformanceFiles(paths).map(readConformanceFile);
  const results = files.map((file) => ({
    file: file.path,
    traces: file.data.traces.filter((t) => options.trace === undefined || t.name === options.trace).map((t) => runTrace(file, t, options.layers, options.layerOptions)),
  }));
  if (options.trace !== undefined && results.every((r) => r.traces.length === 0)) {
    throw new ConformanceDataError(`--trace: no trace named '${options.trace}' in ${files.map((f) => f.path).join(', ')}`);
  }
  return { files: results, layers: options.layers, strict: options.strict, elapsedMs: performance.now() - started };
}

function emptyCounts(): Counts {
  const families = Object.fromEntries(countedFamilies.map((f) => [f, { entries: 0, agreed: 0 }])) as Counts['families'];
  return { traces: 0, pass: 0, fail: 0, known: 0, unmodelledTraces: 0, entries: 0, agreed: 0, unmodelled: 0, notComparable: 0, volatileWords: 0, families };
}

function addRun(counts: Counts, trace: TraceResult, run: LayerRun): void {
  counts.traces++;
  counts.entries += trace.entries;
  counts.agreed += run.agreed;
  counts.unmodelled += run.unmodelled;
  counts.notComparable += run.notComparable;
  counts.volatileWords += run.volatileWords;
  trace.families.forEach((family, i) => {
    if (family === null) return;
    counts.families[family].entries++;
    if (i < run.agreed) counts.families[family].agreed++;
  });
  if (run.verdict.kind === 'pass') counts.pass++;
  else if (run.verdict.kind === 'unmodelled') counts.unmodelledTraces++;
  else if (failsAsKnown(trace.known, run.verdict)) counts.known++;
  else counts.fail++;
}

export function countsOf(traces: readonly TraceResult[], layer: LayerName): Counts {
  const counts = emptyCounts();
  for (const trace of traces) for (const run of trace.runs) if (run.layer === layer) addRun(counts, trace, run);
  return counts;
}

/** Known failures that now pass on every layer: to be taken off the list. */
export function knownNowPassing(result: ConformanceResult): TraceResult[] {
  return result.files.flatMap((f) => f.traces).filter((t) => t.known && t.runs.every((r) => r.verdict.kind === 'pass'));
}

export function totals(result: ConformanceResult): Counts {
  const all = emptyCounts();
  for (const f of result.files) for (const t of f.traces) for (const r of t.runs) addRun(all, t, r);
  return all;
}

/** 0 when every compared entry agrees (and, with --strict, nothing was left out), else 1. */
export function exitStatus(result: ConformanceResult): number {
  const all = totals(result);
  if (all.fail > 0 || knownNowPassing(result).length > 0) return 1;
  if (result.strict && (all.known > 0 || all.unmodelled > 0 || all.notComparable > 0)) return 1;
  return 0;
}

// ---- text ----

function differencesText(differences: readonly Difference[], layer: string): string {
  const most = 6;
  const shown = differences.slice(0, most).map((d) => `${d.where}: seL4 ${d.seL4}, ${layer} ${d.model}`);
  if (differences.length > most) shown.push(`... ${differences.length - most} more`);
  return shown.join('; ');
}

function runText(run: LayerRun, entry: number | null): string {
  const v = run.verdict;
  switch (v.kind) {
    case 'pass':
      return 'agrees';
    case 'unmodelled':
      return `unmodelled at entry ${v.entry}: ${v.reason}`;
    case 'fail': {
      const at = v.entry === entry ? '' : v.entry === null ? 'after the last entry: ' : `at entry ${v.entry}: `;
      const answer = v.entry === null ? '' : `${v.model}   `;
      return `${at}${answer}(${differencesText(v.differences, run.layer)})`;
    }
  }
}

/** A failing trace: the first differing entry as the libsel4 call it was, seL4's answer and each layer's, and how to replay it. */
function failureText(trace: TraceResult, layers: readonly LayerName[]): string[] {
  const fails = trace.runs.flatMap((r) => (r.verdict.kind === 'fail' ? [{ run: r, v: r.verdict }] : []));
  const first = fails.reduce((a, b) => ((b.v.entry ?? Infinity) < (a.v.entry ?? Infinity) ? b : a));
  const asKnown = trace.known !== null && fails.every((f) => failsAsKnown(trace.known, f.v));
  const head = asKnown ? `KNOWN FAILURE ${basename(trace.file)}: ${trace.trace} (${trace.known!.issue})` : `FAIL ${basename(trace.file)}: ${trace.trace}`;
  const place = first.v.entry === null ? `after the last of ${trace.entries} entries: cap types in the root CNode` : `entry ${first.v.entry} of ${trace.entries}`;
  const width = Math.max(...layers.map((l) => l.length), 4) + 2;
  const why = trace.known ? [`  why: ${asKnown ? '' : `known to fail at entry ${trace.known.entry} only: `}${trace.known.reason}`] : [];
  const lines = [head, ...why, `  at ${place}`];
  if (first.v.call !== null) lines.push(`  ${'call:'.padEnd(width)}${first.v.call}`);
  if (first.v.entry !== null) lines.push(`  ${'seL4:'.padEnd(width)}${first.v.seL4}`);
  for (const run of trace.runs) lines.push(`  ${`${run.layer}:`.padEnd(width)}${runText(run, first.v.entry)}`);
  const layerOption = layers.length === 3 ? '' : ` --layers ${layers.join(',')}`;
  lines.push(`  replay: npx sel4-model conformance ${trace.file} --trace ${trace.trace}${layerOption}`);
  return lines;
}

const columns = ['traces', 'pass', 'fail', 'known', 'unmodelled', 'entries', 'agree', 'unmodelled', 'not comparable', 'volatile'];

function countsRow(name: string, layer: string, c: Counts): string {
  const cells = [c.traces, c.pass, c.fail, c.known, c.unmodelledTraces, c.entries, c.agreed, c.unmodelled, c.notComparable, c.volatileWords];
  return `${name.padEnd(22)}${layer.padEnd(12)}${cells.map((n, i) => String(n).padStart(columns[i]!.length + 2)).join('')}`;
}

/** Unmodelled behaviour met, by reason: how many traces stopped there. */
function unmodelledReasons(traces: readonly TraceResult[]): string[] {
  const reasons = new Map<string, number>();
  for (const t of traces) {
    const run = t.runs[0];
    if (run?.verdict.kind === 'unmodelled') reasons.set(run.verdict.reason, (reasons.get(run.verdict.reason) ?? 0) + 1);
  }
  return [...reasons].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${reason} x${n}`);
}

/** How many of a file's TCB, SchedControl and SchedContext invocations agree, per layer; nothing for a file without any. */
function familiesText(file: string, traces: readonly TraceResult[], layers: readonly LayerName[]): string[] {
  if (!traces.some((t) => t.families.some((f) => f !== null))) return [];
  const perLayer = layers.map((layer) => {
    const { families } = countsOf(traces, layer);
    return `${layer} ${countedFamilies.map((f) => `${f} ${families[f].agreed}/${families[f].entries}`).join(', ')}`;
  });
  return [`agreeing invocations in ${file} (by input label): ${perLayer.join('; ')}`];
}

export function resultText(result: ConformanceResult): string {
  const lines: string[] = [];
  const failing = result.files.flatMap((f) => f.traces).filter((t) => t.runs.some((r) => r.verdict.kind === 'fail'));
  for (const trace of failing) lines.push(...failureText(trace, result.layers), '');
  for (const trace of knownNowPassing(result)) {
    lines.push(`KNOWN FAILURE NOW PASSES ${basename(trace.file)}: ${trace.trace}: take it off refinement/conformance-known.ts (${trace.known!.issue})`, '');
  }
  lines.push(`${'file'.padEnd(22)}${'layer'.padEnd(12)}${columns.map((c) => `  ${c}`).join('')}`);
  for (const f of result.files) for (const layer of result.layers) lines.push(countsRow(basename(f.file), layer, countsOf(f.traces, layer)));
  for (const f of result.files) lines.push(...familiesText(basename(f.file), f.traces, result.layers));
  for (const f of result.files) {
    const reasons = unmodelledReasons(f.traces);
    if (reasons.length > 0) lines.push(`unmodelled in ${basename(f.file)} (traces stopped there, first layer): ${reasons.join(', ')}`);
  }
  const all = totals(result);
  const verdict = exitStatus(result) === 0 ? 'PASS' : 'FAIL';
  lines.push(
    `${verdict}: ${all.traces} trace runs on ${result.layers.join(', ')}: ${all.pass} pass, ${all.fail} fail, ${all.known} known failures, ` +
      `${all.unmodelledTraces} unmodelled; entries: ${all.agreed} agree, ${all.unmodelled} unmodelled, ${all.notComparable} not comparable; ` +
      `${all.volatileWords} volatile reply words not compared` +
      `${result.strict ? ' (--strict)' : ''}; ${(result.elapsedMs / 1000).toFixed(1)} s`,
  );
  return lines.join('\n');
}

/** The JSON report: per file, per trace, per layer the verdict and counts; and the totals. */
export function resultJson(result: ConformanceResult): unknown {
  return {
    format: 'sel4-conformance-report',
    version: 1,
    layers: result.layers,
    strict: result.strict,
    passed: exitStatus(result) === 0,
    elapsedMs: Math.round(result.elapsedMs),
    totals: totals(result),
    files: result.files.map((f) => ({
      file: f.file,
      counts: Object.fromEntries(result.layers.map((l) => [l, countsOf(f.traces, l)])),
      traces: f.traces.map((t) => ({ name: t.trace, entries: t.entries, known: t.known, runs: t.runs })),
    })),
  };
}
