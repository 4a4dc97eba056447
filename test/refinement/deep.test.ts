// Deep states: runs stay alive unless the workload ends them on purpose, a deep workload grows
// thousands of objects and long derivation chains, and the size of a state is measured.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seL4_CapInitThreadCNode } from '../../libsel4/index.ts';
import { runCheck } from '../../refinement/check.ts';
import { canRunAgain, momentOf, stateSize } from '../../refinement/coverage.ts';
import { Knowledge } from '../../refinement/knowledge.ts';
import { bootSystem } from '../../refinement/system.ts';
import { resolveStep, runStyle, workloadStepArbitrary, type WorkloadStep } from '../../refinement/workload.ts';

describe('the size of a state', () => {
  it('counts objects, filled slots and the longest chain of CDT parents', () => {
    const system = bootSystem({ layer: 'executable' });
    const { bootInfo } = system.plan;
    const before = stateSize(system.view());
    let src = bootInfo.untyped.start;
    for (let i = 0; i < 3; i++) {
      const dest = bootInfo.empty.start + i;
      expect(system.api.seL4_CNode_Copy(seL4_CapInitThreadCNode, dest, 32, seL4_CapInitThreadCNode, src, 32, 0xf)).toBe(0);
      src = dest;
    }
    const after = stateSize(system.view());
    expect(after.objects).toBe(before.objects);
    expect(after.filledSlots).toBe(before.filledSlots + 3);
    expect(after.cdtDepth).toBe(4);
    expect(before.cdtDepth).toBeLessThan(4);
  });
});

/** Runs generated steps on the executable spec as a check does; whether a thread runs, is ready or waits for its release throughout. */
function survives(steps: readonly WorkloadStep[]): boolean {
  const system = bootSystem({ layer: 'executable' });
  const knowledge = new Knowledge(() => system.view(), system.plan.rootCNode);
  const style = runStyle('default', steps[0]!);
  for (const step of steps) {
    resolveStep(step, knowledge, style).run(system.api, system);
    knowledge.update(system.lastTouched());
    if (!canRunAgain(momentOf(system.view()))) return false;
  }
  return true;
}

describe('runs stay alive', () => {
  it('no thread is left to run only after an endRun step', () => {
    const runs = fc.sample(fc.array(workloadStepArbitrary().filter((s) => s.op !== 'endRun'), { minLength: 100, maxLength: 100 }), { seed: 17, numRuns: 30 });
    expect(runs.filter(survives)).toHaveLength(runs.length);
  });

  it('endRun steps end most runs they appear in, and the summary counts them by cause', () => {
    const ends = fc.sample(workloadStepArbitrary().filter((s) => s.op === 'endRun'), { seed: 5, numRuns: 20 });
    const ended = ends.filter((step) => !survives([step])).length;
    expect(ended).toBeGreaterThan(ends.length / 2);
    const summary = runCheck({ runs: 100, steps: 100, seed: 9, pairs: ['impl-executable'], invariantsEveryStep: false });
    const total = [...summary.endedRuns.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(summary.runs / 5);
    for (const cause of summary.endedRuns.keys()) expect(cause).toMatch(/^(faulted|lost its own caps \(.+\)|stopped at .+)$/);
  });
});

describe('the deep workload', () => {
  it('grows past a thousand objects and a derivation chain tens of caps long in a few hundred steps', () => {
    const summary = runCheck({ runs: 3, steps: 400, seed: 1, pairs: ['impl-executable'], invariantsEveryStep: false, workload: 'deep' });
    expect(summary.failure).toBeNull();
    expect(summary.largestState.objects).toBeGreaterThan(1000);
    expect(summary.largestState.cdtDepth).toBeGreaterThan(30);
  }, 60_000);

  it('the default workload makes one run in eight a bulk one', () => {
    const steps = fc.sample(workloadStepArbitrary(), { seed: 2, numRuns: 800 });
    const bulk = steps.filter((s) => runStyle('default', s).bulk).length;
    expect(bulk).toBeGreaterThan(60);
    expect(bulk).toBeLessThan(140);
    expect(steps.every((s) => runStyle('deep', s).deep)).toBe(true);
  });
});
