// A counterexample as a story: each kernel entry decoded into the libsel4 call the root task
// made, what every layer answered (each layer runs the trace on its own), and at the failing
// step what each layer wrote, in seL4 terms. Rendered as text here, as HTML in explain-html.ts.
import {
  Reg,
  describeCap,
  hex,
  ipcBufferWords,
  messageInfoFromWord,
  planBoot,
  registerNames,
  seL4_Syscall,
  slotKey,
  syscallFromWord,
  type BootConfig,
  type KernelView,
  type LayerName,
  type ObjectView,
  type Observation,
  type SlotRef,
} from '../libsel4/index.ts';
import { compareObject, compareObservations, compareSlot, slotName, type Mismatch } from './compare.ts';
import type { Counterexample } from './counterexample.ts';
import { answerOf, decodeEntry, listed, messageWord, sentBy, type Sent } from './describe.ts';

export { decodeEntry };
import { checkInvariants } from './invariants.ts';
import { bootLayer, type LayerOptions } from './layers.ts';
import { pairNames, parsePair, type Pair, type PairName } from './lockstep.ts';
import { pairComparison } from './pairs.ts';
import type { Candidate, RunningLayer } from './running.ts';

/** Lowest layer first, as the lockstep runner orders them. */
const layerOrder: readonly LayerName[] = ['impl', 'executable', 'abstract'];

/** One place (a register, a slot, an object) with what each layer holds there. */
export interface Place {
  readonly place: string;
  readonly values: ReadonlyArray<readonly [LayerName, string]>;
  /** Where the failing pair differs at this place, e.g. `badge`; null if it agrees. */
  readonly differs: string | null;
}

