/**
 * Energy and cost of a stretch of time, split by chart bucket and by price level: the arithmetic
 * under "Energy today", the Day/Week/Month views and the projected bill, so they cannot disagree.
 *
 * A reading counts in a stretch [from, to) by the last second it covers: an interval record is
 * stamped with its interval's end, so the interval ending at midnight belongs to the day before.
 * The open interval so far (the latest reading's `intervalWh` when it is a live one) counts at the
 * latest reading's time, so the figure moves between interval closes as the live view's does.
 * Cost is energy × the price of the tariff in force at that second (wei per Wh).
 */
import type { ReadingHistory } from './readings.ts'

export type UsageSource = Pick<ReadingHistory, 'intervals' | 'latest'>
export type PriceAt = (time: number) => bigint

export interface Usage {
  energyWh: number
  costWei: bigint
}

export interface BucketUsage extends Usage {
  /** The bucket's start (unix seconds). */
  time: number
  seconds: number
  maxPowerW: number
  /** Wh exported in the bucket: never priced here (the import bill is the import energy's). */
  exportedWh: number
}

export interface SplitUsage extends Usage {
  /** Wh exported (returned to the grid) over the whole stretch. */
  exportedWh: number
  /** One per bucket of `edges` (the last edge is the end). */
  buckets: BucketUsage[]
  /** Per price, cheapest first. */
  levels: (Usage & { priceWeiPerWh: bigint })[]
  /** Readings counted (interval records, and the open interval). */
  samples: number
}

interface Piece {
  /** The last second the energy was used in. */
  at: number
  energyWh: number
  exportedWh: number
  maxPowerW: number
}

/** Every piece of energy used in [from, to): interval records, then the open interval. */
function pieces(history: UsageSource, from: number, to: number): Piece[] {
  const out: Piece[] = history.intervals(from + 1, to + 1).map((s) => ({
    at: s.time - 1,
    energyWh: s.intervalWh,
    exportedWh: s.exportedWh,
    maxPowerW: s.maxPowerW,
  }))
  const latest = history.latest()
  if (latest && latest.kind === 'live' && latest.time - 1 >= from && latest.time - 1 < to)
    out.push({
      at: latest.time - 1,
      energyWh: latest.intervalWh,
      exportedWh: latest.intervalExportedWh,
      maxPowerW: latest.powerW,
    })
  return out
}

