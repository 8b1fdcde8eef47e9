import { css, html, LitElement, svg } from 'lit'
import { labelIndexes, linearScale, linePath, niceDomain } from '../lib/chart.ts'
import { formatPower } from '../lib/format.ts'
import { TrendWindow } from '../lib/insight.ts'
import { stream } from '../lib/stream.ts'
import type { Reading } from '../lib/types.ts'
import { shared } from './styles.ts'

/** Minutes of the meter's clock the trend shows. */
export const TREND_MINUTES = 15

/**
 * The trend is kept for the whole page, not per view: a view is rebuilt on every switch, and the
 * trend must not start over each time the resident comes back to Live. It folds every `reading`
 * event of the shared stream (the one EventSource, docs/ui.md), live and interval records alike.
 */
const trend = new TrendWindow(TREND_MINUTES * 60)
const shown = new Set<PowerTrend>()
function add(reading: Pick<Reading, 'time' | 'powerW'>): void {
  if (trend.add(reading)) for (const view of shown) view.requestUpdate()
}
stream.on('reading', add)

const H = 140
const PAD = { left: 60, right: 12, top: 10, bottom: 24 }

/** The live power of the last minutes as a line (SVG, drawn here), with its range in words. */
export class PowerTrend extends LitElement {
  static override properties = {
    latest: { attribute: false },
    width: { state: true },
  }
  static override styles = [
    shared,
    css`
      svg {
        width: 100%;
        height: auto;
        display: block;
      }
      .line {
        fill: none;
        stroke: var(--accent);
        stroke-width: 2;
      }
      .axis {
        stroke: var(--line);
      }
      text {
        fill: var(--muted);
        font-size: 11px;
      }
    `,
  ]
  /** The latest reading the view has (its REST snapshot): the trend's first point. */
  declare latest: Reading | undefined
  declare width: number
  #resize = new ResizeObserver((entries) => {
    const w = Math.round(entries[0]?.contentRect.width ?? 0)
    if (w > 0 && Math.abs(w - this.width) > 8) this.width = w
  })

  constructor() {
    super()
    this.latest = undefined
    this.width = 640
  }

  override connectedCallback(): void {
    super.connectedCallback()
    shown.add(this)
    this.#resize.observe(this)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    shown.delete(this)
    this.#resize.disconnect()
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('latest') && this.latest) trend.add(this.latest)
  }

  override render() {
    const samples = trend.samples
    if (samples.length < 2)
      return html`<p class="muted" data-trend="waiting">The trend fills in as readings arrive (the meter sends one a minute of its clock).</p>`
    const newest = samples.at(-1)!
    const start = newest.time - TREND_MINUTES * 60
    const powers = samples.map((s) => s.powerW)
    const low = Math.min(...powers)
    const high = Math.max(...powers)
    const W = Math.max(280, this.width)
    const x = linearScale([start, newest.time], [PAD.left, W - PAD.right])
    const { domain, ticks } = niceDomain(0, high, 3)
    const y = linearScale(domain, [H - PAD.bottom, PAD.top])
    const minutes = Math.max(1, Math.round((newest.time - samples[0]!.time) / 60))
    const summary = `now ${formatPower(newest.powerW)}, lowest ${formatPower(low)}, highest ${formatPower(high)} over the last ${minutes} minute${minutes === 1 ? '' : 's'}`
    const marks = [0, 5, 10, 15].filter((m) => m <= TREND_MINUTES)
    return html`<p class="small" data-trend="summary">Power ${summary} (the meter's clock).</p>
      <svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Power trend: ${summary}">
        ${ticks.map(
          (t) => svg`<line class="axis" x1=${PAD.left} x2=${W - PAD.right} y1=${y(t)} y2=${y(t)}></line>
            <text x=${PAD.left - 4} y=${y(t) + 4} text-anchor="end">${formatPower(t)}</text>`,
        )}
        <path class="line" d=${linePath(samples.map((s) => ({ x: x(s.time), y: y(s.powerW) })))}></path>
        ${labelIndexes(marks.length, Math.max(2, Math.floor((W - PAD.left) / 70))).map((i) => {
          const m = marks[i]!
          return svg`<text x=${x(newest.time - m * 60)} y=${H - 6} text-anchor=${m === 0 ? 'end' : m === TREND_MINUTES ? 'start' : 'middle'}>${m === 0 ? 'now' : `−${m} min`}</text>`
        })}
      </svg>`
  }
}
customElements.define('zkm-power-trend', PowerTrend)
