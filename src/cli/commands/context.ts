import type { CommandOptions } from '../args.ts'
import type { Output } from '../output.ts'
import type { MarketplaceNode } from '../../core/marketplace/marketplace-node.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Blockstore } from 'interface-blockstore'

/** What a command is given: its arguments, where to write, Ctrl-C, and a node when it needs one. */
export interface CommandContext {
  positionals: string[]
  options: CommandOptions
  out: Output
  /** Aborted by Ctrl-C (its reason an `InterruptedError`). */
  signal: AbortSignal
  env: NodeJS.ProcessEnv
  /** The client's version (package.json). */
  version: string
  /** Where `-o -` writes the content. */
  stdout: NodeJS.WritableStream
  /** A node online at the relay; stopped by the client when the command ends, however it ends. */
  startNode: (init?: { privateKey?: PrivateKey; blockstore?: Blockstore }) => Promise<MarketplaceNode>
}

export type Command = (ctx: CommandContext) => Promise<void>
