/**
 * The resident's view of their own readings: the API's Reading shape (units a person reads),
 * a bounded in-memory history of interval records for charts and the Energy view (usage.ts), and the CSV
 * export. Nothing here leaves the node: the API is loopback-only by default.
 */

import type { HistoryPoint, Reading, Resolution } from '#protocol/api/types.ts'
import type { MeterRecord } from '#protocol/records.ts'

// The API's shapes (api/types.ts), shared with the UI.
export type { HistoryPoint, Reading, Resolution }

export function toReading(record: MeterRecord): Reading {
  return {
    seq: record.seq,
    kind: record.kind === 1 ? 'interval' : 'live',
    time: record.time,
    energyWh: record.energyWh,
    intervalWh: record.intervalWh,
    exportedWh: record.exportedWh,
    intervalExportedWh: record.intervalExportedWh,
    powerW: record.powerW,
    voltageV: record.voltageMv / 1000,
    currentA: record.currentMa / 1000,
    powerFactor: record.powerFactor / 1000,
    temperatureC: record.temperatureCenti / 100,
    light: record.light / 1000,
    gas: record.gas / 1000,
    water: record.water / 1000,
    hazards: {
      flame: (record.hazards & 1) !== 0,
      gas: (record.hazards & 2) !== 0,
      water: (record.hazards & 4) !== 0,
    },
    relays: Array.from({ length: 8 }, (_, i) => (record.relays & (1 << i)) !== 0),
    fanSpeed: record.fanSpeed,
  }
}

export interface IntervalSample {
  time: number
  intervalWh: number
  /** Wh exported in the interval. */
  exportedWh: number
  maxPowerW: number
}

/**
 * Interval history kept in memory, newest last: 400 days of 15-minute intervals is ~38k entries,
 * a few MB. Rebuilt at start from the vault; the vault stays the durable copy.
 */
export interface ReadingHistory {
  add(record: MeterRecord): void
  /**
   * An interval whose record the history does not hold but whose energy is known from signed data
   * (the meter's counters, as the bill's proof rebuilds it): added unless a record is there already.
   */
  fill(time: number, intervalWh: number, exportedWh?: number): void
  latest(): Reading | undefined
  query(from: number, to: number, resolution: Resolution, priceAt: (time: number) => bigint): HistoryPoint[]
  intervals(from: number, to: number): IntervalSample[]
  /**
   * Takes in a history built apart (older periods read from the vault while the node already runs):
   * its intervals merged by time (ours win on the same time), its latest reading if newer.
   */
  absorb(other: ReadingHistory): void
  /** Marks the history incomplete until `loading` settles (see whenLoaded). */
  loading(loading: Promise<void>): void
  /** Resolves once every period the node holds is in; rejects with the load's error. Reads wait for it. */
  whenLoaded(): Promise<void>
}

export function createReadingHistory(options: {
  intervalSeconds: number
  capacity?: number
}): ReadingHistory {
  const capacity = options.capacity ?? 40_000
  const samples: IntervalSample[] = []
  let latest: Reading | undefined
  let maxPowerSinceInterval = 0

  const firstAtOrAfter = (t: number) => {
    let lo = 0
    let hi = samples.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((samples[mid] as IntervalSample).time < t) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  const intervals = (from: number, to: number) => samples.slice(firstAtOrAfter(from), firstAtOrAfter(to))
  let loaded: Promise<void> = Promise.resolve()

  /** Keeps the array sorted by time and one sample per interval: the first one in wins. */
  const insert = (sample: IntervalSample): void => {
    const at = firstAtOrAfter(sample.time)
    if (samples[at]?.time === sample.time) return
    samples.splice(at, 0, sample)
    if (samples.length > capacity) samples.splice(0, samples.length - capacity)
  }

  return {
    add(record) {
      if (!latest || record.seq > latest.seq) latest = toReading(record)
      maxPowerSinceInterval = Math.max(maxPowerSinceInterval, record.powerW)
      if (record.kind !== 1) return
      const sample = {
        time: record.time,
        intervalWh: record.intervalWh,
        exportedWh: record.intervalExportedWh,
        maxPowerW: maxPowerSinceInterval,
      }
      maxPowerSinceInterval = 0
      // Records arrive in order, except fill-ins after a gap and the vault's after a restart.
      insert(sample)
    },
    // No record, so no power sample: 0 says "not measured", the energy is exact.
    fill: (time, intervalWh, exportedWh = 0) => insert({ time, intervalWh, exportedWh, maxPowerW: 0 }),
    latest: () => latest,
    intervals,
    absorb(other) {
      const theirs = other.intervals(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
      const merged: IntervalSample[] = []
      let i = 0
      let j = 0
      // One pass over both sorted arrays: a sorted insert per sample would be quadratic over a year.
      while (i < samples.length || j < theirs.length) {
        const a = samples[i]
        const b = theirs[j]
        if (b === undefined || (a !== undefined && a.time <= b.time)) {
          merged.push(a as IntervalSample)
          i++
          if (b !== undefined && (a as IntervalSample).time === b.time) j++
        } else {
          merged.push(b)
          j++
        }
      }
      samples.splice(0, samples.length, ...merged.slice(Math.max(0, merged.length - capacity)))
      const theirLatest = other.latest()
      if (theirLatest && (!latest || theirLatest.seq > latest.seq)) latest = theirLatest
    },
    loading(promise) {
      loaded = promise
    },
    whenLoaded: () => loaded,
    query(from, to, resolution, priceAt) {
      const bucket =
        resolution === 'interval' ? options.intervalSeconds : resolution === 'hour' ? 3600 : 86_400
      const points = new Map<number, { wh: number; exported: number; cost: bigint; max: number }>()
      for (const s of intervals(from, to)) {
        const start = s.time - options.intervalSeconds
        const key = start - (start % bucket)
        const p = points.get(key) ?? { wh: 0, exported: 0, cost: 0n, max: 0 }
        p.wh += s.intervalWh
        p.exported += s.exportedWh
        p.cost += BigInt(s.intervalWh) * priceAt(start)
        p.max = Math.max(p.max, s.maxPowerW)
        points.set(key, p)
      }
      return [...points.entries()]
        .sort(([a], [b]) => a - b)
        .map(([time, p]) => ({
          time,
          energyWh: p.wh,
          exportedWh: p.exported,
          costWei: p.cost.toString(),
          avgPowerW: Math.round((p.wh * 3600) / bucket),
          maxPowerW: p.max,
        }))
    },
  }
}

/**
 * energy_wh is imported energy (what the bill prices); exported_wh the energy sent to the grid. The
 * export column is last, so a spreadsheet reading the first four columns reads what it always did.
 */
const CSV_HEADER = 'interval_start_utc,interval_end_utc,energy_wh,max_power_w,exported_wh'

export function intervalsToCsv(samples: readonly IntervalSample[], intervalSeconds: number): string {
  const iso = (t: number) => new Date(t * 1000).toISOString()
  const rows = samples.map(
    (s) => `${iso(s.time - intervalSeconds)},${iso(s.time)},${s.intervalWh},${s.maxPowerW},${s.exportedWh}`,
  )
  return `${[CSV_HEADER, ...rows].join('\n')}\n`
}
