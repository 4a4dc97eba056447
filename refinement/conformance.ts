// Conformance with seL4 itself: each layer boots into the recorded boot state, is fed the
// recorded kernel entries one by one, and must answer every one as the real kernel did (every
// reply register and IPC buffer word), then hold the recorded cap type in every root CNode slot.
import { basename } from 'node:path';
import {
  InvocationLabel,
  Reg,
  errorName,
  ipcBufferWords,
  messageInfoFromWord,
  msgRegisters,
  msgWordIndex,
  seL4_MsgMaxLength,
  seL4_Syscall,
  syscallFromWord,
  type Cap,
  type KernelEvent,
  type LayerName,
  type Observation,
  type ThreadObservation,
  type Word,
} from '../libsel4/index.ts';
import { capTagNames, recordedRegisters, type ConformanceFile, type RecordedEntry, type RecordedRegister, type RecordedTrace } from './conformance-data.ts';
import { knownFailureOf, type KnownFailure } from './conformance-known.ts';
import { decodeEntry, shown, stateAtEntry } from './reports/describe.ts';
import { bootLayer, type LayerOptions } from './layers.ts';
import type { RunningLayer } from './running.ts';

/** One place where a layer's answer differs from seL4's. */
export interface Difference {
  readonly where: string;
  readonly seL4: string;
  readonly model: string;
}

/** How a trace went on one layer. */
export type LayerVerdict =
  | { readonly kind: 'pass' }
  /** `entry`: index of the first differing entry, or null when the entries agreed and the cap types differ. */
  | { readonly kind: 'fail'; readonly entry: number | null; readonly call: string | null; readonly seL4: string; readonly model: string; readonly differences: readonly Difference[] }
  | { readonly kind: 'unmodelled'; readonly entry: number; readonly call: string; readonly reason: string };

export interface LayerRun {
  readonly layer: LayerName;
  readonly verdict: LayerVerdict;
  /** Entries whose every reply word agreed. */
  readonly agreed: number;
  /** 1 when an entry reached behaviour the model does not cover, else 0. */
  readonly unmodelled: number;
  /** Entries after the unmodelled one: the kernel's state moved on where the model's did not. */
  readonly notComparable: number;
  /** Reply words of the agreeing entries left uncompared because the recording marks them volatile (time). */
  readonly volatileWords: number;
}

/** The invocation families the summary counts apart (issue 9), told by an entry's input label. */
export const countedFamilies = ['TCB', 'SchedControl', 'SchedContext'] as const;
export type CountedFamily = (typeof countedFamilies)[number];

const invoking: readonly number[] = [seL4_Syscall.seL4_SysCall, seL4_Syscall.seL4_SysSend, seL4_Syscall.seL4_SysNBSend];

/** The family of a Call, Send or NBSend by its input label, as the recordings' README counts them; null for any other entry. */
function familyOf(entry: RecordedEntry): CountedFamily | null {
  if (!invoking.includes(syscallFromWord(entry.in.regs.a7))) return null;
  const label = messageInfoFromWord(entry.in.regs.a1).label;
  if (label >= InvocationLabel.TCBReadRegisters && label <= InvocationLabel.TCBSetFlags) return 'TCB';
  if (label === InvocationLabel.SchedControlConfigureFlags) return 'SchedControl';
  if (label >= InvocationLabel.SchedContextBind && label <= InvocationLabel.SchedContextYieldTo) return 'SchedContext';
  return null;
}

export interface TraceResult {
  readonly file: string;
  readonly trace: string;
  readonly entries: number;
  /** Each entry's counted family (or null); a layer agreed on the entries before its `agreed` count. */
  readonly families: readonly (CountedFamily | null)[];
  readonly runs: readonly LayerRun[];
  /** Set when this trace is a known failure (with the issue that will fix it). */
  readonly known: KnownFailure | null;
}

