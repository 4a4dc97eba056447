// `npm run bench`: the check's own (multi-thread) workload replayed on each layer alone and on
// the three-layer lockstep check, in one run, as medians of several rounds and as ratios; the
// cost of a context switch on each layer; and the lockstep check's cost per step on large states.
import fc from 'fast-check';
import {
  planBoot,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_CapNull,
  seL4_MinSchedContextBits,
  seL4_ObjectType,
  type BootConfigInput,
  type BootPlan,
  type KernelEvent,
  type KernelLayer,
} from '../libsel4/index.ts';
import { createImplLayer } from '../impl/index.ts';
import { abstractLayer } from '../spec-abstract/index.ts';
import { executableLayer } from '../spec-executable/index.ts';
import { recordWorkload, workloadArbitrary } from '../refinement/check.ts';
import { checkInvariants } from '../refinement/invariants/index.ts';
import { bootLayer } from '../refinement/layers.ts';
import { Lockstep, defaultPairs, parsePair } from '../refinement/lockstep/index.ts';
import { bootSystem } from '../refinement/system.ts';

const seed = 20261124;
const traces = Number(process.env.BENCH_TRACES ?? 40);
const steps = Number(process.env.BENCH_STEPS ?? 150);
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const preloadObjects = Number(process.env.BENCH_OBJECTS ?? 1000);
const largeObjects = Number(process.env.BENCH_LARGE_OBJECTS ?? 20000);
const largeTraces = Number(process.env.BENCH_LARGE_TRACES ?? 4);
const largeRepeats = Number(process.env.BENCH_LARGE_REPEATS ?? 1);
const switches = Number(process.env.BENCH_SWITCHES ?? 200);

/** The large states need a root CNode with a slot for each object: 2^15 slots. */
const largeConfig: BootConfigInput = { rootCNodeSizeBits: 15 };

/** The workload's entries after an untimed preload of `objects` endpoints (250 per Retype). */
interface Workload {
  readonly plan: BootPlan;
  readonly preloads: KernelEvent[][];
  readonly events: KernelEvent[][];
  readonly steps: number;
  readonly maxObjects: number;
}

