/**
 * The meter's readings: the latest, the chart history, today's summary and the Energy view (both on
 * the household's calendar: config timeZone), the CSV export, anomalies.
 */

import type { RouteHandlers } from '#protocol/api/routes.ts'
import type { InsightRange } from '#protocol/api/types.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import { periodEndFor } from '#protocol/meter/period.ts'
import { parseDate } from '../../history/calendar.ts'
import { energyToday } from '../../history/day-energy.ts'
import { buildInsight } from '../../history/insight.ts'
import { intervalsToCsv, type Resolution } from '../../history/readings.ts'
import type { RoutesContext } from '../context.ts'
import { NotFoundError } from '../errors.ts'
import { timeParam } from '../params.ts'

export type ReadingsContext = Pick<RoutesContext, 'config' | 'history' | 'ingestor' | 'circuit' | 'priceAt'>

const RANGES: readonly InsightRange[] = ['day', 'week', 'month']

/**
 * The meter's open billing period: the one its last STATE reported, walked on to the latest reading
 * (a period may have closed since that STATE; the next starts where it ended). Undefined before a
 * STATE, or for one the period rules refuse (the ingestor reports that as an anomaly).
 */
function openBillingPeriod(ctx: ReadingsContext): { from: number; to: number } | undefined {
  const open = ctx.ingestor.status()[0]?.openPeriod
  const now = ctx.history.latest()?.time
  if (!open || now === undefined) return undefined
  try {
    let from = open.periodStart
    let to = periodEndFor(from, open.periodDays, ctx.circuit)
    for (let steps = 0; to <= now && steps < 1000; steps++) {
      from = to
      to = periodEndFor(from, open.periodDays, ctx.circuit)
    }
    return { from, to }
  } catch {
    return undefined
  }
}

export function readingRoutes(
  ctx: ReadingsContext,
): Pick<RouteHandlers, 'latestReading' | 'readings' | 'today' | 'insight' | 'exportCsv' | 'anomalies'> {
  return {
    latestReading: async () => {
      // Right after a period is sealed the newest record may be in a sealed period still being read.
      if (ctx.history.latest() === undefined) await ctx.history.whenLoaded()
      const reading = ctx.history.latest()
      if (!reading) throw new NotFoundError('no reading has arrived from the meter yet')
      return { reading }
    },
    // History reads wait until every sealed period is read back after a start (history/from-vault.ts).
    readings: async ({ query }) => {
      await ctx.history.whenLoaded()
      const now = ctx.history.latest()?.time ?? Math.floor(Date.now() / 1000)
      const to = timeParam(query, 'to', now + 1)
      const from = timeParam(query, 'from', to - 86_400)
      const resolution = (query.get('resolution') ?? 'interval') as Resolution
      if (!['interval', 'hour', 'day'].includes(resolution)) {
        throw new InvalidInputError('resolution must be interval, hour or day')
      }
      if (to < from || to - from > 400 * 86_400) {
        throw new InvalidInputError('from must be before to, and the range at most 400 days')
      }
      return { from, to, resolution, points: ctx.history.query(from, to, resolution, ctx.priceAt) }
    },
    // The calendar day of the latest reading: the same figure as the Day view of that day.
    today: async () => {
      await ctx.history.whenLoaded()
      const timeZone = ctx.config.timeZone
      const day = energyToday(ctx.history, ctx.priceAt, timeZone)
      const latest = ctx.history.latest()
      return {
        day: day?.day ?? 0,
        energyWh: day?.energyWh ?? 0,
        costWei: (day?.costWei ?? 0n).toString(),
        exportedWh: day?.exportedWh ?? 0,
        powerW: latest?.powerW ?? 0,
      }
    },
    insight: async ({ query }) => {
      const range = query.get('range') ?? 'day'
      if (!RANGES.includes(range as InsightRange)) {
        throw new InvalidInputError(`range must be day, week or month, got ${JSON.stringify(range)}`)
      }
      const date = query.get('date')
      await ctx.history.whenLoaded()
      const billPeriod = openBillingPeriod(ctx)
      return buildInsight(ctx.history, ctx.priceAt, {
        range: range as InsightRange,
        timeZone: ctx.config.timeZone,
        ...(date === null ? {} : { date: parseDate(date, 'date') }),
        ...(billPeriod ? { billPeriod } : {}),
      })
    },
    // Text: the route map names its media type and file name, and the registration writes it.
    exportCsv: async ({ query }) => {
      await ctx.history.whenLoaded()
      const now = ctx.history.latest()?.time ?? Math.floor(Date.now() / 1000)
      const to = timeParam(query, 'to', now + 1)
      const from = timeParam(query, 'from', 0)
      return intervalsToCsv(ctx.history.intervals(from, to), ctx.circuit.intervalSeconds)
    },
    anomalies: ({ query }) => ({
      counters: ctx.ingestor.counters(),
      anomalies: ctx.ingestor.anomalies({ since: timeParam(query, 'since', 0) }),
    }),
  }
}
