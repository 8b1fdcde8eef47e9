import { css, html, LitElement } from 'lit'
import { cache } from 'lit/directives/cache.js'
import { keyed } from 'lit/directives/keyed.js'
import type { Principal } from '#protocol/api/types.ts'
import { ApiError, api, errorText } from '../lib/api.ts'
import { nodeReachable, onReachability } from '../lib/reachability.ts'
import { parseRoute, ROUTES, type RoutePath } from '../lib/router.ts'
import { onUnauthenticated, setSession, takePairingCodeFromUrl } from '../lib/session.ts'
import { stream } from '../lib/stream.ts'
import { StreamConnection } from '../lib/stream-resource.ts'
import { type AppState, appState } from '../pwa/app-state.ts'
import type { PairingView } from './pairing-view.ts'
import { shared } from './styles.ts'
import './pairing-view.ts'
import './alarm-banner.ts'
import './setup-panel.ts'
import './live-view.ts'
import './insight-view.ts'
import './bills-view.ts'
import './home-view.ts'
import './safety-view.ts'
import './privacy-view.ts'
import './mesh-view.ts'
import './utility-view.ts'
import '../pwa/offline-notice.ts'

/** The document title of each view (one per view, for tabs, history and screen readers). */
const TITLES: Record<RoutePath, string> = {
  '/': 'Live',
  '/energy': 'Energy',
  '/bills': 'Bills',
  '/home': 'Home',
  '/safety': 'Safety',
  '/privacy': 'Privacy',
  '/mesh': 'Neighbourhood',
  '/utility': 'Utility console',
}

/**
 * The shell: a skip link, the header (stream status, "this device": its role, logout), the
 * navigation (a sticky bar, one scrolling row on a phone), the alarm banner on every view, and the
 * routed view; the pairing screen instead while the node does not know this device (401).
 *
 * Accessibility (docs/ui.md): every view has one h1, and a view switch sets the document title and
 * moves focus to that heading. When the node cannot be reached at all, ONE message with a Retry
 * button stands in for the views (each would otherwise say "Could not load …" on its own); the
 * installed app's offline copies are the exception: it shows those, under its "Offline since" note.
 */
