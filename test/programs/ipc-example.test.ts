// examples/ipc.ts as npm test runs it: on every layer, what the programs saw and who ran when.
import { describe, expect, it } from 'vitest';
import { usToTicks, type LayerName } from '../../index.ts';
import { clientServer, producerConsumer } from '../../examples/ipc.ts';

const layers: readonly LayerName[] = ['executable', 'impl', 'abstract'];

describe.each(layers)('examples/ipc.ts on the %s layer', (layer) => {
  it('the passive server answers every call on the client context, which each reply returns', () => {
    const { result, log } = clientServer(layer);
    // The server waits for the next call, passive, once the client has finished.
    expect(result.stop).toBe('idle');
    const clientSC = log.find((l) => l.startsWith('client: runs on'))!.split(' ').at(-1);
    expect(clientSC).toMatch(/^0x[0-9a-f]+$/);
    expect(log.filter((l) => l.startsWith('server:')).map((l) => l.split(' ').at(-1))).toEqual([clientSC, clientSC, clientSC]);
    expect(log.filter((l) => l.startsWith('client:') && l.includes('='))).toEqual(['client: 1 + 2 = 3', 'client: 20 + 22 = 42', 'client: 300 + 400 = 700']);
    const server = result.threads.find((t) => t.program === 'server')!;
    const view = result.system.view().object(server.tcb);
    expect(view).toMatchObject({ state: 'BlockedOnReceive', schedContext: null });
    // Only the client computed: 3 × 200 µs; the server ran no time of its own.
    expect(result.timeline.map((s) => s.program)).toEqual(['client']);
    expect(result.timeline[0]!.toTicks - result.timeline[0]!.fromTicks).toBe(usToTicks(600n));
  });

  it('the consumer takes every item the producer signals, with the producer cap badge', () => {
    const { result, log } = producerConsumer(layer, 4);
    expect(result.stop).toBe('finished');
    expect(log).toEqual([1, 2, 3, 4].map((i) => `consumer: badge 5, took ${i}`));
    expect(result.timeline).toEqual([{ thread: result.threads.find((t) => t.program === 'producer')!.tcb, program: 'producer', fromTicks: 0n, toTicks: usToTicks(1200n) }]);
  });
});

it('every layer, and the layers in lockstep, show the same logs and timelines', () => {
  const runs = [...layers, 'lockstep' as const].map((layer) => [clientServer(layer), producerConsumer(layer)].map(({ result, log }) => ({ log, timeline: result.timeline })));
  for (const other of runs.slice(1)) expect(other).toEqual(runs[0]);
});
