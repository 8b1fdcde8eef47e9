/**
 * BillingChain over the ledger contract: the tariff covering a period (prices checked against
 * the on-chain hash by the client), the bill if the chain already holds it, and submission.
 */

import { ZkMeterError } from '#protocol/errors.ts'
import type { LedgerClient } from '../../../contracts/ts/ledger.ts'
import { LedgerRevertError } from '../../../contracts/ts/ledger.ts'
import type { BillingChain } from './biller.ts'

/** `assetId`: the asset the meter's area bills in (0 Ether); only that asset's tariffs price its bills. */
export function ledgerBillingChain(ledger: LedgerClient, assetId = 0): BillingChain {
  return {
    async findTariff(periodStart, periodEnd) {
      const tariff = await ledger.tariffCovering(periodStart, periodEnd, assetId)
      if (!tariff) return undefined
      return {
        tariffId: tariff.tariffId,
        hash: tariff.tariffHash,
        prices: tariff.prices,
        publishedAt: tariff.publishedAt,
      }
    },
    async findSubmittedBill(bill) {
      const onChain = await ledger.bills({ meter: bill.meter })
      const match = onChain.find((b) => b.period.periodStart === BigInt(bill.periodStart))
      return match ? { chainBillId: match.billId, paid: match.paid } : undefined
    },
    async submitBill({ bill, tariffId, total, proof }) {
      const { billId, receipt } = await ledger.submitBill({
        period: {
          meter: bill.meter,
          periodStart: bill.periodStart,
          periodEnd: bill.periodEnd,
          startCounter: bill.startCounter,
          endCounter: bill.endCounter,
          commitment: bill.commitment,
        },
        signature: bill.meterSignature,
        proof: {
          a: [proof.a[0] as string, proof.a[1] as string],
          b: [
            [proof.b[0]?.[0] as string, proof.b[0]?.[1] as string],
            [proof.b[1]?.[0] as string, proof.b[1]?.[1] as string],
          ],
          c: [proof.c[0] as string, proof.c[1] as string],
        },
        total,
        energyWh: bill.endCounter - bill.startCounter,
        tariffId,
        cidDigest: bill.cidDigest,
      })
      return { chainBillId: billId, txHash: receipt.hash as `0x${string}` }
    },
  }
}

/**
 * Retry network trouble, not verdicts: a ledger revert (bad proof, gap, wrong tariff) or any
 * validation error will fail the same way every time.
 */
export function isTransientChainError(error: unknown): boolean {
  if (error instanceof LedgerRevertError) return false
  if (error instanceof ZkMeterError) return error.name === 'LedgerTransactionError'
  return true
}