export class ZkmApp extends LitElement {
  static override properties = {
    route: { state: true },
    session: { state: true },
    auth: { state: true },
    pairError: { state: true },
    reachable: { state: true },
    offline: { state: true },
    retrying: { state: true },
    retryNote: { state: true },
  }
  static override styles = [
    shared,
    css`
      .skip {
        position: absolute;
        left: 0.5rem;
        top: -10rem;
        z-index: 20;
        padding: 0.5rem 0.9rem;
        border-radius: 6px;
        background: var(--accent);
        color: var(--on-accent);
      }
      .skip:focus {
        top: 0.5rem;
      }
      header {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        justify-content: space-between;
        gap: 0.5rem;
        /* Full-width bars, their content lined up with main's 1100 px column. */
        padding: 0.6rem max(1rem, calc((100% - 1100px) / 2));
        background: var(--card);
      }
      header.alone {
        border-bottom: 1px solid var(--line);
      }
      .brand {
        font-weight: 700;
        font-size: 1.15rem;
      }
      /* The views stay one tap away while a long view scrolls: the bar sticks to the top. */
      nav {
        position: sticky;
        top: 0;
        z-index: 10;
        background: var(--card);
        border-bottom: 1px solid var(--line);
      }
      nav ul {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem;
        list-style: none;
        margin: 0;
        padding: 0.35rem max(1rem, calc((100% - 1100px) / 2));
      }
      nav a {
        display: block;
        padding: 0.45rem 0.7rem;
        border-radius: 6px;
        color: var(--fg);
        text-decoration: none;
        white-space: nowrap;
      }
      nav a[aria-current='page'] {
        background: var(--accent);
        color: var(--on-accent);
      }
      /* Phone: one compact row that scrolls sideways, not three rows of links. */
      @media (max-width: 40rem) {
        header {
          padding: 0.4rem 0.75rem;
        }
        nav ul {
          flex-wrap: nowrap;
          overflow-x: auto;
          padding: 0.3rem 0.5rem;
          scrollbar-width: thin;
        }
        nav a {
          padding: 0.4rem 0.6rem;
        }
      }
      .down h1 {
        font-size: 1.2rem;
      }
      .down {
        border-left: 6px solid var(--danger);
      }
      main {
        max-width: 1100px;
        margin: 0 auto;
        padding: 1rem;
      }
      .conn {
        margin-left: auto;
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
  /** The node answered the last request (or the stream is open); see lib/reachability.ts. */
  declare reachable: boolean
  /** The installed app is showing its offline copies (pwa/app-state.ts). */
  declare offline: boolean
  declare retrying: boolean
  /** What the last Retry found (announced: the message itself stays). */
  declare retryNote: string
  /** The live stream (started here unless a code in the URL pairs this device first). */
  #connection: StreamConnection | undefined
  #off: (() => void)[] = []
  /** The route changed by navigation: focus the new view's heading once it is rendered. */
  #focusView = false
  /**
   * While the node is down the views stay mounted but hidden, so an unsaved edit survives a short
   * outage. A view first shown during the outage only has its failed loads: it is mounted afresh
   * (a new key) when the node is back.
   */
  #viewKey = 0
  #mountedWhileDown = false
  /** A tab of the bar was just tapped (so it is in sight): see #onHash. */
  #tabTapped = false
  /** The new route's tab may be out of sight in the phone's scrolling bar: bring it in. */
  #revealTab = false
  #onHash = () => {
    const route = parseRoute(location.hash)
    const tapped = this.#tabTapped
    this.#tabTapped = false
    if (route === this.route) return
    // A tapped tab is in sight already; scrolling it into view would only force a layout of the
    // page before the new view has rendered (17 ms a switch in a CPU profile). Other ways to a
    // view (a link in a view, a notification, the back button) may land on a hidden tab.
    this.#revealTab = !tapped
    this.route = route
    this.#focusView = true
    if (this.nodeDown) this.#mountedWhileDown = true
  }

  constructor() {
    super()
    this.route = parseRoute(location.hash)
    // A code in the URL (the printed link, the QR code): pair before any view asks the node
    // anything, so no request goes out without the session, and no stale 401 undoes the pairing.
    this.auth = /(^#|&)pair=/.test(location.hash) ? 'pairing' : 'unknown'
    if (this.auth === 'unknown') this.#connection = new StreamConnection(this)
    this.pairError = ''
    this.reachable = nodeReachable()
    this.offline = appState.state.offline !== undefined
    this.retrying = false
    this.retryNote = ''
  }

  override connectedCallback(): void {
    super.connectedCallback()
    addEventListener('hashchange', this.#onHash)
    this.#off.push(
      onUnauthenticated(() => {
        if (this.auth !== 'pairing') this.#unpaired()
      }),
      onReachability((reachable) => {
        this.reachable = reachable
        if (reachable) this.retryNote = ''
      }),
      appState.subscribe((state: AppState) => {
        this.offline = state.offline !== undefined
      }),
    )
    void this.#authenticate()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    removeEventListener('hashchange', this.#onHash)
    for (const off of this.#off.splice(0)) off()
  }

  /** No answer from the node at all, and no offline copies to show instead. */
  get nodeDown(): boolean {
    return !this.reachable && this.#connection?.state !== 'open' && !this.offline
  }

  /** Retry now rather than at the stream's next attempt: reconnect the stream, ask who we are. */
  async #retry(): Promise<void> {
    this.retrying = true
    this.retryNote = ''
    stream.stop()
    stream.start()
    try {
      this.#paired((await api.session()).session)
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.#unpaired()
      else this.retryNote = `Still no answer (${new Date().toLocaleTimeString()}). The app keeps trying.`
    } finally {
      this.retrying = false
    }
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

  override willUpdate(): void {
    if (this.#mountedWhileDown && !this.nodeDown) {
      this.#mountedWhileDown = false
      this.#viewKey++
    }
  }

  override updated(changed: Map<PropertyKey, unknown>): void {
    // On a phone the tab row scrolls sideways: keep the current tab in sight (the first tab is,
    // at the start).
    if (this.#revealTab || (changed.has('auth') && this.route !== '/')) {
      this.#revealTab = false
      this.renderRoot
        .querySelector('nav a[aria-current="page"]')
        ?.scrollIntoView({ block: 'nearest', inline: 'nearest' })
    }
    const pairing = this.renderRoot.querySelector<PairingView>('zkm-pairing')
    if (pairing && this.pairError && !pairing.error) {
      pairing.error = this.pairError
      this.pairError = ''
    }
    const title =
      this.auth === 'unpaired' || this.auth === 'pairing' ? 'Pair this device' : TITLES[this.route]
    document.title = `${title} — zkmeter`
    if (this.#focusView) {
      this.#focusView = false
      void this.#focusHeading()
    }
  }

  /**
   * Moves focus to the shown view's h1 (inside the view's shadow root), as a screen reader user
   * expects after following a link: they hear the new view's name and read on from there.
   */
  async #focusHeading(): Promise<void> {
    await this.updateComplete
    const main = this.renderRoot.querySelector('main')
    let heading = main?.querySelector<HTMLElement>(':scope > h1, :scope > section > h1') ?? null
    if (!heading) {
      const view = main?.querySelector<LitElement>('zkm-pairing, [data-view]')
      await view?.updateComplete
      heading = view?.shadowRoot?.querySelector<HTMLElement>('h1') ?? null
    }
    if (!heading) return
    heading.tabIndex = -1
    heading.focus()
  }

  /**
   * The routed view. Views left are kept (Lit's `cache`), not destroyed: coming back shows what
   * the view last had at once, while it reloads in the background (each view re-reads its data
   * when it is connected again), and an unfinished edit is still there.
   */
  #view() {
    switch (this.route) {
      case '/energy':
        return html`<zkm-insight-view data-view></zkm-insight-view>`
      case '/bills':
        return html`<zkm-bills-view data-view></zkm-bills-view>`
      case '/home':
        return html`<zkm-home-view data-view></zkm-home-view>`
      case '/safety':
        return html`<zkm-safety-view data-view></zkm-safety-view>`
      case '/privacy':
        return html`<zkm-privacy-view data-view></zkm-privacy-view>`
      case '/mesh':
        return html`<zkm-mesh-view data-view></zkm-mesh-view>`
      case '/utility':
        return html`<zkm-utility-view data-view></zkm-utility-view>`
      default:
        return html`<zkm-live-view data-view></zkm-live-view>`
    }
  }

  /** The one message while the node cannot be reached (instead of each view's own error). */
  #down() {
    return html`<section class="card down" role="alert" aria-labelledby="down-h" data-node-down>
      <h1 id="down-h">Cannot reach your zkmeter node</h1>
      <p>This device gets no answer from the household node, so it cannot show live values, bills or alarms
        right now. The meter still reacts to fire, gas and water leaks on its own.</p>
      <p class="small muted">Check that the node is running and that this device is on your home network.
        The app tries again by itself every few seconds.</p>
      <div class="row">
        <button @click=${() => void this.#retry()} ?disabled=${this.retrying}>${this.retrying ? 'Retrying…' : 'Retry'}</button>
      </div>
      <p class="small" role="status">${this.retryNote}</p>
    </section>`
  }

  #skipLink() {
    return html`<a class="skip" href="#${this.route}" @click=${(e: Event) => {
      e.preventDefault()
      void this.#focusHeading()
    }}>Skip to content</a>`
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
      return html`<main><h1>Pair this device</h1><p class="muted" role="status">Pairing this device…</p></main>`
    }
    if (this.auth === 'unpaired') {
      return html`${this.#skipLink()}<header class="alone"><span class="brand">zkmeter</span></header>
        <main><zkm-pairing @paired=${(e: CustomEvent<Principal>) => this.#paired(e.detail)}></zkm-pairing></main>`
    }
    const down = this.nodeDown
    const connection = this.#connection?.state ?? 'connecting'
    const connText = down
      ? 'offline'
      : connection === 'open'
        ? 'live'
        : connection === 'connecting'
          ? 'reconnecting…'
          : 'offline — retrying'
    return html`${this.#skipLink()}<header>
        <span class="brand">zkmeter</span>
        <span class="conn ${down ? 'closed' : connection}" role="status" aria-label="Live stream ${connText}">${connText}</span>
        ${this.#device()}
      </header>
      <nav aria-label="Views" @click=${(e: Event) => {
        this.#tabTapped = e.target instanceof HTMLAnchorElement
      }}>
        <ul>
          ${ROUTES.map(
            (r) =>
              html`<li><a href="#${r.path}" aria-current=${this.route === r.path ? 'page' : 'false'}>${r.label}</a></li>`,
          )}
        </ul>
      </nav>
      <main>${down ? this.#down() : ''}<div ?hidden=${down}>${this.#content()}</div></main>`
  }

  #content() {
    return html`<zkm-offline-notice></zkm-offline-notice>
        ${
          this.session?.role === 'read-only'
            ? html`<p class="note read-only-note" role="note">Read-only: this device was paired to look, not to change anything. Switches, payments, rules and alarm acknowledgements need a resident's device.</p>`
            : ''
        }
        <zkm-alarm-banner></zkm-alarm-banner>
        <zkm-setup-banner></zkm-setup-banner>
        ${keyed(this.#viewKey, cache(this.#view()))}`
  }
}
customElements.define('zkm-app', ZkmApp)
