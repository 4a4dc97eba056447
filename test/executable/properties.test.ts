import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBoot, Reg, seL4_ObjectType as T, slotKey, type SlotRef, type Word } from '../../libsel4/index.ts';
import {
  allSlots,
  makeExecState,
  cdtParent,
  cdtParents,
  getSlot,
  isMDBParentOf,
  objectDifference,
  sameSlot,
  slotDifference,
  stateDifference,
  type ExecState,
  type KObject,
} from '../../spec-executable/index.ts';
import { ExecHarness, ROOT } from './harness.ts';

const plan = planBoot({});
const EMPTY = plan.bootInfo.empty.start;
const WINDOW = 20;
const untypedSlots = plan.untypeds.map((_, i) => plan.bootInfo.untyped.start + i);

/** A root CNode slot: mostly the working window, sometimes a boot cap, rarely any word. */
const slotArb: fc.Arbitrary<Word> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: EMPTY, max: EMPTY + WINDOW - 1 }) },
  { weight: 3, arbitrary: fc.constantFrom(2, 3, 4, 5, 6, 9, 10, 11, 14, 16, 17, ...untypedSlots) },
  { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) },
);
const depthArb = fc.oneof({ weight: 9, arbitrary: fc.constant(32) }, { weight: 1, arbitrary: fc.nat({ max: 40 }) });
const wordArb = fc.oneof(fc.nat({ max: 16 }), fc.nat({ max: 0xffffffff }));

type Op =
  | { op: 'retype'; ut: Word; type: Word; size: Word; offset: Word; count: Word }
  | { op: 'copy' | 'mint' | 'move' | 'mutate'; dest: Word; src: Word; srcDepth: Word; rights: Word; data: Word }
  | { op: 'rotate'; dest: Word; pivot: Word; src: Word; destData: Word; pivotData: Word }
  | { op: 'copyInto'; service: Word; index: Word; src: Word }
  | { op: 'delete' | 'revoke' | 'cancel'; slot: Word; depth: Word }
  | { op: 'raw'; regs: [number, Word][] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('retype' as const),
      ut: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...untypedSlots) }, { weight: 1, arbitrary: slotArb }),
      type: fc.oneof({ weight: 9, arbitrary: fc.nat({ max: 9 }) }, { weight: 1, arbitrary: wordArb }),
      size: fc.oneof({ weight: 9, arbitrary: fc.nat({ max: 14 }) }, { weight: 1, arbitrary: wordArb }),
      offset: fc.integer({ min: EMPTY, max: EMPTY + WINDOW - 1 }),
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constantFrom('copy' as const, 'mint' as const, 'move' as const, 'mutate' as const),
      dest: slotArb,
      src: slotArb,
      srcDepth: depthArb,
      rights: fc.oneof(fc.constant(0xf), wordArb),
      data: fc.oneof(fc.nat({ max: 3 }), wordArb),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('rotate' as const), dest: slotArb, pivot: slotArb, src: slotArb, destData: wordArb, pivotData: wordArb }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('copyInto' as const), service: slotArb, index: fc.nat({ max: 3 }), src: slotArb }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('delete' as const, 'revoke' as const, 'cancel' as const), slot: slotArb, depth: depthArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('raw' as const), regs: fc.array(fc.tuple(fc.nat({ max: 31 }), wordArb), { maxLength: 8 }) }) },
);

/** A booted system with a few caps of each kind in the window, so that random ops mostly find caps. */
function seeded(): ExecHarness {
  const h = new ExecHarness();
  const big = h.bigUntyped;
  h.api.seL4_Untyped_Retype(big, T.seL4_EndpointObject, 0, ROOT, 0, 0, EMPTY, 2);
  h.api.seL4_Untyped_Retype(big, T.seL4_NotificationObject, 0, ROOT, 0, 0, EMPTY + 2, 1);
  h.api.seL4_Untyped_Retype(big, T.seL4_CapTableObject, 2, ROOT, 0, 0, EMPTY + 3, 1);
  h.api.seL4_Untyped_Retype(big, T.seL4_UntypedObject, 12, ROOT, 0, 0, EMPTY + 4, 1);
  h.api.seL4_CNode_Mint(ROOT, EMPTY + 5, 32, ROOT, EMPTY, 32, 0xf, 3);
  h.api.seL4_CNode_Copy(ROOT, EMPTY + 6, 32, ROOT, EMPTY + 5, 32, 0xf);
  return h;
}

