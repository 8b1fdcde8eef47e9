/**
 * Billing wired to this home: verified periods go to the biller (proved in the prover process,
 * submitted to the ledger), and the ledger's BillPaid marks bills paid whoever paid them.
 */

import type { LedgerClient } from '../../../contracts/ts/ledger.ts'
import { type Biller, createBiller, type PendingPeriod } from '../billing/biller.ts'
import { type DisplayCurrencyStore, openDisplayCurrencyStore } from '../billing/display-currency.ts'
import { isTransientChainError, ledgerBillingChain } from '../billing/ledger-chain.ts'
import { ledgerPolicyWarning } from '../billing/ledger-policy.ts'
import { createPaymentWatch, paymentLedger } from '../billing/payment-watch.ts'
import { periodInputs } from '../billing/period-inputs.ts'
import type { ProcessProver } from '../billing/prover/prover-process.ts'
import { type BillRecord, type BillStore, billId, openBillStore } from '../billing/store.ts'
import type { Ingestor, PeriodResult, StorageStatus } from '../ingest/ingestor.ts'
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
  /**
   * Whether the node makes net bills on this ledger (setup/ledger-setup.ts netBillsUsable); false:
   * import bills only, whatever the period exported. Default true (the ledger chain still checks).
   */
  netBills?: boolean
  lifecycle: Lifecycle
  log: Logger
}): Promise<Billing> {
  const { prover, log } = options
  const bills = await openBillStore(options.dataDir)
  await warnAboutLedgerPolicy(options)
  // Assembled periods whose bill could not be recorded yet (the bill store's write failed, e.g. on a
  // full disk): retried with backoff and when the disk is back, and waited for by later bills.
  const unrecorded = new Map<string, PeriodResult>()
  const biller = createBiller({
    store: bills,
    chain: ledgerBillingChain(options.ledger, options.assetId ?? 0),
    // Without net bills the biller sees a prover of import bills only (it bills net only with proveNet).
    prover: options.netBills === false ? { prove: (inputs) => prover.prove(inputs) } : prover,
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
    // A refused feed-in curve too: the bill goes on as an import bill, and the resident is told why.
    onFeedInRefused: ({ bill, tariffId, reason }) =>
      options.ingestor.reportAnomaly({
        kind: 'feed-in-refused',
        rejected: false,
        reason,
        details: { bill, tariffId },
      }),
    earlierPending: (bill) => earlierPending(bill, options.ingestor, bills, unrecorded),
    log,
  })
  options.lifecycle.started('biller', async () => {
    // Stop taking steps, kill a proof in flight, and let the interrupted step record itself.
    biller.stop()
    await prover.close()
    await biller.idle()
  })
  let retryTimer: NodeJS.Timeout | undefined
  let retryDelay = RECORD_RETRY_MS
  let stopped = false
  const record = async (period: PeriodResult, manifestCid: string, cidDigest: `0x${string}`) => {
    const id = billId(period.meter, period.period.periodStart)
    try {
      await biller.addPeriod({
        meter: period.meter,
        periodStart: period.period.periodStart,
        periodEnd: period.period.periodEnd,
        startCounter: period.period.startCounter,
        endCounter: period.period.endCounter,
        commitment: period.period.commitment,
        meterSignature: period.signature,
        manifestCid,
        cidDigest,
        // The close's export half (journaled with it): a net bill when the tariff has a feed-in curve.
        ...(period.exportClose ? { exportHalf: period.exportClose } : {}),
      })
      if (unrecorded.delete(id)) log.info('bill recorded after a failed attempt', { bill: id })
      // A later bill may be waiting for this one to exist: it now waits for (or goes after) the bill.
      biller.recheckWaiting()
    } catch (error) {
      if (!unrecorded.has(id)) log.error('could not record a bill: retrying', { bill: id, error })
      unrecorded.set(id, period)
      scheduleRetry()
    }
  }
  /** Records the bills that failed to record, once the backoff is over (1 s doubling to 30 s). */
  const scheduleRetry = (now = false) => {
    if (stopped || unrecorded.size === 0) return
    if (retryTimer !== undefined) {
      if (!now) return
      clearTimeout(retryTimer)
    }
    const delay = now ? 0 : retryDelay
    retryDelay = Math.min(retryDelay * 2, RECORD_RETRY_MAX_MS)
    retryTimer = setTimeout(async () => {
      retryTimer = undefined
      const before = unrecorded.size
      for (const period of [...unrecorded.values()]) await billPeriod(period)
      if (unrecorded.size < before) retryDelay = RECORD_RETRY_MS
    }, delay)
    retryTimer.unref?.()
  }
  const billPeriod = async (period: PeriodResult): Promise<void> => {
    if (!period.manifestCid || !period.cidDigest) {
      // The ingestor emits a period only once sealed; this would be a bug, not a full disk.
      log.error('period verified but not sealed in the vault: cannot bill it yet', {
        periodStart: period.period.periodStart,
      })
      return
    }
    await record(period, period.manifestCid, period.cidDigest)
  }
  // The disk is back: record what failed to record, and wake the bills backing off after a write
  // failure, now rather than at the end of their backoff.
  const onStorage = (status: StorageStatus) => {
    if (status.state !== 'ok') return
    retryDelay = RECORD_RETRY_MS
    scheduleRetry(true)
    biller.wake()
  }
  options.ingestor.on('storage', onStorage)
  // A period the bills may wait for changed: sealed (a 'period'), or rejected for good (an anomaly).
  const onPeriodChange = () => biller.recheckWaiting()
  const onAnomaly = (anomaly: { rejected: boolean }) => {
    if (anomaly.rejected) biller.recheckWaiting()
  }
  options.ingestor.on('period', onPeriodChange)
  options.ingestor.on('anomaly', onAnomaly)
  // And in case a change raised no event (a period dropped from the ingestor's window, say).
  const recheck = setInterval(() => biller.recheckWaiting(), RECHECK_WAITING_MS)
  recheck.unref?.()
  options.lifecycle.started('bill recording', () => {
    stopped = true
    clearTimeout(retryTimer)
    clearInterval(recheck)
    options.ingestor.off('storage', onStorage)
    options.ingestor.off('period', onPeriodChange)
    options.ingestor.off('anomaly', onAnomaly)
  })
  return { bills, biller, billPeriod: (period) => void billPeriod(period) }
}

