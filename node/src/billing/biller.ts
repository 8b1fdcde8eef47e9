/**
 * Turns a closed, verified metering period into a paid bill:
 *   waiting-tariff → proving → submitting → verified → paid      (or failed, with the reason)
 * Every transition is persisted before the next step starts, so a restart resumes exactly where
 * the node stopped: a proof is never recomputed once stored, and a bill the chain already holds is
 * recognised instead of being submitted twice. Transient chain errors are retried with backoff;
 * a rejection by the contract is final and reported with the contract's own error.
 */
import { EventEmitter } from 'node:events'
import { ZkMeterError } from '../errors.ts'
import type { BillRecord, BillStore } from './store.ts'
import { billId } from './store.ts'

export interface TariffInfo {
  tariffId: bigint
  hash: bigint
  prices: bigint[]
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

/** What billing needs from the chain (implemented over the ledger contract). */
export interface BillingChain {
  findTariff(periodStart: number, periodEnd: number): Promise<TariffInfo | undefined>
  /** The chain's id of this bill if the ledger already holds it (resume after a crash). */
  findSubmittedBill(bill: BillRecord): Promise<{ chainBillId: `0x${string}`; paid: boolean } | undefined>
  submitBill(args: SubmitBillArgs): Promise<{ chainBillId: `0x${string}`; txHash: `0x${string}` }>
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
}

/** The private inputs of a period, from the node's own (decrypted) records. */
export interface PeriodInputs {
  readingsFor(bill: BillRecord): Promise<{ readings: number[]; salt: bigint }>
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
}

export interface BillerOptions {
  store: BillStore
  chain: BillingChain
  prover: BillProver
  inputs: PeriodInputs
  log?: (entry: Record<string, unknown>) => void
  /** Transient failures are retried this many times with exponential backoff. */
  maxAttempts?: number
  baseDelayMs?: number
  isTransient?: (error: unknown) => boolean
}

export interface Biller extends EventEmitter<{ bill: [BillRecord] }> {
  /** Records a closed period and starts billing it; idempotent per (meter, periodStart). */
  addPeriod(period: ClosedPeriod): Promise<BillRecord>
  /** Continues every bill that is not finished (after start, or when a tariff was published). */
  resume(): Promise<void>
  markPaid(chainBillId: string, paidTx: `0x${string}`, paidBy: `0x${string}`): Promise<BillRecord | undefined>
  /** Waits for the bills in flight (tests, shutdown). */
  idle(): Promise<void>
  stop(): void
}

const defaultTransient = (error: unknown) => !(error instanceof ZkMeterError)

export function createBiller(options: BillerOptions): Biller {
  const { store, chain, prover, inputs } = options
  const log = options.log ?? (() => {})
  const maxAttempts = options.maxAttempts ?? 5
  const baseDelay = options.baseDelayMs ?? 1000
  const isTransient = options.isTransient ?? defaultTransient
  const emitter = new EventEmitter<{ bill: [BillRecord] }>()
  const running = new Map<string, Promise<void>>()
  let stopped = false
  // Backoff sleeps end early on stop, so a shutdown never waits out a retry delay.
  const stopping = new AbortController()
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      stopping.signal.addEventListener('abort', () => {
        clearTimeout(timer)
        resolve()
      })
    })

  const update = async (id: string, patch: Partial<BillRecord>) => {
    const bill = await store.update(id, patch)
    emitter.emit('bill', { ...bill })
    return bill
  }

  async function advance(id: string): Promise<void> {
    let bill = store.get(id) as BillRecord
    while (!stopped && bill.status !== 'paid' && bill.status !== 'failed') {
      if (bill.status === 'verified') return // payment arrives by event (markPaid)
      if (bill.status === 'waiting-tariff') {
        const tariff = await chain.findTariff(bill.periodStart, bill.periodEnd)
        if (!tariff) {
          log({ level: 'info', msg: 'no tariff covers this period yet', bill: id })
          return
        }
        bill = await update(id, {
          status: 'proving',
          tariffId: tariff.tariffId.toString(),
          tariffHash: tariff.hash.toString(),
        })
        continue
      }
      if (bill.status === 'proving') {
        const tariff = await chain.findTariff(bill.periodStart, bill.periodEnd)
        if (!tariff || tariff.tariffId.toString() !== bill.tariffId) {
          bill = await update(id, { status: 'waiting-tariff' })
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
        log({ level: 'info', msg: 'bill proved', bill: id, ms: Math.round(performance.now() - started) })
        bill = await update(id, { status: 'submitting', proof: result.proof, total: result.total.toString() })
        continue
      }
      if (bill.status === 'submitting') {
        const existing = await chain.findSubmittedBill(bill)
        if (existing) {
          bill = await update(id, {
            status: existing.paid ? 'paid' : 'verified',
            chainBillId: existing.chainBillId,
          })
          continue
        }
        const { chainBillId, txHash } = await chain.submitBill({
          bill,
          tariffId: BigInt(bill.tariffId as string),
          total: BigInt(bill.total as string),
          proof: bill.proof as SolidityProofJson,
        })
        log({ level: 'info', msg: 'bill verified on-chain', bill: id, tx: txHash })
        bill = await update(id, { status: 'verified', chainBillId, submitTx: txHash })
      }
    }
  }

  function run(id: string): Promise<void> {
    const inFlight = running.get(id)
    if (inFlight) return inFlight
    const task = (async () => {
      for (;;) {
        try {
          await advance(id)
          return
        } catch (error) {
          const bill = store.get(id) as BillRecord
          const transient = isTransient(error) && bill.attempts + 1 < maxAttempts
          const reason = {
            name: (error as Error).name ?? 'Error',
            message: (error as Error).message ?? String(error),
          }
          log({
            level: transient ? 'warn' : 'error',
            msg: 'billing step failed',
            bill: id,
            status: bill.status,
            ...reason,
          })
          if (!transient) {
            await update(id, { status: 'failed', error: reason, attempts: bill.attempts + 1 })
            return
          }
          await update(id, { attempts: bill.attempts + 1, error: reason })
          await sleep(baseDelay * 2 ** bill.attempts)
          if (stopped) return
        }
      }
    })().finally(() => running.delete(id))
    running.set(id, task)
    return task
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
      })
      emitter.emit('bill', { ...bill })
      void run(bill.id)
      return bill
    },
    async resume() {
      for (const bill of store.list()) {
        if (bill.status !== 'paid' && bill.status !== 'failed' && bill.status !== 'verified')
          void run(bill.id)
      }
    },
    async markPaid(chainBillId: string, paidTx: `0x${string}`, paidBy: `0x${string}`) {
      const bill = store.list().find((b) => b.chainBillId?.toLowerCase() === chainBillId.toLowerCase())
      if (!bill || bill.status === 'paid') return bill
      return update(bill.id, { status: 'paid', paidTx, paidBy })
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
