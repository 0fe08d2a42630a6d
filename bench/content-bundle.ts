/**
 * Where the content code (Helia, Bitswap, UnixFS) lands in the build: its own chunk, loaded on a
 * node's first publish or fetch with content, never in the app's or the widget's initial JS nor
 * in the libp2p chunk that loads when a page starts its node. Read off Vite's build manifest.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { bundleFigures } from './ui.ts'

interface ManifestChunk {
  file: string
  src?: string
  imports?: string[]
  dynamicImports?: string[]
}

/** A string every build of Helia's Bitswap carries (its loggers' names): marks the code holding it. */
const HELIA_MARKER = 'helia:bitswap'

/** The module the node imports on first use of content (`lazyContentStore`). */
const CONTENT_MODULE = 'core/content/content-store.ts'

export interface ContentBundleFigures {
  /** gzip KB of the JS each loads before its first render (the `ui` benchmark's measure). */
  appInitialGzipKB: number
  widgetInitialGzipKB: number
  appInitialFiles: string[]
  widgetInitialFiles: string[]
  /** The JS a node's first publish or fetch with content loads on top of the libp2p chunk. */
  contentChunk: { files: string[]; gzipKB: number; KB: number }
  /** Helia/Bitswap is in the content chunk and in none of: app initial, widget initial, libp2p chunk. */
  heliaOnlyInContentChunk: boolean
  /** Where Helia/Bitswap's code was found, by file. */
  heliaFoundIn: string[]
  /**
   * Content modules (this repository's `src/core/content/`, the download button, Helia, UnixFS,
   * blockstores) in the app's or the widget's initial JS, by their source maps: none expected.
   */
  contentModulesInInitial: string[]
}

/** Sources (by the build's source maps) that belong to the content code. */
const CONTENT_SOURCE =
  /src\/core\/content\/|mp-download|node_modules\/(@helia|helia|ipfs-unixfs|blockstore-|@ipld)/

export function contentBundle(dist = 'dist'): ContentBundleFigures {
  const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8')) as Record<
    string,
    ManifestChunk
  >
  const missing = Object.values(manifest).filter(c => !existsSync(join(dist, c.file)))
  if (missing.length > 0)
    throw new Error(
      `bench content: the build in ${dist} lacks ${missing.map(c => c.file).join(', ')} (rebuilt while being copied?)`
    )
  const key = Object.keys(manifest).find(k => (manifest[k]!.src ?? k).endsWith(CONTENT_MODULE))
  if (key == null)
    throw new Error(
      `bench content: no chunk for ${CONTENT_MODULE} in the build manifest: is it still imported lazily?`
    )
  const closure = (start: string, into = new Set<string>()): Set<string> => {
    if (manifest[start] == null || into.has(start)) return into
    into.add(start)
    for (const k of manifest[start].imports ?? []) closure(k, into)
    return into
  }
  // loaded before content is first used: the entries' initial JS and the chunks importing it lazily (libp2p)
  const before = new Set<string>()
  for (const k of ['index.html', 'widget/p2p-marketplace.ts']) closure(k, before)
  const importers = Object.keys(manifest).filter(k => manifest[k]!.dynamicImports?.includes(key) === true)
  const libp2p = new Set<string>()
  for (const k of importers) closure(k, libp2p)
  for (const k of libp2p) before.add(k)
  const content = [...closure(key)].filter(k => !before.has(k))
  const read = (file: string): Buffer => readFileSync(join(dist, file))
  const contentFiles = content.map(k => manifest[k]!.file)
  const app = bundleFigures(dist, 'index.html')
  const widget = bundleFigures(dist, 'widget/p2p-marketplace.ts')
  const libp2pFiles = [...libp2p].map(k => manifest[k]!.file)
  const everything = new Set([...app.initialFiles, ...widget.initialFiles, ...libp2pFiles, ...contentFiles])
  const heliaFoundIn = [...everything].filter(f => read(f).includes(HELIA_MARKER))
  return {
    appInitialGzipKB: app.initialGzipKB,
    widgetInitialGzipKB: widget.initialGzipKB,
    appInitialFiles: app.initialFiles,
    widgetInitialFiles: widget.initialFiles,
    contentChunk: {
      files: contentFiles,
      gzipKB: Math.round(contentFiles.reduce((sum, f) => sum + gzipSync(read(f)).byteLength, 0) / 102.4) / 10,
      KB: Math.round(contentFiles.reduce((sum, f) => sum + read(f).byteLength, 0) / 102.4) / 10
    },
    heliaOnlyInContentChunk: heliaFoundIn.length > 0 && heliaFoundIn.every(f => contentFiles.includes(f)),
    heliaFoundIn,
    contentModulesInInitial: [...new Set([...app.initialFiles, ...widget.initialFiles])].flatMap(f => {
      const map = join(dist, `${f}.map`)
      if (!existsSync(map)) return []
      const sources = (JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] }).sources
      return sources.filter(s => CONTENT_SOURCE.test(s)).map(s => `${s.replace(/^(\.\.\/)+/, '')} in ${f}`)
    })
  }
}
