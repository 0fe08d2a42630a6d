import { describeError } from '../core/errors.ts'

/** Where the client writes: standard output for results, standard error for everything else. */
export interface Streams {
  stdout: Pick<NodeJS.WriteStream, 'write'>
  stderr: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number }
}

/** What one progress update says: bytes so far, of `total`, and the peers they came from (or went to). */
export interface ProgressUpdate {
  bytes: number
  total: number
  peers?: string[]
}

/**
 * The client's output: a result on stdout (JSON with `--json`, else text for people), notes and
 * progress on stderr (none with `--quiet`), and errors as one line `p2p-marketplace: <message>`
 * on stderr (plus `{ "error": { name, message } }` on stdout with `--json`).
 */
export class Output {
  readonly json: boolean
  readonly quiet: boolean
  private readonly streams: Streams
  private active?: Progress

  constructor(streams: Streams, options: { json: boolean; quiet: boolean }) {
    this.streams = streams
    this.json = options.json
    this.quiet = options.quiet
  }

  /** The command's result: `value` as JSON with `--json`, else `text` (a line per entry). */
  result(value: unknown, text: string): void {
    this.active?.clear()
    if (this.json) this.streams.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
    else if (text !== '') this.streams.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  /** A line for the person watching (stderr), e.g. what the client is waiting for. */
  note(text: string): void {
    if (this.quiet) return
    this.active?.clear()
    this.streams.stderr.write(`${text}\n`)
  }

  error(err: unknown): void {
    this.active?.clear()
    const name = err instanceof Error ? err.name : 'Error'
    const message = oneLine(err instanceof Error && err.message !== '' ? err.message : describeError(err))
    if (this.json) this.streams.stdout.write(`${JSON.stringify({ error: { name, message } })}\n`)
    if (!this.quiet) this.streams.stderr.write(`p2p-marketplace: ${message}\n`)
  }

  /** A progress bar on stderr (a no-op one with `--quiet`); its peers are named `from …` or `to …`. */
  progress(label: string, peers: 'from' | 'to' = 'from'): Progress {
    this.active = new Progress(this.quiet ? undefined : this.streams.stderr, label, peers)
    return this.active
  }
}

/**
 * One transfer's progress on stderr: bytes, total, percentage, speed and peers. On a terminal
 * the line is redrawn in place (at most ten times a second); elsewhere (a pipe, a log file) a
 * line is printed at most once a second, and the final state once at the end.
 */
export class Progress {
  private readonly stream?: Streams['stderr']
  private label: string
  private readonly tty: boolean
  private peersWord: 'from' | 'to'
  private last: ProgressUpdate = { bytes: 0, total: 0 }
  private drawnAt = -Infinity
  private drawnBytes = -1
  private drawn = false
  private finished = false
  /** A draw of the latest state, due when the rate allows. */
  private pending?: ReturnType<typeof setTimeout>
  /** Recent (time, bytes) samples: the speed is measured over the last few seconds. */
  private samples: Array<{ at: number; bytes: number }> = []

  constructor(stream: Streams['stderr'] | undefined, label: string, peers: 'from' | 'to' = 'from') {
    this.stream = stream
    this.label = label
    this.peersWord = peers
    this.tty = stream?.isTTY === true
  }

  /** A new phase of the same transfer (e.g. importing, then sending to the relay). */
  relabel(label: string, peers: 'from' | 'to' = this.peersWord): void {
    this.finishLine()
    // a state of the phase that ends, not drawn yet, is not drawn under the new label
    clearTimeout(this.pending)
    this.pending = undefined
    this.label = label
    this.peersWord = peers
    this.samples = []
    // a new line on a terminal at once; elsewhere still at most one a second
    if (this.tty) this.drawnAt = -Infinity
    this.drawnBytes = -1
    this.finished = false
  }

