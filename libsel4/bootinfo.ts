// Boot configuration (validated with zod), the boot plan every layer builds its initial
// state from, and seL4_BootInfo with its riscv32 layout.
import { z } from 'zod';
import { hex, type Cap, type CapOf } from './caps.ts';
import {
  defaultRootCNodeSizeBits,
  seL4_ASIDPoolBits,
  seL4_MaxUntypedBits,
  seL4_MinSchedContextBits,
  seL4_MinUntypedBits,
  seL4_PageBits,
  seL4_PageTableBits,
  seL4_SlotBits,
  seL4_TCBBits,
  seL4_UserTop,
  type Word,
} from './constants.ts';
import { VMRights } from './rights.ts';

/** Initial cap slots of the root CNode (seL4_RootCNodeCapSlots). */
export const seL4_CapNull = 0;
export const seL4_CapInitThreadTCB = 1;
export const seL4_CapInitThreadCNode = 2;
export const seL4_CapInitThreadVSpace = 3;
export const seL4_CapIRQControl = 4;
export const seL4_CapASIDControl = 5;
export const seL4_CapInitThreadASIDPool = 6;
export const seL4_CapIOPortControl = 7;
export const seL4_CapIOSpace = 8;
export const seL4_CapBootInfoFrame = 9;
export const seL4_CapInitThreadIPCBuffer = 10;
export const seL4_CapDomain = 11;
export const seL4_CapSMMUSIDControl = 12;
export const seL4_CapSMMUCBControl = 13;
export const seL4_CapInitThreadSC = 14;
export const seL4_CapSMC = 15;
export const seL4_NumInitialCaps = 16;

/** CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS: untypeds past this many are dropped at boot (`provide_untyped_cap`). */
export const maxBootInfoUntypedCaps = 230;
/** CONFIG_ROOT_CNODE_SIZE_BITS on 32-bit: 8..27 (config.cmake; `root_cnode_size_valid` in boot.c). */
export const minRootCNodeSizeBits = 8;
export const maxRootCNodeSizeBits = 27;
/** Root task priority, MCP, and its scheduling context (round-robin, 5 ms). */
export const rootTaskPriority = 255;
export const rootTaskBudgetUs = 5000;

const region = z.object({
  base: z.number().int().nonnegative().max(0xffffffff),
  sizeBytes: z.number().int().positive(),
});

export const bootConfigSchema = z
  .object({
    /** Physical RAM the kernel hands out. */
    memory: region.default({ base: 0x80000000, sizeBytes: 4 << 20 }),
    /**
     * The physical ranges outside RAM that the boot code does not reserve: seL4 hands each gap
     * out as device untypeds, before the RAM ones; the rest of the 32-bit space counts as reserved.
     */
    deviceRegions: z.array(region).default([{ base: 0x10000000, sizeBytes: 1 << 16 }]),
    /** CONFIG_ROOT_CNODE_SIZE_BITS. */
    rootCNodeSizeBits: z.number().int().min(minRootCNodeSizeBits).max(maxRootCNodeSizeBits).default(defaultRootCNodeSizeBits),
    /** KernelFastpath: the impl's IPC fastpath for Call and ReplyRecv (the specifications have none). */
    fastpath: z.boolean().default(true),
    /** CONFIG_MAX_NUM_WORK_UNITS_PER_PREEMPTION: preemption points between checks for a pending interrupt. */
    maxWorkUnitsPerPreemption: z.number().int().min(1).max(1 << 20).default(100),
  })
  .strict();

export type BootConfig = z.output<typeof bootConfigSchema>;
export type BootConfigInput = z.input<typeof bootConfigSchema>;

export class BootConfigError extends Error {}

/** The most RAM a boot configuration may give the model (the impl holds up to this much as one array). */
export const maxConfiguredRamBytes = 256 << 20;

