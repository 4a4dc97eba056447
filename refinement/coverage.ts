// Coverage of a check in seL4 terms: how often each invocation or syscall was reached and what
// it answered, which of its documented errors were never returned, how often each invariant was
// checked, which abstract-spec choices were taken; summed over runs, batches and shards.
import { errorName, invocationLabels, seL4_Syscall } from '../libsel4/index.ts';
import type { Coverage } from './check.ts';

/** What one passing run contributed. */
export interface RunRecord {
  /** Entries checked. */
  readonly steps: number;
  /** (invocation or syscall, result) of each entry. */
  readonly entries: readonly (readonly [string, string])[];
  readonly choices: ReadonlyMap<string, number>;
  readonly invariants: ReadonlyMap<string, number>;
}

/** Coverage as JSON reports carry it. */
export interface CoverageJson {
  /** Invocation or syscall -> result -> how often. */
  readonly invocations: Record<string, Record<string, number>>;
  /** Invariant -> how often it was checked. */
  readonly invariants: Record<string, number>;
  /** Abstract-spec choice point -> how often a choice was taken there. */
  readonly choices: Record<string, number>;
}

function bump(counts: Map<string, number>, key: string, n: number): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}

/** Runs, steps and coverage summed over passing runs. */
export class Tally {
  runs = 0;
  steps = 0;
  readonly coverage: Coverage = new Map();
  readonly choices = new Map<string, number>();
  readonly invariants = new Map<string, number>();

  addRun(run: RunRecord): void {
    this.runs++;
    this.steps += run.steps;
    for (const [key, result] of run.entries) this.addResult(key, result, 1);
    for (const [choice, n] of run.choices) bump(this.choices, choice, n);
    for (const [name, n] of run.invariants) bump(this.invariants, name, n);
  }

  add(other: Tally): void {
    this.runs += other.runs;
    this.steps += other.steps;
    for (const [key, byResult] of other.coverage) for (const [result, n] of byResult) this.addResult(key, result, n);
    for (const [choice, n] of other.choices) bump(this.choices, choice, n);
    for (const [name, n] of other.invariants) bump(this.invariants, name, n);
  }

  private addResult(key: string, result: string, n: number): void {
    let byResult = this.coverage.get(key);
    if (!byResult) this.coverage.set(key, (byResult = new Map()));
    bump(byResult, result, n);
  }
}

const sortedRecord = (m: ReadonlyMap<string, number>): Record<string, number> =>
  Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function coverageToJson(t: { coverage: Coverage; choices: ReadonlyMap<string, number>; invariants: ReadonlyMap<string, number> }): CoverageJson {
  const keys = [...t.coverage.keys()].sort();
  return {
    invocations: Object.fromEntries(keys.map((k) => [k, sortedRecord(t.coverage.get(k)!)])),
    invariants: sortedRecord(t.invariants),
    choices: sortedRecord(t.choices),
  };
}

export function tallyFromJson(json: CoverageJson, runs: number, steps: number): Tally {
  const tally = new Tally();
  tally.runs = runs;
  tally.steps = steps;
  for (const [key, byResult] of Object.entries(json.invocations)) tally.coverage.set(key, new Map(Object.entries(byResult)));
  for (const [name, n] of Object.entries(json.invariants)) tally.invariants.set(name, n);
  for (const [choice, n] of Object.entries(json.choices)) tally.choices.set(choice, n);
  return tally;
}

/**
 * The errors seL4's manual and kernel source give each modelled invocation (reference §7.2,
 * §8.2), with success. The generator should reach all of them.
 */
export const documentedErrors: Readonly<Record<string, readonly string[]>> = {
  UntypedRetype: ['NoError', 'InvalidArgument', 'RangeError', 'FailedLookup', 'TruncatedMessage', 'DeleteFirst', 'NotEnoughMemory'],
  CNodeRevoke: ['NoError', 'FailedLookup', 'RangeError', 'TruncatedMessage'],
  CNodeDelete: ['NoError', 'FailedLookup', 'RangeError', 'TruncatedMessage'],
  CNodeCancelBadgedSends: ['NoError', 'FailedLookup', 'RangeError', 'IllegalOperation', 'TruncatedMessage'],
  CNodeCopy: ['NoError', 'FailedLookup', 'RangeError', 'DeleteFirst', 'TruncatedMessage', 'IllegalOperation', 'RevokeFirst'],
  CNodeMint: ['NoError', 'FailedLookup', 'RangeError', 'DeleteFirst', 'TruncatedMessage', 'IllegalOperation', 'RevokeFirst'],
  CNodeMove: ['NoError', 'FailedLookup', 'RangeError', 'DeleteFirst', 'TruncatedMessage'],
  CNodeMutate: ['NoError', 'FailedLookup', 'RangeError', 'DeleteFirst', 'TruncatedMessage', 'IllegalOperation'],
  CNodeRotate: ['NoError', 'FailedLookup', 'RangeError', 'DeleteFirst', 'TruncatedMessage', 'IllegalOperation'],
};

