import { describe, expect, it } from 'vitest';
import { seL4_Error, seL4_ObjectType as T, slotKey } from '../../libsel4/index.ts';
import {
  allObjects,
  allSlots,
  allUserWords,
  cdtParents,
  getObject,
  getSlot,
  makeExecState,
  nullSlot,
  slotTable,
  stateDifference,
  type KObject,
} from '../../spec-executable/index.ts';
import { ExecHarness, ROOT } from './harness.ts';

describe('state accessors and constructor for the refinement checker', () => {
  it('rebuilds an equal state from its parts', () => {
    const h = new ExecHarness();
    expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_TCBObject, 0, ROOT, 0, 0, h.empty, 2)).toBe(seL4_Error.seL4_NoError);
    const objects: KObject[] = [...allObjects(h.state)].map((obj) =>
      'slots' in obj ? { ...obj, slots: slotTable([...obj.slots.entries(), [99, nullSlot]]) } : obj,
    );
    const rebuilt = makeExecState({ objects, memory: [...allUserWords(h.state), [0x80200000, 0]], current: h.state.current, sched: h.state.sched });
    expect(stateDifference(h.state, rebuilt)).toBeNull();
    expect(rebuilt.memory.has(0x80200000)).toBe(false);
    expect([...allSlots(rebuilt)].length).toBe([...allSlots(h.state)].length);
  });

  it('names the first difference by path, in full or over touched parts only', () => {
    const h = new ExecHarness();
    const before = h.state;
    expect(h.api.seL4_CNode_Mint(ROOT, h.empty, 32, ROOT, 1, 32, 0, 0)).toBe(seL4_Error.seL4_NoError);
    const diff = stateDifference(before, h.state);
    expect(diff).toMatch(/^object 0x80000000 \(cnode\) slot 1: mdb\.next: null vs 0x80000000\[30\]$/);
    expect(stateDifference(before, h.state, { slots: [h.root(h.empty)], objects: [] })).toBe(
      'slot 0x80000000[30]: cap type: null vs thread',
    );
    expect(stateDifference(before, h.state, { slots: [], objects: [] })).toBeNull();
    const tcb = getObject(h.state, h.plan.rootTCB)!;
    expect(stateDifference(before, h.state, { slots: [], objects: [tcb.addr] })).toBe('object 0x80015000 (tcb) regs[16]: 0x00101000 vs 0x00000000');
  });

  it('reads slots of CNodes and TCBs only, within their size', () => {
    const h = new ExecHarness();
    expect(getSlot(h.state, { cnode: h.plan.rootCNode, index: 4095 })).toBe(nullSlot);
    expect(getSlot(h.state, { cnode: h.plan.rootCNode, index: 4096 })).toBeNull();
    expect(getSlot(h.state, { cnode: h.plan.rootTCB, index: 5 })).toBeNull();
    expect(getSlot(h.state, { cnode: h.plan.rootSC, index: 0 })).toBeNull();
    expect(getSlot(h.state, { cnode: 0x12345678, index: 0 })).toBeNull();
  });

  it('lists the CDT parent of every slot', () => {
    const h = new ExecHarness();
    const parents = cdtParents(h.state);
    expect(parents.size).toBe([...allSlots(h.state)].length);
    expect(parents.get(slotKey(h.tcbSlot(0)))).toEqual(h.root(ROOT));
    expect(parents.get(slotKey(h.root(ROOT)))).toBeNull();
  });
});
