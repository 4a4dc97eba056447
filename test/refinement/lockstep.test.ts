// The lockstep runner treats a layer whose state cannot even be read as a crashed layer: a
// refinement failure with the place, never an error that stops the checker.
import { describe, expect, it } from 'vitest';
import { firstRamUntypedSlot, seL4_AllRights, seL4_CapInitThreadCNode as root, seL4_ObjectType, type KernelLayer } from '../../libsel4/index.ts';
import type { ImplState } from '../../impl/index.ts';
import { RefinementFailure } from '../../refinement/lockstep/index.ts';
import { bootSystem } from '../../refinement/system.ts';

/** An impl whose every written slot's MDB next link points at memory no CNode or TCB holds. */
function danglingLinks(impl: KernelLayer<ImplState>): KernelLayer<ImplState> {
  return {
    ...impl,
    step(state, event) {
      const outcomes = impl.step(state, event);
      for (const { state: s, touched } of outcomes) {
        for (const slot of touched.slots) s.mem.set((slot.cnode + 16 * slot.index + 12 - s.ramBase) >>> 2, (s.ramEnd - 0x1000) | 1);
      }
      return outcomes;
    },
  };
}

describe('lockstep', () => {
  it('reports a layer whose state cannot be read as a crash of that pair, with what it threw', () => {
    const sys = bootSystem({ layer: 'lockstep', pairs: ['impl-executable'], layerOptions: { implDebug: false, wrapImpl: danglingLinks } });
    const free = sys.plan.bootInfo.empty.start;
    let failure: unknown = null;
    try {
      sys.api.seL4_Untyped_Retype(firstRamUntypedSlot(sys.plan.bootInfo), seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, free, 1);
      sys.api.seL4_CNode_Mint(root, free + 1, 32, root, free, 32, seL4_AllRights, 5);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(RefinementFailure);
    const f = failure as RefinementFailure;
    expect([f.kind, f.step, f.pair]).toEqual(['crash', 0, 'impl-executable']);
    expect(f.mismatch.path).toBe('reading the state of impl-executable threw');
    expect(f.mismatch.lower).toMatch(/^Error: impl invariant violated: MDB link to [0-9a-f]+, which no CNode or TCB holds$/);
  });
});
