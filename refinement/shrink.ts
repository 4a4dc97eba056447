// Shrinking a failing run on its concrete kernel entries. The generated steps pick their
// arguments from the state they meet, so dropping one step changes what every later step
// does; the entries, on the other hand, are fixed words. Removing chunks of entries (delta
// debugging) while the lockstep run still fails the same way (same kind, same pair) gives a
// short trace in a few hundred cheap replays.
import { Reg, syscallFromWord, type KernelEvent } from '../libsel4/index.ts';
import { answerOf, decodeEntry, stateAtEntry } from './describe.ts';
import { RefinementFailure } from './lockstep.ts';
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
      if (lockstep.lowest.view().current() === null) continue;
      const entry = stateAtEntry(obs.caller?.regs ?? [], obs.caller?.ipcBuffer ?? null, event);
      trace.push({ call: decodeEntry(obs.caller, event), result: '(layers disagree)' });
      ran.push(event);
      obs = lockstep.enter(event);
      trace[trace.length - 1] = { call: trace[trace.length - 1]!.call, result: answerOf(syscallFromWord(entry.regs[Reg.a7]!), obs) };
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
 * The shortest run found within `budgetMs` that still fails like `target`: first cut after
 * the failing entry, then remove ever smaller chunks of entries while the failure remains.
 */
export function shrinkEntries(boot: () => System, events: readonly KernelEvent[], target: RefinementFailure, budgetMs: number): Replayed {
  const deadline = performance.now() + budgetMs;
  const attempt = (candidate: readonly KernelEvent[]): Replayed | null => {
    const r = replayEntries(boot, candidate);
    return r.failure && sameFailure(r.failure, target) ? r : null;
  };
  let best = attempt(events);
  if (!best) return replayEntries(boot, events);
  const cut = (r: Replayed): Replayed => {
    if (r.failure!.kind === 'final-state' || r.failure!.kind === 'invariant') return r;
    return r.events.length > r.failure!.step + 1 ? (attempt(r.events.slice(0, r.failure!.step + 1)) ?? r) : r;
  };
  best = cut(best);
  let chunk = Math.ceil(best.events.length / 2);
  while (chunk >= 1 && performance.now() < deadline) {
    let removed = false;
    for (let start = 0; start < best.events.length && performance.now() < deadline; ) {
      const candidate = [...best.events.slice(0, start), ...best.events.slice(start + chunk)];
      const r = candidate.length > 0 ? attempt(candidate) : null;
      if (r) {
        best = cut(r);
        removed = true;
      } else {
        start += chunk;
      }
    }
    if (!removed) chunk = Math.floor(chunk / 2);
  }
  return best;
}
