/**
 * An internet in a box: network namespaces joined by veth pairs, three NAT routers (nftables),
 * made and torn down by the tests that use it. Nothing here touches the host's own network
 * namespace: every veth is created with both ends already inside namespaces of the box, and no
 * router has a default route, so no packet can leave the box.
 *
 *                         "public" 198.51.100.0/24 (namespace pub, bridge br0 = .10: relay, Caddy, coturn)
 *            ┌────────────────────┼────────────────────┐
 *      natA .21 (cone)      natB .22 (cone)      natC .23 (symmetric)
 *      192.0.2.1/26         192.0.2.65/26        192.0.2.129/26
 *            │                    │                    │
 *      lanA 192.0.2.2       lanB 192.0.2.66      lanC 192.0.2.130
 *
 * The addresses are documentation ranges (RFC 5737), so a packet that escaped would go nowhere
 * real. Cone NATs map each source endpoint to one public port whatever the destination
 * (masquerade), so STUN's reflexive address works for hole punching; the symmetric NAT maps each
 * destination to a new random port (`masquerade fully-random`), which only TURN crosses.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { ChildProcess } from 'node:child_process'

const run = promisify(execFile)

/**
 * Every namespace of a box is named `<PREFIX><pid>-<n>-<role>` (the pid of the process that made
 * it, the how-manyth box of that process); stale ones are found by it.
 */
export const BOX_PREFIX = 'mpbox'

/** `ip netns exec <ns>` bind-mounts the files of `/etc/netns/<ns>/` over `/etc/` (hosts, resolv.conf). */
const NETNS_ETC = '/etc/netns'

export const PUBLIC_IP = '198.51.100.10'

/** Where each LAN host lives and which router and NAT kind serve it. */
export const LANS = {
  A: { host: '192.0.2.2', router: '192.0.2.1', routerPublic: '198.51.100.21', symmetric: false },
  B: { host: '192.0.2.66', router: '192.0.2.65', routerPublic: '198.51.100.22', symmetric: false },
  C: { host: '192.0.2.130', router: '192.0.2.129', routerPublic: '198.51.100.23', symmetric: true }
} as const
export type Lan = keyof typeof LANS

/** Why the box cannot be built here, or `undefined` when it can (root, `ip`, `nft`). */
export async function boxUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the internet-in-a-box suite needs root (network namespaces)'
  for (const [tool, args] of [
    ['ip', ['-V']],
    ['nft', ['--version']]
  ] as const) {
    try {
      await run(tool, [...args])
    } catch {
      return `the internet-in-a-box suite needs \`${tool}\` (Debian: ${tool === 'ip' ? 'iproute2' : 'nftables'})`
    }
  }
  return undefined
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args)
}

/**
 * A veth pair whose two ends are created straight inside namespaces of the box (`[name, namespace]`
 * each): neither end ever exists in the host's namespace.
 */
async function veth([a, nsA]: [string, string], [b, nsB]: [string, string]): Promise<void> {
  await ip('link', 'add', 'name', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB)
}

