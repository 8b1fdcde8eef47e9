/**
 * Billing-period boundaries the node assumes when it files records into the vault before the meter's
 * PERIOD close arrives. They are the meter's own rule (protocol/meter/period.ts, docs/protocol.md §7):
 * the first period starts at the provisioning point, each next one where the previous ended, a period
 * ends at a UTC midnight after PeriodDays days (calendar month when 0) and never past anchor + N·INTERVAL.
 * The signed PERIOD stays the authority: a close that disagrees is surfaced as an anomaly.
 */
import { InvalidInputError } from '#protocol/errors.ts'
import { maxPeriodDays, type PeriodGeometry, periodEndFor } from '#protocol/meter/period.ts'

/** More periods than this between two records of one meter is not a clock, it is a fault. */
export const MAX_PERIOD_STEPS = 5000

export class ImplausibleTimeError extends InvalidInputError {
  override name = 'ImplausibleTimeError'
}

export interface PeriodRule {
  /** 0 = calendar months (UTC), else a period every this many days. */
  periodDays: number
  /** Provisioning point: start of the first period (unix seconds, on an interval boundary). */
  firstPeriodStart: number
  geometry: PeriodGeometry
}

export interface PeriodCalendar {
  /** Start of the period containing unix time `t` (the first period for earlier times). */
  startOf(t: number): number
  readonly rule: PeriodRule
}

export function createPeriodCalendar(rule: PeriodRule): PeriodCalendar {
  const max = maxPeriodDays(rule.geometry)
  if (!Number.isInteger(rule.periodDays) || rule.periodDays < 0 || rule.periodDays > max) {
    throw new InvalidInputError(
      `periodDays must be an integer in [0, ${max}] (0 = monthly), got ${rule.periodDays}`,
    )
  }
  const first = rule.firstPeriodStart
  if (!Number.isSafeInteger(first) || first < 0 || first % rule.geometry.intervalSeconds !== 0) {
    throw new InvalidInputError(`firstPeriodStart must be unix seconds on an interval boundary, got ${first}`)
  }
  // Periods chain from the first one; remember the last one found so a stream walks forward cheaply.
  let start = first
  let end = periodEndFor(first, rule.periodDays, rule.geometry)
  return {
    rule,
    startOf(t) {
      if (t < first) return first
      if (t < start) {
        start = first
        end = periodEndFor(first, rule.periodDays, rule.geometry)
      }
      // Walk on copies: a far-future time from a faulty meter must not move the cache.
      let s = start
      let e = end
      for (let steps = 0; t >= e; steps++) {
        if (steps >= MAX_PERIOD_STEPS) {
          throw new ImplausibleTimeError(
            `time ${t} is more than ${MAX_PERIOD_STEPS} billing periods after ${start}: check the meter's clock`,
          )
        }
        s = e
        e = periodEndFor(s, rule.periodDays, rule.geometry)
      }
      start = s
      end = e
      return start
    },
  }
}
