import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The project's suites live in test/; a kernel developer's own tests may sit anywhere
    // (next to the code they check), and README.md's example runs as a test of its own.
    include: ['**/*.test.ts'],
    exclude: [...configDefaults.exclude, '.stryker-tmp/**', '.scratch/**', 'counterexamples/**', 'reports/**'],
    testTimeout: 120_000,
    pool: 'forks',
    // One worker process runs the test files one after another and keeps the modules it has
    // loaded: re-importing the kernel for each file took a third of the suite's time. The
    // kernel keeps no mutable module state (only caches keyed by immutable states or boot
    // configurations), so a test file must not either: state lives in the test's own values.
    isolate: false,
  },
});
