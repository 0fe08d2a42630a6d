import { LitElement, css, html, nothing } from 'lit'
import { CollectorClient, defaultRelayUrl } from '../app/collector-client.ts'
import { NodeController } from '../app/node-controller.ts'
import { cardStyles } from './shared-styles.ts'
import type { StoredSpan, TraceSummary } from '../core/telemetry/collector-api.ts'

interface Row {
  span: StoredSpan
  depth: number
  offsetMs: number
  critical: boolean
}

/** `actions` (the default) lists what people do: publishes, searches, bootstraps. */
const ACTIONS = new Set(['publish', 'search', 'bootstrap'])
const OPERATIONS = [
  'actions',
  '',
  'publish',
  'p2p_search',
  'bootstrap',
  'process_events',
  'peer_reputation_update'
] as const

/**
 * The live trace panel: recent traces from the relay's collector (updated by
 * server-sent events), a waterfall of the selected trace with every peer's
 * spans nested under their parents and the critical path marked, and a span
 * detail view with every attribute, the status and the links; "Open in
 * Jaeger" when the relay names a Jaeger UI.
 */
export class MpTraces extends LitElement {
  static override styles = [
    cardStyles,
    css`
      .traces {
        display: grid;
        gap: 0.25rem;
        max-height: 16rem;
        overflow: auto;
        padding: 0;
        list-style: none;
      }
      .traces button {
        width: 100%;
        text-align: left;
      }
      .row {
        display: grid;
        /* one label width for every row, so the bars share a time axis */
        grid-template-columns: clamp(6rem, 35%, 14rem) minmax(0, 1fr);
        width: 100%;
        gap: 0.5rem;
        align-items: center;
        font-size: 0.9em;
        cursor: pointer;
        border: 0;
        background: none;
        text-align: left;
        padding: 0.1rem 0;
      }
      .bar-track {
        position: relative;
        height: 0.9rem;
        background: #f0f2f6;
        border-radius: 3px;
      }
      .bar {
        position: absolute;
        top: 0;
        bottom: 0;
        min-width: 2px;
        border-radius: 3px;
        background: #6f95e8;
      }
      .critical .bar {
        background: #e0892f;
      }
      .failed .bar {
        background: #b3261e;
      }
      table {
        border-collapse: collapse;
        font-size: 0.9em;
        table-layout: fixed;
        width: 100%;
      }
      td,
      th {
        text-align: left;
        padding: 0.15rem 0.5rem;
        border-bottom: 1px solid var(--mp-border, #d9dee8);
        vertical-align: top;
        word-break: break-all;
      }
    `
  ]

  /** HTTP origin of the relay whose collector to read (set before connecting); defaults to `?relay=` or the page's origin. */
  relay = defaultRelayUrl()
  private readonly store = new NodeController(this).store
  private traces: TraceSummary[] = []
  private operation = 'actions'
  private selected?: { traceId: string; rows: Row[]; totalMs: number }
  private span?: StoredSpan
  private unsubscribe?: () => void
  private refreshTimer?: ReturnType<typeof setTimeout>
  private error?: string

  private get collector(): CollectorClient {
    return CollectorClient.for(this.relay)
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.unsubscribe = this.collector.subscribe(() => this.scheduleRefresh())
    addEventListener('hashchange', this.onHash)
    this.refresh()
    this.onHash()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.unsubscribe?.()
    removeEventListener('hashchange', this.onHash)
    clearTimeout(this.refreshTimer)
  }

  override render(): unknown {
    return html`<section aria-labelledby="traces-title">
      <h2 id="traces-title">Traces</h2>
      <label
        >Operation
        <select
          @change=${(e: Event) => this.filter((e.target as HTMLSelectElement).value)}
          aria-label="Filter traces by operation"
        >
          ${OPERATIONS.map(op => html`<option value=${op} ?selected=${op === this.operation}>${op === '' ? 'all' : op === 'actions' ? 'user actions' : op}</option>`)}
        </select>
      </label>
      ${this.error != null ? html`<p role="alert">${this.error}</p>` : nothing}
      <ul class="traces" aria-label="Recent traces">
        ${this.traces.map(
          t =>
            html`<li>
              <button @click=${() => this.select(t.traceId)} title=${`trace ${t.traceId}`}>
                ${t.error ? '⚠ ' : ''}${t.name} · ${t.durationMs.toFixed(1)} ms · ${t.spanCount} spans ·
                ${t.peers.length} peer(s)
              </button>
            </li>`
        )}
      </ul>
      ${this.selected != null ? this.renderWaterfall(this.selected) : nothing}
      ${this.span != null ? this.renderSpan(this.span) : nothing}
    </section>`
  }

