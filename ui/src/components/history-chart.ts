import { css, html, LitElement, svg } from 'lit'
import { api } from '../lib/api.ts'
import { bars, labelIndexes, linearScale, niceDomain } from '../lib/chart.ts'
import { formatEnergy, formatEnergyTick, formatEth } from '../lib/format.ts'
import type { History } from '../lib/types.ts'
import { type Load, load, loading, renderLoad } from './load-state.ts'
import { shared } from './styles.ts'

type Range = 'day' | 'week' | 'month'

const RANGES: Record<Range, { label: string; seconds: number; resolution: History['resolution'] }> = {
  day: { label: 'Day', seconds: 86_400, resolution: 'hour' },
  week: { label: 'Week', seconds: 7 * 86_400, resolution: 'day' },
  month: { label: 'Month', seconds: 30 * 86_400, resolution: 'day' },
}

const H = 220
const PAD = { left: 60, right: 8, top: 10, bottom: 28 }

/**
 * Energy history as an SVG bar chart (drawn here: a chart library would dwarf the app). The
 * range ends at `now` — the meter's time, which for the virtual meter may run ahead of the wall
 * clock — so the chart shows the meter's own recent days.
 */
export class HistoryChart extends LitElement {
  static override properties = {
    now: { type: Number },
    range: { state: true },
    data: { state: true },
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
      .bar {
        fill: var(--accent);
      }
      .axis {
        stroke: var(--line);
      }
      text {
        fill: var(--muted);
        font-size: 11px;
      }
      [role='tablist'] {
        display: flex;
        gap: 0.25rem;
        margin-bottom: 0.5rem;
      }
      [role='tab'][aria-selected='false'] {
        background: transparent;
        color: var(--accent);
        border: 1px solid var(--control);
      }
    `,
  ]
  declare now: number
  declare range: Range
  declare data: Load<History>
  /** Drawing width = the element's width, so axis labels keep their size on a phone. */
  declare width: number
  #requested = ''
  #fetchedAt = 0
  #resize = new ResizeObserver((entries) => {
    const w = Math.round(entries[0]?.contentRect.width ?? 0)
    if (w > 0 && Math.abs(w - this.width) > 8) this.width = w
  })

  constructor() {
    super()
    this.now = 0
    this.range = 'day'
    this.data = loading()
    this.width = 640
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.#resize.observe(this)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.#resize.disconnect()
  }

  override willUpdate(changed: Map<string, unknown>): void {
    // Refetch when the range changes, or when the meter's clock crosses into a new hour — at most
    // every 10 s of real time, since a simulated meter's hours may pass in a second.
    const key = `${this.range}:${Math.floor(this.now / 3600)}`
    if (!(changed.has('now') || changed.has('range')) || this.now === 0 || key === this.#requested) return
    const rangeChanged = !this.#requested.startsWith(`${this.range}:`)
    if (!rangeChanged && Date.now() - this.#fetchedAt < 10_000) return
    this.#requested = key
    this.#fetchedAt = Date.now()
    void this.#fetch()
  }

  async #fetch(): Promise<void> {
    const { seconds, resolution } = RANGES[this.range]
    const to = this.now
    const from = to - seconds
    if (this.data.state !== 'ready') this.data = loading()
    this.data = await load(() => api.readings({ query: { from, to, resolution } }))
  }

  #select(range: Range): void {
    this.range = range
  }

  #onKey(event: KeyboardEvent): void {
    const keys = Object.keys(RANGES) as Range[]
    const i = keys.indexOf(this.range)
    if (event.key === 'ArrowRight') this.range = keys[(i + 1) % keys.length]!
    else if (event.key === 'ArrowLeft') this.range = keys[(i + keys.length - 1) % keys.length]!
    else return
    event.preventDefault()
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<HTMLElement>('[aria-selected="true"]')?.focus(),
    )
  }

  #chart(history: History) {
    const points = history.points
    if (points.length === 0) return html`<p class="muted">No readings in this range yet.</p>`
    const values = points.map((p) => p.energyWh)
    const { domain, ticks } = niceDomain(0, Math.max(...values))
    const y = linearScale(domain, [H - PAD.bottom, PAD.top])
    const W = Math.max(280, this.width)
    const innerW = W - PAD.left - PAD.right
    const rects = bars(values, innerW, y)
    const hourly = history.resolution !== 'day'
    const label = (t: number) => {
      const d = new Date(t * 1000)
      return hourly
        ? `${String(d.getUTCHours()).padStart(2, '0')}h`
        : `${d.getUTCMonth() + 1}/${d.getUTCDate()}`
    }
    const total = values.reduce((a, b) => a + b, 0)
    const cost = points.reduce((a, p) => a + (/^\d+$/.test(p.costWei) ? BigInt(p.costWei) : 0n), 0n)
    return html`<p class="small">Total ${formatEnergy(total)} · ${formatEth(cost)}</p>
      <svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Energy per ${hourly ? 'hour' : 'day'}, ${points.length} bars, total ${formatEnergy(total)}">
        ${ticks.map(
          (t) => svg`<line class="axis" x1=${PAD.left} x2=${W - PAD.right} y1=${y(t)} y2=${y(t)}></line>
            <text x=${PAD.left - 4} y=${y(t) + 4} text-anchor="end">${formatEnergyTick(t)}</text>`,
        )}
        ${rects.map(
          (r, i) => svg`<rect class="bar" x=${PAD.left + r.x} y=${r.y} width=${r.width} height=${r.height}>
            <title>${label(points[i]!.time)}: ${formatEnergy(values[i]!)}, ${formatEth(points[i]!.costWei)}</title></rect>`,
        )}
        ${labelIndexes(points.length, Math.max(3, Math.floor(innerW / 70))).map(
          (i) =>
            svg`<text x=${PAD.left + rects[i]!.x + rects[i]!.width / 2} y=${H - 8} text-anchor="middle">${label(points[i]!.time)}</text>`,
        )}
      </svg>`
  }

  override render() {
    return html`<div role="tablist" aria-label="History range" @keydown=${this.#onKey}>
        ${(Object.keys(RANGES) as Range[]).map(
          (r) =>
            html`<button role="tab" aria-selected=${this.range === r ? 'true' : 'false'} tabindex=${this.range === r ? 0 : -1}
              @click=${() => this.#select(r)}>${RANGES[r].label}</button>`,
        )}
      </div>
      <div role="tabpanel" aria-label="${RANGES[this.range].label} history">
        ${
          this.now === 0
            ? html`<p class="muted">Waiting for the first reading to know the meter's time…</p>`
            : renderLoad(
                this.data,
                (h) => this.#chart(h),
                () => void this.#fetch(),
                'history',
              )
        }
      </div>`
  }
}
customElements.define('zkm-history-chart', HistoryChart)
