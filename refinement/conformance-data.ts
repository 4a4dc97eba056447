// The recorded conformance data (traces recorded on seL4 itself, format of
// ../shared/conformance/README.md), validated with zod; a file the model cannot use raises
// ConformanceDataError naming the file and the field.
import { z } from 'zod';
import { BootConfigError, planRecordedBoot, type BootPlan } from '../libsel4/index.ts';
import { readJsonFile } from './files.ts';

export class ConformanceDataError extends Error {}

const conformanceFormat = 'sel4-conformance';
const conformanceVersion = 1;

const word = z.number().int().min(0).max(0xffffffff);
const slotRegion = z.object({ start: word, end: word }).strict();
export const recordedRegisters = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 't0'] as const;
export type RecordedRegister = (typeof recordedRegisters)[number];
const registers = z
  .object({ a0: word, a1: word, a2: word, a3: word, a4: word, a5: word, a6: word, a7: word, t0: word.optional() })
  .strict();
/** [word index, value] pairs of the 128-word IPC buffer. */
const bufferWords = z.array(z.tuple([z.number().int().min(0).max(127), word]));

const bootInfoSchema = z
  .object({
    extraLen: word, nodeID: word, numNodes: word, numIOPTLevels: word, ipcBuffer: word,
    empty: slotRegion, sharedFrames: slotRegion, userImageFrames: slotRegion, userImagePaging: slotRegion,
    ioSpaceCaps: slotRegion, extraBIPages: slotRegion, initThreadCNodeSizeBits: word, initThreadDomain: word,
    schedcontrol: slotRegion, untyped: slotRegion,
    untypedList: z.array(z.object({ paddr: word, sizeBits: word, isDevice: z.union([z.literal(0), z.literal(1)]).transform((d) => d === 1) }).strict()),
  })
  .strict();

const entrySchema = z
  .object({
    in: z.object({ regs: registers, ipcBuffer: bufferWords }).strict(),
    out: z.object({ regs: registers, ipcBuffer: bufferWords }).strict(),
    note: z.string().optional(),
    kernelLog: z.array(z.string()).optional(),
    volatile: z.array(z.enum(recordedRegisters)).optional(),
    volatileIpcBuffer: z.array(z.number().int().min(0).max(127)).optional(),
  })
  .strict();

const traceSchema = z
  .object({
    name: z.string().min(1),
    entries: z.array(entrySchema),
    capTypesAfter: z.array(z.tuple([word, word])),
  })
  .strict();

const fileSchema = z
  .object({
    format: z.literal(conformanceFormat),
    version: z.literal(conformanceVersion),
    recordedOn: z.object({ kernel: z.string(), arch: z.string(), config: z.string(), emulator: z.string() }).strict(),
    bootInfo: bootInfoSchema,
    capTypesRange: slotRegion,
    traces: z.array(traceSchema),
  })
  .strict();

type RecordedFile = z.output<typeof fileSchema>;
export type RecordedTrace = z.output<typeof traceSchema>;
export type RecordedEntry = z.output<typeof entrySchema>;

/** seL4_DebugCapIdentify's answers on riscv32: the kernel's cap_tag_t values. */
export const capTagNames: Readonly<Record<number, string>> = {
  0: 'null', 1: 'frame', 2: 'untyped', 3: 'pagetable', 4: 'endpoint', 6: 'notification', 8: 'reply', 10: 'cnode',
  11: 'asidcontrol', 12: 'thread', 13: 'asidpool', 14: 'irqcontrol', 30: 'irqhandler', 46: 'zombie', 62: 'domain',
  78: 'schedcontext', 94: 'schedcontrol',
};

/** A data file read and checked, with the boot plan of its recorded boot state. */
export interface ConformanceFile {
  readonly path: string;
  readonly data: RecordedFile;
  readonly plan: BootPlan;
}

function fieldOf(path: readonly PropertyKey[]): string {
  return path.length > 0 ? path.map(String).join('.') : '(file)';
}

/** The format and version first, so a newer file is named as such rather than as malformed. */
function checkFormat(path: string, json: unknown): void {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConformanceDataError(`${path}: not a conformance data file (expected a JSON object)`);
  const { format, version } = json as { format?: unknown; version?: unknown };
  if (format !== conformanceFormat) throw new ConformanceDataError(`${path}: format: expected "${conformanceFormat}", found ${JSON.stringify(format) ?? 'nothing'}`);
  if (version !== conformanceVersion) {
    throw new ConformanceDataError(`${path}: version: format version ${JSON.stringify(version) ?? '(missing)'} is not supported (this model reads version ${conformanceVersion})`);
  }
}

/** Slots the recording names must be slots of the root CNode, and cap types ones seL4 has. */
function checkSlots(path: string, data: RecordedFile): void {
  const slots = 2 ** data.bootInfo.initThreadCNodeSizeBits;
  const range = data.capTypesRange;
  if (range.start > range.end || range.end > slots) {
    throw new ConformanceDataError(`${path}: capTypesRange: ${range.start}..${range.end} is not a range of slots of the root CNode (${slots} slots)`);
  }
  for (const [t, trace] of data.traces.entries()) {
    for (const [k, [slot, tag]] of trace.capTypesAfter.entries()) {
      const at = `traces.${t}.capTypesAfter.${k}`;
      if (slot < range.start || slot >= range.end) {
        throw new ConformanceDataError(`${path}: ${at}.0: slot ${slot} is outside capTypesRange ${range.start}..${range.end} of the root CNode (${slots} slots)`);
      }
      if (capTagNames[tag] === undefined) throw new ConformanceDataError(`${path}: ${at}.1: ${tag} is not a riscv32 cap type`);
    }
  }
}

/** Reads, validates and plans the boot of one data file. */
export function readConformanceFile(path: string): ConformanceFile {
  const json = readJsonFile(path, ConformanceDataError);
  checkFormat(path, json);
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConformanceDataError(`${path}: invalid conformance data at ${fieldOf(issue.path)}: ${issue.message}`);
  }
  checkSlots(path, parsed.data);
  try {
    return { path, data: parsed.data, plan: planRecordedBoot(parsed.data.bootInfo) };
  } catch (error) {
    if (error instanceof BootConfigError) throw new ConformanceDataError(`${path}: the recorded boot state cannot be represented: ${error.message}`);
    throw error;
  }
}
