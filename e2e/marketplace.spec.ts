import { expect, test } from './fixtures.ts'
import type { PeerPage } from './fixtures.ts'

const manifest = {
  id: 'tabs/colour-picker',
  version: '1.0.0',
  title: 'Colour picker',
  description: 'Pick colours in any browser tab',
  license: 'MIT',
  categories: ['ui'],
  tags: ['colour', 'widget']
}

const searchIds = async (
  tab: PeerPage,
  query: { text: string; tags?: string[]; categories?: string[] }
): Promise<string[]> =>
  await tab.page.evaluate(async q => (await window.p2pMarketplace!.search(q)).packages.map(p => p.id), query)

test('a package published in one tab is found by text, tag and category in others, by a late tab, and survives a reload', async ({
  peer
}) => {
  const [a, b, c] = [await peer(), await peer(), await peer()]
  const idA = await a.waitOnline()
  await Promise.all([b.waitOnline(), c.waitOnline()])

  const result = await a.page.evaluate(async m => await window.p2pMarketplace!.publish(m), manifest)
  expect(result).toMatchObject({ id: manifest.id, version: '1.0.0', dhtStored: true, announced: true })

  for (const tab of [b, c]) {
    await expect
      .poll(async () => await searchIds(tab, { text: 'colour picker' }), { timeout: 15_000 })
      .toContain(manifest.id)
    expect(await searchIds(tab, { text: '', tags: ['widget'] })).toContain(manifest.id)
    expect(await searchIds(tab, { text: 'colour', categories: ['ui'] })).toContain(manifest.id)
    const found = await tab.page.evaluate(
      async id => await window.p2pMarketplace!.getPackage(id),
      manifest.id
    )
    expect(found?.publisher).toBe(idA)
  }

  const late = await peer()
  await late.waitOnline()
  await expect
    .poll(async () => await searchIds(late, { text: 'colour' }), { timeout: 15_000 })
    .toContain(manifest.id)
  // the same search as it goes: this tab's results first, then one batch per answering peer
  const batches = await late.page.evaluate(async () => {
    const steps: Array<{ source: string; from?: string; ids: string[] }> = []
    for await (const batch of window.p2pMarketplace!.searchStream({ text: 'colour' }))
      steps.push({ source: batch.source, from: batch.from, ids: batch.packages.map(p => p.id) })
    return steps
  })
  expect(batches[0]).toMatchObject({ source: 'local', ids: [manifest.id] })
  expect(batches.slice(1).every(b => b.source === 'peer' && b.from != null)).toBe(true)
  expect(batches.length).toBeGreaterThan(1)

  await a.page.reload()
  expect(await a.waitOnline()).toBe(idA)
  const stillThere = await a.page.evaluate(
    async id => await window.p2pMarketplace!.getPackage(id),
    manifest.id
  )
  expect(stillThere).toMatchObject({ id: manifest.id, version: '1.0.0', publisher: idA })
})

test('bad input through the API is refused with a named error and publishes nothing', async ({ peer }) => {
  const tab = await peer()
  await tab.waitOnline()
  const outcome = await tab.page.evaluate(async () => {
    try {
      await window.p2pMarketplace!.publish({
        id: 'Bad Id',
        version: '1',
        title: '',
        description: 'x',
        license: 'MIT'
      })
      return { name: 'none', message: '' }
    } catch (err) {
      return { name: (err as Error).name, message: (err as Error).message }
    }
  })
  expect(outcome.name).toBe('InvalidManifestError')
  expect(outcome.message).toMatch(/id: /)
  expect(outcome.message).toMatch(/version: /)
  expect(outcome.message).toMatch(/title: /)
  expect(await searchIds(tab, { text: 'bad' })).toEqual([])
})
