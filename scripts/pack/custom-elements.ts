/**
 * The package's Custom Elements Manifest (`custom-elements.json`): what
 * `@custom-elements-manifest/analyzer` (with its Lit plugin) reads off the widget's source, pointed
 * at the built module, plus what it cannot see there: the events that bubble out from the
 * widget's inner components, the CSS custom properties of its theme and the parts it exports.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TOKENS } from '../../src/components/theme.ts'
import type * as TypeScript from 'typescript'

/** The analyzer's API (it ships no types for it): its own TypeScript, whose AST it reads. */
interface Analyzer {
  create: (options: { modules: TypeScript.SourceFile[]; plugins: unknown[] }) => unknown
  ts: typeof TypeScript
}
const ANALYZER = '@custom-elements-manifest/analyzer'
const LIT_PLUGIN = `${ANALYZER}/src/features/framework-plugins/lit/lit.js`

const SOURCE = 'src/widget/p2p-marketplace.ts'

/** The widget's events, with the type of their `detail` (as `p2p-marketplace/widget` declares them). */
const EVENTS = [
  {
    name: 'mp-ready',
    type: 'CustomEvent<MarketplaceNode>',
    description: 'The node started: the detail is the node.'
  },
  {
    name: 'mp-status',
    type: 'CustomEvent<NodeStatus>',
    description: "The node's state changed: `status()`."
  },
  {
    name: 'mp-select',
    type: 'CustomEvent<MpSelectDetail>',
    description: 'A person opened a package: `{ id, version }`.'
  },
  {
    name: 'mp-published',
    type: 'CustomEvent<PublishResult>',
    description: 'A package was published from the form.'
  },
  {
    name: 'mp-error',
    type: 'CustomEvent<MpErrorDetail>',
    description: 'An operation failed: `{ message, name }`.'
  }
]

/** Theme properties that are not colour tokens. */
const OTHER_PROPERTIES = [
  { name: '--mp-font', description: 'Font family of the widget.' },
  { name: '--mp-mono', description: 'Monospace font (ids, versions, hashes).' }
]

interface Declaration {
  kind: string
  name: string
  tagName?: string
  customElement?: boolean
  events?: Array<{ name: string; type?: { text: string }; description?: string }>
  cssProperties?: Array<{ name: string; description?: string }>
  cssParts?: Array<{ name: string; description?: string }>
}

interface Manifest {
  schemaVersion: string
  modules: Array<{
    kind: string
    path: string
    declarations: Declaration[]
    exports?: Array<{ kind: string; name: string; declaration: { name: string; module: string } }>
  }>
}

/** The manifest of the widget whose built module is `modulePath` (inside the package). */
export async function widgetManifest(root: string, modulePath: string): Promise<Manifest> {
  const { create, ts } = (await import(ANALYZER)) as Analyzer
  const { litPlugin } = (await import(LIT_PLUGIN)) as { litPlugin: () => unknown[] }
  const source = await readFile(join(root, SOURCE), 'utf8')
  const module = ts.createSourceFile(SOURCE, source, ts.ScriptTarget.ES2022, true)
  const manifest = create({ modules: [module], plugins: litPlugin() }) as Manifest
  const [doc] = manifest.modules
  const element = doc?.declarations.find(d => d.customElement === true && d.tagName === 'p2p-marketplace')
  if (doc == null || element == null) throw new Error(`${SOURCE}: the analyzer found no <p2p-marketplace>`)

  doc.path = modulePath
  // the built module defines the element and exports nothing (its class stays inside the bundle)
  doc.exports = (doc.exports ?? []).filter(e => e.kind === 'custom-element-definition')
  for (const e of doc.exports) e.declaration.module = modulePath
  const fired = new Map((element.events ?? []).map(e => [e.name, e]))
  element.events = EVENTS.map(e => ({
    ...fired.get(e.name),
    name: e.name,
    type: { text: e.type },
    description: e.description
  }))
  element.cssProperties = [
    ...TOKENS.map(t => ({ name: `--mp-${t}`, description: 'Theme colour (see the README).' })),
    ...OTHER_PROPERTIES
  ]
  // parts of its own and those it exports from its inner components
  const parts = new Set<string>()
  for (const [, name] of source.matchAll(/\spart="([a-z-]+)"/g)) parts.add(name!)
  for (const [, list] of source.matchAll(/\sexportparts="([a-z, -]+)"/g))
    for (const name of list!.split(',')) parts.add(name.trim())
  element.cssParts = [...parts].map(name => ({ name }))
  return manifest
}
