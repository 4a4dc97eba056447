// Command lines: every command's options are read by Node's `util.parseArgs`, with the forms the
// commands have always taken (`--flag value`, `--flag=value`, a value that starts with a dash
// such as `--seed -5`), and every mistake a usage error naming the option.
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** A bad command line or input file: reported with the command's usage, exit status 2. */
export class UsageError extends Error {}

interface Config<T extends ParseArgsOptionsConfig> {
  args: string[];
  options: T;
  strict: true;
  allowPositionals: true;
}

export type ParsedCommandLine<T extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<Config<T>>>;

/** An option that takes a value, and one that is a flag (for a command's table of options). */
export const valued = { type: 'string' } as const;
export const flag = { type: 'boolean' } as const;

/** The option an argument names (`--runs` of `--runs=5`, `-o`), or null for a positional. */
function optionName(arg: string, options: ParseArgsOptionsConfig): { name: string; inline: boolean } | null {
  if (arg.startsWith('--')) {
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!Object.hasOwn(options, name)) throw new UsageError(`unknown option '${arg}'`);
    return { name, inline: eq >= 0 };
  }
  if (arg.startsWith('-') && arg !== '-') {
    const name = Object.keys(options).find((n) => `-${options[n]!.short}` === arg);
    if (name === undefined) throw new UsageError(`unknown option '${arg}'`);
    return { name, inline: false };
  }
  return null;
}

/**
 * Every valued option written `--name=value`, so that parseArgs takes any value as given: the
 * next argument whatever it looks like (as these commands always have), or an empty value at the
 * end of the line, which the option's own check then reports (`--runs needs a whole number ...`).
 */
function normalise(args: readonly string[], options: ParseArgsOptionsConfig): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return [...out, ...args.slice(i)];
    const option = optionName(arg, options);
    if (option === null || option.inline || options[option.name]!.type === 'boolean') out.push(arg);
    else out.push(`--${option.name}=${args[++i] ?? ''}`);
  }
  return out;
}

/**
 * A command's arguments read against its options: values as strings (or true for a flag),
 * the last one given winning, and the positionals; `positionals: false` refuses any.
 */
export function parseCommandLine<T extends ParseArgsOptionsConfig>(args: readonly string[], options: T, positionals: boolean): ParsedCommandLine<T> {
  const normalised = normalise(args, options);
  let parsed: ParsedCommandLine<T>;
  try {
    parsed = parseArgs({ args: normalised, options, strict: true, allowPositionals: true });
  } catch (error) {
    // Left to parseArgs: a value given to a flag that takes none (`--quiet=yes`).
    const flag = /'(--?[^' ]+)'/.exec((error as Error).message)?.[1];
    throw new UsageError(flag ? `${flag} takes no value` : (error as Error).message);
  }
  if (!positionals && parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  return parsed;
}

/** A whole-number option from 1 to `max`. */
export function wholeNumber(flag: string, value: string | undefined, max: number): number {
  if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`${flag} needs a whole number from 1 to ${max}`);
  }
  return Number(value);
}

/** A fast-check seed: a 32-bit signed integer, as fast-check takes it. */
export function seedOption(value: string | undefined): number {
  if (value === undefined || !/^-?\d+$/.test(value)) throw new UsageError('--seed needs an integer');
  const seed = Number(value);
  if (seed < -(2 ** 31) || seed > 2 ** 31 - 1) throw new UsageError(`--seed ${value}: seeds are 32-bit signed integers, from ${-(2 ** 31)} to ${2 ** 31 - 1}`);
  return seed;
}

/** The kind of thing at `path`, or null if nothing is there. */
function kindAt(path: string): 'directory' | 'other' | null {
  try {
    return statSync(path).isDirectory() ? 'directory' : 'other';
  } catch {
    return null;
  }
}

/** Whether a file can be created in `dir`: tried with an empty file, removed at once. */
function writableDirectory(flag: string, value: string, dir: string): void {
  const probe = join(dir, `.sel4-model-probe-${process.pid}`);
  try {
    writeFileSync(probe, '', { flag: 'wx' });
    rmSync(probe);
  } catch (error) {
    throw new UsageError(`${flag} ${value}: cannot write in ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** An output file, checked before any work so a long run does not end unable to write it. */
export function outputFile(flag: string, value: string): string {
  if (value === '') throw new UsageError(`${flag} needs a file`);
  const dir = dirname(resolve(value));
  if (kindAt(dir) !== 'directory') throw new UsageError(`${flag} ${value}: no directory ${dir}`);
  if (kindAt(value) === 'directory') throw new UsageError(`${flag} ${value}: is a directory`);
  writableDirectory(flag, value, dir);
  return value;
}

/** An output directory, created when something is written to it: it or its nearest existing parent must be a writable directory. */
export function outputDirectory(flag: string, value: string): string {
  if (value === '') throw new UsageError(`${flag} needs a directory`);
  let dir = resolve(value);
  while (kindAt(dir) === null && dirname(dir) !== dir) dir = dirname(dir);
  if (kindAt(dir) !== 'directory') throw new UsageError(`${flag} ${value}: not a directory${dir === resolve(value) ? '' : ` (${dir} is a file)`}`);
  writableDirectory(flag, value, dir);
  return value;
}
