import { LitElement, css, html, nothing } from 'lit'
import { property, state } from 'lit/decorators.js'
import { defaultRelayUrl } from '../app/collector-client.ts'
import { CollectorController } from '../app/collector-controller.ts'
import type { CollectorLoadOptions } from '../app/collector-controller.ts'
import { NodeController } from '../app/node-controller.ts'
import { EXTRA_SPAN, OPERATION, SPAN } from '../core/telemetry/schema.ts'
import { cardStyles } from './shared-styles.ts'
import { v } from './theme.ts'
import { spanDetails } from './span-details.ts'
import { peerOf, waterfall } from './trace-waterfall.ts'
import type { Waterfall } from './trace-waterfall.ts'
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

type SelectedTrace = Waterfall & { traceId: string }

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
        background: ${v('accent')};
      }
      .critical .bar {
        background: ${v('warn')};
      }
      .failed .bar {
        background: ${v('error')};
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
  @state() private selected?: SelectedTrace
  @state() private span?: StoredSpan
  @state() private error?: string
  /** The collector answered at least once (until then, an empty list means nothing yet). */
  @state() private loaded = false
  /** The trace the person chose: shown, or awaited until its spans arrive. */
  private wanted?: string

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
      <label
        >Operation
        <select
          @change=${(e: Event) => this.filter((e.target as HTMLSelectElement).value)}
          aria-label="Filter traces by operation"
        >
          ${OPERATIONS.map(op => html`<option value=${op} ?selected=${op === this.operation}>${op === '' ? 'all' : op === 'actions' ? 'user actions' : op}</option>`)}
        </select>
      </label>
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
                ${t.error ? '⚠ ' : ''}${t.name} · ${t.durationMs.toFixed(1)} ms · ${t.spanCount} spans ·
                ${t.peers.length} peer(s)
              </button>
            </li>`
        )}
      </ul>
      ${this.selected != null ? this.renderWaterfall(this.selected) : nothing}
      ${this.span != null ? spanDetails(this.span) : nothing}
    </section>`
  }

  private renderWaterfall(selected: SelectedTrace): unknown {
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
            <span style=${`padding-left:${row.depth * 1}rem`}>${breakable(row.span.name)}</span>
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

  private readonly onHash = (): void => {
    const match = /^#trace=([0-9a-f]{32})$/.exec(location.hash)
    if (match?.[1] != null) this.select(match[1])
  }

  private filter(operation: string): void {
    this.operation = operation
    this.live.refresh()
  }

  /** The recent traces, and the chosen trace again: new spans may belong to it. */
  private async load(options: CollectorLoadOptions): Promise<void> {
    const operation = this.operation
    const params: Record<string, string> = { limit: operation === 'actions' ? '200' : '30' }
    if (operation !== '' && operation !== 'actions') params.operation = operation
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

  private select(traceId: string): void {
    this.wanted = traceId
    // spans arrive a moment after the operation: try again, less and less often
    this.live.retry(async options => this.wanted !== traceId || (await this.show(traceId, options)))
  }

  /** Shows the trace's waterfall; false while the collector has none of its spans yet. */
  private async show(traceId: string, options: CollectorLoadOptions): Promise<boolean> {
    const spans = await this.live.collector.trace(traceId, options)
    if (this.wanted !== traceId) return true // another trace was chosen meanwhile
    if (spans.length === 0) return false
    this.selected = { traceId, ...waterfall(spans) }
    return true
  }

  private showSpan(span: StoredSpan): void {
    this.span = span
  }
}

if (customElements.get('mp-traces') == null) customElements.define('mp-traces', MpTraces)
