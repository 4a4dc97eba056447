// The boot plan's seL4_BootInfo against seL4's boot code (create_untypeds, create_untypeds_for_region,
// provide_untyped_cap, populate_bi_frame, create_rootserver_objects) and against the bootinfo
// recorded on seL4 itself.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  firstRamUntypedSlot,
  maxBootInfoUntypedCaps,
  parseBootConfig,
  planBoot,
  type UntypedDesc,
} from '../../libsel4/index.ts';
import { defaultRecordings } from '../../cli/conformance.ts';
import { readConformanceFile } from '../../refinement/conformance-data.ts';

const end = (u: UntypedDesc) => u.paddr + 2 ** u.sizeBits;

describe('the default boot plan', () => {
  const plan = planBoot({});
  const info = plan.bootInfo;

  it('lists the device untypeds first, then the RAM ones, each kind in address order', () => {
    const firstRam = info.untypedList.findIndex((u) => !u.isDevice);
    expect(firstRam).toBe(1);
    expect(info.untypedList.slice(firstRam).every((u) => !u.isDevice)).toBe(true);
    expect(info.untypedList[0]).toEqual({ paddr: 0x10000000, sizeBits: 16, isDevice: true });
    for (let i = firstRam + 1; i < info.untypedList.length; i++) expect(info.untypedList[i]!.paddr).toBe(end(info.untypedList[i - 1]!));
    expect(firstRamUntypedSlot(info)).toBe(info.untyped.start + firstRam);
    expect(end(info.untypedList.at(-1)!)).toBe(0x80400000);
  });

  it('leaves extraBIPages {0, 0} without extra bootinfo, and the regions seL4 always fills in place', () => {
    expect(info.extraLen).toBe(0);
    expect(info.extraBIPages).toEqual({ start: 0, end: 0 });
    expect(info.userImagePaging).toEqual({ start: 16, end: 17 });
    expect(info.schedcontrol).toEqual({ start: 17, end: 18 });
    expect(info.userImageFrames).toEqual({ start: 18, end: 18 });
    expect(info.untyped.start).toBe(18);
    expect(info.empty).toEqual({ start: info.untyped.end, end: 4096 });
  });

  it("allocates the root server objects in create_rootserver_objects' order", () => {
    expect(plan.objects.map((o) => o.type)).toEqual(['cnode', 'pagetable', 'asidpool', 'frame', 'frame', 'pagetable', 'tcb', 'schedcontext']);
    expect([plan.rootCNode, plan.vspaceRoot, plan.asidPool, plan.ipcBufferFrame, plan.bootInfoFrame, plan.rootTCB, plan.rootSC]).toEqual([
      0x80000000, 0x80010000, 0x80011000, 0x80012000, 0x80013000, 0x80015000, 0x80015400,
    ]);
    // A root CNode of 2^8 slots is as large as the VSpace root, which then comes first.
    const small = planBoot({ rootCNodeSizeBits: 8 });
    expect(small.objects.slice(0, 2).map((o) => o.type)).toEqual(['pagetable', 'cnode']);
  });
});

describe('device untypeds', () => {
  it('cover each gap as a whole: adjacent device regions are one gap, cut into aligned power-of-two blocks', () => {
    const plan = planBoot({ deviceRegions: [{ base: 0x10001000, sizeBytes: 0x7000 }, { base: 0x10000000, sizeBytes: 0x1000 }] });
    const devices = plan.bootInfo.untypedList.filter((u) => u.isDevice);
    expect(devices).toEqual([{ paddr: 0x10000000, sizeBits: 15, isDevice: true }]);
  });

  it('are cut at alignment and at seL4_MaxUntypedBits, up to the top of the 32-bit space', () => {
    const plan = planBoot({ deviceRegions: [{ base: 0x1000, sizeBytes: 0x3000 }, { base: 0xa0000000, sizeBytes: 0x60000000 }] });
    expect(plan.bootInfo.untypedList.filter((u) => u.isDevice).map((u) => [u.paddr, u.sizeBits])).toEqual([
      [0x1000, 12], [0x2000, 13], [0xa0000000, 29], [0xc0000000, 29], [0xe0000000, 29],
    ]);
  });

  it(`past ${maxBootInfoUntypedCaps} untypeds the rest are dropped, not refused (RAM last, so RAM first)`, () => {
    const deviceRegions = Array.from({ length: maxBootInfoUntypedCaps + 5 }, (_, i) => ({ base: 0x10000000 + i * 0x100, sizeBytes: 0x10 }));
    const plan = planBoot({ deviceRegions, rootCNodeSizeBits: 8 });
    const info = plan.bootInfo;
    expect(info.untypedList).toHaveLength(maxBootInfoUntypedCaps);
    expect(info.untypedList.every((u) => u.isDevice)).toBe(true);
    expect(info.untypedList.at(-1)!.paddr).toBe(0x10000000 + (maxBootInfoUntypedCaps - 1) * 0x100);
    expect(info.untyped.end - info.untyped.start).toBe(maxBootInfoUntypedCaps);
    expect(info.empty).toEqual({ start: info.untyped.end, end: 256 });
    expect(() => firstRamUntypedSlot(info)).toThrow(/no RAM untyped/);
  });
});

