/**
 * The resident's alarm for a full disk: raised when ingestion stops because the disk is full,
 * cleared when it resumes. Kept apart from the hazard alarms (automation/alarms.ts): no relay reacts
 * and nothing goes to the neighbours, but the resident sees it where alarms are shown (the banner,
 * /api/alarms, the live stream, the phone's notification) — the meter holds the readings meanwhile,
 * and only for as long as its own memory lasts, so someone has to free space.
 */
import { EventEmitter } from 'node:events'
import type { Alarm } from '#protocol/api/types.ts'
import type { StorageStatus } from '../ingest/types.ts'

export interface DiskAlarm {
  /** The alarm as /api/alarms shows it, while it is open (active, or cleared but not acknowledged). */
  list(): Alarm[]
  /** The resident saw it: undefined if `id` is not this alarm's (the caller asks the others). */
  acknowledge(id: string): Alarm | undefined
  /** Follows the ingestor's storage status. */
  update(status: StorageStatus): void
  /** 'alarm': the alarm's new state, for the live stream. */
  readonly events: EventEmitter<{ alarm: [Alarm] }>
}

export function createDiskAlarm(): DiskAlarm {
  const events = new EventEmitter<{ alarm: [Alarm] }>()
  let count = 0
  let current: Alarm | undefined

  const changed = (alarm: Alarm) => {
    if (alarm.state === 'acknowledged' && !alarm.active) current = undefined
    events.emit('alarm', { ...alarm })
  }

  return {
    list: () => (current === undefined ? [] : [{ ...current }]),
    acknowledge(id) {
      if (current === undefined || current.id !== id) return undefined
      const alarm: Alarm = { ...current, state: 'acknowledged', acknowledgedAt: new Date().toISOString() }
      current = alarm
      changed(alarm)
      return { ...alarm }
    },
    update(status) {
      if (status.state === 'full' && current?.active !== true) {
        current = {
          id: `disk-full-${++count}`,
          kind: 'disk-full',
          state: 'active',
          active: true,
          raisedAt: new Date(status.since).toISOString(),
          clearedAt: null,
          acknowledgedAt: null,
          deviceReacted: false,
          severity: 'alarm',
          resends: 0,
        }
        changed(current)
      } else if (status.state === 'ok' && current?.active === true) {
        const alarm: Alarm = {
          ...current,
          active: false,
          state: current.acknowledgedAt === null ? 'cleared' : 'acknowledged',
          clearedAt: new Date(status.since).toISOString(),
        }
        current = alarm
        changed(alarm)
      }
    },
    events,
  }
}