function apply(h: ExecHarness, op: Op): void {
  const api = h.api;
  switch (op.op) {
    case 'retype':
      api.seL4_Untyped_Retype(op.ut, op.type, op.size, ROOT, 0, 0, op.offset, op.count);
      return;
    case 'copy':
      api.seL4_CNode_Copy(ROOT, op.dest, 32, ROOT, op.src, op.srcDepth, op.rights);
      return;
    case 'mint':
      api.seL4_CNode_Mint(ROOT, op.dest, 32, ROOT, op.src, op.srcDepth, op.rights, op.data);
      return;
    case 'move':
      api.seL4_CNode_Move(ROOT, op.dest, 32, ROOT, op.src, op.srcDepth);
      return;
    case 'mutate':
      api.seL4_CNode_Mutate(ROOT, op.dest, 32, ROOT, op.src, op.srcDepth, op.data);
      return;
    case 'rotate':
      api.seL4_CNode_Rotate(ROOT, op.dest, 32, op.destData, ROOT, op.pivot, 32, op.pivotData, ROOT, op.src, 32);
      return;
    case 'copyInto':
      // Into a CNode held in the window (radix 2 when it is the seeded one).
      api.seL4_CNode_Copy(op.service, op.index, 2, ROOT, op.src, 32, 0xf);
      return;
    case 'delete':
      api.seL4_CNode_Delete(ROOT, op.slot, op.depth);
      return;
    case 'revoke':
      api.seL4_CNode_Revoke(ROOT, op.slot, op.depth);
      return;
    case 'cancel':
      api.seL4_CNode_CancelBadgedSends(ROOT, op.slot, op.depth);
      return;
    case 'raw':
      api.rawSyscall(op.regs.filter(([r]) => r !== Reg.a7).concat([[Reg.a7, 0xffffffff]]));
      return;
  }
}

/** Every non-null slot is linked both ways with its MDB neighbours, and every list ends. */
function mdbWellFormed(state: ExecState): string | null {
  let slots = 0;
  for (const [ref, slot] of allSlots(state)) {
    slots++;
    if (slot.cap.type === 'null') return `${slotKey(ref)}: stored null cap`;
    for (const [dir, back] of [['next', 'prev'], ['prev', 'next']] as const) {
      const other = slot.mdb[dir];
      if (other === null) continue;
      const neighbour = getSlot(state, other);
      if (neighbour === null || neighbour.cap.type === 'null') return `${slotKey(ref)}: ${dir} ${slotKey(other)} is empty`;
      if (!sameSlot(neighbour.mdb[back], ref)) return `${slotKey(ref)}: ${dir} ${slotKey(other)} does not point back`;
    }
  }
  let listed = 0;
  for (const [ref, slot] of allSlots(state)) {
    if (slot.mdb.prev !== null) continue;
    for (let at: SlotRef | null = ref; at !== null; at = getSlot(state, at)!.mdb.next) {
      if (++listed > slots) return 'MDB list has a cycle';
    }
  }
  return listed === slots ? null : 'MDB has a cycle without a head';
}

