/**
 * Wire-level names of the marketplace network. Changing any of these forks
 * the network: nodes on different values cannot see each other.
 */

/** Kademlia protocol id: private, so the marketplace stays off the public IPFS DHT. */
export const DHT_PROTOCOL = '/p2p-marketplace/kad/1.0.0'

/** Gossipsub topic on which tabs announce their (relay-circuit) addresses to each other. */
export const DISCOVERY_TOPIC = '/p2p-marketplace/discovery/1.0.0'

/** Gossipsub topic on which packages are announced. */
export const PACKAGES_TOPIC = '/p2p-marketplace/packages/1.0.0'

/** Path of the runtime configuration document served by the relay. */
export const RUNTIME_CONFIG_PATH = '/config.json'

/** How long a tab waits for a relay to answer its reservation request (ms). */
export const RESERVATION_TIMEOUT_MS = 30_000

/**
 * How long a direct (WebRTC) upgrade may take, on both sides (ms). With eight tabs and two
 * CPU hogs on two cores, upgrades cut at 20 s still completed on the far side, leaving
 * duplicate connections behind the dials reported as failed (docs/direct-mesh.md).
 */
export const DIRECT_DIAL_TIMEOUT_MS = 40_000
