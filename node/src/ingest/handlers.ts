/**
 * The message handlers, one per kind, for messages the router has already checked: SENSOR (sequence
 * check, gap → Resend, journal, ack, 'record', flush and assembly triggers), PERIOD (file the signed
 * close, check its boundaries, assemble), GONE (settle a gap for good, move the ack) and STATE (adopt
 * the open period, look for missing closes). Their one job is the ingest decisions; storage,
 * outbound messages and assembly are the collaborators they are given.
 */
import type {
  MeterRecord,
  parseGonePayload,
  parsePeriodPayload,
  parseSensorPayload,
  parseStatePayload,
} from '#protocol/records.ts'
import type { Anomaly, AnomalyKind } from './anomalies.ts'
import type { PeriodAssembler } from './assembler.ts'
import type { IngestorConfig } from './config.ts'
import type { VaultFlusher } from './flusher.ts'
import type { Journal } from './journal.ts'
import type { Outbound } from './outbound.ts'
import { periodStartOf, recordPeriodStart, registerPeriod, setOpenPeriod } from './period-tracker.ts'
import { periodJson } from './state-file.ts'
import type { IngestOutcome, MeterRuntime, RecordEvent } from './types.ts'

export interface HandlerDeps {
  cfg: Pick<IngestorConfig, 'interval' | 'n' | 'batchRecords' | 'flushEveryIntervals'>
  counters: { stored: number; duplicates: number; rejected: number }
  log(entry: Record<string, unknown>): void
  emit(event: 'record' | 'anomaly' | 'period', value: unknown): void
  anomaly(entry: Omit<Anomaly, 'id' | 'at'>): Anomaly
  reject(kind: AnomalyKind, reason: string, extra?: Partial<Anomaly>): IngestOutcome
  onRecord?: (event: RecordEvent) => void
  outbound: Pick<Outbound, 'scheduleAck' | 'requestResend' | 'checkMissingClose'>
  flusher: VaultFlusher
  assembler: PeriodAssembler
  /** The journal, or an IngestorStateError when it failed or is not open. */
  writableJournal(): Journal
  /** Appends a frame and resolves once it is durable (onDurable runs first). */
  journalAppend(
    frame: Record<string, unknown>,
    meter: `0x${string}`,
    onDurable?: (segment: number) => void,
    seq?: number,
  ): Promise<void>
  /** Applies a durable record to the meter's runtime; true when the ack mark moved. */
  applyDurable(
    m: MeterRuntime,
    r: MeterRecord,
    sig: `0x${string}`,
    segment: number,
    periodStart: number,
  ): boolean
  applyGone(m: MeterRuntime, fromSeq: number, toSeq: number): { from: number; to: number }[]
}

export function createHandlers({
  cfg,
  counters,
  log,
  emit,
  anomaly,
  reject,
  onRecord,
  outbound: { scheduleAck, requestResend, checkMissingClose },
  flusher,
  assembler: { tryAssemble, assembleAffected },
  writableJournal,
  journalAppend,
  applyDurable,
  applyGone,
}: HandlerDeps) {
  /** A record seen before is dropped (and reported), never stored or acknowledged twice. */
  const duplicate = (meter: `0x${string}`, seq: number, reason: string): IngestOutcome => {
    counters.duplicates++
    anomaly({ kind: 'duplicate', rejected: false, meter, seq, reason })
    return { status: 'duplicate', meter, seq }
  }

  const storeRecord = async (
    m: MeterRuntime,
    { meter, record, signature }: ReturnType<typeof parseSensorPayload>,
  ): Promise<IngestOutcome> => {
    const inFlight = m.pending.get(record.seq)
    if (inFlight !== undefined) {
      // The original is not durable yet: its duplicate must not be acknowledged before it is.
      await inFlight.catch(() => {})
      return duplicate(meter, record.seq, 'seq already received; dropped')
    }
    const c = m.accepted.classify(record.seq, record.energyWh)
    if (c.kind === 'duplicate')
      return duplicate(meter, record.seq, 'seq already stored or declared gone; dropped')
    if (c.kind === 'before-start') {
      return reject('before-start', `seq ${record.seq} is below the meter's first seq ${c.base}`, {
        meter,
        seq: record.seq,
      })
    }
    if (c.kind === 'counter-rollback') {
      return reject(
        'counter-rollback',
        `counter ${record.energyWh} Wh at seq ${record.seq} contradicts ${c.neighbourEnergyWh} Wh at seq ${c.neighbourSeq}`,
        { meter, seq: record.seq, details: { neighbourSeq: c.neighbourSeq } },
      )
    }
    let periodStart: number
    try {
      periodStart = recordPeriodStart(m, record, cfg)
    } catch (error) {
      return reject('implausible-time', (error as Error).message, { meter, seq: record.seq })
    }
    writableJournal()
    m.accepted.store(record.seq, record.energyWh)
    if (c.gap !== undefined) {
      anomaly({
        kind: 'gap',
        rejected: false,
        meter,
        seq: record.seq,
        reason: `records ${c.gap.from}..${c.gap.to} are missing; asked the meter to resend them`,
        details: { ...c.gap },
      })
      requestResend(m, c.gap.from, c.gap.to)
    }
    let moved = false
    const write = journalAppend(
      { k: 'r', m: meter, r: record, s: signature },
      meter,
      (segment) => {
        moved = applyDurable(m, record, signature, segment, periodStart)
      },
      record.seq,
    )
    m.pending.set(record.seq, write)
    try {
      await write
    } finally {
      m.pending.delete(record.seq)
    }
    counters.stored++
    if (c.fillIn) {
      anomaly({
        kind: 'gap-filled',
        rejected: false,
        meter,
        seq: record.seq,
        reason: 'missing record filled in',
      })
    }
    if (moved) scheduleAck(m)
    const event: RecordEvent = { meter, record, signature }
    try {
      onRecord?.(event)
    } catch (error) {
      log({
        level: 'error',
        event: 'ingest.listener-failed',
        listener: 'onRecord',
        reason: (error as Error)?.message,
      })
    }
    emit('record', event)
    const closesFlushInterval =
      record.kind === 1 && (record.time / cfg.interval) % cfg.flushEveryIntervals === 0
    if (flusher.count >= cfg.batchRecords || closesFlushInterval) flusher.scheduleFlush()
    if (record.kind === 1) {
      assembleAffected(m, record.time)
      checkMissingClose(m, record.time - cfg.interval)
    }
    return { status: 'stored', meter, seq: record.seq }
  }

  const storePeriod = async (
    m: MeterRuntime,
    { meter, period, signature }: ReturnType<typeof parsePeriodPayload>,
  ): Promise<IngestOutcome> => {
    const known = m.periods.get(period.periodStart)
    if (known !== undefined) {
      const r = registerPeriod(m, period, signature)
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
    await journalAppend({ k: 'p', m: meter, p: periodJson(period), s: signature }, meter)
    const entry = registerPeriod(m, period, signature)
    if (typeof entry === 'string') return { status: 'duplicate', meter }
    if (m.periodRequests.delete(period.periodStart)) {
      log({ level: 'info', event: 'ingest.period-recovered', meter, periodStart: period.periodStart })
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
