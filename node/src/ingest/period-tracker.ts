/**
 * Period tracker: where a meter's billing periods begin and end, and which closes are missing. It
 * files times into periods (signed closes first, then the STATE-reported rule, then the configured
 * one), registers signed closes, walks the chain of closes to find one the node must ask for again,
 * and pins a gap in a period's readings on records the meter signed as gone. Pure functions over a
 * meter's runtime, so the ingest path, recovery and the resend scheduler share one definition.
 */
import type { BillingPeriod, ExportClose, MeterRecord } from '#protocol/records.ts'
import { createPeriodCalendar } from './calendar.ts'
import type { IngestorConfig } from './config.ts'
import { sameExportClose } from './export-close.ts'
import type { MeterRuntime, PeriodEntry } from './types.ts'

type Geometry = Pick<IngestorConfig, 'interval' | 'n'>

/**
 * Start of the period containing time t: a signed close that covers t wins; from the open period
 * the meter last reported in STATE on, its own PeriodDays rule; before that, the configured rule.
 */
export function periodStartOf(m: MeterRuntime, t: number): number {
  for (const p of m.periods.values()) {
    if (t >= p.period.periodStart && t < p.period.periodEnd) return p.period.periodStart
  }
  if (m.open !== undefined && t >= m.open.periodStart) return m.open.calendar.startOf(t)
  return m.calendar.startOf(t)
}

export function recordPeriodStart(m: MeterRuntime, r: MeterRecord, cfg: Geometry): number {
  return periodStartOf(m, r.kind === 1 ? r.time - cfg.interval : r.time)
}

/** Adopts the open period of a STATE report (validated against the signed closes by the caller). */
export function setOpenPeriod(m: MeterRuntime, periodStart: number, periodDays: number, cfg: Geometry): void {
  if (m.open?.periodStart === periodStart && m.open.periodDays === periodDays) return
  m.open = {
    periodStart,
    periodDays,
    calendar: createPeriodCalendar({
      periodDays,
      firstPeriodStart: periodStart,
      geometry: { intervalSeconds: cfg.interval, n: cfg.n },
    }),
  }
}

/**
 * Start of the first period whose signed close the node lacks but knows must exist, if any.
 * Closes chain (each starts where the previous ended), so the node walks the chain from its start
 * (the provisioning point, else the open start of the first STATE it saw, else its earliest close;
 * past closes it pruned) to the first start it holds no close for. That close is due when a later
 * close is known, when STATE reports a later open period, or when an interval record lies past the
 * boundary the period rule puts after it. One at a time: the next is asked once this one arrives.
 */
export function missingClose(
  m: MeterRuntime,
  cfg: Geometry,
  latestIntervalStart?: number,
): number | undefined {
  let earliest: number | undefined
  let latestStart: number | undefined
  for (const p of m.periods.values()) {
    if (earliest === undefined || p.period.periodStart < earliest) earliest = p.period.periodStart
    if (latestStart === undefined || p.period.periodStart > latestStart) latestStart = p.period.periodStart
  }
  let cursor = m.firstPeriodStart ?? m.stateAnchor ?? earliest
  if (cursor === undefined) return undefined
  if (m.chainFloor !== undefined && m.chainFloor > cursor) cursor = m.chainFloor
  for (let p = m.periods.get(cursor); p !== undefined; p = m.periods.get(cursor)) cursor = p.period.periodEnd
  if (latestStart !== undefined && latestStart > cursor) return cursor
  if (m.open !== undefined && m.open.periodStart > cursor) return cursor
  if (latestIntervalStart === undefined) {
    // The latest interval record the node holds, unless the caller just named one.
    let latestEnd: number | undefined
    for (const t of m.intervals.keys()) if (latestEnd === undefined || t > latestEnd) latestEnd = t
    if (latestEnd !== undefined) latestIntervalStart = latestEnd - cfg.interval
  }
  if (latestIntervalStart !== undefined && latestIntervalStart >= cursor) {
    try {
      if (periodStartOf(m, latestIntervalStart) > cursor) return cursor
    } catch {
      // An implausible time is refused where it is ingested; it proves nothing here.
    }
  }
  return undefined
}

/** Files a signed close; a second copy is a duplicate, a different one for the same start a conflict. */
export function registerPeriod(
  m: MeterRuntime,
  period: BillingPeriod,
  signature: `0x${string}`,
  exportClose?: ExportClose,
): PeriodEntry | 'duplicate' | 'conflict' {
  const known = m.periods.get(period.periodStart)
  if (known !== undefined) {
    const same =
      known.period.periodEnd === period.periodEnd &&
      known.period.commitment === period.commitment &&
      known.period.startCounter === period.startCounter &&
      known.period.endCounter === period.endCounter &&
      sameExportClose(known.exportClose, exportClose)
    return same ? 'duplicate' : 'conflict'
  }
  const entry: PeriodEntry = {
    period,
    signature,
    status: 'pending',
    ...(exportClose === undefined ? {} : { exportClose }),
  }
  m.periods.set(period.periodStart, entry)
  return entry
}

/**
 * The first missing interval record that is provably gone, with the gone range it fell in. The
 * meter numbers records in time order, so the record ending at t has a seq between those of the
 * stored interval records on either side of t; when every seq in between is stored or declared
 * gone (none still awaited from a Resend) and a gone range lies there, it was one of them.
 */
export function lostIntervals(
  m: MeterRuntime,
  missing: readonly number[],
): { time: number; from: number; to: number } | undefined {
  const gone = m.durable.gone()
  if (gone.length === 0) return undefined
  const gaps = m.durable.gaps()
  const entries = [...m.intervals.values()].sort((a, b) => a.time - b.time)
  for (const t of missing) {
    let before: number | undefined
    let after: number | undefined
    for (const e of entries) {
      if (e.time < t) before = e.seq
      else if (e.time > t) {
        after = e.seq
        break
      }
    }
    // Nothing stored after it yet: its record may simply not have been sent. Nothing before it:
    // no lower bound on its seq, so no gone range can be pinned on it.
    if (after === undefined || before === undefined) continue
    const lo = before + 1
    const hi = after - 1
    if (gaps.some((g) => g.from <= hi && g.to >= lo)) continue
    const range = gone.find((g) => g.from <= hi && g.to >= lo)
    if (range !== undefined) return { time: t, from: Math.max(range.from, lo), to: Math.min(range.to, hi) }
  }
  return undefined
}

/** Whether time lies in a period already assembled and sealed. */
export function isSealedTime(m: MeterRuntime, time: number): boolean {
  for (const p of m.periods.values()) {
    if (p.status === 'assembled' && time > p.period.periodStart && time <= p.period.periodEnd) return true
  }
  return false
}
