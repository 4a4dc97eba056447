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
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
