// The lockstep runner: every entry goes to each layer, the lowest first; where seL4 leaves a
// choice open the abstract spec follows the choices the layer below it made (its witness), so
// no verdict ever rests on enumerating the allowed results. After each step the lower layer of
// every checked pair must agree with the upper layer's outcome on what the user sees and on
// everything either side wrote; a full comparison closes every run.
import { ChoiceRejected, registerNames, type KernelEvent, type LayerName, type Observation, type Touched } from '../../libsel4/index.ts';
import { compareObservations, type Mismatch } from './compare.ts';
import { compareStep, pairComparison } from './pairs.ts';
import type { Candidate, RunningLayer } from '../running.ts';
import { sharingListings } from '../listing.ts';

/** A checked pair: the lower layer must refine the upper one. */
export interface Pair {
  readonly lower: LayerName;
  readonly upper: LayerName;
}

export const pairNames = ['impl-executable', 'executable-abstract', 'impl-abstract'] as const;
export type PairName = (typeof pairNames)[number];
export const defaultPairs: readonly PairName[] = ['impl-executable', 'executable-abstract'];

export function parsePair(name: PairName): Pair {
  const [lower, upper] = name.split('-') as [LayerName, LayerName];
  return { lower, upper };
}

export function pairName(pair: Pair): string {
  return `${pair.lower}-${pair.upper}`;
}

/**
 * Checks a layer's own invariants; returns the first violation. `touched`: what the last entry
 * wrote (checks that read memory may look only there); absent at boot and at the end of a run.
 * The second parameter is left undefined: it keeps `checkInvariants(layer, counts?, touched?)` a check.
 */
export type InvariantCheck = (layer: RunningLayer, unused?: undefined, touched?: readonly Touched[]) => string | null;

/** `choice`: the abstract spec does not allow a choice the lower layer made (named in the mismatch). */
export type FailureKind = 'observation' | 'state' | 'invariant' | 'crash' | 'final-state' | 'choice';

export class RefinementFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    /** Index of the failing entry in the run (0-based); -1 at boot. */
    readonly step: number,
    readonly pair: string,
    readonly mismatch: Mismatch,
  ) {
    super(`${kind} mismatch at step ${step} (${pair}): ${mismatch.path}: ${mismatch.lower} vs ${mismatch.upper}`);
  }
}

const order: readonly LayerName[] = ['impl', 'executable', 'abstract'];

/**
 * Runs a read of the layers' states (a comparison, an invariant check). A layer whose state
 * cannot even be read (an impl assertion fails while decoding it) has crashed: a failure, not
 * an error that stops the checker.
 */
function readingState<T>(step: number, where: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof RefinementFailure) throw error;
    throw new RefinementFailure('crash', step, where, { path: `reading the state of ${where} threw`, lower: String(error), upper: 'a readable state' });
  }
}

export class Lockstep {
  private readonly pairs: readonly Pair[];
  private readonly byName: Map<LayerName, RunningLayer>;
  /** Whose choices the abstract spec follows: the lowest layer checked against it, if any. */
  private readonly witnessSource: LayerName | null;
  private stepIndex = 0;
  /** How often each abstract choice was taken, by choice name. */
  readonly choices = new Map<string, number>();
  /** What the adopted outcomes of the last entry wrote. */
  lastTouched: readonly Touched[] = [];

  constructor(
    layers: readonly RunningLayer[],
    pairs: readonly Pair[],
    private readonly invariants: InvariantCheck | null,
    /** Check invariants after every step, or only when the run finishes. */
    private readonly invariantsEveryStep = false,
  ) {
    this.byName = new Map(layers.map((l) => [l.name, l]));
    this.pairs = [...pairs].sort((a, b) => order.indexOf(a.lower) - order.indexOf(b.lower));
    this.witnessSource = this.pairs.find((p) => p.upper === 'abstract')?.lower ?? null;
    this.checkInvariants(-1);
  }

  /** The lowest running layer: what a user of the lockstep system sees. */
  get lowest(): RunningLayer {
    for (const name of order) {
      const layer = this.byName.get(name);
      if (layer) return layer;
    }
    throw new Error('no layer');
  }

