/**
 * Vault flusher: moves journaled records into the vault. It tracks which records are durable in the
 * journal but not yet in the vault (by journal segment), writes them as one deterministic set of
 * batches per meter and period, reconciles with the vault after a crash (a batch already there is not
 * written twice), checkpoints, and releases flushed segments. Flushes, seals and checkpoints share its
 * serial queue so they run one at a time, in order.
 */
import { splitRecords } from '../vault/batch.ts'
import type { Anomaly } from './anomalies.ts'
import type { Journal } from './journal.ts'
import type { RecordSink } from './sink.ts'
import type { MeterRuntime, UnflushedEntry } from './types.ts'

export interface FlusherDeps {
  sink: RecordSink | undefined
  meters: ReadonlyMap<string, MeterRuntime>
  counters: { flushedRecords: number; vaultBatches: number }
  anomaly(entry: Omit<Anomaly, 'id' | 'at'>): Anomaly
  journal(): Journal | undefined
  /** Writes the checkpoint naming the first journal segment still needed. */
  checkpoint(firstUnflushed: number): Promise<void>
  isRunning(): boolean
  /** A flush failed (its records stay in the journal): the ingestor retries it (and alarms a full disk). */
  storeFailed?(error: unknown): void
}

export type VaultFlusher = ReturnType<typeof createVaultFlusher>

