/**
 * Every setting of the relay: its flag, environment variable, default and help line.
 * `--help` and the parser are both generated from this table, so they cannot drift.
 */
export const OPTIONS = {
  port: {
    type: 'string',
    env: 'PORT',
    default: '8080',
    help: 'HTTP port: web app, runtime config, embedded collector (/v1/traces) and its query API'
  },
  'relay-port': {
    type: 'string',
    env: 'RELAY_PORT',
    default: '9090',
    help: 'libp2p WebSockets port of the relay'
  },
  host: { type: 'string', env: 'HOST', default: '127.0.0.1', help: 'interface both listen on' },
  'announce-addrs': {
    type: 'string',
    env: 'ANNOUNCE_ADDRS',
    help: 'ws/wss multiaddrs given to browsers and advertised, comma-separated (/p2p/<id> appended), e.g. /dns4/relay.example.com/tcp/443/wss; default: the listen addresses'
  },
  'public-origins': {
    type: 'string',
    env: 'PUBLIC_ORIGINS',
    help: 'origins people reach the web side at, comma-separated (e.g. https://market.example): origin checks and the URLs the relay hands out; default: http(s)://HOST:PORT'
  },
  'tls-cert': {
    type: 'string',
    env: 'TLS_CERT',
    help: 'PEM certificate (chain): HTTPS on PORT and WSS on RELAY_PORT; a renewed file is picked up without a restart'
  },
  'tls-key': { type: 'string', env: 'TLS_KEY', help: 'PEM private key of TLS_CERT' },
  'trust-proxy': {
    type: 'boolean',
    env: 'TRUST_PROXY',
    help: 'behind a reverse proxy (1 or true): honour X-Forwarded-Proto/-Host when they name a public origin'
  },
  'ice-servers': {
    type: 'string',
    env: 'ICE_SERVERS',
    help: "STUN/TURN URLs for browsers' WebRTC, comma-separated (stun:host:3478,turn:host:3478?transport=udp)"
  },
  'turn-secret': {
    type: 'string',
    env: 'TURN_SECRET',
    help: "TURN server's static-auth-secret (coturn use-auth-secret): time-limited credentials for the turn: URLs; never sent to browsers"
  },
  'turn-ttl': {
    type: 'string',
    env: 'TURN_TTL',
    default: '3600',
    help: 'lifetime in seconds of minted TURN credentials'
  },
  'relay-peers': {
    type: 'string',
    env: 'RELAY_PEERS',
    help: 'other relays to peer with: comma-separated multiaddrs, each ending in /p2p/<peer id>'
  },
  'data-dir': {
    type: 'string',
    env: 'DATA_DIR',
    default: './.data',
    help: 'relay identity key and datastore (records survive restarts)'
  },
  'otel-endpoint': {
    type: 'string',
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    help: 'upstream OTLP/HTTP collector base URL (/v1/traces is appended)'
  },
  'otel-traces-endpoint': {
    type: 'string',
    env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    help: 'upstream OTLP/HTTP traces URL, used as is'
  },
  'otel-headers': {
    type: 'string',
    env: 'OTEL_EXPORTER_OTLP_HEADERS',
    help: 'headers for the upstream collector, "key=value,key2=value2"; never sent to browsers'
  },
  'otel-traces-headers': {
    type: 'string',
    env: 'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
    help: 'headers for the upstream traces endpoint, same format; each wins over the same header of OTEL_EXPORTER_OTLP_HEADERS'
  },
  'otel-protocol': {
    type: 'string',
    env: 'OTEL_EXPORTER_OTLP_PROTOCOL',
    default: 'http/protobuf',
    help: 'how spans go upstream: http/protobuf or http/json (grpc is not supported)'
  },
  'otel-traces-protocol': {
    type: 'string',
    env: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
    help: 'the same for traces, over OTEL_EXPORTER_OTLP_PROTOCOL'
  },
  'otel-compression': {
    type: 'string',
    env: 'OTEL_EXPORTER_OTLP_COMPRESSION',
    default: 'none',
    help: 'compression of what goes upstream: gzip or none'
  },
  'otel-traces-compression': {
    type: 'string',
    env: 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION',
    help: 'the same for traces, over OTEL_EXPORTER_OTLP_COMPRESSION'
  },
  'otel-timeout': {
    type: 'string',
    env: 'OTEL_EXPORTER_OTLP_TIMEOUT',
    default: '10000',
    help: 'milliseconds the upstream has to answer one export (1 to 600000)'
  },
  'otel-traces-timeout': {
    type: 'string',
    env: 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
    help: 'the same for traces, over OTEL_EXPORTER_OTLP_TIMEOUT'
  },
  'service-name': {
    type: 'string',
    env: 'OTEL_SERVICE_NAME',
    default: 'p2p-marketplace-relay',
    help: "service name of the relay's spans (wins over service.name in OTEL_RESOURCE_ATTRIBUTES)"
  },
  'otel-resource-attributes': {
    type: 'string',
    env: 'OTEL_RESOURCE_ATTRIBUTES',
    help: 'attributes added to the relay\'s resource, "key=value,key2=value2" (percent-encoded)'
  },
  'otel-sdk-disabled': {
    type: 'boolean',
    env: 'OTEL_SDK_DISABLED',
    help: "true: the relay records no spans of its own and sends nothing upstream; its collector still takes and shows browsers' spans"
  },
  'static-dir': {
    type: 'string',
    env: 'STATIC_DIR',
    default: './dist',
    help: 'directory of the built web app'
  },
  'embed-origins': {
    type: 'string',
    env: 'EMBED_ORIGINS',
    help: 'origins of sites embedding the widget, comma-separated (or *): allowed to export and query traces'
  },
  'collector-token': {
    type: 'string',
    env: 'COLLECTOR_TOKEN',
    help: 'secret that tools (no browser Origin) send as "Authorization: Bearer <token>" to export to and query the collector of a public relay'
  },
  'name-proof-url': {
    type: 'string',
    env: 'NAME_PROOF_URL',
    help: 'where a domain namespace lists its publisher keys, {domain} replaced (default https://{domain}/.well-known/p2p-marketplace.json); set, it is also given to tabs and may be on a private address'
  },
  'content-quota': {
    type: 'string',
    env: 'CONTENT_QUOTA',
    default: '10GiB',
    help: 'package content the relay keeps in DATA_DIR/blocks, in all (bytes, or with KiB/MiB/GiB); once full it keeps no new content, what it holds stays'
  },
  'content-quota-per-publisher': {
    type: 'string',
    env: 'CONTENT_QUOTA_PER_PUBLISHER',
    default: '1GiB',
    help: "package content the relay keeps per publisher key, in all (bytes, or with KiB/MiB/GiB); past it, that key's new content is left to the peers that have it"
  },
  'content-max-bytes': {
    type: 'string',
    env: 'CONTENT_MAX_BYTES',
    default: '100MiB',
    help: 'largest package content the relay keeps (bytes, or with KiB/MiB/GiB); larger content is left to the peers that have it'
  },
  'jaeger-ui-url': {
    type: 'string',
    env: 'JAEGER_UI_URL',
    help: 'Jaeger UI base URL (e.g. http://localhost:16686): the trace panel links each trace there'
  },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
} as const

export type OptionName = keyof typeof OPTIONS

/** The `--help` text, generated from the option table. */
export function helpText(): string {
  const lines = [
    'Usage: npm start -- [options]   (or: node relay/main.ts [options])',
    '',
    'Every option can also be set by its environment variable; a flag wins over the variable.',
    ''
  ]
  for (const [name, spec] of Object.entries(OPTIONS)) {
    const env = 'env' in spec ? spec.env : ''
    const def = 'default' in spec ? ` (default: ${spec.default})` : ''
    lines.push(`  --${name.padEnd(24)} ${env.padEnd(37)} ${spec.help}${def}`)
  }
  return lines.join('\n')
}
