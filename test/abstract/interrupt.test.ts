// Interrupts in the abstract spec: IRQ control and IRQ handler invocations (every check in seL4's
// order), the IRQ node's slots in the CDT, deletion of IRQ handler caps, and device interrupts
// (pending, claimed, delivered by signalling, taken at the end of every entry).
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  badgeRegister,
  InvocationLabel as L,
  irqNodeRef,
  kernelTimerIRQ,
  maxIRQ,
  seL4_CapIRQControl,
  seL4_Error as E,
  seL4_ObjectType as T,
  type Cap,
  type SlotRef,
} from '../../libsel4/index.ts';
import { irqInvariants } from '../../refinement/invariants/interrupt.ts';
import { abstractLayer, allFilledSlots, isOriginalCap, objectAt } from '../../spec-abstract/index.ts';
import { claimInterrupt, deliverableInterrupt } from '../../spec-abstract/interrupt.ts';
import { begin, commit, irqLines, run, TouchLog, updateIrqLine } from '../../spec-abstract/state.ts';
import { bootHarness, call, type Harness } from './harness.ts';

let h: Harness;
/** Root slots: a notification (100), a badged copy with all rights (101), a copy without Write (102), an endpoint (103). */
let ntfn: number;

const irqSlot = (irq: number): SlotRef => ({ cnode: irqNodeRef, index: irq });
const cap = (slot: number): Cap | null => h.view().cap(h.root(slot));
const line = (irq: number) => h.view().irq(irq);
const get = (irq: number, dest: number, depth = 32) => call(h, seL4_CapIRQControl, L.IRQIssueIRQHandler, [irq, dest, depth], [2]);
const getTrigger = (irq: number, trigger: number, dest: number) => call(h, seL4_CapIRQControl, L.RISCVIRQIssueIRQHandlerTrigger, [irq, trigger, dest, 32], [2]);
const setNotification = (handler: number, ntfnSlot: number) => call(h, handler, L.IRQSetIRQHandler, [], [ntfnSlot]);
const ack = (handler: number) => call(h, handler, L.IRQAckIRQ, []);
const clear = (handler: number) => call(h, handler, L.IRQClearIRQHandler, []);
const raise = (irq: number) => h.enter({ kind: 'interrupt', irq });
const notification = () => {
  const o = objectAt(h.state(), ntfn);
  if (o?.type !== 'notification') throw new Error('no notification');
  return o;
};

beforeEach(() => {
  h = bootHarness();
  const big = h.untyped + h.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits === 21);
  expect(h.api.seL4_Untyped_Retype(big, T.seL4_NotificationObject, 0, 2, 0, 0, 100, 1)).toBe(0);
  expect(h.api.seL4_Untyped_Retype(big, T.seL4_EndpointObject, 0, 2, 0, 0, 103, 1)).toBe(0);
  expect(h.api.seL4_CNode_Mint(2, 101, 32, 2, 100, 32, 0x3, 0x50)).toBe(0);
  expect(h.api.seL4_CNode_Mint(2, 102, 32, 2, 100, 32, 0x2, 0x60)).toBe(0);
  ntfn = (cap(100) as { ptr: number }).ptr;
});

describe('boot', () => {
  it('leaves every line Inactive but the timer, none pending or claimed, and the IRQ node empty', () => {
    for (let irq = 0; irq <= maxIRQ; irq++) {
      expect(line(irq)).toEqual({ irq, state: irq === kernelTimerIRQ ? 'Timer' : 'Inactive', pending: false, claimed: false });
      expect(h.view().cap(irqSlot(irq))).toEqual({ type: 'null' });
    }
    expect(h.view().cap(irqSlot(maxIRQ + 1))).toBeNull();
    expect(h.view().object(irqNodeRef)).toBeNull();
  });
});

