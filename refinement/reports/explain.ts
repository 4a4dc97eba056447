// A counterexample as a story: each kernel entry decoded into the libsel4 call the root task
// made, what every layer answered (each layer runs the trace on its own), and at the failing
// step what each layer wrote, in seL4 terms. Rendered as text here, as HTML in explain-html.ts.
import {
  Reg,
  hex,
  ipcBufferWords,
  maxIRQ,
  ChoiceRejected,
  messageInfoFromWord,
  planBoot,
  registerNames,
  seL4_Syscall,
  slotKey,
  syscallFromWord,
  type BootConfig,
  type KernelEvent,
  type LayerName,
  type Observation,
  type SlotRef,
  type Touched,
} from '../../libsel4/index.ts';
import { compareObservations, compareScheduler, slotName } from '../lockstep/compare.ts';
import { entriesOf, type Counterexample } from './counterexample.ts';
import { decodeEntry, eventAnswer, listed, messageWord, sentBy, type Sent } from './describe.ts';
import { shellWord } from '../files.ts';
import { checkInvariants } from '../invariants/index.ts';
import { bootLayer, type LayerOptions } from '../layers.ts';
import { pairNames, parsePair, type Pair, type PairName } from '../lockstep/index.ts';
import { compareStep, pairComparison } from '../lockstep/pairs.ts';
import { fieldsLine, ipcBufferFields, ipcBufferWordRole, irqFields, objectFields, registerFields, registerRole, schedulerFields, slotFields, valueField, type Field } from './places.ts';
import type { Candidate, RunningLayer } from '../running.ts';

export { decodeEntry };

/** Lowest layer first, as the lockstep runner orders them. */
const layerOrder: readonly LayerName[] = ['impl', 'executable', 'abstract'];

/** One place (a register, a slot, an object) with what each layer holds there, field by field. */
export interface Place {
  readonly place: string;
  readonly values: ReadonlyArray<readonly [LayerName, readonly Field[]]>;
  /** Where the failing pair differs at a written slot or object, as the check compares it, e.g. `MDB firstBadged (false vs true)`; else null. */
  readonly differs: string | null;
  /** Each field whose value differs between layers that hold it, with the layers whose value to mark. */
  readonly marked: ReadonlyMap<string, readonly LayerName[]>;
}

/** The abstract spec's choice a layer's adopted outcome made, where the spec allowed several outcomes. */
export interface ChoiceFollowed {
  readonly layer: LayerName;
  /** The choice's name as the layer gives it, or null when its outcomes carry none. */
  readonly choice: string | null;
  /** How many outcomes the layer allowed. */
  readonly outcomes: number;
  /** Whether the followed outcome agrees with the layer below (otherwise the first is followed). */
  readonly agrees: boolean;
}

export interface ExplainedStep {
  readonly index: number;
  /** The entry decoded as the libsel4 call that made it. */
  readonly call: string;
  /** Groups of layers that answered the same: `[['impl', 'executable'], 'seL4_NoError']`. */
  readonly answers: ReadonlyArray<readonly [readonly LayerName[], string]>;
  /** Registers, thread state and IPC buffer words that differ between the layers. */
  readonly differences: readonly Place[];
  /** The choices followed where a layer allowed several outcomes. */
  readonly choices: readonly ChoiceFollowed[];
  readonly failing: boolean;
  /** At the failing step: every slot and object a layer wrote, as each layer holds it after the step. */
  readonly written: readonly Place[] | null;
}

export interface Explanation {
  readonly cx: Counterexample;
  /** The failing pair, or null when one layer failed alone (an invariant, a crash). */
  readonly pair: Pair | null;
  readonly steps: readonly ExplainedStep[];
  /** The closing full comparison of the pair and every layer's invariants, after the last entry. */
  readonly closing: string;
}

// ------------------------------------------------------------------ answers

/** What a layer answered an entry, e.g. `seL4_FailedLookup (mrs 0x1, 0x2)`, `idle runs`. */
export function describeAnswer(event: KernelEvent, sysno: number, obs: Observation): string {
  const answer = eventAnswer(event, sysno, obs);
  const caller = obs.caller;
  if (event.kind !== 'syscall' || obs.unmodelled || !caller || caller.state !== 'Running' || sysno !== seL4_Syscall.seL4_SysCall) return answer;
  const length = messageInfoFromWord(caller.regs[Reg.a1]!).length;
  if (length === 0) return answer;
  const sent: Sent = { regs: caller.regs, buffer: caller.ipcBuffer ?? [] };
  return `${answer} (mrs ${listed(Array.from({ length }, (_, i) => messageWord(sent, i)))})`;
}

