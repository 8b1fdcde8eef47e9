/**
 * Energy of the household's calendar day: local midnight (the household's time zone, as the
 * resident reads a clock) to the latest reading. What "how much have I used today?" answers, on the
 * Live view, by voice and as the Day view of today (one computation: usage.ts); never a bill
 * figure, which covers a whole closed billing period.
 */
import { civilDateOf, periodOf, startOfDate } from './calendar.ts'
import type { ReadingHistory } from './readings.ts'
import { type PriceAt, usageBetween } from './usage.ts'

/** Local midnight (epoch seconds) of the day `time` falls in, in `timeZone`. */
export function localDayStart(time: number, timeZone: string): number {
  return startOfDate(civilDateOf(time, timeZone), timeZone)
}

export interface DayEnergy {
  /** Local midnight the day starts at (epoch seconds). */
  day: number
  energyWh: number
  costWei: bigint
  /** Wh returned to the grid (a home with solar); 0 for a home without export. */
  exportedWh: number
}

/**
 * The day of the latest reading (the meter's clock: a virtual meter runs ahead of the wall clock),
 * or undefined before any reading.
 */
export function energyToday(
  history: Pick<ReadingHistory, 'intervals' | 'latest'>,
  priceAt: PriceAt,
  timeZone: string,
): DayEnergy | undefined {
  const latest = history.latest()
  if (latest === undefined) return undefined
  // The whole calendar day, exactly as the Day view counts it (insight.ts), so the two agree.
  const { from, to } = periodOf('day', civilDateOf(latest.time, timeZone), timeZone)
  return { day: from, ...usageBetween(history, from, to, priceAt) }
}
