#!/usr/bin/env node
import { registerTypeScript } from './typescript.js';

// A reader that stops early (`sel4-model check | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

registerTypeScript();
let cli;
try {
  cli = await import('../cli/main.ts');
} catch (error) {
  // A kernel source that does not parse (while it is being edited, say): name the place, no stack.
  if (!(error instanceof SyntaxError)) throw error;
  process.stderr.write(`sel4-model: a source file does not parse: ${error.message}\n`);
  process.exit(2);
}
process.exitCode = await cli.main(process.argv.slice(2));
// The command has printed and written everything: a Ctrl-C or SIGTERM while its worker threads
// wind down ends the process at once, with the command's own exit status.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit());
