// Helpers for a kernel developer's own tests (vitest, or any runner that fails a test on a
// thrown error): the refinement check as one assertion that fails with the readable report,
// and a system booted in lockstep with the invariants on.
import { runCheck } from './check.ts';
import { counterexampleOf, writeCounterexample, type CheckSettings, type Counterexample } from './reports/counterexample.ts';
import { foundBy, savedLines } from './reports/explain.ts';
import { checkInvariants } from './invariants/index.ts';
import type { LayerOptions } from './layers.ts';
import { defaultPairs } from './lockstep/index.ts';
import { planBatches } from './parallel.ts';
import { formatFailure } from './report.ts';
import { bootSystem, type System, type SystemOptions } from './system.ts';

export interface RefinementOptions extends Partial<Omit<CheckSettings, 'runs' | 'steps'>> {
  /** Generated workloads, each from a fresh boot (default 100). */
  readonly runs?: number;
  /** Most kernel entries per workload (default 100). */
  readonly steps?: number;
  /** fast-check seed (default: random; the failure message names it). */
  readonly seed?: number;
  /** Where a failure is saved as a counterexample file (default `counterexamples`); null: not saved. */
  readonly saveTo?: string | null;
  /** How the layers are built (e.g. a planted fault); default: the impl with debug assertions. */
  readonly layerOptions?: LayerOptions;
}

/** The check failed: the message is the report `sel4-model check` prints. */
export class RefinementCheckFailed extends Error {
  constructor(
    message: string,
    readonly counterexample: Counterexample,
    /** The saved counterexample file, or null when not saved. */
    readonly file: string | null,
  ) {
    super(message);
    this.name = 'RefinementCheckFailed';
  }
}

function checkOptions(options: RefinementOptions): Omit<CheckSettings, 'runs'> & { readonly seed: number } {
  return {
    seed: options.seed ?? (Math.random() * 2 ** 31) | 0,
    steps: options.steps ?? 100,
    pairs: options.pairs ?? defaultPairs,
    invariantsEveryStep: options.invariantsEveryStep ?? false,
    ...(options.config ? { config: options.config } : {}),
  };
}

function failureMessage(text: string, file: string | null): string {
  return file === null ? text : `${text}${savedLines(file)}`;
}

/** What a passing check did. */
export interface RefinementResult {
  readonly seed: number;
  readonly runs: number;
  /** Kernel entries checked. */
  readonly steps: number;
  readonly elapsedMs: number;
}

/**
 * Runs the refinement check as `sel4-model check --runs N --seed S` does on one worker (the same
 * batches of runs) and says what it checked; on a failure, saves the counterexample and throws
 * a RefinementCheckFailed whose message is the shrunk trace and the commands to replay it.
 */
export function expectRefinement(options: RefinementOptions = {}): RefinementResult {
  const settings = checkOptions(options);
  const done = { seed: settings.seed, runs: 0, steps: 0, elapsedMs: 0 };
  for (const batch of planBatches(settings.seed, options.runs ?? 100)) {
    const summary = runCheck({ ...settings, seed: batch.seed, runs: batch.runs, ...(options.layerOptions ? { layerOptions: options.layerOptions } : {}) });
    done.runs += summary.runs;
    done.steps += summary.steps;
    done.elapsedMs += summary.elapsedMs;
    if (summary.failure === null) continue;
    const cx = counterexampleOf(summary.failure, { ...settings, runs: batch.runs });
    const file = options.saveTo === null ? null : writeCounterexample(options.saveTo ?? 'counterexamples', cx);
    throw new RefinementCheckFailed(failureMessage(formatFailure(summary.failure, foundBy(cx)), file), cx, file);
  }
  return done;
}

/** A lockstep system as `bootSystem({ layer: 'lockstep' })`, with every layer's invariants checked (at `finish`, or after every step). */
export function bootLockstep(options: Omit<SystemOptions, 'layer' | 'invariants'> = {}): System & { finish(): void } {
  const system = bootSystem({ ...options, layer: 'lockstep', invariants: checkInvariants });
  return { ...system, finish: () => system.lockstep!.finish() };
}
