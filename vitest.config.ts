import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The project's suites live in test/; a kernel developer's own tests may sit anywhere
    // (next to the code they check), and README.md's example runs as a test of its own.
    include: ['**/*.test.ts'],
    exclude: [...configDefaults.exclude, '.stryker-tmp/**', '.scratch/**', 'counterexamples/**', 'reports/**'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});
