// `sel4-model explain FILE`: a counterexample file as a readable story, as text or as a
// self-contained HTML page.
import { writeFileAtomic } from '../refinement/files.ts';
import { CounterexampleError, readCounterexample } from '../refinement/reports/counterexample.ts';
import { explanationHtml } from '../refinement/reports/explain-html.ts';
import { explainCounterexample, formatExplanation } from '../refinement/reports/explain.ts';
import type { ModuleExport } from '../refinement/parallel.ts';
import { loadLayerOptions, oneFile } from './replay.ts';
import { UsageError, flag, outputFile, parseCommandLine, valued } from './usage.ts';

export const usage = `usage: sel4-model explain FILE [options]

Tells the story of a counterexample file: each kernel entry as the libsel4 call the root task
made (seL4_CNode_Mint(service=2, dest_index=31, ...)), what each layer answered when it runs
the trace on its own (registers decoded: message info, error, badge; the abstract spec
following the choices of the layer below, or rejecting one), and at the failing step every
slot and object each layer wrote, field by field (cap fields, CDT parent and original flag,
MDB prev/next, revocable, firstBadged; object fields), with ^ under exactly the fields where
the layers differ (highlighted cells in HTML). It starts with the replay and explain commands
to copy.

options:
  --html            write a self-contained HTML page instead of text
  -o, --output OUT  where to write (default: text to standard output, HTML next to FILE
                    with the extension .html)
  -h, --help        this text

exit status: 0 written, 2 bad usage, a malformed file, or an output that cannot be written`;

interface ParsedExplain {
  readonly file: string;
  readonly html: boolean;
  readonly output: string | null;
}

function parseExplainArgs(args: readonly string[]): ParsedExplain {
  const { values, positionals } = parseCommandLine(args, { html: flag, output: { ...valued, short: 'o' } }, true);
  if (values.output === '') throw new UsageError('-o/--output needs a file');
  return {
    file: oneFile(positionals, 'which counterexample file?'),
    html: values.html ?? false,
    output: values.output === undefined ? null : outputFile('-o/--output', values.output),
  };
}

function htmlPathFor(file: string): string {
  return file.endsWith('.json') ? `${file.slice(0, -'.json'.length)}.html` : `${file}.html`;
}

export async function explainCommand(args: readonly string[], layerOptionsModule?: ModuleExport): Promise<number> {
  const parsed = parseExplainArgs(args);
  const layerOptions = await loadLayerOptions(layerOptionsModule);
  let text: string;
  try {
    const cx = readCounterexample(parsed.file);
    const explanation = explainCounterexample(cx, layerOptions);
    text = parsed.html ? explanationHtml(explanation, parsed.file) : formatExplanation(explanation, parsed.file);
  } catch (error) {
    if (!(error instanceof CounterexampleError)) throw error;
    process.stderr.write(`sel4-model explain: ${error.message}\n`);
    return 2;
  }
  const output = parsed.output ?? (parsed.html ? htmlPathFor(parsed.file) : null);
  if (output === null) {
    process.stdout.write(text);
    return 0;
  }
  try {
    writeFileAtomic(output, text);
  } catch (error) {
    process.stderr.write(`sel4-model explain: cannot write ${output}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
    return 2;
  }
  process.stdout.write(`wrote ${output}\n`);
  return 0;
}