describe('IRQControl_Get and GetTrigger, checks in order', () => {
  it('message, range (the whole word), active, target lookup, empty target', () => {
    expect(call(h, seL4_CapIRQControl, L.IRQIssueIRQHandler, [5, 200], [2]).error).toBe(E.seL4_TruncatedMessage);
    expect(call(h, seL4_CapIRQControl, L.IRQIssueIRQHandler, [5, 200, 32], []).error).toBe(E.seL4_TruncatedMessage);
    for (const irq of [0, maxIRQ + 1, 0xffffffff]) expect(get(irq, 100)).toMatchObject({ error: E.seL4_RangeError, mrs: [1, maxIRQ] });
    // The timer's line is active from boot: RevokeFirst before the (occupied) target is looked at.
    expect(get(kernelTimerIRQ, 100).error).toBe(E.seL4_RevokeFirst);
    expect(get(5, 200, 0)).toMatchObject({ error: E.seL4_RangeError, mrs: [1, 32] });
    expect(get(5, 200, 31).error).toBe(E.seL4_FailedLookup);
    expect(get(5, 100).error).toBe(E.seL4_DeleteFirst);
    expect(line(5).state).toBe('Inactive');
    expect(get(5, 200).error).toBe(E.seL4_NoError);
    expect(get(5, 201).error).toBe(E.seL4_RevokeFirst);
  });

  it('issues an original IRQ handler cap, a child of the IRQ control cap, and makes the line Signal', () => {
    expect(get(5, 200).error).toBe(E.seL4_NoError);
    expect(cap(200)).toEqual({ type: 'irqhandler', irq: 5 });
    expect(h.view().cdtParent(h.root(200))).toEqual(h.root(seL4_CapIRQControl));
    expect(isOriginalCap(h.state(), h.root(200))).toBe(true);
    expect(line(5)).toEqual({ irq: 5, state: 'Signal', pending: false, claimed: false });
  });

  it('GetTrigger reads the trigger word and then checks as Get does; other labels are IllegalOperation', () => {
    expect(call(h, seL4_CapIRQControl, L.RISCVIRQIssueIRQHandlerTrigger, [5, 1, 200], [2]).error).toBe(E.seL4_TruncatedMessage);
    expect(getTrigger(100, 1, 200)).toMatchObject({ error: E.seL4_RangeError, mrs: [1, maxIRQ] });
    expect(getTrigger(7, 1, 100).error).toBe(E.seL4_DeleteFirst);
    expect(getTrigger(7, 1, 200).error).toBe(E.seL4_NoError);
    expect(cap(200)).toEqual({ type: 'irqhandler', irq: 7 });
    for (const label of [0, L.IRQAckIRQ, L.CNodeCopy]) expect(call(h, seL4_CapIRQControl, label, [5, 201, 32], [2]).error).toBe(E.seL4_IllegalOperation);
  });
});

describe('IRQ handler invocations', () => {
  beforeEach(() => expect(get(5, 200).error).toBe(E.seL4_NoError));

  it('SetNotification: a missing cap, then a cap that is not a notification with Write', () => {
    expect(call(h, 200, L.IRQSetIRQHandler, [], []).error).toBe(E.seL4_TruncatedMessage);
    expect(setNotification(200, 0)).toMatchObject({ error: E.seL4_InvalidCapability, mrs: [0] });
    expect(setNotification(200, 103)).toMatchObject({ error: E.seL4_InvalidCapability, mrs: [0] });
    expect(setNotification(200, 102)).toMatchObject({ error: E.seL4_InvalidCapability, mrs: [0] });
    expect(call(h, 200, L.IRQClearIRQHandler + 1, []).error).toBe(E.seL4_IllegalOperation);
  });

  it('SetNotification installs the cap as it is, placed in the CDT as a copy; a second replaces it; Clear empties the slot', () => {
    expect(setNotification(200, 100).error).toBe(E.seL4_NoError);
    expect(h.view().cap(irqSlot(5))).toEqual(cap(100));
    expect(h.view().cdtParent(irqSlot(5))).toEqual(h.root(100));
    expect(isOriginalCap(h.state(), irqSlot(5))).toBe(false);
    expect(setNotification(200, 101).error).toBe(E.seL4_NoError);
    expect(h.view().cap(irqSlot(5))).toEqual(cap(101));
    expect(h.view().cdtParent(irqSlot(5))).toEqual(h.root(101));
    expect(allFilledSlots(h.state()).filter((f) => f.slot.cnode === irqNodeRef).map((f) => f.slot.index)).toEqual([5]);
    expect(clear(200).error).toBe(E.seL4_NoError);
    expect(h.view().cap(irqSlot(5))).toEqual({ type: 'null' });
    expect(line(5).state).toBe('Signal');
  });

  it('the IRQ slot is part of the CDT: revoking the notification deletes it', () => {
    expect(setNotification(200, 101).error).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Revoke(2, 101, 32)).toBe(0);
    expect(h.view().cap(irqSlot(5))).toEqual({ type: 'null' });
  });
});

