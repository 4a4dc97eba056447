// `npm run bench`: the check's own (multi-thread) workload replayed on each layer alone and on
// the three-layer lockstep check, in one run, as medians of several rounds and as ratios; the
// cost of a context switch and of IPC round trips on each layer (to a server with its own
// context, and to a passive one: the impl's fastpath, also timed with it switched off); and the
// lockstep check's cost per step on large states; and a Revoke of a derivation tree (1,000 and
// 10,000 copies of an endpoint) on each layer, without and with an interrupt every 100 work units;
// and the VSpace: Page_Map, and a translated user load or store, through each layer's step and
// through the impl's and the executable spec's access functions on their own.
import fc from 'fast-check';
import {
  planBoot,
  seL4_CapIRQControl,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_CapNull,
  seL4_MessageInfo_new,
  seL4_MinSchedContextBits,
  seL4_ObjectType,
  seL4_AllRights,
  Reg,
  invocationLabelName,
  messageInfoFromWord,
  syscallName,
  type AccessKind,
  type BootConfigInput,
  type BootPlan,
  type KernelEvent,
  type KernelLayer,
} from '../libsel4/index.ts';
import { createImplLayer } from '../impl/index.ts';
import { accessUserMemory as implAccess } from '../impl/vspace.ts';
import { accessUserMemory as execAccess } from '../spec-executable/vspace.ts';
import { accessUserState as abstractAccess } from '../spec-abstract/vspace.ts';
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
const revokeSizes = (process.env.BENCH_REVOKE_COPIES ?? '1000,10000').split(',').map(Number);
const revokeRounds = Number(process.env.BENCH_REVOKE_ROUNDS ?? 3);
const kindRounds = Number(process.env.BENCH_KIND_ROUNDS ?? 5);
/** The abstract spec alone is timed up to this many copies (alone, a raised revoke also tries every allowed stop). */
const revokeAbstractCopies = Number(process.env.BENCH_REVOKE_ABSTRACT_COPIES ?? 1000);

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
 * times each once, in turn, so a change of the machine's load falls on all of them alike, each
 * round starting one row further on, so the garbage the check's row leaves (collected during
 * the row after it) falls on a different row each round, not always on the first.
 * `prepare` boots and preloads (untimed), then returns the function to time: the trace's steps
 * (and for the check, the closing full comparison and invariants). Returns each one's rate per round.
 */
