/** What the message handlers are given: configuration, counters, and the collaborators they call. */

import type { MeterRecord } from '#protocol/records.ts'
import type { Logger } from '../log/logger.ts'
import type { Anomaly, AnomalyKind } from './anomalies.ts'
import type { PeriodAssembler } from './assembler.ts'
import type { IngestorConfig } from './config.ts'
import type { VaultFlusher } from './flusher.ts'
import type { Journal } from './journal.ts'
import type { Outbound } from './outbound.ts'
import type { IngestOutcome, MeterRuntime, RecordEvent } from './types.ts'

export interface HandlerDeps {
  cfg: Pick<IngestorConfig, 'interval' | 'n' | 'batchRecords' | 'flushEveryIntervals'>
  counters: { stored: number; duplicates: number; rejected: number }
  log: Logger
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
