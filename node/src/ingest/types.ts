/**
 * The ingestor's types and constants: its public option, outcome and status shapes, and the
 * per-meter runtime state the other ingest modules share. One place, so the modules that split the
 * pipeline (session, period tracker, flusher, state file, outbound) agree on one shape without
 * importing each other.
 */

import { ZkMeterError } from '#protocol/errors.ts'
import type { BillingPeriod, ExportClose, MeterRecord } from '#protocol/records.ts'
import type { MeterVerifier } from '#protocol/verifier.ts'
import type { Logger } from '../log/logger.ts'
import type { DiskOps } from '../storage/disk.ts'
import type { Anomaly, AnomalyKind } from './anomalies.ts'
import type { PeriodCalendar } from './calendar.ts'
import type { ExportCloseJson } from './export-close.ts'
import type { AssembledPeriod, IntervalEntry } from './period.ts'
import type { SequenceSnapshot, SequenceTracker } from './sequence.ts'
import type { RecordSink } from './sink.ts'

export const DEFAULT_PERIOD_READINGS = 2976
export const DEFAULT_BATCH_RECORDS = 256
/** Assembled periods kept in memory and in the checkpoint per meter (two years of monthly bills). */
export const KEEP_ASSEMBLED_PERIODS = 24

export class IngestorStateError extends ZkMeterError {
  override name = 'IngestorStateError'
}

export interface MeterConfig {
  address: string
  /** 32-byte secret shared with the meter (hex or bytes): needed to check and prove its periods. */
  pairingKey?: Uint8Array | string
  /** First sequence number the meter will ever send; default: the first one seen. */
  firstSeq?: number
  /** Start of the meter's first billing period (provisioning point); default 0. */
  firstPeriodStart?: number
}

export interface IngestorOptions {
  mqttUrl?: string
  /** The node's broker login (docs/broker.md): the node role reads every meter and writes acks. */
  mqttCredentials?: { username: string; password: string }
  /** Stable client id: with a persistent session the broker redelivers un-PUBACKed records. */
  clientId?: string
  dataDir: string
  domain: { chainId: bigint | number; verifyingContract: string }
  meters: readonly MeterConfig[]
  intervalSeconds?: number
  /** Readings per committed period, N (circuit size). */
  periodReadings?: number
  /** Billing period rule mirrored from the meter's PeriodDays (0 = calendar month). */
  periodDays?: number
  vault?: RecordSink
  /**
   * Reopens the vault's stores. LevelDB keeps the error of a background write that failed (a
   * compaction on a full disk) and refuses every write with it until reopened: the vault's retry
   * calls this when it still fails on a full disk although the disk has space again.
   */
  reopenVault?: () => Promise<void>
  /** Flush to the vault once this many records wait in the journal. Default 256. */
  batchRecords?: number
  /**
   * Also flush when an interval close ends a block of this many intervals (default 4: hourly with
   * 15-minute intervals), so readings reach the encrypted store promptly without a month of tiny
   * batches. Durability does not depend on it: the journal already holds every acknowledged record.
   */
  flushEveryIntervals?: number
  /** How long start() waits for the broker before failing. Default 5000. */
  connectTimeoutMs?: number
  /** Re-request still-missing ranges this often. */
  resendIntervalMs?: number
  maxAnomalies?: number
  onRecord?: (event: RecordEvent) => void
  /** Where the ingestor reports what it stored, asked for and refused (default: silent). */
  log?: Logger
  /**
   * Seals `ingest-state.json` under this 32-byte key (it holds the last periods' readings and salts,
   * which a restarted node needs to prove their bills). The household node passes one derived from
   * its root key; without one the checkpoint is plain JSON (component tests, tools).
   */
  stateKey?: Uint8Array
  /** The file calls the journal writes through (tests inject a full disk here). */
  disk?: DiskOps
  /** First wait before the journal is tried again after a full disk; doubles up to 30 s. Default 1000. */
  storageRetryMs?: number
  /** Free bytes the disk must have again before ingestion resumes after it was full. Default 16 MiB. */
  storageReserveBytes?: number
}

