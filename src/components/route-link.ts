import { html, nothing } from 'lit'
import type { Route, Router } from '../app/router.ts'

/**
 * A link to a view of the marketplace: a plain click moves the router (the app's URL, or the
 * widget's own history: a host page's URL is never touched); its `href` is the app's URL of that
 * view, so opening it in a new tab or copying it works too.
 */
export function routeLink(router: Router, route: Route, content: unknown, label?: string): unknown {
  const follow = (event: MouseEvent): void => {
    // a new tab or window (ctrl, cmd, shift, middle button) gets the app's URL as any link would
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    router.navigate(route)
  }
  return html`<a href=${router.shareUrl(route)} @click=${follow} aria-label=${label ?? nothing} part="link"
    >${content}</a
  >`
}
