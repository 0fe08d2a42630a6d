import { LitElement, css, html } from 'lit'
import type { PropertyValues } from 'lit'
import { property } from 'lit/decorators.js'
import type uPlot from 'uplot'
import { onThemeChange } from '../app/theme-preference.ts'
import { v } from './theme.ts'

export interface ChartSeries {
  label: string
  color: string
  /** One value per x (`null` = no data there). */
  values: Array<number | null>
}

export interface ChartData {
  /** X values, epoch ms. */
  xs: number[]
  series: ChartSeries[]
  /** Unit of the y values, shown on the axis (`%`, `ms`, …). */
  unit?: string
  /** Fixed y range, e.g. [0, 100] for rates. */
  range?: [number, number]
}

/** uPlot and its stylesheet arrive in their own chunk, the first time a chart draws. */
let loading: Promise<{ UPlot: typeof uPlot; sheet: CSSStyleSheet }> | undefined
async function loadUPlot(): Promise<{ UPlot: typeof uPlot; sheet: CSSStyleSheet }> {
  loading ??= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css?inline')]).then(
    ([mod, style]) => {
      const sheet = new CSSStyleSheet()
      sheet.replaceSync(style.default)
      return { UPlot: mod.default, sheet }
    }
  )
  return await loading
}

/**
 * A small time-series chart (uPlot, a canvas): `label` names it for assistive
 * technology, which also gets the latest values as text; the legend is plain
 * text next to it.
 */
export class MpChart extends LitElement {
  static override styles = css`
    :host {
      display: block;
      min-width: 0;
    }
    figure {
      margin: 0;
    }
    figcaption {
      font-size: 0.85em;
      font-weight: 600;
      margin-bottom: 0.25rem;
    }
    .plot {
      height: 120px;
    }
    .legend {
      display: flex;
      flex-wrap: wrap;
      gap: 0.25rem 0.75rem;
      font-size: 0.8em;
      color: ${v('muted')};
    }
    .swatch {
      display: inline-block;
      width: 0.7em;
      height: 0.7em;
      border-radius: 2px;
      margin-right: 0.25em;
    }
  `

  /** The chart's title and accessible name. */
  @property() label = ''
  /** What to plot. */
  @property({ attribute: false }) data?: ChartData
  private plot?: uPlot
  private resize?: ResizeObserver
  private shape = ''
  private stopThemeWatch?: () => void
  /** Drawn only once on screen: uPlot's chunk and its first draw cost a tab ~100 ms of CPU while it starts. */
  private onScreen?: IntersectionObserver
  private seen = false

  override connectedCallback(): void {
    super.connectedCallback()
    this.onScreen = new IntersectionObserver(entries => {
      if (!entries.some(e => e.isIntersecting)) return
      this.seen = true
      this.onScreen?.disconnect()
      this.draw().catch((err: unknown) => console.warn(`mp-chart: could not draw ${this.label}`, err))
    })
    this.onScreen.observe(this)
    // the axes are drawn on a canvas in the theme's colours of the moment: a new theme redraws them
    this.stopThemeWatch = onThemeChange(() => {
      this.shape = ''
      this.draw().catch((err: unknown) => console.warn(`mp-chart: could not redraw ${this.label}`, err))
    })
  }

  override updated(changed: PropertyValues<this>): void {
    if (changed.has('data'))
      this.draw().catch((err: unknown) => console.warn(`mp-chart: could not draw ${this.label}`, err))
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.onScreen?.disconnect()
    this.stopThemeWatch?.()
    this.resize?.disconnect()
    this.plot?.destroy()
    this.plot = undefined
  }

  override render(): unknown {
    const data = this.data
    const latest = (s: ChartSeries): string => {
      const v = s.values.findLast(x => x != null)
      return v == null ? 'no data' : `${format(v)}${data?.unit ?? ''}`
    }
    return html`<figure>
      <figcaption>${this.label}</figcaption>
      <div
        class="plot"
        role="img"
        aria-label=${`${this.label}: ${data?.series.map(s => `${s.label} ${latest(s)}`).join(', ') ?? 'no data'}`}
      ></div>
      <div class="legend">
        ${data?.series.map(
          s =>
            html`<span
              ><span class="swatch" style=${`background:${s.color}`}></span>${s.label}: ${latest(s)}</span
            >`
        )}
      </div>
    </figure>`
  }

  private async draw(): Promise<void> {
    const data = this.data
    if (data == null || !this.seen) return
    const { UPlot, sheet } = await loadUPlot()
    await this.updateComplete
    const root = this.shadowRoot
    const target = root?.querySelector<HTMLElement>('.plot')
    if (root == null || target == null) return
    if (!root.adoptedStyleSheets.includes(sheet))
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet]
    const aligned: uPlot.AlignedData = [data.xs.map(x => x / 1000), ...data.series.map(s => s.values)]
    const shape = data.series.map(s => s.label).join('|')
    if (this.plot != null && this.plot.series.length - 1 === data.series.length && this.shape === shape) {
      this.plot.setData(aligned)
      return
    }
    this.plot?.destroy()
    this.shape = shape
    // a canvas takes colours, not custom properties: the ones in effect where the chart is
    const ink = getComputedStyle(this).color
    const axis = {
      stroke: ink,
      grid: { stroke: 'rgba(128, 128, 128, 0.25)' },
      ticks: { stroke: 'rgba(128, 128, 128, 0.4)' }
    }
    this.plot = new UPlot(
      {
        width: Math.max(160, target.clientWidth),
        height: 120,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: true }, ...(data.range != null ? { y: { range: data.range } } : {}) },
        axes: [
          { size: 28, ...axis },
          { size: 60, ...axis, values: (_u, ticks) => ticks.map(t => `${format(t)}${data.unit ?? ''}`) }
        ],
        series: [
          {},
          ...data.series.map(s => ({
            label: s.label,
            stroke: s.color,
            width: 1.5,
            spanGaps: true,
            points: { show: true, size: 5 }
          }))
        ]
      },
      aligned,
      target
    )
    if (this.resize == null) {
      this.resize = new ResizeObserver(() =>
        this.plot?.setSize({ width: Math.max(160, target.clientWidth), height: 120 })
      )
      this.resize.observe(target)
    }
  }
}

/** Two decimals below 10, one below 100, none above: what a small chart has room for. */
function format(v: number): string {
  const digits = Math.abs(v) < 10 ? 2 : Math.abs(v) < 100 ? 1 : 0
  return String(Math.round(v * 10 ** digits) / 10 ** digits)
}

if (customElements.get('mp-chart') == null) customElements.define('mp-chart', MpChart)
