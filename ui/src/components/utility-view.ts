import { css, html, LitElement, svg } from 'lit'
import { explainViolation, tariffViolation } from '#protocol/tariff-rules.ts'
import { api, errorText } from '../lib/api.ts'
import { linearScale, linePath, niceDomain } from '../lib/chart.ts'
import { formatAmount, formatDate, formatEnergy, formatPeriod, formatTime, shorten } from '../lib/format.ts'
import { HomeMoney } from '../lib/home-money.ts'
import {
  formatPrice,
  LEVEL_CHANGE_CONFIRM,
  levelRatio,
  nextEffectiveFrom,
  PriceCurve,
  priceUnitOf,
} from '../lib/price-curve.ts'
import { StreamResource } from '../lib/stream-resource.ts'
import {
  type Aggregates,
  type AssetBalance,
  type BillAsset,
  type CarriedCredit,
  type LedgerBill,
  type LedgerMeter,
  type LedgerTariff,
  NOTICE_KINDS,
  type Status,
  type TokenCheck,
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

const ETHER: BillAsset = { assetId: 0, symbol: 'ETH', decimals: 18, token: null }
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

/** What the next tariff is priced in: Ether, or a token given by address and read by the node. */
interface Pricing {
  kind: 'eth' | 'token'
  address: string
  /** The token as the node read it (symbol, decimals), once checked. */
  check: TokenCheck | undefined
  error: string
  busy: boolean
  /** The person chose: the home's own asset no longer sets it. */
  touched: boolean
}

/** A tariff's asset (Ether from nodes before token tariffs). */
const assetOfTariff = (t: LedgerTariff): BillAsset => t.asset ?? ETHER

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
    pricing: { state: true },
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
      .balances {
        list-style: none;
        padding: 0;
        margin: 0 0 0.75rem;
      }
      .balances li {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: baseline;
      }
      .pricing {
        border: 1px solid var(--line);
        border-radius: 6px;
        margin: 0 0 0.75rem;
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
  declare pricing: Pricing
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
    loaded: () => this.#adoptLatestTariff(this.#tariffsInChoice()),
  })
  /** A bill on the ledger (a new one, or paid) changes the list and the balance. */
  #billRows = new StreamResource<LedgerBill[]>(this, {
    fetch: async () => (await api.utilityBills()).bills,
    reloadOn: { bill: true },
  })
  /** Collected and withdrawable per asset (Ether only from nodes before token tariffs). */
  #balance = new StreamResource<AssetBalance[]>(this, {
    fetch: async () => {
      const answer = await api.utilityBalance()
      return answer.balances ?? [{ asset: ETHER, collected: '0', withdrawable: answer.withdrawable }]
    },
    reloadOn: { bill: true },
  })
  #areaLoad = new StreamResource<Aggregates>(this, { fetch: () => api.aggregates() })
  /** Credits meters carry from net bills (issue 17): what the utility owes households. */
  #credits = new StreamResource<CarriedCredit[]>(this, {
    fetch: async () => (await api.utilityCredits()).credits,
    reloadOn: { bill: true },
  })

  constructor() {
    super()
    this.curve = new PriceCurve(96)
    this.forms = {}
    this.pricing = { kind: 'eth', address: '', check: undefined, error: '', busy: false, touched: false }
  }

  override willUpdate(): void {
    // Until the person chooses, the next tariff is in the home's own money (its area's asset).
    const home = this.#money.asset
    if (!this.pricing.touched && home?.token && this.pricing.kind === 'eth') {
      this.pricing = { ...this.pricing, kind: 'token', address: home.token }
      void this.#checkToken(home.token)
    }
  }

  /** The asset the next tariff is in, once known (a token before its check: undefined). */
  #pricedIn(): BillAsset | undefined {
    if (this.pricing.kind === 'eth') return ETHER
    const c = this.pricing.check
    return c === undefined
      ? undefined
      : { assetId: c.assetId ?? -1, symbol: c.symbol, decimals: c.decimals, token: c.token }
  }

  /** The published tariffs in the asset the next tariff is in (each asset has its own chain). */
  #tariffsInChoice(): LedgerTariff[] {
    const asset = this.#pricedIn()
    const tariffs = this.#tariffs.value ?? []
    if (asset === undefined || asset.assetId < 0) return []
    return tariffs.filter((t) => assetOfTariff(t).assetId === asset.assetId)
  }

  /** Asks the node to read the token (code, balanceOf, decimals, symbol); errors in its words. */
  async #checkToken(address: string): Promise<void> {
    const trimmed = address.trim()
    this.pricing = { ...this.pricing, address: trimmed, check: undefined, error: '', busy: true }
    try {
      if (!ADDRESS.test(trimmed))
        throw new Error('A token is given by its contract address: 0x followed by 40 hex digits.')
      const check = await api.utilityToken({ query: { address: trimmed } })
      if (this.pricing.address !== trimmed) return // another address was typed meanwhile
      this.pricing = { ...this.pricing, check, busy: false }
    } catch (error) {
      if (this.pricing.address !== trimmed) return
      this.pricing = { ...this.pricing, error: errorText(error), busy: false }
    }
    this.#restartCurve()
  }

  #choosePricing(kind: 'eth' | 'token'): void {
    this.pricing = { ...this.pricing, kind, touched: true, error: '' }
    if (kind === 'token' && this.pricing.address !== '' && this.pricing.check === undefined)
      void this.#checkToken(this.pricing.address)
    this.#restartCurve()
  }

  /** Prices of one asset mean nothing in another: the editor restarts from that asset's latest tariff. */
  #restartCurve(): void {
    this.curve = new PriceCurve(this.curve.slots)
    this.#adoptLatestTariff(this.#tariffsInChoice())
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
      const asset = String(data.get('meterAsset') ?? '').trim()
      await api.registerMeter({
        body: {
          meter: String(data.get('meter')).trim(),
          household: String(data.get('household')).trim(),
          areaId: Number(data.get('areaId')),
          startTime,
          startCounter: Number(data.get('startCounter')),
          ...(asset === '' ? {} : { asset }),
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
    const prices = this.#tariffsInChoice().at(-1)?.prices
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
    const unit = priceUnitOf(this.#pricedIn())
    return {
      text: `The average price changes from ${formatPrice(old, unit)} to ${formatPrice(now, unit)} ${unit.short} (${factor}${now < old ? 'cheaper' : 'dearer'} than the tariff in force).`,
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
      const asset = this.#pricedIn()
      if (asset === undefined) {
        throw new Error(
          this.pricing.error || 'Check the token first: its symbol and decimals set the unit of the prices.',
        )
      }
      const area = String(data.get('tariffArea') ?? '').trim()
      const answer = await api.publishTariff({
        body: {
          effectiveFrom,
          prices: this.curve.toWeiStrings(),
          ...(asset.token === null ? {} : { asset: asset.token }),
          ...(area === '' ? {} : { areaId: Number(area) }),
        },
      })
      await this.#tariffs.reload()
      if (answer.assetRegistered && asset.token !== null) await this.#checkToken(asset.token)
      await this.#balance.reload()
      return `Tariff published in ${answer.asset?.symbol ?? asset.symbol}: it applies from ${formatTime(effectiveFrom)}.${answer.assetRegistered ? ` ${asset.symbol} is now registered on the ledger.` : ''}`
    })
  }

  #withdraw(event: Event): void {
    const data = new FormData(event.target as HTMLFormElement)
    void this.#submit('withdraw', event, async () => {
      const to = String(data.get('to')).trim()
      if (!ADDRESS.test(to))
        throw new Error('The destination must be an address: 0x followed by 40 hex digits.')
      const asset = String(data.get('asset') ?? 'eth')
      const answer = await api.withdraw({ body: { to, ...(asset === 'eth' ? {} : { asset }) } })
      await this.#balance.reload()
      const amount = answer.amount === undefined ? '' : `${formatAmount(answer.amount, answer.asset)} `
      return `Withdrawn ${amount}to ${shorten(to)} in transaction ${shorten(answer.txHash)}.`
    })
  }

  /** Pays a meter's whole credit to its household, from what was paid in its money and not withdrawn. */
  #payCredit(credit: CarriedCredit): void {
    void this.#submit('credit', undefined, async () => {
      const answer = await api.payCredit({ params: { meter: credit.meter }, body: {} })
      await Promise.all([this.#credits.reload(), this.#balance.reload()])
      return `Paid ${formatAmount(answer.amount, answer.asset)} to ${shorten(answer.household)} in transaction ${shorten(answer.txHash)}.`
    })
  }

  #creditList() {
    return renderLoad(
      this.#credits.state,
      (rows) =>
        rows.length === 0
          ? html`<p class="muted">No meter carries a credit.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Credits, table"><table><thead><tr><th scope="col">Meter</th><th scope="col">Household</th><th scope="col">Credit</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
            <tbody>${rows.map(
              (
                c,
              ) => html`<tr data-credit=${c.meter}><td class="mono" title=${c.meter}>${shorten(c.meter)}${c.active ? '' : ' (deactivated)'}</td>
              <td class="mono" title=${c.household}>${shorten(c.household)}</td><td>${formatAmount(c.credit, c.asset)}</td>
              <td><button type="button" class="secondary" ?disabled=${this.#form('credit').busy} @click=${() => this.#payCredit(c)}>Pay out</button></td></tr>`,
            )}</tbody></table></div>`,
      () => void this.#credits.reload(),
      'credits',
    )
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

  /** Ether or a token: the token is read by the node, its symbol and decimals shown before publishing. */
  #pricingChoice() {
    const p = this.pricing
    const c = p.check
    return html`<fieldset class="pricing"><legend>Priced in</legend>
      <label class="inline"><input type="radio" name="pricedIn" value="eth" .checked=${p.kind === 'eth'} @change=${() => this.#choosePricing('eth')} /> Ether (gwei per Wh)</label>
      <label class="inline"><input type="radio" name="pricedIn" value="token" .checked=${p.kind === 'token'} @change=${() => this.#choosePricing('token')} /> A token (ERC-20)</label>
      ${
        p.kind === 'token'
          ? html`<div class="row">
              <label class="grow">Token contract address<input name="token" class="mono" autocomplete="off" placeholder="0x…" .value=${p.address}
                @change=${(e: Event) => void this.#checkToken((e.target as HTMLInputElement).value)} /></label>
              <button type="button" class="secondary" ?disabled=${p.busy} @click=${(e: Event) => {
                const input = (e.target as HTMLElement)
                  .closest('fieldset')
                  ?.querySelector<HTMLInputElement>('input[name=token]')
                void this.#checkToken(input?.value ?? p.address)
              }}>Check token</button>
            </div>
            ${p.busy ? html`<p class="small muted">Reading the token…</p>` : ''}
            ${c ? html`<p class="small ok" data-token-check=${c.symbol} role="status">${c.symbol}, ${c.decimals} decimals${c.assetId === null ? ': registered on the ledger with its first tariff.' : `: asset ${c.assetId} on the ledger.`} Prices are in ${c.symbol} per kWh.</p>` : ''}
            ${p.error ? html`<p class="error" role="alert" data-token-error>${p.error}</p>` : ''}`
          : ''
      }
    </fieldset>`
  }

  #meters() {
    return renderLoad(
      this.#meterRows.state,
      (rows) =>
        rows.length === 0
          ? html`<p class="muted">No meter registered yet.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Meters, table"><table><thead><tr><th scope="col">Meter</th><th scope="col">Household</th><th scope="col">Area</th><th scope="col">Bills in</th><th scope="col">Active</th></tr></thead>
            <tbody>${rows.map(
              (m) => html`<tr><td class="mono" title=${m.meter}>${shorten(m.meter)}</td>
              <td class="mono" title=${m.household}>${shorten(m.household)}</td><td>${m.areaId}</td>
              <td title=${m.asset?.token ?? 'Ether'}>${m.asset?.symbol ?? 'ETH'}</td>
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
              const asset = assetOfTariff(t)
              return html`<li data-tariff=${t.tariffId} data-asset=${asset.symbol}>Tariff ${t.tariffId} from ${from === 0 ? 'the start' : formatTime(from)}, in ${asset.symbol}
                ${avg === undefined ? '' : html`· average ${formatAmount(avg * 1000n, asset)} per kWh`}</li>`
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
                <td>${b.asset ? formatAmount(b.total, b.asset) : this.#money.format(b.total)}</td>
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
            (
              balances,
            ) => html`<p class="small muted">Paid bills wait in the ledger, per money, until withdrawn.</p>
              <ul class="balances">${balances.map(
                (
                  b,
                ) => html`<li data-balance=${b.asset.symbol}><span class="total">${formatAmount(b.withdrawable, b.asset)}</span>
                  <span class="small muted">to withdraw · ${formatAmount(b.collected, b.asset)} collected in all${b.asset.token ? html` · <span class="mono" title=${b.asset.token}>${shorten(b.asset.token)}</span>` : ''}</span></li>`,
              )}</ul>
              <form @submit=${(e: Event) => this.#withdraw(e)} class="row">
                <label>Money<select name="asset">${balances.map(
                  (b) => html`<option value=${b.asset.token ?? 'eth'}>${b.asset.symbol}</option>`,
                )}</select></label>
                <label class="grow">Withdraw to address<input name="to" class="mono" required placeholder="0x…" autocomplete="off" /></label>
                <button type="submit" ?disabled=${this.#form('withdraw').busy}>Withdraw all</button>
              </form>`,
            () => void this.#balance.reload(),
            'balance',
          )}${this.#feedback('withdraw')}
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
                <label>Area bills in (before its first meter; empty: as it is)<input name="meterAsset" class="mono" placeholder="eth or 0x token" autocomplete="off" /></label>
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
          ${this.#pricingChoice()}
          <zkm-price-curve-editor .curve=${this.curve} .unit=${priceUnitOf(this.#pricedIn())} @curve-change=${(
            e: CustomEvent<PriceCurve>,
          ) => {
            this.curve = e.detail
          }}></zkm-price-curve-editor>
          ${this.#tariffRules()}
          ${this.#levelWarning()}
          <div class="row">
            <label>Takes effect (UTC midnight of)<input name="effectiveFrom" type="date" required .value=${next} /></label>
            <label>Only if area (optional) bills in it<input name="tariffArea" type="number" min="0" placeholder="any" /></label>
            <button type="submit" ?disabled=${this.#form('tariff').busy}>Publish tariff</button>
          </div>
        </form>${this.#feedback('tariff')}
      </section>
      <section class="card" aria-labelledby="credits-h"><h3 id="credits-h">Credits from net bills</h3>
        <p class="small muted">A period whose solar export earned more than its import cost leaves a credit that the meter's next bill uses first, or that you pay out to its household from what was paid in its money.</p>
        ${this.#creditList()}${this.#feedback('credit')}
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
