import { html } from 'lit'

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1]
]

let relative: Intl.RelativeTimeFormat | undefined
let exact: Intl.DateTimeFormat | undefined

/** "3 days ago", "in 2 minutes", "now" (the browser's language), for an ISO time. */
export function relativeTime(iso: string, now = Date.now()): string {
  const at = Date.parse(iso)
  if (Number.isNaN(at)) return iso
  relative ??= new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
  const seconds = Math.round((at - now) / 1000)
  const [unit, size] = UNITS.find(([, size]) => Math.abs(seconds) >= size) ?? ['second', 1]
  return relative.format(Math.trunc(seconds / size), unit)
}

/** The full date and time, for a title: "4 December 2025 at 12:40". */
export function exactTime(iso: string): string {
  const at = Date.parse(iso)
  if (Number.isNaN(at)) return iso
  exact ??= new Intl.DateTimeFormat(undefined, { dateStyle: 'long', timeStyle: 'short' })
  return exact.format(at)
}

/** A `<time>` that reads "3 days ago" and shows the exact date when pointed at. */
export function timeAgo(iso: string): unknown {
  return html`<time datetime=${iso} title=${exactTime(iso)}>${relativeTime(iso)}</time>`
}
