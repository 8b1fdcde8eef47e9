import { css, html, LitElement } from 'lit'
import type { Principal } from '#protocol/api/types.ts'
import { api, errorText } from '../lib/api.ts'
import { shared } from './styles.ts'

/** A short name for this device in the resident's list of sessions. */
function deviceName(): string {
  const ua = navigator.userAgent
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad/.test(ua)
      ? 'iOS'
      : /Mac/.test(ua)
        ? 'Mac'
        : /Linux/.test(ua)
          ? 'Linux'
          : /Windows/.test(ua)
            ? 'Windows'
            : 'device'
  return `${/Firefox/.test(ua) ? 'Firefox' : /Chrom/.test(ua) ? 'Chrome' : /Safari/.test(ua) ? 'Safari' : 'Browser'} on ${os}`
}

/**
 * The pairing screen, shown while the node answers 401: the one-time code from the node's
 * terminal (`npm start`, `zkmeter pair`) pairs this browser. Fires `paired` with the session.
 */
export class PairingView extends LitElement {
  static override properties = {
    code: { type: String },
    error: { type: String },
    busy: { state: true },
  }
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        max-width: 28rem;
        margin: 2rem auto;
      }
      input {
        font-size: 1.3rem;
        letter-spacing: 0.1em;
        text-transform: uppercase;
        font-family: ui-monospace, monospace;
      }
    `,
  ]
  declare code: string
  declare error: string
  declare busy: boolean

  constructor() {
    super()
    this.code = ''
    this.error = ''
    this.busy = false
  }

  /** Pairs with `code`; the answer sets the session cookie. */
  async pair(code: string): Promise<void> {
    this.busy = true
    this.error = ''
    try {
      const { session } = await api.pair({ body: { code: code.trim(), name: deviceName() } })
      this.code = ''
      this.dispatchEvent(
        new CustomEvent<Principal>('paired', { detail: session, bubbles: true, composed: true }),
      )
    } catch (error) {
      this.error = errorText(error)
    } finally {
      this.busy = false
    }
  }

  #submit(event: Event) {
    event.preventDefault()
    if (this.code.trim()) void this.pair(this.code)
  }

  override render() {
    return html`<section class="card" aria-labelledby="pair-title">
      <h1 id="pair-title">Pair this device</h1>
      <p>
        This household node answers only devices the resident has paired. On the node, run
        <code>zkmeter pair</code> (or look at the terminal where <code>npm start</code> runs): scan its QR
        code with this phone, or type the pairing code here. A code works once, for 10 minutes.
      </p>
      <form @submit=${this.#submit}>
        <label>Pairing code
          <input name="code" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false"
            placeholder="XXXXX-XXXXX" .value=${this.code} @input=${(e: Event) => {
              this.code = (e.target as HTMLInputElement).value
            }} />
        </label>
        <p><button type="submit" ?disabled=${this.busy || !this.code.trim()}>${this.busy ? 'Pairing…' : 'Pair'}</button></p>
      </form>
      ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : ''}
    </section>`
  }
}
customElements.define('zkm-pairing', PairingView)
