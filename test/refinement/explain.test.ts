// explain on an MDB flag failure: a planted impl fault that, like the catalogue mutant
// `mint-firstbadged-unset`, leaves firstBadged clear, here on every slot a Copy or Mint writes. The
// check (through expectRefinement) finds it, and explain must show the flag as differing,
// marked on the two layers, in text and HTML; registers are decoded by their role.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  firstRamUntypedSlot,
  InvocationLabel,
  parseBootConfig,
  Reg,
    seL4_CapInitThreadCNode as root,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  type KernelLayer,
  userWritesOf,
} from '../../libsel4/index.ts';
import type { ImplState } from '../../impl/index.ts';
import { readCounterexample } from '../../refinement/reports/counterexample.ts';
import { explanationHtml } from '../../refinement/reports/explain-html.ts';
import { describeChoice, explainCounterexample, formatExplanation, foundBy } from '../../refinement/reports/explain.ts';
import type { LayerOptions } from '../../refinement/layers.ts';
import { ipcBufferWordRole, messageInfoFields, registerFields, registerRole } from '../../refinement/reports/places.ts';
import { RefinementCheckFailed, bootLockstep, expectRefinement } from '../../refinement/testing.ts';

/** Word 3 of a 16-byte slot holds the MDB next link and the flags; bit 2 is firstBadged. */
const firstBadgedBit = 0x4;
const inserting = new Set<number>([InvocationLabel.CNodeCopy, InvocationLabel.CNodeMint]);

function firstBadgedNeverSet(impl: KernelLayer<ImplState>): KernelLayer<ImplState> {
  return {
    ...impl,
    step(state, event) {
      const outcomes = impl.step(state, event);
      const label = (new Map(userWritesOf(event).regs).get(Reg.a1) ?? 0) >>> 12;
      if (!inserting.has(label)) return outcomes;
      for (const { state: s, touched } of outcomes) {
        for (const slot of touched.slots) {
          const word = (slot.cnode + 16 * slot.index + 12 - s.ramBase) >>> 2;
          s.mem.set(word, s.mem.get(word) & ~firstBadgedBit);
        }
      }
      return outcomes;
    },
  };
}

const fault: LayerOptions = { implDebug: true, wrapImpl: firstBadgedNeverSet };

function foundCounterexample(): RefinementCheckFailed {
  try {
    expectRefinement({ runs: 20, steps: 40, seed: 7, saveTo: null, layerOptions: fault });
  } catch (error) {
    if (error instanceof RefinementCheckFailed) return error;
    throw error;
  }
  throw new Error('the planted fault was not found');
}

const found = foundCounterexample();
const cx = found.counterexample;

