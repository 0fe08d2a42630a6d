import { CID } from 'multiformats/cid'
import semver from 'semver'
import parseSpdx from 'spdx-expression-parse'
import { z } from '../zod.ts'
import { InvalidManifestError } from './errors.ts'
import type { FieldIssue } from './errors.ts'

/**
 * Limits of a manifest; a record adds publisher, time and signature (~200 bytes).
 * `…Length` limits are characters as JavaScript counts them (UTF-16 code units,
 * `string.length`); `recordBytes` is bytes of the UTF-8 encoding, what travels.
 */
export const LIMITS = {
  idLength: 128,
  titleLength: 120,
  descriptionLength: 4_000,
  listItems: 20,
  itemLength: 64,
  urlLength: 512,
  dependencies: 100,
  /** Largest encoded record (UTF-8 bytes of its JCS encoding) accepted anywhere (DHT, gossip, sync, storage). */
  recordBytes: 16 * 1024,
  /** Largest package content a record may describe (bytes); nodes may take less (`maxContentBytes`). */
  contentBytes: 1024 * 1024 * 1024,
  /** Longest file name of package content (characters). */
  contentNameLength: 255
} as const

/**
 * How far (ms) a record's `publishedAt` may be ahead of the receiving node's
 * clock: enough for clocks a little wrong, too little for a record dated in
 * the future to stay on top of newest-first lists.
 */
export const MAX_CLOCK_SKEW_MS = 10 * 60_000

const utf8 = new TextEncoder()

/**
 * Bytes of `text` in UTF-8, what it takes on the wire. Not `text.length`, which
 * counts UTF-16 code units: "€" is 1 of those and 3 bytes.
 */
export function utf8Length(text: string): number {
  return utf8.encode(text).byteLength
}

/** `namespace/name`: lowercase letters, digits, `-`, `_`, `.`; each part starts with a letter or digit. */
export const PACKAGE_ID = /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/

/**
 * A text field: 1–`max` characters, no white space at either end. A manifest's is trimmed first
 * (what a publisher types); a record's must come trimmed (`exact`), since records are validated as
 * sent and the signature covers what was sent: a padded value is refused, never normalised.
 */
const text = (max: number, what: string, exact = false): z.ZodString => {
  const string = z.string({ error: `${what} must be a string` })
  const bounded = (exact ? string : string.trim())
    .min(1, { error: `${what} is required` })
    .max(max, { error: `${what} must be at most ${max} characters` })
  return exact
    ? bounded.refine(value => value.trim() === value, {
        error: `${what} must not start or end with white space (a record is signed as sent)`
      })
    : bounded
}

const packageId = z
  .string({ error: 'must be a string like "namespace/name"' })
  .max(LIMITS.idLength, { error: `must be at most ${LIMITS.idLength} characters` })
  .regex(PACKAGE_ID, { error: 'must be "namespace/name" in lowercase letters, digits, ".", "_" or "-"' })

const httpUrl = z
  .string({ error: 'must be a URL string' })
  .max(LIMITS.urlLength, { error: `must be at most ${LIMITS.urlLength} characters` })
  .refine(
    value => {
      try {
        const url = new URL(value)
        return url.protocol === 'https:' || url.protocol === 'http:'
      } catch {
        return false
      }
    },
    { error: 'must be an http(s) URL' }
  )

const list = (what: string, item: z.ZodType<string>): z.ZodType<string[]> =>
  z
    .array(item, { error: `${what} must be an array of strings` })
    .max(LIMITS.listItems, { error: `at most ${LIMITS.listItems} ${what}` })

/** A media type without parameters, in lowercase (RFC 6838 names). */
export const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/

/**
 * The package's content, set by `publish` when content is given (PROTOCOL.md §7): a UnixFS file
 * in a content-addressed store, its CIDv1 (sha2-256) and size, signed with the rest.
 */
const contentSchema = z.strictObject(
  {
    cid: z
      .string({ error: 'must be a CIDv1 string' })
      .max(128, { error: 'must be at most 128 characters' })
      .refine(isContentCid, { error: 'must be a CIDv1 (base32, dag-pb or raw, sha2-256)' }),
    size: z
      .number({ error: 'must be a number of bytes' })
      .int({ error: 'must be a whole number of bytes' })
      .min(0, { error: 'must not be negative' })
      .max(LIMITS.contentBytes, { error: `must be at most ${LIMITS.contentBytes} bytes` }),
    name: z
      .string({ error: 'must be a file name' })
      .min(1, { error: 'must not be empty' })
      .max(LIMITS.contentNameLength, { error: `must be at most ${LIMITS.contentNameLength} characters` })
      .refine(name => !/[/\\\p{Cc}]/u.test(name) && name !== '.' && name !== '..', {
        error: 'must be a plain file name (no path, no control characters)'
      })
      .optional(),
    mediaType: z
      .string({ error: 'must be a media type' })
      .max(127, { error: 'must be at most 127 characters' })
      .regex(MEDIA_TYPE, {
        error: 'must be a media type such as application/gzip (lowercase, no parameters)'
      })
      .optional()
  },
  {
    error: issue =>
      issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : 'must be an object'
  }
)

