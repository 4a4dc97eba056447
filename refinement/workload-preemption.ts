// The workload's long operations, each armed with a device interrupt raised inside it (the
// syscall's `raise`), so that preemption points stop them and the check makes them again:
// a revoke of many children (an untyped's objects, an endpoint's copies), a CNode holding a
// nested CNode or TCB deleted from outside (its parked Zombie) and then from inside (a revoke of
// the nested object's untyped), a Retype from a used untyped (its reset, chunk by chunk), also as
// the first phase of a ReplyRecv, and a CNode holding the root task's own SC deleted (the budget
// clause: no interrupt needed). The interrupt goes to a handler issued for it, with a notification
// (acknowledged after the operation) or without one (claimed once, never completed).
import {
  InvocationLabel,
  plicMaxIRQ,
  resetChunkBits,
  seL4_AllRights,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadSC,
  seL4_EndpointBits,
  seL4_MessageInfo_new,
  seL4_NotificationBits,
  seL4_ObjectType,
  seL4_RetypeFanOutLimit,
  seL4_SlotBits,
  seL4_TCBBits,
  type RaiseDuringEntry,
} from '../libsel4/index.ts';
import type { Knowledge } from './knowledge.ts';
import { Picker, address, call, type ResolvedCall } from './workload-picks.ts';
import { freeRootSlot, once, retype, rootSlot, slotCall, untypedWithRoom, type Action, type Scenario } from './workload-scenarios.ts';
import { ackCall, getCall, setNotificationCall } from './workload-irq.ts';
import { holds, rootRuns } from './workload-ipc.ts';

const R = seL4_CapInitThreadCNode;
const T = seL4_ObjectType;

/** `c` with its first syscall armed: IRQ `raise.irq` raised before its `raise.afterWorkUnits`-th preemption point. */
export function armed(c: ResolvedCall, raise: RaiseDuringEntry): ResolvedCall {
  return {
    text: `${c.text} [IRQ ${raise.irq} raised before work unit ${raise.afterWorkUnits}]`,
    run(api, devices) {
      devices.raiseDuringNext(raise);
      c.run(api, devices);
    },
  };
}

/** A point of the operation's `expectedUnits` (1 to it; it shrinks towards 1). */
const drawnUnits = (p: Picker, expectedUnits: number) => 1 + p.below(Math.max(1, expectedUnits));

/** The long operations a preemption scenario runs. */
const kinds = ['revoke', 'copies', 'reset', 'firstPhase', 'cnode', 'budget'] as const;
type Kind = (typeof kinds)[number];
/** Per mille of preemption scenarios: the budget one ends the run (the root task loses its SC), so it is rare. */
const kindWeights: Readonly<Record<Kind, number>> = { revoke: 200, copies: 100, reset: 230, firstPhase: 200, cnode: 230, budget: 40 };

/** An action of the root task only (a scenario's calls are the root task's). */
const byRoot = (f: (k: Knowledge, p: Picker) => ResolvedCall | null): Action => (k, p) => {
  if (!rootRuns(k)) return null;
  const c = f(k, p);
  return c && once(c);
};

/** The IRQ the scenario's operations raise, its handler's slot, and whether a notification receives it. */
interface Line {
  irq: number;
  handler: number;
  notification: number;
}

/** IRQ handler for a free line, now and then a notification set on it: the interrupt's destination. */
function lineActions(p: Picker, line: Line): Action[] {
  const get = byRoot((k, p) => {
    const at = freeRootSlot(k, p);
    const free = Array.from({ length: plicMaxIRQ }, (_, i) => 1 + i).filter((i) => k.view().irq(i).state === 'Inactive');
    if (at === undefined || free.length === 0) return null;
    [line.handler, line.irq] = [at, p.of(free)!];
    const control = k.ofType('irqcontrol', true)[0]?.slot.index;
    return control === undefined ? null : getCall(control, line.irq, at, 32);
  });
  if (p.chance(30)) return [get];
  const notification = madeInRoot(T.seL4_NotificationObject, 0, 2 ** seL4_NotificationBits, (slot) => (line.notification = slot));
  const install = byRoot((k) => (holds(k, line.handler, 'irqhandler') && holds(k, line.notification, 'notification') ? setNotificationCall(line.handler, line.notification) : null));
  return [get, notification, install];
}

/** The Ack after an operation, when the line has a notification (a driver's answer). */
function ackAction(line: Line): Action {
  return (k) => (line.notification < 0 ? 'next' : rootRuns(k) && holds(k, line.handler, 'irqhandler') ? once(ackCall(line.handler)) : 'next');
}

/** A long operation armed on the scenario's line, `units` its expected work units. */
function armedOn(line: Line, p: Picker, c: ResolvedCall, units: number): ResolvedCall {
  return armed(c, { irq: line.irq, afterWorkUnits: drawnUnits(p, units) });
}

