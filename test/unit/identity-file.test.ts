/** A person's key carried to another browser (issue 19): a passphrase-encrypted identity file. */
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect, test } from 'vitest'
import { exportIdentity, importIdentity } from '../../src/core/identity-file.ts'

test('an exported key opens with its passphrase: the same key, the same peer id', async () => {
  const key = await generateKeyPair('Ed25519')
  const text = await exportIdentity(key, 'correct horse battery')
  const file = JSON.parse(text) as { peerId: string; key: string }
  expect(file.peerId).toBe(peerIdFromPrivateKey(key).toString())
  // the key is not in the file in the clear
  expect(text).not.toContain(Buffer.from(privateKeyToProtobuf(key)).toString('base64url'))
  const back = await importIdentity(text, 'correct horse battery')
  expect(back.equals(key)).toBe(true)
}, 30_000)

test('a wrong passphrase, an altered file, a short passphrase and other text get clear errors', async () => {
  const key = await generateKeyPair('Ed25519')
  const text = await exportIdentity(key, 'correct horse battery')
  await expect(importIdentity(text, 'wrong horse battery')).rejects.toMatchObject({
    name: 'WrongPassphraseError',
    message: 'the passphrase does not open this identity file'
  })
  const file = JSON.parse(text) as { key: string; peerId: string }
  const altered = { ...file, key: `${file.key.slice(0, -4)}AAAA` }
  await expect(importIdentity(JSON.stringify(altered), 'correct horse battery')).rejects.toMatchObject({
    name: 'WrongPassphraseError'
  })
  const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const swapped = await importIdentity(
    JSON.stringify({ ...file, peerId: other }),
    'correct horse battery'
  ).then(
    () => undefined,
    (err: Error) => err
  )
  expect(swapped?.name).toBe('InvalidIdentityFileError')
  expect(swapped?.message).toContain(other)
  await expect(exportIdentity(key, 'short')).rejects.toMatchObject({ name: 'WrongPassphraseError' })
  for (const bad of ['not json', '{"type":"something-else"}', 'x'.repeat(5_000)])
    await expect(importIdentity(bad, 'correct horse battery')).rejects.toMatchObject({
      name: 'InvalidIdentityFileError'
    })
}, 60_000)
