// Laws of the impl checked on random inputs: caps round-trip through their bitfields, and on
// random sequences of Retype and CNode invocations the MDB stays a well-formed list, every
// word a step changes is reported as touched, objects never overlap, and a revoked slot
// has no children.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  VMRights,
  seL4_CNode_CapData_new,
  type Cap,
  type SlotRef,
  type VMRights as VMRightsT,
} from '../../libsel4/index.ts';
import {
  cdtParentOf,
  decodeCap,
  decodeSlot,
  encodeCap,
  ghostObjects,
  type GhostEntry,
  type ImplState,
} from '../../impl/index.ts';
import { CNODE, D, bootRoot, type Root } from './harness.ts';

const word = fc.nat({ max: 0xffffffff });
const aligned = (bits: number) => fc.nat({ max: 2 ** (32 - bits) - 1 }).map((n) => n * 2 ** bits);
const mapping = fc.option(fc.record({ asid: fc.nat({ max: 511 }), vaddr: aligned(12) }), { nil: null });
// A frame cap is mapped exactly when its ASID is not 0 (asidInvalid), as in seL4's bitfield.
const frameMapping = fc.option(fc.record({ asid: fc.integer({ min: 1, max: 511 }), vaddr: aligned(12) }), { nil: null });

const capArb: fc.Arbitrary<Cap> = fc.oneof(
  fc.constant<Cap>({ type: 'null' }),
  fc.integer({ min: 4, max: 29 }).chain((sizeBits) =>
    fc.record({
      type: fc.constant('untyped' as const), ptr: aligned(4), sizeBits: fc.constant(sizeBits),
      freeIndex: fc.nat({ max: 2 ** (sizeBits - 4) }).map((n) => n * 16), isDevice: fc.boolean(),
    })),
  fc.record({ type: fc.constantFrom('endpoint' as const, 'notification' as const), ptr: aligned(4), badge: fc.nat({ max: 2 ** 28 - 1 }), rights: fc.nat({ max: 15 }) }),
  fc.record({ type: fc.constant('reply' as const), ptr: word, rights: fc.nat({ max: 15 }) }),
  fc.record({ type: fc.constant('cnode' as const), ptr: aligned(4), radix: fc.nat({ max: 31 }), guardSize: fc.nat({ max: 31 }), guard: fc.nat({ max: 2 ** 18 - 1 }) }),
  fc.record({ type: fc.constant('thread' as const), ptr: aligned(4) }),
  fc.record({ type: fc.constant('schedcontext' as const), ptr: word, sizeBits: fc.nat({ max: 63 }) }),
  fc.record({ type: fc.constant('schedcontrol' as const), core: word }),
  fc.constantFrom<Cap>({ type: 'irqcontrol' }, { type: 'domain' }, { type: 'asidcontrol' }),
  fc.record({ type: fc.constant('irqhandler' as const), irq: word }),
  fc.record({
    type: fc.constant('frame' as const), ptr: aligned(12), sizeBits: fc.constantFrom(12, 22),
    vmRights: fc.constantFrom<VMRightsT>(VMRights.VMKernelOnly, VMRights.VMReadOnly, VMRights.VMReadWrite),
    isDevice: fc.boolean(), mapped: frameMapping,
  }),
  fc.record({ type: fc.constant('pagetable' as const), ptr: aligned(12), mapped: mapping }),
  fc.record({ type: fc.constant('asidpool' as const), ptr: aligned(4), asidBase: word }),
);

describe('impl cap bitfields', () => {
  it('law: decodeCap(encodeCap(cap)) = cap for every cap whose fields fit', () => {
    fc.assert(fc.property(capArb, (cap) => {
      const { w0, w1 } = encodeCap(cap, true);
      expect(decodeCap(w0, w1)).toEqual(cap);
    }), { numRuns: 2000 });
  });
});

// ---- random invocation sequences ----

type Command =
  | { op: 'retype'; ut: number; type: number; size: number; offset: number; n: number }
  | { op: 'copy' | 'mint' | 'move' | 'mutate'; dest: number; srcRoot: number; src: number; depth: number; rights: number; data: number }
  | { op: 'rotate'; dest: number; pivot: number; src: number; destData: number; pivotData: number }
  | { op: 'delete' | 'revoke' | 'cancel'; slot: number; depth: number };

