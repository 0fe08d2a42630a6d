import { expect, test, waitFullMesh } from './fixtures.ts'
import type { BrowserContext } from '@playwright/test'

test('six tabs go online and form a full mesh of direct WebRTC connections', async ({ peer }) => {
  test.setTimeout(180_000)
  const tabs = await Promise.all(Array.from({ length: 6 }, async () => await peer()))
  const ids = await Promise.all(tabs.map(async t => await t.waitOnline()))
  expect(new Set(ids).size).toBe(6)

  await waitFullMesh(tabs, ids)
  // the page shows it too, for a person (in the peers list: the network-health view has a table too)
  const peersTable = tabs[0]!.page.getByRole('region', { name: /^Peers \(/ }).getByRole('table')
  await expect(peersTable).toContainText('webrtc')
  await expect(peersTable).toContainText('direct')
})

test('closing a tab is noticed by the others', async ({ peer }) => {
  test.setTimeout(180_000)
  const [a, b, c] = [await peer(), await peer(), await peer()]
  const [, , idC] = await Promise.all([a.waitOnline(), b.waitOnline(), c.waitOnline()])
  await expect.poll(async () => await a.directWebRTCPeers(), { timeout: 30_000 }).toContain(idC)
  await expect.poll(async () => await b.directWebRTCPeers(), { timeout: 30_000 }).toContain(idC)

  // the harshest way: the whole browser context goes, no pagehide, no goodbye
  const closedAt = Date.now()
  await c.context.close()

  // ICE reports the peer disconnected after about 5 s and the ping it prompts fails 10 s later;
  // should ICE stay silent, three failed pings close the connection within 45 s
  const noticedAfter = await Promise.all(
    [a, b].map(async tab => {
      await expect.poll(async () => await tab.connectedPeers(), { timeout: 60_000 }).not.toContain(idC)
      return Date.now() - closedAt
    })
  )
  console.log(`a closed tab noticed by the others after ${noticedAfter.map(ms => `${ms} ms`).join(' and ')}`)
  await expect(a.page.locator(`tr[data-peer-id="${idC}"]`)).toHaveCount(0)
})

test('reloading a tab keeps its peer id', async ({ peer }) => {
  const tab = await peer()
  const before = await tab.waitOnline()
  await expect(tab.page.getByTestId('peer-id')).toHaveText(before)
  await tab.page.reload()
  const after = await tab.waitOnline()
  expect(after).toBe(before)
})

test('a pair whose direct dials fail keeps retrying, says why in peers() and on the page, and goes direct once dials work', async ({
  peer
}) => {
  test.setTimeout(180_000)
  // Every RTCPeerConnection of these tabs throws while `__blockWebRTC` holds: each direct dial
  // fails (the relay circuit still carries everything) until the test lifts the block.
  const setup = async (context: BrowserContext): Promise<void> => {
    await context.addInitScript(() => {
      const w = window as unknown as { __blockWebRTC: boolean; RTCPeerConnection: typeof RTCPeerConnection }
      w.__blockWebRTC = true
      const Native = w.RTCPeerConnection
      w.RTCPeerConnection = class extends Native {
        constructor(config?: RTCConfiguration) {
          if (w.__blockWebRTC) throw new DOMException('WebRTC blocked by the test', 'NotAllowedError')
          super(config)
        }
      }
    })
  }
  const [a, b] = [await peer({ setup }), await peer({ setup })]
  const [idA, idB] = await Promise.all([a.waitOnline(), b.waitOnline()])
  // the designated dialler is the smaller peer id (the other side falls back after 10 s)
  const [dialer, otherId] = idA < idB ? [a, idB] : [b, idA]

  // not one dial but several, each failure recorded with its error and the next attempt's time
  await expect
    .poll(async () => await dialer.upgradeOf(otherId), { timeout: 60_000 })
    .toMatchObject({ dialer: 'self', lastError: expect.stringContaining('WebRTC blocked by the test') })
  await expect
    .poll(async () => (await dialer.upgradeOf(otherId))?.attempts ?? 0, { timeout: 60_000 })
    .toBeGreaterThan(2)
  const state = await dialer.upgradeOf(otherId)
  expect(state?.nextAttemptAt ?? 0).toBeGreaterThan(Date.now() - 60_000)
  // the page says it too, under "relayed"
  const row = dialer.page.locator(`tr[data-peer-id="${otherId}"]`)
  await expect(row).toContainText('relayed')
  await expect(row.locator('.upgrade')).toContainText(
    /retry at .+ after \d+ dials: .*WebRTC blocked by the test/
  )
  expect(await dialer.directWebRTCPeers()).not.toContain(otherId)

  // the cause goes away: the pair goes direct by itself, no reload, no rediscovery
  await Promise.all(
    [a, b].map(
      async t =>
        await t.page.evaluate(() => ((window as unknown as { __blockWebRTC: boolean }).__blockWebRTC = false))
    )
  )
  await a.waitDirectTo([idB], 90_000)
  await b.waitDirectTo([idA], 90_000)
  await expect.poll(async () => await dialer.upgradeOf(otherId), { timeout: 30_000 }).toBeUndefined()
  await expect(row).toContainText('direct')
  await expect(row.locator('.upgrade')).toHaveCount(0)
  // on one machine ICE picks a host candidate; the remote one may be learned as peer-reflexive
  // (Chromium hides host addresses behind mDNS names the other side learns from the checks)
  const path = await dialer.page.evaluate(
    id => window.p2pMarketplace?.peers().find(p => p.peerId === id)?.path,
    otherId
  )
  console.log('ICE path', path)
  expect(['host', 'prflx']).toContain(path)
  await expect(row.locator('.ice-path')).toContainText(/via (same network|NAT \(peer-reflexive\))/)
})
