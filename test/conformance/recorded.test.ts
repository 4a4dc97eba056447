// The whole recorded set (traces recorded on seL4 itself, kept in ../shared/conformance, not in
// the repository) on every layer. Where the recordings are absent, as in a user's clone, this
// says so and skips.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRecordings } from '../../cli/conformance.ts';
import { knownFailures } from '../../refinement/conformance-known.ts';
import { countsOf, exitStatus, knownNowPassing, runConformance, type ConformanceResult } from '../../refinement/conformance-report.ts';

const present = existsSync(defaultRecordings);
if (!present) console.warn(`conformance: no recordings at ${defaultRecordings}; the recorded-set tests are skipped`);

/** The CNode and Untyped recordings: every entry must be modelled and compared there. */
const cnodeUntypedFiles = ['cnode-untyped.json', 'generated-1.json', 'generated-2.json'];

describe.skipIf(!present)('the recorded set on every layer', () => {
  let result: ConformanceResult;
  const layers = ['impl', 'executable', 'abstract'] as const;

  it('agrees with seL4 on every compared entry', () => {
    result = runConformance([defaultRecordings], { layers, strict: false });
    console.info(`conformance: the recorded set replayed on ${layers.join(', ')} in ${(result.elapsedMs / 1000).toFixed(1)} s`);
    const failing = result.files.flatMap((f) => f.traces.filter((t) => !t.known && t.runs.some((r) => r.verdict.kind === 'fail')).map((t) => `${basename(f.file)}: ${t.trace}`));
    expect(failing).toEqual([]);
    expect(knownNowPassing(result).map((t) => t.trace)).toEqual([]);
    expect(exitStatus(result)).toBe(0);
  }, 120_000);

  it('leaves nothing unmodelled or not comparable in the CNode and Untyped recordings', () => {
    for (const name of cnodeUntypedFiles) {
      const file = result.files.find((f) => basename(f.file) === name);
      expect(file, name).toBeDefined();
      for (const layer of layers) {
        const counts = countsOf(file!.traces, layer);
        expect({ name, layer, unmodelled: counts.unmodelled, notComparable: counts.notComparable }).toEqual({ name, layer, unmodelled: 0, notComparable: 0 });
        expect(counts.pass + counts.known).toBe(counts.traces);
        expect(counts.entries).toBeGreaterThan(0);
      }
    }
  });

  it('still fails each known failure on every layer at its entry, or stops at an unmodelled entry before it', () => {
    for (const known of knownFailures) {
      const trace = result.files.find((f) => basename(f.file) === known.file)?.traces.find((t) => t.trace === known.trace);
      expect(trace, `${known.file}: ${known.trace}`).toBeDefined();
      for (const run of trace!.runs) {
        const v = run.verdict;
        const asKnown = v.kind === 'fail' ? v.entry === known.entry : v.kind === 'unmodelled' && v.entry < known.entry;
        expect(asKnown, `${known.trace} on ${run.layer}: ${v.kind} at ${v.kind === 'pass' ? '-' : v.entry}`).toBe(true);
      }
    }
  });
});