  private renderWaterfall(selected: NonNullable<MpTraces['selected']>): unknown {
    const jaeger = this.store.config?.jaegerUrl
    return html`<div role="region" aria-label="Trace waterfall" data-trace-id=${selected.traceId}>
      <h3>Trace <code>${selected.traceId}</code> (${selected.totalMs.toFixed(1)} ms)</h3>
      ${
        jaeger != null
          ? html`<p>
              <a
                href=${`${jaeger.replace(/\/+$/, '')}/trace/${selected.traceId}`}
                target="_blank"
                rel="noopener noreferrer"
                >Open in Jaeger</a
              >
            </p>`
          : nothing
      }
      ${selected.rows.map(
        row =>
          html`<button
            class=${`row ${row.critical ? 'critical' : ''} ${row.span.status.code === 2 ? 'failed' : ''}`}
            @click=${() => this.showSpan(row.span)}
            aria-label=${`Span ${row.span.name}`}
            title=${`${row.span.name} on peer ${peerOf(row.span)}${row.critical ? ' (critical path)' : ''}`}
          >
            <span style=${`padding-left:${row.depth * 1}rem`}>${row.span.name}</span>
            <span class="bar-track"
              ><span
                class="bar"
                style=${`left:${(row.offsetMs / selected.totalMs) * 100}%;width:${(row.span.durationMs / selected.totalMs) * 100}%`}
              ></span
            ></span>
          </button>`
      )}
    </div>`
  }

  private renderSpan(span: StoredSpan): unknown {
    return html`<div role="region" aria-label="Span details">
      <h3>${span.name}</h3>
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
    </div>`
  }

  private readonly onHash = (): void => {
    const match = /trace=([0-9a-f]{32})/.exec(location.hash)
    if (match?.[1] != null) this.select(match[1])
  }

  private filter(operation: string): void {
    this.operation = operation
    this.refresh()
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer)
    this.refreshTimer = setTimeout(() => {
      this.refresh()
      if (this.selected != null) this.select(this.selected.traceId)
    }, 300)
  }

  private refresh(): void {
    const params: Record<string, string> = { limit: this.operation === 'actions' ? '200' : '30' }
    if (this.operation !== '' && this.operation !== 'actions') params.operation = this.operation
    this.collector
      .traces(params)
      .then(traces => {
        this.traces =
          this.operation === 'actions' ? traces.filter(t => ACTIONS.has(t.name)).slice(0, 30) : traces
        this.error = undefined
      })
      .catch((err: unknown) => {
        this.error = (err as Error).message
      })
      .finally(() => this.requestUpdate())
  }

  private select(traceId: string): void {
    this.collector
      .trace(traceId)
      .then(spans => {
        if (spans.length === 0) {
          // spans arrive a moment after the operation: try again shortly
          setTimeout(() => this.select(traceId), 1000)
          return
        }
        this.selected = { traceId, ...waterfall(spans) }
        this.requestUpdate()
      })
      .catch(() => {})
  }

  private showSpan(span: StoredSpan): void {
    this.span = span
    this.requestUpdate()
  }
}

function peerOf(span: StoredSpan): string {
  const peer = span.resource['service.instance.id']
  return typeof peer === 'string' ? peer : ''
}

/** Orders spans depth-first under their parents and marks the critical path (the child that ends last, recursively). */
function waterfall(spans: StoredSpan[]): { rows: Row[]; totalMs: number } {
  const nanos = (s: StoredSpan): bigint => BigInt(s.startTimeUnixNano)
  const start = spans.reduce((min, s) => (nanos(s) < min ? nanos(s) : min), nanos(spans[0]!))
  const ids = new Set(spans.map(s => s.spanId))
  const children = new Map<string, StoredSpan[]>()
  const roots: StoredSpan[] = []
  for (const s of spans) {
    if (s.parentSpanId != null && ids.has(s.parentSpanId))
      children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s])
    else roots.push(s)
  }
  const offset = (s: StoredSpan): number => Number(nanos(s) - start) / 1e6
  const end = (s: StoredSpan): number => offset(s) + s.durationMs
  const critical = new Set<string>()
  const mark = (s: StoredSpan): void => {
    critical.add(s.spanId)
    const kids = children.get(s.spanId) ?? []
    const last = kids.reduce<StoredSpan | undefined>(
      (a, b) => (a == null || end(b) > end(a) ? b : a),
      undefined
    )
    if (last != null) mark(last)
  }
  const rows: Row[] = []
  const walk = (s: StoredSpan, depth: number): void => {
    rows.push({ span: s, depth, offsetMs: offset(s), critical: false })
    for (const c of (children.get(s.spanId) ?? []).sort((a, b) => offset(a) - offset(b))) walk(c, depth + 1)
  }
  roots.sort((a, b) => offset(a) - offset(b))
  if (roots[0] != null) mark(roots.reduce((a, b) => (end(b) - offset(b) > end(a) - offset(a) ? b : a)))
  for (const r of roots) walk(r, 0)
  for (const row of rows) row.critical = critical.has(row.span.spanId)
  const totalMs = Math.max(1e-3, ...spans.map(end))
  return { rows, totalMs }
}

if (customElements.get('mp-traces') == null) customElements.define('mp-traces', MpTraces)
