import { expect, test } from './fixtures.ts'

interface Span {
  name: string
  spanId: string
  parentSpanId?: string
  attributes: Record<string, unknown>
  resource: Record<string, unknown>
}

test('publish and search traces reach the embedded collector with the full hierarchy, remote peers included', async ({
  peer,
  relay
}) => {
  const [a, b, c] = [await peer(), await peer(), await peer()]
  const [idA, idB] = await Promise.all([a.waitOnline(), b.waitOnline(), c.waitOnline()])
  await expect.poll(async () => (await b.directWebRTCPeers()).length, { timeout: 30_000 }).toBe(2)

  const published = await a.page.evaluate(
    async () =>
      await window.p2pMarketplace!.publish({
        id: 'traces/demo',
        version: '1.0.0',
        title: 'Traced demo',
        description: 'seen in the collector',
        license: 'MIT'
      })
  )
  const trace = async (traceId: string): Promise<Span[]> => {
    const res = await fetch(`${relay.url}/api/traces/${traceId}`)
    return res.ok ? ((await res.json()) as { spans: Span[] }).spans : []
  }
  await expect
    .poll(async () => (await trace(published.traceId)).map(s => s.name).sort(), { timeout: 15_000 })
    .toEqual(['announce_package', 'publish', 'store_in_dht'])
  const publishSpans = await trace(published.traceId)
  const root = publishSpans.find(s => s.name === 'publish')!
  expect(root.attributes).toMatchObject({
    operation: 'publish',
    package_id: 'traces/demo',
    package_version: '1.0.0',
    peer_id: idA,
    dht_storage_success: true,
    gossipsub_success: true
  })
  expect(root.resource['service.instance.id']).toBe(idA)
  expect(root.resource['service.name']).toBe('p2p-marketplace-web')
  for (const child of publishSpans.filter(s => s !== root)) expect(child.parentSpanId).toBe(root.spanId)
  // the list endpoint finds it by the spec's filter
  const listed = (await (
    await fetch(`${relay.url}/api/traces?operation=publish&attr.package_id=traces/demo`)
  ).json()) as { traces: Array<{ traceId: string }> }
  expect(listed.traces.map(t => t.traceId)).toContain(published.traceId)

  await expect
    .poll(
      async () => await b.page.evaluate(() => window.p2pMarketplace!.catalog.get('traces/demo') != null),
      { timeout: 10_000 }
    )
    .toBe(true)
  const searched = await b.page.evaluate(
    async () => await window.p2pMarketplace!.search({ text: 'traced demo' })
  )
  expect(searched.packages.map(p => p.id)).toContain('traces/demo')
  expect(searched.peersQueried).toBeGreaterThanOrEqual(2)

  // one search is one trace across peers: answering tabs' spans sit under B's dht_peer_query spans
  // the asker's own spans arrive with its next batch: wait for them and the answering peers' together
  let searchSpans: Span[] = []
  await expect
    .poll(
      async () => {
        searchSpans = await trace(searched.traceId)
        const remote = searchSpans.filter(
          s => s.name === 'handle_peer_query' && s.resource['service.instance.id'] !== idB
        )
        return searchSpans.some(s => s.name === 'search') && remote.length >= 2
      },
      { timeout: 15_000 }
    )
    .toBe(true)
  const search = searchSpans.find(s => s.name === 'search')!
  expect(search.attributes).toMatchObject({
    operation: 'p2p_search',
    query_text: 'traced demo',
    total_results: searched.packages.length,
    fan_out: searched.peersQueried
  })
  const fanOut = searchSpans.find(s => s.name === 'query_dht_parallel')!
  expect(fanOut.parentSpanId).toBe(search.spanId)
  const asked = searchSpans.filter(s => s.name === 'dht_peer_query')
  expect(asked).toHaveLength(searched.peersQueried)
  expect(fanOut.attributes.peers_queried).toBe(asked.length)
  for (const q of asked) expect(q.parentSpanId).toBe(fanOut.spanId)
  const remote = searchSpans.filter(s => s.name === 'handle_peer_query')
  for (const r of remote) {
    const parent = asked.find(q => q.spanId === r.parentSpanId)
    expect(parent, 'each answering span is a child of the query sent to that peer').toBeDefined()
    expect(r.resource['service.instance.id']).toBe(parent!.attributes.peer_id)
  }
})
