// Files the commands read and write for the user: written atomically, and read with a message
// that names the file when it cannot be read or is not JSON.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/** A word of a printed command line, quoted for a POSIX shell when it needs it. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export function writeFileAtomic(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * The parsed JSON of `file`; an unreadable or malformed file raises `failure` with a message
 * naming it (`name` says how, e.g. `--config boot.json`).
 */
export function readJsonFile(file: string, failure: new (message: string) => Error, name: string = file): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new failure(`cannot read ${name}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new failure(`${file}: not valid JSON: ${(error as Error).message}`);
  }
}