export interface ExplainedStep {
  readonly index: number;
  /** The entry decoded as the libsel4 call that made it. */
  readonly call: string;
  /** Groups of layers that answered the same: `[['impl', 'executable'], 'seL4_NoError']`. */
  readonly answers: ReadonlyArray<readonly [readonly LayerName[], string]>;
  /** Registers, thread state and IPC buffer words that differ between the layers. */
  readonly differences: readonly Place[];
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

/** What a layer answered an entry, e.g. `seL4_FailedLookup (mrs 0x1, 0x2)`. */
export function describeAnswer(sysno: number, obs: Observation): string {
  const answer = answerOf(sysno, obs);
  const caller = obs.caller;
  if (obs.unmodelled || !caller || caller.state !== 'Running' || sysno !== seL4_Syscall.seL4_SysCall) return answer;
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

/** Places where the layers' observations differ: who runs next, the caller's state, registers, IPC buffer. */
function observationDifferences(observed: ReadonlyArray<readonly [LayerName, Observation]>): Place[] {
  const places: Place[] = [];
  const add = (place: string, value: (o: Observation) => string) => {
    const values = observed.map(([layer, o]) => [layer, value(o)] as const);
    if (new Set(values.map(([, v]) => v)).size > 1) places.push({ place, values, differs: place });
  };
  add('unmodelled behaviour', (o) => String(o.unmodelled));
  add('thread that runs next', (o) => (o.current === null ? 'idle' : hex(o.current)));
  add('caller state', (o) => o.caller?.state ?? 'none');
  registerNames.forEach((name, r) => add(`register ${name}`, (o) => hex(o.caller?.regs[r] ?? 0)));
  for (let w = 0; w < ipcBufferWords; w++) add(`IPC buffer word ${w}`, (o) => hex(o.caller?.ipcBuffer?.[w] ?? 0));
  return places;
}

// ------------------------------------------------------------------ what a step wrote

function parentText(parent: SlotRef | null): string {
  return parent === null ? 'none' : slotKey(parent);
}

function slotText(view: KernelView, slot: SlotRef): string {
  const c = view.cap(slot);
  return c === null ? 'no such slot' : `${describeCap(c)}; CDT parent ${parentText(view.cdtParent(slot))}`;
}

/** Object fields that hold addresses (or words), shown in hex. */
const hexFields = new Set(['schedContext', 'tcb', 'ipcBufferVaddr', 'word', 'queue']);

function fieldText(key: string, value: unknown): string {
  const one = (v: unknown) => (typeof v === 'number' && hexFields.has(key) ? hex(v) : v === null ? 'none' : String(v));
  return Array.isArray(value) ? `[${value.map(one).join(', ')}]` : one(value);
}

/** An object's fields, e.g. `state Running, priority 255, ...`; its type when it has none. */
export function describeObject(o: ObjectView | null): string {
  if (o === null) return 'no object';
  const fields = Object.entries(o).filter(([key]) => key !== 'type' && key !== 'addr');
  return fields.length === 0 ? o.type : fields.map(([key, value]) => `${key} ${fieldText(key, value)}`).join(', ');
}

function mismatchField(m: Mismatch | null): string | null {
  if (m === null) return null;
  const at = m.path.lastIndexOf(': ');
  return `${at >= 0 ? m.path.slice(at + 2) : m.path} (${m.lower} vs ${m.upper})`;
}

/** Every slot and object a layer wrote at this step, as each layer holds it now. */
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
  const places: Place[] = [];
  const anyView = layers[0]?.[1].view;
  for (const addr of [...objects].sort((a, b) => a - b)) {
    const type = layers.map(([, c]) => c.view.object(addr)?.type).find((t) => t !== undefined) ?? 'object';
    places.push({
      place: `${type} ${hex(addr)}`,
      values: layers.map(([name, c]) => [name, describeObject(c.view.object(addr))] as const),
      differs: lower && upper ? mismatchField(compareObject(lower.view, upper.view, addr)) : null,
    });
  }
  const sorted = [...slots.values()].sort((a, b) => a.cnode - b.cnode || a.index - b.index);
  for (const slot of sorted) {
    places.push({
      place: anyView ? slotName(anyView, slot) : slotKey(slot),
      values: layers.map(([name, c]) => [name, slotText(c.view, slot)] as const),
      differs: lower && upper ? mismatchField(compareSlot(lower.view, upper.view, slot)) : null,
    });
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

/** The candidate agreeing with the nearest lower layer's outcome, as the lockstep runner would adopt. */
function choose(name: LayerName, candidates: readonly Candidate[], chosen: ReadonlyMap<LayerName, Candidate>): Candidate {
  if (candidates.length === 1) return candidates[0]!;
  const reference = layerOrder.slice(0, layerOrder.indexOf(name)).reverse().find((l) => chosen.has(l));
  if (reference === undefined) return candidates[0]!;
  const ref = chosen.get(reference)!;
  const agrees = (c: Candidate) =>
    compareObservations(ref.observation, c.observation, registerNames) === null &&
    pairComparison(reference, name).touched(ref, c, [ref.touched, c.touched]) === null;
  return candidates.find(agrees) ?? candidates[0]!;
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
 * Runs every layer on the file's entries on its own (where the abstract spec allows several
 * outcomes, the one agreeing with the layer below is followed) and gathers the story.
 */
export function explainCounterexample(cx: Counterexample, layerOptions?: LayerOptions): Explanation {
  const plan = planBoot(cx.settings.config);
  const runners: Runner[] = layerOrder.map((name) => {
    const layer = bootLayer(name, plan, layerOptions);
    return { name, layer, last: layer.observe(plan.rootTCB), stopped: null };
  });
  const pair = failingPair(cx);
  const steps: ExplainedStep[] = cx.trace.map((step, index) => {
    const live = runners.filter((r) => r.stopped === null);
    const call = decodeEntry(live[0]?.last.caller ?? null, step.entry);
    const sysno = syscallFromWord(sentBy(live[0]?.last.caller ?? null, step.entry).regs[Reg.a7]!);
    const chosen = new Map<LayerName, Candidate>();
    const answers: Array<[LayerName, string]> = [];
    for (const r of runners) {
      if (r.stopped !== null) {
        answers.push([r.name, r.stopped]);
        continue;
      }
      try {
        const pick = choose(r.name, r.layer.step(step.entry), chosen);
        pick.adopt();
        chosen.set(r.name, pick);
        r.last = pick.observation;
        answers.push([r.name, describeAnswer(sysno, pick.observation)]);
      } catch (error) {
        r.stopped = `not run (threw at step ${index})`;
        answers.push([r.name, `threw: ${error instanceof Error ? error.message : String(error)}`]);
      }
    }
    const failing = index === cx.failure.step;
    return {
      index,
      call,
      answers: grouped(answers),
      differences: observationDifferences([...chosen.entries()].map(([name, c]) => [name, c.observation] as const)),
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
  return `${size(config.memory.sizeBytes)} of RAM at ${hex(config.memory.base)}; device memory ${devices}; root CNode of 2^${config.rootCNodeSizeBits} slots`;
}

export function describeFailure(cx: Counterexample): string {
  const f = cx.failure;
  const pair = failingPair(cx);
  const which = pair ? `${pair.lower} does not refine ${pair.upper}` : f.pair;
  return `${f.kind} at step ${f.step}, ${which}`;
}

/** The command that found the failure (with the file's boot configuration). */
export function foundBy(cx: Counterexample): string {
  const s = cx.settings;
  return `sel4-model check --workers 1 --seed ${cx.seed} --path ${cx.path} --runs ${s.runs} --steps ${s.steps} --layers ${s.pairs.join(',')}${s.invariantsEveryStep ? ' --invariants-every-step' : ''}`;
}

function placeLines(p: Place, indent: string): string[] {
  const [first] = p.values;
  if (first && p.values.every(([, text]) => text === first[1])) return [`${indent}${p.place}: ${first[1]}   (${p.values.map(([l]) => l).join(', ')} agree)`];
  const width = Math.max(...p.values.map(([l]) => l.length)) + 2;
  return [
    `${indent}${p.place}${p.differs ? `   <- differs: ${p.differs}` : ''}`,
    ...p.values.map(([layer, text]) => `${indent}  ${`${layer}:`.padEnd(width)}${text}`),
  ];
}

export function formatExplanation(e: Explanation, file: string): string {
  const { cx } = e;
  const f = cx.failure;
  const lines = [
    `counterexample ${file}`,
    ...(cx.note ? [`  note:      ${cx.note}`] : []),
    `  found by:  ${foundBy(cx)}`,
    `  boot:      ${describeBoot(cx.settings.config)}`,
    `  recorded:  ${describeFailure(cx)}`,
    `             where ${f.where.path}: ${e.pair?.lower ?? 'found'} ${f.where.lower}, ${e.pair?.upper ?? 'expected'} ${f.where.upper}`,
    '',
    `The root task's calls (${cx.trace.length} kernel entries), each layer run on its own:`,
  ];
  for (const s of e.steps) {
    lines.push('', `${s.failing ? '>' : ' '} ${String(s.index).padStart(3)}  ${s.call}`);
    for (const [layers, answer] of s.answers) lines.push(`       ${layers.join(', ')}: ${answer}`);
    for (const d of s.differences) lines.push(`       differs: ${d.place}: ${d.values.map(([l, v]) => `${l} ${v}`).join(', ')}`);
    if (s.written) {
      lines.push(s.written.length > 0 ? '       written by this entry, as each layer holds it now:' : '       no layer wrote a slot or object at this entry');
      for (const p of s.written) lines.push(...placeLines(p, '         '));
    }
  }
  lines.push('', `after the last entry: ${e.closing}`, '');
  return lines.join('\n');
}

