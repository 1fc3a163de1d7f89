import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';

/** The server depends on core and the contract, never on the agent, the CLI or the console. */
const SERVER_PACKAGES = {
  group: ['@lockgate/agent', '@lockgate/cli', '@lockgate/web'],
  message: 'the server depends on core and api only.',
};
/** From inside features/X: `../Y/anything` other than `../Y/public.ts`. */
const FEATURE_FROM_FEATURE = {
  regex: '^\\.\\./(?!\\.)[^/]+/(?!public\\.ts$)',
  message:
    'another feature is reached through its public.ts only (move what you need there, or ask for it through the service you are handed).',
};
/** From the rest of the server: `features/Y/anything` other than its index.ts or public.ts. */
const FEATURE_FROM_OUTSIDE = {
  regex: '(^|/)features/[^/]+/(?!(index|public)\\.ts$)',
  message: 'a feature is wired through its index.ts (store, service, routes) or public.ts.',
};

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'coverage/**',
      '.lockgate/**',
      // files the README quick starts create at the repository root
      'keys/**',
      'site/**',
      '*.pack',
      'server-index.pub',
      'agent-*',
      'agent-*/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'import-x/no-cycle': 'error',
    },
  },
  // DESIGN.md §3, held by machine: packages talk through each other's public entry point
  // (`@lockgate/NAME`), never through relative paths into another package's files; core depends
  // on nothing of ours; api on TypeBox and core's import-free RFC 3339 parser only; agent and
  // server do not depend on each other or on the CLI.
  {
    files: ['packages/**/*.ts'],
    rules: { 'import-x/no-relative-packages': 'error' },
  },
  {
    files: ['packages/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['@lockgate/*'], message: 'core depends on nothing of ours.' }],
        },
      ],
    },
  },
  {
    files: ['packages/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./|@sinclair/typebox$|@lockgate/core/rfc3339$)',
              message:
                'api depends on TypeBox only (and re-exports core/rfc3339, which imports nothing), ' +
                'so the console can import it without the rest of Lockgate.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/agent/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@lockgate/server', '@lockgate/cli', '@lockgate/web'],
              message: 'the agent depends on core only (tests use their own fixture server).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/server/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [SERVER_PACKAGES] }],
    },
  },
  // Features own their data (DESIGN.md §3): a feature reaches another only through that
  // feature's `public.ts` (lookups, the types it is handed, the road's steps), and the rest of
  // the server through its `index.ts` (store, service, routes) — never a service, store or
  // helper file directly. A service never sees HTTP; a route never sees a store.
  {
    files: ['packages/server/src/**/*.ts'],
    ignores: ['packages/server/src/features/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [SERVER_PACKAGES, FEATURE_FROM_OUTSIDE] }],
    },
  },
  {
    files: ['packages/server/src/features/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [SERVER_PACKAGES, FEATURE_FROM_FEATURE] }],
    },
  },
  {
    files: ['packages/server/src/features/**/*-service.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            SERVER_PACKAGES,
            FEATURE_FROM_FEATURE,
            { regex: '^(fastify|@fastify/.*)$', message: 'a service never imports HTTP types.' },
            { regex: '/http/', message: 'a service never imports HTTP types.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/server/src/features/**/*-routes.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            SERVER_PACKAGES,
            FEATURE_FROM_FEATURE,
            {
              regex: '(-store|/stores)\\.ts$',
              message: 'a route calls its service, never a store.',
            },
          ],
        },
      ],
    },
  },
  // The console: React's rules of hooks (and the compiler-backed checks of the recommended set),
  // typed against its own tsconfig (DOM, JSX, bundler resolution); it imports only the API
  // contract of ours, and types only, so no schema code reaches the bundle.
  {
    files: ['packages/web/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat['recommended-latest'],
  },
  {
    files: ['packages/web/src/**/*.{ts,tsx}', 'packages/web/test/**/*.{ts,tsx}'],
    rules: {
      // useLive(load, deps) is checked like useEffect: its deps must name what load reads.
      'react-hooks/exhaustive-deps': ['error', { additionalHooks: '^useLive$' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@lockgate/*', '!@lockgate/api'],
              message: 'the console depends on the API contract only.',
            },
          ],
        },
      ],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@lockgate/api',
              allowTypeImports: true,
              message: 'import types only from @lockgate/api (the bundle carries no schemas).',
            },
          ],
        },
      ],
    },
  },
  {
    // The browser tests start a real server with the server's own test helpers (a test-only
    // dependency, never part of the console bundle).
    files: ['packages/web/browser/**/*.ts'],
    rules: { 'import-x/no-relative-packages': 'off' },
  },
  {
    // Files that import Vite (import-x cannot load a resolver for it); neither is imported by
    // anything, so there is no cycle to find.
    files: ['packages/web/vite.config.ts', 'bench/console-bench.ts'],
    rules: { 'import-x/no-cycle': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['packages/web/scripts/**/*.mjs'],
    languageOptions: { globals: { URL: 'readonly', console: 'readonly', process: 'readonly' } },
  },
);