function grouped(values: ReadonlyArray<readonly [LayerName, string]>): Array<[LayerName[], string]> {
  const groups: Array<[LayerName[], string]> = [];
  for (const [layer, text] of values) {
    const group = groups.find(([, t]) => t === text);
    if (group) group[0].push(layer);
    else groups.push([[layer], text]);
  }
  return groups;
}

/** The fields that differ between layers, and on which layers to mark them: the failing pair's if they differ there. */
function markedFields(values: ReadonlyArray<readonly [LayerName, readonly Field[]]>, pair: Pair | null): Map<string, LayerName[]> {
  const marked = new Map<string, LayerName[]>();
  const names = new Set(values.flatMap(([, fields]) => fields.map((f) => f.name)));
  for (const name of names) {
    const held = values.flatMap(([layer, fields]) => fields.filter((f) => f.name === name).map((f) => [layer, f.value] as const));
    if (new Set(held.map(([, v]) => v)).size < 2) continue;
    const inPair = pair ? held.filter(([layer]) => layer === pair.lower || layer === pair.upper) : [];
    const pairDiffers = inPair.length === 2 && inPair[0]![1] !== inPair[1]![1];
    marked.set(name, (pairDiffers ? inPair : held).map(([layer]) => layer));
  }
  return marked;
}

function placeOf(place: string, values: ReadonlyArray<readonly [LayerName, readonly Field[]]>, differs: string | null, pair: Pair | null): Place {
  return { place, values, differs, marked: markedFields(values, pair) };
}

/** Places where the layers' observations differ: who runs next, the caller's state, registers (decoded), IPC buffer. */
function observationDifferences(observed: ReadonlyArray<readonly [LayerName, Observation]>, pair: Pair | null): Place[] {
  const places: Place[] = [];
  const add = (place: string, fields: (o: Observation) => Field[]) => {
    const values = observed.map(([layer, o]) => [layer, fields(o)] as const);
    const texts = new Set(values.map(([, f]) => f.map((x) => x.value).join('\0')));
    if (texts.size > 1) places.push(placeOf(place, values, null, pair));
  };
  add('unmodelled behaviour', (o) => [valueField(String(o.unmodelled))]);
  add('thread that runs next', (o) => [valueField(o.current === null ? 'idle' : hex(o.current))]);
  add('caller state', (o) => [valueField(o.caller?.state ?? 'none')]);
  registerNames.forEach((name, r) => {
    const role = registerRole(r);
    add(`register ${name}${role ? ` (${role})` : ''}`, (o) => registerFields(r, o.caller?.regs[r] ?? 0));
  });
  for (let w = 0; w < ipcBufferWords; w++) add(`IPC buffer word ${w} (${ipcBufferWordRole(w)})`, (o) => ipcBufferFields(w, o.caller?.ipcBuffer?.[w] ?? 0));
  return places;
}

// ------------------------------------------------------------------ what a step wrote

/** Where the check finds the pair to differ: its own comparison of this one slot or object. */
function checkedDifference(pair: Pair, lower: Candidate, upper: Candidate, touched: Touched): string | null {
  const m = pairComparison(pair.lower, pair.upper).touched(lower, upper, [touched]);
  if (m === null) return null;
  const at = m.path.lastIndexOf(': ');
  return `${at >= 0 ? m.path.slice(at + 2) : m.path} (${m.lower} vs ${m.upper})`;
}

/** The scheduler's state after the step, when the layers hold it differently. */
function schedulerPlace(chosen: ReadonlyMap<LayerName, Candidate>, pair: Pair | null): Place[] {
  const values = [...chosen.entries()].map(([name, c]) => [name, schedulerFields(c.view.scheduler())] as const);
  if (new Set(values.map(([, fields]) => fieldsLine(fields).line)).size < 2) return [];
  const lower = pair ? chosen.get(pair.lower) : undefined;
  const upper = pair ? chosen.get(pair.upper) : undefined;
  const m = lower && upper ? compareScheduler(lower.view.scheduler(), upper.view.scheduler()) : null;
  return [placeOf('scheduler', values, m ? `${m.path.slice('scheduler: '.length)} (${m.lower} vs ${m.upper})` : null, pair)];
}

