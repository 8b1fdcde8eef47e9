/**
 * The fake node's automation: a meter that confirms relay and fan commands after a short delay
 * (unless the fixture marks a relay unresponsive: then the command times out, as the node reports
 * it), the rule engine, and the alarms over the fixture's alarm views.
 */
import type { StreamEventName, StreamEvents } from '#protocol/api/routes.ts'
import type { Alarm as AlarmView } from '#protocol/api/types.ts'
import { type Alarm, AlarmNotFoundError, HAZARD_REACTIONS } from '../../../node/src/automation/alarms.ts'
import { checkSwitch, INTERLOCKS, interlockMasks } from '../../../node/src/automation/interlocks.ts'
import type { RelayCommand } from '../../../node/src/automation/reading.ts'
import type { RoutesContext } from '../../../node/src/http/context.ts'
import { alarmView } from '../../../node/src/http/views.ts'
import type { FakeNodeState } from './fixtures.ts'

export type Publish = <N extends StreamEventName>(event: N, data: StreamEvents[N]) => void

const HAZARD = { fire: 'flame', gas: 'gas', flood: 'water' } as const
const epoch = (iso: string | null) => (iso === null ? undefined : Date.parse(iso))

/** The alarm manager's record an alarm view shows (the inverse of the node's alarmView). */
export function alarmOf(view: AlarmView): Alarm {
  // The fake node holds hazard alarms only (a disk-full alarm is the node's, storage/disk-alarm.ts).
  const hazard = HAZARD[view.kind as keyof typeof HAZARD]
  const clearedAt = epoch(view.clearedAt)
  const acknowledgedAt = epoch(view.acknowledgedAt)
  return {
    id: view.id,
    hazard,
    severity: view.severity === 'escalated' ? 'deviceDidNotReact' : 'alarm',
    raisedAt: Date.parse(view.raisedAt),
    active: view.active,
    ...(clearedAt === undefined ? {} : { clearedAt }),
    reacted: view.deviceReacted,
    resends: view.resends,
    ...(acknowledgedAt === undefined ? {} : { acknowledgedAt }),
    // Acknowledged and cleared: the node has closed it.
    ...(acknowledgedAt !== undefined && !view.active ? { closedAt: acknowledgedAt } : {}),
    expected: HAZARD_REACTIONS[hazard].map((e) => ({ ...e })),
    ...(view.blip ? { blip: { durationMs: view.blip.durationS * 1000, count: view.blip.count } } : {}),
  }
}

/** The interlocks the fixture's alarms imply: active ones are hazards the meter reports, open ones latch. */
function interlockInputs(state: FakeNodeState) {
  // Only hazard alarms hold relays (a disk-full alarm holds nothing).
  const hazardAlarms = state.alarms.flatMap((a) =>
    a.kind in HAZARD ? [{ ...a, hazard: HAZARD[a.kind as keyof typeof HAZARD] }] : [],
  )
  const open = hazardAlarms.filter((a) => a.active || a.state !== 'acknowledged')
  return {
    hazards: hazardAlarms.filter((a) => a.active).reduce((bits, a) => bits | INTERLOCKS[a.hazard].bit, 0),
    latched: open.map((a) => ({
      hazard: a.hazard,
      alarmId: a.id,
      mask: interlockMasks(INTERLOCKS[a.hazard].bit).forcedOff,
    })),
  }
}

export function fakeAutomation(
  state: FakeNodeState,
  publish: Publish,
  options: { confirmMs: number },
): RoutesContext['automation'] {
  const automation: RoutesContext['automation'] = {
    async switch(command, switchOptions) {
      let result = { status: 'confirmed' } as Awaited<ReturnType<typeof automation.send>>
      for (const c of checkSwitch(command, interlockInputs(state), switchOptions)) {
        result = await automation.send(c)
        if (result.status !== 'confirmed') return result
      }
      return result
    },
    async send(command: RelayCommand) {
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
    // As the node does: a confirmed command given by hand holds for the rule set's overrideS.
    manual(command) {
      const output = command.kind === 'fanSpeed' ? 'fan' : command.channel
      const untilMs = Date.now() + state.rules.overrideS * 1000
      state.origins = [
        ...state.origins.filter((o) => o.output !== output),
        { output, by: 'manual', at: Date.now(), untilMs },
      ]
      return untilMs
    },
    origins: () => state.origins.map((o) => ({ ...o })),
    commander: {
      outputs: () => ({
        relays: state.relays.map((r) => (r.known ? r.on : undefined)),
        fanSpeed: state.fanSpeed,
      }),
    },
    engine: { setRules: () => {} },
    alarms: {
      interlockInputs: () => interlockInputs(state),
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
  return automation
}
