import { LitElement, css, html, nothing } from 'lit'
import { property, state } from 'lit/decorators.js'
import { defaultRelayUrl } from '../app/collector-client.ts'
import { CollectorController } from '../app/collector-controller.ts'
import type { CollectorLoadOptions } from '../app/collector-controller.ts'
import { bytesText } from './format.ts'
import { cardStyles } from './shared-styles.ts'
import { v } from './theme.ts'
import { ICE_PATH_LABELS } from '../core/network/ice-path.ts'
import './mp-chart.ts'
import type { ChartData } from './mp-chart.ts'
import type { NetworkHealth, Percentiles } from '../core/telemetry/collector-api.ts'

const WINDOWS = [
  { label: 'last 5 minutes', windowMs: 5 * 60_000, bucketMs: 15_000 },
  { label: 'last 15 minutes', windowMs: 15 * 60_000, bucketMs: 30_000 },
  { label: 'last hour', windowMs: 60 * 60_000, bucketMs: 2 * 60_000 }
] as const

const COLORS = ['#2f6fed', '#e0892f', '#2a9d5b', '#b3261e', '#7a4fd0', '#5b6474']

/**
 * Network health from every node's collected spans (the relay aggregates,
 * `GET /api/network-health`): publish success rates, search latency and where
 * results came from, fan-out effectiveness, per-peer latency and reputation
 * over time, connection churn, gossip propagation and bootstrap reliability.
 * Figures are text; the small charts (uPlot, lazily loaded) show the trend.
 * Refreshes when spans arrive and as the window slides.
 */
export class MpHealth extends LitElement {
  static override styles = [
    cardStyles,
    css`
      .figures {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr));
        gap: 0.5rem;
        margin: 0 0 1rem;
      }
      .figures > div {
        border: 1px solid ${v('border')};
        border-radius: 6px;
        padding: 0.5rem 0.75rem;
      }
      dt {
        font-weight: 600;
        font-size: 0.9em;
      }
      dd {
        margin: 0.2rem 0 0;
        font-size: 0.9em;
      }
      .charts {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr));
        gap: 1rem;
      }
      table {
        width: 100%;
        border-collapse: collapse;
        font-size: 0.9em;
        margin-top: 1rem;
      }
      th,
      td {
        text-align: left;
        padding: 0.2rem 0.5rem;
        border-bottom: 1px solid ${v('border')};
      }
      .header {
        display: flex;
        flex-wrap: wrap;
        justify-content: space-between;
        gap: 0.5rem;
        align-items: baseline;
      }
    `
  ]

  /** HTTP origin of the relay whose collector to read; defaults to `?relay=` or the page's origin. */
  @property() relay = defaultRelayUrl()
  @state() private window: (typeof WINDOWS)[number] = WINDOWS[1]
  @state() private health?: NetworkHealth
  @state() private error?: string
  // at most one request a second however fast spans arrive; the window slides even when none do
  private readonly live = new CollectorController(this, {
    load: async options => await this.load(options),
    everyMs: 15_000
  })