/** Validates a boot configuration; a bad one raises BootConfigError naming the field. */
export function parseBootConfig(input: unknown): BootConfig {
  const result = bootConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.length > 0 ? issue.path.join('.') : '(config)';
    throw new BootConfigError(`invalid boot configuration at ${path}: ${issue.message}`);
  }
  const config = result.data;
  const regions = [config.memory, ...config.deviceRegions];
  for (const [i, r] of regions.entries()) {
    const name = i === 0 ? 'memory' : `deviceRegions.${i - 1}`;
    if (r.base % (1 << seL4_MinUntypedBits) !== 0) throw new BootConfigError(`invalid boot configuration at ${name}.base: must be 16-byte aligned`);
    if (r.sizeBytes % (1 << seL4_MinUntypedBits) !== 0) throw new BootConfigError(`invalid boot configuration at ${name}.sizeBytes: must be a multiple of 16`);
    if (r.base + r.sizeBytes > 2 ** 32) throw new BootConfigError(`invalid boot configuration at ${name}: ends beyond 4 GiB`);
    for (const [j, o] of regions.entries()) {
      if (j <= i) continue;
      if (r.base < o.base + o.sizeBytes && o.base < r.base + r.sizeBytes) {
        throw new BootConfigError(`invalid boot configuration at ${name}: overlaps ${j === 0 ? 'memory' : `deviceRegions.${j - 1}`}`);
      }
    }
  }
  // seL4's build rounds RAM regions to whole pages (the hardware configuration's page bits).
  const page = 2 ** seL4_PageBits;
  if (config.memory.base % page !== 0) throw new BootConfigError('invalid boot configuration at memory.base: must be 4 KiB aligned (RAM is whole pages)');
  if (config.memory.sizeBytes % page !== 0) throw new BootConfigError('invalid boot configuration at memory.sizeBytes: must be a multiple of 4 KiB (RAM is whole pages)');
  if (config.memory.sizeBytes > maxConfiguredRamBytes) throw new BootConfigError('invalid boot configuration at memory.sizeBytes: at most 256 MiB is simulated');
  planFromConfig(config);
  return config;
}

export interface SlotRegion {
  readonly start: number;
  readonly end: number;
}

export interface UntypedDesc {
  readonly paddr: number;
  readonly sizeBits: number;
  readonly isDevice: boolean;
}

export interface BootInfo {
  readonly extraLen: number;
  readonly nodeID: number;
  readonly numNodes: number;
  readonly numIOPTLevels: number;
  readonly ipcBuffer: number;
  readonly empty: SlotRegion;
  readonly sharedFrames: SlotRegion;
  readonly userImageFrames: SlotRegion;
  readonly userImagePaging: SlotRegion;
  readonly ioSpaceCaps: SlotRegion;
  readonly extraBIPages: SlotRegion;
  readonly initThreadCNodeSizeBits: number;
  readonly initThreadDomain: number;
  readonly schedcontrol: SlotRegion;
  readonly untyped: SlotRegion;
  readonly untypedList: readonly UntypedDesc[];
}

/** The root CNode slot of the first RAM untyped: seL4 lists the device untypeds before it. */
export function firstRamUntypedSlot(info: BootInfo): number {
  const i = info.untypedList.findIndex((u) => !u.isDevice);
  if (i < 0) throw new BootConfigError('the bootinfo lists no RAM untyped');
  return info.untyped.start + i;
}

/** seL4_BootInfo as riscv32 words (untypedList entries are two words: paddr, then sizeBits | isDevice << 8). */
export function encodeBootInfo(info: BootInfo): Word[] {
  const r = (s: SlotRegion) => [s.start, s.end];
  const words = [
    info.extraLen, info.nodeID, info.numNodes, info.numIOPTLevels, info.ipcBuffer,
    ...r(info.empty), ...r(info.sharedFrames), ...r(info.userImageFrames), ...r(info.userImagePaging),
    ...r(info.ioSpaceCaps), ...r(info.extraBIPages), info.initThreadCNodeSizeBits, info.initThreadDomain,
    ...r(info.schedcontrol), ...r(info.untyped),
  ];
  for (const u of info.untypedList) words.push(u.paddr, u.sizeBits | ((u.isDevice ? 1 : 0) << 8));
  return words.map((w) => w >>> 0);
}

export function decodeBootInfo(words: readonly Word[]): BootInfo {
  const region = (i: number): SlotRegion => ({ start: words[i]!, end: words[i + 1]! });
  const untyped = region(21);
  const untypedList: UntypedDesc[] = [];
  for (let i = 0; i < untyped.end - untyped.start; i++) {
    const packed = words[23 + 2 * i + 1]!;
    untypedList.push({ paddr: words[23 + 2 * i]!, sizeBits: packed & 0xff, isDevice: ((packed >>> 8) & 0xff) !== 0 });
  }
  return {
    extraLen: words[0]!, nodeID: words[1]!, numNodes: words[2]!, numIOPTLevels: words[3]!, ipcBuffer: words[4]!,
    empty: region(5), sharedFrames: region(7), userImageFrames: region(9), userImagePaging: region(11),
    ioSpaceCaps: region(13), extraBIPages: region(15), initThreadCNodeSizeBits: words[17]!, initThreadDomain: words[18]!,
    schedcontrol: region(19), untyped, untypedList,
  };
}

