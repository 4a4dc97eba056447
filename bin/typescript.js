// Registers the TypeScript hooks for this thread (the CLI's main thread and each check worker).
import { register } from 'node:module';

export function registerTypeScript() {
  process.setSourceMapsEnabled(true);
  register('./typescript-hooks.js', import.meta.url);
}