describe('explain on an MDB flag failure', () => {
  it('is found by expectRefinement, which fails with the readable report', () => {
    expect(cx.failure).toMatchObject({ kind: 'state', pair: 'impl-executable', where: { lower: 'false', upper: 'true' } });
    expect(cx.failure.where.path).toMatch(/^cnode 0x[0-9a-f]{8} slot \d+: MDB firstBadged$/);
    expect(found.message).toMatch(/^REFINEMENT FAILURE \(state\) at step \d+, impl does not refine executable$/m);
    expect(found.message).toMatch(/^replay: npx sel4-model check --workers 1 --seed -?\d+ --path [\d:]+ --runs \d+ --steps 40 --layers impl-executable,executable-abstract$/m);
    expect(found.file).toBeNull();
  });

  it('saves the counterexample and names it with the replay and explain commands', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sel4-model-expect-'));
    let failed: unknown = null;
    try {
      expectRefinement({ runs: 20, steps: 40, seed: 7, saveTo: dir, layerOptions: fault });
    } catch (error) {
      failed = error;
    }
    expect(failed).toBeInstanceOf(RefinementCheckFailed);
    const { file, message } = failed as RefinementCheckFailed;
    expect(readdirSync(dir)).toEqual([file!.slice(dir.length + 1)]);
    expect(readCounterexample(file!)).toEqual(cx);
    expect(message).toContain(`counterexample: ${file}\n  replay:  npx sel4-model replay ${file}\n  explain: npx sel4-model explain ${file}\n`);
  });

  it('says what a passing check did', () => {
    expect(expectRefinement({ runs: 3, steps: 10, seed: 1 })).toMatchObject({ seed: 1, runs: 3 });
  });

  it('shows the flag as differing on impl and executable, not as agreeing', () => {
    const e = explainCounterexample(cx, fault);
    const failing = e.steps.find((s) => s.failing)!;
    const slot = cx.failure.where.path.replace(/: MDB firstBadged$/, '');
    const place = failing.written!.find((p) => p.place === slot)!;
    expect(place.differs).toBe('MDB firstBadged (false vs true)');
    expect(place.marked.get('firstBadged')).toEqual(['impl', 'executable']);
    const byLayer = new Map(place.values.map(([layer, fields]) => [layer, new Map(fields.map((f) => [f.name, f.text]))]));
    expect(byLayer.get('impl')!.get('firstBadged')).toBe('firstBadged false');
    expect(byLayer.get('executable')!.get('firstBadged')).toBe('firstBadged true');
    expect(byLayer.get('abstract')!.get('revocable')).toMatch(/^original (true|false)$/);
    for (const layer of ['impl', 'executable', 'abstract'] as const) expect([...byLayer.get(layer)!.keys()]).toContain('CDT parent');
    for (const layer of ['impl', 'executable'] as const) expect([...byLayer.get(layer)!.keys()]).toEqual(expect.arrayContaining(['revocable', 'MDB prev', 'MDB next']));
  });

  it('marks the field under each differing line of the text', () => {
    const text = formatExplanation(explainCounterexample(cx, fault), 'cx.json');
    const slot = cx.failure.where.path.replace(/: MDB firstBadged$/, '');
    expect(text).not.toMatch(new RegExp(`${slot}: .*agree\\)`));
    const lines = text.split('\n');
    const head = lines.findIndex((l) => l.includes(`${slot}   <- differs: MDB firstBadged (false vs true)`));
    expect(head).toBeGreaterThan(0);
    for (const [offset, layer, value] of [[1, 'impl', 'false'], [3, 'executable', 'true']] as const) {
      const line = lines[head + offset]!;
      expect(line).toMatch(new RegExp(`^ +${layer}: `));
      const at = line.indexOf(`firstBadged ${value}`);
      expect(at).toBeGreaterThan(0);
      expect(lines[head + offset + 1]!.slice(at, at + `firstBadged ${value}`.length)).toBe('^'.repeat(`firstBadged ${value}`.length));
      expect(lines[head + offset + 1]!.replace(/\^+/, '').trim()).toBe('');
    }
    expect(text).toContain('  replay:    npx sel4-model replay cx.json');
    expect(text).toContain('  as HTML:   npx sel4-model explain --html cx.json');
  });

  it('highlights exactly the differing cells in HTML', () => {
    const html = explanationHtml(explainCounterexample(cx, fault), 'cx.json');
    expect(html).toContain('<td class="value differs">firstBadged false</td><td class="value differs">firstBadged true</td><td class="value absent">-</td>');
    const cells = html.match(/<td class="value differs">[^<]*<\/td>/g) ?? [];
    expect(cells.length).toBeGreaterThanOrEqual(2);
    expect(cells.filter((c) => !c.includes('>firstBadged '))).toEqual([]);
    expect(html).toContain('<dd>npx sel4-model replay cx.json</dd>');
  });

  it('agrees everywhere once the fault is gone', () => {
    const e = explainCounterexample(cx);
    expect(e.steps.flatMap((s) => [...s.differences, ...(s.written ?? [])]).filter((p) => p.marked.size > 0 || p.differs)).toEqual([]);
  });
});

