// `sel4-model conformance` on hand-made data: booting from a recorded boot state, agreement,
// each kind of disagreement, unmodelled entries, and every kind of bad input.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BootConfigError,
  encodeBootInfo,
  InvocationLabel,
  layerNames,
  parseBootConfig,
  planRecordedBoot,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_Syscall,
  syscallWord,
} from '../../libsel4/index.ts';
import { bootLayer } from '../../refinement/layers.ts';
import { runInProcess } from '../cli/command.ts';
import { bootInfoOf, callEntry, copyEntry, syntheticBootInfo, syntheticFile, writeData } from './synthetic.ts';

const tcbCapTag = 12;
const copyTCB = { name: 'copy-tcb-cap', entries: [copyEntry(28, 1, { label: 0, mrs: [] })], capTypesAfter: [[28, tcbCapTag]] };

describe('boot from a recorded seL4_BootInfo', () => {
  const plan = planRecordedBoot(bootInfoOf(syntheticBootInfo));

  it.each(layerNames)('%s: every untyped at its recorded slot, address and size, unused; the empty region empty', (name) => {
    const view = bootLayer(name, plan).view();
    syntheticBootInfo.untypedList.forEach((u, i) => {
      expect(view.cap({ cnode: plan.rootCNode, index: 22 + i })).toEqual({
        type: 'untyped', ptr: u.paddr, sizeBits: u.sizeBits, freeIndex: 2 ** u.sizeBits, isDevice: u.isDevice === 1,
      });
    });
    for (let slot = 28; slot < 256; slot++) expect(view.cap({ cnode: plan.rootCNode, index: slot })?.type).toBe('null');
    const types = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => view.cap({ cnode: plan.rootCNode, index: from + i })?.type);
    expect(types(16, 22)).toEqual(['pagetable', 'frame', 'schedcontrol', 'frame', 'frame', 'frame']);
    encodeBootInfo(plan.bootInfo).forEach((word, i) => expect(view.userWord(plan.bootInfoFrame + 4 * i)).toBe(word));
  });

  it('places the root task objects in RAM no recorded untyped covers', () => {
    for (const o of plan.objects) {
      expect(o.addr).toBeGreaterThanOrEqual(0x80100000);
      expect(o.addr).toBeLessThan(0x80140000);
    }
    expect(plan.bootInfoVaddr).toBe(syntheticBootInfo.ipcBuffer + 4096);
  });

  it('refuses a boot state it cannot represent, naming the field', () => {
    const bad = (change: Partial<typeof syntheticBootInfo>) => () => planRecordedBoot(bootInfoOf({ ...syntheticBootInfo, ...change }));
    expect(bad({ numNodes: 2 })).toThrow(/bootInfo\.numNodes: 2 cannot be represented/);
    expect(bad({ untyped: { start: 22, end: 27 } })).toThrow(/bootInfo\.untyped: 5 slots but untypedList has 6 entries/);
    expect(bad({ empty: { start: 20, end: 256 } })).toThrow(/bootInfo\.empty\.start: slot 20 overlaps/);
    const overlapping = [...syntheticBootInfo.untypedList, { paddr: 0x80200000, sizeBits: 12, isDevice: 0 }];
    expect(bad({ untypedList: overlapping, untyped: { start: 22, end: 29 }, empty: { start: 29, end: 256 } })).toThrow(/bootInfo\.untypedList\.6\.paddr: overlaps untypedList\.5/);
    const noRoom = syntheticBootInfo.untypedList.map((u) => (u.paddr === 0x80140000 ? { paddr: 0x80100000, sizeBits: 19, isDevice: 0 } : u));
    expect(bad({ untypedList: noRoom })).toThrow(/bootInfo\.untypedList: no hole between the recorded untypeds holds the root task's objects/);
  });
});

