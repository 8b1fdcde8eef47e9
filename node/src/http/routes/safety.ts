/** Safety: the alarms (list, acknowledge) and the notices from the utility and the neighbours. */
import type { RouteHandlers } from '#protocol/api/routes.ts'
import type { RoutesContext } from '../context.ts'
import { alarmView } from '../views.ts'

export type SafetyContext = Pick<RoutesContext, 'automation' | 'ledger' | 'mesh' | 'diskAlarm'>

export function safetyRoutes(
  ctx: SafetyContext,
): Pick<RouteHandlers, 'alarms' | 'acknowledgeAlarm' | 'notices'> {
  return {
    alarms: ({ query }) => ({
      alarms: [
        ...ctx.automation.alarms.list({ includeClosed: query.get('all') === 'true' }).map(alarmView),
        ...(ctx.diskAlarm?.list() ?? []),
      ],
    }),
    acknowledgeAlarm: ({ params }) => ({
      alarm:
        ctx.diskAlarm?.acknowledge(params.id) ??
        alarmView(ctx.automation.alarms.acknowledge(params.id, 'resident')),
    }),
    // Utility notices from the chain, then what the mesh delivered: utility notices (signature checked
    // against the ledger owner) and neighbours' alerts, oldest first.
    notices: async () => ({
      notices: [
        ...(await ctx.ledger.notices()).map((n) => ({
          source: 'utility' as const,
          via: 'chain' as const,
          kind: n.kind,
          area: n.areaId,
          message: n.message,
          startsAt: Number(n.startsAt),
          endsAt: Number(n.endsAt),
        })),
        ...(ctx.mesh?.notices() ?? []),
      ],
    }),
  }
}
