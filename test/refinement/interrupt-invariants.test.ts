// The interrupt invariants (valid_irq_node, valid_irq_handlers, valid_irq_states) and the IRQ
// node's slots in the CDT invariants: they hold at boot and after IRQ handlers are issued, given
// notifications and interrupted; a planted violation of each is reported under its l4v name.
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as L,
  irqNodeRef,
  kernelTimerIRQ,
  maxIRQ,
  planBoot,
  seL4_CapIRQControl,
  seL4_Error as E,
  seL4_ObjectType as T,
  type Cap,
  type IrqView,
  type ObjectView,
} from '../../libsel4/index.ts';
import { cdtInvariants } from '../../refinement/invariants/cspace.ts';
import { checkListing } from '../../refinement/invariants/index.ts';
import { irqInvariants, validIrqHandlers, validIrqNode, validIrqStates } from '../../refinement/invariants/interrupt.ts';
import { bootLayer } from '../../refinement/layers.ts';
import { listLayer, type Filled } from '../../refinement/listing.ts';
import { allFilledSlots } from '../../spec-abstract/index.ts';
import { bootHarness, call, type Harness } from '../abstract/harness.ts';

interface World {
  readonly objects: Map<number, ObjectView>;
  readonly filled: Filled[];
  readonly irqs: IrqView[];
  readonly h: Harness;
}

function listing(h: Harness): World {
  return {
    objects: new Map(h.view().objects().map((o) => [o.addr, o])),
    filled: allFilledSlots(h.state()).map(({ slot, cap, parent }) => ({ slot, cap, parent })),
    irqs: Array.from({ length: maxIRQ + 1 }, (_, irq) => h.view().irq(irq)),
    h,
  };
}

/** IRQ 5 issued into root slot 200 with a notification (slot 100) installed and one interrupt taken; IRQ 9 issued into 201 and raised twice. */
function world(): World {
  const h = bootHarness();
  const big = h.untyped + h.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits === 21);
  expect(h.api.seL4_Untyped_Retype(big, T.seL4_NotificationObject, 0, 2, 0, 0, 100, 1)).toBe(E.seL4_NoError);
  for (const [irq, slot] of [[5, 200], [9, 201]] as const) {
    expect(call(h, seL4_CapIRQControl, L.IRQIssueIRQHandler, [irq, slot, 32], [2]).error).toBe(E.seL4_NoError);
  }
  expect(call(h, 200, L.IRQSetIRQHandler, [], [100]).error).toBe(E.seL4_NoError);
  for (const irq of [5, 9, 9, 30]) h.enter({ kind: 'interrupt', irq });
  return listing(h);
}

const withLine = (w: World, irq: number, change: Partial<IrqView>): IrqView[] => w.irqs.map((l) => (l.irq === irq ? { ...l, ...change } : l));
const irqSlotCap = (w: World, irq: number, cap: Cap): Filled[] => [...w.filled.filter((f) => f.slot.cnode !== irqNodeRef || f.slot.index !== irq), { slot: { cnode: irqNodeRef, index: irq }, cap, parent: null }];

