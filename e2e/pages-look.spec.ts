import AxeBuilder from '@axe-core/playwright'
import { expect, test } from './fixtures.ts'
import { card, details, publishPages, results, searchFor, sideways } from './pages-helpers.ts'

/**
 * How the app looks to a new visitor: a light and a dark theme (the system's, or the person's
 * choice), a phone-wide page with one section at a time and nothing sideways, and no serious
 * accessibility violation in any of them.
 */

test('dark mode follows the system until the toggle is used; the choice wins and is remembered', async ({
  peer
}) => {
  const tab = await peer()
  const { page } = tab
  const background = async (): Promise<string> =>
    await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
  const cardBg = async (): Promise<string> =>
    await page.evaluate(
      () =>
        getComputedStyle(document.querySelector('mp-search')!.shadowRoot!.querySelector('section')!)
          .backgroundColor
    )
  const light = { page: 'rgb(245, 247, 251)', card: 'rgb(255, 255, 255)' }
  const dark = { page: 'rgb(15, 20, 28)', card: 'rgb(24, 32, 43)' }
  expect(await background()).toBe(light.page)

  await page.emulateMedia({ colorScheme: 'dark' })
  expect([await background(), await cardBg()]).toEqual([dark.page, dark.card])
  const toggle = page.getByRole('button', { name: 'Dark theme' })
  await expect(toggle).toHaveAttribute('aria-pressed', 'true')

  // the person chooses light: it wins over the system's dark, and a reload keeps it
  await toggle.click()
  await expect(toggle).toHaveAttribute('aria-pressed', 'false')
  expect([await background(), await cardBg()]).toEqual([light.page, light.card])
  await page.reload()
  await expect(toggle).toHaveAttribute('aria-pressed', 'false')
  expect(await background()).toBe(light.page)

  // and dark, kept when the system turns light
  await toggle.click()
  await page.emulateMedia({ colorScheme: 'light' })
  await page.reload()
  await expect(toggle).toHaveAttribute('aria-pressed', 'true')
  expect([await background(), await cardBg()]).toEqual([dark.page, dark.card])
})

test('at phone width a tab bar shows one section at a time, tables keep their words whole, and nothing scrolls sideways', async ({
  peer
}) => {
  const [a, b] = [await peer(), await peer()]
  await Promise.all([a.waitOnline(), b.waitOnline()])
  const ns = await publishPages(a)
  const { page } = b
  await page.setViewportSize({ width: 390, height: 844 })
  const tabs = page.getByRole('tablist', { name: 'Sections' })
  await expect(tabs).toBeVisible()
  await expect(page.getByRole('search')).toBeVisible()
  await expect(page.getByLabel('Package id *')).toBeHidden()

  // search first: results and a package's page, and nothing wider than the phone
  await searchFor(page, 'pages app')
  await results(page)
    .getByRole('button', { name: `Details of ${ns}/pages-app` })
    .click({ timeout: 20_000 })
  await expect(details(page).locator('[data-snippet="cli"]')).toBeVisible()
  expect(await sideways(page)).toBeLessThanOrEqual(0)

  await tabs.getByRole('tab', { name: 'Publish' }).click()
  await expect(tabs.getByRole('tab', { name: 'Publish' })).toHaveAttribute('aria-selected', 'true')
  await expect(page.getByLabel('Package id *')).toBeVisible()
  await expect(page.getByRole('search')).toBeHidden()
  expect(await sideways(page)).toBeLessThanOrEqual(0)

  await tabs.getByRole('tab', { name: 'Network' }).click()
  const peers = page.locator('mp-peers')
  await expect(peers.getByRole('heading', { name: /^Peers \(\d+\)$/ })).toBeVisible()
  await expect(peers.locator('tbody tr')).not.toHaveCount(0)
  await expect(page.getByLabel('Package id *')).toBeHidden()
  expect(await sideways(page)).toBeLessThanOrEqual(0)
  // every header and transport cell of the peers table on one line ("Transport", never "Transpo rt")
  const lines = await peers.locator('th, td:nth-child(2)').evaluateAll(cells =>
    cells
      .filter(c => (c as HTMLElement).offsetParent != null)
      .map(c => {
        const range = document.createRange()
        range.selectNodeContents(c)
        return {
          text: c.textContent?.trim(),
          lines: new Set([...range.getClientRects()].map(r => Math.round(r.top))).size
        }
      })
  )
  expect(lines.filter(l => l.lines > 1)).toEqual([])

  // arrow keys move between tabs
  await tabs.getByRole('tab', { name: 'Network' }).press('ArrowRight')
  await expect(tabs.getByRole('tab', { name: 'Traces' })).toBeFocused()
  await expect(page.locator('mp-traces').getByRole('heading', { name: 'Traces' })).toBeVisible()
  await expect(peers).toBeHidden()
  expect(await sideways(page)).toBeLessThanOrEqual(0)

  // a link to a search brings the Search tab back
  await page.evaluate(() => (location.hash = '#/search?q=pages'))
  await expect(tabs.getByRole('tab', { name: 'Search' })).toHaveAttribute('aria-selected', 'true')
  await expect(page.getByRole('search')).toBeVisible()
})

test('no serious accessibility violations at desktop and phone width, light and dark', async ({ peer }) => {
  const [a, b] = [await peer(), await peer()]
  await Promise.all([a.waitOnline(), b.waitOnline()])
  const ns = await publishPages(a)
  const { page } = b
  await searchFor(page, 'pages')
  await expect(card(page, `${ns}/pages-app`)).toBeVisible({ timeout: 20_000 })
  const audit = async (what: string): Promise<void> => {
    const report = await new AxeBuilder({ page }).analyze()
    const serious = report.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    expect(
      serious.map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`),
      what
    ).toEqual([])
  }
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme })
    for (const viewport of [
      { width: 1280, height: 900 },
      { width: 390, height: 844 }
    ]) {
      await page.setViewportSize(viewport)
      await page.evaluate(() => (location.hash = '#/search?q=pages'))
      await expect(card(page, `${ns}/pages-app`)).toBeVisible()
      await audit(`results, ${colorScheme}, ${viewport.width}px`)
      await page.evaluate(id => (location.hash = `#/pkg/${id}@1.1.0`), `${ns}/pages-app`)
      await expect(details(page).getByRole('heading', { name: 'Pages app' })).toBeVisible()
      await audit(`package page, ${colorScheme}, ${viewport.width}px`)
      if (viewport.width < 600) {
        for (const name of ['Publish', 'Network', 'Traces']) {
          await page.getByRole('tab', { name }).click()
          await audit(`${name} tab, ${colorScheme}, ${viewport.width}px`)
        }
        await page.getByRole('tab', { name: 'Search' }).click()
      }
    }
  }
})
