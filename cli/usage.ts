/** A bad command line or input file: reported with the command's usage, exit status 2. */
export class UsageError extends Error {}

/** One command-line argument: as given, its flag (`--flag` of `--flag=value`), and a reader for its value. */
export interface Flag {
  readonly arg: string;
  readonly flag: string;
  /** The value: the text after `=`, or else the next argument (which is then consumed). */
  value(): string | undefined;
}

/** Walks a command line argument by argument; `--flag value` and `--flag=value` read alike. */
export function* flags(args: readonly string[]): Generator<Flag> {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    yield { arg, flag: eq >= 0 ? arg.slice(0, eq) : arg, value: () => inline ?? args[++i] };
  }
}

/** A whole-number option from 1 to `max`. */
export function wholeNumber(flag: string, value: string | undefined, max: number): number {
  if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`${flag} needs a whole number from 1 to ${max}`);
  }
  return Number(value);
}

/** A fast-check seed: any integer, kept as a 32-bit signed value. */
export function seedOption(value: string | undefined): number {
  if (value === undefined || !/^-?\d+$/.test(value)) throw new UsageError('--seed needs an integer');
  return Number(value) | 0;
}
