/**
 * Period assembler: turns a verified close into a billable period. It rebuilds the period's readings
 * from the interval records and checks them against the signed commitment, reports why a period
 * waits (records missing) or can never be billed (mismatch, records signed gone), seals the vault
 * period after a flush, prunes what the checkpoint no longer needs and emits 'period'.
 */
import type { Logger } from '../log/logger.ts'
import type { Anomaly } from './anomalies.ts'
import type { IngestorConfig } from './config.ts'
import type { VaultFlusher } from './flusher.ts'
import type { Journal } from './journal.ts'
import { assembleExport, assemblePeriod } from './period.ts'
import { lostIntervals, missingClose } from './period-tracker.ts'
import type { RecordSink } from './sink.ts'
import { KEEP_ASSEMBLED_PERIODS, type MeterRuntime, type PeriodEntry, type PeriodResult } from './types.ts'

export interface AssemblerDeps {
  cfg: Pick<IngestorConfig, 'interval' | 'n'>
  sink: RecordSink | undefined
  flusher: VaultFlusher
  anomaly(entry: Omit<Anomaly, 'id' | 'at'>): Anomaly
  log: Logger
  emitPeriod(result: PeriodResult): void
  journal(): Journal | undefined
  checkpoint(firstUnflushed: number): Promise<void>
  /**
   * A write for the vault or the checkpoint failed (a full disk, say): the ingestor raises the
   * disk-full alarm if it is one and tries the flush and the seals of pending periods again later.
   */
  storeFailed(error: unknown): void
}

export type PeriodAssembler = ReturnType<typeof createPeriodAssembler>

export function createPeriodAssembler({
  cfg,
  sink,
  flusher,
  anomaly,
  log,
  emitPeriod,
  journal,
  checkpoint,
  storeFailed,
}: AssemblerDeps) {
  const { serial, flushSegments, firstUnflushed } = flusher
  const tryAssemble = async (m: MeterRuntime, entry: PeriodEntry): Promise<void> => {
    if (entry.status === 'assembled' || entry.status === 'rejected' || entry.status === 'unverifiable') return
    const { period } = entry
    if (m.pairingKey === undefined) {
      entry.status = 'unverifiable'
      anomaly({
        kind: 'no-pairing-key',
        rejected: false,
        meter: m.address,
        reason: `period ${period.periodStart}–${period.periodEnd} cannot be checked or proved: configure the meter's pairing key`,
      })
      return
    }
    const options = { intervalSeconds: cfg.interval, n: cfg.n, pairingKey: m.pairingKey }
    const imported = assemblePeriod(period, m.intervals, options)
    // The export half from the same interval records: only once the import half is whole (a record
    // missing for one is missing for both), and its mismatch rejects the close like the import's.
    const exported =
      imported.status === 'ok' && entry.exportClose !== undefined
        ? assembleExport(period, entry.exportClose, m.intervals, options)
        : undefined
    const outcome = exported !== undefined && exported.status !== 'ok' ? exported : imported
    if (outcome.status === 'incomplete') {
      const lost = lostIntervals(m, outcome.missing)
      if (lost !== undefined) {
        entry.status = 'rejected'
        entry.reason =
          `period ${period.periodStart}–${period.periodEnd} cannot be billed: the meter signed that records ` +
          `${lost.from}..${lost.to} are gone, among them the interval record ending ${lost.time}, so its readings ` +
          `can never be rebuilt to match the signed commitment`
        anomaly({
          kind: 'records-gone',
          rejected: true,
          meter: m.address,
          reason: entry.reason,
          details: {
            periodStart: period.periodStart,
            fromSeq: lost.from,
            toSeq: lost.to,
            intervalEnd: lost.time,
          },
        })
        if (journal() !== undefined)
          await serial(() => checkpoint(firstUnflushed())).catch((error) => storeFailed(error))
        return
      }
      entry.status = 'incomplete'
      if (!entry.reportedIncomplete) {
        entry.reportedIncomplete = true
        anomaly({
          kind: 'period-incomplete',
          rejected: false,
          meter: m.address,
          reason: `period ${period.periodStart}–${period.periodEnd} waits for ${outcome.missing.length} interval records`,
          details: { missing: outcome.missing.length, firstMissing: outcome.missing[0] },
        })
      }
      return
    }
    if (outcome.status === 'mismatch') {
      entry.status = 'rejected'
      anomaly({ kind: outcome.kind, rejected: true, meter: m.address, reason: outcome.reason })
      return
    }
    // Its interval records are complete, but the meter numbers every record in time order: a seq
    // between the record ending at periodStart and the one ending at periodEnd that is neither
    // stored nor signed gone is a record of this period still on its way (a sample lost to a full
    // disk and resent after the close, say). Sealing now would leave it, acknowledged when it
    // comes, outside the sealed vault period for good ('late-record'): wait for it, or for its
    // GONE (the sensor and GONE handlers try again).
    const awaited = awaitedRecords(m, period.periodStart, period.periodEnd)
    const bound = periodSeqBound(m, period.periodEnd)
    if (awaited.length > 0 || bound === undefined) {
      entry.status = 'incomplete'
      // Any record stored below the bound may be the one awaited (no bound: any record at all).
      entry.awaitsSeqBelow = bound ?? Number.POSITIVE_INFINITY
      if (!entry.reportedIncomplete) {
        entry.reportedIncomplete = true
        anomaly({
          kind: 'period-incomplete',
          rejected: false,
          meter: m.address,
          reason:
            awaited.length > 0
              ? `period ${period.periodStart}–${period.periodEnd} waits for records ${awaited.map((g) => `${g.from}..${g.to}`).join(', ')} before it is sealed`
              : `period ${period.periodStart}–${period.periodEnd} waits for its last interval record (ending ${period.periodEnd}), or a later record that numbers it, before it is sealed`,
          details: { awaited },
        })
      }
      return
    }
    entry.awaitsSeqBelow = undefined
    const result: PeriodResult = {
      meter: m.address,
      period,
      signature: entry.signature,
      readings: outcome.readings,
      salt: outcome.salt,
      ...(entry.exportClose !== undefined && exported?.status === 'ok'
        ? { exportClose: entry.exportClose, exportReadings: exported.readings }
        : {}),
    }
    await serial(async () => {
      // Asked twice (a close and the retry after a failed seal): the first one did it.
      if (entry.status === 'assembled') return
      if (sink !== undefined) {
        try {
          await flushSegments()
          const sealed = await sink.sealPeriod(m.address, period.periodStart, period.periodEnd)
          result.manifestCid = sealed.manifestCid.toString()
          result.cidDigest = sealed.cidDigest
        } catch (error) {
          // The period stays pending (its close is journaled), and the ingestor seals it again
          // later: sealing is idempotent, so a seal that half happened is simply completed.
          anomaly({
            kind: 'vault-error',
            rejected: false,
            meter: m.address,
            reason: `period ${period.periodStart} verified but not sealed (retried): ${(error as Error)?.message}`,
          })
          // Its readings are complete: what it waits for now is the seal (an 'incomplete' period
          // would otherwise only be tried again when one of its records arrives, and none will).
          entry.status = 'pending'
          storeFailed(error)
          return
        }
      }
      entry.status = 'assembled'
      entry.result = result
      // The record ending at periodEnd stays: it bounds the seqs of the next period's first intervals.
      // Earlier periods' records stay too while one of them still waits (its close not here yet, or
      // records missing): after an outage a resent close can arrive after the resent records, and
      // the later period completes first.
      const earlierWaits =
        [...m.periods.values()].some(
          (p) =>
            p.period.periodStart < period.periodStart &&
            (p.status === 'pending' || p.status === 'incomplete'),
        ) || (missingClose(m, cfg) ?? Number.POSITIVE_INFINITY) < period.periodStart
      const from = earlierWaits ? period.periodStart : Number.NEGATIVE_INFINITY
      for (const t of [...m.intervals.keys()]) if (t > from && t < period.periodEnd) m.intervals.delete(t)
      // The checkpoint is rewritten at every flush: keep it small. Older periods live in the vault.
      const assembled = [...m.periods.values()].filter((p) => p.status === 'assembled')
      for (const old of assembled.slice(0, Math.max(0, assembled.length - KEEP_ASSEMBLED_PERIODS))) {
        m.periods.delete(old.period.periodStart)
        m.chainFloor = Math.max(m.chainFloor ?? 0, old.period.periodEnd)
      }
      // The period is sealed in the vault whether this checkpoint lands or not (a full disk): it is
      // billed now, and the checkpoint is written again at the next flush. A crash before then
      // assembles it again at start, and sealing and billing are both idempotent.
      if (journal() !== undefined) await checkpoint(firstUnflushed()).catch((error) => storeFailed(error))
      log.info('period assembled', {
        meter: m.address,
        periodStart: period.periodStart,
        periodEnd: period.periodEnd,
      })
      emitPeriod(result)
    })
  }

  const assembleAffected = (m: MeterRuntime, time: number): void => {
    for (const entry of m.periods.values()) {
      if (
        entry.status === 'incomplete' &&
        time > entry.period.periodStart &&
        time <= entry.period.periodEnd
      ) {
        void tryAssemble(m, entry)
      }
    }
  }

  /** A record with this seq is stored: periods that waited for it may be sealed now. */
  const assembleAwaiting = (m: MeterRuntime, seq: number): void => {
    for (const entry of m.periods.values()) {
      if (entry.status === 'incomplete' && entry.awaitsSeqBelow !== undefined && seq < entry.awaitsSeqBelow)
        void tryAssemble(m, entry)
    }
  }

  return { tryAssemble, assembleAffected, assembleAwaiting }
}