describe('a boot configuration too small for the root task objects (issue 7)', () => {
  it('is refused when parsed, naming the field', () => {
    expect(() => parseBootConfig({ memory: { base: 0x80000000, sizeBytes: 64 * 1024 } })).toThrow(BootConfigError);
    expect(() => parseBootConfig({ memory: { base: 0x80000000, sizeBytes: 64 * 1024 } })).toThrow(/at memory\.sizeBytes: the root task objects need/);
    expect(() => parseBootConfig({ rootCNodeSizeBits: 25 })).toThrow(/at rootCNodeSizeBits: .*root CNode of 2\^25 slots alone 512 MiB/);
  });

  it('stops check and replay with exit 2 and the field, not a stack trace', async () => {
    const dir = writeData({ 'boot.json': { rootCNodeSizeBits: 25 } });
    const check = await runInProcess(['check', '--config', join(dir, 'boot.json'), '--runs', '1', '--quiet']);
    expect(check.status).toBe(2);
    expect(check.stderr).toMatch(/boot\.json: invalid boot configuration at rootCNodeSizeBits/);
    const cx = JSON.parse(readFileSync('corpus/planted-mint-badge-impl-executable.json', 'utf8')) as { settings: { config: unknown } };
    cx.settings.config = { ...(cx.settings.config as object), memory: { base: 0x80000000, sizeBytes: 64 * 1024 } };
    writeFileSync(join(dir, 'cx.json'), JSON.stringify(cx));
    const replay = await runInProcess(['replay', join(dir, 'cx.json')]);
    expect(replay.status).toBe(2);
    expect(replay.stderr).toMatch(/cx\.json: settings\.config: invalid boot configuration at memory\.sizeBytes/);
    expect(replay.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('sel4-model conformance', () => {
  it('passes when every reply and the final cap types agree, on every layer', async () => {
    const dir = writeData({ 'a.json': syntheticFile([copyTCB]) });
    const r = await runInProcess(['conformance', dir, '--json', join(dir, 'report.json')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^a\.json\s+impl\s+1\s+1\s+0\s+0\s+0\s+1\s+1\s+0\s+0\s+0$/m);
    expect(r.stdout).toMatch(/^PASS: 3 trace runs on impl, executable, abstract: 3 pass, 0 fail/m);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { passed: boolean; totals: { agreed: number } };
    expect(report).toMatchObject({ passed: true, totals: { agreed: 3 } });
  });

  it('reports the first differing entry as the libsel4 call, seL4 answer and each layer answer, with a replay command', async () => {
    const wrong = { ...copyTCB, name: 'wrong-reply', entries: [copyEntry(28, 1, { label: seL4_Error.seL4_FailedLookup, mrs: [1, 2, 32] })] };
    const dir = writeData({ 'a.json': syntheticFile([wrong]) });
    const r = await runInProcess(['conformance', join(dir, 'a.json'), '--layers', 'impl,abstract']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('FAIL a.json: wrong-reply\n  at entry 0 of 1\n');
    expect(r.stdout).toContain('call:     seL4_CNode_Copy(service=2, dest_index=28, dest_depth=32, src_root=2, src_index=1, src_depth=32, rights=0xf)');
    expect(r.stdout).toContain('seL4:     seL4_FailedLookup [1, 2, 32]');
    expect(r.stdout).toMatch(/impl:\s+seL4_NoError\s+\(a1: seL4 0x6003, impl 0x0; a2: seL4 1, impl 28; a3: seL4 2, impl 32; a4: seL4 32, impl 1\)/);
    expect(r.stdout).toMatch(/abstract: seL4_NoError\s+\(a1: seL4 0x6003, abstract 0x0; a2: seL4 1, abstract 28/);
    expect(r.stdout).toContain(`replay: npx sel4-model conformance ${join(dir, 'a.json')} --trace wrong-reply --layers impl,abstract`);
  });

  it('compares the cap type of every slot after the last entry', async () => {
    const dir = writeData({ 'a.json': syntheticFile([{ ...copyTCB, capTypesAfter: [[28, 4], [29, 2]] }]) });
    const r = await runInProcess(['conformance', dir, '--layers', 'executable']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('after the last of 1 entries: cap types in the root CNode');
    expect(r.stdout).toContain('slot 28: seL4 endpoint, executable thread; slot 29: seL4 untyped, executable null');
  });

  /** A SetSet on the root's domain cap: an invocation no layer models (one domain). */
  const domainSet = { a0: 11, a1: seL4_MessageInfo_new(InvocationLabel.DomainSetSet, 0, 0, 0), a2: 0, a3: 0, a4: 0, a5: 0 };

  it('counts an entry the model does not cover as unmodelled and the rest as not comparable; --strict fails on them', async () => {
    const regs = { ...domainSet, a6: 0, a7: syscallWord(seL4_Syscall.seL4_SysCall) };
    const entry = { in: { regs, ipcBuffer: [] }, out: { regs, ipcBuffer: [[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]] } };
    const dir = writeData({ 'a.json': syntheticFile([{ name: 'domain', entries: [entry, copyTCB.entries[0]], capTypesAfter: [[28, tcbCapTag]] }]) });
    const r = await runInProcess(['conformance', dir]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^a\.json\s+abstract\s+1\s+0\s+0\s+0\s+1\s+2\s+0\s+1\s+1\s+0$/m);
    expect(r.stdout).toContain('unmodelled in a.json (traces stopped there, first layer): domain invocation x1');
    expect(r.stdout).toMatch(/entries: 0 agree, 3 unmodelled, 3 not comparable/);
    expect((await runInProcess(['conformance', dir, '--strict'])).status).toBe(1);
  });

  it('leaves the reply words a recording marks volatile uncompared, and counts them', async () => {
    const [entry] = copyTCB.entries;
    const timed = { ...entry!, out: { regs: { ...entry!.out.regs, a2: 1234 }, ipcBuffer: [...entry!.out.ipcBuffer, [6, 99]] } };
    const marked = { ...copyTCB, name: 'marked', entries: [{ ...timed, volatile: ['a2'], volatileIpcBuffer: [6] }] };
    const unmarked = { ...copyTCB, name: 'unmarked', entries: [timed] };
    const dir = writeData({ 'a.json': syntheticFile([marked]), 'b.json': syntheticFile([unmarked]) });
    const pass = await runInProcess(['conformance', join(dir, 'a.json'), '--layers', 'impl', '--strict']);
    expect(pass.status).toBe(0);
    expect(pass.stdout).toMatch(/^a\.json\s+impl\s+1\s+1\s+0\s+0\s+0\s+1\s+1\s+0\s+0\s+2$/m);
    expect(pass.stdout).toMatch(/entries: 1 agree, 0 unmodelled, 0 not comparable; 2 volatile reply words not compared/);
    const fail = await runInProcess(['conformance', join(dir, 'b.json'), '--layers', 'impl']);
    expect(fail.status).toBe(1);
    expect(fail.stdout).toMatch(/a2: seL4 1234, impl 28; IPC buffer word 6: seL4 99, impl 0/);
  });

  it('counts the TCB, SchedControl and SchedContext invocations by input label, and those that agree', async () => {
    // A TCB label on the root CNode cap: IllegalOperation from decodeCNodeInvocation, counted as TCB.
    const tcbLabelOnCNode = callEntry(
      { a0: 2, a1: seL4_MessageInfo_new(InvocationLabel.TCBConfigure, 0, 0, 0), a2: 0, a3: 0, a4: 0, a5: 0 },
      [],
      { a0: 0, a1: seL4_MessageInfo_new(seL4_Error.seL4_IllegalOperation, 0, 0, 0), a2: 0, a3: 0, a4: 0, a5: 0 },
    );
    const regs = { ...domainSet, a6: 0, a7: syscallWord(seL4_Syscall.seL4_SysCall) };
    const unmodelled = { in: { regs, ipcBuffer: [] }, out: { regs, ipcBuffer: [] } };
    const trace = { name: 'tcb-labels', entries: [tcbLabelOnCNode, unmodelled, tcbLabelOnCNode], capTypesAfter: [] };
    const dir = writeData({ 'a.json': syntheticFile([trace]), 'b.json': syntheticFile([copyTCB]) });
    const r = await runInProcess(['conformance', dir, '--layers', 'impl,abstract']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('agreeing invocations in a.json (by input label): impl TCB 1/2, SchedControl 0/0, SchedContext 0/0; abstract TCB 1/2,');
    expect(r.stdout).not.toContain('agreeing invocations in b.json');
  });

  it('counts a known failure only at its entry: a trace of the list failing elsewhere is a failure', async () => {
    const wrong = { ...copyTCB, name: 'tcb-copy-registers', entries: [copyEntry(28, 1, { label: seL4_Error.seL4_FailedLookup, mrs: [1, 2, 32] })] };
    const dir = writeData({ 'tcb-sched.json': syntheticFile([wrong]) });
    const r = await runInProcess(['conformance', dir, '--layers', 'impl']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('FAIL tcb-sched.json: tcb-copy-registers\n  why: known to fail at entry 20 only: ');
    expect(r.stdout).toMatch(/^tcb-sched\.json\s+impl\s+1\s+0\s+1\s+0\s/m);
  });

  const malformed: [string, (file: ReturnType<typeof syntheticFile>) => unknown, RegExp][] = [
    ['not JSON', () => '{"format": "sel4-conformance", "version": 1, "traces": [', /a\.json: not valid JSON/],
    ['an unknown version', (f) => ({ ...f, version: 2 }), /a\.json: version: format version 2 is not supported \(this model reads version 1\)/],
    ['another format', (f) => ({ ...f, format: 'other' }), /a\.json: format: expected "sel4-conformance", found "other"/],
    ['a wrongly typed register', (f) => ({ ...f, traces: [{ ...copyTCB, entries: [{ ...copyTCB.entries[0]!, in: { ...copyTCB.entries[0]!.in, regs: { ...copyTCB.entries[0]!.in.regs, a1: 'x' } } }] }] }), /a\.json: invalid conformance data at traces\.0\.entries\.0\.in\.regs\.a1: /],
    ['a missing field', (f) => ({ ...f, traces: [{ name: 't', entries: [] }] }), /a\.json: invalid conformance data at traces\.0\.capTypesAfter: /],
    ['a word out of range', (f) => ({ ...f, bootInfo: { ...f.bootInfo, ipcBuffer: 2 ** 32 } }), /a\.json: invalid conformance data at bootInfo\.ipcBuffer: /],
    ['an unrepresentable boot state', (f) => ({ ...f, bootInfo: { ...f.bootInfo, initThreadDomain: 3 } }), /a\.json: the recorded boot state cannot be represented: bootInfo\.initThreadDomain: 3/],
    ['a slot outside the root CNode', (f) => ({ ...f, traces: [{ ...copyTCB, capTypesAfter: [[300, 2]] }] }), /a\.json: traces\.0\.capTypesAfter\.0\.0: slot 300 is outside capTypesRange 28\.\.256 of the root CNode \(256 slots\)/],
    ['an unknown cap type', (f) => ({ ...f, traces: [{ ...copyTCB, capTypesAfter: [[28, 5]] }] }), /a\.json: traces\.0\.capTypesAfter\.0\.1: 5 is not a riscv32 cap type/],
  ];

  it.each(malformed)('refuses %s with the file and field, exit 2, writing nothing', async (_, make, message) => {
    const dir = writeData({ 'a.json': make(syntheticFile([copyTCB])) });
    const r = await runInProcess(['conformance', dir, '--json', join(dir, 'report.json')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
    expect(existsSync(join(dir, 'report.json'))).toBe(false);
  });

  it('refuses bad usage with exit 2', async () => {
    const dir = writeData({ 'a.json': syntheticFile([copyTCB]) });
    const cases: [string[], RegExp][] = [
      [[dir, '--layers', 'impl,spec'], /--layers: unknown layer 'spec'/],
      [[dir, '--trace', 'nope'], /--trace: no trace named 'nope'/],
      [[dir, '--frobnicate'], /Unknown option '--frobnicate'/],
      [[join(dir, 'missing.json')], /cannot read .*missing\.json: ENOENT/],
      [[writeData({})], /no recorded traces \(\*\.json\) in this folder/],
    ];
    for (const [args, message] of cases) {
      const r = await runInProcess(['conformance', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
