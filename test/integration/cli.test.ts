/**
 * The command-line client (issue 16): `p2p-marketplace` run as a child process against a real
 * relay publishes a package with its content, finds it, shows it and fetches it byte for byte,
 * and says what went wrong through its exit codes.
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { PACKAGES_TOPIC } from '../../src/core/constants.ts'
import { createMarketplaceNode } from '../../src/core/index.ts'
import { freePort, startTestRelay, waitUntil } from '../helpers/relay.ts'
import type { Socket } from 'node:net'

const CLI = resolve('src/cli/main.ts')
/** The longest one run of the client may take here before it is killed (and the test fails). */
const RUN_TIMEOUT_MS = 90_000
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

let dir: string
let relayUrl: string
let relayPeerId: string
let cleanup: (() => Promise<void>) | undefined

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the client to its end (killed after RUN_TIMEOUT_MS). */
async function cli(
  args: string[],
  options: {
    cwd?: string
    env?: Record<string, string>
    /** The child process, once started. */
    started?: (child: ReturnType<typeof spawn>) => void
    /** Everything on stderr so far, at each new chunk. */
    onStderr?: (stderr: string) => void
  } = {}
): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? dir,
    env: {
      ...process.env,
      XDG_CONFIG_HOME: join(dir, 'config'),
      P2P_MARKETPLACE_RELAY: relayUrl,
      ...options.env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  options.started?.(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
    options.onStderr?.(stderr)
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
  const code = await new Promise<number | null>(done => child.once('close', done))
  clearTimeout(killer)
  return { code, stdout, stderr }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mp-cli-client-'))
  const started = await startTestRelay()
  cleanup = started.cleanup
  relayUrl = started.relay.httpUrl
  relayPeerId = started.relay.peerId
})

afterAll(async () => {
  await cleanup?.()
  await rm(dir, { recursive: true, force: true })
})

const id = 'clitest/widget'
const artifact = new Uint8Array(randomBytes(1024 * 1024 + 100 * 1024))
let publisher: string
let cid: string

test('publish signs with a key file it creates (0600, in a 0700 directory) and returns once the relay keeps the content', async () => {
  await writeFile(join(dir, 'widget-1.0.0.tgz'), artifact)
  const manifest = {
    id,
    version: '1.0.0',
    title: 'CLI widget',
    description: 'published from a terminal',
    license: 'MIT',
    tags: ['cli', 'terminal']
  }
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest))
  const run = await cli(['publish', 'manifest.json', 'widget-1.0.0.tgz', '--json'])
  expect(run.code, run.stderr).toBe(0)
  // --json: the result alone on stdout
  const result = JSON.parse(run.stdout) as {
    id: string
    version: string
    publisher: string
    content: { cid: string; size: number; name: string; mediaType: string }
    keptBy: string[]
    keyFile: string
  }
  expect(result).toMatchObject({
    id,
    version: '1.0.0',
    content: { size: artifact.byteLength, name: 'widget-1.0.0.tgz', mediaType: 'application/gzip' }
  })
  expect(result.keptBy.length).toBeGreaterThan(0)
  publisher = result.publisher
  cid = result.content.cid

  const keyFile = join(dir, 'config', 'p2p-marketplace', 'key')
  expect(result.keyFile).toBe(keyFile)
  expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
  expect((await stat(join(dir, 'config', 'p2p-marketplace'))).mode & 0o777).toBe(0o700)
  expect(await readdir(join(dir, 'config', 'p2p-marketplace'))).toEqual(['key'])
  // the same key next time
  const key = await cli(['key', '--json'])
  expect(key.code, key.stderr).toBe(0)
  expect(JSON.parse(key.stdout)).toMatchObject({ peerId: publisher, created: false })
}, 120_000)

test('publishing a version that exists exits 2 naming the conflict', async () => {
  const run = await cli(['publish', 'manifest.json', '--json'])
  expect(run.code).toBe(2)
  expect(JSON.parse(run.stdout)).toMatchObject({ error: { name: 'VersionConflictError' } })
  expect(run.stderr).toMatch(/^p2p-marketplace: .*1\.0\.0/)
}, 120_000)

test('a key file others may read is refused', async () => {
  const loose = join(dir, 'loose.key')
  await copyFile(join(dir, 'config', 'p2p-marketplace', 'key'), loose)
  await chmod(loose, 0o644)
  const run = await cli(['key', '--key', loose])
  expect(run.code).toBe(2)
  expect(run.stderr).toMatch(
    /^p2p-marketplace: the key file .*loose\.key is accessible to group or others \(mode 0644\).*chmod 600/
  )
})

test('search finds the package and info shows its versions, publisher and content', async () => {
  const search = await cli(['search', 'widget', '--tags', 'cli', '--json'])
  expect(search.code, search.stderr).toBe(0)
  const found = JSON.parse(search.stdout) as { packages: Array<{ id: string; publisher: string }> }
  expect(found.packages).toContainEqual(expect.objectContaining({ id, publisher }))

  const info = await cli(['info', id, '--json'])
  expect(info.code, info.stderr).toBe(0)
  expect(JSON.parse(info.stdout)).toMatchObject({
    package: { id, version: '1.0.0', publisher, content: { cid, size: artifact.byteLength } },
    versions: ['1.0.0']
  })
  const text = await cli(['info', `${id}@1.0.0`])
  expect(text.code, text.stderr).toBe(0)
  expect(text.stdout).toContain(`publisher    ${publisher}`)
  expect(text.stdout).toContain(cid)
}, 120_000)

