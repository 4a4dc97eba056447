// The refinement check itself, with a fixed seed: the layers agree on generated workloads, and
// the workloads reach every error of every invocation in scope.
import { describe, expect, it } from 'vitest';
import { runCheck, type CheckSummary } from '../../refinement/check.ts';
import { formatFailure } from '../../refinement/report.ts';

function passOrExplain(summary: CheckSummary): void {
  if (summary.failure) throw new Error(formatFailure(summary.failure, `seed ${summary.failure.seed} path ${summary.failure.path}`));
}

/** Every (invocation, error) pair seL4 can answer for the invocations in scope. */
const reachable: Record<string, string[]> = {
  UntypedRetype: [
    'seL4_NoError', 'seL4_InvalidArgument', 'seL4_RangeError', 'seL4_FailedLookup', 'seL4_TruncatedMessage',
    'seL4_DeleteFirst', 'seL4_NotEnoughMemory',
  ],
  CNodeCopy: ['seL4_NoError', 'seL4_FailedLookup', 'seL4_RangeError', 'seL4_DeleteFirst', 'seL4_TruncatedMessage', 'seL4_IllegalOperation', 'seL4_RevokeFirst'],
  CNodeMint: ['seL4_NoError', 'seL4_FailedLookup', 'seL4_RangeError', 'seL4_DeleteFirst', 'seL4_TruncatedMessage', 'seL4_IllegalOperation', 'seL4_RevokeFirst'],
  CNodeMove: ['seL4_NoError', 'seL4_FailedLookup', 'seL4_RangeError', 'seL4_DeleteFirst', 'seL4_TruncatedMessage'],
  CNodeMutate: ['seL4_NoError', 'seL4_FailedLookup', 'seL4_RangeError', 'seL4_DeleteFirst', 'seL4_TruncatedMessage', 'seL4_IllegalOperation'],
  CNodeRotate: ['seL4_NoError', 'seL4_FailedLookup', 'seL4_RangeError', 'seL4_DeleteFirst', 'seL4_TruncatedMessage', 'seL4_IllegalOperation'],
  CNodeDelete: ['seL4_NoError', 'seL4_FailedLookup', 'seL4_RangeError', 'seL4_TruncatedMessage'],
  CNodeRevoke: ['seL4_NoError', 'seL4_FailedLookup', 'seL4_RangeError', 'seL4_TruncatedMessage'],
  CNodeCancelBadgedSends: ['seL4_NoError', 'seL4_FailedLookup', 'seL4_RangeError', 'seL4_IllegalOperation', 'seL4_TruncatedMessage'],
};

describe('refinement check', () => {
  const summary = runCheck({
    runs: 150,
    steps: 120,
    seed: 1,
    pairs: ['impl-executable', 'executable-abstract'],
    invariantsEveryStep: false,
  });

  it('finds the impl refines the executable spec and the executable spec refines the abstract one', () => {
    passOrExplain(summary);
    expect(summary.runs).toBe(150);
    expect(summary.steps).toBeGreaterThan(150 * 50);
  });

  it.each(Object.entries(reachable))('reaches every error of %s', (invocation, errors) => {
    const reached = summary.coverage.get(invocation);
    expect(reached, `${invocation} never called`).toBeDefined();
    const missing = errors.filter((e) => !reached!.has(e));
    expect(missing, `${invocation} never answered ${missing.join(', ')}`).toEqual([]);
  });

  it('checks invariants after every step on a shorter run', () => {
    passOrExplain(runCheck({ runs: 20, steps: 60, seed: 2, pairs: ['impl-executable', 'executable-abstract'], invariantsEveryStep: true }));
  });

  it('checks the impl directly against the abstract spec', () => {
    passOrExplain(runCheck({ runs: 30, steps: 80, seed: 3, pairs: ['impl-abstract'], invariantsEveryStep: false }));
  });
});
