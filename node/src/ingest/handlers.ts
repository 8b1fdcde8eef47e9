/**
 * The message handlers, one per kind, for messages the router has already checked: SENSOR (in
 * sensor-handler.ts: sequence check, gap → Resend, journal, ack, 'record', flush and assembly
 * triggers), PERIOD (file the signed close, check its boundaries, assemble), GONE (settle a gap for
 * good, move the ack) and STATE (adopt the open period, look for missing closes). Their one job is
 * the ingest decisions; storage, outbound messages and assembly are the collaborators they are given.
 */
import type { parseGonePayload, parsePeriodPayload, parseStatePayload } from '#protocol/records.ts'
import { exportCloseJson } from './export-close.ts'
import type { HandlerDeps } from './handler-deps.ts'
import { periodStartOf, registerPeriod, setOpenPeriod } from './period-tracker.ts'
import { createSensorHandler } from './sensor-handler.ts'
import { periodJson } from './state-file.ts'
import type { IngestOutcome, MeterRuntime } from './types.ts'

export function createHandlers(deps: HandlerDeps) {
  const {
    cfg,
    log,
    anomaly,
    reject,
    outbound: { scheduleAck, checkMissingClose },
    assembler: { tryAssemble },
    journalAppend,
    applyGone,
  } = deps
  const storeRecord = createSensorHandler(deps)

  const storePeriod = async (
    m: MeterRuntime,
    { meter, period, signature, export: exportClose }: ReturnType<typeof parsePeriodPayload>,
  ): Promise<IngestOutcome> => {
    const known = m.periods.get(period.periodStart)
    if (known !== undefined) {
      const r = registerPeriod(m, period, signature, exportClose)
      if (r === 'conflict') {
        return reject(
          'period-conflict',
          `a different signed close for period ${period.periodStart} is already stored`,
          { meter },
        )
      }
      // Retained PERIOD messages come back on every reconnect: nothing to do, nothing to report.
      return { status: 'duplicate', meter }
    }
    await journalAppend(
      { k: 'p', m: meter, p: periodJson(period), s: signature, x: exportCloseJson(exportClose) },
      meter,
    )
    const entry = registerPeriod(m, period, signature, exportClose)
    if (typeof entry === 'string') return { status: 'duplicate', meter }
    if (m.periodRequests.delete(period.periodStart)) {
      log.info('a missing period close arrived after a resend request', {
        meter,
        periodStart: period.periodStart,
      })
    }
    const expectedStart = periodStartOf(m, period.periodStart)
    const expectedEnd = periodStartOf(m, period.periodEnd)
    if (expectedStart !== period.periodStart || expectedEnd !== period.periodEnd) {
      anomaly({
        kind: 'period-boundary',
        rejected: false,
        meter,
        reason: `the meter closed ${period.periodStart}–${period.periodEnd}, the node's period rule expects boundaries at ${expectedStart} and ${expectedEnd}: align PeriodDays`,
      })
    }
    await tryAssemble(m, entry)
    // A recovered close may reveal the next one missing too (the chain walks on from its end).
    checkMissingClose(m)
    return { status: 'stored', meter }
  }

  const storeGone = async (
    m: MeterRuntime,
    { meter, gone, signature }: ReturnType<typeof parseGonePayload>,
  ): Promise<IngestOutcome> => {
    // Only seqs in an open gap can be settled: none stored, none in flight, none beyond what the
    // node has seen (a notice cannot make the ack jump over records still on their way).
    const gaps = m.durable.gaps().filter((g) => g.from <= gone.toSeq && g.to >= gone.fromSeq)
    const inFlight = [...m.pending.keys()].some((seq) => seq >= gone.fromSeq && seq <= gone.toSeq)
    if (gaps.length === 0 || inFlight) return { status: 'duplicate', meter }
    await journalAppend(
      { k: 'g', m: meter, g: { fromSeq: gone.fromSeq, toSeq: gone.toSeq }, s: signature },
      meter,
    )
    const settled = applyGone(m, gone.fromSeq, gone.toSeq)
    if (settled.length === 0) return { status: 'duplicate', meter }
    const count = settled.reduce((n, r) => n + r.to - r.from + 1, 0)
    anomaly({
      kind: 'records-gone',
      rejected: false,
      meter,
      seq: settled[0]?.from,
      reason: `the meter signed that records ${settled.map((r) => `${r.from}..${r.to}`).join(', ')} (${count}) are gone (its buffer overflowed before the node acknowledged them); they are lost for good and the ack moves past them`,
      details: { ranges: settled },
    })
    scheduleAck(m)
    for (const entry of m.periods.values()) {
      if (entry.status === 'incomplete') await tryAssemble(m, entry)
    }
    return { status: 'stored', meter }
  }

  /**
   * STATE: the meter's open period start and PeriodDays. Unsigned, so it only steers filing and
   * ResendPeriod requests, and only when it agrees with the signed closes.
   */
  const noteState = (
    m: MeterRuntime,
    { meter, periodStart, periodDays }: ReturnType<typeof parseStatePayload>,
  ): IngestOutcome => {
    let latestEnd: number | undefined
    for (const p of m.periods.values()) {
      if (latestEnd === undefined || p.period.periodEnd > latestEnd) latestEnd = p.period.periodEnd
    }
    const floor = latestEnd ?? m.firstPeriodStart
    if (floor !== undefined && periodStart < floor) {
      return reject(
        'period-boundary',
        `STATE reports an open period from ${periodStart}, before ${floor} where the ${latestEnd === undefined ? 'provisioning point' : 'latest signed close'} puts it: ignored`,
        { meter },
      )
    }
    if (latestEnd === undefined && m.firstPeriodStart === undefined) m.stateAnchor ??= periodStart
    setOpenPeriod(m, periodStart, periodDays, cfg)
    checkMissingClose(m)
    return { status: 'noted', meter }
  }

  return { storeRecord, storePeriod, storeGone, noteState }
}
