import { html } from 'lit'

/** `url` when it is an absolute http(s) URL, the only kinds shown as links; `undefined` otherwise. */
export function safeHref(url: string): string | undefined {
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined
  } catch {
    return undefined
  }
}

/**
 * A link a package names (homepage, repository): a link to another site, opened without telling
 * it where from, when it is http(s); anything else (`javascript:`, `data:`, a relative path)
 * shown as text that does nothing.
 */
export function externalLink(url: string): unknown {
  const href = safeHref(url)
  return href != null
    ? html`<a href=${href} target="_blank" rel="noopener noreferrer" part="link">${url}</a>`
    : html`<span class="unsafe-url" data-unsafe-url title="not an http(s) address: shown as text, not a link"
        >${url}</span
      >`
}
