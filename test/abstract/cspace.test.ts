// Capability addressing in the abstract spec: guards before depth, multi-level walks,
// thread lookups versus CNode-operation lookups.
import { beforeEach, describe, expect, it } from 'vitest';
import { seL4_CNode_CapData_new, seL4_Error as E, seL4_ObjectType as T, type Cap, type SlotRef } from '../../libsel4/index.ts';
import { lookupSlotForCNodeOp, lookupSlotForThread, resolveAddressBits } from '../../spec-abstract/cspace.ts';
import { bootHarness, lastReply, type Harness } from './harness.ts';

let h: Harness;
let big: number;
/** C1 (radix 4) at root slot 100; C2 (radix 4) at root slot 101. */
let c1: number;
let c2: number;

function cnodePtr(slot: number): number {
  return (h.view().cap(h.root(slot)) as Extract<Cap, { type: 'cnode' }>).ptr;
}

beforeEach(() => {
  h = bootHarness();
  big = h.untyped + h.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits === 21);
  expect(h.api.seL4_Untyped_Retype(big, T.seL4_CapTableObject, 4, 2, 0, 0, 100, 2)).toBe(0);
  c1 = cnodePtr(100);
  c2 = cnodePtr(101);
  // C1[3] = C2 (guard 0); C1[4] = C2 with a 2-bit guard of value 1; C1[6] = an endpoint.
  expect(h.api.seL4_CNode_Copy(100, 3, 4, 2, 101, 32, 0xf)).toBe(0);
  expect(h.api.seL4_CNode_Mint(100, 4, 4, 2, 101, 32, 0xf, seL4_CNode_CapData_new(1, 2))).toBe(0);
  expect(h.api.seL4_Untyped_Retype(big, T.seL4_EndpointObject, 0, 100, 0, 0, 6, 1)).toBe(0);
});

describe('resolveAddressBits', () => {
  const root = (): Cap => h.view().cap(h.root(100))!;
  const ok = (slot: SlotRef, bitsRemaining: number) => ({ ok: true, slot, bitsRemaining });

  it('walks through CNode caps until the bits run out', () => {
    expect(resolveAddressBits(h.state(), root(), 0x35, 8)).toEqual(ok({ cnode: c2, index: 5 }, 0));
    // Only the low nBits bits of the CPtr count.
    expect(resolveAddressBits(h.state(), root(), 0xfff35, 8)).toEqual(ok({ cnode: c2, index: 5 }, 0));
    // Stopping at a CNode cap with no bits left addresses the slot holding it.
    expect(resolveAddressBits(h.state(), root(), 0x3, 4)).toEqual(ok({ cnode: c1, index: 3 }, 0));
    // Guarded level: 4 bits of C1, 2 guard bits (01), 4 bits of C2.
    expect(resolveAddressBits(h.state(), root(), (4 << 6) | (1 << 4) | 9, 10)).toEqual(ok({ cnode: c2, index: 9 }, 0));
  });

  it('stops with bits remaining at a slot that holds no CNode cap', () => {
    expect(resolveAddressBits(h.state(), root(), 0x6f, 8)).toEqual(ok({ cnode: c1, index: 6 }, 4));
    expect(resolveAddressBits(h.state(), root(), 0x7f, 8)).toEqual(ok({ cnode: c1, index: 7 }, 4));
  });

  it('reports guard mismatches before depth mismatches', () => {
    expect(resolveAddressBits(h.state(), root(), (4 << 6) | (2 << 4) | 9, 10)).toEqual({
      ok: false, failure: { type: 'GuardMismatch', bitsLeft: 6, guardFound: 1, bitsFound: 2 },
    });
    // One bit left for a 2-bit guard: still a guard mismatch.
    expect(resolveAddressBits(h.state(), root(), (4 << 1) | 1, 5)).toEqual({
      ok: false, failure: { type: 'GuardMismatch', bitsLeft: 1, guardFound: 1, bitsFound: 2 },
    });
    expect(resolveAddressBits(h.state(), root(), 0x0d, 6)).toEqual({ ok: false, failure: { type: 'DepthMismatch', bitsLeft: 2, bitsFound: 4 } });
    expect(resolveAddressBits(h.state(), root(), 0x3, 3)).toEqual({ ok: false, failure: { type: 'DepthMismatch', bitsLeft: 3, bitsFound: 4 } });
    expect(resolveAddressBits(h.state(), { type: 'null' }, 0, 32)).toEqual({ ok: false, failure: { type: 'InvalidRoot' } });
  });

  it('resolves thread lookups with 32 bits from the CSpace root', () => {
    expect(lookupSlotForThread(h.state(), h.plan.rootTCB, 100)).toEqual(ok(h.root(100), 0));
    expect(lookupSlotForThread(h.state(), h.plan.rootTCB, 0xffffffff)).toEqual({
      ok: false, failure: { type: 'GuardMismatch', bitsLeft: 32, guardFound: 0, bitsFound: 20 },
    });
  });

  it('rejects remaining bits and bad depths in CNode-operation lookups', () => {
    const s = h.state();
    expect(lookupSlotForCNodeOp(s, true, root(), 0x6f, 8)).toEqual({
      error: { error: 'FailedLookup', source: true, failure: { type: 'DepthMismatch', bitsLeft: 4, bitsFound: 0 } },
    });
    expect(lookupSlotForCNodeOp(s, false, root(), 0, 0)).toEqual({ error: { error: 'RangeError', min: 1, max: 32 } });
    expect(lookupSlotForCNodeOp(s, false, root(), 0, 33)).toEqual({ error: { error: 'RangeError', min: 1, max: 32 } });
    expect(lookupSlotForCNodeOp(s, false, { type: 'thread', ptr: 0 }, 0, 0)).toEqual({
      error: { error: 'FailedLookup', source: false, failure: { type: 'InvalidRoot' } },
    });
    expect(lookupSlotForCNodeOp(s, false, root(), 0x35, 8)).toEqual({ slot: { cnode: c2, index: 5 } });
  });
});

