// ESLint flat config: typescript-eslint's recommended rules over the whole repository (not type-aware).
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The demo's generators are development tools: the server runs dist/demoCorpus.js, it never bundles them.
const DEMO_TOOLS = { group: ['**/demo/src/**'], message: 'demo/src is a development tool; the server runs dist/demoCorpus.js (handlers/demo.ts)' };

// The compute core knows nothing of editors, LSP or the command line (adapters call it, never the reverse).
const ENGINE_IMPORTS = {
  paths: ['vscode', 'vscode-languageserver', 'vscode-languageclient', 'vscode-jsonrpc', 'vscode-languageserver-protocol'].map((name) => ({
    name,
    message: 'server/src/engine is the compute core: no editor or LSP imports',
  })),
  patterns: [
    { group: ['vscode-*/**'], message: 'server/src/engine is the compute core: no editor or LSP imports' },
    {
      group: ['**/cli', '**/cli/**', '**/server', '**/session', '**/handlers/**', '**/protocol', '**/settings'],
      message: 'the engine does not import its adapters',
    },
    DEMO_TOOLS,
    // engine/api.ts is the adapters' way in; engine modules import each other directly (no cycle through it).
    { group: ['./api', '../api', '../../api'], message: "engine/api.ts is the adapters' surface: import the engine module itself" },
  ],
};

// The adapters import the engine only through engine/api.ts, its public surface.
const ENGINE_SURFACE = {
  group: ['**/engine/*', '!**/engine/api'],
  message: 'outside the engine, import it only through server/src/engine/api.ts (its public surface)',
};

/**
 * The engine's folders from the lowest layer to the highest (docs/ARCHITECTURE.md): a folder may import
 * the folders before it, never one after it.
 */
const ENGINE_LAYERS = [
  'util',
  'linalg',
  'tokenizer',
  'queries',
  'model',
  'device',
  'worker',
  'capture',
  'corpus',
  'results',
  'inference',
  'train',
  'ekfac',
  'score',
  'gradindex',
  // The engine's task table, its pool and the worker thread's entry: above every stage's tasks.ts.
  'compute',
  'analysis',
  'report',
  'runs',
  'eval',
];

/** The engine rule plus the folders above it, for the files of one folder. */
function layer(folder, i) {
  const above = ENGINE_LAYERS.slice(i + 1);
  return {
    files: [`server/src/engine/${folder}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ENGINE_IMPORTS.paths,
          patterns: [
            ...ENGINE_IMPORTS.patterns,
            ...(above.length ? [{ group: above.map((f) => `**/${f}/*`), message: `${folder}/ sits below ${above.join(', ')} (ENGINE_LAYERS)` }] : []),
          ],
        },
      ],
    },
  };
}

export default defineConfig(
  { ignores: ['.device/**', 'demo/out/**', 'dist/', 'out/', 'node_modules/', '.bench/', '.cache/', '**/*.vsix'] },
  tseslint.configs.recommended,
  {
    rules: {
      // `_`-prefixed names mark deliberately unused parameters and bindings.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  { files: ['server/src/engine/**/*.ts'], rules: { '@typescript-eslint/no-restricted-imports': ['error', ENGINE_IMPORTS] } },
  {
    files: ['server/src/**/*.ts'],
    ignores: ['server/src/engine/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [DEMO_TOOLS] }] },
  },
  {
    // The adapters (language server, CLI, cluster planner) reach the engine only through its public surface.
    files: ['server/src/**/*.ts'],
    ignores: [
      'server/src/engine/**',
      // protocol.ts has a rule of its own (below).
      'server/src/protocol.ts',
    ],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [DEMO_TOOLS, ENGINE_SURFACE] }] },
  },
  {
    // The protocol is bundled into the client: nothing of the engine's; what both sides share is in
    // server/src/common.
    files: ['server/src/protocol.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            DEMO_TOOLS,
            { group: ['**/engine/*', '**/engine/**'], message: 'protocol.ts takes nothing from the engine: shared types and lists live in server/src/common' },
          ],
        },
      ],
    },
  },
  {
    // The wire types neither side owns import nothing of either side.
    files: ['server/src/common/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['../*'], message: 'server/src/common imports nothing outside itself' }] }],
    },
  },
  ...ENGINE_LAYERS.map(layer),
  {
    // The client reaches the server only through the protocol (messages and their types), never engine code.
    files: ['client/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/server/src/**', '!**/server/src/protocol'], message: 'the client imports only server/src/protocol.ts from the server' }] },
      ],
    },
  },
  {
    // The webview is a browser bundle: types from the protocol only (nothing of the server's at run time).
    files: ['webview/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/server/src/**', '!**/server/src/protocol'], message: 'the webview imports only types, from server/src/protocol.ts' },
            { group: ['**/server/src/protocol'], allowTypeImports: true, message: 'the webview imports only types from server/src/protocol.ts (import type)' },
          ],
        },
      ],
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
