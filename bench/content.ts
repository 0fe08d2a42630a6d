/**
 * Package content transfer in Debian's Chromium: a tab downloading a package's content from
 * another tab over a direct WebRTC connection (Bitswap; the relay keeps nothing, so the bytes can
 * only come from the publisher), and from the relay over WebSockets once the publishing tab is
 * gone; each next to its ceiling on this machine in the same run (a raw RTCDataChannel between
 * two plain pages, a raw WebSocket from Node: `content-ceiling.ts`). Also checks that the content
 * code (Helia, Bitswap, UnixFS) stays out of the app's and the widget's initial JS.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { CHUNK_BYTES, measureCeilings, within } from './content-ceiling.ts'
import { withRelaySession } from './relay-session.ts'
import { summarize } from './stats.ts'
import { contentBundle } from './content-bundle.ts'
import type { ContentBundleFigures } from './content-bundle.ts'
import type { Summary } from './stats.ts'
import type { RelayProcess } from '../test/helpers/relay-process.ts'
import type { Browser, Page } from 'playwright-core'

const MiB = 1024 * 1024
/** Waits for a tab to go online, or for two tabs to connect directly (ms). */
const CONNECT_TIMEOUT_MS = 60_000
/** One publish (import of the artifact) or one fetch (ms). */
const TRANSFER_TIMEOUT_MS = 120_000

/** One way of downloading, over its rounds: MB/s (10^6 bytes per second) and the times. */
export interface TransferFigures {
  /** MB/s per round, in order. */
  roundsMBps: number[]
  MBps: Summary
  /** `fetchContent()` call → resolved with the verified bytes, per round (ms). */
  fetchMs: number[]
  /** `fetchContent()` call → its first progress event (the record looked up, the first block in), ms. */
  firstByteMs: number[]
  /** The peers `fetchContent` says sent blocks, per round. */
  peers: string[][]
}

export interface CeilingFigures {
  roundsMBps: number[]
  MBps: Summary
}

export interface ContentFigures {
  /** Size of each artifact (MiB) and the rounds per way of downloading. */
  mib: number
  rounds: number
  /** 1-minute load average of the machine at the start and the end of the scenario. */
  loadAverage: { start: number; end: number }
  /** Tab → tab over a direct WebRTC connection; the relay refused the content (over its CONTENT_MAX_BYTES). */
  webrtc: TransferFigures & {
    /** The publisher's `publish(manifest, { content })` call (import into IndexedDB, sign, announce), ms. */
    publishMs: Summary
    /** The fetching tab's open connections to the publisher during the fetch (transports; Bitswap never runs on limited ones). */
    connectionsToPublisher: string[]
    /** Connections the fetching tab was seen carrying Bitswap streams on (sampled every 20 ms). */
    bitswapSeenOn: string[]
    /** The relay's `/healthz` content counters afterwards: it kept none of it. */
    relayKept: number
    relayRefusedTooLarge: number
  }
  /** Relay → tab over WebSockets: the relay kept the content, the publishing tab was closed. */
  websockets: TransferFigures & {
    /** The publisher's publish() resolved → the relay's `/healthz` shows it kept (fetched from the tab, to LevelDB), ms. */
    relayKeepMs: number[]
    connectionsToRelay: string[]
    bitswapSeenOn: string[]
  }
  ceilings: { rtcDataChannel: CeilingFigures; webSocket: CeilingFigures }
  /** Each libp2p median next to its ceiling's median. */
  ratios: { webrtcToRtcDataChannel: number; websocketsToWebSocket: number }
  bundle: ContentBundleFigures
}

/** What `fetchIn` measured in a tab. */
interface Fetched {
  ms: number
  firstByteMs: number
  size: number
  peers: string[]
  digest: string
  connections: string[]
  bitswapSeenOn: string[]
}

const round1 = (v: number): number => Math.round(v * 10) / 10
const mbps = (bytes: number, ms: number): number => round1(bytes / 1e6 / (ms / 1000))

/** The size of the artifacts: `BENCH_CONTENT_MIB`, else `fallback`; at most 64 MiB. */
export function contentMiB(fallback: number): number {
  const raw = process.env.BENCH_CONTENT_MIB
  if (raw == null || raw === '') return fallback
  const mib = Number(raw)
  if (!Number.isFinite(mib) || mib <= 0 || mib > 64)
    throw new Error(`BENCH_CONTENT_MIB must be a number of MiB above 0, at most 64 (got ${raw})`)
  return mib
}

