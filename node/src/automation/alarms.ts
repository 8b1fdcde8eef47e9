/**
 * Hazard alarms (flame, gas, water). The firmware reacts first (protocol §8); the node's job is to
 * (1) debounce the hazard bits so a noisy sensor cannot flap an alarm, (2) confirm the device
 * actually put its safety relays in the safe state within a deadline and, if not, re-send the
 * commands and escalate the alarm to "device did not react", (3) latch every alarm until a person
 * acknowledges it, and (4) tell the UI (events + query) and the broadcaster (the mesh).
 */
import { EventEmitter } from 'node:events'
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import type { Clock, TimerHandle } from './clock.ts'
import {
  HAZARD_BIT,
  HAZARDS,
  type Hazard,
  RELAY,
  RELAY_COUNT,
  type Reading,
  type RelayCommand,
  relayIsOn,
  toReading,
} from './reading.ts'

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

export class AlarmNotFoundError extends ZkMeterError {
  override name = 'AlarmNotFoundError'
  override readonly category = 'not-found'
}

export interface AlarmManagerOptions {
  clock: Clock
  /** Used to re-send safety commands when the device did not react (e.g. commander.send). */
  sendCommand: (command: RelayCommand) => unknown
  /** Raise after the hazard bit is seen in this many consecutive readings … */
  raiseAfterReadings?: number
  /** … or has been present continuously for this long (whichever comes first). */
  raiseAfterS?: number
  /** Clear after this many consecutive readings without the hazard … */
  clearAfterReadings?: number
  /** … or this long without it. */
  clearAfterS?: number
  /** The device must show the safe relay state this long after the alarm is raised. */
  confirmDeadlineS?: number
  /** Re-send rounds before the node stops re-sending (the alarm stays escalated). */
  maxResends?: number
  /** Hands raised / escalated / closed alarms to the neighbourhood (the mesh). */
  broadcast?: (alarm: Alarm, event: 'raised' | 'escalated' | 'closed') => unknown
  /** Closed alarms kept for the history query. */
  historySize?: number
}

export interface AlarmManager {
  start(): void
  stop(): void
  observeReading(reading: Reading | Record<string, unknown>): void
  /** A relay state from `stat/` (commander 'relay' event): confirms reactions between records. */
  observeRelay(channel: number, on: boolean): void
  acknowledge(id: string, by?: string): Alarm
  /** Open alarms (not closed), oldest first; with includeClosed also the recent history. */
  list(options?: { includeClosed?: boolean }): Alarm[]
  get(id: string): Alarm
  events: EventEmitter<AlarmEvents>
}

interface Debounce {
  setStreak: number
  setSince: number
  clearStreak: number
  clearSince: number
}

interface OpenAlarm {
  alarm: Alarm
  timer: TimerHandle | undefined
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isFinite(v) || v < 0)
    throw new InvalidInputError(`${name} must be a non-negative number, got ${v}`)
  return v
}

