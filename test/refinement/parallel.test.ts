// Parallel, sharded and time-boxed checks: the runs checked depend only on the seed and the run
// count, shards add up to the whole check, a failure is the same on any number of workers and
// replays from its batch's seed, a budget or an abort stops the check with what it did so far.
import { describe, expect, it } from 'vitest';
import type { Coverage } from '../../refinement/check.ts';
import { Tally, coverageToJson, tallyFromJson } from '../../refinement/coverage.ts';
import { batchRuns, deriveSeed, planBatches, runParallelCheck, type ParallelCheckOptions, type ParallelSummary } from '../../refinement/parallel.ts';
import { plantedBadgeFaultModule } from './planted-fault.ts';

const check = { steps: 20, pairs: ['impl-executable', 'executable-abstract'], invariantsEveryStep: false } as const;

function options(extra: Partial<ParallelCheckOptions>): ParallelCheckOptions {
  return { check, seed: 11, runs: 12, workers: 1, ...extra };
}

/** What a summary checked, comparable across runs. */
function covered(s: { runs: number; steps: number; coverage: Coverage; choices: ReadonlyMap<string, number>; invariants: ReadonlyMap<string, number> }) {
  const sorted = <V>(m: ReadonlyMap<string, V>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
  return {
    runs: s.runs,
    steps: s.steps,
    coverage: sorted(s.coverage).map(([k, v]) => [k, sorted(v)]),
    choices: sorted(s.choices),
    invariants: sorted(s.invariants),
  };
}

describe('batches', () => {
  it('derives distinct int32 seeds, the same every time', () => {
    const seeds = Array.from({ length: 1000 }, (_, i) => deriveSeed(7, i));
    expect(new Set(seeds).size).toBe(1000);
    expect(seeds.every((s) => Number.isInteger(s) && s === (s | 0))).toBe(true);
    expect(deriveSeed(7, 3)).toBe(seeds[3]);
    expect(deriveSeed(8, 3)).not.toBe(seeds[3]);
  });

  it('covers every run exactly once, and shards partition the batches', () => {
    const all = [...planBatches(5, 1010)];
    expect(all[0]).toMatchObject({ index: 0, firstRun: 0, runs: batchRuns(1010) });
    expect(all.reduce((n, b) => n + b.runs, 0)).toBe(1010);
    all.forEach((b, i) => expect(b.firstRun).toBe(i === 0 ? 0 : all[i - 1]!.firstRun + all[i - 1]!.runs));
    const shards = [1, 2, 3].map((index) => [...planBatches(5, 1010, { index, count: 3 })]);
    expect(shards.flat().sort((a, b) => a.index - b.index)).toEqual(all);
    expect(shards.map((s) => s.length)).toEqual([22, 21, 21]);
  });

  it('sizes batches for about 64 of them, at most 50 runs, 10 without a run count', () => {
    expect([1, 64, 65, 1000, 10_000].map(batchRuns)).toEqual([1, 1, 2, 16, 50]);
    const unbounded = planBatches(5, null);
    const first = Array.from({ length: 3 }, () => unbounded.next().value!);
    expect(first.map((b) => [b.index, b.runs, b.firstRun])).toEqual([[0, 10, 0], [1, 10, 10], [2, 10, 20]]);
  });
});

describe('a parallel check', () => {
  let one: ParallelSummary;

  it('checks the same runs on 1 and 2 workers', async () => {
    one = await runParallelCheck(options({ workers: 1 }));
    const two = await runParallelCheck(options({ workers: 2 }));
    expect(one.failure).toBeNull();
    expect(one.runs).toBe(12);
    expect(two.workers).toBe(2);
    expect(covered(two)).toEqual(covered(one));
    expect(one.batches.map((b) => b.batch.index)).toEqual([...Array(12).keys()]);
    // Each run checks the invariants of 3 layers at boot and at the end.
    expect(one.invariants.get('valid_caps')).toBe(12 * 3 * 2);
  });

  it('checks, over its shards, exactly the runs of the whole check', async () => {
    const shards = await Promise.all([1, 2, 3].map((index) => runParallelCheck(options({ shard: { index, count: 3 } }))));
    expect(shards.map((s) => s.runs)).toEqual([4, 4, 4]);
    const sum = new Tally();
    for (const s of shards) sum.add(tallyFromJson(coverageToJson(s), s.runs, s.steps));
    expect(covered(sum)).toEqual(covered(one));
  });

  it('runs nothing for a shard beyond the last batch', async () => {
    const s = await runParallelCheck(options({ runs: 2, shard: { index: 3, count: 4 } }));
    expect([s.runs, s.batches.length, s.workers]).toEqual([0, 0, 0]);
  });

  it('reports the first failing batch whatever the worker count, and its seed replays it', async () => {
    const planted = { check: { ...check, steps: 30 }, seed: 22, runs: 64, layerOptionsModule: plantedBadgeFaultModule };
    const [a, b] = await Promise.all([runParallelCheck({ ...planted, workers: 1 }), runParallelCheck({ ...planted, workers: 2 })]);
    const failing = a.failedBatch!.index;
    expect(a.failedBatch).toEqual({ index: failing, seed: deriveSeed(22, failing), runs: 1, firstRun: failing });
    expect(b.failedBatch).toEqual(a.failedBatch);
    expect(b.failure!.failure.message).toBe(a.failure!.failure.message);
    expect(a.failure!.failure.kind).toBe('state');
    expect(b.batches.map((x) => x.outcome)).toEqual([...Array<string>(failing).fill('passed'), 'failed']);
    expect(covered(b)).toEqual(covered(a));
    expect(a.foundAfterMs).toBeGreaterThan(0);

    const { seed, path } = a.failure!;
    const replay = await runParallelCheck({ ...planted, check: { ...planted.check, path }, seed, runs: a.failedBatch!.runs, workers: 1 });
    expect(replay.failure!.failure.message).toBe(a.failure!.failure.message);
    expect(replay.failure!.trace).toEqual(a.failure!.trace);
  });

  it('runs batches until the time budget is spent', async () => {
    const started = performance.now();
    const s = await runParallelCheck(options({ runs: null, timeBudgetMs: 1000, workers: 2 }));
    const elapsed = performance.now() - started;
    expect(s.failure).toBeNull();
    expect(s.runs).toBeGreaterThan(0);
    expect(s.runs).toBe(s.batches.length * 10);
    expect(s.batches.every((b) => b.outcome === 'passed')).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(15_000);
  });

  it('stops on abort and keeps what the finished runs covered', async () => {
    const abort = new AbortController();
    const progress: number[] = [];
    const s = await runParallelCheck(
      options({
        runs: 2000,
        workers: 2,
        signal: abort.signal,
        onProgress: (p) => {
          progress.push(p.runsDone);
          if (p.runsDone >= 3) abort.abort();
        },
      }),
    );
    expect(s.interrupted).toBe(true);
    expect(s.runs).toBeGreaterThanOrEqual(3);
    expect(s.runs).toBeLessThan(2000);
    expect(s.batches.some((b) => b.outcome === 'interrupted')).toBe(true);
    expect(s.batches.reduce((n, b) => n + b.runs, 0)).toBe(s.runs);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
  });
});