/** For each documented invocation: the documented results it never gave (all of them if never called). */
export function documentedGaps(coverage: Coverage): { invocation: string; reached: number; missing: string[] }[] {
  return Object.entries(documentedErrors).map(([invocation, errors]) => {
    const reached = coverage.get(invocation);
    const missing = errors.filter((e) => !reached?.has(`seL4_${e}`));
    return { invocation, reached: errors.length - missing.length, missing };
  });
}

/** The coverage lines the summary adds: documented errors not reached, invariants checked. */
export function formatCoverageDetails(t: { coverage: Coverage; invariants: ReadonlyMap<string, number> }): string {
  const lines: string[] = [];
  const gaps = documentedGaps(t.coverage);
  const complete = gaps.filter((g) => g.missing.length === 0).length;
  lines.push(`documented results reached: ${complete} of ${gaps.length} invocations complete`);
  for (const g of gaps) {
    if (g.missing.length > 0) lines.push(`  ${g.invocation} ${g.reached}/${g.reached + g.missing.length}, never: ${g.missing.join(', ')}`);
  }
  if (t.invariants.size > 0) {
    lines.push(`invariants checked: ${[...t.invariants.entries()].map(([name, n]) => `${name} x${n}`).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** An (invocation or syscall, result) pair a check must reach. */
export interface CoveragePair {
  readonly invocation: string;
  readonly result: string;
}

export class CoverageSpecError extends Error {}

const syscallNames = new Set<string>([...Object.keys(seL4_Syscall), 'Yield', 'UnknownSyscall']);
const labels = new Set<string>(invocationLabels);
const otherResults = /^(returned|no thread ran|caller \w+|unmodelled: .+|label \d+)$/;

/** The invocation part of a coverage key: `CNodeCopy`, `Send CNodeCopy`, `CNodeCopy on thread cap`, `Yield`. */
function knownInvocation(key: string): boolean {
  if (syscallNames.has(key)) return true;
  const label = key.replace(/^(Send|NBSend) /, '').replace(/ on \w+ cap$/, '');
  return labels.has(label);
}

function normaliseResult(result: string): string | null {
  if (errorName.includes(result)) return result;
  if (errorName.includes(`seL4_${result}`)) return `seL4_${result}`;
  return otherResults.test(result) ? result : null;
}

/** Parses `CNodeCopy:seL4_RevokeFirst,UntypedRetype:NotEnoughMemory` (the `seL4_` is optional). */
export function parseCoverageRequirement(text: string): CoveragePair[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new CoverageSpecError('needs a list of invocation:result pairs, e.g. CNodeCopy:seL4_RevokeFirst');
  return items.map((item) => {
    const colon = item.indexOf(':');
    if (colon < 0) throw new CoverageSpecError(`'${item}' is not an invocation:result pair (e.g. CNodeCopy:seL4_RevokeFirst)`);
    const invocation = item.slice(0, colon).trim();
    const result = normaliseResult(item.slice(colon + 1).trim());
    if (!knownInvocation(invocation)) throw new CoverageSpecError(`unknown invocation or syscall '${invocation}' in '${item}'`);
    if (result === null) throw new CoverageSpecError(`unknown result '${item.slice(colon + 1).trim()}' in '${item}' (an seL4 error such as seL4_RevokeFirst)`);
    return { invocation, result };
  });
}

/** The required pairs the coverage never reached. */
export function unreachedPairs(coverage: Coverage, required: readonly CoveragePair[]): CoveragePair[] {
  return required.filter((p) => !coverage.get(p.invocation)?.has(p.result));
}

export function pairText(p: CoveragePair): string {
  return `${p.invocation}:${p.result}`;
}
