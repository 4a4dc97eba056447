// The comparison names the first differing place in seL4 terms: the scheduler's state after
// every step, and the new TCB and scheduling context fields (64-bit times, refill lists).
import { describe, expect, it } from 'vitest';
import { irqAtBoot, seL4_CapInitThreadCNode as root, seL4_ObjectType, type KernelLayer, type KernelView, type ObjectView, type SchedulerView } from '../../libsel4/index.ts';
import type { ImplState } from '../../impl/index.ts';
import { diffObjects } from '../../refinement/abstraction/index.ts';
import { compareObject, compareScheduler, compareViews } from '../../refinement/lockstep/compare.ts';
import { RefinementFailure } from '../../refinement/lockstep/index.ts';
import { bootSystem } from '../../refinement/system.ts';

const scheduler: SchedulerView = {
  clockTicks: 1000n,
  curTimeTicks: 900n,
  consumedTicks: 100n,
  currentSchedContext: 0x8001c000,
  readyQueues: [
    { priority: 255, threads: [0x80010000] },
    { priority: 10, threads: [0x80011000, 0x80012000] },
  ],
  releaseQueue: [0x80013000],
  timerDeadlineTicks: 50890n,
};

const sc: ObjectView = {
  type: 'schedcontext',
  addr: 0x8001c000,
  sizeBits: 8,
  tcb: 0x80010000,
  periodTicks: 100000n,
  consumedTicks: 0n,
  replies: [],
  refillMax: 4,
  refills: [
    { releaseTicks: 0n, amountTicks: 3000n },
    { releaseTicks: 100000n, amountTicks: 2000n },
  ],
  sporadic: true,
  badge: 0,
  yieldFrom: null,
  notification: null,
};

/** A view holding one object and the given scheduler state. */
function viewOf(object: ObjectView, sched: SchedulerView): KernelView {
  return {
    cap: () => null,
    cdtParent: () => null,
    object: (addr) => (addr === object.addr ? object : null),
    objects: () => [object],
    current: () => null,
    userWord: () => 0,
    nonZeroWord: () => null,
    scheduler: () => sched,
    irq: irqAtBoot,
    workUnitsCompleted: () => null, translate: () => null,
  };
}

describe('comparing the scheduler', () => {
  it('finds no difference between equal states', () => {
    expect(compareScheduler(scheduler, { ...scheduler, readyQueues: scheduler.readyQueues.map((q) => ({ ...q, threads: [...q.threads] })) })).toBeNull();
  });

  it('names each differing field in seL4 terms', () => {
    const cases: ReadonlyArray<readonly [Partial<SchedulerView>, string, string, string]> = [
      [{ clockTicks: 1001n }, 'scheduler: clock', '1000', '1001'],
      [{ curTimeTicks: 901n }, 'scheduler: ksCurTime', '900', '901'],
      [{ consumedTicks: 0n }, 'scheduler: ksConsumed', '100', '0'],
      [{ currentSchedContext: null }, 'scheduler: ksCurSC', '0x8001c000', "the idle thread's"],
      [{ readyQueues: [scheduler.readyQueues[0]!, { priority: 10, threads: [0x80012000, 0x80011000] }] }, 'scheduler: ready queue 10', '[0x80011000, 0x80012000]', '[0x80012000, 0x80011000]'],
      [{ readyQueues: [scheduler.readyQueues[1]!] }, 'scheduler: ready queue 255', '[0x80010000]', 'empty'],
      [{ releaseQueue: [] }, 'scheduler: release queue', '[0x80013000]', '[]'],
      [{ timerDeadlineTicks: null }, 'scheduler: timer deadline', '50890', 'none'],
    ];
    for (const [change, path, lower, upper] of cases) {
      expect(compareScheduler(scheduler, { ...scheduler, ...change })).toEqual({ path, lower, upper });
    }
  });
});

