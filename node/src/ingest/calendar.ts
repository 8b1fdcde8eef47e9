/**
 * Billing-period boundaries the node assumes when it files records into the vault before the meter's
 * PERIOD close arrives. They mirror the meter's rule (docs/protocol.md §7): periods close at a UTC
 * midnight every `periodDays` days, or at each calendar month's start when `periodDays` is 0; the
 * first period starts at the meter's provisioning point. The signed PERIOD is still the authority:
 * a close that disagrees with these boundaries is surfaced as an anomaly.
 */
import { InvalidInputError } from '../errors.ts'

const DAY = 86_400

export interface PeriodRule {
  /** 0 = calendar months (UTC), else a period every this many days. */
  periodDays: number
  /** Provisioning point: start of the first period (unix seconds). */
  firstPeriodStart: number
}

export function checkPeriodRule(rule: PeriodRule): PeriodRule {
  if (!Number.isInteger(rule.periodDays) || rule.periodDays < 0 || rule.periodDays > 31) {
    throw new InvalidInputError(
      `periodDays must be an integer in [0, 31] (0 = monthly), got ${rule.periodDays}`,
    )
  }
  if (!Number.isSafeInteger(rule.firstPeriodStart) || rule.firstPeriodStart < 0) {
    throw new InvalidInputError(`firstPeriodStart must be unix seconds, got ${rule.firstPeriodStart}`)
  }
  return rule
}

/** Start of the period containing unix time `t`. */
export function periodStartOf(t: number, rule: PeriodRule): number {
  const { periodDays, firstPeriodStart } = rule
  if (t < firstPeriodStart) return firstPeriodStart
  let start: number
  if (periodDays === 0) {
    const d = new Date(t * 1000)
    start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000
  } else {
    const origin = firstPeriodStart - (firstPeriodStart % DAY)
    start = origin + Math.floor((t - origin) / (periodDays * DAY)) * periodDays * DAY
  }
  return Math.max(start, firstPeriodStart)
}
