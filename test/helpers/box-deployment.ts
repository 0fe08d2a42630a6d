/**
 * The README's internet deployment, inside an {@link InternetBox}: the relay behind Caddy (HTTPS
 * and WSS on 443, certificates from Caddy's internal CA), coturn (STUN and TURN with a shared
 * secret) and a DNS server for `relay.test` and `shop.test`, all in the box's public namespace;
 * browsers in the LAN namespaces that trust the CA and use that DNS.
 */
import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { chromium } from '@playwright/test'
import { CHROMIUM_LAUNCH } from './chromium.ts'
import { PUBLIC_IP, inNs } from './internet-box.ts'
import type { InternetBox, Lan } from './internet-box.ts'
import type { Browser } from '@playwright/test'

const run = promisify(execFile)

export const RELAY_HOST = 'relay.test'
export const SHOP_HOST = 'shop.test'
export const RELAY_ORIGIN = `https://${RELAY_HOST}`
export const SHOP_ORIGIN = `https://${SHOP_HOST}`
export const TURN_SECRET = 'box-turn-secret-0123456789'
/** The relay's HTTP and libp2p ports on the public namespace's loopback (Caddy proxies to them). */
const RELAY_HTTP_PORT = 8080
const RELAY_WS_PORT = 9090

/** The relay's environment in the box: the README's "Running on the internet" settings. */
export function relayEnv(
  dataDir: string,
  overrides: Record<string, string | undefined> = {}
): Record<string, string> {
  const env: Record<string, string | undefined> = {
    HOST: '127.0.0.1',
    PORT: String(RELAY_HTTP_PORT),
    RELAY_PORT: String(RELAY_WS_PORT),
    DATA_DIR: dataDir,
    STATIC_DIR: process.env.STATIC_DIR ?? 'dist',
    PUBLIC_ORIGINS: RELAY_ORIGIN,
    TRUST_PROXY: '1',
    ANNOUNCE_ADDRS: `/dns4/${RELAY_HOST}/tcp/443/wss`,
    ICE_SERVERS: `stun:${RELAY_HOST}:3478,turn:${RELAY_HOST}:3478?transport=udp`,
    TURN_SECRET,
    EMBED_ORIGINS: SHOP_ORIGIN,
    ...overrides
  }
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] != null))
}