function workload(objects: number, count: number, config: BootConfigInput = {}): Workload {
  const recorded = fc.sample(workloadArbitrary(steps), { seed, numRuns: count }).map((commands) => recordWorkload({ preloadObjects: objects, config }, commands));
  const preloadSteps = Math.ceil(objects / 250);
  const events = recorded.map((r) => r.events.slice(preloadSteps));
  return {
    plan: planBoot(config),
    preloads: recorded.map((r) => r.events.slice(0, preloadSteps)),
    events,
    steps: events.reduce((n, e) => n + e.length, 0),
    maxObjects: Math.max(...recorded.map((r) => r.objects)),
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Steps per second over every trace of `w`, for each of `timers`, round by round: every round
 * times each once, in turn, so a change of the machine's load falls on all of them alike.
 * `prepare` boots and preloads (untimed), then returns the function to time: the trace's steps
 * (and for the check, the closing full comparison and invariants). Returns each one's rate per round.
 */
function measureRounds(w: Workload, timers: readonly ((i: number) => () => void)[]): number[][] {
  const rates: number[][] = timers.map(() => []);
  for (let r = 0; r < repeats; r++) {
    timers.forEach((prepare, k) => {
      let ms = 0;
      for (let i = 0; i < w.events.length; i++) {
        const timed = prepare(i);
        const t0 = performance.now();
        timed();
        ms += performance.now() - t0;
      }
      rates[k]!.push(w.steps / (ms / 1000));
    });
  }
  return rates;
}

/** A layer's own `step`, called directly on its state. */
function alone<S>(w: Workload, layer: KernelLayer<S>): (i: number) => () => void {
  return (i) => {
    let state = layer.boot(w.plan);
    for (const event of w.preloads[i]!) state = layer.step(state, event)[0]!.state;
    return () => {
      for (const event of w.events[i]!) state = layer.step(state, event)[0]!.state;
    };
  };
}

/** The lockstep check as `check` runs it: impl debug assertions, the invariants when each run finishes. */
function checkedLockstep(plan: BootPlan): Lockstep {
  const pairs = defaultPairs.map(parsePair);
  const names = [...new Set(pairs.flatMap((p) => [p.lower, p.upper]))];
  return new Lockstep(names.map((n) => bootLayer(n, plan)), pairs, (layer) => checkInvariants(layer));
}

function lockstep(w: Workload): (i: number) => () => void {
  return (i) => {
    const ls = checkedLockstep(w.plan);
    for (const event of w.preloads[i]!) ls.enter(event);
    return () => {
      for (const event of w.events[i]!) ls.enter(event);
      ls.finish();
    };
  };
}

/**
 * The lockstep check's cost per step (entries only: the mean, median of rounds, and the median
 * step) and per run (the closing comparison and invariants), in ms.
 */
function lockstepParts(w: Workload): { stepMs: number; medianStepMs: number; finishMs: number } {
  const stepMs: number[] = [];
  const finishMs: number[] = [];
  const each: number[] = [];
  for (let r = 0; r < largeRepeats; r++) {
    let entering = 0;
    let finishing = 0;
    for (let i = 0; i < w.events.length; i++) {
      const ls = checkedLockstep(w.plan);
      for (const event of w.preloads[i]!) ls.enter(event);
      for (const event of w.events[i]!) {
        const t0 = performance.now();
        ls.enter(event);
        const ms = performance.now() - t0;
        entering += ms;
        each.push(ms);
      }
      const t1 = performance.now();
      ls.finish();
      finishing += performance.now() - t1;
    }
    stepMs.push(entering / w.steps);
    finishMs.push(finishing / w.events.length);
  }
  return { stepMs: median(stepMs), medianStepMs: median(each), finishMs: median(finishMs) };
}

/**
 * A context switch: a thread at priority 100 resumes (TCB_Resume) an Inactive thread at
 * priority 200, which preempts it; that thread then suspends itself and the first runs again.
 * Recorded once on the executable spec: the entries, and which of them are the Resumes.
 */
function contextSwitchTrace(): { plan: BootPlan; events: KernelEvent[]; resumes: Set<number> } {
  const system = bootSystem({ layer: 'executable' });
  const { api } = system;
  const info = system.plan.bootInfo;
  const untyped = info.untyped.start + system.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
  const cnode = seL4_CapInitThreadCNode;
  const [low, high] = [info.empty.start, info.empty.start + 2];
  const ok = (error: number) => {
    if (error !== 0) throw new Error(`context switch setup failed: seL4 error ${error}`);
  };
  for (const [slot, priority] of [[low, 100], [high, 200]] as const) {
    ok(api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_TCBObject, 0, cnode, 0, 0, slot, 1));
    ok(api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_SchedContextObject, seL4_MinSchedContextBits, cnode, 0, 0, slot + 1, 1));
    ok(api.seL4_TCB_Configure(slot, cnode, 0, seL4_CapInitThreadVSpace, 0, 0, seL4_CapNull));
    ok(api.seL4_SchedControl_ConfigureFlags(info.schedcontrol.start, slot + 1, 10_000n, 10_000n, 0, 0, 0));
    ok(api.seL4_TCB_SetSchedParams(slot, seL4_CapInitThreadTCB, priority, priority, slot + 1, seL4_CapNull));
  }
  ok(api.seL4_TCB_Resume(low));
  // The root task stops (a thread that suspends itself gets no reply): the low thread runs.
  api.seL4_TCB_Suspend(seL4_CapInitThreadTCB);
  const resumes = new Set<number>();
  const lowTcb = system.view().current();
  if (lowTcb === system.plan.rootTCB || lowTcb === null) throw new Error('the root task did not stop');
  for (let i = 0; i < switches; i++) {
    resumes.add(system.trace.length);
    ok(api.seL4_TCB_Resume(high));
    if (system.view().current() === lowTcb) throw new Error('the resumed thread did not preempt');
    api.seL4_TCB_Suspend(high);
    if (system.view().current() !== lowTcb) throw new Error('the suspended thread did not give the processor back');
  }
  return { plan: system.plan, events: [...system.trace], resumes };
}

/**
 * Median microseconds of one Resume that switches threads, for each of `starts` (each boots a
 * replay and returns its step), over `repeats` replays of the trace, each round replaying every
 * one in turn.
 */
