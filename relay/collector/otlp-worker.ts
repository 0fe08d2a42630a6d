/**
 * The parser worker: `JSON.parse` of an untrusted body cannot be interrupted
 * and, for a crafted one, takes seconds (4 MiB of `{},` measured 1.2–2.8 s
 * here), so it runs on this thread, never on the relay's event loop, and only
 * after a byte scan has bounded the objects it would create. Replies
 * with the kept spans, their JSON lines and, when asked, what to forward
 * upstream: the body as received, or only the kept spans when some were rejected.
 * When the store then refuses some of them, that body comes back to be cut to
 * the spans it took.
 */
import { parentPort } from 'node:worker_threads'
import { OtlpFormatError, countJsonContainers, readOtlpJson, selectSpans } from './otlp-json.ts'
import type { ParseJob, ParseReply, SelectJob, WorkerJob, WorkerReply } from './otlp-parser.ts'

const decoder = new TextDecoder()
const encoder = new TextEncoder()

function run(job: ParseJob): ParseReply {
  const { maxJsonContainers } = job.limits
  if (countJsonContainers(job.body, maxJsonContainers) > maxJsonContainers)
    return {
      id: job.id,
      ok: false,
      tooLarge: true,
      message: `the body holds over ${maxJsonContainers} JSON objects and arrays`
    }
  let body: unknown
  try {
    body = JSON.parse(decoder.decode(job.body))
  } catch {
    return { id: job.id, ok: false, message: 'the body is not JSON' }
  }
  try {
    const { spans, lines, rejected, warnings, kept } = readOtlpJson(body, job.limits, job.receivedAt)
    return {
      id: job.id,
      ok: true,
      spans,
      lines,
      rejected,
      warnings,
      ...(!job.forward || spans.length === 0
        ? {}
        : { forward: rejected > 0 ? encoder.encode(JSON.stringify(kept)) : job.body })
    }
  } catch (err) {
    if (err instanceof OtlpFormatError) return { id: job.id, ok: false, message: err.message }
    // e.g. a RangeError from a pathological body: its message says nothing useful to the sender
    return { id: job.id, ok: false, message: 'the body could not be read as an OTLP/JSON request' }
  }
}

function select(job: SelectJob): WorkerReply {
  try {
    const body = JSON.parse(decoder.decode(job.body)) as unknown
    return { id: job.id, ok: true, selected: encoder.encode(JSON.stringify(selectSpans(body, job.indices))) }
  } catch {
    // it was parsed here a moment ago: only a bug gets here
    return { id: job.id, ok: false, message: 'the spans to forward could not be read again' }
  }
}

parentPort?.on('message', (job: WorkerJob) => {
  const reply = 'indices' in job ? select(job) : run(job)
  const out = !reply.ok ? undefined : 'selected' in reply ? reply.selected : reply.forward
  parentPort?.postMessage(reply, out != null ? [out.buffer as ArrayBuffer] : [])
})
