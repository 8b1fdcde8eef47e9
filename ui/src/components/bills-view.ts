import { css, html, LitElement } from 'lit'
import { ROUTES } from '#protocol/api/routes.ts'
import { isDue, isNothingToPay, nothingToPayBelow, owed, totalDue } from '#protocol/money.ts'
import { api, errorText } from '../lib/api.ts'
import { type BillFilter, filterBills, yearsOf } from '../lib/bill-filter.ts'
import { chainInfo } from '../lib/chain-info.ts'
import {
  formatAmount,
  formatDisplay,
  formatEnergy,
  formatPeriod,
  formatRateSet,
  formatTime,
  shorten,
} from '../lib/format.ts'
import { SessionController } from '../lib/session.ts'
import { StreamResource } from '../lib/stream-resource.ts'
import type { Bill, BillAsset, BillsDue, DisplayCurrency, PaymentReceipt, Status } from '../lib/types.ts'
import {
  type ChainInfo,
  checkBalance,
  ensureChain,
  type PayOutcome,
  payInTurn,
  type Receipt,
  sendPayment,
  sendTokenPayment,
  waitForReceipt,
} from '../lib/wallet.ts'
import { type Load, renderLoad } from './load-state.ts'
import { shared } from './styles.ts'
import type { ConnectedWallet } from './wallet-panel.ts'
import './display-currency-form.ts'
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

/** GET /api/bills: the bills, what is due and the display currency. */
interface BillsAnswer {
  bills: Bill[]
  due: BillsDue
  display: DisplayCurrency | null
  /** What the bills are in (null from a node before token tariffs: Ether). */
  asset: BillAsset | null
  /** Export credit the ledger carries to this meter's next bill (null from a node before net bills). */
  credit: string | null
}

/** The due figures after a bill event, by the node's own rule (protocol/money.ts). */
function dueOf(bills: readonly Bill[]): BillsDue {
  const { total, count } = totalDue(bills)
  return { total: total.toString(), count, nothingToPay: bills.filter(isNothingToPay).length }
}

/** A payment of several bills in progress (or done): each bill's outcome. */
interface Batch {
  via: string
  outcomes: PayOutcome<Bill>[]
  error?: string
}