export type BootObject =
  | { readonly type: 'cnode'; readonly addr: number; readonly radix: number }
  | { readonly type: 'tcb'; readonly addr: number }
  | { readonly type: 'frame'; readonly addr: number; readonly sizeBits: number }
  | { readonly type: 'pagetable'; readonly addr: number }
  | { readonly type: 'asidpool'; readonly addr: number }
  | { readonly type: 'schedcontext'; readonly addr: number; readonly sizeBits: number };

/**
 * Everything boot decides, computed once from the configuration so that every layer
 * boots to the same addresses and slots. Each layer materialises it in its own state.
 */
export interface BootPlan {
  readonly config: BootConfig;
  /** Root task objects, in allocation order. */
  readonly objects: readonly BootObject[];
  readonly rootCNode: number;
  readonly rootTCB: number;
  readonly rootSC: number;
  readonly ipcBufferFrame: number;
  readonly bootInfoFrame: number;
  readonly vspaceRoot: number;
  readonly asidPool: number;
  readonly ipcBufferVaddr: number;
  readonly bootInfoVaddr: number;
  /** Caps in the root CNode, by slot; every other slot is null. Each is the root of its own CDT. */
  readonly rootCaps: ReadonlyArray<readonly [number, Cap]>;
  /**
   * Root TCB slots filled at boot: [tcbSlot, rootCNodeSlot, cap]; each cap is inserted as a
   * CDT child of the root CNode slot it was copied from (not revocable).
   */
  readonly tcbCaps: ReadonlyArray<readonly [number, number, Cap]>;
  readonly untypeds: readonly UntypedDesc[];
  readonly bootInfo: BootInfo;
  /** The bootinfo frame's first words. */
  readonly bootInfoWords: readonly Word[];
  /** Root task registers at start (seL4_UserContext indices). */
  readonly initialRegs: ReadonlyArray<readonly [number, Word]>;
}

const defaultIPCBufferVaddr = 0x00100000;
const entryPoint = 0x00010000;

/** Aligned power-of-two blocks that exactly cover [base, base + size). */
function carveBlocks(base: number, sizeBytes: number): { paddr: number; sizeBits: number }[] {
  const blocks: { paddr: number; sizeBits: number }[] = [];
  let at = base;
  const end = base + sizeBytes;
  while (at < end) {
    let bits = seL4_MaxUntypedBits;
    while (bits > seL4_MinUntypedBits && (at % 2 ** bits !== 0 || at + 2 ** bits > end)) bits--;
    blocks.push({ paddr: at, sizeBits: bits });
    at += 2 ** bits;
  }
  return blocks;
}

/**
 * A slot region of `count` slots from `start`; seL4 leaves a region it never fills as zeros in the
 * cleared bootinfo frame (`populate_bi_frame`), so an empty one is {0, 0}.
 */
function slotsAfter(start: number, count: number): SlotRegion {
  return count === 0 ? { start: 0, end: 0 } : { start, end: start + count };
}

/** Adjacent device regions merged into the gaps they form, in address order. */
function deviceGaps(regions: readonly { base: number; sizeBytes: number }[]): { base: number; sizeBytes: number }[] {
  const gaps: { base: number; sizeBytes: number }[] = [];
  for (const r of [...regions].sort((a, b) => a.base - b.base)) {
    const last = gaps.at(-1);
    if (last !== undefined && last.base + last.sizeBytes === r.base) gaps[gaps.length - 1] = { base: last.base, sizeBytes: last.sizeBytes + r.sizeBytes };
    else gaps.push({ ...r });
  }
  return gaps;
}

/**
 * The boot untypeds as seL4's create_untypeds lists them: every device gap in address order, then
 * the free RAM, each cut into aligned power-of-two blocks (create_untypeds_for_region); past
 * CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS the rest are dropped, not refused (provide_untyped_cap).
 */
function bootUntypeds(deviceRegions: readonly { base: number; sizeBytes: number }[], freeRam: { base: number; sizeBytes: number }): UntypedDesc[] {
  const devices = deviceGaps(deviceRegions).flatMap((g) => carveBlocks(g.base, g.sizeBytes).map((b) => ({ ...b, isDevice: true })));
  const ram = carveBlocks(freeRam.base, freeRam.sizeBytes).map((b) => ({ ...b, isDevice: false }));
  return [...devices, ...ram].slice(0, maxBootInfoUntypedCaps);
}

/** Lays out the root task and the untyped memory the way seL4's boot code does. */
export function planBoot(input: BootConfig | BootConfigInput | undefined): BootPlan {
  return planFromConfig(parseBootConfig(input));
}

