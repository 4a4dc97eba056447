// Progress as a CI log shows it: without a terminal, a line every tenth of the check and at least
// every 30 s of a long stretch within one tenth; the shrinking notice once.
import { describe, expect, it } from 'vitest';
import { progressPrinter } from '../../cli/check.ts';
import type { ParallelProgress } from '../../refinement/parallel.ts';

function plainLog(): { lines: string[]; stream: { isTTY: boolean; write(text: string): boolean } } {
  const lines: string[] = [];
  return { lines, stream: { isTTY: false, write: (text: string) => (lines.push(text), true) } };
}

const at = (runsDone: number, elapsedMs: number, shrinking = false): ParallelProgress => ({
  runsDone,
  runs: 100,
  steps: runsDone * 50,
  elapsedMs,
  timeBudgetMs: null,
  shrinking,
});

describe('plain progress lines', () => {
  it('prints once per tenth of the runs', () => {
    const log = plainLog();
    const print = progressPrinter(log.stream).update;
    for (let run = 1; run <= 100; run++) print(at(run, run * 10));
    expect(log.lines).toHaveLength(11);
    expect(log.lines.at(-1)).toBe('100/100 runs, 5000 steps, 5000 steps/s\n');
  });

  it('prints at least every 30 s when a tenth takes longer', () => {
    const log = plainLog();
    const print = progressPrinter(log.stream).update;
    print(at(1, 1_000));
    print(at(2, 20_000));
    print(at(3, 31_500));
    print(at(4, 40_000));
    print(at(5, 62_000));
    expect(log.lines.map((l) => l.split(',')[0])).toEqual(['1/100 runs', '3/100 runs', '5/100 runs']);
  });

  it('says once that a failure is being shrunk', () => {
    const log = plainLog();
    const print = progressPrinter(log.stream).update;
    print(at(7, 100, true));
    print(at(7, 40_000, true));
    expect(log.lines).toEqual(['failure found after 7 runs, shrinking\n']);
  });
});
