// `check --kernel-coverage`: V8's branch coverage of each layer's kernel code, taken in the
// check's workers and merged, mapped back to the TypeScript lines, assertions left out.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { runParallelCheck, type ParallelSummary } from '../../refinement/parallel.ts';
import { KernelCoverage, formatKernelCoverage, kernelFile } from '../../refinement/kernel-coverage.ts';

const check = { steps: 40, pairs: ['impl-executable', 'executable-abstract'], invariantsEveryStep: false } as const;

describe('kernel branch coverage of a check', () => {
  let summary: ParallelSummary;
  let coverage: KernelCoverage;
  beforeAll(async () => {
    summary = await runParallelCheck({ check, seed: 3, runs: 40, workers: 2, kernelCoverage: true });
    coverage = summary.kernelCoverage!;
  }, 120_000);

  it('counts the branch arms of each layer, some reached and some not', () => {
    for (const { layer, reached, total } of coverage.byLayer()) {
      expect(total, layer).toBeGreaterThan(100);
      expect(reached, layer).toBeGreaterThan(total / 2);
      expect(reached, layer).toBeLessThan(total);
    }
    expect(formatKernelCoverage(coverage)).toMatch(/^ {2}impl +\d+\/\d+ branch arms \(\d+\.\d%\)$/m);
  });

  it('names the arms by their TypeScript line: both arms of the Retype label check ran', () => {
    const source = readFileSync('impl/untyped.ts', 'utf8').split('\n');
    const line = source.findIndex((l) => l.includes('if (ctx.label !== InvocationLabel.UntypedRetype)')) + 1;
    const arms = [...coverage.branches.values()].filter((b) => b.file === 'impl/untyped.ts' && b.line === line);
    expect(arms.map((b) => b.arm).sort()).toEqual(['if else', 'if then']);
    for (const arm of arms) expect(arm.hits, arm.arm).toBeGreaterThan(0);
  });

  it('lists an arm no workload can reach: the interrupt of a Reserved IRQ (no line is Reserved on one core)', () => {
    const source = readFileSync('impl/interrupt.ts', 'utf8').split('\n');
    // The arm is counted at the line after its `case`.
    const line = source.findIndex((l) => l.includes('case IrqStateNum.Reserved:')) + 2;
    expect(line).toBeGreaterThan(1);
    expect(coverage.unreached('impl')).toContain(`impl/interrupt.ts:${line} case`);
  });

  it('leaves out debug assertions and fail-only arms', () => {
    const lines = new Map<string, string[]>();
    for (const b of coverage.branches.values()) {
      if (!b.file.startsWith('impl/')) continue;
      if (!lines.has(b.file)) lines.set(b.file, readFileSync(b.file, 'utf8').split('\n'));
      const text = lines.get(b.file)![b.line - 1]!;
      expect(text, `${b.file}:${b.line}`).not.toMatch(/\bdebug\)/);
      // A switch case whose value is checked by an assertion is still a case.
      if (text.includes('fail(')) expect(['case', 'default'], `${b.file}:${b.line}`).toContain(b.arm);
    }
    const cnode = [...coverage.branches.values()].filter((b) => b.file === 'impl/cnode.ts');
    const source = readFileSync('impl/cnode.ts', 'utf8').split('\n');
    const checkCapWords = source.findIndex((l) => l.startsWith('function checkCapWords')) + 1;
    expect(cnode.some((b) => b.line > checkCapWords && b.line < checkCapWords + 6)).toBe(false);
  });

  it('sums hits over batches and workers', () => {
    const once = new KernelCoverage();
    once.add([...coverage.branches.values()]);
    once.add([...coverage.branches.values()]);
    const [id, branch] = [...coverage.branches.entries()].find(([, b]) => b.hits > 0)!;
    expect(once.branches.get(id)!.hits).toBe(2 * branch.hits);
  });

  it('is absent when not asked for', async () => {
    const plain = await runParallelCheck({ check, seed: 3, runs: 2, workers: 1 });
    expect(plain.kernelCoverage).toBeNull();
  }, 60_000);
});

describe('kernel files', () => {
  it('are the .ts files of impl/, spec-executable/ and spec-abstract/', () => {
    const root = new URL('../../', import.meta.url);
    expect(kernelFile(new URL('impl/cnode.ts', root).href)).toBe('impl/cnode.ts');
    expect(kernelFile(new URL('spec-abstract/cdt.ts', root).href)).toBe('spec-abstract/cdt.ts');
    expect(kernelFile(new URL('refinement/check.ts', root).href)).toBeNull();
    expect(kernelFile('node:fs')).toBeNull();
  });
});
