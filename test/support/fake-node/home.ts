/**
 * The fake node's automation: a meter that confirms relay and fan commands after a short delay
 * (unless the fixture marks a relay unresponsive: then the command times out, as the node reports
 * it), the rule engine, and the alarms over the fixture's alarm views.
 */
import type { StreamEventName, StreamEvents } from '#protocol/api/routes.ts'
import type { Alarm as AlarmView } from '#protocol/api/types.ts'
import { type Alarm, AlarmNotFoundError } from '../../../node/src/automation/alarms.ts'
import type { RoutesContext } from '../../../node/src/http/context.ts'
import { alarmView } from '../../../node/src/http/views.ts'
import type { FakeNodeState } from './fixtures.ts'

export type Publish = <N extends StreamEventName>(event: N, data: StreamEvents[N]) => void

const HAZARD = { fire: 'flame', gas: 'gas', flood: 'water' } as const
const epoch = (iso: string | null) => (iso === null ? undefined : Date.parse(iso))

/** The alarm manager's record an alarm view shows (the inverse of the node's alarmView). */
export function alarmOf(view: AlarmView): Alarm {
  const clearedAt = epoch(view.clearedAt)
  const acknowledgedAt = epoch(view.acknowledgedAt)
  return {
    id: view.id,
    // The fake node holds hazard alarms only (a disk-full alarm is the node's, storage/disk-alarm.ts).
    hazard: HAZARD[view.kind as keyof typeof HAZARD],
    severity: view.severity === 'escalated' ? 'deviceDidNotReact' : 'alarm',
    raisedAt: Date.parse(view.raisedAt),
    active: view.active,
    ...(clearedAt === undefined ? {} : { clearedAt }),
    reacted: view.deviceReacted,
    resends: view.resends,
    ...(acknowledgedAt === undefined ? {} : { acknowledgedAt }),
    expected: [],
  }
}

export function fakeAutomation(
  state: FakeNodeState,
  publish: Publish,
  options: { confirmMs: number },
): RoutesContext['automation'] {
  return {
    async send(command) {
      const sentAt = Date.now()
      await new Promise((resolve) => setTimeout(resolve, options.confirmMs))
      const elapsedMs = Date.now() - sentAt
      if (command.kind === 'power') {
        const relay = state.relays.find((r) => r.channel === command.channel)
        if (!relay || state.unresponsive.has(command.channel)) {
          return { status: 'failed', reason: 'timeout', command, elapsedMs }
        }
        Object.assign(relay, { on: command.on, known: true })
        publish('relay', { channel: command.channel, on: command.on })
      } else {
        state.fanSpeed = command.speed
        publish('relay', { fanSpeed: command.speed })
      }
      return { status: 'confirmed', command, elapsedMs }
    },
    commander: {
      outputs: () => ({
        relays: state.relays.map((r) => (r.known ? r.on : undefined)),
        fanSpeed: state.fanSpeed,
      }),
    },
    engine: { setRules: () => {} },
    alarms: {
      list: () => state.alarms.map(alarmOf),
      acknowledge(id) {
        const view = state.alarms.find((a) => a.id === id)
        if (!view) {
          throw new AlarmNotFoundError(
            `no alarm has the id ${JSON.stringify(id)}; list the alarms to see their ids`,
            { details: { id } },
          )
        }
        const acknowledged = {
          ...alarmOf(view),
          acknowledgedAt: view.acknowledgedAt ? Date.parse(view.acknowledgedAt) : Date.now(),
        }
        Object.assign(view, alarmView(acknowledged))
        publish('alarm', view)
        return acknowledged
      },
    },
  }
}
