// `node bin/run-ts.js bench/spec-scale.ts`: each specification layer alone (its own `step` on
// its own state, no checker), per step, on the check's workload after a preload of 1,000 and of
// 20,000 endpoints, and the ratio of the two: a spec's cost per step must not grow with the
// state's size. Env: SCALE_TRACES, SCALE_STEPS, SCALE_REPEATS, SCALE_SMALL, SCALE_LARGE.
import fc from 'fast-check';
import { planBoot, type BootConfigInput, type BootPlan, type KernelEvent, type KernelLayer } from '../libsel4/index.ts';
import { abstractLayer } from '../spec-abstract/index.ts';
import { executableLayer } from '../spec-executable/index.ts';
import { recordWorkload, workloadArbitrary } from '../refinement/check.ts';

/** The setting SCALE_<name> from the environment, or `fallback`. */
function setting(name: string, fallback: number): number {
  return Number(process.env[`SCALE_${name}`] ?? fallback);
}

const seed = 20261124;
const [traces, steps, repeats] = [setting('TRACES', 4), setting('STEPS', 150), setting('REPEATS', 3)];
const [smallObjects, largeObjects] = [setting('SMALL', 1000), setting('LARGE', 20000)];

/** A root CNode with a slot for each preloaded object: 2^15 slots (as bench.ts's large states). */
const config: BootConfigInput = { rootCNodeSizeBits: 15 };
/** Entries of one Retype of 250 endpoints, the preload's unit. */
const objectsPerPreloadStep = 250;

interface Workload {
  readonly plan: BootPlan;
  readonly preloads: KernelEvent[][];
  readonly events: KernelEvent[][];
}

function workload(objects: number): Workload {
  const commands = fc.sample(workloadArbitrary(steps), { seed, numRuns: traces });
  const recorded = commands.map((c) => recordWorkload({ preloadObjects: objects, config }, c));
  const preloadSteps = Math.ceil(objects / objectsPerPreloadStep);
  return {
    plan: planBoot(config),
    preloads: recorded.map((r) => r.events.slice(0, preloadSteps)),
    events: recorded.map((r) => r.events.slice(preloadSteps)),
  };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface PerStep {
  readonly meanUs: number;
  readonly medianUs: number;
}

/** Microseconds of each step of `layer` over every trace of `w` (booted and preloaded untimed). */
function stepTimes<S>(w: Workload, layer: KernelLayer<S>): number[] {
  const each: number[] = [];
  w.events.forEach((events, i) => {
    let state = layer.boot(w.plan);
    for (const event of w.preloads[i]!) state = layer.step(state, event)[0]!.state;
    for (const event of events) {
      const t0 = performance.now();
      state = layer.step(state, event)[0]!.state;
      each.push((performance.now() - t0) * 1000);
    }
  });
  return each;
}

/**
 * Mean and median µs per step of `layer` on each workload, the median of `repeats` rounds; every
 * round times each workload in turn, so a change of the machine's load falls on all alike.
 */
function perStep<S>(workloads: readonly Workload[], layer: KernelLayer<S>): PerStep[] {
  const rounds: PerStep[][] = workloads.map(() => []);
  for (let r = 0; r < repeats; r++) {
    workloads.forEach((w, k) => {
      const each = stepTimes(w, layer);
      rounds[k]!.push({ meanUs: each.reduce((a, b) => a + b, 0) / each.length, medianUs: median(each) });
    });
  }
  return rounds.map((rs) => ({ meanUs: median(rs.map((x) => x.meanUs)), medianUs: median(rs.map((x) => x.medianUs)) }));
}

const small = workload(smallObjects);
const large = workload(largeObjects);
const layers: [string, KernelLayer<unknown>][] = [
  ['executable', executableLayer as KernelLayer<unknown>],
  ['abstract', abstractLayer as KernelLayer<unknown>],
];
console.log(`each spec alone, ${traces} traces of up to ${steps} steps (seed ${seed}), a root CNode of 2^15 slots; median of ${repeats} rounds`);
for (const [name, layer] of layers) {
  stepTimes(small, layer); // warm up
  const [a, b] = perStep([small, large], layer) as [PerStep, PerStep];
  console.log(
    `${name.padEnd(11)} preload ${smallObjects}: mean ${a.meanUs.toFixed(1).padStart(7)} µs median ${a.medianUs.toFixed(1).padStart(7)} µs` +
      ` | preload ${largeObjects}: mean ${b.meanUs.toFixed(1).padStart(7)} µs median ${b.medianUs.toFixed(1).padStart(7)} µs` +
      ` | ratio mean ${(b.meanUs / a.meanUs).toFixed(2)}x median ${(b.medianUs / a.medianUs).toFixed(2)}x`,
  );
}