const RECORD_RETRY_MS = 1000
const RECORD_RETRY_MAX_MS = 30_000
const RECHECK_WAITING_MS = 60_000

/**
 * The earliest period of `bill`'s meter, before it, that this node holds but has not made a bill of
 * (BillerOptions.earlierPending): its close is in but it is not assembled yet (records awaited, or
 * its vault seal failed and is retried), or it is assembled and its bill not recorded yet; or its
 * close has not arrived at all. A meter's closes chain (each period starts where the one before
 * ended), so when no period or bill the node knows ends where this bill starts, the close of the
 * period after the latest one it knows is still on its way (after a crash the meter resends its
 * backlog, later closes sometimes first, and the node asks for a missing one). Without this the
 * bill met the ledger's PeriodGap while that close was on its way and failed for good, every later
 * bill behind it (bench:chaos seed 515, twice).
 */
export function earlierPending(
  bill: BillRecord,
  ingestor: Ingestor,
  bills: BillStore,
  unrecorded: ReadonlyMap<string, PeriodResult>,
): PendingPeriod | undefined {
  const meter = bill.meter.toLowerCase()
  const found: PendingPeriod[] = []
  for (const status of ingestor.status()) {
    if (status.meter.toLowerCase() !== meter) continue
    for (const p of status.periods) {
      if (p.periodStart >= bill.periodStart) continue
      if (p.status === 'pending') {
        found.push({
          periodStart: p.periodStart,
          why: 'its records are being sealed in the vault (retried until the disk takes them)',
        })
      } else if (p.status === 'incomplete') {
        found.push({ periodStart: p.periodStart, why: 'the node still waits for interval records of it' })
      } else if (p.status === 'assembled' && bills.get(billId(bill.meter, p.periodStart)) === undefined) {
        found.push({ periodStart: p.periodStart, why: 'its bill is being recorded' })
      }
    }
  }
  for (const period of unrecorded.values()) {
    if (period.meter.toLowerCase() === meter && period.period.periodStart < bill.periodStart) {
      found.push({
        periodStart: period.period.periodStart,
        why: 'its bill could not be recorded yet (retried until the disk takes it)',
      })
    }
  }
  // The latest end of a period of this meter the node knows (its own periods, its bills) before the
  // bill's start: if it is not the bill's start, the close of the period from there is missing.
  let latestEnd: number | undefined
  const known = (end: number) => {
    if (end <= bill.periodStart && (latestEnd === undefined || end > latestEnd)) latestEnd = end
  }
  for (const status of ingestor.status()) {
    if (status.meter.toLowerCase() !== meter) continue
    for (const p of status.periods) known(p.periodEnd)
  }
  for (const b of bills.list()) if (b.meter.toLowerCase() === meter) known(b.periodEnd)
  for (const p of unrecorded.values()) if (p.meter.toLowerCase() === meter) known(p.period.periodEnd)
  if (latestEnd !== undefined && latestEnd < bill.periodStart) {
    found.push({
      periodStart: latestEnd,
      why: 'its signed close has not arrived yet (the node asks the meter to send it again)',
    })
  }
  return found.sort((a, b) => a.periodStart - b.periodStart)[0]
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