/**
 * The seq every record of the period ending at `periodEnd` is numbered below (the meter numbers its
 * records in time order): the interval record ending at periodEnd, else the first later interval
 * record the node holds. Undefined while neither is here: the period's last interval reading can be
 * rebuilt from the close's endCounter, so the period looked complete, but its last interval record
 * (and the samples before it) may still be on their way, numbered who knows where. Before, such a
 * period was sealed at once, and that record, acknowledged when it came, was refused by the sealed
 * vault period ('late-record') and never reached the vault (bench:chaos seed 515, seq 1,530).
 */
export function periodSeqBound(m: MeterRuntime, periodEnd: number): number | undefined {
  const own = m.intervals.get(periodEnd)?.seq
  if (own !== undefined) return own
  let bound: number | undefined
  for (const e of m.intervals.values())
    if (e.time > periodEnd && (bound === undefined || e.seq < bound)) bound = e.seq
  return bound
}

/**
 * Sequence gaps (neither stored nor signed gone) between the interval record ending at
 * `periodStart` and the period's seq bound (periodSeqBound): the period's own records that have not
 * arrived yet. Without a record ending at periodStart (pruned, or the first period) every gap below
 * the bound counts; without a bound, none is known yet (the caller waits for one).
 */
export function awaitedRecords(
  m: MeterRuntime,
  periodStart: number,
  periodEnd: number,
): { from: number; to: number }[] {
  const last = periodSeqBound(m, periodEnd)
  if (last === undefined) return []
  const first = m.intervals.get(periodStart)?.seq ?? Number.NEGATIVE_INFINITY
  return m.durable.gaps().filter((g) => g.from < last && g.to > first)
}
