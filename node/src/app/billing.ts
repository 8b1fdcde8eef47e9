/**
 * Billing wired to this home: verified periods go to the biller (proved in the prover process,
 * submitted to the ledger), and the ledger's BillPaid marks bills paid whoever paid them.
 */

import type { LedgerClient } from '../../../contracts/ts/ledger.ts'
import { type Biller, createBiller } from '../billing/biller.ts'
import { type DisplayCurrencyStore, openDisplayCurrencyStore } from '../billing/display-currency.ts'
import { isTransientChainError, ledgerBillingChain } from '../billing/ledger-chain.ts'
import { ledgerPolicyWarning } from '../billing/ledger-policy.ts'
import { createPaymentWatch, paymentLedger } from '../billing/payment-watch.ts'
import { periodInputs } from '../billing/period-inputs.ts'
import type { ProcessProver } from '../billing/prover/prover-process.ts'
import { type BillStore, openBillStore } from '../billing/store.ts'
import type { Ingestor, PeriodResult } from '../ingest/ingestor.ts'
import type { Logger } from '../log/logger.ts'
import type { Vault } from '../vault/index.ts'
import type { Lifecycle } from './lifecycle.ts'

export interface Billing {
  bills: BillStore
  biller: Biller
  /** Hands a verified period to the biller (idempotent: a period already billed is ignored). */
  billPeriod(period: PeriodResult): void
}

export async function startBilling(options: {
  dataDir: string
  ledger: LedgerClient
  prover: ProcessProver
  ingestor: Ingestor
  vault: Vault
  circuit: { intervalSeconds: number }
  pairingKey: Uint8Array
  /** The resident's minimum billing period in days (config billing.minPeriodDays; 0 = none). */
  minPeriodDays?: number
  /** The asset this home's bills are in (its area's; 0 Ether): the tariffs of that asset price them. */
  assetId?: number
  lifecycle: Lifecycle
  log: Logger
}): Promise<Billing> {
  const { prover, log } = options
  const bills = await openBillStore(options.dataDir)
  await warnAboutLedgerPolicy(options)
  const biller = createBiller({
    store: bills,
    chain: ledgerBillingChain(options.ledger, options.assetId ?? 0),
    prover,
    inputs: periodInputs({
      ingestor: options.ingestor,
      vault: options.vault,
      intervalSeconds: options.circuit.intervalSeconds,
      n: prover.n,
      pairingKey: options.pairingKey,
    }),
    isTransient: isTransientChainError,
    slots: 86_400 / options.circuit.intervalSeconds,
    // A refused tariff is an anomaly the resident can see (GET /api/anomalies), besides the waiting bill.
    onTariffRefused: ({ bill, tariffId, reason }) =>
      options.ingestor.reportAnomaly({
        kind: 'tariff-refused',
        rejected: false,
        reason,
        details: { bill, tariffId },
      }),
    log,
  })
  options.lifecycle.started('biller', async () => {
    // Stop taking steps, kill a proof in flight, and let the interrupted step record itself.
    biller.stop()
    await prover.close()
    await biller.idle()
  })
  const billPeriod = (period: PeriodResult) => {
    if (!period.manifestCid || !period.cidDigest) {
      log.error('period verified but not sealed in the vault: cannot bill it yet', {
        periodStart: period.period.periodStart,
      })
      return
    }
    void biller
      .addPeriod({
        meter: period.meter,
        periodStart: period.period.periodStart,
        periodEnd: period.period.periodEnd,
        startCounter: period.period.startCounter,
        endCounter: period.period.endCounter,
        commitment: period.period.commitment,
        meterSignature: period.signature,
        manifestCid: period.manifestCid,
        cidDigest: period.cidDigest,
      })
      .catch((error) => log.error('could not record a bill', { error }))
  }
  return { bills, biller, billPeriod }
}

/** Says once, at start, when the ledger accepts shorter bills than the resident's policy. */
async function warnAboutLedgerPolicy(options: {
  ledger: LedgerClient
  ingestor: Ingestor
  minPeriodDays?: number
  log: Logger
}): Promise<void> {
  if (!options.minPeriodDays) return
  try {
    const { minBillingPeriod } = await options.ledger.policy()
    const warning = ledgerPolicyWarning(minBillingPeriod, options.minPeriodDays)
    if (warning === undefined) return
    options.log.warn('the ledger accepts shorter bills than your policy', {
      ledgerMinBillingPeriod: Number(minBillingPeriod),
      minPeriodDays: options.minPeriodDays,
    })
    options.ingestor.reportAnomaly({
      kind: 'ledger-policy',
      rejected: false,
      reason: warning,
      details: { ledgerMinBillingPeriod: Number(minBillingPeriod), minPeriodDays: options.minPeriodDays },
    })
  } catch (error) {
    // A ledger without the policy readers (an older deployment) enforces no minimum at all.
    options.log.warn('could not read the ledger’s minimum billing period', { error })
  }
}

/**
 * Paid bills: the ledger's BillPaid is the truth, whoever paid (browser wallet or dev wallet); its
 * transaction and payer are what the bill records (billing/payment-watch.ts).
 */
export function watchPayments(options: {
  bills: BillStore
  biller: Biller
  ledger: LedgerClient
  lifecycle: Lifecycle
  log: Logger
}): void {
  const watch = createPaymentWatch({ ...options, ledger: paymentLedger(options.ledger) })
  const paidWatch = setInterval(() => {
    watch.check().catch((error) => options.log.warn('payment watch failed', { error }))
  }, 1000)
  options.lifecycle.started('payment watch', () => clearInterval(paidWatch))
}

/**
 * Prices of the tariff in force, for "cost today" and chart costs, refreshed from the ledger every
 * 30 s. A new tariff may be the one a bill is retrying for: the biller is woken to try it at once.
 */
export async function trackTariffPrices(options: {
  ledger: LedgerClient
  biller: Biller
  intervalSeconds: number
  /** The home's asset: the prices are those of its latest tariff (smallest units per Wh). */
  assetId?: number
  lifecycle: Lifecycle
}): Promise<(time: number) => bigint> {
  const { ledger, intervalSeconds } = options
  let prices: bigint[] = []
  let tariffCount: bigint | undefined
  const refreshPrices = async () => {
    const count = await ledger.tariffCount()
    const latest = await ledger.latestTariff(options.assetId ?? 0)
    if (latest !== undefined) prices = (await ledger.tariff(latest)).prices
    if (tariffCount !== undefined && count !== tariffCount) options.biller.wake()
    tariffCount = count
  }
  await refreshPrices()
  const priceTimer = setInterval(() => void refreshPrices().catch(() => {}), 30_000)
  options.lifecycle.started('tariff prices', () => clearInterval(priceTimer))
  return (time: number) =>
    prices.length === 0 ? 0n : (prices[Math.floor((time % 86_400) / intervalSeconds) % prices.length] ?? 0n)
}

/** The resident's display currency (billing/display-currency.ts); an unreadable file is logged, not fatal. */
export async function openDisplayCurrency(dataDir: string, log: Logger): Promise<DisplayCurrencyStore> {
  const store = await openDisplayCurrencyStore(dataDir)
  if (store.problem) log.error(store.problem.message, { error: store.problem })
  return store
}
