/**
 * `npm run pack`: builds the `p2p-marketplace` npm package from this tree and packs it with
 * `npm pack` (nothing is published). One package, several entry points:
 *
 * - `p2p-marketplace`: the node API (`src/core`, compiled by tsc, with declarations);
 * - `p2p-marketplace/otel`: the OpenTelemetry SDK glue (`src/otel`);
 * - `p2p-marketplace/widget`: the built `<p2p-marketplace>` widget, its types (element, events),
 *   and `custom-elements.json`;
 * - `p2p-marketplace/testing`: Playwright helpers for any page embedding the widget;
 * - bins: `p2p-marketplace` (the CLI) and `p2p-marketplace-relay` (the relay, serving the web
 *   app and the widget built into the package);
 * - the dependencies this project patches (`patches/`), as bundled dependencies: the patched
 *   copies travel inside the package (see `scripts/pack/patched.ts`).
 *
 * Usage: `node scripts/pack.ts [--out DIR] [--keep]`. The package is staged in a temporary
 * directory (kept with `--keep`); the tarball goes to DIR (default `build/`). Prints the
 * tarball's path last.
 */
import { spawnSync } from 'node:child_process'
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { widgetManifest } from './pack/custom-elements.ts'
import { checkImports, moveEntries, prune, rewriteTsSpecifiers } from './pack/layout.ts'
import { bundlePatched, dependenciesOfBundled, patchedPackages, readManifest } from './pack/patched.ts'

const ROOT = resolve(import.meta.dirname, '..')

/** Imported by the package but provided by the project that uses it (only `./testing` needs it). */
const OPTIONAL_PEERS = ['@playwright/test']

const RELAY_BIN = `#!/usr/bin/env node
// The relay (relay/main.js), serving the web app and the widget built into this package
// unless STATIC_DIR or --static-dir names another build.
import { fileURLToPath } from 'node:url'

process.env.STATIC_DIR ??= fileURLToPath(new URL('../dist', import.meta.url))
await import('../relay/main.js')
`

/** Declarations added to `widget/index.d.ts`: kept out of the repository's own program, whose
 * element class declares the tag already. */
const WIDGET_GLOBALS = `
declare global {
  interface HTMLElementTagNameMap {
    'p2p-marketplace': P2pMarketplaceElement
  }
  // the widget's events bubble out of its shadow DOM (composed) up to the document
  interface GlobalEventHandlersEventMap extends P2pMarketplaceEventMap {}
}
`

/** Which compiled files the package keeps (declarations of the API only). */
function keep(file: string): boolean {
  if (file.startsWith('src/core/') || file.startsWith('src/otel/')) return true
  if (file.startsWith('src/cli/') || file.startsWith('relay/')) return file.endsWith('.js')
  if (/^(otel|testing)\/index\.(js|d\.ts)$/.test(file)) return true
  return file === 'widget/index.d.ts'
}

export interface PackResult {
  tarball: string
  /** Seconds each step took. */
  seconds: Record<string, number>
}

