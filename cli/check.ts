// `sel4-model check`: the refinement check with progress, a summary and a replay command.
import { readFileSync } from 'node:fs';
import { BootConfigError, parseBootConfig, type BootConfigInput } from '../libsel4/index.ts';
import { runCheck, type CheckOptions, type CheckSummary, type Progress } from '../refinement/check.ts';
import { pairNames, type PairName } from '../refinement/lockstep.ts';
import { formatFailure, formatSummary } from '../refinement/report.ts';
import { UsageError } from './usage.ts';

export const usage = `usage: sel4-model check [options]

Runs the refinement check: generated root-task workloads on the layers in lockstep.

options:
  --runs N          workloads to run (default 100)
  --steps N         most kernel entries per workload (default 100)
  --seed N          fast-check seed (default: random, printed)
  --path P          replay path of a failure (with the seed it was found with)
  --layers PAIRS    comma-separated pairs to check, lower-upper:
                    ${pairNames.join(', ')} (default impl-executable,executable-abstract)
  --config FILE     boot configuration (JSON)
  --invariants-every-step
                    check every layer's invariants after each step (default: at the end of each run)
  --quiet           no progress output
  -h, --help        this text

exit status: 0 pass, 1 refinement failure, 2 bad usage or input`;


export interface ParsedCheck {
  readonly options: Omit<CheckOptions, 'onProgress'>;
  readonly quiet: boolean;
  readonly configPath: string | null;
}

function positiveInt(flag: string, value: string | undefined, max: number): number {
  if (value === undefined || !/^\d+$/.test(value)) throw new UsageError(`${flag} needs a whole number`);
  const n = Number(value);
  if (n < 1 || n > max) throw new UsageError(`${flag} must be between 1 and ${max}`);
  return n;
}

function readConfig(path: string): BootConfigInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --config ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path}: not valid JSON: ${(error as Error).message}`);
  }
  try {
    return parseBootConfig(json);
  } catch (error) {
    if (error instanceof BootConfigError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
}

export function parseCheckArgs(args: readonly string[]): ParsedCheck {
  let runs = 100;
  let steps = 100;
  let seed: number | null = null;
  let path: string | undefined;
  let pairs: PairName[] = ['impl-executable', 'executable-abstract'];
  let config: BootConfigInput | undefined;
  let configPath: string | null = null;
  let invariantsEveryStep = false;
  let quiet = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? (arg.split(/=(.*)/s, 2) as [string, string]) : [arg, undefined];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case '--runs':
        runs = positiveInt('--runs', value(), 10_000_000);
        break;
      case '--steps':
        steps = positiveInt('--steps', value(), 100_000);
        break;
      case '--seed': {
        const v = value();
        if (v === undefined || !/^-?\d+$/.test(v)) throw new UsageError('--seed needs an integer');
        seed = Number(v) | 0;
        break;
      }
      case '--path': {
        const v = value();
        if (v === undefined || !/^\d+(:\d+)*$/.test(v)) throw new UsageError('--path needs a replay path like 12:3:0');
        path = v;
        break;
      }
      case '--layers': {
        const v = value();
        if (v === undefined) throw new UsageError('--layers needs a list of pairs');
        const list = v.split(',').map((s) => s.trim());
        for (const p of list) {
          if (!(pairNames as readonly string[]).includes(p)) throw new UsageError(`--layers: unknown pair '${p}' (pairs: ${pairNames.join(', ')})`);
        }
        pairs = [...new Set(list)] as PairName[];
        break;
      }
      case '--config': {
        const v = value();
        if (v === undefined) throw new UsageError('--config needs a file');
        configPath = v;
        config = readConfig(v);
        break;
      }
      case '--invariants-every-step':
        invariantsEveryStep = true;
        break;
      case '--quiet':
        quiet = true;
        break;
      default:
        throw new UsageError(`unknown option '${arg}'`);
    }
  }
  seed ??= (Math.random() * 2 ** 31) | 0;
  return {
    options: { runs, steps, seed, ...(path !== undefined ? { path } : {}), pairs, ...(config ? { config } : {}), invariantsEveryStep },
    quiet,
    configPath,
  };
}

/** The command line that replays a run with the same settings. */
export function replayCommand(parsed: ParsedCheck, seed: number, path: string): string {
  const o = parsed.options;
  const parts = ['npx sel4-model check', `--seed ${seed}`, `--path ${path}`, `--runs ${o.runs}`, `--steps ${o.steps}`, `--layers ${o.pairs.join(',')}`];
  if (parsed.configPath) parts.push(`--config ${parsed.configPath}`);
  if (o.invariantsEveryStep) parts.push('--invariants-every-step');
  return parts.join(' ');
}

function progressPrinter(stream: NodeJS.WriteStream): (p: Progress) => void {
  const started = performance.now();
  let lastDraw = 0;
  let lastTenth = -1;
  return (p) => {
    const now = performance.now();
    const seconds = (now - started) / 1000;
    const rate = seconds > 0 ? Math.round(p.steps / seconds) : 0;
    if (stream.isTTY) {
      if (now - lastDraw < 100 && p.runsDone < p.runs && !p.shrinking) return;
      lastDraw = now;
      const width = 30;
      const filled = Math.round((p.runsDone / p.runs) * width);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      const tail = p.shrinking ? 'failure found, shrinking...' : `${p.steps} steps, ${rate} steps/s`;
      stream.write(`\r${bar} ${p.runsDone}/${p.runs} runs, ${tail}\x1b[K`);
    } else {
      const tenth = Math.floor((p.runsDone / p.runs) * 10);
      if (p.shrinking && lastTenth !== 99) {
        lastTenth = 99;
        stream.write(`failure found after ${p.runsDone} runs, shrinking\n`);
      } else if (!p.shrinking && tenth !== lastTenth && lastTenth !== 99) {
        lastTenth = tenth;
        stream.write(`${p.runsDone}/${p.runs} runs, ${p.steps} steps, ${rate} steps/s\n`);
      }
    }
  };
}

export function checkCommand(args: readonly string[]): number {
  const parsed = parseCheckArgs(args);
  const err = process.stderr;
  const onProgress = parsed.quiet ? undefined : progressPrinter(err);
  const o = parsed.options;
  if (!parsed.quiet) err.write(`sel4-model check: ${o.runs} runs of up to ${o.steps} steps, seed ${o.seed}, pairs ${o.pairs.join(', ')}\n`);
  const summary: CheckSummary = runCheck({ ...o, ...(onProgress ? { onProgress } : {}) });
  if (!parsed.quiet && err.isTTY) err.write('\n');
  process.stdout.write(formatSummary(summary));
  if (summary.failure) {
    process.stdout.write(formatFailure(summary.failure, replayCommand(parsed, summary.failure.seed, summary.failure.path)));
    process.stdout.write('FAIL\n');
    return 1;
  }
  process.stdout.write('PASS\n');
  return 0;
}
