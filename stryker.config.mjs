// StrykerJS, the JavaScript mutation tester, on impl/: `npm run stryker -- --mutate impl/cspace.ts`
// mutates one file (or a folder, or a glob) and runs the fast impl suite and the CSpace scenarios against
// each mutant; one file finishes in minutes. Add `--reporters html` for a browsable report
// (reports/mutation/mutation.html). The hand-written catalogue of kernel bugs checked by the
// refinement check is `sel4-model mutants`; see the README.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.config.ts', related: false },
  testFiles: ['test/impl/**/*.test.ts', 'test/scenarios/cspace.test.ts'],
  mutate: ['impl/**/*.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  reporters: ['clear-text', 'progress'],
  clearTextReporter: { reportTests: false, reportMutants: true, reportScoreTable: true },
  ignorePatterns: ['counterexamples', 'corpus', 'mutants', 'bench', '.scratch', '.ci', 'docs'],
  tempDirName: '.stryker-tmp',
  // Stryker rewrites a tsconfig's `extends` and `references` through TypeScript's JS API, which
  // TypeScript 7 does not have; ours has neither, so it is given no tsconfig to rewrite.
  tsconfigFile: 'no-tsconfig-to-rewrite.json',
  timeoutMS: 10000,
};
