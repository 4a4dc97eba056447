// Random capability spaces for the abstract spec's property tests: a root task with two small
// CNodes, a TCB and an untyped, then a random program of CNode and Retype invocations.
import fc from 'fast-check';
import { seL4_ObjectType as T } from '../../libsel4/index.ts';
import { allFilledSlots, allObjects, type AbstractState } from '../../spec-abstract/index.ts';
import { slotAddr } from '../../spec-abstract/state.ts';
import { bootHarness, type Harness } from './harness.ts';

export function bigUntyped(h: Harness): number {
  return h.untyped + h.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits === 21);
}

/** JSON text of a value that may hold bigints (times). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

/** Everything about a state the spec defines, as a string: equal strings, equal states. */
export function fingerprint(s: AbstractState): string {
  const slots = allFilledSlots(s).map(({ slot, cap, parent, original }) => [slotAddr(slot), cap, parent && slotAddr(parent), original]);
  const objects = allObjects(s).map((o) => ({ ...o, slots: undefined }));
  return jsonText({ slots, objects, current: s.current, sched: s.sched });
}

/** A slot the random programs use: a root CNode slot, or a slot of CNode X0 or X1. */
export type Loc = { readonly kind: 'root'; readonly index: number } | { readonly kind: 'x'; readonly n: number; readonly index: number };

const rootSlots = [100, 101, 102, 103, 104, 105, 106, 107, 120, 121, 122, 123, 124];

const loc: fc.Arbitrary<Loc> = fc.oneof(
  fc.record({ kind: fc.constant('root' as const), index: fc.constantFrom(...rootSlots) }),
  fc.record({ kind: fc.constant('x' as const), n: fc.integer({ min: 0, max: 1 }), index: fc.integer({ min: 0, max: 3 }) }),
);

/** (CNode cptr, index, depth) addressing a location; the X0, X1 caps start at root slots 120, 121. */
function address(l: Loc): [number, number, number] {
  return l.kind === 'root' ? [2, l.index, 32] : [120 + l.n, l.index, 2];
}

export type Op =
  | { readonly op: 'copy' | 'move'; readonly src: Loc; readonly dest: Loc }
  | { readonly op: 'mint'; readonly src: Loc; readonly dest: Loc; readonly badge: number }
  | { readonly op: 'delete' | 'revoke'; readonly at: Loc }
  | { readonly op: 'retype'; readonly from: number; readonly type: number; readonly dest: Loc };

export const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constantFrom('copy' as const, 'move' as const), src: loc, dest: loc }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('mint' as const), src: loc, dest: loc, badge: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('delete' as const, 'revoke' as const), at: loc }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('retype' as const),
      from: fc.constantFrom(123, 124),
      type: fc.constantFrom(T.seL4_EndpointObject, T.seL4_CapTableObject, T.seL4_TCBObject),
      dest: loc,
    }),
  },
);

/** Runs one random invocation (it may well fail: that is part of the program). */
export function runOp(h: Harness, o: Op): void {
  const api = h.api;
  switch (o.op) {
    case 'copy':
      api.seL4_CNode_Copy(...address(o.dest), ...address(o.src), 0xf);
      return;
    case 'mint':
      api.seL4_CNode_Mint(...address(o.dest), ...address(o.src), 0xf, o.badge);
      return;
    case 'move':
      api.seL4_CNode_Move(...address(o.dest), ...address(o.src));
      return;
    case 'delete':
      api.seL4_CNode_Delete(...address(o.at));
      return;
    case 'revoke':
      api.seL4_CNode_Revoke(...address(o.at));
      return;
    case 'retype': {
      // The destination CNode is the root cap itself (node_depth 0); the slot is node_offset.
      const [cnode, index] = address(o.dest);
      api.seL4_Untyped_Retype(o.from, o.type, 1, cnode, 0, 0, index, 1);
      return;
    }
  }
}

/**
 * Boots and makes an untyped U (root slot 123) with a copy (124), CNodes X0 and X1 of radix 2
 * (root 120, 121) and a TCB (122) from the copy. `after` sees every later step.
 */
export function buildSpace(ops: readonly Op[], after: (h: Harness, before: AbstractState) => void = () => undefined): Harness {
  const h = bootHarness();
  const api = h.api;
  api.seL4_Untyped_Retype(bigUntyped(h), T.seL4_UntypedObject, 14, 2, 0, 0, 123, 1);
  api.seL4_CNode_Copy(2, 124, 32, 2, 123, 32, 0xf);
  api.seL4_Untyped_Retype(124, T.seL4_CapTableObject, 2, 2, 0, 0, 120, 2);
  api.seL4_Untyped_Retype(124, T.seL4_TCBObject, 0, 2, 0, 0, 122, 1);
  for (const o of ops) {
    const before = h.state();
    runOp(h, o);
    after(h, before);
  }
  return h;
}
