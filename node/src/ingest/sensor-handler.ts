/**
 * The SENSOR handler: sequence check (duplicates, rollbacks, gaps → Resend), the journal write and
 * the ack it allows, the 'record' event, and the flush and assembly triggers a record sets off.
 */
import type { parseSensorPayload } from '#protocol/records.ts'
import type { HandlerDeps } from './handler-deps.ts'
import { recordPeriodStart } from './period-tracker.ts'
import type { IngestOutcome, MeterRuntime, RecordEvent } from './types.ts'

type SensorDeps = Pick<
  HandlerDeps,
  | 'cfg'
  | 'counters'
  | 'log'
  | 'emit'
  | 'anomaly'
  | 'reject'
  | 'onRecord'
  | 'outbound'
  | 'flusher'
  | 'assembler'
  | 'writableJournal'
  | 'journalAppend'
  | 'applyDurable'
>

export function createSensorHandler({
  cfg,
  counters,
  log,
  emit,
  anomaly,
  reject,
  onRecord,
  outbound: { scheduleAck, requestResend, checkMissingClose },
  flusher,
  assembler: { assembleAffected, assembleAwaiting },
  writableJournal,
  journalAppend,
  applyDurable,
}: SensorDeps): (m: MeterRuntime, payload: ReturnType<typeof parseSensorPayload>) => Promise<IngestOutcome> {
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
    const c = m.accepted.classify(record.seq, record.energyWh, record.exportedWh)
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
    if (c.kind === 'export-rollback') {
      // The export counter (OBIS 2.8.0) is cumulative like the import one: a signed record whose
      // export count goes back would credit the same exported Wh twice.
      return reject(
        'export-rollback',
        `export counter ${record.exportedWh} Wh at seq ${record.seq} contradicts ${c.neighbourExportedWh} Wh at seq ${c.neighbourSeq}`,
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
    m.accepted.store(record.seq, record.energyWh, record.exportedWh)
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
      log.error('a listener failed', { listener: 'onRecord', error })
    }
    emit('record', event)
    const closesFlushInterval =
      record.kind === 1 && (record.time / cfg.interval) % cfg.flushEveryIntervals === 0
    if (flusher.count >= cfg.batchRecords || closesFlushInterval) flusher.scheduleFlush()
    assembleAwaiting(m, record.seq)
    if (record.kind === 1) {
      assembleAffected(m, record.time)
      checkMissingClose(m, record.time - cfg.interval)
    }
    return { status: 'stored', meter, seq: record.seq }
  }

  return storeRecord
}
