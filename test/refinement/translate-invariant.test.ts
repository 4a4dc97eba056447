// The translation invariant (get_vspace_of_thread, ptable_lift): every thread's `translate` agrees
// with a walk of the listed page tables from its VSpace cap. The abstract spec keeps it at boot
// and after a store; views that translate wrongly (nothing, a shifted word, a stale VSpace cap
// still used) are each reported, naming the thread and the address.
import { describe, expect, it } from 'vitest';
import { hex, type KernelView, type ObjectView, type Translation } from '../../libsel4/index.ts';
import { translationsAgree } from '../../refinement/invariants/vspace.ts';
import { bootHarness, type Harness } from '../abstract/harness.ts';

function objectsOf(h: Harness): Map<number, ObjectView> {
  return new Map(h.view().objects().map((o) => [o.addr, o]));
}

/** The harness's view with another translate. */
function translating(h: Harness, translate: (thread: number, vaddr: number) => Translation | null): Pick<KernelView, 'cap' | 'translate'> {
  const view = h.view();
  return { cap: (slot) => view.cap(slot), translate };
}

describe('translate agrees with the page tables', () => {
  it('holds for the abstract spec at boot and after a store', () => {
    const h = bootHarness();
    expect(translationsAgree(objectsOf(h), h.view())).toBeNull();
    h.enter({ kind: 'access', user: { regs: [], ipcBuffer: [] }, access: 'store', vaddr: h.plan.bootInfo.ipcBuffer, value: 1 });
    expect(translationsAgree(objectsOf(h), h.view())).toBeNull();
  });

  it('reports a view that translates nothing, and one off by a word', () => {
    const h = bootHarness();
    const root = h.plan.rootTCB;
    expect(translationsAgree(objectsOf(h), translating(h, () => null))).toMatch(new RegExp(`^ptable_lift: thread ${hex(root)} at 0x[0-9a-f]+: translate gives no translation, the walk from its VSpace cap paddr`));
    const view = h.view();
    const shifted = (thread: number, vaddr: number) => {
      const t = view.translate(thread, vaddr);
      return t === null ? null : { ...t, paddr: t.paddr - 4 };
    };
    expect(translationsAgree(objectsOf(h), translating(h, shifted))).toMatch(/^ptable_lift: thread .* translate gives paddr/);
  });

  it('reports a view still translating through a VSpace cap whose ASID no longer names its root', () => {
    const h = bootHarness();
    const objects = objectsOf(h);
    // The listed pool forgets the root task's ASID: the walk now expects nothing to translate.
    const pool = objects.get(h.plan.asidPool);
    if (pool?.type !== 'asidpool') throw new Error('no boot pool');
    objects.set(pool.addr, { ...pool, entries: [] });
    expect(translationsAgree(objects, h.view())).toMatch(/the walk from its VSpace cap no translation$/);
  });

  it('reports a view translating the kernel window', () => {
    const h = bootHarness();
    const view = h.view();
    const frame = h.plan.ipcBufferFrame;
    const windowToo = (thread: number, vaddr: number) => view.translate(thread, vaddr) ?? { paddr: frame, frame, sizeBits: 12, rights: 3, executable: true };
    expect(translationsAgree(objectsOf(h), translating(h, windowToo))).toMatch(/at 0x80001000: translate gives paddr/);
  });
});
