// Runs every example command in README.md's `sh` blocks, as printed, in a scratch copy of the
// repository (so the files they write land there) with ../shared beside it as beside this
// checkout, one after the other. A command passes when it exits with the status its comment
// names (`(exit 1)`), else 0, within its time limit. FILE is filled in with a counterexample
// file from the corpus. `npm install` and `npm test` are left to CI itself, which runs them.
//
//   node bin/run-ts.js .ci/readme-examples.ts [--list]
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const limitSeconds = 900;

interface Example {
  readonly command: string;
  readonly status: number;
}

/** Each command of the README's sh blocks with the exit status it expects; `npm install &&` dropped. */
function readmeCommands(readme: string): Example[] {
  const commands: Example[] = [];
  let inShell = false;
  for (const line of readme.split('\n')) {
    if (line.startsWith('```')) {
      inShell = !inShell && line.trim() === '```sh';
      continue;
    }
    if (!inShell) continue;
    const comment = /(?:^|\s)#(.*)$/.exec(line)?.[1] ?? '';
    const command = line.replace(/(^|\s)#.*$/, '').trim().replace(/^npm install && /, '');
    if (command === '' || command === 'npm install' || command === 'npm test') continue;
    commands.push({ command: filled(command), status: Number(/\(exit (\d)\)/.exec(comment)?.[1] ?? 0) });
  }
  return commands;
}

/** The command with its placeholder filled in for the scratch copy. */
function filled(command: string): string {
  return command.replace(/\bFILE\b/g, 'corpus/planted-mint-badge-impl-executable.json');
}

/** The tracked files of the checkout, copied to a scratch folder that shares node_modules and ../shared. */
function scratchCopy(): string {
  const parent = mkdtempSync(join(tmpdir(), 'sel4-model-readme-'));
  const shared = resolve(root, '..', 'shared');
  if (existsSync(shared)) symlinkSync(shared, join(parent, 'shared'), 'dir');
  const dir = join(parent, 'repo');
  const listed = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0').filter((f) => f !== '' && existsSync(join(root, f)))) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(root, file), join(dir, file));
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'boot.json'), JSON.stringify({ memory: { base: 0x80000000, sizeBytes: 8 << 20 }, rootCNodeSizeBits: 12 }));
  return dir;
}

function main(): number {
  const examples = readmeCommands(readFileSync(join(root, 'README.md'), 'utf8'));
  if (process.argv.includes('--list')) {
    for (const e of examples) console.log(`${e.command}${e.status === 0 ? '' : `   (exit ${e.status})`}`);
    return 0;
  }
  const dir = scratchCopy();
  let failed = 0;
  for (const { command, status } of examples) {
    const started = performance.now();
    const r = spawnSync('bash', ['-c', command], { cwd: dir, encoding: 'utf8', timeout: limitSeconds * 1000, env: { ...process.env, CI: 'true' }, maxBuffer: 64 << 20 });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const ok = r.status === status;
    const last = r.stdout.trim().split('\n').filter((l) => !/^(PASS|FAIL)$/.test(l)).pop() ?? '';
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${seconds.padStart(6)} s  ${command}${ok && last !== '' ? `\n                 ${last.slice(0, 160)}` : ''}`);
    if (!ok) {
      failed++;
      const why = r.error ? String(r.error) : `exit ${r.status ?? r.signal}`;
      console.log(`     ${why}\n${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-15).map((l) => `     | ${l}`).join('\n')}`);
    }
  }
  rmSync(dirname(dir), { recursive: true, force: true });
  console.log(`examples: ${examples.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = main();