describe('deleting IRQ handler caps', () => {
  beforeEach(() => {
    expect(get(5, 200).error).toBe(E.seL4_NoError);
    expect(setNotification(200, 101).error).toBe(E.seL4_NoError);
  });

  it('a copy is not final; deleting the last one empties the IRQ slot and makes the line Inactive', () => {
    expect(h.api.seL4_CNode_Copy(2, 201, 32, 2, 200, 32, 0xf)).toBe(0);
    expect(h.api.seL4_CNode_Delete(2, 200, 32)).toBe(0);
    expect(line(5).state).toBe('Signal');
    expect(h.view().cap(irqSlot(5))).toEqual(cap(101));
    expect(h.api.seL4_CNode_Delete(2, 201, 32)).toBe(0);
    expect(line(5).state).toBe('Inactive');
    expect(h.view().cap(irqSlot(5))).toEqual({ type: 'null' });
    expect(get(5, 202).error).toBe(E.seL4_NoError);
  });

  it('revoking IRQ control deletes every handler it issued', () => {
    expect(get(9, 201).error).toBe(E.seL4_NoError);
    expect(h.api.seL4_CNode_Revoke(2, seL4_CapIRQControl, 32)).toBe(0);
    expect([cap(200), cap(201)]).toEqual([{ type: 'null' }, { type: 'null' }]);
    expect([line(5).state, line(9).state]).toEqual(['Inactive', 'Inactive']);
    expect(h.view().cap(irqSlot(5))).toEqual({ type: 'null' });
  });
});

