/**
 * The utility's side of net bills (issue 17), shared by `zkmeter utility` and the utility console
 * (/api/utility/…): publishing a tariff's feed-in curve, listing the credits meters carry, and
 * paying a credit out to its household (docs/contracts.md, "Paying a credit out").
 *
 * A feed-in curve is checked here before anything is sent, with the rules the ledger applies
 * (TariffRules, the tariff's notice, once per tariff), so a utility learns in words why it would be
 * refused instead of paying for a reverted transaction.
 */
import type { Provider } from 'ethers'
import { InvalidInputError } from '#protocol/errors.ts'
import { unitsToDecimal } from '#protocol/money.ts'
import { explainViolation, tariffViolation } from '#protocol/tariff-rules.ts'
import type {
  Address,
  AssetInfo,
  LedgerPolicyState,
  MeterState,
  TariffState,
} from '../../../contracts/ts/ledger.ts'

/** The ledger reads behind the credit list (LedgerClient fits; so does the routes' ledger). */
export interface CreditReads {
  creditedMeters(): Promise<Address[]>
  creditOf(meter: string): Promise<bigint>
  meter(meter: string): Promise<MeterState>
  asset(assetId: number): Promise<AssetInfo>
}

/** …and the utility's transactions of net bills: a feed-in curve, a credit payout. */
export interface NetBillsUtilityLedger extends CreditReads {
  tariff(tariffId: bigint): Promise<TariffState>
  feedInHash(tariffId: bigint): Promise<bigint | undefined>
  policy(): Promise<LedgerPolicyState>
  publishFeedIn(feedIn: {
    tariffId: bigint
    feedInPrices: readonly bigint[]
    prices: readonly bigint[]
  }): Promise<{ netTariffHash: bigint; receipt: { hash: string } }>
  payOutCredit(
    meter: string,
    amount?: bigint,
  ): Promise<{ amount: bigint; household: Address; balance: bigint; receipt: { hash: string } }>
}

/** The ledger would refuse this feed-in curve for the state it is in (not for its prices). */
export class FeedInRefusedError extends InvalidInputError {
  override name = 'FeedInRefusedError'
}

/** A feed-in curve that breaks a tariff rule (docs/privacy.md): refused before anything is sent. */
export function checkFeedInRules(feedInPrices: readonly bigint[], slots: number): void {
  const violation = tariffViolation(feedInPrices, slots)
  if (violation !== undefined) {
    throw new InvalidInputError(
      `the feed-in curve breaks a privacy rule (feed-in prices follow the tariff rules too): ${explainViolation(violation, slots)}`,
    )
  }
}

export interface FeedInPublication {
  tariffId: bigint
  netTariffHash: bigint
  effectiveFrom: bigint
  asset: AssetInfo
  transactionHash: string
}

/**
 * Publishes tariff `tariffId`'s feed-in curve, in the tariff's asset per exported Wh. Refused first
 * (FeedInRefusedError) when the tariff has one already or is too close to taking effect: a feed-in
 * price is never retroactive, so it needs the tariff's notice as the import curve did.
 */
export async function publishFeedInCurve(
  ledger: NetBillsUtilityLedger,
  provider: Provider,
  tariffId: bigint,
  feedInPrices: readonly bigint[],
  slots: number,
): Promise<FeedInPublication> {
  checkFeedInRules(feedInPrices, slots)
  // Reverts UnknownTariff (decoded by the caller) for a tariff that was never published.
  const tariff = await ledger.tariff(tariffId)
  const existing = await ledger.feedInHash(tariffId)
  if (existing !== undefined) {
    throw new FeedInRefusedError(
      `tariff ${tariffId} already has its feed-in curve (net tariff hash ${existing}): a tariff's is published once; publish a new tariff for new feed-in prices`,
    )
  }
  const { tariffNotice } = await ledger.policy()
  const latest = await provider.getBlock('latest')
  const now = BigInt(latest?.timestamp ?? 0)
  if (tariff.effectiveFrom < now + tariffNotice) {
    throw new FeedInRefusedError(
      `tariff ${tariffId} takes effect at ${tariff.effectiveFrom}; its feed-in curve had to be published ${tariffNotice} s ahead, by ${tariff.effectiveFrom - tariffNotice} (the chain's time is ${now}): no feed-in price is retroactive. Publish a new tariff and its feed-in curve ahead of it`,
    )
  }
  const r = await ledger.publishFeedIn({ tariffId, prices: tariff.prices, feedInPrices })
  return {
    tariffId,
    netTariffHash: r.netTariffHash,
    effectiveFrom: tariff.effectiveFrom,
    asset: await ledger.asset(tariff.assetId),
    transactionHash: r.receipt.hash,
  }
}

export interface CarriedCredit {
  meter: Address
  household: Address
  areaId: number
  /** A deactivated meter's credit is used by no further bill: the utility pays it out. */
  active: boolean
  asset: AssetInfo
  credit: bigint
}

/**
 * The credits meters carry now (meters a net bill ever credited, whose credit is not used up), or
 * one meter's whatever its credit. These are the utility's debts to households, in each meter's asset.
 */
export async function carriedCredits(
  ledger: CreditReads,
  filter: { meter?: string } = {},
): Promise<CarriedCredit[]> {
  const meters = filter.meter === undefined ? await ledger.creditedMeters() : [filter.meter as Address]
  const assets = new Map<number, AssetInfo>()
  const out: CarriedCredit[] = []
  for (const meter of meters) {
    const credit = await ledger.creditOf(meter)
    if (credit === 0n && filter.meter === undefined) continue
    const state = await ledger.meter(meter)
    if (!state.registered) throw new InvalidInputError(`meter ${meter} is not registered on this ledger`)
    let asset = assets.get(state.assetId)
    if (asset === undefined) {
      asset = await ledger.asset(state.assetId)
      assets.set(state.assetId, asset)
    }
    out.push({
      meter: state.meter,
      household: state.household,
      areaId: state.areaId,
      active: state.active,
      asset,
      credit,
    })
  }
  return out
}

export interface CreditPayoutResult {
  meter: Address
  household: Address
  asset: AssetInfo
  amount: bigint
  /** The meter's credit left. */
  balance: bigint
  transactionHash: string
}

/** Pays `amount` (default: all) of a meter's credit to its household, in the meter's asset. */
export async function payCredit(
  ledger: NetBillsUtilityLedger,
  meter: string,
  amount?: bigint,
): Promise<CreditPayoutResult> {
  const state = await ledger.meter(meter)
  if (!state.registered) throw new InvalidInputError(`meter ${meter} is not registered on this ledger`)
  const r = await ledger.payOutCredit(meter, amount)
  return {
    meter: state.meter,
    household: r.household,
    asset: await ledger.asset(state.assetId),
    amount: r.amount,
    balance: r.balance,
    transactionHash: r.receipt.hash,
  }
}

/** An amount in its asset's unit, for people: "0.000183 ETH". */
export function creditText(units: bigint, asset: Pick<AssetInfo, 'decimals' | 'symbol'>): string {
  return `${unitsToDecimal(units, asset.decimals)} ${asset.symbol}`
}
