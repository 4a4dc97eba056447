// The lockstep comparison of user accesses (issue 11 V2): the word an access loaded or stored is
// part of the observation, the words a store wrote are compared after the step through every
// pair's views, and the closing comparison finds a word only the abstract spec holds. Each case
// makes one layer differ and checks the difference is found and named.
import { describe, expect, it } from 'vitest';
import { hex, planBoot, type KernelEvent, type Touched } from '../../libsel4/index.ts';
import type * as A from '../../spec-abstract/index.ts';
import type * as E from '../../spec-executable/index.ts';
import type * as I from '../../impl/index.ts';
import { diffExecAbstract } from '../../refinement/abstraction/index.ts';
import { compareObservations, compareTouched } from '../../refinement/lockstep/compare.ts';
import { compareStep, pairComparison } from '../../refinement/lockstep/pairs.ts';
import { bootLayer } from '../../refinement/layers.ts';
import type { RunningLayer } from '../../refinement/running.ts';

const plan = planBoot({});
/** The root task's IPC buffer: mapped read-write at boot. */
const vaddr = plan.bootInfo.ipcBuffer + 0x20;
const paddr = plan.ipcBufferFrame + 0x20;
const store: KernelEvent = { kind: 'access', user: { regs: [], ipcBuffer: [] }, access: 'store', vaddr, value: 0x5eed };

/** The abstract layer after the root task stored 0x5eed in its IPC buffer; what the step touched. */
function storedAbstract(): { layer: RunningLayer; touched: Touched } {
  const layer = bootLayer('abstract', plan);
  const [outcome] = layer.step(store);
  outcome!.adopt();
  return { layer, touched: outcome!.touched };
}

const side = (layer: RunningLayer) => ({ state: layer.state(), view: layer.view() });

describe('the observation of an access', () => {
  it('names a differing loaded or stored word, and an access that faulted on one side only', () => {
    const { layer } = storedAbstract();
    const [outcome] = bootLayer('abstract', plan).step(store);
    const observed = outcome!.observation;
    expect(observed.accessed).toBe(0x5eed);
    const names: string[] = [];
    expect(compareObservations(observed, observed, names)).toBeNull();
    expect(compareObservations(observed, { ...observed, accessed: 0x5eee }, names)).toMatchObject({ lower: hex(0x5eed), upper: hex(0x5eee) });
    const { accessed: _dropped, ...faulted } = observed;
    expect(compareObservations(faulted, observed, names)).toMatchObject({ path: expect.stringMatching(/access/), lower: 'none', upper: hex(0x5eed) });
    expect(layer.view().userWord(paddr)).toBe(0x5eed);
  });
});

describe('the words a store wrote', () => {
  it('are compared through the views when a layer names them, and only then', () => {
    const { layer, touched } = storedAbstract();
    const other = bootLayer('abstract', plan);
    expect(touched.userWords).toEqual([paddr]);
    expect(compareTouched(other.view(), layer.view(), [touched])).toEqual({ path: `user memory ${hex(paddr)}`, lower: hex(0), upper: hex(0x5eed) });
    expect(compareTouched(other.view(), layer.view(), [{ slots: [], objects: touched.objects }])).toBeNull();
  });

  it('are compared for the executable-abstract pair after the step', () => {
    const { layer, touched } = storedAbstract();
    const exec = bootLayer('executable', plan);
    expect(pairComparison('executable', 'abstract').touched(side(exec), side(layer), [touched])).toMatchObject({ path: `user memory ${hex(paddr)}` });
  });

  it('are compared after the step when only the upper layer names them (the union of both sides\' touched)', () => {
    const { layer, touched } = storedAbstract();
    const exec = bootLayer('executable', plan);
    const pair = { lower: 'executable', upper: 'abstract' } as const;
    const silent: Touched = { slots: [], objects: [] };
    expect(compareStep(pair, side(exec), side(layer), [silent, touched])).toMatchObject({ path: `user memory ${hex(paddr)}` });
    expect(compareStep(pair, side(exec), side(layer), [silent, silent])).toBeNull();
  });

  it('are compared for the impl-executable pair after the step', () => {
    const impl = bootLayer('impl', plan);
    const exec = bootLayer('executable', plan);
    const state = impl.state() as I.ImplState;
    const word = (paddr - state.ramBase) >>> 2;
    state.mem.set(word, 0x77);
    const touched: Touched = { slots: [], objects: [], userWords: [paddr] };
    expect(pairComparison('impl', 'executable').touched(side(impl), side(exec), [touched])).toMatchObject({ path: `user memory ${hex(paddr)}`, lower: hex(0x77), upper: hex(0) });
    expect(pairComparison('impl', 'executable').touched(side(impl), side(exec), [{ slots: [], objects: [] }])).toBeNull();
  });

  it('the closing comparison finds a word only the abstract spec holds', () => {
    const { layer } = storedAbstract();
    const exec = bootLayer('executable', plan);
    const m = diffExecAbstract(exec.state() as E.ExecState, layer.state() as A.AbstractState);
    expect(m).toEqual({ path: `user memory ${hex(paddr)}`, lower: hex(0), upper: hex(0x5eed) });
  });
});
