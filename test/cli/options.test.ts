// Command lines read by util.parseArgs: both value forms and dashed values, every mistake exit 2
// naming the option; seeds kept to 32 bits; output paths checked before any work; --version;
// an empty mutant catalogue; --path replays exactly one run, and every replay line the check
// prints works as printed.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCheckArgs } from '../../cli/check.ts';
import { shellWord } from '../../refinement/files.ts';
import { CatalogueError, loadCatalogue } from '../../refinement/mutants.ts';
import { plantedBadgeFaultModule } from '../refinement/planted-fault.ts';
import { runInProcess } from './command.ts';

const stackTrace = /at .*\.ts:\d+/;
const dir = mkdtempSync(join(tmpdir(), 'sel4-model-options-'));

async function refused(args: string[], message: RegExp): Promise<string> {
  const r = await runInProcess(args);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(new RegExp(`usage: sel4-model ${args[0]}`));
  expect(r.stderr).not.toMatch(stackTrace);
  return r.stderr;
}

describe('option forms', () => {
  it('reads --flag value, --flag=value and values that start with a dash alike', () => {
    const a = parseCheckArgs(['--seed', '-5', '--runs', '7', '--layers', 'impl-abstract', '--quiet']);
    const b = parseCheckArgs(['--seed=-5', '--runs=7', '--layers=impl-abstract', '--quiet']);
    for (const p of [a, b]) {
      expect(p.options).toMatchObject({ seed: -5, runs: 7, pairs: ['impl-abstract'] });
      expect(p.quiet).toBe(true);
    }
  });

  it('lets the last of a repeated option win', () => {
    expect(parseCheckArgs(['--runs', '3', '--runs', '4']).options.runs).toBe(4);
  });

  it.each([
    [['check', '--bogus'], /unknown option '--bogus'/],
    [['check', '--bogus=1'], /unknown option '--bogus=1'/],
    [['check', '-x'], /unknown option '-x'/],
    [['check', 'extra'], /unexpected argument 'extra'/],
    [['check', '--quiet=yes'], /--quiet takes no value/],
    [['check', '--runs'], /--runs needs a whole number from 1 to 10000000/],
    [['check', '--runs='], /--runs needs a whole number/],
    [['check', '--config'], /--config needs a file/],
    [['replay', '--layers'], /--layers needs a list of pairs/],
    [['mutants', '--only'], /--only needs mutant names/],
    [['explain', 'a.json', '--output'], /-o\/--output needs a file/],
  ])('%j exits 2 naming the problem', async (args, message) => {
    await refused(args, message);
  });
});

describe('seeds', () => {
  it.each([['2147483647'], ['-2147483648']])('takes %s, the end of the 32-bit signed range', (seed) => {
    expect(parseCheckArgs(['--seed', seed]).options.seed).toBe(Number(seed));
  });

  it.each([['2147483648'], ['-2147483649'], ['99999999999999999999']])('refuses %s rather than wrapping it', async (seed) => {
    await refused(['check', '--seed', seed], /--seed -?\d+: seeds are 32-bit signed integers, from -2147483648 to 2147483647/);
    await refused(['mutants', '--seed', seed], /seeds are 32-bit signed integers/);
  });
});