async function goOnline(page: Page, url: string, what: string): Promise<string> {
  await page.goto(url)
  await page
    .waitForFunction(() => window.p2pMarketplace?.status().state === 'online', undefined, {
      timeout: CONNECT_TIMEOUT_MS
    })
    .catch((err: unknown) => {
      throw new Error(`bench content: ${what} not online within ${CONNECT_TIMEOUT_MS / 1000} s`, {
        cause: err
      })
    })
  return await page.evaluate(() => window.p2pMarketplace!.peerId)
}

/** `bytes` random bytes published as `id`@1.0.0 in `page`; returns the call's ms and the bytes' SHA-256. */
async function publishIn(page: Page, id: string, bytes: number): Promise<{ ms: number; digest: string }> {
  return await within(
    TRANSFER_TIMEOUT_MS,
    `publishing ${id} (${bytes} bytes)`,
    page.evaluate(
      async ({ id, bytes, timeoutMs }) => {
        const content = new Uint8Array(bytes)
        // getRandomValues fills at most 64 KiB at a time
        for (let i = 0; i < bytes; i += 65_536) crypto.getRandomValues(content.subarray(i, i + 65_536))
        const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', content))
        // a File, as the publish form gives it (see README: a Uint8Array of many MiB imports far slower)
        const file = new File([content], `${id.replace('/', '-')}.bin`, { type: 'application/octet-stream' })
        const start = performance.now()
        await window.p2pMarketplace!.publish(
          {
            id,
            version: '1.0.0',
            title: `Content benchmark ${id}`,
            description: 'an artifact of random bytes',
            license: 'MIT'
          },
          { content: file, signal: AbortSignal.timeout(timeoutMs) }
        )
        return {
          ms: performance.now() - start,
          digest: Array.from(hash, b => b.toString(16).padStart(2, '0')).join('')
        }
      },
      { id, bytes, timeoutMs: TRANSFER_TIMEOUT_MS }
    )
  )
}

/**
 * Waits until `page` holds the record of `id`@1.0.0 (gossip or a catalog sync brings it), then
 * times `fetchContent` there: the connections to `from` while it runs, and the connections seen
 * carrying Bitswap streams.
 */
async function fetchIn(page: Page, id: string, from: string): Promise<Fetched> {
  await page
    .waitForFunction(id => window.p2pMarketplace?.catalog.get(id, '1.0.0') != null, id, {
      timeout: CONNECT_TIMEOUT_MS
    })
    .catch((err: unknown) => {
      throw new Error(`bench content: the record of ${id} did not reach the fetching tab`, { cause: err })
    })
  return await within(
    TRANSFER_TIMEOUT_MS + 10_000,
    `fetching ${id}`,
    page.evaluate(
      async ({ id, from, timeoutMs }) => {
        const node = window.p2pMarketplace!
        const label = (c: ReturnType<typeof node.libp2p.getConnections>[number]): string => {
          const addr = c.remoteAddr.toString()
          const transport = addr.includes('/webrtc')
            ? 'webrtc'
            : addr.includes('/p2p-circuit')
              ? 'circuit-relay'
              : addr.includes('/ws')
                ? 'websockets'
                : 'other'
          return `${transport}${c.limits != null ? ' (limited)' : ''}`
        }
        const connections = new Set<string>()
        const bitswap = new Set<string>()
        const sample = (): void => {
          for (const c of node.libp2p.getConnections()) {
            if (c.status !== 'open') continue
            if (c.remotePeer.toString() === from) connections.add(label(c))
            if (c.streams.some(s => s.protocol?.startsWith('/ipfs/bitswap/') === true))
              bitswap.add(
                `${label(c)} to ${c.remotePeer.toString() === from ? 'the source' : 'another peer'}`
              )
          }
        }
        sample()
        const sampler = setInterval(sample, 20)
        let firstByteAt: number | undefined
        const start = performance.now()
        try {
          const fetched = await node.fetchContent(id, '1.0.0', {
            signal: AbortSignal.timeout(timeoutMs),
            onProgress: () => {
              firstByteAt ??= performance.now()
            }
          })
          const ms = performance.now() - start
          sample()
          const hash = new Uint8Array(
            await crypto.subtle.digest('SHA-256', fetched.bytes as Uint8Array<ArrayBuffer>)
          )
          return {
            ms,
            firstByteMs: (firstByteAt ?? start + ms) - start,
            size: fetched.bytes.byteLength,
            peers: fetched.peers,
            digest: Array.from(hash, b => b.toString(16).padStart(2, '0')).join(''),
            connections: [...connections],
            bitswapSeenOn: [...bitswap]
          }
        } finally {
          clearInterval(sampler)
        }
      },
      { id, from, timeoutMs: TRANSFER_TIMEOUT_MS }
    )
  )
}