function sizeText(bytes: number): string {
  const [amount, unit] = bytes >= 1 << 20 ? [bytes / 2 ** 20, 'MiB'] : [bytes / 1024, 'KiB'];
  return `${Number.isInteger(amount) ? amount : amount.toFixed(2)} ${unit}`;
}

/** A root task object to place: its type and size, and the role the plan names it by. */
interface Wanted {
  readonly type: BootObject['type'];
  readonly sizeBits: number;
  readonly role: string;
}

/** How many of each per-slot object the root task has: image page tables, extra bootinfo pages, image frames. */
interface RootTaskCounts {
  readonly imagePaging: number;
  readonly extraBIPages: number;
  readonly imageFrames: number;
}

/**
 * The root server objects in the order of seL4's create_rootserver_objects: the root CNode and
 * the VSpace root, the larger first (the VSpace first when equal), the extra bootinfo pages, the
 * ASID pool, IPC buffer, bootinfo frame, the image's page tables, TCB and scheduling context;
 * then the image frames (loaded by the ELF loader in seL4, placed last here).
 */
function rootTaskObjects(radix: number, counts: RootTaskCounts): Wanted[] {
  const each = (n: number, w: Omit<Wanted, 'role'>, role: string): Wanted[] => Array.from({ length: n }, (_, i) => ({ ...w, role: `${role}${i}` }));
  const page = { type: 'frame', sizeBits: seL4_PageBits } as const;
  const cnode: Wanted = { type: 'cnode', sizeBits: radix + seL4_SlotBits, role: 'cnode' };
  const vspace: Wanted = { type: 'pagetable', sizeBits: seL4_PageTableBits, role: 'vspace' };
  return [
    ...(cnode.sizeBits > vspace.sizeBits ? [cnode, vspace] : [vspace, cnode]),
    ...each(counts.extraBIPages, page, 'extraBI'),
    { type: 'asidpool', sizeBits: seL4_ASIDPoolBits, role: 'asidPool' },
    { ...page, role: 'ipcBuffer' },
    { ...page, role: 'bootInfo' },
    ...each(counts.imagePaging, { type: 'pagetable', sizeBits: seL4_PageTableBits }, 'imagePT'),
    { type: 'tcb', sizeBits: seL4_TCBBits, role: 'tcb' },
    { type: 'schedcontext', sizeBits: seL4_MinSchedContextBits, role: 'sc' },
    ...each(counts.imageFrames, page, 'imageFrame'),
  ];
}

function bootObject(w: Wanted, addr: number, radix: number): BootObject {
  switch (w.type) {
    case 'cnode':
      return { type: 'cnode', addr, radix };
    case 'frame':
    case 'schedcontext':
      return { type: w.type, addr, sizeBits: w.sizeBits };
    default:
      return { type: w.type, addr };
  }
}

/** The plan of a configuration whose fields are valid; one the root task does not fit raises BootConfigError naming the field. */
function planFromConfig(config: BootConfig): BootPlan {
  const radix = config.rootCNodeSizeBits;
  const memEnd = config.memory.base + config.memory.sizeBytes;
  const counts = { imagePaging: 1, extraBIPages: 0, imageFrames: 0 };

  // Each object naturally aligned, one after the other from the start of memory.
  let at = config.memory.base;
  const placed = new Map<string, number>();
  const objects: BootObject[] = [];
  for (const w of rootTaskObjects(radix, counts)) {
    const size = 2 ** w.sizeBits;
    at = Math.ceil(at / size) * size;
    placed.set(w.role, at);
    objects.push(bootObject(w, at, radix));
    at += size;
  }
  if (at > memEnd) {
    const cnodeBytes = 2 ** (radix + seL4_SlotBits);
    const field = cnodeBytes > config.memory.sizeBytes ? 'rootCNodeSizeBits' : 'memory.sizeBytes';
    throw new BootConfigError(
      `invalid boot configuration at ${field}: the root task objects need ${sizeText(at - config.memory.base)} of memory ` +
        `(the root CNode of 2^${radix} slots alone ${sizeText(cnodeBytes)}), but memory.sizeBytes is ${sizeText(config.memory.sizeBytes)}`,
    );
  }

  const untypeds = bootUntypeds(config.deviceRegions, { base: at, sizeBytes: memEnd - at });
  const userImagePaging = { start: seL4_NumInitialCaps, end: seL4_NumInitialCaps + counts.imagePaging };
  const extraBIPages = slotsAfter(userImagePaging.end, counts.extraBIPages);
  const schedcontrol = { start: userImagePaging.end + counts.extraBIPages, end: userImagePaging.end + counts.extraBIPages + 1 };
  const userImageFrames = { start: schedcontrol.end, end: schedcontrol.end + counts.imageFrames };
  const untyped = { start: userImageFrames.end, end: userImageFrames.end + untypeds.length };
  // At most 16 + 1 + 1 + 230 slots: the smallest root CNode (2^8) holds them all, as seL4's provide_cap needs.
  const bootInfo: BootInfo = {
    extraLen: 0, nodeID: 0, numNodes: 1, numIOPTLevels: 0, ipcBuffer: defaultIPCBufferVaddr, empty: { start: untyped.end, end: 2 ** radix },
    sharedFrames: { start: 0, end: 0 }, userImageFrames, userImagePaging, ioSpaceCaps: { start: 0, end: 0 },
    extraBIPages, initThreadCNodeSizeBits: radix, initThreadDomain: 0, schedcontrol, untyped, untypedList: untypeds,
  };
  return assemblePlan(config, objects, placed, bootInfo);
}

