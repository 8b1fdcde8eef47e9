import { css, html, LitElement, svg } from 'lit'
import { explainViolation, tariffViolation } from '#protocol/tariff-rules.ts'
import { api, errorText } from '../lib/api.ts'
import { linearScale, linePath, niceDomain } from '../lib/chart.ts'
import { formatDate, formatEnergy, formatEth, formatPeriod, formatTime, shorten } from '../lib/format.ts'
import { HomeMoney } from '../lib/home-money.ts'
import {
  formatGwei,
  LEVEL_CHANGE_CONFIRM,
  levelRatio,
  nextEffectiveFrom,
  PriceCurve,
} from '../lib/price-curve.ts'
import { StreamResource } from '../lib/stream-resource.ts'
import {
  type Aggregates,
  type LedgerBill,
  type LedgerMeter,
  type LedgerTariff,
  NOTICE_KINDS,
  type Status,
} from '../lib/types.ts'
import { renderLoad } from './load-state.ts'
import { shared } from './styles.ts'
import './price-curve-editor.ts'

interface Form {
  busy: boolean
  message: string
  error: string
}

const idle = (): Form => ({ busy: false, message: '', error: '' })

/**
 * The utility's console: meter registry, tariffs with the price-curve editor, every bill on the
 * ledger (totals only: that is all the utility may learn), balance and withdraw, notices, and
 * the area aggregate with its forecast when the mesh provides it.
 */
