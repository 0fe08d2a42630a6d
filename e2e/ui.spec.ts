import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RelayProcess, freePort } from '../test/helpers/relay-process.ts'
import { expect, submitPublishForm, test } from './fixtures.ts'
import type { AddressInfo } from 'node:net'

test('publish from the form in one tab, watch it appear live in another tab, and open its trace', async ({
  peer
}) => {
  const [a, b] = [await peer(), await peer()]
  await Promise.all([a.waitOnline(), b.waitOnline()])

  // B is looking before the package exists: it must appear without searching again
  await b.page.getByLabel('Search text').fill('gadget')
  await b.page.getByRole('button', { name: 'Search', exact: true }).click()
  await expect(b.page.getByRole('status').filter({ hasText: 'result(s)' })).toContainText('0 result(s)')

  const health = a.page.getByRole('region', { name: 'Network health' })
  await expect(health.locator('[data-figure="publish"]')).toBeVisible()
  const publishesBefore = Number(
    /^\s*(\d+)/.exec(await health.locator('[data-figure="publish"] dd').innerText())?.[1]
  )

  await submitPublishForm(a.page, {
    id: 'ui/gadget',
    version: '1.0.0',
    title: 'Gadget',
    description: 'A gadget published from the form',
    license: 'MIT',
    tags: 'tools, gadget'
  })
  const result = a.page.getByTestId('publish-result')
  await expect(result).toContainText('Published ui/gadget@1.0.0')
  await expect(result).toContainText('stored in the DHT')
  await expect(result).toContainText('announced to peers')

  const article = b.page.getByRole('article', { name: 'Gadget' })
  await expect(article).toBeVisible({ timeout: 15_000 })
  await expect(article).toContainText('ui/gadget')
  await expect(article).toContainText('signed by')
  await article.getByRole('button', { name: 'Details of ui/gadget' }).click()
  await expect(b.page.getByRole('region', { name: 'Package details' })).toContainText(
    'A gadget published from the form'
  )

  // the trace of the publish, from the relay's collector, as a waterfall
  await result.getByRole('link', { name: 'View its trace' }).click()
  const waterfall = a.page.getByRole('region', { name: 'Trace waterfall' })
  for (const name of ['publish', 'store_in_dht', 'announce_package']) {
    await expect(waterfall.getByRole('button', { name: `Span ${name}`, exact: true })).toBeVisible({
      timeout: 15_000
    })
  }
  await waterfall.getByRole('button', { name: 'Span publish', exact: true }).click()
  const details = a.page.getByRole('region', { name: 'Span details' })
  await expect(details).toContainText('package_id')
  await expect(details).toContainText('ui/gadget')
  await expect(details).toContainText('dht_storage_success')

  // the network-health view counts the publish that just happened in its success rate
  const figure = health.locator('[data-figure="publish"]')
  await expect(figure).toContainText(`${publishesBefore + 1} · stored in the DHT`, { timeout: 15_000 })
  await expect(figure).toContainText(/stored in the DHT \d+ %\s+·\s+announced\s+\d+ %/)
  await expect(
    health.getByRole('img', { name: /^Publish success rate: DHT \d+%, gossip \d+%/ })
  ).toBeVisible()
  await expect(health.locator('[data-figure="search"]')).toContainText(/p50 \d+ ms/)
})

test('invalid form input shows the field error and publishes nothing', async ({ peer }) => {
  const tab = await peer()
  await tab.waitOnline()
  await tab.page.getByLabel('Package id *').fill('No Namespace')
  await tab.page.getByLabel('Version *').fill('v1')
  await tab.page.getByRole('button', { name: 'Publish', exact: true }).click()
  await expect(tab.page.locator('#field-id-error')).toContainText('namespace/name')
  await expect(tab.page.locator('#field-version-error')).toContainText('semantic version')
  await expect(tab.page.getByLabel('Package id *')).toHaveAttribute('aria-invalid', 'true')
  await expect(tab.page.getByTestId('publish-result')).toHaveCount(0)
  // the same form, corrected, publishes: once that publish has landed in the catalog, the refused
  // one would have too if the form had let it through. The id is under the tab's own key namespace:
  // a plain namespace such as ui/ may already be held by another test's tab on this shared relay
  const keyNamespace = await tab.page.evaluate(() => window.p2pMarketplace!.keyNamespace)
  const id = `${keyNamespace}/corrected`
  await submitPublishForm(tab.page, {
    id,
    version: '1.0.0',
    title: 'Corrected',
    description: 'Published once the form was valid',
    license: 'MIT'
  })
  await expect(tab.page.getByTestId('publish-result')).toContainText(`Published ${id}@1.0.0`)
  // what this tab published: the corrected record only (the catalog as a whole may still be
  // growing from the relay's sync, so its size proves nothing)
  const mine = await tab.page.evaluate(
    me => {
      const c = window.p2pMarketplace!.catalog
      return c
        .since(0, 100_000)
        .records.filter(r => r.publisher === me)
        .map(r => `${r.id}@${r.version}`)
    },
    await tab.page.evaluate(() => window.p2pMarketplace!.peerId)
  )
  expect(mine).toEqual([`${id}@1.0.0`])
})

