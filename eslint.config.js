// Type-aware linting (typescript-eslint's recommendedTypeChecked). Rules that flag this code base's
// deliberate idioms more than its mistakes are switched off below, each with its reason.
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.scratch/', 'helm/', 'test-artifacts/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Unused names are errors, except the conventional `_` for ones a signature requires.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Methods that implement a Promise-returning interface (the memory engine, the demo repository)
      // are async without awaiting, so that what they throw reaches the caller as a rejection.
      '@typescript-eslint/require-await': 'off',
      // A `let` assigned once, later, and read first by a closure (routes built after listening) is the point.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // chai's `expect(x).to.be.true` style assertions are property reads.
      '@typescript-eslint/no-unused-expressions': 'off',
      // Tests read parsed JSON (wire frames, bundles) to assert on it; the assertion is the check.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // Test doubles save and restore methods, and hand on closures their interfaces type as methods.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  {
    // The browser console: plain ES modules served as they are.
    files: ['console/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
);