describe('interrupt invariants', () => {
  it('hold at boot and in a world with issued, installed, delivered and pending interrupts', () => {
    const boot = listing(bootHarness());
    expect(irqInvariants(boot.irqs, boot.filled)).toBeNull();
    const w = world();
    expect(w.filled.some((f) => f.slot.cnode === irqNodeRef && f.slot.index === 5)).toBe(true);
    expect(w.irqs[5]).toMatchObject({ state: 'Signal', claimed: true });
    expect(w.irqs[9]).toMatchObject({ state: 'Signal', pending: true, claimed: true });
    expect(w.irqs[30]).toMatchObject({ state: 'Inactive', pending: true });
    expect(irqInvariants(w.irqs, w.filled)).toBeNull();
    expect(cdtInvariants(w.objects, w.filled)).toBeNull();
  });

  it('valid_irq_node: an IRQ node slot holds a notification cap or nothing', () => {
    const w = world();
    expect(validIrqNode(irqSlotCap(w, 9, { type: 'endpoint', ptr: 0x1000, badge: 0, rights: 0xf }))).toMatch(/^valid_irq_node: irq node slot 9 holds a endpoint cap/);
    expect(validIrqNode(irqSlotCap(w, 9, { type: 'irqhandler', irq: 9 }))).toMatch(/^valid_irq_node:/);
    expect(validIrqNode(irqSlotCap(w, maxIRQ + 1, w.filled.find((f) => f.slot.cnode === irqNodeRef)!.cap))).toMatch(/outside 0\.\.96/);
  });

  it('valid_irq_handlers: a handler cap names an issued line in 1..maxIRQ', () => {
    const w = world();
    expect(validIrqHandlers(withLine(w, 9, { state: 'Inactive' }), w.filled)).toMatch(/^valid_irq_handlers: .* IRQ 9, whose state is Inactive/);
    const stray = (irq: number): Filled[] => [...w.filled, { slot: { cnode: w.h.plan.rootCNode, index: 300 }, cap: { type: 'irqhandler', irq }, parent: null }];
    expect(validIrqHandlers(w.irqs, stray(17))).toMatch(/IRQ 17, whose state is Inactive/);
    expect(validIrqHandlers(w.irqs, stray(kernelTimerIRQ))).toMatch(/IRQ 96, whose state is Timer/);
    for (const irq of [0, maxIRQ + 1]) expect(validIrqHandlers(w.irqs, stray(irq))).toMatch(/outside 1\.\.96/);
  });

  it("valid_irq_states: the timer's line, lines that are no source, and nothing left deliverable", () => {
    const w = world();
    expect(validIrqStates(withLine(w, kernelTimerIRQ, { state: 'Signal' }))).toMatch(/IRQ 96 is Signal, not the timer's Timer/);
    expect(validIrqStates(withLine(w, 3, { state: 'Timer' }))).toMatch(/IRQ 3 is Timer/);
    expect(validIrqStates(withLine(w, kernelTimerIRQ, { pending: true }))).toMatch(/IRQ 96, no PLIC source, is pending/);
    expect(validIrqStates(withLine(w, 0, { claimed: true }))).toMatch(/IRQ 0, no PLIC source, is claimed/);
    expect(validIrqStates(withLine(w, 5, { pending: true, claimed: false }))).toMatch(/IRQ 5 is pending, unmasked and unclaimed/);
    expect(validIrqStates(withLine(w, 30, { state: 'Signal' }))).toMatch(/IRQ 30 is pending, unmasked and unclaimed/);
    expect(validIrqStates(w.irqs.slice(1))).toMatch(/96 IRQ lines, not 97/);
    expect(validIrqStates(w.irqs.map((l) => ({ ...l, irq: l.irq === 4 ? 40 : l.irq })))).toMatch(/line 4 names IRQ 40/);
  });

  it('the IRQ node slots take part in the CDT invariants and in every layer listing', () => {
    const w = world();
    const orphan = w.filled.map((f) => (f.slot.cnode === irqNodeRef ? { ...f, parent: { cnode: w.h.plan.rootCNode, index: 999 } } : f));
    expect(cdtInvariants(w.objects, orphan)).toMatch(/^valid_mdb: 0xfffff000\[5\] has parent/);
    const looped = w.filled.map((f) => (f.slot.cnode === irqNodeRef ? { ...f, parent: f.slot } : f));
    expect(cdtInvariants(w.objects, looped)).toMatch(/^no_loops/);
    const layer = bootLayer('abstract', planBoot({}));
    const listed = listLayer(layer);
    expect(listed.irqs.map((l) => l.state)).toEqual(w.irqs.map((l) => (l.irq === kernelTimerIRQ ? 'Timer' : 'Inactive')));
    expect(checkListing({ ...listed, irqs: withLine(w, 7, { state: 'Timer' }) })).toMatch(/^valid_irq_states: IRQ 7 is Timer/);
    expect(checkListing({ ...listed, filled: [...listed.filled, ...irqSlotCap(w, 6, { type: 'irqcontrol' }).filter((f) => f.slot.cnode === irqNodeRef && f.slot.index === 6)] })).toMatch(
      /^valid_irq_node: irq node slot 6 holds a irqcontrol cap/,
    );
  });
});
