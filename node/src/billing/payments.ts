/**
 * The household's payments: each paid bill's receipt (payer, transaction, block time, amount and
 * the bill's public figures) as the API lists them, and the same as a CSV for the resident's own
 * books, with the display-currency equivalent at the rate the resident set (and when).
 */
import type { PaymentReceipt } from '#protocol/api/types.ts'
import { type DisplayCurrency, displayDecimal, weiToEthDecimal } from '#protocol/money.ts'
import { toCsv } from './csv.ts'
import type { BillRecord } from './store.ts'

/** Paid bills as receipts, oldest period first (bills without a recorded payment are left out). */
export function paymentsOf(bills: readonly BillRecord[]): PaymentReceipt[] {
  return bills
    .filter((b) => b.status === 'paid' && b.chainBillId !== undefined && b.paidTx !== undefined)
    .sort((a, b) => a.periodStart - b.periodStart)
    .map((b) => ({
      billId: b.id,
      chainBillId: b.chainBillId as string,
      periodStart: b.periodStart,
      periodEnd: b.periodEnd,
      energyWh: b.energyWh,
      amount: b.paidAmount ?? b.total ?? '0',
      tariffId: b.tariffId ?? null,
      commitment: b.commitment,
      cidDigest: b.cidDigest,
      submitTx: b.submitTx ?? null,
      txHash: b.paidTx as string,
      payer: b.paidBy ?? '',
      blockNumber: b.paidBlock ?? null,
      paidAt: b.paidAt ?? null,
    }))
}

const iso = (unixSeconds: number | null) =>
  unixSeconds === null ? '' : new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z')

export const PAYMENTS_CSV_HEADER = [
  'bill_id',
  'period_start_utc',
  'period_end_utc',
  'energy_kwh',
  'amount_wei',
  'amount_eth',
  'display_currency',
  'display_amount',
  'rate_per_eth',
  'rate_set_at',
  'payer',
  'tx_hash',
  'block',
  'paid_at_utc',
  'commitment',
  'tariff_id',
] as const

/** The payments as CSV (RFC 4180, CSV-injection safe: csv.ts). */
export function paymentsCsv(payments: readonly PaymentReceipt[], display: DisplayCurrency | null): string {
  return toCsv(
    PAYMENTS_CSV_HEADER,
    payments.map((p) => {
      const wei = BigInt(p.amount)
      return [
        p.billId,
        iso(p.periodStart),
        iso(p.periodEnd),
        (p.energyWh / 1000).toFixed(3),
        p.amount,
        weiToEthDecimal(wei),
        display?.currency ?? '',
        display ? displayDecimal(wei, display) : '',
        display?.rate ?? '',
        display?.setAt ?? '',
        p.payer,
        p.txHash,
        p.blockNumber,
        iso(p.paidAt),
        p.commitment,
        p.tariffId,
      ]
    }),
  )
}
