// The command as the tests run it: as a user does (a child process), or in this process with
// its output captured (so a test can hand the check's workers a planted fault).
import { spawnSync } from 'node:child_process';
import { vi } from 'vitest';
import { main } from '../../cli/main.ts';
import type { ModuleExport } from '../../refinement/parallel.ts';

export interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node bin/sel4-model.js ARGS`, not on a terminal. */
export function runCommand(...args: string[]): Ran {
  const r = spawnSync(process.execPath, ['bin/sel4-model.js', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The command's `main` in this process, with `layerOptionsModule` for the check's layers. */
export async function runInProcess(args: readonly string[], layerOptionsModule?: ModuleExport): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { status: await main(args, layerOptionsModule), stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}
