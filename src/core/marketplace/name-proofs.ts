import { raceSignal } from 'race-signal'
import { peerIdFromString } from '@libp2p/peer-id'
import { describeError } from '../errors.ts'
import { NameListError } from './errors.ts'
import { NameUnprovenError } from '../package/errors.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Where a domain lists the keys that may publish in its namespace (`{domain}` is replaced). */
export const DEFAULT_NAME_PROOF_URL = 'https://{domain}/.well-known/p2p-marketplace.json'

/** The fetch a node reads well-known lists with (the platform's, or the relay's guarded one). */
export type ProofFetch = (url: string, init: { signal: AbortSignal; redirect: 'error' }) => Promise<Response>

export interface NameProofsInit {
  /** URL of a domain's list; `{domain}` is replaced by the domain. @default DEFAULT_NAME_PROOF_URL */
  urlTemplate?: string
  fetch?: ProofFetch
  /** How long a list that was read stands (ms). @default 3600000 (1 h) */
  ttlMs?: number
  /** How long a domain whose list could not be read is not asked again (ms). @default 300000 */
  failureTtlMs?: number
  /** Domains whose answers are remembered; the least recently used go first. @default 1024 */
  maxDomains?: number
  /** Lists read per minute at most; past it, records of other domains wait (`busy`). @default 60 */
  maxFetchesPerMinute?: number
  /** Time for one list (ms). @default 5000 */
  timeoutMs?: number
  /** Size of one list (bytes). @default 65536 */
  maxBytes?: number
}

/** The most keys one list may name. */
export const MAX_LISTED_PUBLISHERS = 256

interface Answer {
  /** Keys the list names; undefined when it could not be read. */
  publishers?: Set<string>
  error?: string
  until: number
}

/**
 * Reads the list of publisher keys a domain serves at its well-known address, as Bluesky reads a
 * handle's DID and NIP-05 a name's key: `{ "publishers": ["12D3KooW…", …] }`, over https, with
 * `Access-Control-Allow-Origin: *` so that browser nodes can read it too. Answers are remembered
 * (1 h, or 5 min when the list could not be read) for at most 1024 domains; one domain is asked
 * once however many records of it arrive together; and at most 60 lists are read a minute, so a
 * peer with a thousand invented domains cannot make a node (or every node) fetch a thousand URLs.
 */
export class NameProofs {
  private readonly template: string
  private readonly fetch: ProofFetch
  private readonly ttlMs: number
  private readonly failureTtlMs: number
  private readonly maxDomains: number
  private readonly maxFetchesPerMinute: number
  private readonly timeoutMs: number
  private readonly maxBytes: number
  private readonly answers = new Map<string, Answer>()
  private readonly pending = new Map<string, Promise<Answer>>()
  private readonly recentFetches: number[] = []

  constructor(init: NameProofsInit = {}) {
    this.template = init.urlTemplate ?? DEFAULT_NAME_PROOF_URL
    if (!this.template.includes('{domain}')) throw new RangeError('a name proof URL must contain {domain}')
    this.fetch =
      init.fetch ?? (async (url, options) => await globalThis.fetch(url, { ...options, credentials: 'omit' }))
    this.ttlMs = init.ttlMs ?? 3_600_000
    this.failureTtlMs = init.failureTtlMs ?? 300_000
    this.maxDomains = init.maxDomains ?? 1024
    this.maxFetchesPerMinute = init.maxFetchesPerMinute ?? 60
    this.timeoutMs = init.timeoutMs ?? 5_000
    this.maxBytes = init.maxBytes ?? 65_536
  }

  /** The URL of `domain`'s list. */
  urlOf(domain: string): string {
    return this.template.replace('{domain}', domain)
  }

  /**
   * Resolves when `domain` lists `publisher`; throws `NameUnprovenError` otherwise. An aborted
   * `signal` stops this caller's wait, not the read others may share.
   */
  async check(domain: string, publisher: string, options: AbortOptions = {}): Promise<void> {
    const answer = await raceSignal(this.answer(domain), options.signal)
    if (answer.publishers == null)
      throw new NameUnprovenError(
        'unreachable',
        domain,
        `the publisher list of ${domain} (${this.urlOf(domain)}) could not be read: ${answer.error ?? 'no answer'}`
      )
    if (!answer.publishers.has(publisher))
      throw new NameUnprovenError(
        'not-listed',
        domain,
        `${domain} does not list publisher ${publisher}: add it to "publishers" in ${this.urlOf(domain)}`
      )
  }

  private async answer(domain: string): Promise<Answer> {
    const now = Date.now()
    const known = this.answers.get(domain)
    if (known != null && known.until > now) {
      // most recently used last
      this.answers.delete(domain)
      this.answers.set(domain, known)
      return known
    }
    const pending = this.pending.get(domain)
    if (pending != null) return await pending
    while (this.recentFetches.length > 0 && (this.recentFetches[0] ?? 0) <= now - 60_000)
      this.recentFetches.shift()
    if (this.recentFetches.length >= this.maxFetchesPerMinute)
      throw new NameUnprovenError(
        'busy',
        domain,
        `this node read ${this.maxFetchesPerMinute} publisher lists in the last minute; ${domain} is checked when its records come again`
      )
    this.recentFetches.push(now)
    const fetching = this.read(domain).finally(() => this.pending.delete(domain))
    this.pending.set(domain, fetching)
    const answer = await fetching
    this.answers.delete(domain)
    this.answers.set(domain, answer)
    for (const oldest of this.answers.keys()) {
      if (this.answers.size <= this.maxDomains) break
      this.answers.delete(oldest)
    }
    return answer
  }

  private async read(domain: string): Promise<Answer> {
    try {
      const response = await this.fetch(this.urlOf(domain), {
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error'
      })
      if (!response.ok) throw new NameListError(`HTTP ${response.status}`)
      const publishers = parseList(await readBounded(response, this.maxBytes))
      return { publishers, until: Date.now() + this.ttlMs }
    } catch (err) {
      // a bad list is told in its own words (users read them); anything else says what it is
      const error = err instanceof Error && err.name === 'NameListError' ? err.message : describeError(err)
      return { error, until: Date.now() + this.failureTtlMs }
    }
  }
}

/** Reads a response's body, refusing one over `maxBytes` without reading further. */
async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0)
  if (declared > maxBytes)
    throw new NameListError(`the list is ${declared} bytes; at most ${maxBytes} are read`)
  const reader = response.body?.getReader()
  if (reader == null) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      throw new NameListError(`the list is over ${maxBytes} bytes`)
    }
    chunks.push(value)
  }
  const body = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    body.set(chunk, at)
    at += chunk.byteLength
  }
  return new TextDecoder().decode(body)
}

/** `{ "publishers": [peer id, …] }`: Ed25519 peer ids, at most {@link MAX_LISTED_PUBLISHERS}. */
function parseList(text: string): Set<string> {
  const doc = JSON.parse(text) as { publishers?: unknown }
  if (!Array.isArray(doc.publishers)) throw new NameListError('"publishers" is not an array of peer ids')
  if (doc.publishers.length > MAX_LISTED_PUBLISHERS)
    throw new NameListError(
      `"publishers" names ${doc.publishers.length} keys; at most ${MAX_LISTED_PUBLISHERS}`
    )
  const keys = new Set<string>()
  for (const id of doc.publishers) {
    if (typeof id !== 'string' || id.length > 128)
      throw new NameListError('"publishers" holds something not a peer id')
    if (peerIdFromString(id).type !== 'Ed25519') throw new NameListError(`${id} is not an Ed25519 peer id`)
    keys.add(id)
  }
  return keys
}
