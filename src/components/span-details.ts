import { html, nothing } from 'lit'
import { durationText, peerName, peerOf } from './trace-waterfall.ts'
import { EXTRA_SPAN } from '../core/telemetry/schema.ts'
import type { AttrValue, StoredSpan, TraceSummary } from '../core/telemetry/collector-api.ts'

/** What the details can lead to: the parent span, linked spans in other traces, the spans linking here. */
export interface SpanRelations {
  /** The parent span, when it is in the trace shown. */
  parent?: StoredSpan
  /** Traces with a span that links to this one (e.g. the gossip deliveries of an announcement). */
  linkedFrom?: TraceSummary[]
  select: (span: StoredSpan) => void
  open: (traceId: string, spanId: string) => void
}

const value = (v: AttrValue): string => (typeof v === 'string' ? v : JSON.stringify(v))
/** A span's details: duration, status, its peer, every attribute, its events, its parent and its links both ways. */
export function spanDetails(span: StoredSpan, relations: SpanRelations): unknown {
  const start = BigInt(span.startTimeUnixNano)
  const { parent, linkedFrom = [] } = relations
  return html`<div role="region" aria-label="Span details" data-span-id=${span.spanId}>
    <h3>${span.name}</h3>
    <div class="table-scroll" tabindex="0" role="region" aria-label="Span attributes">
      <table>
        <tbody>
          <tr>
            <th scope="row">duration</th>
            <td>${durationText(span.durationMs)}</td>
          </tr>
          <tr>
            <th scope="row">status</th>
            <td>
              ${['unset', 'ok', 'error'][span.status.code] ?? span.status.code}${span.status.message != null ? `: ${span.status.message}` : ''}
            </td>
          </tr>
          <tr>
            <th scope="row">peer</th>
            <td>${peerOf(span)}</td>
          </tr>
          ${
            parent != null
              ? html`<tr>
                  <th scope="row">parent</th>
                  <td>
                    <button class="link" @click=${() => relations.select(parent)}>
                      ${parent.name}${peerOf(parent) !== peerOf(span) ? ` on peer ${peerName(peerOf(parent))}` : ''}
                    </button>
                  </td>
                </tr>`
              : nothing
          }
          ${Object.entries(span.attributes).map(
            ([k, v]) =>
              html`<tr>
                <th scope="row">${k}</th>
                <td>${value(v)}</td>
              </tr>`
          )}
        </tbody>
      </table>
    </div>
    ${
      span.events.length === 0
        ? nothing
        : html`<h4>Events</h4>
            <ol class="events" aria-label="Span events">
              ${span.events.map(
                e =>
                  html`<li>
                    <strong>${e.name}</strong> at
                    +${durationText(Number(BigInt(e.timeUnixNano) - start) / 1e6)}
                    ${Object.entries(e.attributes).map(([k, v]) => html`<code>${k}=${value(v)}</code> `)}
                  </li>`
              )}
            </ol>`
    }
    ${
      span.links.length === 0 && linkedFrom.length === 0
        ? nothing
        : html`<h4>Links</h4>
            <ul class="links" aria-label="Linked spans">
              ${span.links.map(
                l =>
                  html`<li>
                    <button class="link" @click=${() => relations.open(l.traceId, l.spanId)}>
                      ${span.name === EXTRA_SPAN.receiveAnnouncement ? 'The announcement' : 'Linked span'}
                      (trace <code>${l.traceId.slice(0, 8)}…</code>)
                    </button>
                  </li>`
              )}
              ${linkedFrom.map(
                t =>
                  html`<li>
                    <button class="link" @click=${() => relations.open(t.traceId, '')}>
                      Linked from ${t.name} on ${t.peers.map(peerName).join(', ')} (trace
                      <code>${t.traceId.slice(0, 8)}…</code>)
                    </button>
                  </li>`
              )}
            </ul>`
    }
  </div>`
}
