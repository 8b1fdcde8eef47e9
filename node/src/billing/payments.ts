/**
 * The household's payments: each paid bill's receipt (payer, transaction, block time, amount and
 * the bill's public figures) as the API lists them, and the same as a CSV for the resident's own
 * books, with the display-currency equivalent at the rate the resident set (and when).
 */
import type { BillAsset, PaymentReceipt } from '#protocol/api/types.ts'
import { type DisplayCurrency, displayDecimal, unitsToDecimal, weiToEthDecimal } from '#protocol/money.ts'
import { toCsv } from './csv.ts'
import type { BillRecord } from './store.ts'

/**
 * Paid bills as receipts, oldest period first (bills without a recorded payment are left out), each
 * with the asset it was paid in (the home's: one asset per meter). No asset: Ether.
 */
export function paymentsOf(bills: readonly BillRecord[], asset?: BillAsset): PaymentReceipt[] {
  return bills
    .filter((b) => b.status === 'paid' && b.chainBillId !== undefined && b.paidTx !== undefined)
    .sort((a, b) => a.periodStart - b.periodStart)
    .map((b) => ({
      billId: b.id,
      chainBillId: b.chainBillId as string,
      periodStart: b.periodStart,
      periodEnd: b.periodEnd,
      energyWh: b.energyWh,
      // Until the BillPaid event is read: what the ledger asked (after export credits), not the cost.
      amount: b.paidAmount ?? b.amountDue ?? b.total ?? '0',
      ...(asset === undefined ? {} : { asset }),
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
  'asset',
  'amount',
] as const

/**
 * The payments as CSV (RFC 4180, CSV-injection safe: csv.ts). `asset` and `amount` (a decimal in
 * that asset) are on every row; the wei, ETH and display-currency columns only on Ether payments
 * (the display rate is per ETH).
 */
export function paymentsCsv(payments: readonly PaymentReceipt[], display: DisplayCurrency | null): string {
  return toCsv(
    PAYMENTS_CSV_HEADER,
    payments.map((p) => {
      const units = BigInt(p.amount)
      const ether = p.asset === undefined || p.asset.assetId === 0
      const shown = ether ? display : null
      return [
        p.billId,
        iso(p.periodStart),
        iso(p.periodEnd),
        (p.energyWh / 1000).toFixed(3),
        ether ? p.amount : '',
        ether ? weiToEthDecimal(units) : '',
        shown?.currency ?? '',
        shown ? displayDecimal(units, shown) : '',
        shown?.rate ?? '',
        shown?.setAt ?? '',
        p.payer,
        p.txHash,
        p.blockNumber,
        iso(p.paidAt),
        p.commitment,
        p.tariffId,
        p.asset?.symbol ?? 'ETH',
        ether ? weiToEthDecimal(units) : unitsToDecimal(units, p.asset?.decimals ?? 18),
      ]
    }),
  )
}
