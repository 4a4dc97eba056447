// The command as a user runs it: exit codes, usage on bad input, a passing check, replay. A
// passing check, a closed pipe and a source that does not parse run the real command (a child
// process, as a user starts it); the input errors run its `main` in this process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyProject } from '../../refinement/mutant-run.ts';
import { runCommand, runInProcess } from './command.ts';

const run = runCommand;
const runHere = (...args: string[]) => runInProcess(args);

describe('sel4-model command', () => {
  it('passes a small check and prints a summary with the reached invocations', () => {
    const r = run('check', '--runs', '5', '--steps', '30', '--seed', '7');
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^runs: {4}5$/m);
    expect(r.stdout).toMatch(/checked steps\/s/);
    expect(r.stdout).toMatch(/UntypedRetype/);
    expect(r.stdout).toMatch(/PASS$/m);
    // Not a terminal: plain progress lines, no carriage returns.
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).toMatch(/runs, \d+ steps/);
  });

  it.each([
    [['check', '--bogus']],
    [['check', '--runs', '0']],
    [['check', '--runs', 'ten']],
    [['check', '--layers', 'impl-nothing']],
    [['check', '--path']],
  ])('exits 2 with usage for %j', async (args) => {
    const r = await runHere(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: sel4-model check/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it.each([[['frobnicate']], [[]]])('exits 2 with the list of commands for %j', async (args) => {
    const r = await runHere(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: sel4-model <command>/);
    expect(r.stderr).toMatch(/check +run the refinement check/);
  });

  it('stops quietly when its reader goes away (sel4-model check | head)', () => {
    const err = join(mkdtempSync(join(tmpdir(), 'sel4-model-')), 'stderr.txt');
    const cmd = `"${process.execPath}" bin/sel4-model.js check --runs 5 --seed 1 2>"${err}" | head -1; cat "${err}" >&2`;
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/^runs: +5\n$/);
    expect(r.stderr).toMatch(/sel4-model check: 5 runs/);
    expect(r.stderr).not.toMatch(/EPIPE|at .*:\d+:\d+/);
  });

  it('names the bad field of a boot configuration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sel4-model-'));
    const file = join(dir, 'boot.json');
    writeFileSync(file, JSON.stringify({ memory: { base: 0x80000000, sizeBytes: -1 } }));
    const r = await runHere('check', '--config', file, '--runs', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/memory\.sizeBytes/);
    writeFileSync(file, '{ not json');
    expect((await runHere('check', '--config', file)).stderr).toMatch(/not valid JSON/);
    expect((await runHere('check', '--config', join(dir, 'missing.json'))).stderr).toMatch(/cannot read --config/);
  });

  it('names the place, without a stack trace, when a kernel source being edited does not parse', () => {
    const copy = mkdtempSync(join(tmpdir(), 'sel4-model-broken-'));
    copyProject(process.cwd(), copy);
    const cnode = join(copy, 'impl', 'cnode.ts');
    writeFileSync(cnode, `${readFileSync(cnode, 'utf8')}\nexport const broken = (;\n`);
    const r = spawnSync(process.execPath, [join(copy, 'bin', 'sel4-model.js'), 'check', '--runs', '1'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^sel4-model: a source file does not parse: impl\/cnode\.ts:\d+:\d+: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