/**
 * The caps, TCB slots and bootinfo of a root task whose objects are placed (`placed`: address by
 * role) and whose bootinfo says where each cap goes. seL4 maps the bootinfo frame one page after
 * the IPC buffer, the extra bootinfo pages after it, and the image frames just below the IPC buffer.
 */
function assemblePlan(config: BootConfig, objects: readonly BootObject[], placed: ReadonlyMap<string, number>, bootInfo: BootInfo): BootPlan {
  const get = (role: string) => placed.get(role)!;
  const radix = bootInfo.initThreadCNodeSizeBits;
  const ipcBufferVaddr = bootInfo.ipcBuffer;
  const bootInfoVaddr = ipcBufferVaddr + 2 ** seL4_PageBits;
  const mapped = (vaddr: number) => ({ asid: 1, vaddr });
  const frame = (ptr: number, vaddr: number): CapOf<'frame'> => ({
    type: 'frame', ptr, sizeBits: seL4_PageBits, vmRights: VMRights.VMReadWrite, isDevice: false, mapped: mapped(vaddr),
  });
  const inRegion = (region: SlotRegion, cap: (i: number) => Cap): [number, Cap][] =>
    Array.from({ length: region.end - region.start }, (_, i) => [region.start + i, cap(i)]);
  const cnodeCap: Cap = { type: 'cnode', ptr: get('cnode'), radix, guardSize: 32 - radix, guard: 0 };
  const vspaceCap: Cap = { type: 'pagetable', ptr: get('vspace'), mapped: mapped(0) };
  const ipcCap = frame(get('ipcBuffer'), ipcBufferVaddr);
  const imageFrames = bootInfo.userImageFrames.end - bootInfo.userImageFrames.start;
  const rootCaps: [number, Cap][] = [
    [seL4_CapInitThreadTCB, { type: 'thread', ptr: get('tcb') }],
    [seL4_CapInitThreadCNode, cnodeCap],
    [seL4_CapInitThreadVSpace, vspaceCap],
    [seL4_CapIRQControl, { type: 'irqcontrol' }],
    [seL4_CapASIDControl, { type: 'asidcontrol' }],
    [seL4_CapInitThreadASIDPool, { type: 'asidpool', ptr: get('asidPool'), asidBase: 0 }],
    [seL4_CapBootInfoFrame, frame(get('bootInfo'), bootInfoVaddr)],
    [seL4_CapInitThreadIPCBuffer, ipcCap],
    [seL4_CapDomain, { type: 'domain' }],
    [seL4_CapInitThreadSC, { type: 'schedcontext', ptr: get('sc'), sizeBits: seL4_MinSchedContextBits }],
    ...inRegion(bootInfo.userImagePaging, (i) => ({ type: 'pagetable', ptr: get(`imagePT${i}`), mapped: mapped(i << 22) })),
    ...inRegion(bootInfo.extraBIPages, (i) => frame(get(`extraBI${i}`), bootInfoVaddr + (i + 1) * 2 ** seL4_PageBits)),
    ...inRegion(bootInfo.schedcontrol, (i) => ({ type: 'schedcontrol', core: i })),
    ...inRegion(bootInfo.userImageFrames, (i) => frame(get(`imageFrame${i}`), ipcBufferVaddr - (imageFrames - i) * 2 ** seL4_PageBits)),
    ...inRegion(bootInfo.untyped, (i) => {
      const u = bootInfo.untypedList[i]!;
      return { type: 'untyped', ptr: u.paddr, sizeBits: u.sizeBits, freeIndex: 2 ** u.sizeBits, isDevice: u.isDevice };
    }),
  ];
  const tcbCaps: [number, number, Cap][] = [
    [0, seL4_CapInitThreadCNode, cnodeCap],
    [1, seL4_CapInitThreadVSpace, vspaceCap],
    [2, seL4_CapInitThreadIPCBuffer, { ...ipcCap, mapped: null }],
  ];
  return {
    config, objects,
    rootCNode: get('cnode'), rootTCB: get('tcb'), rootSC: get('sc'), ipcBufferFrame: get('ipcBuffer'),
    bootInfoFrame: get('bootInfo'), vspaceRoot: get('vspace'), asidPool: get('asidPool'),
    ipcBufferVaddr, bootInfoVaddr, rootCaps, tcbCaps, untypeds: bootInfo.untypedList, bootInfo,
    bootInfoWords: encodeBootInfo(bootInfo),
    initialRegs: [[0, entryPoint], [16, bootInfoVaddr]],
  };
}

