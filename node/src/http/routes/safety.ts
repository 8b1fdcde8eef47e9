/** Safety: the alarms (list, acknowledge) and the notices from the utility and the neighbours. */
import type { HouseholdContext } from '../context.ts'
import type { HttpApi } from '../server.ts'
import { alarmView } from '../views.ts'

export type SafetyContext = Pick<HouseholdContext, 'automation' | 'ledger' | 'mesh'>

export function registerSafetyRoutes(api: HttpApi, ctx: SafetyContext): void {
  api.route('GET', '/api/alarms', ({ query }) => ({
    alarms: ctx.automation.alarms.list({ includeClosed: query.get('all') === 'true' }).map(alarmView),
  }))
  api.route('POST', '/api/alarms/:id/ack', ({ params }) => ({
    alarm: alarmView(ctx.automation.alarms.acknowledge(params.id as string, 'resident')),
  }))
  // Utility notices from the chain, then what the mesh delivered: utility notices (signature checked
  // against the ledger owner) and neighbours' alerts, oldest first.
  api.route('GET', '/api/notices', async () => ({
    notices: [
      ...(await ctx.ledger.notices()).map((n) => ({
        source: 'utility',
        via: 'chain',
        kind: n.kind,
        area: n.areaId,
        message: n.message,
        startsAt: Number(n.startsAt),
        endsAt: Number(n.endsAt),
      })),
      ...(ctx.mesh?.notices() ?? []),
    ],
  }))
}
