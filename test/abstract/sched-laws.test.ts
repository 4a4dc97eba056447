// Invariants of the abstract spec's scheduler after every entry of random programs made of
// TCB, SchedControl and SchedContext invocations, Yield, exceptions and time (seL4's
// valid_sched and the refill invariants of sporadic.c).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { minBudgetTicks, seL4_SchedContext_Sporadic, type KernelView, type ObjectView } from '../../libsel4/index.ts';
import { ROOT_CNODE, ROOT_SC, ROOT_TCB, ROOT_VSPACE, world, type World } from './threads.ts';

type Op =
  | { readonly op: 'configure'; readonly sc: number; readonly budgetUs: number; readonly periodUs: number; readonly sporadic: boolean; readonly extra: number }
  | { readonly op: 'params'; readonly t: number; readonly priority: number; readonly sc: number | null }
  | { readonly op: 'resume' | 'suspend'; readonly t: number }
  | { readonly op: 'priority'; readonly t: number; readonly priority: number }
  | { readonly op: 'bind' | 'unbind' | 'yieldTo' | 'consumed' | 'deleteSC'; readonly sc: number }
  | { readonly op: 'deleteTCB'; readonly t: number }
  | { readonly op: 'yield' | 'exception' }
  | { readonly op: 'time'; readonly ticks: number };

/** Threads: 0 = the root, 1 and 2 = the world's two TCBs; SCs likewise. */
const thread = fc.integer({ min: 0, max: 2 });
const sc = fc.integer({ min: 0, max: 2 });

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('configure' as const), sc, budgetUs: fc.constantFrom(20, 100, 1000, 5000),
      periodUs: fc.constantFrom(20, 100, 1000, 5000, 20_000), sporadic: fc.boolean(), extra: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('params' as const), t: thread, priority: fc.constantFrom(0, 100, 200, 255), sc: fc.option(sc) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('resume' as const), t: thread }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('suspend' as const), t: thread }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('priority' as const), t: thread, priority: fc.constantFrom(0, 100, 200, 255) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('bind' as const, 'unbind' as const, 'yieldTo' as const, 'consumed' as const), sc }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteSC' as const), sc: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteTCB' as const), t: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('yield' as const) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'exception' as const }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('time' as const), ticks: fc.constantFrom(0, 50, 1_000, 9_000, 60_000, 300_000) }) },
);

/** Runs one operation as whichever thread runs now (all share the root's CSpace). */
function runOp(w: World, o: Op): void {
  const api = w.h.api;
  const tcbs = [ROOT_TCB, w.t0, w.t1];
  const scs = [ROOT_SC, w.s0, w.s1];
  switch (o.op) {
    case 'configure':
      api.seL4_SchedControl_ConfigureFlags(w.control, scs[o.sc]!, BigInt(o.budgetUs), BigInt(o.periodUs), o.extra, 0, o.sporadic ? seL4_SchedContext_Sporadic : 0);
      return;
    case 'params':
      api.seL4_TCB_SetSchedParams(tcbs[o.t]!, ROOT_TCB, o.priority, o.priority, o.sc === null ? 0 : scs[o.sc]!, 0);
      return;
    case 'resume':
      api.seL4_TCB_Resume(tcbs[o.t]!);
      return;
    case 'suspend':
      api.seL4_TCB_Suspend(tcbs[o.t]!);
      return;
    case 'priority':
      api.seL4_TCB_SetPriority(tcbs[o.t]!, ROOT_TCB, o.priority);
      return;
    case 'bind':
      api.seL4_SchedContext_Bind(scs[o.sc]!, tcbs[o.sc]!);
      return;
    case 'unbind':
      api.seL4_SchedContext_Unbind(scs[o.sc]!);
      return;
    case 'yieldTo':
      api.seL4_SchedContext_YieldTo(scs[o.sc]!);
      return;
    case 'consumed':
      api.seL4_SchedContext_Consumed(scs[o.sc]!);
      return;
    case 'deleteSC':
      api.seL4_CNode_Delete(ROOT_CNODE, scs[o.sc]!, 32);
      return;
    case 'deleteTCB':
      api.seL4_CNode_Delete(ROOT_CNODE, tcbs[o.t]!, 32);
      return;
    case 'yield':
      api.seL4_Yield();
      return;
    case 'exception':
      w.h.enter({ kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 2, code: 0 });
      return;
    case 'time':
      w.h.enter({ kind: 'time', ticks: BigInt(o.ticks) });
      return;
  }
}

type TcbView = Extract<ObjectView, { type: 'tcb' }>;
type ScView = Extract<ObjectView, { type: 'schedcontext' }>;

