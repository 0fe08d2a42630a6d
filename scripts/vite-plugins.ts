/* Build steps of the web app and the widget (used by vite.config.ts). */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { Plugin } from 'vite'

/**
 * The page's shell loads the node (libp2p, the `boot` chunk) lazily so the first paint stays
 * small; `modulepreload` links let the browser fetch that chunk and the chunks it imports
 * alongside the shell instead of after it ran, and a `preload` of `config.json` fetches the runtime config meanwhile (the node's
 * own fetch of it then takes the preloaded response).
 */
export function preloadBoot(): Plugin {
  return {
    name: 'p2p-marketplace:preload-boot',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler: (html, ctx) => {
        const chunks = new Map(
          Object.values(ctx.bundle ?? {}).flatMap(c => (c.type === 'chunk' ? [[c.fileName, c] as const] : []))
        )
        const boot = [...chunks.values()].find(c => c.facadeModuleId?.endsWith('/src/app/boot.ts') === true)
        if (boot == null) throw new Error('preload-boot: no chunk for src/app/boot.ts in the build')
        // the chunk and every chunk it imports statically, at any depth: otherwise the browser
        // finds those only once the boot chunk (800 kB) has arrived and been parsed
        const files = new Set<string>()
        const add = (fileName: string): void => {
          if (files.has(fileName)) return
          files.add(fileName)
          for (const dep of chunks.get(fileName)?.imports ?? []) add(dep)
        }
        add(boot.fileName)
        return [
          ...[...files]
            .filter(file => !html.includes(`/${file}"`))
            .map(file => ({
              tag: 'link',
              attrs: { rel: 'modulepreload', crossorigin: true, href: `./${file}` },
              injectTo: 'head' as const
            })),
          {
            tag: 'link',
            attrs: { rel: 'preload', href: './config.json', as: 'fetch', crossorigin: 'anonymous' },
            injectTo: 'head'
          }
        ]
      }
    }
  }
}

/**
 * The widget at a versioned, immutable URL, `widget/<version>/p2p-marketplace.js` (its entry),
 * beside the stable `widget/p2p-marketplace.js`, a one-line module that loads the current version
 * (revalidated by browsers, so a redeploy reaches sites that use it). The versioned entry's SRI
 * hash (sha384) is written to `widget/<version>/integrity.json` for the snippet a site pastes.
 */
export function versionedWidget(version: string): Plugin {
  let outDir = ''
  const entry = `widget/${version}/p2p-marketplace.js`
  return {
    name: 'p2p-marketplace:versioned-widget',
    apply: 'build',
    configResolved: config => {
      outDir = resolve(config.root, config.build.outDir)
    },
    generateBundle() {
      this.emitFile({
        type: 'asset',
        fileName: 'widget/p2p-marketplace.js',
        source: `// the current version of the widget; pin a version with /widget/${version}/p2p-marketplace.js\nexport * from './${version}/p2p-marketplace.js'\n`
      })
    },
    writeBundle: async () => {
      const bytes = await readFile(join(outDir, entry))
      const integrity = `sha384-${createHash('sha384').update(bytes).digest('base64')}`
      await writeFile(
        join(outDir, 'widget', version, 'integrity.json'),
        `${JSON.stringify({ 'p2p-marketplace.js': integrity }, null, 2)}\n`
      )
    }
  }
}

/**
 * Keeps the previous build's chunks (and the widget versions it served) in the output after a
 * redeploy: pages opened before it still load the chunks they ask for later. Files of older
 * builds are dropped. The previous build is read from its `.vite/manifest.json`.
 */
export function keepPreviousChunks(): Plugin {
  let outDir = ''
  const kept = new Map<string, Buffer>()
  return {
    name: 'p2p-marketplace:keep-previous-chunks',
    apply: 'build',
    configResolved: config => {
      outDir = resolve(config.root, config.build.outDir)
    },
    // before the output directory is emptied
    buildStart: () => {
      kept.clear()
      for (const file of previousBuildFiles(outDir)) {
        for (const name of [file, `${file}.map`]) {
          const path = join(outDir, name)
          if (existsSync(path)) kept.set(name, readFileSync(path))
        }
      }
    },
    closeBundle: async () => {
      for (const [name, bytes] of kept) {
        const path = join(outDir, name)
        if (existsSync(path)) continue
        await mkdir(dirname(path), { recursive: true })
        await writeFile(path, bytes)
      }
      // what this build carried over is the previous build's, not this one's: noted for the next
      await writeFile(join(outDir, '.vite', 'previous-build.json'), `${JSON.stringify([...kept.keys()])}\n`)
    }
  }
}

/** The chunks, assets and widget entries of the build in `outDir` (none without a manifest). */
function previousBuildFiles(outDir: string): string[] {
  const manifestPath = join(outDir, '.vite', 'manifest.json')
  if (!existsSync(manifestPath)) return []
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<
    string,
    { file: string; css?: string[]; assets?: string[] }
  >
  const files = Object.values(manifest).flatMap(m => [m.file, ...(m.css ?? []), ...(m.assets ?? [])])
  // a versioned widget entry comes with its integrity file
  for (const file of [...files])
    if (/^widget\/[^/]+\/p2p-marketplace\.js$/.test(file))
      files.push(file.replace(/[^/]+$/, 'integrity.json'))
  return files.filter(f => f.startsWith('assets/') || f.startsWith('widget/'))
}