  update(update: ProgressUpdate): void {
    if (this.finished) return
    const now = performance.now()
    this.last = update
    this.samples.push({ at: now, bytes: update.bytes })
    while (this.samples.length > 2 && now - (this.samples[0]?.at ?? now) > 3_000) this.samples.shift()
    const wait = this.drawnAt + (this.tty ? 100 : 1_000) - now
    if (wait <= 0) this.draw(now)
    // the latest state is drawn once its time comes, even if nothing moves meanwhile
    else this.pending ??= setTimeout(() => this.draw(performance.now()), wait).unref()
  }

  /** The last state, drawn once more, and the line ended. */
  done(): void {
    if (this.finished) return
    this.finishLine(true)
    this.finished = true
    clearTimeout(this.pending)
  }

  /** Takes the in-place line off a terminal so that another line can be written. */
  clear(): void {
    if (this.stream == null || !this.tty || !this.drawn || this.finished) return
    this.stream.write('\r\x1b[K')
    this.drawnAt = -Infinity
  }

  /** Ends a phase: its last state drawn (elsewhere than on a terminal, unless a line just said so). */
  private finishLine(final = false): void {
    if (this.stream == null || this.finished) return
    const now = performance.now()
    if (this.tty || (this.drawnBytes !== this.last.bytes && (final || now - this.drawnAt >= 1_000)))
      this.draw(now)
    if (this.tty && this.drawn) this.stream.write('\n')
    this.drawn = false
  }

  private draw(now: number): void {
    clearTimeout(this.pending)
    this.pending = undefined
    if (this.stream == null || this.finished) return
    this.drawnAt = now
    this.drawnBytes = this.last.bytes
    if (this.tty) {
      // the label gives way first, then the end of the line: the line never wraps
      const columns = this.stream.columns != null && this.stream.columns > 0 ? this.stream.columns : 80
      const width = Math.max(20, columns - 1)
      const rest = this.figures()
      const room = width - rest.length - 2
      const label =
        room >= this.label.length ? this.label : room > 8 ? `${this.label.slice(0, room - 1)}…` : ''
      const line = label !== '' ? `${label}  ${rest}` : rest
      this.stream.write(`\r\x1b[K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`)
    } else this.stream.write(`${this.label}  ${this.figures()}\n`)
    this.drawn = true
  }

  /** Everything but the label: bytes, total, percentage, bar, speed, peers. */
  private figures(): string {
    const { bytes, total, peers = [] } = this.last
    const ratio = total > 0 ? Math.min(1, bytes / total) : 1
    const filled = Math.round(ratio * 20)
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(20 - filled)}]`
    const first = this.samples[0]
    const latest = this.samples.at(-1)
    const seconds = first != null && latest != null ? (latest.at - first.at) / 1000 : 0
    const speed = seconds > 0 && first != null ? `${formatBytes((bytes - first.bytes) / seconds)}/s` : ''
    const named = peers.slice(0, 3).map(shortPeerId).join(', ') + (peers.length > 3 ? ', …' : '')
    const who =
      peers.length === 0
        ? ''
        : `${this.peersWord} ${peers.length > 1 ? `${peers.length} peers: ` : ''}${named}`
    return [
      `${formatBytes(bytes)} / ${formatBytes(total)}`,
      `${String(Math.floor(ratio * 100)).padStart(3)}%`,
      bar,
      speed,
      who
    ]
      .filter(part => part !== '')
      .join('  ')
  }
}

/** `text` on one line of plain text: line breaks and control characters (from a file's bytes quoted in a message) become spaces. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim()
}

/** `1.5 MiB`, `512 B`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`
}

/** A package id with a key namespace shortened (`k51qzi5u…qe7a/widget`), for progress lines. */
export function shortPackageId(id: string): string {
  const slash = id.indexOf('/')
  const namespace = id.slice(0, slash)
  return namespace.length > 24 ? `${namespace.slice(0, 8)}…${namespace.slice(-4)}${id.slice(slash)}` : id
}

/** `12D3KooW…x7Yz`: enough of a peer id to tell peers apart on one line. */
export function shortPeerId(peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 8)}…${peerId.slice(-4)}` : peerId
}
