import { expect, test } from './fixtures.ts'

/**
 * A person's key (issue 19): seen with the namespaces it owns, carried to another browser as a
 * passphrase-encrypted file, and a second tab on a temporary key that publishes only on purpose.
 */
test('a key exported in one browser and imported in another publishes under the same namespace; a wrong passphrase says so', async ({
  peer
}) => {
  const [a, b] = [await peer(), await peer()]
  const [idA] = await Promise.all([a.waitOnline(), b.waitOnline()])
  const keyNamespace = await a.page.evaluate(() => window.p2pMarketplace!.keyNamespace)
  const cardA = a.page.locator('mp-identity')
  await expect(cardA.getByTestId('identity-peer-id')).toHaveText(idA)
  await expect(cardA.getByTestId('identity-namespaces')).toContainText(keyNamespace)

  // export from A: a file protected by a passphrase
  const exportForm = cardA.getByRole('form', { name: 'Export your key' })
  await exportForm.getByLabel('Passphrase for the file').fill('correct horse battery')
  const saved = a.page.waitForEvent('download')
  await exportForm.getByRole('button', { name: 'Export key file' }).click()
  const file = await (await saved).path()
  expect(JSON.parse(await (await import('node:fs/promises')).readFile(file, 'utf8'))).toMatchObject({
    type: 'p2p-marketplace-identity',
    peerId: idA
  })

  // B imports it: a wrong passphrase is refused, the right one makes B's key A's
  const cardB = b.page.locator('mp-identity')
  const importForm = cardB.getByRole('form', { name: 'Import a key' })
  await importForm.getByLabel('Key file').setInputFiles(file)
  await importForm.getByLabel('Its passphrase').fill('wrong horse battery')
  await importForm.getByRole('button', { name: 'Import key' }).click()
  await expect(cardB.getByRole('alert')).toContainText('the passphrase does not open this identity file')
  await importForm.getByLabel('Its passphrase').fill('correct horse battery')
  const reloaded = b.page.waitForEvent('load')
  await importForm.getByRole('button', { name: 'Import key' }).click()
  await reloaded
  expect(await b.waitOnline()).toBe(idA)
  await a.page.close()
  const published = await b.page.evaluate(
    async id =>
      await window.p2pMarketplace!.publish({
        id,
        version: '1.0.0',
        title: 'Moved',
        description: 'published from another browser with the same key',
        license: 'MIT'
      }),
    `${keyNamespace}/moved`
  )
  expect(published.id).toBe(`${keyNamespace}/moved`)
  const record = await b.page.evaluate(
    async id => await window.p2pMarketplace!.getPackage(id),
    `${keyNamespace}/moved`
  )
  expect(record?.publisher).toBe(idA)
})

test('a second tab of a browser runs on a temporary key: it says so and publishes only when the person chooses to', async ({
  peer,
  relay
}) => {
  const first = await peer()
  await first.waitOnline()
  const second = await first.context.newPage()
  await second.goto(relay.url)
  await second.waitForFunction(() => window.p2pMarketplace?.status().state === 'online', undefined, {
    timeout: 30_000
  })
  expect(await second.evaluate(() => window.p2pMarketplace!.temporaryKey)).toBe(true)
  const form = second.locator('mp-publish')
  await expect(form.getByTestId('temporary-key')).toContainText('This tab runs on a temporary key')
  await expect(form.getByRole('button', { name: 'Publish', exact: true })).toBeDisabled()
  const refused = await second.evaluate(async () => {
    const node = window.p2pMarketplace!
    const manifest = {
      id: `${node.keyNamespace}/throwaway`,
      version: '1.0.0',
      title: 'Throwaway',
      description: 'not on purpose',
      license: 'MIT'
    }
    return await node.publish(manifest).then(
      () => 'published',
      (err: Error) => err.name
    )
  })
  expect(refused).toBe('TemporaryKeyError')
  await form.getByRole('button', { name: 'Publish with this temporary key' }).click()
  await expect(form.getByRole('button', { name: 'Publish', exact: true })).toBeEnabled()
  await expect(second.locator('mp-identity')).toContainText('a temporary key')
})
