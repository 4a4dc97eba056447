// The workload's interrupts: IRQ handler caps issued by IRQControl_Get and GetTrigger (valid,
// already issued, the timer's, out-of-range IRQs; free, occupied and unresolvable destinations),
// notifications installed with SetNotification (with and without Write, badged, caps of other
// types, empty slots), Ack and Clear, handler caps copied, moved and deleted, IRQ control revoked,
// and device interrupts raised on issued, masked, claimed and out-of-range lines; and a composite
// step, a driver as a user sets one up: a handler and a notification, now and then a thread
// waiting on it (or bound to it, waiting on an endpoint), interrupts raised and acknowledged.
import {
  InvocationLabel,
  kernelTimerIRQ,
  plicMaxIRQ,
  seL4_AllRights,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_CapIRQControl,
  seL4_CapInitThreadCNode,
  seL4_EndpointBits,
  seL4_NotificationBits,
  seL4_ObjectType,
} from '../libsel4/index.ts';
import type { Knowledge } from './knowledge.ts';
import { Picker, call, hexWord, pickEmpty, send, sendSyscalls, shaped, type ResolvedCall } from './workload-picks.ts';
import { copy, freeRootSlot, mint, once, retype, threadsMade, untypedWithRoom, type Action, type Scenario, type ThreadsMade } from './workload-scenarios.ts';
import { deleteCall, holds, madeThread, retypedInto, rootRuns } from './workload-ipc.ts';

const R = seL4_CapInitThreadCNode;
const T = seL4_ObjectType;

/** The few PLIC sources the workload mostly uses, so that lines meet again: issued twice, raised while claimed. */
const usualIRQs = 6;
/** IRQ words outside 1..plicMaxIRQ, and the timer's (issued from boot). */
const badIRQs = [0, kernelTimerIRQ, kernelTimerIRQ + 1, 0xffffffff];

const handlers = (k: Knowledge) => k.ofType('irqhandler', true);
const notifications = (k: Knowledge) => k.ofType('notification', true);

/** The IRQ control cap where the root task holds one (boot slot 4 unless moved), else slot 4 as it is. */
function controlCptr(k: Knowledge, p: Picker): number {
  return p.of(k.ofType('irqcontrol', true))?.slot.index ?? seL4_CapIRQControl;
}

/**
 * An IRQ for Get: a usual line mostly, one raised while masked (the Get delivers it), an issued
 * one or the timer's (RevokeFirst), any source, or a word out of range.
 */
function drawnIRQ(k: Knowledge, p: Picker): number {
  const roll = p.below(100);
  const view = k.view();
  const masked = p.of(Array.from({ length: usualIRQs }, (_, i) => 1 + i).filter((irq) => view.irq(irq).pending));
  if (roll < 15 && masked !== undefined) return masked;
  const issued = p.of(handlers(k))?.cap.irq;
  if (roll < 25 && issued !== undefined) return issued;
  if (roll < 32) return kernelTimerIRQ;
  if (roll < 75) return 1 + p.below(usualIRQs);
  if (roll < 88) return 1 + p.below(plicMaxIRQ);
  return p.chance(80) ? p.of(badIRQs)! : p.word(0);
}

/** Any root cap but `type` (a wrong-type argument), or an empty slot (a null cap). */
function otherCap(k: Knowledge, p: Picker, type: string): number {
  return p.chance(80) ? (p.of(k.inRoot().filter((o) => o.cap.type !== type && !k.isVital(o)))?.slot.index ?? 0) : pickEmpty(k, p, true).index;
}

/** The IRQ handler cap to invoke: mostly one the root task holds, now and then another cap. */
function handlerCptr(k: Knowledge, p: Picker): number | undefined {
  const held = p.of(handlers(k));
  if (held && p.chance(93)) return held.slot.index;
  return held || p.chance(30) ? otherCap(k, p, 'irqhandler') : undefined;
}

export function getCall(service: number, irq: number, index: number, depth: number): ResolvedCall {
  return call('seL4_IRQControl_Get', [service, irq, R, index, depth], (api) => void api.seL4_IRQControl_Get(service, irq, R, index, depth));
}

function getTriggerCall(service: number, irq: number, trigger: number, index: number, depth: number): ResolvedCall {
  return call('seL4_IRQControl_GetTrigger', [service, irq, trigger, R, index, depth], (api) => void api.seL4_IRQControl_GetTrigger(service, irq, trigger, R, index, depth));
}

export function setNotificationCall(handler: number, notification: number): ResolvedCall {
  return call('seL4_IRQHandler_SetNotification', [handler, notification], (api) => void api.seL4_IRQHandler_SetNotification(handler, notification));
}

