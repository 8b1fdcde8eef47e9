/**
 * Turns a closed, verified metering period into a paid bill:
 *   waiting-tariff → proving → [waiting-previous] → submitting → verified → paid   (or failed)
 * Every transition is persisted before the next step starts, so a restart resumes exactly where
 * the node stopped: a proof is never recomputed once stored, and a bill the chain already holds is
 * recognised instead of being submitted twice.
 *
 * The ledger bills a meter's periods strictly in order, so a proved bill waits (waiting-previous)
 * while an earlier bill of its meter is not on-chain, and continues by itself once that one is.
 * A failure is classified (failures.ts): temporary ones (no tariff yet, meter not registered yet,
 * chain unreachable) are retried automatically with capped exponential backoff; the others, and
 * temporary ones past the cap, mark the bill `failed` with the reason, and the resident's retry()
 * re-runs the failed step (re-proving from the vault when the proof cannot be reused).
 */
import { EventEmitter } from 'node:events'
import { ZkMeterError } from '#protocol/errors.ts'
import { type Logger, silentLogger } from '../log/logger.ts'
import { isDiskFull } from '../storage/disk.ts'
import {
  BillNotFailedError,
  classifyFailure,
  creditForgoneNote,
  type FailedStep,
  FeedInRefusedError,
  isPeriodGap,
  retryStart,
  TariffMissingError,
  waitingForPeriod,
} from './failures.ts'
import type { BillRecord, BillStatus, BillStore } from './store.ts'
import { billId, UnknownBillError } from './store.ts'
import { refusedFeedIn, refusedTariff } from './tariff-check.ts'

export { BillNotFailedError, FeedInRefusedError, TariffMissingError, TariffRefusedError } from './failures.ts'

export interface TariffInfo {
  tariffId: bigint
  hash: bigint
  prices: bigint[]
  /** Unix seconds of the block that published it; a tariff published after a period began is refused. */
  publishedAt?: bigint
}

/**
 * A tariff's feed-in curve (issue 17), read from the ledger's FeedInPublished event. `findFeedIn`
 * has already checked that Poseidon(import curve, feed-in curve) is the ledger's net tariff hash,
 * throwing FeedInRefusedError when it is not.
 */
export interface FeedInInfo {
  tariffId: bigint
  netTariffHash: bigint
  feedInPrices: bigint[]
  /** Unix seconds of the block that published it; a curve published after a period began is refused. */
  publishedAt?: bigint
}

export interface SolidityProofJson {
  a: string[]
  b: string[][]
  c: string[]
}

export interface SubmitBillArgs {
  bill: BillRecord
  tariffId: bigint
  total: bigint
  proof: SolidityProofJson
}

export interface SubmitNetBillArgs {
  bill: BillRecord
  tariffId: bigint
  cost: bigint
  credit: bigint
  proof: SolidityProofJson
}

/** What the ledger holds for a bill once on it: what it asks to be paid, and the carried credit it used. */
export interface BillAmounts {
  /** billStatus(id).total: the cost less this period's credit and the carried credit. */
  amountDue: bigint
  /** The CreditApplied amount of this bill (0 when none). */
  creditUsed: bigint
  /** The ledger records a bill paid when a credit covered it (amountDue 0), or once it was paid. */
  paid: boolean
}

/** What billing needs from the chain (implemented over the ledger contract). */
export interface BillingChain {
  findTariff(periodStart: number, periodEnd: number): Promise<TariffInfo | undefined>
  /** The chain's id of this bill if the ledger already holds it, import or net bill (resume after a crash). */
  findSubmittedBill(bill: BillRecord): Promise<{ chainBillId: `0x${string}`; paid: boolean } | undefined>
  submitBill(args: SubmitBillArgs): Promise<{ chainBillId: `0x${string}`; txHash: `0x${string}` }>
  /**
   * The tariff's feed-in curve, checked against the ledger's net tariff hash (FeedInRefusedError when
   * it does not match); undefined when it has none or the ledger has net bills disabled. Absent: no
   * net bills on this chain.
   */
  findFeedIn?(tariff: TariffInfo): Promise<FeedInInfo | undefined>
  submitNetBill?(args: SubmitNetBillArgs): Promise<{ chainBillId: `0x${string}`; txHash: `0x${string}` }>
  /** The ledger's amounts of a bill on it (absent: the bill records none, as before net bills). */
  billAmounts?(bill: BillRecord, chainBillId: `0x${string}`): Promise<BillAmounts>
}

