/**
 * Hazard alarms (flame, gas, water). The firmware reacts first (protocol §8); the node's job is to
 * (1) debounce the hazard bits so a noisy sensor cannot flap an alarm, (2) confirm the device
 * actually put its safety relays in the safe state within a deadline and, if not, re-send the
 * commands and escalate the alarm to "device did not react", (3) latch every alarm until a person
 * acknowledges it, and (4) tell the UI (events + query) and the broadcaster (the mesh).
 */
import { EventEmitter } from 'node:events'
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import { INTERLOCKS, interlockMasks, NORMAL_RELAYS, relayBit } from '#protocol/meter/interlocks.ts'
import {
  type Alarm,
  type AlarmEvents,
  createAlarmEmitter,
  HAZARD_REACTIONS,
  type OpenAlarm,
} from './alarm-types.ts'
import type { Clock } from './clock.ts'
import { createHazardDebounce } from './hazard-debounce.ts'
import type { InterlockInputs } from './interlocks.ts'
import { createReactionWatch } from './reaction-watch.ts'
import {
  HAZARD_BIT,
  HAZARDS,
  type Hazard,
  RELAY_COUNT,
  type Reading,
  type RelayCommand,
  relayIsOn,
  toReading,
} from './reading.ts'

export {
  type Alarm,
  type AlarmEvent,
  type AlarmEvents,
  type AlarmSeverity,
  HAZARD_REACTIONS,
} from './alarm-types.ts'

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
  /** Open alarms saved before a restart (alarm-store.ts): they stay open, latched as they were. */
  restore?: readonly Alarm[]
  /** Called with the open alarms after every change, to save them (alarm-store.ts). */
  onChange?: (open: Alarm[]) => void
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
  /** The hazard bits of the latest reading and the relays each open alarm holds off (interlocks.ts). */
  interlockInputs(): InterlockInputs
  get(id: string): Alarm
  events: EventEmitter<AlarmEvents>
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isFinite(v) || v < 0)
    throw new InvalidInputError(`${name} must be a non-negative number, got ${v}`)
  return v
}