/** One object of `type` (`sizeBits`, `bytes` big) retyped into a free root slot by the root task; `set` learns the slot. */
function madeInRoot(type: number, sizeBits: number, bytes: number, set: (slot: number) => void): Action {
  return byRoot((k, p) => {
    const at = freeRootSlot(k, p);
    const from = untypedWithRoom(k, p, bytes);
    if (at === undefined || from === undefined) return null;
    set(at);
    return retype(from, type, sizeBits, at, 1);
  });
}

/** The CNode at root slot `cnode()` filled with endpoints but its top slot. */
function filledCNode(radix: number, cnode: () => number): Action {
  return byRoot((k, p) => {
    const from = untypedWithRoom(k, p, (2 ** radix - 1) * 2 ** seL4_EndpointBits);
    return holds(k, cnode(), 'cnode') && from !== undefined ? retype(from, T.seL4_EndpointObject, 0, 0, 2 ** radix - 1, cnode()) : null;
  });
}

/** `count` endpoints retyped from the untyped at root slot `untyped` into free root slots. */
function endpointsFrom(untyped: () => number, count: number): Action {
  return byRoot((k, p) => {
    const at = freeRootSlot(k, p, count);
    if (at === undefined || !holds(k, untyped(), 'untyped')) return null;
    return retype(untyped(), T.seL4_EndpointObject, 0, at, count);
  });
}

/** Revoke of the untyped with `count` objects: one deletion (one point) per object. */
function revokeScenario(p: Picker, line: Line): Action[] {
  const count = 1 + p.below(seL4_RetypeFanOutLimit);
  let untyped = -1;
  const sizeBits = Math.max(12, Math.ceil(Math.log2(count * 2 ** seL4_EndpointBits)));
  const revoke = byRoot((k, p) => (holds(k, untyped, 'untyped') ? armedOn(line, p, slotCall('Revoke', untyped), count) : null));
  return [madeInRoot(T.seL4_UntypedObject, sizeBits, 2 ** sizeBits, (s) => (untyped = s)), endpointsFrom(() => untyped, count), revoke];
}

/** An endpoint copied a few times, each copy from the last, then the first revoked: a chain of descendants. */
function copiesScenario(p: Picker, line: Line): Action[] {
  const copies = 2 + p.below(10);
  let first = -1;
  let last = -1;
  const endpoint = madeInRoot(T.seL4_EndpointObject, 0, 2 ** seL4_EndpointBits, (slot) => ([first, last] = [slot, slot]));
  const copied = byRoot((k, p) => {
    const at = freeRootSlot(k, p);
    if (at === undefined || !holds(k, last, 'endpoint')) return null;
    const src = last;
    last = at;
    return call('seL4_CNode_Copy', [R, at, 32, R, src, 32, seL4_AllRights], (api) => void api.seL4_CNode_Copy(R, at, 32, R, src, 32, seL4_AllRights));
  });
  const revoke = byRoot((k, p) => (holds(k, first, 'endpoint') ? armedOn(line, p, slotCall('Revoke', first), copies) : null));
  return [endpoint, ...Array.from({ length: copies }, () => copied), revoke];
}

/**
 * A used untyped of 4 to 64 KiB (always 64 KiB for a first phase; an untyped retyped from it,
 * then revoked: its free index stays where that ended), retyped again: the reset zeroes it in 256-byte chunks, one point each.
 * As a first phase: the Retype sent by a ReplyRecv whose reply register names the untyped, with a
 * signalled notification to receive from (the receive does not block).
 */
function resetScenario(p: Picker, line: Line, firstPhase: boolean): Action[] {
  // A first phase always resets 64 KiB (256 chunks): the count passes the limit during it; others mostly all they have.
  const sizeBits = firstPhase ? 16 : 12 + p.below(5);
  const whole = firstPhase || p.chance(60);
  // Used up to 2^usedBits bytes (an untyped retyped from it): the reset zeroes that much.
  const usedBits = whole ? sizeBits : resetChunkBits + p.below(sizeBits - resetChunkBits + 1);
  const chunks = 2 ** (usedBits - resetChunkBits);
  let untyped = -1;
  let ntfn = -1;
  const used = byRoot((k, p) => {
    const at = freeRootSlot(k, p);
    return at === undefined || !holds(k, untyped, 'untyped') ? null : retype(untyped, T.seL4_UntypedObject, usedBits, at, 1);
  });
  const revoke = byRoot((k) => (holds(k, untyped, 'untyped') ? slotCall('Revoke', untyped) : null));
  const retypeAgain = byRoot((k, p) => {
    const at = freeRootSlot(k, p);
    if (at === undefined || !holds(k, untyped, 'untyped')) return null;
    if (!firstPhase) return armedOn(line, p, retype(untyped, T.seL4_EndpointObject, 0, at, 1), chunks);
    if (!holds(k, ntfn, 'notification')) return null;
    const [u, n] = [untyped, ntfn];
    const mrs = [T.seL4_EndpointObject, 0, 0, 0, at, 1];
    const info = seL4_MessageInfo_new(InvocationLabel.UntypedRetype, 0, 1, mrs.length);
    const replyRecv = call('seL4_ReplyRecv', [n, info, u], (api) => {
      mrs.forEach((w, i) => api.seL4_SetMR(i, w));
      api.seL4_SetCap(0, R);
      api.seL4_ReplyRecv(n, info, u);
    });
    return armedOn(line, p, replyRecv, chunks);
  });
  const notification = madeInRoot(T.seL4_NotificationObject, 0, 2 ** seL4_NotificationBits, (slot) => (ntfn = slot));
  const signal = byRoot((k) => (holds(k, ntfn, 'notification') ? call('seL4_Signal', [ntfn], (api) => void api.seL4_Signal(ntfn)) : null));
  // The notification first: retyped later, it could come from the untyped (a child: no reset).
  return [...(firstPhase ? [notification, signal] : []), madeInRoot(T.seL4_UntypedObject, sizeBits, 2 ** sizeBits, (s) => (untyped = s)), used, revoke, retypeAgain];
}

