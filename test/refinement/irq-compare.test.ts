// The lockstep comparison of interrupts: the IRQ lines after every step and the IRQ node's slots,
// each difference named in seL4 terms (`irq 5: state`, `irq node slot 5: badge`).
import { describe, expect, it } from 'vitest';
import { InvocationLabel as L, irqNodeRef, planBoot, seL4_CapIRQControl, seL4_Error as E, seL4_ObjectType as T, type IrqView, type KernelView } from '../../libsel4/index.ts';
import { abstractLayer, type AbstractState } from '../../spec-abstract/index.ts';
import { executableLayer, type ExecState } from '../../spec-executable/index.ts';
import { compareIrqs, compareSlot, compareViews, slotName } from '../../refinement/lockstep/compare.ts';
import { compareStep } from '../../refinement/lockstep/pairs.ts';
import { bootLayer } from '../../refinement/layers.ts';
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

  it('compares the executable and abstract lines after a step, remembering only pairs of lists found equal', () => {
    const plan = planBoot({});
    const exec = bootLayer('executable', plan).state() as ExecState;
    const abs = bootLayer('abstract', plan).state() as AbstractState;
    const claimed = (lines: readonly IrqView[]) => lines.map((line) => (line.irq === 5 ? { ...line, claimed: true } : line));
    const execClaimed: ExecState = { ...exec, interrupts: { ...exec.interrupts, lines: claimed(exec.interrupts.lines) } };
    const absClaimed: AbstractState = { ...abs, irqs: claimed(abs.irqs) };
    const pair = { lower: 'executable', upper: 'abstract' } as const;
    const compare = (e: ExecState, a: AbstractState) =>
      compareStep(pair, { state: e, view: executableLayer.view(e) }, { state: a, view: abstractLayer.view(a) }, []);
    const mismatch = (lower: boolean) => ({ path: 'irq 5: claimed', lower: String(lower), upper: String(!lower) });
    for (let round = 0; round < 2; round++) {
      expect(compare(exec, abs)).toBeNull();
      expect(compare(exec, absClaimed)).toEqual(mismatch(false));
      expect(compare(execClaimed, abs)).toEqual(mismatch(true));
      expect(compare(execClaimed, absClaimed)).toBeNull();
    }
  });
});
