// Module hooks that load this project's TypeScript: esbuild strips the types (keeping the code's
// own shape: no name-keeping wrappers, which cost the hot paths about a tenth of their time), and
// the result is cached on disk by content, so a second start transforms nothing. The key leaves
// the path out: a mutant's scratch copy reuses the main tree's entries for every unchanged file.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform, version } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const cacheDir = join(root, 'node_modules', '.cache', 'sel4-model-ts');
const { compilerOptions } = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
const options = { loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline', tsconfigRaw: { compilerOptions } };
const optionsKey = JSON.stringify([version, options]);

function readCached(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Best effort: a read-only install still runs, transforming at every start. */
function writeCached(file, code) {
  try {
    mkdirSync(cacheDir, { recursive: true });
    const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  } catch {
    // not cached
  }
}

/** esbuild's first error as `file:line:column: text`, the file relative to the project. */
function describeTransformError(error, path) {
  const first = error?.errors?.[0];
  const where = first?.location ? `${relative(root, first.location.file)}:${first.location.line}:${first.location.column + 1}` : relative(root, path);
  return `${where}: ${first?.text ?? String(error)}`;
}

async function compile(path) {
  const source = readFileSync(path, 'utf8');
  const key = createHash('sha256').update(optionsKey).update(source).digest('hex');
  const file = join(cacheDir, `${key}.js`);
  const cached = readCached(file);
  if (cached !== null) return cached;
  const { code } = await transform(source, { ...options, sourcefile: path }).catch((error) => {
    throw new SyntaxError(describeTransformError(error, path));
  });
  writeCached(file, code);
  return code;
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  return { format: 'module', source: await compile(fileURLToPath(url)), shortCircuit: true };
}
