import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global.ts'],
    // Engine calls (create, start, stop with grace periods) are slow compared with unit tests.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Files run in parallel against one engine (names carry random suffixes); two workers match the
    // two cores of the test machines and keep dockerd from being the bottleneck.
    pool: 'forks',
    maxWorkers: 2,
    coverage: { enabled: false },
  },
});
