/** The alarm types and the safe state each hazard requires, shared by the alarm modules. */
import type { EventEmitter } from 'node:events'
import { INTERLOCKS } from '#protocol/meter/interlocks.ts'
import type { TimerHandle } from './clock.ts'
import type { Hazard, RelayCommand } from './reading.ts'

/**
 * The safe state each hazard requires: the relays its interlock forces (protocol/meter/
 * interlocks.ts); the firmware does this on its own, the node confirms it. Locked relays (gas) are
 * not in it: they keep whatever state they had.
 */
export const HAZARD_REACTIONS: Readonly<Record<Hazard, readonly { channel: number; on: boolean }[]>> = {
  flame: forcedBy('flame'),
  gas: forcedBy('gas'),
  water: forcedBy('water'),
}

function forcedBy(hazard: Hazard): { channel: number; on: boolean }[] {
  return INTERLOCKS[hazard].relays
    .filter((r) => r.action !== 'locked')
    .map((r) => ({ channel: r.channel, on: r.action === 'forcedOn' }))
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
  /**
   * The relays (bits) and fan speed of the last reading without any hazard before it was raised
   * (undefined: none seen since start): what acknowledging it, once cleared, restores.
   */
  before?: { relays: number; fanSpeed: number }
  /** The commands the node sent to restore the state before the alarm when it closed. */
  restored?: RelayCommand[]
  /**
   * Set when the hazard went away before the debounce raised an alarm (a blip): the meter's own
   * safety reaction still switched its relays off and latched them, so the node lists the blip as
   * a cleared alarm (never sent to the neighbours) to say why they are off and to restore them on
   * acknowledgement. `durationMs`: the latest blip's length; `count`: blips since it was opened.
   */
  blip?: { durationMs: number; count: number }
}

export type AlarmEvent =
  | 'raised'
  | 'blipped'
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
    // A blip never became an alarm here: the neighbours hear of real alarms only.
    if (alarm.blip !== undefined) return
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