/** Retype fills slots 20..29 (sources), copies go to 30..40; sometimes a boot cap, rarely the root CNode cap or any word. */
const objectSlot = fc.integer({ min: 20, max: 29 });
const freeSlot = fc.integer({ min: 30, max: 40 });
const slot = fc.oneof(
  { weight: 10, arbitrary: objectSlot },
  { weight: 10, arbitrary: freeSlot },
  { weight: 4, arbitrary: fc.integer({ min: 3, max: 19 }) },
  { weight: 1, arbitrary: fc.nat({ max: 2 }) },
  { weight: 1, arbitrary: word },
);
const untypedSlot = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 18, max: 26 }) }, { weight: 1, arbitrary: slot });
const depth = fc.oneof({ weight: 12, arbitrary: fc.constant(D) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 33 }) });
const data = fc.oneof(fc.nat({ max: 3 }), fc.constant(seL4_CNode_CapData_new(0, 24)), word);

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({
    op: fc.constant('retype' as const), ut: untypedSlot, type: fc.nat({ max: 10 }),
    size: fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 9 }) }, { weight: 1, arbitrary: word }), offset: objectSlot, n: fc.integer({ min: 1, max: 3 }),
  }) },
  { weight: 6, arbitrary: fc.record({
    op: fc.constantFrom('copy' as const, 'mint' as const, 'move' as const, 'mutate' as const),
    dest: fc.oneof({ weight: 3, arbitrary: freeSlot }, { weight: 1, arbitrary: slot }),
    srcRoot: fc.oneof({ weight: 8, arbitrary: fc.constant(CNODE) }, { weight: 1, arbitrary: slot }),
    src: fc.oneof({ weight: 3, arbitrary: objectSlot }, { weight: 1, arbitrary: slot }), depth, rights: fc.nat({ max: 15 }), data,
  }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rotate' as const), dest: slot, pivot: slot, src: slot, destData: data, pivotData: data }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('delete' as const, 'revoke' as const, 'cancel' as const), slot, depth }) },
);

function run(r: Root, c: Command): void {
  const a = r.api;
  switch (c.op) {
    case 'retype': a.seL4_Untyped_Retype(c.ut, c.type, c.size, CNODE, 0, 0, c.offset, c.n); return;
    case 'copy': a.seL4_CNode_Copy(CNODE, c.dest, D, c.srcRoot, c.src, c.depth, c.rights); return;
    case 'mint': a.seL4_CNode_Mint(CNODE, c.dest, D, c.srcRoot, c.src, c.depth, c.rights, c.data); return;
    case 'move': a.seL4_CNode_Move(CNODE, c.dest, D, c.srcRoot, c.src, c.depth); return;
    case 'mutate': a.seL4_CNode_Mutate(CNODE, c.dest, D, c.srcRoot, c.src, c.depth, c.data); return;
    case 'rotate': a.seL4_CNode_Rotate(CNODE, c.dest, D, c.destData, CNODE, c.pivot, D, c.pivotData, CNODE, c.src, D); return;
    case 'delete': a.seL4_CNode_Delete(CNODE, c.slot, c.depth); return;
    case 'revoke': a.seL4_CNode_Revoke(CNODE, c.slot, c.depth); return;
    case 'cancel': a.seL4_CNode_CancelBadgedSends(CNODE, c.slot, c.depth); return;
  }
}

const smallConfig = { memory: { base: 0x80000000, sizeBytes: 256 << 10 }, rootCNodeSizeBits: 8 };

function slotsOf(state: ImplState): SlotRef[] {
  const refs: SlotRef[] = [];
  for (const o of ghostObjects(state)) {
    const n = o.type === 'cnode' ? 2 ** (o.sizeBits - 4) : o.type === 'tcb' ? 5 : 0;
    for (let index = 0; index < n; index++) refs.push({ cnode: o.addr, index });
  }
  return refs;
}

const key = (s: SlotRef) => `${s.cnode}:${s.index}`;

/** Every slot's MDB node agrees with its neighbours, lists are acyclic, CDT parents come earlier. */
function checkMdb(state: ImplState): void {
  const all = slotsOf(state);
  for (const ref of all) {
    const s = decodeSlot(state, ref)!;
    if (s.cap.type === 'null') expect(s.mdb).toEqual({ prev: null, next: null, revocable: false, firstBadged: false });
    if (s.mdb.next) expect(decodeSlot(state, s.mdb.next)!.mdb.prev).toEqual(ref);
    if (s.mdb.prev) expect(decodeSlot(state, s.mdb.prev)!.mdb.next).toEqual(ref);
  }
  for (const ref of all) {
    const seen = new Set<string>();
    for (let at: SlotRef | null = ref; at; at = decodeSlot(state, at)!.mdb.prev) {
      expect(seen.has(key(at))).toBe(false);
      seen.add(key(at));
    }
    const parent = cdtParentOf(state, ref);
    if (parent) expect(seen.has(key(parent))).toBe(true);
  }
}

function containing(objects: readonly GhostEntry[], paddr: number): GhostEntry | undefined {
  return objects.find((o) => paddr >= o.addr && paddr < o.addr + 2 ** o.sizeBits);
}

/** Every changed word lies in a touched slot or a touched object. */
function checkTouched(r: Root, before: Uint32Array, objectsBefore: readonly GhostEntry[]): void {
  const after = r.state.mem.snapshot();
  const objectsAfter = ghostObjects(r.state);
  const slots = new Set(r.lastTouched.slots.map(key));
  const objects = new Set(r.lastTouched.objects);
  for (let i = 0; i < after.length; i++) {
    if (after[i] === before[i]) continue;
    const paddr = r.state.ramBase + 4 * i;
    const o = containing(objectsAfter, paddr) ?? containing(objectsBefore, paddr);
    expect(o, `write at ${paddr.toString(16)} outside every object`).toBeDefined();
    if (objects.has(o!.addr)) continue;
    const inSlot = o!.type === 'cnode' || (o!.type === 'tcb' && paddr - o!.addr < 80);
    expect(inSlot, `object ${o!.addr.toString(16)} written but not touched`).toBe(true);
    expect(slots.has(key({ cnode: o!.addr, index: Math.floor((paddr - o!.addr) / 16) })), `slot at ${paddr.toString(16)} written but not touched`).toBe(true);
  }
}

function checkNoOverlap(state: ImplState): void {
  const objects = ghostObjects(state);
  for (let i = 1; i < objects.length; i++) {
    expect(objects[i]!.addr).toBeGreaterThanOrEqual(objects[i - 1]!.addr + 2 ** objects[i - 1]!.sizeBits);
  }
}

describe('impl on random invocation sequences', () => {
  it('law: the MDB stays well formed, every write is touched, objects never overlap', () => {
    fc.assert(fc.property(fc.array(commandArb, { minLength: 1, maxLength: 30 }), (commands) => {
      const r = bootRoot(smallConfig);
      for (const c of commands) {
        if (r.obs().current === null) break;
        const before = r.state.mem.snapshot();
        const objectsBefore = ghostObjects(r.state);
        run(r, c);
        checkTouched(r, before, objectsBefore);
        checkNoOverlap(r.state);
      }
      checkMdb(r.state);
    }), { numRuns: 150 });
  });

  it('law: after a successful Revoke the slot has no CDT children', () => {
    fc.assert(fc.property(fc.array(commandArb, { minLength: 1, maxLength: 25 }), fc.nat({ max: 40 }), (commands, target) => {
      const r = bootRoot(smallConfig);
      for (const c of commands) run(r, c);
      if (r.obs().current === null) return;
      if (r.api.seL4_CNode_Revoke(CNODE, target, D) !== 0) return;
      const self = r.slot(target);
      for (const ref of slotsOf(r.state)) expect(cdtParentOf(r.state, ref)).not.toEqual(self);
    }), { numRuns: 100 });
  });
});
