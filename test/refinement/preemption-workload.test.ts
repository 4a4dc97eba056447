// The default workload reaches preemption: its scenarios (refinement/workload-preemption.ts) arm
// long operations with a raise, and the check makes a preempted entry again until it completes.
// On the impl alone (the check compares the layers), with the boot configuration's limit (100).
import { expect, it } from 'vitest';
import { layerCoverage } from '../../refinement/check.ts';
import { preemptionEvents, preemptionKey } from '../../refinement/coverage.ts';

const tally = layerCoverage({ layer: 'impl', runs: 250, steps: 100, seed: 1 });

/**
 * Events these runs cannot reach, named so that the gap stays visible: `thread-control`, because
 * seL4 refuses a Configure or SetSpace whose CSpace or VSpace root deletion would be long
 * (slotCapLongRunningDelete: IllegalOperation), so no ThreadControlCaps invocation reaches a point.
 */
const notReached: readonly string[] = ['thread-control'];

it.each(preemptionEvents.filter((e) => !notReached.includes(e)))('the default workload reaches Preemption:%s', (event) => {
  expect(tally.coverage.get(preemptionKey)?.get(event) ?? 0).toBeGreaterThan(0);
});

it('does not reach what it names as unreachable', () => {
  for (const event of notReached) expect(tally.coverage.get(preemptionKey)?.has(event) ?? false).toBe(false);
});
