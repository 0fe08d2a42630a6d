import { LitElement, css, html, nothing } from 'lit'
import { property, state } from 'lit/decorators.js'
import { defaultRelayUrl } from '../app/collector-client.ts'
import { CollectorController } from '../app/collector-controller.ts'
import type { CollectorLoadOptions } from '../app/collector-controller.ts'
import { NodeController } from '../app/node-controller.ts'
import { EXTRA_SPAN, OPERATION, SPAN } from '../core/telemetry/schema.ts'
import { toOtlpJson } from '../core/telemetry/otlp-export.ts'
import { cardStyles } from './shared-styles.ts'
import { peerColour, v } from './theme.ts'
import { spanDetails } from './span-details.ts'
import { axisTicks, durationText, waterfall } from './trace-waterfall.ts'
import type { Waterfall, WaterfallRow } from './trace-waterfall.ts'
import type { StoredSpan, TraceSummary } from '../core/telemetry/collector-api.ts'

/** `actions` (the default) lists what people do: publishes, searches, downloads, bootstraps. */
const ACTIONS = new Set<string>([SPAN.publish, SPAN.search, EXTRA_SPAN.fetchContent, SPAN.bootstrap])
const OPERATIONS = [
  'actions',
  '',
  OPERATION.publish,
  OPERATION.p2pSearch,
  EXTRA_SPAN.fetchContent,
  OPERATION.bootstrap,
  OPERATION.processEvents,
  OPERATION.peerReputationUpdate
] as const

type SelectedTrace = Waterfall & { traceId: string; spans: StoredSpan[] }

/** `name=value`: the attribute filter as typed (a name as the schema writes them, a value up to 256 characters). */
const ATTRIBUTE_FILTER = /^\s*([A-Za-z0-9_.-]{1,128})\s*=\s*(.{1,256}?)\s*$/

/** `#trace=<trace id>` or `#trace=<trace id>/<span id>`: a trace, and a span of it to show. */
const TRACE_HASH = /^#trace=([0-9a-f]{32})(?:\/([0-9a-f]{16}))?$/

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

const short = (peer: string): string => (peer === '' ? 'unknown peer' : `…${peer.slice(-10)}`)