describe('output paths', () => {
  const notADirectory = join(dir, 'file.txt');
  writeFileSync(notADirectory, 'x');

  it.each([
    [['check', '--report-json', '/proc/report.json'], /--report-json \/proc\/report\.json: cannot write in \/proc/],
    [['check', '--junit', dir], /--junit .*: is a directory/],
    [['check', '--coverage-json', join(notADirectory, 'c.json')], /--coverage-json .*: no directory/],
    [['check', '--save-to', join(notADirectory, 'cx')], /--save-to .*: not a directory \(.*file\.txt is a file\)/],
    [['check', '--save-to', '/proc/cx'], /--save-to \/proc\/cx: cannot write in \/proc/],
    [['merge', 'a.json', '--junit', '/proc/j.xml'], /--junit \/proc\/j\.xml: cannot write/],
    [['mutants', '--json', '/proc/m.json'], /--json \/proc\/m\.json: cannot write/],
    [['explain', 'a.json', '-o', '/proc/a.txt'], /-o\/--output \/proc\/a\.txt: cannot write/],
  ])('%j exits 2 at once, naming the option', async (args, message) => {
    await refused(args, message);
  });

  it('writes nothing, and starts no check, when one of several outputs cannot be written', async () => {
    const out = join(dir, 'outputs');
    mkdirSync(out);
    const r = await runInProcess(['check', '--runs', '1', '--junit', join(out, 'j.xml'), '--save-to', join(out, 'cx'), '--report-json', '/proc/r.json']);
    expect(r.status).toBe(2);
    expect(r.stderr).not.toMatch(/sel4-model check: 1 runs/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('quotes a printed path that a shell would split', () => {
    expect(shellWord('counterexamples/seed-5-impl-executable-state-0a1b2c3d.json')).toBe('counterexamples/seed-5-impl-executable-state-0a1b2c3d.json');
    expect(shellWord("my corpus/it's.json")).toBe(`'my corpus/it'\\''s.json'`);
  });
});

describe('--version', () => {
  it.each([['--version'], ['-V']])('%s prints the package version', async (flag) => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const r = await runInProcess([flag]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`sel4-model ${version}\n`);
  });
});

describe('an empty mutant catalogue', () => {
  const empty = join(dir, 'empty-catalogue');
  mkdirSync(empty);
  writeFileSync(join(empty, 'cnode.md'), '# CNode invocations\n\nNo entries yet.\n');

  it('is an error, not a pass', async () => {
    expect(() => loadCatalogue(empty)).toThrow(CatalogueError);
    await refused(['mutants', '--catalogue', empty], /no mutants in the catalogue \(no '## name' entry in cnode\.md\)/);
    await refused(['mutants', '--catalogue', empty, '--list'], /no mutants in the catalogue/);
  });
});

describe('--path', () => {
  it.each([['3:1:0'], ['x'], ['']])('%j exits 2 with what a path is', async (path) => {
    await refused(['check', '--seed', '1', '--path', path], /--path needs the run number a failing check printed in its replay line \(e\.g\. --path 3\)/);
  });

  it('exits 2 for a run beyond the check\'s runs', async () => {
    await refused(['check', '--seed', '1', '--path', '5', '--runs', '5'], /--path 5: the check has runs 0 to 4 \(--runs 5\); give the --runs of the replay line/);
    await refused(['check', '--seed', '1', '--path', '99999999999999'], /the check has runs 0 to 99 \(--runs 100\)/);
  });

  it('says plainly when the run at the path passes (exit 0), having checked that one run', async () => {
    const r = await runInProcess(['check', '--seed', '1', '--path', '3', '--runs', '16', '--steps', '10', '--quiet']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^runs: {4}1$/m);
    expect(r.stdout).toContain('the run at --path 3 of seed 1 passes: there is no failure to replay');
  });

  it('prints replay lines that work as printed, giving the same counterexample file', async () => {
    const saved = join(dir, 'saved');
    const check = await runInProcess(['check', '--runs', '64', '--steps', '30', '--seed', '22', '--workers', '2', '--quiet', '--save-to', saved], plantedBadgeFaultModule);
    expect(check.status).toBe(1);
    const line = /^replay: npx sel4-model (check .*)$/m.exec(check.stdout)?.[1];
    const file = /^counterexample: (.*)$/m.exec(check.stdout)?.[1];
    expect(line).toBeDefined();
    const replay = await runInProcess([...line!.split(' '), '--quiet', '--save-to', join(dir, 'replayed')], plantedBadgeFaultModule);
    expect(replay.status).toBe(1);
    expect(replay.stdout).toContain(`replay: npx sel4-model ${line}`);
    const again = /^counterexample: (.*)$/m.exec(replay.stdout)?.[1];
    expect(again?.split('/').at(-1)).toBe(file?.split('/').at(-1));
    expect(readFileSync(again!, 'utf8')).toBe(readFileSync(file!, 'utf8'));
    const fileReplay = /^ {2}replay: {2}npx sel4-model (replay .*)$/m.exec(check.stdout)?.[1];
    const r = await runInProcess(fileReplay!.split(' '), plantedBadgeFaultModule);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('the same disagreement as recorded');
    expect(existsSync(file!)).toBe(true);
  });
});
