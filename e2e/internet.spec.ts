import { InternetBox, boxUnavailable, removeStaleBoxes } from '../test/helpers/internet-box.ts'
import { BoxDeployment, RELAY_ORIGIN, SHOP_ORIGIN } from '../test/helpers/box-deployment.ts'
import { PeerPage, expect, test } from './fixtures.ts'
import type { Lan } from '../test/helpers/internet-box.ts'
import type { Browser, BrowserContext } from '@playwright/test'
import type { NetworkHealth, StoredSpan } from '../src/core/telemetry/collector-api.ts'

/**
 * The internet in a box (test/helpers/internet-box.ts): three LANs, each behind its own NAT, two
 * of them cone NATs (STUN's reflexive address works), one symmetric (only TURN crosses it); the
 * relay behind Caddy (HTTPS, WSS) and coturn on a public segment; a Chromium in each LAN that
 * trusts Caddy's CA. Every address lives in namespaces this file makes and removes.
 */
test.describe.configure({ mode: 'serial', timeout: 300_000 })

let box: InternetBox | undefined
let deployment: BoxDeployment
const browsers = new Map<Lan, Browser>()
const contexts: BrowserContext[] = []
const tabs: PeerPage[] = []

test.beforeAll(async () => {
  test.setTimeout(180_000)
  // never skipped: a suite that can pass by not running proves nothing (.ci/run installs the tools)
  const unavailable = await boxUnavailable()
  if (unavailable != null)
    throw new Error(`${unavailable}; run the suite as root after .ci/run's apt-get line`)
  const stale = await removeStaleBoxes()
  if (stale.length > 0) console.log(`removed ${stale.length} namespaces a killed run left behind`)
  box = await InternetBox.create()
  deployment = await BoxDeployment.start(box)
  for (const lan of ['A', 'B', 'C'] as const) browsers.set(lan, await deployment.browserIn(lan))
})

test.afterEach(async ({}, testInfo) => {
  if (testInfo.status !== testInfo.expectedStatus && box != null) {
    await testInfo.attach('box-logs.txt', { body: deployment.logs(), contentType: 'text/plain' })
    const states = await Promise.all(
      tabs.map(async t => await t.diagnostics().catch((err: unknown) => String(err)))
    )
    await testInfo.attach('tab-diagnostics.json', {
      body: JSON.stringify(states, null, 2),
      contentType: 'application/json'
    })
  }
  tabs.length = 0
  await Promise.all(contexts.splice(0).map(async c => await c.close().catch(() => {})))
})

test.afterAll(async () => {
  await Promise.all([...browsers.values()].map(async b => await b.close().catch(() => {})))
  browsers.clear()
  await box?.destroy()
})

/** A new tab, in its own browser context, in the given LAN, opening `url`. */
async function tab(lan: Lan, url = RELAY_ORIGIN): Promise<PeerPage> {
  const browser = browsers.get(lan)
  if (browser == null) throw new Error(`no browser in LAN ${lan}`)
  const context = await browser.newContext()
  contexts.push(context)
  const peer = new PeerPage(context, await context.newPage())
  tabs.push(peer)
  await peer.open(url)
  return peer
}

/** The ICE path `from` has to `peerId` (undefined while not direct). */
async function pathTo(from: PeerPage, peerId: string): Promise<string | undefined> {
  return await from.page.evaluate(
    id => window.p2pMarketplace?.peers().find(p => p.peerId === id)?.path,
    peerId
  )
}