/** A CIDv1 string of the kinds package content uses: dag-pb or raw blocks hashed with sha2-256. */
function isContentCid(value: string): boolean {
  try {
    const cid = CID.parse(value)
    return (
      cid.version === 1 &&
      cid.multihash.code === 0x12 &&
      (cid.code === 0x70 || cid.code === 0x55) &&
      cid.toString() === value
    )
  } catch {
    return false
  }
}

/**
 * The fields of a manifest; `exact` for a record's, whose text fields must come trimmed (see
 * {@link text}). Nothing else is normalised: every other field is valid as written or refused.
 */
const manifestShape = (exact: boolean) =>
  ({
    id: packageId,
    version: z
      .string({ error: 'must be a semantic version string' })
      .max(64, { error: 'must be at most 64 characters' })
      .refine(v => semver.valid(v) === v, {
        error: 'must be a semantic version such as 1.2.3 (no "v" prefix, no spaces)'
      }),
    title: text(LIMITS.titleLength, 'title', exact),
    description: text(LIMITS.descriptionLength, 'description', exact),
    license: z
      .string({ error: 'must be an SPDX license expression' })
      .max(128, { error: 'must be at most 128 characters' })
      .refine(
        value => {
          try {
            parseSpdx(value)
            return true
          } catch {
            return false
          }
        },
        { error: 'must be an SPDX license expression such as "MIT" or "Apache-2.0 OR MIT"' }
      ),
    categories: list(
      'categories',
      z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, {
        error: 'each category is lowercase letters, digits and "-", at most 32 characters'
      })
    ).optional(),
    tags: list('tags', text(LIMITS.itemLength, 'a tag', exact)).optional(),
    authors: list('authors', text(LIMITS.itemLength * 2, 'an author', exact)).optional(),
    homepage: httpUrl.optional(),
    repository: httpUrl.optional(),
    dependencies: z
      .record(
        packageId,
        z.string().refine(range => semver.validRange(range) != null, {
          error: 'must be a semver range such as ^1.2.0'
        })
      )
      .refine(deps => Object.keys(deps).length <= LIMITS.dependencies, {
        error: `at most ${LIMITS.dependencies} dependencies`
      })
      .optional(),
    contentHash: z
      .string()
      .regex(/^sha256-[0-9a-f]{64}$/, { error: 'must be "sha256-" followed by 64 lowercase hex digits' })
      .optional(),
    content: contentSchema.optional()
  }) as const

const objectError = (what: string) => ({
  error: (issue: { code: string; keys?: string[] }) =>
    issue.code === 'unrecognized_keys'
      ? `unknown field(s) ${(issue.keys ?? []).join(', ')}`
      : `the ${what} must be an object`
})

/**
 * The manifest a publisher writes (contract §2), its text fields trimmed. Unknown fields are
 * refused, not dropped.
 */
export const manifestSchema = z.strictObject(manifestShape(false), objectError('manifest'))

/** What a publisher writes. */
export type PackageManifest = z.infer<typeof manifestSchema>

/**
 * A signed record: the manifest plus who published it, when, and the signature (contract §2),
 * validated as sent: nothing is trimmed or otherwise normalised (PROTOCOL.md §3).
 */
export const recordSchema = z.strictObject(
  {
    ...manifestShape(true),
    publisher: z
      .string()
      .regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, { error: 'must be an Ed25519 peer id' }),
    publishedAt: z.iso.datetime({ error: 'must be an ISO 8601 UTC time' }),
    signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, { error: 'must be a base64url Ed25519 signature' })
  },
  objectError('record')
)

export type PackageRecord = z.infer<typeof recordSchema>

/** Turns zod's issues into `{ field, message }` with readable paths. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map(issue => ({
    field: issue.path.length === 0 ? '(manifest)' : issue.path.map(String).join('.'),
    message: issue.message
  }))
}

/** zod's issues in one line: `field: message; field: message` (an issue of the whole value: its message alone). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map(issue =>
      issue.path.length === 0 ? issue.message : `${issue.path.map(String).join('.')}: ${issue.message}`
    )
    .join('; ')
}

/** Validates a manifest, returning it normalised (trimmed strings) or throwing `InvalidManifestError`. */
export function parseManifest(input: unknown): PackageManifest {
  const result = manifestSchema.safeParse(input)
  if (!result.success) throw new InvalidManifestError(fieldIssues(result.error))
  return result.data
}

/** Splits `namespace/name`. */
export function namespaceOf(id: string): string {
  return id.slice(0, id.indexOf('/'))
}
