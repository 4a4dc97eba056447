// examples/scheduling.ts as npm test runs it: on every layer, who ran when.
import { describe, expect, it } from 'vitest';
import { usToTicks, type LayerName, type RunResult, type Slice } from '../../index.ts';
import { preemption, roundRobin } from '../../examples/scheduling.ts';

const layers: readonly LayerName[] = ['executable', 'impl', 'abstract'];

/** Ticks each program ran in all. */
function ranTicks(timeline: readonly Slice[]): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const s of timeline) totals.set(s.program, (totals.get(s.program) ?? 0n) + s.toTicks - s.fromTicks);
  return totals;
}

const tcbOf = (result: RunResult, program: string) => result.threads.find((t) => t.program === program)!.tcb;

describe.each(layers)('examples/scheduling.ts on the %s layer', (layer) => {
  it('preemption: urgent takes the processor from background the moment background resumes it', () => {
    const result = preemption(layer);
    expect(result.stop).toBe('finished');
    const [first, second, third] = result.timeline;
    expect(result.timeline.map((s) => s.program)).toEqual(['background', 'urgent', 'background']);
    expect(first!.toTicks).toBe(usToTicks(1000n));
    expect(second!.fromTicks).toBe(first!.toTicks);
    expect(third!.fromTicks).toBe(second!.toTicks);
    expect(ranTicks(result.timeline)).toEqual(new Map([['background', usToTicks(3000n)], ['urgent', usToTicks(500n)]]));
    const switchEntry = result.entries.find((e) => e.thread === tcbOf(result, 'background') && e.current === tcbOf(result, 'urgent'))!;
    expect(switchEntry.event.kind).toBe('syscall');
    expect(switchEntry.clockTicks).toBe(usToTicks(1000n));
  });

  it('round robin: ping and pong alternate, neither running longer than its 1 ms budget', () => {
    const result = roundRobin(layer);
    expect(result.stop).toBe('finished');
    const programs = result.timeline.map((s) => s.program);
    expect(programs.length).toBeGreaterThanOrEqual(6);
    programs.slice(1).forEach((p, i) => expect(p).not.toBe(programs[i]));
    for (const s of result.timeline) expect(s.toTicks - s.fromTicks).toBeLessThanOrEqual(usToTicks(1000n));
    expect(ranTicks(result.timeline)).toEqual(new Map([['ping', usToTicks(3000n)], ['pong', usToTicks(3000n)]]));
  });
});

it('every layer shows the same timelines', () => {
  const timelines = layers.map((layer) => [preemption(layer).timeline, roundRobin(layer).timeline]);
  for (const other of timelines.slice(1)) expect(other).toEqual(timelines[0]);
});