export function createAlarmManager(options: AlarmManagerOptions): AlarmManager {
  const { clock, sendCommand } = options
  const raiseAfterReadings = positive('raiseAfterReadings', options.raiseAfterReadings, 3)
  const raiseAfterMs = positive('raiseAfterS', options.raiseAfterS, 5) * 1000
  const clearAfterReadings = positive('clearAfterReadings', options.clearAfterReadings, 5)
  const clearAfterMs = positive('clearAfterS', options.clearAfterS, 30) * 1000
  const deadlineMs = positive('confirmDeadlineS', options.confirmDeadlineS, 5) * 1000
  const maxResends = positive('maxResends', options.maxResends, 5)
  const historySize = positive('historySize', options.historySize, 100)
  const events = new EventEmitter<AlarmEvents>()
  const debounce = new Map<Hazard, Debounce>(
    HAZARDS.map((h) => [h, { setStreak: 0, setSince: 0, clearStreak: 0, clearSince: 0 }]),
  )
  const open = new Map<Hazard, OpenAlarm>()
  const history: Alarm[] = []
  const relays: (boolean | undefined)[] = Array.from({ length: RELAY_COUNT }, () => undefined)
  let running = false
  let counter = 0

  const snapshot = (alarm: Alarm): Alarm => structuredClone(alarm)

  function emit(event: AlarmEvent, alarm: Alarm): void {
    events.emit(event, snapshot(alarm))
    if (event === 'raised' || event === 'escalated' || event === 'closed') {
      const s = snapshot(alarm)
      try {
        const result = options.broadcast?.(s, event)
        if (result instanceof Promise)
          result.catch((error: unknown) => events.emit('broadcastError', s, error))
      } catch (error) {
        events.emit('broadcastError', s, error)
      }
    }
  }

  function unmet(alarm: Alarm): { channel: number; on: boolean }[] {
    return alarm.expected.filter((e) => relays[e.channel - 1] !== e.on)
  }

  function disarm(entry: OpenAlarm): void {
    if (entry.timer !== undefined) clock.clearTimeout(entry.timer)
    entry.timer = undefined
  }

  function checkReaction(entry: OpenAlarm): void {
    const { alarm } = entry
    if (alarm.reacted || !alarm.active || unmet(alarm).length > 0) return
    alarm.reacted = true
    alarm.reactedAt = clock.now()
    disarm(entry)
    emit('reacted', alarm)
  }

  function arm(entry: OpenAlarm): void {
    disarm(entry)
    entry.timer = clock.setTimeout(() => {
      entry.timer = undefined
      const { alarm } = entry
      if (!running || alarm.reacted || !alarm.active) return
      const missing = unmet(alarm)
      if (missing.length === 0) return checkReaction(entry)
      if (alarm.resends >= maxResends) return
      alarm.resends++
      const wasEscalated = alarm.severity === 'deviceDidNotReact'
      alarm.severity = 'deviceDidNotReact'
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
      if (!wasEscalated) emit('escalated', alarm)
      arm(entry)
    }, deadlineMs)
  }

  function raise(hazard: Hazard, now: number): void {
    const existing = open.get(hazard)
    if (existing !== undefined) {
      // Still latched from an earlier episode: the same alarm becomes active again.
      const { alarm } = existing
      alarm.active = true
      delete alarm.clearedAt
      alarm.reacted = false
      delete alarm.reactedAt
      emit('reactivated', alarm)
      checkReaction(existing)
      if (!alarm.reacted) arm(existing)
      return
    }
    counter++
    const alarm: Alarm = {
      id: `${hazard}-${now}-${counter}`,
      hazard,
      severity: 'alarm',
      raisedAt: now,
      active: true,
      reacted: false,
      resends: 0,
      expected: HAZARD_REACTIONS[hazard].map((e) => ({ ...e })),
    }
    const entry: OpenAlarm = { alarm, timer: undefined }
    open.set(hazard, entry)
    emit('raised', alarm)
    checkReaction(entry)
    if (!alarm.reacted) arm(entry)
  }

  function close(hazard: Hazard, entry: OpenAlarm): void {
    disarm(entry)
    open.delete(hazard)
    entry.alarm.closedAt = clock.now()
    history.push(entry.alarm)
    while (history.length > historySize) history.shift()
    emit('closed', entry.alarm)
  }

  function clear(hazard: Hazard, entry: OpenAlarm, now: number): void {
    entry.alarm.active = false
    entry.alarm.clearedAt = now
    disarm(entry)
    emit('cleared', entry.alarm)
    if (entry.alarm.acknowledgedAt !== undefined) close(hazard, entry)
  }

  function findOpen(id: string): [Hazard, OpenAlarm] | undefined {
    for (const [hazard, entry] of open) if (entry.alarm.id === id) return [hazard, entry]
    return undefined
  }

  return {
    events,
    start() {
      running = true
    },
    stop() {
      running = false
      for (const entry of open.values()) disarm(entry)
    },
    observeReading(input) {
      const reading = toReading(input)
      if (!running) return
      const now = clock.now()
      for (let channel = 1; channel <= RELAY_COUNT; channel++)
        relays[channel - 1] = relayIsOn(reading.relays, channel)
      for (const hazard of HAZARDS) {
        const d = debounce.get(hazard)!
        const entry = open.get(hazard)
        if ((reading.hazards & HAZARD_BIT[hazard]) !== 0) {
          d.clearStreak = 0
          if (d.setStreak === 0) d.setSince = now
          d.setStreak++
          const persisted = d.setStreak >= raiseAfterReadings || now - d.setSince >= raiseAfterMs
          if (persisted && (entry === undefined || !entry.alarm.active)) raise(hazard, now)
        } else {
          d.setStreak = 0
          if (entry === undefined || !entry.alarm.active) continue
          if (d.clearStreak === 0) d.clearSince = now
          d.clearStreak++
          if (d.clearStreak >= clearAfterReadings || now - d.clearSince >= clearAfterMs)
            clear(hazard, entry, now)
        }
      }
      for (const entry of open.values()) checkReaction(entry)
    },
    observeRelay(channel, on) {
      if (!Number.isInteger(channel) || channel < 1 || channel > RELAY_COUNT || typeof on !== 'boolean') {
        throw new InvalidInputError(`relay state must be a channel 1..${RELAY_COUNT} and a boolean`)
      }
      relays[channel - 1] = on
      if (running) for (const entry of open.values()) checkReaction(entry)
    },
    acknowledge(id, by) {
      const found = findOpen(id)
      if (found === undefined) {
        const closed = history.find((a) => a.id === id)
        if (closed !== undefined) return snapshot(closed)
        throw new AlarmNotFoundError(
          `no alarm has the id ${JSON.stringify(id)}; list the alarms to see their ids`,
          {
            details: { id },
          },
        )
      }
      const [hazard, entry] = found
      if (entry.alarm.acknowledgedAt === undefined) {
        entry.alarm.acknowledgedAt = clock.now()
        if (typeof by === 'string' && by.length > 0) entry.alarm.acknowledgedBy = by.slice(0, 64)
        emit('acknowledged', entry.alarm)
      }
      const result = snapshot(entry.alarm)
      if (!entry.alarm.active) close(hazard, entry)
      return entry.alarm.closedAt === undefined ? result : snapshot(entry.alarm)
    },
    list(opts = {}) {
      const current = [...open.values()].map((e) => snapshot(e.alarm)).sort((a, b) => a.raisedAt - b.raisedAt)
      return opts.includeClosed ? [...history.map(snapshot), ...current] : current
    },
    get(id) {
      const alarm = findOpen(id)?.[1].alarm ?? history.find((a) => a.id === id)
      if (alarm === undefined) {
        throw new AlarmNotFoundError(
          `no alarm has the id ${JSON.stringify(id)}; list the alarms to see their ids`,
        )
      }
      return snapshot(alarm)
    },
  }
}
