import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
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
