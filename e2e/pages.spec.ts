import { expect, test } from './fixtures.ts'
import { card, details, publishPages, results, searchFor } from './pages-helpers.ts'

/**
 * The app as a new visitor uses it: a search and a package's page at URLs that survive a reload
 * and that back returns through; empty lists that say what to do; links a package names shown as
 * links only when they are http(s).
 */

test('a search and a package page live at URLs: shared, reloaded, and back returns to the previous search', async ({
  peer,
  relay
}) => {
  const tab = await peer()
  await tab.waitOnline()
  const ns = await publishPages(tab)
  const { page } = tab

  await searchFor(page, 'pages app')
  await expect(page).toHaveURL(/#\/search\?q=pages\+app$/)
  await expect(card(page, `${ns}/pages-app`)).toBeVisible()
  await searchFor(page, 'pages base')
  await expect(page).toHaveURL(/#\/search\?q=pages\+base$/)
  await expect(card(page, `${ns}/pages-base`)).toBeVisible()

  // back: the previous search, its words in the form and its results on the page
  await page.goBack()
  await expect(page).toHaveURL(/#\/search\?q=pages\+app$/)
  await expect(page.getByLabel('Search text')).toHaveValue('pages app')
  await expect(card(page, `${ns}/pages-app`)).toBeVisible()
  await expect(card(page, `${ns}/pages-base`)).toHaveCount(0)

  // the package's page: every version with its date, who published it, links, snippets
  await results(page)
    .getByRole('button', { name: `Details of ${ns}/pages-app` })
    .click()
  await expect(page).toHaveURL(new RegExp(`#/pkg/${ns}/pages-app@1\\.1\\.0$`))
  const pkg = details(page)
  await expect(pkg.getByRole('heading', { name: 'Pages app' })).toBeVisible()
  await expect(pkg.getByRole('list', { name: 'Versions (2)' }).getByRole('listitem')).toHaveCount(2)
  const published = pkg.locator('time').first()
  await expect(published).toHaveText(/now|second|minute/)
  await expect(published).toHaveAttribute('title', /\d{4}/)
  await expect(pkg.locator('[data-provenance]')).toHaveText('published here')
  await expect(pkg.getByText('✓ signature verified')).toBeVisible()
  const homepage = pkg.getByRole('link', { name: 'https://example.com/pages-app' })
  await expect(homepage).toHaveAttribute('href', 'https://example.com/pages-app')
  await expect(homepage).toHaveAttribute('rel', 'noopener noreferrer')
  await expect(pkg.getByRole('link', { name: 'http://git.example.com/pages-app' })).toBeVisible()
  const origin = new URL(relay.url).origin
  await expect(pkg.locator('[data-snippet="cli"]')).toContainText(
    `npx p2p-marketplace fetch ${ns}/pages-app@1.1.0 --relay ${origin}`
  )
  await expect(pkg.locator('[data-snippet="embed"]')).toContainText(
    `<p2p-marketplace package="${ns}/pages-app@1.1.0"></p2p-marketplace>`
  )

  // a dependency is a link to its page (the latest version, named in the URL), and back returns
  await pkg.getByRole('link', { name: `${ns}/pages-base` }).click()
  await expect(page).toHaveURL(new RegExp(`#/pkg/${ns}/pages-base@1\\.0\\.0$`))
  await expect(pkg.getByRole('heading', { name: 'Pages base' })).toBeVisible()
  await expect(pkg.locator('[data-snippet="cli"]')).toHaveCount(0) // no file, nothing to fetch
  await page.goBack()
  await expect(pkg.getByRole('heading', { name: 'Pages app' })).toBeVisible()

  // an older version's page, reloaded: the same page once the node is back online
  await pkg.getByRole('link', { name: `${ns}/pages-app 1.0.0` }).click()
  await expect(page).toHaveURL(new RegExp(`#/pkg/${ns}/pages-app@1\\.0\\.0$`))
  await page.reload()
  await tab.waitOnline()
  await expect(pkg.getByRole('heading', { name: 'Pages app' })).toBeVisible()
  await expect(pkg.locator('[aria-current="page"]')).toHaveText('1.0.0')

  // …and back through the history the reload kept, to the search, which reloads too
  await page.goBack()
  await expect(page).toHaveURL(new RegExp(`#/pkg/${ns}/pages-app@1\\.1\\.0$`))
  await page.goBack()
  await expect(page).toHaveURL(/#\/search\?q=pages\+app$/)
  await page.reload()
  await tab.waitOnline()
  await expect(page.getByLabel('Search text')).toHaveValue('pages app')
  await expect(card(page, `${ns}/pages-app`)).toBeVisible()

  // the link shared: another person opens it and gets the page from the network
  const other = await peer()
  await other.waitOnline()
  await other.open(`${relay.url}/#/pkg/${ns}/pages-app@1.1.0`)
  await expect(details(other.page).getByRole('heading', { name: 'Pages app' })).toBeVisible({
    timeout: 20_000
  })
  await expect(details(other.page).locator('[data-provenance]')).not.toHaveText('published here')
})

test('a search with no results, and a node with no peers, say so and what to do', async ({ peer }) => {
  const tab = await peer()
  await tab.waitOnline()
  await searchFor(tab.page, 'no such package anywhere')
  await expect(tab.page.locator('mp-search [data-empty="results"]')).toContainText(
    'No packages match “no such package anywhere”'
  )
  await expect(tab.page.locator('mp-peers [data-empty="peers"]')).toContainText('No other tabs yet')
  // the counts agree between the connection card and the peers panel
  const counts = tab.page.getByTestId('peer-counts')
  await expect(counts).toHaveCount(2)
  expect(await counts.nth(0).innerText()).toBe(await counts.nth(1).innerText())
  await expect(tab.page.getByTestId('node-state')).toHaveText('Online')
  await expect(tab.page.locator('mp-connection')).not.toContainText('Online online')
})

test('a homepage that is not http(s) is shown as text, never as a link', async ({ peer }) => {
  const tab = await peer()
  await tab.waitOnline()
  // a record past the schema (which refuses such URLs) stands for one from an older or hostile node
  await tab.page.evaluate(() => {
    const node = window.p2pMarketplace!
    const hostile = {
      id: 'hostile/links',
      version: '1.0.0',
      title: 'Hostile links',
      description: 'Its links run script or carry a page',
      license: 'MIT',
      homepage: 'javascript:alert(document.domain)',
      repository: 'data:text/html,<script>alert(1)</script>',
      publisher: node.peerId,
      publishedAt: new Date().toISOString(),
      signature: 'A'.repeat(86)
    }
    const getPackage = node.getPackage.bind(node)
    const listVersions = node.listVersions.bind(node)
    node.getPackage = async (id, version, options) =>
      id === hostile.id ? hostile : await getPackage(id, version, options)
    node.listVersions = async (id, options) =>
      id === hostile.id ? [hostile.version] : await listVersions(id, options)
    location.hash = '#/pkg/hostile/links@1.0.0'
  })
  const pkg = details(tab.page)
  await expect(pkg.getByRole('heading', { name: 'Hostile links' })).toBeVisible()
  await expect(pkg).toContainText('javascript:alert(document.domain)')
  await expect(pkg.locator('[data-unsafe-url]')).toHaveCount(2)
  await expect(pkg.getByRole('link', { name: /javascript:|data:/ })).toHaveCount(0)
  expect(
    await pkg.locator('a').evaluateAll(as => as.map(a => (a as HTMLAnchorElement).protocol))
  ).not.toContain('javascript:')
})
