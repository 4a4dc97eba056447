// sel4-model's public entry point: libsel4 (the ABI and the root task's libsel4 calls), a
// system booted on one layer or on several in lockstep, user programs and the run loop, the
// refinement check, counterexample files (replay, explain) and the helpers for a kernel
// developer's own tests.
export * from './libsel4/index.ts';
export { bootSystem, type System, type SystemOptions } from './refinement/system.ts';
export {
  ProgramError,
  formatMicroseconds,
  formatTimeline,
  programEndException,
  programEntryBase,
  programEntryStride,
  runSystem,
  startThread,
  type DeviceInterrupt,
  type Program,
  type ProgramContext,
  type RunEntry,
  type RunLimits,
  type RunOptions,
  type RunResult,
  type Slice,
  type StopReason,
  type ThreadSpec,
  type ThreadSummary,
} from './refinement/run.ts';
export { Lockstep, RefinementFailure, defaultPairs, pairNames, type FailureKind, type InvariantCheck, type PairName } from './refinement/lockstep/index.ts';
export { runCheck, type CheckOptions, type CheckSummary, type FailureReport } from './refinement/check.ts';
export { formatFailure, formatSummary } from './refinement/report.ts';
export {
  counterexampleOf,
  readCounterexample,
  replayCounterexample,
  writeCounterexample,
  type Counterexample,
  type ReplayOptions,
  type ReplayResult,
} from './refinement/reports/counterexample.ts';
export { explainCounterexample, formatExplanation, type Explanation } from './refinement/reports/explain.ts';
export { explanationHtml } from './refinement/reports/explain-html.ts';
export { checkInvariants } from './refinement/invariants/index.ts';
export type { LayerOptions } from './refinement/layers.ts';
export { RefinementCheckFailed, bootLockstep, expectRefinement, type RefinementOptions, type RefinementResult } from './refinement/testing.ts';
