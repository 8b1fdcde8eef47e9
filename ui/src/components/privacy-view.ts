import { html, LitElement } from 'lit'
import { ROUTES } from '#protocol/api/routes.ts'
import { api, errorText } from '../lib/api.ts'
import { formatEnergy, formatPeriod, shorten } from '../lib/format.ts'
import { HomeMoney } from '../lib/home-money.ts'
import { formatGwei } from '../lib/price-curve.ts'
import { SessionController } from '../lib/session.ts'
import type { Privacy, PublishedBill } from '../lib/types.ts'
import { type Load, load, loading, renderLoad } from './load-state.ts'
import { shared } from './styles.ts'
import './setup-panel.ts'

/** What this home has made public (on-chain), what it kept, and the disclosure grants it gave. */
export class PrivacyView extends LitElement {
  /** Costs in the home's money: Ether or its area's token. */
  readonly #money = new HomeMoney(this)
  static override properties = {
    data: { state: true },
    billId: { state: true },
    recipient: { state: true },
    message: { state: true },
    error: { state: true },
    busy: { state: true },
  }
  static override styles = [shared]
  /** A read-only device sees the controls disabled (the node refuses them too: 403). */
  #session = new SessionController(this)
  declare data: Load<Privacy>
  declare billId: string
  declare recipient: string
  declare message: string
  declare error: string
  declare busy: boolean

  constructor() {
    super()
    this.data = loading()
    this.billId = ''
    this.recipient = ''
    this.message = ''
    this.error = ''
    this.busy = false
  }

  override connectedCallback(): void {
    super.connectedCallback()
    void this.reload()
  }

  /** `billId` is the node's bill id (published `id`): what POST /api/grants takes. */
  async reload(): Promise<void> {
    this.data = await load(() => api.privacy())
    if (this.data.state === 'ready' && !this.billId) this.billId = this.data.value.published.at(-1)?.id ?? ''
  }

