/**
 * The parser worker: `JSON.parse` of an untrusted body cannot be interrupted
 * and, for a crafted one, takes seconds (4 MiB of `{},` measured 1.2–2.8 s
 * here), as does decoding 4 MiB of empty protobuf messages; so it runs on this
 * thread, never on the relay's event loop, and only after a scan of the bytes
 * has bounded the objects it would create. Replies with the kept spans, their
 * JSON lines and, when asked, what to forward upstream in the upstream's
 * encoding: the body as received, or only the kept spans when some were
 * rejected (or the encodings differ). When the store then refuses some of
 * them, that body comes back to be cut to the spans it took.
 */
import { parentPort } from 'node:worker_threads'
import { OtlpEncodingError, OtlpFormatError } from './errors.ts'
import { countJsonContainers, readOtlpJson, selectSpans } from './otlp-json.ts'
import { countProtobufContainers, decodeTraceRequest, encodeTraceRequest } from './otlp-proto.ts'
import type { OtlpEncoding } from './otlp-proto.ts'
import type { ParseJob, ParseReply, SelectJob, WorkerJob, WorkerReply } from './otlp-parser.ts'

const decoder = new TextDecoder()
const encoder = new TextEncoder()

/** The body as an OTLP/JSON request (parsed, or decoded from protobuf); throws `OtlpFormatError`. */
function read(body: Uint8Array, encoding: OtlpEncoding): unknown {
  if (encoding === 'protobuf') return decodeTraceRequest(body)
  try {
    return JSON.parse(decoder.decode(body))
  } catch {
    throw new OtlpFormatError('the body is not JSON')
  }
}

function encode(request: unknown, encoding: OtlpEncoding): Uint8Array {
  return encoding === 'json' ? encoder.encode(JSON.stringify(request)) : encodeTraceRequest(request)
}

function run(job: ParseJob): ParseReply {
  const { maxJsonContainers } = job.limits
  try {
    const count =
      job.encoding === 'json'
        ? countJsonContainers(job.body, maxJsonContainers)
        : countProtobufContainers(job.body, maxJsonContainers)
    if (count > maxJsonContainers)
      return {
        id: job.id,
        ok: false,
        tooLarge: true,
        message:
          job.encoding === 'json'
            ? `the body holds over ${maxJsonContainers} JSON objects and arrays`
            : `the body holds over ${maxJsonContainers} protobuf messages and repeated fields`
      }
    const body = read(job.body, job.encoding)
    const { spans, lines, rejected, warnings, kept } = readOtlpJson(body, job.limits, job.receivedAt)
    const reply: ParseReply = { id: job.id, ok: true, spans, lines, rejected, warnings }
    if (job.forward == null || spans.length === 0) return reply
    try {
      reply.forward = rejected === 0 && job.forward === job.encoding ? job.body : encode(kept, job.forward)
    } catch (err) {
      if (!(err instanceof OtlpEncodingError)) throw err
      reply.forwardError = err.message
    }
    return reply
  } catch (err) {
    if (err instanceof OtlpFormatError) return { id: job.id, ok: false, message: err.message }
    // e.g. a RangeError from a pathological body: its message says nothing useful to the sender
    return { id: job.id, ok: false, message: 'the body could not be read as an OTLP traces request' }
  }
}

function select(job: SelectJob): WorkerReply {
  try {
    const selected = selectSpans(read(job.body, job.encoding), job.indices)
    return { id: job.id, ok: true, selected: encode(selected, job.encoding) }
  } catch (err) {
    // it was read here a moment ago: only a bug gets here
    return {
      id: job.id,
      ok: false,
      message: `the spans to forward could not be cut: ${(err as Error).message}`
    }
  }
}

parentPort?.on('message', (job: WorkerJob) => {
  const reply = 'indices' in job ? select(job) : run(job)
  const out = !reply.ok ? undefined : 'selected' in reply ? reply.selected : reply.forward
  parentPort?.postMessage(reply, out != null ? [out.buffer as ArrayBuffer] : [])
})