  override render(): unknown {
    const h = this.health
    return html`<section aria-labelledby="health-title">
      <div class="header">
        <h2 id="health-title">Network health</h2>
        <label
          >Window
          <select @change=${(e: Event) => this.choose((e.target as HTMLSelectElement).selectedIndex)}>
            ${WINDOWS.map(w => html`<option ?selected=${w === this.window}>${w.label}</option>`)}
          </select>
        </label>
      </div>
      ${this.error != null ? html`<p role="alert">${this.error}</p>` : nothing}
      ${h == null ? html`<p class="muted">Loading the network's figures…</p>` : this.renderHealth(h)}
    </section>`
  }

  private renderHealth(h: NetworkHealth): unknown {
    const p = h.publish
    const s = h.search
    const f = h.fanOut
    return html`<dl class="figures">
        <div data-figure="publish">
          <dt>Publishes</dt>
          <dd>
            ${p.total} · stored in the DHT ${pct(p.dhtStored, p.total)} · announced
            ${pct(p.gossiped, p.total)} ${p.failed > 0 ? html`· ${p.failed} failed` : nothing}
          </dd>
        </div>
        <div data-figure="search">
          <dt>Searches</dt>
          <dd>${s.total} · ${latency(s.latencyMs)} · local results ${ratio(s.localShare)}</dd>
        </div>
        <div data-figure="fan-out">
          <dt>Fan-out</dt>
          <dd>
            ${f.queries} queries · ${num(f.avgPeersQueried)} peers each · ${ratio(f.responseRate)} answered ·
            ${ratio(f.answeredShare)} with an answer
          </dd>
        </div>
        <div data-figure="gossip">
          <dt>Gossip</dt>
          <dd>${h.gossip.deliveries} deliveries · propagation ${latency(h.gossip.propagationMs)}</dd>
        </div>
        <div data-figure="connections">
          <dt>Connections</dt>
          <dd>
            ${h.connections.opened} opened · ${h.connections.closed} closed · ${h.connections.errors} errors
          </dd>
          ${
            Object.keys(h.connections.icePaths).length > 0
              ? html`<dd data-figure="ice-paths" title="Direct WebRTC connections by the path ICE selected">
                  direct via
                  ${Object.entries(h.connections.icePaths)
                    .map(([path, n]) => `${ICE_PATH_LABELS[path] ?? path} ${n}`)
                    .join(' · ')}
                </dd>`
              : nothing
          }
        </div>
        <div data-figure="bootstrap">
          <dt>Bootstraps</dt>
          <dd>
            ${h.bootstrap.total} · ${h.bootstrap.failed} failed · ${latency(h.bootstrap.connectionTimeMs)}
          </dd>
        </div>
        <div data-figure="content">
          <dt>Content</dt>
          <dd>${h.content.downloads} downloads · ${bytesText(h.content.bytes)}</dd>
          ${h.content.servedBy
            .slice(0, 5)
            .map(
              p =>
                html`<dd data-peer-id=${p.peerId}>
                  <code title=${p.peerId}>…${p.peerId.slice(-10)}</code> served ${bytesText(p.bytes)} in
                  ${p.downloads} download${p.downloads === 1 ? '' : 's'}
                </dd>`
            )}
        </div>
      </dl>
      <div class="charts">
        <mp-chart
          .label=${'Publish success rate'}
          .data=${
            {
              xs: h.buckets,
              unit: '%',
              range: [0, 100],
              series: [
                { label: 'DHT', color: COLORS[0]!, values: p.perBucket.map(b => percent(b.dhtRate)) },
                { label: 'gossip', color: COLORS[1]!, values: p.perBucket.map(b => percent(b.gossipRate)) }
              ]
            } satisfies ChartData
          }
        ></mp-chart>
        <mp-chart
          .label=${'Search latency'}
          .data=${
            {
              xs: h.buckets,
              unit: ' ms',
              series: [
                { label: 'p50', color: COLORS[0]!, values: s.perBucket.map(b => b.p50) },
                { label: 'p95', color: COLORS[1]!, values: s.perBucket.map(b => b.p95) }
              ]
            } satisfies ChartData
          }
        ></mp-chart>
        <mp-chart
          .label=${'Connection churn'}
          .data=${
            {
              xs: h.buckets,
              series: [
                { label: 'opened', color: COLORS[2]!, values: h.connections.perBucket.map(b => b.opened) },
                { label: 'closed', color: COLORS[3]!, values: h.connections.perBucket.map(b => b.closed) }
              ]
            } satisfies ChartData
          }
        ></mp-chart>
        <mp-chart .label=${'Peer reputation'} .data=${reputationChart(h)}></mp-chart>
      </div>
      ${
        h.peers.length === 0
          ? nothing
          : html`<div class="table-scroll" tabindex="0" role="region" aria-label="Per-peer figures">
              <table aria-label="Per-peer query latency and reputation">
                <thead>
                  <tr>
                    <th scope="col">Peer</th>
                    <th scope="col">Queries</th>
                    <th scope="col">Failures</th>
                    <th scope="col">Avg latency</th>
                    <th scope="col">p95 latency</th>
                    <th scope="col">Reputation</th>
                  </tr>
                </thead>
                <tbody>
                  ${h.peers.map(
                    peer =>
                      html`<tr>
                        <td><code title=${peer.peerId}>…${peer.peerId.slice(-10)}</code></td>
                        <td>${peer.queries}</td>
                        <td>${peer.failures}</td>
                        <td>${ms(peer.avgLatencyMs)}</td>
                        <td>${ms(peer.p95LatencyMs)}</td>
                        <td>${peer.reputation?.toFixed(2) ?? '–'}</td>
                      </tr>`
                  )}
                </tbody>
              </table>
            </div>`
      }`
  }

  private choose(index: number): void {
    this.window = WINDOWS[index] ?? WINDOWS[1]
    this.live.refresh()
  }

  private async load(options: CollectorLoadOptions): Promise<void> {
    try {
      const { windowMs, bucketMs } = this.window
      this.health = await this.live.collector.networkHealth(windowMs, bucketMs, options)
      this.error = undefined
    } catch (err) {
      if (!options.signal.aborted) this.error = (err as Error).message
    }
  }
}

/** The busiest peers' reputation over time, on one time axis. */
function reputationChart(h: NetworkHealth): ChartData {
  const peers = h.peers.filter(p => p.reputationHistory.length > 0).slice(0, 5)
  const xs = [...new Set(peers.flatMap(p => p.reputationHistory.map(([t]) => t)))].sort((a, b) => a - b)
  return {
    xs,
    range: [0, 1],
    series: peers.map((p, i) => {
      const at = new Map(p.reputationHistory)
      return { label: `…${p.peerId.slice(-6)}`, color: COLORS[i]!, values: xs.map(x => at.get(x) ?? null) }
    })
  }
}

function pct(part: number, whole: number): string {
  return whole === 0 ? '–' : `${Math.round((part / whole) * 100)} %`
}

function ratio(value: number | null): string {
  return value == null ? '–' : `${Math.round(value * 100)} %`
}

function percent(value: number | null): number | null {
  return value == null ? null : value * 100
}

function num(value: number | null): string {
  return value == null ? '–' : String(Math.round(value * 10) / 10)
}

function ms(value: number | null): string {
  return value == null ? '–' : `${Math.round(value)} ms`
}

function latency(p: Percentiles | null): string {
  return p == null ? 'no latency yet' : `p50 ${ms(p.p50)}, p95 ${ms(p.p95)}`
}

if (customElements.get('mp-health') == null) customElements.define('mp-health', MpHealth)
