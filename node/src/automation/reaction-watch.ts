/**
 * Confirming the device's reaction: an alarm's safe relay state must show up (in a reading or a
 * `stat/` report) within the deadline; if not, the node re-sends the missing safety commands itself
 * and escalates the alarm to "device did not react", up to maxResends rounds.
 */
import type { EventEmitter } from 'node:events'
import type { AlarmEvents, EmitAlarm, OpenAlarm } from './alarm-types.ts'
import type { Clock } from './clock.ts'
import { RELAY_COUNT, type RelayCommand } from './reading.ts'

export interface ReactionWatch {
  /** The last known state of each relay (index channel − 1); undefined until seen. */
  readonly relays: (boolean | undefined)[]
  /** Marks the alarm reacted when its safe state is reached. */
  check(entry: OpenAlarm): void
  /** (Re)starts the deadline timer. */
  arm(entry: OpenAlarm): void
  disarm(entry: OpenAlarm): void
}

export function createReactionWatch(options: {
  clock: Clock
  sendCommand: (command: RelayCommand) => unknown
  events: EventEmitter<AlarmEvents>
  emit: EmitAlarm
  deadlineMs: number
  maxResends: number
  isRunning: () => boolean
}): ReactionWatch {
  const { clock, sendCommand, events, emit } = options
  const relays: (boolean | undefined)[] = Array.from({ length: RELAY_COUNT }, () => undefined)

  const unmet = (entry: OpenAlarm) => entry.alarm.expected.filter((e) => relays[e.channel - 1] !== e.on)

  function disarm(entry: OpenAlarm): void {
    if (entry.timer !== undefined) clock.clearTimeout(entry.timer)
    entry.timer = undefined
  }

  function check(entry: OpenAlarm): void {
    const { alarm } = entry
    if (alarm.reacted || !alarm.active || unmet(entry).length > 0) return
    alarm.reacted = true
    alarm.reactedAt = clock.now()
    disarm(entry)
    emit('reacted', alarm)
  }

  function resend(missing: { channel: number; on: boolean }[]): void {
    for (const { channel, on } of missing) {
      const command: RelayCommand = { kind: 'power', channel, on }
      try {
        const result = sendCommand(command)
        if (result instanceof Promise)
          result.catch((error: unknown) => events.emit('sendError', command, error))
      } catch (error) {
        events.emit('sendError', command, error)
      }
    }
  }

  function arm(entry: OpenAlarm): void {
    disarm(entry)
    entry.timer = clock.setTimeout(() => {
      entry.timer = undefined
      const { alarm } = entry
      if (!options.isRunning() || alarm.reacted || !alarm.active) return
      const missing = unmet(entry)
      if (missing.length === 0) return check(entry)
      if (alarm.resends >= options.maxResends) return
      alarm.resends++
      const wasEscalated = alarm.severity === 'deviceDidNotReact'
      alarm.severity = 'deviceDidNotReact'
      resend(missing)
      if (!wasEscalated) emit('escalated', alarm)
      arm(entry)
    }, options.deadlineMs)
  }

  return { relays, check, arm, disarm }
}