function measureRounds(w: Workload, timers: readonly ((i: number) => () => void)[]): number[][] {
  const rates: number[][] = timers.map(() => []);
  for (let r = 0; r < repeats; r++) {
    timers.forEach((_, j) => {
      const k = (r + j) % timers.length;
      const prepare = timers[k]!;
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

/** The check's timer; the closing's share of its time is added up in `closing.ms`. */
function lockstep(w: Workload, closing: { ms: number }): (i: number) => () => void {
  return (i) => {
    const ls = checkedLockstep(w.plan);
    for (const event of w.preloads[i]!) ls.enter(event);
    return () => {
      for (const event of w.events[i]!) ls.enter(event);
      const t0 = performance.now();
      ls.finish();
      closing.ms += performance.now() - t0;
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

/** A recorded trace of kernel entries, with the entries to time (one group per measurement). */
interface TimedTrace {
  readonly plan: BootPlan;
  readonly events: KernelEvent[];
  /** Groups of entry indices: each group is one measurement, the sum of its entries' times. */
  readonly timed: readonly (readonly number[])[];
}

const ok = (what: string) => (error: number) => {
  if (error !== 0) throw new Error(`${what} setup failed: seL4 error ${error}`);
};

/** Two threads at `priorities` with 10 ms round-robin contexts, sharing the root's CSpace, from two free slots each. */
function makeThreads(system: ReturnType<typeof bootSystem>, priorities: readonly number[], check: (error: number) => void): number[] {
  const { api } = system;
  const info = system.plan.bootInfo;
  const untyped = info.untyped.start + system.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
  const cnode = seL4_CapInitThreadCNode;
  return priorities.map((priority, i) => {
    const slot = info.empty.start + 2 * i;
    check(api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_TCBObject, 0, cnode, 0, 0, slot, 1));
    check(api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_SchedContextObject, seL4_MinSchedContextBits, cnode, 0, 0, slot + 1, 1));
    check(api.seL4_TCB_Configure(slot, cnode, 0, seL4_CapInitThreadVSpace, 0, 0, seL4_CapNull));
    check(api.seL4_SchedControl_ConfigureFlags(info.schedcontrol.start, slot + 1, 10_000n, 10_000n, 0, 0, 0));
    check(api.seL4_TCB_SetSchedParams(slot, seL4_CapInitThreadTCB, priority, priority, slot + 1, seL4_CapNull));
    return slot;
  });
}

/**
 * A context switch: a thread at priority 100 resumes (TCB_Resume) an Inactive thread at
 * priority 200, which preempts it; that thread then suspends itself and the first runs again.
 * Recorded once on the executable spec; each Resume is timed.
 */
function contextSwitchTrace(): TimedTrace {
  const system = bootSystem({ layer: 'executable' });
  const { api } = system;
  const check = ok('context switch');
  const [low, high] = makeThreads(system, [100, 200], check) as [number, number];
  check(api.seL4_TCB_Resume(low));
  // The root task stops (a thread that suspends itself gets no reply): the low thread runs.
  api.seL4_TCB_Suspend(seL4_CapInitThreadTCB);
  const timed: number[][] = [];
  const lowTcb = system.view().current();
  if (lowTcb === system.plan.rootTCB || lowTcb === null) throw new Error('the root task did not stop');
  for (let i = 0; i < switches; i++) {
    timed.push([system.trace.length]);
    check(api.seL4_TCB_Resume(high));
    if (system.view().current() === lowTcb) throw new Error('the resumed thread did not preempt');
    api.seL4_TCB_Suspend(high);
    if (system.view().current() !== lowTcb) throw new Error('the suspended thread did not give the processor back');
  }
  return { plan: system.plan, events: [...system.trace], timed };
}

/**
 * An IPC round trip: a client at priority 100 calls an endpoint with a 2-word message; a server
 * at priority 200 waiting in Recv with a reply object gets it, and answers with seL4_ReplyRecv
 * (2 words), which wakes the client and waits again. With `passive` the client first unbinds
 * the server's scheduling context: the Call donates the client's, the ReplyRecv returns it
 * (every fastpath condition holds); otherwise the server runs on its own (the impl's fastpath
 * falls back: the slow path). Each round trip (the Call and the ReplyRecv) is timed.
 */
function ipcRoundTripTrace(passive: boolean): TimedTrace {
  const system = bootSystem({ layer: 'executable' });
  const { api } = system;
  const check = ok('IPC round trip');
  const info = system.plan.bootInfo;
  const untyped = info.untyped.start + system.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
  const [client, server] = makeThreads(system, [100, 200], check) as [number, number];
  const [ep, reply] = [info.empty.start + 4, info.empty.start + 5];
  check(api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, seL4_CapInitThreadCNode, 0, 0, ep, 1));
  check(api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_ReplyObject, 0, seL4_CapInitThreadCNode, 0, 0, reply, 1));
  check(api.seL4_TCB_Resume(server));
  check(api.seL4_TCB_Resume(client));
  api.seL4_TCB_Suspend(seL4_CapInitThreadTCB); // the server runs first, then the client
  const serverTcb = system.view().current();
  api.seL4_Recv(ep, reply); // the server waits; the client runs
  if (passive) check(api.seL4_SchedContext_Unbind(server + 1));
  const clientTcb = system.view().current();
  if (serverTcb === null || clientTcb === null || serverTcb === clientTcb) throw new Error('IPC round trip: the threads did not start');
  const message = seL4_MessageInfo_new(7, 0, 0, 2);
  const timed: number[][] = [];
  for (let i = 0; i < switches; i++) {
    const call = system.trace.length;
    api.seL4_Call(ep, message);
    if (system.view().current() !== serverTcb) throw new Error('IPC round trip: the call did not reach the server');
    api.seL4_ReplyRecv(ep, message, reply);
    if (system.view().current() !== clientTcb) throw new Error('IPC round trip: the reply did not wake the client');
    timed.push([call, call + 1]);
  }
  return { plan: system.plan, events: [...system.trace], timed };
}

/**
 * Median microseconds of one timed group of `trace`, for each of `starts` (each boots a replay
 * of the trace's plan and returns its step), over `repeats` replays, each round replaying every
 * one in turn.
 */
function timeTrace(trace: TimedTrace, starts: readonly ((plan: BootPlan) => (event: KernelEvent) => void)[]): number[] {
  const groupOf = new Map<number, number>();
  trace.timed.forEach((group, g) => group.forEach((i) => groupOf.set(i, g)));
  const times: number[][] = starts.map(() => []);
  for (let r = 0; r < repeats; r++) {
    starts.forEach((start, k) => {
      const step = start(trace.plan);
      const sums = new Array<number>(trace.timed.length).fill(0);
      trace.events.forEach((event, i) => {
        const t0 = performance.now();
        step(event);
        const g = groupOf.get(i);
        if (g !== undefined) sums[g]! += (performance.now() - t0) * 1000;
      });
      times[k]!.push(...sums);
    });
  }
  return times.map(median);
}

function layerReplay<S>(layer: KernelLayer<S>): (plan: BootPlan) => (event: KernelEvent) => void {
  return (plan) => {
    let state = layer.boot(plan);
    return (event) => {
      state = layer.step(state, event)[0]!.state;
    };
  };
}

function lockstepReplay(plan: BootPlan): (event: KernelEvent) => void {
  const ls = checkedLockstep(plan);
  return (event) => void ls.enter(event);
}

/**
 * Median microseconds per round trip of `trace` for each of `starts`: every round replays the
 * trace on each in turn and times its round trips as one block (a clock read per entry would
 * weigh on a sub-microsecond entry), over `rounds` rounds.
 */
function timeBlocks(trace: TimedTrace, starts: readonly ((plan: BootPlan) => (event: KernelEvent) => void)[], rounds: number): number[][] {
  const from = trace.timed[0]![0]!;
  const to = trace.timed[trace.timed.length - 1]!.at(-1)! + 1;
  const times: number[][] = starts.map(() => []);
  for (let r = 0; r < rounds; r++) {
    starts.forEach((start, k) => {
      const step = start(trace.plan);
      for (let i = 0; i < from; i++) step(trace.events[i]!);
      const t0 = performance.now();
      for (let i = from; i < to; i++) step(trace.events[i]!);
      times[k]!.push(((performance.now() - t0) * 1000) / trace.timed.length);
    });
  }
  return times;
}

/** Every timed entry of the passive-server trace takes the impl's fastpath (else the row would time the slow path). */
function checkFastpathTaken(trace: TimedTrace, kernel: KernelLayer<unknown>): void {
  let state = kernel.boot(trace.plan);
  const timed = new Set(trace.timed.flat());
  trace.events.forEach((event, i) => {
    const [outcome] = kernel.step(state, event);
    state = outcome!.state;
    if (timed.has(i) && outcome!.observation.fastpath !== 'taken') throw new Error(`the fastpath round trip fell back at entry ${i}: ${outcome!.observation.fastpath}`);
  });
}

const small = workload(preloadObjects, traces);
const large = workload(largeObjects, largeTraces, largeConfig);
const largeBase = workload(preloadObjects, largeTraces, largeConfig);
const switchTrace = contextSwitchTrace();
const roundTripTrace = ipcRoundTripTrace(false);
const fastpathTrace = ipcRoundTripTrace(true);

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

const closing = { ms: 0 };
const timers = [...layers.map(([, layer]) => alone(small, layer)), lockstep(small, closing)];
const names = [...layers.map(([name]) => name), 'lockstep impl-executable-abstract (the check)'];
const execIndex = names.indexOf('executable');
measureRounds(small, timers); // warm up every path before measuring
closing.ms = 0;
const rates = measureRounds(small, timers);
console.log(`workload: the check's, ${traces} traces, ${small.steps} timed steps after a preload of ${preloadObjects} endpoints, up to ${small.maxObjects} objects per state (seed ${seed}); median of ${repeats} rounds, each round timing every row in turn`);
console.log('the lockstep figure includes the full comparison and the invariants that close each trace; the ratio is the median of the rounds\' ratios');
names.forEach((name, k) => {
  const ratio = median(rates[k]!.map((rate, r) => rate / rates[execIndex]![r]!));
  console.log(`${name.padEnd(50)} ${Math.round(median(rates[k]!)).toString().padStart(9)} steps/s ${ratio.toFixed(2).padStart(8)}x executable`);
});
printCheckedStepParts(small, rates, closing.ms);
printEntryKinds(small, kernel as KernelLayer<unknown>, executableLayer as KernelLayer<unknown>);

/** A kernel entry's kind: its syscall and, for a call or send, the message label (named as an invocation); else the event's kind. */
function entryKind(event: KernelEvent): string {
  if (event.kind !== 'syscall') return event.kind;
  const regs = new Map(event.user.regs);
  const sysno = regs.get(Reg.a7);
  const info = regs.get(Reg.a1);
  const name = sysno === undefined ? 'syscall' : syscallName(sysno | 0).replace(/^seL4_Sys/, '');
  return info === undefined || !['Call', 'Send', 'NBSend'].includes(name) ? name : `${name} ${invocationLabelName(messageInfoFromWord(info).label)}`;
}

/**
 * The impl (no checks, no instrumentation) against the executable spec, kind of entry by kind:
 * each entry timed alone, its fastest of `kindRounds` replays (a garbage collection falls on
 * one replay's entry, not on all), summed by kind: where the impl's time goes and which kinds
 * keep the ratio down. The ten kinds with the largest share of the impl's time.
 */
function printEntryKinds(w: Workload, impl: KernelLayer<unknown>, exec: KernelLayer<unknown>): void {
  const fastest = (layer: KernelLayer<unknown>): Float64Array[] => {
    const us = w.events.map((events) => new Float64Array(events.length).fill(Infinity));
    for (let r = 0; r < kindRounds; r++) {
      w.events.forEach((events, i) => {
        const step = layerReplay(layer)(w.plan);
        for (const event of w.preloads[i]!) step(event);
        events.forEach((event, j) => {
          const t0 = performance.now();
          step(event);
          us[i]![j] = Math.min(us[i]![j]!, (performance.now() - t0) * 1000);
        });
      });
    }
    return us;
  };
  const [implUs, execUs] = [fastest(impl), fastest(exec)];
  const totals = new Map<string, { count: number; implUs: number; execUs: number }>();
  w.events.forEach((events, i) =>
    events.forEach((event, j) => {
      const kind = entryKind(event);
      const total = totals.get(kind) ?? { count: 0, implUs: 0, execUs: 0 };
      totals.set(kind, total);
      total.count++;
      total.implUs += implUs[i]![j]!;
      total.execUs += execUs[i]![j]!;
    }),
  );
  const allImplUs = [...totals.values()].reduce((sum, t) => sum + t.implUs, 0);
  const allExecUs = [...totals.values()].reduce((sum, t) => sum + t.execUs, 0);
  console.log(`\nthe impl (no checks, no instrumentation) against the executable spec by kind of entry (each entry's fastest of ${kindRounds} replays; the ten kinds with most of the impl's time):`);
  for (const [kind, t] of [...totals].sort((a, b) => b[1].implUs - a[1].implUs).slice(0, 10)) {
    console.log(
      `${kind.padEnd(36)} ${String(t.count).padStart(5)} entries ${((100 * t.implUs) / allImplUs).toFixed(1).padStart(5)}% of the impl's time  ` +
        `impl ${(t.implUs / t.count).toFixed(2).padStart(6)} µs  executable ${(t.execUs / t.count).toFixed(1).padStart(6)} µs  ${(t.execUs / t.implUs).toFixed(1).padStart(5)}x`,
    );
  }
  console.log(`${'every entry'.padEnd(36)} ${String(w.steps).padStart(5)} entries                         impl ${(allImplUs / w.steps).toFixed(2).padStart(6)} µs  executable ${(allExecUs / w.steps).toFixed(1).padStart(6)} µs  ${(allExecUs / allImplUs).toFixed(1).padStart(5)}x`);
}

/**
 * Where a checked step's time goes, from the rows above (medians of the rounds): the three
 * layers' own steps (the impl as the check runs it), the closing, and the rest of the checker.
 * The first is a floor no checker can go below: its inverse bounds the check's steps/s.
 */
function printCheckedStepParts(w: Workload, rates: readonly (readonly number[])[], closingMs: number): void {
  const usPerStep = (name: string): number => {
    const k = names.indexOf(name);
    if (k < 0) throw new Error(`bench: no row named ${name}`);
    return 1e6 / median(rates[k]!);
  };
  const parts = ['abstract', 'executable', 'impl, as the check runs it (also debug checks)'].map(usPerStep);
  const layersUs = parts.reduce((a, b) => a + b, 0);
  const checkedUs = usPerStep('lockstep impl-executable-abstract (the check)');
  const closingUs = (closingMs * 1000) / (repeats * w.steps);
  console.log(
    `a checked step, ${checkedUs.toFixed(0)} µs: the layers' own steps ${layersUs.toFixed(0)} µs (abstract ${parts[0]!.toFixed(0)}, executable ${parts[1]!.toFixed(0)}, impl ${parts[2]!.toFixed(1)}: ` +
      `at most ${Math.round(1e6 / layersUs)} steps/s with a checker that cost nothing), the closing ${closingUs.toFixed(0)} µs (once per trace, ${(closingMs / (repeats * w.events.length)).toFixed(1)} ms), ` +
      `the rest (the per-step comparisons, the layers slower side by side) ${(checkedUs - layersUs - closingUs).toFixed(0)} µs`,
  );
}

const replays = [...layers.map(([, layer]) => layerReplay(layer)), lockstepReplay];
for (const [title, trace] of [
  [`context switch (TCB_Resume of a higher-priority thread, median of ${switches * repeats})`, switchTrace],
  [`IPC round trip (seL4_Call + seL4_ReplyRecv between two threads, 2 words each way, the server with its own context: the slow path; median of ${switches * repeats})`, roundTripTrace],
  [`IPC round trip to a passive server (the same, the server's context unbound: the impl's fastpath; median of ${switches * repeats})`, fastpathTrace],
] as const) {
  console.log(`\n${title}:`);
  timeTrace(trace, replays); // warm up
  const us = timeTrace(trace, replays);
  us.forEach((t, k) => console.log(`${names[k]!.padEnd(50)} ${t.toFixed(2).padStart(9)} µs ${(us[execIndex]! / t).toFixed(2).padStart(8)}x executable`));
}

const fastpathRounds = repeats * 10;
checkFastpathTaken(fastpathTrace, kernel as KernelLayer<unknown>);
const withoutFastpath = (plan: BootPlan): BootPlan => ({ ...plan, config: { ...plan.config, fastpath: false } });
const roundTripRows: [string, (plan: BootPlan) => (event: KernelEvent) => void][] = [
  ['impl fastpath (no checks, no instrumentation)', layerReplay(kernel)],
  ['impl slow path (fastpath off, no checks, no instr.)', (plan) => layerReplay(kernel)(withoutFastpath(plan))],
  ['executable', layerReplay(executableLayer)],
];
console.log(`\nIPC round trip to a passive server, the impl with and without its fastpath (${switches} round trips timed as one block, garbage collection included, median of ${fastpathRounds} rounds):`);
timeBlocks(fastpathTrace, roundTripRows.map(([, start]) => start), repeats); // warm up
const blocks = timeBlocks(fastpathTrace, roundTripRows.map(([, start]) => start), fastpathRounds);
const roundTripExec = roundTripRows.length - 1;
roundTripRows.forEach(([name], k) => {
  const ratio = median(blocks[k]!.map((t, r) => blocks[roundTripExec]![r]! / t));
  console.log(`${name.padEnd(50)} ${median(blocks[k]!).toFixed(2).padStart(9)} µs ${ratio.toFixed(2).padStart(8)}x executable`);
});
console.log(`fastpath against the slow path: ${median(blocks[0]!.map((t, r) => blocks[1]![r]! / t)).toFixed(2)}x (median of the rounds' ratios)`);

const smallState = lockstepParts(largeBase);
const largeState = lockstepParts(large);
console.log(`\nlockstep on large states (${largeTraces} traces each, ${largeRepeats} round(s), a root CNode of 2^15 slots; per step: the entries alone; per run: the closing full comparison and invariants):`);
for (const [objects, w, parts] of [[preloadObjects, largeBase, smallState], [largeObjects, large, largeState]] as const) {
  console.log(
    `preload ${String(objects).padStart(6)}: up to ${String(w.maxObjects).padStart(6)} objects  mean ${(parts.stepMs * 1000).toFixed(0).padStart(7)} µs per step ${(parts.stepMs / smallState.stepMs).toFixed(2).padStart(7)}x  median step ${(parts.medianStepMs * 1000).toFixed(0).padStart(5)} µs ${(parts.medianStepMs / smallState.medianStepMs).toFixed(2).padStart(5)}x  ${parts.finishMs.toFixed(1).padStart(7)} ms per run`,
  );
}


/**
 * A Revoke of `copies` copies of an endpoint, recorded on the executable spec: boot with a root
 * CNode of 2^15 slots, IRQ 1 issued with a notification, a driver thread at priority 101 waiting
 * on it, the root task at 100 copying the endpoint (untimed). Timed: the Revoke (armed with IRQ 1
 * every 100 units when `raised`), each attempt made again after a preemption, and the driver's Ack
 * and Wait between attempts.
 */
function revokeTrace(copies: number, raised: boolean): TimedTrace {
  const system = bootSystem({ layer: 'executable', config: largeConfig });
  const { api } = system;
  const check = ok('revoke');
  const info = system.plan.bootInfo;
  const untyped = info.untyped.start + system.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
  const [driver] = makeThreads(system, [101], check) as [number];
  const [handler, ntfn, ep] = [info.empty.start + 2, info.empty.start + 3, info.empty.start + 4];
  const R = seL4_CapInitThreadCNode;
  check(api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_NotificationObject, 0, R, 0, 0, ntfn, 1));
  check(api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, R, 0, 0, ep, 1));
  check(api.seL4_IRQControl_Get(seL4_CapIRQControl, 1, R, handler, 32));
  check(api.seL4_IRQHandler_SetNotification(handler, ntfn));
  check(api.seL4_TCB_Resume(driver));
  check(api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 100)); // the driver runs
  api.seL4_Wait(ntfn); // the driver waits: the root task runs
  if (system.view().current() !== system.plan.rootTCB) throw new Error('revoke: the driver did not wait');
  for (let i = 0; i < copies; i++) check(api.seL4_CNode_Copy(R, ep + 1 + i, 32, R, ep, 32, 0xf));
  const from = system.trace.length;
  const arm = () => raised && system.raiseDuringNext({ irq: 1, afterWorkUnits: 100 });
  arm();
  api.seL4_CNode_Revoke(R, ep, 32);
  while (api.lastObservation().restarted) {
    if (system.view().current() !== system.plan.rootTCB) {
      check(api.seL4_IRQHandler_Ack(handler)); // the driver, woken
      api.seL4_Wait(ntfn);
    }
    arm();
    api.rawSyscall([]); // the root task's Revoke, made again
  }
  const left = (i: number) => system.view().cap({ cnode: system.plan.rootCNode, index: i })?.type;
  if (left(ep) !== 'endpoint' || Array.from({ length: copies }, (_, i) => left(ep + 1 + i)).some((t) => t !== 'null')) throw new Error('revoke: not every copy is gone');
  const timed = [Array.from({ length: system.trace.length - from }, (_, i) => from + i)];
  return { plan: system.plan, events: [...system.trace], timed };
}


