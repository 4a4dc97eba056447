// Ctrl-C and SIGTERM: a long command stops its work and still prints its summary and writes the
// reports it was asked for. While it runs, every SIGINT or SIGTERM (a second Ctrl-C too) only
// aborts the work, so the process is never ended half-way through writing them.
import { constants } from 'node:os';

export class Interrupts {
  readonly controller = new AbortController();
  /** The first signal received, or null. */
  received: NodeJS.Signals | null = null;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The exit status of an interrupted command: 128 plus the signal's number (130 for SIGINT). */
  status(): number {
    return 128 + constants.signals[this.received ?? 'SIGINT'];
  }
}

const stopping: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** Runs `body` with SIGINT and SIGTERM turned into an abort of `interrupts.signal`. */
export async function withInterrupts(body: (interrupts: Interrupts) => Promise<number>): Promise<number> {
  const interrupts = new Interrupts();
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts.received ??= signal;
    interrupts.controller.abort();
  };
  for (const s of stopping) process.on(s, onSignal);
  try {
    return await body(interrupts);
  } finally {
    for (const s of stopping) process.off(s, onSignal);
  }
}