/** The IRQ lines the layers hold differently after the step (`irq 5`), with the field the pair differs on. */
function irqPlaces(chosen: ReadonlyMap<LayerName, Candidate>, pair: Pair | null): Place[] {
  const places: Place[] = [];
  for (let irq = 0; irq <= maxIRQ; irq++) {
    const values = [...chosen.entries()].map(([name, c]) => [name, irqFields(c.view.irq(irq))] as const);
    if (new Set(values.map(([, fields]) => fieldsLine(fields).line)).size < 2) continue;
    const inPair = pair ? values.filter(([name]) => name === pair.lower || name === pair.upper).map(([, fields]) => fields) : [];
    const differing = inPair.length === 2 ? inPair[0]!.findIndex((f, i) => f.value !== inPair[1]![i]!.value) : -1;
    const differs = differing < 0 ? null : `${inPair[0]![differing]!.name} (${inPair[0]![differing]!.value} vs ${inPair[1]![differing]!.value})`;
    places.push(placeOf(`irq ${irq}`, values, differs, pair));
  }
  return places;
}

/** Every slot and object a layer wrote at this step, as each layer holds it now, and the scheduler's state and IRQ lines where the layers differ on them. */
function writtenPlaces(chosen: ReadonlyMap<LayerName, Candidate>, pair: Pair | null): Place[] {
  const slots = new Map<string, SlotRef>();
  const objects = new Set<number>();
  for (const c of chosen.values()) {
    for (const s of c.touched.slots) slots.set(slotKey(s), s);
    for (const o of c.touched.objects) objects.add(o);
  }
  const layers = [...chosen.entries()];
  const lower = pair ? chosen.get(pair.lower) : undefined;
  const upper = pair ? chosen.get(pair.upper) : undefined;
  const differs = (touched: Touched) => (pair && lower && upper ? checkedDifference(pair, lower, upper, touched) : null);
  const places: Place[] = [...schedulerPlace(chosen, pair), ...irqPlaces(chosen, pair)];
  const anyView = layers[0]?.[1].view;
  for (const addr of [...objects].sort((a, b) => a - b)) {
    const type = layers.map(([, c]) => c.view.object(addr)?.type).find((t) => t !== undefined) ?? 'object';
    const values = layers.map(([name, c]) => [name, objectFields(c.view.object(addr))] as const);
    places.push(placeOf(`${type} ${hex(addr)}`, values, differs({ slots: [], objects: [addr] }), pair));
  }
  const sorted = [...slots.values()].sort((a, b) => a.cnode - b.cnode || a.index - b.index);
  for (const slot of sorted) {
    const values = layers.map(([name, c]) => [name, slotFields(name, c, slot)] as const);
    places.push(placeOf(anyView ? slotName(anyView, slot) : slotKey(slot), values, differs({ slots: [slot], objects: [] }), pair));
  }
  return places;
}

// ------------------------------------------------------------------ running the trace

interface Runner {
  readonly name: LayerName;
  readonly layer: RunningLayer;
  last: Observation;
  /** Why the layer no longer runs (it threw), or null. */
  stopped: string | null;
}

/** The candidate agreeing with the nearest lower layer's outcome, as the lockstep runner would adopt, and whether one agreed. */
function choose(name: LayerName, candidates: readonly Candidate[], chosen: ReadonlyMap<LayerName, Candidate>): { pick: Candidate; agrees: boolean } {
  const reference = layerOrder.slice(0, layerOrder.indexOf(name)).reverse().find((l) => chosen.has(l));
  if (candidates.length === 1 || reference === undefined) return { pick: candidates[0]!, agrees: true };
  const ref = chosen.get(reference)!;
  const agrees = (c: Candidate) =>
    compareObservations(ref.observation, c.observation, registerNames) === null &&
    compareStep({ lower: reference, upper: name }, ref, c, [ref.touched, c.touched]) === null;
  const pick = candidates.find(agrees);
  return pick ? { pick, agrees: true } : { pick: candidates[0]!, agrees: false };
}

/** Whose choices the abstract spec follows: the failing pair's lower layer, else the layer just below it. */
function witnessSource(pair: Pair | null, chosen: ReadonlyMap<LayerName, Candidate>): LayerName {
  if (pair !== null && pair.upper === 'abstract') return pair.lower;
  return chosen.has('executable') ? 'executable' : 'impl';
}

function failingPair(cx: Counterexample): Pair | null {
  return (pairNames as readonly string[]).includes(cx.failure.pair) ? parsePair(cx.failure.pair as PairName) : null;
}

