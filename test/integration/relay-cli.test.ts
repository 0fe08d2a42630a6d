import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { freePort } from '../helpers/relay.ts'

let dataDir: string
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'mp-cli-'))
})
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

/** Runs the relay CLI until it prints `until` (then SIGTERMs it) or exits on its own. */
async function runRelay(
  args: string[],
  env: Record<string, string>,
  until?: string
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['relay/main.ts', ...args], {
    env: { ...process.env, DATA_DIR: dataDir, STATIC_DIR: join(dataDir, 'none'), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  let signalled = false
  const onData = (chunk: Buffer): void => {
    output += chunk.toString()
    if (until != null && !signalled && output.includes(until)) {
      signalled = true
      child.kill('SIGTERM')
    }
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  return { code, output }
}

test('--help lists the configuration and exits 0', async () => {
  const { code, output } = await runRelay(['--help'], {})
  expect(code).toBe(0)
  expect(output).toContain('RELAY_PORT')
  expect(output).toContain('OTEL_EXPORTER_OTLP_HEADERS')
  expect(output).toMatch(/--announce-addrs\s+ANNOUNCE_ADDRS\s/)
  expect(output).toMatch(/--public-origins\s+PUBLIC_ORIGINS\s/)
  expect(output).toMatch(/--tls-cert\s+TLS_CERT\s/)
  expect(output).toMatch(/--tls-key\s+TLS_KEY\s/)
  expect(output).toMatch(/--trust-proxy\s+TRUST_PROXY\s/)
  expect(output).toMatch(/--ice-servers\s+ICE_SERVERS\s/)
  expect(output).toMatch(/--turn-secret\s+TURN_SECRET\s/)
  expect(output).toMatch(/--turn-ttl\s+TURN_TTL\s.*\(default: 3600\)/)
})

test('a bad value exits 2 naming the variable', async () => {
  const { code, output } = await runRelay([], { PORT: 'http' })
  expect(code).toBe(2)
  expect(output).toMatch(/PORT \(--port\) must be a whole number/)
})

test.each([
  [
    { ANNOUNCE_ADDRS: '/dns4/relay.example.com/tcp/443' },
    /ANNOUNCE_ADDRS \(--announce-addrs\): .* is not a WebSockets address/
  ],
  [{ PUBLIC_ORIGINS: 'https://market.example/app' }, /PUBLIC_ORIGINS \(--public-origins\): .* has a path/],
  [
    { ICE_SERVERS: 'stun://stun.example.com' },
    /ICE_SERVERS \(--ice-servers\): "stun:\/\/stun.example.com" has "\/\/"/
  ],
  [{ TLS_CERT: '/nonexistent/relay.crt' }, /TLS_CERT is set but TLS_KEY is not/],
  [
    { TLS_CERT: '/nonexistent/relay.crt', TLS_KEY: '/nonexistent/relay.key' },
    /TLS_CERT \(--tls-cert\): cannot read \/nonexistent\/relay\.crt/
  ]
])('a bad internet setting %j exits 2 naming it', async (env, message) => {
  const { code, output } = await runRelay([], {
    PORT: String(await freePort()),
    RELAY_PORT: String(await freePort()),
    ...env
  })
  expect(code).toBe(2)
  expect(output).toMatch(message)
})

test('an announced address of another peer exits 2: the relay appends its own id', async () => {
  const other = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
  const { code, output } = await runRelay([], {
    PORT: String(await freePort()),
    RELAY_PORT: String(await freePort()),
    ANNOUNCE_ADDRS: `/dns4/relay.example.com/tcp/443/wss/p2p/${other}`
  })
  expect(code).toBe(2)
  expect(output).toMatch(new RegExp(`names peer ${other}, but this relay is 12D3KooW`))
})

test('an https public origin with a plain ws announced address is warned about at start', async () => {
  const { output } = await runRelay(
    [],
    {
      PORT: String(await freePort()),
      RELAY_PORT: String(await freePort()),
      PUBLIC_ORIGINS: 'https://market.example',
      ANNOUNCE_ADDRS: '/dns4/market.example/tcp/9090/ws'
    },
    'in a browser'
  )
  expect(output).toMatch(
    /relay: warning: ANNOUNCE_ADDRS has plain ws address\(es\) \/dns4\/market\.example\/tcp\/9090\/ws.*mixed content/
  )
  expect(output).toContain('relay: open https://market.example/ in a browser')
})

test('a port in use exits 1 with a message saying which', async () => {
  const port = await freePort()
  const blocker = createServer()
  await new Promise<void>(resolve => blocker.listen(port, '127.0.0.1', resolve))
  try {
    const { code, output } = await runRelay([], { PORT: String(port), RELAY_PORT: String(await freePort()) })
    expect(code).toBe(1)
    expect(output).toContain(`PORT ${port} on 127.0.0.1 is already in use`)
  } finally {
    blocker.close()
  }
})

test('an unreadable identity key exits 2 and is left untouched', async () => {
  await writeFile(join(dataDir, 'identity.key'), 'not a key')
  const { code, output } = await runRelay([], {
    PORT: String(await freePort()),
    RELAY_PORT: String(await freePort())
  })
  expect(code).toBe(2)
  expect(output).toMatch(/identity\.key is not a libp2p private key/)
})

test('SIGTERM shuts the relay down cleanly and a restart keeps the peer id', async () => {
  const env = { PORT: String(await freePort()), RELAY_PORT: String(await freePort()) }
  const first = await runRelay([], env, 'in a browser')
  expect(first.code, first.output).toBe(0)
  expect(first.output).toContain('relay: stopped')
  const second = await runRelay([], env, 'in a browser')
  const peerId = (text: string): string | undefined => /peer id (\S+)/.exec(text)?.[1]
  expect(peerId(second.output)).toBeDefined()
  expect(peerId(second.output)).toBe(peerId(first.output))
})

test('a datastore that cannot be opened exits 2 naming its path and the cause, and is left untouched', async () => {
  // a LevelDB whose CURRENT file names a manifest that is not there
  const datastore = join(dataDir, 'datastore')
  await mkdir(datastore)
  await writeFile(join(datastore, 'CURRENT'), 'MANIFEST-000042\n')
  const { code, output } = await runRelay([], {
    PORT: String(await freePort()),
    RELAY_PORT: String(await freePort())
  })
  expect(code).toBe(2)
  expect(output).toContain(`the datastore ${datastore} cannot be opened: `)
  expect(output).toMatch(/MANIFEST-000042/)
  expect(await readFile(join(datastore, 'CURRENT'), 'utf8')).toBe('MANIFEST-000042\n')
})
