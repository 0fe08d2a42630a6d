import { readFileSync } from 'node:fs'
import { createRelay } from './relay.ts'
import { InvalidRelayConfigError, helpText, parseRelayConfig } from './config.ts'
import { configWarnings } from './config/warnings.ts'

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string
}

/** Runs the relay until SIGINT/SIGTERM. Exit codes: 0 clean stop, 1 start-up failure, 2 bad configuration. */
async function main(): Promise<void> {
  let config
  try {
    config = parseRelayConfig(process.argv.slice(2), process.env)
  } catch (err) {
    if (err instanceof InvalidRelayConfigError) {
      console.error(`relay: ${err.message}`)
      process.exit(2)
    }
    throw err
  }
  if (config == null) {
    console.log(helpText())
    return
  }

  for (const warning of configWarnings(config)) console.warn(`relay: warning: ${warning}`)

  let relay
  try {
    relay = await createRelay(config, version, {
      onPeerRelayChange: ({ state, change }) => {
        if (change === 'connected') console.log(`relay: peered with relay ${state.peerId}`)
        else if (change === 'disconnected')
          console.log(`relay: lost peer relay ${state.peerId}, redialing with backoff`)
        else
          console.log(
            `relay: peer relay ${state.addr} unreachable (${state.lastError}), retrying with backoff`
          )
      },
      onCertificateChange: change => {
        if (change.type === 'renewed')
          console.log(
            `relay: TLS certificate renewed (SHA-256 ${change.certificate.fingerprint256}, valid until ${change.certificate.validTo.toISOString()})`
          )
        else
          console.error(
            `relay: new TLS files not used yet, keeping the current certificate: ${change.error.message}`
          )
      }
    })
  } catch (err) {
    console.error(`relay: ${(err as Error).message}`)
    process.exit(err instanceof InvalidRelayConfigError ? 2 : 1)
  }
  const loaded = relay.catalog.loadReport
  if (loaded.unreadable + loaded.futureDated > 0) {
    console.warn(
      `relay: warning: catalog in ${config.dataDir}: ${loaded.records} records loaded, ${loaded.unreadable} unreadable left out, ${loaded.futureDated} dated in the future deleted (${loaded.examples.join('; ')})`
    )
  }

  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) {
      console.error('relay: second signal, exiting now')
      process.exit(1)
    }
    stopping = true
    console.log(`relay: ${signal} received, shutting down`)
    relay
      .stop()
      .then(() => {
        console.log('relay: stopped')
        process.exit(0)
      })
      .catch((err: unknown) => {
        console.error(`relay: error while stopping: ${String(err)}`)
        process.exit(1)
      })
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))

  // printed last: the URL line tells scripts the relay is ready (and stoppable)
  console.log(`relay: peer id ${relay.peerId}`)
  // with ANNOUNCE_ADDRS, libp2p gives out those instead of the addresses it listens on
  const verb = (config.announceAddrs ?? []).length > 0 ? 'announcing' : 'listening on'
  for (const ma of relay.multiaddrs()) console.log(`relay: ${verb} ${ma}`)
  for (const peer of relay.peerRelays()) console.log(`relay: peer relay ${peer.addr}`)
  console.log(`relay: data in ${config.dataDir}`)
  if (relay.publicOrigins[0] !== relay.httpUrl) console.log(`relay: web side on ${relay.httpUrl}`)
  console.log(`relay: open ${relay.publicOrigins[0]}/ in a browser`)
}

await main()
