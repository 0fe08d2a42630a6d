import { createReadStream } from 'node:fs'
import { mkdir, open, rename, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { createInterface } from 'node:readline'
import type { StoredSpan } from '../../src/core/telemetry/collector-api.ts'

export interface SpanFileInit {
  path: string
  /** Size the file never passes: an append that would pass it rewrites the file with only what the store keeps. */
  maxFileBytes: number
  /** Bytes read at start-up, from the newest end; also the most that waits to be written. */
  maxLoadBytes: number
}

/** Spans read back at start-up: each with its line (the store counts its bytes). */
export interface LoadedSpan {
  span: StoredSpan
  line: string
}

const HEX32 = /^[0-9a-f]{32}$/
const HEX16 = /^[0-9a-f]{16}$/
/**
 * Bytes per write: lines are joined into strings of about this size, never
 * into one string of a whole request (megabytes that only a full GC frees),
 * and compaction's JSON is made a chunk at a time, the loop free in between.
 */
const WRITE_CHUNK = 64 * 1024

/**
 * The span store's NDJSON file: appends coalesced into one write at a time,
 * compacted (rewritten from the store's content) instead of passing its bound,
 * and read back from its newest end, never more than `maxLoadBytes`.
 */
export class SpanFile {
  /** Bytes in the file now (as far as this process wrote it). */
  bytes = 0
  /** Lines dropped because the disk could not keep up (more than `maxLoadBytes` waiting). */
  droppedLines = 0
  private readonly init: SpanFileInit
  private readonly snapshot: () => StoredSpan[]
  private pending: string[] = []
  private pendingBytes = 0
  private writing?: Promise<void>

  /** `snapshot` returns every span the store keeps, oldest trace first: what compaction writes. */
  constructor(init: SpanFileInit, snapshot: () => StoredSpan[]) {
    this.init = init
    this.snapshot = snapshot
  }

  /** The newest spans of the file, oldest first, at most `maxLoadBytes` of it; torn or foreign lines are skipped. */
  async *read(): AsyncGenerator<LoadedSpan> {
    await mkdir(dirname(this.init.path), { recursive: true })
    let size: number
    try {
      size = (await stat(this.init.path)).size
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    this.bytes = size
    // from the byte before the newest maxLoadBytes: the first line read is then the tail of an
    // older one, or empty when a line starts right there (that line is read whole, not lost)
    const start = Math.max(0, size - this.init.maxLoadBytes - 1)
    const lines = createInterface({
      input: createReadStream(this.init.path, { start }),
      crlfDelay: Infinity
    })
    let skip = start > 0
    for await (const line of lines) {
      if (skip) {
        skip = false
        continue
      }
      if (line.trim() === '') continue
      let span: StoredSpan
      try {
        span = JSON.parse(line) as StoredSpan
      } catch {
        continue // a torn last line after a crash
      }
      if (typeof span?.traceId === 'string' && HEX32.test(span.traceId) && HEX16.test(String(span.spanId)))
        yield { span, line }
    }
  }

  /** Queues lines (one span each) for appending. */
  append(lines: string[]): void {
    if (lines.length === 0) return
    // bytes as written (UTF-8), not UTF-16 code units: span text from browsers may be anything
    const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)
    if (this.pendingBytes + bytes > this.init.maxLoadBytes) {
      if (this.droppedLines === 0)
        console.error('collector: the disk does not keep up; spans are not persisted')
      this.droppedLines += lines.length
      return
    }
    for (const line of lines) this.pending.push(line)
    this.pendingBytes += bytes
    this.kick()
  }

  /** Rewrites the file if it is over its bound (e.g. after start-up found it so). */
  compactIfOver(): void {
    if (this.bytes > this.init.maxFileBytes) this.kick(true)
  }

  /** Resolves when everything queued so far is on disk. */
  async flush(): Promise<void> {
    while (this.writing != null) await this.writing
  }

  private kick(compact = false): void {
    if (this.writing != null) return
    this.writing = this.drain(compact)
      .catch((err: unknown) => {
        console.error(`collector: could not persist spans: ${String(err)}`)
      })
      .finally(() => {
        this.writing = undefined
        if (this.pending.length > 0) this.kick()
      })
  }

  private async drain(compact: boolean): Promise<void> {
    if (compact) await this.compact()
    while (this.pending.length > 0) {
      // appending would take the file past its bound: rewrite it instead, from the store, which
      // holds what waits (or evicted it); lines queued meanwhile are appended after
      if (this.bytes + this.pendingBytes > this.init.maxFileBytes) {
        await this.compact()
        continue
      }
      const lines = this.pending
      this.pending = []
      this.pendingBytes = 0
      const handle = await open(this.init.path, 'a')
      try {
        this.bytes += await writeLines(handle, lines.length, i => lines[i]!)
      } finally {
        await handle.close()
      }
    }
  }

  private async compact(): Promise<void> {
    // what waits to be appended is in the snapshot already (or was evicted): one consistent cut
    const spans = this.snapshot()
    this.pending = []
    this.pendingBytes = 0
    const tmp = `${this.init.path}.tmp`
    const handle = await open(tmp, 'w')
    let written: number
    try {
      written = await writeLines(handle, spans.length, i => JSON.stringify(spans[i]))
    } finally {
      await handle.close()
    }
    await rename(tmp, this.init.path)
    this.bytes = written
  }
}

/** Writes `count` lines, `WRITE_CHUNK` bytes or so at a time; returns the bytes written. */
async function writeLines(
  handle: Awaited<ReturnType<typeof open>>,
  count: number,
  line: (i: number) => string
): Promise<number> {
  let written = 0
  let chunk: string[] = []
  let size = 0
  for (let i = 0; i < count; i++) {
    const text = line(i)
    chunk.push(text)
    size += text.length + 1
    if (size >= WRITE_CHUNK || i === count - 1) {
      written += (await handle.write(chunk.join('\n') + '\n')).bytesWritten
      chunk = []
      size = 0
    }
  }
  return written
}
