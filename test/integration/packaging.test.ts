/**
 * The npm package (issue 18): `scripts/pack.ts` packs it, a project outside the repository installs
 * the tarball (from the npm cache, as CI has it) and uses it as a third party would: the node API
 * in Node, the relay from its bin, TypeScript against its declarations, and a shop page of its own
 * embedding the widget, tested with Playwright through `p2p-marketplace/testing`. The dependencies
 * this project patches must be the patched ones in the install, not the registry's.
 */
import { spawn, spawnSync } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { assertPatched, patchedPackages } from '../../scripts/pack/patched.ts'
import { CHROMIUM_LAUNCH } from '../helpers/chromium.ts'
import * as consumer from '../helpers/packaging-consumer.ts'
import { freePort } from '../helpers/relay-process.ts'
import type { ChildProcess } from 'node:child_process'

const ROOT = resolve(import.meta.dirname, '../..')
/** Node 24 (this process) first: bins and npm run on it. */
const ENV = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` }

let work: string
let project: string
let installed: string
let relay: ChildProcess | undefined
let relayOutput = ''
let relayUrl: string
let sitePort: number
const timings: Record<string, number> = {}

/** Runs a command to the end (its time counted under `label`); throws with its output when it fails. */
function run(
  label: string,
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = ENV
): string {
  const started = Date.now()
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  timings[label] = (timings[label] ?? 0) + (Date.now() - started) / 1000
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${result.stdout}\n${result.stderr}`
    )
  }
  return result.stdout
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mp-packaging-'))
  project = join(work, 'shop')
  installed = join(project, 'node_modules', 'p2p-marketplace')

  const tarball = run('pack', process.execPath, ['scripts/pack.ts', '--out', join(work, 'tarballs')], ROOT)
    .trim()
    .split('\n')
    .at(-1)!
  expect(tarball).toMatch(/p2p-marketplace-\d+\.\d+\.\d+\.tgz$/)

  // the third party: its own project, the tarball, and the Playwright this repository tests with
  const { version: playwright } = JSON.parse(
    await readFile(join(ROOT, 'node_modules/@playwright/test/package.json'), 'utf8')
  ) as { version: string }
  await mkdir(join(project, 'tests'), { recursive: true })
  await mkdir(join(project, 'site'))
  await writeFile(join(project, 'package.json'), '{ "name": "shop", "private": true, "type": "module" }\n')
  run(
    'npm install',
    'npm',
    ['install', tarball, `@playwright/test@${playwright}`, '--prefer-offline', '--no-audit', '--no-fund'],
    project
  )

  // the relay, from the installed bin, serving the widget built into the package
  sitePort = await freePort()
  const port = await freePort()
  relayUrl = `http://127.0.0.1:${port}`
  relay = spawn(join(project, 'node_modules/.bin/p2p-marketplace-relay'), [], {
    cwd: project,
    env: {
      ...ENV,
      PORT: String(port),
      RELAY_PORT: String(await freePort()),
      HOST: '127.0.0.1',
      DATA_DIR: join(work, 'relay-data'),
      EMBED_ORIGINS: `http://localhost:${sitePort}`
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  await new Promise<void>((resolve, reject) => {
    relay!.stdout!.on('data', (chunk: Buffer) => {
      relayOutput += chunk.toString()
      if (relayOutput.includes('in a browser')) resolve()
    })
    relay!.stderr!.on('data', (chunk: Buffer) => (relayOutput += chunk.toString()))
    relay!.once('exit', code => reject(new Error(`the installed relay exited with ${code}:\n${relayOutput}`)))
  })
}, 600_000)

afterAll(async () => {
  if (relay?.exitCode == null && relay?.signalCode == null && relay != null) {
    const exited = new Promise(resolve => relay!.once('exit', resolve))
    relay.kill('SIGTERM')
    await exited
  }
  await rm(work, { recursive: true, force: true })
  console.log(
    `packaging: ${Object.entries(timings)
      .map(([k, s]) => `${k} ${s.toFixed(1)} s`)
      .join(', ')}`
  )
})

test('the package carries its entry points, bins, custom-elements.json and the patched dependencies', async () => {
  const pkg = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as {
    exports: Record<string, unknown>
    bin: Record<string, string>
    bundleDependencies: string[]
  }
  expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './otel', './widget', './testing']))
  expect(pkg.bin).toEqual({
    'p2p-marketplace': 'src/cli/main.js',
    'p2p-marketplace-relay': 'bin/p2p-marketplace-relay.js'
  })
  expect(
    run('cli', join(project, 'node_modules/.bin/p2p-marketplace'), ['--version'], project).trim()
  ).toMatch(/^\d+\.\d+\.\d+$/)

  // every patched dependency is the patched copy, inside the package where its imports resolve first
  const patched = await patchedPackages(ROOT)
  expect(pkg.bundleDependencies.sort()).toEqual(patched.map(p => p.name).sort())
  for (const p of patched) await assertPatched(p, join(installed, 'node_modules', p.name))
  // and the web build the relay serves to browsers was bundled from the patched WebRTC transport
  const assets = join(installed, 'dist', 'assets')
  const chunks = await Promise.all(
    (await readdir(assets))
      .filter(f => f.endsWith('.js'))
      .map(async f => await readFile(join(assets, f), 'utf8'))
  )
  expect(chunks.some(c => c.includes('wait for init channel to open or close'))).toBe(true)

  const manifest = JSON.parse(await readFile(join(installed, 'custom-elements.json'), 'utf8')) as {
    modules: Array<{
      path: string
      declarations: Array<{ tagName?: string; events?: Array<{ name: string }> }>
    }>
  }
  const widget = manifest.modules.flatMap(m => m.declarations).find(d => d.tagName === 'p2p-marketplace')
  expect(widget?.events?.map(e => e.name)).toEqual(
    expect.arrayContaining(['mp-ready', 'mp-status', 'mp-select', 'mp-published', 'mp-error'])
  )
  expect(manifest.modules[0]?.path).toBe('dist/widget/p2p-marketplace.js')
})

