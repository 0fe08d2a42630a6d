import { parseArgs } from 'node:util'
import semver from 'semver'
import { PACKAGE_ID } from '../core/package/schema.ts'
import { UsageError } from './errors.ts'

export type CommandName = 'search' | 'info' | 'fetch' | 'publish' | 'key'

/** The options every command takes. */
export interface CommonOptions {
  /** The relay's HTTP origin (`--relay`, else `P2P_MARKETPLACE_RELAY`). */
  relay: string
  json: boolean
  quiet: boolean
  /** How long one wait may take (the relay, a lookup, the next block of content), ms. */
  timeoutMs: number
  /** `--key`, else the default key file. */
  key?: string
}

export type Invocation =
  | { kind: 'help'; command?: CommandName }
  | { kind: 'version' }
  | { kind: 'run'; command: CommandName; positionals: string[]; options: CommandOptions }

export interface CommandOptions extends CommonOptions {
  tags?: string[]
  limit?: number
  output?: string
  force: boolean
}

const OPTIONS = {
  relay: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  timeout: { type: 'string' },
  key: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  tags: { type: 'string' },
  limit: { type: 'string' },
  output: { type: 'string', short: 'o' },
  force: { type: 'boolean', short: 'f' }
} as const

const COMMON = ['relay', 'json', 'quiet', 'timeout', 'help'] as const

/** Each command: its positionals (`name?` optional) and the options it takes besides the common ones. */
const COMMANDS: Record<CommandName, { args: string[]; options: string[]; summary: string; more: string }> = {
  search: {
    args: ['text'],
    options: ['tags', 'limit'],
    summary: 'search the network for packages',
    more: `  --tags a,b       only packages with all of these tags
  --limit N        at most N results (default 20, at most 100)`
  },
  info: {
    args: ['id[@version]'],
    options: [],
    summary: "show a package: its versions, publisher, content's CID and size",
    more: ''
  },
  fetch: {
    args: ['id[@version]'],
    options: ['output', 'force'],
    summary: "download a package's content, verified, into a file",
    more: `  -o, --output F   write to F (a directory: the default name inside it; "-": standard output);
                   default: the content's name from the signed record, else <name>-<version>
  -f, --force      replace F if it exists`
  },
  publish: {
    args: ['manifest.json', 'file?'],
    options: ['key'],
    summary: 'sign and publish a manifest, with a file as its content',
    more: `  --key PATH       the publisher key file (created on first use, mode 0600);
                   default $XDG_CONFIG_HOME/p2p-marketplace/key or ~/.config/p2p-marketplace/key`
  },
  key: {
    args: [],
    options: ['key'],
    summary: 'show the publisher key (peer id, key namespace), creating it on first use',
    more: `  --key PATH       the key file (default as for publish)`
  }
}

/** The common options' help, by option: `key` needs no relay. */
const COMMON_HELP: Array<[string, string]> = [
  [
    'relay',
    "  --relay URL      the relay's HTTP origin, e.g. http://127.0.0.1:8080 (env P2P_MARKETPLACE_RELAY)"
  ],
  [
    'timeout',
    '  --timeout S      seconds to wait for the relay, a package or the next block of content (default 30)'
  ],
  ['json', '  --json           print the result as JSON on stdout, and nothing else there'],
  ['quiet', '  -q, --quiet      print nothing on stderr (no progress); errors only through the exit code'],
  ['help', '  -h, --help       this help']
]

function commonHelp(command?: CommandName): string {
  return COMMON_HELP.filter(([name]) => command !== 'key' || (name !== 'relay' && name !== 'timeout'))
    .map(([, line]) => line)
    .join('\n')
}

/** The help of the whole client, or of one command. */
export function helpText(command?: CommandName): string {
  if (command != null) {
    const spec = COMMANDS[command]
    const args = spec.args.map(a => (a.endsWith('?') ? `[${a.slice(0, -1)}]` : `<${a}>`)).join(' ')
    return `Usage: p2p-marketplace ${command}${args !== '' ? ` ${args}` : ''} [options]

${spec.summary[0]?.toUpperCase()}${spec.summary.slice(1)}.

Options:
${spec.more !== '' ? `${spec.more}\n` : ''}${commonHelp(command)}
`
  }
  const list = Object.entries(COMMANDS)
    .map(([name, spec]) => `  ${name.padEnd(9)}${spec.summary}`)
    .join('\n')
  return `Usage: p2p-marketplace <command> [options]

Commands:
${list}

Options:
${commonHelp()}
  -V, --version    print the version

"p2p-marketplace <command> --help" shows a command's options.
Exit codes: 0 ok, 1 unexpected failure, 2 usage error, 3 not found, 4 network, 5 verification failed,
130 interrupted.
`
}

