/**
 * The fake node's ledger: what the chain would answer for the fixture household (its meter, the
 * tariffs, the bills it submitted, the utility's balance and notices), and transactions that are
 * accepted at once with a fixed hash.
 */
import type { RoutesLedger, UtilityLedger } from '../../../node/src/http/context.ts'
import { CHAIN, DAY, type FakeNodeState, HOUSEHOLD, METER, NOW } from './fixtures.ts'

const tx = (byte: string) => ({ hash: `0x${byte.repeat(32)}` })
const MAX_UINT64 = '18446744073709551615'

/** The fixture's ledger knows Ether only: no token is registered (the token tests use a real chain). */
const etherOnly = {
  assetCount: async () => 0,
  asset: async (assetId: number) => {
    if (assetId !== 0) throw new RangeError(`no asset ${assetId} in the fixture`)
    return { assetId: 0, decimals: 18, symbol: 'ETH' }
  },
  areaAsset: async () => ({ assetId: 0, fixed: true }),
  tariffAsset: async () => 0,
  tokenWithdrawable: async (assetId: number): Promise<bigint> => {
    throw new RangeError(`no asset ${assetId} in the fixture`)
  },
  withdrawable: async () => 10_234_000_000_000_000n,
}

export function fakeLedger(state: FakeNodeState): RoutesLedger {
  const reads = {
    ...etherOnly,
    // Credits as the fixture's state says (none at first; the ledger's own tests use a real chain).
    creditedMeters: async () => state.credits.map((c) => c.meter as `0x${string}`),
    creditOf: async (meter: string) => state.credits.find((c) => c.meter === meter)?.credit ?? 0n,
    meter: async () => ({
      meter: METER,
      household: HOUSEHOLD,
      areaId: 1,
      registered: true,
      active: true,
      nextStart: BigInt(NOW - (NOW % DAY)),
      nextCounter: 1_234_000n,
      assetId: 0,
    }),
  }
  const utility: UtilityLedger = {
    ...reads,
    bills: () => ledger.bills(),
    registerMeter: async () => tx('11'),
    async publishTariff(tariff) {
      const tariffId = state.tariffs.length + 1
      state.tariffs.push({
        tariffId: String(tariffId),
        effectiveFrom: String(tariff.effectiveFrom),
        until: MAX_UINT64,
        tariffHash: '4343',
        prices: tariff.prices.map(String),
      })
      return { tariffId: BigInt(tariffId), tariffHash: 4343n, receipt: tx('22') }
    },
    withdraw: async () => tx('99'),
    withdrawToken: async () => tx('98'),
    registerAsset: async () => {
      throw new RangeError('the fixture registers no token')
    },
    setAreaAsset: async () => tx('44'),
    publishNotice: async () => tx('33'),
    tariff: (tariffId) => ledger.tariff(tariffId),
    feedInHash: async () => undefined,
    policy: async () => ({ minBillingPeriod: 3600n, tariffNotice: 0n, minPriceRun: 4 }),
    publishFeedIn: async () => ({ netTariffHash: 4444n, receipt: tx('55') }),
    async payOutCredit(meter, amount) {
      const carried = state.credits.find((c) => c.meter === meter)
      if (!carried) throw new RangeError(`meter ${meter} carries no credit in the fixture`)
      const paid = amount ?? carried.credit
      carried.credit -= paid
      state.credits = state.credits.filter((c) => c.credit > 0n)
      return { amount: paid, household: HOUSEHOLD, balance: carried.credit, receipt: tx('66') }
    },
  }
  const ledger: RoutesLedger = {
    ...reads,
    address: CHAIN.ledger,
    payBill: async (billId, amount) => {
      state.ledgerPayments.push({ billId, amount })
      return tx('77')
    },
    payBillWithPermit: async () => tx('78'),
    notices: async () =>
      state.notices.flatMap((n) =>
        n.via === 'chain'
          ? [
              {
                areaId: n.area,
                kind: n.kind,
                startsAt: BigInt(n.startsAt),
                endsAt: BigInt(n.endsAt),
                message: n.message,
                blockNumber: 1,
              },
            ]
          : [],
      ),
    tariffCount: async () => BigInt(state.tariffs.length),
    async tariff(tariffId) {
      const t = state.tariffs[Number(tariffId) - 1]
      if (!t) throw new RangeError(`no tariff ${tariffId} in the fixture`)
      return {
        tariffId: BigInt(t.tariffId),
        effectiveFrom: BigInt(t.effectiveFrom),
        until: BigInt(t.until),
        tariffHash: BigInt(t.tariffHash),
        assetId: 0,
        prices: t.prices.map(BigInt),
        publishedAt: 0n,
      }
    },
    // The bills this household submitted: the ones with a ledger id and a total.
    bills: async () =>
      state.bills.flatMap((b) =>
        b.chainBillId && b.total !== null
          ? [
              {
                billId: b.chainBillId as `0x${string}`,
                meter: METER,
                household: HOUSEHOLD,
                areaId: 1,
                period: {
                  meter: METER,
                  periodStart: BigInt(b.periodStart),
                  periodEnd: BigInt(b.periodEnd),
                  startCounter: 0n,
                  endCounter: BigInt(b.energyWh),
                  commitment: BigInt(b.commitment),
                },
                energyWh: BigInt(b.energyWh),
                total: BigInt(b.total),
                due: BigInt(b.total),
                tariffId: 1n,
                cidDigest: b.cidDigest as `0x${string}`,
                submitted: true,
                paid: b.status === 'paid',
                blockNumber: 1,
                transactionHash: b.submitTx ?? '',
              },
            ]
          : [],
      ),
    connect: () => utility,
  }
  return ledger
}
