// The run loop with threads (needs the layers' TCBs and scheduling): programs started as
// threads, their arguments and their end, time passed by compute, and the stop reasons.
import { describe, expect, it } from 'vitest';
import {
  Reg,
  numRegisters,
  programEndException,
  runSystem,
  seL4_Error,
  startThread,
  usToTicks,
  type ProgramContext,
  type ThreadSpec,
} from '../../index.ts';

const layer = 'executable';

/** A root program starting `threads` from a 64 KiB untyped and the first free slots, then ending. */
function rootStarting(threads: ReadonlyArray<Omit<ThreadSpec, 'untyped' | 'slot'>>) {
  return function* root(sys: ProgramContext) {
    const untyped = sys.plan.bootInfo.untyped.start + sys.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
    for (const [i, thread] of threads.entries()) {
      expect(yield* startThread(sys, { ...thread, untyped, slot: sys.plan.bootInfo.empty.start + 2 * i })).toBe(seL4_Error.seL4_NoError);
    }
  };
}

describe('programs as threads', () => {
  it('a thread started at a pc that is no program entry stops the run', () => {
    function* starter(sys: ProgramContext) {
      yield* rootStarting([{ program: function* unused() {}, priority: 100, budgetUs: 1000n, periodUs: 1000n }])(sys);
      const tcb = sys.plan.bootInfo.empty.start;
      expect(yield* sys.api.seL4_TCB_Suspend(tcb)).toBe(seL4_Error.seL4_NoError);
      const regs = new Array<number>(numRegisters).fill(0);
      regs[Reg.pc] = 0x1234;
      expect(yield* sys.api.seL4_TCB_WriteRegisters(tcb, true, 0, 1, regs)).toBe(seL4_Error.seL4_NoError);
    }
    expect(() => runSystem(starter, { system: { layer } })).toThrow(/^program \(none\) on thread 0x[0-9a-f]+ at step \d+: a thread runs at pc 0x1234, which is no registered program's entry$/);
  });

  it('passes arguments in a0.. and ends a program with a user exception that leaves its thread Inactive', () => {
    let args: readonly number[] = [];
    function* worker(sys: ProgramContext) {
      args = sys.args;
      yield* sys.compute(100n);
    }
    const result = runSystem(rootStarting([{ program: worker, priority: 100, budgetUs: 1000n, periodUs: 1000n, args: [7, 8, 9] }]), { system: { layer } });
    expect(result.stop).toBe('finished');
    expect(args).toEqual([7, 8, 9, 0, 0, 0, 0, 0]);
    const worker_ = result.threads.find((t) => t.program === 'worker')!;
    expect(worker_.finished).toBe(true);
    const last = result.entries.filter((e) => e.thread === worker_.tcb).at(-1)!;
    expect(last.event).toMatchObject({ kind: 'exception', ...programEndException });
    expect(result.system.view().object(worker_.tcb)).toMatchObject({ state: 'Inactive' });
    expect(result.timeline.map((s) => [s.program, s.toTicks - s.fromTicks])).toEqual([['worker', usToTicks(100n)]]);
  });

  it('stops idle when a program is left unfinished and no release is pending', () => {
    function* quitter(sys: ProgramContext) {
      yield* sys.compute(50n);
      yield* sys.api.seL4_TCB_Suspend(sys.args[0]!);
    }
    function* starter(sys: ProgramContext) {
      yield* rootStarting([{ program: quitter, priority: 100, budgetUs: 1000n, periodUs: 1000n, args: [sys.plan.bootInfo.empty.start] }])(sys);
    }
    const result = runSystem(starter, { system: { layer } });
    expect(result.stop).toBe('idle');
    expect(result.threads.map((t) => [t.program, t.finished])).toEqual([['starter', true], ['quitter', false]]);
    expect(result.clockTicks).toBe(usToTicks(50n));
  });
});

describe('limits', () => {
  function* spinner(sys: ProgramContext) {
    for (;;) yield* sys.compute(300n);
  }
  const spinning = rootStarting([{ program: spinner, priority: 100, budgetUs: 1000n, periodUs: 1000n }]);

  it('stops at the time limit, the clock exactly there', () => {
    const result = runSystem(spinning, { system: { layer }, maxTimeUs: 2500n });
    expect(result.stop).toBe('time');
    expect(result.clockTicks).toBe(usToTicks(2500n));
    expect(result.timeline.at(-1)).toMatchObject({ program: 'spinner', toTicks: usToTicks(2500n) });
  });

  it('stops at the step limit', () => {
    const result = runSystem(spinning, { system: { layer }, maxSteps: 12 });
    expect(result.stop).toBe('steps');
    expect(result.entries).toHaveLength(12);
    expect(result.entries.map((e) => e.step)).toEqual([...Array(12).keys()]);
  });
});

describe.each(['abstract', 'executable', 'impl', 'lockstep'] as const)('a syscall the budget cannot cover, on %s', (mode) => {
  it('is made again when the thread next runs, as seL4 restarts it, and the program sees only that one', () => {
    const results: seL4_Error[] = [];
    function* worker(sys: ProgramContext) {
      // 1 ms round robin: 990 µs leave 10 µs, less than MIN_BUDGET (20 µs), for the next entry.
      yield* sys.compute(990n);
      results.push(yield* sys.api.seL4_TCB_SetTLSBase(sys.plan.bootInfo.empty.start, 0x1234));
    }
    const result = runSystem(rootStarting([{ program: worker, priority: 200, budgetUs: 1000n, periodUs: 1000n }]), { system: { layer: mode } });
    expect(result.stop).toBe('finished');
    expect(results).toEqual([seL4_Error.seL4_NoError]);
    const tcb = result.threads.find((t) => t.program === 'worker')!.tcb;
    const calls = result.entries.filter((e) => e.thread === tcb && e.event.kind === 'syscall');
    expect(calls).toHaveLength(2);
    // The first was charged and left the worker a whole new budget: the second is made 10 µs later.
    expect(calls[1]!.clockTicks).toBe(calls[0]!.clockTicks);
    expect(result.system.observe(tcb).caller!.regs[Reg.tp]).toBe(0x1234);
  });
});
