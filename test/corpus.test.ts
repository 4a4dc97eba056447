// The regression corpus: every file under corpus/ is a counterexample file that records a bug
// that was fixed (or a planted one). Its kernel entries must now replay cleanly, from a fresh
// boot, on all three refinement pairs.
import { copyFileSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatReplay } from '../cli/replay.ts';
import { CounterexampleError, readCounterexample, replayCounterexample } from '../refinement/reports/counterexample.ts';
import type { LayerOptions } from '../refinement/layers.ts';
import { pairNames } from '../refinement/lockstep/index.ts';
import { plantedBadgeFault } from './refinement/planted-fault.ts';

const corpusDir = fileURLToPath(new URL('../corpus/', import.meta.url));

/** Every file under the corpus directory, as paths relative to it. */
function corpusFiles(): string[] {
  return readdirSync(corpusDir, { recursive: true, encoding: 'utf8' })
    .filter((name) => statSync(join(corpusDir, name)).isFile())
    .sort();
}

/** Why a corpus entry fails (unreadable, malformed, or the layers disagree), naming the file; null if it passes. */
function corpusProblem(file: string, layerOptions?: LayerOptions): string | null {
  try {
    const cx = readCounterexample(file);
    const result = replayCounterexample(cx, { pairs: pairNames, ...(layerOptions ? { layerOptions } : {}) });
    return result.failure ? `corpus entry ${file}: the layers disagree on replay\n${formatReplay(cx, file, result)}` : null;
  } catch (error) {
    if (error instanceof CounterexampleError) return `corpus entry ${error.message}`;
    throw error;
  }
}

describe('regression corpus', () => {
  it('has entries', () => {
    expect(corpusFiles().length).toBeGreaterThan(0);
  });

  it.each(corpusFiles())('%s replays cleanly on all three pairs', (name) => {
    const problem = corpusProblem(join(corpusDir, name));
    if (problem) throw new Error(problem);
  });

  it('names the file of an entry that fails again', () => {
    const file = join(corpusDir, corpusFiles()[0]!);
    expect(corpusProblem(file, plantedBadgeFault)).toMatch(new RegExp(`^corpus entry ${file}: the layers disagree on replay\\n[^]*REFINEMENT FAILURE \\(state\\)`));
  });

  it('names the file and the field of an entry that no longer parses', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sel4-model-corpus-')), 'entry.json');
    copyFileSync(join(corpusDir, corpusFiles()[0]!), file);
    expect(corpusProblem(file)).toBeNull();
    writeFileSync(file, JSON.stringify({ format: 'sel4-model counterexample', version: 1 }));
    expect(corpusProblem(file)).toBe(`corpus entry ${file}: invalid counterexample at seed: Invalid input: expected number, received undefined`);
  });
});
