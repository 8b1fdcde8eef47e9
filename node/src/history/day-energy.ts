/**
 * Energy of the node's calendar day: local midnight (the node's time zone, as the resident reads a
 * clock) to the latest reading. What "how much have I used today?" answers; never a bill figure,
 * which covers a whole closed billing period.
 */
import type { ReadingHistory } from './readings.ts'

/** Local midnight (epoch seconds) of the day `time` falls in, in the node's time zone. */
export function localDayStart(time: number): number {
  const day = new Date(time * 1000)
  day.setHours(0, 0, 0, 0)
  return Math.floor(day.getTime() / 1000)
}

export interface DayEnergy {
  /** Local midnight the day starts at (epoch seconds). */
  day: number
  energyWh: number
  costWei: bigint
}

/**
 * The day of the latest reading (the meter's clock: a virtual meter runs ahead of the wall clock),
 * or undefined before any reading. Closed intervals whose start is on that day count, and the open
 * interval so far too, so the figure moves between closes as the live view's does.
 */
export function energyToday(
  history: Pick<ReadingHistory, 'intervals' | 'latest'>,
  priceAt: (time: number) => bigint,
): DayEnergy | undefined {
  const latest = history.latest()
  if (latest === undefined) return undefined
  const day = localDayStart(latest.time)
  let energyWh = 0
  let costWei = 0n
  // A sample is stamped with its interval's end: the first interval of the day ends after midnight.
  for (const sample of history.intervals(day + 1, latest.time + 1)) {
    energyWh += sample.intervalWh
    costWei += BigInt(sample.intervalWh) * priceAt(sample.time - 1)
  }
  if (latest.kind === 'live') {
    energyWh += latest.intervalWh
    costWei += BigInt(latest.intervalWh) * priceAt(latest.time)
  }
  return { day, energyWh, costWei }
}