/**
 * Whether the node can store records: `full` (the disk or quota is full: nothing is acknowledged,
 * the meter keeps its records, the node retries and resumes by itself) or `failed` (any other write
 * failure: ingestion stays stopped until a restart).
 */
export interface StorageStatus {
  state: 'ok' | 'full' | 'failed'
  /** Since when (unix ms). */
  since: number
  error: string | null
}

export interface RecordEvent {
  meter: `0x${string}`
  record: MeterRecord
  signature: `0x${string}`
}

export interface PeriodResult extends AssembledPeriod {
  manifestCid?: string
  cidDigest?: `0x${string}`
}

export type IngestOutcome =
  | { status: 'stored'; meter: `0x${string}`; seq?: number }
  | { status: 'duplicate'; meter: `0x${string}`; seq?: number }
  /** A STATE report was read (it is a hint: nothing is stored or acknowledged for it). */
  | { status: 'noted'; meter: `0x${string}` }
  | { status: 'rejected'; kind: AnomalyKind; reason: string }

export interface MeterStatus {
  meter: `0x${string}`
  /** Every seq up to this one is durably stored (-1 or base-1 when none). */
  ackedSeq: number
  /** Missing ranges and how many times each was requested from the meter. */
  gaps: { from: number; to: number; requests: number }[]
  /** Ranges the meter signed as gone: settled for the ack, lost for good. */
  gone: { from: number; to: number }[]
  /** The open period the meter last reported in STATE. */
  openPeriod?: { periodStart: number; periodDays: number }
  /** Periods known to have closed whose signed close never arrived, and ResendPeriod requests so far. */
  missingPeriods: { periodStart: number; requests: number }[]
  periods: { periodStart: number; periodEnd: number; status: PeriodStatus; reason?: string }[]
}

export type PeriodStatus = 'pending' | 'incomplete' | 'assembled' | 'rejected' | 'unverifiable'

export interface PeriodEntry {
  period: BillingPeriod
  signature: `0x${string}`
  /**
   * The close's export half (ExportPeriod, protocol §6). Absent only for a close journaled before
   * export metering: its export readings were all 0 and nothing of it is checked.
   */
  exportClose?: ExportClose
  status: PeriodStatus
  result?: PeriodResult
  reportedIncomplete?: boolean
  /**
   * Its interval records are complete but records numbered below this seq (the one ending the
   * period) are still awaited: it is sealed once they are stored or signed gone.
   */
  awaitsSeqBelow?: number | undefined
  /** Why a rejected period can never be billed. */
  reason?: string
}

export interface MeterRuntime {
  address: `0x${string}`
  pairingKey?: Uint8Array
  calendar: PeriodCalendar
  verifier: MeterVerifier
  accepted: SequenceTracker
  durable: SequenceTracker
  pending: Map<number, Promise<unknown>>
  intervals: Map<number, IntervalEntry>
  periods: Map<number, PeriodEntry>
  /** Vault batches confirmed per period start. */
  batches: Map<number, number>
  resendAttempts: Map<string, number>
  /** Configured provisioning point, if any: the first close the node must receive starts there. */
  firstPeriodStart?: number
  /** The open period from the latest STATE, with a calendar that walks on from it. */
  open?: { periodStart: number; periodDays: number; calendar: PeriodCalendar }
  /** The open period start of the first STATE seen before any close: where the chain starts. */
  stateAnchor?: number
  /** ResendPeriod requests per period start. */
  periodRequests: Map<number, number>
  /** End of the latest close pruned from memory: the chain of closes is complete up to it. */
  chainFloor?: number
}

export interface UnflushedEntry {
  meter: `0x${string}`
  periodStart: number
  record: MeterRecord & { sig: `0x${string}` }
}

