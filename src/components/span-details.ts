import { html } from 'lit'
import { peerOf } from './trace-waterfall.ts'
import type { StoredSpan } from '../core/telemetry/collector-api.ts'

/** A span's details: duration, status, the peer that recorded it, every attribute and its links. */
export function spanDetails(span: StoredSpan): unknown {
  return html`<div role="region" aria-label="Span details">
    <h3>${span.name}</h3>
    <div class="table-scroll" tabindex="0" role="region" aria-label="Span attributes">
      <table>
        <tbody>
          <tr>
            <th scope="row">duration</th>
            <td>${span.durationMs.toFixed(2)} ms</td>
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
          ${Object.entries(span.attributes).map(
            ([k, v]) =>
              html`<tr>
                <th scope="row">${k}</th>
                <td>${JSON.stringify(v)}</td>
              </tr>`
          )}
          ${span.links.map(
            l =>
              html`<tr>
                <th scope="row">link</th>
                <td>${l.traceId}/${l.spanId}</td>
              </tr>`
          )}
        </tbody>
      </table>
    </div>
  </div>`
}