const revokeRows: [string, (plan: BootPlan) => (event: KernelEvent) => void][] = [
  ['abstract', layerReplay(abstractLayer)],
  ['executable', layerReplay(executableLayer)],
  ['impl (no checks, no instrumentation)', layerReplay(kernel)],
  ['impl, recording what each step touched', layerReplay(instrumented)],
  ['lockstep impl-executable-abstract', lockstepReplay],
];
const revokeTraces = revokeSizes.flatMap((copies) => [false, true].map((raised) => ({ copies, raised, trace: revokeTrace(copies, raised) })));
// One timed group per trace: timeBlocks' µs per group is the whole block; NaN where a row is not timed.
const revokeUs = revokeTraces.map(({ copies, trace }) => {
  const rows = revokeRows.filter(([name]) => name !== 'abstract' || copies <= revokeAbstractCopies);
  timeBlocks(trace, rows.map(([, start]) => start), 1); // warm up
  const us = timeBlocks(trace, rows.map(([, start]) => start), revokeRounds).map(median);
  return revokeRows.map((row) => (rows.includes(row) ? us[rows.indexOf(row)]! : Number.NaN));
});
const entriesOf = (t: TimedTrace) => t.timed[0]!.length;
console.log(`\nRevoke of a derivation tree (an endpoint copied N times into a root CNode of 2^15 slots, revoked; µs per deleted cap, median of ${revokeRounds} rounds; with a raise: IRQ 1 every 100 work units, a driver at priority 101 acknowledging it; the abstract spec alone up to ${revokeAbstractCopies} copies; entries timed per row: ${revokeTraces.map((r) => `${r.copies}${r.raised ? ' raised' : ''}: ${entriesOf(r.trace)}`).join(', ')}):`);
console.log(`${''.padEnd(40)} ${revokeTraces.map((r) => `${r.copies}${r.raised ? ' raised' : ''}`.padStart(14)).join('')}`);
revokeRows.forEach(([name], k) => {
  const cell = (t: number, copies: number) => (Number.isNaN(revokeUs[t]![k]!) ? '-' : (revokeUs[t]![k]! / copies).toFixed(3));
  console.log(`${name.padEnd(40)} ${revokeTraces.map((r, t) => cell(t, r.copies).padStart(14)).join('')}`);
});


