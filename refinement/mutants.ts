// The mutant catalogue: realistic kernel bugs, each a small named change to one source file of
// a layer, kept outside the kernel's code (in mutants/*.md) and applied to a scratch copy of the
// project when it runs (mutant-run.ts). This module reads and checks the catalogue and applies
// an entry to a file's text.
//
// A catalogue file is Markdown. Its file name (without .md) is the kernel area; its first `# `
// heading is the area's title; each `## name` heading starts a mutant:
//
//   ## guard-mask-short
//   file: impl/cspace.ts            (field lines come right after the heading)
//   equivalent: why it behaves exactly like the original (optional; such mutants are not scored)
//   survives: why the check misses it, a known weakness (optional; it is still scored)
//
//   What the bug is, in prose.
//
//   ```find
//   the exact text to find: it must occur exactly once in the file
//   ```
//
//   ```replace
//   the text it becomes
//   ```
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where a mutant may apply: the layers' source folders. */
const mutableFolders = ['impl/', 'spec-executable/', 'spec-abstract/'] as const;

export interface Mutant {
  readonly name: string;
  /** The catalogue file's base name, e.g. `cspace`. */
  readonly area: string;
  /** The source file it changes, relative to the project root (`impl/cspace.ts`). */
  readonly file: string;
  readonly description: string;
  readonly find: string;
  readonly replace: string;
  /** Why the change cannot be observed, for a mutant known to be equivalent; null otherwise. */
  readonly equivalent: string | null;
  /** Why the check misses this (observable) bug, for a known survivor; null otherwise. */
  readonly survives: string | null;
  /** Where the entry is: `mutants/cspace.md:12`. */
  readonly origin: string;
}

/** A malformed catalogue; the message names the file, the line and the mutant. */
export class CatalogueError extends Error {}

const namePattern = /^[a-z0-9][a-z0-9-]*$/;
const fieldPattern = /^(file|equivalent|survives):\s*(.*)$/;
const fencePattern = /^```(\S*)\s*$/;

interface Draft {
  name: string;
  line: number;
  file: string | null;
  equivalent: string | null;
  survives: string | null;
  prose: string[];
  find: string | null;
  replace: string | null;
}

function draftOf(name: string, line: number): Draft {
  return { name, line, file: null, equivalent: null, survives: null, prose: [], find: null, replace: null };
}

/** Parses one catalogue file's text; `path` is how messages name it. */
export function parseCatalogue(path: string, text: string): Mutant[] {
  const area = path.replace(/^.*\//, '').replace(/\.md$/, '');
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const mutants: Mutant[] = [];
  let draft: Draft | null = null;
  const where = (line: number) => `${path}:${line}`;
  const finish = () => {
    if (draft) mutants.push(completed(draft, area, where(draft.line)));
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heading = /^##\s+(.*?)\s*$/.exec(line);
    if (heading && !line.startsWith('###')) {
      finish();
      const name = heading[1]!;
      if (!namePattern.test(name)) throw new CatalogueError(`${where(i + 1)}: mutant name '${name}' must be lower-case letters, digits and dashes`);
      draft = draftOf(name, i + 1);
      continue;
    }
    const fence = fencePattern.exec(line);
    if (fence) {
      const kind = fence[1]!;
      const end = lines.findIndex((l, j) => j > i && l === '```');
      if (end < 0) throw new CatalogueError(`${where(i + 1)}: code block not closed with a line \`\`\``);
      if (draft && (kind === 'find' || kind === 'replace')) {
        if (draft[kind] !== null) throw new CatalogueError(`${where(i + 1)}: mutant '${draft.name}': a second \`\`\`${kind} block`);
        draft[kind] = lines.slice(i + 1, end).join('\n');
      } else if (kind === 'find' || kind === 'replace') {
        throw new CatalogueError(`${where(i + 1)}: a \`\`\`${kind} block before any '## name' heading`);
      }
      i = end;
      continue;
    }
    if (!draft) continue;
    const field = fieldPattern.exec(line);
    if (field && draft.prose.length === 0 && draft.find === null && draft.replace === null) {
      const key = field[1] as 'file' | 'equivalent' | 'survives';
      const value = field[2]!.trim();
      if (value === '') throw new CatalogueError(`${where(i + 1)}: mutant '${draft.name}': '${key}:' needs a value`);
      if (draft[key] !== null) throw new CatalogueError(`${where(i + 1)}: mutant '${draft.name}': '${key}:' given twice`);
      draft[key] = value;
    } else if (line.trim() !== '' && !line.startsWith('#')) {
      draft.prose.push(line.trim());
    }
  }
  finish();
  return mutants;
}

