/**
 * Reporting: the read-only views of the ingestor's state that status() and periods() return (ack
 * mark, gaps and their Resend counts, gone ranges, open and missing periods, assembled periods).
 * Kept apart so what the node reports is one place and can never mutate the pipeline's state.
 */
import type { MeterRuntime, MeterStatus, PeriodResult } from './types.ts'

export function meterStatus(m: MeterRuntime): MeterStatus {
  return {
    meter: m.address,
    ackedSeq: m.durable.mark,
    gaps: m.durable.gaps().map((g) => ({ ...g, requests: m.resendAttempts.get(`${g.from}-${g.to}`) ?? 0 })),
    gone: m.durable.gone(),
    ...(m.open === undefined
      ? {}
      : { openPeriod: { periodStart: m.open.periodStart, periodDays: m.open.periodDays } }),
    missingPeriods: [...m.periodRequests].map(([periodStart, requests]) => ({ periodStart, requests })),
    periods: [...m.periods.values()].map((p) => ({
      periodStart: p.period.periodStart,
      periodEnd: p.period.periodEnd,
      status: p.status,
      ...(p.reason === undefined ? {} : { reason: p.reason }),
    })),
  }
}

/** Assembled periods of every meter, or of one (address in any case). */
export function assembledPeriods(meters: ReadonlyMap<string, MeterRuntime>, meter?: string): PeriodResult[] {
  const out: PeriodResult[] = []
  for (const m of meters.values()) {
    if (meter !== undefined && m.address !== meter.toLowerCase()) continue
    for (const p of m.periods.values()) if (p.result !== undefined) out.push(p.result)
  }
  return out
}