/** Where the VSpace rows map their frames: a 4 MiB window of the root task's VSpace, a page per frame. */
const vspaceWindow = 0x10000000;
const mappedFrames = Number(process.env.BENCH_FRAMES ?? 200);
const accesses = Number(process.env.BENCH_ACCESSES ?? 2000);
const accessCalls = Number(process.env.BENCH_ACCESS_CALLS ?? 200_000);

/** The access the bench makes i-th: a load or a store, at a word of the i-th mapped page (round robin). */
const benchAccess = (i: number): { access: AccessKind; vaddr: number; value: number } => ({
  access: i % 2 === 0 ? 'store' : 'load',
  vaddr: vspaceWindow + (i % mappedFrames) * 0x1000 + 4 * (i % 1024),
  value: i,
});

/**
 * The root task maps a page table at `vspaceWindow`, retypes `mappedFrames` 4 KiB frames and maps
 * each at its page (each Page_Map timed), then loads and stores (`accesses` access events, timed
 * as one block). Recorded on the executable spec.
 */
function vspaceTraces(): { pageMaps: TimedTrace; accessEvents: TimedTrace } {
  const system = bootSystem({ layer: 'executable' });
  const { api } = system;
  const check = ok('vspace');
  const info = system.plan.bootInfo;
  const untyped = info.untyped.start + system.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 20);
  const R = seL4_CapInitThreadCNode;
  const [table, first] = [info.empty.start, info.empty.start + 1];
  check(api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_RISCV_PageTableObject, 0, R, 0, 0, table, 1));
  check(api.seL4_RISCV_PageTable_Map(table, seL4_CapInitThreadVSpace, vspaceWindow, 0));
  for (let done = 0; done < mappedFrames; done += 256) check(api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_RISCV_4K_Page, 0, R, 0, 0, first + done, Math.min(256, mappedFrames - done)));
  const maps: number[][] = [];
  for (let i = 0; i < mappedFrames; i++) {
    maps.push([system.trace.length]);
    check(api.seL4_RISCV_Page_Map(first + i, seL4_CapInitThreadVSpace, vspaceWindow + i * 0x1000, seL4_AllRights, 0));
  }
  const made: number[][] = [];
  for (let i = 0; i < accesses; i++) {
    made.push([system.trace.length]);
    const { access, vaddr, value } = benchAccess(i);
    if (api.userAccess(access, vaddr, value) === null) throw new Error(`vspace: the ${access} at 0x${vaddr.toString(16)} faulted`);
  }
  const events = [...system.trace];
  return { pageMaps: { plan: system.plan, events, timed: maps }, accessEvents: { plan: system.plan, events, timed: made } };
}