/** Throws unless the fetch brought `digest`'s bytes, all from `from`, and only over connections in `allowed`. */
function check(
  way: string,
  got: Fetched,
  digest: string,
  from: string,
  allowed: (c: string) => boolean
): void {
  if (got.digest !== digest)
    throw new Error(`bench content (${way}): the bytes fetched differ from those published`)
  if (got.peers.length !== 1 || got.peers[0] !== from)
    throw new Error(
      `bench content (${way}): blocks came from ${got.peers.join(', ') || 'nobody'}, not only ${from}`
    )
  // Bitswap never opens streams on limited (relayed) connections: the bytes came over the others
  const unlimited = got.connections.filter(c => !c.includes('(limited)'))
  if (unlimited.length === 0 || !unlimited.every(allowed))
    throw new Error(`bench content (${way}): connections to the source were ${got.connections.join(', ')}`)
}

interface ContentHealth {
  peerId: string
  content: { kept: number; pending: number; failed: number; refused: { tooLarge: number } }
}

const health = async (relay: RelayProcess): Promise<ContentHealth> =>
  (await relay.health()) as unknown as ContentHealth

function transferFigures(bytes: number, fetched: Fetched[]): TransferFigures {
  const roundsMBps = fetched.map(f => mbps(bytes, f.ms))
  return {
    roundsMBps,
    MBps: summarize(roundsMBps),
    fetchMs: fetched.map(f => Math.round(f.ms)),
    firstByteMs: fetched.map(f => Math.round(f.firstByteMs)),
    peers: fetched.map(f => f.peers)
  }
}

/** Tab A publishes, tab B (directly connected to A) fetches, `rounds` times; the relay keeps nothing. */
async function tabToTab(
  browser: Browser,
  bytes: number,
  rounds: number,
  staticDir: string
): Promise<ContentFigures['webrtc']> {
  return await withRelaySession(
    browser,
    async ({ relay, openTab }) => {
      const [a, b] = [await openTab(), await openTab()]
      const [aId] = await Promise.all([goOnline(a, relay.url, 'tab A'), goOnline(b, relay.url, 'tab B')])
      await b
        .waitForFunction(
          aId =>
            window.p2pMarketplace
              ?.peers()
              .some(p => p.peerId === aId && p.direct && p.transport === 'webrtc'),
          aId,
          { timeout: CONNECT_TIMEOUT_MS, polling: 100 }
        )
        .catch((err: unknown) => {
          throw new Error(
            `bench content: tab B not directly connected to tab A within ${CONNECT_TIMEOUT_MS / 1000} s`,
            {
              cause: err
            }
          )
        })
      const fetched: Fetched[] = []
      const publishMs: number[] = []
      for (let i = 0; i < rounds; i++) {
        const id = `bench-content/webrtc-${i}`
        const published = await publishIn(a, id, bytes)
        publishMs.push(published.ms)
        const got = await fetchIn(b, id, aId)
        check('tab to tab', got, published.digest, aId, c => c === 'webrtc')
        fetched.push(got)
        console.log(
          `  tab → tab over WebRTC, round ${i + 1}/${rounds}: ${mbps(bytes, got.ms)} MB/s (${Math.round(got.ms)} ms, first block at ${Math.round(got.firstByteMs)} ms; publish ${Math.round(published.ms)} ms)`
        )
      }
      const { content } = await health(relay)
      if (content.kept !== 0) throw new Error('bench content: the relay kept content it should have refused')
      return {
        ...transferFigures(bytes, fetched),
        publishMs: summarize(publishMs),
        connectionsToPublisher: [...new Set(fetched.flatMap(f => f.connections))],
        bitswapSeenOn: [...new Set(fetched.flatMap(f => f.bitswapSeenOn))],
        relayKept: content.kept,
        relayRefusedTooLarge: content.refused.tooLarge
      }
    },
    // content over this size the relay leaves with the peers that have it: here, all of it
    { CONTENT_MAX_BYTES: String(bytes - 1), STATIC_DIR: staticDir }
  )
}