/** Runs `command` inside namespace `ns` and returns its output. */
export async function inNs(ns: string, command: string, args: string[], input?: string): Promise<string> {
  if (input == null) return (await run('ip', ['netns', 'exec', ns, command, ...args])).stdout
  return await new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    child.on('error', reject)
    child.on('exit', code =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${command} ${args.join(' ')} in ${ns}: exit ${code}: ${err}`))
    )
    child.stdin.end(input)
  })
}

/** Namespaces whose name starts with `prefix`. */
async function namespaces(prefix: string): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list'])
  return stdout
    .split('\n')
    .map(line => line.split(' ')[0] ?? '')
    .filter(name => name.startsWith(prefix))
}

/** Kills every process in `ns` (SIGKILL), then deletes it (its veths go with it). */
async function removeNamespace(ns: string): Promise<void> {
  const pids = await run('ip', ['netns', 'pids', ns]).then(
    r => r.stdout.split('\n').filter(Boolean),
    () => []
  )
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {
      // gone already
    }
  }
  await ip('netns', 'del', ns).catch(() => {})
  await rm(join(NETNS_ETC, ns), { recursive: true, force: true })
}

/** The id of the process that made a box's namespace or file (`mpbox<pid>-…`). */
function ownerOf(name: string): number {
  return Number(/^mpbox(\d+)-/.exec(name)?.[1] ?? NaN)
}

/** Whether process `pid` is still running (signal 0 only asks). */
function alive(pid: number): boolean {
  if (!Number.isInteger(pid)) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes what boxes left behind when their test run was killed half-way: namespaces (and the
 * processes in them) and resolver files of boxes whose making process is gone. Boxes of running
 * processes (another test run on the machine) are left alone.
 */
export async function removeStaleBoxes(): Promise<string[]> {
  const stale = (await namespaces(BOX_PREFIX)).filter(ns => !alive(ownerOf(ns)))
  for (const ns of stale) await removeNamespace(ns)
  // resolver files of namespaces that went before their files did
  const files = await readdir(NETNS_ETC).catch(() => [])
  for (const name of files.filter(f => f.startsWith(BOX_PREFIX) && !alive(ownerOf(f)))) {
    await rm(join(NETNS_ETC, name), { recursive: true, force: true })
  }
  return stale
}

/** The rules of one NAT router: forward LAN → upstream, masquerade, and a home router's firewall. */
function natRules(symmetric: boolean): string {
  return `
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "up" masquerade${symmetric ? ' fully-random' : ''}
  }
}
table ip filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "up" accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    # an unsolicited packet would leave a conntrack entry that clashes with a later outbound
    # mapping (masquerade then picks another port and hole punching fails): drop it, as a
    # home router's firewall does
    iifname "up" ct state new drop
  }
}
`
}

let boxCount = 0

/** A running internet in a box. */
export class InternetBox {
  readonly id: string
  /** Namespace names by role: pub, natA, natB, natC, lanA, lanB, lanC. */
  readonly ns: Record<'pub' | `nat${Lan}` | `lan${Lan}`, string>
  private readonly processes: ChildProcess[] = []
  private dir?: string

  private constructor(id: string) {
    this.id = id
    const name = (role: string): string => `${BOX_PREFIX}${id}-${role}`
    this.ns = {
      pub: name('pub'),
      natA: name('natA'),
      natB: name('natB'),
      natC: name('natC'),
      lanA: name('lanA'),
      lanB: name('lanB'),
      lanC: name('lanC')
    }
  }

  /** Builds the topology (about a second); on any failure, removes what it made and throws. */
  static async create(): Promise<InternetBox> {
    const box = new InternetBox(`${process.pid}-${(boxCount++).toString(36)}`)
    try {
      await box.build()
    } catch (err) {
      await box.destroy()
      throw err
    }
    return box
  }

  /** A temporary directory of this box (removed with it). */
  async tempDir(): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'mp-box-'))
    return this.dir
  }

  private async build(): Promise<void> {
    const { ns } = this
    for (const name of Object.values(ns)) {
      await ip('netns', 'add', name)
      await inNs(name, 'ip', ['link', 'set', 'lo', 'up'])
    }
    // the public segment: a bridge in pub, the routers' upstream ports on it
    await inNs(ns.pub, 'ip', ['link', 'add', 'br0', 'type', 'bridge'])
    await inNs(ns.pub, 'ip', ['addr', 'add', `${PUBLIC_IP}/24`, 'dev', 'br0'])
    await inNs(ns.pub, 'ip', ['link', 'set', 'br0', 'up'])
    for (const lan of Object.keys(LANS) as Lan[]) {
      const spec = LANS[lan]
      const router = ns[`nat${lan}`]
      const host = ns[`lan${lan}`]
      // router "up" ↔ pub "p<lan>" (on the bridge); router "lan" ↔ host "eth0"
      await veth(['up', router], [`p${lan}`, ns.pub])
      await veth(['lan', router], ['eth0', host])
      await inNs(ns.pub, 'ip', ['link', 'set', `p${lan}`, 'master', 'br0'])
      await inNs(ns.pub, 'ip', ['link', 'set', `p${lan}`, 'up'])
      await inNs(router, 'ip', ['addr', 'add', `${spec.routerPublic}/24`, 'dev', 'up'])
      await inNs(router, 'ip', ['addr', 'add', `${spec.router}/26`, 'dev', 'lan'])
      await inNs(router, 'ip', ['link', 'set', 'dev', 'up', 'up'])
      await inNs(router, 'ip', ['link', 'set', 'dev', 'lan', 'up'])
      await inNs(router, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'])
      await inNs(router, 'nft', ['-f', '-'], natRules(spec.symmetric))
      await inNs(host, 'ip', ['addr', 'add', `${spec.host}/26`, 'dev', 'eth0'])
      await inNs(host, 'ip', ['link', 'set', 'eth0', 'up'])
      // the LAN host's default route (WebRTC gathers no candidates without one) leads to its NAT,
      // and the NAT itself has none: anything not for the public segment is dropped there
      await inNs(host, 'ip', ['route', 'add', 'default', 'via', spec.router])
    }
  }

  /**
   * Starts a process inside namespace `ns` (killed by {@link destroy} if still running).
   * Its output is collected in the returned object's `output`.
   */
  spawn(
    ns: string,
    command: string,
    args: string[],
    env: Record<string, string> = {}
  ): { child: ChildProcess; output: () => string } {
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    const keep = (chunk: Buffer): void => {
      output += chunk.toString()
      if (output.length > 2_000_000) output = output.slice(-1_000_000)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.processes.push(child)
    return { child, output: () => output }
  }

  /**
   * Makes `ns` resolve names with the DNS server at `nameserver` (its own resolv.conf, which
   * `ip netns exec` mounts over the host's; the hosts file knows only localhost).
   */
  async setResolver(ns: string, nameserver: string): Promise<void> {
    await mkdir(join(NETNS_ETC, ns), { recursive: true })
    await writeFile(
      join(NETNS_ETC, ns, 'resolv.conf'),
      `nameserver ${nameserver}\noptions timeout:2 attempts:2\n`
    )
    await writeFile(join(NETNS_ETC, ns, 'hosts'), '127.0.0.1\tlocalhost\n')
  }

  /** A script that starts Chromium inside the LAN's namespace (for Playwright's `executablePath`). */
  async chromiumIn(lan: Lan, home: string): Promise<string> {
    const path = join(await this.tempDir(), `chromium-${lan}.sh`)
    const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
    await writeFile(
      path,
      `#!/bin/sh\nexec ip netns exec ${this.ns[`lan${lan}`]} env HOME=${home} ${chromium} "$@"\n`,
      { mode: 0o755 }
    )
    return path
  }

  /** Kills the box's processes, deletes its namespaces and temporary files. Safe to call twice. */
  async destroy(): Promise<void> {
    for (const child of this.processes) {
      if (child.exitCode == null && child.signalCode == null) child.kill('SIGKILL')
    }
    for (const name of Object.values(this.ns)) await removeNamespace(name)
    if (this.dir != null) await rm(this.dir, { recursive: true, force: true })
  }
}
