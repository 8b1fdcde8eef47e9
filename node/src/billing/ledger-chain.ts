/**
 * BillingChain over the ledger contract: the tariff covering a period (prices checked against
 * the on-chain hash by the client), the bill if the chain already holds it, and submission.
 */

import { ZkMeterError } from '#protocol/errors.ts'
import type { LedgerClient, SolidityProof } from '../../../contracts/ts/ledger.ts'
import { LedgerRevertError } from '../../../contracts/ts/ledger.ts'
import type { BillingChain, SolidityProofJson } from './biller.ts'
import { FeedInRefusedError } from './failures.ts'
import type { BillRecord } from './store.ts'

const proofArgs = (proof: SolidityProofJson): SolidityProof => ({
  a: [proof.a[0] as string, proof.a[1] as string],
  b: [
    [proof.b[0]?.[0] as string, proof.b[0]?.[1] as string],
    [proof.b[1]?.[0] as string, proof.b[1]?.[1] as string],
  ],
  c: [proof.c[0] as string, proof.c[1] as string],
})

const periodOf = (bill: BillRecord) => ({
  meter: bill.meter,
  periodStart: bill.periodStart,
  periodEnd: bill.periodEnd,
  startCounter: bill.startCounter,
  endCounter: bill.endCounter,
  commitment: bill.commitment,
})

/** `assetId`: the asset the meter's area bills in (0 Ether); only that asset's tariffs price its bills. */
export function ledgerBillingChain(ledger: LedgerClient, assetId = 0): BillingChain {
  // Whether the ledger has the net-bill extension: read once (it is fixed at deployment).
  let netBills: Promise<boolean> | undefined
  const hasNetBills = () => {
    netBills ??= ledger.netSetup().then(
      (setup) => setup !== undefined,
      (error: unknown) => {
        netBills = undefined
        // A ledger from before net bills has no netBills() reader: no net bills there.
        if (error instanceof LedgerRevertError || (error as { code?: string })?.code === 'CALL_EXCEPTION')
          return false
        throw error
      },
    )
    return netBills
  }
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
      // Either kind: a node that crashed after submitting a net bill finds its NetBillSubmitted.
      const onChain = await ledger.bills({ meter: bill.meter })
      const match = onChain.find((b) => b.period.periodStart === BigInt(bill.periodStart))
      if (match) return { chainBillId: match.billId, paid: match.paid }
      if (!(await hasNetBills())) return undefined
      const net = (await ledger.netBills({ meter: bill.meter })).find(
        (b) => b.period.periodStart === BigInt(bill.periodStart),
      )
      return net ? { chainBillId: net.billId, paid: net.paid } : undefined
    },
    async findFeedIn(tariff) {
      if (!(await hasNetBills())) return undefined
      try {
        const feedIn = await ledger.feedIn(tariff.tariffId)
        if (feedIn === undefined) return undefined
        return { tariffId: tariff.tariffId, ...feedIn }
      } catch (error) {
        if ((error as Error)?.name === 'TariffMismatchError') {
          throw new FeedInRefusedError(
            `Tariff ${tariff.tariffId}'s published import and feed-in prices do not hash to the net tariff hash the ledger verifies net bills with: a proof against them would be refused, and the prices the ledger means are unknown.`,
            { details: { tariffId: tariff.tariffId.toString() }, cause: error },
          )
        }
        throw error
      }
    },
    async submitNetBill({ bill, tariffId, cost, credit, proof }) {
      const half = bill.exportHalf
      if (half === undefined) throw new FeedInRefusedError(`bill ${bill.id} has no export half to bill net`)
      const { billId, receipt } = await ledger.submitNetBill({
        period: periodOf(bill),
        signature: bill.meterSignature,
        exportPeriod: {
          meter: bill.meter,
          periodStart: bill.periodStart,
          periodEnd: bill.periodEnd,
          startCounter: half.startCounter,
          endCounter: half.endCounter,
          commitment: half.commitment,
        },
        exportSignature: half.signature,
        proof: proofArgs(proof),
        cost,
        credit,
        tariffId,
        cidDigest: bill.cidDigest,
      })
      return { chainBillId: billId, txHash: receipt.hash as `0x${string}` }
    },
    async billAmounts(bill, chainBillId) {
      const status = await ledger.billStatus(chainBillId)
      let creditUsed = 0n
      // Only a ledger with net bills has credits (and their events) at all.
      if (await hasNetBills()) {
        const applied = (await ledger.creditHistory(bill.meter)).find(
          (e) => e.kind === 'applied' && e.billId.toLowerCase() === chainBillId.toLowerCase(),
        )
        creditUsed = applied?.amount ?? 0n
      }
      return { amountDue: status.total, creditUsed, paid: status.paid }
    },
    async submitBill({ bill, tariffId, total, proof }) {
      const { billId, receipt } = await ledger.submitBill({
        period: periodOf(bill),
        signature: bill.meterSignature,
        proof: proofArgs(proof),
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
