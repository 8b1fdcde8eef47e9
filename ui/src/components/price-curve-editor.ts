import { css, html, LitElement, svg } from 'lit'
import { linearScale } from '../lib/chart.ts'
import {
  formatPrice,
  GWEI_UNIT,
  type PresetName,
  PriceCurve,
  type PriceUnit,
  parsePrice,
  priceAt,
  slotAt,
} from '../lib/price-curve.ts'
import { shared } from './styles.ts'

/** An average as a person would type it: three significant digits (1234.5678 → 1230). */
function roundLevel(wei: bigint): bigint {
  let unit = 1n
  while (wei / unit >= 1000n) unit *= 10n
  return ((wei + unit / 2n) / unit) * unit
}

const W = 960
const H = 200

/**
 * Daily price curve editor: drag across the chart to paint slots at the pointer's height, type a
 * price per hour, or start from a preset. A preset keeps the price level: its day's average is the
 * "Average price" field, which starts at the average of the curve the editor was given (the tariff
 * in force). Fires `curve-change` with a copy of the curve.
 */
export class PriceCurveEditor extends LitElement {
  static override properties = {
    curve: { attribute: false },
    unit: { attribute: false },
    base: { state: true },
    error: { state: true },
  }
  static override styles = [
    shared,
    css`
      svg {
        width: 100%;
        height: 180px;
        touch-action: none;
        cursor: crosshair;
        display: block;
        border: 1px solid var(--line);
        border-radius: 6px;
      }
      .slot {
        fill: var(--accent);
      }
      .ticks {
        display: flex;
        justify-content: space-between;
        font-size: 0.75rem;
        color: var(--muted);
      }
      .hours {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(6.5rem, 1fr));
        gap: 0.4rem;
      }
      .hours input {
        width: 100%;
        box-sizing: border-box;
      }
      details {
        margin-top: 0.5rem;
      }
    `,
  ]
  declare curve: PriceCurve
  /** What prices are typed in: gwei per Wh for an Ether tariff, the token per kWh for a token's. */
  declare unit: PriceUnit
  declare base: string
  declare error: string
  #dragFrom: number | undefined
  #top = 0n
  /** The average field follows the given curve until the user types in it. */
  #baseTyped = false

