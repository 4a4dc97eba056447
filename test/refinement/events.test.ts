// Time and exception events everywhere a kernel entry is told or kept: the entry's text, what
// it led to, counterexample files, and explain's story (text and HTML), which also shows the
// scheduler's state where the layers hold it differently.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KernelEvent, KernelLayer, Observation } from '../../libsel4/index.ts';
import type { ImplState } from '../../impl/index.ts';
import { counterexampleJson, entriesOf, readCounterexample, writeCounterexample, type Counterexample } from '../../refinement/reports/counterexample.ts';
import { decodeEntry, eventAnswer, ticksText } from '../../refinement/reports/describe.ts';
import { explanationHtml } from '../../refinement/reports/explain-html.ts';
import { explainCounterexample, formatExplanation } from '../../refinement/reports/explain.ts';
import { plantedCounterexample } from './planted-fault.ts';

const time: KernelEvent = { kind: 'time', ticks: 5000n };
const exception: KernelEvent = { kind: 'exception', user: { regs: [[1, 0x1234]], ipcBuffer: [] }, number: 2, code: 0 };

describe('the text of an event', () => {
  it('gives time in µs and ticks', () => {
    expect(decodeEntry(null, time)).toBe('time 500 µs (5000 ticks)');
    expect(decodeEntry(null, { kind: 'time', ticks: 3n })).toBe('time 0.3 µs (3 ticks)');
    expect(ticksText(1n)).toBe('0.1 µs (1 tick)');
    expect(ticksText(18446744073709551615n)).toBe('1844674407370955161.5 µs (18446744073709551615 ticks)');
  });

  it('gives a user exception with its riscv cause', () => {
    expect(decodeEntry(null, exception)).toBe('user exception: scause 2 (illegal instruction), code 0');
    expect(decodeEntry(null, { ...exception, number: 99, code: 0x12345 })).toBe('user exception: scause 99, code 0x12345');
  });

  it('says what an event led to', () => {
    const observation = (current: number | null, state: 'Running' | 'Inactive', unmodelled: string | null = null): Observation => ({
      current,
      caller: { tcb: 0x80010000, state, regs: new Array<number>(32).fill(0), ipcBuffer: null },
      unmodelled,
      restarted: false,
    });
    expect(eventAnswer(time, 0, observation(null, 'Running'))).toBe('idle runs');
    expect(eventAnswer(time, 0, observation(0x80011000, 'Running'))).toBe('0x80011000 runs');
    expect(eventAnswer(exception, 0, observation(null, 'Inactive'))).toBe('caller Inactive');
    expect(eventAnswer(exception, 0, observation(0x80010000, 'Running', 'fault handler'))).toBe('unmodelled: fault handler');
  });
});

/** The planted counterexample with a time and an exception event after its entries. */
function withEvents(): Counterexample {
  const cx = plantedCounterexample();
  return {
    ...cx,
    trace: [
      ...cx.trace,
      { call: decodeEntry(null, time), result: 'idle runs', entry: { kind: 'time', ticks: '5000' } },
      { call: decodeEntry(null, exception), result: 'caller Inactive', entry: { kind: 'exception', user: { regs: [[1, 0x1234]], ipcBuffer: [] }, number: 2, code: 0 } },
    ],
  };
}

describe('counterexample files', () => {
  it('keep time and exception entries, with 64-bit ticks', () => {
    const cx = withEvents();
    const file = writeCounterexample(mkdtempSync(join(tmpdir(), 'sel4-model-events-')), cx);
    expect(readCounterexample(file)).toEqual(cx);
    expect(counterexampleJson(cx)).toContain('"ticks": "5000"');
    expect(entriesOf(cx).slice(-2)).toEqual([time, exception]);
  });
});

describe('explain', () => {
  it('tells time and exception events in the story, in text and HTML', () => {
    const e = explainCounterexample(withEvents());
    expect(e.steps.map((s) => s.call).slice(-2)).toEqual(['time 500 µs (5000 ticks)', 'user exception: scause 2 (illegal instruction), code 0']);
    const text = formatExplanation(e, 'cx.json');
    expect(text).toContain('    2  time 500 µs (5000 ticks)');
    expect(text).toContain('    3  user exception: scause 2 (illegal instruction), code 0');
    expect(explanationHtml(e, 'cx.json')).toContain('<td class="call">time 500 µs (5000 ticks)</td>');
  });

  it('shows the scheduler at the failing step where the layers hold it differently, with the field the pair differs on', () => {
    const lateDeadline = (impl: KernelLayer<ImplState>): KernelLayer<ImplState> => ({
      ...impl,
      view(state) {
        const view = impl.view(state);
        return { ...view, scheduler: () => ({ ...view.scheduler(), timerDeadlineTicks: 12345n }) };
      },
    });
    const e = explainCounterexample(plantedCounterexample(), { implDebug: true, wrapImpl: lateDeadline });
    const failing = e.steps.find((s) => s.failing)!;
    const scheduler = failing.written!.find((p) => p.place === 'scheduler')!;
    expect(scheduler.differs).toMatch(/^timer deadline \(12345 vs /);
    expect(scheduler.marked.get('timer deadline')).toEqual(['impl', 'executable']);
    expect(formatExplanation(e, 'cx.json')).toMatch(/impl: +clock \d+, ksCurTime \d+, ksConsumed \d+, ksCurSC [^;]+; ready queues [^;]+; release queue \[[^\]]*\]; timer deadline 12345\n +\^+/);
  });
});
