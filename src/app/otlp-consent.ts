/**
 * `?otlp=<url>` sends this tab's spans (its searches, its peer id) to a collector a link chose
 * instead of the relay's own. A link can come from anyone, so spans go there only once the person
 * said yes for that collector's origin; the answer is kept in this browser (localStorage).
 */
const KEY = 'p2p-marketplace:otlp-allowed'

/** The collector's origin, or undefined when `url` is not an http(s) URL. */
export function collectorOrigin(url: string): string | undefined {
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin : undefined
  } catch {
    return undefined
  }
}

function allowedOrigins(): string[] {
  try {
    const list: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]')
    return Array.isArray(list) ? list.filter((o): o is string => typeof o === 'string') : []
  } catch {
    return []
  }
}

/** Whether the person allowed spans to go to this collector. */
export function otlpAllowed(url: string): boolean {
  const origin = collectorOrigin(url)
  return origin != null && allowedOrigins().includes(origin)
}

/** Remembers that the person allowed spans to go to this collector (at most 20 origins kept). */
export function allowOtlp(url: string): void {
  const origin = collectorOrigin(url)
  if (origin == null) return
  const list = [...allowedOrigins().filter(o => o !== origin), origin].slice(-20)
  localStorage.setItem(KEY, JSON.stringify(list))
}
