// Progress as a CI log shows it: without a terminal, a line every tenth of the check and at least
// every 30 s of a long stretch within one tenth; the shrinking notice once.
import { describe, expect, it } from 'vitest';
import { formatDuration, progressLine, progressPrinter } from '../../cli/check.ts';
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

/** A terminal of `columns` columns: what was written, and the cursor movements asked for. */
function terminal(columns: number) {
  const calls: string[] = [];
  const stream = {
    isTTY: true,
    columns,
    write: (text: string) => (calls.push(text), true),
    cursorTo: (x: number) => (calls.push(`<cursorTo ${x}>`), true),
    clearLine: (dir: -1 | 0 | 1) => (calls.push(`<clearLine ${dir}>`), true),
  };
  /** The lines drawn, each between a move to column 0 and a clear to its right. */
  const lines = () => calls.filter((c, i) => calls[i - 1] === '<cursorTo 0>' && calls[i + 1] === '<clearLine 1>');
  return { calls, stream, lines };
}

describe('the progress bar on a terminal', () => {
  it.each([[60], [40], [20]])('stays on one line of a %i-column terminal, redrawn in place with the TTY calls', (columns) => {
    const t = terminal(columns);
    const bar = progressPrinter(t.stream);
    for (let run = 1; run <= 100; run += 9) bar.update(at(run, run * 1000));
    bar.update(at(100, 200_000, true));
    bar.end();
    expect(t.lines().length).toBeGreaterThan(5);
    for (const line of t.lines()) {
      expect(line.length).toBeLessThan(columns);
      expect(line).not.toMatch(/[\r\n\x1b]/);
    }
    expect(t.calls.at(-1)).toBe('\n');
    expect(t.calls.filter((c) => c.includes('\n'))).toHaveLength(1);
  });

  it('shows the bar, the rate and an estimate of the time left', () => {
    const line = progressLine(at(25, 10_000), 120);
    expect(line).toBe(`[${'#'.repeat(8)}${'.'.repeat(22)}] 25/100 runs, 1250 steps, 125 steps/s, ETA 30s`);
    expect(progressLine(at(25, 10_000), 60)).toHaveLength(59);
    expect(progressLine(at(25, 10_000), 60)).toBe('[###........] 25/100 runs, 1250 steps, 125 steps/s, ETA 30s');
    expect(progressLine({ ...at(3, 45_000), runs: null, timeBudgetMs: 600_000 }, 120)).toMatch(/3 runs, 45 of 600 s, .* ETA 9m15s$/);
    expect(progressLine(at(7, 100, true), 80)).toMatch(/7\/100 runs, failure found, shrinking\.\.\.$/);
  });

  it('writes durations in seconds, minutes and hours', () => {
    expect([formatDuration(0), formatDuration(44_600), formatDuration(185_000), formatDuration(7_620_000)]).toEqual(['0s', '45s', '3m05s', '2h07m']);
  });
});
