// The `sel4-model` command: one module per subcommand.
import { readFileSync } from 'node:fs';
import type { ModuleExport } from '../refinement/parallel.ts';
import { checkCommand, usage as checkUsage } from './check.ts';
import { conformanceCommand, usage as conformanceUsage } from './conformance.ts';
import { explainCommand, usage as explainUsage } from './explain.ts';
import { mergeCommand, usage as mergeUsage } from './merge.ts';
import { mutantsCommand, usage as mutantsUsage } from './mutants.ts';
import { replayFileCommand, usage as replayUsage } from './replay.ts';
import { UsageError } from './usage.ts';

interface Command {
  readonly summary: string;
  readonly usage: string;
  /** `layerOptionsModule`: a module export the layers are built with (tests plant faults through it). */
  run(args: readonly string[], layerOptionsModule?: ModuleExport): number | Promise<number>;
}

const commands: Record<string, Command> = {
  check: { summary: 'run the refinement check', usage: checkUsage, run: checkCommand },
  replay: { summary: 'replay a counterexample file on the layers in lockstep', usage: replayUsage, run: replayFileCommand },
  explain: { summary: 'show a counterexample file as a readable story (text or HTML)', usage: explainUsage, run: explainCommand },
  merge: { summary: 'combine the JSON reports of a check\'s shards', usage: mergeUsage, run: mergeCommand },
  mutants: { summary: 'run the catalogue of planted kernel bugs: how strong is the check?', usage: mutantsUsage, run: mutantsCommand },
  conformance: { summary: 'replay traces recorded on seL4 itself and compare every reply', usage: conformanceUsage, run: conformanceCommand },
};

function overview(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(13)}${c.summary}`);
  return `usage: sel4-model <command> [options]\n       sel4-model --version\n\ncommands:\n${lines.join('\n')}\n\n'sel4-model <command> --help' describes a command.`;
}

/** This package's version, from its package.json. */
export function packageVersion(): string {
  const json = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return String(json.version);
}

export async function main(args: readonly string[], layerOptionsModule?: ModuleExport): Promise<number> {
  const [name, ...rest] = args;
  if (name === '--version' || name === '-V') {
    process.stdout.write(`sel4-model ${packageVersion()}\n`);
    return 0;
  }
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(`${overview()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`sel4-model: unknown command '${name}'\n\n${overview()}\n`);
    return 2;
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, layerOptionsModule);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`sel4-model ${name}: ${error.message}\n\n${command.usage}\n`);
      return 2;
    }
    throw error;
  }
}
