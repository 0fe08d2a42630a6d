/**
 * The ceilings the content benchmark sets its figures beside, measured in the same run on the
 * same Chromium: a raw RTCDataChannel between two plain pages (no libp2p), signalled through
 * Playwright, and a raw WebSocket from a tiny Node server on 127.0.0.1 to a page.
 */
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import type { Browser, BrowserContext, Page } from 'playwright-core'

/** The size of each message or frame: 64 KiB. */
export const CHUNK_BYTES = 64 * 1024

/** A transfer that takes longer than this fails the benchmark (ms). */
const TRANSFER_TIMEOUT_MS = 60_000

/** The blank page both ceilings run in, served by the same server (a secure context: 127.0.0.1). */
const BLANK_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ceiling</title></head></html>'

/** Rejects with `what` timed out after `ms`, unless `promise` settles first. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`bench content: ${what} took over ${ms / 1000} s`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * An HTTP server on 127.0.0.1 serving a blank page at `/` and, on upgrade, a WebSocket that
 * sends `bytes` bytes (binary frames of 64 KiB, with backpressure) once the page sends anything.
 * Hand-rolled (RFC 6455 handshake and unmasked server frames): nothing between it and the socket.
 */
async function ceilingServer(bytes: number): Promise<{ url: string; close: () => Promise<void> }> {
  const payload = randomBytes(CHUNK_BYTES)
  const frame = (length: number): Buffer => {
    const header =
      length < 126
        ? Buffer.from([0x82, length])
        : length < 65_536
          ? Buffer.from([0x82, 126, length >> 8, length & 0xff])
          : Buffer.concat([Buffer.from([0x82, 127]), bigEndian64(length)])
    return Buffer.concat([header, payload.subarray(0, length)])
  }
  const full = frame(CHUNK_BYTES)
  const sockets = new Set<Socket>()
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(BLANK_PAGE)
  )
  server.on('upgrade', (req, socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    const accept = createHash('sha1')
      .update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64')
    socket.setNoDelay(true)
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`
    )
    // the page's first frame (its "go") starts the transfer; what it sends later is not read
    socket.once('data', () => {
      void (async () => {
        for (let sent = 0; sent < bytes && !socket.destroyed; sent += CHUNK_BYTES) {
          const n = Math.min(CHUNK_BYTES, bytes - sent)
          if (!socket.write(n === CHUNK_BYTES ? full : frame(n))) await once(socket, 'drain')
        }
      })().catch(() => socket.destroy())
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address != null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

function bigEndian64(n: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(n))
  return b
}

/** What one page keeps on `window` between Playwright's calls. */
interface RtcState {
  pc: RTCPeerConnection
  channel?: RTCDataChannel
}

/**
 * Two plain pages (each in its own browser context, as the tabs are) connect an RTCDataChannel:
 * offer and answer, each with its gathered ICE candidates, passed through Playwright. The pages
 * run nothing else.
 */
async function connectPages(sender: Page, receiver: Page, bytes: number): Promise<void> {
  const offer = await within(
    20_000,
    'the sender page gathering ICE candidates for its offer',
    sender.evaluate(async () => {
      const pc = new RTCPeerConnection()
      const channel = pc.createDataChannel('ceiling', { ordered: true })
      channel.binaryType = 'arraybuffer'
      ;(window as unknown as { rtc: RtcState }).rtc = { pc, channel }
      await pc.setLocalDescription(await pc.createOffer())
      if (pc.iceGatheringState !== 'complete')
        await new Promise<void>(resolve =>
          pc.addEventListener('icegatheringstatechange', () => {
            if (pc.iceGatheringState === 'complete') resolve()
          })
        )
      return pc.localDescription!.toJSON()
    })
  )
  const answer = await within(
    20_000,
    'the receiver page answering',
    receiver.evaluate(
      async ({ offer, bytes }) => {
        const pc = new RTCPeerConnection()
        const state: RtcState = { pc }
        ;(window as unknown as { rtc: RtcState }).rtc = state
        pc.addEventListener('datachannel', evt => {
          const channel = evt.channel
          channel.binaryType = 'arraybuffer'
          state.channel = channel
          // counts every byte; once a whole transfer arrived, says so on the same channel
          let received = 0
          channel.addEventListener('message', (msg: MessageEvent<ArrayBuffer>) => {
            received += msg.data.byteLength
            if (received >= bytes) {
              received -= bytes
              channel.send('done')
            }
          })
        })
        await pc.setRemoteDescription(offer)
        await pc.setLocalDescription(await pc.createAnswer())
        if (pc.iceGatheringState !== 'complete')
          await new Promise<void>(resolve =>
            pc.addEventListener('icegatheringstatechange', () => {
              if (pc.iceGatheringState === 'complete') resolve()
            })
          )
        return pc.localDescription!.toJSON()
      },
      { offer, bytes }
    )
  )
  await within(
    30_000,
    'the raw RTCDataChannel between two pages opening',
    sender.evaluate(async answer => {
      const { pc, channel } = (window as unknown as { rtc: RtcState }).rtc
      await pc.setRemoteDescription(answer)
      if (channel!.readyState !== 'open')
        await new Promise(resolve => channel!.addEventListener('open', resolve, { once: true }))
    }, answer)
  )
}

/**
 * Sends `bytes` over the open channel in 64 KiB messages, with backpressure (waits for
 * `bufferedamountlow` above 4 MiB queued); ms from the first send to the receiver's "done",
 * which it sends once the last byte arrived (one way on the sender's clock, plus a small reply).
 */
async function sendOverChannel(sender: Page, bytes: number): Promise<number> {
  return await within(
    TRANSFER_TIMEOUT_MS + 5_000,
    `sending ${bytes} bytes over the raw RTCDataChannel`,
    sender.evaluate(
      async ({ bytes, chunkBytes, timeoutMs }) => {
        const channel = (window as unknown as { rtc: RtcState }).rtc.channel!
        const chunk = new Uint8Array(chunkBytes)
        crypto.getRandomValues(chunk)
        channel.bufferedAmountLowThreshold = 1024 * 1024
        const done = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no "done" from the receiver')), timeoutMs)
          channel.addEventListener(
            'message',
            () => {
              clearTimeout(timer)
              resolve()
            },
            { once: true }
          )
        })
        const start = performance.now()
        for (let sent = 0; sent < bytes;) {
          if (channel.bufferedAmount > 4 * 1024 * 1024)
            await new Promise(resolve =>
              channel.addEventListener('bufferedamountlow', resolve, { once: true })
            )
          const n = Math.min(chunkBytes, bytes - sent)
          channel.send(n === chunkBytes ? chunk : chunk.subarray(0, n))
          sent += n
        }
        await done
        return performance.now() - start
      },
      { bytes, chunkBytes: CHUNK_BYTES, timeoutMs: TRANSFER_TIMEOUT_MS }
    )
  )
}

/** ms from the page asking (its "go" on an open WebSocket) to the last of `bytes` bytes arriving. */
async function receiveOverWebSocket(page: Page, wsUrl: string, bytes: number): Promise<number> {
  return await within(
    TRANSFER_TIMEOUT_MS + 5_000,
    `receiving ${bytes} bytes over a raw WebSocket`,
    page.evaluate(
      async ({ wsUrl, bytes, timeoutMs }) =>
        await new Promise<number>((resolve, reject) => {
          const ws = new WebSocket(wsUrl)
          ws.binaryType = 'arraybuffer'
          let received = 0
          let start = 0
          const timer = setTimeout(() => {
            ws.close()
            reject(new Error(`${received} of ${bytes} bytes arrived`))
          }, timeoutMs)
          ws.addEventListener('open', () => {
            start = performance.now()
            ws.send('go')
          })
          ws.addEventListener('message', (msg: MessageEvent<ArrayBuffer>) => {
            received += msg.data.byteLength
            if (received < bytes) return
            clearTimeout(timer)
            resolve(performance.now() - start)
            ws.close()
          })
          ws.addEventListener('error', () => {
            clearTimeout(timer)
            reject(new Error('the WebSocket failed'))
          })
        }),
      { wsUrl, bytes, timeoutMs: TRANSFER_TIMEOUT_MS }
    )
  )
}

/** Each ceiling's transfer times, ms per round. */
export interface CeilingTimes {
  rtcDataChannelMs: number[]
  webSocketMs: number[]
}

/** Measures both ceilings `rounds` times each, `bytes` per transfer. */
export async function measureCeilings(
  browser: Browser,
  bytes: number,
  rounds: number
): Promise<CeilingTimes> {
  const server = await ceilingServer(bytes)
  const contexts: BrowserContext[] = []
  const open = async (): Promise<Page> => {
    const context = await browser.newContext()
    contexts.push(context)
    const page = await context.newPage()
    await page.goto(server.url)
    return page
  }
  try {
    const [sender, receiver] = [await open(), await open()]
    await connectPages(sender, receiver, bytes)
    const rtcDataChannelMs: number[] = []
    for (let i = 0; i < rounds; i++) rtcDataChannelMs.push(await sendOverChannel(sender, bytes))
    const webSocketMs: number[] = []
    const wsUrl = server.url.replace('http:', 'ws:')
    for (let i = 0; i < rounds; i++) webSocketMs.push(await receiveOverWebSocket(receiver, wsUrl, bytes))
    return { rtcDataChannelMs, webSocketMs }
  } finally {
    await Promise.all(contexts.map(async c => await c.close()))
    await server.close()
  }
}
