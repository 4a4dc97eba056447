// Shrinking a failing run on its concrete kernel entries. The generated steps pick their
// arguments from the state they meet, so dropping one step changes what every later step
// does; the entries, on the other hand, are fixed words. Removing chunks of entries (delta
// debugging) while the lockstep run still fails the same way (same kind, same pair) gives a
// short trace, usually in a few dozen cheap replays. Shrinking is bounded by a count of replays,
// not by time, so the same failing run shrinks to the same trace on any machine; only a generous
// wall-time guard can stop it earlier, and then the report says so.
import { Reg, isThreadEvent, syscallFromWord, type KernelEvent } from '../libsel4/index.ts';
import { interruptResult, irqLineOf, momentOf, timerFired } from './coverage.ts';
import { accessAnswer, answerOf, decodeEntry, stateAtEntry } from './reports/describe.ts';
import { RefinementFailure } from './lockstep/index.ts';
import type { System } from './system.ts';

export interface Replayed {
  /** The failure the entries lead to, or null if they pass. */
  readonly failure: RefinementFailure | null;
  /** One line per entry that ran: the call, and what the lowest layer answered. */
  readonly trace: readonly { readonly call: string; readonly result: string }[];
  /** The entries that ran (entries made while no thread could run are skipped). */
  readonly events: readonly KernelEvent[];
}

/** Replays entries from a fresh boot on the checked pairs, then closes the run. */
export function replayEntries(boot: () => System, events: readonly KernelEvent[]): Replayed {
  const system = boot();
  const lockstep = system.lockstep!;
  let obs = lockstep.lowest.observe(system.plan.rootTCB);
  const trace: { call: string; result: string }[] = [];
  const ran: KernelEvent[] = [];
  try {
    for (const event of events) {
      // With no thread to run, only the passing of time and interrupts do anything.
      const before = momentOf(lockstep.lowest.view());
      if (before.current === null && isThreadEvent(event)) continue;
      const entry = stateAtEntry(obs.caller?.regs ?? [], obs.caller?.ipcBuffer ?? null, event);
      const line = event.kind === 'interrupt' ? irqLineOf(lockstep.lowest.view(), event.irq) : null;
      trace.push({ call: decodeEntry(obs.caller, event), result: '(layers disagree)' });
      ran.push(event);
      obs = lockstep.enter(event);
      const after = lockstep.lowest.view();
      const result =
        event.kind === 'time' ? (timerFired(before, momentOf(after)) ? 'timer-interrupt' : 'no-interrupt')
        : event.kind === 'interrupt' && obs.unmodelled === null ? interruptResult(line, irqLineOf(after, event.irq)?.line ?? null)
        : event.kind === 'access' && obs.unmodelled === null ? accessAnswer(obs)
        : answerOf(syscallFromWord(entry.regs[Reg.a7]!), obs);
      trace[trace.length - 1] = { call: trace[trace.length - 1]!.call, result };
    }
    lockstep.finish();
  } catch (error) {
    if (error instanceof RefinementFailure) return { failure: error, trace, events: ran };
    throw error;
  }
  return { failure: null, trace, events: ran };
}

const sameFailure = (a: RefinementFailure, b: RefinementFailure) => a.kind === b.kind && a.pair === b.pair;

/**
 * What bounds shrinking. The count of replays makes the answer a function of the failing run
 * alone; the wall-time guard only stops a shrink that would otherwise run for far too long, and
 * when it does, the result says so (its trace then depends on the machine's speed).
 */
export interface ShrinkLimits {
  /** Most replays of candidate traces. */
  readonly maxReplays: number;
  /** Wall time after which shrinking stops early, in milliseconds. */
  readonly guardMs: number;
  /** The clock the guard reads, in milliseconds (tests inject one). */
  readonly now?: () => number;
}

/** Default limits: a replay of a 100-entry run on two pairs takes about 25 ms, and shrinking one usually needs a few dozen. */
export const defaultShrinkLimits: ShrinkLimits = { maxReplays: 2000, guardMs: 120_000 };

/** How a shrink ended: `complete` when no chunk of entries could be removed any more. */
export const shrinkEnds = ['complete', 'replay-limit', 'time-guard'] as const;
export type ShrinkEnd = (typeof shrinkEnds)[number];

export interface ShrinkOutcome {
  readonly replays: number;
  readonly end: ShrinkEnd;
}

