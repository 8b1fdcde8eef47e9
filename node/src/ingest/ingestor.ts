/**
 * Meter ingestion: MQTT → schema check → signature → sequence/counter check → journal (fsync) →
 * acknowledge → vault. See docs/ingest.md for the durability argument.
 *
 * "Acknowledged" means two things, both only after the record's journal frame is fsynced: the MQTT
 * PUBACK (mqtt.js' handleMessage hook holds it back) and the retained `zkmeter/<meter>/ack` high-water
 * mark. Two sequence trackers per meter keep that honest: `accepted` (durable + in flight, for
 * duplicate and counter checks) and `durable` (what checkpoints and acks may claim).
 *
 * Besides records and period closes it takes the meter's signed GONE notices (records it no longer
 * holds: the gap is closed for good, the ack moves on, the anomaly stays) and its STATE reports (the
 * open period and PeriodDays: where the next boundaries are, and which closes must already exist —
 * a close the node never received is asked for again with ResendPeriod).
 *
 * This module is the composition: createIngestor wires the pieces below, owns the journal (the one
 * promise of durability: append, failure latch, recovery replay) and the start/stop lifecycle. The
 * pieces, one job each: config.ts (options, meter runtimes), router.ts (parse → meter → signature),
 * handlers.ts (SENSOR / PERIOD / GONE / STATE decisions), period-tracker.ts (boundaries, missing
 * closes), assembler.ts (assembly and sealing), flusher.ts (journal → vault), state-file.ts
 * (checkpoint), outbound.ts (acks, Resend, ResendPeriod), mqtt-session.ts (the broker), status.ts
 * (reporting), types.ts (shared shapes).
 */

import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import type { MeterRecord } from '#protocol/records.ts'
import { silentLogger } from '../log/logger.ts'
import { freeBytes, isDiskFull } from '../storage/disk.ts'
import { type Anomaly, type AnomalyKind, createAnomalyLog } from './anomalies.ts'
import { createPeriodAssembler } from './assembler.ts'
import { checkOptions, createMeterRuntimes } from './config.ts'
import { createVaultFlusher } from './flusher.ts'
import { createHandlers } from './handlers.ts'
import { type Journal, openJournal } from './journal.ts'
import { connectMqtt, type MqttSession } from './mqtt-session.ts'
import { createOutbound } from './outbound.ts'
import { intervalEntryOf } from './period.ts'
import { replayJournal } from './replay.ts'
import { createRouter } from './router.ts'
import { createSequenceTracker } from './sequence.ts'
import { loadState, writeState } from './state-file.ts'
import { assembledPeriods, meterStatus } from './status.ts'
import {
  type CatchUpStatus,
  type IngestOutcome,
  type Ingestor,
  type IngestorOptions,
  IngestorStateError,
  type MeterRuntime,
  type StateFile,
  type StorageStatus,
} from './types.ts'

export {
  type CatchUpStatus,
  DEFAULT_BATCH_RECORDS,
  DEFAULT_PERIOD_READINGS,
  type IngestOutcome,
  type Ingestor,
  type IngestorOptions,
  IngestorStateError,
  KEEP_ASSEMBLED_PERIODS,
  type MeterConfig,
  type MeterStatus,
  type OutboundMessage,
  type PeriodResult,
  type RecordEvent,
  type StorageStatus,
} from './types.ts'

