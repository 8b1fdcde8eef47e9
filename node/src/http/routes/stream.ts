/** GET /api/stream: the live events (readings, bills, alarms, relays, anomalies, notices) as SSE. */
import type { HouseholdContext } from '../context.ts'
import type { HttpApi } from '../server.ts'

export type StreamContext = Pick<HouseholdContext, 'stream'>

export function registerStreamRoute(api: HttpApi, ctx: StreamContext): void {
  api.sse('/api/stream', ctx.stream)
}
