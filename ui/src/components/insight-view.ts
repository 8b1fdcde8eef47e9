import { css, html, LitElement } from 'lit'
import { api } from '../lib/api.ts'
import { formatEnergy } from '../lib/format.ts'
import { HomeMoney } from '../lib/home-money.ts'
import { calendarLabels, changeText, durationText, isoDateIn, levelNames, share } from '../lib/insight.ts'
import { stream } from '../lib/stream.ts'
import type { Insight, InsightComparison, InsightRange, Projection } from '../lib/types.ts'
import { type Load, load, loading, renderLoad } from './load-state.ts'
import { shared } from './styles.ts'
import './history-chart.ts'

const RANGES: Record<InsightRange, { label: string; unit: string; current: string; bar: string }> = {
  day: { label: 'Day', unit: 'day', current: 'Today', bar: 'hour' },
  week: { label: 'Week', unit: 'week', current: 'This week', bar: 'day' },
  month: { label: 'Month', unit: 'month', current: 'This month', bar: 'day' },
}

const COMPARED: Record<InsightComparison['kind'], (open: boolean) => string> = {
  'previous-day': (open) => (open ? 'Yesterday' : 'The day before'),
  'week-before': () => 'The same day a week before',
  'previous-week': (open) => (open ? 'Last week' : 'The week before'),
  'previous-month': (open) => (open ? 'Last month' : 'The month before'),
}

/**
 * The Energy view (HA's Energy dashboard is the bar): a calendar day, week or month in the
 * household's time zone, stepped back and forth or picked by date, its energy by hour or day,
 * compared with the periods before, its cost by price level, and the projection of the open period
 * and of the open billing period, with the method in words. Everything comes from GET /api/insight
 * (the node computes, the UI shows); today's Day total is the Live view's "Energy today".
 */
export class InsightView extends LitElement {
  /** Costs in the home's money: Ether or its area's token. */
  readonly #money = new HomeMoney(this)
  static override properties = {
    range: { state: true },
    date: { state: true },
    data: { state: true },
  }
  static override styles = [
    shared,
    css`
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
      [role='group'] {
        margin-bottom: 0.75rem;
      }
      .total {
        font-size: 1.2rem;
        font-weight: 650;
        font-variant-numeric: tabular-nums;
      }
      ul {
        margin: 0;
        padding-left: 1.2rem;
      }
      li + li {
        margin-top: 0.35rem;
      }
      td.num,
      th.num {
        text-align: right;
        font-variant-numeric: tabular-nums;
      }
    `,
  ]
  declare range: InsightRange
  /** A day in the period shown (YYYY-MM-DD); undefined: the latest reading's, following it. */
  declare date: string | undefined
  declare data: Load<Insight>
  #asked = 0
  #fetchedAt = 0
  #off: (() => void)[] = []

  constructor() {
    super()
    this.range = 'day'
    this.date = undefined
    this.data = loading()
  }

  override connectedCallback(): void {
    super.connectedCallback()
    // An open period grows with each interval record: re-read it, at most every 5 s (a simulated
    // meter closes several intervals a second). A reconnect may have missed some: re-read too.
    this.#off.push(
      stream.on('reading', (r) => {
        const shown = this.data.state === 'ready' ? this.data.value : undefined
        if (r.kind === 'interval' && shown?.projection && Date.now() - this.#fetchedAt > 5000)
          void this.#fetch()
      }),
      stream.onConnection((state) => {
        if (state === 'open') void this.#fetch()
      }),
    )
    void this.#fetch()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    for (const off of this.#off.splice(0)) off()
  }

  async #fetch(): Promise<void> {
    // Answers may come back out of order (a quick click on Previous twice): only the last asked counts.
    const asked = ++this.#asked
    this.#fetchedAt = Date.now()
    const query = { range: this.range, ...(this.date ? { date: this.date } : {}) }
    const answer = await load(() => api.insight({ query }))
    if (asked === this.#asked) this.data = answer
  }