/** Waits until the relay's `/healthz` shows `count` artifacts kept and none pending. */
async function keptBy(relay: RelayProcess, count: number): Promise<void> {
  const deadline = Date.now() + TRANSFER_TIMEOUT_MS
  for (;;) {
    const { content } = await health(relay)
    if (content.kept >= count && content.pending === 0) return
    if (Date.now() > deadline || content.failed > 0 || content.refused.tooLarge > 0) {
      const why = relay.output.split('\n').filter(l => l.includes('was not kept'))
      throw new Error(
        `bench content: the relay did not keep artifact ${count}: ${JSON.stringify(content)}${why.length > 0 ? `\n${why.join('\n')}` : ''}`
      )
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** A tab publishes `rounds` artifacts, the relay keeps them, the tab closes; a new tab fetches each. */
async function relayToTab(
  browser: Browser,
  bytes: number,
  rounds: number,
  staticDir: string
): Promise<ContentFigures['websockets']> {
  return await withRelaySession(
    browser,
    async ({ relay, openTab }) => {
      const relayId = (await health(relay)).peerId
      const publisher = await openTab()
      await goOnline(publisher, relay.url, 'the publishing tab')
      // one at a time: each kept by the relay (fetched from the tab over WebSockets) before the next
      const published: Array<{ id: string; digest: string }> = []
      const keepMs: number[] = []
      for (let i = 0; i < rounds; i++) {
        const id = `bench-content/relay-${i}`
        published.push({ id, digest: (await publishIn(publisher, id, bytes)).digest })
        const start = Date.now()
        await keptBy(relay, i + 1)
        keepMs.push(Date.now() - start)
        console.log(
          `  the relay kept artifact ${i + 1}/${rounds} (from the tab over WebSockets) ${keepMs[i]} ms after publish()`
        )
      }
      await publisher.context().close()
      const tab = await openTab()
      await goOnline(tab, relay.url, 'the fetching tab')
      const fetched: Fetched[] = []
      for (const [i, { id, digest }] of published.entries()) {
        const got = await fetchIn(tab, id, relayId)
        check('relay to tab', got, digest, relayId, c => c === 'websockets')
        fetched.push(got)
        console.log(
          `  relay → tab over WebSockets, round ${i + 1}/${rounds}: ${mbps(bytes, got.ms)} MB/s (${Math.round(got.ms)} ms, first block at ${Math.round(got.firstByteMs)} ms)`
        )
      }
      return {
        ...transferFigures(bytes, fetched),
        relayKeepMs: keepMs,
        connectionsToRelay: [...new Set(fetched.flatMap(f => f.connections))],
        bitswapSeenOn: [...new Set(fetched.flatMap(f => f.bitswapSeenOn))]
      }
    },
    // why the relay did not keep an artifact, if it did not (in relay.output)
    { DEBUG: 'marketplace:relay-content:error', STATIC_DIR: staticDir }
  )
}

/** The content benchmark: `mib` MiB per artifact, `rounds` rounds of each transfer. */
export async function benchContent(
  browser: Browser,
  mib: number,
  rounds: number,
  dist = 'dist'
): Promise<ContentFigures> {
  // whole 64 KiB messages for the ceilings; the same size for every transfer
  const bytes = Math.max(CHUNK_BYTES, Math.round((mib * MiB) / CHUNK_BYTES) * CHUNK_BYTES)
  const loadStart = round1(loadavg()[0] ?? 0)
  // the relays serve a copy of the build: a rebuild of `dist` meanwhile (another process) changes nothing here
  const staticDir = mkdtempSync(join(tmpdir(), 'mp-bench-dist-'))
  let bundle: ContentBundleFigures
  let webrtc: ContentFigures['webrtc']
  let websockets: ContentFigures['websockets']
  try {
    cpSync(dist, staticDir, { recursive: true })
    bundle = contentBundle(staticDir)
    webrtc = await tabToTab(browser, bytes, rounds, staticDir)
    websockets = await relayToTab(browser, bytes, rounds, staticDir)
  } finally {
    rmSync(staticDir, { recursive: true, force: true })
  }
  const times = await measureCeilings(browser, bytes, rounds)
  const ceiling = (ms: number[]): CeilingFigures => {
    const roundsMBps = ms.map(t => mbps(bytes, t))
    return { roundsMBps, MBps: summarize(roundsMBps) }
  }
  const rtcDataChannel = ceiling(times.rtcDataChannelMs)
  const webSocket = ceiling(times.webSocketMs)
  console.log(
    `  ceilings: raw RTCDataChannel ${rtcDataChannel.roundsMBps.join(', ')} MB/s; raw WebSocket ${webSocket.roundsMBps.join(', ')} MB/s`
  )
  const ratio = (a: Summary, b: Summary): number => Math.round((a.median / b.median) * 100) / 100
  return {
    mib: bytes / MiB,
    rounds,
    loadAverage: { start: loadStart, end: round1(loadavg()[0] ?? 0) },
    webrtc,
    websockets,
    ceilings: { rtcDataChannel, webSocket },
    ratios: {
      webrtcToRtcDataChannel: ratio(webrtc.MBps, rtcDataChannel.MBps),
      websocketsToWebSocket: ratio(websockets.MBps, webSocket.MBps)
    },
    bundle
  }
}
