// examples/pager.ts as npm test runs it: on every layer and in lockstep, the child's first touch
// of each page is a VM fault the pager resolves, a page table mapped per window, and the child's
// accesses made again hit: the sum it sends is the array's.
import { describe, expect, it } from 'vitest';
import type { LayerName } from '../../index.ts';
import { arrayVaddr, arrayWords, pagerExample } from '../../examples/pager.ts';

const modes: readonly (LayerName | 'lockstep')[] = ['executable', 'impl', 'abstract', 'lockstep'];
const hex = (w: number) => `0x${w.toString(16)}`;

describe.each(modes)('examples/pager.ts on %s', (mode) => {
  it('maps a frame for every page the child touches first, and the child sums what it stored', () => {
    const { result, log, faults } = pagerExample(mode);
    expect(result.stop).toBe('finished');
    const pages = Array.from({ length: arrayWords }, (_, i) => arrayVaddr + 0x1000 * i);
    expect(faults).toEqual([{ vaddr: arrayVaddr + 0x1000 * arrayWords, fsr: 5 }, ...pages.map((vaddr) => ({ vaddr, fsr: 7 }))]);
    expect(log[0]).toBe(`pager: load fault at ${hex(arrayVaddr + 0x6000)} (prefetch 0, FSR 5): mapped a frame and a page table for its window`);
    expect(log.slice(1, 3)).toEqual([
      'child: the word past the array reads 0',
      `pager: store fault at ${hex(arrayVaddr)} (prefetch 0, FSR 7): mapped a frame and a page table for its window`,
    ]);
    expect(log.slice(-2)).toEqual(['child: the array\'s sum is 45', 'pager: the child reports 45 after 7 faults, 2 page tables']);
  });
});
