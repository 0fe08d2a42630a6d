import { html, nothing } from 'lit'
import type { NameStanding } from '../core/index.ts'

/**
 * How a result's name stands, at a glance: a domain that lists the publisher (verified), the
 * publisher's own key namespace, or a plain name anyone could have taken first; and a warning
 * when it looks like a verified name it is not.
 */
export function nameBadges(hit: { id: string; name: NameStanding }): unknown {
  const namespace = hit.id.slice(0, hit.id.indexOf('/'))
  const { kind, looksLike } = hit.name
  const standing =
    kind === 'domain'
      ? html`<span class="badge verified" data-name="verified" title=${`${namespace} lists this publisher`}
          >✓ ${namespace}</span
        >`
      : kind === 'key'
        ? html`<span class="badge" data-name="key" title="a namespace of the publisher's own key"
            >key namespace</span
          >`
        : html`<span
            class="badge unverified"
            data-name="unverified"
            title="a plain name: whoever published in it first holds it; nothing proves who that is"
            >unverified name</span
          >`
  return html`${standing}${
    looksLike != null
      ? html`<span class="badge lookalike" role="note" data-name="look-alike"
          >⚠ looks like <code>${looksLike}</code>, a verified name it is not</span
        >`
      : nothing
  }`
}
