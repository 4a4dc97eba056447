// The workload's threads and scheduling: on a layer with real threads it reaches every new
// invocation's success and the scheduler's events, and the scheduler's rarer situations (two
// threads waiting for their release at once; a switch away from a sporadic or constant-bandwidth
// context that has used part of its head refill, commitTime's refill_budget_check); shrinking
// drops time events a failure does not need, and tells the ones it keeps.
import { describe, expect, it } from 'vitest';
import {
  firstRamUntypedSlot,
  maxPeriodMicroseconds,
  seL4_AllRights,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadIPCBuffer,
  seL4_Error,
  seL4_ObjectType,
  type KernelEvent,
  type KernelView,
} from '../../libsel4/index.ts';
import { layerCoverage } from '../../refinement/check.ts';
import { documentedErrors, schedulerEvents, schedulerKey, timeKey } from '../../refinement/coverage.ts';
import { replayEntries, shrinkEntries } from '../../refinement/shrink.ts';
import { runSystem, startThread, type ProgramContext } from '../../refinement/run.ts';
import { bootSystem } from '../../refinement/system.ts';
import { plantedBadgeFault } from './planted-fault.ts';
import { eachWorkloadStep } from './workload-runs.ts';

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

describe("the workload's scheduler situations on the impl alone", () => {
  const reached = observe(100, 100, 1);

  it('has two threads waiting for their release at once', () => {
    expect(reached.twoWaiting).toBeGreaterThan(0);
  });

  it('switches away from a sporadic context in the middle of its head refill', () => {
    expect(reached.switchedMidBudget).toBeGreaterThan(0);
  });
});

interface Reached {
  /** Steps after which two or more threads waited in the release queue. */
  twoWaiting: number;
  /** Steps that switched away from a sporadic or constant-bandwidth context and charged part of its head refill. */
  switchedMidBudget: number;
}

interface Head {
  readonly addr: number;
  readonly releaseTicks: bigint;
  readonly amountTicks: bigint;
}

/** The current context and its head refill, when it is sporadic or constant bandwidth, has computed, and has budget left. */
function midBudgetHead(view: KernelView): Head | null {
  const s = view.scheduler();
  const sc = s.currentSchedContext === null ? null : view.object(s.currentSchedContext);
  if (sc?.type !== 'schedcontext' || sc.periodTicks === 0n || sc.refills.length === 0) return null;
  const head = sc.refills[0]!;
  return s.consumedTicks > 0n && head.amountTicks > s.consumedTicks ? { addr: sc.addr, ...head } : null;
}

/** Whether a head refill was charged in part (refill_budget_check: released later, smaller, not empty). */
function partlyCharged(was: Head, after: KernelView): boolean {
  const sc = after.object(was.addr);
  const head = sc?.type === 'schedcontext' ? sc.refills[0] : undefined;
  return head !== undefined && head.releaseTicks > was.releaseTicks && head.amountTicks > 0n && head.amountTicks < was.amountTicks;
}

function observe(runs: number, steps: number, seed: number): Reached {
  const reached: Reached = { twoWaiting: 0, switchedMidBudget: 0 };
  eachWorkloadStep(runs, steps, seed, (sys, _k, resolved) => {
    const before = sys.view();
    // The view reads the kernel as it is: what the step is compared with is copied out first.
    const head = midBudgetHead(before);
    const current = before.current();
    resolved.run(sys.api, sys);
    const after = sys.view();
    if (after.scheduler().releaseQueue.length >= 2) reached.twoWaiting++;
    if (head && after.current() !== current && partlyCharged(head, after)) reached.switchedMidBudget++;
  });
  return reached;
}

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

describe('a huge overrun on every layer', () => {
  // Found by the check: a running context reconfigured from an enormous budget to 500 µs keeps
  // its far timer deadline (ConfigureFlags does not reprogram it, as in seL4), so the next time
  // event charges about 10^14 whole refills. Each layer takes those rounds at once.
  function* shrinksItsOwnBudget(sys: ProgramContext) {
    const error = yield* sys.api.seL4_SchedControl_ConfigureFlags(sys.plan.bootInfo.schedcontrol.start, sys.args[0]!, 500n, 1002n, 0, 0, 0);
    if (error !== seL4_Error.seL4_NoError) throw new Error(`ConfigureFlags failed: ${error}`);
    yield* sys.compute(maxPeriodMicroseconds);
  }

  it('charges about 2^60 ticks to a 500 µs sporadic context, the three layers agreeing', () => {
    const root = function* (sys: ProgramContext) {
      const untyped = sys.plan.bootInfo.untyped.start + sys.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
      const slot = sys.plan.bootInfo.empty.start;
      const half = maxPeriodMicroseconds / 2n;
      const spec = { program: shrinksItsOwnBudget, untyped, slot, priority: 255, budgetUs: half, periodUs: maxPeriodMicroseconds, args: [slot + 1], resume: false };
      const errors = [
        yield* startThread(sys, spec),
        // ConfigureFlags takes more words than the message registers: the thread shares the root's IPC buffer.
        yield* sys.api.seL4_TCB_SetIPCBuffer(slot, sys.plan.bootInfo.ipcBuffer, seL4_CapInitThreadIPCBuffer),
        yield* sys.api.seL4_TCB_Resume(slot),
      ];
      expect(errors).toEqual([seL4_Error.seL4_NoError, seL4_Error.seL4_NoError, seL4_Error.seL4_NoError]);
    };
    const system = { layer: 'lockstep', pairs: ['impl-executable', 'executable-abstract', 'impl-abstract'] } as const;
    const result = runSystem(root, { system, maxSteps: 40 });
    const overrun = result.timeline.find((s) => s.program === 'shrinksItsOwnBudget');
    expect(overrun!.toTicks - overrun!.fromTicks).toBeGreaterThan(1n << 59n);
  });
});
