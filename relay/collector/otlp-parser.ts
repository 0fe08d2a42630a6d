import { Worker } from 'node:worker_threads'
import { BodyTooLargeError, CollectorBusyError, OtlpFormatError, ParserExitedError } from './errors.ts'
import { DEFAULT_PARSER_LIMITS, DEFAULT_REQUEST_LIMITS } from './limits.ts'
import { owned } from './otlp-proto.ts'
import type { ParsedRequest } from './otlp-json.ts'
import type { OtlpEncoding } from './otlp-proto.ts'
import type { ParserLimits, RequestLimits } from './limits.ts'

/** A body sent to the worker to parse (transferred, not copied). */
export interface ParseJob {
  id: number
  body: Uint8Array<ArrayBuffer>
  /** What the body is: OTLP/JSON or protobuf. */
  encoding: OtlpEncoding
  limits: RequestLimits
  receivedAt: number
  /** Send back what to forward upstream (the kept spans), in this encoding. */
  forward?: OtlpEncoding
}

/** A `forward` body sent back to the worker, to keep only the spans at `indices` (the ones the store took). */
export interface SelectJob {
  id: number
  body: Uint8Array<ArrayBuffer>
  encoding: OtlpEncoding
  indices: number[]
}

export type WorkerJob = ParseJob | SelectJob

/** The worker's answer to a `ParseJob`. */
export type ParseReply =
  | ({ id: number; ok: true; forward?: Uint8Array; forwardError?: string } & Omit<ParsedRequest, 'kept'>)
  | { id: number; ok: false; message: string; tooLarge?: boolean }

/** The worker's answer to a `SelectJob`: the request to forward, in the encoding it came in. */
export interface SelectReply {
  id: number
  ok: true
  selected: Uint8Array
}

export type WorkerReply = ParseReply | SelectReply

/** A parsed request: what to store and, when asked for, what to forward upstream (the kept spans). */
export interface ParsedBody extends Omit<ParsedRequest, 'kept'> {
  forward?: Uint8Array
  /** Why there is no `forward` although it was asked for (`OtlpEncodingError`'s message). */
  forwardError?: string
}

export interface OtlpParserInit {
  limits?: Partial<RequestLimits>
  parser?: Partial<ParserLimits>
}

interface Pending {
  resolve: (reply: Extract<WorkerReply, { ok: true }>) => void
  reject: (err: Error) => void
}

/**
 * Parses OTLP bodies (JSON or protobuf) on a worker thread, one at a time, so that no body,
 * however crafted, stalls the relay: a body that takes longer than
 * `maxParseMs` fails alone (413) and a new worker takes over; more than
 * `maxPending` waiting bodies get 503.
 */
export class OtlpParser {
  private readonly limits: RequestLimits
  private readonly parserLimits: ParserLimits
  /** In the order posted, which is the order the worker answers in. */
  private readonly jobs = new Map<number, Pending>()
  private worker?: Worker
  private nextId = 1
  private timer?: NodeJS.Timeout
  private timedId?: number
  private stopped = false

  constructor(init: OtlpParserInit = {}) {
    this.limits = { ...DEFAULT_REQUEST_LIMITS, ...init.limits }
    this.parserLimits = { ...DEFAULT_PARSER_LIMITS, ...init.parser }
  }

  /**
   * Parses `body`, which is handed over to the worker (the caller must not use
   * it afterwards); with `forward`, the result carries what to send upstream, in that encoding.
   */
  async parse(body: Uint8Array, encoding: OtlpEncoding, forward?: OtlpEncoding): Promise<ParsedBody> {
    if (this.stopped) throw new CollectorBusyError('the collector is stopping')
    if (this.jobs.size >= this.parserLimits.maxPending)
      throw new CollectorBusyError(`${this.jobs.size} requests are being parsed; retry in a second`)
    const own = owned(body)
    const reply = (await this.post({
      id: this.nextId++,
      body: own,
      encoding,
      limits: this.limits,
      receivedAt: Date.now(),
      ...(forward != null ? { forward } : {})
    })) as Extract<ParseReply, { ok: true }>
    return {
      spans: reply.spans,
      lines: reply.lines,
      rejected: reply.rejected,
      warnings: reply.warnings,
      ...(reply.forward != null ? { forward: reply.forward } : {}),
      ...(reply.forwardError != null ? { forwardError: reply.forwardError } : {})
    }
  }

  /**
   * `body`, a `forward` this parser returned in `encoding`, with only the spans at `indices`
   * (handed over to the worker like a body to parse, and parsed there again:
   * never on the event loop). Not held to `maxPending`: a parsed body asks for
   * at most one, as soon as its own job has left the queue, so the jobs waiting
   * never outnumber that bound.
   */
  async select(body: Uint8Array, encoding: OtlpEncoding, indices: number[]): Promise<Uint8Array> {
    if (this.stopped) throw new CollectorBusyError('the collector is stopping')
    const reply = (await this.post({
      id: this.nextId++,
      body: owned(body),
      encoding,
      indices
    })) as SelectReply
    return reply.selected
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    for (const { reject } of this.jobs.values()) reject(new CollectorBusyError('the collector is stopping'))
    this.jobs.clear()
    const worker = this.worker
    this.worker = undefined
    await worker?.terminate()
  }

  private start(): Worker {
    if (this.worker != null) return this.worker
    const worker = new Worker(new URL('./otlp-worker.ts', import.meta.url))
    // an idle parser must not keep the relay's process alive
    worker.unref()
    worker.on('message', (reply: WorkerReply) => this.settle(reply))
    worker.on('error', (err: Error) => this.replace(worker, err))
    worker.on('exit', code => this.replace(worker, new ParserExitedError(code)))
    this.worker = worker
    return worker
  }

  private async post(job: WorkerJob): Promise<Extract<WorkerReply, { ok: true }>> {
    return await new Promise((resolve, reject) => {
      this.jobs.set(job.id, { resolve, reject })
      this.start().postMessage(job, [job.body.buffer])
      this.watch()
    })
  }

  private settle(reply: WorkerReply): void {
    const pending = this.jobs.get(reply.id)
    if (pending == null) return
    this.jobs.delete(reply.id)
    if (reply.ok) pending.resolve(reply)
    else
      pending.reject(
        reply.tooLarge === true ? new BodyTooLargeError(reply.message) : new OtlpFormatError(reply.message)
      )
    this.watch()
  }

  /** Times the oldest job, the one the worker is on. */
  private watch(): void {
    const head = this.jobs.keys().next().value
    if (head === this.timedId) return
    clearTimeout(this.timer)
    this.timedId = head
    if (head == null) return
    const ms = this.parserLimits.maxParseMs
    this.timer = setTimeout(() => {
      if (this.worker != null)
        this.replace(this.worker, new BodyTooLargeError(`the body took over ${ms} ms to parse`))
    }, ms)
    this.timer.unref()
  }

  /** The worker died or hung on the oldest job: that job fails (413), the others are asked to retry (503). */
  private replace(worker: Worker, failure: Error): void {
    if (worker !== this.worker) return
    this.worker = undefined
    void worker.terminate()
    clearTimeout(this.timer)
    this.timedId = undefined
    let head = true
    // their bodies went to the worker that is gone
    for (const { reject } of this.jobs.values()) {
      reject(head ? failure : new CollectorBusyError('the collector restarted its parser; retry'))
      head = false
    }
    this.jobs.clear()
  }
}
