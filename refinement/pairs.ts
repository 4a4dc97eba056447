// How each checked pair is compared: through its abstraction function where there is one
// (impl -> executable, executable -> abstract), and for impl -> abstract per step through the
// read-only views and at the end through the composed abstraction.
import type { KernelView, LayerName, Touched } from '../libsel4/index.ts';
import type * as A from '../spec-abstract/index.ts';
import type * as E from '../spec-executable/index.ts';
import type * as I from '../impl/index.ts';
import {
  compareExecAbstractTouched,
  compareImplExecTouched,
  diffExecAbstract,
  diffImplExec,
  implToExec,
} from './abstraction.ts';
import { compareTouched, type Mismatch } from './compare.ts';

/** One side of a pair: its state, with the view of that state. */
export interface Side {
  readonly state: unknown;
  readonly view: KernelView;
}

export interface PairComparison {
  /** After a step: everything either side touched. */
  touched(lower: Side, upper: Side, touched: readonly Touched[]): Mismatch | null;
  /** The whole state, at the end of a run. */
  all(lower: Side, upper: Side): Mismatch | null;
}

const implExecutable: PairComparison = {
  touched: (lower, upper, touched) => compareImplExecTouched(lower.state as I.ImplState, upper.state as E.ExecState, touched),
  all: (lower, upper) => diffImplExec(lower.state as I.ImplState, lower.view.current(), upper.state as E.ExecState),
};

const executableAbstract: PairComparison = {
  touched: (lower, upper, touched) => compareExecAbstractTouched(lower.state as E.ExecState, upper.state as A.AbstractState, touched),
  all: (lower, upper) => diffExecAbstract(lower.state as E.ExecState, upper.state as A.AbstractState),
};

const implAbstract: PairComparison = {
  touched: (lower, upper, touched) => compareTouched(lower.view, upper.view, touched),
  all: (lower, upper) => diffExecAbstract(implToExec(lower.state as I.ImplState, lower.view.current()), upper.state as A.AbstractState),
};

export function pairComparison(lower: LayerName, upper: LayerName): PairComparison {
  if (lower === 'impl' && upper === 'executable') return implExecutable;
  if (lower === 'executable' && upper === 'abstract') return executableAbstract;
  if (lower === 'impl' && upper === 'abstract') return implAbstract;
  throw new Error(`no refinement from ${lower} to ${upper}`);
}
