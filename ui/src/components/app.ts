import { css, html, LitElement } from 'lit'
import type { Principal } from '#protocol/api/types.ts'
import { ApiError, api, errorText } from '../lib/api.ts'
import { parseRoute, ROUTES, type RoutePath } from '../lib/router.ts'
import { onUnauthenticated, setSession, takePairingCodeFromUrl } from '../lib/session.ts'
import { stream } from '../lib/stream.ts'
import { StreamConnection } from '../lib/stream-resource.ts'
import type { PairingView } from './pairing-view.ts'
import { shared } from './styles.ts'
import './pairing-view.ts'
import './alarm-banner.ts'
import './setup-panel.ts'
import './live-view.ts'
import './bills-view.ts'
import './home-view.ts'
import './safety-view.ts'
import './privacy-view.ts'
import './mesh-view.ts'
import './utility-view.ts'
import '../pwa/offline-notice.ts'

/**
 * The shell: navigation, stream status, the alarm banner on every view, and the routed view; the
 * pairing screen instead while the node does not know this device (401), and "this device" (its
 * role, logout) in the header.
 */
export class ZkmApp extends LitElement {
  static override properties = {
    route: { state: true },
    session: { state: true },
    auth: { state: true },
    pairError: { state: true },
  }
  static override styles = [
    shared,
    css`
      header {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        justify-content: space-between;
        gap: 0.5rem;
        padding: 0.75rem 1rem;
        background: var(--card);
        border-bottom: 1px solid var(--line);
      }
      .brand {
        font-weight: 700;
        font-size: 1.15rem;
      }
      nav ul {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem;
        list-style: none;
        margin: 0;
        padding: 0;
      }
      nav a {
        display: block;
        padding: 0.45rem 0.7rem;
        border-radius: 6px;
        color: var(--fg);
        text-decoration: none;
      }
      nav a[aria-current='page'] {
        background: var(--accent);
        color: #fff;
      }
      main {
        max-width: 1100px;
        margin: 0 auto;
        padding: 1rem;
      }
      .conn {
        font-size: 0.8rem;
      }
      .conn.open::before {
        content: '● ';
        color: var(--ok);
      }
      .conn.connecting::before,
      .conn.closed::before {
        content: '● ';
        color: var(--danger);
      }
      .device {
        display: flex;
        align-items: center;
        gap: 0.4rem;
        font-size: 0.8rem;
      }
      .device button {
        padding: 0.2rem 0.5rem;
        font-size: 0.8rem;
      }
      .read-only-note {
        margin: 0 0 1rem;
      }
    `,
  ]
  declare route: RoutePath
  declare session: Principal | undefined
  /**
   * `unknown` until the node said who this device is: the views load meanwhile (a paired device,
   * the usual case, waits for nothing); a 401 from any of them or from the session shows pairing.
   */
  declare auth: 'pairing' | 'unknown' | 'unpaired' | 'paired'
  declare pairError: string
  /** The live stream (started here unless a code in the URL pairs this device first). */
  #connection: StreamConnection | undefined
  #offUnauthenticated: (() => void) | undefined
  #onHash = () => {
    this.route = parseRoute(location.hash)
  }

  constructor() {
    super()
    this.route = parseRoute(location.hash)
    // A code in the URL (the printed link, the QR code): pair before any view asks the node
    // anything, so no request goes out without the session, and no stale 401 undoes the pairing.
    this.auth = /(^#|&)pair=/.test(location.hash) ? 'pairing' : 'unknown'
    if (this.auth === 'unknown') this.#connection = new StreamConnection(this)
    this.pairError = ''
  }

  override connectedCallback(): void {
    super.connectedCallback()
    addEventListener('hashchange', this.#onHash)
    this.#offUnauthenticated = onUnauthenticated(() => {
      if (this.auth !== 'pairing') this.#unpaired()
    })
    void this.#authenticate()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    removeEventListener('hashchange', this.#onHash)
    this.#offUnauthenticated?.()
  }

  /** A code in the URL (the printed link, the QR code) pairs first; then: who am I? */
  async #authenticate(): Promise<void> {
    const code = takePairingCodeFromUrl()
    this.route = parseRoute(location.hash)
    if (code) {
      try {
        this.#paired((await api.pair({ body: { code } })).session)
        return
      } catch (error) {
        this.pairError = errorText(error)
        this.auth = 'unknown'
      }
    }
    try {
      this.#paired((await api.session()).session)
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.#unpaired()
      // The node is not answering: the views say so; ask again in a moment.
      else setTimeout(() => void this.#authenticate(), 3000)
    }
  }

  #paired(session: Principal): void {
    const wasUnpaired = this.auth === 'unpaired' || this.auth === 'pairing'
    this.session = session
    setSession(session)
    this.auth = 'paired'
    // Just paired: the views subscribe as they connect, then the stream opens.
    if (wasUnpaired) {
      void this.updateComplete.then(() => {
        if (this.#connection) stream.start()
        else this.#connection = new StreamConnection(this)
      })
    }
  }

  #unpaired(): void {
    if (this.auth === 'unpaired') return
    stream.stop()
    this.session = undefined
    setSession(undefined)
    this.auth = 'unpaired'
  }

  async #logout(): Promise<void> {
    try {
      await api.logout()
    } finally {
      this.#unpaired()
    }
  }

  override updated(): void {
    const pairing = this.renderRoot.querySelector<PairingView>('zkm-pairing')
    if (pairing && this.pairError && !pairing.error) {
      pairing.error = this.pairError
      this.pairError = ''
    }
  }

  #view() {
    switch (this.route) {
      case '/bills':
        return html`<zkm-bills-view></zkm-bills-view>`
      case '/home':
        return html`<zkm-home-view></zkm-home-view>`
      case '/safety':
        return html`<zkm-safety-view></zkm-safety-view>`
      case '/privacy':
        return html`<zkm-privacy-view></zkm-privacy-view>`
      case '/mesh':
        return html`<zkm-mesh-view></zkm-mesh-view>`
      case '/utility':
        return html`<zkm-utility-view></zkm-utility-view>`
      default:
        return html`<zkm-live-view></zkm-live-view>`
    }
  }

  #device() {
    const s = this.session
    if (!s) return ''
    return html`<span class="device" aria-label="This device">
      <span>${s.kind === 'session' ? 'This device' : s.name}${s.role === 'read-only' ? html` · <strong>read-only</strong>` : ''}</span>
      ${s.kind === 'session' ? html`<button class="secondary" @click=${() => void this.#logout()}>Log out</button>` : ''}
    </span>`
  }

  override render() {
    if (this.auth === 'pairing') {
      return html`<main><p class="muted" role="status">Pairing this device…</p></main>`
    }
    if (this.auth === 'unpaired') {
      return html`<header><span class="brand">zkmeter</span></header>
        <main><zkm-pairing @paired=${(e: CustomEvent<Principal>) => this.#paired(e.detail)}></zkm-pairing></main>`
    }
    const connection = this.#connection?.state ?? 'connecting'
    const connText =
      connection === 'open' ? 'live' : connection === 'connecting' ? 'reconnecting…' : 'offline — retrying'
    return html`<header>
        <span class="brand">zkmeter</span>
        <nav aria-label="Views">
          <ul>
            ${ROUTES.map(
              (r) =>
                html`<li><a href="#${r.path}" aria-current=${this.route === r.path ? 'page' : 'false'}>${r.label}</a></li>`,
            )}
          </ul>
        </nav>
        <span class="conn ${connection}" role="status" aria-label="Live stream ${connText}">${connText}</span>
        ${this.#device()}
      </header>
      <main>
        <zkm-offline-notice></zkm-offline-notice>
        ${
          this.session?.role === 'read-only'
            ? html`<p class="note read-only-note" role="note">Read-only: this device was paired to look, not to change anything. Switches, payments, rules and alarm acknowledgements need a resident's device.</p>`
            : ''
        }
        <zkm-alarm-banner></zkm-alarm-banner>
        <zkm-setup-banner></zkm-setup-banner>
        ${this.#view()}
      </main>`
  }
}
customElements.define('zkm-app', ZkmApp)
