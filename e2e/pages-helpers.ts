import type { PeerPage } from './fixtures.ts'
import type { Locator, Page } from '@playwright/test'

/* What the app's page specs (pages.spec.ts, pages-look.spec.ts) share: a few packages, and how to find them. */

/** Publishes `<ns>/pages-base` 1.0.0 and `<ns>/pages-app` 1.0.0 and 1.1.0 (with a file, a dependency, links). */
export async function publishPages(tab: PeerPage): Promise<string> {
  return await tab.page.evaluate(async () => {
    const node = window.p2pMarketplace!
    const ns = node.keyNamespace
    const base = { license: 'MIT', description: 'A package with a page of its own' }
    await node.publish({ ...base, id: `${ns}/pages-base`, version: '1.0.0', title: 'Pages base' })
    await node.publish({ ...base, id: `${ns}/pages-app`, version: '1.0.0', title: 'Pages app' })
    await node.publish(
      {
        ...base,
        id: `${ns}/pages-app`,
        version: '1.1.0',
        title: 'Pages app',
        tags: ['pages'],
        homepage: 'https://example.com/pages-app',
        repository: 'http://git.example.com/pages-app',
        dependencies: { [`${ns}/pages-base`]: '^1.0.0' }
      },
      { content: new Blob([new Uint8Array(2048).fill(7)]) }
    )
    return ns
  })
}

export async function searchFor(page: Page, text: string): Promise<void> {
  await page.getByLabel('Search text').fill(text)
  await page.getByRole('button', { name: 'Search', exact: true }).click()
}

export const results = (page: Page): Locator => page.getByRole('list', { name: 'Search results' })
/** A result by its package id (titles repeat: other tests on this relay publish under their own keys). */
export const card = (page: Page, id: string): Locator =>
  results(page)
    .getByRole('article')
    .filter({ has: page.getByRole('button', { name: `Details of ${id}`, exact: true }) })
export const details = (page: Page): Locator => page.getByRole('region', { name: 'Package details' })
/** How far the page scrolls sideways (0 or less: not at all). */
export const sideways = async (page: Page): Promise<number> =>
  await page.evaluate(() => document.scrollingElement!.scrollWidth - innerWidth)
