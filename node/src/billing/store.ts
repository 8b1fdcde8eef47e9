/**
 * The household's bills and where each one stands. One JSON document, rewritten atomically on
 * every transition: a node has a few bills a month, and the state must survive a kill -9 between
 * any two steps (proved but not submitted, submitted but receipt not seen, …).
 */
import { join } from 'node:path'
import type { BillStatus } from '#protocol/api/types.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import { readJsonFile, writeJsonAtomic } from '../storage/json-file.ts'
import type { BillFailure } from './failures.ts'

export type { BillStatus }
/** Every status, in order of progress (failed last); BillStatus itself is the API's (api/types.ts). */
export const BILL_STATUSES = [
  'waiting-tariff',
  'proving',
  'waiting-previous',
  'submitting',
  'verified',
  'paid',
  'failed',
] as const satisfies readonly BillStatus[]

export interface BillRecord {
  /** Local id: meter address and period start. */
  id: string
  meter: `0x${string}`
  periodStart: number
  periodEnd: number
  startCounter: number
  endCounter: number
  /** Decimal strings: field elements and wei exceed 2^53. */
  commitment: string
  meterSignature: `0x${string}`
  energyWh: number
  manifestCid: string
  cidDigest: `0x${string}`
  status: BillStatus
  /**
   * The close's export half (ExportPeriod, protocol §6), as the meter signed it: absent for a close
   * from before export metering (and for bills recorded before net bills). Counters in Wh, the
   * commitment decimal.
   */
  exportHalf?: { startCounter: number; endCounter: number; commitment: string; signature: `0x${string}` }
  /**
   * "net" once the bill is proved as a net bill (its tariff has a feed-in curve and the period
   * exported energy); absent: an import bill. Chosen with the tariff, dropped with the proof.
   */
  kind?: 'net'
  /** The feed-in curve a net bill is proved against (decimal per slot) and Poseidon(T, T_f). */
  feedInPrices?: string[]
  netTariffHash?: string
  /** The period's export credit a net bill proved (decimal, the asset's smallest units). */
  credit?: string
  /**
   * Set on an import bill of a period that exported energy when the node refused its tariff's feed-in
   * curve: why, and that the period's credit is forgone (the resident's words).
   */
  creditForgone?: string
  /** From the ledger once the bill is on it: what is left to pay (billStatus total) and the carried credit used. */
  amountDue?: string
  creditUsed?: string
  tariffId?: string
  total?: string
  /** The Groth16 proof in the contract's layout, kept so a crash after proving does not re-prove. */
  proof?: { a: string[]; b: string[][]; c: string[] }
  tariffHash?: string
  /** The tariff's prices (wei per Wh per slot, decimal), kept for the privacy view's "what this bill made public". */
  tariffPrices?: string[]
  chainBillId?: `0x${string}`
  submitTx?: `0x${string}`
  paidTx?: `0x${string}`
  paidBy?: `0x${string}`
  /** The paying transaction's block and its time (unix s), from the ledger: the receipt view. */
  paidBlock?: number
  paidAt?: number
  /** Wei, decimal: what the BillPaid event says was paid (the ledger takes exactly the total). */
  paidAmount?: string
  error?: { name: string; message: string }
  /** Why the last attempt failed, classified (failures.ts): set while retrying automatically and when failed. */
  failure?: BillFailure
  /** When the next automatic attempt is due (ISO 8601), while a temporary failure is being retried. */
  nextAttemptAt?: string
  /** The earlier bill of the same meter this one waits for (status waiting-previous). */
  waitingFor?: string
  /** Automatic attempts since the last success or the resident's retry. */
  attempts: number
  /** Times the resident retried this bill. */
  retries?: number
  createdAt: string
  updatedAt: string
}

export class UnknownBillError extends InvalidInputError {
  override name = 'UnknownBillError'
}

export interface BillStore {
  list(): BillRecord[]
  get(id: string): BillRecord | undefined
  /** Inserts a new bill, or returns the existing one with the same id (idempotent on replays). */
  insert(bill: Omit<BillRecord, 'status' | 'attempts' | 'createdAt' | 'updatedAt'>): Promise<BillRecord>
  /** Applies `patch`; a key given as undefined is removed from the record. */
  update(id: string, patch: Partial<Omit<BillRecord, 'id'>>): Promise<BillRecord>
}

export function billId(meter: string, periodStart: number): string {
  return `${meter.toLowerCase()}-${periodStart}`
}

export async function openBillStore(dataDir: string): Promise<BillStore> {
  const path = join(dataDir, 'bills.json')
  const loaded = (await readJsonFile(path)) as { version: 1; bills: BillRecord[] } | undefined
  const bills = new Map<string, BillRecord>((loaded?.bills ?? []).map((b) => [b.id, b]))
  // Serialise writes: two transitions racing must not interleave their renames.
  let queue: Promise<unknown> = Promise.resolve()
  const persist = () => {
    const next = queue.then(() => writeJsonAtomic(path, { version: 1, bills: [...bills.values()] }))
    queue = next.catch(() => {})
    return next
  }

  return {
    list: () => [...bills.values()].sort((a, b) => a.periodStart - b.periodStart),
    get: (id) => bills.get(id),
    async insert(fields) {
      const existing = bills.get(fields.id)
      if (existing) return existing
      const now = new Date().toISOString()
      const bill: BillRecord = {
        ...fields,
        status: 'waiting-tariff',
        attempts: 0,
        createdAt: now,
        updatedAt: now,
      }
      bills.set(bill.id, bill)
      try {
        await persist()
      } catch (error) {
        // Not recorded (a full disk, say): forget it, so the caller's retry records it anew instead
        // of getting back a bill that exists only in memory and that nothing has started.
        if (bills.get(bill.id) === bill) bills.delete(bill.id)
        throw error
      }
      return bill
    },
    async update(id, patch) {
      const bill = bills.get(id)
      if (!bill) throw new UnknownBillError(`no bill with id ${id}`)
      Object.assign(bill, patch, { updatedAt: new Date().toISOString() })
      // A field patched to undefined is cleared (a retry drops the old proof and failure).
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) Reflect.deleteProperty(bill, key)
      }
      await persist()
      return bill
    },
  }
}