test('three LANs behind NATs: online over wss, A↔B direct through their NATs, C through TURN, a package found everywhere, spans over https', async () => {
  const [a, b, c] = [await tab('A'), await tab('B'), await tab('C')]
  const [idA, idB, idC] = await Promise.all([
    a.waitOnline(90_000),
    b.waitOnline(90_000),
    c.waitOnline(90_000)
  ])
  for (const t of [a, b, c]) {
    const status = await t.status()
    expect(status.relayStates.map(r => r.addr)).toEqual([
      expect.stringMatching(/^\/dns4\/relay\.test\/tcp\/443\/wss\/p2p\//)
    ])
    expect(status.relays).toBe(1)
  }

  // A and B: hole punching through two cone NATs, with the reflexive addresses STUN told them
  const waitPath = async (from: PeerPage, to: string, path: string): Promise<void> => {
    await expect
      .poll(async () => await pathTo(from, to), { timeout: 150_000, message: `path to ${to}` })
      .toBe(path)
  }
  await Promise.all([
    waitPath(a, idB, 'srflx'),
    waitPath(b, idA, 'srflx'),
    // C's NAT maps each destination to a new port: only TURN's relayed address works
    waitPath(a, idC, 'relay'),
    waitPath(c, idA, 'relay'),
    waitPath(b, idC, 'relay'),
    waitPath(c, idB, 'relay')
  ])
  await expect(a.page.locator(`tr[data-peer-id="${idB}"] .ice-path`)).toContainText('via NAT (STUN)')
  await expect(a.page.locator(`tr[data-peer-id="${idC}"] .ice-path`)).toContainText('via TURN relay')

  // a package published in A is found in B and C
  const published = await a.publish({
    id: 'box/hello',
    version: '1.0.0',
    title: 'Hello from LAN A',
    description: 'Published behind a NAT',
    license: 'MIT',
    tags: ['box']
  })
  await b.waitForPackages({ text: 'hello' }, ['box/hello'], 60_000)
  await c.waitForPackages({ text: 'hello' }, ['box/hello'], 60_000)

  // its trace reached the relay's collector over https (the tab exports to the public origin)
  const traceUrl = `${RELAY_ORIGIN}/api/traces/${published.traceId}`
  await expect
    .poll(
      async () =>
        await a.page.evaluate(async url => {
          const response = await fetch(url)
          if (!response.ok) return []
          return ((await response.json()) as { spans: StoredSpan[] }).spans.map(s => s.name)
        }, traceUrl),
      { timeout: 60_000 }
    )
    .toEqual(expect.arrayContaining(['publish', 'store_in_dht', 'announce_package']))

  // each direct connection's path reached the collector on its connection_established span:
  // the network-health view counts them
  await expect
    .poll(
      async () =>
        await a.page.evaluate(async url => {
          const response = await fetch(url)
          if (!response.ok) return {}
          return ((await response.json()) as NetworkHealth).connections.icePaths
        }, `${RELAY_ORIGIN}/api/network-health`),
      { timeout: 60_000 }
    )
    .toMatchObject({ srflx: expect.any(Number), relay: expect.any(Number) })

  // an operator's check from behind a NAT: config, the relay over wss, STUN and TURN all work
  const doctor = await deployment.doctor('C')
  expect(doctor.output).toContain('TURN ok')
  expect(doctor.code, doctor.output).toBe(0)
})

test('another site on https embeds the widget, which works over wss from behind a NAT', async () => {
  const shop = await tab('B', SHOP_ORIGIN)
  const widget = shop.page.locator('#shop-widget')
  await expect(widget.getByRole('status').first()).toContainText('Online', { timeout: 90_000 })
  // the widget searched for its `query` ("box"): the package published from LAN A
  await expect(widget.getByRole('article', { name: 'Hello from LAN A' })).toBeVisible({ timeout: 60_000 })
  expect(shop.problems.filter(p => p.kind === 'pageerror')).toEqual([])
})

test('without ICE servers, tabs behind two NATs stay on the relay circuit and the page says why', async () => {
  await deployment.restartRelay({ ICE_SERVERS: undefined, TURN_SECRET: undefined })
  const [a, b] = [await tab('A'), await tab('B')]
  const [idA, idB] = await Promise.all([a.waitOnline(90_000), b.waitOnline(90_000)])
  // the designated dialler (the smaller id) times out: host candidates alone cannot cross NATs
  const [dialer, other] = idA < idB ? [a, idB] : [b, idA]
  await expect
    .poll(async () => (await dialer.upgradeOf(other))?.lastErrorClass, { timeout: 120_000 })
    .toBe('no-ice-servers')
  await expect(dialer.page.locator(`tr[data-peer-id="${other}"] .upgrade`)).toContainText(
    'no STUN/TURN servers configured'
  )
  expect(await dialer.directWebRTCPeers()).not.toContain(other)
  // the circuit still carries the marketplace
  await dialer.publish({
    id: 'no-ice/over-circuit',
    version: '1.0.0',
    title: 'Over the circuit',
    description: 'Found without a direct connection',
    license: 'MIT'
  })
  await (dialer === a ? b : a).waitForPackages({ text: 'circuit' }, ['no-ice/over-circuit'], 60_000)
})

test('with a wrong TURN secret, the tab behind the symmetric NAT stays on the circuit and its status says TURN authentication failed', async () => {
  await deployment.restartRelay({ TURN_SECRET: 'not-the-secret-coturn-knows' })
  const [a, c] = [await tab('A'), await tab('C')]
  const [idA] = await Promise.all([a.waitOnline(90_000), c.waitOnline(90_000)])
  await expect.poll(async () => (await c.status()).ice?.turn, { timeout: 60_000 }).toBe('auth-failed')
  await expect(c.page.getByTestId('ice-check')).toContainText('TURN authentication failed')
  // and the operator's check says the same, with the fix
  const doctor = await deployment.doctor('C')
  expect(doctor.output).toContain('TURN authentication failed (401')
  expect(doctor.code, doctor.output).toBe(1)
  // both sides dial in the end (the other after its fallback delay); C's dials say why they fail
  await expect
    .poll(async () => (await c.upgradeOf(idA))?.lastErrorClass, { timeout: 150_000 })
    .toBe('turn-auth-failed')
  expect(await c.directWebRTCPeers()).not.toContain(idA)
})

test('an https page whose relay offers only ws:// addresses says so at once instead of hanging', async () => {
  await deployment.restartRelay({ ANNOUNCE_ADDRS: '/dns4/relay.test/tcp/9090/ws' })
  const a = await tab('A')
  // the connection card: failed, with the cause and the fix, and no node left dialling in vain
  const alert = a.page.getByRole('alert').filter({ hasText: 'Failed' })
  await expect(alert).toContainText(/only ws:\/\/ addresses.*mixed content.*TLS_CERT/, { timeout: 30_000 })
  expect(await a.page.evaluate(() => window.p2pMarketplace == null)).toBe(true)
})