describe('device interrupts', () => {
  it('a masked source only becomes pending; Get unmasks it and it is taken at the end of that entry', () => {
    const before = h.state();
    raise(5);
    expect(line(5)).toMatchObject({ state: 'Inactive', pending: true, claimed: false });
    expect(h.lastOutcomes()[0]!.touched).toEqual({ slots: [], objects: [] });
    expect(h.state().heap).toBe(before.heap);
    expect(get(5, 200).error).toBe(E.seL4_NoError);
    // No notification installed: taken (claimed) and nothing signalled.
    expect(line(5)).toMatchObject({ state: 'Signal', pending: false, claimed: true });
    expect(notification().state).toBe('Idle');
  });

  it('signals the installed notification with its badge; stays claimed until Ack; a raise meanwhile waits, and Ack lets it in', () => {
    expect(get(5, 200).error).toBe(E.seL4_NoError);
    expect(setNotification(200, 101).error).toBe(E.seL4_NoError);
    raise(5);
    expect(line(5)).toMatchObject({ pending: false, claimed: true });
    expect(notification()).toMatchObject({ state: 'Active', word: 0x50 });
    expect(h.api.seL4_Wait(100).sender).toBe(0x50);
    raise(5);
    expect(line(5)).toMatchObject({ pending: true, claimed: true });
    expect(notification().state).toBe('Idle');
    expect(ack(200).error).toBe(E.seL4_NoError);
    expect(line(5)).toMatchObject({ pending: false, claimed: true });
    expect(notification()).toMatchObject({ state: 'Active', word: 0x50 });
    expect(ack(200).error).toBe(E.seL4_NoError);
    expect(line(5)).toMatchObject({ pending: false, claimed: false });
  });

  it('wakes a thread waiting on the notification while the idle thread runs', () => {
    expect(get(5, 200).error).toBe(E.seL4_NoError);
    expect(setNotification(200, 101).error).toBe(E.seL4_NoError);
    const root = h.plan.rootTCB;
    h.api.seL4_Wait(100);
    expect(h.view().current()).toBeNull();
    const o = raise(5);
    expect(o.current).toBe(root);
    const tcb = objectAt(h.state(), root);
    expect(tcb?.type === 'tcb' ? [tcb.state, tcb.regs[badgeRegister]] : null).toEqual(['Running', 0x50]);
    expect(h.lastOutcomes()[0]!.touched.objects).toContain(ntfn);
  });

  it('deleting the handler masks the line; its pending and claimed bits stay', () => {
    expect(get(5, 200).error).toBe(E.seL4_NoError);
    expect(setNotification(200, 101).error).toBe(E.seL4_NoError);
    raise(5);
    raise(5);
    expect(h.api.seL4_CNode_Delete(2, 200, 32)).toBe(0);
    expect(line(5)).toEqual({ irq: 5, state: 'Inactive', pending: true, claimed: true });
  });

  it('takes the sources deliverable at the end of an event lowest first, each its own entry', () => {
    // Badges 1, 2 and 4 for IRQs 3, 7 and 9, all signalling the one notification the root task waits on.
    for (const [irq, handler, badged, badge] of [[3, 200, 110, 1], [7, 201, 111, 2], [9, 202, 112, 4]] as const) {
      expect(h.api.seL4_CNode_Mint(2, badged, 32, 2, 100, 32, 0x3, badge)).toBe(0);
      expect(get(irq, handler).error).toBe(E.seL4_NoError);
      expect(setNotification(handler, badged).error).toBe(E.seL4_NoError);
    }
    h.api.seL4_Wait(100);
    // A state no event leaves (7 and 3 pending and deliverable), to see the order: 9 is raised last.
    const pending = run(h.state(), new TouchLog(), (k) => {
      updateIrqLine(k, 7, { pending: true });
      updateIrqLine(k, 3, { pending: true });
    });
    const [outcome] = abstractLayer.step(pending, { kind: 'interrupt', irq: 9 });
    const root = objectAt(outcome!.state, h.plan.rootTCB);
    expect(root?.type === 'tcb' ? root.regs[badgeRegister] : null).toBe(1);
    const n = objectAt(outcome!.state, ntfn);
    expect(n?.type === 'notification' ? [n.state, n.word] : null).toEqual(['Active', 2 | 4]);
    for (const irq of [3, 7, 9]) expect(abstractLayer.view(outcome!.state).irq(irq)).toMatchObject({ pending: false, claimed: true });
  });

  it('finds the lowest deliverable source of the lines as written so far, after every write', () => {
    expect(get(3, 200).error).toBe(E.seL4_NoError);
    expect(get(7, 201).error).toBe(E.seL4_NoError);
    const base = h.state();
    const k = begin(base, new TouchLog());
    expect(deliverableInterrupt(k)).toBeNull();
    updateIrqLine(k, 7, { pending: true });
    expect(deliverableInterrupt(k)).toBe(7);
    updateIrqLine(k, 3, { pending: true });
    expect(deliverableInterrupt(k)).toBe(3);
    claimInterrupt(k, 3);
    expect(deliverableInterrupt(k)).toBe(7);
    updateIrqLine(k, 20, { pending: true });
    expect(deliverableInterrupt(k)).toBe(7);
    claimInterrupt(k, 7);
    expect(deliverableInterrupt(k)).toBeNull();
    expect(deliverableInterrupt(base)).toBeNull();
    // The committed state keeps the list written (frozen, not copied); a later write makes a new one.
    const next = commit(k);
    expect(next.irqs).toBe(irqLines(k));
    expect(Object.isFrozen(next.irqs)).toBe(true);
    const later = begin(next, new TouchLog());
    updateIrqLine(later, 3, { pending: true, claimed: false });
    expect(deliverableInterrupt(later)).toBe(3);
    expect(deliverableInterrupt(next)).toBeNull();
    expect(next.irqs[3]).toMatchObject({ pending: false, claimed: true });
  });

  it('never throws: numbers that name no source change nothing, in any state', () => {
    expect(get(5, 200).error).toBe(E.seL4_NoError);
    for (const irq of [-1, 0, kernelTimerIRQ, maxIRQ + 1, 1.5, Number.NaN, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const before = h.state();
      raise(irq);
      expect(h.state()).toBe(before);
    }
    for (let irq = 1; irq <= 95; irq++) raise(irq);
    expect(line(5)).toMatchObject({ pending: false, claimed: true });
    expect(line(6)).toMatchObject({ pending: true, claimed: false });
  });
});

describe('interrupts in any order', () => {
  /** An IRQ among a few sources, the timer, 0 and numbers past the range. */
  const irq = fc.constantFrom(0, 3, 5, 6, 95, kernelTimerIRQ, maxIRQ + 1, 0xffffffff);
  /** Root slots handler caps go to (and come from). */
  const handler = fc.constantFrom(200, 201, 202);
  const op = fc.oneof(
    fc.record({ kind: fc.constant('get' as const), irq, slot: handler }),
    fc.record({ kind: fc.constant('set' as const), slot: handler, ntfnSlot: fc.constantFrom(100, 101, 102, 103) }),
    fc.record({ kind: fc.constantFrom('ack' as const, 'clear' as const, 'delete' as const), slot: handler }),
    fc.record({ kind: fc.constant('copy' as const), slot: handler, dest: handler }),
    fc.record({ kind: fc.constant('revoke' as const), slot: fc.constantFrom(seL4_CapIRQControl, 100, 101) }),
    fc.record({ kind: fc.constant('wait' as const) }),
    fc.record({ kind: fc.constant('raise' as const), irq }),
  );

  it('never throw, and keep the interrupt invariants after every event', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        h = bootHarness();
        const big = h.untyped + h.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits === 21);
        h.api.seL4_Untyped_Retype(big, T.seL4_NotificationObject, 0, 2, 0, 0, 100, 1);
        h.api.seL4_Untyped_Retype(big, T.seL4_EndpointObject, 0, 2, 0, 0, 103, 1);
        h.api.seL4_CNode_Mint(2, 101, 32, 2, 100, 32, 0x3, 0x50);
        h.api.seL4_CNode_Mint(2, 102, 32, 2, 100, 32, 0x2, 0x60);
        for (const o of ops) {
          if (o.kind === 'raise') raise(o.irq);
          else if (h.view().current() === null) raise(5); // the root task waits: only a device can wake it
          else if (o.kind === 'get') get(o.irq, o.slot);
          else if (o.kind === 'set') setNotification(o.slot, o.ntfnSlot);
          else if (o.kind === 'ack') ack(o.slot);
          else if (o.kind === 'clear') clear(o.slot);
          else if (o.kind === 'delete') h.api.seL4_CNode_Delete(2, o.slot, 32);
          else if (o.kind === 'copy') h.api.seL4_CNode_Copy(2, o.dest, 32, 2, o.slot, 32, 0xf);
          else if (o.kind === 'revoke') h.api.seL4_CNode_Revoke(2, o.slot, 32);
          else h.api.seL4_Wait(100);
          const lines = Array.from({ length: maxIRQ + 1 }, (_, n) => line(n));
          const filled = allFilledSlots(h.state()).map(({ slot, cap: c, parent }) => ({ slot, cap: c, parent }));
          expect(irqInvariants(lines, filled)).toBeNull();
        }
      }),
      { numRuns: 40, seed: 12 },
    );
  });
});