export function createIngestor(options: IngestorOptions): Ingestor {
  const cfg = checkOptions(options)

  const log = options.log ?? silentLogger
  const emitter = new EventEmitter()
  const anomalyLog = createAnomalyLog(cfg.maxAnomalies)
  const counters = {
    received: 0,
    processed: 0,
    stored: 0,
    duplicates: 0,
    rejected: 0,
    flushedRecords: 0,
    vaultBatches: 0,
  }
  const meters = createMeterRuntimes(options, cfg)
  const statePath = join(options.dataDir, 'ingest-state.json')
  const sink = options.vault

  let journal: Journal | undefined
  let session: MqttSession | undefined
  let running = false
  let stopping: Promise<void> | undefined
  let failed: unknown
  let storage: StorageStatus = { state: 'ok', since: Date.now(), error: null }
  let storageTimer: NodeJS.Timeout | undefined

  /** A listener's exception must never hold back an acknowledgement or break the pipeline. */
  const emit = (event: 'record' | 'anomaly' | 'period' | 'storage', value: unknown): void => {
    try {
      emitter.emit(event, value)
    } catch (error) {
      log.error('a listener failed', { listener: event, error })
    }
  }
  const anomaly = (entry: Omit<Anomaly, 'id' | 'at'>): Anomaly => {
    const a = anomalyLog.add(entry)
    if (a.rejected) log.warn('anomaly recorded', { ...a })
    else log.info('anomaly recorded', { ...a })
    emit('anomaly', a)
    return a
  }
  const reject = (kind: AnomalyKind, reason: string, extra: Partial<Anomaly> = {}): IngestOutcome => {
    counters.rejected++
    anomaly({ kind, rejected: true, reason, ...extra })
    return { status: 'rejected', kind, reason }
  }

  /** State of meters no longer configured: carried over untouched, so removing a meter from the
   * config by mistake and adding it back does not reset its sequence (and re-store its records). */
  const dormant: StateFile['meters'] = {}
  const checkpoint = (firstUnflushed: number): Promise<void> =>
    writeState(statePath, meters, dormant, firstUnflushed, options.stateKey, flusher.unitEnd)

  const outbound = createOutbound({
    meters,
    cfg,
    log,
    anomaly,
    isRunning: () => running,
    client: () => session?.client,
  })
  const flusher = createVaultFlusher({
    sink,
    meters,
    counters,
    anomaly,
    journal: () => journal,
    checkpoint,
    isRunning: () => running,
    storeFailed: (error) => storeFailed(error),
  })
  const { flush } = flusher
  const assembler = createPeriodAssembler({
    cfg,
    sink,
    flusher,
    anomaly,
    log,
    emitPeriod: (result) => emit('period', result),
    journal: () => journal,
    checkpoint,
    storeFailed: (error) => storeFailed(error),
  })

  // ------------------------------------------------------------ durable state

  const applyDurable = (
    m: MeterRuntime,
    r: MeterRecord,
    sig: `0x${string}`,
    segment: number,
    periodStart: number,
  ): boolean => {
    m.accepted.store(r.seq, r.energyWh, r.exportedWh)
    const moved = m.durable.store(r.seq, r.energyWh, r.exportedWh)
    if (r.kind === 1) m.intervals.set(r.time, intervalEntryOf(r))
    // Without a vault the journal is the only store: nothing to flush, nothing to track.
    if (sink === undefined) return moved
    flusher.add(segment, { meter: m.address, periodStart, record: { ...r, sig } })
    return moved
  }

  // ------------------------------------------------------------ the journal

  /** The journal must be open and healthy before anything is promised as stored. */
  const writableJournal = (): Journal => {
    if (failed !== undefined || journal === undefined) {
      throw new IngestorStateError('the ingestor cannot store records (journal failed or not started)', {
        cause: failed,
      })
    }
    return journal
  }

  const setStorage = (state: StorageStatus['state'], error: unknown): void => {
    const message = error === undefined ? null : ((error as Error)?.message ?? String(error))
    const cause = (error as { cause?: { message?: string } })?.cause?.message
    storage = { state, since: Date.now(), error: cause ? `${message}: ${cause}` : message }
    emit('storage', { ...storage })
  }

  // ------------------------------------------------------------ vault and checkpoint writes

  /**
   * The storage state from both writers: the journal (`failed`) and the vault with the checkpoint
   * (`storeError`, a flush, seal or checkpoint write that failed and is being retried). Either on a
   * full disk makes it `full`; `ok` only once both write again.
   */
  let storeError: unknown
  let storeTimer: NodeJS.Timeout | undefined
  let storeDelay = options.storageRetryMs ?? 1000
  let storeRetrying = false
  let storeFailures = 0
  const refreshStorage = (): void => {
    const full = [failed, storeError].find((e) => e !== undefined && isDiskFull(e))
    const state: StorageStatus['state'] = full !== undefined ? 'full' : failed !== undefined ? 'failed' : 'ok'
    if (state !== storage.state) setStorage(state, full ?? failed)
  }

  /**
   * A vault flush, a period's seal or a checkpoint failed. Nothing is lost: the records and the
   * period's close stay in the journal. But nothing retried them before the next record (a flush)
   * or the next start (a seal: its bill, and every later bill of the meter, waited that long). Now
   * they are retried with backoff (1 s doubling to 30 s) and at once when the journal recovers, and
   * a full disk here raises the same alarm as in the journal, cleared when the retry succeeds.
   */
  const storeFailed = (error: unknown): void => {
    storeFailures++
    const first = storeError === undefined
    storeError = error
    if (first && isDiskFull(error)) {
      log.error(
        'the disk is full: the vault cannot take records or seal periods; they stay in the journal and are retried',
        {
          error,
        },
      )
    }
    refreshStorage()
    if (!storeRetrying) scheduleStoreRetry(storeDelay)
  }

  const scheduleStoreRetry = (delayMs: number): void => {
    if (!running || storeTimer !== undefined) return
    storeTimer = setTimeout(() => void retryStore(), delayMs)
    storeTimer.unref?.()
  }

  /** Flushes again and seals every period whose close is in but that is not sealed yet. */
  const retryStore = async (): Promise<void> => {
    storeTimer = undefined
    if (!running || storeRetrying) return
    storeRetrying = true
    const failuresBefore = storeFailures
    try {
      await flush()
      for (const m of meters.values()) {
        for (const entry of [...m.periods.values()]) {
          if (entry.status === 'pending') await assembler.tryAssemble(m, entry)
        }
      }
      if (journal !== undefined) await flusher.serial(() => checkpoint(flusher.firstUnflushed()))
    } catch (error) {
      storeFailures++
      storeError = error
    } finally {
      storeRetrying = false
    }
    if (storeFailures === failuresBefore) {
      if (storeError !== undefined) log.info('the vault and the checkpoint write again')
      storeError = undefined
      storeDelay = options.storageRetryMs ?? 1000
      refreshStorage()
      return
    }
    refreshStorage()
    storeDelay = Math.min(storeDelay * 2, 30_000)
    if (await reopenVaultIfSpace(storeError)) storeDelay = options.storageRetryMs ?? 1000
    scheduleStoreRetry(storeDelay)
  }

  /**
   * The vault still refuses on a full disk, but the disk has space again: LevelDB's background
   * error (a compaction that failed on ENOSPC) outlives the full disk until the database is
   * reopened. Without this the alarm stayed up and no record reached the vault until a restart.
   */
  const reopenVaultIfSpace = async (error: unknown): Promise<boolean> => {
    if (options.reopenVault === undefined || !running || !isDiskFull(error)) return false
    const reserve = options.storageReserveBytes ?? 16 * 1024 * 1024
    const free = await freeBytes(options.dataDir, options.disk).catch(() => 0)
    if (free < reserve) return false
    log.warn('the disk has space again but the vault still refuses writes: reopening its stores', {
      freeBytes: free,
    })
    try {
      await options.reopenVault()
      // The caller tries again soon, not at the grown backoff: the stores are fresh.
      return true
    } catch (reopenError) {
      log.error('could not reopen the vault stores', { error: reopenError })
      return false
    }
  }

  /**
   * A full disk stops storing, but not for good: the journal is tried again with backoff (cut back
   * to its last fsynced frame, then a probe write) and, once it writes, ingestion resumes. What was
   * in flight when the disk filled was never acknowledged: `accepted` forgets it, so the meter's
   * resend of it is stored rather than dropped as a duplicate, and the next record shows the gap.
   */
  const retryStorage = (delayMs: number): void => {
    storageTimer = setTimeout(async () => {
      storageTimer = undefined
      if (!running || journal === undefined) return
      try {
        await journal.recover(options.storageReserveBytes ?? 16 * 1024 * 1024)
      } catch (error) {
        storage.error = (error as Error)?.message ?? String(error)
        retryStorage(Math.min(delayMs * 2, 30_000))
        return
      }
      for (const m of meters.values()) m.accepted = createSequenceTracker(m.durable.snapshot())
      failed = undefined
      log.info('the disk has space again: ingestion resumes')
      refreshStorage()
      // The vault's writes failed on the same full disk: try them now, not at their own backoff.
      if (storeError !== undefined && storeTimer !== undefined) {
        clearTimeout(storeTimer)
        storeTimer = undefined
        storeDelay = options.storageRetryMs ?? 1000
        void retryStore()
      }
    }, delayMs)
    storageTimer.unref?.()
  }

  /** Appends a frame; a storage failure stops all further storing (the journal is the promise). */
  const journalAppend = async (
    frame: Record<string, unknown>,
    meter: `0x${string}`,
    onDurable?: (segment: number) => void,
    seq?: number,
  ): Promise<void> => {
    try {
      await writableJournal().append(new TextEncoder().encode(JSON.stringify(frame)), onDurable)
    } catch (error) {
      if (error instanceof IngestorStateError) throw error
      const first = failed === undefined
      failed ??= error
      const at = seq === undefined ? {} : { seq }
      anomaly({ kind: 'storage-error', rejected: false, meter, ...at, reason: (error as Error).message })
      if (first) {
        if (isDiskFull(error)) {
          log.error(
            'the disk is full: ingestion stops until there is space; nothing unstored is acknowledged',
            {
              error,
            },
          )
          refreshStorage()
          retryStorage(options.storageRetryMs ?? 1000)
        } else refreshStorage()
      }
      throw error
    }
  }

  /** Closes the gap of records the meter signed as gone; journaled first, like a record. */
  const applyGone = (m: MeterRuntime, fromSeq: number, toSeq: number): { from: number; to: number }[] => {
    m.accepted.skip(fromSeq, toSeq)
    return m.durable.skip(fromSeq, toSeq)
  }

  const { storeRecord, storePeriod, storeGone, noteState } = createHandlers({
    cfg,
    counters,
    log,
    emit,
    anomaly,
    reject,
    onRecord: (event) => options.onRecord?.(event),
    outbound,
    flusher,
    assembler,
    writableJournal,
    journalAppend,
    applyDurable,
    applyGone,
  })

  const ingest = createRouter({
    meters,
    cfg,
    counters,
    reject,
    handlers: { SENSOR: storeRecord, PERIOD: storePeriod, GONE: storeGone, STATE: noteState },
  })

  // ------------------------------------------------------------ lifecycle

  const recover = async (): Promise<void> => {
    const loaded = await loadState(statePath, meters, dormant, cfg, options.stateKey)
    const firstSegment = loaded.segment
    // A flush cut short by the crash: the replay's first flush cuts that unit again, as it was.
    flusher.resumeUnit(loaded.flushing)
    // A checkpoint an older version left in plain JSON is sealed now, not at the next record.
    if (!loaded.sealed && options.stateKey !== undefined) await checkpoint(firstSegment)
    const opened = await openJournal(join(options.dataDir, 'journal'), options.disk)
    journal = opened.journal
    if (opened.truncatedBytes > 0) {
      log.warn('the journal ended in a torn frame: truncated', { bytes: opened.truncatedBytes })
    }
    replayJournal(opened.frames, firstSegment, { cfg, meters, sink, flusher, applyDurable, applyGone, log })
    await journal.release(firstSegment)
  }

  let catchingUp: { state: CatchUpStatus['state']; since: number } = { state: 'ok', since: Date.now() }
  let caughtUp: Promise<void> = Promise.resolve()
  /** The start's flush of the replayed backlog, then the periods whose seal it held up. */
  const catchUpInBackground = async (): Promise<void> => {
    const began = performance.now()
    const backlog = flusher.count
    try {
      await flush()
      for (const m of meters.values()) {
        for (const entry of [...m.periods.values()]) {
          if (!running) return
          if (entry.status === 'pending' || entry.status === 'incomplete')
            await assembler.tryAssemble(m, entry)
        }
      }
    } catch (error) {
      // flush() and the seal report their own failures and retry; anything else is a bug to see.
      log.error('the start’s catch-up failed', { error })
    } finally {
      catchingUp = { state: 'ok', since: Date.now() }
      if (backlog > 0)
        log.info('caught up with the journal', {
          records: backlog,
          ms: Math.round(performance.now() - began),
        })
    }
  }

  const ingestor: Ingestor = {
    async start() {
      if (running) return
      if (stopping !== undefined) throw new IngestorStateError('this ingestor was stopped; create a new one')
      try {
        await recover()
        running = true
        // The backlog goes into the vault behind the node's start, not before it: a journal of
        // 6,400 records held the start (and so the API) for 72 s after a long outage. Records are
        // taken again meanwhile: acknowledging needs only the journal, and the flusher's queue
        // keeps the backlog's flush ahead of theirs.
        catchingUp = { state: 'catching-up', since: Date.now() }
        caughtUp = catchUpInBackground()
        if (options.mqttUrl !== undefined) {
          session = await connectMqtt({
            url: options.mqttUrl,
            clientId: options.clientId ?? 'zkmeter-node-ingest',
            ...(options.mqttCredentials ? { credentials: options.mqttCredentials } : {}),
            connectTimeoutMs: cfg.connectTimeoutMs,
            ingest,
            log,
          })
          outbound.begin()
        } else if (outbound.attached > 0) {
          // Transports attached before start get what an MQTT meter would: acks, then Resends.
          outbound.begin()
        }
        log.info('ingestor started', { meters: meters.size })
      } catch (error) {
        await ingestor.stop()
        throw error
      }
    },
    stop() {
      stopping ??= (async () => {
        running = false
        clearTimeout(storageTimer)
        clearTimeout(storeTimer)
        outbound.end()
        // The catch-up stops between periods; its flush finishes (the queue below waits for it).
        await caughtUp
        if (session !== undefined) {
          const ending = session
          session = undefined
          await ending.end()
        }
        await flusher.idle()
        if (journal !== undefined) {
          if (failed === undefined) {
            await flush()
            await checkpoint(flusher.firstUnflushed()).catch(() => {})
          }
          await journal.close()
        }
        log.info('ingestor stopped')
      })()
      return stopping
    },
    ingest,
    catchUp: () => ({ ...catchingUp, unflushed: flusher.count }),
    whenCaughtUp: () => caughtUp,
    addOutbound: (send) => outbound.add(send),
    flush,
    anomalies: (filter) => anomalyLog.list(filter),
    reportAnomaly: anomaly,
    counters: () => ({ ...counters, ...anomalyLog.counters() }),
    periods: (meter) => assembledPeriods(meters, meter),
    status: () => [...meters.values()].map(meterStatus),
    storage: () => ({ ...storage }),
    // The session outlives a lost connection (it reconnects itself): its health is the broker's.
    broker: () => session?.health() ?? null,
    on(event: string, listener: (...args: never[]) => void) {
      emitter.on(event, listener as (...args: unknown[]) => void)
      return ingestor
    },
    off(event, listener) {
      emitter.off(event, listener as (...args: unknown[]) => void)
      return ingestor
    },
  }
  return ingestor
}
