/**
 * Payments (each paid bill's receipt, and the same as CSV) and the household's display currency for
 * Ether bills (set by the resident, validated by protocol/money.ts, kept by billing/display-currency.ts).
 */
import type { RouteHandlers } from '#protocol/api/routes.ts'
import { paymentsCsv, paymentsOf } from '../../billing/payments.ts'
import type { RoutesContext } from '../context.ts'
import { jsonObject } from '../params.ts'

export type PaymentsContext = Pick<RoutesContext, 'bills' | 'displayCurrency'>

export function paymentRoutes(
  ctx: PaymentsContext,
): Pick<
  RouteHandlers,
  'payments' | 'paymentsCsv' | 'displayCurrency' | 'setDisplayCurrency' | 'clearDisplayCurrency'
> {
  return {
    payments: () => ({ payments: paymentsOf(ctx.bills.list()), display: ctx.displayCurrency.get() }),
    paymentsCsv: () => paymentsCsv(paymentsOf(ctx.bills.list()), ctx.displayCurrency.get()),
    displayCurrency: () => ({ display: ctx.displayCurrency.get() }),
    // MoneyInputError (400) names what is wrong with the code or the rate; nothing is saved then.
    setDisplayCurrency: async ({ json }) => {
      const body = jsonObject(await json())
      return { display: await ctx.displayCurrency.set({ currency: body.currency, rate: body.rate }) }
    },
    clearDisplayCurrency: async () => ({ display: await ctx.displayCurrency.set(null) }),
  }
}
