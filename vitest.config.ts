import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
    // Most suites wait on processes, sockets and fsync rather than compute: run at least three
    // files at once even on a 2-core machine (vitest's default leaves one core idle; with three
    // the whole CI run kept two cores 1.47 busy and vitest took 839 s, against 920 s with two).
    maxWorkers: Math.max(3, availableParallelism()),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: [
            'packages/*/test/**/*.test.ts',
            'packages/web/browser/**/*.test.ts',
            'test/**/*.test.ts',
          ],
        },
      },
      {
        // The console's component tests: React in jsdom, for packages/web only.
        extends: true,
        test: {
          name: 'web',
          environment: 'jsdom',
          include: ['packages/web/test/**/*.test.tsx'],
        },
      },
    ],
  },
});
