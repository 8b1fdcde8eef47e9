/** The meter's readings: the latest, the chart history, today's summary, the CSV export, anomalies. */

import type { RouteHandlers } from '#protocol/api/routes.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import { intervalsToCsv, type Resolution } from '../../history/readings.ts'
import type { RoutesContext } from '../context.ts'
import { NotFoundError } from '../errors.ts'
import { timeParam } from '../params.ts'

export type ReadingsContext = Pick<RoutesContext, 'history' | 'ingestor' | 'circuit' | 'priceAt'>

export function readingRoutes(
  ctx: ReadingsContext,
): Pick<RouteHandlers, 'latestReading' | 'readings' | 'today' | 'exportCsv' | 'anomalies'> {
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
    today: async () => {
      await ctx.history.whenLoaded()
      return ctx.history.today(ctx.priceAt)
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
