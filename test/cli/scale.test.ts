// Scale and CI reporting from the command line: bad options, shards whose merged report equals
// the whole check, malformed reports named by file and field, JUnit and JSON reports of a
// failure with its one-worker replay, required coverage, a time budget, and Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readReport, type CheckReport } from '../../refinement/check-report.ts';
import { deriveSeed } from '../../refinement/parallel.ts';
import { plantedBadgeFaultModule } from '../refinement/planted-fault.ts';
import { runInProcess, type Ran } from './command.ts';

const run = runInProcess;

const stackTrace = /at .*\.ts:\d+/;
/** The checks these hooks run take a few seconds, far more on a loaded machine. */
const hookTimeoutMs = 120_000;
const dir = mkdtempSync(join(tmpdir(), 'sel4-model-scale-'));
const small = ['--runs', '6', '--steps', '15', '--seed', '9', '--quiet'];

afterEach(() => vi.restoreAllMocks());

describe('bad options', () => {
  it.each([
    [['check', '--workers', '0'], /--workers needs a number of worker threads from 1 to 256, or auto/],
    [['check', '--workers', 'many'], /--workers needs/],
    [['check', '--shard', '3/2'], /--shard 3\/2: I must be between 1 and N/],
    [['check', '--shard', '0/2'], /--shard 0\/2: I must be between 1 and N/],
    [['check', '--shard', 'x'], /--shard needs I\/N/],
    [['check', '--time-budget', '0'], /--time-budget needs a number of seconds/],
    [['check', '--require-coverage', 'CNodeCopy:Nope'], /--require-coverage: unknown result 'Nope'/],
    [['check', '--report-json', join(dir, 'no-such-dir', 'r.json')], /--report-json .*: no directory/],
    [['check', '--path', '1:0', '--shard', '1/2'], /--path replays one failure/],
    [['merge'], /needs the report files/],
    [['merge', 'a.json', '--bogus'], /unknown option '--bogus'/],
  ])('%j exits 2 naming the problem', async (args, message) => {
    const r = await run(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(new RegExp(`usage: sel4-model ${args[0]}`));
    expect(r.stderr).not.toMatch(stackTrace);
  });
});

describe('shards and merge', () => {
  const shardFile = (i: number) => join(dir, `shard-${i}.json`);
  let merged: Ran;

  beforeAll(async () => {
    for (const i of [1, 2]) expect((await run(['check', ...small, '--shard', `${i}/2`, '--report-json', shardFile(i)])).status).toBe(0);
    const whole = await run(['check', ...small, '--workers', '2', '--coverage-json', join(dir, 'whole.json'), '--require-coverage', 'UntypedRetype:NoError']);
    expect(whole.status).toBe(0);
    merged = await run(['merge', shardFile(1), shardFile(2), '--coverage-json', join(dir, 'merged.json'), '--junit', join(dir, 'merged.xml')]);
  }, hookTimeoutMs);

  it('merges the shards into exactly the coverage of the whole check', () => {
    expect(merged.status).toBe(0);
    expect(merged.stdout).toMatch(/^runs: {4}6$/m);
    expect(merged.stdout).toMatch(/^shards: {2}2 of 2 merged/m);
    expect(merged.stdout).toMatch(/PASS\n$/);
    const whole = JSON.parse(readFileSync(join(dir, 'whole.json'), 'utf8'));
    expect(whole.runs).toBe(6);
    expect(JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8'))).toEqual(whole);
  });

  it('records each shard in its report and writes one JUnit testcase per shard', () => {
    const report = readReport(shardFile(2));
    expect(report.settings).toMatchObject({ seed: 9, runs: 6, shard: { index: 2, count: 2 }, workers: 1 });
    expect(report.batches.map((b) => b.index)).toEqual([1, 3, 5]);
    const xml = readFileSync(join(dir, 'merged.xml'), 'utf8');
    expect(xml).toMatch(/<testsuite name="sel4-model check" tests="2" failures="0"/);
    expect(xml.match(/<testcase /g)).toHaveLength(2);
  });

  it('fails (exit 1) when a shard has no report, and says which', async () => {
    const r = await run(['merge', shardFile(1), '--junit', join(dir, 'partial.xml')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/missing: no report for shard 2\/2/);
    expect(readFileSync(join(dir, 'partial.xml'), 'utf8')).toMatch(/<failure message="no report for shard 2\/2"/);
  });

  const tampered: [string, (r: Record<string, unknown> & CheckReport) => unknown, RegExp][] = [
    ['runs', (r) => ({ ...r, runs: -1 }), /: runs: /],
    ['a count in the coverage', (r) => ({ ...r, coverage: { ...r.coverage, invocations: { CNodeCopy: { seL4_NoError: 'many' } } } }), /: coverage\.invocations\.CNodeCopy\.seL4_NoError: /],
    ['a batch outcome', (r) => ({ ...r, batches: [{ ...r.batches[0], outcome: 'maybe' }] }), /: batches\[0\]\.outcome: /],
    ['the format', (r) => ({ ...r, format: 'something else' }), /: format: /],
    ['a shard index above the count', (r) => ({ ...r, settings: { ...r.settings, shard: { index: 3, count: 2 } } }), /: settings\.shard: index must not exceed count/],
    ['an unknown field', (r) => ({ ...r, extra: 1 }), /: \(top level\): .*extra/],
  ];

  it.each(tampered)('rejects a report with a bad %s (exit 2, naming the file and field)', async (_what, change, message) => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(change(JSON.parse(readFileSync(shardFile(1), 'utf8')))));
    const r = await run(['merge', shardFile(2), file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^sel4-model merge: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(stackTrace);
  });

  it('rejects files that are missing, not JSON, from another check or the same shard twice', async () => {
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{ "format": ');
    const otherSeed = join(dir, 'other-seed.json');
    const report = JSON.parse(readFileSync(shardFile(2), 'utf8'));
    writeFileSync(otherSeed, JSON.stringify({ ...report, settings: { ...report.settings, seed: 10 } }));
    const cases: [string[], RegExp][] = [
      [[join(dir, 'absent.json')], /cannot read .*absent\.json: ENOENT/],
      [[notJson], /not\.json: not valid JSON/],
      [[shardFile(1), otherSeed], /other-seed\.json: settings\.seed is 10 but .*shard-1\.json has 9/],
      [[shardFile(1), shardFile(1)], /shard-1\.json: shard 1\/2 again/],
    ];
    for (const [files, message] of cases) {
      const r = await run(['merge', ...files]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('a failing check', () => {
  let r: Ran;
  const reportFile = join(dir, 'failing.json');
  const junitFile = join(dir, 'failing.xml');

  beforeAll(async () => {
    const args = ['check', '--runs', '64', '--steps', '30', '--seed', '22', '--workers', '2', '--quiet', '--save-to', join(dir, 'saved')];
    r = await run([...args, '--report-json', reportFile, '--junit', junitFile], plantedBadgeFaultModule);
  }, hookTimeoutMs);

  it('prints the one-worker replay of the failing batch (exit 1)', () => {
    expect(r.status).toBe(1);
    const batch = readReport(reportFile).failure!.batch;
    expect(r.stdout).toContain(`replay: npx sel4-model check --workers 1 --seed ${deriveSeed(22, batch)} --path 0 --runs 1 --steps 30 --layers impl-executable,executable-abstract`);
  });

  it('writes the failure with its counterexample to the JSON report and the JUnit report', () => {
    const report = readReport(reportFile);
    const batch = report.failure!.batch;
    expect(report.failure).toMatchObject({ batch, seed: deriveSeed(22, batch), path: '0', runs: 1, kind: 'state', pair: 'impl-executable' });
    expect(report.failure!.text).toContain('REFINEMENT FAILURE (state)');
    expect(report.runs).toBe(batch);
    const xml = readFileSync(junitFile, 'utf8');
    expect(xml).toContain(`tests="${batch + 1}" failures="1"`);
    expect(xml).toMatch(new RegExp(`<testcase [^>]*name="run ${batch + 1} \\(batch ${batch}, seed -?\\d+\\)"[^>]*>\\s*<failure message="state mismatch at step \\d+ \\(impl-executable\\): [^"]*badge"`));
    expect(xml).toContain('<![CDATA[\nREFINEMENT FAILURE (state)');
  });

  it('makes merge fail (exit 1) and print the shard\'s counterexample', async () => {
    const m = await run(['merge', reportFile]);
    expect(m.status).toBe(1);
    expect(m.stdout).toContain(`${reportFile}:\nREFINEMENT FAILURE (state)`);
    expect(m.stdout).toMatch(/FAIL\n$/);
  });
});

describe('coverage requirements and time budgets', () => {
  it('fails (exit 1) naming the required pairs never reached', async () => {
    const r = await run(['check', ...small, '--require-coverage', 'UntypedRetype:seL4_AlignmentError,UntypedRetype:NoError']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^required coverage not reached: UntypedRetype:seL4_AlignmentError$/m);
  });

  it('runs until the budget is spent and says how many runs fit', async () => {
    const file = join(dir, 'budget.json');
    const r = await run(['check', '--time-budget', '1', '--steps', '10', '--seed', '3', '--quiet', '--report-json', file]);
    expect(r.status).toBe(0);
    const fit = /^time budget 1 s: (\d+) runs fit/m.exec(r.stdout);
    expect(Number(fit?.[1])).toBeGreaterThan(0);
    const report = readReport(file);
    expect(report.settings).toMatchObject({ runs: null, timeBudgetSeconds: 1 });
    expect(report.runs).toBe(Number(fit?.[1]));
  });
});

describe('Ctrl-C and SIGTERM', () => {
  it.each([
    [['SIGINT'], 130],
    [['SIGINT', 'SIGINT'], 130],
    [['SIGTERM'], 143],
  ] as const)('on %j print the summary so far, write the reports marked interrupted, and exit %i', async (signals, exitStatus) => {
    const file = join(dir, `interrupted-${signals.join('-')}.json`);
    const junit = join(dir, `interrupted-${signals.join('-')}.xml`);
    const child = spawn(process.execPath, ['bin/sel4-model.js', 'check', '--runs', '5000', '--steps', '50', '--workers', '2', '--report-json', file, '--junit', junit], {
      env: { ...process.env, CI: 'true' },
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => {
      stderr += String(d);
      if (!sent && /runs, \d+ steps/.test(stderr)) {
        sent = true;
        for (const signal of signals) child.kill(signal);
      }
    });
    const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    expect(status).toBe(exitStatus);
    expect(stdout).toMatch(/^runs: {4}\d+$/m);
    expect(stdout).toMatch(/INTERRUPTED after \d+ runs\n$/);
    expect(stderr).not.toMatch(stackTrace);
    const report = readReport(file);
    expect(report.interrupted).toBe(true);
    expect(report.runs).toBeLessThan(5000);
    expect(readFileSync(junit, 'utf8')).toMatch(/<skipped message="interrupted after \d+ of \d+ runs"/);
  });
});
