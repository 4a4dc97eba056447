// `sel4-model replay FILE`: re-runs a counterexample file's kernel entries on the layers in
// lockstep and says whether the disagreement still occurs.
import {
  CounterexampleError,
  readCounterexample,
  replayCounterexample,
  sameFailure,
  type Counterexample,
  type ReplayResult,
} from '../refinement/reports/counterexample.ts';
import { describeFailure } from '../refinement/reports/explain.ts';
import type { LayerOptions } from '../refinement/layers.ts';
import type { ModuleExport } from '../refinement/parallel.ts';
import { pairNames, type PairName } from '../refinement/lockstep/index.ts';
import { UsageError, parseCommandLine, valued } from './usage.ts';

export const usage = `usage: sel4-model replay FILE [options]

Replays a counterexample file (written by 'sel4-model check'): its kernel entries, from a
fresh boot with the file's boot configuration, on the layers in lockstep, then the closing
full comparison and invariant check. Says whether the disagreement still occurs, and where.
The file holds the concrete entries, so it replays the same way whatever the generator does.

options:
  --layers PAIRS    comma-separated pairs to check, lower-upper:
                    ${pairNames.join(', ')}
                    (default: the pair that failed in the file)
  -h, --help        this text

exit status: 0 the trace passes, 1 the layers disagree, 2 bad usage or a malformed file`;

/** The layer options a module exports (tests plant faults this way), or the defaults. */
export async function loadLayerOptions(module: ModuleExport | undefined): Promise<LayerOptions | undefined> {
  if (!module) return undefined;
  const options = ((await import(module.url)) as Record<string, LayerOptions | undefined>)[module.name];
  if (!options) throw new Error(`${module.url} exports no '${module.name}'`);
  return options;
}

/** `--layers` value: known pair names, without repeats. */
export function parsePairList(value: string | undefined): PairName[] {
  if (value === undefined || value === '') throw new UsageError('--layers needs a list of pairs');
  const list = value.split(',').map((s) => s.trim());
  for (const p of list) {
    if (!(pairNames as readonly string[]).includes(p)) throw new UsageError(`--layers: unknown pair '${p}' (pairs: ${pairNames.join(', ')})`);
  }
  return [...new Set(list)] as PairName[];
}

interface ParsedReplay {
  readonly file: string;
  readonly pairs: PairName[] | null;
}

/** The one counterexample file a command reads. */
export function oneFile(positionals: readonly string[], missing: string): string {
  const [file, second] = positionals;
  if (file === undefined) throw new UsageError(missing);
  if (second !== undefined) throw new UsageError(`one file at a time ('${file}', then '${second}')`);
  return file;
}

function parseReplayArgs(args: readonly string[]): ParsedReplay {
  const { values, positionals } = parseCommandLine(args, { layers: valued }, true);
  const pairs = values.layers === undefined ? null : parsePairList(values.layers);
  return { file: oneFile(positionals, 'which counterexample file? (e.g. counterexamples/seed1-impl-executable-state-0a1b2c3d.json)'), pairs };
}

/** The replay's verdict, with the recorded calls and the failing step marked. */
export function formatReplay(cx: Counterexample, file: string, result: ReplayResult): string {
  const lines = [`replay ${file}: ${cx.trace.length} kernel entries on ${result.pairs.join(', ')}`];
  if (cx.shrink) lines.push(`note: ${cx.shrink.note}`);
  const f = result.failure;
  const failingStep = f?.step ?? -2;
  cx.trace.forEach((t, i) => lines.push(`${i === failingStep ? '>' : ' '} ${String(i).padStart(3)}  ${t.call}`));
  lines.push('');
  if (f === null) {
    lines.push(`the trace passes: the recorded disagreement (${describeFailure(cx)}) no longer occurs`, 'PASS');
    return `${lines.join('\n')}\n`;
  }
  const [lower, upper] = f.pair.includes('-') ? f.pair.split('-') : [f.pair, 'expected'];
  const width = Math.max(lower!.length, upper!.length, 5) + 2;
  lines.push(
    `REFINEMENT FAILURE (${f.kind}) at step ${f.step}, ${f.pair.includes('-') ? `${lower} does not refine ${upper}` : f.pair}`,
    `  ${'where:'.padEnd(width)}${f.mismatch.path}`,
    `  ${`${lower}:`.padEnd(width)}${f.mismatch.lower}`,
    `  ${`${upper}:`.padEnd(width)}${f.mismatch.upper}`,
    sameFailure(cx, f)
      ? 'the same disagreement as recorded'
      : `a different disagreement from the recorded one (${describeFailure(cx)} at ${cx.failure.where.path}: ${cx.failure.where.lower} vs ${cx.failure.where.upper})`,
    `explain: npx sel4-model explain ${file}`,
    'FAIL',
  );
  return `${lines.join('\n')}\n`;
}

export async function replayFileCommand(args: readonly string[], layerOptionsModule?: ModuleExport): Promise<number> {
  const parsed = parseReplayArgs(args);
  const layerOptions = await loadLayerOptions(layerOptionsModule);
  let cx: Counterexample;
  try {
    cx = readCounterexample(parsed.file);
  } catch (error) {
    if (!(error instanceof CounterexampleError)) throw error;
    process.stderr.write(`sel4-model replay: ${error.message}\n`);
    return 2;
  }
  const result = replayCounterexample(cx, { ...(parsed.pairs ? { pairs: parsed.pairs } : {}), ...(layerOptions ? { layerOptions } : {}) });
  process.stdout.write(formatReplay(cx, parsed.file, result));
  return result.failure ? 1 : 0;
}
