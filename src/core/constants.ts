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
 * How long the dialling side of a direct (WebRTC) upgrade waits (ms). A dial that hangs (seen
 * with Node peers: it settles only at its timeout) is retried after this, so it stays short.
 */
export const DIRECT_DIAL_TIMEOUT_MS = 20_000

/**
 * The longest a dial of one pair may be given after its earlier dials timed out (ms): each timeout
 * gives the pair's next dial half as long again, up to this, below the answerer's
 * {@link INBOUND_UPGRADE_TIMEOUT_MS} so that the answerer still never gives up first.
 */
export const DIRECT_DIAL_MAX_TIMEOUT_MS = 28_000

/**
 * WebRTC upgrades a tab runs at once, a window that adapts as TCP's congestion window does: it
 * starts at {@link INITIAL_CONCURRENT_DIRECT_DIALS}, grows by one with each dial that ends
 * direct, up to this, and halves (to one at least) with each dial that times out. Every dial in
 * flight costs both tabs of the pair CPU (ICE, DTLS, SCTP) and relay traffic for its signalling:
 * on a starved machine, eight tabs each dialling all seven others made every handshake slower than
 * the timeout, so most dials failed and their work was wasted (docs/direct-mesh.md, section 6);
 * on a machine that keeps up, a fixed two made a tab dial its peers two at a time.
 */
export const MAX_CONCURRENT_DIRECT_DIALS = 6

/** Where the window of concurrent upgrades starts (see {@link MAX_CONCURRENT_DIRECT_DIALS}). */
export const INITIAL_CONCURRENT_DIRECT_DIALS = 3

/**
 * How long the answering side of a direct upgrade waits (ms): longer than the dialler, so that
 * the answerer never gives up first on a handshake the dialler is still completing; libp2p's
 * default was 10 s (docs/direct-mesh.md).
 */
export const INBOUND_UPGRADE_TIMEOUT_MS = 30_000
