// `sel4-model conformance [FILE|DIR ...]`: replays traces recorded on seL4 itself on each layer
// and compares every reply with the real kernel's.
import { existsSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { layerNames, type LayerName } from '../libsel4/index.ts';
import { ConformanceDataError } from '../refinement/conformance-data.ts';
import { exitStatus, resultJson, resultText, runConformance } from '../refinement/conformance-report.ts';
import { writeFileAtomic } from '../refinement/files.ts';

/** Where the project's recordings are kept: `../shared/conformance` beside the project folder. */
export const defaultRecordings = fileURLToPath(new URL('../../shared/conformance', import.meta.url));

export const usage = `usage: sel4-model conformance [FILE|DIR ...] [options]

Replays syscall traces recorded on the real seL4 kernel (riscv32, MCS) on each layer: boots it
into the recorded boot state, feeds the recorded entries, and compares every reply register and
IPC buffer word, then the cap type of every root CNode slot at the end. A folder means every
*.json in it; the default is ../shared/conformance beside the project folder (the recordings'
README there gives the format).

options:
  --layers LIST     comma-separated layers: impl, executable, abstract (default all three)
  --trace NAME      replay only the traces of this name
  --json FILE       write the report as JSON
  --strict          fail also on unmodelled or not comparable entries and known failures
  -h, --help        this text

An entry reaching kernel behaviour the model does not cover yet is counted as unmodelled, and
the rest of its trace as not comparable; neither fails the run unless --strict is given.
Reply words the recording marks volatile (time) are not compared; the summary counts them.

exit status: 0 every compared entry agrees, 1 a disagreement, 2 bad usage or a malformed data file`;

class ConformanceUsageError extends Error {}

function parseLayers(value: string | undefined): LayerName[] {
  if (value === undefined) return [...layerNames].reverse();
  const list = value.split(',').map((s) => s.trim());
  for (const name of list) {
    if (!(layerNames as readonly string[]).includes(name)) throw new ConformanceUsageError(`--layers: unknown layer '${name}' (layers: impl, executable, abstract)`);
  }
  return [...new Set(list)] as LayerName[];
}

function defaultPaths(): string[] {
  if (existsSync(defaultRecordings)) return [relative(process.cwd(), defaultRecordings) || '.'];
  throw new ConformanceUsageError(
    `no recordings given, and there are none at ${defaultRecordings}: the project's recordings are kept in ` +
      '../shared/conformance beside the project folder (CI has them); or pass your own recorded files or folders ' +
      '(README.md, "Conformance with seL4 itself", says how they are recorded and where the format is described)',
  );
}

function parse(args: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      layers: { type: 'string' },
      trace: { type: 'string' },
      json: { type: 'string' },
      strict: { type: 'boolean', default: false },
    },
  });
  if (values.json === '') throw new ConformanceUsageError('--json needs a file name');
  if (values.json !== undefined && !existsSync(dirname(values.json))) throw new ConformanceUsageError(`--json: folder ${dirname(values.json)} does not exist`);
  return {
    paths: positionals.length > 0 ? positionals : defaultPaths(),
    layers: parseLayers(values.layers),
    trace: values.trace,
    json: values.json,
    strict: values.strict ?? false,
  };
}

export function conformanceCommand(args: readonly string[]): number {
  try {
    const options = parse(args);
    const result = runConformance(options.paths, options);
    process.stdout.write(`${resultText(result)}\n`);
    if (options.json !== undefined) writeFileAtomic(options.json, `${JSON.stringify(resultJson(result), null, 2)}\n`);
    return exitStatus(result);
  } catch (error) {
    const bad = error instanceof ConformanceUsageError || error instanceof ConformanceDataError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (!bad) throw error;
    process.stderr.write(`sel4-model conformance: ${(error as Error).message}\n`);
    return 2;
  }
}
