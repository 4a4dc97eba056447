// `npm run bench`: steps per second of each layer alone and of the lockstep check, on the
// generated workload, in one run, reported as medians and ratios.
import fc from 'fast-check';
import { planBoot, type KernelEvent, type KernelLayer } from '../libsel4/index.ts';
import { createImplLayer } from '../impl/index.ts';
import { abstractLayer } from '../spec-abstract/index.ts';
import { executableLayer } from '../spec-executable/index.ts';
import { recordWorkload, workloadArbitrary } from '../refinement/check.ts';
import { bootLayer } from '../refinement/layers.ts';
import { Lockstep, defaultPairs, parsePair } from '../refinement/lockstep/index.ts';

const seed = 20261124;
const traces = Number(process.env.BENCH_TRACES ?? 40);
const steps = Number(process.env.BENCH_STEPS ?? 150);
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const preloadObjects = Number(process.env.BENCH_OBJECTS ?? 1000);

const plan = planBoot({});
const workloads = fc.sample(workloadArbitrary(steps), { seed, numRuns: traces });
const recorded = workloads.map((commands) => recordWorkload({ preloadObjects }, commands));
// The preload (retypes that fill the state with objects) runs untimed, before each trace.
const preloadSteps = Math.ceil(preloadObjects / 250);
const preloads: KernelEvent[][] = recorded.map((r) => r.events.slice(0, preloadSteps));
const events: KernelEvent[][] = recorded.map((r) => r.events.slice(preloadSteps));
const totalSteps = events.reduce((n, e) => n + e.length, 0);
const maxObjects = Math.max(...recorded.map((r) => r.objects));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Steps per second over every trace, median of `repeats` rounds. `run` boots and preloads
 * (untimed), then returns the function to time: the trace's steps (and for the check, the
 * closing full comparison).
 */
function measure(prepare: (i: number) => () => void): number {
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    let ms = 0;
    for (let i = 0; i < events.length; i++) {
      const timed = prepare(i);
      const t0 = performance.now();
      timed();
      ms += performance.now() - t0;
    }
    rates.push(totalSteps / (ms / 1000));
  }
  return median(rates);
}

/** A layer's own `step`, called directly on its state. */
function alone<S>(layer: KernelLayer<S>): number {
  return measure((i) => {
    let state = layer.boot(plan);
    for (const event of preloads[i]!) state = layer.step(state, event)[0]!.state;
    return () => {
      for (const event of events[i]!) state = layer.step(state, event)[0]!.state;
    };
  });
}

function lockstep(): number {
  const pairs = defaultPairs.map(parsePair);
  const names = [...new Set(pairs.flatMap((p) => [p.lower, p.upper]))];
  return measure((i) => {
    const ls = new Lockstep(names.map((n) => bootLayer(n, plan, { implDebug: false })), pairs, null);
    for (const event of preloads[i]!) ls.enter(event);
    return () => {
      for (const event of events[i]!) ls.enter(event);
      ls.finish();
    };
  });
}

const impl = createImplLayer({ debug: false });
const implDebug = createImplLayer({ debug: true });
// Warm up every path once before measuring.
alone(impl);
alone(executableLayer);
alone(abstractLayer);
lockstep();

const rows: [string, number][] = [
  ['impl', alone(impl)],
  ['impl (debug assertions)', alone(implDebug)],
  ['executable', alone(executableLayer)],
  ['abstract', alone(abstractLayer)],
  ['lockstep impl-executable-abstract', lockstep()],
];
const exec = rows.find(([n]) => n === 'executable')![1];
console.log(`workload: ${traces} traces, ${totalSteps} timed steps after a preload of ${preloadObjects} endpoints, up to ${maxObjects} objects per state (seed ${seed}); median of ${repeats} rounds`);
console.log('the lockstep figure includes the full comparison that closes each trace');
for (const [name, rate] of rows) {
  console.log(`${name.padEnd(36)} ${Math.round(rate).toString().padStart(9)} steps/s   ${(rate / exec).toFixed(2)}x executable`);
}