export class UtilityView extends LitElement {
  /** Costs in the home's money: Ether or its area's token. */
  readonly #money = new HomeMoney(this)
  static override properties = {
    curve: { state: true },
    forms: { state: true },
  }
  static override styles = [
    shared,
    css`
      .cols {
        display: grid;
        gap: 1rem;
        grid-template-columns: repeat(auto-fit, minmax(300px, 1fr));
      }
      .total {
        font-size: 1.4rem;
        font-weight: 650;
        margin: 0.25rem 0 0.75rem;
      }
      svg {
        width: 100%;
        height: auto;
      }
      .series {
        fill: none;
        stroke: var(--accent);
        stroke-width: 2;
      }
      .forecast {
        fill: none;
        stroke: var(--focus);
        stroke-width: 2;
        stroke-dasharray: 6 4;
      }
      .band {
        fill: var(--focus);
        opacity: 0.2;
      }
    `,
  ]
  declare curve: PriceCurve
  declare forms: Record<string, Form>
  /** The node's status and the meter's clock (the virtual meter may run far ahead of the wall clock). */
  #node = new StreamResource<{ status: Status | undefined; meterTime: number }>(this, {
    fetch: async () => {
      const [status, latest] = await Promise.all([
        api.status().catch(() => undefined),
        api.latestReading().catch(() => undefined),
      ])
      return { status, meterTime: latest?.reading.time ?? 0 }
    },
    loaded: ({ status }) => {
      if (status && status.circuit.slots !== this.curve.slots && 86_400 % status.circuit.slots === 0)
        this.curve = new PriceCurve(status.circuit.slots)
    },
  })
  #meterRows = new StreamResource<LedgerMeter[]>(this, {
    fetch: async () => (await api.utilityMeters()).meters,
  })
  #tariffs = new StreamResource<LedgerTariff[]>(this, {
    fetch: async () => (await api.utilityTariffs()).tariffs,
    loaded: (tariffs) => this.#adoptLatestTariff(tariffs),
  })
  /** A bill on the ledger (a new one, or paid) changes the list and the balance. */
  #billRows = new StreamResource<LedgerBill[]>(this, {
    fetch: async () => (await api.utilityBills()).bills,
    reloadOn: { bill: true },
  })
  #balance = new StreamResource<string>(this, {
    fetch: async () => (await api.utilityBalance()).withdrawable,
    reloadOn: { bill: true },
  })
  #areaLoad = new StreamResource<Aggregates>(this, { fetch: () => api.aggregates() })

  constructor() {
    super()
    this.curve = new PriceCurve(96)
    this.forms = {}
  }

  async reload(): Promise<void> {
    await this.#node.reload()
    await Promise.all([
      this.#meterRows.reload(),
      this.#tariffs.reload(),
      this.#billRows.reload(),
      this.#balance.reload(),
      this.#areaLoad.reload(),
    ])
  }

  /** Starts the editor from the latest published curve, so the next tariff is an edit of it. */
  #adoptLatestTariff(tariffs: LedgerTariff[]): void {
    const prices = tariffs.at(-1)?.prices
    if (prices && prices.length === this.curve.slots && this.curve.max() === 0n) {
      try {
        this.curve = new PriceCurve(this.curve.slots, prices.map(BigInt))
      } catch {
        // A curve that does not fit the editor stays as is; the table still lists it.
      }
    }
  }

  #form(name: string): Form {
    return this.forms[name] ?? idle()
  }

  async #submit(name: string, event: Event | undefined, action: () => Promise<string>): Promise<void> {
    event?.preventDefault()
    this.forms = { ...this.forms, [name]: { busy: true, message: '', error: '' } }
    try {
      const message = await action()
      this.forms = { ...this.forms, [name]: { busy: false, message, error: '' } }
    } catch (error) {
      this.forms = { ...this.forms, [name]: { busy: false, message: '', error: errorText(error) } }
    }
  }

  #feedback(name: string) {
    const f = this.#form(name)
    return html`${f.message ? html`<p class="ok" role="status">${f.message}</p>` : ''}${f.error ? html`<p class="error" role="alert">${f.error}</p>` : ''}`
  }

  #registerMeter(event: Event): void {
    const data = new FormData(event.target as HTMLFormElement)
    void this.#submit('meter', event, async () => {
      const startTime = Math.floor(new Date(`${data.get('startDate')}T00:00:00Z`).getTime() / 1000)
      if (!Number.isFinite(startTime)) throw new Error('Choose the start date of the first billing period.')
      await api.registerMeter({
        body: {
          meter: String(data.get('meter')).trim(),
          household: String(data.get('household')).trim(),
          areaId: Number(data.get('areaId')),
          startTime,
          startCounter: Number(data.get('startCounter')),
        },
      })
      await this.#meterRows.reload()
      return 'Meter registered on the ledger.'
    })
  }

  /** The tariff rules (docs/privacy.md) checked as the curve is edited: the ledger enforces the same. */
  #tariffRules() {
    if (this.curve.max() === 0n) return ''
    const violation = tariffViolation(this.curve.prices, this.curve.slots)
    return violation === undefined
      ? html`<p class="small ok" data-tariff-rules="ok">Obeys the tariff rules: at most 4 prices a day, each held an hour or more, 3 significant digits, prices 5 % apart.</p>`
      : html`<p class="error" role="alert" data-tariff-rules=${violation.rule}>The ledger would refuse this curve: ${explainViolation(violation, this.curve.slots)}.</p>`
  }

  /** The average of the tariff in force, when there is one (what a new curve's level is compared with). */
  #currentAverage(): bigint | undefined {
    const tariffs = this.#tariffs.state.state === 'ready' ? this.#tariffs.state.value : []
    const prices = tariffs.at(-1)?.prices
    if (!prices || prices.length === 0) return undefined
    return prices.reduce((sum, p) => sum + BigInt(p), 0n) / BigInt(prices.length)
  }

  /** A change of the average beyond LEVEL_CHANGE_CONFIRM×, in words, or undefined. */
  #levelChange(): { text: string } | undefined {
    const old = this.#currentAverage()
    const now = this.curve.average()
    if (old === undefined || this.curve.max() === 0n) return undefined
    const ratio = levelRatio(old, now)
    if (ratio <= LEVEL_CHANGE_CONFIRM) return undefined
    const factor = Number.isFinite(ratio) ? `${ratio >= 10 ? Math.round(ratio) : ratio.toFixed(1)}× ` : ''
    return {
      text: `The average price changes from ${formatGwei(old)} to ${formatGwei(now)} gwei/Wh (${factor}${now < old ? 'cheaper' : 'dearer'} than the tariff in force).`,
    }
  }

  #levelWarning() {
    const change = this.#levelChange()
    if (!change) return ''
    return html`<div class="card" data-level-change role="group" aria-label="Large price change">
      <p class="error">${change.text}</p>
      <label class="inline"><input type="checkbox" name="confirmLevel" /> Yes, publish at this new price level</label>
    </div>`
  }

  #publishTariff(event: Event): void {
    const data = new FormData(event.target as HTMLFormElement)
    void this.#submit('tariff', event, async () => {
      const change = this.#levelChange()
      if (change && data.get('confirmLevel') !== 'on') {
        throw new Error(`${change.text} Tick "Yes, publish at this new price level" to publish it.`)
      }
      const effectiveFrom = Math.floor(new Date(`${data.get('effectiveFrom')}T00:00:00Z`).getTime() / 1000)
      if (!Number.isFinite(effectiveFrom)) throw new Error('Choose the day the tariff takes effect.')
      if (this.curve.max() === 0n)
        throw new Error('Every price is zero: set the curve (a preset or the hour inputs) first.')
      const violation = tariffViolation(this.curve.prices, this.curve.slots)
      if (violation !== undefined) {
        throw new Error(
          `The ledger would refuse this tariff: ${explainViolation(violation, this.curve.slots)}.`,
        )
      }
      await api.publishTariff({ body: { effectiveFrom, prices: this.curve.toWeiStrings() } })
      await this.#tariffs.reload()
      return `Tariff published: it applies from ${formatTime(effectiveFrom)}.`
    })
  }

  #withdraw(event: Event): void {
    const data = new FormData(event.target as HTMLFormElement)
    void this.#submit('withdraw', event, async () => {
      const to = String(data.get('to')).trim()
      if (!/^0x[0-9a-fA-F]{40}$/.test(to))
        throw new Error('The destination must be an address: 0x followed by 40 hex digits.')
      const { txHash } = await api.withdraw({ body: { to } })
      await this.#balance.reload()
      return `Withdrawn to ${shorten(to)} in transaction ${shorten(txHash)}.`
    })
  }

  #publishNotice(event: Event): void {
    const data = new FormData(event.target as HTMLFormElement)
    void this.#submit('notice', event, async () => {
      const startsAt = Math.floor(new Date(String(data.get('startsAt'))).getTime() / 1000)
      const endsAt = Math.floor(new Date(String(data.get('endsAt'))).getTime() / 1000)
      if (!Number.isFinite(startsAt) || !Number.isFinite(endsAt) || endsAt <= startsAt)
        throw new Error('Give a start and an end, the end after the start.')
      await api.publishNotice({
        body: {
          areaId: Number(data.get('areaId')),
          kind: Number(data.get('kind')),
          startsAt,
          endsAt,
          message: String(data.get('message')).trim(),
        },
      })
      return 'Notice published to the area.'
    })
  }

  #meters() {
    return renderLoad(
      this.#meterRows.state,
      (rows) =>
        rows.length === 0
          ? html`<p class="muted">No meter registered yet.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Meters, table"><table><thead><tr><th scope="col">Meter</th><th scope="col">Household</th><th scope="col">Area</th><th scope="col">Active</th></tr></thead>
            <tbody>${rows.map(
              (m) => html`<tr><td class="mono" title=${m.meter}>${shorten(m.meter)}</td>
              <td class="mono" title=${m.household}>${shorten(m.household)}</td><td>${m.areaId}</td>
              <td>${m.active ? 'yes' : 'no'}</td></tr>`,
            )}</tbody></table></div>`,
      () => void this.reload(),
      'meters',
    )
  }

  #tariffList() {
    return renderLoad(
      this.#tariffs.state,
      (rows) =>
        rows.length === 0
          ? html`<p class="muted">No tariff published yet.</p>`
          : html`<ul>${rows.map((t) => {
              const from = Number(t.effectiveFrom)
              const list = t.prices.map(BigInt)
              const avg = list.length ? list.reduce((a, b) => a + b, 0n) / BigInt(list.length) : undefined
              return html`<li>Tariff ${t.tariffId} from ${from === 0 ? 'the start' : formatTime(from)}
                ${avg === undefined ? '' : html`· average ${this.#money.format(avg * 1000n)} per kWh`}</li>`
            })}</ul>`,
      () => void this.reload(),
      'tariffs',
    )
  }

  #bills() {
    return renderLoad(
      this.#billRows.state,
      (rows) =>
        rows.length === 0
          ? html`<p class="muted">No bill on the ledger yet.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Bills on the ledger, table"><table><thead><tr><th scope="col">Period</th><th scope="col">Meter</th><th scope="col">Energy</th><th scope="col">Total</th><th scope="col">Status</th></tr></thead>
            <tbody>${rows.map((b) => {
              const paid = b.paid
              return html`<tr><td>${formatPeriod(b.periodStart, b.periodEnd)}</td>
                <td class="mono">${shorten(b.meter)}</td><td>${formatEnergy(Number(b.energyWh))}</td>
                <td>${this.#money.format(b.total)}</td>
                <td><span class="badge ${paid ? 'paid' : 'verified'}">${paid ? 'paid' : 'verified, unpaid'}</span></td></tr>`
            })}</tbody></table></div>`,
      () => void this.#billRows.reload(),
      'bills',
    )
  }

  #aggregates() {
    return renderLoad(
      this.#areaLoad.state,
      (a) => {
        if (!a.available)
          return html`<p data-aggregates="unavailable"><strong>Not available yet.</strong> ${a.reason}</p>`
        const all = [...a.series.map((p) => p.totalWh), ...a.forecast.map((p) => p.high)]
        if (all.length === 0)
          return html`<p class="muted">The mesh has not delivered any aggregate for area ${a.area} yet.</p>`
        const times = [...a.series.map((p) => p.time), ...a.forecast.map((p) => p.time)]
        const x = linearScale([Math.min(...times), Math.max(...times)], [40, 630])
        const { domain } = niceDomain(0, Math.max(...all))
        const y = linearScale(domain, [190, 10])
        const band = a.forecast.length
          ? `${linePath(a.forecast.map((p) => ({ x: x(p.time), y: y(p.high) })))} ${linePath([...a.forecast].reverse().map((p) => ({ x: x(p.time), y: y(p.low) }))).replace(/^M/, 'L')} Z`
          : ''
        return html`<p class="small">Area ${a.area}: measured load (solid) and forecast with its range (dashed).</p>
          <svg viewBox="0 0 640 210" role="img" aria-label="Area ${a.area} load: ${a.series.length} measured points, ${a.forecast.length} forecast points">
            ${svg`<path class="band" d=${band}></path>
            <path class="series" d=${linePath(a.series.map((p) => ({ x: x(p.time), y: y(p.totalWh) })))}></path>
            <path class="forecast" d=${linePath(a.forecast.map((p) => ({ x: x(p.time), y: y(p.wh) })))}></path>
            <text x="40" y="205">${formatDate(Math.min(...times))}</text>
            <text x="4" y="14">${formatEnergy(domain[1])}</text>`}
          </svg>`
      },
      () => void this.reload(),
      'area aggregates',
    )
  }

  override render() {
    const today = new Date().toISOString().slice(0, 10)
    const latest = this.#tariffs.value?.at(-1)
    const latestFrom = latest === undefined ? undefined : Number(latest.effectiveFrom)
    const meterTime = this.#node.value?.meterTime ?? 0
    const next = formatDate(nextEffectiveFrom(Math.max(Date.now() / 1000, meterTime), latestFrom))
    const dev = this.#node.value?.status?.dev
    return html`<h1>Utility console</h1>
      ${dev ? html`<p class="small muted">Development chain: the node holds the utility's dev key and signs these actions itself.</p>` : ''}
      <div class="cols">
        <section class="card" aria-labelledby="bal-h"><h3 id="bal-h">Balance</h3>
          ${renderLoad(
            this.#balance.state,
            (wei) => html`<p class="total" data-balance>${formatEth(wei)}</p>`,
            () => void this.#balance.reload(),
            'balance',
          )}
          <form @submit=${(e: Event) => this.#withdraw(e)} class="row">
            <label class="grow">Withdraw to address<input name="to" class="mono" required placeholder="0x…" autocomplete="off" /></label>
            <button type="submit" ?disabled=${this.#form('withdraw').busy}>Withdraw all</button>
          </form>${this.#feedback('withdraw')}
        </section>
        <section class="card" aria-labelledby="meters-h"><h3 id="meters-h">Meters</h3>${this.#meters()}
          <details><summary>Register a meter</summary>
            <form @submit=${(e: Event) => this.#registerMeter(e)}>
              <div class="row">
                <label>Meter address<input name="meter" class="mono" required pattern="0x[0-9a-fA-F]{40}" /></label>
                <label>Household account<input name="household" class="mono" required pattern="0x[0-9a-fA-F]{40}" /></label>
                <label>Area id<input name="areaId" type="number" min="0" required value="1" /></label>
                <label>First period starts (UTC day)<input name="startDate" type="date" required value=${today} /></label>
                <label>Counter at start (Wh)<input name="startCounter" type="number" min="0" required value="0" /></label>
                <button type="submit" ?disabled=${this.#form('meter').busy}>Register</button>
              </div>
            </form>${this.#feedback('meter')}
          </details>
        </section>
      </div>
      <section class="card" aria-labelledby="tariff-h"><h3 id="tariff-h">Tariffs</h3>
        ${this.#tariffList()}
        <form @submit=${(e: Event) => this.#publishTariff(e)}>
          <h3>Next tariff</h3>
          <zkm-price-curve-editor .curve=${this.curve} @curve-change=${(e: CustomEvent<PriceCurve>) => {
            this.curve = e.detail
          }}></zkm-price-curve-editor>
          ${this.#tariffRules()}
          ${this.#levelWarning()}
          <div class="row">
            <label>Takes effect (UTC midnight of)<input name="effectiveFrom" type="date" required .value=${next} /></label>
            <button type="submit" ?disabled=${this.#form('tariff').busy}>Publish tariff</button>
          </div>
        </form>${this.#feedback('tariff')}
      </section>
      <section class="card" aria-labelledby="ubills-h"><h3 id="ubills-h">Bills on the ledger</h3>
        <p class="small muted">The ledger holds each period's total and kWh, never the readings behind them.</p>${this.#bills()}</section>
      <div class="cols">
        <section class="card" aria-labelledby="notice-h"><h3 id="notice-h">Publish a notice</h3>
          <form @submit=${(e: Event) => this.#publishNotice(e)}>
            <div class="row">
              <label>Area id<input name="areaId" type="number" min="0" required value="1" /></label>
              <label>Kind<select name="kind">${NOTICE_KINDS.map((k, i) => html`<option value=${i}>${k}</option>`)}</select></label>
              <label>Starts<input name="startsAt" type="datetime-local" required /></label>
              <label>Ends<input name="endsAt" type="datetime-local" required /></label>
            </div>
            <label>Message<textarea name="message" required maxlength="1000" rows="2"></textarea></label>
            <p><button type="submit" ?disabled=${this.#form('notice').busy}>Publish notice</button></p>
          </form>${this.#feedback('notice')}
        </section>
        <section class="card" aria-labelledby="agg-h"><h3 id="agg-h">Area load and forecast</h3>${this.#aggregates()}</section>
      </div>`
  }
}
customElements.define('zkm-utility-view', UtilityView)
