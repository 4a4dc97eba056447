// Text reports of a check: the summary, and a failure as a shrunk, readable trace.
import { errorName } from '../libsel4/index.ts';
import type { CheckSummary, FailureReport } from './check.ts';
import { shrinkNote } from './shrink.ts';

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export function formatSummary(s: CheckSummary): string {
  const seconds = s.elapsedMs / 1000;
  const lines = [
    `runs:    ${s.runs}`,
    `steps:   ${s.steps} checked (${seconds > 0 ? Math.round(s.steps / seconds) : 0} checked steps/s, ${seconds.toFixed(2)} s)`,
  ];
  const keys = [...s.coverage.keys()].filter((k) => !k.includes(' on ')).sort();
  const elsewhere = new Map<string, number>();
  for (const [key, byResult] of s.coverage) {
    if (!key.includes(' on ')) continue;
    for (const [r, n] of byResult) {
      const result = r.startsWith('unmodelled') ? 'unmodelled' : r;
      elsewhere.set(result, (elsewhere.get(result) ?? 0) + n);
    }
  }
  const counts = (m: ReadonlyMap<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r.replace(/^seL4_/, '')} x${n}`).join(', ');
  if (keys.length > 0) {
    lines.push('reached (invocation or syscall: result x count):');
    const width = Math.max(...keys.map((k) => k.length)) + 2;
    for (const key of keys) lines.push(`  ${pad(key, width)}${counts(s.coverage.get(key)!)}`);
  }
  if (elsewhere.size > 0) lines.push(`  invocation labels sent to caps of another type: ${counts(elsewhere)}`);
  if (s.coverage.size > 0) {
    const errors = new Set<string>();
    for (const byResult of s.coverage.values()) for (const r of byResult.keys()) if (r.startsWith('seL4_')) errors.add(r);
    const all = errorName.filter((e) => e !== 'seL4_NoError');
    const missing = all.filter((e) => !errors.has(e));
    lines.push(`seL4 errors reached: ${all.length - missing.length} of ${all.length}${missing.length ? ` (not reached: ${missing.join(', ')})` : ''}`);
  }
  if (s.foundAfterMs !== null && s.shrinkMs !== null) {
    lines.push(`failure found after ${(s.foundAfterMs / 1000).toFixed(2)} s (${s.runs} passing runs before it), shrunk in ${(s.shrinkMs / 1000).toFixed(2)} s`);
  }
  if (s.choices.size > 0) {
    lines.push(`abstract-spec choices taken: ${[...s.choices.entries()].map(([c, n]) => `${c} x${n}`).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatFailure(f: FailureReport, replay: string): string {
  const e = f.failure;
  const [lower, upper] = e.pair.includes('-') ? e.pair.split('-') : [e.pair, 'expected'];
  const lines = [
    '',
    `REFINEMENT FAILURE (${e.kind}) at step ${e.step}, ${e.pair.includes('-') ? `${lower} does not refine ${upper}` : e.pair}`,
    `  where:      ${e.mismatch.path}`,
    `  ${pad(`${lower}:`, 12)}${e.mismatch.lower}`,
    `  ${pad(`${upper}:`, 12)}${e.mismatch.upper}`,
    '',
    `shrunk trace (${f.trace.length} steps; the root task's calls and what the lowest layer answered):`,
  ];
  f.trace.forEach((t, i) => {
    const mark = i === e.step ? '>' : ' ';
    lines.push(`${mark} ${String(i).padStart(3)}  ${t.call}  -> ${t.result}`);
  });
  if (e.kind === 'final-state' || e.kind === 'invariant') {
    lines.push('  (found by the full comparison and invariant check that closes the run)');
  }
  const note = shrinkNote(f.shrink);
  if (note !== null) lines.push(`NOTE: ${note}`);
  lines.push('', `replay: ${replay}`, '');
  return lines.join('\n');
}