/** The state after the trace's Page_Maps on `layer`. */
function afterMaps<S>(layer: KernelLayer<S>, trace: TimedTrace): S {
  let state = layer.boot(trace.plan);
  const upTo = trace.timed[0]![0]!;
  for (let i = 0; i < upTo; i++) state = layer.step(state, trace.events[i]!)[0]!.state;
  return state;
}

const madeAccesses = Array.from({ length: 4096 }, (_, i) => benchAccess(i));
const nsPerCall = (t0: number): number => ((performance.now() - t0) * 1e6) / accessCalls;

// One loop per layer, so that each call site sees one function (a shared loop with a callback
// would time V8's megamorphic call as well).
function implAccessNs(trace: TimedTrace): number {
  const state = afterMaps(kernel, trace);
  const thread = trace.plan.rootTCB;
  const t0 = performance.now();
  for (let i = 0; i < accessCalls; i++) {
    const a = madeAccesses[i & 4095]!;
    implAccess(state, thread, a.access, a.vaddr, a.value);
    // Every access event begins with beginStep, which empties the step's log of user-memory writes.
    if ((i & 4095) === 4095) state.userWrites.clear();
  }
  return nsPerCall(t0);
}

function executableAccessNs(trace: TimedTrace): number {
  const state = afterMaps(executableLayer, trace);
  const thread = trace.plan.rootTCB;
  const t0 = performance.now();
  for (let i = 0; i < accessCalls; i++) {
    const a = madeAccesses[i & 4095]!;
    execAccess(state, thread, a.access, a.vaddr, a.value);
  }
  return nsPerCall(t0);
}

