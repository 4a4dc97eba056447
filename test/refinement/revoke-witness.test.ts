// The abstract spec follows the executable spec's revoke order instead of enumerating orders:
// an order seL4 never uses but the abstract spec allows passes executable-abstract, and a
// revoke that leaves a child (the catalogue's exec-revoke-leaves-last-child) fails it, with the
// choice named. Each bug is planted in a scratch copy of the project, as the mutants are.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyProject } from '../../refinement/mutant-run.ts';
import { applyToProject, loadCatalogue, selectMutants, type Mutant } from '../../refinement/mutants.ts';

const corpusEntry = join(process.cwd(), 'corpus', 'revoke-order-seed5-shard1.json');

const catalogued = (name: string): Mutant => selectMutants(loadCatalogue(join(process.cwd(), 'mutants')), [name])[0]!;

/** The head of the executable spec's revoke loop. */
const revokeLoop = `    const next = slot.mdb.next;
    if (next === null || !isMDBParentOf(slot, k.slot(next))) return;
`;

/** A copy of the project with the mutant applied. */
function plantedCopy(mutant: Mutant): string {
  const copy = mkdtempSync(join(tmpdir(), 'sel4-model-revoke-'));
  copyProject(process.cwd(), copy);
  const applied = applyToProject(mutant, copy);
  if (!applied.ok) throw new Error(applied.reason);
  writeFileSync(join(copy, mutant.file), applied.text);
  return copy;
}

function command(copy: string, ...args: string[]) {
  return spawnSync(process.execPath, [join(copy, 'bin', 'sel4-model.js'), ...args], { cwd: copy, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
}

describe('revoke order under the checker', () => {
  it('passes an executable spec that deletes the last descendant first (allowed, though not seL4 order)', () => {
    const copy = plantedCopy({
      ...catalogued('exec-revoke-leaves-last-child'),
      find: revokeLoop,
      replace: `    let next = slot.mdb.next;
    if (next === null || !isMDBParentOf(slot, k.slot(next))) return;
    for (let after = k.slot(next).mdb.next; after !== null && isMDBParentOf(slot, k.slot(after)); after = k.slot(after).mdb.next) next = after;
`,
    });
    // The corpus entry revokes an untyped whose descendants include its own CNode's cap: the
    // order decides which caps survive, so this order leads to another allowed result.
    const replay = command(copy, 'replay', corpusEntry, '--layers', 'executable-abstract');
    expect(replay.stdout).toMatch(/PASS$/m);
    expect(replay.status).toBe(0);
    const check = command(copy, 'check', '--runs', '40', '--seed', '1', '--layers', 'executable-abstract', '--quiet', '--save-to', join(copy, 'cx'));
    expect(check.stdout).toMatch(/PASS$/m);
    expect(check.status).toBe(0);
    // The impl keeps seL4's order, so impl-executable does see the difference.
    const impl = command(copy, 'replay', corpusEntry, '--layers', 'impl-executable');
    expect(impl.status).toBe(1);
  });

  it('fails an executable spec whose revoke leaves its last child, naming the choice', () => {
    const copy = plantedCopy(catalogued('exec-revoke-leaves-last-child'));
    const check = command(copy, 'check', '--runs', '40', '--seed', '1', '--layers', 'executable-abstract', '--quiet', '--save-to', join(copy, 'cx'));
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(/^REFINEMENT FAILURE \(choice\) at step \d+, executable does not refine abstract$/m);
    expect(check.stdout).toMatch(/^ {2}where: {6}revoke order: the abstract spec does not allow the choice executable made$/m);
    expect(check.stdout).toMatch(/^ {2}executable: the revoke of 0x[0-9a-f]+\[\d+\] stopped$/m);
    expect(check.stdout).toMatch(/^ {2}abstract: {3}allowed: delete one of its remaining descendants 0x[0-9a-f]+\[\d+\]$/m);
  });
});
