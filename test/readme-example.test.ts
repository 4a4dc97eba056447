import { describe, expect, it } from 'vitest';
import {
  bootLockstep,
  bootSystem,
  expectRefinement,
  firstRamUntypedSlot,
  seL4_AllRights,
  seL4_CapInitThreadCNode as root,
  seL4_Error,
  seL4_ObjectType,
} from 'sel4-model';

describe('a badged endpoint cap', () => {
  it('is minted from the original on every layer alike', () => {
    const sys = bootLockstep(); // the three layers side by side: a disagreement throws
    const { seL4_Untyped_Retype, seL4_CNode_Mint } = sys.api;
    const free = sys.plan.bootInfo.empty.start;
    const untyped = firstRamUntypedSlot(sys.plan.bootInfo);
    expect(seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, root, 0, 0, free, 1)).toBe(seL4_Error.seL4_NoError);
    expect(seL4_CNode_Mint(root, free + 1, 32, root, free, 32, seL4_AllRights, 42)).toBe(seL4_Error.seL4_NoError);
    const minted = { cnode: sys.plan.rootCNode, index: free + 1 };
    expect(sys.view().cap(minted)).toMatchObject({ type: 'endpoint', badge: 42 });
    expect(sys.view('abstract').cdtParent(minted)).toEqual({ cnode: sys.plan.rootCNode, index: free });
    sys.finish(); // the full comparison of the layers' states, and every layer's invariants
  });

  it('cannot be minted from an empty slot', () => {
    const sys = bootSystem({ layer: 'impl' }); // one layer alone: 'impl', 'executable' or 'abstract'
    const free = sys.plan.bootInfo.empty.start;
    expect(sys.api.seL4_CNode_Mint(root, free + 1, 32, root, free, 32, seL4_AllRights, 42)).toBe(seL4_Error.seL4_FailedLookup);
  });
});

it('still refines its specifications', () => {
  expectRefinement({ runs: 10, seed: 1 }); // a failure fails the test with the check's report
});