export interface NetProveInputs {
  importReadings: readonly number[]
  exportReadings: readonly number[]
  salt: bigint
  prices: readonly bigint[]
  feedInPrices: readonly bigint[]
}

/** A net bill's proof and its public values (circuits/src/net.ts proveNet). */
export interface NetBillProofResult {
  proof: SolidityProofJson
  commitment: bigint
  exportCommitment: bigint
  tariffHash: bigint
  cost: bigint
  credit: bigint
  importWh: bigint
  exportWh: bigint
}

/** What billing needs from the circuit. */
export interface BillProver {
  prove(inputs: { readings: readonly number[]; salt: bigint; prices: readonly bigint[] }): Promise<{
    proof: SolidityProofJson
    commitment: bigint
    tariffHash: bigint
    total: bigint
    energyWh: bigint
  }>
  /** Proves a net bill (issue 17); absent: this node makes import bills only (no net circuit build). */
  proveNet?(inputs: NetProveInputs): Promise<NetBillProofResult>
}

/** The private inputs of a period, from the node's own (decrypted) records. */
export interface PeriodInputs {
  /** `exportReadings`: the exported Wh per interval, when the close has an export half (a net bill needs them). */
  readingsFor(bill: BillRecord): Promise<{ readings: number[]; salt: bigint; exportReadings?: number[] }>
}

/** A contract rejection or another error retrying cannot fix. */
export class PermanentBillingError extends ZkMeterError {
  override name = 'PermanentBillingError'
}

export class CommitmentMismatchError extends PermanentBillingError {
  override name = 'CommitmentMismatchError'
}

export interface ClosedPeriod {
  meter: `0x${string}`
  periodStart: number
  periodEnd: number
  startCounter: number
  endCounter: number
  commitment: bigint
  meterSignature: `0x${string}`
  manifestCid: string
  cidDigest: `0x${string}`
  /** The close's export half (ExportPeriod), from the journal; absent for a close from before export metering. */
  exportHalf?: { startCounter: number; endCounter: number; commitment: bigint; signature: `0x${string}` }
}

export interface BillerOptions {
  store: BillStore
  chain: BillingChain
  prover: BillProver
  inputs: PeriodInputs
  log?: Logger
  /**
   * Automatic attempts at a step that keeps failing for a temporary reason (no tariff yet, meter
   * not registered yet, chain unreachable) before the bill is marked failed for the resident.
   */
  maxAttempts?: number
  /** Backoff: baseDelayMs · 2^attempt, at most maxDelayMs. */
  baseDelayMs?: number
  maxDelayMs?: number
  isTransient?: (error: unknown) => boolean
  /** The circuit's SLOTS, for the tariff rules (default: the tariff's own length). */
  slots?: number
  /** Told once per bill and tariff when the node refuses a tariff (an anomaly for the resident). */
  onTariffRefused?: (refusal: { bill: string; tariffId: string; reason: string }) => void
  /**
   * Told once per bill and tariff when the node refuses a tariff's feed-in curve (an anomaly for the
   * resident, as onTariffRefused): the bill goes on as an import bill that forgoes the period's credit.
   */
  onFeedInRefused?: (refusal: { bill: string; tariffId: string; reason: string }) => void
  /**
   * An earlier period of the bill's meter that this node holds but has not made a bill of yet (its
   * close is in, but its records are awaited, its vault seal or its bill record failed on a full
   * disk, …), with why it is not billed yet; undefined when there is none. The ledger takes a
   * meter's periods strictly in order, so the bill waits for that period rather than failing for
   * good on the ledger's PeriodGap.
   */
  earlierPending?: (bill: BillRecord) => PendingPeriod | undefined
}

