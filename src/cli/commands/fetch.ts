import { createHash } from 'node:crypto'
import { ContentMismatchError, ContentNotFoundError } from '../../core/content/errors.ts'
import { parsePackageRef } from '../args.ts'
import { formatBytes, shortPackageId, shortPeerId } from '../output.ts'
import { isDirectory, outputPath, refuseExisting, safeFileName, saveAtomically } from '../save-file.ts'
import { findPackage } from './read.ts'
import type { CommandContext } from './context.ts'

/**
 * `fetch <id>[@version] [-o file]`: the package's content, verified block by block against the
 * CID its signed record names (and against its `contentHash`, when it has one), written to a
 * file only once all of it is verified.
 */
export async function fetch(ctx: CommandContext): Promise<void> {
  const { options, out, signal } = ctx
  const { id, version } = parsePackageRef(ctx.positionals[0] ?? '')
  const toStdout = options.output === '-'
  // a named file that exists is refused before anything is downloaded
  if (options.output != null && !toStdout && !(await isDirectory(options.output)))
    await refuseExisting(options.output, options.force)
  const node = await ctx.startNode()
  const record = await findPackage(node, id, version, signal)
  const content = record.content
  if (content == null)
    throw new ContentNotFoundError(`${record.id}@${record.version} was published without content`)
  const name =
    safeFileName(content.name) ?? safeFileName(`${record.id.split('/')[1]}-${record.version}`) ?? 'content'
  const path = toStdout ? '-' : await outputPath(options.output, name)
  if (!toStdout) await refuseExisting(path, options.force)

  const progress = out.progress(`fetch ${shortPackageId(record.id)}@${record.version}`, 'from')
  progress.update({ bytes: 0, total: content.size })
  const fetched = await node.fetchContent(record.id, record.version, {
    signal,
    onProgress: p => progress.update(p)
  })
  progress.done()
  const sha256 = createHash('sha256').update(fetched.bytes).digest('hex')
  if (record.contentHash != null && record.contentHash !== `sha256-${sha256}`)
    throw new ContentMismatchError(
      `the content of ${record.id}@${record.version} hashes to sha256-${sha256}; its signed record says ${record.contentHash}`
    )

  if (toStdout) await writeOut(ctx.stdout, fetched.bytes, signal)
  else await saveAtomically(path, fetched.bytes, { force: options.force, signal })
  const from = fetched.peers.length > 0 ? ` from ${fetched.peers.map(shortPeerId).join(', ')}` : ''
  const summary = `${toStdout ? 'wrote' : `saved ${path}:`} ${record.id}@${record.version}, ${formatBytes(content.size)} (${content.size} bytes), ${content.cid} verified${from}`
  if (toStdout) out.note(summary)
  else
    out.result(
      {
        id: record.id,
        version: record.version,
        path,
        cid: content.cid,
        size: content.size,
        sha256,
        publisher: record.publisher,
        peers: fetched.peers
      },
      summary
    )
}

/** Writes `bytes` to standard output, resolving once they were handed to it. */
async function writeOut(
  stream: NodeJS.WritableStream,
  bytes: Uint8Array,
  signal: AbortSignal
): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    stream.write(bytes, err => (err != null ? reject(err) : resolve()))
  })
}
