import { parsePackageRef } from '../args.ts'
import { PackageNotFoundError } from '../errors.ts'
import { formatBytes } from '../output.ts'
import type { CommandContext } from './context.ts'
import type { MarketplaceNode } from '../../core/marketplace/marketplace-node.ts'
import type { PackageRecord } from '../../core/package/schema.ts'
import type { SearchHit } from '../../core/index.ts'

/** `search <text> [--tags a,b] [--limit N]`: the node's ranked search (its index, the relay, peers, the DHT). */
export async function search(ctx: CommandContext): Promise<void> {
  const { options, signal } = ctx
  const text = ctx.positionals[0] ?? ''
  const node = await ctx.startNode()
  const result = await node.search(
    {
      text,
      ...(options.tags != null ? { tags: options.tags } : {}),
      ...(options.limit != null ? { limit: options.limit } : {})
    },
    { signal }
  )
  const lines = result.packages.map(describeHit)
  const summary = `${result.packages.length} package${result.packages.length === 1 ? '' : 's'} found (${result.peersQueried} peer${result.peersQueried === 1 ? '' : 's'} asked)`
  ctx.out.result(result, [...lines, ...(lines.length > 0 ? [''] : []), summary].join('\n'))
}

/** `info <id>[@version]`: one version (the latest unless named) and every version known. */
export async function info(ctx: CommandContext): Promise<void> {
  const { id, version } = parsePackageRef(ctx.positionals[0] ?? '')
  const node = await ctx.startNode()
  const record = await findPackage(node, id, version, ctx.signal)
  const versions = await node.listVersions(id, { signal: ctx.signal })
  const field = (name: string, value: string | undefined): string[] =>
    value != null && value !== '' ? [`${name.padEnd(12)} ${value}`] : []
  const content = record.content
  const text = [
    `${record.id}@${record.version}`,
    ...field('title', record.title),
    ...field('description', record.description),
    ...field('license', record.license),
    ...field('publisher', record.publisher),
    ...field('published', record.publishedAt),
    ...field(
      'content',
      content != null
        ? `${content.cid} (${formatBytes(content.size)}, ${content.size} bytes${content.name != null ? `, ${content.name}` : ''}${content.mediaType != null ? `, ${content.mediaType}` : ''})`
        : 'none'
    ),
    ...field('contentHash', record.contentHash),
    ...field('tags', record.tags?.join(', ')),
    ...field('categories', record.categories?.join(', ')),
    ...field('authors', record.authors?.join(', ')),
    ...field('homepage', record.homepage),
    ...field('repository', record.repository),
    ...field(
      'dependencies',
      Object.entries(record.dependencies ?? {})
        .map(([dep, range]) => `${dep} ${range}`)
        .join(', ')
    ),
    ...field('versions', versions.join(', '))
  ]
  ctx.out.result({ package: record, versions }, text.join('\n'))
}

/**
 * A package's record (its latest version unless `version`): from the node's catalog, the DHT, or
 * the peers it asks (the relay among them). Throws `PackageNotFoundError` naming what is missing.
 */
export async function findPackage(
  node: MarketplaceNode,
  id: string,
  version: string | undefined,
  signal: AbortSignal
): Promise<PackageRecord> {
  const record = await node.getPackage(id, version, { signal })
  if (record != null) return record
  const versions = await node.listVersions(id, { signal })
  if (versions.length === 0 || version == null)
    throw new PackageNotFoundError(`no package ${id} at the relay, in the DHT or at the peers asked`)
  throw new PackageNotFoundError(`${id} has no version ${version}; it has ${versions.join(', ')}`)
}

function describeHit(hit: SearchHit): string {
  const name = hit.name.kind === 'domain' && hit.name.verified ? ' ✓' : ''
  const looksLike = hit.name.looksLike != null ? ` (looks like ${hit.name.looksLike})` : ''
  const size = hit.content != null ? `  [${formatBytes(hit.content.size)}]` : ''
  return `${hit.id}@${hit.version}${name}${looksLike}  ${hit.title}${size}\n    ${oneLine(hit.description, 100)}`
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}