/** A period the node holds but has not made a bill of yet (see BillerOptions.earlierPending). */
export interface PendingPeriod {
  periodStart: number
  /** Why it is not a bill yet, in the resident's words (e.g. "waiting for 3 interval records"). */
  why: string
}

export interface Biller extends EventEmitter<{ bill: [BillRecord] }> {
  /** Records a closed period and starts billing it; idempotent per (meter, periodStart). */
  addPeriod(period: ClosedPeriod): Promise<BillRecord>
  /** Continues every bill that is not finished (after start). */
  resume(): Promise<void>
  /**
   * Something a bill may wait for changed (a tariff was published, the meter registered): the
   * bills retrying a temporary failure try again now instead of at their next backoff.
   */
  wake(): void
  /**
   * The resident's retry of a failed bill: persists the restart point (the failed step, or the
   * tariff and a fresh proof when the proof cannot be reused), then continues it. Concurrent calls
   * share one restart; a bill that is not failed is refused with BillNotFailedError, an unknown one
   * with UnknownBillError.
   */
  retry(id: string): Promise<BillRecord>
  markPaid(
    chainBillId: string,
    paidTx: `0x${string}`,
    paidBy: `0x${string}`,
    /** The receipt's block, its time and the amount, once read from the ledger's event. */
    receipt?: Pick<BillRecord, 'paidBlock' | 'paidAt' | 'paidAmount'>,
  ): Promise<BillRecord | undefined>
  /**
   * Looks again at every bill waiting for an earlier period: the node's view of that period changed
   * (sealed, recorded, or rejected for good), so each one goes on or waits again with the new reason.
   */
  recheckWaiting(): void
  /** Waits for the bills in flight (tests, shutdown). */
  idle(): Promise<void>
  stop(): void
}

const defaultTransient = (error: unknown) => !(error instanceof ZkMeterError)

/** Fields dropped when a bill goes back to choosing its tariff: the proof belongs to the old one. */
const UNPROVED = {
  proof: undefined,
  total: undefined,
  tariffId: undefined,
  tariffHash: undefined,
  tariffPrices: undefined,
  kind: undefined,
  feedInPrices: undefined,
  netTariffHash: undefined,
  credit: undefined,
  creditForgone: undefined,
} as const
/** Fields dropped once a step succeeds: the last failure no longer describes the bill. */
const RECOVERED = { error: undefined, failure: undefined, nextAttemptAt: undefined, attempts: 0 } as const

const onChain = (status: BillStatus) => status === 'verified' || status === 'paid'

/** Wh the period exported, per the meter's signed export counters (0 without an export half). */
export const exportedWh = (bill: Pick<BillRecord, 'exportHalf'>): number =>
  bill.exportHalf ? bill.exportHalf.endCounter - bill.exportHalf.startCounter : 0

function failedStep(status: BillStatus): FailedStep {
  if (status === 'waiting-tariff' || status === 'proving') return status
  return 'submitting'
}

