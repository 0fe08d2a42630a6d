import { html } from 'lit'
import { textOf } from './format.ts'
import type { RouteQuery } from '../app/router.ts'
import { timeAgo } from './dates.ts'
import { nameBadges } from './name-badges.ts'
import { shortPeer } from './provenance.ts'
import type { SearchHit } from '../core/index.ts'

/**
 * One package in a list of results: title, id and version, when it was published, how its name
 * stands, what it is, its tags and categories, who signed it and where it came from, and a button
 * to its page. Every field is rendered as text (Lit escapes interpolations), never as HTML.
 */
export function resultCard(hit: SearchHit, from: string, open: () => void): unknown {
  return html`<li>
    <article aria-label=${hit.title} part="result">
      <h3>${hit.title}</h3>
      <div class="line">
        <code>${hit.id}</code> <span class="version">${hit.version}</span>
        <span class="muted">· published ${timeAgo(hit.publishedAt)}</span> ${nameBadges(hit)}
      </div>
      <p>${hit.description}</p>
      <div>
        ${(hit.tags ?? []).map(t => html`<span class="badge" title="tag">${t}</span>`)}
        ${(hit.categories ?? []).map(c => html`<span class="badge" title="category">${c}</span>`)}
      </div>
      <div class="muted provenance">
        <span class="badge verified" title=${`signature verified against ${hit.publisher}`}
          >✓ signed by ${shortPeer(hit.publisher)}</span
        >
        <span data-provenance>${from}</span>
      </div>
      <button @click=${open} aria-label=${`Details of ${hit.id}`} part="button">Details</button>
    </article>
  </li>`
}

/** An empty list of results: what was searched for, and what to try. */
export function noResults(query: RouteQuery): unknown {
  const what = [query.text !== '' ? `“${query.text}”` : '', ...query.tags, ...query.categories]
  return html`<div class="empty" data-empty="results">
    <p>
      <strong>No packages match ${what.filter(w => w !== '').join(', ') || 'this search'}.</strong>
    </p>
    <p>
      Check the spelling, use fewer words, or drop a tag or category. Packages published while this search is
      open appear here by themselves.
    </p>
  </div>`
}

/** The start view of a node that holds no package yet. */
export function noPackagesYet(): unknown {
  return html`<div class="empty" data-empty="newest">
    <p><strong>No packages here yet.</strong></p>
    <p>
      Search above to ask the network (an empty search lists what peers hold), or publish one: it is signed
      with this tab's key and shared peer to peer.
    </p>
  </div>`
}

const list = (value: FormDataEntryValue | null): string[] =>
  textOf(value)
    .split(',')
    .map(s => s.trim())
    .filter(s => s !== '')

/** The search form's fields as a query: text, and comma-separated categories and tags. */
export function queryOfForm(form: HTMLFormElement): RouteQuery {
  const data = new FormData(form)
  return {
    text: textOf(data.get('text')),
    categories: list(data.get('categories')),
    tags: list(data.get('tags'))
  }
}

/** Shows a query in the search form (a link, back or a reload brought it). */
export function fillForm(root: ParentNode, query: RouteQuery): void {
  const set = (id: string, value: string): void => {
    const input = root.querySelector<HTMLInputElement>(`#${id}`)
    if (input != null) input.value = value
  }
  set('search-text', query.text)
  set('search-categories', query.categories.join(', '))
  set('search-tags', query.tags.join(', '))
}