describe('lookups through CNode invocations', () => {
  it('copies into nested CNodes and reports each lookup failure with its words', () => {
    expect(h.api.seL4_CNode_Copy(100, 0x35, 8, 2, 2, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.view().cap({ cnode: c2, index: 5 })?.type).toBe('cnode');
    expect(h.api.seL4_CNode_Copy(100, (4 << 6) | (1 << 4) | 9, 10, 2, 2, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.view().cap({ cnode: c2, index: 9 })?.type).toBe('cnode');

    expect(h.api.seL4_CNode_Copy(100, (4 << 6) | (3 << 4), 10, 2, 2, 32, 0xf)).toBe(E.seL4_FailedLookup);
    expect(lastReply(h)).toEqual({ error: E.seL4_FailedLookup, mrs: [0, 4, 6, 1, 2] });
    expect(h.api.seL4_CNode_Copy(100, 0x0d, 6, 2, 2, 32, 0xf)).toBe(E.seL4_FailedLookup);
    expect(lastReply(h).mrs).toEqual([0, 3, 2, 4]);
    expect(h.api.seL4_CNode_Copy(100, 0x6f, 8, 2, 2, 32, 0xf)).toBe(E.seL4_FailedLookup);
    expect(lastReply(h).mrs).toEqual([0, 3, 4, 0]);
    // The source lookup is flagged as the source.
    expect(h.api.seL4_CNode_Copy(100, 0x37, 8, 100, 0x6f, 8, 0xf)).toBe(E.seL4_FailedLookup);
    expect(lastReply(h).mrs).toEqual([1, 3, 4, 0]);
    expect(h.api.seL4_CNode_Copy(100, 0x37, 8, 1, 0, 8, 0xf)).toBe(E.seL4_FailedLookup);
    expect(lastReply(h).mrs).toEqual([1, 1]);
    expect(h.api.seL4_CNode_Copy(100, 0x37, 8, 100, 6, 4, 0xf)).toBe(E.seL4_NoError);
  });

  it('reports a guard mismatch of the root CNode when the depth is below its guard', () => {
    expect(h.api.seL4_CNode_Delete(2, 100, 12)).toBe(E.seL4_FailedLookup);
    expect(lastReply(h).mrs).toEqual([0, 4, 12, 0, 20]);
    expect(h.api.seL4_CNode_Delete(2, 100, 0)).toBe(E.seL4_RangeError);
    expect(lastReply(h).mrs).toEqual([1, 32]);
  });
});