/** Message info words in hex: label, caps and length read off at a glance. */
const hexWord = (w: Word) => `0x${w.toString(16)}`;

/** The entry as our kernel event: the recorded registers (t0 = 0 where not set) and IPC buffer writes. */
function eventOf(entry: RecordedEntry): KernelEvent {
  const regs = recordedRegisters.map((name): [number, Word] => [Reg[name], entry.in.regs[name] ?? 0]);
  return { kind: 'syscall', user: { regs, ipcBuffer: entry.in.ipcBuffer } };
}

/** What a reply says, in seL4 terms: the error and message words of a Call, the badge of a receive. */
function answerText(sysno: number, reg: (name: RecordedRegister) => Word, word: (i: number) => Word): string {
  if (sysno === seL4_Syscall.seL4_SysCall) {
    const info = messageInfoFromWord(reg('a1'));
    const length = Math.min(info.length, seL4_MsgMaxLength);
    const mrs = Array.from({ length }, (_, i) => (i < msgRegisters.length ? reg(recordedRegisters[2 + i]!) : word(msgWordIndex(i))));
    const name = errorName[info.label] ?? `label ${info.label}`;
    return mrs.length > 0 ? `${name} [${mrs.map(shown).join(', ')}]` : name;
  }
  if (sysno === seL4_Syscall.seL4_SysNBRecv || sysno === seL4_Syscall.seL4_SysNBWait) return `badge ${shown(reg('a0'))}`;
  return 'returned';
}

function recordedAnswer(entry: RecordedEntry): string {
  const words = new Map(entry.out.ipcBuffer);
  return answerText(syscallFromWord(entry.in.regs.a7), (r) => entry.out.regs[r] ?? 0, (i) => words.get(i) ?? 0);
}

function modelAnswer(entry: RecordedEntry, caller: ThreadObservation): string {
  return answerText(syscallFromWord(entry.in.regs.a7), (r) => caller.regs[Reg[r]]!, (i) => caller.ipcBuffer?.[i] ?? 0);
}

/** The reply words the recording marks volatile (their value depends on time): registers it records, and IPC buffer words. */
function volatileWordsOf(entry: RecordedEntry): number {
  const registers = (entry.volatile ?? []).filter((name) => entry.out.regs[name] !== undefined);
  return new Set(registers).size + new Set(entry.volatileIpcBuffer ?? []).size;
}

/**
 * Every place the layer's observation differs from the recorded reply: the root thread must go
 * on running; each recorded register (but the volatile ones) and every IPC buffer word (a word
 * the recording does not list kept its value from before the entry) must match.
 */
function compareEntry(entry: RecordedEntry, bufferAtEntry: readonly Word[], obs: Observation, root: number): Difference[] {
  const caller = obs.caller;
  if (caller === null || caller.tcb !== root || caller.state !== 'Running' || obs.current !== root) {
    const state = caller === null ? 'no caller' : `${caller.state}`;
    return [{ where: 'root thread', seL4: 'Running, runs next', model: `${state}, next ${obs.current === null ? 'idle' : shown(obs.current)}` }];
  }
  const differences: Difference[] = [];
  const volatile = new Set<string>(entry.volatile ?? []);
  for (const name of recordedRegisters) {
    const expected = entry.out.regs[name];
    if (expected === undefined || volatile.has(name)) continue;
    const actual = caller.regs[Reg[name]]!;
    const text = name === 'a1' ? hexWord : shown;
    if (actual !== expected) differences.push({ where: name, seL4: text(expected), model: text(actual) });
  }
  const listed = new Map(entry.out.ipcBuffer);
  const volatileWords = new Set(entry.volatileIpcBuffer ?? []);
  for (let i = 0; i < ipcBufferWords; i++) {
    if (volatileWords.has(i)) continue;
    const expected = listed.get(i) ?? bufferAtEntry[i] ?? 0;
    const actual = caller.ipcBuffer?.[i] ?? 0;
    if (actual !== expected) differences.push({ where: `IPC buffer word ${i}`, seL4: shown(expected), model: shown(actual) });
  }
  return differences;
}

