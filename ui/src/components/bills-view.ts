import { css, html, LitElement } from 'lit'
import { api, errorText } from '../lib/api.ts'
import { formatEnergy, formatEth, formatPeriod, formatTime, shorten } from '../lib/format.ts'
import { SessionController } from '../lib/session.ts'
import { StreamResource } from '../lib/stream-resource.ts'
import type { Bill, Status } from '../lib/types.ts'
import { type ChainInfo, ensureChain, type Receipt, sendPayment, waitForReceipt } from '../lib/wallet.ts'
import { type Load, renderLoad } from './load-state.ts'
import { shared } from './styles.ts'
import type { ConnectedWallet } from './wallet-panel.ts'
import './wallet-panel.ts'

const STATUS_TEXT: Record<Bill['status'], string> = {
  'waiting-tariff': 'waiting for the tariff',
  proving: 'proving',
  'waiting-previous': 'waiting for the previous bill',
  submitting: 'submitting on-chain',
  verified: 'on-chain verified',
  paid: 'paid',
  failed: 'failed',
}

/** A resident's retry in flight, or the reason it was refused. */
interface Retry {
  busy: boolean
  error?: string
}

interface Payment {
  step: string
  error?: string
  receipt?: Receipt
  txHash?: string
}

/** The list with `bill` replacing its earlier state (a bill event is its whole new state). */
function upsert(bills: Bill[], bill: Bill): Bill[] {
  const i = bills.findIndex((b) => b.id === bill.id)
  return i === -1 ? [...bills, bill] : bills.map((b) => (b.id === bill.id ? bill : b))
}

/** Bills with their proof status, and paying them from a browser wallet or the dev wallet. */
/** Marks a bill figure the ledger publishes (anyone can read it) or one that stays on this node. */
const PUBLIC = html`<span class="badge" data-visibility="public" title="Public: on the chain, anyone can read it">public</span>`
const PRIVATE = html`<span class="badge" data-visibility="private" title="Private: only on your node (its hash is public)">private</span>`

