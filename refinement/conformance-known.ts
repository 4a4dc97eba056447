// Recorded traces known to disagree with the model, each with the reason and the issue that
// will fix it. A known failure does not fail the conformance run (unless --strict); one that
// passes again is reported so that it is taken off this list.

export interface KnownFailure {
  /** The data file's name, e.g. `cnode-untyped.json`. */
  readonly file: string;
  readonly trace: string;
  /** The entry where the model's answer differs from seL4's: a failure anywhere else is a failure. */
  readonly entry: number;
  readonly reason: string;
  readonly issue: string;
}

const rootRegisters =
  'the recording holds only the a0-a7 and t0 the root task wrote, not the rest of its register file: entry 19 copies the ' +
  "running root thread's frame registers (pc, ra, sp, gp, s0-s11) into another TCB and this ReadRegisters reads them back " +
  "(seL4: pc 0x104d0, ra 0x10602, ...); the model's root thread has its entry PC and zeros there";

export const knownFailures: readonly KnownFailure[] = [
  { file: 'tcb-sched.json', trace: 'tcb-copy-registers', entry: 20, reason: rootRegisters, issue: 'none: a recording would have to carry the root task register file' },
];

/** Whether a layer's run of a trace fails exactly as its known failure says. */
export function failsAsKnown(known: KnownFailure | null, verdict: { readonly kind: string; readonly entry?: number | null }): boolean {
  return known !== null && verdict.kind === 'fail' && verdict.entry === known.entry;
}

export function knownFailureOf(file: string, trace: string): KnownFailure | null {
  return knownFailures.find((k) => k.file === file && k.trace === trace) ?? null;
}
