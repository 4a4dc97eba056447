// Counterexample files end to end: a planted fault makes `check` write one, `replay` reproduces
// it while the fault is planted and passes without it, `explain` renders it as text and HTML,
// and a tampered file is rejected naming the field, with nothing written.
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseCheckArgs } from '../../cli/check.ts';
import { readCounterexample } from '../../refinement/reports/counterexample.ts';
import { plantedBadgeFaultModule } from '../refinement/planted-fault.ts';
import { runCommand, runInProcess, type Ran } from './command.ts';

/** The command in this process, with the planted fault. */
const runPlanted = (...args: string[]) => runInProcess(args, plantedBadgeFaultModule);
/** The command as a user runs it, on main (no fault). */
const run = runCommand;
/** The command in this process, on main (no fault): for its input errors. */
const runHere = (...args: string[]) => runInProcess(args);

const stackTrace = /at .*\.ts:\d+/;
/** The checks these hooks run take a few seconds, far more on a loaded machine. */
const hookTimeoutMs = 120_000;

describe('counterexample files from the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sel4-model-cli-cx-'));
  let file = '';
  let check: Ran;

  beforeAll(async () => {
    check = await runPlanted('check', '--runs', '300', '--steps', '30', '--seed', '2', '--save-to', join(dir, 'saved'), '--quiet');
    file = /^counterexample: (.*)$/m.exec(check.stdout)?.[1] ?? '';
  }, hookTimeoutMs);

  afterEach(() => vi.restoreAllMocks());

  it('check writes a counterexample file on failure and prints its path', () => {
    expect(check.status).toBe(1);
    expect(file).toMatch(/saved\/seed-?\d+-impl-executable-state-[0-9a-f]{8}\.json$/);
    expect(check.stdout).toContain(`npx sel4-model replay ${file}`);
    const cx = readCounterexample(file);
    expect(cx.failure).toMatchObject({ kind: 'state', pair: 'impl-executable' });
    expect(cx.failure.where.path).toMatch(/badge$/);
    expect(cx.settings).toMatchObject({ steps: 30, pairs: ['impl-executable', 'executable-abstract'] });
    expect(cx.trace.at(-1)!.call).toMatch(/^seL4_CNode_Mint/);
    expect(readdirSync(join(dir, 'saved'))).toEqual([file.split('/').at(-1)]);
  });

  it('saves to counterexamples/ by default', () => {
    expect(parseCheckArgs([]).saveTo).toBe('counterexamples');
  });

  it('replay reproduces the disagreement while the fault is planted (exit 1)', async () => {
    const r = await runPlanted('replay', file);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/REFINEMENT FAILURE \(state\) at step \d+, impl does not refine executable/);
    expect(r.stdout).toContain('the same disagreement as recorded');
    expect(r.stdout).toMatch(/FAIL$/m);
  });

  it('replay passes on main, on the recorded pair and on all three (exit 0)', () => {
    for (const args of [[], ['--layers', 'impl-executable,executable-abstract,impl-abstract']]) {
      const r = run('replay', file, ...args);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/the trace passes: the recorded disagreement \(state at step \d+, impl does not refine executable\) no longer occurs\nPASS/);
    }
  });

  it('explain tells the story and shows where the layers differ', async () => {
    const r = await runPlanted('explain', file);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^> +\d+ +seL4_CNode_Mint\(service=\d+, dest_index=\d+, dest_depth=\d+, src_root=\d+, src_index=\d+, src_depth=\d+, rights=0x[0-9a-f]+, badge=(\d+|0x[0-9a-f]+)\)$/m);
    expect(r.stdout).toMatch(/impl, executable, abstract: seL4_NoError/);
    expect(r.stdout).toMatch(/cnode 0x[0-9a-f]{8} slot \d+ +<- differs: badge \(\d+ vs \d+\)/);
    expect(r.stdout).toMatch(/^ +impl: +(endpoint|notification) 0x[0-9a-f]{8} badge (\d+|0x[0-9a-f]+) rights \d{4}; CDT parent /m);
  });

  it('explain --html writes a self-contained page', async () => {
    const out = join(dir, 'page.html');
    const r = await runPlanted('explain', '--html', file, '-o', out);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`wrote ${out}\n`);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>[^]*<\/html>\n$/);
    expect(html).not.toMatch(/<script|<link|src=|href=/);
    expect(html).toContain('class="value differs"');
    expect(readdirSync(dir).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it('explain --html writes next to the file by default', () => {
    const r = run('explain', '--html', file);
    expect(r.status).toBe(0);
    expect(existsSync(file.replace(/\.json$/, '.html'))).toBe(true);
  });

  it('rejects a tampered file naming the file and the field, writing nothing', async () => {
    const tampered = join(dir, 'tampered.json');
    const json = JSON.parse(readFileSync(file, 'utf8')) as { trace: { entry: { user: { regs: number[][] } } }[] };
    json.trace[0]!.entry.user.regs[0]![1] = 2 ** 32;
    const text = JSON.stringify(json);
    writeFileSync(tampered, text);
    for (const args of [['replay', tampered], ['explain', tampered], ['explain', '--html', tampered]]) {
      const r = await runHere(...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^sel4-model (replay|explain): ${tampered}: invalid counterexample at trace\\.0\\.entry\\.user\\.regs\\.0\\.1: `));
      expect(r.stderr).not.toMatch(stackTrace);
    }
    expect(readFileSync(tampered, 'utf8')).toBe(text);
    expect(existsSync(join(dir, 'tampered.html'))).toBe(false);
  });

  it.each([
    [['replay'], /which counterexample file/],
    [['replay', 'a.json', 'b.json'], /one file at a time/],
    [['replay', 'a.json', '--layers', 'impl-nothing'], /unknown pair 'impl-nothing'/],
    [['explain', 'a.json', '-o'], /-o\/--output needs a file/],
    [['check', '--save-to'], /--save-to needs a directory/],
    [['check', '--save-to', 'package.json'], /--save-to package\.json: not a directory/],
  ])('exits 2 with usage for %j', async (args, message) => {
    const r = await runHere(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/usage: sel4-model/);
    expect(r.stderr).not.toMatch(stackTrace);
  });

  it('says which file it cannot read', async () => {
    const r = await runHere('replay', join(dir, 'missing.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`sel4-model replay: cannot read ${join(dir, 'missing.json')}: ENOENT\n`);
  });
});