function completed(d: Draft, area: string, origin: string): Mutant {
  const problem = (text: string) => new CatalogueError(`${origin}: mutant '${d.name}': ${text}`);
  if (d.file === null) throw problem(`no 'file:' line (the source file it changes, e.g. file: impl/cspace.ts)`);
  if (!mutableFolders.some((f) => d.file!.startsWith(f)) || d.file.includes('..') || !d.file.endsWith('.ts')) {
    throw problem(`file '${d.file}' is not a TypeScript file of ${mutableFolders.join(', ')}`);
  }
  if (d.find === null || d.find === '') throw problem('no ```find block (the exact text to change)');
  if (d.replace === null) throw problem('no ```replace block (what the text becomes; may be empty)');
  if (d.find === d.replace) throw problem('the replace block is the same as the find block');
  if (d.prose.length === 0) throw problem('no description of the bug');
  if (d.equivalent !== null && d.survives !== null) throw problem(`'equivalent:' and 'survives:' exclude each other (an equivalent mutant has nothing to miss)`);
  const { name, file, find, replace, equivalent, survives } = d;
  return { name, area, file, description: d.prose.join(' '), find, replace, equivalent, survives, origin };
}

/** Every mutant of the catalogue directory (its *.md files but README.md, by name); names are unique. */
export function loadCatalogue(dir: string): Mutant[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md').sort();
  } catch (error) {
    throw new CatalogueError(`cannot read the catalogue directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (files.length === 0) throw new CatalogueError(`${dir}: no catalogue files (*.md)`);
  const mutants: Mutant[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const path = join(dir, file);
    for (const m of parseCatalogue(path, readFileSync(path, 'utf8'))) {
      const other = seen.get(m.name);
      if (other !== undefined) throw new CatalogueError(`${m.origin}: mutant '${m.name}' is also at ${other}`);
      seen.set(m.name, m.origin);
      mutants.push(m);
    }
  }
  if (mutants.length === 0) throw new CatalogueError(`${dir}: no mutants in the catalogue (no '## name' entry in ${files.join(', ')}): nothing to run, so nothing could pass`);
  return mutants;
}

/** How many times `find` occurs in `text`, overlapping occurrences included. */
function occurrences(text: string, find: string): number {
  let count = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + 1)) count++;
  return count;
}

export type Applied = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

/** The file's text with the mutant applied, or why it does not apply (it is stale). */
export function applyMutant(m: Mutant, text: string): Applied {
  const n = occurrences(text, m.find);
  if (n === 1) return { ok: true, text: text.replace(m.find, () => m.replace) };
  return { ok: false, reason: `mutant '${m.name}' (${m.origin}) is stale: its find text occurs ${n} times in ${m.file}, it must occur exactly once` };
}

/** Applies the mutant to the file as it is in the project at `root`. */
export function applyToProject(m: Mutant, root: string): Applied {
  let text: string;
  try {
    text = readFileSync(join(root, m.file), 'utf8');
  } catch (error) {
    return { ok: false, reason: `mutant '${m.name}' (${m.origin}) is stale: cannot read ${m.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  return applyMutant(m, text);
}

/** The mutants named in `names` (each must exist), in catalogue order. */
export function selectMutants(all: readonly Mutant[], names: readonly string[]): Mutant[] {
  const known = new Set(all.map((m) => m.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) throw new CatalogueError(`no mutant named ${unknown.map((n) => `'${n}'`).join(', ')} in the catalogue`);
  const wanted = new Set(names);
  return all.filter((m) => wanted.has(m.name));
}
