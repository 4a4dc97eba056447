// Counterexample files: a failure of the check saved as JSON (its settings, the shrunk run as
// concrete kernel entries with their readable calls, and where the layers disagreed), read
// back with validation, and replayed from a fresh boot without fast-check, so a file replays
// the same way however the workload generator changes.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  BootConfigError,
  accessKinds,
  bootConfigSchema,
  ipcBufferWords,
  numRegisters,
  parseBootConfig,
  planBoot,
  type BootConfigInput,
  type KernelEvent,
  type LayerName,
  maxTicks,
} from '../../libsel4/index.ts';
import type { FailureReport } from '../check.ts';
import { readJsonFile, writeFileAtomic } from '../files.ts';
import { shrinkNote, type ShrinkOutcome } from '../shrink.ts';
import { checkInvariants } from '../invariants/index.ts';
import { bootLayer, type LayerOptions } from '../layers.ts';
import { Lockstep, RefinementFailure, pairNames, parsePair, type FailureKind, type PairName } from '../lockstep/index.ts';

export const counterexampleFormat = 'sel4-model counterexample';
export const counterexampleVersion = 1;

const word = z.number().int().min(0).max(0xffffffff);
const failureKinds = ['observation', 'state', 'invariant', 'crash', 'final-state', 'choice'] as const satisfies readonly FailureKind[];

const userWritesSchema = z
  .object({
    regs: z.array(z.tuple([z.number().int().min(0).max(numRegisters - 1), word])),
    ipcBuffer: z.array(z.tuple([z.number().int().min(0).max(ipcBufferWords - 1), word])),
  })
  .strict();

/** A kernel entry as the file keeps it: time amounts are decimal strings (64-bit values). */
const entrySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('syscall'), user: userWritesSchema, raise: z.object({ irq: word, afterWorkUnits: word.min(1) }).strict().optional() }).strict(),
  z.object({ kind: z.literal('exception'), user: userWritesSchema, number: word, code: word }).strict(),
  z.object({ kind: z.literal('time'), ticks: z.string().regex(/^(0|[1-9][0-9]{0,19})$/).refine((t) => BigInt(t) <= maxTicks, 'at most 2^64 - 1') }).strict(),
  z.object({ kind: z.literal('interrupt'), irq: word }).strict(),
  z.object({ kind: z.literal('access'), user: userWritesSchema, access: z.enum(accessKinds), vaddr: word, value: word.optional() }).strict(),
]);

type PlainEntry = z.infer<typeof entrySchema>;

const counterexampleSchema = z
  .object({
    format: z.literal(counterexampleFormat),
    version: z.literal(counterexampleVersion),
    /** What the file records, written by hand (e.g. for a corpus entry: the bug and its fix). */
    note: z.string().optional(),
    /** fast-check's seed and replay path of the failure, for `sel4-model check --seed --path`. */
    seed: z.number().int(),
    path: z.string(),
    settings: z
      .object({
        runs: z.number().int().positive(),
        steps: z.number().int().positive(),
        pairs: z.array(z.enum(pairNames)).min(1),
        invariantsEveryStep: z.boolean(),
        config: bootConfigSchema,
      })
      .strict(),
    failure: z
      .object({
        kind: z.enum(failureKinds),
        /** Index into `trace` of the failing entry; -1 at boot. */
        step: z.number().int().min(-1),
        /** The pair (lower-upper), or the layer whose invariant broke or that threw. */
        pair: z.string(),
        where: z.object({ path: z.string(), lower: z.string(), upper: z.string() }).strict(),
      })
      .strict(),
    /** Present when shrinking stopped before it was done: why, and after how many replays. */
    shrink: z.object({ end: z.enum(['replay-limit', 'time-guard']), replays: z.number().int().min(0), note: z.string() }).strict().optional(),
    /** The shrunk run: each kernel entry with the call that made it and what the lowest layer answered. */
    trace: z.array(z.object({ call: z.string(), result: z.string(), entry: entrySchema }).strict()),
  })
  .strict();

export type Counterexample = z.output<typeof counterexampleSchema>;

/** What the check ran with, as recorded in the file. */
export interface CheckSettings {
  readonly runs: number;
  readonly steps: number;
  readonly pairs: readonly PairName[];
  readonly invariantsEveryStep: boolean;
  readonly config?: BootConfigInput;
}

/** A counterexample file that cannot be read or is malformed; the message names the file and the field. */
export class CounterexampleError extends Error {}

type Writes = [number, number][];

function plainEntry(event: KernelEvent): PlainEntry {
  const copy = (writes: ReadonlyArray<readonly [number, number]>): Writes => writes.map(([at, value]) => [at, value]);
  switch (event.kind) {
    case 'syscall':
      return {
        kind: 'syscall',
        user: { regs: copy(event.user.regs), ipcBuffer: copy(event.user.ipcBuffer) },
        ...(event.raise ? { raise: { irq: event.raise.irq, afterWorkUnits: event.raise.afterWorkUnits } } : {}),
      };
    case 'exception':
      return { kind: 'exception', user: { regs: copy(event.user.regs), ipcBuffer: copy(event.user.ipcBuffer) }, number: event.number, code: event.code };
    case 'time':
      return { kind: 'time', ticks: event.ticks.toString() };
    case 'interrupt':
      return { kind: 'interrupt', irq: event.irq };
    case 'access':
      return {
        kind: 'access',
        user: { regs: copy(event.user.regs), ipcBuffer: copy(event.user.ipcBuffer) },
        access: event.access,
        vaddr: event.vaddr,
        ...(event.value === undefined ? {} : { value: event.value }),
      };
  }
}

function eventOf(entry: PlainEntry): KernelEvent {
  return entry.kind === 'time' ? { kind: 'time', ticks: BigInt(entry.ticks) } : entry;
}

