// Two scheduling scenarios as a root task would set them up on seL4 (MCS), run on the model:
// a periodic high-priority thread preempting a long computation at low priority, and two
// threads of equal priority sharing the processor round robin. Prints who ran when.
// Run: node bin/run-ts.js examples/scheduling.ts [layer]   (layer: impl, executable, abstract, lockstep)
import { pathToFileURL } from 'node:url';
import { formatTimeline, runSystem, startThread, type LayerName, type ProgramContext, type RunResult } from 'sel4-model';

/** Computes `us` microseconds in all, in pieces of 100 µs. */
function* work(sys: ProgramContext) {
  const [totalUs] = sys.args;
  for (let doneUs = 0; doneUs < totalUs!; doneUs += 100) yield* sys.compute(100n);
}

/** The root task's part: start `threads` from an untyped of 64 KiB or more and the free slots, then end. */
function rootStarting(threads: ReadonlyArray<{ priority: number; budgetUs: bigint; periodUs: bigint; workUs: number }>) {
  return function* root(sys: ProgramContext) {
    const untyped = sys.plan.bootInfo.untyped.start + sys.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
    let slot = sys.plan.bootInfo.empty.start;
    for (const t of threads) {
      const error = yield* startThread(sys, { program: work, untyped, slot, priority: t.priority, budgetUs: t.budgetUs, periodUs: t.periodUs, args: [t.workUs] });
      if (error !== 0) throw new Error(`starting a thread failed with seL4_Error ${error}`);
      slot += 2;
    }
  };
}

/** A thread at priority 200 with 1 ms every 4 ms preempts one at priority 100 (its budget the whole 10 ms period). */
export function preemption(layer: LayerName | 'lockstep' = 'impl'): RunResult {
  const root = rootStarting([
    { priority: 200, budgetUs: 1000n, periodUs: 4000n, workUs: 3000 },
    { priority: 100, budgetUs: 10_000n, periodUs: 10_000n, workUs: 5000 },
  ]);
  return runSystem(root, { system: { layer }, maxTimeUs: 50_000n });
}

/** Two threads at priority 150, each with a 1 ms round-robin budget (budget = period), take turns. */
export function roundRobin(layer: LayerName | 'lockstep' = 'impl'): RunResult {
  const root = rootStarting([
    { priority: 150, budgetUs: 1000n, periodUs: 1000n, workUs: 3000 },
    { priority: 150, budgetUs: 1000n, periodUs: 1000n, workUs: 3000 },
  ]);
  return runSystem(root, { system: { layer }, maxTimeUs: 50_000n });
}

function show(title: string, result: RunResult): void {
  console.log(`${title}: stopped (${result.stop}): ${result.detail}`);
  console.log(formatTimeline(result.timeline));
  console.log();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const layer = (process.argv[2] ?? 'impl') as LayerName | 'lockstep';
  show('Preemption', preemption(layer));
  show('Round robin', roundRobin(layer));
}