export interface StateFile {
  v: number
  segment: number
  /**
   * The last journal segment of the flush unit in progress (flusher.ts): a flush takes every
   * closed segment as one unit, and a replay after a crash must cut that unit into the same
   * batches, so it must know where the unit ended. Absent when no unit is in progress.
   */
  flushing?: number
  meters: Record<
    string,
    {
      seq: SequenceSnapshot
      /** [time, seq, energyWh, intervalWh] and, since export metering, [exportedWh, intervalExportedWh]. */
      intervals: ([number, number, number, number] | [number, number, number, number, number, number])[]
      periods: {
        period: Omit<BillingPeriod, 'commitment'> & { commitment: string }
        signature: `0x${string}`
        export?: ExportCloseJson
        status: PeriodStatus
        reason?: string
        result?: {
          readings: number[]
          exportReadings?: number[]
          salt: string
          manifestCid?: string
          cidDigest?: `0x${string}`
        }
      }[]
      batches: [number, number][]
      open?: { periodStart: number; periodDays: number }
      stateAnchor?: number
      chainFloor?: number
    }
  >
}

/** An ack or Resend request for a meter, as it goes out over MQTT. */
export interface OutboundMessage {
  topic: string
  payload: string
  /** MQTT retain flag: set on acks (the meter reads its high-water mark on reconnect). */
  retain: boolean
}

/**
 * The start's catch-up: after a restart the ingestor takes records again at once, and moves what
 * the journal held but the vault did not (and the periods left to seal) in the background.
 */
export interface CatchUpStatus {
  /** `catching-up` until the journal's backlog is in the vault and pending periods were tried. */
  state: 'catching-up' | 'ok'
  /** Journaled records not yet in the vault (the backlog, and live records on their way). */
  unflushed: number
  /** Since when (unix ms) in this state. */
  since: number
}

export interface Ingestor {
  /**
   * Replays the journal into memory (the acknowledged sequence, periods, gaps), connects and takes
   * records; the journal's backlog is flushed into the vault in the background (whenCaughtUp).
   */
  start(): Promise<void>
  stop(): Promise<void>
  /** Where the start's catch-up stands (catching-up while the backlog goes into the vault). */
  catchUp(): CatchUpStatus
  /** Resolves once the start's catch-up is over: every record replayed from the journal was flushed. */
  whenCaughtUp(): Promise<void>
  /** The core path (MQTT calls it; so can a serial link or a benchmark): resolves once durable or refused. */
  ingest(topic: string, payload: Uint8Array | string): Promise<IngestOutcome>
  /**
   * Sends every ack and Resend request to `send` as well as over MQTT: a meter that reaches the
   * node by another transport (a serial link) needs them there. Sends the current acks at once
   * (what a retained message gives an MQTT meter) and keeps Resend requests repeating. Returns a
   * function that detaches it.
   */
  addOutbound(send: (message: OutboundMessage) => void): () => void
  /** Moves every journaled record to the vault now. */
  flush(): Promise<void>
  anomalies(filter?: { meter?: string; kind?: AnomalyKind; since?: number }): Anomaly[]
  counters(): Record<string, number>
  /** Records an anomaly found outside ingestion (billing refused a tariff, the ledger's policy). */
  reportAnomaly(entry: Omit<Anomaly, 'id' | 'at'>): Anomaly
  periods(meter?: string): PeriodResult[]
  status(): MeterStatus[]
  storage(): StorageStatus
  /** The MQTT broker connection's health (mqtt-session.ts); null without MQTT or before start. */
  broker(): BrokerHealth | null
  on(event: 'record', listener: (e: RecordEvent) => void): Ingestor
  on(event: 'storage', listener: (s: StorageStatus) => void): Ingestor
  on(event: 'anomaly', listener: (a: Anomaly) => void): Ingestor
  on(event: 'period', listener: (p: PeriodResult) => void): Ingestor
  off(event: 'record' | 'anomaly' | 'period' | 'storage', listener: (...args: never[]) => void): Ingestor
}

/**
 * The broker connection: ok, or degraded since `since` (the connection was lost and the session is
 * reconnecting with backoff), with the last error, like the chain RPC's health.
 */
export interface BrokerHealth {
  state: 'ok' | 'degraded'
  /** Since when (unix ms) the connection is in this state. */
  since: number
  /** The last connection error (ok keeps the last one for the record). */
  lastError: string | null
  lastErrorAt: number | null
  /** Connection attempts since the connection was lost (0 while ok). */
  attempts: number
  /** When (unix ms) the next attempt is due, while degraded. */
  nextAttemptAt: number | null
  /** Times the connection was lost and then made again since the node started. */
  reconnects: number
}