  #show(range: InsightRange, date: string | undefined): void {
    this.range = range
    this.date = date
    if (this.data.state !== 'ready') this.data = loading()
    void this.#fetch()
  }

  #onKey(event: KeyboardEvent): void {
    const keys = Object.keys(RANGES) as InsightRange[]
    const i = keys.indexOf(this.range)
    if (event.key === 'ArrowRight') this.#show(keys[(i + 1) % keys.length]!, this.date)
    else if (event.key === 'ArrowLeft') this.#show(keys[(i + keys.length - 1) % keys.length]!, this.date)
    else return
    event.preventDefault()
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<HTMLElement>('[role="tab"][aria-selected="true"]')?.focus(),
    )
  }

  #picked(event: Event): void {
    const value = (event.target as HTMLInputElement).value
    // An empty or half-typed date is no period: keep the one shown.
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) this.#show(this.range, value)
  }

  #controls(insight: Insight | undefined) {
    const r = RANGES[this.range]
    const max = insight?.now ? isoDateIn(insight.timeZone, insight.now) : undefined
    return html`<div role="tablist" aria-label="Period length" @keydown=${this.#onKey}>
        ${(Object.keys(RANGES) as InsightRange[]).map(
          (k) =>
            html`<button role="tab" aria-selected=${this.range === k ? 'true' : 'false'} tabindex=${this.range === k ? 0 : -1}
              @click=${() => this.#show(k, this.date)}>${RANGES[k].label}</button>`,
        )}
      </div>
      <div class="row" role="group" aria-label="Choose the ${r.unit}">
        <button class="secondary" ?disabled=${!insight} @click=${() => insight && this.#show(this.range, insight.previous)}>Previous ${r.unit}</button>
        <label>Show the ${r.unit} of
          <input type="date" .value=${insight?.date ?? ''} max=${max ?? ''} min="1970-01-01" @change=${this.#picked} /></label>
        <button class="secondary" ?disabled=${!insight?.next} @click=${() => insight?.next && this.#show(this.range, insight.next)}>Next ${r.unit}</button>
        <button class="secondary" ?disabled=${this.date === undefined} @click=${() => this.#show(this.range, undefined)}>${r.current}</button>
      </div>`
  }

  #projectionText(p: Projection, what: string, timeZone: string) {
    const about = html`About <strong>${formatEnergy(p.projectedEnergyWh)}</strong> and
      <strong>${this.#money.format(p.projectedCostWei)}</strong> by the end of ${what}:`
    if (p.method === 'same-weekday' && p.reference) {
      const labels = calendarLabels(timeZone)
      return html`${about} ${formatEnergy(p.energyWh)} so far, plus the
        ${formatEnergy(p.reference.energyWh)} used over the same ${durationText(p.to - p.asOf)} a week
        before (${labels.day(p.reference.from)}, from ${labels.time(p.reference.from)}), at the prices
        of the tariff in force.`
    }
    return html`${about} the average rate so far (${formatEnergy(p.energyWh)} in
      ${durationText(p.asOf - p.from)}) continued over the ${durationText(p.to - p.asOf)} left, at the
      prices of the tariff in force.`
  }

  #period(insight: Insight) {
    const r = RANGES[insight.range]
    const labels = calendarLabels(insight.timeZone)
    const open = insight.projection !== null
    const current = COMPARED
    const names = levelNames(insight.levels.length)
    return html`<section class="card" aria-labelledby="period-h" role="tabpanel">
        <h3 id="period-h">${labels.period(insight.range, insight.from)}</h3>
        <p><span class="total" data-value="period-energy">${formatEnergy(insight.energyWh)}</span>
          · <span class="total" data-value="period-cost">${this.#money.format(insight.costWei)}</span>
          ${insight.exportedWh > 0 ? html`· <span class="total" data-value="period-exported">${formatEnergy(insight.exportedWh)}</span> returned to the grid` : ''}
          ${open && insight.now ? html`<span class="muted small">so far (up to ${labels.time(insight.now)})</span>` : ''}</p>
        ${
          insight.samples === 0
            ? html`<p class="muted">No readings in this ${r.unit}.</p>`
            : html`<zkm-history-chart .points=${insight.points} unit=${r.bar}
                .label=${(t: number) => labels.bar(insight.range, t)}></zkm-history-chart>`
        }
        ${insight.exportedWh > 0 ? html`<p class="small muted">Bars below the line are energy your home returned to the grid. The cost is what you took from the grid, at the tariff; returned energy is shown here, not priced.</p>` : ''}
        ${open && insight.projection ? html`<p class="small" data-projection="period">${this.#projectionText(insight.projection, `this ${r.unit}`, insight.timeZone)}</p>` : ''}
      </section>
      <section class="card" aria-labelledby="compare-h">
        <h3 id="compare-h">Compared with before</h3>
        <ul>
          ${insight.comparisons.map(
            (c) => html`<li data-compare=${c.kind}>
              <strong>${current[c.kind](open)}</strong> (${labels.period(insight.range, c.from)}):
              ${formatEnergy(c.energyWh)}, ${this.#money.format(c.costWei)}${
                c.sameTimeEnergyWh !== null
                  ? html`; ${formatEnergy(c.sameTimeEnergyWh)} by the same time. So far this ${r.unit} used
                      <strong>${changeText(insight.energyWh, c.sameTimeEnergyWh)}</strong>.`
                  : html`. This ${r.unit} used <strong>${changeText(insight.energyWh, c.energyWh)}</strong>.`
              }
            </li>`,
          )}
        </ul>
      </section>
      <section class="card" aria-labelledby="levels-h">
        <h3 id="levels-h">Cost by price level</h3>
        ${
          insight.levels.length === 0
            ? html`<p class="muted">No energy used in this ${r.unit}.</p>`
            : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Energy and cost by price level">
              <table>
                <thead><tr><th scope="col">Price level</th><th scope="col" class="num">Price</th><th scope="col" class="num">Energy</th>
                  <th scope="col" class="num">Share</th><th scope="col" class="num">Cost</th></tr></thead>
                <tbody>
                  ${insight.levels.map(
                    (l, i) => html`<tr data-level=${i}>
                      <th scope="row">${names[i] ?? `level ${i + 1}`}</th>
                      <td class="num">${this.#money.format(BigInt(l.priceWeiPerWh) * 1000n)}/kWh</td>
                      <td class="num">${formatEnergy(l.energyWh)}</td>
                      <td class="num">${share(l.energyWh, insight.energyWh)}</td>
                      <td class="num">${this.#money.format(l.costWei)}</td>
                    </tr>`,
                  )}
                </tbody>
                <tfoot><tr><th scope="row">Total</th><td></td><td class="num">${formatEnergy(insight.energyWh)}</td>
                  <td class="num">100 %</td><td class="num">${this.#money.format(insight.costWei)}</td></tr></tfoot>
              </table>
            </div>
            <p class="small muted">Every reading is priced at the tariff in force now, slot by slot of its day.</p>`
        }
      </section>
      <section class="card" aria-labelledby="bill-h">
        <h3 id="bill-h">Projected bill for the open billing period</h3>
        ${
          insight.bill
            ? html`<p data-projection="bill">Period ${labels.day(insight.bill.from)}, ${labels.time(insight.bill.from)} →
                ${labels.day(insight.bill.to)}, ${labels.time(insight.bill.to)}. So far
                <strong>${formatEnergy(insight.bill.energyWh)}</strong>, <strong>${this.#money.format(insight.bill.costWei)}</strong>.
                ${this.#projectionText(insight.bill, 'the period', insight.timeZone)}</p>
              <p class="small muted">A projection, not the bill: the bill is the proved total of the period's readings once it closes.</p>`
            : html`<p class="muted">Not known yet: the meter has not reported its open billing period.</p>`
        }
      </section>`
  }

  override render() {
    const insight = this.data.state === 'ready' ? this.data.value : undefined
    return html`<h1>Energy</h1>
      <p class="small muted">
        Days, weeks (from Monday) and months in the household's time zone${insight ? html` (${insight.timeZone})` : ''}.
      </p>
      ${this.#controls(insight)}
      ${renderLoad(
        this.data,
        (i) => this.#period(i),
        () => void this.#fetch(),
        'energy',
      )}`
  }
}
customElements.define('zkm-insight-view', InsightView)
