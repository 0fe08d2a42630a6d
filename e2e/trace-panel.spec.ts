import { readFile } from 'node:fs/promises'
import { expect, test } from './fixtures.ts'

test('the trace panel: time axis, colours per peer, events, links both ways, attribute filter, OTLP JSON export', async ({
  peer,
  relay
}) => {
  const [a, b] = [await peer(), await peer()]
  await Promise.all([a.waitOnline(), b.waitOnline()])
  const published = await a.page.evaluate(
    async () =>
      await window.p2pMarketplace!.publish({
        id: 'traced/lamp',
        version: '1.0.0',
        title: 'Traced lamp',
        description: 'followed through the trace panel',
        license: 'MIT',
        tags: ['light']
      })
  )
  expect(published.announced).toBe(true)
  await b.waitForPackages({ text: 'lamp' }, ['traced/lamp'])

  // B's panel, all operations, filtered by the package: the publish and B's gossip delivery
  const panel = b.page.locator('mp-traces')
  await panel.getByLabel('Filter traces by operation').selectOption('')
  const filter = panel.getByLabel('Filter traces by attribute')
  await filter.fill('no equals sign')
  await filter.press('Enter')
  await expect(panel.getByRole('alert')).toContainText('Write the filter as name=value')
  await filter.fill('package_id=traced/lamp')
  await filter.press('Enter')
  const list = panel.getByRole('list', { name: 'Recent traces' })
  // each node that took the announcement (B, the relay) traced its delivery
  const deliveries = list.getByRole('button', { name: /^receive_package_announcement/ })
  await expect(deliveries.first()).toBeVisible({ timeout: 30_000 })
  await expect(list.getByRole('button', { name: /^publish/ })).toHaveCount(1)
  // nothing of other packages
  for (const text of await list.getByRole('button').allInnerTexts())
    expect(text).toMatch(/^(publish|receive_package_announcement) /)

  // the delivery leads to the announcement it came from, in the publisher's trace
  await deliveries.first().click()
  const waterfall = panel.getByRole('region', { name: 'Trace waterfall' })
  await waterfall.getByRole('button', { name: 'Span receive_package_announcement', exact: true }).click()
  const details = panel.getByRole('region', { name: 'Span details' })
  await details.getByRole('button', { name: /^The announcement/ }).click()
  await expect(waterfall).toHaveAttribute('data-trace-id', published.traceId, { timeout: 30_000 })
  await expect(details).toHaveAttribute('data-span-id', /^[0-9a-f]{16}$/)
  await expect(details.getByRole('heading', { level: 3 })).toHaveText('announce_package')
  // … and the announcement back to its deliveries
  await expect(
    details.getByRole('button', { name: /^Linked from receive_package_announcement/ }).first()
  ).toBeVisible({
    timeout: 30_000
  })

  // the axis has round ticks, each bar its duration, and the peers their colours
  const ticks = waterfall.getByTestId('time-axis').locator('.tick')
  expect(await ticks.count()).toBeGreaterThanOrEqual(2)
  await expect(ticks.first()).toHaveText('0')
  const publishRow = waterfall.getByRole('button', { name: 'Span publish', exact: true })
  await expect(publishRow.locator('.duration')).toHaveAttribute('data-duration', /^[\d.]+ (µs|ms|s)$/)
  await expect(publishRow).toHaveAttribute('data-peer', await a.peerId())
  const legend = waterfall.getByRole('list', { name: 'Peers in this trace' })
  await expect(legend.locator(`[data-peer="${await a.peerId()}"]`)).toBeVisible()

  // a search's trace shows its span events (one per batch of results)
  const searched = (await b.search({ text: 'lamp' })).traceId
  await b.page.evaluate(id => (location.hash = `trace=${id}`), searched)
  await expect(waterfall).toHaveAttribute('data-trace-id', searched, { timeout: 30_000 })
  await waterfall.getByRole('button', { name: 'Span search', exact: true }).click()
  await expect(details.getByRole('list', { name: 'Span events' })).toContainText('results')
  await expect(
    waterfall.getByRole('button', { name: 'Span search', exact: true }).locator('.event')
  ).not.toHaveCount(0)

  // exported as OTLP JSON, the trace is a request the collector takes again (nothing new to store)
  const saved = b.page.waitForEvent('download')
  await waterfall.getByRole('button', { name: 'Export OTLP JSON' }).click()
  const download = await saved
  expect(download.suggestedFilename()).toBe(`trace-${searched}.json`)
  const body = await readFile(await download.path(), 'utf8')
  const request = JSON.parse(body) as {
    resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ traceId: string }> }> }>
  }
  const spans = request.resourceSpans.flatMap(r => r.scopeSpans.flatMap(s => s.spans))
  expect(spans.length).toBeGreaterThan(0)
  expect(new Set(spans.map(s => s.traceId))).toEqual(new Set([searched]))
  const answer = await fetch(`${relay.url}/v1/traces`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body
  })
  expect(answer.status).toBe(200)
})
