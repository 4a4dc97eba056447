// The mutant catalogue and `sel4-model mutants`: every entry still applies to the kernel as it
// is (without running the checker), the catalogue format is checked with clear messages, and
// the command kills, keeps and flags mutants of a small catalogue end to end (as a user runs it,
// a child process; its input errors and listing run its `main` in this process).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand, runInProcess } from './cli/command.ts';
import { applyMutant, applyToProject, CatalogueError, loadCatalogue, parseCatalogue, type Mutant } from '../refinement/mutants.ts';

const root = process.cwd();
const catalogue = loadCatalogue(join(root, 'mutants'));
const byName = (name: string) => catalogue.find((m) => m.name === name)!;

const run = (...args: string[]) => runCommand('mutants', ...args);
const runHere = (...args: string[]) => runInProcess(['mutants', ...args]);

/** A catalogue entry as Markdown. */
function entry(name: string, m: Pick<Mutant, 'file' | 'find' | 'replace'>, fields = ''): string {
  return `## ${name}\nfile: ${m.file}\n${fields}\nA test mutant.\n\n\`\`\`find\n${m.find}\n\`\`\`\n\n\`\`\`replace\n${m.replace}\n\`\`\`\n`;
}

function catalogueDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sel4-catalogue-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('the mutant catalogue', () => {
  it('has at least 40 mutants, in the impl and the executable spec of every area', () => {
    expect(catalogue.length).toBeGreaterThanOrEqual(40);
    const areas = new Set(catalogue.map((m) => m.area));
    expect([...areas].sort()).toEqual(['boot', 'cnode', 'cspace', 'faults', 'interrupts', 'ipc', 'mdb', 'preemption', 'scheduling', 'syscall', 'untyped', 'vspace', 'zombies']);
    for (const area of areas) {
      const files = catalogue.filter((m) => m.area === area).map((m) => m.file);
      expect(files.some((f) => f.startsWith('impl/')), `${area}: an impl mutant`).toBe(true);
      expect(files.some((f) => f.startsWith('spec-executable/')), `${area}: an executable-spec mutant`).toBe(true);
    }
  });

  it('keeps the five planted bugs', () => {
    for (const name of ['guard-off-by-one', 'copy-rights-unmasked', 'mint-firstbadged-unset', 'unlink-drops-next', 'retype-unaligned']) {
      expect(byName(name), name).toBeDefined();
    }
  });

  it.each(catalogue.map((m) => [m.name, m] as const))('%s applies exactly once to the current tree', (_, m) => {
    const applied = applyToProject(m, root);
    expect(applied.ok ? 'applies' : applied.reason).toBe('applies');
  });
});

