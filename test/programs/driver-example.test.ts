// examples/driver.ts as npm test runs it: on every layer, what the programs saw, when the device
// interrupted and who ran when. Needs the interrupts slice in the layers (issue 12).
import { describe, expect, it } from 'vitest';
import { usToTicks, type LayerName } from '../../index.ts';
import { deviceIRQ, driver, handlingUs, unusedIRQ } from '../../examples/driver.ts';

const layers: readonly LayerName[] = ['executable', 'impl', 'abstract'];
const us = usToTicks;

describe.each(layers)('examples/driver.ts on the %s layer', (layer) => {
  it('the driver is woken by each device interrupt with its badge, and one raised while it handles the last comes at its Ack', () => {
    const { result, log } = driver(layer);
    expect(result.stop).toBe('finished');
    expect(log).toEqual([
      'root: driver started, waiting for its device',
      'driver: interrupt 1, badge 0x20',
      'driver: interrupt 1 handled and acknowledged',
      'driver: interrupt 2, badge 0x20',
      'driver: interrupt 2 handled and acknowledged',
      'driver: interrupt 3, badge 0x20',
      'driver: interrupt 3 handled and acknowledged',
    ]);
    const raised = result.entries.filter((e) => e.event.kind === 'interrupt');
    expect(raised.map((e) => [e.event, e.clockTicks])).toEqual([
      [{ kind: 'interrupt', irq: deviceIRQ }, us(1000n)],
      [{ kind: 'interrupt', irq: unusedIRQ }, us(1500n)],
      [{ kind: 'interrupt', irq: deviceIRQ }, us(2000n)],
      [{ kind: 'interrupt', irq: deviceIRQ }, us(2020n)],
    ]);
    // The first wakes the driver from idle; the one at 2020 µs finds the line claimed and waits.
    const drv = result.threads.find((t) => t.program === 'driverProgram')!;
    expect(raised.map((e) => e.current)).toEqual([drv.tcb, null, drv.tcb, drv.tcb]);
    const view = result.system.view();
    expect(view.irq(deviceIRQ)).toEqual({ irq: deviceIRQ, state: 'Signal', pending: false, claimed: false });
    expect(view.irq(unusedIRQ)).toEqual({ irq: unusedIRQ, state: 'Inactive', pending: true, claimed: false });
    expect(result.timeline).toEqual([
      { thread: null, program: 'idle', fromTicks: 0n, toTicks: us(1000n) },
      { thread: drv.tcb, program: 'driverProgram', fromTicks: us(1000n), toTicks: us(1000n + handlingUs) },
      { thread: null, program: 'idle', fromTicks: us(1000n + handlingUs), toTicks: us(2000n) },
      { thread: drv.tcb, program: 'driverProgram', fromTicks: us(2000n), toTicks: us(2000n + 2n * handlingUs) },
    ]);
  });
});

it('every layer, and the layers in lockstep, show the same log, interrupts and timeline', () => {
  const runs = [...layers, 'lockstep' as const].map((layer) => {
    const { result, log } = driver(layer);
    return { log, entries: result.entries.map((e) => [e.event.kind, e.clockTicks, e.current]), timeline: result.timeline };
  });
  for (const other of runs.slice(1)) expect(other).toEqual(runs[0]);
});
