import { css, html, LitElement } from 'lit'
import { chainInfo } from '../lib/chain-info.ts'
import { shorten } from '../lib/format.ts'
import type { ChainInfo } from '../lib/types.ts'
import { shared } from './styles.ts'

type Setup = NonNullable<ChainInfo['trustedSetup']>

/** GET /api/chain's trustedSetup, fetched once per page load and shared by the banner and the panel. */
let setupOnce: Promise<Setup | undefined> | undefined
function fetchSetup(): Promise<Setup | undefined> {
  setupOnce ??= chainInfo().then(
    (c) => c.trustedSetup,
    () => {
      setupOnce = undefined // a failed read is retried on the next view
      return undefined
    },
  )
  return setupOnce
}

/**
 * A red banner on every view when bills are verified under a setup nobody should trust: the
 * INSECURE development setup (anyone can forge bills), or a ledger whose key is not this node's
 * (billing is held). Nothing otherwise.
 */
export class SetupBanner extends LitElement {
  static override properties = { setup: { state: true } }
  static override styles = [
    shared,
    css`
      .banner {
        background: var(--danger);
        color: var(--on-danger);
        padding: 0.6rem 0.9rem;
        border-radius: 6px;
        margin-bottom: 0.8rem;
      }
    `,
  ]
  declare setup: Setup | undefined

  override connectedCallback(): void {
    super.connectedCallback()
    void fetchSetup().then((s) => {
      this.setup = s
    })
  }

  override render() {
    const s = this.setup
    if (s === undefined) return html``
    if (!s.keyMatches) {
      return html`<div class="banner" role="alert"><strong>Billing held:</strong> the ledger checks bills with
        another verifying key than this node proves with. Ask your utility which trusted setup its ledger uses;
        <code>zkmeter verify-setup</code> compares them.</div>`
    }
    if (s.insecureDev) {
      return html`<div class="banner" role="alert"><strong>Insecure development setup:</strong> the secrets of
        this ledger's trusted setup are public, so anyone can forge a bill. Development chain only — never for
        real money.</div>`
    }
    return html``
  }
}
customElements.define('zkm-setup-banner', SetupBanner)

/** The trusted setup bills are verified under: who contributed, and whether this node checked it. */
export class SetupPanel extends LitElement {
  static override properties = { setup: { state: true } }
  static override styles = [shared]
  declare setup: Setup | undefined

  override connectedCallback(): void {
    super.connectedCallback()
    void fetchSetup().then((s) => {
      this.setup = s
    })
  }

  override render() {
    const s = this.setup
    if (s === undefined) return html``
    return html`<section class="card" aria-labelledby="setup-h">
      <h3 id="setup-h">Trusted setup</h3>
      <p class="small muted">Bills are proved and verified under this setup; a forged bill needs its secrets,
        which no single contributor knows if one of them was honest.</p>
      <p>${
        s.insecureDev
          ? html`<strong class="error">INSECURE development setup</strong> (its secrets follow from public phrases)`
          : html`Ceremony with ${s.contributors.length} contributions`
      } · ${
        s.keyMatches
          ? html`<span class="ok">this node proves with the ledger's key</span>`
          : html`<span class="error">the ledger's key is not this node's: billing held</span>`
      }</p>
      <p class="small">Key <span class="mono">${shorten(s.verifyingKeyHash)}</span> · transcript
        <span class="mono">${s.transcriptCid ?? shorten(s.transcriptSha256)}</span>${
          s.transcriptMatches ? '' : html` <span class="error">(not the transcript this node has)</span>`
        }</p>
      ${s.contributors.length > 0 ? html`<ol class="small">${s.contributors.map((c) => html`<li>${c}</li>`)}</ol>` : ''}
    </section>`
  }
}
customElements.define('zkm-setup-panel', SetupPanel)
