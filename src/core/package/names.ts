import { peerIdFromCID, peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { base36 } from 'multiformats/bases/base36'

/**
 * The three kinds of namespace (PROTOCOL.md §3, rule 2):
 * - `key`: the publisher's own key, written as IPNS writes a key (its peer id as a CIDv1 of the
 *   `libp2p-key` codec in base36, `k51qzi5uqu5d…`); only that key may publish in it, which every
 *   node checks from the record alone;
 * - `domain`: a DNS name (`example.com`); only keys the domain lists at its well-known address
 *   may publish in it ({@link NameProofs});
 * - `plain`: anything else (`acme`); held by the first key a node saw publishing in it, never
 *   verified, and ranked below the other two.
 */
export type NamespaceKind = 'key' | 'domain' | 'plain'

/** How a record's name stands, as results and the UI show it. */
export interface NameStanding {
  kind: NamespaceKind
  /** A domain namespace whose well-known list named the publisher when the record came in. */
  verified: boolean
  /** A verified domain namespace this one can be mistaken for (`react.dev` for `reacl.dev` or `react`). */
  looksLike?: string
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?'
/** Two or more DNS labels, the last (the top-level domain) letters only; at most 253 characters. */
const DOMAIN = new RegExp(`^(?=.{4,253}$)(?:${LABEL}\\.)+[a-z]{2,63}$`)
/** The base36 CIDv1 of an Ed25519 `libp2p-key` always starts so (IPNS names do too). */
const KEY_PREFIX = 'k51qzi5uqu5d'

export function namespaceKind(namespace: string): NamespaceKind {
  if (namespace.startsWith(KEY_PREFIX)) return 'key'
  if (DOMAIN.test(namespace)) return 'domain'
  return 'plain'
}

/** The key namespace of a publisher (its peer id as a base36 `libp2p-key` CID). */
export function keyNamespaceOf(publisher: string): string {
  return peerIdFromString(publisher).toCID().toString(base36)
}

/**
 * What a namespace reads as to a person: digits and letters that look alike folded together,
 * separators dropped. For a domain, its label left of the top-level domain (`react` of
 * `docs.react.dev`), since `react.io` passes for `react.dev` as easily as `reacl.dev` does.
 */
export function nameSkeleton(namespace: string): string {
  let core = namespace
  if (namespaceKind(namespace) === 'domain') {
    const labels = namespace.split('.')
    core = labels[labels.length - 2] ?? namespace
  }
  return core
    .replace(/[-_.]/g, '')
    .replace(/rn/g, 'm')
    .replace(/vv/g, 'w')
    .replace(/[0]/g, 'o')
    .replace(/[1il|]/g, 'l')
    .replace(/3/g, 'e')
    .replace(/5/g, 's')
}

/** The skeleton and each of its one-character deletions: two strings within one edit share one. */
function neighbourhood(skeleton: string): string[] {
  const keys = new Set([skeleton])
  // short names are too easily one edit apart (`ab`, `abc`) to flag
  if (skeleton.length >= 4)
    for (let i = 0; i < skeleton.length; i++) keys.add(skeleton.slice(0, i) + skeleton.slice(i + 1))
  return [...keys]
}

/**
 * The verified domain namespaces a node holds, in the order it first saw them, indexed so that a
 * namespace that looks like one of them (same skeleton, or one character added, dropped or
 * changed) is found in time proportional to its length, however many domains are held
 * (symmetric-deletion index). Of two look-alike domains, the one seen first is the reference and
 * the later one is flagged.
 */
export class LookAlikes {
  private readonly index = new Map<string, string[]>()
  private readonly order = new Map<string, number>()

  /** Adds a verified domain; false when it was held already. */
  add(domain: string): boolean {
    if (this.order.has(domain)) return false
    this.order.set(domain, this.order.size)
    for (const key of neighbourhood(nameSkeleton(domain))) {
      const list = this.index.get(key)
      if (list == null) this.index.set(key, [domain])
      else list.push(domain)
    }
    return true
  }

  /**
   * A verified domain, seen before `namespace` (if `namespace` is one held), that `namespace` can be
   * mistaken for; never itself or a domain it is a subdomain of (or one of its subdomains), never
   * for key namespaces.
   */
  of(namespace: string): string | undefined {
    if (namespaceKind(namespace) === 'key') return undefined
    const seen = this.order.get(namespace) ?? Infinity
    // the reference is the look-alike seen first; a name related to it is no impostor
    let reference: string | undefined
    for (const key of neighbourhood(nameSkeleton(namespace))) {
      for (const domain of this.index.get(key) ?? []) {
        const order = this.order.get(domain) ?? Infinity
        if (order < seen && order < (this.order.get(reference ?? '') ?? Infinity)) reference = domain
      }
    }
    if (reference == null || reference === namespace) return undefined
    if (namespace.endsWith(`.${reference}`) || reference.endsWith(`.${namespace}`)) return undefined
    return reference
  }
}

/** The publisher a key namespace belongs to, or undefined when `namespace` is no key's. */
export function keyNamespaceOwner(namespace: string): string | undefined {
  try {
    return peerIdFromCID(CID.parse(namespace, base36)).toString()
  } catch {
    return undefined
  }
}