function abstractAccessNs(trace: TimedTrace): number {
  const state = afterMaps(abstractLayer, trace);
  const thread = trace.plan.rootTCB;
  const t0 = performance.now();
  for (let i = 0; i < accessCalls; i++) {
    const a = madeAccesses[i & 4095]!;
    abstractAccess(state, thread, a.access, a.vaddr, a.value);
  }
  return nsPerCall(t0);
}

const vspace = vspaceTraces();
const vspaceRows: [string, (plan: BootPlan) => (event: KernelEvent) => void][] = [
  ['impl (no checks, no instrumentation)', layerReplay(kernel)],
  ['impl, recording what each step touched', layerReplay(instrumented)],
  ['executable', layerReplay(executableLayer)],
  ['abstract', layerReplay(abstractLayer)],
];
const vspaceExec = 2;
console.log(`
VSpace (the root task's VSpace; medians of ${repeats} rounds, each round replaying every row in turn):`);
timeTrace(vspace.pageMaps, vspaceRows.map(([, start]) => start)); // warm up
const mapUs = timeTrace(vspace.pageMaps, vspaceRows.map(([, start]) => start));
console.log(`Page_Map of a 4 KiB frame (${mappedFrames} maps into one page table, each timed):`);
vspaceRows.forEach(([name], k) => console.log(`${name.padEnd(50)} ${mapUs[k]!.toFixed(2).padStart(9)} µs ${(mapUs[vspaceExec]! / mapUs[k]!).toFixed(2).padStart(8)}x executable`));
timeBlocks(vspace.accessEvents, vspaceRows.map(([, start]) => start), 1); // warm up
const accessUs = timeBlocks(vspace.accessEvents, vspaceRows.map(([, start]) => start), repeats);
console.log(`a translated load or store through the layer's step (an access event that hits; ${accesses} timed as one block):`);
vspaceRows.forEach(([name], k) => {
  const ratio = median(accessUs[k]!.map((t, r) => accessUs[vspaceExec]![r]! / t));
  console.log(`${name.padEnd(50)} ${(median(accessUs[k]!) * 1000).toFixed(0).padStart(9)} ns ${ratio.toFixed(2).padStart(8)}x executable`);
});
const functionRows: [string, () => number][] = [
  ['impl accessUserMemory (no checks)', () => implAccessNs(vspace.accessEvents)],
  ['executable accessUserMemory', () => executableAccessNs(vspace.accessEvents)],
  ['abstract accessUserState', () => abstractAccessNs(vspace.accessEvents)],
];
functionRows.forEach(([, time]) => time()); // warm up
const functionNs = functionRows.map(([, time]) => median(Array.from({ length: repeats }, time)));
console.log(`a translated load or store by the layer's access function alone (${accessCalls} calls as one block):`);
functionRows.forEach(([name], k) => console.log(`${name.padEnd(50)} ${functionNs[k]!.toFixed(0).padStart(9)} ns ${(functionNs[1]! / functionNs[k]!).toFixed(2).padStart(8)}x executable`));
