import { expect, it } from 'vitest';
import { formatTimeline, runSystem, seL4_CapInitThreadTCB, seL4_Error, startThread, type ProgramContext } from 'sel4-model';

/** A worker: computes for a0 microseconds of its own time, then ends. */
function* worker(sys: ProgramContext) {
  yield* sys.compute(BigInt(sys.args[0]!));
}

/** The root task: starts the worker at priority 100 with 1 ms of budget every 2 ms, then ends. */
function* root(sys: ProgramContext) {
  const untyped = sys.plan.bootInfo.untyped.start + sys.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
  const slot = sys.plan.bootInfo.empty.start; // the worker's TCB cap goes here, its SC cap in slot + 1
  const error = yield* startThread(sys, { program: worker, untyped, slot, priority: 100, budgetUs: 1000n, periodUs: 2000n, args: [700] });
  expect(error).toBe(seL4_Error.seL4_NoError);
  const priority = yield* sys.api.seL4_TCB_SetPriority(slot, seL4_CapInitThreadTCB, 300); // above the root's MCP
  expect(priority).toBe(seL4_Error.seL4_RangeError);
}

it('runs the worker for 700 µs, then only the idle thread is left', () => {
  const result = runSystem(root, { system: { layer: 'executable' } });
  expect(result.stop).toBe('finished');
  expect(formatTimeline(result.timeline)).toBe('  0 µs - 700 µs  worker (0x80020000)');
});
