import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { Key } from 'interface-datastore'
import { InvalidIdentityError } from './errors.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** Where the node's own key lives in its datastore. */
export const IDENTITY_KEY = new Key('/marketplace/identity/ed25519')

/**
 * Loads the node's Ed25519 identity from the datastore, creating and storing
 * one on first use, so the peer id survives reloads and restarts.
 */
export async function loadOrCreateIdentity(datastore: Datastore): Promise<PrivateKey> {
  if (await datastore.has(IDENTITY_KEY)) {
    const bytes = await datastore.get(IDENTITY_KEY)
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new InvalidIdentityError(
        `stored identity key ${IDENTITY_KEY.toString()} cannot be decoded: ${String(err)}`,
        {
          cause: err
        }
      )
    }
  }
  const key = await generateKeyPair('Ed25519')
  await datastore.put(IDENTITY_KEY, privateKeyToProtobuf(key))
  return key
}