function contextSwitches(starts: readonly (() => (event: KernelEvent) => void)[]): number[] {
  const times: number[][] = starts.map(() => []);
  for (let r = 0; r < repeats; r++) {
    starts.forEach((start, k) => {
      const step = start();
      switchTrace.events.forEach((event, i) => {
        const t0 = performance.now();
        step(event);
        if (switchTrace.resumes.has(i)) times[k]!.push((performance.now() - t0) * 1000);
      });
    });
  }
  return times.map(median);
}

function layerReplay<S>(layer: KernelLayer<S>): () => (event: KernelEvent) => void {
  return () => {
    let state = layer.boot(switchTrace.plan);
    return (event) => {
      state = layer.step(state, event)[0]!.state;
    };
  };
}

function lockstepReplay(): (event: KernelEvent) => void {
  const ls = checkedLockstep(switchTrace.plan);
  return (event) => void ls.enter(event);
}

const small = workload(preloadObjects, traces);
const large = workload(largeObjects, largeTraces, largeConfig);
const largeBase = workload(preloadObjects, largeTraces, largeConfig);
const switchTrace = contextSwitchTrace();

const kernel = createImplLayer({ debug: false, recordTouched: false });
const instrumented = createImplLayer({ debug: false });
const checked = createImplLayer({ debug: true });
const layers: [string, KernelLayer<unknown>][] = [
  ['impl (the kernel: no checks, no instrumentation)', kernel as KernelLayer<unknown>],
  ['impl, recording what each step touched', instrumented as KernelLayer<unknown>],
  ['impl, as the check runs it (also debug checks)', checked as KernelLayer<unknown>],
  ['executable', executableLayer as KernelLayer<unknown>],
  ['abstract', abstractLayer as KernelLayer<unknown>],
];

const timers = [...layers.map(([, layer]) => alone(small, layer)), lockstep(small)];
const names = [...layers.map(([name]) => name), 'lockstep impl-executable-abstract (the check)'];
const execIndex = names.indexOf('executable');
measureRounds(small, timers); // warm up every path before measuring
const rates = measureRounds(small, timers);
console.log(`workload: the check's, ${traces} traces, ${small.steps} timed steps after a preload of ${preloadObjects} endpoints, up to ${small.maxObjects} objects per state (seed ${seed}); median of ${repeats} rounds, each round timing every row in turn`);
console.log('the lockstep figure includes the full comparison and the invariants that close each trace; the ratio is the median of the rounds\' ratios');
names.forEach((name, k) => {
  const ratio = median(rates[k]!.map((rate, r) => rate / rates[execIndex]![r]!));
  console.log(`${name.padEnd(50)} ${Math.round(median(rates[k]!)).toString().padStart(9)} steps/s ${ratio.toFixed(2).padStart(8)}x executable`);
});

console.log(`\ncontext switch (TCB_Resume of a higher-priority thread, median of ${switches * repeats}):`);
const switchStarts = [...layers.map(([, layer]) => layerReplay(layer)), lockstepReplay];
contextSwitches(switchStarts); // warm up
contextSwitches(switchStarts).forEach((us, k) => console.log(`${names[k]!.padEnd(50)} ${us.toFixed(2).padStart(9)} µs`));

const smallState = lockstepParts(largeBase);
const largeState = lockstepParts(large);
console.log(`\nlockstep on large states (${largeTraces} traces each, ${largeRepeats} round(s), a root CNode of 2^15 slots; per step: the entries alone; per run: the closing full comparison and invariants):`);
for (const [objects, w, parts] of [[preloadObjects, largeBase, smallState], [largeObjects, large, largeState]] as const) {
  console.log(
    `preload ${String(objects).padStart(6)}: up to ${String(w.maxObjects).padStart(6)} objects  mean ${(parts.stepMs * 1000).toFixed(0).padStart(7)} µs per step ${(parts.stepMs / smallState.stepMs).toFixed(2).padStart(7)}x  median step ${(parts.medianStepMs * 1000).toFixed(0).padStart(5)} µs ${(parts.medianStepMs / smallState.medianStepMs).toFixed(2).padStart(5)}x  ${parts.finishMs.toFixed(1).padStart(7)} ms per run`,
  );
}