describe('parseCatalogue', () => {
  const good = entry('a-bug', { file: 'impl/cspace.ts', find: 'x', replace: 'y' });

  it('reads an entry: name, area, file, description, find, replace and origin', () => {
    const [m] = parseCatalogue('mutants/cspace.md', `# CSpace\n\nintro\n\n${good}`);
    expect(m).toEqual({
      name: 'a-bug', area: 'cspace', file: 'impl/cspace.ts', description: 'A test mutant.', find: 'x', replace: 'y',
      equivalent: null, survives: null, origin: 'mutants/cspace.md:5',
    });
  });

  it('keeps indentation and line breaks of the blocks exactly, and allows an empty replacement', () => {
    const [m] = parseCatalogue('c.md', entry('multi', { file: 'impl/cnode.ts', find: '  a;\n    b;', replace: '' }));
    expect(m!.find).toBe('  a;\n    b;');
    expect(m!.replace).toBe('');
  });

  it.each([
    ['## Bad Name\n', /c\.md:1: mutant name 'Bad Name'/],
    [good.replace('file: impl/cspace.ts\n', ''), /c\.md:1: mutant 'a-bug': no 'file:' line/],
    [good.replace('impl/cspace.ts', 'libsel4/index.ts'), /not a TypeScript file of impl\//],
    [good.replace(/```find\nx\n```/, ''), /no ```find block/],
    [good.replace(/```replace\ny\n```/, ''), /no ```replace block/],
    [good.replace('```replace\ny', '```replace\nx'), /the replace block is the same as the find block/],
    [good.replace('A test mutant.', ''), /no description of the bug/],
    [`${good}\n\`\`\`find\nz\n\`\`\`\n`, /c\.md:14: mutant 'a-bug': a second ```find block/],
    [good.replace(/```\n\n```replace/, '\n```replace'), /code block not closed|no ```replace block/],
    [good.replace('\nA test', 'equivalent: e\nsurvives: s\nA test'), /'equivalent:' and 'survives:' exclude each other/],
    [good.replace('\nA test', 'file: impl/cnode.ts\nA test'), /'file:' given twice/],
  ])('rejects a malformed entry (%#)', (text, message) => {
    expect(() => parseCatalogue('c.md', text)).toThrow(message);
  });

  it('rejects a name used twice across files, naming both places', () => {
    const dir = catalogueDir({ 'a.md': entry('twice', { file: 'impl/cspace.ts', find: 'x', replace: 'y' }), 'b.md': entry('twice', { file: 'impl/cnode.ts', find: 'x', replace: 'y' }) });
    expect(() => loadCatalogue(dir)).toThrow(/b\.md:1: mutant 'twice' is also at .*a\.md:1/);
    expect(() => loadCatalogue(join(dir, 'missing'))).toThrow(CatalogueError);
  });
});

describe('applyMutant', () => {
  const m = { ...byName('guard-off-by-one') };

  it('replaces the one occurrence literally (a $ in the replacement is kept)', () => {
    const applied = applyMutant({ ...m, find: 'b', replace: '$&$1' }, 'abc');
    expect(applied).toEqual({ ok: true, text: 'a$&$1c' });
  });

  it.each([
    ['acb', 0],
    ['abab', 2],
  ])('reports a stale mutant naming it, its file and the count (%s)', (text, count) => {
    const applied = applyMutant({ ...m, find: 'ab' }, text);
    expect(applied.ok).toBe(false);
    if (!applied.ok) expect(applied.reason).toBe(`mutant 'guard-off-by-one' (${m.origin}) is stale: its find text occurs ${count} times in impl/cspace.ts, it must occur exactly once`);
  });

  it('counts overlapping occurrences', () => {
    expect(applyMutant({ ...m, find: 'aa' }, 'aaa').ok).toBe(false);
  });
});

describe('sel4-model mutants', () => {
  it.each([
    [['--only', 'no-such-mutant'], /no mutant named 'no-such-mutant'/],
    [['--runs', '0'], /--runs needs a whole number/],
    [['--time-limit', 'soon'], /--time-limit needs a number of seconds/],
    [['--min-score', '101'], /--min-score needs a percentage/],
    [['--json', '/no/such/dir/r.json'], /--json \/no\/such\/dir\/r\.json: no directory/],
    [['--catalogue', '/no/such/dir'], /cannot read the catalogue directory/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
  ])('exits 2 on bad input %j, with the usage and no stack trace', async (args, message) => {
    const r = await runHere(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/usage: sel4-model mutants/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('exits 2 naming the file and line of a malformed catalogue', async () => {
    const dir = catalogueDir({ 'x.md': '## fine-name\nfile: impl/cspace.ts\n\nno blocks\n' });
    const r = await runHere('--catalogue', dir, '--list');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/x\.md:1: mutant 'fine-name': no ```find block/);
  });

  it('kills a planted bug, keeps a harmless change, flags a stale entry, and writes the JSON report', () => {
    const planted = byName('mint-firstbadged-unset');
    const harmless = byName('syscall-ipc-buffer-offset'); // equivalent, run here as if it were not
    const dir = catalogueDir({
      'mdb.md': entry('planted', planted) + entry('harmless', harmless, 'survives: the test says so'),
      'gone.md': entry('gone', { file: 'impl/cspace.ts', find: 'text that is not there', replace: 'x' }),
    });
    const json = join(dir, 'report.json');
    const r = run('--catalogue', dir, '--runs', '3', '--steps', '20', '--seed', '1', '--workers', '2', '--json', json);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(r.stdout).toMatch(/^ {2}killed +planted \(impl\/cnode\.ts, [\d.]+ s\): failed after [\d.]+ s, \d+ steps checked before; state \(impl-executable\)/m);
    expect(r.stdout).toMatch(/^ {2}SURVIVED +harmless .*the check passed 3 runs.*; known weakness: the test says so$/m);
    expect(r.stdout).toMatch(/^ {2}STALE +gone .*its find text occurs 0 times in impl\/cspace\.ts/m);
    expect(r.stdout).toMatch(/^mutation score: 50\.0% \(1 of 2 killed: 1 by a refinement failure; 1 survived\)$/m);
    expect(r.stdout).toMatch(/^FAIL$/m);
    expect(r.status).toBe(1);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { format: string; settings: { runs: number }; mutants: { name: string; status: string; failure: { pair: string } | null }[] };
    expect(report.format).toBe('sel4-model mutants report');
    expect(report.settings.runs).toBe(3);
    expect(report.mutants.map((m) => [m.name, m.status])).toEqual([['gone', 'stale'], ['planted', 'killed'], ['harmless', 'survived']]);
    expect(report.mutants[1]!.failure!.pair).toBe('impl-executable');

    const enough = run('--catalogue', dir, '--only', 'planted,harmless', '--runs', '3', '--steps', '20', '--seed', '1', '--min-score', '50', '--quiet');
    expect(enough.stderr).toBe('');
    expect(enough.stdout).toMatch(/^PASS$/m);
    expect(enough.status).toBe(0);
  });

  it('lists the catalogue, marking equivalent and stale entries', async () => {
    const dir = catalogueDir({ 'a.md': entry('eq', byName('mint-firstbadged-unset'), 'equivalent: for the test') + entry('gone', { file: 'impl/cspace.ts', find: 'not there', replace: 'x' }) });
    const r = await runHere('--catalogue', dir, '--list');
    expect(r.stdout).toMatch(/^equivalent a\/eq \(impl\/cnode\.ts\)/m);
    expect(r.stdout).toMatch(/^STALE +a\/gone .*is stale/m);
    expect(r.stdout).toMatch(/^2 mutants, 1 stale$/m);
    expect(r.status).toBe(1);
  });
});