  layer(name: LayerName): RunningLayer | undefined {
    return this.byName.get(name);
  }

  get steps(): number {
    return this.stepIndex;
  }

  enter(event: KernelEvent): Observation {
    const step = this.stepIndex++;
    const candidates = new Map<LayerName, Candidate[]>();
    for (const name of order) {
      const layer = this.byName.get(name);
      if (layer === undefined) continue;
      const from = name === 'abstract' ? this.witnessSource : null;
      try {
        const outcomes = layer.step(event, from === null ? undefined : (candidates.get(from)![0]!.witness ?? []));
        if (outcomes.length === 0) throw new Error('no outcome');
        candidates.set(name, outcomes);
      } catch (error) {
        if (error instanceof ChoiceRejected && from !== null) {
          throw new RefinementFailure('choice', step, `${from}-abstract`, {
            path: `${error.point} order: the abstract spec does not allow the choice ${from} made`,
            lower: error.made,
            upper: `allowed: ${error.allowed}`,
          });
        }
        throw new RefinementFailure('crash', step, name, { path: `${name} threw`, lower: String(error), upper: 'an outcome' });
      }
    }
    const chosen = new Map<LayerName, Candidate>();
    for (const pair of this.pairs) {
      const lower = chosen.get(pair.lower) ?? candidates.get(pair.lower)![0]!;
      chosen.set(pair.lower, lower);
      const uppers = chosen.has(pair.upper) ? [chosen.get(pair.upper)!] : candidates.get(pair.upper)!;
      let first: RefinementFailure | null = null;
      for (const upper of uppers) {
        const failure = this.compareStep(step, pair, lower, upper);
        if (failure === null) {
          chosen.set(pair.upper, upper);
          first = null;
          break;
        }
        first ??= failure;
      }
      if (first) throw first;
    }
    const touched: Touched[] = [];
    let preempted = false;
    for (const [name, list] of candidates) {
      const pick = chosen.get(name) ?? list[0]!;
      pick.adopt();
      touched.push(pick.touched);
      preempted ||= pick.observation.preempted !== undefined;
      if (pick.choice) this.choices.set(pick.choice, (this.choices.get(pick.choice) ?? 0) + 1);
    }
    this.lastTouched = touched;
    // A preempted entry ends at its preemption point: the invariants must hold there too (incremental consistency).
    if (this.invariantsEveryStep || preempted) this.checkInvariants(step, touched);
    return chosen.get(this.lowest.name)?.observation ?? candidates.get(this.lowest.name)![0]!.observation;
  }

  private compareStep(step: number, pair: Pair, lower: Candidate, upper: Candidate): RefinementFailure | null {
    const name = pairName(pair);
    const obs = compareObservations(lower.observation, upper.observation, registerNames);
    if (obs) return new RefinementFailure('observation', step, name, obs);
    const touched: Touched[] = [lower.touched, upper.touched];
    const state = readingState(step, name, () => compareStep(pair, lower, upper, touched));
    if (state) return new RefinementFailure('state', step, name, state);
    return null;
  }

  private checkInvariants(step: number, touched?: readonly Touched[]): void {
    const check = this.invariants;
    if (!check) return;
    for (const layer of this.byName.values()) {
      const violation = readingState(step, layer.name, () => check(layer, undefined, touched));
      if (violation) throw new RefinementFailure('invariant', step, layer.name, { path: `${layer.name} invariant`, lower: violation, upper: 'holds' });
    }
  }

  /** The invariants, then the closing full comparison of every checked pair (reading the listings the invariants made). */
  finish(): void {
    sharingListings(() => {
      this.checkInvariants(this.stepIndex - 1);
      for (const pair of this.pairs) {
        const side = (name: LayerName) => ({ state: this.byName.get(name)!.state(), view: this.byName.get(name)!.view() });
        const m = readingState(this.stepIndex - 1, pairName(pair), () => pairComparison(pair.lower, pair.upper).all(side(pair.lower), side(pair.upper)));
        if (m) throw new RefinementFailure('final-state', this.stepIndex - 1, pairName(pair), m);
      }
    });
  }
}
