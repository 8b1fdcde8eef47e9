import { css, html, LitElement } from 'lit'
import { ApiError, api, errorText } from '../lib/api.ts'
import {
  formatCurrent,
  formatEnergy,
  formatEth,
  formatPower,
  formatTemperature,
  formatTime,
  formatVoltage,
} from '../lib/format.ts'
import { stream } from '../lib/stream.ts'
import type { Reading, Today } from '../lib/types.ts'
import { shared } from './styles.ts'
import './history-chart.ts'

/**
 * Live dashboard: the latest reading and today's totals, updated by `reading` events; today's
 * energy and cost are re-read from /api/summary/today on each interval record (it applies the
 * tariff, which the UI does not know).
 */
export class LiveView extends LitElement {
  static override properties = {
    reading: { state: true },
    today: { state: true },
    error: { state: true },
    loaded: { state: true },
  }
  static override styles = [
    shared,
    css`
      .tile {
        background: var(--card);
        border: 1px solid var(--line);
        border-radius: 10px;
        padding: 0.75rem 1rem;
        container-type: inline-size;
      }
      .tile .label {
        color: var(--muted);
        font-size: 0.85rem;
      }
      .tile .value {
        /* Shrinks with the tile so "0.002609 ETH" always fits on one line. */
        font-size: min(1.6rem, 12.5cqi);
        white-space: nowrap;
        font-weight: 650;
        font-variant-numeric: tabular-nums;
      }
    `,
  ]
  declare reading: Reading | undefined
  declare today: Today | undefined
  declare error: string
  declare loaded: boolean
  #off: (() => void)[] = []
  #todayAt = 0

  constructor() {
    super()
    this.reading = undefined
    this.today = undefined
    this.error = ''
    this.loaded = false
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.#off.push(
      stream.on('reading', (data) => {
        const r = data as Reading
        if (this.reading && r.time < this.reading.time) return
        this.reading = r
        // Today's totals change with each interval record; a fast simulated meter sends several a
        // second, so re-read them at most every 2 s.
        if (r.kind === 'interval' && Date.now() - this.#todayAt > 2000) void this.#loadToday()
      }),
      stream.onConnection((state) => {
        if (state === 'open') void this.reload()
      }),
    )
    void this.reload()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    for (const off of this.#off.splice(0)) off()
  }

  async reload(): Promise<void> {
    try {
      const { reading } = await api.get<{ reading: Reading }>('/api/readings/latest')
      if (!this.reading || reading.time >= this.reading.time) this.reading = reading
      this.error = ''
    } catch (error) {
      // 404 = the meter has not sent a record yet: that is the empty state, not an error.
      if (!(error instanceof ApiError && error.status === 404)) this.error = errorText(error)
    }
    await this.#loadToday()
    this.loaded = true
  }

  async #loadToday(): Promise<void> {
    this.#todayAt = Date.now()
    try {
      this.today = await api.get<Today>('/api/summary/today')
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) this.error = errorText(error)
    }
  }

  #tile(label: string, value: string, id: string) {
    return html`<div class="tile" role="group" aria-labelledby="${id}-l">
      <div class="label" id="${id}-l">${label}</div>
      <div class="value" data-value=${id} aria-live="off">${value}</div>
    </div>`
  }

  override render() {
    const r = this.reading
    const t = this.today
    return html`<h2>Live</h2>
      ${this.error ? html`<p class="error" role="alert">Could not load live data: ${this.error}</p>` : ''}
      ${
        !this.loaded
          ? html`<p class="muted" role="status">Loading live data…</p>`
          : !r
            ? html`<p class="card muted">No reading yet: the meter has not reported. Check that it is powered and connected to the node.</p>`
            : html`<section class="grid" aria-label="Live values">
                  ${this.#tile('Power', formatPower(r.powerW), 'power')}
                  ${this.#tile('Voltage', formatVoltage(r.voltageV), 'voltage')}
                  ${this.#tile('Current', formatCurrent(r.currentA), 'current')}
                  ${this.#tile('Energy today', t ? formatEnergy(t.energyWh) : '—', 'energy-today')}
                  ${this.#tile('Cost today', t ? formatEth(t.costWei) : '—', 'cost-today')}
                  ${this.#tile('Temperature', formatTemperature(r.temperatureC), 'temperature')}
                </section>
                <p class="small muted" data-reading>
                  Reading #${r.seq} at ${formatTime(r.time)} · meter total ${formatEnergy(r.energyWh)} · power factor
                  ${r.powerFactor.toFixed(2)}
                </p>`
      }
      <section class="card" aria-labelledby="history-h">
        <h3 id="history-h">History</h3>
        <zkm-history-chart .now=${r?.time ?? 0}></zkm-history-chart>
      </section>`
  }
}
customElements.define('zkm-live-view', LiveView)
