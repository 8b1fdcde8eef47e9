/**
 * The household's bills: list, one, pay (dev chain only: Ether, or a token bill with an EIP-2612
 * permit the dev wallet signs), and the resident's retry of a failed one. Amounts are in the home's
 * asset (`asset` in each answer).
 */

import type { RouteHandlers } from '#protocol/api/routes.ts'
import { isNothingToPay, totalDue } from '#protocol/money.ts'
import { BillNotFailedError } from '../../billing/failures.ts'
import type { BillRecord, BillStore } from '../../billing/store.ts'
import type { RoutesContext } from '../context.ts'
import { HttpError, NotFoundError } from '../errors.ts'
import { assetView, billView } from '../views.ts'

export type BillsContext = Pick<
  RoutesContext,
  'bills' | 'biller' | 'ledger' | 'wallet' | 'utility' | 'config' | 'displayCurrency' | 'asset' | 'identity'
>

/** The bill with this id, or a 404 (the privacy routes' grants name bills too). */
export function findBill(bills: Pick<BillStore, 'get'>, id: string): BillRecord {
  const bill = bills.get(id)
  if (!bill) throw new NotFoundError(`no bill with id ${id}`)
  return bill
}

export function billRoutes(
  ctx: BillsContext,
): Pick<RouteHandlers, 'bills' | 'bill' | 'payBill' | 'retryBill'> {
  const asset = assetView(ctx.asset)
  const view = (bill: BillRecord) => billView(bill, asset)
  // The meter's carried credit as last read: an unreachable chain answers the list all the same.
  let lastCredit = 0n
  const carriedCredit = async (): Promise<bigint> => {
    // A node's context always has its ledger; the fakes some tests route over may not.
    const ledger = ctx.ledger as RoutesContext['ledger'] | undefined
    if (ledger?.creditOf === undefined) return lastCredit
    try {
      lastCredit = await ledger.creditOf(ctx.identity.meter.address)
    } catch {
      // A ledger without net bills (NetBillsDisabled) or an unreachable chain: the last value read.
    }
    return lastCredit
  }
  return {
    bills: async () => {
      const bills = ctx.bills.list().map(view)
      // Sums what the ledger asks to be paid (amountDue: after export credits), not the costs.
      const due = totalDue(bills)
      const credit = await carriedCredit()
      return {
        bills,
        due: {
          total: due.total.toString(),
          count: due.count,
          nothingToPay: bills.filter(isNothingToPay).length,
        },
        // The display currency converts Ether only: a token bill is shown in its own money.
        display: asset.assetId === 0 ? ctx.displayCurrency.get() : null,
        asset,
        credit: credit.toString(),
      }
    },
    bill: ({ params }) => ({
      bill: view(findBill(ctx.bills, params.id)),
    }),
    payBill: async ({ params }) => {
      if (!ctx.config.dev || ctx.utility === undefined) {
        throw new HttpError(
          403,
          'the node pays only on the embedded dev chain; pay from your wallet in the UI',
        )
      }
      const bill = findBill(ctx.bills, params.id)
      if (bill.status !== 'verified' || !bill.chainBillId || bill.total === undefined) {
        throw new HttpError(
          409,
          `bill ${bill.id} is ${bill.status}: only a verified, unpaid bill can be paid`,
        )
      }
      if (bill.amountDue === '0') {
        // The ledger records such a bill paid itself; one still shown verified is stale, not owed.
        throw new HttpError(409, `bill ${bill.id} owes nothing: export credit covered it`)
      }
      // The amount the ledger asks (billStatus total: the cost less credits), never the cost: it
      // refuses any other amount (WrongAmount). A bill recorded before its amounts were read pays
      // what the ledger says is due (payBill reads it). A token bill: the dev wallet signs a permit
      // for the due (payBillWithPermit reads it too; no approve transaction).
      const receipt =
        asset.assetId === 0
          ? await ctx.ledger.payBill(
              bill.chainBillId,
              bill.amountDue === undefined ? undefined : BigInt(bill.amountDue),
            )
          : await ctx.ledger.payBillWithPermit(bill.chainBillId)
      const paid = await ctx.biller.markPaid(
        bill.chainBillId,
        receipt.hash as `0x${string}`,
        ctx.wallet.address as `0x${string}`,
      )
      return { txHash: receipt.hash, bill: view(paid ?? bill) }
    },
    // The resident's retry of a failed bill: 404 unknown, 409 not failed (in progress, waiting or done).
    retryBill: async ({ params }) => {
      const bill = findBill(ctx.bills, params.id)
      try {
        return { bill: view(await ctx.biller.retry(bill.id)) }
      } catch (error) {
        if (error instanceof BillNotFailedError) {
          throw new HttpError(409, error.message, { status: error.details.status })
        }
        throw error
      }
    },
  }
}
