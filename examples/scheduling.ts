// Two scheduling scenarios as a root task sets them up on seL4 (MCS), run on the model: a
// background thread preempted by a higher-priority thread it wakes, and two threads of equal
// priority sharing the processor round robin. Prints who ran when.
// Run: node bin/run-ts.js examples/scheduling.ts [impl|executable|abstract|lockstep]
import { pathToFileURL } from 'node:url';
import {
  formatTimeline,
  runSystem,
  seL4_Error,
  startThread,
  type LayerName,
  type ProgramContext,
  type RunResult,
  type ThreadSpec,
} from 'sel4-model';

/** Computes for `us` microseconds, in pieces of 100 µs. */
function* computeFor(sys: ProgramContext, us: number) {
  for (let doneUs = 0; doneUs < us; doneUs += 100) yield* sys.compute(100n);
}

/** a0: microseconds of work. */
function* urgent(sys: ProgramContext) {
  yield* computeFor(sys, sys.args[0]!);
}

/** a0: microseconds of work before resuming the thread whose TCB cap is in slot a1, a2: after. */
function* background(sys: ProgramContext) {
  const [beforeUs, other, afterUs] = sys.args;
  yield* computeFor(sys, beforeUs!);
  const error = yield* sys.api.seL4_TCB_Resume(other!);
  if (error !== seL4_Error.seL4_NoError) throw new Error(`seL4_TCB_Resume failed: ${error}`);
  yield* computeFor(sys, afterUs!);
}

/** a0: microseconds of work. */
function* ping(sys: ProgramContext) {
  yield* computeFor(sys, sys.args[0]!);
}

function* pong(sys: ProgramContext) {
  yield* computeFor(sys, sys.args[0]!);
}

type Thread = Omit<ThreadSpec, 'untyped' | 'slot'>;

/** A root task that starts `threads` (each from two free slots of its CNode, in order) and ends. */
function rootStarting(threads: readonly Thread[]) {
  return function* root(sys: ProgramContext) {
    const untyped = sys.plan.bootInfo.untyped.start + sys.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
    let slot = sys.plan.bootInfo.empty.start;
    for (const thread of threads) {
      const error = yield* startThread(sys, { ...thread, untyped, slot });
      if (error !== seL4_Error.seL4_NoError) throw new Error(`starting ${thread.program.name} failed: ${error}`);
      slot += 2;
    }
  };
}

/**
 * `background` (priority 100) computes 1 ms, then resumes `urgent` (priority 200, created but
 * not resumed by the root task), which preempts it at once and computes 0.5 ms; then
 * `background` computes its last 2 ms.
 */
export function preemption(layer: LayerName | 'lockstep' = 'executable'): RunResult {
  const root = function* (sys: ProgramContext) {
    const urgentTCB = sys.plan.bootInfo.empty.start; // the first slot rootStarting fills
    yield* rootStarting([
      { program: urgent, priority: 200, budgetUs: 1000n, periodUs: 10_000n, args: [500], resume: false },
      { program: background, priority: 100, budgetUs: 10_000n, periodUs: 10_000n, args: [1000, urgentTCB, 2000] },
    ])(sys);
  };
  return runSystem(root, { system: { layer }, maxTimeUs: 100_000n });
}

/** `ping` and `pong` at priority 150, each with a 1 ms round-robin budget (budget = period), take turns. */
export function roundRobin(layer: LayerName | 'lockstep' = 'executable'): RunResult {
  const root = rootStarting([
    { program: ping, priority: 150, budgetUs: 1000n, periodUs: 1000n, args: [3000] },
    { program: pong, priority: 150, budgetUs: 1000n, periodUs: 1000n, args: [3000] },
  ]);
  return runSystem(root, { system: { layer }, maxTimeUs: 100_000n });
}

function show(title: string, result: RunResult): void {
  console.log(`${title}: stopped (${result.stop}): ${result.detail}`);
  console.log(formatTimeline(result.timeline));
  console.log();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const layer = (process.argv[2] ?? 'executable') as LayerName | 'lockstep';
  show('Preemption', preemption(layer));
  show('Round robin', roundRobin(layer));
}