/** valid_sched and the refill invariants, as far as the view shows them. */
function checkInvariants(v: KernelView): void {
  const sched = v.scheduler();
  const objects = v.objects();
  const tcbs = new Map(objects.filter((o): o is TcbView => o.type === 'tcb').map((t) => [t.addr, t]));
  const scs = new Map(objects.filter((o): o is ScView => o.type === 'schedcontext').map((s) => [s.addr, s]));
  const runnable = (t: TcbView) => t.state === 'Running' || t.state === 'Restart';
  const activeSC = (t: TcbView) => t.schedContext !== null && scs.get(t.schedContext)!.refillMax > 0;
  const released = new Set(sched.releaseQueue);
  const schedulable = (t: TcbView) => runnable(t) && activeSC(t) && !released.has(t.addr);
  const current = v.current();

  const queued = sched.readyQueues.flatMap((q) => q.threads);
  expect(new Set(queued).size).toBe(queued.length);
  sched.readyQueues.forEach((q, i) => {
    expect(q.threads.length).toBeGreaterThan(0);
    if (i > 0) expect(q.priority).toBeLessThan(sched.readyQueues[i - 1]!.priority);
    for (const t of q.threads) {
      expect(tcbs.get(t)!.priority).toBe(q.priority);
      expect(schedulable(tcbs.get(t)!)).toBe(true);
      expect(t).not.toBe(current);
    }
  });
  let previousRelease = -1n;
  for (const t of sched.releaseQueue) {
    const thread = tcbs.get(t)!;
    expect(runnable(thread) && activeSC(thread)).toBe(true);
    expect(queued).not.toContain(t);
    const release = scs.get(thread.schedContext!)!.refills[0]!.releaseTicks;
    expect(release).toBeGreaterThanOrEqual(previousRelease);
    previousRelease = release;
  }
  if (current === null) {
    expect(sched.currentSchedContext).toBeNull();
  } else {
    expect(schedulable(tcbs.get(current)!)).toBe(true);
    expect(sched.currentSchedContext).toBe(tcbs.get(current)!.schedContext);
  }
  expect(sched.clockTicks).toBeGreaterThanOrEqual(sched.curTimeTicks);
  expect(sched.timerDeadlineTicks).not.toBeNull();
  for (const t of tcbs.values()) {
    if (t.schedContext !== null) expect(scs.get(t.schedContext)!.tcb).toBe(t.addr);
    if (t.yieldTo !== null) expect(scs.get(t.yieldTo)!.yieldFrom).toBe(t.addr);
  }
  for (const s of scs.values()) {
    if (s.tcb !== null) expect(tcbs.get(s.tcb)!.schedContext).toBe(s.addr);
    if (s.yieldFrom !== null) expect(tcbs.get(s.yieldFrom)!.yieldTo).toBe(s.addr);
    if (s.refillMax === 0) continue;
    expect(s.refills.length).toBeGreaterThan(0);
    expect(s.refills.length).toBeLessThanOrEqual(s.refillMax);
    expect(s.refills[0]!.amountTicks).toBeGreaterThanOrEqual(minBudgetTicks);
    if (s.periodTicks === 0n) {
      expect(s.refills).toHaveLength(2);
      continue;
    }
    for (let i = 1; i < s.refills.length; i++) {
      expect(s.refills[i - 1]!.releaseTicks + s.refills[i - 1]!.amountTicks).toBeLessThanOrEqual(s.refills[i]!.releaseTicks);
    }
  }
}

describe('abstract scheduler laws', () => {
  it('every entry of a random program leaves the ready and release queues, bindings and refills consistent', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(100, 200, 255), { minLength: 3, maxLength: 3 }), fc.array(op, { minLength: 5, maxLength: 40 }), (priorities, ops) => {
        const w = world();
        const api = w.h.api;
        // Two more threads, runnable at random priorities with round-robin or constant-bandwidth SCs.
        for (const [t, s, budgetUs, periodUs] of [[w.t0, w.s0, 1000, 1000], [w.t1, w.s1, 500, 2000]] as const) {
          api.seL4_TCB_Configure(t, ROOT_CNODE, 0, ROOT_VSPACE, 0, 0, 0);
          api.seL4_TCB_SetMCPriority(t, ROOT_TCB, 255);
          api.seL4_SchedControl_ConfigureFlags(w.control, s, BigInt(budgetUs), BigInt(periodUs), 2, 0, 0);
        }
        api.seL4_TCB_SetSchedParams(w.t0, ROOT_TCB, 255, priorities[1]!, w.s0, 0);
        api.seL4_TCB_SetSchedParams(w.t1, ROOT_TCB, 255, priorities[2]!, w.s1, 0);
        api.seL4_TCB_Resume(w.t0);
        api.seL4_TCB_Resume(w.t1);
        api.seL4_TCB_SetPriority(ROOT_TCB, ROOT_TCB, priorities[0]!);
        checkInvariants(w.h.view());
        for (const o of ops) {
          runOp(w, o);
          checkInvariants(w.h.view());
        }
      }),
      { numRuns: 50, seed: 9 },
    );
  });
});