describe('the RAM region', () => {
  it('is whole 4 KiB pages, as seL4 builds round memory regions', () => {
    expect(() => parseBootConfig({ memory: { base: 0x80000010, sizeBytes: 4 << 20 } })).toThrow(/at memory\.base: must be 4 KiB aligned/);
    expect(() => parseBootConfig({ memory: { base: 0x80000000, sizeBytes: (4 << 20) + 16 } })).toThrow(/at memory\.sizeBytes: must be a multiple of 4 KiB/);
    expect(parseBootConfig({ memory: { base: 0x80001000, sizeBytes: 4 << 20 } }).memory.base).toBe(0x80001000);
  });
});

describe('the root CNode size', () => {
  it('is 8..27 bits on 32-bit, as CONFIG_ROOT_CNODE_SIZE_BITS', () => {
    expect(() => parseBootConfig({ rootCNodeSizeBits: 7 })).toThrow(/at rootCNodeSizeBits: Too small/);
    expect(parseBootConfig({ rootCNodeSizeBits: 8 }).rootCNodeSizeBits).toBe(8);
    expect(() => parseBootConfig({ rootCNodeSizeBits: 28 })).toThrow(/at rootCNodeSizeBits: Too big/);
    // 27 is a valid size whose 2 GiB CNode does not fit the simulated RAM: named as such.
    expect(() => parseBootConfig({ rootCNodeSizeBits: 27 })).toThrow(/at rootCNodeSizeBits: the root task objects need/);
  });
});

const recorded = join(defaultRecordings, 'cnode-untyped.json');

describe.skipIf(!existsSync(recorded))('the default plan beside the bootinfo recorded on seL4', () => {
  const file = readConformanceFile(recorded);
  const seL4 = file.data.bootInfo;

  it('cuts the recorded device gaps into exactly the recorded device untypeds, listed first', () => {
    const devices = seL4.untypedList.filter((u) => u.isDevice);
    expect(seL4.untypedList.slice(0, devices.length)).toEqual(devices);
    const deviceRegions = devices.map((u) => ({ base: u.paddr, sizeBytes: 2 ** u.sizeBits }));
    const plan = planBoot({ memory: { base: 0x80200000, sizeBytes: 4 << 20 }, deviceRegions });
    expect(plan.bootInfo.untypedList.slice(0, devices.length)).toEqual(devices);
    expect(plan.bootInfo.untypedList.slice(devices.length).every((u) => !u.isDevice)).toBe(true);
  });

  it('lays the slot regions out in the same order', () => {
    const ours = planBoot({}).bootInfo;
    for (const info of [seL4, ours]) {
      expect(info.userImagePaging.start).toBe(16);
      const extraEnd = info.extraLen === 0 ? info.userImagePaging.end : info.extraBIPages.end;
      expect(info.schedcontrol).toEqual({ start: extraEnd, end: extraEnd + 1 });
      expect(info.userImageFrames.start).toBe(info.schedcontrol.end);
      expect(info.untyped.start).toBe(info.userImageFrames.end);
      expect(info.empty).toEqual({ start: info.untyped.end, end: 2 ** info.initThreadCNodeSizeBits });
    }
    expect(seL4.extraLen).toBeGreaterThan(0);
    expect(ours.extraBIPages).toEqual({ start: 0, end: 0 });
  });
});