  async #grant(event: Event): Promise<void> {
    event.preventDefault()
    this.error = ''
    this.message = ''
    const key = this.recipient.trim()
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
      this.error =
        "The recipient's key must be an X25519 public key: 0x followed by 64 hex digits. Ask the recipient for it."
      return
    }
    this.busy = true
    try {
      const { grant } = await api.grant({ body: { billId: this.billId, recipientPublicKey: key } })
      this.message = `Granted: the key of that period is now wrapped for ${shorten(grant.recipient)}. Send them the manifest CID ${grant.manifestCid}.`
      this.recipient = ''
      await this.reload()
    } catch (error) {
      this.error = `No grant was created: ${errorText(error)}`
    } finally {
      this.busy = false
    }
  }

  /** One bill's public facts in words: what anyone reading the ledger learns from it (docs/privacy.md). */
  #disclosure(b: PublishedBill) {
    const levels = b.levels ?? []
    const energy = (wh: string) => formatEnergy(Number(wh))
    return html`<li data-disclosure=${b.id}>
      <strong>${formatPeriod(b.periodStart, b.periodEnd)}</strong>: the period, ${formatEnergy(b.energyWh)} in all
      and a total of ${b.total === undefined ? '—' : this.#money.format(b.total)}${b.tariffId ? html` under tariff ${b.tariffId}` : ''}.
      ${
        levels.length === 0
          ? ''
          : levels.length === 1
            ? html`With a single price, that says nothing about when you used it.`
            : html`With ${levels.length} prices a day, anyone can work out the energy you used at each price over the period:
              <ul>${levels.map(
                (
                  l,
                ) => html`<li data-level>${l.hours.join(', ')} UTC at ${formatGwei(BigInt(l.price))} gwei/Wh:
                  ${l.exact ? html`exactly <strong>${energy(l.minWh)}</strong>` : html`between ${energy(l.minWh)} and ${energy(l.maxWh)}`}</li>`,
              )}</ul>`
      }
    </li>`
  }

  /** The ε this home's aggregation shares spent today, against the daily budget (docs/aggregation.md §7). */
  #aggregation(p: Privacy) {
    const a = p.aggregation
    if (a === undefined) return ''
    if (!a.noise)
      return html`<section class="card" aria-labelledby="agg-h"><h3 id="agg-h">Neighbourhood totals</h3>
        <p class="muted">This home's shares carry its exact readings (no privacy noise).</p></section>`
    const share = Math.min(100, (100 * a.epsilonSpent) / a.epsilonBudget)
    return html`<section class="card" aria-labelledby="agg-h">
      <h3 id="agg-h">Neighbourhood totals</h3>
      <p>Privacy spent on ${a.day}: <strong>ε ${a.epsilonSpent.toFixed(0)}</strong> of the daily budget ε ${a.epsilonBudget.toFixed(0)}
        (${a.rounds} quarter-hours shared, ε ${a.epsilonPerRound.toFixed(0)} each, δ ${a.delta}).</p>
      <progress max="100" .value=${share} aria-label="Share of the daily privacy budget spent"></progress>
      <p class="small muted">Each share adds random noise (about ±${a.noiseSigmaWh} Wh) to your reading (capped at ${a.clampWh} Wh) before it is masked,
        so even if every other member were the utility's, it could not read your consumption exactly. ε counts only your own noise (that worst case):
        at this setting it is large, which means the protection is the ±${a.noiseSigmaWh} Wh blur, not a strong formal guarantee. When the budget is spent,
        your home stops sharing until the next day.</p>
    </section>`
  }

  /**
   * The resident's own readings as a file: GET /api/export.csv with this device's session (a
   * same-origin link sends the cookie), straight from the node to the browser.
   */
  #download() {
    const csv = ROUTES.exportCsv
    return html`<section class="card" aria-labelledby="mine-h">
      <h3 id="mine-h">Your data</h3>
      <p class="small muted">Every 15-minute reading this node holds for you (start, end, energy, highest power), as a CSV file for a spreadsheet. It goes from your node to this browser and nowhere else.</p>
      <p><a href=${csv.path} download=${csv.text.filename} data-download>Download my data (CSV)</a></p>
    </section>`
  }

  #view(p: Privacy) {
    return html`<section class="card" aria-labelledby="pub-h">
        <h3 id="pub-h">Published on-chain</h3>
        <p class="small muted">Anyone can read these: they prove your bills without revealing any reading.</p>
        ${
          p.published.length === 0
            ? html`<p class="muted">Nothing published yet: the first bill publishes its commitment, CID digest, proof and total.</p>`
            : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Published on-chain, table"><table>
                <thead><tr><th scope="col">Period</th><th scope="col">Total</th><th scope="col">Energy</th><th scope="col">Commitment</th><th scope="col">CID</th><th scope="col">Tx</th></tr></thead>
                <tbody>${p.published.map(
                  (
                    b,
                  ) => html`<tr><td>${formatPeriod(b.periodStart, b.periodEnd)}</td><td>${b.total === undefined ? '—' : this.#money.format(b.total)}</td><td>${formatEnergy(b.energyWh)}</td>
                    <td class="mono" title=${b.commitment}>${shorten(b.commitment)}</td><td class="mono" title=${b.manifestCid}>${shorten(b.manifestCid)}</td>
                    <td class="mono" title=${b.submitTx ?? ''}>${b.submitTx ? shorten(b.submitTx) : '—'}</td></tr>`,
                )}</tbody></table></div>`
        }
      </section>
      <section class="card" aria-labelledby="what-h">
        <h3 id="what-h">What each bill made public</h3>
        <p class="small muted">A bill reveals its period, its energy and its total, and so the energy per price level of its tariff (two
          numbers tie them together) — never a single reading. The ledger refuses tariffs that would reveal more: at most 4 prices a day,
          each held for an hour or more, with few significant digits. A home that returns solar energy to the grid also reveals, on
          each net bill, the energy returned in the period and its credit at the feed-in prices, under the same rules.</p>
        ${
          p.published.length === 0
            ? html`<p class="muted">No bill published yet.</p>`
            : html`<ul>${p.published.map((b) => this.#disclosure(b))}</ul>`
        }
      </section>
      <section class="card" aria-labelledby="priv-h">
        <h3 id="priv-h">Kept private</h3>
        <p class="small muted">Only this node can read these: they are stored encrypted and never leave as plaintext.</p>
        <ul>${p.private.map((item) => html`<li>${item}</li>`)}</ul>
      </section>
      ${this.#download()}
      ${this.#aggregation(p)}
      <section class="card" aria-labelledby="grants-h">
        <h3 id="grants-h">Disclosure grants</h3>
        ${
          p.grants.length === 0
            ? html`<p class="muted">You have not disclosed any period to anyone.</p>`
            : html`<ul>${p.grants.map((g) => html`<li><span class="mono">${shorten(g.recipient, 12, 8)}</span> can read period <span class="mono">${shorten(g.manifestCid)}</span> (since ${new Date(g.createdAt).toLocaleString()})</li>`)}</ul>`
        }
        <form @submit=${this.#grant} aria-label="Disclose one period">
          <p class="small">Give one party (for example the utility, in a dispute) the key to one period's readings, wrapped to their public key.</p>
          <div class="row">
            <label>Period
              <select .value=${this.billId} @change=${(e: Event) => {
                this.billId = (e.target as HTMLSelectElement).value
              }} ?disabled=${p.published.length === 0}>
                ${p.published.map((b) => html`<option value=${b.id} ?selected=${b.id === this.billId}>${formatPeriod(b.periodStart, b.periodEnd)}</option>`)}
              </select>
            </label>
            <label class="grow-wide">Recipient's X25519 public key
              <input class="mono" .value=${this.recipient} placeholder="0x…64 hex digits" autocomplete="off" spellcheck="false"
                @input=${(e: Event) => {
                  this.recipient = (e.target as HTMLInputElement).value
                }} />
            </label>
            <button type="submit" ?disabled=${this.busy || p.published.length === 0 || !this.recipient || this.#session.readOnly}>${this.busy ? 'Granting…' : 'Grant access'}</button>
          </div>
          ${this.message ? html`<p class="ok" role="status">${this.message}</p>` : ''}
          ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
        </form>
      </section>`
  }

  override render() {
    return html`<h1>Privacy</h1>${renderLoad(
      this.data,
      (p) => this.#view(p),
      () => void this.reload(),
      'privacy report',
    )}<zkm-setup-panel></zkm-setup-panel>`
  }
}
customElements.define('zkm-privacy-view', PrivacyView)
