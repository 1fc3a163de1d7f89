import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'packages/web/**',
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
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@lockgate/agent', '@lockgate/cli', '@lockgate/web'],
              message: 'the server depends on core only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