/** Reads the command line (and `P2P_MARKETPLACE_RELAY`); throws `UsageError` naming what is wrong. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv): Invocation {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? String(err))
  }
  const { values, positionals } = parsed
  const [first, ...rest] = positionals
  if (first != null && !(first in COMMANDS)) {
    if (first === 'help') return { kind: 'help', ...(isCommand(rest[0]) ? { command: rest[0] } : {}) }
    throw new UsageError(`unknown command "${first}" (one of ${Object.keys(COMMANDS).join(', ')})`)
  }
  const command = first as CommandName | undefined
  if (values.help === true) return { kind: 'help', ...(command != null ? { command } : {}) }
  if (values.version === true) return { kind: 'version' }
  if (command == null) throw new UsageError('no command given')
  const spec = COMMANDS[command]
  for (const name of Object.keys(values)) {
    if (!(COMMON as readonly string[]).includes(name) && !spec.options.includes(name))
      throw new UsageError(`--${name} is not an option of ${command}`)
  }
  const required = spec.args.filter(a => !a.endsWith('?')).length
  if (rest.length < required) throw new UsageError(`${command} needs <${spec.args[rest.length]}>`)
  if (rest.length > spec.args.length) throw new UsageError(`${command}: unexpected argument "${rest.at(-1)}"`)

  const relay = values.relay ?? env.P2P_MARKETPLACE_RELAY ?? ''
  if (command !== 'key') checkRelay(relay)
  const options: CommandOptions = {
    relay,
    json: values.json === true,
    quiet: values.quiet === true,
    timeoutMs: seconds(values.timeout ?? '30'),
    force: values.force === true,
    ...(values.key != null ? { key: nonEmpty('--key', values.key) } : {}),
    ...(values.output != null ? { output: nonEmpty('--output', values.output) } : {}),
    ...(values.tags != null ? { tags: tagList(values.tags) } : {}),
    ...(values.limit != null ? { limit: wholeNumber('--limit', values.limit) } : {})
  }
  if (options.output === '-' && options.json)
    throw new UsageError('-o - writes the content to stdout: it cannot be used with --json')
  return { kind: 'run', command, positionals: rest, options }
}

/** `id` or `id@version`, checked. */
export function parsePackageRef(ref: string): { id: string; version?: string } {
  const at = ref.lastIndexOf('@')
  const id = at > 0 ? ref.slice(0, at) : ref
  const version = at > 0 ? ref.slice(at + 1) : undefined
  if (!PACKAGE_ID.test(id) || id.length > 128)
    throw new UsageError(
      `"${id}" is not a package id ("namespace/name" in lowercase letters, digits, ".", "_" or "-")`
    )
  if (version != null && semver.valid(version) !== version)
    throw new UsageError(`"${version}" is not a version (a semantic version such as 1.2.3)`)
  return { id, ...(version != null ? { version } : {}) }
}

function isCommand(name: string | undefined): name is CommandName {
  return name != null && name in COMMANDS
}

function checkRelay(relay: string): void {
  if (relay === '') throw new UsageError('no relay: pass --relay <http origin> or set P2P_MARKETPLACE_RELAY')
  let url: URL
  try {
    url = new URL(relay)
  } catch {
    throw new UsageError(`--relay "${relay}" is not a URL (e.g. http://127.0.0.1:8080)`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--relay "${relay}" must be an http:// or https:// URL`)
}

function seconds(text: string): number {
  const value = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || value <= 0 || value > 86_400)
    throw new UsageError(`--timeout "${text}" must be a number of seconds (more than 0, at most 86400)`)
  return Math.round(value * 1000)
}

function wholeNumber(flag: string, text: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`${flag} "${text}" must be a whole number`)
  return Number(text)
}

function nonEmpty(flag: string, text: string): string {
  if (text === '') throw new UsageError(`${flag} needs a value`)
  return text
}

function tagList(text: string): string[] {
  const tags = text
    .split(',')
    .map(t => t.trim())
    .filter(t => t !== '')
  if (tags.length === 0) throw new UsageError('--tags needs at least one tag (comma-separated)')
  return tags
}