test('fetch writes a byte-identical file under its signed name, leaves no temporary file, and never overwrites without --force', async () => {
  const out = join(dir, 'out')
  await mkdir(out)
  const run = await cli(['fetch', id, '--json'], { cwd: out })
  expect(run.code, run.stderr).toBe(0)
  const result = JSON.parse(run.stdout) as { path: string; sha256: string; cid: string }
  expect(result).toMatchObject({ path: 'widget-1.0.0.tgz', sha256: sha256(artifact), cid })
  expect(sha256(await readFile(join(out, 'widget-1.0.0.tgz')))).toBe(sha256(artifact))
  expect(await readdir(out)).toEqual(['widget-1.0.0.tgz'])

  await writeFile(join(out, 'mine.bin'), 'not to be lost')
  const refused = await cli(['fetch', id, '-o', 'mine.bin'], { cwd: out })
  expect(refused.code).toBe(2)
  expect(refused.stderr).toMatch(/^p2p-marketplace: mine\.bin exists; pass --force/)
  expect(await readFile(join(out, 'mine.bin'), 'utf8')).toBe('not to be lost')

  const forced = await cli(['fetch', `${id}@1.0.0`, '-o', 'mine.bin', '--force', '--quiet'], { cwd: out })
  expect(forced.code, forced.stderr).toBe(0)
  expect(forced.stderr).toBe('')
  expect(sha256(await readFile(join(out, 'mine.bin')))).toBe(sha256(artifact))
  expect((await readdir(out)).sort()).toEqual(['mine.bin', 'widget-1.0.0.tgz'])
}, 120_000)

test('content that is not what its signed record says exits 5 and writes nothing', async () => {
  // a publisher (not this client, which refuses it) signs a contentHash its content does not have
  const node = await createMarketplaceNode({ configUrl: relayUrl })
  try {
    await node.waitFor('online', { signal: AbortSignal.timeout(30_000) })
    await waitUntil('the relay to hear our announcements', () =>
      node.libp2p.services.pubsub.getSubscribers(PACKAGES_TOPIC).some(p => p.toString() === relayPeerId)
    )
    await node.publish(
      {
        id: 'elsewhere/mislabelled',
        version: '1.0.0',
        title: 'Mislabelled',
        description: 'its contentHash is not its content',
        license: 'MIT',
        contentHash: `sha256-${'0'.repeat(64)}`
      },
      { content: new File([randomBytes(64 * 1024)], 'mislabelled.bin') }
    )
    const out = await mkdtemp(join(dir, 'mislabelled-'))
    const run = await cli(['fetch', 'elsewhere/mislabelled', '--json'], { cwd: out })
    expect(run.code, run.stderr).toBe(5)
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { name: 'ContentMismatchError' } })
    expect(await readdir(out)).toEqual([])
  } finally {
    await node.stop()
  }
}, 120_000)

test('a package nobody has exits 3', async () => {
  const run = await cli(['fetch', 'clitest/no-such-package', '--json'], { cwd: join(dir, 'out') })
  expect(run.code).toBe(3)
  expect(JSON.parse(run.stdout)).toMatchObject({ error: { name: 'PackageNotFoundError' } })
  expect(run.stderr).toMatch(/^p2p-marketplace: no package clitest\/no-such-package/)
}, 120_000)

test.each([
  [['search']],
  [['search', 'x', '--limit', 'many']],
  [['fetch', id, '--limit', '3']],
  [['info', 'Not An Id']],
  [['search', 'x', '--relay', 'ftp://relay.example']],
  [['publish', 'widget-1.0.0.tgz']],
  [['frobnicate']]
])('bad arguments %j exit 2', async args => {
  const run = await cli(args)
  expect(run.code).toBe(2)
  expect(run.stderr).toMatch(/^p2p-marketplace: .+\n/)
})

test('an unreachable relay exits 4', async () => {
  const run = await cli(['search', 'x', '--relay', `http://127.0.0.1:${await freePort()}`])
  expect(run.code).toBe(4)
  expect(run.stderr).toMatch(
    /^p2p-marketplace: the relay at http:\/\/127\.0\.0\.1:\d+ cannot be used: .*ECONNREFUSED/
  )
})

test('Ctrl-C while publishing stops the node cleanly with 130', async () => {
  // the same content again: the relay holds it already and never asks for it, so the client waits
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>
  await writeFile(join(dir, 'again.json'), JSON.stringify({ ...manifest, version: '1.0.1' }))
  let interrupted = false
  let child: ReturnType<typeof spawn> | undefined
  const run = await cli(['publish', 'again.json', 'widget-1.0.0.tgz', '--timeout', '60'], {
    started: c => (child = c),
    onStderr: text => {
      if (interrupted || !/^upload /m.test(text)) return
      interrupted = true
      child?.kill('SIGINT')
    }
  })
  expect(interrupted).toBe(true)
  expect(run.code, run.stderr).toBe(130)
  expect(run.stderr).toMatch(/\np2p-marketplace: interrupted \(SIGINT\)\n/)
}, 120_000)

test('Ctrl-C while waiting for the relay stops the client with 130', async () => {
  // a relay that takes the connection and never answers: the client waits until interrupted
  const sockets: Socket[] = []
  let connected!: () => void
  const connection = new Promise<void>(resolve => (connected = resolve))
  const server = createServer(socket => {
    sockets.push(socket)
    connected()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address != null ? address.port : 0
  try {
    const run = await cli(['fetch', id, '--relay', `http://127.0.0.1:${port}`], {
      cwd: join(dir, 'out'),
      started: child => void connection.then(() => child.kill('SIGINT'))
    })
    expect(run.code).toBe(130)
    expect(run.stderr).toMatch(/^p2p-marketplace: interrupted \(SIGINT\)\n$/)
  } finally {
    for (const socket of sockets) socket.destroy()
    await new Promise(resolve => server.close(resolve))
  }
  expect((await readdir(join(dir, 'out'))).sort()).toEqual(['mine.bin', 'widget-1.0.0.tgz'])
})
