// Counterexample files: written and read back, validated field by field, replayed from their
// concrete entries (with and without the planted fault), and explained.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstRamUntypedSlot, planBoot } from '../../libsel4/index.ts';
import {
  CounterexampleError,
  counterexampleJson,
  readCounterexample,
  replayCounterexample,
  sameFailure,
  writeCounterexample,
} from '../../refinement/reports/counterexample.ts';
import { explanationHtml } from '../../refinement/reports/explain-html.ts';
import { decodeEntry, explainCounterexample, formatExplanation } from '../../refinement/reports/explain.ts';
import { pairNames } from '../../refinement/lockstep/index.ts';
import { fieldsLine } from '../../refinement/reports/places.ts';
import { plantedBadgeFault, plantedCounterexample } from './planted-fault.ts';

const cx = plantedCounterexample();
const free = planBoot({}).bootInfo.empty.start;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sel4-model-cx-'));
}

describe('counterexample files', () => {
  it('records the failure, the settings and the concrete entries', () => {
    expect(cx.failure).toMatchObject({ kind: 'state', step: 1, pair: 'impl-executable', where: { path: `cnode 0x80000000 slot ${free + 1}: badge`, lower: '4', upper: '5' } });
    expect(cx.trace).toHaveLength(2);
    expect((cx.trace[1]!.entry.kind === 'syscall' ? cx.trace[1]!.entry.user.regs.length : 0)).toBeGreaterThan(0);
    expect(cx.settings.config.memory.sizeBytes).toBe(4 << 20);
  });

  it('is written atomically under a content name and read back unchanged', () => {
    const dir = join(tempDir(), 'nested');
    const file = writeCounterexample(dir, cx);
    expect(file).toMatch(/seed0-impl-executable-state-[0-9a-f]{8}\.json$/);
    expect(readdirSync(dir)).toEqual([file.slice(dir.length + 1)]);
    expect(readCounterexample(file)).toEqual(cx);
    expect(writeCounterexample(dir, cx)).toBe(file);
  });

  it.each([
    ['version', (j: Record<string, unknown>) => void (j.version = 2)],
    ['trace.1.entry.user.regs.0.1', (j: Record<string, unknown>) => void ((j.trace as { entry: { user: { regs: number[][] } } }[])[1]!.entry.user.regs[0]![1] = -1)],
    ['settings.pairs.0', (j: Record<string, unknown>) => void ((j.settings as { pairs: string[] }).pairs[0] = 'impl-nothing')],
    ['settings.config.memory.sizeBytes', (j: Record<string, unknown>) => void ((j.settings as { config: { memory: { sizeBytes: number } } }).config.memory.sizeBytes = -1)],
    ['failure.step', (j: Record<string, unknown>) => void ((j.failure as { step: number }).step = 7)],
    ['(top level)', (j: Record<string, unknown>) => void (j.extra = true)],
  ])('rejects a file with a bad %s, naming the file and the field', (field, tamper) => {
    const file = join(tempDir(), 'tampered.json');
    const json = JSON.parse(counterexampleJson(cx)) as Record<string, unknown>;
    tamper(json);
    writeFileSync(file, JSON.stringify(json));
    expect(() => readCounterexample(file)).toThrow(CounterexampleError);
    expect(() => readCounterexample(file)).toThrow(`${file}: invalid counterexample at ${field}`);
  });

  it('rejects a file that is not JSON or cannot be read', () => {
    const file = join(tempDir(), 'broken.json');
    writeFileSync(file, '{ "format": ');
    expect(() => readCounterexample(file)).toThrow(`${file}: not valid JSON`);
    expect(() => readCounterexample(join(tempDir(), 'missing.json'))).toThrow(/cannot read .*missing\.json: ENOENT/);
  });
});

describe('replay', () => {
  it('reproduces the recorded disagreement while the fault is planted', () => {
    const result = replayCounterexample(cx, { layerOptions: plantedBadgeFault });
    expect(result.pairs).toEqual(['impl-executable']);
    expect(result.failure).not.toBeNull();
    expect(sameFailure(cx, result.failure!)).toBe(true);
  });

  it('passes on every pair without the fault', () => {
    expect(replayCounterexample(cx, { pairs: pairNames }).failure).toBeNull();
  });

  it('finds the fault on impl-abstract too, through the views', () => {
    const failure = replayCounterexample(cx, { pairs: ['impl-abstract'], layerOptions: plantedBadgeFault }).failure;
    expect(failure?.pair).toBe('impl-abstract');
    expect(failure?.mismatch.path).toMatch(/badge$/);
    expect(sameFailure(cx, failure!)).toBe(false);
  });
});