/** A recorded seL4_BootInfo the model cannot boot into: `field` is its path inside bootInfo. */
class RecordedBootError extends BootConfigError {
  constructor(field: string, reason: string) {
    super(`bootInfo.${field}: ${reason}`);
  }
}

const regionNames = ['userImagePaging', 'extraBIPages', 'schedcontrol', 'userImageFrames', 'untyped', 'empty'] as const;

/** The slot regions lie in the root CNode after the initial caps, without overlapping. */
function checkRecordedRegions(info: BootInfo): void {
  const slots = 2 ** info.initThreadCNodeSizeBits;
  const sorted = regionNames.map((name) => ({ name, region: info[name] })).sort((a, b) => a.region.start - b.region.start);
  let previous: { name: string; end: number } = { name: 'the initial caps', end: seL4_NumInitialCaps };
  for (const { name, region } of sorted) {
    if (region.start > region.end) throw new RecordedBootError(name, `start ${region.start} is after end ${region.end}`);
    if (region.end > slots) throw new RecordedBootError(`${name}.end`, `${region.end} is outside the root CNode of ${slots} slots`);
    if (region.start === region.end) continue;
    if (region.start < previous.end) throw new RecordedBootError(`${name}.start`, `slot ${region.start} overlaps ${previous.name}`);
    previous = { name, end: region.end };
  }
  if (info.empty.end !== slots) throw new RecordedBootError('empty.end', `must be the root CNode's size ${slots}: the model has no slots after the empty region`);
}

/** Fields of a single-core riscv32 seL4 with one domain and no IOMMU, which is all the model represents. */
function checkRecordedScalars(info: BootInfo): void {
  const fixed: [keyof BootInfo, number, string][] = [
    ['nodeID', 0, 'the model is single core'],
    ['numNodes', 1, 'the model is single core'],
    ['numIOPTLevels', 0, 'riscv32 has no IOMMU page tables'],
    ['initThreadDomain', 0, 'the model has one domain'],
  ];
  for (const [field, value, why] of fixed) {
    if (info[field] !== value) throw new RecordedBootError(field, `${String(info[field])} cannot be represented (must be ${value}: ${why})`);
  }
  for (const field of ['sharedFrames', 'ioSpaceCaps'] as const) {
    if (info[field].end !== info[field].start) throw new RecordedBootError(field, 'must be empty on riscv32');
  }
  const radix = info.initThreadCNodeSizeBits;
  if (!Number.isInteger(radix) || radix < minRootCNodeSizeBits || radix > maxRootCNodeSizeBits) {
    throw new RecordedBootError('initThreadCNodeSizeBits', `${radix} is outside ${minRootCNodeSizeBits}..${maxRootCNodeSizeBits}`);
  }
  if (info.schedcontrol.end - info.schedcontrol.start !== 1) throw new RecordedBootError('schedcontrol', 'must be one slot (one core)');
  if (info.ipcBuffer % 2 ** seL4_PageBits !== 0 || info.ipcBuffer + 2 ** (seL4_PageBits + 1) > seL4_UserTop) {
    throw new RecordedBootError('ipcBuffer', `${hex(info.ipcBuffer)} is not a page-aligned user address with room for the bootinfo frame after it`);
  }
  const imageBytes = (info.userImageFrames.end - info.userImageFrames.start) * 2 ** seL4_PageBits;
  if (imageBytes > info.ipcBuffer) throw new RecordedBootError('userImageFrames', `${imageBytes} bytes of image do not fit below the IPC buffer`);
  if (info.extraLen > (info.extraBIPages.end - info.extraBIPages.start) * 2 ** seL4_PageBits) {
    throw new RecordedBootError('extraLen', `${info.extraLen} bytes do not fit in the extra bootinfo pages`);
  }
}

