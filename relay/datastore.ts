import { LevelDatastore } from 'datastore-level'
import { describeError } from '../src/core/errors.ts'
import { InvalidRelayConfigError } from './config/errors.ts'

/**
 * Opens the relay's LevelDB datastore at `path`; when it cannot be opened, says where, why
 * (LevelDB's own reason) and what the operator can do.
 */
export async function openRelayDatastore(path: string): Promise<LevelDatastore> {
  const datastore = new LevelDatastore(path)
  try {
    await datastore.open()
    return datastore
  } catch (err) {
    // datastore-level keeps only "Database failed to open": ask LevelDB itself once more for its reason
    const cause = await datastore.db.open().then(
      () => describeError(err),
      (levelErr: Error & { cause?: Error }) => levelErr.cause?.message ?? levelErr.message
    )
    // closing what never opened only tidies up; the error below says what matters
    await datastore.db.close().catch(() => {})
    throw new InvalidRelayConfigError(
      `the datastore ${path} cannot be opened: ${cause}. It holds the catalog, the DHT records, peer reputations and sync cursors (not the identity key): move it away to start with an empty one, which peer relays and tabs fill again`
    )
  }
}
