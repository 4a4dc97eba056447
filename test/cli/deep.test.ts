// The deep-state options of `check`: --workload, --kernel-coverage, and the summary lines
// about state sizes and runs that ended early.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCheckArgs, replayCommand } from '../../cli/check.ts';
import { UsageError } from '../../cli/usage.ts';
import { runInProcess } from './command.ts';

describe('--workload', () => {
  it('takes default or deep, and the replay command keeps it', () => {
    expect(parseCheckArgs(['--seed', '1']).options.workload).toBeUndefined();
    const deep = parseCheckArgs(['--seed', '1', '--workload', 'deep']);
    expect(deep.options.workload).toBe('deep');
    expect(replayCommand(deep, 1, '0', 3)).toMatch(/ --workload deep$/);
    expect(replayCommand(parseCheckArgs(['--seed', '1']), 1, '0', 3)).not.toMatch(/--workload/);
  });

  it('is recorded in the JSON report with the largest state (so merge refuses shards of another workload)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sel4-deep-')), 'report.json');
    const r = await runInProcess(['check', '--runs', '2', '--steps', '30', '--seed', '1', '--quiet', '--workload', 'deep', '--layers', 'impl-executable', '--report-json', file]);
    expect(r.status).toBe(0);
    const report = JSON.parse(readFileSync(file, 'utf8')) as { settings: { workload?: string }; coverage: { largestState: { objects: number; cdtDepth: number } } };
    expect(report.settings.workload).toBe('deep');
    expect(report.coverage.largestState.objects).toBeGreaterThan(0);
    expect(report.coverage.largestState.cdtDepth).toBeGreaterThan(0);
  }, 60_000);

  it('refuses any other name, naming the option', () => {
    expect(() => parseCheckArgs(['--workload', 'huge'])).toThrow(new UsageError('--workload needs one of default, deep'));
    expect(() => parseCheckArgs(['--workload'])).toThrow(UsageError);
  });
});

describe('--kernel-coverage', () => {
  it('needs an existing directory for the unreached list', () => {
    expect(() => parseCheckArgs(['--kernel-coverage-unreached', '/no/such/dir/unreached.txt'])).toThrow(/--kernel-coverage-unreached .*no directory/);
  });

  it('prints each layer\'s branch coverage and writes the unreached arms', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sel4-kc-')), 'unreached.txt');
    const r = await runInProcess(['check', '--runs', '4', '--steps', '30', '--seed', '1', '--quiet', '--kernel-coverage', '--kernel-coverage-unreached', file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}impl +\d+\/\d+ branch arms \(\d+\.\d%\)$/m);
    expect(r.stdout).toMatch(/^ {2}executable +\d+\/\d+ branch arms/m);
    expect(r.stdout).toMatch(/^largest state: \d+ objects, \d+ filled slots; longest derivation chain: \d+ caps$/m);
    expect(r.stdout).toMatch(/^runs ended early, the root task unable to run: \d+ of 4/m);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(line).toMatch(/^(impl|spec-executable|spec-abstract)\/\w+\.ts:\d+ \S/);
  }, 60_000);
});
