/**
 * The open alarms on disk (`<data-dir>/alarms.json`), so a restart does not forget an alarm nobody
 * acknowledged: the meter keeps the relays it switched off latched across the node's restart, and
 * only acknowledging the alarm brings them back (alarms.ts). Written atomically after every change
 * (storage/json-file.ts), one write at a time, the newest state winning.
 *
 * A file that is not a valid alarm document is not a reason to stop the node (its safety role is to
 * keep watching the meter): it is moved aside (`alarms.json.corrupt-<ms>`, kept for a person to
 * read) and reported as a named error the node logs; the alarms it held are then unknown.
 */
import { rename } from 'node:fs/promises'
import { ZkMeterError } from '#protocol/errors.ts'
import { readJsonFile, writeJsonAtomic } from '../storage/json-file.ts'
import type { Alarm } from './alarm-types.ts'
import { HAZARDS, type Hazard } from './reading.ts'

export class CorruptAlarmFileError extends ZkMeterError {
  override name = 'CorruptAlarmFileError'
  override readonly category = 'internal'
}

const VERSION = 1

export interface AlarmStore {
  /** The open alarms found at start (none when the file was missing or corrupt). */
  restored: Alarm[]
  /** Why the file could not be read, when it could not (the node starts without its alarms). */
  problem: CorruptAlarmFileError | undefined
  /** Saves the open alarms; writes are serialized and coalesced (the newest list wins). */
  save(open: Alarm[]): void
  /** Resolves once every save asked for so far is on disk (or failed: see onError). */
  flush(): Promise<void>
}

export async function openAlarmStore(
  path: string,
  options: { onError?: (error: unknown) => void; now?: () => number } = {},
): Promise<AlarmStore> {
  let restored: Alarm[] = []
  let problem: CorruptAlarmFileError | undefined
  try {
    restored = parseAlarmFile(await readJsonFile(path), path)
  } catch (error) {
    const aside = `${path}.corrupt-${(options.now ?? Date.now)()}`
    await rename(path, aside).catch(() => undefined)
    problem = new CorruptAlarmFileError(
      `the open-alarms file ${path} could not be read (${(error as Error).message}); it was moved to ${aside} and the node started without the alarms it held: check the Safety page and the meter's relays`,
      { cause: error, details: { path, movedTo: aside } },
    )
  }
  let pending: Alarm[] | undefined
  let writing: Promise<void> = Promise.resolve()
  const drain = async (): Promise<void> => {
    while (pending !== undefined) {
      const next = pending
      pending = undefined
      try {
        await writeJsonAtomic(path, { version: VERSION, alarms: next })
      } catch (error) {
        options.onError?.(error)
      }
    }
  }
  return {
    restored,
    problem,
    save(open) {
      const idle = pending === undefined
      pending = structuredClone(open)
      if (idle) writing = writing.then(drain)
    },
    flush: () => writing.then(drain),
  }
}

/** The alarms of a stored document; throws a plain error naming what is wrong. */
export function parseAlarmFile(doc: unknown, path: string): Alarm[] {
  if (doc === undefined) return []
  if (typeof doc !== 'object' || doc === null || (doc as { version?: unknown }).version !== VERSION)
    throw new Error(`${path} is not a version ${VERSION} alarm document`)
  const alarms = (doc as { alarms?: unknown }).alarms
  if (!Array.isArray(alarms)) throw new Error(`${path} has no alarms list`)
  const seen = new Set<Hazard>()
  return alarms.map((a, i) => {
    const alarm = checkAlarm(a, `alarms[${i}]`)
    // The manager keeps one open alarm per hazard.
    if (seen.has(alarm.hazard)) throw new Error(`alarms[${i}] is a second open ${alarm.hazard} alarm`)
    seen.add(alarm.hazard)
    return alarm
  })
}

const isTime = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const optTime = (v: unknown) => v === undefined || isTime(v)
const isByte = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xff

function checkAlarm(value: unknown, where: string): Alarm {
  const a = value as Partial<Alarm> & Record<string, unknown>
  const fail = (field: string) => new Error(`${where}.${field} is missing or invalid`)
  if (typeof a !== 'object' || a === null) throw new Error(`${where} is not an object`)
  if (typeof a.id !== 'string' || a.id.length === 0 || a.id.length > 128) throw fail('id')
  if (!HAZARDS.includes(a.hazard as Hazard)) throw fail('hazard')
  if (a.severity !== 'alarm' && a.severity !== 'deviceDidNotReact') throw fail('severity')
  if (!isTime(a.raisedAt)) throw fail('raisedAt')
  if (typeof a.active !== 'boolean') throw fail('active')
  if (typeof a.reacted !== 'boolean') throw fail('reacted')
  if (!Number.isInteger(a.resends) || (a.resends as number) < 0) throw fail('resends')
  for (const f of ['clearedAt', 'reactedAt', 'acknowledgedAt', 'closedAt'] as const)
    if (!optTime(a[f])) throw fail(f)
  if (a.acknowledgedBy !== undefined && typeof a.acknowledgedBy !== 'string') throw fail('acknowledgedBy')
  if (
    !Array.isArray(a.expected) ||
    !a.expected.every(
      (e) => Number.isInteger(e?.channel) && e.channel >= 1 && e.channel <= 8 && typeof e.on === 'boolean',
    )
  )
    throw fail('expected')
  if (a.before !== undefined && !(isByte(a.before?.relays) && isByte(a.before?.fanSpeed)))
    throw fail('before')
  if (
    a.blip !== undefined &&
    !(isTime(a.blip?.durationMs) && Number.isInteger(a.blip?.count) && a.blip.count >= 1)
  )
    throw fail('blip')
  return structuredClone(a) as Alarm
}