/** Resolves once `output()` contains `text`, or rejects after `timeoutMs` with the output so far. */
async function waitForOutput(
  what: string,
  output: () => string,
  text: string | RegExp,
  timeoutMs = 60_000
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const found = (): boolean => (typeof text === 'string' ? output().includes(text) : text.test(output()))
  while (!found()) {
    if (Date.now() > deadline)
      throw new Error(`${what} did not report ${String(text)} in ${timeoutMs} ms:\n${output()}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** A running deployment: coturn, Caddy and the relay (which can be restarted with other settings). */
export class BoxDeployment {
  readonly box: InternetBox
  private readonly dir: string
  private relay?: { child: import('node:child_process').ChildProcess; output: () => string }
  private caddyOutput?: () => string
  private turnOutput?: () => string
  private dnsOutput?: () => string

  private constructor(box: InternetBox, dir: string) {
    this.box = box
    this.dir = dir
  }

  /** Starts coturn, the relay (with `env` over the README's settings) and Caddy; resolves when all serve. */
  static async start(box: InternetBox, env: Record<string, string | undefined> = {}): Promise<BoxDeployment> {
    const dir = await box.tempDir()
    const deployment = new BoxDeployment(box, dir)
    await Promise.all([
      deployment.startDns(),
      deployment.startTurn(),
      deployment.startRelay(env),
      deployment.startCaddy()
    ])
    return deployment
  }

  /** The relay's, Caddy's and coturn's output so far (for a failing test's report). */
  logs(): string {
    return [
      `--- relay\n${this.relay?.output() ?? ''}`,
      `--- caddy\n${this.caddyOutput?.() ?? ''}`,
      `--- coturn\n${this.turnOutput?.() ?? ''}`,
      `--- dns\n${this.dnsOutput?.() ?? ''}`
    ].join('\n')
  }

  private async startDns(): Promise<void> {
    const dns = this.box.spawn(this.box.ns.pub, process.execPath, [
      'test/helpers/box-dns.ts',
      PUBLIC_IP,
      `${RELAY_HOST}=${PUBLIC_IP}`,
      `${SHOP_HOST}=${PUBLIC_IP}`
    ])
    this.dnsOutput = dns.output
    await waitForOutput('the DNS server', dns.output, 'listening')
  }

  private async startTurn(): Promise<void> {
    const turn = this.box.spawn(this.box.ns.pub, 'turnserver', [
      '-n',
      `--listening-ip=${PUBLIC_IP}`,
      `--relay-ip=${PUBLIC_IP}`,
      '--listening-port=3478',
      '--min-port=49160',
      '--max-port=49300',
      '--use-auth-secret',
      `--static-auth-secret=${TURN_SECRET}`,
      `--realm=${RELAY_HOST}`,
      '--fingerprint',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--log-file=stdout',
      '--simple-log',
      `--userdb=${join(this.dir, 'turndb')}`,
      `--pidfile=${join(this.dir, 'turnserver.pid')}`
    ])
    this.turnOutput = turn.output
    // it logs no line when its listeners are open: ask the kernel
    const listening = async (): Promise<boolean> =>
      (await inNs(this.box.ns.pub, 'ss', ['-Hlun']).catch(() => '')).includes(`${PUBLIC_IP}:3478`)
    const deadline = Date.now() + 60_000
    while (!(await listening())) {
      if (Date.now() > deadline || turn.child.exitCode != null) {
        throw new Error(`coturn is not listening on ${PUBLIC_IP}:3478:\n${turn.output()}`)
      }
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  }

  /** Starts the relay with `env` over the README's settings (same DATA_DIR: same peer id). */
  async startRelay(env: Record<string, string | undefined> = {}): Promise<void> {
    const dataDir = join(this.dir, 'relay-data')
    await mkdir(dataDir, { recursive: true })
    this.relay = this.box.spawn(this.box.ns.pub, process.execPath, ['relay/main.ts'], relayEnv(dataDir, env))
    await waitForOutput('the relay', this.relay.output, 'in a browser')
  }

  /** Stops the relay (SIGTERM) and starts it with other settings. */
  async restartRelay(env: Record<string, string | undefined> = {}): Promise<void> {
    const child = this.relay?.child
    if (child != null && child.exitCode == null && child.signalCode == null) {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    await this.startRelay(env)
  }

  private async startCaddy(): Promise<void> {
    const home = join(this.dir, 'caddy-home')
    const shop = join(this.dir, 'shop')
    await mkdir(home, { recursive: true })
    await mkdir(shop, { recursive: true })
    await writeFile(join(shop, 'index.html'), shopPage())
    const caddyfile = join(this.dir, 'Caddyfile')
    await writeFile(caddyfile, caddyConfig(join(this.dir, 'caddy'), shop))
    const caddy = this.box.spawn(
      this.box.ns.pub,
      'caddy',
      ['run', '--config', caddyfile, '--adapter', 'caddyfile'],
      {
        HOME: home,
        XDG_DATA_HOME: join(home, 'data'),
        XDG_CONFIG_HOME: join(home, 'config')
      }
    )
    this.caddyOutput = caddy.output
    await waitForOutput('Caddy', caddy.output, 'serving initial configuration')
    // the root of Caddy's internal CA exists once it has issued the sites' certificates
    await waitForOutput(
      'Caddy',
      caddy.output,
      /certificate obtained successfully.*shop\.test|shop\.test.*certificate obtained successfully/s
    )
  }

  /** Caddy's internal root certificate (PEM), which the box's browsers trust. */
  async rootCertificate(): Promise<string> {
    return await readFile(join(this.dir, 'caddy', 'pki', 'authorities', 'local', 'root.crt'), 'utf8')
  }

  /** Caddy's internal root certificate as a PEM file (for NODE_EXTRA_CA_CERTS, certutil). */
  async rootCertificateFile(): Promise<string> {
    const file = join(this.dir, 'caddy-root.crt')
    await writeFile(file, await this.rootCertificate())
    return file
  }

  /**
   * Runs `npm run doctor -- https://relay.test` as an operator would, from inside a LAN's
   * namespace, trusting Caddy's CA through NODE_EXTRA_CA_CERTS. Resolves with its exit code and output.
   */
  async doctor(lan: Lan, args: string[] = []): Promise<{ code: number | null; output: string }> {
    const { child, output } = this.box.spawn(
      this.box.ns[`lan${lan}`],
      process.execPath,
      ['scripts/doctor.ts', RELAY_ORIGIN, ...args],
      { NODE_EXTRA_CA_CERTS: await this.rootCertificateFile(), NO_COLOR: '1' }
    )
    const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
    return { code, output: output() }
  }

  /**
   * Launches Chromium inside a LAN's namespace, with an NSS database of its own that trusts
   * Caddy's root (as a person's browser would trust a public CA), and `relay.test` / `shop.test`
   * resolving to the public server (through the box's DNS).
   */
  async browserIn(lan: Lan): Promise<Browser> {
    const home = join(this.dir, `home-${lan}`)
    const nss = join(home, '.pki', 'nssdb')
    await mkdir(nss, { recursive: true })
    const root = await this.rootCertificateFile()
    await run('certutil', ['-d', `sql:${nss}`, '-N', '--empty-password']).catch(() => {})
    await run('certutil', ['-d', `sql:${nss}`, '-A', '-n', 'box-root', '-t', 'C,,', '-i', root])
    // the box's DNS (Chromium's --host-resolver-rules would not reach WebRTC's STUN/TURN lookups)
    await this.box.setResolver(this.box.ns[`lan${lan}`], PUBLIC_IP)
    return await chromium.launch({ ...CHROMIUM_LAUNCH, executablePath: await this.box.chromiumIn(lan, home) })
  }
}

/** The Caddyfile of the box: exactly what the README shows, plus a second site embedding the widget. */
function caddyConfig(storage: string, shop: string): string {
  return `{
	admin off
	skip_install_trust
	storage file_system ${storage}
	default_bind ${PUBLIC_IP}
}

${RELAY_HOST} {
	tls internal
	# libp2p's WebSockets (WSS) to the relay's RELAY_PORT, everything else to its PORT
	@libp2p header Upgrade websocket
	reverse_proxy @libp2p 127.0.0.1:${RELAY_WS_PORT}
	reverse_proxy 127.0.0.1:${RELAY_HTTP_PORT}
}

${SHOP_HOST} {
	tls internal
	root * ${shop}
	file_server
}
`
}

/** Another site's page embedding the widget with one script tag. */
function shopPage(): string {
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>A shop</title></head>
  <body>
    <h1>A shop that embeds the marketplace</h1>
    <p2p-marketplace id="shop-widget" query="box" heading="Packages"></p2p-marketplace>
    <script type="module" src="${RELAY_ORIGIN}/widget/p2p-marketplace.js"></script>
  </body>
</html>
`
}