  constructor() {
    super()
    this.curve = new PriceCurve(96)
    this.unit = GWEI_UNIT
    this.base = ''
    this.error = ''
  }

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    // The tariff in force arrives after the first render: its level is where presets start.
    if (changed.has('unit') && changed.get('unit') !== undefined) {
      // Another money: the typed average meant the old unit.
      this.#baseTyped = false
      this.base = ''
    }
    if (
      (changed.has('curve') || changed.has('unit')) &&
      !this.#baseTyped &&
      this.curve.max() > 0n &&
      this.base === ''
    ) {
      this.base = this.#format(roundLevel(this.curve.average()))
    }
  }

  #format(value: bigint): string {
    return formatPrice(value, this.unit)
  }

  #parse(text: string): bigint {
    return parsePrice(text, this.unit)
  }

  #emit(curve: PriceCurve): void {
    this.curve = curve
    this.dispatchEvent(new CustomEvent('curve-change', { detail: curve.clone() }))
  }

  #preset(name: PresetName): void {
    try {
      if (this.base.trim() === '') throw new Error('Enter the average price the preset should have.')
      const curve = this.curve.clone()
      curve.applyPresetAtLevel(name, this.#parse(this.base))
      this.error = ''
      this.#emit(curve)
    } catch (error) {
      this.error = (error as Error).message
    }
  }

  #setHour(hour: number, text: string): void {
    try {
      const curve = this.curve.clone()
      curve.setHour(hour, this.#parse(text))
      this.error = ''
      this.#emit(curve)
    } catch (error) {
      this.error = `${String(hour).padStart(2, '0')}:00 — ${(error as Error).message}`
    }
  }

  #paint(event: PointerEvent): void {
    const svgEl = event.currentTarget as SVGSVGElement
    const rect = svgEl.getBoundingClientRect()
    const slot = slotAt(event.clientX - rect.left, rect.width, this.curve.slots)
    // Steps of a tenth of the typed unit (0.1 gwei/Wh, 0.1 tUSD/kWh) while dragging.
    const step = this.unit.digits > 0 ? 10n ** BigInt(this.unit.digits - 1) : 1n
    const price = priceAt(event.clientY - rect.top, rect.height, this.#top, step)
    const curve = this.curve.clone()
    curve.fill(this.#dragFrom ?? slot, slot, price)
    this.#dragFrom = slot
    this.#emit(curve)
  }

  override render() {
    const curve = this.curve
    // The vertical scale is fixed while dragging so the curve does not move under the pointer.
    if (this.#dragFrom === undefined) {
      const max = curve.max()
      let base = 0n
      try {
        base = this.#parse(this.base || '1')
      } catch {
        // A half-typed average: the scale falls back to the default below.
      }
      this.#top = max > 0n ? (max * 3n) / 2n : base * 2n || this.unit.defaultTop
    }
    const top = Number(this.#top)
    const y = linearScale([0, top], [H, 0])
    const slotW = W / curve.slots
    return html`<div class="row">
        <label>Average price (${this.unit === GWEI_UNIT ? 'gwei per Wh = µETH per kWh' : this.unit.label})
          <input type="text" inputmode="decimal" name="average" .value=${this.base} @input=${(e: Event) => {
            this.#baseTyped = true
            this.base = (e.target as HTMLInputElement).value
          }} />
        </label>
        <button type="button" class="secondary" @click=${() => this.#preset('flat')}>Flat</button>
        <button type="button" class="secondary" @click=${() => this.#preset('day-night')}>Day / night</button>
        <button type="button" class="secondary" @click=${() => this.#preset('peak')}>Evening peak</button>
      </div>
      <p class="small muted">A preset keeps this average (the current tariff's, until you change it) and only reshapes the day. Drag across the chart to set prices (${curve.slots} slots of ${1440 / curve.slots} min, UTC); the top edge is ${this.#format(this.#top)} ${this.unit.short}.</p>
      <svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="Daily price curve; use the per-hour inputs below for keyboard editing"
        @pointerdown=${(e: PointerEvent) => {
          ;(e.currentTarget as Element).setPointerCapture(e.pointerId)
          this.#dragFrom = undefined
          this.#paint(e)
        }}
        @pointermove=${(e: PointerEvent) => {
          if (e.buttons & 1 && this.#dragFrom !== undefined) this.#paint(e)
        }}
        @pointerup=${() => {
          this.#dragFrom = undefined
          this.requestUpdate()
        }}>
        ${curve.prices.map((p, i) => {
          const h = H - y(Number(p))
          return svg`<rect class="slot" x=${i * slotW + 0.5} y=${H - h} width=${Math.max(1, slotW - 1)} height=${h}><title>${curve.slotLabel(i)}: ${this.#format(p)} ${this.unit.short}</title></rect>`
        })}
      </svg>
      <div class="ticks" aria-hidden="true">${['00:00', '06:00', '12:00', '18:00', '24:00'].map((t) => html`<span>${t}</span>`)}</div>
      <details>
        <summary>Prices per hour (${this.unit.label})</summary>
        <div class="hours">
          ${Array.from({ length: 24 }, (_, hour) => {
            const price = curve.hourPrice(hour)
            return html`<label>${String(hour).padStart(2, '0')}:00
              <input type="text" inputmode="decimal" data-hour=${hour} .value=${price === undefined ? '' : this.#format(price)}
                placeholder=${price === undefined ? 'mixed' : ''} aria-label="${String(hour).padStart(2, '0')}:00 to ${String(hour + 1).padStart(2, '0')}:00 UTC, price in ${this.unit.label}"
                @change=${(e: Event) => this.#setHour(hour, (e.target as HTMLInputElement).value)} /></label>`
          })}
        </div>
      </details>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}`
  }
}
customElements.define('zkm-price-curve-editor', PriceCurveEditor)
