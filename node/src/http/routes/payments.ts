/**
 * Payments (each paid bill's receipt, and the same as CSV) and the household's display currency for
 * Ether bills (set by the resident, validated by protocol/money.ts, kept by billing/display-currency.ts).
 */
import type { RouteHandlers } from '#protocol/api/routes.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import { paymentsCsv, paymentsOf } from '../../billing/payments.ts'
import type { RoutesContext } from '../context.ts'
import { jsonObject } from '../params.ts'
import { assetView } from '../views.ts'

/** A display currency for a home whose bills are in a token (it converts Ether only). */
export class DisplayCurrencyNotApplicableError extends InvalidInputError {
  override name = 'DisplayCurrencyNotApplicableError'
}

export type PaymentsContext = Pick<RoutesContext, 'bills' | 'displayCurrency' | 'asset'>

export function paymentRoutes(
  ctx: PaymentsContext,
): Pick<
  RouteHandlers,
  'payments' | 'paymentsCsv' | 'displayCurrency' | 'setDisplayCurrency' | 'clearDisplayCurrency'
> {
  const asset = assetView(ctx.asset)
  // The display currency converts Ether only.
  const display = () => (asset.assetId === 0 ? ctx.displayCurrency.get() : null)
  return {
    payments: () => ({ payments: paymentsOf(ctx.bills.list(), asset), display: display() }),
    paymentsCsv: () => paymentsCsv(paymentsOf(ctx.bills.list(), asset), display()),
    displayCurrency: () => ({ display: display() }),
    // MoneyInputError (400) names what is wrong with the code or the rate; nothing is saved then.
    setDisplayCurrency: async ({ json }) => {
      const body = jsonObject(await json())
      // A rate to ETH means nothing for a token bill: refused rather than kept unused (and shown).
      if (asset.assetId !== 0) {
        throw new DisplayCurrencyNotApplicableError(
          `this home's bills are in ${asset.symbol}, a token, and are shown in it: a display currency converts Ether bills only`,
        )
      }
      return { display: await ctx.displayCurrency.set({ currency: body.currency, rate: body.rate }) }
    },
    clearDisplayCurrency: async () => ({ display: await ctx.displayCurrency.set(null) }),
  }
}