test('the relay runs from its installed bin and serves the widget to other origins', async () => {
  const health = await fetch(`${relayUrl}/healthz`)
  expect(health.status).toBe(200)
  expect(await health.json()).toHaveProperty('peerId')
  const widget = await fetch(`${relayUrl}/widget/p2p-marketplace.js`, {
    headers: { origin: `http://localhost:${sitePort}` }
  })
  expect(widget.status).toBe(200)
  expect(widget.headers.get('access-control-allow-origin')).not.toBeNull()
})

test('Node imports the node API from the package; two nodes connect directly over the patched WebRTC', async () => {
  await writeFile(join(project, 'node-check.mjs'), consumer.NODE_SCRIPT)
  const out = run('node script', process.execPath, ['node-check.mjs'], project, {
    ...ENV,
    RELAY_URL: relayUrl
  })
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as {
    exports: string[]
    otelExports: string[]
    methods: Record<string, string>
    status: { state: string; relays: number }
    direct: { transport: string; direct: boolean }
    published: { id: string; traceId: string }
    webrtcFiles: string[]
  }
  expect(result.exports).toEqual(
    expect.arrayContaining(['createMarketplaceNode', 'MarketplaceNode', 'parseManifest'])
  )
  expect(result.otelExports).toEqual(
    expect.arrayContaining(['createTracedMarketplaceNode', 'createTracerProvider'])
  )
  expect(Object.values(result.methods).every(t => t === 'function')).toBe(true)
  expect(result.status).toMatchObject({ state: 'online', relays: 1 })
  expect(result.direct).toEqual({ transport: 'webrtc', direct: true })
  expect(result.published.id).toBe('node-maker/from-node')
  // the transport Node loaded is the package's patched copy, not the registry's (helia brings one too)
  const initiate = result.webrtcFiles.filter(f => f.endsWith('/private-to-private/initiate-connection.js'))
  expect(initiate).toEqual([
    pathToFileURL(
      join(
        realpathSync(installed),
        'node_modules/@libp2p/webrtc/dist/src/private-to-private/initiate-connection.js'
      )
    ).href
  ])
  expect(await readFile(new URL(initiate[0]!), 'utf8')).toContain("pEvent(channel, ['open', 'close']")
})

test('a TypeScript project type-checks against the declarations (element, events, node, fixtures)', async () => {
  await writeFile(join(project, 'types-check.ts'), consumer.TYPES_CHECK)
  await writeFile(join(project, 'tsconfig.json'), consumer.TSCONFIG)
  run(
    'tsc',
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
    project
  )
})

test("a shop's own Playwright test drives the widget on its page through p2p-marketplace/testing", async () => {
  await writeFile(join(project, 'site', 'serve.mjs'), consumer.SHOP_SERVER)
  await writeFile(join(project, 'playwright.config.ts'), consumer.PLAYWRIGHT_CONFIG)
  await writeFile(join(project, 'tests', 'shop.spec.ts'), consumer.SHOP_SPEC)
  const out = run(
    'playwright',
    process.execPath,
    [join(project, 'node_modules/@playwright/test/cli.js'), 'test'],
    project,
    {
      ...ENV,
      RELAY_URL: relayUrl,
      SITE_PORT: String(sitePort),
      CHROMIUM_LAUNCH: JSON.stringify(CHROMIUM_LAUNCH)
    }
  )
  expect(out).toMatch(/1 passed/)
})
