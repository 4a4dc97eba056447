// Zombies, as seL4 makes them (cnode.c: finaliseSlot, reduceZombie, capSwapForDelete): deleting
// the last cap to a CNode empties its slots through an exposed Zombie, but a slot of it holding
// the last cap to another CNode or TCB is deleted unexposed, and that object is parked as a
// cyclic Zombie in its own slot 0: its other slots and its memory stay until an exposed delete
// (here a Revoke of its untyped) empties it. Each scenario runs on every layer and in lockstep;
// the recorded traces `zombie-cnode-in-deleted-cnode` and `zombie-cnode-in-last-slot` in
// ../shared/conformance/cnode-untyped.json are the real kernel doing the first one.
import { describe, expect, it } from 'vitest';
import {
  seL4_CapInitThreadCNode,
  seL4_CapNull,
  seL4_CapInitThreadVSpace,
  seL4_Error,
  seL4_ObjectType,
  tcbSlotCount,
  zombieTypeTCB,
  type LayerName,
} from '../../libsel4/index.ts';
import { bootSystem, type System } from '../../refinement/system.ts';

const modes: (LayerName | 'lockstep')[] = ['abstract', 'executable', 'impl', 'lockstep'];
const R = seL4_CapInitThreadCNode;
const E = seL4_Error;
const T = seL4_ObjectType;

interface Ctx {
  sys: System;
  /** The biggest untyped; the 64-byte one made from it, and the root slots of X and Y (radix-1 CNodes retyped from that). */
  big: number;
  small: number;
  x: number;
  y: number;
  ptrOf(slot: number): number;
}

/** A 64-byte untyped from the biggest one, and two radix-1 CNodes X and Y (32 bytes each) from it: it is full. */
function setup(mode: LayerName | 'lockstep'): Ctx {
  const sys = bootSystem({ layer: mode });
  const bi = sys.plan.bootInfo;
  const biggest = bi.untypedList.reduce((best, u, i) => (!u.isDevice && u.sizeBits > bi.untypedList[best]!.sizeBits ? i : best), 0);
  const free = bi.empty.start;
  const [small, x, y] = [free, free + 1, free + 2];
  const big = bi.untyped.start + biggest;
  const { seL4_Untyped_Retype } = sys.api;
  expect(seL4_Untyped_Retype(big, T.seL4_UntypedObject, 6, R, 0, 0, small, 1)).toBe(E.seL4_NoError);
  expect(seL4_Untyped_Retype(small, T.seL4_CapTableObject, 1, R, 0, 0, x, 2)).toBe(E.seL4_NoError);
  const ptrOf = (slot: number) => {
    const cap = sys.view().cap({ cnode: sys.plan.rootCNode, index: slot });
    if (cap === null || !('ptr' in cap)) throw new Error(`root slot ${slot} names no object`);
    return cap.ptr;
  };
  return { sys, big, small, x, y, ptrOf };
}

/** A TCB retyped from the biggest untyped into a root slot, resumed (Restart: it has no SC). */
function resumedThread(c: Ctx, slot: number): number {
  expect(c.sys.api.seL4_Untyped_Retype(c.big, T.seL4_TCBObject, 0, R, 0, 0, slot, 1)).toBe(E.seL4_NoError);
  expect(c.sys.api.seL4_TCB_Resume(slot)).toBe(E.seL4_NoError);
  return c.ptrOf(slot);
}

/** Moves Y's only cap into X's slot `index` and deletes X's only cap: Y's last cap goes from inside X. */
function deleteXHoldingY(c: Ctx, index: number): void {
  const { seL4_CNode_Move, seL4_CNode_Delete } = c.sys.api;
  expect(seL4_CNode_Move(c.x, index, 1, R, c.y, 32)).toBe(E.seL4_NoError);
  expect(seL4_CNode_Delete(R, c.x, 32)).toBe(E.seL4_NoError);
}