describe('comparing objects', () => {
  it('names a differing refill field, with 64-bit times in decimal', () => {
    const other: ObjectView = { ...sc, refills: [sc.refills[0]!, { releaseTicks: 100000n, amountTicks: 2001n }] };
    expect(compareObject(viewOf(sc, scheduler), viewOf(other, scheduler), sc.addr)).toEqual({
      path: 'schedcontext 0x8001c000: refills[1].amountTicks',
      lower: '2000',
      upper: '2001',
    });
  });

  it('names a missing refill, and scalar fields of the new object fields', () => {
    const fewer: ObjectView = { ...sc, refills: [sc.refills[0]!] };
    expect(compareObject(viewOf(sc, scheduler), viewOf(fewer, scheduler), sc.addr)).toEqual({
      path: 'schedcontext 0x8001c000: refills[1]',
      lower: '{releaseTicks 100000, amountTicks 2000}',
      upper: 'none',
    });
    const period: ObjectView = { ...sc, periodTicks: 100001n };
    expect(compareObject(viewOf(sc, scheduler), viewOf(period, scheduler), sc.addr)?.path).toBe('schedcontext 0x8001c000: periodTicks');
    const yielded: ObjectView = { ...sc, yieldFrom: 0x80011000 };
    expect(compareObject(viewOf(sc, scheduler), viewOf(yielded, scheduler), sc.addr)).toEqual({ path: 'schedcontext 0x8001c000: yieldFrom', lower: 'none', upper: '0x80011000' });
  });

  it('compares layer records holding 64-bit times without failing on them', () => {
    const charged: ObjectView = { ...sc, consumedTicks: 5n };
    expect(diffObjects(sc.addr, sc, charged)).toEqual({ path: 'schedcontext 0x8001c000: consumedTicks', lower: '0', upper: '5' });
    expect(diffObjects(sc.addr, sc, { ...sc })).toBeNull();
  });

  it('closes with every object and the scheduler through the views', () => {
    expect(compareViews(viewOf(sc, scheduler), viewOf(sc, scheduler))).toBeNull();
    expect(compareViews(viewOf(sc, scheduler), viewOf(sc, { ...scheduler, releaseQueue: [] }))?.path).toBe('scheduler: release queue');
  });
});

/** An impl whose view shows `change` applied to the scheduler, and a wrong refill on every scheduling context. */
function lyingView(change: Partial<SchedulerView>, refills: boolean) {
  return (impl: KernelLayer<ImplState>): KernelLayer<ImplState> => ({
    ...impl,
    view(state) {
      const view = impl.view(state);
      const object = (addr: number): ObjectView | null => {
        const o = view.object(addr);
        return o?.type === 'schedcontext' && refills ? { ...o, refills: [...o.refills, { releaseTicks: 0n, amountTicks: 1n }] } : o;
      };
      return { ...view, object, scheduler: () => ({ ...view.scheduler(), ...change }) };
    },
  });
}

function failureOf(run: () => void): RefinementFailure {
  try {
    run();
  } catch (error) {
    if (error instanceof RefinementFailure) return error;
    throw error;
  }
  throw new Error('no failure');
}

describe('the lockstep runner', () => {
  it('compares the scheduler state of every pair after every step', () => {
    for (const pair of ['impl-executable', 'impl-abstract'] as const) {
      const sys = bootSystem({ layer: 'lockstep', pairs: [pair], layerOptions: { implDebug: true, wrapImpl: lyingView({ timerDeadlineTicks: 12345n }, false) } });
      const f = failureOf(() => sys.api.seL4_CNode_Delete(root, sys.plan.bootInfo.empty.start, 32));
      expect([f.kind, f.step, f.pair, f.mismatch.path, f.mismatch.lower]).toEqual(['state', 0, pair, 'scheduler: timer deadline', '12345']);
    }
  });

  it('compares the fields of a touched scheduling context through the views', () => {
    const sys = bootSystem({ layer: 'lockstep', pairs: ['impl-executable'], layerOptions: { implDebug: true, wrapImpl: lyingView({}, true) } });
    const info = sys.plan.bootInfo;
    const untyped = info.untyped.start + info.untypedList.findIndex((u) => !u.isDevice && u.sizeBits >= 8);
    const f = failureOf(() => sys.api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_SchedContextObject, 8, root, 0, 0, info.empty.start, 1));
    expect([f.kind, f.step, f.pair]).toEqual(['state', 0, 'impl-executable']);
    expect(f.mismatch.path).toMatch(/^schedcontext 0x[0-9a-f]+: refills\[\d+\]$/);
    expect([f.mismatch.lower, f.mismatch.upper]).toEqual(['{releaseTicks 0, amountTicks 1}', 'none']);
  });
});