test('HTML and script payloads in a package are shown as literal text and run nothing', async ({ peer }) => {
  const [a, b] = [await peer(), await peer()]
  await Promise.all([a.waitOnline(), b.waitOnline()])
  const title = '<img src=x onerror="window.__pwned=1">Evil'
  await a.page.evaluate(
    async title =>
      await window.p2pMarketplace!.publish({
        id: 'evil/payload',
        version: '1.0.0',
        title,
        description: '<script>window.__pwned=2</script><b>bold?</b>',
        license: 'MIT',
        tags: ['<svg onload="window.__pwned=3">']
      }),
    title
  )
  await b.page.getByLabel('Search text').fill('evil')
  await b.page.getByRole('button', { name: 'Search', exact: true }).click()
  const article = b.page.getByRole('article', { name: title })
  await expect(article).toBeVisible({ timeout: 15_000 })
  await expect(article.getByRole('heading')).toHaveText(title)
  await expect(article).toContainText('<script>window.__pwned=2</script><b>bold?</b>')
  await expect(article).toContainText('<svg onload="window.__pwned=3">')
  expect(await article.locator('img, script, svg, b').count()).toBe(0)
  expect(await b.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
})

test('offline state with retry, and traces link to the configured Jaeger UI', async ({ browser }) => {
  // a relay of its own, with a Jaeger UI configured, that this test can kill
  const dataDir = await mkdtemp(join(tmpdir(), 'mp-e2e-ui-relay-'))
  const relay = new RelayProcess(dataDir, await freePort(), await freePort(), {
    JAEGER_UI_URL: 'http://127.0.0.1:16686/'
  })
  await relay.start()
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    await page.goto(relay.url)
    const state = page.getByTestId('node-state')
    await expect(state).toHaveText('Online')

    const { traceId } = await page.evaluate(
      async () =>
        await window.p2pMarketplace!.publish({
          id: 'jaeger/linked',
          version: '1.0.0',
          title: 'Linked',
          description: 'a package whose trace links to Jaeger',
          license: 'MIT'
        })
    )
    await page.goto(`${relay.url}/#trace=${traceId}`)
    await expect(page.getByRole('link', { name: 'Open in Jaeger' })).toHaveAttribute(
      'href',
      `http://127.0.0.1:16686/trace/${traceId}`
    )

    // the relay goes away: the tab says so and offers a retry; once it is back, retrying reconnects
    await relay.stop('SIGKILL')
    await expect(state).toHaveText('Offline', { timeout: 30_000 })
    await expect(page.getByText(/relay unreachable|lost the relay/)).toBeVisible()
    const retry = page.getByRole('button', { name: 'Retry now' })
    await expect(retry).toBeVisible()
    await retry.click() // while the relay is down: the attempt fails and the tab stays offline
    await expect(state).toHaveText('Offline')
    await relay.start()
    // the keeper retries by itself within 5 s; the button makes it immediate (unless it already has)
    await retry.click({ timeout: 2_000 }).catch(() => {})
    await expect(state).toHaveText('Online')
    await expect(page.getByTestId('reservation')).toHaveText('reservation held')
  } finally {
    await context.close()
    await relay.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
})

test("a link naming another relay (?relay=) gets a profile of its own: the default profile's identity and catalog are untouched", async ({
  peer,
  relay
}) => {
  // the default profile: the page's own relay
  const home = await peer()
  const homeId = await home.waitOnline()
  // the same relay under another origin stands for another relay a link names
  const other = relay.url.replace('127.0.0.1', 'localhost')
  const linked = new URL(relay.url)
  linked.searchParams.set('relay', other)
  await home.page.goto('about:blank')
  await home.open(linked.href)
  const linkedId = await home.waitOnline()
  expect(linkedId, 'the linked relay runs another identity').not.toBe(homeId)
  const databases = await home.page.evaluate(async () => (await indexedDB.databases()).map(d => d.name))
  expect(databases).toEqual(expect.arrayContaining(['p2p-marketplace', `p2p-marketplace@${other}`]))
  // and back home: the default profile's identity is still there
  await home.page.goto('about:blank')
  await home.open(relay.url)
  expect(await home.waitOnline()).toBe(homeId)
})

test('a link with ?otlp= asks before traces go to that collector; until then, and if declined, they stay with the relay', async ({
  peer,
  relay,
  collector
}) => {
  const tab = await peer()
  const url = new URL(relay.url)
  url.searchParams.set('otlp', collector.tracesUrl)
  await tab.page.goto('about:blank')
  await tab.open(url.href)
  await tab.waitOnline()
  const question = tab.page.getByTestId('otlp-question')
  await expect(question).toContainText(new URL(collector.tracesUrl).origin)
  // not yet allowed: the search's spans reach the relay, not the collector the link named
  const before = await tab.search({ text: 'otlp consent before' })
  await expect
    .poll(async () => (await relay.trace(before.traceId)).length, { timeout: 30_000 })
    .toBeGreaterThan(0)
  expect(collector.trace(before.traceId)).toEqual([])

  // allowed: the tab reloads and exports there
  await question.getByRole('button', { name: 'Send traces there' }).click()
  await tab.waitOnline()
  await expect(question).toHaveCount(0)
  const after = await tab.search({ text: 'otlp consent after' })
  await expect.poll(() => collector.trace(after.traceId).length, { timeout: 30_000 }).toBeGreaterThan(0)

  // another person, another browser profile: declining keeps the relay's collector and drops the parameter
  const other = await peer()
  await other.page.goto('about:blank')
  await other.open(url.href)
  await other.waitOnline()
  await other.page
    .getByTestId('otlp-question')
    .getByRole('button', { name: 'Keep them with the relay' })
    .click()
  await expect(other.page.getByTestId('otlp-question')).toHaveCount(0)
  expect(new URL(other.page.url()).searchParams.has('otlp')).toBe(false)
})

test('a verified domain name is shown verified and listed first; a plain name taken first is marked unverified and flagged as a look-alike', async ({
  peer,
  newRelay
}) => {
  // react.dev's well-known list, on this machine (the relay's NAME_PROOF_URL, given to its tabs)
  const listed: string[] = []
  const lists = createServer((req, res) => {
    res.setHeader('access-control-allow-origin', '*')
    if (req.url !== '/react.dev.json') return void res.writeHead(404).end()
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ publishers: listed }))
  })
  await new Promise<void>(resolve => lists.listen(0, '127.0.0.1', resolve))
  try {
    const { port } = lists.address() as AddressInfo
    const relay = await newRelay({ NAME_PROOF_URL: `http://127.0.0.1:${port}/{domain}.json` })
    const [genuine, squatter] = [await peer({ relay }), await peer({ relay })]
    const [genuineId] = await Promise.all([genuine.waitOnline(), squatter.waitOnline()])
    listed.push(genuineId)
    // the publish form says which names this tab can publish under, and how they will show
    const keyNamespace = await genuine.page.evaluate(() => window.p2pMarketplace?.keyNamespace ?? '')
    expect(keyNamespace).toMatch(/^k51qzi5uqu5d/)
    await expect(genuine.page.getByTestId('name-hint')).toContainText(keyNamespace)

    const base = { version: '1.0.0', description: 'react components', license: 'MIT' }
    // the squatter takes the plain name first
    await squatter.publish({ ...base, id: 'react/react', title: 'React (plain)' })
    await genuine.publish({ ...base, id: 'react.dev/react', title: 'React (react.dev)' })

    await squatter.page.getByLabel('Search text').fill('react')
    await squatter.page.getByRole('button', { name: 'Search', exact: true }).click()
    const results = squatter.page.getByRole('list', { name: 'Search results' }).getByRole('article')
    await expect(results).toHaveCount(2, { timeout: 15_000 })
    await expect(results.nth(0)).toHaveAccessibleName('React (react.dev)')
    await expect(results.nth(0).locator('[data-name="verified"]')).toHaveText('✓ react.dev')
    await expect(results.nth(0).locator('[data-name="look-alike"]')).toHaveCount(0)
    await expect(results.nth(1)).toHaveAccessibleName('React (plain)')
    await expect(results.nth(1).locator('[data-name="unverified"]')).toBeVisible()
    await expect(results.nth(1).getByRole('note')).toHaveText(
      /looks like react\.dev, a verified name it is not/
    )
  } finally {
    await new Promise(resolve => lists.close(resolve))
  }
})
