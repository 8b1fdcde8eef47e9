/**
 * Billing period boundaries (docs/protocol.md §2, §7): a period closes at a UTC midnight every
 * PeriodDays days, or at each calendar month's start when PeriodDays = 0, and never runs past
 * anchor + N·INTERVAL (anchor = UTC midnight of its first day): the circuit has N readings.
 */
import { InvalidInputError } from '../errors.ts'

const DAY = 86_400

export interface PeriodGeometry {
  /** Seconds per interval: 86400 / SLOTS. */
  intervalSeconds: number
  /** Readings per committed period (the circuit size). */
  n: number
}

/** Tariff slots per UTC day of a geometry: the slot of reading i is i mod slots (protocol §2). */
export const slotsOf = (geometry: PeriodGeometry): number => DAY / geometry.intervalSeconds

export const anchorOf = (start: number): number => start - (start % DAY)

/** Whole days a period can span from its anchor: min(31, ⌊N·INTERVAL / 86400⌋). */
export function maxPeriodDays(geometry: PeriodGeometry): number {
  return Math.min(31, Math.floor((geometry.n * geometry.intervalSeconds) / DAY))
}

/** The end of the period that starts at `start` under the PeriodDays setting `days`. */
export function periodEndFor(start: number, days: number, geometry: PeriodGeometry): number {
  const maxDays = maxPeriodDays(geometry)
  if (!Number.isInteger(days) || days < 0 || days > maxDays) {
    throw new InvalidInputError(`PeriodDays must be an integer in [0, ${maxDays}], got ${days}`)
  }
  if (!Number.isSafeInteger(start) || start < 0 || start % geometry.intervalSeconds !== 0) {
    throw new InvalidInputError(`a period starts on an interval boundary, got ${start}`)
  }
  const anchor = anchorOf(start)
  const cap = anchor + maxDays * DAY
  if (days > 0) return Math.min(anchor + days * DAY, cap)
  const date = new Date(anchor * 1000)
  const nextMonth = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / 1000
  return Math.min(nextMonth, cap)
}

/**
 * The end of a running period after PeriodDays changed at time `now`: the new setting applies to
 * the current period, but a period never closes in the past, so if its new end has already gone
 * by it closes at the next UTC midnight.
 */
export function rescheduledEnd(start: number, days: number, now: number, geometry: PeriodGeometry): number {
  const end = periodEndFor(start, days, geometry)
  if (end > now) return end
  return Math.min(anchorOf(now) + DAY, anchorOf(start) + maxPeriodDays(geometry) * DAY)
}
