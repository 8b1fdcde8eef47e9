/**
 * The node's own check of a tariff before it proves a bill against it (docs/privacy.md): the same
 * rules the ledger enforces at publishTariff (protocol/tariff-rules.ts), checked again here because
 * the node must not rely on the ledger it bills to (an older or different deployment may not
 * enforce them), plus the one rule only the node can check against the meter's own clock: the
 * tariff was published before the period began.
 */
import { explainViolation, tariffViolation } from '#protocol/tariff-rules.ts'
import { FeedInRefusedError, TariffRefusedError } from './failures.ts'

const utc = (t: number | bigint) => new Date(Number(t) * 1000).toISOString().replace('.000Z', 'Z')

/** Why the node refuses to prove `bill` against `tariff`, or undefined when it may. */
export function refusedTariff(
  tariff: { tariffId: bigint; prices: readonly bigint[]; publishedAt?: bigint | undefined },
  bill: { id: string; periodStart: number },
  slots: number,
): TariffRefusedError | undefined {
  const details = { bill: bill.id, tariffId: tariff.tariffId.toString() }
  const violation = tariffViolation(tariff.prices, slots)
  if (violation !== undefined) {
    return new TariffRefusedError(`Tariff ${tariff.tariffId}: ${explainViolation(violation, slots)}.`, {
      details: { ...details, rule: violation.rule },
    })
  }
  if (tariff.publishedAt !== undefined && tariff.publishedAt > BigInt(bill.periodStart)) {
    return new TariffRefusedError(
      `Tariff ${tariff.tariffId} was published at ${utc(tariff.publishedAt)}, after this period began at ${utc(bill.periodStart)}: a tariff chosen once the consumption was under way could be aimed at it.`,
      { details: { ...details, rule: 'retroactive' } },
    )
  }
  return undefined
}

/**
 * Why the node refuses to prove a net bill of `bill` against a tariff's feed-in curve, or undefined
 * when it may: the same rules as an import curve (a credit must not be an oracle of export any more
 * than a cost of import), and the same "published before the period began" check against the
 * FeedInPublished block's time (the ledger's notice may be shorter, or not enforced by an older or
 * different deployment).
 */
export function refusedFeedIn(
  feedIn: { tariffId: bigint; feedInPrices: readonly bigint[]; publishedAt?: bigint | undefined },
  bill: { id: string; periodStart: number },
  slots: number,
): FeedInRefusedError | undefined {
  const details = { bill: bill.id, tariffId: feedIn.tariffId.toString() }
  const violation = tariffViolation(feedIn.feedInPrices, slots)
  if (violation !== undefined) {
    return new FeedInRefusedError(
      `The feed-in curve of tariff ${feedIn.tariffId}: ${explainViolation(violation, slots)}.`,
      { details: { ...details, rule: violation.rule } },
    )
  }
  if (feedIn.publishedAt !== undefined && feedIn.publishedAt > BigInt(bill.periodStart)) {
    return new FeedInRefusedError(
      `The feed-in curve of tariff ${feedIn.tariffId} was published at ${utc(feedIn.publishedAt)}, after this period began at ${utc(bill.periodStart)}: feed-in prices chosen once the export was under way could be aimed at it.`,
      { details: { ...details, rule: 'retroactive' } },
    )
  }
  return undefined
}
