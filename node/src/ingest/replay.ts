/**
 * The recovery replay: after the checkpoint is loaded, every journal frame of a segment not yet
 * flushed is applied again in order. Records already durable in the checkpoint only go back to the
 * vault flusher (their segment was never flushed); the others, with signed closes and GONE ranges,
 * rebuild the state the checkpoint had not caught up with.
 */
import type { MeterRecord } from '#protocol/records.ts'
import type { IngestorConfig } from './config.ts'
import { type ExportCloseJson, exportCloseFromJson } from './export-close.ts'
import type { VaultFlusher } from './flusher.ts'
import type { HandlerDeps } from './handler-deps.ts'
import type { JournalFrame } from './journal.ts'
import { intervalEntryOf } from './period.ts'
import { isSealedTime, recordPeriodStart, registerPeriod } from './period-tracker.ts'
import type { RecordSink } from './sink.ts'
import type { periodJson } from './state-file.ts'
import type { MeterRuntime } from './types.ts'

/** A journal frame as ingest writes it: a record, a signed period close or a signed GONE. */
interface IngestFrame {
  k: string
  m: string
  /** Without the export fields when journaled before record format 2. */
  r?: Omit<MeterRecord, 'exportedWh' | 'intervalExportedWh'> & Partial<MeterRecord>
  p?: ReturnType<typeof periodJson>
  /** A close's export half (absent in a frame journaled before export metering). */
  x?: ExportCloseJson
  g?: { fromSeq: number; toSeq: number }
  s: `0x${string}`
}

export function replayJournal(
  frames: readonly JournalFrame[],
  firstSegment: number,
  deps: Pick<HandlerDeps, 'applyDurable' | 'applyGone' | 'log'> & {
    cfg: Pick<IngestorConfig, 'interval' | 'n'>
    meters: Map<string, MeterRuntime>
    sink: RecordSink | undefined
    flusher: Pick<VaultFlusher, 'add'>
  },
): void {
  const { cfg, meters, sink, flusher, applyDurable, applyGone, log } = deps
  const decoder = new TextDecoder()
  for (const { segment, payload } of frames) {
    if (segment < firstSegment) continue
    let frame: IngestFrame
    try {
      frame = JSON.parse(decoder.decode(payload))
    } catch {
      log.error('a journal frame is unreadable: skipped', { segment })
      continue
    }
    const m = meters.get(frame.m)
    if (m === undefined) continue
    if (frame.k === 'r' && frame.r !== undefined) {
      // A record journaled before record format 2 has no export fields: nothing was exported.
      const r: MeterRecord = { exportedWh: 0, intervalExportedWh: 0, ...frame.r }
      if (m.durable.has(r.seq)) {
        if (sink === undefined) continue
        // In the checkpoint already but its segment was not flushed yet: only the vault needs it.
        flusher.add(segment, {
          meter: m.address,
          periodStart: recordPeriodStart(m, r, cfg),
          record: { ...r, sig: frame.s },
        })
        if (r.kind === 1 && !m.intervals.has(r.time) && !isSealedTime(m, r.time)) {
          m.intervals.set(r.time, intervalEntryOf(r))
        }
      } else {
        applyDurable(m, r, frame.s, segment, recordPeriodStart(m, r, cfg))
      }
    } else if (frame.k === 'p' && frame.p !== undefined) {
      registerPeriod(
        m,
        { ...frame.p, commitment: BigInt(frame.p.commitment) },
        frame.s,
        frame.x === undefined ? undefined : exportCloseFromJson(frame.x),
      )
    } else if (frame.k === 'g' && frame.g !== undefined) {
      applyGone(m, frame.g.fromSeq, frame.g.toSeq)
    }
  }
}
