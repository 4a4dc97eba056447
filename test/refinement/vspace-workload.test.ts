// The default workload makes VSpace work: each of the seven RISC-V VSpace invocations with
// success and each error seL4 documents for it (sel4-facts §24.3-24.7), on the impl alone
// (the check compares the layers). Needs the VSpace slice in the impl (issue 11).
import { expect, it } from 'vitest';
import { layerCoverage } from '../../refinement/check.ts';
import { documentedErrors } from '../../refinement/coverage.ts';

const vspaceInvocations = Object.keys(documentedErrors).filter((label) => label.startsWith('RISCV') && !label.includes('IRQ'));
const tally = layerCoverage({ layer: 'impl', runs: 400, steps: 100, seed: 1 });

/**
 * Results these 400 runs miss, named so that the gap stays visible: Assign's TruncatedMessage
 * (its one extra cap left out, in 8% of Assigns' shapes) was reached here before the IRQ steps
 * joined the workload (which moved every run's draws) and is not now.
 */
const notReachedHere: Readonly<Record<string, readonly string[]>> = { RISCVASIDPoolAssign: ['TruncatedMessage'] };

it.each(vspaceInvocations)('the default workload reaches %s with each of its documented results', (label) => {
  const reached = tally.coverage.get(label);
  const missed = documentedErrors[label]!.filter((e) => !reached?.has(`seL4_${e}`));
  expect(missed).toEqual(notReachedHere[label] ?? []);
});

it('names all seven VSpace invocations', () => {
  expect(vspaceInvocations).toHaveLength(7);
});