/** A span name that may wrap after its underscores (`announce_` `package`), never inside a word. */
const breakable = (name: string): unknown =>
  name.split('_').map((part, i) => (i === 0 ? part : html`_<wbr />${part}`))

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
        background: ${v('neutral-bg')};
        border-radius: 3px;
      }
      .bar {
        position: absolute;
        top: 0;
        bottom: 0;
        min-width: 2px;
        border-radius: 3px;
      }
      /* the critical path: a bar outlined in the text colour (colour alone tells peers apart) */
      .critical .bar {
        box-shadow: 0 0 0 2px ${v('fg')};
      }
      .failed .bar {
        background-image: repeating-linear-gradient(135deg, transparent 0 4px, ${v('error')} 4px 7px);
      }
      /* drawn from the attribute: the row's name stays "Span <name>" (its title says the duration) */
      .duration::after {
        content: attr(data-duration);
      }
      .duration {
        position: absolute;
        top: -0.05rem;
        font-size: 0.75em;
        white-space: nowrap;
        padding: 0 0.25rem;
      }
      /* on a pill of the card's colour: readable on any peer's colour */
      .duration.inside {
        background: ${v('card-bg')};
        border-radius: 2px;
        margin-right: 2px;
      }
      .event {
        position: absolute;
        top: -0.2rem;
        bottom: -0.2rem;
        width: 2px;
        background: ${v('fg')};
      }
      .axis {
        position: relative;
        height: 1.1rem;
        border-bottom: 1px solid ${v('border')};
        font-size: 0.75em;
      }
      .tick {
        position: absolute;
        bottom: 0;
        padding-bottom: 0.1rem;
        border-left: 1px solid ${v('border')};
        padding-left: 0.2rem;
        white-space: nowrap;
      }
      .tick.end {
        transform: translateX(-100%);
        border-left: 0;
        border-right: 1px solid ${v('border')};
        padding: 0 0.2rem 0.1rem 0;
      }
      .legend {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 1rem;
        padding: 0;
        margin: 0.25rem 0 0.5rem;
        list-style: none;
        font-size: 0.85em;
      }
      .swatch {
        display: inline-block;
        width: 0.8rem;
        height: 0.8rem;
        border-radius: 2px;
        vertical-align: -0.1rem;
        margin-right: 0.3rem;
      }
      .filters {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        align-items: end;
      }
      .filters input {
        width: 16rem;
        max-width: 100%;
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        align-items: center;
      }
      button.link {
        border: 0;
        background: none;
        padding: 0;
        color: ${v('link')};
        text-decoration: underline;
        cursor: pointer;
        text-align: left;
      }
      .events,
      .links {
        margin: 0.25rem 0;
        padding-left: 1.25rem;
      }
      table {
        border-collapse: collapse;
        font-size: 0.9em;
        width: 100%;
      }
      td,
      th {
        text-align: left;
        padding: 0.15rem 0.5rem;
        border-bottom: 1px solid ${v('border')};
        vertical-align: top;
      }
      /* attribute names whole; values (ids, JSON) wrap where they must */
      .table-scroll td {
        white-space: normal;
        overflow-wrap: anywhere;
        min-width: 8rem;
      }
    `
  ]

  /** HTTP origin of the relay whose collector to read; defaults to `?relay=` or the page's origin. */
  @property() relay = defaultRelayUrl()
  private readonly store = new NodeController(this).store
  private readonly live = new CollectorController(this, {
    load: async options => await this.load(options),
    coalesceMs: 300
  })
  @state() private traces: TraceSummary[] = []
  @state() private operation = 'actions'
  /** The attribute filter as typed (`name=value`), and what is wrong with it. */
  @state() private attribute = ''
  @state() private attributeError?: string
  /** Traces whose spans link to the span shown. */
  @state() private linkedFrom: TraceSummary[] = []
  @state() private selected?: SelectedTrace
  @state() private span?: StoredSpan
  @state() private error?: string
  /** The collector answered at least once (until then, an empty list means nothing yet). */
  @state() private loaded = false
  /** The trace the person chose: shown, or awaited until its spans arrive; and the span of it to show. */
  private wanted?: string
  private wantedSpan?: string

  override connectedCallback(): void {
    super.connectedCallback()
    addEventListener('hashchange', this.onHash)
    this.onHash()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    removeEventListener('hashchange', this.onHash)
  }

  override render(): unknown {
    return html`<section aria-labelledby="traces-title">
      <h2 id="traces-title">Traces</h2>
      <div class="filters">
        <label
          >Operation
          <select
            @change=${(e: Event) => this.filter((e.target as HTMLSelectElement).value)}
            aria-label="Filter traces by operation"
          >
            ${OPERATIONS.map(op => html`<option value=${op} ?selected=${op === this.operation}>${op === '' ? 'all' : op === 'actions' ? 'user actions' : op}</option>`)}
          </select>
        </label>
        <label
          >Attribute
          <input
            type="search"
            aria-label="Filter traces by attribute"
            aria-describedby="attribute-hint"
            placeholder="package_id=acme/widget"
            maxlength="400"
            .value=${this.attribute}
            @change=${(e: Event) => this.filterAttribute((e.target as HTMLInputElement).value)}
          />
        </label>
      </div>
      <p id="attribute-hint" class="muted">
        ${
          this.attributeError != null
            ? html`<span role="alert" class="error">${this.attributeError}</span>`
            : 'Only traces with a span that has this attribute value (name=value, Enter to apply).'
        }
      </p>
      ${this.error != null ? html`<p role="alert" class="error">${this.error}</p>` : nothing}
      ${
        !this.loaded && this.error == null
          ? html`<p class="muted">Loading the traces…</p>`
          : this.traces.length === 0 && this.error == null
            ? html`<div class="empty" data-empty="traces">
                <p>
                  <strong
                    >No
                    ${this.operation === 'actions' ? 'user actions' : this.operation === '' ? 'traces' : this.operation}
                    traced yet.</strong
                  >
                </p>
                <p>
                  Search or publish something: its trace, with every peer's part in it, appears here within a
                  few seconds.
                </p>
              </div>`
            : nothing
      }
      <ul class="traces" aria-label="Recent traces">
        ${this.traces.map(
          t =>
            html`<li>
              <button @click=${() => this.select(t.traceId)} title=${`trace ${t.traceId}`}>
                ${t.error ? '⚠ ' : ''}${t.name} · ${durationText(t.durationMs)} · ${t.spanCount} spans ·
                ${t.peers.length} peer(s)
              </button>
            </li>`
        )}
      </ul>
      ${this.selected != null ? this.renderWaterfall(this.selected) : nothing}
      ${this.span != null ? this.renderSpan(this.span) : nothing}
    </section>`
  }

  private renderWaterfall(selected: SelectedTrace): unknown {
    const jaeger = this.store.config?.jaegerUrl
    const self = this.store.node?.peerId
    const percent = (ms: number): number => (ms / selected.totalMs) * 100
    const ticks = axisTicks(selected.totalMs)
    return html`<div role="region" aria-label="Trace waterfall" data-trace-id=${selected.traceId}>
      <h3>Trace <code>${selected.traceId}</code> (${durationText(selected.totalMs)})</h3>
      <div class="actions">
        <button @click=${() => this.export(selected)}>Export OTLP JSON</button>
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
              >${short(peer)}${peer === self ? ' (this tab)' : ''}
            </li>`
        )}
        <li><span class="swatch" style=${`box-shadow:0 0 0 2px currentColor`}></span>critical path</li>
      </ul>
      <div class="row" aria-hidden="true">
        <span class="muted">span</span>
        <span class="axis" data-testid="time-axis">
          ${ticks.map(
            (t, i) =>
              html`<span
                class=${`tick ${i > 0 && percent(t) > 85 ? 'end' : ''}`}
                style=${`left:${percent(t)}%`}
                >${durationText(t)}</span
              >`
          )}
        </span>
      </div>
      ${selected.rows.map(row => this.renderRow(row, selected, percent))}
    </div>`
  }

  private renderRow(row: WaterfallRow, selected: SelectedTrace, percent: (ms: number) => number): unknown {
    const { span } = row
    const left = percent(row.offsetMs)
    const right = percent(row.offsetMs + span.durationMs)
    const peer = selected.peers[row.peer] ?? ''
    const failed = span.status.code === 2
    const title = [
      `${span.name}: ${durationText(span.durationMs)} on peer ${short(peer)}`,
      row.remoteParent ? 'answering a request from another peer' : '',
      row.critical ? 'on the critical path' : '',
      failed ? 'failed' : '',
      ...row.events.map(e => `event ${e.name} at ${durationText(e.offsetMs)}`)
    ]
      .filter(part => part !== '')
      .join('; ')
    return html`<button
      class=${`row ${row.critical ? 'critical' : ''} ${failed ? 'failed' : ''}`}
      @click=${() => this.showSpan(span)}
      aria-label=${`Span ${span.name}`}
      aria-pressed=${this.span?.spanId === span.spanId ? 'true' : 'false'}
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

  private renderSpan(span: StoredSpan): unknown {
    const parentId = span.parentSpanId
    const parent = parentId != null ? this.selected?.spans.find(s => s.spanId === parentId) : undefined
    return spanDetails(span, {
      ...(parent != null ? { parent } : {}),
      linkedFrom: this.linkedFrom,
      select: s => this.showSpan(s),
      open: (traceId, spanId) => {
        location.hash = `trace=${traceId}${spanId !== '' ? `/${spanId}` : ''}`
      }
    })
  }

  /** Saves the trace shown as an OTLP/HTTP JSON request (`trace-<id>.json`), for any OTLP tool. */
  private export(selected: SelectedTrace): void {
    const body = JSON.stringify(toOtlpJson(selected.spans), null, 2)
    const url = URL.createObjectURL(new Blob([body], { type: 'application/json' }))
    const a = document.createElement('a')
    a.href = url
    a.download = `trace-${selected.traceId}.json`
    a.click()
    setTimeout(() => URL.revokeObjectURL(url), 60_000)
  }

  private readonly onHash = (): void => {
    const match = TRACE_HASH.exec(location.hash)
    if (match?.[1] != null) this.select(match[1], match[2])
  }

  private filter(operation: string): void {
    this.operation = operation
    this.live.refresh()
  }

  private filterAttribute(typed: string): void {
    this.attribute = typed
    this.attributeError =
      typed.trim() === '' || ATTRIBUTE_FILTER.test(typed)
        ? undefined
        : 'Write the filter as name=value, e.g. package_id=acme/widget.'
    if (this.attributeError == null) this.live.refresh()
  }

  /** The recent traces, and the chosen trace again: new spans may belong to it. */
  private async load(options: CollectorLoadOptions): Promise<void> {
    const operation = this.operation
    const params: Record<string, string> = { limit: operation === 'actions' ? '200' : '30' }
    if (operation !== '' && operation !== 'actions') params.operation = operation
    const attribute = ATTRIBUTE_FILTER.exec(this.attribute)
    if (attribute?.[1] != null && attribute[2] != null) params[`attr.${attribute[1]}`] = attribute[2]
    try {
      const traces = await this.live.collector.traces(params, options)
      this.traces = operation === 'actions' ? traces.filter(t => ACTIONS.has(t.name)).slice(0, 30) : traces
      this.loaded = true
      this.error = undefined
    } catch (err) {
      if (!options.signal.aborted) this.error = (err as Error).message
    }
    // `show` reports its own failure in the panel; the list above is shown either way
    if (this.wanted != null) await this.show(this.wanted, options).catch(() => false)
  }

  private select(traceId: string, spanId?: string): void {
    this.wanted = traceId
    this.wantedSpan = spanId
    // spans arrive a moment after the operation: try again, less and less often
    this.live.retry(async options => this.wanted !== traceId || (await this.show(traceId, options)))
  }

  /** Shows the trace's waterfall; false while the collector has none of its spans yet. */
  private async show(traceId: string, options: CollectorLoadOptions): Promise<boolean> {
    const spans = await this.live.collector.trace(traceId, options)
    if (this.wanted !== traceId) return true // another trace was chosen meanwhile
    if (spans.length === 0) return false
    this.selected = { traceId, spans, ...waterfall(spans) }
    const wanted = this.wantedSpan != null ? spans.find(s => s.spanId === this.wantedSpan) : undefined
    if (wanted != null) {
      this.wantedSpan = undefined
      this.showSpan(wanted)
    }
    return true
  }

  /** Shows a span's details, and looks up the traces that link to it. */
  private showSpan(span: StoredSpan): void {
    this.span = span
    this.linkedFrom = []
    this.live.collector
      .traces({ linkedTo: span.spanId, limit: '20' })
      .then(traces => {
        if (this.span === span) this.linkedFrom = traces.filter(t => t.traceId !== span.traceId)
      })
      .catch(() => {}) // the links out are shown either way; a collector error shows in the list above
  }
}

if (customElements.get('mp-traces') == null) customElements.define('mp-traces', MpTraces)