function run(command: string, args: string[], cwd = ROOT): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`
    )
  }
  return result.stdout
}

export async function pack(options: { out: string; keep?: boolean }): Promise<PackResult> {
  const seconds: Record<string, number> = {}
  let last = Date.now()
  const step = (name: string): void => {
    seconds[name] = (Date.now() - last) / 1000
    last = Date.now()
  }
  const root = await readManifest(ROOT)
  const rootJson = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    description: string
    license: string
    engines: Record<string, string>
    dependencies: Record<string, string>
    devDependencies: Record<string, string>
  }
  const stage = await mkdtemp(join(tmpdir(), 'p2p-marketplace-pack-'))
  const pkgDir = join(stage, 'package')
  try {
    // the node API, the OpenTelemetry glue, the CLI, the relay and the package's own entries
    run(process.execPath, [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      pkgDir
    ])
    step('tsc')
    await rewriteTsSpecifiers(pkgDir)
    const entries = await moveEntries(pkgDir)
    await prune(pkgDir, keep)
    await appendFile(join(pkgDir, 'widget', 'index.d.ts'), WIDGET_GLOBALS)
    await cp(join(ROOT, 'relay/collector/protos'), join(pkgDir, 'relay/collector/protos'), {
      recursive: true
    })
    await mkdir(join(pkgDir, 'bin'))
    await writeFile(join(pkgDir, 'bin', 'p2p-marketplace-relay.js'), RELAY_BIN, { mode: 0o755 })
    step('layout')

    // the web app and the widget, as the relay serves them (a build of its own: ./dist is left alone)
    run(process.execPath, [
      join(ROOT, 'node_modules/vite/bin/vite.js'),
      'build',
      '--outDir',
      join(pkgDir, 'dist'),
      '--emptyOutDir',
      '--logLevel',
      'warn'
    ])
    const widgetModule = 'dist/widget/p2p-marketplace.js'
    const manifest = await widgetManifest(ROOT, widgetModule)
    await writeFile(join(pkgDir, 'custom-elements.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    step('web build')

    // what the code imports, by name: dependencies (with this repository's ranges) or peers
    const imported = await checkImports(pkgDir)
    const dependencies: Record<string, string> = {}
    const peerDependencies: Record<string, string> = {}
    for (const name of [...imported].sort()) {
      const range = rootJson.dependencies[name]
      if (range != null) dependencies[name] = range
      else if (OPTIONAL_PEERS.includes(name)) peerDependencies[name] = rootJson.devDependencies[name]!
      else throw new Error(`the package imports ${name}, which is not a dependency of package.json`)
    }
    // the patched dependencies it imports travel in it, their own dependencies beside them
    const patched = (await patchedPackages(ROOT)).filter(p => imported.has(p.name))
    for (const p of patched) {
      await bundlePatched(ROOT, p, pkgDir)
      dependencies[p.name] = p.version
    }
    const names = patched.map(p => p.name)
    Object.assign(dependencies, await dependenciesOfBundled(ROOT, names, dependencies))
    await mkdir(join(pkgDir, 'patches'))
    for (const p of patched)
      await cp(join(ROOT, 'patches', p.patchFile), join(pkgDir, 'patches', p.patchFile))
    step('dependencies')

    const sorted = (o: Record<string, string>): Record<string, string> =>
      Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))
    const pkg = {
      name: root.name,
      version: root.version,
      description: rootJson.description,
      license: rootJson.license,
      type: 'module',
      keywords: ['libp2p', 'p2p', 'webrtc', 'package-registry', 'opentelemetry', 'web-components'],
      engines: rootJson.engines,
      types: './src/core/index.d.ts',
      exports: {
        '.': { types: './src/core/index.d.ts', default: './src/core/index.js' },
        ...Object.fromEntries(
          entries
            .filter(e => e !== 'widget')
            .map(e => [`./${e}`, { types: `./${e}/index.d.ts`, default: `./${e}/index.js` }])
        ),
        './widget': { types: './widget/index.d.ts', default: `./${widgetModule}` },
        './custom-elements.json': './custom-elements.json',
        './dist/*': './dist/*',
        './package.json': './package.json'
      },
      bin: {
        'p2p-marketplace': 'src/cli/main.js',
        'p2p-marketplace-relay': 'bin/p2p-marketplace-relay.js'
      },
      customElements: 'custom-elements.json',
      files: ['src', 'relay', 'bin', 'dist', ...entries, 'custom-elements.json', 'patches'],
      dependencies: sorted(dependencies),
      bundleDependencies: names,
      peerDependencies,
      peerDependenciesMeta: Object.fromEntries(
        Object.keys(peerDependencies).map(n => [n, { optional: true }])
      )
    }
    await writeFile(join(pkgDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
    await cp(join(ROOT, 'README.md'), join(pkgDir, 'README.md'))

    const out = resolve(options.out)
    await mkdir(out, { recursive: true })
    const [packed] = JSON.parse(
      run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], pkgDir)
    ) as Array<{ filename: string }>
    step('npm pack')
    return { tarball: join(out, packed!.filename), seconds }
  } finally {
    if (options.keep === true) console.error(`pack: staged in ${pkgDir}`)
    else await rm(stage, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { out: { type: 'string', default: join(ROOT, 'build') }, keep: { type: 'boolean' } }
  })
  const started = Date.now()
  const { tarball, seconds } = await pack({ out: values.out, keep: values.keep === true })
  const steps = Object.entries(seconds).map(([k, s]) => `${k} ${s.toFixed(1)} s`)
  console.error(`pack: ${steps.join(', ')}; ${((Date.now() - started) / 1000).toFixed(1)} s in all`)
  console.log(tarball)
}
