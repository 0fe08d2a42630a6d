import AxeBuilder from '@axe-core/playwright'
import { expect, test } from './fixtures.ts'

test('the app has no serious accessibility violations, online, at desktop and phone widths, light and dark', async ({
  peer
}) => {
  const tab = await peer()
  await tab.waitOnline()
  // audit the full UI: results, details, a trace waterfall and a span's details on screen
  const { traceId } = await tab.page.evaluate(
    async () =>
      await window.p2pMarketplace!.publish({
        id: 'a11y/widget',
        version: '1.0.0',
        title: 'Accessible widget',
        description: 'audited',
        license: 'MIT',
        tags: ['a11y']
      })
  )
  await tab.page.getByLabel('Search text').fill('accessible')
  await tab.page.getByRole('button', { name: 'Search', exact: true }).click()
  await tab.page.getByRole('button', { name: 'Details of a11y/widget' }).click()
  await tab.page.evaluate(id => (location.hash = `trace=${id}`), traceId)
  await tab.page.getByRole('button', { name: 'Span publish', exact: true }).click({ timeout: 15_000 })
  await expect(tab.page.getByRole('region', { name: 'Span details' })).toBeVisible()
  for (const colorScheme of ['light', 'dark'] as const) {
    await tab.page.emulateMedia({ colorScheme })
    for (const viewport of [
      { width: 1280, height: 900 },
      { width: 390, height: 844 }
    ]) {
      await tab.page.setViewportSize(viewport)
      const results = await new AxeBuilder({ page: tab.page }).analyze()
      const serious = results.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
      expect(
        serious.map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`),
        `at ${viewport.width}px, ${colorScheme}`
      ).toEqual([])
    }
  }
  // at phone width nothing scrolls sideways
  const overflow = await tab.page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth
  )
  expect(overflow).toBeLessThanOrEqual(0)
})
