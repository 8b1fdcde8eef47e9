import { css, html, LitElement } from 'lit'
import { type DiscoveredWallet, discoverWallets, type WalletDiscovery } from '../lib/eip6963.ts'
import { connect } from '../lib/wallet.ts'
import { shared } from './styles.ts'

export interface ConnectedWallet {
  wallet: DiscoveredWallet
  account: string
}

/**
 * Lists the wallets found by EIP-6963 discovery (or window.ethereum) and connects one. Fires
 * `wallet-change` with the connected wallet (or undefined after "Disconnect").
 */
export class WalletPanel extends LitElement {
  static override properties = {
    wallets: { state: true },
    connected: { state: true },
    busy: { state: true },
    error: { state: true },
  }
  static override styles = [
    shared,
    css`
      ul {
        list-style: none;
        padding: 0;
        margin: 0.5rem 0;
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
      }
      img {
        width: 20px;
        height: 20px;
        vertical-align: middle;
        margin-right: 0.35rem;
      }
    `,
  ]
  declare wallets: DiscoveredWallet[]
  declare connected: ConnectedWallet | undefined
  declare busy: string
  declare error: string
  #discovery: WalletDiscovery | undefined

  constructor() {
    super()
    this.wallets = []
    this.connected = undefined
    this.busy = ''
    this.error = ''
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.#discovery = discoverWallets(window, (window as { ethereum?: unknown }).ethereum)
    this.wallets = this.#discovery.wallets()
    this.#discovery.onChange((wallets) => {
      this.wallets = wallets
    })
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.#discovery?.stop()
    this.#unwatch()
  }

  /** Follows account switches in the wallet: the payer shown is always the wallet's current one. */
  #onAccounts = (accounts: unknown): void => {
    const account = Array.isArray(accounts) ? accounts[0] : undefined
    if (!this.connected) return
    if (typeof account === 'string') {
      this.connected = { ...this.connected, account }
      this.dispatchEvent(new CustomEvent('wallet-change', { detail: this.connected }))
    } else this.#disconnect()
  }

  #unwatch(): void {
    this.connected?.wallet.provider.removeListener?.('accountsChanged', this.#onAccounts)
  }

  async #connect(wallet: DiscoveredWallet): Promise<void> {
    this.busy = wallet.info.uuid
    this.error = ''
    try {
      const account = await connect(wallet.provider)
      this.#unwatch()
      this.connected = { wallet, account }
      wallet.provider.on?.('accountsChanged', this.#onAccounts)
      this.dispatchEvent(new CustomEvent('wallet-change', { detail: this.connected }))
    } catch (error) {
      this.error = (error as Error).message
    } finally {
      this.busy = ''
    }
  }

  #disconnect(): void {
    this.#unwatch()
    this.connected = undefined
    this.dispatchEvent(new CustomEvent('wallet-change', { detail: undefined }))
  }

  override render() {
    if (this.connected) {
      const { wallet, account } = this.connected
      return html`<p>
        Connected: <strong>${wallet.info.name}</strong> · <span class="mono" data-account>${account}</span>
        <button class="secondary" @click=${this.#disconnect}>Disconnect</button>
      </p>`
    }
    return html`${
      this.wallets.length === 0
        ? html`<p class="muted small">
            No browser wallet found. Install one that supports EIP-6963 (for example MetaMask), then reload this page.
          </p>`
        : html`<p class="small">Wallets found in this browser:</p>
            <ul aria-label="Wallets">
              ${this.wallets.map(
                (w) => html`<li>
                  <button class="secondary" @click=${() => this.#connect(w)} ?disabled=${this.busy !== ''}
                    aria-label="Connect ${w.info.name}">
                    ${w.info.icon ? html`<img src=${w.info.icon} alt="" />` : ''}${this.busy === w.info.uuid ? 'Connecting…' : w.info.name}
                  </button>
                </li>`,
              )}
            </ul>`
    }
    ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}`
  }
}
customElements.define('zkm-wallet-panel', WalletPanel)