function closingCheck(runners: readonly Runner[], pair: Pair | null): string {
  const live = runners.filter((r) => r.stopped === null);
  const findings: string[] = [];
  const lower = live.find((r) => r.name === pair?.lower);
  const upper = live.find((r) => r.name === pair?.upper);
  if (pair && lower && upper) {
    const side = (r: Runner) => ({ state: r.layer.state(), view: r.layer.view() });
    const m = pairComparison(pair.lower, pair.upper).all(side(lower), side(upper));
    findings.push(m ? `${pair.lower} vs ${pair.upper} differ at ${m.path}: ${m.lower} vs ${m.upper}` : `${pair.lower} and ${pair.upper} agree on the whole state`);
  }
  const broken = live.flatMap((r) => {
    const violation = checkInvariants(r.layer);
    return violation ? [`${r.name} invariant broken: ${violation}`] : [];
  });
  findings.push(...(broken.length > 0 ? broken : [`invariants hold on ${live.map((r) => r.name).join(', ')}`]));
  return findings.join('; ');
}

/**
 * Runs every layer on the file's entries on its own (the abstract spec following the choices
 * of the layer below, as in the check) and gathers the story.
 */
export function explainCounterexample(cx: Counterexample, layerOptions?: LayerOptions): Explanation {
  const plan = planBoot(cx.settings.config);
  const runners: Runner[] = layerOrder.map((name) => {
    const layer = bootLayer(name, plan, layerOptions);
    return { name, layer, last: layer.observe(plan.rootTCB), stopped: null };
  });
  const pair = failingPair(cx);
  const entries = entriesOf(cx);
  const steps: ExplainedStep[] = cx.trace.map((step, index) => {
    const entry = entries[index]!;
    const live = runners.filter((r) => r.stopped === null);
    const call = decodeEntry(live[0]?.last.caller ?? null, entry);
    const sysno = syscallFromWord(sentBy(live[0]?.last.caller ?? null, entry).regs[Reg.a7]!);
    const chosen = new Map<LayerName, Candidate>();
    const answers: Array<[LayerName, string]> = [];
    const choices: ChoiceFollowed[] = [];
    for (const r of runners) {
      if (r.stopped !== null) {
        answers.push([r.name, r.stopped]);
        continue;
      }
      try {
        const candidates = r.layer.step(entry, r.name === 'abstract' ? chosen.get(witnessSource(pair, chosen))?.witness : undefined);
        const { pick, agrees } = choose(r.name, candidates, chosen);
        if (candidates.length > 1 || pick.choice) choices.push({ layer: r.name, choice: pick.choice ?? null, outcomes: candidates.length, agrees });
        pick.adopt();
        chosen.set(r.name, pick);
        r.last = pick.observation;
        answers.push([r.name, describeAnswer(entry, sysno, pick.observation)]);
      } catch (error) {
        if (error instanceof ChoiceRejected) {
          r.stopped = `not run (rejected a choice at step ${index})`;
          answers.push([r.name, `rejected the choice made below: ${error.made} (allowed: ${error.allowed})`]);
          continue;
        }
        r.stopped = `not run (threw at step ${index})`;
        answers.push([r.name, `threw: ${error instanceof Error ? error.message : String(error)}`]);
      }
    }
    const failing = index === cx.failure.step;
    return {
      index,
      call,
      answers: grouped(answers),
      differences: observationDifferences([...chosen.entries()].map(([name, c]) => [name, c.observation] as const), pair),
      choices,
      failing,
      written: failing ? writtenPlaces(chosen, pair) : null,
    };
  });
  return { cx, pair, steps, closing: closingCheck(runners, pair) };
}

// ------------------------------------------------------------------ text

function size(bytes: number): string {
  if (bytes % (1 << 20) === 0) return `${bytes >>> 20} MiB`;
  if (bytes % (1 << 10) === 0) return `${bytes >>> 10} KiB`;
  return `${bytes} bytes`;
}

export function describeBoot(config: BootConfig): string {
  const devices = config.deviceRegions.map((r) => `${size(r.sizeBytes)} at ${hex(r.base)}`).join(', ') || 'none';
  const fastpath = config.fastpath ? '' : '; the impl\'s IPC fastpath off';
  return `${size(config.memory.sizeBytes)} of RAM at ${hex(config.memory.base)}; device memory ${devices}; root CNode of 2^${config.rootCNodeSizeBits} slots${fastpath}`;
}

export function describeFailure(cx: Counterexample): string {
  const f = cx.failure;
  const pair = failingPair(cx);
  const which = pair ? `${pair.lower} does not refine ${pair.upper}` : f.pair;
  return `${f.kind} at step ${f.step}, ${which}`;
}

/** `1 kernel entry`, `3 kernel entries`. */
export function entries(cx: Counterexample): string {
  return `${cx.trace.length} kernel entr${cx.trace.length === 1 ? 'y' : 'ies'}`;
}

