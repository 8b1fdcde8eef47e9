/**
 * The utility console: meters, tariffs, bills, balance and notices on the ledger. Reading is open;
 * acting needs the utility key, which this node holds only on the embedded dev chain.
 */

import type { RouteHandlers } from '#protocol/api/routes.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import type { RoutesContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import { jsonObject } from '../params.ts'

export type UtilityContext = Pick<RoutesContext, 'ledger' | 'utility' | 'identity' | 'circuit' | 'mesh'>

type UtilityRouteKey =
  | 'utilityMeters'
  | 'registerMeter'
  | 'utilityTariffs'
  | 'publishTariff'
  | 'utilityBills'
  | 'utilityBalance'
  | 'withdraw'
  | 'publishNotice'
  | 'aggregates'

export function utilityRoutes(ctx: UtilityContext): Pick<RouteHandlers, UtilityRouteKey> {
  const asUtility = () => {
    if (!ctx.utility) {
      throw new HttpError(
        403,
        'utility actions need the utility key: use the console with your wallet, or `zkmeter utility`',
      )
    }
    return ctx.ledger.connect(ctx.utility)
  }
  return {
    utilityMeters: async () => {
      const state = await ctx.ledger.meter(ctx.identity.meter.address)
      return { meters: [state] }
    },
    registerMeter: async (r) => {
      const b = jsonObject(await r.json())
      const receipt = await asUtility().registerMeter({
        meter: String(b.meter),
        household: String(b.household),
        areaId: Number(b.areaId),
        startTime: Number(b.startTime),
        startCounter: Number(b.startCounter ?? 0),
      })
      return { txHash: receipt.hash }
    },
    utilityTariffs: async () => {
      const count = await ctx.ledger.tariffCount()
      const tariffs = []
      for (let id = 1n; id <= count; id++) tariffs.push(await ctx.ledger.tariff(id))
      return { tariffs }
    },
    publishTariff: async (r) => {
      const b = jsonObject(await r.json())
      if (!Array.isArray(b.prices) || b.prices.length !== ctx.circuit.slots) {
        throw new InvalidInputError(
          `prices must be ${ctx.circuit.slots} decimal strings (wei per Wh per slot)`,
        )
      }
      const prices = b.prices.map((p, i) => {
        if (typeof p !== 'string' || !/^\d{1,20}$/.test(p))
          throw new InvalidInputError(`prices[${i}] must be a decimal string`)
        return BigInt(p)
      })
      const result = await asUtility().publishTariff({ effectiveFrom: Number(b.effectiveFrom), prices })
      return { tariffId: result.tariffId, tariffHash: result.tariffHash, txHash: result.receipt.hash }
    },
    utilityBills: async () => ({
      bills: (await ctx.ledger.bills()).map((b) => ({
        billId: b.billId,
        meter: b.meter,
        household: b.household,
        areaId: b.areaId,
        periodStart: Number(b.period.periodStart),
        periodEnd: Number(b.period.periodEnd),
        energyWh: b.energyWh,
        total: b.total,
        paid: b.paid,
        transactionHash: b.transactionHash,
      })),
    }),
    utilityBalance: async () => ({ withdrawable: await ctx.ledger.withdrawable() }),
    withdraw: async (r) => {
      const b = jsonObject(await r.json())
      const receipt = await asUtility().withdraw(String(b.to))
      return { txHash: receipt.hash }
    },
    publishNotice: async (r) => {
      const b = jsonObject(await r.json())
      const receipt = await asUtility().publishNotice({
        areaId: Number(b.areaId),
        kind: Number(b.kind),
        startsAt: Number(b.startsAt),
        endsAt: Number(b.endsAt),
        message: String(b.message ?? ''),
      })
      return { txHash: receipt.hash }
    },
    // Area totals from private aggregation (sums of masked shares: no home's own value) and their forecast.
    aggregates: () =>
      ctx.mesh
        ? ctx.mesh.aggregates()
        : {
            available: false,
            reason: 'the neighbourhood mesh is disabled on this node (--mesh false): no area aggregates',
          },
  }
}