/** Every slot or object that differs between two versions is named in `touched`. */
function untouchedChange(before: ExecState, after: ExecState, touched: { slots: readonly SlotRef[]; objects: readonly number[] }): string | null {
  const slotKeys = new Set(touched.slots.map(slotKey));
  const objectAddrs = new Set(touched.objects);
  const refs = new Map<string, SlotRef>();
  for (const [ref] of allSlots(before)) refs.set(slotKey(ref), ref);
  for (const [ref] of allSlots(after)) refs.set(slotKey(ref), ref);
  for (const [key, ref] of refs) {
    const a = getSlot(before, ref);
    const b = getSlot(after, ref);
    if (a === null || b === null) continue; // the holder was created or detyped: an object change
    if (slotDifference(a, b) !== null && !slotKeys.has(key)) return `slot ${key} changed untouched: ${slotDifference(a, b)}`;
  }
  const strip = (o: KObject | undefined) => (o === undefined ? undefined : 'slots' in o ? { ...o, slots: undefined } : o);
  for (const addr of new Set([...before.objects.keys(), ...after.objects.keys()])) {
    const a = strip(before.objects.get(addr));
    const b = strip(after.objects.get(addr));
    const changed = a === undefined || b === undefined ? a !== b : objectDifference(a as KObject, b as KObject) !== null;
    if (changed && !objectAddrs.has(addr)) return `object ${addr.toString(16)} changed untouched`;
  }
  return null;
}

function cdtAgrees(state: ExecState): string | null {
  const parents = cdtParents(state);
  for (const [ref] of allSlots(state)) {
    const one = cdtParent(state, ref);
    const all = parents.get(slotKey(ref)) ?? null;
    if (!sameSlot(one, all)) return `${slotKey(ref)}: cdtParent ${one && slotKey(one)} vs cdtParents ${all && slotKey(all)}`;
    if (one !== null && !isMDBParentOf(getSlot(state, one)!, getSlot(state, ref)!)) return `${slotKey(ref)}: parent fails isMDBParentOf`;
  }
  return null;
}

/** A copy of an object record that shares nothing mutable with it. */
function copyObject(obj: KObject): KObject {
  const copy = { ...obj } as Record<string, unknown>;
  for (const [key, value] of Object.entries(copy)) if (Array.isArray(value)) copy[key] = [...(value as unknown[])];
  return copy as unknown as KObject;
}

const runs = { numRuns: 60, endOnFailure: true };

describe('executable spec laws over random CNode and Retype workloads', () => {
  it('never throws, keeps the MDB a set of well-formed lists, and names every change in touched', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40, size: 'max' }), (ops) => {
        const h = seeded();
        for (const op of ops) {
          const before = h.state;
          apply(h, op);
          expect(mdbWellFormed(h.state)).toBeNull();
          expect(untouchedChange(before, h.state, h.last!.touched)).toBeNull();
        }
      }),
      runs,
    );
  });

  it('steps never change the state they were given', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30, size: 'max' }), (ops) => {
        const h = seeded();
        const versions: [ExecState, ExecState][] = [];
        for (const op of ops) {
          const before = h.state;
          // A structural copy of the version, compared after the run.
          const copy = makeExecState({ objects: [...before.objects.values()].map(copyObject), memory: before.memory.entries(), current: before.current, sched: before.sched });
          versions.push([before, copy]);
          apply(h, op);
        }
        for (const [version, copy] of versions) expect(stateDifference(version, copy)).toBeNull();
      }),
      { ...runs, numRuns: 30 },
    );
  });

  it('reads one CDT off the MDB, slot by slot or all at once, and parents satisfy isMDBParentOf', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40, size: 'max' }), (ops) => {
        const h = seeded();
        for (const op of ops) apply(h, op);
        expect(cdtAgrees(h.state)).toBeNull();
      }),
      runs,
    );
  });

  it('revoke leaves a slot without CDT children', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30, size: 'max' }), slotArb, (ops, target) => {
        const h = seeded();
        for (const op of ops) apply(h, op);
        if (h.observation().current === null) return;
        if (h.api.seL4_CNode_Revoke(ROOT, target, 32) !== 0 || h.observation().current === null) return;
        const slot = getSlot(h.state, { cnode: plan.rootCNode, index: target });
        if (slot === null || slot.mdb.next === null) return;
        expect(isMDBParentOf(slot, getSlot(h.state, slot.mdb.next)!)).toBe(false);
      }),
      runs,
    );
  });
});

