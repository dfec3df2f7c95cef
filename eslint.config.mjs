// ESLint flat config: typescript-eslint's recommended rules over the whole repository (not type-aware).
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['.device/**', 'demo/out/**', 'dist/', 'out/', 'node_modules/', '.bench/', '.cache/', '**/*.vsix'] },
  tseslint.configs.recommended,
  {
    rules: {
      // `_`-prefixed names mark deliberately unused parameters and bindings.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Custom LSP methods are declared vscode-eslint style: `export namespace X { method; type }`.
    files: ['server/src/protocol.ts'],
    rules: { '@typescript-eslint/no-namespace': 'off' },
  },
  {
    // Plain Node scripts (CommonJS and ESM).
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
