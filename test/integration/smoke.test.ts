import { afterAll, expect, test } from 'vitest'
import { createMarketplaceNode } from '../../src/core/index.ts'
import { startTestRelay, waitUntil } from '../helpers/relay.ts'
import type { MarketplaceNode } from '../../src/core/index.ts'

const nodes: MarketplaceNode[] = []
let cleanup = async (): Promise<void> => {}
afterAll(async () => {
  await Promise.all(nodes.map(n => n.stop()))
  await cleanup()
})

test('two nodes go online and connect directly', async () => {
  const started = await startTestRelay()
  cleanup = started.cleanup
  for (let i = 0; i < 2; i++) {
    nodes.push(await createMarketplaceNode({ configUrl: started.relay.httpUrl }))
  }
  await Promise.all(nodes.map(n => n.waitFor('online')))
  await waitUntil('direct mesh', () => nodes.every(n => n.status().directPeers === 1), 20_000)
  console.log(nodes.map(n => [n.status(), n.peers(), n.dialStats]))
  expect(nodes[0]?.peers().find(p => !p.relay)?.transport).toBe('webrtc')
})
