/** The alarm types and the safe state each hazard requires, shared by the alarm modules. */
import type { EventEmitter } from 'node:events'
import type { TimerHandle } from './clock.ts'
import { type Hazard, RELAY, type RelayCommand } from './reading.ts'

/** The safe state each hazard requires (protocol §8): the firmware does this on its own. */
export const HAZARD_REACTIONS: Readonly<Record<Hazard, readonly { channel: number; on: boolean }[]>> = {
  flame: [
    { channel: RELAY.sprinkler, on: true },
    { channel: RELAY.buzzer, on: true },
  ],
  gas: [
    { channel: RELAY.appliances, on: false },
    { channel: RELAY.ventFan, on: true },
    { channel: RELAY.buzzer, on: true },
  ],
  water: [
    { channel: RELAY.appliances, on: false },
    { channel: RELAY.buzzer, on: true },
  ],
}

export type AlarmSeverity = 'alarm' | 'deviceDidNotReact'

export interface Alarm {
  id: string
  hazard: Hazard
  severity: AlarmSeverity
  raisedAt: number
  /** The hazard is present now (debounced). An alarm stays listed after it clears until acknowledged. */
  active: boolean
  clearedAt?: number
  /** The device's relays reached the safe state for this hazard. */
  reacted: boolean
  reactedAt?: number
  /** How many times the node re-sent the safety commands itself. */
  resends: number
  acknowledgedAt?: number
  acknowledgedBy?: string
  /** Acknowledged and cleared: no longer open. */
  closedAt?: number
  expected: { channel: number; on: boolean }[]
}

export type AlarmEvent =
  | 'raised'
  | 'reactivated'
  | 'reacted'
  | 'escalated'
  | 'cleared'
  | 'acknowledged'
  | 'closed'

export type AlarmEvents = { [E in AlarmEvent]: [alarm: Alarm] } & {
  broadcastError: [alarm: Alarm, error: unknown]
  sendError: [command: RelayCommand, error: unknown]
}

/** An alarm not closed yet, with its reaction deadline timer. */
export interface OpenAlarm {
  alarm: Alarm
  timer: TimerHandle | undefined
}

/** Emits an alarm event (a snapshot) and hands raised / escalated / closed ones to the broadcaster. */
export type EmitAlarm = (event: AlarmEvent, alarm: Alarm) => void

export function createAlarmEmitter(
  events: EventEmitter<AlarmEvents>,
  broadcast: ((alarm: Alarm, event: 'raised' | 'escalated' | 'closed') => unknown) | undefined,
): EmitAlarm {
  return (event, alarm) => {
    events.emit(event, structuredClone(alarm))
    if (event === 'raised' || event === 'escalated' || event === 'closed') {
      const s = structuredClone(alarm)
      try {
        const result = broadcast?.(s, event)
        if (result instanceof Promise)
          result.catch((error: unknown) => events.emit('broadcastError', s, error))
      } catch (error) {
        events.emit('broadcastError', s, error)
      }
    }
  }
}
