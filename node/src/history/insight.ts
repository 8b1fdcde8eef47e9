/**
 * The resident's Energy view (GET /api/insight): a calendar day, week or month in the household's
 * time zone with its hourly or daily energy and cost, the split by price level, the periods before
 * it for comparison, and for an open period (and the open billing period) the projection to its
 * end. Composition over calendar.ts (dates) and usage.ts (arithmetic).
 */
import type { Insight, InsightComparison, InsightRange, Projection } from '#protocol/api/types.ts'
import {
  addDays,
  bucketEdges,
  type CalendarPeriod,
  type CivilDate,
  civilDateOf,
  formatDate,
  periodOf,
  shiftRange,
  startOfDate,
} from './calendar.ts'
import {
  type PriceAt,
  type ProjectedUsage,
  projectFromSameWeekday,
  projectUsage,
  splitUsage,
  type UsageSource,
  usageBetween,
} from './usage.ts'

export interface InsightRequest {
  range: InsightRange
  /** A day in the period wanted; default the latest reading's day (today before any reading). */
  date?: CivilDate
  timeZone: string
  /** The meter's open billing period, when the meter has reported it. */
  billPeriod?: { from: number; to: number }
}

/** Last week's same hours where the history has them, else the average so far. */
function project(history: UsageSource, period: { from: number; to: number }, now: number, priceAt: PriceAt) {
  return projectFromSameWeekday(history, period, now, priceAt) ?? projectUsage(history, period, now, priceAt)
}

function projection(p: ProjectedUsage | undefined): Projection | null {
  if (!p) return null
  return {
    method: p.method,
    ...(p.reference ? { reference: p.reference } : {}),
    from: p.from,
    to: p.to,
    asOf: p.asOf,
    energyWh: p.energyWh,
    costWei: p.costWei.toString(),
    projectedEnergyWh: p.projectedEnergyWh,
    projectedCostWei: p.projectedCostWei.toString(),
  }
}

/** The periods the chosen one is compared with: the day before and a week before, or the week or month before. */
function comparedPeriods(
  period: CalendarPeriod,
  timeZone: string,
): [InsightComparison['kind'], CalendarPeriod][] {
  const before = (steps: number) =>
    periodOf(period.range, shiftRange(period.range, period.first, steps), timeZone)
  if (period.range === 'day')
    return [
      ['previous-day', before(-1)],
      ['week-before', periodOf('day', addDays(period.first, -7), timeZone)],
    ]
  return [[period.range === 'week' ? 'previous-week' : 'previous-month', before(-1)]]
}

export function buildInsight(history: UsageSource, priceAt: PriceAt, request: InsightRequest): Insight {
  const { range, timeZone } = request
  const now = history.latest()?.time ?? null
  const date = request.date ?? civilDateOf(now ?? Math.floor(Date.now() / 1000), timeZone)
  const period = periodOf(range, date, timeZone)
  const split = splitUsage(history, bucketEdges(period, timeZone), priceAt)
  const open = now !== null && now > period.from && now <= period.to
  const next = shiftRange(range, period.first, 1)
  const comparisons = comparedPeriods(period, timeZone).map(([kind, p]): InsightComparison => {
    const whole = usageBetween(history, p.from, p.to, priceAt)
    return {
      kind,
      date: formatDate(p.first),
      from: p.from,
      to: p.to,
      energyWh: whole.energyWh,
      costWei: whole.costWei.toString(),
      // Up to the same time into the period: "by this time yesterday".
      sameTimeEnergyWh:
        open && now !== null
          ? usageBetween(history, p.from, Math.min(p.to, p.from + (now - period.from)), priceAt).energyWh
          : null,
    }
  })
  const bill =
    request.billPeriod && now !== null ? project(history, request.billPeriod, now, priceAt) : undefined
  return {
    timeZone,
    range,
    date: formatDate(period.first),
    previous: formatDate(shiftRange(range, period.first, -1)),
    // Nothing to see past the period holding the latest reading.
    next: now !== null && startOfDate(next, timeZone) < now ? formatDate(next) : null,
    from: period.from,
    to: period.to,
    now,
    samples: split.samples,
    energyWh: split.energyWh,
    costWei: split.costWei.toString(),
    exportedWh: split.exportedWh,
    points: split.buckets.map((b) => ({
      time: b.time,
      energyWh: b.energyWh,
      exportedWh: b.exportedWh,
      costWei: b.costWei.toString(),
      avgPowerW: Math.round((b.energyWh * 3600) / b.seconds),
      maxPowerW: b.maxPowerW,
    })),
    levels: split.levels.map((l) => ({
      priceWeiPerWh: l.priceWeiPerWh.toString(),
      energyWh: l.energyWh,
      costWei: l.costWei.toString(),
    })),
    comparisons,
    projection: open ? projection(project(history, period, now, priceAt)) : null,
    bill: projection(bill),
  }
}
