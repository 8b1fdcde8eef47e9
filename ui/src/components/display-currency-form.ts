import { html, LitElement } from 'lit'
import { api, errorText } from '../lib/api.ts'
import { formatRateSet } from '../lib/format.ts'
import { SessionController } from '../lib/session.ts'
import type { DisplayCurrency } from '../lib/types.ts'
import { shared } from './styles.ts'

/**
 * The household's display currency for Ether bills: an ISO code and the price of 1 ETH in it,
 * typed by the resident and saved on the node (PUT /api/settings/display-currency, which
 * validates it). Nothing is fetched from a price service. Fires `display-change` with the saved
 * value (null once cleared).
 */
export class DisplayCurrencyForm extends LitElement {
  static override properties = {
    display: { attribute: false },
    busy: { state: true },
    error: { state: true },
    saved: { state: true },
  }
  static override styles = [shared]
  declare display: DisplayCurrency | null
  declare busy: boolean
  declare error: string
  declare saved: string
  #session = new SessionController(this)

  constructor() {
    super()
    this.display = null
    this.busy = false
    this.error = ''
    this.saved = ''
  }

  async #save(event: SubmitEvent): Promise<void> {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const data = new FormData(form)
    const currency = String(data.get('currency') ?? '')
      .trim()
      .toUpperCase()
    const rate = String(data.get('rate') ?? '').trim()
    if (currency === '' || rate === '') {
      this.error = 'Enter both the currency code (e.g. EUR) and the price of 1 ETH in it (e.g. 2870.00).'
      return
    }
    await this.#send(() => api.setDisplayCurrency({ body: { currency, rate } }), 'Saved.')
  }

  async #send(request: () => Promise<{ display: DisplayCurrency | null }>, done: string): Promise<void> {
    this.busy = true
    this.error = ''
    this.saved = ''
    try {
      const { display } = await request()
      this.display = display
      this.saved = done
      this.dispatchEvent(
        new CustomEvent('display-change', { detail: display, bubbles: true, composed: true }),
      )
    } catch (error) {
      this.error = `Not saved: ${errorText(error)}`
    } finally {
      this.busy = false
    }
  }

  override render() {
    const d = this.display
    const readOnly = this.#session.readOnly
    return html`<p class="small" data-display-rate>
        ${d ? html`Amounts are also shown in <strong>${formatRateSet(d)}</strong>, the rate you entered.` : 'Amounts are shown in ETH only.'}
        The node never looks up a rate: it uses the one you enter here.
      </p>
      <form class="row" @submit=${this.#save} aria-label="Display currency">
        <label>Currency (ISO code)
          <input name="currency" autocomplete="off" maxlength="3" size="4" .value=${d?.currency ?? ''}
            placeholder="EUR" ?disabled=${readOnly || this.busy} /></label>
        <label>Price of 1 ETH
          <input name="rate" inputmode="decimal" autocomplete="off" size="12" .value=${d?.rate ?? ''}
            placeholder="2870.00" ?disabled=${readOnly || this.busy} /></label>
        <button type="submit" ?disabled=${readOnly || this.busy}>${this.busy ? 'Saving…' : 'Save rate'}</button>
        ${
          d
            ? html`<button type="button" class="secondary" ?disabled=${readOnly || this.busy}
                @click=${() => this.#send(() => api.clearDisplayCurrency(), 'Cleared: amounts in ETH only.')}>Show ETH only</button>`
            : ''
        }
      </form>
      ${readOnly ? html`<p class="small muted">This device is read-only: it cannot change the rate.</p>` : ''}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      ${this.saved ? html`<p class="small ok" role="status">${this.saved}</p>` : ''}`
  }
}
customElements.define('zkm-display-currency', DisplayCurrencyForm)
