import { css, html, LitElement } from 'lit'
import { ApiError, api } from '../lib/api.ts'
import {
  formatCurrent,
  formatEnergy,
  formatPower,
  formatTemperature,
  formatTime,
  formatVoltage,
} from '../lib/format.ts'
import { HomeMoney } from '../lib/home-money.ts'
import { StreamResource } from '../lib/stream-resource.ts'
import type { Reading, Today } from '../lib/types.ts'
import { shared } from './styles.ts'
import './insight-trend.ts'

/** 404 = the meter has not sent a record yet: that is the empty state, not an error. */
function absentIfNotFound(error: unknown): undefined {
  if (error instanceof ApiError && error.status === 404) return undefined
  throw error
}

/**
 * Live dashboard: the latest reading and today's totals, updated by `reading` events; today's
 * energy and cost are re-read from /api/summary/today on each interval record (it applies the
 * tariff, which the UI does not know).
 */
export class LiveView extends LitElement {
  /** Costs in the home's money: Ether or its area's token. */
  readonly #money = new HomeMoney(this)
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
      a {
        color: var(--accent);
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
  #todayAt = 0
  /** The latest reading, replaced by each newer `reading` event. */
  #reading = new StreamResource<Reading | undefined>(this, {
    fetch: () => api.latestReading().then((r) => r.reading, absentIfNotFound),
    apply: { reading: (current, r) => (current && r.time < current.time ? current : r) },
    // The stream opens with the latest reading: shown even if it comes before the GET's answer.
    seed: { reading: (r) => r },
  })
  /**
   * Today's totals change with each interval record; a fast simulated meter sends several a
   * second, so re-read them at most every 2 s.
   */
  #today = new StreamResource<Today | undefined>(this, {
    fetch: () => {
      this.#todayAt = Date.now()
      return api.today().catch(absentIfNotFound)
    },
    reloadOn: { reading: (r) => r.kind === 'interval' && Date.now() - this.#todayAt > 2000 },
  })

  get reading(): Reading | undefined {
    return this.#reading.value
  }

  async reload(): Promise<void> {
    await Promise.all([this.#reading.reload(), this.#today.reload()])
  }

  #tile(label: string, value: string, id: string) {
    return html`<div class="tile" role="group" aria-labelledby="${id}-l">
      <div class="label" id="${id}-l">${label}</div>
      <div class="value" data-value=${id} aria-live="off">${value}</div>
    </div>`
  }

  override render() {
    const r = this.reading
    const t = this.#today.value
    const error = this.#reading.error ?? this.#today.error
    // A home whose meter has ever counted export (solar) sees it; others are not shown a zero.
    const exports = (r?.exportedWh ?? 0) > 0 || (t?.exportedWh ?? 0) > 0
    return html`<h1>Live</h1>
      ${error ? html`<p class="error" role="alert">Could not load live data: ${error}</p>` : ''}
      ${
        this.#reading.loading
          ? html`<p class="muted" role="status">Loading live data…</p>`
          : !r
            ? html`<p class="card muted">No reading yet: the meter has not reported. Check that it is powered and connected to the node.</p>`
            : html`<section class="grid" aria-label="Live values">
                  ${this.#tile('Power', formatPower(r.powerW), 'power')}
                  ${this.#tile('Voltage', formatVoltage(r.voltageV), 'voltage')}
                  ${this.#tile('Current', formatCurrent(r.currentA), 'current')}
                  ${this.#tile('Energy today', t ? formatEnergy(t.energyWh) : '—', 'energy-today')}
                  ${this.#tile('Cost today', t ? this.#money.format(t.costWei) : '—', 'cost-today')}
                  ${exports ? this.#tile('Returned to the grid today', t ? formatEnergy(t.exportedWh) : '—', 'exported-today') : ''}
                  ${this.#tile('Temperature', formatTemperature(r.temperatureC), 'temperature')}
                </section>
                <p class="small muted" data-reading>
                  Reading #${r.seq} at ${formatTime(r.time)} · ${
                    exports
                      ? `meter import total ${formatEnergy(r.energyWh)} · export total ${formatEnergy(r.exportedWh)}`
                      : `meter total ${formatEnergy(r.energyWh)}`
                  } · power factor
                  ${r.powerFactor.toFixed(2)}
                </p>`
      }
      <section class="card" aria-labelledby="trend-h">
        <h3 id="trend-h">Power, last minutes</h3>
        <zkm-power-trend .latest=${r}></zkm-power-trend>
      </section>
      <p><a href="#/energy">Energy by day, week and month</a>: today against yesterday, cost by price level and
        the projected bill.</p>`
  }
}
customElements.define('zkm-live-view', LiveView)
