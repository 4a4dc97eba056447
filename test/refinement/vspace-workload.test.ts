// The default workload makes VSpace work: each of the seven RISC-V VSpace invocations with
// success and each error seL4 documents for it (sel4-facts §24.3-24.7), on the impl alone
// (the check compares the layers). Needs the VSpace slice in the impl (issue 11).
import { expect, it } from 'vitest';
import { layerCoverage } from '../../refinement/check.ts';
import { documentedErrors } from '../../refinement/coverage.ts';

const vspaceInvocations = Object.keys(documentedErrors).filter((label) => label.startsWith('RISCV'));
const tally = layerCoverage({ layer: 'impl', runs: 150, steps: 100, seed: 1 });

it.each(vspaceInvocations)('the default workload reaches %s with each of its documented results', (label) => {
  const reached = tally.coverage.get(label);
  expect(documentedErrors[label]!.filter((e) => !reached?.has(`seL4_${e}`))).toEqual([]);
});

it('names all seven VSpace invocations', () => {
  expect(vspaceInvocations).toHaveLength(7);
});
