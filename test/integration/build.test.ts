/**
 * The build's own steps (scripts/vite-plugins.ts, issues 17 and 18): the widget at a versioned URL
 * with its SRI hash beside a stable one, the previous build's chunks kept after a redeploy, and the
 * page preloading the node's chunk with everything it imports.
 */
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'vite'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { keepPreviousChunks, preloadBoot, versionedWidget } from '../../scripts/vite-plugins.ts'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mp-build-'))
  await mkdir(join(dir, 'src'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Builds a miniature widget whose lazy chunk says `text`; returns the chunk files built. */
async function buildWidget(text: string): Promise<string[]> {
  await writeFile(join(dir, 'src', 'lazy.ts'), `export const text = ${JSON.stringify(text)}\n`)
  await writeFile(
    join(dir, 'src', 'widget.ts'),
    `Object.assign(globalThis, { load: () => import('./lazy.ts') })\n`
  )
  await build({
    root: join(dir, 'src'),
    base: './',
    configFile: false,
    logLevel: 'silent',
    plugins: [versionedWidget('1.2.3'), keepPreviousChunks()],
    build: {
      outDir: '../dist',
      emptyOutDir: true,
      manifest: true,
      rollupOptions: {
        input: { widget: join(dir, 'src', 'widget.ts') },
        output: {
          entryFileNames: 'widget/1.2.3/p2p-marketplace.js',
          chunkFileNames: 'assets/[name]-[hash].js'
        }
      }
    }
  })
  return (await readdir(join(dir, 'dist', 'assets'))).filter(f => f.endsWith('.js')).sort()
}

test('the widget has a versioned entry with its SRI hash, and a stable URL that loads it', async () => {
  await buildWidget('first')
  const stable = await readFile(join(dir, 'dist', 'widget', 'p2p-marketplace.js'), 'utf8')
  expect(stable).toContain("export * from './1.2.3/p2p-marketplace.js'")
  const entry = await readFile(join(dir, 'dist', 'widget', '1.2.3', 'p2p-marketplace.js'))
  const integrity = JSON.parse(
    await readFile(join(dir, 'dist', 'widget', '1.2.3', 'integrity.json'), 'utf8')
  ) as Record<string, string>
  expect(integrity['p2p-marketplace.js']).toBe(
    `sha384-${createHash('sha384').update(entry).digest('base64')}`
  )
})

test("a redeploy keeps the previous build's chunks, for pages opened before it, and drops older ones", async () => {
  await rm(join(dir, 'dist'), { recursive: true, force: true })
  const [one] = await buildWidget('one')
  const afterTwo = await buildWidget('two')
  const two = afterTwo.find(f => f !== one)
  expect(afterTwo).toEqual([one, two].sort())
  const afterThree = await buildWidget('three')
  const three = afterThree.find(f => f !== two)
  // the first build's chunk is two builds old now: gone
  expect(afterThree).toEqual([two, three].sort())
  expect(new Set([one, two, three]).size).toBe(3)
})

test('the page preloads the boot chunk and every chunk it imports, at any depth, and the runtime config', async () => {
  const app = join(dir, 'app')
  await mkdir(join(app, 'src', 'app'), { recursive: true })
  const files: Record<string, string> = {
    'index.html':
      '<!doctype html><html><head></head><body><script type="module" src="./main.ts"></script></body></html>',
    'main.ts':
      "Object.assign(globalThis, { boot: () => import('./app/boot.ts'), other: () => import('./other.ts') })\n",
    // shared with another lazy chunk, so each is a chunk of its own that boot imports
    'app/boot.ts': "import { near } from '../near.ts'\nexport const boot = near + 1\n",
    'other.ts':
      "import { near } from './near.ts'\nimport { deep } from './deep.ts'\nexport const other = near + deep\n",
    'near.ts': "import { deep } from './deep.ts'\nexport const near = deep * 2\n",
    'deep.ts': 'export const deep = Number(globalThis.name.length)\n'
  }
  for (const [file, text] of Object.entries(files)) await writeFile(join(app, 'src', file), text)
  const output = await build({
    root: join(app, 'src'),
    base: './',
    configFile: false,
    logLevel: 'silent',
    plugins: [preloadBoot()],
    build: { outDir: '../dist', emptyOutDir: true, write: true }
  })
  const chunks = (Array.isArray(output) ? output : [output]).flatMap(o => ('output' in o ? o.output : []))
  const boot = chunks.find(c => c.type === 'chunk' && c.facadeModuleId?.endsWith('/src/app/boot.ts') === true)
  const html = await readFile(join(app, 'dist', 'index.html'), 'utf8')
  const preloaded = [...html.matchAll(/<link rel="modulepreload"[^>]* href="\.\/([^"]+)"/g)].map(m => m[1])
  expect(boot?.type === 'chunk' ? boot.imports.length : 0).toBeGreaterThan(0)
  const wanted = new Set<string>()
  const add = (file: string): void => {
    if (wanted.has(file)) return
    wanted.add(file)
    const chunk = chunks.find(c => c.fileName === file)
    for (const dep of chunk?.type === 'chunk' ? chunk.imports : []) add(dep)
  }
  add(boot!.fileName)
  expect(new Set(preloaded)).toEqual(wanted)
  expect(html).toContain('<link rel="preload" href="./config.json" as="fetch" crossorigin="anonymous">')
})
