// examples/fault-handler.ts as npm test runs it: on every layer, what the programs saw and who ran when.
import { describe, expect, it } from 'vitest';
import { usToTicks, type LayerName } from '../../index.ts';
import { doubleSyscall, faultHandler } from '../../examples/fault-handler.ts';

const layers: readonly LayerName[] = ['executable', 'impl', 'abstract'];

describe.each(layers)('examples/fault-handler.ts on the %s layer', (layer) => {
  it('the handler emulates the unknown syscall and steps over the breakpoint, each reply restarting the thread past the instruction', () => {
    const { result, log } = faultHandler(layer);
    expect(result.stop).toBe('idle');
    const faulter = result.threads.find((t) => t.program === 'faulter')!;
    const entry = Number.parseInt(log.find((l) => l.includes('unknown syscall'))!.split(' at ')[1]!, 16);
    const hex = (n: number) => `0x${n.toString(16)}`;
    expect(log).toEqual([
      `handler: badge 7, unknown syscall ${hex(doubleSyscall)} at ${hex(entry)} (11 words), a0 = 21: emulated`,
      `faulter: syscall ${hex(doubleSyscall)}(21) = 42, resumed at ${hex(entry + 4)}`,
      `handler: badge 7, breakpoint at ${hex(entry + 4)} (4 words): stepped over`,
      `faulter: past the breakpoint at ${hex(entry + 8)}`,
      `handler: badge 7, illegal instruction at ${hex(entry + 8)}: the thread stays stopped`,
    ]);
    // The program ended; the label-1 reply left its thread Inactive, the fault cleared.
    expect(faulter.finished).toBe(true);
    expect(result.system.view().object(faulter.tcb)).toMatchObject({ state: 'Inactive', fault: null });
    expect(result.timeline).toEqual([{ thread: faulter.tcb, program: 'faulter', fromTicks: 0n, toTicks: usToTicks(500n) }]);
  });
});

it('every layer, and the layers in lockstep, show the same log and timeline', () => {
  const runs = [...layers, 'lockstep' as const].map((layer) => {
    const { result, log } = faultHandler(layer);
    return { log, timeline: result.timeline };
  });
  for (const other of runs.slice(1)) expect(other).toEqual(runs[0]);
});
