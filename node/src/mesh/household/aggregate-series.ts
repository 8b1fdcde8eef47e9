/**
 * The observer's area totals, one point per round: bounded, and kept in `<dataDir>/mesh/aggregates.json`
 * across restarts (only for the same area, only points at or above the privacy floor).
 */
import { readJsonFile, writeJsonAtomic } from '../../storage/json-file.ts'
import { type AggregatePoint, MIN_MEMBERS } from './types.ts'

export interface AggregateSeries {
  /** Points by round time. */
  readonly points: ReadonlyMap<number, AggregatePoint>
  /** Adds a round's total, dropping the oldest beyond the bound. */
  add(point: AggregatePoint): void
  /** All points, oldest first. */
  sorted(): AggregatePoint[]
  /** Writes the file if anything was added since the last save. */
  save(): Promise<void>
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null

/** A saved point, if it is one: whole numbers, and a total over no fewer homes than the floor. */
function savedPoint(value: unknown): AggregatePoint | undefined {
  if (!isRecord(value)) return undefined
  const { time, totalWh, households } = value
  if (!Number.isSafeInteger(time) || !Number.isSafeInteger(totalWh)) return undefined
  if (typeof time !== 'number' || typeof totalWh !== 'number') return undefined
  if (typeof households !== 'number' || households < MIN_MEMBERS) return undefined
  return { time, totalWh, households }
}

export async function openAggregateSeries(options: {
  path: string
  area: number
  maxSize: number
  /** Read the saved series (only the observer keeps one). */
  load: boolean
}): Promise<AggregateSeries> {
  const points = new Map<number, AggregatePoint>()
  let dirty = false
  if (options.load) {
    const saved = await readJsonFile(options.path).catch(() => undefined)
    if (isRecord(saved) && saved.area === options.area && Array.isArray(saved.series)) {
      for (const value of saved.series) {
        const point = savedPoint(value)
        if (point) points.set(point.time, point)
      }
    }
  }
  const sorted = () => [...points.values()].sort((a, b) => a.time - b.time)
  return {
    points,
    add(point) {
      points.set(point.time, point)
      while (points.size > options.maxSize) points.delete(Math.min(...points.keys()))
      dirty = true
    },
    sorted,
    async save() {
      if (!dirty) return
      dirty = false
      await writeJsonAtomic(options.path, { area: options.area, series: sorted() })
    },
  }
}