describe('explain', () => {
  it('decodes entries into libsel4 calls with named arguments', () => {
    const initial = planBoot({});
    const calls = explainCounterexample(cx).steps.map((s) => s.call);
    expect(calls[0]).toBe(
      `seL4_Untyped_Retype(service=${firstRamUntypedSlot(initial.bootInfo)}, type=seL4_EndpointObject, size_bits=0, root=2, node_index=0, node_depth=0, node_offset=${free}, num_objects=1)`,
    );
    expect(calls[1]).toBe(`seL4_CNode_Mint(service=2, dest_index=${free + 1}, dest_depth=32, src_root=2, src_index=${free}, src_depth=32, rights=0xf, badge=5)`);
  });

  it('decodes an entry it does not know in a generic form', () => {
    const event = { kind: 'syscall' as const, user: { regs: [[16, 7], [17, (2 << 12) | 1], [18, 9], [23, 0xffffffff]] as [number, number][], ipcBuffer: [] } };
    expect(decodeEntry(null, event)).toBe('seL4_Call(cptr=7, label=TCBReadRegisters, length=1, extraCaps=0, mrs=[9], caps=[])');
    expect(decodeEntry(null, { kind: 'syscall', user: { regs: [[23, 0xfffffff5]], ipcBuffer: [] } })).toBe('seL4_Yield()');
    expect(decodeEntry(null, { kind: 'syscall', user: { regs: [[23, 42]], ipcBuffer: [] } })).toBe('unknown syscall 42 (a0=0)');
  });

  it('shows what each layer wrote at the failing step and where the pair differs', () => {
    const e = explainCounterexample(cx, plantedBadgeFault);
    const failing = e.steps.find((s) => s.failing)!;
    expect(failing.index).toBe(1);
    expect(failing.answers).toEqual([[['impl', 'executable', 'abstract'], 'seL4_NoError']]);
    const dest = failing.written!.find((p) => p.place === `cnode 0x80000000 slot ${free + 1}`)!;
    expect(dest.differs).toBe('badge (4 vs 5)');
    expect(dest.values.map(([layer]) => layer)).toEqual(['impl', 'executable', 'abstract']);
    expect(fieldsLine(dest.values[0]![1]).line).toMatch(/^endpoint 0x[0-9a-f]{8} badge 4 rights 1111; CDT parent 0x80000000\[\d+\]; revocable true; firstBadged true; MDB prev 0x80000000\[\d+\]; MDB next none$/);
    expect([...dest.marked]).toEqual([['badge', ['impl', 'executable']]]);
    expect(e.closing).toMatch(/impl vs executable differ at .*badge: 4 vs 5/);
    const text = formatExplanation(e, 'x.json');
    expect(text).toContain(`<- differs: badge (4 vs 5)`);
    expect(text).toMatch(/^> +1 +seL4_CNode_Mint/m);
  });

  it('shows no difference once the fault is gone', () => {
    const e = explainCounterexample(cx);
    expect(e.steps.flatMap((s) => [...s.differences, ...(s.written ?? [])]).filter((p) => p.differs)).toEqual([]);
    expect(e.closing).toMatch(/impl and executable agree on the whole state; invariants hold/);
  });

  it('renders a self-contained HTML page', () => {
    const html = explanationHtml(explainCounterexample(cx, plantedBadgeFault), 'a<b>.json');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src=|href=/);
    expect(html).toContain('a&#60;b&#62;.json');
    expect(html).toContain('<td class="value differs">badge 4</td><td class="value differs">badge 5</td><td class="value">badge 5</td>');
    expect(html).toContain('<tr class="failing">');
  });
});

describe('formats', () => {
  it('keeps lists of numbers on one line', () => {
    const text = counterexampleJson(cx);
    expect(text).toMatch(/"regs": \[\[\d+, \d+\](, \[\d+, \d+\])*\]/);
    expect(JSON.parse(text)).toEqual(cx);
    expect(readFileSync(writeCounterexample(tempDir(), cx), 'utf8')).toBe(text);
  });
});