/** The file's `shrink` field: only when shrinking stopped early. */
function shrinkField(outcome: ShrinkOutcome): Pick<Counterexample, 'shrink'> {
  const note = shrinkNote(outcome);
  return outcome.end === 'complete' || note === null ? {} : { shrink: { end: outcome.end, replays: outcome.replays, note } };
}

export function counterexampleOf(report: FailureReport, settings: CheckSettings): Counterexample {
  if (report.trace.length !== report.events.length) {
    throw new Error(`failure report has ${report.trace.length} calls but ${report.events.length} kernel entries`);
  }
  const f = report.failure;
  return {
    format: counterexampleFormat,
    version: counterexampleVersion,
    seed: report.seed,
    path: report.path,
    settings: {
      runs: settings.runs,
      steps: settings.steps,
      pairs: [...settings.pairs],
      invariantsEveryStep: settings.invariantsEveryStep,
      config: parseBootConfig(report.config ?? settings.config),
    },
    failure: { kind: f.kind, step: f.step, pair: f.pair, where: { ...f.mismatch } },
    ...shrinkField(report.shrink),
    trace: report.trace.map((line, i) => ({ call: line.call, result: line.result, entry: plainEntry(report.events[i]!) })),
  };
}

/** Whether a value is a number or an array of numbers (arrays of those stay on one line). */
function flat(value: unknown): boolean {
  return typeof value === 'number' || (Array.isArray(value) && value.every((v) => typeof v === 'number'));
}

/** JSON with two-space indentation, except that lists of numbers (or of number pairs) stay on one line. */
function pretty(value: unknown, indent: string): string {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.every(flat)) return JSON.stringify(value).replaceAll(',', ', ');
    return value.length === 0 ? '[]' : `[\n${value.map((v) => inner + pretty(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${pretty(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

export function counterexampleJson(cx: Counterexample): string {
  return `${pretty(cx, '')}\n`;
}

/** A name that identifies the content: the same failure always gets the same name. */
export function counterexampleFileName(cx: Counterexample): string {
  const digest = createHash('sha256').update(counterexampleJson(cx)).digest('hex').slice(0, 8);
  return `seed${cx.seed}-${cx.failure.pair}-${cx.failure.kind}-${digest}.json`;
}

/** Saves a counterexample under `dir` (created if missing); returns the file's path. */
export function writeCounterexample(dir: string, cx: Counterexample): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, counterexampleFileName(cx));
  writeFileAtomic(file, counterexampleJson(cx));
  return file;
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

/** Validates parsed JSON as a counterexample; `file` names it in errors. */
export function parseCounterexample(json: unknown, file: string): Counterexample {
  const result = counterexampleSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new CounterexampleError(`${file}: invalid counterexample at ${fieldName(issue.path)}: ${issue.message}`);
  }
  const cx = result.data;
  try {
    parseBootConfig(cx.settings.config);
  } catch (error) {
    if (error instanceof BootConfigError) throw new CounterexampleError(`${file}: settings.config: ${error.message}`);
    throw error;
  }
  if (cx.failure.step >= cx.trace.length) {
    throw new CounterexampleError(`${file}: invalid counterexample at failure.step: ${cx.failure.step} is past the trace's last entry (${cx.trace.length - 1})`);
  }
  return cx;
}

export function readCounterexample(file: string): Counterexample {
  return parseCounterexample(readJsonFile(file, CounterexampleError), file);
}

export function entriesOf(cx: Counterexample): KernelEvent[] {
  return cx.trace.map((step) => eventOf(step.entry));
}

/** The pair a replay checks by default: the one that failed, or every pair the check ran. */
export function defaultReplayPairs(cx: Counterexample): PairName[] {
  const pair = cx.failure.pair;
  return (pairNames as readonly string[]).includes(pair) ? [pair as PairName] : [...cx.settings.pairs];
}

export interface ReplayOptions {
  readonly pairs?: readonly PairName[];
  readonly layerOptions?: LayerOptions;
}

export interface ReplayResult {
  readonly pairs: readonly PairName[];
  /** The first disagreement, or null when the whole trace passes. */
  readonly failure: RefinementFailure | null;
}

function asRefinementFailure(error: unknown, step: number): RefinementFailure {
  if (error instanceof RefinementFailure) return error;
  return new RefinementFailure('crash', step, 'checker', { path: 'the replay threw', lower: String(error), upper: 'no error' });
}

/**
 * Re-runs the file's kernel entries from a fresh boot (with its boot configuration) on the
 * layers of `pairs` in lockstep, ending with the full comparison and the invariants.
 */
export function replayCounterexample(cx: Counterexample, options: ReplayOptions = {}): ReplayResult {
  const pairs = options.pairs ?? defaultReplayPairs(cx);
  const plan = planBoot(cx.settings.config);
  const checked = pairs.map(parsePair);
  const names: LayerName[] = [...new Set(checked.flatMap((p) => [p.lower, p.upper]))];
  let step = -1;
  try {
    const lockstep = new Lockstep(
      names.map((n) => bootLayer(n, plan, options.layerOptions)),
      checked,
      checkInvariants,
      cx.settings.invariantsEveryStep,
    );
    for (const entry of entriesOf(cx)) {
      step++;
      lockstep.enter(entry);
    }
    lockstep.finish();
  } catch (error) {
    return { pairs, failure: asRefinementFailure(error, step) };
  }
  return { pairs, failure: null };
}

/** Whether a replay failed the way the file records. */
export function sameFailure(cx: Counterexample, failure: RefinementFailure): boolean {
  const f = cx.failure;
  return f.kind === failure.kind && f.step === failure.step && f.pair === failure.pair && f.where.path === failure.mismatch.path;
}
