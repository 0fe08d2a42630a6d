import { createHash } from 'node:crypto'
import { createReadStream, openAsBlob } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { basename, extname } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { keyNamespaceOf } from '../../core/package/names.ts'
import { parseManifest } from '../../core/package/schema.ts'
import { ContentTooLargeError } from '../../core/content/errors.ts'
import { InvalidManifestError } from '../../core/package/errors.ts'
import { ManifestFileError, NetworkError, UsageError } from '../errors.ts'
import { defaultKeyPath, loadOrCreateKeyFile } from '../key-file.ts'
import { MAX_CONTENT_BYTES, waitForPackagesTopic } from '../node.ts'
import { formatBytes, shortPackageId, shortPeerId } from '../output.ts'
import { ServedBlocks } from '../served-blocks.ts'
import { handOver } from './custody.ts'
import { relayContentLimit } from './relay-health.ts'
import type { CommandContext } from './context.ts'
import type { PackageEvent } from '../../core/catalog/catalog.ts'

/**
 * `publish <manifest.json> [file]`: signs the manifest with the key file's key and publishes it
 * (the record in the DHT, announced to the relay and peers), with `file` as its content. With a
 * file, it returns only once other peers (the relay) hold the content, fetched back from them to
 * be sure: until then this process holds the only copy.
 */
export async function publish(ctx: CommandContext): Promise<void> {
  const { options, out, signal } = ctx
  const [manifestPath = '', filePath] = ctx.positionals
  const manifest = parseManifest(await readManifest(manifestPath))
  if (manifest.content != null)
    throw new InvalidManifestError([
      { field: 'content', message: 'is set by publish from the file given; leave it out of the manifest' }
    ])
  const file = filePath != null ? await contentFile(filePath) : undefined
  if (filePath != null && manifest.contentHash != null) {
    const actual = `sha256-${await sha256Of(filePath, signal)}`
    if (actual !== manifest.contentHash)
      throw new InvalidManifestError([
        { field: 'contentHash', message: `is ${manifest.contentHash}, but ${filePath} hashes to ${actual}` }
      ])
  }
  if (file != null) {
    const limit = await relayContentLimit(options.relay, signal)
    if (limit != null && file.size > limit)
      throw new UsageError(
        `${filePath} is ${file.size} bytes; the relay keeps content of at most ${limit} bytes (its CONTENT_MAX_BYTES), so nobody would keep it once this command ends`
      )
  }
  const keyPath = options.key ?? defaultKeyPath(ctx.env)
  const { privateKey, created } = await loadOrCreateKeyFile(keyPath)
  if (created) out.note(`created the publisher key ${keyPath}: keep it, it is who you are as a publisher`)

  const served = file != null ? new ServedBlocks() : undefined
  const node = await ctx.startNode({
    privateKey,
    ...(served != null ? { blockstore: served.blockstore } : {})
  })
  await waitForPackagesTopic(node, options.timeoutMs, signal)
  // the versions the relay and peers know, so that a version taken already is refused here
  await node.listVersions(manifest.id, { signal })
  // once the record is stored the content is imported: reads from then on are peers fetching it
  const onPackage = (evt: CustomEvent<PackageEvent>): void => {
    const { record } = evt.detail
    if (record.id === manifest.id && record.version === manifest.version && record.publisher === node.peerId)
      served?.arm()
  }
  node.addEventListener('package', onPackage)
  const label = `${manifest.id}@${manifest.version}`
  const progress = file != null ? out.progress(`import ${shortPackageId(label)}`, 'to') : undefined
  let result
  try {
    result = await node.publish(manifest, {
      signal,
      ...(file != null
        ? { content: countedFile(file, bytes => progress?.update({ bytes, total: file.size })) }
        : {})
    })
  } finally {
    node.removeEventListener('package', onPackage)
  }
  if (!result.announced && !result.dhtStored)
    throw new NetworkError(
      `${label} is signed, but no peer took it (not announced, not stored in the DHT): publish again`
    )

  let keptBy: string[] = []
  if (served != null && progress != null && result.content != null)
    keptBy = await handOver(node, served, {
      id: manifest.id,
      version: manifest.version,
      timeoutMs: options.timeoutMs,
      signal,
      out,
      progress
    })
  progress?.done()
  const summary = {
    ...result,
    ...(result.content != null ? { keptBy } : {}),
    publisher: node.peerId,
    keyNamespace: node.keyNamespace,
    keyFile: keyPath
  }
  const content = result.content
  out.result(
    summary,
    [
      `published ${label} as ${node.peerId}`,
      ...(content != null
        ? [
            `content      ${content.cid} (${formatBytes(content.size)}, ${content.size} bytes)`,
            `kept by      ${keptBy.map(shortPeerId).join(', ')} (fetched back from there, verified)`
          ]
        : []),
      `announced    ${result.announced ? 'yes' : 'no'}`,
      `in the DHT   ${result.dhtStored ? 'yes' : 'no'}`,
      `trace        ${result.traceId}`
    ].join('\n')
  )
}

/** `key`: the publisher key's file, peer id and key namespace (the key is made on first use). */
export async function key(ctx: CommandContext): Promise<void> {
  const path = ctx.options.key ?? defaultKeyPath(ctx.env)
  const { privateKey, created } = await loadOrCreateKeyFile(path)
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  const keyNamespace = keyNamespaceOf(peerId)
  ctx.out.result(
    { path, peerId, keyNamespace, created },
    [
      `key file       ${path}${created ? ' (created now)' : ''}`,
      `peer id        ${peerId}`,
      `key namespace  ${keyNamespace} (publish as "${keyNamespace}/<name>")`
    ].join('\n')
  )
}

async function readManifest(path: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ManifestFileError(`cannot read the manifest ${path}: ${(err as Error).message}`, { cause: err })
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new ManifestFileError(`the manifest ${path} is not JSON: ${(err as Error).message}`, { cause: err })
  }
}

async function sha256Of(path: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { signal })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** The content file as a `File` (its name and media type go into the signed record), read lazily. */
async function contentFile(path: string): Promise<File> {
  const info = await stat(path).catch((err: unknown) => {
    throw new UsageError(`cannot read the content file ${path}: ${(err as Error).message}`)
  })
  if (!info.isFile()) throw new UsageError(`the content file ${path} is not a regular file`)
  if (info.size > MAX_CONTENT_BYTES) throw new ContentTooLargeError(MAX_CONTENT_BYTES, info.size)
  const type = MEDIA_TYPES[extname(path).toLowerCase()] ?? ''
  return new File([await openAsBlob(path)], basename(path), { type })
}

/** `file`, telling `onRead` how many of its bytes were read so far. */
function countedFile(file: File, onRead: (bytes: number) => void): File {
  class CountedFile extends File {
    override stream(): ReturnType<File['stream']> {
      let bytes = 0
      return super.stream().pipeThrough(
        new TransformStream({
          transform: (chunk, controller) => {
            bytes += chunk.byteLength
            onRead(bytes)
            controller.enqueue(chunk)
          }
        })
      )
    }
  }
  return new CountedFile([file], file.name, { type: file.type })
}

/** Media types of common package files, by extension (others are published without one). */
const MEDIA_TYPES: Record<string, string> = {
  '.tgz': 'application/gzip',
  '.gz': 'application/gzip',
  '.zip': 'application/zip',
  '.tar': 'application/x-tar',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.wasm': 'application/wasm',
  '.js': 'text/javascript'
}
