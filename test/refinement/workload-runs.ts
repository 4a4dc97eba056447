// Runs the default workload on the impl alone, each step resolved as the check resolves it, for
// tests that observe which situations the workload reaches.
import fc from 'fast-check';
import { Knowledge } from '../../refinement/knowledge.ts';
import { bootSystem, type System } from '../../refinement/system.ts';
import type { ResolvedCall } from '../../refinement/workload-picks.ts';
import { resolveStep, runStyle, workloadStepArbitrary, type RunStyle } from '../../refinement/workload.ts';

/**
 * `runs` workloads of `steps` steps drawn at `seed`; `visit` gets each resolved step before it
 * runs and runs it (`resolved.run(sys.api, sys)`). A run ends once no thread can run any more.
 */
export function eachWorkloadStep(runs: number, steps: number, seed: number, visit: (sys: System, k: Knowledge, resolved: ResolvedCall) => void): void {
  const booted = bootSystem({ layer: 'impl' });
  const bootKnowledge = new Knowledge(() => booted.view(), booted.plan.rootCNode);
  const workloads = fc.sample(fc.array(workloadStepArbitrary(), { minLength: steps, maxLength: steps }), { seed, numRuns: runs });
  for (const workload of workloads) {
    const sys = bootSystem({ layer: 'impl' });
    const k = new Knowledge(() => sys.view(), sys.plan.rootCNode, bootKnowledge);
    let style: RunStyle | null = null;
    for (const step of workload) {
      const view = sys.view();
      const s = view.scheduler();
      if (view.current() === null && s.releaseQueue.length === 0 && s.readyQueues.length === 0) break;
      style ??= runStyle('default', step);
      visit(sys, k, resolveStep(step, k, style));
      k.update(sys.lastTouched());
    }
  }
}