export function createBiller(options: BillerOptions): Biller {
  const { store, chain, prover, inputs } = options
  const log = options.log ?? silentLogger
  const maxAttempts = options.maxAttempts ?? 12
  const baseDelay = options.baseDelayMs ?? 1000
  const maxDelay = options.maxDelayMs ?? 10 * 60_000
  const isTransient = options.isTransient ?? defaultTransient
  const emitter = new EventEmitter<{ bill: [BillRecord] }>()
  const running = new Map<string, Promise<void>>()
  // Asked to run while already running: run once more when the current pass ends, so a wake-up
  // that arrives while a bill is deciding to wait is never lost.
  const again = new Set<string>()
  const retrying = new Map<string, Promise<BillRecord>>()
  let stopped = false
  // Each refused (bill, tariff) is reported once, not at every re-check.
  const refusalsTold = new Set<string>()
  // Backoff sleeps end early on stop, so a shutdown never waits out a retry delay.
  const stopping = new AbortController()
  // wake() ends the backoff sleeps too: something a bill may be waiting for changed on the chain.
  const sleepers = new Set<() => void>()
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        stopping.signal.removeEventListener('abort', done)
        sleepers.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      stopping.signal.addEventListener('abort', done, { once: true })
      sleepers.add(done)
    })

  const sameMeter = (a: BillRecord, b: BillRecord) => a.meter.toLowerCase() === b.meter.toLowerCase()

  /** The earliest bill of the same meter before `bill` that the ledger does not hold yet. */
  const earlierUnbilled = (bill: BillRecord) =>
    store.list().find((b) => sameMeter(b, bill) && b.periodStart < bill.periodStart && !onChain(b.status))

  /**
   * The feed-in curve a bill is to be proved against as a net bill, or none for an import bill: the
   * period exported energy, this node can prove net bills, and the ledger has a feed-in curve for the
   * tariff. A curve that does not hash to the ledger's net tariff hash (findFeedIn), breaks the tariff
   * rules or was published after the period began is refused (`refusal`): never proved against.
   */
  async function netChoice(
    bill: BillRecord,
    tariff: TariffInfo,
  ): Promise<{ feedIn?: FeedInInfo; refusal?: FeedInRefusedError }> {
    if (exportedWh(bill) <= 0 || !chain.findFeedIn || !chain.submitNetBill || !prover.proveNet) return {}
    let feedIn: FeedInInfo | undefined
    try {
      feedIn = await chain.findFeedIn(tariff)
    } catch (error) {
      if (error instanceof FeedInRefusedError) return { refusal: error }
      throw error
    }
    if (feedIn === undefined) return {}
    const refusal = refusedFeedIn(feedIn, bill, options.slots ?? tariff.prices.length)
    return refusal ? { refusal } : { feedIn }
  }

  /** A refused feed-in curve, told once per bill and tariff (as a refused tariff is). */
  function tellFeedInRefused(id: string, tariff: TariffInfo, refusal: FeedInRefusedError): void {
    const key = `${id}:feed-in:${tariff.tariffId}`
    if (refusalsTold.has(key)) return
    refusalsTold.add(key)
    log.warn('feed-in curve refused: an import bill, without this period’s credit', {
      bill: id,
      tariffId: tariff.tariffId.toString(),
    })
    options.onFeedInRefused?.({ bill: id, tariffId: tariff.tariffId.toString(), reason: refusal.message })
  }

  /** The ledger's amounts of a bill now on it: what it asks to be paid and the carried credit it used. */
  async function amountsOf(bill: BillRecord, chainBillId: `0x${string}`, paid: boolean) {
    if (!chain.billAmounts) return { status: paid ? ('paid' as const) : ('verified' as const) }
    const amounts = await chain.billAmounts(bill, chainBillId)
    return {
      // A bill the credit covered is recorded paid by the ledger itself (no BillPaid, nothing to pay).
      status: amounts.paid ? ('paid' as const) : ('verified' as const),
      amountDue: amounts.amountDue.toString(),
      creditUsed: amounts.creditUsed.toString(),
    }
  }

  const update = async (id: string, patch: Partial<BillRecord>) => {
    const bill = await store.update(id, patch)
    emitter.emit('bill', { ...bill })
    // An earlier bill reached the ledger: the bills held back behind it may go now (each checks
    // for itself, so they go one after the other, in period order).
    if (patch.status !== undefined && onChain(patch.status)) {
      for (const next of store.list()) {
        if (next.status === 'waiting-previous' && sameMeter(next, bill)) void run(next.id)
      }
    }
    return bill
  }

  /**
   * Puts the bill in waiting-previous if an earlier period of its meter is not on the ledger yet:
   * an earlier bill of the store, or a period the node holds but has not made a bill of
   * (earlierPending). Returns whether it waits. `gap` is the ledger's PeriodGap, when that is what
   * sent the bill here: the bill's failure then names it, as a temporary one.
   */
  async function waitForEarlier(id: string, gap: unknown): Promise<boolean> {
    const bill = store.get(id) as BillRecord
    const blocker = earlierUnbilled(bill)
    if (blocker) {
      if (bill.status !== 'waiting-previous' || bill.waitingFor !== blocker.id) {
        log.info('bill waits for an earlier one', { bill: id, waitingFor: blocker.id })
        await update(id, { status: 'waiting-previous', waitingFor: blocker.id })
      }
      return true
    }
    // Only once the ledger said it misses an earlier period (PeriodGap, now or before this wait):
    // a period the node holds is not always one the ledger expects (one before the meter's
    // registration, say), and waiting for it then would hold back a bill the ledger takes.
    const afterGap =
      gap !== undefined ||
      (bill.status === 'waiting-previous' && bill.failure?.kind === 'earlier-bill-missing')
    if (!afterGap) return false
    const pending = options.earlierPending?.(bill)
    if (pending === undefined) return false
    const waitingFor = billId(bill.meter, pending.periodStart)
    const failure = waitingForPeriod(pending)
    if (
      bill.status !== 'waiting-previous' ||
      bill.waitingFor !== waitingFor ||
      bill.failure?.advice !== failure.advice
    ) {
      log.info('bill waits for an earlier period not billed yet', {
        bill: id,
        waitingFor,
        why: pending.why,
      })
      await update(id, { status: 'waiting-previous', waitingFor, failure })
    }
    return true
  }

  /** Proves a net bill and checks its public values against both halves the meter signed. */
  async function proveNetBill(
    id: string,
    bill: BillRecord,
    tariff: TariffInfo,
    feedIn: FeedInInfo,
  ): Promise<BillRecord> {
    const { readings, salt, exportReadings } = await inputs.readingsFor(bill)
    const half = bill.exportHalf
    if (exportReadings === undefined || half === undefined) {
      throw new CommitmentMismatchError('this node holds no export readings for a period it bills net', {
        details: { bill: id },
      })
    }
    const started = performance.now()
    const result = await (prover.proveNet as NonNullable<BillProver['proveNet']>)({
      importReadings: readings,
      exportReadings,
      salt,
      prices: tariff.prices,
      feedInPrices: feedIn.feedInPrices,
    })
    if (
      result.commitment.toString() !== bill.commitment ||
      result.exportCommitment.toString() !== half.commitment
    ) {
      throw new CommitmentMismatchError(
        "the readings held by this node do not reproduce the meter's signed import and export commitments for this period",
        { details: { bill: id } },
      )
    }
    if (
      result.importWh !== BigInt(bill.endCounter - bill.startCounter) ||
      result.exportWh !== BigInt(exportedWh(bill))
    ) {
      throw new CommitmentMismatchError("the readings' sums differ from the meter's counter differences", {
        details: { bill: id },
      })
    }
    log.info('net bill proved', { bill: id, ms: Math.round(performance.now() - started) })
    return update(id, {
      ...RECOVERED,
      status: 'submitting',
      proof: result.proof,
      total: result.cost.toString(),
      credit: result.credit.toString(),
    })
  }

  async function advance(id: string): Promise<void> {
    let bill = store.get(id) as BillRecord
    while (!stopped) {
      if (bill.status === 'paid' || bill.status === 'failed') return
      if (bill.status === 'verified') {
        // On the ledger but its amounts not read yet (the read failed after the submission, or the
        // bill was recorded by a node from before net bills): read them, then wait for the payment.
        if (bill.amountDue === undefined && bill.chainBillId !== undefined && chain.billAmounts) {
          // Never a failure: the bill is on the ledger whatever this read does (the pay route asks
          // the ledger for the due itself meanwhile); the next start reads them again.
          const amounts = await amountsOf(bill, bill.chainBillId, false).catch((error: unknown) => {
            log.warn('could not read a bill’s amounts from the ledger', { bill: id, error })
            return undefined
          })
          if (amounts?.amountDue === undefined) return
          bill = await update(id, amounts)
          continue
        }
        return // payment arrives by event (markPaid)
      }
      if (bill.status === 'waiting-tariff') {
        const tariff = await chain.findTariff(bill.periodStart, bill.periodEnd)
        if (!tariff) {
          throw new TariffMissingError(
            `no tariff on the ledger covers the whole period [${bill.periodStart}, ${bill.periodEnd}) yet`,
            { details: { bill: id } },
          )
        }
        // Before any proof: a tariff that could read this home from the total is never proved against.
        const refusal = refusedTariff(tariff, bill, options.slots ?? tariff.prices.length)
        if (refusal) {
          const key = `${id}:${tariff.tariffId}`
          if (!refusalsTold.has(key)) {
            refusalsTold.add(key)
            log.warn('tariff refused: the bill waits', { bill: id, tariffId: tariff.tariffId.toString() })
            options.onTariffRefused?.({
              bill: id,
              tariffId: tariff.tariffId.toString(),
              reason: refusal.message,
            })
          }
          throw refusal
        }
        // A refused feed-in curve is published once per tariff and never replaced: waiting for it
        // would hold back this bill and every later one of the meter (the ledger bills in order) for
        // good. The ledger takes the period as an import bill (its export continuity restarts at the
        // next net bill), so the node bills it so: the period's credit is forgone, and the bill says so.
        const { feedIn, refusal: feedInRefusal } = await netChoice(bill, tariff)
        if (feedInRefusal) tellFeedInRefused(id, tariff, feedInRefusal)
        bill = await update(id, {
          ...RECOVERED,
          status: 'proving',
          tariffId: tariff.tariffId.toString(),
          tariffHash: tariff.hash.toString(),
          tariffPrices: tariff.prices.map(String),
          ...(feedIn
            ? {
                kind: 'net' as const,
                netTariffHash: feedIn.netTariffHash.toString(),
                feedInPrices: feedIn.feedInPrices.map(String),
                creditForgone: undefined,
              }
            : {
                kind: undefined,
                netTariffHash: undefined,
                feedInPrices: undefined,
                creditForgone: feedInRefusal ? creditForgoneNote(feedInRefusal) : undefined,
              }),
        })
        continue
      }
      if (bill.status === 'proving') {
        const tariff = await chain.findTariff(bill.periodStart, bill.periodEnd)
        if (!tariff || tariff.tariffId.toString() !== bill.tariffId) {
          bill = await update(id, { status: 'waiting-tariff' })
          continue
        }
        if (bill.kind === 'net') {
          const { feedIn } = await netChoice(bill, tariff)
          if (!feedIn || feedIn.netTariffHash.toString() !== bill.netTariffHash) {
            bill = await update(id, { status: 'waiting-tariff' })
            continue
          }
          bill = await proveNetBill(id, bill, tariff, feedIn)
          continue
        }
        const { readings, salt } = await inputs.readingsFor(bill)
        const started = performance.now()
        const result = await prover.prove({ readings, salt, prices: tariff.prices })
        if (result.commitment.toString() !== bill.commitment) {
          throw new CommitmentMismatchError(
            "the readings held by this node do not reproduce the meter's signed commitment for this period",
            { details: { bill: id } },
          )
        }
        if (result.energyWh !== BigInt(bill.endCounter - bill.startCounter)) {
          throw new CommitmentMismatchError("the readings' sum differs from the meter's counter difference", {
            details: { bill: id },
          })
        }
        log.info('bill proved', { bill: id, ms: Math.round(performance.now() - started) })
        bill = await update(id, {
          ...RECOVERED,
          status: 'submitting',
          proof: result.proof,
          total: result.total.toString(),
        })
        continue
      }
      // submitting or waiting-previous: first the chain (a crash may have left it submitted), then
      // continuity, then the submission.
      const existing = await chain.findSubmittedBill(bill)
      if (existing) {
        bill = await update(id, {
          ...RECOVERED,
          ...(await amountsOf(bill, existing.chainBillId, existing.paid)),
          chainBillId: existing.chainBillId,
          waitingFor: undefined,
        })
        continue
      }
      if (await waitForEarlier(id, undefined)) return
      if (bill.status === 'waiting-previous') {
        bill = await update(id, { status: 'submitting', waitingFor: undefined, failure: undefined })
        continue
      }
      let submitted: Awaited<ReturnType<BillingChain['submitBill']>>
      try {
        if (bill.kind === 'net') {
          if (!chain.submitNetBill) {
            // Proved as a net bill by a node that could; this one cannot submit it: prove it again.
            bill = await update(id, { ...UNPROVED, status: 'waiting-tariff' })
            continue
          }
          submitted = await chain.submitNetBill({
            bill,
            tariffId: BigInt(bill.tariffId as string),
            cost: BigInt(bill.total as string),
            credit: BigInt(bill.credit as string),
            proof: bill.proof as SolidityProofJson,
          })
        } else {
          submitted = await chain.submitBill({
            bill,
            tariffId: BigInt(bill.tariffId as string),
            total: BigInt(bill.total as string),
            proof: bill.proof as SolidityProofJson,
          })
        }
      } catch (error) {
        // The ledger misses an earlier period: final only if this node has none left to bill. One
        // that turned up meanwhile (a seal or bill record retried after a full disk) is waited for.
        if (isPeriodGap(error) && (await waitForEarlier(id, error))) return
        throw error
      }
      const { chainBillId, txHash } = submitted
      log.info('bill verified on-chain', { bill: id, tx: txHash, kind: bill.kind ?? 'import' })
      // One transition to what the ledger recorded (verified, or paid when a credit covered it). A
      // failed read of the amounts still records the bill on-chain (it must not be submitted
      // again); the verified step reads them later.
      const amounts = await amountsOf(bill, chainBillId, false).catch((error: unknown) => {
        log.warn('could not read a bill’s amounts from the ledger: read again later', { bill: id, error })
        return { status: 'verified' as const }
      })
      bill = await update(id, { ...RECOVERED, ...amounts, chainBillId, submitTx: txHash })
    }
  }

  function run(id: string): Promise<void> {
    const inFlight = running.get(id)
    if (inFlight) {
      again.add(id)
      return inFlight
    }
    const task = (async () => {
      for (;;) {
        try {
          await advance(id)
          return
        } catch (error) {
          const bill = store.get(id) as BillRecord
          const diskFull = isDiskFull(error)
          const failure = classifyFailure(error, failedStep(bill.status), diskFull || isTransient(error))
          const attempts = bill.attempts + 1
          // A refused tariff is waited out, never given up on: the bill must not be proved against it,
          // and only the utility can change what prices this period. A full disk too: nothing is
          // wrong with the bill, the node cannot record its progress until space is freed (the
          // resident has the disk-full alarm), and wake() tries again as soon as it is.
          const automatic =
            failure.temporary && (attempts < maxAttempts || failure.kind === 'tariff-refused' || diskFull)
          const reason = {
            name: (error as Error).name ?? 'Error',
            message: (error as Error).message ?? String(error),
          }
          const fields = { bill: id, status: bill.status, kind: failure.kind, error: reason }
          if (automatic) log.warn('billing step failed, retrying automatically', fields)
          else log.error('bill failed', fields)
          if (!automatic) {
            await update(id, {
              status: 'failed',
              error: reason,
              failure,
              attempts,
              nextAttemptAt: undefined,
              waitingFor: undefined,
            }).catch((persistError) => {
              // The store holds the change in memory; its next write (or the next start) carries it.
              log.warn('could not record that a bill failed', { bill: id, error: persistError })
            })
            return
          }
          const delay = Math.min(baseDelay * 2 ** bill.attempts, maxDelay)
          try {
            await update(id, {
              attempts,
              error: reason,
              failure,
              nextAttemptAt: new Date(Date.now() + delay).toISOString(),
              // A proof made under a tariff the ledger does not know is worthless: choose again.
              ...(failure.reprove ? { ...UNPROVED, status: 'waiting-tariff' as const } : {}),
            })
          } catch (persistError) {
            // On a full disk recording the failure fails too: the retry goes on all the same.
            log.warn('could not record a billing step’s failure', { bill: id, error: persistError })
          }
          await sleep(delay)
          if (stopped) return
        }
      }
    })().finally(() => {
      running.delete(id)
      if (again.delete(id) && !stopped) void run(id)
    })
    running.set(id, task)
    return task
  }

  function notFailedHint(bill: BillRecord): string {
    switch (bill.status) {
      case 'verified':
      case 'paid':
        return 'it is already on the ledger, there is nothing to retry'
      case 'waiting-previous':
        return `it continues by itself once the earlier bill ${bill.waitingFor ?? ''} is on the ledger; retry that one if it failed`
      default:
        return bill.nextAttemptAt
          ? `the node is already retrying it (next attempt at ${bill.nextAttemptAt})`
          : 'the node is working on it'
    }
  }

  return Object.assign(emitter, {
    async addPeriod(period: ClosedPeriod) {
      const bill = await store.insert({
        id: billId(period.meter, period.periodStart),
        meter: period.meter,
        periodStart: period.periodStart,
        periodEnd: period.periodEnd,
        startCounter: period.startCounter,
        endCounter: period.endCounter,
        commitment: period.commitment.toString(),
        meterSignature: period.meterSignature,
        energyWh: period.endCounter - period.startCounter,
        manifestCid: period.manifestCid,
        cidDigest: period.cidDigest,
        ...(period.exportHalf
          ? {
              exportHalf: {
                startCounter: period.exportHalf.startCounter,
                endCounter: period.exportHalf.endCounter,
                commitment: period.exportHalf.commitment.toString(),
                signature: period.exportHalf.signature,
              },
            }
          : {}),
      })
      emitter.emit('bill', { ...bill })
      void run(bill.id)
      return bill
    },
    async resume() {
      for (const bill of store.list()) {
        if (bill.status !== 'paid' && bill.status !== 'failed' && bill.status !== 'verified')
          void run(bill.id)
        else if (bill.status === 'verified' && bill.amountDue === undefined && chain.billAmounts)
          void run(bill.id)
      }
    },
    retry(id: string) {
      const pending = retrying.get(id)
      if (pending) return pending
      const bill = store.get(id)
      if (!bill) return Promise.reject(new UnknownBillError(`no bill with id ${id}`))
      if (bill.status !== 'failed') {
        return Promise.reject(
          new BillNotFailedError(`bill ${id} is ${bill.status}, not failed: ${notFailedHint(bill)}`, {
            details: { bill: id, status: bill.status },
          }),
        )
      }
      const restart = (async () => {
        const from = retryStart(bill.failure, bill.proof !== undefined)
        // Persisted before any work: a crash from here on resumes like any bill in progress, and
        // the submission step adopts a bill the ledger already holds, so it completes once.
        const updated = await update(id, {
          ...RECOVERED,
          ...(from === 'waiting-tariff' ? UNPROVED : {}),
          status: from,
          retries: (bill.retries ?? 0) + 1,
        })
        log.info('bill retried by the resident', { bill: id, from, kind: bill.failure?.kind })
        void run(id)
        return { ...updated }
      })().finally(() => retrying.delete(id))
      retrying.set(id, restart)
      return restart
    },
    wake() {
      for (const done of [...sleepers]) done()
    },
    recheckWaiting() {
      if (stopped) return
      for (const bill of store.list()) if (bill.status === 'waiting-previous') void run(bill.id)
    },
    async markPaid(chainBillId: string, paidTx: `0x${string}`, paidBy: `0x${string}`, receipt = {}) {
      const bill = store.list().find((b) => b.chainBillId?.toLowerCase() === chainBillId.toLowerCase())
      if (!bill) return bill
      // Paid once; a second call only corrects or completes the receipt (the ledger's event names the real one).
      const complete = Object.entries(receipt).every(([k, v]) => bill[k as keyof BillRecord] === v)
      if (bill.status === 'paid' && bill.paidTx === paidTx && bill.paidBy === paidBy && complete) return bill
      // A correction to another transaction drops the old one's block and time unless given anew.
      const stale =
        bill.paidTx === paidTx ? {} : { paidBlock: undefined, paidAt: undefined, paidAmount: undefined }
      return update(bill.id, { status: 'paid', paidTx, paidBy, ...stale, ...receipt })
    },
    async idle() {
      while (running.size > 0) await Promise.all([...running.values()])
    },
    stop() {
      stopped = true
      stopping.abort()
    },
  }) as Biller
}