/** The cap type seL4_DebugCapIdentify names for a cap of the model. */
function capTagName(cap: Cap | null): string {
  return cap?.type ?? 'null';
}

/** Root CNode slots of the recorded range whose cap type differs from the recording. */
function compareCapTypes(layer: RunningLayer, file: ConformanceFile, trace: RecordedTrace): Difference[] {
  const recorded = new Map(trace.capTypesAfter);
  const view = layer.view();
  const differences: Difference[] = [];
  for (let slot = file.data.capTypesRange.start; slot < file.data.capTypesRange.end; slot++) {
    const expected = capTagNames[recorded.get(slot) ?? 0]!;
    const actual = capTagName(view.cap({ cnode: file.plan.rootCNode, index: slot }));
    if (actual !== expected) differences.push({ where: `slot ${slot}`, seL4: expected, model: actual });
  }
  return differences;
}

const failed = (entry: number | null, call: string | null, seL4: string, model: string, differences: readonly Difference[]): LayerVerdict => ({
  kind: 'fail', entry, call, seL4, model, differences,
});

/** Replays one trace on one layer, from a fresh boot into the recorded state. */
function runTraceOn(file: ConformanceFile, trace: RecordedTrace, name: LayerName, options?: LayerOptions): LayerRun {
  const layer = bootLayer(name, file.plan, options);
  const root = file.plan.rootTCB;
  let before = layer.observe(root).caller;
  let volatileWords = 0;
  const run = (verdict: LayerVerdict, agreed: number, unmodelled = 0, notComparable = 0): LayerRun => ({
    layer: name, verdict, agreed, unmodelled, notComparable, volatileWords,
  });
  for (const [i, entry] of trace.entries.entries()) {
    const event = eventOf(entry);
    const callerBefore = before;
    const call = () => decodeEntry(callerBefore, event);
    const bufferAtEntry = stateAtEntry(before?.regs ?? [], before?.ipcBuffer ?? null, event).buffer;
    let candidates;
    try {
      candidates = layer.step(event);
    } catch (error) {
      return run(failed(i, call(), recordedAnswer(entry), `threw ${error instanceof Error ? error.message : String(error)}`, []), i);
    }
    const reason = candidates[0]?.observation.unmodelled;
    if (reason) return run({ kind: 'unmodelled', entry: i, call: call(), reason }, i, 1, trace.entries.length - i - 1);
    let firstDifferences: Difference[] | null = null;
    const agreeing = candidates.find((c) => {
      const differences = compareEntry(entry, bufferAtEntry, c.observation, root);
      firstDifferences ??= differences;
      return differences.length === 0;
    });
    if (agreeing === undefined) {
      const caller = candidates[0]!.observation.caller;
      const model = caller ? modelAnswer(entry, caller) : 'no caller';
      return run(failed(i, call(), recordedAnswer(entry), model, firstDifferences ?? []), i);
    }
    agreeing.adopt();
    volatileWords += volatileWordsOf(entry);
    before = agreeing.observation.caller;
  }
  const capDifferences = compareCapTypes(layer, file, trace);
  if (capDifferences.length > 0) return run(failed(null, null, 'cap types after the last entry', 'differing cap types', capDifferences), trace.entries.length);
  return run({ kind: 'pass' }, trace.entries.length);
}

/** Replays one trace on each layer. */
export function runTrace(file: ConformanceFile, trace: RecordedTrace, layers: readonly LayerName[], options?: LayerOptions): TraceResult {
  return {
    file: file.path,
    trace: trace.name,
    entries: trace.entries.length,
    families: trace.entries.map(familyOf),
    runs: layers.map((layer) => runTraceOn(file, trace, layer, options)),
    known: knownFailureOf(basename(file.path), trace.name),
  };
}