/** Index of the bucket of `edges` holding `at` (edges ascending, `at` within them). */
function bucketOf(edges: readonly number[], at: number): number {
  let lo = 0
  let hi = edges.length - 2
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if ((edges[mid] as number) <= at) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** Energy and cost between edges[0] and the last edge, per bucket and per price level. */
export function splitUsage(history: UsageSource, edges: readonly number[], priceAt: PriceAt): SplitUsage {
  if (edges.length < 2) throw new RangeError('splitUsage needs at least a start and an end edge')
  const from = edges[0] as number
  const to = edges[edges.length - 1] as number
  const buckets: BucketUsage[] = edges.slice(0, -1).map((time, i) => ({
    time,
    seconds: (edges[i + 1] as number) - time,
    energyWh: 0,
    costWei: 0n,
    maxPowerW: 0,
    exportedWh: 0,
  }))
  const levels = new Map<bigint, Usage>()
  let energyWh = 0
  let exportedWh = 0
  let costWei = 0n
  const found = pieces(history, from, to)
  for (const piece of found) {
    const price = priceAt(piece.at)
    const cost = BigInt(piece.energyWh) * price
    const bucket = buckets[bucketOf(edges, piece.at)] as BucketUsage
    bucket.energyWh += piece.energyWh
    bucket.costWei += cost
    bucket.maxPowerW = Math.max(bucket.maxPowerW, piece.maxPowerW)
    bucket.exportedWh += piece.exportedWh
    const level = levels.get(price) ?? { energyWh: 0, costWei: 0n }
    level.energyWh += piece.energyWh
    level.costWei += cost
    levels.set(price, level)
    energyWh += piece.energyWh
    exportedWh += piece.exportedWh
    costWei += cost
  }
  return {
    energyWh,
    costWei,
    exportedWh,
    buckets,
    levels: [...levels.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([priceWeiPerWh, use]) => ({ priceWeiPerWh, ...use })),
    samples: found.length,
  }
}

/** Energy and cost in [from, to) (no split). */
/** Energy and cost of [from, to), and the energy exported in it (never priced here). */
export function usageBetween(
  history: UsageSource,
  from: number,
  to: number,
  priceAt: PriceAt,
): Usage & { exportedWh: number } {
  let energyWh = 0
  let exportedWh = 0
  let costWei = 0n
  for (const piece of pieces(history, from, to)) {
    energyWh += piece.energyWh
    exportedWh += piece.exportedWh
    costWei += BigInt(piece.energyWh) * priceAt(piece.at)
  }
  return { energyWh, costWei, exportedWh }
}

export interface ProjectedUsage extends Usage {
  method: 'period-average' | 'same-weekday'
  from: number
  to: number
  asOf: number
  projectedEnergyWh: number
  projectedCostWei: bigint
  /** `same-weekday`: the stretch a week before that stands for the time left, and its energy. */
  reference?: { from: number; to: number; energyWh: number }
}

const WEEK = 7 * 86_400
/** Last week's stretch must be this well covered by interval records to stand for the time left. */
const MIN_COVERAGE = 0.9

/**
 * An open period's use so far, projected to its end at the average rate of the period so far:
 * so far × (period length ÷ time elapsed). Undefined unless `asOf` lies inside the period.
 */
export function projectUsage(
  history: UsageSource,
  period: { from: number; to: number },
  asOf: number,
  priceAt: PriceAt,
): ProjectedUsage | undefined {
  if (!(asOf > period.from && asOf <= period.to)) return undefined
  const soFar = usageBetween(history, period.from, period.to, priceAt)
  const length = period.to - period.from
  const elapsed = asOf - period.from
  return {
    method: 'period-average',
    ...period,
    asOf,
    ...soFar,
    projectedEnergyWh: Math.round((soFar.energyWh * length) / elapsed),
    projectedCostWei: (soFar.costWei * BigInt(length)) / BigInt(elapsed),
  }
}

/**
 * An open period's use so far, plus what the home used over the same hours of the same weekday a
 * week before, priced at the tariff in force for the hours left. A home's day has a shape (a
 * morning low, an evening peak), so at 10:00 the average so far says little about the evening;
 * last week's evening says more. Undefined when the time left is longer than a week (last week's
 * stretch would reach past the latest reading) or when interval records cover under 90 % of it
 * (a new meter, a gap): the caller falls back to the period average.
 */
export function projectFromSameWeekday(
  history: UsageSource,
  period: { from: number; to: number },
  asOf: number,
  priceAt: PriceAt,
): ProjectedUsage | undefined {
  if (!(asOf > period.from && asOf <= period.to)) return undefined
  const left = period.to - asOf
  if (left > WEEK) return undefined
  const soFar = usageBetween(history, period.from, period.to, priceAt)
  const from = asOf - WEEK
  const to = period.to - WEEK
  // The records whose interval ends inside (from, to]: the first may start before `from`.
  const samples = history.intervals(from + 1, to + 1)
  let step = Number.POSITIVE_INFINITY
  for (let i = 1; i < samples.length; i++) {
    const gap = (samples[i] as { time: number }).time - (samples[i - 1] as { time: number }).time
    if (gap > 0 && gap < step) step = gap
  }
  if (!Number.isFinite(step) || samples.length * step < MIN_COVERAGE * left) return undefined
  let energy = 0
  let costWei = 0n
  for (const s of samples) {
    // Only the part of the interval after `from`: the open interval so far is already in soFar.
    const part = Math.min(1, (s.time - from) / step)
    const wh = Math.round(s.intervalWh * part)
    energy += wh
    costWei += BigInt(wh) * priceAt(s.time - 1 + WEEK)
  }
  return {
    method: 'same-weekday',
    ...period,
    asOf,
    ...soFar,
    projectedEnergyWh: soFar.energyWh + energy,
    projectedCostWei: soFar.costWei + costWei,
    reference: { from, to, energyWh: energy },
  }
}
