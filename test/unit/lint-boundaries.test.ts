import { readdir } from 'node:fs/promises'
import { ESLint } from 'eslint'
import tseslint from 'typescript-eslint'
import { describe, expect, test } from 'vitest'

// the project's configuration without its type-aware rules, which these rules do not need
const eslint = new ESLint({ cwd: process.cwd(), overrideConfig: tseslint.configs.disableTypeChecked })

/** The rules that fire when `code` stands in src/core (linted in place of an existing file). */
async function coreViolations(code: string, filePath = 'src/core/zod.ts'): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath })
  return (result?.messages ?? []).map(m => m.ruleId ?? m.message)
}

describe('the lint configuration keeps src/core isomorphic', () => {
  test.each([
    ["import { readFile } from 'node:fs/promises'\nexport const read = readFile\n", 'no-restricted-imports'],
    [
      "import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base'\nexport const p = new BasicTracerProvider()\n",
      'no-restricted-imports'
    ],
    [
      "import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'\nexport const e = OTLPTraceExporter\n",
      'no-restricted-imports'
    ],
    ["import { LitElement } from 'lit'\nexport const L = LitElement\n", 'no-restricted-imports'],
    ['export const body = document.body\n', 'no-restricted-globals'],
    ['export const here = location.href\n', 'no-restricted-globals'],
    ['export const env = process.env\n', 'no-restricted-globals']
  ])(
    'refused: %s',
    async (code, rule) => {
      expect(await coreViolations(code)).toContain(rule)
    },
    60_000
  )

  test('allowed: the OpenTelemetry API, SDK types, libp2p, and probing globalThis', async () => {
    const code = [
      "import { trace } from '@opentelemetry/api'",
      "import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'",
      "import { peerIdFromString } from '@libp2p/peer-id'",
      'export const t = trace',
      'export type S = ReadableSpan',
      'export const p = peerIdFromString',
      'export const isPage = typeof (globalThis as { document?: unknown }).document !== "undefined"',
      ''
    ].join('\n')
    const rules = await coreViolations(code)
    expect(rules.filter(r => r === 'no-restricted-imports' || r === 'no-restricted-globals')).toEqual([])
  }, 60_000)

  test('no file of src/core is exempt from these rules', async () => {
    const files = (await readdir('src/core', { recursive: true })).filter(f => f.endsWith('.ts'))
    expect(files.length).toBeGreaterThan(30)
    const exempt: string[] = []
    for (const file of files) {
      const config = (await eslint.calculateConfigForFile(`src/core/${file}`)) as {
        rules?: Record<string, unknown>
      }
      for (const rule of ['no-restricted-imports', 'no-restricted-globals']) {
        const setting = config.rules?.[rule]
        const severity: unknown = Array.isArray(setting) ? setting[0] : setting
        if (severity !== 2 && severity !== 'error') exempt.push(`${file}: ${rule}`)
      }
    }
    expect(exempt).toEqual([])
  }, 60_000)
})
