// examples/address-space.ts as npm test runs it: on every layer and in lockstep, the calls it
// makes succeed, the root's page tables hold what it mapped, and unmapping leaves nothing; a child
// in its own VSpace and the root task see each other's stores in the frame they share.
import { describe, expect, it } from 'vitest';
import type { LayerName } from '../../index.ts';
import { addressSpace, childBufferVaddr, constVaddr, dataVaddr, greeting, rootBufferVaddr, sharedBuffer, windowVaddr } from '../../examples/address-space.ts';

const modes: readonly (LayerName | 'lockstep')[] = ['executable', 'impl', 'abstract', 'lockstep'];
const hex = (w: number) => `0x${w.toString(16)}`;

describe.each(modes)('examples/address-space.ts on %s', (mode) => {
  it('builds the address space, tells the frame address, and unmaps it all', () => {
    const { result, log, mapped, paddr } = addressSpace(mode);
    expect(result.stop).toBe('finished');
    expect(log).toHaveLength(13);
    expect(log.filter((l) => !l.includes('seL4_NoError'))).toEqual([]);
    const view = result.system.view();
    const first = result.system.plan.bootInfo.empty.start;
    const cap = (n: number) => view.cap({ cnode: result.system.plan.rootCNode, index: first + n });
    const [vspace, table, data, constant] = [cap(2), cap(3), cap(4), cap(5)];
    if (vspace?.type !== 'pagetable' || table?.type !== 'pagetable' || data?.type !== 'frame' || constant?.type !== 'frame') throw new Error('caps missing');
    expect(paddr).toBe(data.ptr);
    expect(mapped).toEqual([
      `${hex(windowVaddr)}: page table ${hex(table.ptr)}`,
      `  ${hex(dataVaddr)}: frame ${hex(data.ptr)} (2^12), rights 3, executable`,
      `  ${hex(constVaddr)}: frame ${hex(constant.ptr)} (2^12), rights 2, execute-never`,
    ]);
    expect(vspace.mapped).toEqual({ asid: 16, vaddr: 0 });
    expect([table.mapped, data.mapped, constant.mapped]).toEqual([null, null, null]);
    expect(view.object(vspace.ptr)).toMatchObject({ entries: [], kernelWindow: true });
  });
});

describe.each(modes)('examples/address-space.ts, the shared buffer, on %s', (mode) => {
  it("the child loads the root task's greeting through its own mapping, and the root task its answer through its own", () => {
    const { result, log } = sharedBuffer(mode);
    expect(result.stop).toBe('finished');
    expect(log.filter((l) => l.includes(':') && !l.startsWith('root') && !l.startsWith('child') && !l.includes('seL4_NoError'))).toEqual([]);
    expect(log.filter((l) => l.startsWith('root:') || l.startsWith('child:'))).toEqual([
      `root: stored ${greeting.join(', ')} at ${hex(rootBufferVaddr)}`,
      `child: loaded ${greeting.join(', ')} at ${hex(childBufferVaddr)}`,
      `root: loaded ${greeting.map((w) => 2 * w).join(', ')} after the greeting`,
    ]);
  });
});
