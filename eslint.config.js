// Type-aware linting (typescript-eslint): floating promises, unsafe any, misused awaits — the
// mistakes that crash a long-lived daemon — are errors, not style.
import tseslint from 'typescript-eslint';

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
);