export function ackCall(handler: number): ResolvedCall {
  return call('seL4_IRQHandler_Ack', [handler], (api) => void api.seL4_IRQHandler_Ack(handler));
}

function clearCall(handler: number): ResolvedCall {
  return call('seL4_IRQHandler_Clear', [handler], (api) => void api.seL4_IRQHandler_Clear(handler));
}

/** A device raises `irq`: an interrupt event, made by the machine, not by the running thread. */
export function raiseCall(irq: number): ResolvedCall {
  return { text: `interrupt(${hexWord(irq)})`, run: (_api, devices) => void devices.interrupt(irq) };
}

/**
 * Get or GetTrigger (any trigger word) of a drawn IRQ into a free root slot mostly; else into an
 * occupied slot (DeleteFirst), at a bad depth (RangeError) or past the root's guard
 * (FailedLookup); in the shapes of `shaped` now and then (TruncatedMessage).
 */
function resolveGet(k: Knowledge, p: Picker): ResolvedCall {
  const service = controlCptr(k, p);
  const irq = drawnIRQ(k, p);
  const roll = p.below(100);
  const occupied = roll < 80 ? undefined : p.of(k.inRoot());
  let index = occupied?.slot.index ?? freeRootSlot(k, p) ?? pickEmpty(k, p, true).index;
  let depth = 32;
  if (roll >= 88) [index, depth] = p.chance(50) ? [index, p.of([0, 1, 33, 255])!] : [(index + 2 ** k.rootRadix()) >>> 0, 32];
  if (p.chance(30)) {
    const trigger = p.of([0, 1, p.word(1)])!;
    return shaped(p, getTriggerCall(service, irq, trigger, index, depth), { label: InvocationLabel.RISCVIRQIssueIRQHandlerTrigger, service, mrs: [irq, trigger, index, depth & 0xff], caps: [R] }, 20);
  }
  return shaped(p, getCall(service, irq, index, depth), { label: InvocationLabel.IRQIssueIRQHandler, service, mrs: [irq, index, depth & 0xff], caps: [R] }, 20);
}

/** A notification cap without Write, minted from one with it, when the root task holds none yet. */
function readOnlyNotification(k: Knowledge, p: Picker): ResolvedCall | number | null {
  const without = p.of(notifications(k).filter((n) => (n.cap.rights & seL4_CanWrite) === 0));
  if (without) return without.slot.index;
  const from = p.of(notifications(k));
  const at = freeRootSlot(k, p);
  if (!from || at === undefined) return null;
  return mint(at, from.slot.index, seL4_CanRead, p.below(4));
}

/**
 * SetNotification of a handler: a notification cap with Write (badged or not) mostly; one
 * without Write, a cap of another type or an empty slot (InvalidCapability); the extra cap left
 * out now and then (TruncatedMessage). With no handler yet, one is issued first; with no
 * notification, one is retyped first.
 */
function resolveSetNotification(k: Knowledge, p: Picker): ResolvedCall | null {
  const handler = handlerCptr(k, p);
  if (handler === undefined) return resolveGet(k, p);
  const writable = notifications(k).filter((n) => (n.cap.rights & seL4_CanWrite) !== 0);
  if (writable.length === 0 && p.chance(70)) return made(k, p, T.seL4_NotificationObject, seL4_NotificationBits);
  const roll = p.below(100);
  let notification: number;
  if (roll < 55 && writable.length > 0) notification = p.of(writable)!.slot.index;
  else if (roll < 75) {
    const without = readOnlyNotification(k, p);
    if (without === null) return null;
    if (typeof without !== 'number') return without;
    notification = without;
  } else notification = otherCap(k, p, 'notification');
  const m = { label: InvocationLabel.IRQSetIRQHandler, service: handler, mrs: [], caps: [notification] };
  // Now and then the extra cap left out (TruncatedMessage).
  if (p.chance(8)) return send(sendSyscalls[0], m, 0, []);
  return shaped(p, setNotificationCall(handler, notification), m);
}

/** A new object of `type` from an untyped with room into a free root slot. */
function made(k: Knowledge, p: Picker, type: number, objectBits: number): ResolvedCall | null {
  const untyped = untypedWithRoom(k, p, 2 ** objectBits);
  const at = freeRootSlot(k, p);
  return untyped === undefined || at === undefined ? null : retype(untyped, type, 0, at, 1);
}

