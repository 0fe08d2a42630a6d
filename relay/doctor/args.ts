/** What the command line asks for. */
export type DoctorArgs =
  | { kind: 'run'; url: string; json: boolean }
  | { kind: 'help' }
  /** Bad usage: exit status 2 with this message and the usage line. */
  | { kind: 'usage'; message: string }

export const USAGE = 'usage: npm run doctor -- [--json] <https://relay.example>'

/** `--help`'s text. */
export function doctorHelp(): string {
  return `${USAGE}

Checks a relay deployment from this machine, as the browsers of the people using it will:

  config.json   fetches <url>/config.json and validates it as browsers do; warns when an https
                page gets plain ws:// relay addresses (blocked as mixed content), when there are no
                ICE servers, no TURN server, or TURN URLs without credentials
  relays        dials each relay address with libp2p (WebSockets, Noise, Yamux): connects?, the
                peer id it answers with, ping round trip, circuit relay v2 (hop) offered?
  ICE servers   each stun:/turn: URL of iceServers, over its transport (UDP; TCP for
                ?transport=tcp; TLS for stuns:/turns:, the certificate verified for the URL's
                host): a STUN Binding gives your public address; a TURN allocation, with the
                credentials of config.json, a relayed address (freed at once)

Each check prints a line: ✓ works, ! works with a caveat, ✗ does not work (with what to fix),
- not checked. Credentials are never printed.

options:
  --json        print the report as JSON instead
  -h, --help    this text

exit status: 0 everything works (warnings allowed), 1 something does not, 2 bad usage

A relay or TURN server whose certificate comes from a private CA:
  NODE_EXTRA_CA_CERTS=<root.pem> npm run doctor -- <url>
`
}

export function parseDoctorArgs(argv: readonly string[]): DoctorArgs {
  let json = false
  const positional: string[] = []
  for (const arg of argv) {
    if (arg === '-h' || arg === '--help') return { kind: 'help' }
    if (arg === '--json') json = true
    else if (arg.startsWith('-')) return { kind: 'usage', message: `unknown option ${arg}` }
    else positional.push(arg)
  }
  if (positional.length === 0) return { kind: 'usage', message: "give the relay's URL" }
  if (positional.length > 1) return { kind: 'usage', message: `one URL at a time (got ${positional.length})` }
  const url = positional[0] ?? ''
  if (!/^https?:\/\//i.test(url)) {
    return { kind: 'usage', message: `"${url}" is not an http(s) URL; e.g. https://relay.example` }
  }
  return { kind: 'run', url, json }
}