/** The command that found the failure (with the file's boot configuration), to copy. */
export function foundBy(cx: Counterexample): string {
  const s = cx.settings;
  // A failure at boot fails every run: it has no path.
  const path = cx.path === '' ? '' : ` --path ${cx.path}`;
  return `npx sel4-model check --workers 1 --seed ${cx.seed}${path} --runs ${s.runs} --steps ${s.steps} --layers ${s.pairs.join(',')}${s.invariantsEveryStep ? ' --invariants-every-step' : ''}`;
}

/** The commands that replay and explain the file, to copy. */
export function fileCommands(file: string): { readonly replay: string; readonly explain: string; readonly html: string } {
  const quoted = shellWord(file);
  return {
    replay: `npx sel4-model replay ${quoted}`,
    explain: `npx sel4-model explain ${quoted}`,
    html: `npx sel4-model explain --html ${quoted}`,
  };
}

/** What a check prints after saving a counterexample file: its path and the commands to copy. */
export function savedLines(file: string): string {
  const commands = fileCommands(file);
  return `counterexample: ${file}\n  replay:  ${commands.replay}\n  explain: ${commands.explain}\n`;
}

/** What a choice line says: `abstract followed the spec's choice revoke order #2 (of 3 allowed outcomes)`. */
export function describeChoice(c: ChoiceFollowed): string {
  const which = c.choice === null ? 'an unnamed choice' : `the spec's choice ${c.choice}`;
  const notes = [...(c.outcomes > 1 ? [`of ${c.outcomes} allowed outcomes`] : []), ...(c.agrees ? [] : ['none agrees with the layer below, the first is shown'])];
  return `${c.layer} followed ${which}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
}

/** A line under `line` with `^` under each of the given spans. */
function markerLine(spans: ReadonlyArray<readonly [number, number]>): string {
  const chars: string[] = [];
  for (const [from, to] of spans) for (let i = from; i < to; i++) chars[i] = '^';
  return Array.from(chars, (c) => c ?? ' ').join('');
}

/** A place as text: one line when the layers agree, else a line per layer with `^` under each differing field. */
function placeLines(p: Place, indent: string, label = ''): string[] {
  const lines = p.values.map(([layer, fields]) => [layer, fieldsLine(fields)] as const);
  if (p.marked.size === 0) {
    const fullest = [...lines].sort((a, b) => b[1].at.size - a[1].at.size)[0];
    return [`${indent}${label}${p.place}: ${fullest?.[1].line ?? ''}   (${p.values.map(([l]) => l).join(', ')} agree)`];
  }
  const width = Math.max(...p.values.map(([l]) => l.length)) + 2;
  const out = [`${indent}${label}${p.place}${p.differs ? `   <- differs: ${p.differs}` : ''}`];
  for (const [layer, { line, at }] of lines) {
    out.push(`${indent}  ${`${layer}:`.padEnd(width)}${line}`);
    const spans = [...p.marked].filter(([, layers]) => layers.includes(layer)).flatMap(([name]) => (at.has(name) ? [at.get(name)!] : []));
    if (spans.length > 0) out.push(`${indent}  ${' '.repeat(width)}${markerLine(spans)}`);
  }
  return out;
}

export function formatExplanation(e: Explanation, file: string): string {
  const { cx } = e;
  const f = cx.failure;
  const commands = fileCommands(file);
  const lines = [
    `counterexample ${file}`,
    ...(cx.note ? [`  note:      ${cx.note}`] : []),
    `  recorded:  ${describeFailure(cx)}`,
    `             where ${f.where.path}: ${e.pair?.lower ?? 'found'} ${f.where.lower}, ${e.pair?.upper ?? 'expected'} ${f.where.upper}`,
    `  boot:      ${describeBoot(cx.settings.config)}`,
    `  replay:    ${commands.replay}`,
    `  as HTML:   ${commands.html}`,
    `  found by:  ${foundBy(cx)}`,
    '',
    `The root task's calls (${entries(cx)}), each layer run on its own; ^ marks the fields where layers differ:`,
  ];
  for (const s of e.steps) {
    lines.push('', `${s.failing ? '>' : ' '} ${String(s.index).padStart(3)}  ${s.call}`);
    for (const [layers, answer] of s.answers) lines.push(`       ${layers.join(', ')}: ${answer}`);
    for (const c of s.choices) lines.push(`       ${describeChoice(c)}`);
    for (const d of s.differences) lines.push(...placeLines(d, '       ', 'differs: '));
    if (s.written) {
      lines.push(s.written.length > 0 ? '       written by this entry, as each layer holds it now:' : '       no layer wrote a slot or object at this entry');
      for (const p of s.written) lines.push(...placeLines(p, '         '));
    }
  }
  lines.push('', `after the last entry: ${e.closing}`, '');
  return lines.join('\n');
}