/** The line a device raises: an issued one mostly (claimed or not), any source, or a word that names none. */
function raisedIRQ(k: Knowledge, p: Picker): number {
  const roll = p.below(100);
  const issued = handlers(k).map((h) => h.cap.irq);
  if (roll < 55 && issued.length > 0) return p.of(issued)!;
  if (roll < 75) return 1 + p.below(usualIRQs);
  if (roll < 90) return 1 + p.below(plicMaxIRQ);
  return p.chance(80) ? p.of(badIRQs)! : p.word(2);
}

/** A handler cap copied, minted, moved or mutated into a free root slot (they derive freely), or deleted. */
function resolveHandlerCap(k: Knowledge, p: Picker, remove: boolean): ResolvedCall | null {
  const held = p.of(handlers(k));
  if (!held) return null;
  if (remove) return deleteCall(held.slot.index);
  const at = freeRootSlot(k, p);
  if (at === undefined) return null;
  if (p.chance(60)) return copy(at, held.slot.index);
  const src = held.slot.index;
  return call('seL4_CNode_Move', [R, at, 32, R, src, 32], (api) => void api.seL4_CNode_Move(R, at, 32, R, src, 32));
}

/** Revoke of the IRQ control cap: every handler issued from it deleted (their lines Inactive). */
function revokeControl(k: Knowledge, p: Picker): ResolvedCall {
  const control = controlCptr(k, p);
  return call('seL4_CNode_Revoke', [R, control, 32], (api) => void api.seL4_CNode_Revoke(R, control, 32));
}

const irqSteps = ['get', 'setNotification', 'ack', 'clear', 'raise', 'handlerCap', 'deleteHandler', 'revokeControl'] as const;
/** Per mille of IRQ steps. */
const stepWeights: Readonly<Record<(typeof irqSteps)[number], number>> = {
  get: 200, setNotification: 220, ack: 140, clear: 60, raise: 250, handlerCap: 60, deleteHandler: 50, revokeControl: 20,
};

/** An IRQ step; null when it has nothing to act on (the caller draws another). */
export function resolveIrqStep(k: Knowledge, p: Picker): ResolvedCall | null {
  let roll = p.below(1000);
  const kind = irqSteps.find((s) => (roll -= stepWeights[s]) < 0) ?? 'revokeControl';
  switch (kind) {
    case 'get':
      return resolveGet(k, p);
    case 'setNotification':
      return resolveSetNotification(k, p);
    case 'ack':
    case 'clear': {
      const handler = handlerCptr(k, p);
      if (handler === undefined) return resolveGet(k, p);
      const normal = kind === 'ack' ? ackCall(handler) : clearCall(handler);
      return shaped(p, normal, { label: kind === 'ack' ? InvocationLabel.IRQAckIRQ : InvocationLabel.IRQClearIRQHandler, service: handler, mrs: [], caps: [] });
    }
    case 'raise':
      return raiseCall(raisedIRQ(k, p));
    case 'handlerCap':
    case 'deleteHandler':
      return resolveHandlerCap(k, p, kind === 'deleteHandler');
    case 'revokeControl':
      return revokeControl(k, p);
  }
}

// ---- the composite step: a driver ----

/**
 * A driver as a user sets one up: a notification retyped, a handler cap of a free line issued
 * (Get or GetTrigger) and given the notification (a badged copy mostly), now and then after a
 * first try SetNotification refuses (another cap, none, a copy without Write); now and then a thread
 * made above the root task waits on the notification, or, bound to it, on an endpoint. Then the
 * device interrupts (the waiter woken, or the notification left Active), again now and then
 * before the Ack (the line stays pending: the Ack delivers it again); the Ack comes from the
 * waiter when it runs, else from the root task; the waiter waits again. At the end now and then
 * the handler deleted, cleared, IRQ control revoked, or the notification deleted, and the line
 * raised once more.
 */
