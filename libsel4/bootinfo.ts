// Boot configuration (validated with zod), the boot plan every layer builds its initial
// state from, and seL4_BootInfo with its riscv32 layout.
import { z } from 'zod';
import type { Cap, CapOf } from './caps.ts';
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

export const maxBootInfoUntypedCaps = 230;
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
    /** Device memory, handed out as device untypeds. */
    deviceRegions: z.array(region).default([{ base: 0x10000000, sizeBytes: 1 << 16 }]),
    /** CONFIG_ROOT_CNODE_SIZE_BITS. */
    rootCNodeSizeBits: z.number().int().min(5).max(seL4_MaxUntypedBits - seL4_SlotBits).default(defaultRootCNodeSizeBits),
  })
  .strict();

export type BootConfig = z.output<typeof bootConfigSchema>;
export type BootConfigInput = z.input<typeof bootConfigSchema>;

export class BootConfigError extends Error {}

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
  if (config.memory.sizeBytes > 256 << 20) throw new BootConfigError('invalid boot configuration at memory.sizeBytes: at most 256 MiB is simulated');
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

const ipcBufferVaddr = 0x00100000;
const bootInfoVaddr = 0x00101000;
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

/** Lays out the root task and the untyped memory the way seL4's boot code does. */
export function planBoot(input: BootConfig | BootConfigInput | undefined): BootPlan {
  const config = parseBootConfig(input);
  const radix = config.rootCNodeSizeBits;
  const memEnd = config.memory.base + config.memory.sizeBytes;

  // Root server objects, largest first, each naturally aligned.
  const wanted: { type: BootObject['type']; sizeBits: number; role: string }[] = [
    { type: 'cnode', sizeBits: radix + seL4_SlotBits, role: 'cnode' },
    { type: 'pagetable', sizeBits: seL4_PageTableBits, role: 'vspace' },
    { type: 'pagetable', sizeBits: seL4_PageTableBits, role: 'imagePT' },
    { type: 'frame', sizeBits: seL4_PageBits, role: 'ipcBuffer' },
    { type: 'frame', sizeBits: seL4_PageBits, role: 'bootInfo' },
    { type: 'asidpool', sizeBits: seL4_ASIDPoolBits, role: 'asidPool' },
    { type: 'tcb', sizeBits: seL4_TCBBits, role: 'tcb' },
    { type: 'schedcontext', sizeBits: seL4_MinSchedContextBits, role: 'sc' },
  ];
  let at = config.memory.base;
  const placed = new Map<string, number>();
  const objects: BootObject[] = [];
  for (const w of wanted) {
    const size = 2 ** w.sizeBits;
    at = Math.ceil(at / size) * size;
    placed.set(w.role, at);
    if (w.type === 'cnode') objects.push({ type: 'cnode', addr: at, radix });
    else if (w.type === 'frame') objects.push({ type: 'frame', addr: at, sizeBits: w.sizeBits });
    else if (w.type === 'schedcontext') objects.push({ type: 'schedcontext', addr: at, sizeBits: w.sizeBits });
    else objects.push({ type: w.type, addr: at });
    at += size;
  }
  if (at > memEnd) throw new BootConfigError('invalid boot configuration at memory.sizeBytes: too small for the root task objects');
  const get = (role: string) => placed.get(role)!;

  const untypeds: UntypedDesc[] = [
    ...carveBlocks(at, memEnd - at).map((b) => ({ ...b, isDevice: false })),
    ...config.deviceRegions.flatMap((r) => carveBlocks(r.base, r.sizeBytes).map((b) => ({ ...b, isDevice: true }))),
  ];
  if (untypeds.length > maxBootInfoUntypedCaps) {
    throw new BootConfigError(`invalid boot configuration: ${untypeds.length} untyped blocks exceed the bootinfo limit of ${maxBootInfoUntypedCaps}`);
  }

  const userImagePaging = { start: seL4_NumInitialCaps, end: seL4_NumInitialCaps + 1 };
  const extraBIPages = { start: userImagePaging.end, end: userImagePaging.end };
  const schedcontrol = { start: extraBIPages.end, end: extraBIPages.end + 1 };
  const userImageFrames = { start: schedcontrol.end, end: schedcontrol.end };
  const untyped = { start: userImageFrames.end, end: userImageFrames.end + untypeds.length };
  if (untyped.end > 2 ** radix) throw new BootConfigError('invalid boot configuration at rootCNodeSizeBits: too few slots for the initial caps');
  const empty = { start: untyped.end, end: 2 ** radix };

  const mapped = (vaddr: number) => ({ asid: 1, vaddr });
  const frame = (ptr: number, vaddr: number): CapOf<'frame'> => ({
    type: 'frame', ptr, sizeBits: seL4_PageBits, vmRights: VMRights.VMReadWrite, isDevice: false, mapped: mapped(vaddr),
  });
  const cnodeCap: Cap = { type: 'cnode', ptr: get('cnode'), radix, guardSize: 32 - radix, guard: 0 };
  const vspaceCap: Cap = { type: 'pagetable', ptr: get('vspace'), mapped: mapped(0) };
  const ipcCap = frame(get('ipcBuffer'), ipcBufferVaddr);
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
    [userImagePaging.start, { type: 'pagetable', ptr: get('imagePT'), mapped: mapped(0) }],
    [schedcontrol.start, { type: 'schedcontrol', core: 0 }],
    ...untypeds.map((u, i): [number, Cap] => [
      untyped.start + i,
      { type: 'untyped', ptr: u.paddr, sizeBits: u.sizeBits, freeIndex: 2 ** u.sizeBits, isDevice: u.isDevice },
    ]),
  ];
  const tcbCaps: [number, number, Cap][] = [
    [0, seL4_CapInitThreadCNode, cnodeCap],
    [1, seL4_CapInitThreadVSpace, vspaceCap],
    [2, seL4_CapInitThreadIPCBuffer, { ...ipcCap, mapped: null }],
  ];

  const bootInfo: BootInfo = {
    extraLen: 0, nodeID: 0, numNodes: 1, numIOPTLevels: 0, ipcBuffer: ipcBufferVaddr, empty,
    sharedFrames: { start: 0, end: 0 }, userImageFrames, userImagePaging, ioSpaceCaps: { start: 0, end: 0 },
    extraBIPages, initThreadCNodeSizeBits: radix, initThreadDomain: 0, schedcontrol, untyped, untypedList: untypeds,
  };
  return {
    config, objects,
    rootCNode: get('cnode'), rootTCB: get('tcb'), rootSC: get('sc'), ipcBufferFrame: get('ipcBuffer'),
    bootInfoFrame: get('bootInfo'), vspaceRoot: get('vspace'), asidPool: get('asidPool'),
    ipcBufferVaddr, bootInfoVaddr, rootCaps, tcbCaps, untypeds, bootInfo,
    bootInfoWords: encodeBootInfo(bootInfo),
    initialRegs: [[0, entryPoint], [16, bootInfoVaddr]],
  };
}

