import { randomBytes } from 'node:crypto'
import { link, mkdir, open, unlink } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { MemoryDatastore } from 'datastore-core'
import { IDENTITY_KEY, loadOrCreateIdentity } from '../core/identity.ts'
import { KeyFileError } from './errors.ts'
import type { PrivateKey } from '@libp2p/interface'

/** `$XDG_CONFIG_HOME/p2p-marketplace/key`, else `~/.config/p2p-marketplace/key`. */
export function defaultKeyPath(env: NodeJS.ProcessEnv): string {
  const config = env.XDG_CONFIG_HOME != null && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : undefined
  return join(config ?? join(homedir(), '.config'), 'p2p-marketplace', 'key')
}

/**
 * The publisher key in `path`, created on first use. The file holds what a node keeps in its
 * datastore (`src/core/identity.ts`): an Ed25519 key in libp2p's protobuf encoding. It is made
 * mode 0600 from its first byte (in a directory made 0700) and appears under its name only once
 * written whole; an existing file that group or others may read or write is refused.
 */
export async function loadOrCreateKeyFile(
  path: string
): Promise<{ privateKey: PrivateKey; created: boolean }> {
  const bytes = await readKeyFile(path)
  if (bytes != null) return { privateKey: await decode(bytes, path), created: false }
  const datastore = new MemoryDatastore()
  const privateKey = await loadOrCreateIdentity(datastore)
  const written = await writeNewKeyFile(path, await datastore.get(IDENTITY_KEY))
  // another client created it first: use theirs, so both publish with one key
  if (!written) return await loadOrCreateKeyFile(path)
  return { privateKey, created: true }
}

/** The file's bytes; `undefined` when it does not exist. Checked on the open file (no swap in between). */
async function readKeyFile(path: string): Promise<Uint8Array | undefined> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new KeyFileError(`cannot read the key file ${path}: ${(err as Error).message}`, { cause: err })
  }
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw new KeyFileError(`the key file ${path} is not a regular file`)
    if ((stat.mode & 0o077) !== 0)
      throw new KeyFileError(
        `the key file ${path} is accessible to group or others (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}); anyone who reads it can publish as you: run "chmod 600 ${path}" (or remove it to make a new key)`
      )
    if (stat.size > 4096) throw new KeyFileError(`the key file ${path} is too large to be a key`)
    return new Uint8Array(await handle.readFile())
  } finally {
    await handle.close()
  }
}

async function decode(bytes: Uint8Array, path: string): Promise<PrivateKey> {
  const datastore = new MemoryDatastore()
  await datastore.put(IDENTITY_KEY, bytes)
  let key: PrivateKey
  try {
    key = await loadOrCreateIdentity(datastore)
  } catch (err) {
    throw new KeyFileError(`the key file ${path} is not a libp2p private key (${(err as Error).message})`, {
      cause: err
    })
  }
  if (key.type !== 'Ed25519')
    throw new KeyFileError(`the key file ${path} holds an ${key.type} key; publishers sign with Ed25519`)
  return key
}

/**
 * Writes `bytes` to a new file `path` (mode 0600, its directory 0700 when made here): into a
 * temporary file beside it first, then linked under its name, which fails if the name exists.
 * Returns false when another process created `path` meanwhile.
 */
async function writeNewKeyFile(path: string, bytes: Uint8Array): Promise<boolean> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new KeyFileError(`cannot create the directory of the key file ${path}: ${(err as Error).message}`, {
      cause: err
    })
  }
  const temp = join(dirname(path), `.key-${process.pid}-${randomBytes(6).toString('hex')}.tmp`)
  try {
    const handle = await open(temp, 'wx', 0o600)
    try {
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await link(temp, path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new KeyFileError(`cannot create the key file ${path}: ${(err as Error).message}`, { cause: err })
  } finally {
    await unlink(temp).catch(() => {
      // never created (the open failed), or already gone: nothing is left behind
    })
  }
}
