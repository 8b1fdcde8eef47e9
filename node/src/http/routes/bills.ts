/** The household's bills: list, one, pay (dev chain only), and the resident's retry of a failed one. */

import type { RouteHandlers } from '#protocol/api/routes.ts'
import { isNothingToPay, totalDue } from '#protocol/money.ts'
import { BillNotFailedError } from '../../billing/failures.ts'
import type { BillRecord, BillStore } from '../../billing/store.ts'
import type { RoutesContext } from '../context.ts'
import { HttpError, NotFoundError } from '../errors.ts'
import { billView } from '../views.ts'

export type BillsContext = Pick<
  RoutesContext,
  'bills' | 'biller' | 'ledger' | 'wallet' | 'utility' | 'config' | 'displayCurrency'
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
  return {
    bills: () => {
      const bills = ctx.bills.list().map(billView)
      const due = totalDue(bills)
      return {
        bills,
        due: {
          total: due.total.toString(),
          count: due.count,
          nothingToPay: bills.filter(isNothingToPay).length,
        },
        display: ctx.displayCurrency.get(),
      }
    },
    bill: ({ params }) => ({
      bill: billView(findBill(ctx.bills, params.id)),
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
      const receipt = await ctx.ledger.payBill(bill.chainBillId, BigInt(bill.total))
      const paid = await ctx.biller.markPaid(
        bill.chainBillId,
        receipt.hash as `0x${string}`,
        ctx.wallet.address as `0x${string}`,
      )
      return { txHash: receipt.hash, bill: billView(paid ?? bill) }
    },
    // The resident's retry of a failed bill: 404 unknown, 409 not failed (in progress, waiting or done).
    retryBill: async ({ params }) => {
      const bill = findBill(ctx.bills, params.id)
      try {
        return { bill: billView(await ctx.biller.retry(bill.id)) }
      } catch (error) {
        if (error instanceof BillNotFailedError) {
          throw new HttpError(409, error.message, { status: error.details.status })
        }
        throw error
      }
    },
  }
}