/**
 * A CNode of radix 2 to 6 filled with endpoints, a CNode or TCB retyped into its top slot,
 * its cap deleted (armed): finalising it empties every slot, one point per slot, and parks the
 * nested object as a cyclic Zombie; then now and then the nested object's untyped revoked
 * (armed), which empties the parked Zombie.
 */
function cnodeScenario(p: Picker, line: Line): Action[] {
  const radix = 2 + p.below(5);
  const slots = 2 ** radix;
  const [nestedType, nestedSize, nestedBits] = p.chance(50) ? [T.seL4_CapTableObject, 1 + p.below(3), 0] : [T.seL4_TCBObject, 0, seL4_TCBBits];
  let cnode = -1;
  let nestedFrom = -1;
  const made = madeInRoot(T.seL4_CapTableObject, radix, 2 ** (radix + seL4_SlotBits), (slot) => (cnode = slot));
  const filled = filledCNode(radix, () => cnode);
  const nested = byRoot((k, p) => {
    const bytes = 2 ** (nestedType === T.seL4_CapTableObject ? nestedSize + seL4_SlotBits : nestedBits);
    const from = untypedWithRoom(k, p, bytes);
    if (!holds(k, cnode, 'cnode') || from === undefined) return null;
    nestedFrom = from;
    return retype(from, nestedType, nestedSize, slots - 1, 1, cnode);
  });
  const deleted = byRoot((k, p) => (holds(k, cnode, 'cnode') ? armedOn(line, p, slotCall('Delete', cnode), slots) : null));
  const emptied = byRoot((k, p) => (holds(k, nestedFrom, 'untyped') ? armedOn(line, p, slotCall('Revoke', nestedFrom), 2 ** (nestedSize + 1)) : null));
  return [made, filled, nested, deleted, ...(p.chance(60) ? [emptied] : [])];
}

/**
 * The budget clause: a CNode of radix 7 filled with endpoints, the root task's own SC cap moved
 * into its top slot, its cap deleted: finalising deletes the SC first, and the next check of the
 * count finds the current SC gone (no interrupt needed). The root task can no longer run.
 */
function budgetScenario(p: Picker): Action[] {
  const radix = 7;
  let cnode = -1;
  const made = madeInRoot(T.seL4_CapTableObject, radix, 2 ** (radix + seL4_SlotBits), (slot) => (cnode = slot));
  const filled = filledCNode(radix, () => cnode);
  const moved = byRoot((k, p) => {
    const cap = k.capAt(rootSlot(k, cnode));
    if (cap?.type !== 'cnode' || !holds(k, seL4_CapInitThreadSC, 'schedcontext')) return null;
    const to = address(k, p, { cnode: cap.ptr, index: 2 ** radix - 1 });
    return call('seL4_CNode_Move', [to.service, to.index, to.depth, R, seL4_CapInitThreadSC, 32], (api) => void api.seL4_CNode_Move(to.service, to.index, to.depth, R, seL4_CapInitThreadSC, 32));
  });
  const deleted = byRoot((k) => (holds(k, cnode, 'cnode') ? slotCall('Delete', cnode) : null));
  return p.chance(50) ? [made, filled, moved, deleted] : [made, moved, deleted];
}

/** A preemption scenario: an IRQ line set up, a long operation armed on it, the Ack after. */
export function preemptionScenario(p: Picker): Scenario {
  let roll = p.below(1000);
  const kind = kinds.find((k) => (roll -= kindWeights[k]) < 0) ?? 'budget';
  if (kind === 'budget') return { name: 'preemption', actions: budgetScenario(p) };
  const line: Line = { irq: -1, handler: -1, notification: -1 };
  const operation =
    kind === 'revoke' ? revokeScenario(p, line)
    : kind === 'copies' ? copiesScenario(p, line)
    : kind === 'reset' || kind === 'firstPhase' ? resetScenario(p, line, kind === 'firstPhase')
    : cnodeScenario(p, line);
  return { name: 'preemption', actions: [...lineActions(p, line), ...operation, ackAction(line)] };
}
