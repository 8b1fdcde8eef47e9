/**
 * Intervals the history holds no record for but whose energy is known from signed data. A meter
 * that lost one interval record (signed gone, or lost in a crash) still bills that period: the
 * proof rebuilds the reading from the neighbours' signed counters (ingest/period.ts). The chart and
 * the export must show the same energy, else a period's exported sum differs from its bill.
 */
import { MAX_READING } from '#protocol/commitment.ts'
import type { MeterRecord } from '#protocol/records.ts'

export interface RebuiltInterval {
  /** End of the interval (unix seconds). */
  time: number
  intervalWh: number
  /** Wh exported in the interval, from the export counter the same way. */
  exportedWh: number
}

/** The intervals of an assembled period, from the readings its proof uses (anchor-indexed). */
export function periodIntervals(
  period: { periodStart: number; periodEnd: number },
  readings: readonly number[],
  intervalSeconds: number,
  exportReadings: readonly number[] = [],
): RebuiltInterval[] {
  const anchor = period.periodStart - (period.periodStart % 86_400)
  const out: RebuiltInterval[] = []
  for (let t = period.periodStart + intervalSeconds; t <= period.periodEnd; t += intervalSeconds) {
    const i = (t - intervalSeconds - anchor) / intervalSeconds
    const wh = readings[i]
    if (wh !== undefined) out.push({ time: t, intervalWh: wh, exportedWh: exportReadings[i] ?? 0 })
  }
  return out
}

/**
 * Single missing intervals between interval records: the counter at the start of the missing one is
 * the energyWh of the record before it, the counter at its end the energyWh − intervalWh of the
 * record after it (both signed). Exactly what assembly recovers; two missing in a row stay missing.
 */
export function intervalsFromCounters(
  records: Iterable<
    Pick<MeterRecord, 'kind' | 'time' | 'energyWh' | 'intervalWh'> &
      Partial<Pick<MeterRecord, 'exportedWh' | 'intervalExportedWh'>>
  >,
  intervalSeconds: number,
): RebuiltInterval[] {
  const byTime = new Map<
    number,
    { energyWh: number; intervalWh: number; exportedWh?: number; intervalExportedWh?: number }
  >()
  for (const r of records) if (r.kind === 1) byTime.set(r.time, r)
  const out: RebuiltInterval[] = []
  for (const [time, before] of byTime) {
    const missing = time + intervalSeconds
    const after = byTime.get(missing + intervalSeconds)
    if (byTime.has(missing) || after === undefined) continue
    const wh = after.energyWh - after.intervalWh - before.energyWh
    const exported = (after.exportedWh ?? 0) - (after.intervalExportedWh ?? 0) - (before.exportedWh ?? 0)
    if (wh >= 0 && wh <= MAX_READING && exported >= 0 && wh + exported <= MAX_READING)
      out.push({ time: missing, intervalWh: wh, exportedWh: exported })
  }
  return out.sort((a, b) => a.time - b.time)
}
