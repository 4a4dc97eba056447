// The abstraction functions as laws: on every generated workload the decoded impl state IS the
// executable state, and the CDT read off the executable spec's MDB lists IS the abstract CDT.
// And they are not vacuous: a corrupted word of impl memory is found and named.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBoot } from '../../libsel4/index.ts';
import type * as A from '../../spec-abstract/index.ts';
import type * as E from '../../spec-executable/index.ts';
import type * as I from '../../impl/index.ts';
import { diffExecAbstract, diffExecStates, diffImplExec, execCdtParent, implToExec } from '../../refinement/abstraction/index.ts';
import { execSlots } from '../../refinement/abstraction/exec-index.ts';
import { checkInvariants } from '../../refinement/invariants/index.ts';
import { checkedListParents, listLayer, parentLinks } from '../../refinement/listing.ts';
import { recordWorkload, workloadArbitrary } from '../../refinement/check.ts';
import { bootLayer } from '../../refinement/layers.ts';
import type { RunningLayer } from '../../refinement/running.ts';

const plan = planBoot({});

function runAlone(trace: readonly Parameters<RunningLayer['step']>[0][]): { impl: RunningLayer; exec: RunningLayer; abs: RunningLayer } {
  const [impl, exec, abs] = (['impl', 'executable', 'abstract'] as const).map((n) => bootLayer(n, plan));
  for (const event of trace) for (const layer of [impl!, exec!, abs!]) layer.step(event)[0]!.adopt();
  return { impl: impl!, exec: exec!, abs: abs! };
}

describe('abstraction functions', () => {
  it('implToExec of the impl equals the executable state after any workload', () => {
    fc.assert(
      fc.property(workloadArbitrary(60), (commands) => {
        const { impl, exec } = runAlone(recordWorkload({ preloadObjects: 0 }, commands).events);
        const implState = impl.state() as I.ImplState;
        const execState = exec.state() as E.ExecState;
        expect(diffExecStates(implToExec(implState, impl.view().current()), execState)).toBeNull();
        expect(diffImplExec(implState, impl.view().current(), execState)).toBeNull();
      }),
      { numRuns: 25, seed: 7 },
    );
  });

  it('the CDT read off the MDB lists equals the abstract CDT after any workload', () => {
    fc.assert(
      fc.property(workloadArbitrary(60), (commands) => {
        const { exec, abs } = runAlone(recordWorkload({ preloadObjects: 0 }, commands).events);
        expect(diffExecAbstract(exec.state() as E.ExecState, abs.state() as A.AbstractState)).toBeNull();
      }),
      { numRuns: 25, seed: 8 },
    );
  });

  it("the closing takes a listing's CDT parents only once checkMDB passed it, and they are the list walk's", () => {
    for (const commands of fc.sample(workloadArbitrary(60), { seed: 9, numRuns: 10 })) {
      const { exec } = runAlone(recordWorkload({ preloadObjects: 0 }, commands).events);
      const state = exec.state() as E.ExecState;
      // Walked from the lists first (nothing listed yet), then listed and checked.
      const walked = execSlots(state).filter(([, slot]) => slot.cap.type !== 'null').map(([ref]) => [ref, execCdtParent(state, ref)] as const);
      expect(walked.some(([, parent]) => parent !== null)).toBe(true);
      listLayer(exec);
      expect(checkedListParents(state)).toBeUndefined();
      expect(checkInvariants(exec)).toBeNull();
      const listed = checkedListParents(state)!;
      for (const [ref, parent] of walked) expect(listed.get(ref) ?? null).toEqual(parent);
    }
  });

  it("the parent positions the lower layers' listings derive from their MDB lists are those of their slots' parents", () => {
    for (const commands of fc.sample(workloadArbitrary(60), { seed: 10, numRuns: 10 })) {
      const { impl, exec } = runAlone(recordWorkload({ preloadObjects: 0 }, commands).events);
      for (const layer of [impl, exec]) {
        const { filled } = listLayer(layer);
        expect(filled.some((f) => f.parent !== null)).toBe(true);
        // A copy of the list has no derived links: they are computed from its slots.
        const derived = parentLinks(filled);
        const computed = parentLinks([...filled]);
        expect(derived).not.toBe(computed);
        expect(derived).toEqual(computed);
      }
    }
  });

  it('names the place when a word of impl memory differs', () => {
    const { impl, exec } = runAlone([]);
    const implState = impl.state() as I.ImplState;
    // Flip a bit in the first word of the thread cap in root slot 1.
    const slot = plan.rootCNode + 16 * 1;
    const word = (slot - implState.ramBase) >>> 2;
    implState.mem.set(word, implState.mem.get(word) ^ (1 << 4));
    const m = diffImplExec(implState, impl.view().current(), exec.state() as E.ExecState);
    expect(m?.path).toMatch(/^cnode 0x80000000 slot 1: /);
  });
});
