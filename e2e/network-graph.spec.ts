import { expect, test } from './fixtures.ts'
import { sideways } from './pages-helpers.ts'

test('the network graph draws the relay over WebSockets and a directly connected tab over WebRTC; a peer chosen with the keyboard shows its details; nothing sideways on a phone', async ({
  peer
}) => {
  test.setTimeout(180_000)
  const [a, b] = [await peer(), await peer()]
  const [idA, idB] = await Promise.all([a.waitOnline(), b.waitOnline()])
  await Promise.all([a.waitDirectTo([idB], 90_000), b.waitDirectTo([idA], 90_000)])
  const relayId = (await a.status()).relayStates[0]?.peerId
  expect(relayId).toBeDefined()

  const graph = a.page.locator('mp-network-graph')
  await expect(graph.locator('[data-empty="network-graph"]')).toHaveCount(0)
  // this tab in the centre; the relay over WebSockets; the other tab over direct WebRTC
  await expect(graph.locator(`g[data-role="self"][data-peer-id="${idA}"]`)).toHaveCount(1)
  const relayNode = graph.getByRole('button', { name: /^Relay …\S+, WebSockets/ })
  await expect(relayNode).toHaveAttribute('data-peer-id', relayId!)
  await expect(graph.locator(`line.edge[data-to="${relayId}"]`)).toHaveAttribute('data-kind', 'websockets')
  await expect(graph.locator(`line.edge[data-to="${idB}"]`)).toHaveAttribute('data-kind', 'webrtc')
  const peerNode = graph.getByRole('button', {
    name: new RegExp(`^Peer …${idB.slice(-8)}, direct WebRTC(, \\d+ ms)?, reputation \\d\\.\\d\\d$`)
  })
  await expect(peerNode).toHaveAttribute('data-kind', 'webrtc')
  // the legend names each line style in words
  for (const kind of ['direct WebRTC', 'WebRTC via TURN relay', 'relay circuit', 'WebSockets']) {
    await expect(graph.getByRole('list', { name: 'Legend' })).toContainText(kind)
  }

  // from the relay's node, Tab goes to the other tab's node; Enter shows its details
  const details = graph.getByRole('region', { name: 'Peer details' })
  await expect(details).toHaveCount(0)
  await relayNode.focus()
  await a.page.keyboard.press('Tab')
  await expect(peerNode).toBeFocused()
  await a.page.keyboard.press('Enter')
  await expect(peerNode).toHaveAttribute('aria-pressed', 'true')
  await expect(details.getByTestId('graph-peer-id')).toHaveText(idB)
  await expect(details).toContainText('direct WebRTC')
  await expect(details).toContainText(/Reputation\s*\d\.\d\d, (good|fair|poor)/)
  // Space on the relay's node shows the relay instead
  await relayNode.focus()
  await a.page.keyboard.press(' ')
  await expect(details.getByTestId('graph-peer-id')).toHaveText(relayId!)

  // at phone width, in the Network tab: the graph is shown and fits; the page does not scroll sideways
  await a.page.setViewportSize({ width: 390, height: 844 })
  await a.page.getByRole('tablist', { name: 'Sections' }).getByRole('tab', { name: 'Network' }).click()
  const picture = graph.locator('svg.graph')
  await expect(picture).toBeVisible()
  const box = await picture.boundingBox()
  expect(box!.x).toBeGreaterThanOrEqual(0)
  expect(box!.x + box!.width).toBeLessThanOrEqual(390)
  expect(await sideways(a.page)).toBeLessThanOrEqual(0)
})
