// The workload's threads and scheduling: on a layer with real threads it reaches every new
// invocation's success and the scheduler's events; shrinking drops time events a failure does
// not need, and tells the ones it keeps.
import { describe, expect, it } from 'vitest';
import { firstRamUntypedSlot, seL4_AllRights, seL4_CapInitThreadCNode, seL4_ObjectType, type KernelEvent } from '../../libsel4/index.ts';
import { layerCoverage } from '../../refinement/check.ts';
import { documentedErrors, schedulerEvents, schedulerKey, timeKey } from '../../refinement/coverage.ts';
import { replayEntries, shrinkEntries } from '../../refinement/shrink.ts';
import { bootSystem } from '../../refinement/system.ts';
import { plantedBadgeFault } from './planted-fault.ts';

const threadInvocations = Object.keys(documentedErrors).filter((label) => /^(TCB|SchedContext|SchedControl)/.test(label));

describe('the workload on the impl alone', () => {
  const tally = layerCoverage({ layer: 'impl', runs: 150, steps: 100, seed: 1 });

  it.each(threadInvocations)('reaches %s with success', (label) => {
    expect([...(tally.coverage.get(label)?.keys() ?? [])]).toContain('seL4_NoError');
  });

  it.each(schedulerEvents)('reaches the scheduler event %s', (event) => {
    expect(tally.coverage.get(schedulerKey)?.get(event) ?? 0).toBeGreaterThan(0);
  });

  it('passes time up to the timer interrupt and short of it', () => {
    expect([...(tally.coverage.get(timeKey)?.keys() ?? [])].sort()).toEqual(['no-interrupt', 'timer-interrupt']);
  });
});

describe('shrinking with time events', () => {
  it('drops the time events a failure does not need and shows the trace as the calls made', () => {
    const boot = () => bootSystem({ layer: 'lockstep', pairs: ['impl-executable'], layerOptions: plantedBadgeFault });
    const sys = boot();
    const free = sys.plan.bootInfo.empty.start;
    const { api } = sys;
    api.passTime(50n);
    api.seL4_Untyped_Retype(firstRamUntypedSlot(sys.plan.bootInfo), seL4_ObjectType.seL4_EndpointObject, 0, seL4_CapInitThreadCNode, 0, 0, free, 1);
    api.passTime(1n << 40n);
    api.seL4_Yield();
    expect(() => api.seL4_CNode_Mint(seL4_CapInitThreadCNode, free + 1, 32, seL4_CapInitThreadCNode, free, 32, seL4_AllRights, 5)).toThrow(/badge/);
    const events: KernelEvent[] = [...sys.trace];
    expect(events.map((e) => e.kind)).toEqual(['time', 'syscall', 'time', 'syscall', 'syscall']);
    const failure = replayEntries(boot, events).failure;
    expect(failure?.step).toBe(4);
    const shrunk = shrinkEntries(boot, events, failure!);
    expect(shrunk.shrink.end).toBe('complete');
    expect(shrunk.events.map((e) => e.kind)).toEqual(['syscall', 'syscall']);
    expect(shrunk.trace.map((t) => t.call)).toEqual([expect.stringMatching(/^seL4_Untyped_Retype\(/), expect.stringMatching(/^seL4_CNode_Mint\(/)]);
  });
});