describe('explain decodes registers and names choices', () => {
  it('decodes a reply message info: the label as an seL4 error, length, extraCaps, capsUnwrapped', () => {
    const fields = messageInfoFields(seL4_MessageInfo_new(2, 1, 2, 4));
    expect(fields.map((f) => f.text)).toEqual(['label 2 (seL4_InvalidCapability)', 'length 4', 'extraCaps 2', 'capsUnwrapped 1']);
    expect(registerFields(Reg.a1, seL4_MessageInfo_new(0, 0, 0, 0))[0]!.text).toBe('label 0 (seL4_NoError)');
    expect(registerFields(Reg.a0, 42)).toMatchObject([{ text: '0x0000002a' }]);
    expect([Reg.a0, Reg.a1, Reg.a2, Reg.a5, Reg.t0].map(registerRole)).toEqual(['badge', 'message info', 'message register 0', 'message register 3', '']);
  });

  it('names the IPC buffer words by their seL4_IPCBuffer field', () => {
    expect([0, 1, 120, 121, 122, 124, 125, 127].map(ipcBufferWordRole)).toEqual(['tag', 'msg[0]', 'msg[119]', 'userData', 'caps_or_badges[0]', 'caps_or_badges[2]', 'receiveCNode', 'receiveDepth']);
  });

  it('marks the message-info field a layer answered differently', () => {
    // An impl that answers every Copy and Mint with seL4_InvalidCapability but changes the state as it should.
    const wrongLabel: LayerOptions = {
      implDebug: true,
      wrapImpl: (impl) => ({
        ...impl,
        step(state, event) {
          const label = (new Map(userWritesOf(event).regs).get(Reg.a1) ?? 0) >>> 12;
          return impl.step(state, event).map((o) => {
            if (!inserting.has(label) || !o.observation.caller) return o;
            const regs = [...o.observation.caller.regs];
            regs[Reg.a1] = seL4_MessageInfo_new(2, 0, 0, 1);
            return { ...o, observation: { ...o.observation, caller: { ...o.observation.caller, regs } } };
          });
        },
      }),
    };
    const e = explainCounterexample(cx, wrongLabel);
    const failing = e.steps.find((s) => s.failing)!;
    expect(failing.answers).toContainEqual([['impl'], expect.stringMatching(/^seL4_InvalidCapability/)]);
    const a1 = failing.differences.find((d) => d.place === 'register a1 (message info)')!;
    expect([...a1.marked.keys()]).toEqual(['label', 'length']);
    const text = formatExplanation(e, 'x.json');
    expect(text).toMatch(/^ +differs: register a1 \(message info\)\n +impl: +label 2 \(seL4_InvalidCapability\), length 1, extraCaps 0, capsUnwrapped 0\n +\^+ +\^+\n +executable: +label 0 \(seL4_NoError\), length 0/m);
  });

  it('names the abstract-spec choice it followed where the spec allowed several outcomes', () => {
    // Revoking an untyped that sits in a CNode retyped from it, with an endpoint also retyped
    // from it: deleting the CNode's only cap first empties the revoked slot and ends the revoke
    // with the endpoint left; deleting the endpoint first does not. Both orders are allowed.
    const sys = bootLockstep({ pairs: ['impl-executable', 'executable-abstract'] });
    const { seL4_Untyped_Retype, seL4_CNode_Move, seL4_CNode_Revoke } = sys.api;
    const free = sys.plan.bootInfo.empty.start;
    const untyped = firstRamUntypedSlot(sys.plan.bootInfo);
    seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_CapTableObject, 2, root, 0, 0, free, 1);
    seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, free + 1, 1);
    seL4_CNode_Move(free, 0, 2, root, untyped, 32);
    seL4_CNode_Revoke(free, 0, 2);
    sys.finish();
    const plain = (writes: readonly (readonly [number, number])[]) => writes.map(([at, value]): [number, number] => [at, value]);
    const trace = sys.trace.map((entry) => ({ call: '', result: '', entry: { kind: 'syscall' as const, user: { regs: plain(userWritesOf(entry).regs), ipcBuffer: plain(userWritesOf(entry).ipcBuffer) } } }));
    // The default boot, as bootLockstep's (the check's counterexample may come from a large run).
    const e = explainCounterexample({ ...cx, settings: { ...cx.settings, config: parseBootConfig(undefined) }, failure: { ...cx.failure, step: 3 }, trace });
    const revoke = e.steps[3]!;
    expect(revoke.call).toBe('seL4_CNode_Revoke(service=' + free + ', index=0, depth=2)');
    expect(revoke.choices.map((c) => c.layer)).toEqual(['abstract']);
    const [followed] = revoke.choices;
    expect(followed!.choice).toMatch(/revoke order/);
    expect(followed!.agrees).toBe(true);
    expect(formatExplanation(e, 'x.json')).toContain(`       ${describeChoice(followed!)}`);
    expect(describeChoice({ layer: 'abstract', choice: 'revoke order #2', outcomes: 2, agrees: true })).toBe("abstract followed the spec's choice revoke order #2 (of 2 allowed outcomes)");
    expect(describeChoice({ layer: 'abstract', choice: 'revoke order, as witnessed', outcomes: 1, agrees: true })).toBe("abstract followed the spec's choice revoke order, as witnessed");
    expect(describeChoice({ layer: 'abstract', choice: null, outcomes: 3, agrees: false })).toBe('abstract followed an unnamed choice (of 3 allowed outcomes; none agrees with the layer below, the first is shown)');
  });

  it('says when the abstract spec rejects the choice the layer below made, and stops running it', () => {
    const sys = bootLockstep({ pairs: ['impl-abstract'] });
    const { seL4_Untyped_Retype, seL4_CNode_Copy, seL4_CNode_Revoke } = sys.api;
    const free = sys.plan.bootInfo.empty.start;
    seL4_Untyped_Retype(firstRamUntypedSlot(sys.plan.bootInfo), seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, free, 1);
    seL4_CNode_Copy(root, free + 1, 32, root, free, 32, 0xf);
    seL4_CNode_Revoke(root, free, 32);
    const plain = (writes: readonly (readonly [number, number])[]) => writes.map(([at, value]): [number, number] => [at, value]);
    const trace = sys.trace.map((entry) => ({ call: '', result: '', entry: { kind: 'syscall' as const, user: { regs: plain(userWritesOf(entry).regs), ipcBuffer: plain(userWritesOf(entry).ipcBuffer) } } }));
    // An impl that deletes as seL4 does but reports no choices: a revoke that, to the spec, stopped.
    const silent: LayerOptions = { implDebug: true, wrapImpl: (impl) => ({ ...impl, step: (state, event) => impl.step(state, event).map((o) => ({ ...o, witness: [] })) }) };
    const e = explainCounterexample({ ...cx, failure: { ...cx.failure, pair: 'impl-abstract', step: 2 }, trace }, silent);
    const text = formatExplanation(e, 'x.json');
    expect(text).toMatch(new RegExp(`abstract: rejected the choice made below: the revoke of 0x[0-9a-f]+\\[${free}\\] stopped \\(allowed: delete one of its remaining descendants 0x[0-9a-f]+\\[${free + 1}\\]\\)`));
  });

  it('gives no --path in the command that found a failure at boot', () => {
    expect(foundBy({ ...cx, path: '' })).not.toContain('--path');
    expect(foundBy(cx)).toContain(`--path ${cx.path}`);
  });
});
