// How each checked pair is compared: through its abstraction function where there is one
// (impl -> executable, executable -> abstract), and for impl -> abstract per step through the
// read-only views and at the end through the composed abstraction. Every pair also compares
// through the views what every layer shows alike: the scheduler's state and the IRQ lines after
// every step (they are small), each touched object's fields and user word, and at the end every
// object.
import type { IrqView, KernelView, LayerName, SlotRef, Touched } from '../../libsel4/index.ts';
import type * as A from '../../spec-abstract/index.ts';
import type * as E from '../../spec-executable/index.ts';
import type * as I from '../../impl/index.ts';
import {
  abstractObjectViews,
  compareExecAbstractTouched,
  compareImplExecTouched,
  diffExecAbstract,
  diffImplExec,
  implToExec,
} from '../abstraction/index.ts';
import { compareIrqs, compareScheduler, compareTouched, compareTouchedObjects, compareTouchedUserWords, compareViews, compareWorkUnits, type Mismatch } from './compare.ts';

/** One side of a pair: its state, with the view of that state. */
export interface Side {
  readonly state: unknown;
  readonly view: KernelView;
}

export interface PairComparison {
  /** After a step: everything either side touched (the scheduler's state: `compareStep`). */
  touched(lower: Side, upper: Side, touched: readonly Touched[]): Mismatch | null;
  /** After a step: the IRQ lines, through the views. */
  irqs(lower: Side, upper: Side): Mismatch | null;
  /** The whole state, at the end of a run. */
  all(lower: Side, upper: Side): Mismatch | null;
}

const implExecutable: PairComparison = {
  touched: (lower, upper, touched) =>
    compareTouchedObjects(lower.view, upper.view, touched) ??
    compareImplExecTouched(lower.state as I.ImplState, upper.state as E.ExecState, touched) ??
    compareTouchedUserWords(lower.view, upper.view, touched),
  irqs: (lower, upper) => compareIrqs(lower.view, upper.view),
  all: (lower, upper) => compareViews(lower.view, upper.view) ?? diffImplExec(lower.state as I.ImplState, lower.view.current(), upper.state as E.ExecState),
};

const executableAbstract: PairComparison = {
  touched: (lower, upper, touched) =>
    compareExecAbstractTouched(lower.state as E.ExecState, upper.state as A.AbstractState, touched) ?? compareTouchedUserWords(lower.view, upper.view, touched),
  irqs: (lower, upper) => compareExecAbstractIrqs(lower, upper),
  all: (lower, upper) => {
    const abs = upper.state as A.AbstractState;
    return compareViews(lower.view, upper.view, abstractObjectViews(abs)) ?? diffExecAbstract(lower.state as E.ExecState, abs);
  },
};

/**
 * Pairs of IRQ line lists (executable, abstract) whose views were found to agree. Both lists are
 * immutable (a write makes a new list) and each view shows its list's lines as they are, so
 * a pair found equal stays equal: it is not compared line by line again.
 */
const agreeingIrqLines = new WeakMap<readonly IrqView[], readonly IrqView[]>();

function compareExecAbstractIrqs(lower: Side, upper: Side): Mismatch | null {
  const execLines = (lower.state as E.ExecState).interrupts.lines;
  const abstractLines = (upper.state as A.AbstractState).irqs;
  if (agreeingIrqLines.get(execLines) === abstractLines) return null;
  const m = compareIrqs(lower.view, upper.view);
  if (m === null) agreeingIrqLines.set(execLines, abstractLines);
  return m;
}

const implAbstract: PairComparison = {
  touched: (lower, upper, touched) => compareTouched(lower.view, upper.view, touched),
  irqs: (lower, upper) => compareIrqs(lower.view, upper.view),
  all: (lower, upper) =>
    compareViews(lower.view, upper.view) ?? diffExecAbstract(implToExec(lower.state as I.ImplState, lower.view.current()), upper.state as A.AbstractState),
};

export function pairComparison(lower: LayerName, upper: LayerName): PairComparison {
  if (lower === 'impl' && upper === 'executable') return implExecutable;
  if (lower === 'executable' && upper === 'abstract') return executableAbstract;
  if (lower === 'impl' && upper === 'abstract') return implAbstract;
  throw new Error(`no refinement from ${lower} to ${upper}`);
}

/**
 * What any of `touched` names, each slot, object and user word once, in their first order
 * (comparing one twice finds nothing new).
 */
function union(touched: readonly Touched[]): Touched[] {
  if (touched.length < 2) return [...touched];
  const slots: SlotRef[] = [];
  const seenSlots = new Map<number, Set<number>>();
  const objects = new Set<number>();
  const userWords = new Set<number>();
  for (const t of touched) {
    for (const slot of t.slots) {
      let indices = seenSlots.get(slot.cnode);
      if (indices === undefined) seenSlots.set(slot.cnode, (indices = new Set()));
      if (indices.has(slot.index)) continue;
      indices.add(slot.index);
      slots.push(slot);
    }
    for (const addr of t.objects) objects.add(addr);
    for (const paddr of t.userWords ?? []) userWords.add(paddr);
  }
  return [userWords.size === 0 ? { slots, objects: [...objects] } : { slots, objects: [...objects], userWords: [...userWords] }];
}

/**
 * After a step: everything either side touched, then the scheduler's state, the IRQ lines and
 * ksWorkUnitsCompleted (small, so compared every step).
 */
export function compareStep(pair: { readonly lower: LayerName; readonly upper: LayerName }, lower: Side, upper: Side, touched: readonly Touched[]): Mismatch | null {
  const comparison = pairComparison(pair.lower, pair.upper);
  return (
    comparison.touched(lower, upper, union(touched)) ??
    compareScheduler(lower.view.scheduler(), upper.view.scheduler()) ??
    comparison.irqs(lower, upper) ??
    compareWorkUnits(lower.view, upper.view)
  );
}