/** Every untyped aligned, inside the 32-bit physical space, not overlapping another, one per untyped slot. */
function checkRecordedUntypeds(info: BootInfo): void {
  const list = info.untypedList;
  if (info.untyped.end - info.untyped.start !== list.length) {
    throw new RecordedBootError('untyped', `${info.untyped.end - info.untyped.start} slots but untypedList has ${list.length} entries`);
  }
  if (list.length > maxBootInfoUntypedCaps) throw new RecordedBootError('untypedList', `${list.length} entries exceed seL4's limit of ${maxBootInfoUntypedCaps}`);
  for (const [i, u] of list.entries()) {
    if (u.sizeBits < seL4_MinUntypedBits || u.sizeBits > seL4_MaxUntypedBits) {
      throw new RecordedBootError(`untypedList.${i}.sizeBits`, `${u.sizeBits} is outside ${seL4_MinUntypedBits}..${seL4_MaxUntypedBits}`);
    }
    if (u.paddr % 2 ** u.sizeBits !== 0 || u.paddr + 2 ** u.sizeBits > 2 ** 32) {
      throw new RecordedBootError(`untypedList.${i}.paddr`, `${hex(u.paddr)} is not aligned to its size 2^${u.sizeBits} inside the 32-bit physical space`);
    }
  }
  const order = list.map((u, i) => ({ u, i })).sort((a, b) => a.u.paddr - b.u.paddr);
  for (let k = 1; k < order.length; k++) {
    const before = order[k - 1]!;
    if (before.u.paddr + 2 ** before.u.sizeBits > order[k]!.u.paddr) {
      throw new RecordedBootError(`untypedList.${order[k]!.i}.paddr`, `overlaps untypedList.${before.i}`);
    }
  }
}

/** Address ranges [start, end) of RAM that no recorded untyped covers, in address order. */
function recordedHoles(list: readonly UntypedDesc[]): { start: number; end: number }[] {
  const ram = list.filter((u) => !u.isDevice);
  if (ram.length === 0) throw new RecordedBootError('untypedList', 'no RAM untyped: the model places the root task objects in RAM between them');
  const covered = list.map((u) => ({ start: u.paddr, end: u.paddr + 2 ** u.sizeBits })).sort((a, b) => a.start - b.start);
  const ramStart = Math.min(...ram.map((u) => u.paddr));
  const ramEnd = Math.max(...ram.map((u) => u.paddr + 2 ** u.sizeBits));
  const holes: { start: number; end: number }[] = [];
  let at = ramStart;
  for (const c of covered) {
    if (c.end <= at || c.start >= ramEnd) continue;
    if (c.start > at) holes.push({ start: at, end: c.start });
    at = Math.max(at, c.end);
  }
  return holes;
}

/**
 * The plan of a recorded boot: the recorded bootinfo as it is (every untyped at its slot with
 * its address, size and device flag; the slot regions; the IPC buffer address), the root task's
 * objects placed where seL4's boot code put them (`placeAsSeL4`), in the RAM no recorded untyped
 * covers, so no retype from a recorded untyped ever meets them. A bootinfo the model cannot
 * represent raises RecordedBootError naming the field.
 */
export function planRecordedBoot(info: BootInfo): BootPlan {
  checkRecordedScalars(info);
  checkRecordedRegions(info);
  checkRecordedUntypeds(info);
  const radix = info.initThreadCNodeSizeBits;
  const count = (r: SlotRegion) => r.end - r.start;
  const wanted = rootTaskObjects(radix, {
    imagePaging: count(info.userImagePaging), extraBIPages: count(info.extraBIPages), imageFrames: count(info.userImageFrames),
  });
  const holes = recordedHoles(info.untypedList);
  const placed = placeAsSeL4(holes, wanted, radix);
  const objects: BootObject[] = [];
  const taken: SlotRegion[] = [];
  for (const w of wanted) {
    const addr = placed.get(w.role)!;
    objects.push(bootObject(w, addr, radix));
    taken.push({ start: addr, end: addr + 2 ** w.sizeBits });
  }
  const inRam = [
    ...taken,
    ...info.untypedList.filter((u) => !u.isDevice).map((u) => ({ start: u.paddr, end: u.paddr + 2 ** u.sizeBits })),
  ];
  const base = Math.min(...inRam.map((r) => r.start));
  const top = Math.max(...inRam.map((r) => r.end));
  const config: BootConfig = { memory: { base, sizeBytes: top - base }, deviceRegions: [], rootCNodeSizeBits: radix, fastpath: true, maxWorkUnitsPerPreemption: 100 };
  return assemblePlan(config, objects, placed, info);
}