export class BillsView extends LitElement {
  static override properties = {
    wallet: { state: true },
    payments: { state: true },
    retries: { state: true },
  }
  static override styles = [
    shared,
    css`
      .bill header {
        display: flex;
        flex-wrap: wrap;
        justify-content: space-between;
        gap: 0.5rem;
        align-items: baseline;
      }
      dl {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 0.2rem 0.75rem;
        margin: 0.5rem 0;
      }
      dt {
        color: var(--muted);
      }
      dd {
        margin: 0;
        min-width: 0;
      }
      .why {
        margin: 0.5rem 0;
      }
      .why details {
        margin-top: 0.3rem;
      }
      .why .row {
        margin-top: 0.5rem;
      }
      .total {
        font-size: 1.3rem;
        font-weight: 650;
      }
      @media (max-width: 420px) {
        dl {
          grid-template-columns: 1fr;
        }
        dd {
          margin-bottom: 0.3rem;
        }
      }
    `,
  ]
  /** A read-only device sees the controls disabled (the node refuses them too: 403). */
  #session = new SessionController(this)
  /** The bills, kept current by `bill` events (a new bill, or a step of one). */
  #bills = new StreamResource<Bill[]>(this, {
    fetch: async () => (await api.bills()).bills,
    apply: { bill: (bills, bill) => upsert(bills, bill) },
  })
  /** Whether the node holds a dev wallet; read again on every reconnect. */
  #status = new StreamResource<Status | undefined>(this, {
    fetch: () => api.status().catch(() => undefined),
  })
  declare wallet: ConnectedWallet | undefined
  declare payments: Record<string, Payment>
  declare retries: Record<string, Retry>
  #chain: ChainInfo | undefined

  constructor() {
    super()
    this.wallet = undefined
    this.payments = {}
    this.retries = {}
  }

  get bills(): Load<Bill[]> {
    return this.#bills.state
  }

  get status(): Status | undefined {
    return this.#status.value
  }

  async reload(): Promise<void> {
    await Promise.all([this.#bills.reload(), this.#status.reload()])
  }

  #upsert(bill: Bill): void {
    this.#bills.update((bills) => upsert(bills, bill))
  }

  #setPayment(id: string, payment: Payment): void {
    this.payments = { ...this.payments, [id]: payment }
  }

  async #payWithWallet(bill: Bill): Promise<void> {
    const wallet = this.wallet
    if (!wallet || !bill.chainBillId || !bill.total) return
    const { provider } = wallet.wallet
    try {
      this.#setPayment(bill.id, { step: 'Reading the chain the ledger is on…' })
      this.#chain ??= await api.chain()
      const chain = this.#chain
      this.#setPayment(bill.id, { step: `Checking your wallet is on ${chain.chainName}…` })
      await ensureChain(provider, chain)
      this.#setPayment(bill.id, { step: 'Confirm the payment in your wallet…' })
      const txHash = await sendPayment(provider, chain, wallet.account, {
        chainBillId: bill.chainBillId,
        total: bill.total,
      })
      this.#setPayment(bill.id, { step: 'Waiting for the transaction to be mined…', txHash })
      const receipt = await waitForReceipt(provider, txHash)
      this.#setPayment(bill.id, { step: 'Paid: the ledger recorded your payment.', txHash, receipt })
    } catch (error) {
      this.#setPayment(bill.id, { step: '', error: errorText(error) })
    }
  }

  async #payWithDevWallet(bill: Bill): Promise<void> {
    this.#setPayment(bill.id, { step: 'Paying from the dev wallet…' })
    try {
      const { txHash, bill: updated } = await api.payBill({ params: { id: bill.id } })
      this.#upsert(updated)
      this.#setPayment(bill.id, { step: 'Paid from the dev wallet.', txHash })
    } catch (error) {
      this.#setPayment(bill.id, { step: '', error: `The dev wallet payment failed: ${errorText(error)}` })
    }
  }

  async #retry(bill: Bill): Promise<void> {
    this.retries = { ...this.retries, [bill.id]: { busy: true } }
    try {
      const { bill: updated } = await api.retryBill({ params: { id: bill.id } })
      this.#upsert(updated)
      this.retries = { ...this.retries, [bill.id]: { busy: false } }
    } catch (error) {
      this.retries = {
        ...this.retries,
        [bill.id]: { busy: false, error: `The retry was refused: ${errorText(error)}` },
      }
    }
  }

  /** The bill another one waits for, by period, for "waiting for the bill of …". */
  #billById(id: string | null): Bill | undefined {
    if (id === null || this.bills.state !== 'ready') return undefined
    return this.bills.value.find((b) => b.id === id)
  }

  /** Why a bill is not on the ledger yet, in plain words, and the resident's retry when it is theirs to press. */
  #why(bill: Bill) {
    const technical = bill.error
      ? html`<details><summary class="small">Details</summary>
          <p class="small mono" data-error>${bill.error.name}: ${bill.error.message}</p></details>`
      : ''
    if (bill.status === 'failed') {
      const r = this.retries[bill.id]
      return html`<div class="why" data-failure=${bill.failure?.kind ?? 'unknown'}>
        <p class="error" role="alert">
          <strong>Not on the ledger yet.</strong>
          ${bill.failure?.advice ?? 'The node could not complete this bill.'}
        </p>
        ${technical}
        ${
          bill.retryable
            ? html`<div class="row"><button @click=${() => this.#retry(bill)} ?disabled=${r?.busy === true || this.#session.readOnly}
                aria-label="Retry the bill for ${formatPeriod(bill.periodStart, bill.periodEnd)}">${r?.busy ? 'Retrying…' : 'Retry'}</button></div>`
            : ''
        }
        ${r?.error ? html`<p class="error" role="alert">${r.error}</p>` : ''}
      </div>`
    }
    if (bill.status === 'waiting-previous') {
      const earlier = this.#billById(bill.waitingFor)
      const which = earlier
        ? `the bill for ${formatPeriod(earlier.periodStart, earlier.periodEnd)}`
        : 'an earlier bill'
      return html`<p class="why small muted" role="status" data-waiting>
        Proved and waiting: the ledger takes a meter's bills in order, so this one goes as soon as ${which} is
        accepted${earlier?.status === 'failed' ? html` — <strong>that one failed; retry it first</strong>` : ''}.
        Nothing to do here.
      </p>`
    }
    if (bill.failure && bill.nextAttemptAt) {
      const at = formatTime(Math.floor(Date.parse(bill.nextAttemptAt) / 1000))
      return html`<div class="why" data-retrying>
        <p class="small muted" role="status">${bill.failure.advice} Next automatic attempt: ${at}.</p>
        ${technical}
      </div>`
    }
    return ''
  }

  #payment(bill: Bill) {
    const p = this.payments[bill.id]
    if (!p) return ''
    return html`<div aria-live="polite">
      ${p.step ? html`<p role="status">${p.step}</p>` : ''}
      ${p.error ? html`<p class="error" role="alert">${p.error}</p>` : ''}
      ${p.txHash ? html`<p class="small">Transaction <span class="mono" data-tx>${p.txHash}</span></p>` : ''}
      ${
        p.receipt
          ? html`<dl class="small" aria-label="Receipt" data-receipt>
              <dt>Block</dt><dd>${BigInt(p.receipt.blockNumber).toString()}</dd>
              <dt>Gas used</dt><dd>${BigInt(p.receipt.gasUsed).toLocaleString('en-US')}</dd>
              <dt>From</dt><dd class="mono">${p.receipt.from}</dd>
              <dt>Status</dt><dd class="ok">success</dd>
            </dl>`
          : ''
      }
    </div>`
  }

  #bill(bill: Bill) {
    const payable = bill.status === 'verified' && bill.total !== null && bill.chainBillId !== null
    const p = this.payments[bill.id]
    const busy = p !== undefined && p.step !== '' && !p.receipt && !p.error && !p.step.startsWith('Paid')
    const devWallet = this.status?.chain.devWallet === true
    return html`<article class="card bill" aria-labelledby="bill-${bill.id}" data-bill=${bill.id}>
      <header>
        <h3 id="bill-${bill.id}">${formatPeriod(bill.periodStart, bill.periodEnd)}</h3>
        <span class="badge ${bill.status}" data-status=${bill.status}>${STATUS_TEXT[bill.status] ?? bill.status}</span>
      </header>
      <div class="total"><span>${bill.total === null ? 'total pending proof' : formatEth(bill.total)}</span> ${bill.total === null ? '' : PUBLIC}</div>
      <dl>
        <dt>Period ${PUBLIC}</dt><dd>${formatPeriod(bill.periodStart, bill.periodEnd)}</dd>
        <dt>Energy ${PUBLIC}</dt><dd>${formatEnergy(bill.energyWh)}</dd>
        <dt>Commitment ${PUBLIC}</dt><dd class="mono" title=${bill.commitment ?? ''}>${bill.commitment ? shorten(bill.commitment, 14, 8) : '—'}</dd>
        <dt>Readings CID ${PRIVATE}</dt><dd class="mono" title=${bill.manifestCid ?? ''}>${bill.manifestCid ? shorten(bill.manifestCid, 14, 8) : '—'}</dd>
        ${bill.submitTx ? html`<dt>Proof tx ${PUBLIC}</dt><dd class="mono" title=${bill.submitTx}>${shorten(bill.submitTx)}</dd>` : ''}
        ${bill.paidTx ? html`<dt>Payment tx ${PUBLIC}</dt><dd class="mono" title=${bill.paidTx}>${shorten(bill.paidTx)}</dd>` : ''}
        ${bill.paidBy ? html`<dt>Paid by ${PUBLIC}</dt><dd class="mono" title=${bill.paidBy} data-paid-by>${shorten(bill.paidBy)}</dd>` : ''}
      </dl>
      <p class="small muted" data-public-private><strong>Public on the chain</strong>, readable by anyone: the period, energy and total,
        the tariff, the proof and two hashes (the commitment and the readings CID's digest, which reveal nothing)${bill.paidTx ? ', and the payment' : ''}.
        <strong>Private, on your node only</strong>: your 15-minute readings (when you used energy), the readings CID and the salt behind the commitment.</p>
      ${this.#why(bill)}
      ${
        payable
          ? html`<div class="row">
              <button @click=${() => this.#payWithWallet(bill)} ?disabled=${!this.wallet || busy || this.#session.readOnly}
                aria-label="Pay ${formatEth(bill.total!)} with ${this.wallet ? this.wallet.wallet.info.name : 'a browser wallet'}">
                Pay ${formatEth(bill.total!)}
              </button>
              ${
                devWallet
                  ? html`<button class="secondary" @click=${() => this.#payWithDevWallet(bill)} ?disabled=${busy || this.#session.readOnly}
                      aria-label="Pay with dev wallet: ${formatEth(bill.total!)} from the built-in dev wallet">Pay with dev wallet</button>`
                  : ''
              }
            </div>
            ${this.wallet ? '' : html`<p class="small muted">Connect a wallet above to pay${devWallet ? ', or use the dev wallet of this development chain' : ''}.</p>`}`
          : ''
      }
      ${this.#payment(bill)}
    </article>`
  }

  override render() {
    return html`<h1>Bills</h1>
      <section class="card" aria-labelledby="wallet-h">
        <h3 id="wallet-h">Wallet</h3>
        <zkm-wallet-panel @wallet-change=${(e: CustomEvent<ConnectedWallet | undefined>) => {
          this.wallet = e.detail
        }}></zkm-wallet-panel>
        ${this.status?.chain.devWallet ? html`<p class="small muted">This node runs the embedded development chain: the dev wallet pays without any browser wallet.</p>` : ''}
      </section>
      ${renderLoad(
        this.bills,
        (bills) =>
          bills.length === 0
            ? html`<p class="card muted">No bills yet. The first one appears when the meter closes its billing period.</p>`
            : html`${[...bills].reverse().map((b) => this.#bill(b))}`,
        () => void this.reload(),
        'bills',
      )}`
  }
}
customElements.define('zkm-bills-view', BillsView)