export function createVaultFlusher({
  sink,
  meters,
  counters,
  anomaly,
  journal: currentJournal,
  checkpoint,
  isRunning,
  storeFailed,
}: FlusherDeps) {
  /** Records durable in the journal but not yet in the vault, by journal segment. */
  const unflushed = new Map<number, UnflushedEntry[]>()
  let unflushedCount = 0
  let reconcile = true
  // Flushes, seals and checkpoints run one at a time, in order.
  let chain: Promise<unknown> = Promise.resolve()
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn)
    chain = run.catch(() => {})
    return run
  }
  let flushScheduled = false

  /** Records a durable record for the vault (nothing to track without one). */
  const add = (segment: number, entry: UnflushedEntry): void => {
    const list = unflushed.get(segment) ?? []
    list.push(entry)
    unflushed.set(segment, list)
    unflushedCount++
  }

  /** Oldest journal segment whose records are not all in the vault yet. */
  const firstUnflushed = (): number => Math.min((currentJournal() as Journal).segment, ...unflushed.keys())

  /**
   * The last segment of the flush unit in progress, while that unit spans several segments: it is
   * in the checkpoint (StateFile.flushing) before the unit's first batch is appended, so a replay
   * after a crash cuts the unit into the same batches (see flushSegments).
   */
  let unitEnd: number | undefined

  /**
   * Moves every closed segment's records into the vault, as one unit: per meter and period, the
   * records of all those segments are split into batches of the vault's target size. Before, each
   * segment was a unit of its own, with its own blocks and a checkpoint after it; while live
   * records keep each segment to a few records, that made a block and a checkpoint (two fsyncs)
   * per handful of records: 6,400 records took 72 s to flush after a restart under load (bench:chaos),
   * and the vault held thousands of tiny blocks that every history load then reads back.
   *
   * Crash safety rests on the replay cutting the same batches: the reconcile below skips, per
   * period, as many batches as the vault has beyond the checkpoint's count. So the unit is named in
   * the checkpoint before its first batch (`unitEnd`), and a replay (or a retry after a failed
   * attempt) cuts exactly that unit again, not that unit merged with the segments written since.
   * Two checkpoints per flush, as before (one per segment, then one more).
   */
  const flushSegments = async (): Promise<void> => {
    const journal = currentJournal()
    if (journal === undefined || sink === undefined) return
    const closed = await journal.rotate()
    let known: Map<string, { status: string; batchCount: number }> | undefined
    if (reconcile) {
      known = new Map()
      for (const p of await sink.listPeriods()) {
        known.set(`${p.meter.toLowerCase()}/${p.periodStart}`, { status: p.status, batchCount: p.batchCount })
      }
    }
    for (;;) {
      const ready = [...unflushed.keys()].filter((s) => s <= closed).sort((a, b) => a - b)
      if (ready.length === 0) break
      const end = unitEnd ?? (ready.at(-1) as number)
      const segments = ready.filter((s) => s <= end)
      if (segments.length === 0) {
        // The unit named by a checkpoint held no record (only closes, GONE notices or probes).
        unitEnd = undefined
        continue
      }
      if (unitEnd === undefined) {
        // Named before its first batch: even a unit of one segment, which a replay would otherwise
        // merge with the segments written after it and cut differently.
        unitEnd = end
        await checkpoint(firstUnflushed())
      }
      const entries = segments.flatMap((segment) => unflushed.get(segment) ?? [])
      // The batch counts as the checkpoint knows them for this unit. A failure part-way (a full
      // disk) puts them back and reconciles on the retry, exactly as after a crash: the batches
      // this attempt did append are found in the vault and skipped. Without it the retry split the
      // unit anew and appended those batches a second time (records twice in the vault).
      const counted = new Map<MeterRuntime, Map<number, number>>()
      for (const e of entries) {
        const m = meters.get(e.meter) as MeterRuntime
        const before = counted.get(m) ?? new Map<number, number>()
        if (!before.has(e.periodStart)) before.set(e.periodStart, m.batches.get(e.periodStart) ?? 0)
        counted.set(m, before)
      }
      const restoreCounts = () => {
        for (const [m, before] of counted) {
          for (const [periodStart, count] of before) {
            if (count === 0) m.batches.delete(periodStart)
            else m.batches.set(periodStart, count)
          }
        }
      }
      const groups = new Map<string, UnflushedEntry[]>()
      for (const e of entries) {
        const key = `${e.meter}/${e.periodStart}`
        const list = groups.get(key) ?? []
        list.push(e)
        groups.set(key, list)
      }
      for (const [key, group] of groups) {
        const first = group[0] as UnflushedEntry
        const m = meters.get(first.meter) as MeterRuntime
        // Deterministic split under the vault's block-size target: a replay cuts the same batches.
        for (const chunk of splitRecords(group.map((e) => e.record))) {
          const confirmed = m.batches.get(first.periodStart) ?? 0
          const inVault = known?.get(key)
          if (inVault !== undefined && inVault.batchCount > confirmed) {
            // A crash hit between the vault's append and our checkpoint: the batch is there already.
            m.batches.set(first.periodStart, confirmed + 1)
            continue
          }
          try {
            await sink.appendBatch(first.meter, first.periodStart, chunk)
            m.batches.set(first.periodStart, confirmed + 1)
            counters.vaultBatches++
            counters.flushedRecords += chunk.length
          } catch (error) {
            if ((error as Error)?.name === 'PeriodSealedError') {
              anomaly({
                kind: 'late-record',
                rejected: false,
                meter: first.meter,
                reason: `${chunk.length} records arrived after period ${first.periodStart} was sealed in the vault; they stay in the journal's acknowledged set only`,
                details: { seqs: chunk.map((r) => r.seq) },
              })
              continue
            }
            reconcile = true
            restoreCounts()
            throw error
          }
        }
      }
      for (const segment of segments) unflushed.delete(segment)
      unflushedCount -= entries.length
      unitEnd = undefined
    }
    reconcile = false
    // The batch counts, and no unit in progress, in one write.
    await checkpoint(firstUnflushed())
    await journal.release(firstUnflushed())
  }

  const flush = (): Promise<void> =>
    serial(async () => {
      try {
        await flushSegments()
      } catch (error) {
        anomaly({
          kind: 'vault-error',
          rejected: false,
          reason: `records stay in the journal and are retried: ${(error as Error)?.message ?? String(error)}`,
        })
        storeFailed?.(error)
      }
    })

  const scheduleFlush = (): void => {
    if (flushScheduled || sink === undefined) return
    flushScheduled = true
    setImmediate(() => {
      flushScheduled = false
      if (isRunning()) void flush()
    })
  }

  return {
    serial,
    add,
    /** The unit a crashed flush was cutting (from the checkpoint): the first flush cuts it again. */
    resumeUnit(end: number | undefined): void {
      unitEnd = end
    },
    /** The last segment of the unit in progress, for the checkpoint (StateFile.flushing). */
    get unitEnd(): number | undefined {
      return unitEnd
    },
    firstUnflushed,
    flushSegments,
    flush,
    scheduleFlush,
    /** Records waiting for the vault. */
    get count(): number {
      return unflushedCount
    },
    /** Settles once every queued flush, seal and checkpoint has run. */
    idle(): Promise<unknown> {
      return chain
    },
  }
}
