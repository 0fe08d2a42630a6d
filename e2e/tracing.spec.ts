import { expect, test } from './fixtures.ts'

import type { StoredSpan } from '../src/core/telemetry/collector-api.ts'

test('six tabs: publish and search traces reach the embedded collector with the spec’s names, attributes and hierarchy, remote peers’ spans inside the searcher’s trace', async ({
  peer,
  relay
}) => {
  // a namespace of this run's own: a namespace belongs to its first publisher, and the worker's relay outlives a run
  const id = `traces-${Math.random().toString(36).slice(2, 9)}/demo`
  const tabs = await Promise.all(Array.from({ length: 6 }, async () => await peer()))
  // past the relay keeper's 45 s: a tab whose reservation never came is hung up and redialled then
  // (once in a local run, two of six tabs had none after 30 s, while connected to the relay)
  const ids = await Promise.all(tabs.map(async t => await t.waitOnline(90_000)))
  const [a, b] = [tabs[0]!, tabs[1]!]
  const [idA, idB] = [ids[0]!, ids[1]!]
  // the searcher is directly connected to every other tab, so its fan-out can pick any of them
  await b.waitDirectTo(
    ids.filter(i => i !== idB),
    60_000
  )

  const published = await a.publish({
    id,
    version: '1.0.0',
    title: 'Traced demo',
    description: 'seen in the collector',
    license: 'MIT'
  })
  await expect
    .poll(async () => (await relay.trace(published.traceId)).map(s => s.name).sort(), { timeout: 15_000 })
    .toEqual(['announce_package', 'publish', 'store_in_dht'])
  const publishSpans = await relay.trace(published.traceId)
  const root = publishSpans.find(s => s.name === 'publish')!
  expect(root.attributes).toMatchObject({
    operation: 'publish',
    package_id: id,
    package_version: '1.0.0',
    peer_id: idA,
    // the span says what happened: the DHT store counts as a success only when the relay acknowledged
    // it within the publish's 5 s (on two busy cores it now and then takes longer)
    dht_storage_success: published.dhtStored,
    gossipsub_success: true,
    latency_ms: expect.any(Number)
  })
  expect(root.resource['service.instance.id']).toBe(idA)
  expect(root.resource['service.name']).toBe('p2p-marketplace-web')
  for (const child of publishSpans.filter(s => s !== root)) expect(child.parentSpanId).toBe(root.spanId)
  const store = publishSpans.find(s => s.name === 'store_in_dht')!
  expect(store.attributes).toMatchObject({
    operation: 'dht_put',
    package_id: id,
    peer_id: idA,
    record_size_bytes: expect.any(Number),
    latency_ms: expect.any(Number)
  })
  // the acknowledgements it counted: at least one, or none and an error status
  if (published.dhtStored) expect(store.attributes.successful_responses).toBeGreaterThanOrEqual(1)
  else expect([store.attributes.successful_responses, store.status.code]).toEqual([0, 2])
  expect(publishSpans.find(s => s.name === 'announce_package')!.attributes).toMatchObject({
    operation: 'gossipsub_publish',
    package_id: id,
    package_version: '1.0.0',
    announcement_size_bytes: expect.any(Number),
    latency_ms: expect.any(Number)
  })
  // the list endpoint finds it by the spec's filter
  const listed = (await (
    await fetch(`${relay.url}/api/traces?operation=publish&attr.package_id=${encodeURIComponent(id)}`)
  ).json()) as { traces: Array<{ traceId: string }> }
  expect(listed.traces.map(t => t.traceId)).toContain(published.traceId)

  await expect
    .poll(async () => await b.page.evaluate(id => window.p2pMarketplace!.catalog.get(id) != null, id), {
      timeout: 10_000
    })
    .toBe(true)
  const searched = await b.search({ text: 'traced demo' })
  expect(searched.packages.map(p => p.id)).toContain(id)
  expect(searched.peersQueried).toBeGreaterThanOrEqual(2)

  // one search is one trace across peers: answering peers' spans sit under B's dht_peer_query spans
  // the asker's own spans arrive with its next batch: wait for them and the answering peers' together
  let searchSpans: StoredSpan[] = []
  await expect
    .poll(
      async () => {
        searchSpans = await relay.trace(searched.traceId)
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
    query_limit: 20,
    category_count: 0,
    tag_count: 0,
    local_results: searched.localResults,
    dht_results: searched.dhtResults,
    total_results: searched.packages.length,
    fan_out: searched.peersQueried,
    peer_count: expect.any(Number),
    latency_ms: expect.any(Number)
  })
  expect(search.attributes.peer_count as number).toBeGreaterThanOrEqual(searched.peersQueried)
  const fanOut = searchSpans.find(s => s.name === 'query_dht_parallel')!
  expect(fanOut.parentSpanId).toBe(search.spanId)
  expect(fanOut.attributes).toMatchObject({ operation: 'dht_query_parallel', fan_out: searched.peersQueried })
  const asked = searchSpans.filter(s => s.name === 'dht_peer_query')
  expect(asked).toHaveLength(searched.peersQueried)
  expect(fanOut.attributes.peers_queried).toBe(asked.length)
  for (const q of asked) {
    expect(q.parentSpanId).toBe(fanOut.spanId)
    expect(q.attributes).toMatchObject({ peer_id: expect.any(String), query_latency_ms: expect.any(Number) })
  }
  const remote = searchSpans.filter(s => s.name === 'handle_peer_query')
  for (const r of remote) {
    const parent = asked.find(q => q.spanId === r.parentSpanId)
    expect(parent, 'each answering span is a child of the query sent to that peer').toBeDefined()
    expect(r.resource['service.instance.id']).toBe(parent!.attributes.peer_id)
  }
  expect(
    remote.some(r => r.resource['service.name'] === 'p2p-marketplace-web'),
    'another browser tab answered inside the searcher’s trace'
  ).toBe(true)
  // the searcher's reputation updates hang under the query to the peer they judge: one per answer
  // the fan-out counted (peers answered: their handle_peer_query spans are here)
  const updates = searchSpans.filter(s => s.name === 'record_peer_success')
  expect(fanOut.attributes.successful_responses as number).toBeGreaterThanOrEqual(1)
  expect(updates.length).toBeGreaterThanOrEqual(fanOut.attributes.successful_responses as number)
  for (const update of updates) {
    const query = asked.find(q => q.spanId === update.parentSpanId)
    expect(query, 'a reputation update is a child of its dht_peer_query').toBeDefined()
    expect(update.attributes).toMatchObject({
      operation: 'peer_reputation_update',
      peer_id: query!.attributes.peer_id,
      result: 'success',
      response_time_ms: expect.any(Number),
      new_reputation_score: expect.any(Number)
    })
  }
})