describe.each(modes)('Zombies on %s', (mode) => {
  it('a CNode whose last cap is deleted from inside another is parked as a Zombie: its untyped cannot be reset', () => {
    const c = setup(mode);
    const [xPtr, yPtr] = [c.ptrOf(c.x), c.ptrOf(c.y)];
    deleteXHoldingY(c, 0);
    const view = c.sys.view();
    expect(view.cap({ cnode: yPtr, index: 0 })).toEqual({ type: 'zombie', ptr: yPtr, zombieType: 1, count: 2 });
    expect(view.cdtParent({ cnode: yPtr, index: 0 })).toEqual({ cnode: c.sys.plan.rootCNode, index: c.small });
    expect(view.cap({ cnode: xPtr, index: 0 })).toEqual({ type: 'null' });
    expect(view.cap({ cnode: c.sys.plan.rootCNode, index: c.x })).toEqual({ type: 'null' });
    // seL4: "Insufficient memory (1 * 16 bytes needed, 0 bytes available)"
    expect(c.sys.api.seL4_Untyped_Retype(c.small, T.seL4_EndpointObject, 0, R, 0, 0, c.x, 1)).toBe(E.seL4_NotEnoughMemory);
    expect(c.sys.api.seL4_GetMR(0)).toBe(0);
  });

  it('a Revoke of the untyped deletes the parked Zombie exposed: the memory is free again', () => {
    const c = setup(mode);
    const yPtr = c.ptrOf(c.y);
    deleteXHoldingY(c, 1);
    expect(c.sys.view().cap({ cnode: yPtr, index: 0 })).toMatchObject({ type: 'zombie', count: 2 });
    expect(c.sys.api.seL4_CNode_Revoke(R, c.small, 32)).toBe(E.seL4_NoError);
    expect(c.sys.view().cap({ cnode: yPtr, index: 0 })).toEqual({ type: 'null' });
    expect(c.sys.api.seL4_Untyped_Retype(c.small, T.seL4_CapTableObject, 1, R, 0, 0, c.x, 2)).toBe(E.seL4_NoError);
    expect(c.sys.view().cap({ cnode: c.sys.plan.rootCNode, index: c.small })).toMatchObject({ type: 'untyped', freeIndex: 64 });
  });

  it('a TCB cap held in the parked CNode survives, and its thread is not finalised', () => {
    const c = setup(mode);
    const yPtr = c.ptrOf(c.y);
    const slot = c.y + 1;
    const tcb = resumedThread(c, slot);
    expect(c.sys.api.seL4_CNode_Move(c.y, 1, 1, R, slot, 32)).toBe(E.seL4_NoError);
    deleteXHoldingY(c, 0);
    const view = c.sys.view();
    expect(view.cap({ cnode: yPtr, index: 0 })).toMatchObject({ type: 'zombie', ptr: yPtr });
    expect(view.cap({ cnode: yPtr, index: 1 })).toEqual({ type: 'thread', ptr: tcb });
    expect(view.object(tcb)).toMatchObject({ type: 'tcb', state: 'Restart' });
    // The exposed delete of the Zombie (revoking its untyped) deletes the thread's last cap: now it is finalised.
    expect(c.sys.api.seL4_CNode_Revoke(R, c.small, 32)).toBe(E.seL4_NoError);
    expect(c.sys.view().cap({ cnode: tcb, index: 0 })).toMatchObject({ type: 'zombie', ptr: tcb, zombieType: zombieTypeTCB, count: tcbSlotCount });
    expect(c.sys.view().object(tcb)).toMatchObject({ type: 'tcb', state: 'Inactive' });
  });

  it('a TCB whose last cap is deleted from inside a CNode is finalised and parked in its slot 0: its other slots keep their caps', () => {
    const c = setup(mode);
    const slot = c.y + 1;
    const tcb = resumedThread(c, slot);
    expect(c.sys.api.seL4_TCB_SetSpace(slot, seL4_CapNull, R, 0, seL4_CapInitThreadVSpace, 0)).toBe(E.seL4_NoError);
    expect(c.sys.view().cap({ cnode: tcb, index: 0 })).toMatchObject({ type: 'cnode' });
    const vspace = c.sys.view().cap({ cnode: tcb, index: 1 });
    expect(vspace).not.toEqual({ type: 'null' });
    expect(c.sys.api.seL4_CNode_Move(c.x, 1, 1, R, slot, 32)).toBe(E.seL4_NoError);
    expect(c.sys.api.seL4_CNode_Delete(R, c.x, 32)).toBe(E.seL4_NoError);
    const view = c.sys.view();
    expect(view.cap({ cnode: tcb, index: 0 })).toEqual({ type: 'zombie', ptr: tcb, zombieType: zombieTypeTCB, count: tcbSlotCount });
    expect(view.cap({ cnode: tcb, index: 1 })).toEqual(vspace);
    expect(view.object(tcb)).toMatchObject({ type: 'tcb', state: 'Inactive' });
  });
});
