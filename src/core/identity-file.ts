import { AES_GCM } from '@libp2p/crypto/ciphers'
import { privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { fromString, toString } from 'uint8arrays'
import { InvalidIdentityFileError, WrongPassphraseError } from './errors.ts'
import { z } from './zod.ts'
import type { PrivateKey } from '@libp2p/interface'

/** PBKDF2 rounds (SHA-256) deriving the file's AES-GCM key from the passphrase. */
const ITERATIONS = 600_000
/** Shortest passphrase an export takes. */
export const MIN_PASSPHRASE_LENGTH = 10
/** Largest identity file read (an Ed25519 key's file is about 400 bytes). */
const MAX_FILE_CHARS = 4_096

/**
 * A node's key, as a person carries it to another browser: JSON naming the peer id, with the
 * key (libp2p's protobuf encoding) encrypted by libp2p's AES-GCM cipher under a key derived from
 * a passphrase (PBKDF2-SHA-256, 600 000 rounds, 16-byte salt; 12-byte nonce): `salt | nonce |
 * ciphertext | tag`, base64url. The same file opens in a browser and in Node.
 */
const identityFileSchema = z
  .object({
    type: z.literal('p2p-marketplace-identity'),
    version: z.literal(1),
    peerId: z.string().min(1).max(128),
    kdf: z.object({
      name: z.literal('PBKDF2'),
      hash: z.literal('SHA-256'),
      iterations: z.literal(ITERATIONS)
    }),
    cipher: z.literal('AES-128-GCM'),
    key: z.string().min(1).max(1_024)
  })
  .strict()

const cipher = (): ReturnType<typeof AES_GCM.create> => AES_GCM.create({ iterations: ITERATIONS })

/** `key` as an identity file's text, encrypted with `passphrase`. */
export async function exportIdentity(key: PrivateKey, passphrase: string): Promise<string> {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH)
    throw new WrongPassphraseError(`a passphrase needs at least ${MIN_PASSPHRASE_LENGTH} characters`)
  const sealed = await cipher().encrypt(privateKeyToProtobuf(key), passphrase)
  const file: z.infer<typeof identityFileSchema> = {
    type: 'p2p-marketplace-identity',
    version: 1,
    peerId: peerIdFromPrivateKey(key).toString(),
    kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: ITERATIONS },
    cipher: 'AES-128-GCM',
    key: toString(sealed, 'base64url')
  }
  return `${JSON.stringify(file, null, 2)}\n`
}

/**
 * The key in an identity file's `text`, opened with `passphrase`. A file that is not one throws
 * `InvalidIdentityFileError`; the wrong passphrase (or an altered file) `WrongPassphraseError`.
 */
export async function importIdentity(text: string, passphrase: string): Promise<PrivateKey> {
  if (text.length > MAX_FILE_CHARS)
    throw new InvalidIdentityFileError(`an identity file is at most ${MAX_FILE_CHARS} characters`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new InvalidIdentityFileError('this is not an identity file (not JSON)', { cause: err })
  }
  const parsed = identityFileSchema.safeParse(json)
  if (!parsed.success)
    throw new InvalidIdentityFileError(
      `this is not a p2p-marketplace identity file: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`.trim()
    )
  let bytes: Uint8Array
  try {
    bytes = await cipher().decrypt(fromString(parsed.data.key, 'base64url'), passphrase)
  } catch (err) {
    // AES-GCM checks its tag: a wrong passphrase and an altered file look the same
    throw new WrongPassphraseError('the passphrase does not open this identity file', { cause: err })
  }
  const key = privateKeyFromProtobuf(bytes)
  const peerId = peerIdFromPrivateKey(key).toString()
  if (peerId !== parsed.data.peerId)
    throw new InvalidIdentityFileError(`the file names ${parsed.data.peerId} but holds the key of ${peerId}`)
  return key
}
