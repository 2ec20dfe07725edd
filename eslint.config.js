// Type-aware linting (typescript-eslint): floating promises, unsafe any, misused awaits — the
// mistakes that crash a long-lived daemon — are errors, not style.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

// The Raft core (manager/raft/core) is a pure state machine, as in etcd-io/raft: it is driven by
// ticks and messages and hands back what to persist and send, so tests and the simulator can run
// it deterministically. Storage and transport live beside it, never inside it.
const RAFT_CORE_PURE = 'the Raft core is pure: no I/O, timers or sockets; storage and transport live outside core/';
const NODE_BUILTINS = ['node:*', ...builtinModules];
// Bare specifiers that are neither relative, nor built-ins, nor gRPC (each has its own message).
const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const NPM_PACKAGE = `^(?!\\.{1,2}/|node:|@grpc/|(${builtinModules.map(escapeRegex).join('|')})(/|$))`;

export default tseslint.config(
  { ignores: ['dist/**', 'gen/**', 'node_modules/**', 'eslint.config.js', 'scripts/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.lint.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  {
    // Tests parse JSON from processes they start; typing every field there adds noise, not safety.
    files: ['**/*.test.ts', 'cluster-tests/**'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    // Command-line entry points and the simulator print to the terminal by design.
    files: ['cli/**', 'bench/**', 'manager/raft/sim/main.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // The CLI is a client of the daemon's Engine API: what both need (mount notations, …) lives in
    // lib/, so the daemon never loads CLI code.
    files: ['daemon/**/*.ts', 'engine/**/*.ts', 'manager/**/*.ts', 'worker/**/*.ts', 'lib/**/*.ts', 'ca/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(\\.\\./)+cli/', message: 'the daemon side does not import the CLI: move shared code to lib/' },
          ],
        },
      ],
    },
  },
  {
    files: ['manager/raft/core/**/*.ts'],
    // Tests read testdata from disk and drive the core through rafttest/; the core itself may not.
    ignores: ['manager/raft/core/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: NODE_BUILTINS, message: `${RAFT_CORE_PURE} (no Node.js built-ins)` },
            { group: ['@grpc/*'], message: `${RAFT_CORE_PURE} (no gRPC)` },
            { regex: NPM_PACKAGE, message: `${RAFT_CORE_PURE} (no npm packages)` },
            {
              // Leaving core/ is refused, except for the lib/ basics that are pure themselves.
              regex: '^\\.\\./(?!\\.\\./\\.\\./lib/(assert|logger|random)\\.js$)',
              message: `${RAFT_CORE_PURE} (only lib/assert.js, lib/logger.js and types from lib/random.js, outside core/)`,
            },
            {
              // lib/random.ts reads node:crypto for its seed; the core only needs its Random type.
              regex: '^\\.\\./\\.\\./\\.\\./lib/random\\.js$',
              allowTypeImports: true,
              message: `${RAFT_CORE_PURE} (lib/random.js: type imports only)`,
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'process', 'fetch', 'require'].map(
          (name) => ({ name, message: RAFT_CORE_PURE }),
        ),
      ],
      'no-restricted-syntax': ['error', { selector: 'ImportExpression', message: RAFT_CORE_PURE }],
    },
  },
);
