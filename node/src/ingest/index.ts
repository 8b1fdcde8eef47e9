/** Meter ingestion's public surface (docs/ingest.md): what the household node wires in. */
export { ANOMALY_KINDS, type Anomaly, type AnomalyKind } from './anomalies.ts'
export { ImplausibleTimeError } from './calendar.ts'
export {
  createIngestor,
  DEFAULT_BATCH_RECORDS,
  DEFAULT_PERIOD_READINGS,
  type IngestOutcome,
  type Ingestor,
  type IngestorOptions,
  IngestorStateError,
  KEEP_ASSEMBLED_PERIODS,
  type MeterConfig,
  type MeterStatus,
  type PeriodResult,
  type RecordEvent,
} from './ingestor.ts'
export { JournalError } from './journal.ts'
export { type AssembledPeriod, assemblePeriod, type IntervalEntry } from './period.ts'
export { createFileSink, type RecordSink, type SinkPeriodInfo } from './sink.ts'
