// The lockstep comparison of interrupts: the IRQ lines after every step and the IRQ node's slots,
// each difference named in seL4 terms (`irq 5: state`, `irq node slot 5: badge`).
import { describe, expect, it } from 'vitest';
import { InvocationLabel as L, irqNodeRef, seL4_CapIRQControl, seL4_Error as E, seL4_ObjectType as T, type KernelView } from '../../libsel4/index.ts';
import { compareIrqs, compareSlot, compareViews, slotName } from '../../refinement/lockstep/compare.ts';
import { compareStep } from '../../refinement/lockstep/pairs.ts';
import { bootHarness, call, type Harness } from '../abstract/harness.ts';

/** A booted abstract layer with a notification (root slot 100) and a badged copy (101). */
function world(): Harness {
  const h = bootHarness();
  const big = h.untyped + h.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits === 21);
  expect(h.api.seL4_Untyped_Retype(big, T.seL4_NotificationObject, 0, 2, 0, 0, 100, 1)).toBe(E.seL4_NoError);
  expect(h.api.seL4_CNode_Mint(2, 101, 32, 2, 100, 32, 0x3, 0x50)).toBe(E.seL4_NoError);
  return h;
}

const get = (h: Harness, irq: number) => expect(call(h, seL4_CapIRQControl, L.IRQIssueIRQHandler, [irq, 200, 32], [2]).error).toBe(E.seL4_NoError);
const setNotification = (h: Harness, ntfnSlot: number) => expect(call(h, 200, L.IRQSetIRQHandler, [], [ntfnSlot]).error).toBe(E.seL4_NoError);
const side = (view: KernelView) => ({ state: null, view });

describe('comparing interrupts', () => {
  it('names the first differing IRQ line and field', () => {
    const [a, b] = [world(), world()];
    expect(compareIrqs(a.view(), b.view())).toBeNull();
    get(b, 5);
    expect(compareIrqs(a.view(), b.view())).toEqual({ path: 'irq 5: state', lower: 'Inactive', upper: 'Signal' });
    get(a, 5);
    a.enter({ kind: 'interrupt', irq: 40 });
    expect(compareIrqs(a.view(), b.view())).toEqual({ path: 'irq 40: pending', lower: 'true', upper: 'false' });
    b.enter({ kind: 'interrupt', irq: 40 });
    a.enter({ kind: 'interrupt', irq: 5 });
    expect(compareIrqs(a.view(), b.view())).toEqual({ path: 'irq 5: claimed', lower: 'true', upper: 'false' });
    // Compared after every step, whatever the step touched, and in the closing comparison.
    expect(compareStep({ lower: 'impl', upper: 'abstract' }, side(a.view()), side(b.view()), [])).toEqual({ path: 'irq 5: claimed', lower: 'true', upper: 'false' });
    expect(compareViews(a.view(), b.view())).toEqual({ path: 'irq 5: claimed', lower: 'true', upper: 'false' });
  });

  it('names IRQ node slots, and compares their caps and CDT parents', () => {
    const [a, b] = [world(), world()];
    get(a, 5);
    get(b, 5);
    const slot = { cnode: irqNodeRef, index: 5 };
    expect(slotName(a.view(), slot)).toBe('irq node slot 5');
    setNotification(a, 100);
    expect(compareSlot(a.view(), b.view(), slot)).toEqual({ path: 'irq node slot 5: type', lower: 'notification', upper: 'null' });
    setNotification(b, 101);
    expect(compareSlot(a.view(), b.view(), slot)).toEqual({ path: 'irq node slot 5: badge', lower: '0', upper: '80' });
    expect(compareStep({ lower: 'impl', upper: 'abstract' }, side(a.view()), side(b.view()), [{ slots: [slot], objects: [] }])?.path).toBe('irq node slot 5: badge');
    expect(compareSlot(a.view(), a.view(), { cnode: irqNodeRef, index: 97 })).toBeNull();
  });
});
