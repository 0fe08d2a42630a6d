import { html, nothing } from 'lit'
import { timeAgo } from './dates.ts'
import { routeLink } from './route-link.ts'
import type { Router } from '../app/router.ts'
import type { PackageRecord } from '../core/package/schema.ts'

/** One version of a package, with when it was published when this node holds its record. */
export interface VersionEntry {
  version: string
  publishedAt?: string
}

/** Every version, newest first, each a link to its page; the one shown is marked current. */
export function versionList(router: Router, id: string, current: string, versions: VersionEntry[]): unknown {
  return html`<h4 id="versions-title">Versions (${versions.length})</h4>
    <ol class="versions" aria-labelledby="versions-title">
      ${versions.map(
        v =>
          html`<li ?data-current=${v.version === current}>
            ${
              v.version === current
                ? html`<strong aria-current="page">${v.version}</strong>
                    <span class="muted">(this page)</span>`
                : routeLink(router, { view: 'pkg', id, version: v.version }, v.version, `${id} ${v.version}`)
            }
            ${v.publishedAt != null ? html`<span class="muted">· ${timeAgo(v.publishedAt)}</span>` : nothing}
          </li>`
      )}
    </ol>`
}

/** The packages this one depends on, each a link to its page, with the range it asks for. */
export function dependencyList(router: Router, record: PackageRecord): unknown {
  const deps = Object.entries(record.dependencies ?? {})
  return html`<h4 id="deps-title">Dependencies (${deps.length})</h4>
    ${
      deps.length === 0
        ? html`<p class="muted">None: this package stands on its own.</p>`
        : html`<ul class="deps" aria-labelledby="deps-title">
            ${deps.map(
              ([dep, range]) =>
                html`<li>
                  ${routeLink(router, { view: 'pkg', id: dep }, html`<code>${dep}</code>`)}
                  <span class="muted">${range}</span>
                </li>`
            )}
          </ul>`
    }`
}

/** A snippet to copy: what it is for, the text, and a copy button that says when it copied. */
export interface Snippet {
  key: string
  label: string
  text: string
}

/**
 * The snippets of a package: the tag that embeds its page on any site, and, when it has content,
 * the command line that fetches it.
 */
export function snippetsOf(record: PackageRecord, relay: string): Snippet[] {
  const ref = `${record.id}@${record.version}`
  const snippets: Snippet[] = [
    {
      key: 'embed',
      label: 'Embed this package on a site',
      text: `<script type="module" src="${relay}/widget/p2p-marketplace.js"></script>\n<p2p-marketplace package="${ref}"></p2p-marketplace>`
    }
  ]
  if (record.content != null)
    snippets.push({
      key: 'cli',
      label: 'Fetch it from a terminal',
      text: `npx p2p-marketplace fetch ${ref} --relay ${relay}`
    })
  return snippets
}

export function snippetBlock(snippet: Snippet, copied: boolean, copy: () => void): unknown {
  return html`<figure class="snippet" data-snippet=${snippet.key}>
    <figcaption>${snippet.label}</figcaption>
    <pre tabindex="0" part="snippet"><code>${snippet.text}</code></pre>
    <button type="button" @click=${copy} aria-label=${`Copy: ${snippet.label}`} part="button">
      ${copied ? 'Copied' : 'Copy'}
    </button>
  </figure>`
}