const OUTCOME_TEXT: Record<PayOutcome<Bill>['state'], string> = {
  waiting: 'waiting',
  paying: 'paying…',
  paid: 'paid',
  failed: 'failed',
  skipped: 'not tried',
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
    filter: { state: true },
    selected: { state: true },
    batch: { state: true },
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
      .equiv {
        font-size: 1rem;
        font-weight: 400;
        color: var(--muted);
      }
      .select-bill {
        font-size: 0.9rem;
      }
      ol.outcomes {
        padding-left: 1.25rem;
        margin: 0.5rem 0;
      }
      ol.outcomes li[data-outcome='failed'] {
        color: var(--danger);
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
  /** The bills, kept current by `bill` events (a new bill, or a step of one), and what is due. */
  #bills = new StreamResource<BillsAnswer>(this, {
    // An offline copy kept by an older build (pwa/policy.ts OFFLINE_API) may lack due and display.
    fetch: async () => {
      const answer = await api.bills()
      return {
        bills: answer.bills,
        due: answer.due ?? dueOf(answer.bills),
        display: answer.display ?? null,
        asset: answer.asset ?? null,
        credit: answer.credit ?? null,
      }
    },
    apply: {
      bill: (answer, bill) => {
        const bills = upsert(answer.bills, bill)
        return { ...answer, bills, due: dueOf(bills) }
      },
    },
  })
  /** The receipts of paid bills (GET /api/payments), read again when a bill is paid or its receipt completes. */
  #payments = new StreamResource<PaymentReceipt[]>(this, {
    fetch: async () => (await api.payments()).payments,
    reloadOn: { bill: (bill) => bill.status === 'paid' },
    keepOnError: true,
  })
  /** Whether the node holds a dev wallet; read again on every reconnect. */
  #status = new StreamResource<Status | undefined>(this, {
    fetch: () => api.status().catch(() => undefined),
  })
  declare wallet: ConnectedWallet | undefined
  declare payments: Record<string, Payment>
  declare retries: Record<string, Retry>
  declare filter: BillFilter
  /** Bills ticked for "pay selected", by id. */
  declare selected: ReadonlySet<string>
  declare batch: Batch | undefined

  constructor() {
    super()
    this.wallet = undefined
    this.payments = {}
    this.retries = {}
    this.filter = { status: 'all', period: 'all', from: '', to: '' }
    this.selected = new Set()
    this.batch = undefined
  }

  get bills(): Load<Bill[]> {
    const s = this.#bills.state
    return s.state === 'ready' ? { state: 'ready', value: s.value.bills } : s
  }

  get display(): DisplayCurrency | null {
    return this.#bills.value?.display ?? null
  }

  /** What the home's bills are in (Ether when the node does not say). */
  get asset(): BillAsset | null {
    return this.#bills.value?.asset ?? null
  }

  #assetOf(bill: Bill): BillAsset | null {
    return bill.asset ?? this.asset
  }

  get status(): Status | undefined {
    return this.#status.value
  }

  async reload(): Promise<void> {
    await Promise.all([this.#bills.reload(), this.#status.reload(), this.#payments.reload()])
  }

  #upsert(bill: Bill): void {
    this.#bills.update((answer) => {
      const bills = upsert(answer.bills, bill)
      return { ...answer, bills, due: dueOf(bills) }
    })
  }

  #setPayment(id: string, payment: Payment): void {
    this.payments = { ...this.payments, [id]: payment }
  }

  async #payWithWallet(bill: Bill): Promise<void> {
    const wallet = this.wallet
    if (!wallet || !bill.chainBillId || owed(bill) === null) return
    const { provider } = wallet.wallet
    try {
      this.#setPayment(bill.id, { step: 'Reading the chain the ledger is on…' })
      const chain = await chainInfo()
      this.#setPayment(bill.id, { step: `Checking your wallet is on ${chain.chainName}…` })
      await ensureChain(provider, chain)
      await this.#walletPay(bill, wallet, chain)
    } catch (error) {
      this.#setPayment(bill.id, { step: '', error: errorText(error) })
    }
  }

  /** Sends one bill's payment from the wallet (on the right chain already) and waits for its receipt. */
  async #walletPay(bill: Bill, wallet: ConnectedWallet, chain: ChainInfo): Promise<string> {
    const { provider } = wallet.wallet
    this.#setPayment(bill.id, { step: 'Confirm the payment in your wallet…' })
    // What the ledger asks (the cost less export credits): it refuses any other amount.
    const request = { chainBillId: bill.chainBillId as string, total: owed(bill) as string }
    // A token bill: a permit signature and one transaction, or approve + pay (lib/wallet.ts).
    const txHash =
      chain.asset && chain.asset.assetId !== 0
        ? await sendTokenPayment(provider, chain, wallet.account, request, (step) =>
            this.#setPayment(bill.id, { step }),
          )
        : await sendPayment(provider, chain, wallet.account, request)
    this.#setPayment(bill.id, { step: 'Waiting for the transaction to be mined…', txHash })
    const receipt = await waitForReceipt(provider, txHash)
    this.#setPayment(bill.id, { step: 'Paid: the ledger recorded your payment.', txHash, receipt })
    return txHash
  }

  async #payWithDevWallet(bill: Bill): Promise<void> {
    try {
      await this.#devPay(bill)
    } catch {
      // #devPay shows the failure on the bill.
    }
  }

  async #devPay(bill: Bill): Promise<string> {
    this.#setPayment(bill.id, { step: 'Paying from the dev wallet…' })
    try {
      const { txHash, bill: updated } = await api.payBill({ params: { id: bill.id } })
      this.#upsert(updated)
      this.#setPayment(bill.id, { step: 'Paid from the dev wallet.', txHash })
      return txHash
    } catch (error) {
      const message = `The dev wallet payment failed: ${errorText(error)}`
      this.#setPayment(bill.id, { step: '', error: message })
      throw new Error(message)
    }
  }

  /** The ticked bills still due, oldest period first (the order the ledger billed them). */
  #selectedBills(): Bill[] {
    const bills = this.bills.state === 'ready' ? this.bills.value : []
    return bills
      .filter((b) => this.selected.has(b.id) && isDue(b))
      .sort((a, b) => a.periodStart - b.periodStart)
  }

  #toggle(bill: Bill, on: boolean): void {
    const next = new Set(this.selected)
    if (on) next.add(bill.id)
    else next.delete(bill.id)
    this.selected = next
  }

  /**
   * Pays the ticked bills one after another (the ledger takes one payBill per bill), from the
   * connected wallet (its chain and the balance for all of them checked first, then one prompt per
   * bill) or the dev wallet, showing each bill's outcome (lib/wallet.ts payInTurn).
   */
  async #paySelected(via: 'wallet' | 'dev'): Promise<void> {
    const bills = this.#selectedBills()
    const wallet = this.wallet
    if (bills.length === 0 || (via === 'wallet' && !wallet)) return
    const name = via === 'dev' || !wallet ? 'the dev wallet' : wallet.wallet.info.name
    this.batch = { via: name, outcomes: bills.map((item) => ({ item, state: 'waiting' })) }
    try {
      let payOne: (bill: Bill) => Promise<string>
      if (via === 'wallet' && wallet) {
        const chain = await chainInfo()
        await ensureChain(wallet.wallet.provider, chain)
        const total = bills.reduce((sum, b) => sum + BigInt(owed(b) as string), 0n)
        // Ether bills: the balance for all of them first. Token bills are checked one by one.
        if (!chain.asset || chain.asset.assetId === 0)
          await checkBalance(
            wallet.wallet.provider,
            wallet.account,
            total,
            `the ${bills.length} selected bills`,
          )
        payOne = async (bill) => {
          try {
            return await this.#walletPay(bill, wallet, chain)
          } catch (error) {
            this.#setPayment(bill.id, { step: '', error: errorText(error) })
            throw error
          }
        }
      } else payOne = (bill) => this.#devPay(bill)
      const outcomes = await payInTurn(bills, payOne, (o) => {
        this.batch = { via: name, outcomes: o }
      })
      const paid = new Set(outcomes.filter((o) => o.state === 'paid').map((o) => o.item.id))
      this.selected = new Set([...this.selected].filter((id) => !paid.has(id)))
    } catch (error) {
      this.batch = { via: name, outcomes: this.batch?.outcomes ?? [], error: errorText(error) }
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

  /**
   * " ≈ €29.37" after an ETH amount when the household set a display currency. Ether only: a token
   * bill is shown in the token's own unit (its rate to ETH would be meaningless).
   */
  #equiv(wei: string | null, asset: BillAsset | null = this.asset) {
    const d = this.display
    const ether = !asset || asset.assetId === 0
    return d && wei !== null && ether
      ? html` <span class="equiv" data-equiv title="At ${formatRateSet(d)}, the rate you entered">≈ ${formatDisplay(wei, d)}</span>`
      : ''
  }

  /** Whether this home's bills are in a token (its area's asset), not Ether. */
  #isToken(): boolean {
    return this.asset !== null && this.asset.assetId !== 0
  }

  /** Every payment, newest first, each naming the money it was paid in (GET /api/payments). */
  #paymentHistory() {
    const payments = this.#payments.value ?? []
    if (payments.length === 0) return ''
    const rows = [...payments].sort(
      (a, b) => (b.paidAt ?? Number.MAX_SAFE_INTEGER) - (a.paidAt ?? Number.MAX_SAFE_INTEGER),
    )
    return html`<section class="card" aria-labelledby="payments-h" data-payments>
      <h3 id="payments-h">Payments</h3>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Payments, table"><table>
        <thead><tr><th scope="col">Paid</th><th scope="col">Period</th><th scope="col">Amount</th><th scope="col">Paid in</th><th scope="col">By</th><th scope="col">Transaction</th></tr></thead>
        <tbody>${rows.map((r) => {
          const asset = r.asset ?? this.asset
          return html`<tr data-payment=${r.billId}>
            <td>${r.paidAt === null ? 'being read…' : formatTime(r.paidAt)}</td>
            <td>${formatPeriod(r.periodStart, r.periodEnd)}</td>
            <td data-payment-amount>${formatAmount(r.amount, asset)}${this.#equiv(r.amount, asset)}</td>
            <td data-payment-asset title=${asset?.token ?? 'Ether'}>${asset?.symbol ?? 'ETH'}${asset?.token ? html` <span class="mono small">${shorten(asset.token)}</span>` : ''}</td>
            <td class="mono" title=${r.payer}>${shorten(r.payer)}</td>
            <td class="mono" title=${r.txHash}>${shorten(r.txHash)}</td>
          </tr>`
        })}</tbody>
      </table></div>
    </section>`
  }

  /** Why a verified bill has no Pay button: zero, or too small to be worth its gas. */
  #nothingToPay(bill: Bill) {
    const wei = BigInt(owed(bill) ?? '0')
    const asset = this.#assetOf(bill)
    const ether = !asset || asset.assetId === 0
    return html`<p class="ok" data-nothing-to-pay>
      <strong>Nothing to pay.</strong>
      ${
        wei === 0n
          ? `This bill is ${formatAmount(0n, asset)}.`
          : `This bill is ${ether ? `${wei.toLocaleString('en-US')} wei` : formatAmount(wei, asset, asset.decimals)}, less than ${formatAmount(nothingToPayBelow(asset ?? undefined), asset)}: paying it would cost far more in gas than it settles.`
      }
      It stays on the ledger as it is.
    </p>`
  }

  /** A paid bill's receipt, from the ledger's BillPaid event (GET /api/payments). */
  #receipt(bill: Bill) {
    const r = this.#payments.value?.find((p) => p.billId === bill.id)
    if (bill.status !== 'paid' || !r) return ''
    const period = formatPeriod(bill.periodStart, bill.periodEnd)
    return html`<details data-receipt-view>
      <summary>Receipt</summary>
      <dl aria-label="Receipt for ${period}">
        <dt>Paid by</dt><dd class="mono wrap" data-receipt-payer>${r.payer}</dd>
        <dt>Transaction</dt><dd class="mono wrap" data-receipt-tx>${r.txHash}</dd>
        <dt>Block</dt><dd>${r.blockNumber ?? 'being read from the chain…'}</dd>
        <dt>Block time</dt><dd data-receipt-time>${r.paidAt === null ? 'being read from the chain…' : formatTime(r.paidAt)}</dd>
        ${
          // The embedded development chain's blocks start in 2020 while the virtual meter runs ahead.
          r.paidAt !== null && r.paidAt < bill.periodEnd
            ? html`<dd class="small muted" data-chain-clock>the chain's own clock, behind this meter's (a development chain)</dd>`
            : ''
        }
        <dt>Amount</dt><dd data-receipt-amount>${formatAmount(r.amount, r.asset ?? this.asset)}${this.#equiv(r.amount, r.asset ?? this.asset)}</dd>
        <dt>Period</dt><dd>${period}</dd>
        <dt>Energy</dt><dd>${formatEnergy(r.energyWh)}</dd>
        <dt>Tariff</dt><dd>${r.tariffId ?? '—'}</dd>
        <dt>Commitment</dt><dd class="mono wrap">${r.commitment}</dd>
        <dt>Readings CID digest</dt><dd class="mono wrap">${r.cidDigest}</dd>
        <dt>Proof tx</dt><dd class="mono wrap">${r.submitTx ?? '—'}</dd>
      </dl>
      <p class="small muted">Every figure of this receipt is public on the chain.${this.display ? ` The ${this.display.currency} amount uses today's rate you entered, not the rate on the day of payment.` : ''}</p>
    </details>`
  }

  #bill(bill: Bill) {
    const payable = isDue(bill) && bill.chainBillId !== null
    const nothing = isNothingToPay(bill)
    const p = this.payments[bill.id]
    const busy =
      (p !== undefined && p.step !== '' && !p.receipt && !p.error && !p.step.startsWith('Paid')) ||
      this.#batchRunning()
    const devWallet = this.status?.chain.devWallet === true
    const period = formatPeriod(bill.periodStart, bill.periodEnd)
    const net = bill.kind === 'net'
    const toPay = owed(bill)
    return html`<article class="card bill" aria-labelledby="bill-${bill.id}" data-bill=${bill.id}>
      <header>
        <h3 id="bill-${bill.id}">${period}</h3>
        ${
          payable
            ? html`<label class="inline select-bill"><input type="checkbox" data-select .checked=${this.selected.has(bill.id)}
                ?disabled=${this.#batchRunning() || this.#session.readOnly}
                @change=${(e: Event) => this.#toggle(bill, (e.target as HTMLInputElement).checked)} />
                Select<span class="visually-hidden"> the bill for ${period}</span></label>`
            : ''
        }
        <span class="badge ${bill.status}" data-status=${nothing ? 'nothing-to-pay' : bill.status}>${nothing ? 'nothing to pay' : (STATUS_TEXT[bill.status] ?? bill.status)}</span>
      </header>
      ${this.#headline(bill)}
      ${this.#credits(bill)}
      ${bill.creditForgone ? html`<p class="small" role="note" data-credit-forgone>${bill.creditForgone}</p>` : ''}
      <dl>
        <dt>Period ${PUBLIC}</dt><dd>${formatPeriod(bill.periodStart, bill.periodEnd)}</dd>
        ${net ? html`<dt>Imported ${PUBLIC}</dt>` : html`<dt>Energy ${PUBLIC}</dt>`}<dd>${formatEnergy(bill.energyWh)}</dd>
        ${net ? html`<dt>Returned to the grid ${PUBLIC}</dt><dd data-bill-exported>${formatEnergy(bill.exportedWh ?? 0)}</dd>` : ''}
        <dt>Commitment ${PUBLIC}</dt><dd class="mono" title=${bill.commitment ?? ''}>${bill.commitment ? shorten(bill.commitment, 14, 8) : '—'}</dd>
        <dt>Readings CID ${PRIVATE}</dt><dd class="mono" title=${bill.manifestCid ?? ''}>${bill.manifestCid ? shorten(bill.manifestCid, 14, 8) : '—'}</dd>
        ${bill.submitTx ? html`<dt>Proof tx ${PUBLIC}</dt><dd class="mono" title=${bill.submitTx}>${shorten(bill.submitTx)}</dd>` : ''}
        ${bill.paidTx ? html`<dt>Payment tx ${PUBLIC}</dt><dd class="mono" title=${bill.paidTx}>${shorten(bill.paidTx)}</dd>` : ''}
        ${bill.paidBy ? html`<dt>Paid by ${PUBLIC}</dt><dd class="mono" title=${bill.paidBy} data-paid-by>${shorten(bill.paidBy)}</dd>` : ''}
      </dl>
      <p class="small muted" data-public-private><strong>Public on the chain</strong>, readable by anyone: the period, energy and total${net ? ', the energy you returned to the grid and its credit' : ''},
        the tariff, the proof and two hashes (the commitment and the readings CID's digest, which reveal nothing)${bill.paidTx ? ', and the payment' : ''}.
        <strong>Private, on your node only</strong>: your 15-minute readings (when you used energy), the readings CID and the salt behind the commitment.</p>
      ${this.#why(bill)}
      ${
        payable
          ? html`<div class="row">
              <button @click=${() => this.#payWithWallet(bill)} ?disabled=${!this.wallet || busy || this.#session.readOnly}
                aria-label="Pay ${formatAmount(toPay!, this.#assetOf(bill))} with ${this.wallet ? this.wallet.wallet.info.name : 'a browser wallet'}">
                Pay ${formatAmount(toPay!, this.#assetOf(bill))}
              </button>
              ${
                devWallet
                  ? html`<button class="secondary" @click=${() => this.#payWithDevWallet(bill)} ?disabled=${busy || this.#session.readOnly}
                      aria-label="Pay with dev wallet: ${formatAmount(toPay!, this.#assetOf(bill))} from the built-in dev wallet">Pay with dev wallet</button>`
                  : ''
              }
            </div>
            ${this.wallet ? '' : html`<p class="small muted">Connect a wallet above to pay${devWallet ? ', or use the dev wallet of this development chain' : ''}.</p>`}`
          : ''
      }
      ${nothing ? this.#nothingToPay(bill) : ''}
      ${this.#payment(bill)}
      ${this.#receipt(bill)}
    </article>`
  }

  /**
   * The bill's big figure: what the ledger asks to be paid once export credits lowered it (with the
   * cost beside it), else the cost as proved.
   */
  #headline(bill: Bill) {
    const asset = this.#assetOf(bill)
    if (bill.total === null) return html`<div class="total"><span>total pending proof</span></div>`
    const due = bill.amountDue ?? null
    if (due === null || due === bill.total)
      return html`<div class="total"><span>${formatAmount(bill.total, asset)}</span>${this.#equiv(bill.total, asset)} ${PUBLIC}</div>`
    return html`<div class="total" data-headline-due><span>${formatAmount(due, asset)}</span>${this.#equiv(due, asset)} ${PUBLIC}
      <span class="equiv">to pay, of ${formatAmount(bill.total, asset)}</span></div>`
  }

  /**
   * How export credit changed what a bill asks: this period's credit (a net bill), credit carried from
   * earlier periods, what is left to pay, and a surplus carried on. Nothing for a bill without credit.
   */
  #credits(bill: Bill) {
    const asset = this.#assetOf(bill)
    const credit = bill.credit ? BigInt(bill.credit) : 0n
    const used = bill.creditUsed ? BigInt(bill.creditUsed) : 0n
    if (bill.total === null || (credit === 0n && used === 0n)) return ''
    const cost = BigInt(bill.total)
    const surplus = credit - cost
    const due = bill.amountDue ?? null
    return html`<dl class="small" aria-label="Cost and export credit" data-bill-credit>
        <dt>Import cost ${PUBLIC}</dt><dd>${formatAmount(cost, asset)}</dd>
        ${credit > 0n ? html`<dt>Export credit ${PUBLIC}</dt><dd data-credit>− ${formatAmount(credit < cost ? credit : cost, asset)}${surplus > 0n ? ` (of ${formatAmount(credit, asset)})` : ''}</dd>` : ''}
        ${used > 0n ? html`<dt>Credit from earlier periods ${PUBLIC}</dt><dd data-credit-used>− ${formatAmount(used, asset)}</dd>` : ''}
        ${due !== null ? html`<dt>To pay</dt><dd data-amount-due><strong>${formatAmount(due, asset)}</strong></dd>` : ''}
      </dl>
      ${
        surplus > 0n
          ? html`<p class="ok small" data-credit-surplus>Your solar export earned more than this period cost:
              ${formatAmount(surplus, asset)} carries to your next bill, which uses it first.</p>`
          : ''
      }
      ${
        bill.status === 'paid' && due === '0'
          ? html`<p class="ok small" data-covered-by-credit>Covered by export credit: nothing to pay.</p>`
          : ''
      }`
  }

  #batchRunning(): boolean {
    return (
      this.batch?.outcomes.some((o) => o.state === 'waiting' || o.state === 'paying') === true &&
      !this.batch.error
    )
  }

  /** Total due, the display currency's equivalent and the payments CSV. */
  #due(answer: BillsAnswer) {
    const { due, display } = answer
    const csv = ROUTES.paymentsCsv
    return html`<section class="card" aria-labelledby="due-h" data-due>
      <h3 id="due-h">Total due</h3>
      <p class="total"><span data-total-due>${formatAmount(due.total, this.asset)}</span>${this.#equiv(due.total)}</p>
      ${
        answer.credit !== null && BigInt(answer.credit) > 0n
          ? html`<p class="ok" data-carried-credit>Export credit carried: <strong>${formatAmount(answer.credit, this.asset)}</strong>${this.#equiv(answer.credit)}.
              The ledger takes it off your next bill first.</p>`
          : ''
      }
      <p class="small" data-due-count>
        ${due.count === 0 ? 'Nothing to pay: no bill on the ledger is waiting for payment.' : `${due.count} unpaid bill${due.count === 1 ? '' : 's'} on the ledger.`}
        ${due.nothingToPay > 0 ? `${due.nothingToPay} bill${due.nothingToPay === 1 ? ' has' : 's have'} nothing to pay (${formatAmount(0n, this.asset)} or less than ${formatAmount(nothingToPayBelow(this.asset ?? undefined), this.asset)}).` : ''}
      </p>
      ${
        this.#isToken()
          ? html`<p class="small muted" data-due-unit>Amounts are in ${this.asset?.symbol}, the token your tariff is priced in (${this.asset?.decimals} decimals, contract <span class="mono">${shorten(this.asset?.token)}</span>).</p>`
          : display
            ? html`<p class="small muted" data-due-rate>${display.currency} amounts at ${formatRateSet(display)}: the rate you entered, not a market price.</p>`
            : html`<p class="small muted">Amounts are in ETH, the currency of the tariff. To see them in your own currency too, enter a rate under Display currency below.</p>`
      }
      <p><a href=${csv.path} download=${csv.text.filename} data-download-payments>Download payments (CSV)</a></p>
    </section>`
  }

  #filters(bills: Bill[], shown: number) {
    const f = this.filter
    const thisYear = new Date().getUTCFullYear()
    const set = (change: Partial<BillFilter>) => {
      this.filter = { ...this.filter, ...change }
    }
    return html`<section class="card" aria-labelledby="filter-h">
      <h3 id="filter-h">Show</h3>
      <div class="row">
        <label>Bills
          <select data-filter-status @change=${(e: Event) => set({ status: (e.target as HTMLSelectElement).value as BillFilter['status'] })}>
            <option value="all" ?selected=${f.status === 'all'}>All</option>
            <option value="unpaid" ?selected=${f.status === 'unpaid'}>Unpaid</option>
            <option value="paid" ?selected=${f.status === 'paid'}>Paid</option>
            <option value="open" ?selected=${f.status === 'open'}>Not on the ledger yet</option>
          </select></label>
        <label>Period
          <select data-filter-period @change=${(e: Event) => set({ period: (e.target as HTMLSelectElement).value })}>
            <option value="all" ?selected=${f.period === 'all'}>All periods</option>
            ${yearsOf(bills).map(
              (y) =>
                html`<option value=${String(y)} ?selected=${f.period === String(y)}>${y}${y === thisYear ? ' (this year)' : ''}</option>`,
            )}
            <option value="range" ?selected=${f.period === 'range'}>Dates from … to …</option>
          </select></label>
        ${
          f.period === 'range'
            ? html`<label>From <input type="date" data-filter-from .value=${f.from}
                  @change=${(e: Event) => set({ from: (e.target as HTMLInputElement).value })} /></label>
                <label>To <input type="date" data-filter-to .value=${f.to}
                  @change=${(e: Event) => set({ to: (e.target as HTMLInputElement).value })} /></label>`
            : ''
        }
      </div>
      <p class="small muted" role="status" data-shown>Showing ${shown} of ${bills.length} bill${bills.length === 1 ? '' : 's'}.</p>
    </section>`
  }

  /** Select the unpaid bills shown, pay them all, and each one's outcome. */
  #paySeveral(shownDue: Bill[]) {
    const selected = this.#selectedBills()
    const batch = this.batch
    if (shownDue.length === 0 && !batch) return ''
    const total = selected.reduce((sum, b) => sum + BigInt(owed(b) as string), 0n)
    const running = this.#batchRunning()
    const readOnly = this.#session.readOnly
    const devWallet = this.status?.chain.devWallet === true
    const amount = `${formatAmount(total, this.asset)}${this.display && !this.#isToken() ? `, ≈ ${formatDisplay(total, this.display)}` : ''}`
    const n = selected.length
    const label = `Pay ${n} selected (${amount})`
    const done = batch?.outcomes.filter((o) => o.state === 'paid').length ?? 0
    const current = batch?.outcomes.findIndex((o) => o.state === 'paying') ?? -1
    return html`<section class="card" aria-labelledby="several-h" data-pay-several>
      <h3 id="several-h">Pay several</h3>
      <div class="row">
        <button class="secondary" ?disabled=${running || readOnly || shownDue.length === 0}
          @click=${() => {
            this.selected = new Set([...this.selected, ...shownDue.map((b) => b.id)])
          }}>Select all ${shownDue.length} unpaid shown</button>
        <button class="secondary" ?disabled=${running || n === 0} @click=${() => {
          this.selected = new Set()
        }}>Clear selection</button>
      </div>
      <div class="row">
        <button data-pay-selected ?disabled=${!this.wallet || running || readOnly || n === 0}
          aria-label="${label} from ${this.wallet ? this.wallet.wallet.info.name : 'a browser wallet'}"
          @click=${() => this.#paySelected('wallet')}>${label}</button>
        ${
          devWallet
            ? html`<button class="secondary" data-pay-selected-dev ?disabled=${running || readOnly || n === 0}
                aria-label="Pay ${n} selected with dev wallet: ${amount} in all"
                @click=${() => this.#paySelected('dev')}>Pay ${n} selected with dev wallet</button>`
            : ''
        }
      </div>
      <p class="small muted">The ledger takes one payment per bill, so they are paid one after another, oldest first${this.wallet ? ', and your wallet asks you to confirm each' : ''}. A bill that fails does not stop the others; declining in the wallet or too little ${this.asset?.symbol ?? 'ETH'} stops the rest.</p>
      ${
        batch
          ? html`<div data-batch>
              <p role="status">${
                running
                  ? `Paying ${current + 1} of ${batch.outcomes.length} with ${batch.via}…`
                  : `Done: ${done} of ${batch.outcomes.length} paid with ${batch.via}.`
              }</p>
              ${batch.error ? html`<p class="error" role="alert">${batch.error}</p>` : ''}
              <ol class="outcomes small" aria-label="Payment of the selected bills">
                ${batch.outcomes.map(
                  (o) => html`<li data-outcome=${o.state}>
                    ${formatPeriod(o.item.periodStart, o.item.periodEnd)}, ${formatAmount(o.item.total, this.#assetOf(o.item))}: <strong>${OUTCOME_TEXT[o.state]}</strong>
                    ${o.txHash ? html` · <span class="mono" title=${o.txHash}>${shorten(o.txHash)}</span>` : ''}
                    ${o.message ? html` · ${o.message}` : ''}
                  </li>`,
                )}
              </ol>
            </div>`
          : ''
      }
    </section>`
  }

  override render() {
    const answer = this.#bills.value
    return html`<h1>Bills</h1>
      ${answer && answer.bills.length > 0 ? this.#due(answer) : ''}
      <section class="card" aria-labelledby="wallet-h">
        <h3 id="wallet-h">Wallet</h3>
        <zkm-wallet-panel @wallet-change=${(e: CustomEvent<ConnectedWallet | undefined>) => {
          this.wallet = e.detail
        }}></zkm-wallet-panel>
        ${this.status?.chain.devWallet ? html`<p class="small muted">This node runs the embedded development chain: the dev wallet pays without any browser wallet.</p>` : ''}
      </section>
      ${renderLoad(
        this.#bills.state,
        (answer) => {
          const { bills } = answer
          if (bills.length === 0)
            return html`<p class="card muted">No bills yet. The first one appears when the meter closes its billing period.</p>`
          const shown = filterBills(bills, this.filter)
          return html`${this.#filters(bills, shown.length)}
            ${this.#paySeveral(shown.filter(isDue))}
            ${shown.length === 0 ? html`<p class="card muted" data-none-shown>No bill matches these filters.</p>` : ''}
            ${[...shown].reverse().map((b) => this.#bill(b))}`
        },
        () => void this.reload(),
        'bills',
      )}
      ${this.#paymentHistory()}
      <section class="card" aria-labelledby="currency-h">
        <h3 id="currency-h">Display currency</h3>
        ${
          this.#isToken()
            ? html`<p class="small" data-display-token>Your bills are in ${this.asset?.symbol}, the token your tariff is priced in, and are shown in it. A display currency converts Ether bills only.</p>`
            : html`<zkm-display-currency .display=${this.display}
          @display-change=${(e: CustomEvent<DisplayCurrency | null>) => {
            this.#bills.update((answer) => ({ ...answer, display: e.detail }))
          }}></zkm-display-currency>`
        }
      </section>`
  }
}
customElements.define('zkm-bills-view', BillsView)
