import { expect, test, waitFullMesh } from './fixtures.ts'

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
  const [a, b, c] = [await peer(), await peer(), await peer()]
  const [, , idC] = await Promise.all([a.waitOnline(), b.waitOnline(), c.waitOnline()])
  await expect.poll(async () => await a.directWebRTCPeers(), { timeout: 30_000 }).toContain(idC)
  await expect.poll(async () => await b.directWebRTCPeers(), { timeout: 30_000 }).toContain(idC)

  // the harshest way: the whole browser context goes, no pagehide, no goodbye
  await c.context.close()

  await expect.poll(async () => await a.connectedPeers(), { timeout: 30_000 }).not.toContain(idC)
  await expect.poll(async () => await b.connectedPeers(), { timeout: 30_000 }).not.toContain(idC)
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