export interface Shrunk extends Replayed {
  readonly shrink: ShrinkOutcome;
}

/** Why a shrink stopped before it was done, in a sentence; null when it was done. */
export function shrinkNote(outcome: ShrinkOutcome): string | null {
  switch (outcome.end) {
    case 'complete':
      return null;
    case 'replay-limit':
      return `shrinking stopped at its limit of ${outcome.replays} replays: the trace may not be minimal`;
    case 'time-guard':
      return `shrinking stopped by its wall-time guard after ${outcome.replays} replays: the trace may not be minimal, and the same command may give another`;
  }
}

/**
 * The shortest run found within `limits` that still fails like `target`: first cut after the
 * failing entry, then remove ever smaller chunks of entries while the failure remains.
 */
export function shrinkEntries(boot: () => System, events: readonly KernelEvent[], target: RefinementFailure, limits: ShrinkLimits = defaultShrinkLimits): Shrunk {
  const now = limits.now ?? (() => performance.now());
  const deadline = now() + limits.guardMs;
  let replays = 0;
  let end: ShrinkEnd | null = null;
  /** Whether another replay may run; records why not. */
  const mayReplay = (): boolean => {
    if (end !== null) return false;
    if (replays >= limits.maxReplays) end = 'replay-limit';
    else if (now() >= deadline) end = 'time-guard';
    return end === null;
  };
  const attempt = (candidate: readonly KernelEvent[]): Replayed | null => {
    replays++;
    const r = replayEntries(boot, candidate);
    return r.failure && sameFailure(r.failure, target) ? r : null;
  };
  let best = attempt(events);
  if (!best) return { ...replayEntries(boot, events), shrink: { replays, end: 'complete' } };
  const cut = (r: Replayed): Replayed => {
    if (r.failure!.kind === 'final-state' || r.failure!.kind === 'invariant') return r;
    if (r.events.length <= r.failure!.step + 1 || !mayReplay()) return r;
    return attempt(r.events.slice(0, r.failure!.step + 1)) ?? r;
  };
  best = cut(best);
  let chunk = Math.ceil(best.events.length / 2);
  while (chunk >= 1 && end === null) {
    let removed = false;
    for (let start = 0; start < best.events.length && end === null; ) {
      const candidate = [...best.events.slice(0, start), ...best.events.slice(start + chunk)];
      const r = candidate.length > 0 && mayReplay() ? attempt(candidate) : null;
      if (end !== null) break;
      if (r) {
        best = cut(r);
        removed = true;
      } else {
        start += chunk;
      }
    }
    if (!removed) chunk = Math.floor(chunk / 2);
  }
  // Then each syscall's raise: dropped if the failure does not need it, else raised as early as it
  // still fails; and each access: its address aligned, a store's value 0.
  for (let i = 0; i < best.events.length && end === null; i++) {
    for (const simpler of [...simplerRaises(best.events[i]!), ...simplerAccesses(best.events[i]!)]) {
      const r = mayReplay() ? attempt(best.events.map((e, j) => (j === i ? simpler : e))) : null;
      if (r) {
        best = cut(r);
        break;
      }
    }
  }
  return { ...best, shrink: { replays, end: end ?? 'complete' } };
}

/** Simpler forms of a syscall armed with a raise: without it, then raised after fewer work units (1, then half). */
function simplerRaises(event: KernelEvent): KernelEvent[] {
  if (event.kind !== 'syscall' || event.raise === undefined) return [];
  const { raise, ...unarmed } = event;
  const earlier = [...new Set([1, Math.floor(raise.afterWorkUnits / 2)])].filter((units) => units >= 1 && units < raise.afterWorkUnits);
  return [unarmed, ...earlier.map((afterWorkUnits) => ({ ...event, raise: { irq: raise.irq, afterWorkUnits } }))];
}

/** Simpler forms of an access: at the aligned word's address, and a store of 0. */
function simplerAccesses(event: KernelEvent): KernelEvent[] {
  if (event.kind !== 'access') return [];
  const aligned = (event.vaddr & ~3) >>> 0;
  return [
    ...(aligned !== event.vaddr ? [{ ...event, vaddr: aligned }] : []),
    ...(event.access === 'store' && (event.value ?? 0) !== 0 ? [{ ...event, value: 0 }] : []),
  ];
}
