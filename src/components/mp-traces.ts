import { LitElement, html, nothing } from 'lit'
import { property, state } from 'lit/decorators.js'
import { defaultRelayUrl } from '../app/collector-client.ts'
import { CollectorController } from '../app/collector-controller.ts'
import type { CollectorLoadOptions } from '../app/collector-controller.ts'
import { NodeController } from '../app/node-controller.ts'
import { EXTRA_SPAN, OPERATION, SPAN } from '../core/telemetry/schema.ts'
import { spanDetails } from './span-details.ts'
import { traceStyles } from './trace-styles.ts'
import { durationText, waterfall } from './trace-waterfall.ts'
import { waterfallView } from './waterfall-view.ts'
import type { SelectedTrace } from './waterfall-view.ts'
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

/** `name=value`: the attribute filter as typed (a name as the schema writes them, a value up to 256 characters). */
const ATTRIBUTE_FILTER = /^\s*([A-Za-z0-9_.-]{1,128})\s*=\s*(.{1,256}?)\s*$/

/** `#trace=<trace id>` or `#trace=<trace id>/<span id>`: a trace, and a span of it to show. */
const TRACE_HASH = /^#trace=([0-9a-f]{32})(?:\/([0-9a-f]{16}))?$/

/**
 * The live trace panel: recent traces from the relay's collector (updated by
 * server-sent events), a waterfall of the selected trace with every peer's
 * spans nested under their parents and the critical path marked, and a span
 * detail view with every attribute, the status and the links; "Open in
 * Jaeger" when the relay names a Jaeger UI.
 */
export class MpTraces extends LitElement {
  static override styles = traceStyles

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
      ${
        this.selected != null
          ? waterfallView(this.selected, {
              ...(this.store.config?.jaegerUrl != null ? { jaeger: this.store.config.jaegerUrl } : {}),
              ...(this.store.node?.peerId != null ? { self: this.store.node.peerId } : {}),
              ...(this.span != null ? { shownSpanId: this.span.spanId } : {}),
              onSpan: span => this.showSpan(span)
            })
          : nothing
      }
      ${this.span != null ? this.renderSpan(this.span) : nothing}
    </section>`
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
