// The `sel4-model` command: one module per subcommand.
import { checkCommand, usage as checkUsage } from './check.ts';
import { UsageError } from './usage.ts';

interface Command {
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[]): number | Promise<number>;
}

const commands: Record<string, Command> = {
  check: { summary: 'run the refinement check', usage: checkUsage, run: checkCommand },
};

function overview(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`);
  return `usage: sel4-model <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n'sel4-model <command> --help' describes a command.`;
}

export async function main(args: readonly string[]): Promise<number> {
  const [name, ...rest] = args;
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
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`sel4-model ${name}: ${error.message}\n\n${command.usage}\n`);
      return 2;
    }
    throw error;
  }
}
