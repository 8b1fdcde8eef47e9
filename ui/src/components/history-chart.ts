import { css, html, LitElement, svg } from 'lit'
import { bars, labelIndexes, linearScale, niceDomain } from '../lib/chart.ts'
import { formatEnergy, formatEnergyTick } from '../lib/format.ts'
import { HomeMoney } from '../lib/home-money.ts'
import type { HistoryPoint } from '../lib/types.ts'
import { shared } from './styles.ts'

const H = 220
const PAD = { left: 60, right: 8, top: 10, bottom: 28 }

/**
 * Energy per hour or per day as an SVG bar chart (drawn here: a chart library would dwarf the app).
 * It only draws: the Energy view (insight-view.ts) fetches the points and says how to label a
 * bar's time (`label`, in the household's time zone) and what one bar is (`unit`: "hour", "day").
 * A home that exports (solar) gets a second series below the zero line: energy returned to the
 * grid, on the same scale, so a sunny noon reads as "used little, gave back more".
 */
export class HistoryChart extends LitElement {
  /** Costs in the home's money: Ether or its area's token. */
  readonly #money = new HomeMoney(this)
  static override properties = {
    points: { attribute: false },
    label: { attribute: false },
    unit: {},
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
      /* Energy returned to the grid, drawn below the zero line in the "good" colour. */
      .bar.export {
        fill: var(--ok);
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
  declare points: HistoryPoint[]
  declare label: (time: number) => string
  declare unit: string
  /** Drawing width = the element's width, so axis labels keep their size on a phone. */
  declare width: number
  #resize = new ResizeObserver((entries) => {
    const w = Math.round(entries[0]?.contentRect.width ?? 0)
    if (w > 0 && Math.abs(w - this.width) > 8) this.width = w
  })

  constructor() {
    super()
    this.points = []
    this.label = (t) => new Date(t * 1000).toISOString().slice(11, 13)
    this.unit = 'hour'
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

  override render() {
    const points = this.points
    if (points.length === 0) return html`<p class="muted">No readings in this range yet.</p>`
    const values = points.map((p) => p.energyWh)
    const exported = points.map((p) => p.exportedWh ?? 0)
    const exports = exported.some((wh) => wh > 0)
    const { domain, ticks } = niceDomain(-Math.max(0, ...exported), Math.max(...values))
    const y = linearScale(domain, [H - PAD.bottom, PAD.top])
    const W = Math.max(280, this.width)
    const innerW = W - PAD.left - PAD.right
    const rects = bars(values, innerW, y)
    const exportRects = exports
      ? bars(
          exported.map((wh) => -wh),
          innerW,
          y,
        )
      : []
    const total = values.reduce((a, b) => a + b, 0)
    const totalExported = exported.reduce((a, b) => a + b, 0)
    const label = `Energy per ${this.unit}, ${points.length} bars, total ${formatEnergy(total)}${
      exports ? `; returned to the grid below the line, total ${formatEnergy(totalExported)}` : ''
    }`
    return html`<svg viewBox="0 0 ${W} ${H}" role="img" aria-label=${label}>
        ${ticks.map(
          (t) => svg`<line class="axis" x1=${PAD.left} x2=${W - PAD.right} y1=${y(t)} y2=${y(t)}></line>
            <text x=${PAD.left - 4} y=${y(t) + 4} text-anchor="end">${formatEnergyTick(Math.abs(t))}</text>`,
        )}
        ${rects.map(
          (r, i) => svg`<rect class="bar" x=${PAD.left + r.x} y=${r.y} width=${r.width} height=${r.height}>
            <title>${this.label(points[i]!.time)}: ${formatEnergy(values[i]!)}, ${this.#money.format(points[i]!.costWei)}</title></rect>`,
        )}
        ${exportRects.map(
          (
            r,
            i,
          ) => svg`<rect class="bar export" x=${PAD.left + r.x} y=${r.y} width=${r.width} height=${r.height}>
            <title>${this.label(points[i]!.time)}: ${formatEnergy(exported[i]!)} returned to the grid</title></rect>`,
        )}
        ${labelIndexes(points.length, Math.max(3, Math.floor(innerW / 70))).map(
          (i) =>
            svg`<text x=${PAD.left + rects[i]!.x + rects[i]!.width / 2} y=${H - 8} text-anchor="middle">${this.label(points[i]!.time)}</text>`,
        )}
      </svg>`
  }
}
customElements.define('zkm-history-chart', HistoryChart)
