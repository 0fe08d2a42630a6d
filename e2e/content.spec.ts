import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, submitPublishForm, test } from './fixtures.ts'

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

test('a file published through the form in one tab is downloaded through the page in another and by the command-line client: verified, and byte for byte the same', async ({
  peer,
  relay
}) => {
  const [a, b] = [await peer(), await peer()]
  await Promise.all([a.waitOnline(), b.waitOnline()])
  const artifact = randomBytes(3 * 1024 * 1024)
  const keyNamespace = await a.page.evaluate(() => window.p2pMarketplace!.keyNamespace)
  const id = `${keyNamespace}/artifact`

  await submitPublishForm(a.page, {
    id,
    version: '1.0.0',
    title: 'Artifact',
    description: 'A package with a file, shared peer to peer',
    license: 'MIT',
    file: { name: 'artifact-1.0.0.tgz', mimeType: 'application/gzip', buffer: artifact }
  })
  await expect(a.page.getByTestId('publish-result')).toContainText(`its file bafy`)

  await b.page.getByLabel('Search text').fill('artifact')
  await b.page.getByRole('button', { name: 'Search', exact: true }).click()
  const article = b.page.getByRole('article', { name: 'Artifact' })
  await expect(article).toBeVisible({ timeout: 20_000 })
  await article.getByRole('button', { name: `Details of ${id}` }).click()
  const details = b.page.getByRole('region', { name: 'Package details' })
  await expect(details).toContainText('artifact-1.0.0.tgz, 3145728 bytes')

  const saved = b.page.waitForEvent('download', { timeout: 60_000 })
  await details.getByRole('button', { name: 'Download artifact-1.0.0.tgz (3.0 MiB)' }).click()
  const download = await saved
  expect(download.suggestedFilename()).toBe('artifact-1.0.0.tgz')
  expect(sha256(await readFile(await download.path()))).toBe(sha256(artifact))
  await expect(details.getByTestId('download-result')).toContainText('✓ Verified')
  // network health: the bytes served per peer (by the publisher, and by the relay once it kept it)
  const total = async (tab: typeof a, way: 'sent' | 'received'): Promise<number> =>
    await tab.page.evaluate(
      w => window.p2pMarketplace!.peers().reduce((sum, p) => sum + (p.content?.[w] ?? 0), 0),
      way
    )
  await expect.poll(async () => await total(b, 'received')).toBeGreaterThanOrEqual(artifact.length)
  await expect.poll(async () => await total(a, 'sent')).toBeGreaterThan(0)
  await expect(b.page.locator('mp-peers td.content', { hasText: /↓ \d+\.\d MiB/ }).first()).toBeVisible()
  // the network's health: the download, and the bytes each peer served in it (from its fetch_content span)
  const served = b.page.locator('mp-health [data-figure="content"]')
  await expect(served).toContainText('served', { timeout: 60_000 })
  await expect(served).toContainText('MiB in 1 download')
  // its charts draw once they are on screen
  await served.scrollIntoViewIfNeeded()
  await expect(b.page.locator('mp-health mp-chart canvas').first()).toBeVisible()

  // someone in a terminal fetches what the tab published
  const dir = await mkdtemp(join(tmpdir(), 'mp-e2e-cli-'))
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['src/cli/main.ts', 'fetch', id, '-o', dir, '--relay', relay.url, '--json', '--quiet'],
      { timeout: 120_000 }
    )
    const result = JSON.parse(stdout) as { path: string; sha256: string }
    expect(result.sha256).toBe(sha256(artifact))
    expect(sha256(await readFile(result.path))).toBe(sha256(artifact))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