export function driverScenario(p: Picker): Scenario {
  let ntfn = -1;
  let badged = -1;
  let handler = -1;
  let ep = -1;
  let irq = 1 + p.below(plicMaxIRQ);
  const waiter = p.chance(50);
  const bound = waiter && p.chance(35);
  const made: ThreadsMade = { tcbOffset: -1, scOffset: -1, priority: -1 };
  const thread = (k: Knowledge) => (waiter ? madeThread(k, made) : null);
  const threadRuns = (k: Knowledge) => thread(k) !== null && k.view().current() === thread(k)!.addr;
  const installed = (k: Knowledge) => holds(k, handler, 'irqhandler') && holds(k, ntfn, 'notification');
  const byRoot = (f: (k: Knowledge, p: Picker) => ResolvedCall | null): Action => (k, p) => {
    if (!rootRuns(k)) return null;
    const c = f(k, p);
    return c && once(c);
  };
  const get = byRoot((k, p) => {
    const at = freeRootSlot(k, p);
    const free = Array.from({ length: plicMaxIRQ }, (_, i) => 1 + i).filter((i) => k.view().irq(i).state === 'Inactive');
    if (at === undefined || free.length === 0) return null;
    [handler, irq] = [at, free.includes(irq) ? irq : p.of(free)!];
    const trigger = p.chance(30) ? p.below(2) : null;
    const control = controlCptr(k, p);
    return trigger === null ? getCall(control, irq, at, 32) : getTriggerCall(control, irq, trigger, at, 32);
  });
  const mintBadged = byRoot((k, p) => {
    const at = freeRootSlot(k, p);
    if (at === undefined || !holds(k, ntfn, 'notification')) return null;
    badged = at;
    return mint(at, ntfn, seL4_AllRights, 1 + p.below(0xff));
  });
  const install = byRoot((k) => (installed(k) ? setNotificationCall(handler, badged >= 0 && holds(k, badged, 'notification') ? badged : ntfn) : null));
  // A first try that SetNotification refuses: a cap of another type, an empty slot, no extra cap, a copy without Write.
  let readOnly = -1;
  const mintReadOnly = byRoot((k, p) => {
    const at = freeRootSlot(k, p);
    if (at === undefined || !holds(k, ntfn, 'notification')) return null;
    readOnly = at;
    return mint(at, ntfn, seL4_CanRead, 0);
  });
  const wrongInstall = byRoot((k, p) => {
    if (!installed(k)) return null;
    if (readOnly >= 0) return setNotificationCall(handler, readOnly);
    if (p.chance(50)) return send(sendSyscalls[0], { label: InvocationLabel.IRQSetIRQHandler, service: handler, mrs: [], caps: [] }, 0, []);
    return setNotificationCall(handler, otherCap(k, p, 'notification'));
  });
  const refused = p.below(100);
  const wrongFirst = refused < 12 ? [mintReadOnly, wrongInstall] : refused < 40 ? [wrongInstall] : [];
  const bindThread: Action = (k) => (threadRuns(k) && holds(k, ep, 'endpoint') ? once(call('seL4_TCB_BindNotification', [made.tcbOffset, ntfn], (api) => void api.seL4_TCB_BindNotification(made.tcbOffset, ntfn))) : null);
  const wait: Action = (k) => {
    if (!threadRuns(k)) return null;
    const object = bound ? ep : ntfn;
    return once(call('seL4_Wait', [object], (api) => void api.seL4_Wait(object)));
  };
  const raise: Action = () => once(raiseCall(irq));
  // The Ack comes from whoever runs: the woken waiter, or the root task.
  const ack: Action = (k) => (holds(k, handler, 'irqhandler') && (rootRuns(k) || threadRuns(k)) ? once(ackCall(handler)) : null);
  const waitAgain: Action = (k) => (threadRuns(k) ? wait(k, p) : 'next');
  // A copy of the handler cap handed out (to another driver) and deleted: not the last one, so the line stays live.
  let handlerCopy = -1;
  const copyHandler = byRoot((k, p) => {
    const at = freeRootSlot(k, p);
    if (at === undefined || !holds(k, handler, 'irqhandler')) return null;
    handlerCopy = at;
    return copy(at, handler);
  });
  const deleteCopy = byRoot((k) => (holds(k, handlerCopy, 'irqhandler') ? deleteCall(handlerCopy) : null));
  const endings: Action[][] = [
    [],
    [copyHandler, deleteCopy, raise],
    [byRoot((k) => (holds(k, handler, 'irqhandler') ? deleteCall(handler) : null)), raise],
    [byRoot(() => clearCall(handler)), raise],
    [byRoot((k, p) => revokeControl(k, p)), raise],
    [byRoot((k) => (holds(k, ntfn, 'notification') ? deleteCall(ntfn) : null)), raise],
  ];
  return {
    name: 'driver',
    actions: [
      retypedInto(T.seL4_NotificationObject, seL4_NotificationBits, (slot) => (ntfn = slot)),
      ...(bound ? [retypedInto(T.seL4_EndpointObject, seL4_EndpointBits, (slot) => (ep = slot))] : []),
      get,
      ...(p.chance(75) ? [mintBadged] : []),
      ...wrongFirst,
      install,
      ...(waiter ? threadsMade({ count: 1, budgetUs: 1000n + BigInt(p.below(3000)), periodUs: 10_000n, extraRefills: 0, flags: 0, buffered: false }, made) : []),
      ...(bound ? [bindThread] : []),
      ...(waiter ? [wait] : []),
      raise,
      ...(p.chance(50) ? [raise] : []),
      ack,
      waitAgain,
      ...p.of(endings)!,
    ],
  };
}

