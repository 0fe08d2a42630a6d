import { html, nothing } from 'lit'
import { toOtlpJson } from '../core/telemetry/otlp-export.ts'
import { peerColour } from './theme.ts'
import { axisTicks, durationText, peerName } from './trace-waterfall.ts'
import type { Waterfall, WaterfallRow } from './trace-waterfall.ts'
import type { StoredSpan } from '../core/telemetry/collector-api.ts'

/** The trace the panel shows: its waterfall and its spans. */
export type SelectedTrace = Waterfall & { traceId: string; spans: StoredSpan[] }

export interface WaterfallViewOptions {
  /** This tab's peer id, named in the legend. */
  self?: string
  /** A Jaeger UI to open the trace in. */
  jaeger?: string
  /** The span whose details are shown (its row is pressed). */
  shownSpanId?: string
  onSpan: (span: StoredSpan) => void
}

/** Where a bar's duration goes: after the bar, before it when the bar ends near the right edge, else inside it. */
const durationPlace = (left: number, right: number): 'after' | 'before' | 'inside' =>
  right <= 75 ? 'after' : left >= 15 ? 'before' : 'inside'

function durationStyle(left: number, right: number): string {
  const place = durationPlace(left, right)
  return place === 'after'
    ? `left:${right}%`
    : place === 'before'
      ? `right:${100 - left}%`
      : `right:${100 - right}%`
}

/** A span name that may wrap after its underscores (`announce_` `package`), never inside a word. */
const breakable = (name: string): unknown =>
  name.split('_').map((part, i) => (i === 0 ? part : html`_<wbr />${part}`))

/**
 * A trace's waterfall: its actions (export, Jaeger), a legend of its peers' colours, a time axis,
 * and a row per span with its bar, its events and its duration.
 */
export function waterfallView(selected: SelectedTrace, view: WaterfallViewOptions): unknown {
  const { jaeger, self } = view
  const percent = (ms: number): number => (ms / selected.totalMs) * 100
  const ticks = axisTicks(selected.totalMs)
  return html`<div role="region" aria-label="Trace waterfall" data-trace-id=${selected.traceId}>
    <h3>Trace <code>${selected.traceId}</code> (${durationText(selected.totalMs)})</h3>
    <div class="actions">
      <button @click=${() => exportTrace(selected)}>Export OTLP JSON</button>
      ${
        jaeger != null
          ? html`<a
              href=${`${jaeger.replace(/\/+$/, '')}/trace/${selected.traceId}`}
              target="_blank"
              rel="noopener noreferrer"
              >Open in Jaeger</a
            >`
          : nothing
      }
    </div>
    <ul class="legend" aria-label="Peers in this trace">
      ${selected.peers.map(
        (peer, i) =>
          html`<li data-peer=${peer}>
            <span class="swatch" style=${`background:${peerColour(i)}`}></span
            >${peerName(peer)}${peer === self ? ' (this tab)' : ''}
          </li>`
      )}
      <li><span class="swatch" style=${`box-shadow:0 0 0 2px currentColor`}></span>critical path</li>
    </ul>
    <div class="row" aria-hidden="true">
      <span class="muted">span</span>
      <span class="axis" data-testid="time-axis">
        ${ticks.map(
          (t, i) =>
            html`<span class=${`tick ${i > 0 && percent(t) > 85 ? 'end' : ''}`} style=${`left:${percent(t)}%`}
              >${durationText(t)}</span
            >`
        )}
      </span>
    </div>
    ${selected.rows.map(row => rowView(row, selected, percent, view))}
  </div>`
}

function rowView(
  row: WaterfallRow,
  selected: SelectedTrace,
  percent: (ms: number) => number,
  view: WaterfallViewOptions
): unknown {
  const { span } = row
  const left = percent(row.offsetMs)
  const right = percent(row.offsetMs + span.durationMs)
  const peer = selected.peers[row.peer] ?? ''
  const failed = span.status.code === 2
  const title = [
    `${span.name}: ${durationText(span.durationMs)} on peer ${peerName(peer)}`,
    row.remoteParent ? 'answering a request from another peer' : '',
    row.critical ? 'on the critical path' : '',
    failed ? 'failed' : '',
    ...row.events.map(e => `event ${e.name} at ${durationText(e.offsetMs)}`)
  ]
    .filter(part => part !== '')
    .join('; ')
  return html`<button
    class=${`row ${row.critical ? 'critical' : ''} ${failed ? 'failed' : ''}`}
    @click=${() => view.onSpan(span)}
    aria-label=${`Span ${span.name}`}
    aria-pressed=${view.shownSpanId === span.spanId ? 'true' : 'false'}
    title=${title}
    data-peer=${peer}
  >
    <span style=${`padding-left:${row.depth}rem`}
      >${row.remoteParent ? '↳ ' : ''}${failed ? '⚠ ' : ''}${breakable(span.name)}</span
    >
    <span class="bar-track"
      ><span
        class="bar"
        style=${`left:${left}%;width:${right - left}%;background-color:${peerColour(row.peer)}`}
      ></span
      >${row.events.map(e => html`<span class="event" style=${`left:${percent(e.offsetMs)}%`}></span>`)}<span
        class=${`duration ${durationPlace(left, right)}`}
        style=${durationStyle(left, right)}
        data-duration=${durationText(span.durationMs)}
      ></span
    ></span>
  </button>`
}

/** Saves the trace shown as an OTLP/HTTP JSON request (`trace-<id>.json`), for any OTLP tool. */
export function exportTrace(selected: SelectedTrace): void {
  const body = JSON.stringify(toOtlpJson(selected.spans), null, 2)
  const url = URL.createObjectURL(new Blob([body], { type: 'application/json' }))
  const a = document.createElement('a')
  a.href = url
  a.download = `trace-${selected.traceId}.json`
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}