/** Wires the debounce, the reaction watch and the latching of alarms until acknowledged. */
export function createAlarmManager(options: AlarmManagerOptions): AlarmManager {
  const { clock } = options
  const debounce = createHazardDebounce({
    raiseAfterReadings: positive('raiseAfterReadings', options.raiseAfterReadings, 3),
    raiseAfterMs: positive('raiseAfterS', options.raiseAfterS, 5) * 1000,
    clearAfterReadings: positive('clearAfterReadings', options.clearAfterReadings, 5),
    clearAfterMs: positive('clearAfterS', options.clearAfterS, 30) * 1000,
  })
  const deadlineMs = positive('confirmDeadlineS', options.confirmDeadlineS, 5) * 1000
  const maxResends = positive('maxResends', options.maxResends, 5)
  const historySize = positive('historySize', options.historySize, 100)
  const events = new EventEmitter<AlarmEvents>()
  const emitEvent = createAlarmEmitter(events, options.broadcast)
  const open = new Map<Hazard, OpenAlarm>()
  for (const alarm of options.restore ?? [])
    if (alarm.closedAt === undefined)
      open.set(alarm.hazard, { alarm: structuredClone(alarm), timer: undefined })
  // Every change to an open alarm goes through an event: save the open alarms after each.
  const openAlarms = () => [...open.values()].map((e) => e.alarm)
  const emit: typeof emitEvent = (event, alarm) => {
    emitEvent(event, alarm)
    options.onChange?.(structuredClone(openAlarms()))
  }
  /** When each hazard was first seen while no alarm of it was active, and the debounce not yet done. */
  const pendingSince = new Map<Hazard, number>()
  const history: Alarm[] = []
  let running = false
  let counter = 0
  let lastHazards = 0
  /** The relays and fan of the latest reading with no hazard and no open alarm. */
  let calm: { relays: number; fanSpeed: number } | undefined
  const watch = createReactionWatch({
    clock,
    sendCommand: options.sendCommand,
    events,
    emit,
    deadlineMs,
    maxResends,
    isRunning: () => running,
  })
  const snapshot = (alarm: Alarm): Alarm => structuredClone(alarm)

  function raise(hazard: Hazard, now: number): void {
    pendingSince.delete(hazard)
    let entry = open.get(hazard)
    if (entry?.alarm.blip !== undefined) {
      // Blips were only listed here: this one lasted, and is a real alarm from now on (raised, and
      // sent to the neighbours), keeping the state before the first blip to restore.
      open.delete(hazard)
      calm = entry.alarm.before ?? calm
      entry = undefined
    }
    if (entry !== undefined) {
      // Still latched from an earlier episode: the same alarm becomes active again.
      const { alarm } = entry
      alarm.active = true
      delete alarm.clearedAt
      alarm.reacted = false
      delete alarm.reactedAt
      emit('reactivated', alarm)
    } else {
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
        ...(calm === undefined ? {} : { before: { ...calm } }),
      }
      entry = { alarm, timer: undefined }
      open.set(hazard, entry)
      emit('raised', alarm)
    }
    watch.check(entry)
    if (!entry.alarm.reacted) watch.arm(entry)
  }

  /** The relays each open alarm's hazard forces off: the meter keeps them off until commanded. */
  function latched(): InterlockInputs['latched'] {
    return [...open].map(([hazard, e]) => ({
      hazard,
      alarmId: e.alarm.id,
      mask: interlockMasks(INTERLOCKS[hazard].bit).forcedOff,
      ...(e.alarm.blip === undefined ? {} : { blip: true }),
    }))
  }

  /**
   * The commands that put the relays this alarm forced back to their state before it (the normal
   * state when none was seen), leaving alone those another open alarm or a present hazard holds.
   */
  function restoreCommands(alarm: Alarm): RelayCommand[] {
    const before = alarm.before ?? { relays: NORMAL_RELAYS, fanSpeed: 0 }
    const present = interlockMasks(lastHazards)
    let held = present.forcedOn | present.forcedOff | present.locked
    for (const l of latched()) held |= l.mask
    const commands: RelayCommand[] = []
    for (const { channel } of alarm.expected) {
      const bit = relayBit(channel)
      const on = (before.relays & bit) !== 0
      if ((held & bit) !== 0 || watch.relays[channel - 1] === on) continue
      commands.push(
        channel === 1 && on
          ? { kind: 'fanSpeed', speed: Math.max(1, before.fanSpeed) }
          : { kind: 'power', channel, on },
      )
    }
    return commands
  }

  function dispatch(command: RelayCommand): void {
    try {
      const result = options.sendCommand(command)
      if (result instanceof Promise)
        result.catch((error: unknown) => events.emit('sendError', command, error))
    } catch (error) {
      events.emit('sendError', command, error)
    }
  }

  function close(hazard: Hazard, entry: OpenAlarm): void {
    watch.disarm(entry)
    open.delete(hazard)
    entry.alarm.closedAt = clock.now()
    // Cleared and acknowledged: the relays it forced go back to how they were before it (the
    // meter latched the ones it switched off, so nothing would bring them back otherwise).
    const restore = running ? restoreCommands(entry.alarm) : []
    entry.alarm.restored = restore
    history.push(entry.alarm)
    while (history.length > historySize) history.shift()
    emit('closed', entry.alarm)
    for (const command of restore) dispatch(command)
  }

  function clear(hazard: Hazard, entry: OpenAlarm, now: number): void {
    entry.alarm.active = false
    entry.alarm.clearedAt = now
    watch.disarm(entry)
    emit('cleared', entry.alarm)
    if (entry.alarm.acknowledgedAt !== undefined) close(hazard, entry)
  }

  /**
   * The hazard went away before the debounce raised it. The meter reacted at once all the same
   * (its interlock switched the relays off and keeps them off), so the blip is listed as a cleared
   * alarm: the Safety page says why those relays are off, and acknowledging it restores them.
   * Repeated blips of one hazard count on the same entry; a latched real alarm absorbs them.
   */
  function blip(hazard: Hazard, since: number, now: number): void {
    const entry = open.get(hazard)
    if (entry !== undefined) {
      if (entry.alarm.blip === undefined) return
      entry.alarm.blip = { durationMs: now - since, count: entry.alarm.blip.count + 1 }
      entry.alarm.clearedAt = now
      emit('blipped', entry.alarm)
      return
    }
    counter++
    const expected = HAZARD_REACTIONS[hazard].map((e) => ({ ...e }))
    const alarm: Alarm = {
      id: `${hazard}-${since}-${counter}`,
      hazard,
      severity: 'alarm',
      raisedAt: since,
      active: false,
      clearedAt: now,
      // What can still be seen of the meter's reaction: the relays it forced off are off.
      reacted: expected.filter((e) => !e.on).every((e) => watch.relays[e.channel - 1] === false),
      resends: 0,
      expected,
      ...(calm === undefined ? {} : { before: { ...calm } }),
      blip: { durationMs: now - since, count: 1 },
    }
    open.set(hazard, { alarm, timer: undefined })
    emit('blipped', alarm)
  }

  function findOpen(id: string): [Hazard, OpenAlarm] | undefined {
    for (const [hazard, entry] of open) if (entry.alarm.id === id) return [hazard, entry]
    return undefined
  }

  const notFound = (id: string, withDetails: boolean) =>
    new AlarmNotFoundError(
      `no alarm has the id ${JSON.stringify(id)}; list the alarms to see their ids`,
      withDetails ? { details: { id } } : {},
    )

  return {
    events,
    start() {
      running = true
      // A restored alarm whose reaction was never confirmed gets its deadline again.
      for (const entry of open.values()) if (entry.alarm.active && !entry.alarm.reacted) watch.arm(entry)
    },
    stop() {
      running = false
      for (const entry of open.values()) watch.disarm(entry)
    },
    observeReading(input) {
      const reading = toReading(input)
      if (!running) return
      const now = clock.now()
      lastHazards = reading.hazards
      for (let channel = 1; channel <= RELAY_COUNT; channel++)
        watch.relays[channel - 1] = relayIsOn(reading.relays, channel)
      for (const hazard of HAZARDS) {
        const entry = open.get(hazard)
        const present = (reading.hazards & HAZARD_BIT[hazard]) !== 0
        const active = entry?.alarm.active === true
        const change = debounce.observe(hazard, present, active, now)
        if (present && !active && !pendingSince.has(hazard)) pendingSince.set(hazard, now)
        if (change === 'raise') raise(hazard, now)
        else if (change === 'clear' && entry !== undefined) clear(hazard, entry, now)
        else if (!present && pendingSince.has(hazard)) {
          blip(hazard, pendingSince.get(hazard) as number, now)
          pendingSince.delete(hazard)
        }
      }
      for (const entry of open.values()) watch.check(entry)
      if (reading.hazards === 0 && open.size === 0)
        calm = { relays: reading.relays, fanSpeed: reading.fanSpeed }
    },
    observeRelay(channel, on) {
      if (!Number.isInteger(channel) || channel < 1 || channel > RELAY_COUNT || typeof on !== 'boolean') {
        throw new InvalidInputError(`relay state must be a channel 1..${RELAY_COUNT} and a boolean`)
      }
      watch.relays[channel - 1] = on
      if (running) for (const entry of open.values()) watch.check(entry)
    },
    acknowledge(id, by) {
      const found = findOpen(id)
      if (found === undefined) {
        const closed = history.find((a) => a.id === id)
        if (closed !== undefined) return snapshot(closed)
        throw notFound(id, true)
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
    interlockInputs: () => ({ hazards: lastHazards, latched: latched() }),
    get(id) {
      const alarm = findOpen(id)?.[1].alarm ?? history.find((a) => a.id === id)
      if (alarm === undefined) throw notFound(id, false)
      return snapshot(alarm)
    },
  }
}