/**
 * Where seL4's boot put the root task's objects, in the holes the recorded untypeds leave: the
 * root server block (init_freemem) at the top of the highest hole that holds it, rounded down to
 * its largest object, filled in create_rootserver_objects' order (the extra bootinfo as one
 * block as soon as no larger object is left, the CNode and the VSpace root the larger first,
 * then the ASID pool, IPC buffer, bootinfo frame, image page tables, TCB and scheduling
 * context); the image frames where the ELF loader put them: contiguous, in the first hole left
 * that holds them all.
 */
function placeAsSeL4(holes: readonly { start: number; end: number }[], wanted: readonly Wanted[], radix: number): Map<string, number> {
  const { blocks, alignBits } = rootserverBlocks(wanted, radix);
  const size = blocks.reduce((n, b) => n + b.bytes, 0);
  const topStart = (h: { end: number }) => Math.floor((h.end - size) / 2 ** alignBits) * 2 ** alignBits;
  const hole = [...holes].reverse().find((h) => topStart(h) >= h.start);
  if (hole === undefined) throw new RecordedBootError('untypedList', `no hole between the recorded untypeds holds the root task's objects (${size} bytes)`);
  const placed = new Map<string, number>();
  const blockStart = topStart(hole);
  let at = blockStart;
  for (const { objects, bytes } of blocks) {
    objects.forEach((w, i) => placed.set(w.role, at + i * 2 ** w.sizeBits));
    at += bytes;
  }
  const image = wanted.filter((w) => w.role.startsWith('imageFrame'));
  const imageBytes = image.length * 2 ** seL4_PageBits;
  const pageUp = (addr: number) => Math.ceil(addr / 2 ** seL4_PageBits) * 2 ** seL4_PageBits;
  const left = holes.flatMap((h) => (h === hole ? [{ start: h.start, end: blockStart }, { start: blockStart + size, end: h.end }] : [h]));
  const imageHole = left.find((h) => pageUp(h.start) + imageBytes <= h.end);
  if (imageHole === undefined) throw new RecordedBootError('untypedList', `no hole between the recorded untypeds holds the root task's ${image.length} image frames`);
  image.forEach((w, i) => placed.set(w.role, pageUp(imageHole.start) + i * 2 ** seL4_PageBits));
  return placed;
}

/**
 * The root server's objects as create_rootserver_objects allocates them: blocks in order, each
 * of objects of one kind laid end to end (the extra bootinfo pages one block of 2^n bytes, placed
 * as soon as no larger object is left), and the alignment of the whole (its largest object).
 */
function rootserverBlocks(wanted: readonly Wanted[], radix: number): { blocks: { objects: readonly Wanted[]; bytes: number }[]; alignBits: number } {
  const roles = (prefix: string) => wanted.filter((w) => w.role.startsWith(prefix));
  const block = (objects: readonly Wanted[]) => ({ objects, bytes: objects.reduce((n, w) => n + 2 ** w.sizeBits, 0) });
  const extra = roles('extraBI');
  const extraBits = extra.length === 0 ? 0 : seL4_PageBits + Math.ceil(Math.log2(extra.length));
  const cnodeBits = radix + seL4_SlotBits;
  const alignBits = Math.max(cnodeBits, seL4_PageTableBits, extraBits);
  const blocks: { objects: readonly Wanted[]; bytes: number }[] = [];
  let extraPlaced = extra.length === 0;
  const maybeExtra = (cmpBits: number) => {
    if (extraPlaced || extraBits < cmpBits) return;
    blocks.push({ objects: extra, bytes: 2 ** extraBits });
    extraPlaced = true;
  };
  maybeExtra(alignBits);
  const [first, second, secondBits] = cnodeBits > seL4_PageTableBits ? [roles('cnode'), roles('vspace'), seL4_PageTableBits] : [roles('vspace'), roles('cnode'), cnodeBits];
  blocks.push(block(first));
  maybeExtra(secondBits);
  blocks.push(block(second));
  maybeExtra(seL4_PageBits);
  for (const role of ['asidPool', 'ipcBuffer', 'bootInfo', 'imagePT', 'tcb', 'sc']) blocks.push(block(roles(role)));
  return { blocks, alignBits };
}
