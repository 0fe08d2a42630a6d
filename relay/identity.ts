import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { InvalidRelayConfigError } from './config.ts'
import type { PrivateKey } from '@libp2p/interface'

/**
 * Loads the relay's key from `DATA_DIR/identity.key` (libp2p protobuf
 * encoding), creating it on first start, so the relay keeps its peer id and
 * browsers' cached addresses stay valid across restarts.
 */
export async function loadRelayIdentity(dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, 'identity.key')
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new InvalidRelayConfigError(
        `cannot read the relay identity key ${path}: ${(err as Error).message}`
      )
    }
    await mkdir(dataDir, { recursive: true })
    const key = await generateKeyPair('Ed25519')
    await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
    return key
  }
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new InvalidRelayConfigError(
      `the relay identity key ${path} is not a libp2p private key (${(err as Error).message}); move it away to create a new identity`
    )
  }
}
