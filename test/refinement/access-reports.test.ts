// Access events in the reports: counterexample files save and replay them, describe and explain
// show them (`store 0x100004 7`, `-> 7`, `faulted: VMFault`), and shrinking drops or simplifies them.
import { describe, expect, it } from 'vitest';
import { noUserWrites, planBoot, type AccessEvent, type KernelEvent, type Observation } from '../../libsel4/index.ts';
import { CounterexampleError, counterexampleJson, entriesOf, parseCounterexample, replayCounterexample, type Counterexample } from '../../refinement/reports/counterexample.ts';
import { accessAnswer, decodeEntry, eventAnswer } from '../../refinement/reports/describe.ts';
import { shrinkEntries } from '../../refinement/shrink.ts';
import { bootSystem } from '../../refinement/system.ts';
import { RefinementFailure } from '../../refinement/lockstep/index.ts';
import { plantedBadgeFault, plantedCounterexample } from './planted-fault.ts';

const buffer = planBoot({}).bootInfo.ipcBuffer;
const store: AccessEvent = { kind: 'access', user: noUserWrites, access: 'store', vaddr: buffer + 6, value: 7 };
const load: AccessEvent = { kind: 'access', user: noUserWrites, access: 'load', vaddr: buffer + 4 };
const fetch: AccessEvent = { kind: 'access', user: noUserWrites, access: 'execute', vaddr: 0x7ffedcba };
/** The boot IPC buffer frame is mapped executable (PTE 0xDF): a fetch from it hits. */
const fetchHit: AccessEvent = { kind: 'access', user: noUserWrites, access: 'execute', vaddr: buffer };
const observed = (accessed?: number): Observation => ({ current: null, caller: null, unmodelled: null, restarted: false, ...(accessed === undefined ? {} : { accessed }) });

/** The planted counterexample with `events` made first (the failure's step moved past them). */
function withAccesses(cx: Counterexample, events: readonly AccessEvent[]): Counterexample {
  const made = events.map((entry) => ({ call: decodeEntry(null, entry), result: 'hit', entry: { ...entry, user: { regs: [], ipcBuffer: [] } } }));
  return { ...cx, failure: { ...cx.failure, step: cx.failure.step + events.length }, trace: [...made, ...cx.trace] };
}

describe('access events in reports', () => {
  it('are told as the program made them, with the word or the fault', () => {
    const hex = (w: number) => `0x${w.toString(16).padStart(8, '0')}`;
    expect([store, load, fetch].map((e) => decodeEntry(null, e))).toEqual([`store ${hex(buffer + 6)} 7`, `load ${hex(buffer + 4)}`, 'execute 0x7ffedcba']);
    expect(accessAnswer(observed(0x2a))).toBe('-> 42');
    expect(eventAnswer(load, -1, observed(0x12345678))).toBe('-> 0x12345678');
    expect(eventAnswer(fetch, -1, observed())).toBe('faulted: VMFault');
    expect(eventAnswer(fetch, -1, { ...observed(), restarted: true })).toBe('faulted: restarted (budget used up)');
  });

  it('are saved in counterexample files, read back unchanged and replayed: the failure stays', () => {
    const cx = withAccesses(plantedCounterexample(), [store, load]);
    const read = parseCounterexample(JSON.parse(counterexampleJson(cx)), 'cx.json');
    expect(read).toEqual(cx);
    expect(entriesOf(read).slice(0, 2)).toEqual([{ ...store, user: { regs: [], ipcBuffer: [] } }, { ...load, user: { regs: [], ipcBuffer: [] } }]);
    expect(replayCounterexample(read, { layerOptions: plantedBadgeFault }).failure?.step).toBe(cx.failure.step);
    expect(replayCounterexample(read).failure).toBeNull();
  });

  it('a malformed access entry is a CounterexampleError naming the field', () => {
    const cx = withAccesses(plantedCounterexample(), [store]);
    const json = JSON.parse(counterexampleJson(cx)) as { trace: { entry: Record<string, unknown> }[] };
    json.trace[0]!.entry.access = 'read';
    expect(() => parseCounterexample(json, 'bad.json')).toThrow(CounterexampleError);
    expect(() => parseCounterexample(json, 'bad.json')).toThrow(/bad\.json.*trace.*0.*entry.*access/s);
  });

  it('shrinking drops accesses the failure does not need', () => {
    const cx = withAccesses(plantedCounterexample(), [store, fetchHit, { ...load, vaddr: buffer + 5 }]);
    const boot = () => bootSystem({ layer: 'lockstep', pairs: ['impl-executable'], layerOptions: plantedBadgeFault });
    const events: KernelEvent[] = entriesOf(cx);
    const failure = replayCounterexample(cx, { layerOptions: plantedBadgeFault }).failure;
    expect(failure).toBeInstanceOf(RefinementFailure);
    const shrunk = shrinkEntries(boot, events, failure!);
    expect(shrunk.events.filter((e) => e.kind === 'access')).toEqual([]);
    expect(shrunk.failure?.kind).toBe(failure!.kind);
    expect(shrunk.trace.map((t) => t.result).at(-1)).toBe('(layers disagree)');
  });
});
