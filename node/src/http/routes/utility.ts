/**
 * The utility console: meters, tariffs, bills, balance and notices on the ledger. Reading is open;
 * acting needs the utility key, which this node holds only on the embedded dev chain.
 */

import type { RouteHandlers } from '#protocol/api/routes.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import {
  assetBalances,
  checkAreaAsset,
  ensureAreaAsset,
  findAsset,
  inspectToken,
  parseAssetChoice,
  resolveAsset,
  withdrawAsset,
} from '../../utility/assets.ts'
import { carriedCredits, payCredit, publishFeedInCurve } from '../../utility/credits.ts'
import type { RoutesContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import { jsonObject } from '../params.ts'
import { assetView } from '../views.ts'

export type UtilityContext = Pick<
  RoutesContext,
  'ledger' | 'utility' | 'identity' | 'circuit' | 'mesh' | 'provider'
>

type UtilityRouteKey =
  | 'utilityMeters'
  | 'registerMeter'
  | 'utilityTariffs'
  | 'publishTariff'
  | 'utilityBills'
  | 'utilityBalance'
  | 'utilityToken'
  | 'withdraw'
  | 'publishNotice'
  | 'aggregates'
  | 'publishFeedIn'
  | 'utilityCredits'
  | 'payCredit'

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
  const chain = () => {
    if (!ctx.provider) throw new InvalidInputError('this node has no chain connection to read tokens from')
    return ctx.provider
  }
  /** `asset` of a request body: absent means Ether, as before tokens. */
  const choice = (value: unknown) => (value === undefined ? 'eth' : parseAssetChoice(value, 'asset'))
  const areaOf = (value: unknown) => {
    if (value === undefined) return undefined
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) >= 2 ** 32)
      throw new InvalidInputError('areaId must be an integer from 0 to 2^32 − 1')
    return value as number
  }
  return {
    utilityMeters: async () => {
      const state = await ctx.ledger.meter(ctx.identity.meter.address)
      return { meters: [{ ...state, asset: assetView(await ctx.ledger.asset(state.assetId)) }] }
    },
    registerMeter: async (r) => {
      const b = jsonObject(await r.json())
      const areaId = areaOf(Number(b.areaId))
      const utility = asUtility()
      // The area's asset first: it can still change now, and the first meter fixes it for good.
      if (b.asset !== undefined && areaId !== undefined) {
        const { asset } = await resolveAsset(utility, chain, choice(b.asset), { register: true })
        await ensureAreaAsset(utility, areaId, asset)
      }
      const receipt = await utility.registerMeter({
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
      const assets = new Map<number, ReturnType<typeof assetView>>()
      for (let id = 1n; id <= count; id++) {
        const t = await ctx.ledger.tariff(id)
        if (!assets.has(t.assetId)) assets.set(t.assetId, assetView(await ctx.ledger.asset(t.assetId)))
        tariffs.push({ ...t, asset: assets.get(t.assetId) })
      }
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
      const wanted = choice(b.asset)
      const areaId = areaOf(b.areaId)
      const utility = asUtility()
      if (areaId !== undefined) {
        // Refused before anything is registered or sent: the area's asset is fixed by its first meter.
        const candidate =
          wanted === 'eth'
            ? await utility.asset(0)
            : ((await findAsset(utility, wanted)) ?? {
                assetId: -1,
                ...(await inspectToken(chain(), wanted)),
              })
        await checkAreaAsset(utility, areaId, candidate)
      }
      const { asset, registered } = await resolveAsset(utility, chain, wanted, { register: true })
      const result = await utility.publishTariff({
        effectiveFrom: Number(b.effectiveFrom),
        prices,
        ...(asset.assetId === 0 ? {} : { assetId: asset.assetId }),
      })
      return {
        tariffId: result.tariffId,
        tariffHash: result.tariffHash,
        txHash: result.receipt.hash,
        asset: assetView(asset),
        ...(registered ? { assetRegistered: true } : {}),
      }
    },
    utilityBills: async () => {
      const bills = await ctx.ledger.bills()
      // One read per tariff, not per bill: a bill is in its tariff's asset.
      const tokens = (await ctx.ledger.assetCount()) > 0
      const assetOf = new Map<bigint, ReturnType<typeof assetView>>()
      for (const b of bills) {
        if (assetOf.has(b.tariffId)) continue
        const assetId = tokens ? await ctx.ledger.tariffAsset(b.tariffId) : 0
        assetOf.set(b.tariffId, assetView(await ctx.ledger.asset(assetId)))
      }
      return {
        bills: bills.map((b) => ({
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
          asset: assetOf.get(b.tariffId),
        })),
      }
    },
    utilityBalance: async () => {
      const balances = await assetBalances(ctx.ledger)
      return {
        withdrawable: balances[0]?.withdrawable ?? 0n,
        balances: balances.map((b) => ({
          asset: assetView(b.asset),
          collected: b.collected,
          withdrawable: b.withdrawable,
        })),
      }
    },
    utilityToken: async ({ query }) => {
      const address = query.get('address')
      if (address === null) throw new InvalidInputError('give the token as ?address=0x…')
      const token = await inspectToken(chain(), address)
      return { ...token, assetId: (await findAsset(ctx.ledger, token.token))?.assetId ?? null }
    },
    withdraw: async (r) => {
      const b = jsonObject(await r.json())
      const to = String(b.to)
      if (!/^0x[0-9a-fA-F]{40}$/.test(to))
        throw new InvalidInputError('to must be a 0x address of 40 hex digits')
      const utility = asUtility()
      const { asset } = await resolveAsset(utility, chain, choice(b.asset), { register: false })
      const { amount, hash } = await withdrawAsset(utility, asset, to)
      return { txHash: hash, amount, asset: assetView(asset) }
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
    // Net bills (issue 17): the tariff's feed-in curve, checked as the CLI checks it (rules, notice,
    // once per tariff) before anything is sent; the credits meters carry; a payout to a household.
    publishFeedIn: async (r) => {
      const b = jsonObject(await r.json())
      const id = typeof b.tariffId === 'number' ? String(b.tariffId) : b.tariffId
      if (typeof id !== 'string' || !/^[1-9]\d{0,19}$/.test(id))
        throw new InvalidInputError('tariffId must be a published tariff id (1, 2, …)')
      if (!Array.isArray(b.prices) || b.prices.length !== ctx.circuit.slots) {
        throw new InvalidInputError(
          `prices must be ${ctx.circuit.slots} decimal strings (the tariff's asset per exported Wh per slot)`,
        )
      }
      const prices = b.prices.map((p, i) => {
        if (typeof p !== 'string' || !/^\d{1,20}$/.test(p) || BigInt(p) >= 1n << 64n)
          throw new InvalidInputError(`prices[${i}] must be a decimal string below 2^64`)
        return BigInt(p)
      })
      const r2 = await publishFeedInCurve(asUtility(), chain(), BigInt(id), prices, ctx.circuit.slots)
      return {
        tariffId: r2.tariffId,
        netTariffHash: r2.netTariffHash,
        effectiveFrom: r2.effectiveFrom,
        asset: assetView(r2.asset),
        txHash: r2.transactionHash,
      }
    },
    utilityCredits: async () => {
      const credits = await carriedCredits(ctx.ledger)
      return {
        credits: credits.map((c) => ({
          meter: c.meter,
          household: c.household,
          areaId: c.areaId,
          active: c.active,
          asset: assetView(c.asset),
          credit: c.credit,
        })),
      }
    },
    payCredit: async (r) => {
      const meter = r.params.meter
      if (!/^0x[0-9a-fA-F]{40}$/.test(meter))
        throw new InvalidInputError('the meter must be a 0x address of 40 hex digits')
      const b = jsonObject(await r.json())
      if (b.amount !== undefined && (typeof b.amount !== 'string' || !/^[1-9]\d{0,77}$/.test(b.amount)))
        throw new InvalidInputError('amount must be a positive decimal string (absent: the whole credit)')
      const paid = await payCredit(asUtility(), meter, b.amount === undefined ? undefined : BigInt(b.amount))
      return {
        meter: paid.meter,
        household: paid.household,
        asset: assetView(paid.asset),
        amount: paid.amount,
        balance: paid.balance,
        txHash: paid.transactionHash,
      }
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
