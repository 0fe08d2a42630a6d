#!/usr/bin/env node
/**
 * `p2p-marketplace`: the marketplace from a terminal. Each command runs one node for as long as
 * it takes (bootstrapped from the relay's runtime config, as a tab is), then stops it.
 */
import { readFileSync } from 'node:fs'
import { constants } from 'node:os'
import { raceSignal } from 'race-signal'
import { helpText, parseCommandLine } from './args.ts'
import { EXIT, InterruptedError, exitCodeOf } from './errors.ts'
import { Output } from './output.ts'
import type { CommandName } from './args.ts'
import type { Command, CommandContext } from './commands/context.ts'
import type { Streams } from './output.ts'
import type { MarketplaceNode } from '../core/marketplace/marketplace-node.ts'

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string
}

/** Each command, loaded when run (libp2p and Helia are not loaded for `--help` or a usage error). */
const COMMANDS: Record<CommandName, () => Promise<Command>> = {
  search: async () => (await import('./commands/read.ts')).search,
  info: async () => (await import('./commands/read.ts')).info,
  fetch: async () => (await import('./commands/fetch.ts')).fetch,
  publish: async () => (await import('./commands/publish.ts')).publish,
  key: async () => (await import('./commands/publish.ts')).key
}

/** How long the command may take to finish its own clean-up (a temporary file) once interrupted. */
const SETTLE_MS = 2_000

/**
 * Runs one command line and resolves with its exit code: 0 ok, 1 unexpected failure, 2 usage,
 * 3 not found, 4 network, 5 verification failed, 130 interrupted (143 on SIGTERM).
 */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv,
  streams: Streams & { stdout: NodeJS.WritableStream }
): Promise<number> {
  let invocation
  try {
    invocation = parseCommandLine(argv, env)
  } catch (err) {
    const quiet = argv.includes('--quiet') || argv.includes('-q')
    new Output(streams, { json: argv.includes('--json'), quiet }).error(err)
    if (!quiet) streams.stderr.write('(p2p-marketplace --help shows the usage)\n')
    return exitCodeOf(err)
  }
  if (invocation.kind === 'help') {
    streams.stdout.write(helpText(invocation.command))
    return EXIT.ok
  }
  if (invocation.kind === 'version') {
    streams.stdout.write(`${version}\n`)
    return EXIT.ok
  }

  const { command, positionals, options } = invocation
  const out = new Output(streams, options)
  const controller = new AbortController()
  const onSignal = (signal: NodeJS.Signals): void => {
    // a second Ctrl-C does not wait for the clean stop (temporary files still go, at exit)
    if (controller.signal.aborted) process.exit(128 + constants.signals[signal])
    controller.abort(new InterruptedError(signal))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const { startNode, stopNode } = await import('./node.ts')
  const nodes: MarketplaceNode[] = []
  const ctx: CommandContext = {
    positionals,
    options,
    out,
    signal: controller.signal,
    env,
    version,
    stdout: streams.stdout,
    startNode: async (init = {}) =>
      await startNode({
        relay: options.relay,
        timeoutMs: options.timeoutMs,
        signal: controller.signal,
        version,
        ...init,
        onNode: node => nodes.push(node)
      })
  }

  const running = COMMANDS[command]().then(async run => await run(ctx))
  let code: number = EXIT.ok
  try {
    await raceSignal(running, controller.signal)
  } catch (err) {
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : err
    out.error(reason)
    code = exitCodeOf(reason)
    if (reason instanceof InterruptedError) code = 128 + constants.signals[reason.signal]
  } finally {
    const stopAll = async (): Promise<void> => {
      await Promise.all(
        nodes
          .splice(0)
          .map(
            async node => await stopNode(node, message => out.note(`p2p-marketplace: warning: ${message}`))
          )
      )
    }
    await stopAll()
    // an interrupted command finishes its own clean-up (its temporary file) before the exit,
    // and a node it was creating meanwhile is stopped too
    await settled(running, SETTLE_MS)
    await stopAll()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  return code
}

/** Resolves once `promise` settled (however), or after `ms`. */
async function settled(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([
    promise.then(
      () => undefined,
      () => undefined
    ),
    new Promise<void>(resolve => {
      timer = setTimeout(resolve, ms)
    })
  ])
  clearTimeout(timer)
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2), process.env, {
    stdout: process.stdout,
    stderr: process.stderr
  })
  process.exitCode = code
  // everything is stopped and written; libp2p leaves debounce timers of up to a second behind
  setTimeout(() => process.exit(code), 500).unref()
}
