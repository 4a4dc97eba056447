// Shrinking is bounded by a count of replays, not by the clock: the same failing run shrinks to
// the same trace however slow the machine is, and a wall-time guard that trips says so.
import { describe, expect, it } from 'vitest';
import { runCheck, type CheckOptions, type FailureReport } from '../../refinement/check.ts';
import { buildReport } from '../../refinement/check-report.ts';
import { formatReplay } from '../../cli/replay.ts';
import { counterexampleJson, counterexampleOf, parseCounterexample, replayCounterexample } from '../../refinement/reports/counterexample.ts';
import { formatFailure } from '../../refinement/report.ts';
import type { ShrinkLimits } from '../../refinement/shrink.ts';
import { defaultShrinkLimits } from '../../refinement/shrink.ts';
import { plantedBadgeFault } from './planted-fault.ts';

const planted: CheckOptions = { runs: 50, steps: 60, seed: 1, pairs: ['impl-executable'], invariantsEveryStep: false, layerOptions: plantedBadgeFault };

function shrunkWith(limits: ShrinkLimits): FailureReport {
  const failure = runCheck({ ...planted, shrinkLimits: limits }).failure;
  if (!failure) throw new Error('the planted fault did not show');
  return failure;
}

/** A clock that moves `stepMs` each time it is read. */
function clock(stepMs: number): () => number {
  let ms = 0;
  return () => (ms += stepMs);
}

const fileOf = (f: FailureReport) => counterexampleJson(counterexampleOf(f, { runs: planted.runs, steps: planted.steps, pairs: planted.pairs, invariantsEveryStep: false }));

describe('shrinking', () => {
  const normal = shrunkWith(defaultShrinkLimits);

  it('shrinks the planted fault completely within the default replays', () => {
    expect(normal.shrink.end).toBe('complete');
    expect(normal.shrink.replays).toBeGreaterThan(1);
    expect(normal.trace.length).toBeLessThan(10);
    expect(formatFailure(normal, 'replay')).not.toContain('NOTE:');
    expect(fileOf(normal)).not.toContain('"shrink"');
  });

  it('gives the byte-identical counterexample on a slow clock that does not trip the guard', () => {
    const slow = shrunkWith({ ...defaultShrinkLimits, now: clock(10) });
    expect(slow.shrink).toEqual(normal.shrink);
    expect(fileOf(slow)).toBe(fileOf(normal));
    expect(formatFailure(slow, 'replay')).toBe(formatFailure(normal, 'replay'));
  });

  it('marks the printed failure, the counterexample file and the JSON report when the guard trips', () => {
    const tripped = shrunkWith({ ...defaultShrinkLimits, now: clock(60_000) });
    expect(tripped.shrink.end).toBe('time-guard');
    expect(tripped.shrink.replays).toBeLessThan(normal.shrink.replays);
    const text = formatFailure(tripped, 'replay');
    expect(text).toMatch(/^NOTE: shrinking stopped by its wall-time guard after \d+ replays: the trace may not be minimal/m);
    const cx = parseCounterexample(JSON.parse(fileOf(tripped)), 'tripped.json');
    expect(cx.shrink).toEqual({ end: 'time-guard', replays: tripped.shrink.replays, note: expect.stringContaining('wall-time guard') });
    expect(formatReplay(cx, 'tripped.json', replayCounterexample(cx, { layerOptions: plantedBadgeFault }))).toMatch(/^note: shrinking stopped by its wall-time guard/m);
    const summary = { runs: 0, steps: 0, elapsedMs: 1, coverage: new Map(), choices: new Map(), invariants: new Map(), failure: tripped, foundAfterMs: 0, shrinkMs: 0 };
    const batch = { index: 0, seed: 1, runs: 50, firstRun: 0 };
    const settings = { seed: 1, runs: 50, steps: 60, pairs: ['impl-executable' as const], invariantsEveryStep: false, config: null, path: null, workers: 1, shard: null, timeBudgetSeconds: null };
    const report = buildReport(settings, { ...summary, batches: [], failedBatch: batch, interrupted: false, workers: 1, kernelCoverage: null, endedRuns: new Map(), largestState: { objects: 0, filledSlots: 0, cdtDepth: 0 } }, { replay: 'replay', text });
    expect(report.failure?.shrink).toEqual({ replays: tripped.shrink.replays, end: 'time-guard' });
    expect(report.failure?.text).toContain('NOTE: shrinking stopped by its wall-time guard');
  });

  it('stops at its replay limit the same way every time, and says so', () => {
    const [a, b] = [shrunkWith({ maxReplays: 3, guardMs: 120_000 }), shrunkWith({ maxReplays: 3, guardMs: 120_000, now: clock(1000) })];
    expect(a.shrink).toEqual({ replays: 3, end: 'replay-limit' });
    expect(fileOf(b)).toBe(fileOf(a));
    expect(a.trace.length).toBeGreaterThan(normal.trace.length);
    expect(formatFailure(a, 'replay')).toContain('NOTE: shrinking stopped at its limit of 3 replays');
  });
});
