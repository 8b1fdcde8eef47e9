import { css, html, LitElement } from 'lit'
import { parseRoute, ROUTES, type RoutePath } from '../lib/router.ts'
import { StreamConnection } from '../lib/stream-resource.ts'
import { shared } from './styles.ts'
import './alarm-banner.ts'
import './setup-panel.ts'
import './live-view.ts'
import './bills-view.ts'
import './home-view.ts'
import './safety-view.ts'
import './privacy-view.ts'
import './mesh-view.ts'
import './utility-view.ts'

/** The shell: navigation, stream status, the alarm banner on every view, and the routed view. */
export class ZkmApp extends LitElement {
  static override properties = { route: { state: true } }
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
    `,
  ]
  declare route: RoutePath
  #connection = new StreamConnection(this)
  #onHash = () => {
    this.route = parseRoute(location.hash)
  }

  constructor() {
    super()
    this.route = parseRoute(location.hash)
  }

  override connectedCallback(): void {
    super.connectedCallback()
    addEventListener('hashchange', this.#onHash)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    removeEventListener('hashchange', this.#onHash)
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

  override render() {
    const connection = this.#connection.state
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
      </header>
      <main>
        <zkm-alarm-banner></zkm-alarm-banner>
        <zkm-setup-banner></zkm-setup-banner>
        ${this.#view()}
      </main>`
  }
}
customElements.define('zkm-app', ZkmApp)
