// Device interrupts from a test: `system.interrupt(irq)` for a root-task script, and the run
// loop's device schedule (`devices`), raised when the clock reaches them while programs compute.
// Needs the interrupts slice in the layers (issue 12) for the runs to go on past the interrupt.
import { describe, expect, it } from 'vitest';
import { bootSystem, runSystem, usToTicks, type KernelEvent, type ProgramContext, type RunEntry } from '../../index.ts';

const layer = 'executable';
const interrupts = (entries: readonly RunEntry[]) => entries.filter((e) => e.event.kind === 'interrupt');
const irqOf = (event: KernelEvent) => (event.kind === 'interrupt' ? event.irq : -1);

describe('bad input is refused with a sentence, never a stack trace of the kernel', () => {
  const system = bootSystem({ layer });
  it.each([
    ['a string', '5', /^an interrupt's irq must be an IRQ number \(an integer from 0 to 0xffffffff\), not '5'$/],
    ['a negative number', -1, /not -1$/],
    ['a fraction', 1.5, /not 1\.5$/],
    ['NaN', Number.NaN, /not NaN$/],
    ['past a word', 2 ** 32, /not 4294967296$/],
    ['a bigint', 5n, /not 5n$/],
  ])('system.interrupt refuses %s and enters nothing', (_, irq, message) => {
    const before = system.trace.length;
    expect(() => system.interrupt(irq as number)).toThrow(message);
    expect(system.trace.length).toBe(before);
  });

  function* root(sys: ProgramContext) {
    yield* sys.compute(10n);
  }
  it.each([
    ['not an array', { atUs: 5n, irq: 5 }, /^devices must be an array of \{ atUs, irq \}, not \{"atUs":"5n","irq":5\}$/],
    ['a negative time', [{ atUs: 5n, irq: 5 }, { atUs: -5n, irq: 5 }], /^devices\[1\]\.atUs must be a non-negative bigint of microseconds, not -5n$/],
    ['a time in a number', [{ atUs: 5, irq: 5 }], /^devices\[0\]\.atUs must be a non-negative bigint of microseconds, not 5$/],
    ['no irq', [{ atUs: 5n }], /^devices\[0\]\.irq must be an IRQ number \(an integer from 0 to 0xffffffff\), not undefined$/],
    ['an irq that is not a number', [{ atUs: 5n, irq: 'five' }], /^devices\[0\]\.irq must be an IRQ number .*, not 'five'$/],
  ])('runSystem refuses a device schedule that is %s before anything runs', (_, devices, message) => {
    const given = bootSystem({ layer });
    expect(() => runSystem(root, { system: given, devices: devices as never })).toThrow(message);
    expect(given.trace).toEqual([]);
  });
});

it('a program cannot raise an interrupt: one that yields an interrupt event stops the run', () => {
  function* device(sys: ProgramContext) {
    yield* sys.compute(10n);
    yield { kind: 'interrupt', irq: 5 } satisfies KernelEvent;
  }
  expect(() => runSystem(device, { system: { layer } })).toThrow(/^program device on thread 0x[0-9a-f]+ at step 1: yielded \{"kind":"interrupt","irq":5\}, which is not a kernel entry/);
});

describe('the device schedule', () => {
  it('raises an interrupt when the clock reaches it while a program computes, which then computes the rest', () => {
    let tcb = 0;
    function* root(sys: ProgramContext) {
      tcb = sys.tcb;
      yield* sys.compute(100n);
    }
    const result = runSystem(root, { system: { layer }, devices: [{ atUs: 40n, irq: 7 }] });
    const raised = interrupts(result.entries);
    expect(raised.map((e) => [e.thread, irqOf(e.event), e.clockTicks])).toEqual([[tcb, 7, usToTicks(40n)]]);
    // The computation was cut at the interrupt: time up to it, then the rest.
    const times = result.entries.filter((e) => e.event.kind === 'time').map((e) => (e.event.kind === 'time' ? e.event.ticks : 0n));
    expect(times).toEqual([usToTicks(40n), usToTicks(60n)]);
    expect(result.stop).toBe('finished');
    expect(result.clockTicks).toBe(usToTicks(100n));
  });

  it('raises every device due at one time in the order given, and one due at boot before the first entry', () => {
    function* root(sys: ProgramContext) {
      yield* sys.compute(30n);
    }
    const devices = [{ atUs: 20n, irq: 3 }, { atUs: 0n, irq: 0 }, { atUs: 20n, irq: 96 }, { atUs: 20n, irq: 1 }];
    const result = runSystem(root, { system: { layer }, devices });
    expect(result.entries[0]!.event).toEqual({ kind: 'interrupt', irq: 0 });
    expect(interrupts(result.entries).map((e) => [irqOf(e.event), e.clockTicks])).toEqual([[0, 0n], [3, usToTicks(20n)], [96, usToTicks(20n)], [1, usToTicks(20n)]]);
    expect(result.stop).toBe('finished');
  });

  it('leaves devices past the end of the run unraised', () => {
    function* root(sys: ProgramContext) {
      yield* sys.compute(30n);
    }
    const result = runSystem(root, { system: { layer }, devices: [{ atUs: 50n, irq: 3 }] });
    expect(interrupts(result.entries)).toEqual([]);
    expect(result.stop).toBe('finished');
  });
});

it('a root-task script raises interrupts with system.interrupt; they are in the trace as interrupt events', () => {
  const system = bootSystem({ layer });
  const observation = system.interrupt(0);
  expect(system.trace).toEqual([{ kind: 'interrupt', irq: 0 }]);
  expect(observation.unmodelled).toBeNull();
  // IRQ 0 names no source: nothing changes.
  expect(system.view().irq(0)).toEqual({ irq: 0, state: 'Inactive', pending: false, claimed: false });
});
