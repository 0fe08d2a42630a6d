// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

/** Globals of one platform that src/core must not touch (it may probe for them on `globalThis`). */
const CORE_FORBIDDEN_GLOBALS = [
  'window',
  'document',
  'navigator',
  'location',
  'localStorage',
  'sessionStorage',
  'indexedDB',
  'HTMLElement',
  'customElements',
  'process',
  'Buffer',
  'require',
  '__dirname'
].map(name => ({ name, message: 'src/core is isomorphic: pass it what it needs, or probe globalThis' }))

/** Imports src/core must not make (type-only imports of SDK types are allowed). */
const CORE_FORBIDDEN_IMPORTS = [
  {
    group: [
      'node:*',
      'fs',
      'fs/*',
      'path',
      'os',
      'http',
      'https',
      'net',
      'tls',
      'dns',
      'child_process',
      'worker_threads'
    ],
    message: 'src/core runs in browsers too: Node built-ins belong in relay/ or test/'
  },
  {
    group: [
      '@opentelemetry/sdk-*',
      '@opentelemetry/exporter-*',
      '@opentelemetry/resources',
      '@opentelemetry/context-zone'
    ],
    allowTypeImports: true,
    message: 'src/core uses the OpenTelemetry API only; the SDK is assembled by the app, the relay and tests'
  },
  {
    group: ['lit', 'lit/*', '**/app/**', '**/components/**', '**/widget/**', '**/relay/**'],
    message: 'src/core does not depend on the browser app, its components or the relay'
  }
]

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'test-results', 'playwright-report', 'bench/results', '.data'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.browser, ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }]
    }
  },
  // src/core runs in tabs and in Node alike: no DOM, no Node built-ins, no OpenTelemetry SDK
  // (the app and the relay assemble the SDK), nothing from the browser-only or relay code
  {
    files: ['src/core/**/*.ts'],
    languageOptions: { globals: { ...globals['shared-node-browser'] } },
    rules: {
      'no-restricted-globals': ['error', ...CORE_FORBIDDEN_GLOBALS],
      'no-restricted-imports': ['error', { patterns: CORE_FORBIDDEN_IMPORTS }]
    }
  },
  // Playwright fixtures must destructure their dependencies, even when there are none
  { files: ['e2e/**/*.ts'], rules: { 'no-empty-pattern': 'off' } },
  { files: ['eslint.config.js'], extends: [tseslint.configs.disableTypeChecked] }
)
