import { css, html, LitElement } from 'lit'
import { shared } from '../components/styles.ts'
import { type AppState, appState } from './app-state.ts'

/** "14:05", or the date too when it was not today. */
function sinceText(since: number): string {
  const date = new Date(since)
  const today = new Date().toDateString() === date.toDateString()
  return today
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })
}

/**
 * The installed app's notices above every view: "Offline since …" while the dashboard shows the
 * service worker's kept copies (the node cannot be reached), and "a new version is ready" after an
 * update took over.
 */
export class OfflineNotice extends LitElement {
  static override properties = { state: { state: true } }
  static override styles = [
    shared,
    css`
      p {
        margin: 0 0 1rem;
        padding: 0.6rem 0.9rem;
        border-radius: 10px;
        border: 1px solid var(--line);
        background: var(--info-bg);
      }
      .offline {
        background: var(--card);
        border-left: 6px solid var(--focus);
      }
    `,
  ]
  declare state: AppState
  #off: (() => void) | undefined

  constructor() {
    super()
    this.state = appState.state
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.state = appState.state
    this.#off = appState.subscribe((state) => {
      this.state = state
    })
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.#off?.()
  }

  override render() {
    const { offline, updated } = this.state
    return html`${
      offline
        ? html`<p class="offline" role="status" aria-label="Offline">
            <strong>${offline.since === null ? 'Offline' : `Offline since ${sinceText(offline.since)}`}</strong> —
            the node cannot be reached. These are the last values it sent, kept on this device; the app
            reconnects by itself.
          </p>`
        : ''
    }${
      updated
        ? html`<p role="status" aria-label="Update">
            A new version of the app is installed.
            <button class="secondary" @click=${() => location.reload()}>Reload</button>
          </p>`
        : ''
    }`
  }
}
customElements.define('zkm-offline-notice', OfflineNotice)
