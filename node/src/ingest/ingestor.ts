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
 */
import { EventEmitter } from 'node:events'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { InvalidInputError, ZkMeterError } from '../errors.ts'
import { maxPeriodDays } from '../meter/period.ts'
import { type Eip712Domain, hexToBytes } from '../protocol/eip712.ts'
import {
  ackTopic,
  type BillingPeriod,
  DEFAULT_INTERVAL_SECONDS,
  type MeterRecord,
  parseGonePayload,
  parsePeriodPayload,
  parseSensorPayload,
  parseStatePayload,
  resendPeriodTopic,
  resendTopic,
} from '../protocol/records.ts'
import { createMeterVerifier, type MeterVerifier } from '../protocol/verifier.ts'
import { writeFileAtomic } from '../storage/json-file.ts'
import { splitRecords } from '../vault/batch.ts'
import { type Anomaly, type AnomalyKind, createAnomalyLog, kindOfError } from './anomalies.ts'
import { createPeriodCalendar, type PeriodCalendar } from './calendar.ts'
import { type Journal, openJournal } from './journal.ts'
import { type AssembledPeriod, assemblePeriod, type IntervalEntry } from './period.ts'
import { createSequenceTracker, type SequenceSnapshot, type SequenceTracker } from './sequence.ts'
import type { RecordSink } from './sink.ts'

export const DEFAULT_PERIOD_READINGS = 2976
export const DEFAULT_BATCH_RECORDS = 256
/** Assembled periods kept in memory and in the checkpoint per meter (two years of monthly bills). */
export const KEEP_ASSEMBLED_PERIODS = 24
const STATE_VERSION = 1

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
  /** Structured log sink; default one JSON line per event on stderr. */
  log?: (entry: Record<string, unknown>) => void
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

type PeriodStatus = 'pending' | 'incomplete' | 'assembled' | 'rejected' | 'unverifiable'

interface PeriodEntry {
  period: BillingPeriod
  signature: `0x${string}`
  status: PeriodStatus
  result?: PeriodResult
  reportedIncomplete?: boolean
  /** Why a rejected period can never be billed. */
  reason?: string
}

interface MeterRuntime {
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

interface UnflushedEntry {
  meter: `0x${string}`
  periodStart: number
  record: MeterRecord & { sig: `0x${string}` }
}

interface StateFile {
  v: number
  segment: number
  meters: Record<
    string,
    {
      seq: SequenceSnapshot
      intervals: [number, number, number, number][]
      periods: {
        period: Omit<BillingPeriod, 'commitment'> & { commitment: string }
        signature: `0x${string}`
        status: PeriodStatus
        reason?: string
        result?: { readings: number[]; salt: string; manifestCid?: string; cidDigest?: `0x${string}` }
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

export interface Ingestor {
  start(): Promise<void>
  stop(): Promise<void>
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
  periods(meter?: string): PeriodResult[]
  status(): MeterStatus[]
  on(event: 'record', listener: (e: RecordEvent) => void): Ingestor
  on(event: 'anomaly', listener: (a: Anomaly) => void): Ingestor
  on(event: 'period', listener: (p: PeriodResult) => void): Ingestor
  off(event: 'record' | 'anomaly' | 'period', listener: (...args: never[]) => void): Ingestor
}

function toBytes32(key: Uint8Array | string, what: string): Uint8Array {
  try {
    const bytes = typeof key === 'string' ? hexToBytes(key.startsWith('0x') ? key : `0x${key}`, 32) : key
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) throw new Error('length')
    return Uint8Array.from(bytes)
  } catch (cause) {
    throw new InvalidInputError(`${what} must be 32 bytes (64 hex digits)`, { cause })
  }
}

function checkOptions(options: IngestorOptions) {
  if (options === null || typeof options !== 'object')
    throw new InvalidInputError('createIngestor needs options')
  const interval = options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS
  if (!Number.isInteger(interval) || interval <= 0 || 86_400 % interval !== 0) {
    throw new InvalidInputError(`intervalSeconds must divide 86400, got ${interval}`)
  }
  const n = options.periodReadings ?? DEFAULT_PERIOD_READINGS
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidInputError(`periodReadings (N) must be a positive integer`)
  const flushEveryIntervals = options.flushEveryIntervals ?? 4
  if (!Number.isInteger(flushEveryIntervals) || flushEveryIntervals < 1) {
    throw new InvalidInputError('flushEveryIntervals must be a whole number of intervals ≥ 1')
  }
  const batchRecords = options.batchRecords ?? DEFAULT_BATCH_RECORDS
  if (!Number.isInteger(batchRecords) || batchRecords < 1)
    throw new InvalidInputError('batchRecords must be ≥ 1')
  if (typeof options.dataDir !== 'string' || options.dataDir.length === 0) {
    throw new InvalidInputError('dataDir must name the directory for the journal and state')
  }
  if (!Array.isArray(options.meters)) throw new InvalidInputError('meters must be a list of { address }')
  const chainId = BigInt(options.domain?.chainId ?? -1)
  const verifyingContract = options.domain?.verifyingContract
  if (
    chainId < 0n ||
    typeof verifyingContract !== 'string' ||
    !/^0x[0-9a-fA-F]{40}$/.test(verifyingContract)
  ) {
    throw new InvalidInputError('domain needs { chainId, verifyingContract } (the ledger address)')
  }
  const domain: Eip712Domain = { chainId, verifyingContract: verifyingContract as `0x${string}` }
  return {
    interval,
    n,
    batchRecords,
    flushEveryIntervals,
    domain,
    periodDays: options.periodDays ?? 0,
    resendIntervalMs: options.resendIntervalMs ?? 30_000,
    maxAnomalies: options.maxAnomalies ?? 1000,
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
  }
}

const periodJson = (p: BillingPeriod) => ({
  ...p,
  commitment: `0x${p.commitment.toString(16).padStart(64, '0')}`,
})

export function createIngestor(options: IngestorOptions): Ingestor {
  const cfg = checkOptions(options)
  const log =
    options.log ?? ((entry: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(entry)}\n`))
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
  const meters = new Map<string, MeterRuntime>()
  const statePath = join(options.dataDir, 'ingest-state.json')
  const sink = options.vault

  for (const m of options.meters) {
    const address = String(m?.address ?? '').toLowerCase() as `0x${string}`
    if (!/^0x[0-9a-f]{40}$/.test(address))
      throw new InvalidInputError(`meter address ${m?.address} is not 0x + 40 hex`)
    if (m.firstSeq !== undefined && (!Number.isSafeInteger(m.firstSeq) || m.firstSeq < 0)) {
      throw new InvalidInputError(`firstSeq of meter ${address} must be a non-negative integer`)
    }
    const calendar = createPeriodCalendar({
      periodDays: cfg.periodDays,
      firstPeriodStart: m.firstPeriodStart ?? 0,
      geometry: { intervalSeconds: cfg.interval, n: cfg.n },
    })
    meters.set(address, {
      address,
      ...(m.pairingKey === undefined
        ? {}
        : { pairingKey: toBytes32(m.pairingKey, `pairingKey of ${address}`) }),
      calendar,
      verifier: createMeterVerifier(cfg.domain, address),
      accepted: createSequenceTracker(undefined, m.firstSeq),
      durable: createSequenceTracker(undefined, m.firstSeq),
      pending: new Map(),
      intervals: new Map(),
      periods: new Map(),
      batches: new Map(),
      resendAttempts: new Map(),
      ...(m.firstPeriodStart === undefined ? {} : { firstPeriodStart: m.firstPeriodStart }),
      periodRequests: new Map(),
    })
  }

  let journal: Journal | undefined
  let client: MqttClient | undefined
  let resendTimer: NodeJS.Timeout | undefined
  let running = false
  let stopping: Promise<void> | undefined
  let failed: unknown
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
  let ackScheduled = new Set<MeterRuntime>()

  /** A listener's exception must never hold back an acknowledgement or break the pipeline. */
  const emit = (event: 'record' | 'anomaly' | 'period', value: unknown): void => {
    try {
      emitter.emit(event, value)
    } catch (error) {
      log({
        level: 'error',
        event: 'ingest.listener-failed',
        listener: event,
        reason: (error as Error)?.message,
      })
    }
  }
  const anomaly = (entry: Omit<Anomaly, 'id' | 'at'>): Anomaly => {
    const a = anomalyLog.add(entry)
    log({ level: a.rejected ? 'warn' : 'info', event: 'ingest.anomaly', ...a })
    emit('anomaly', a)
    return a
  }
  const reject = (kind: AnomalyKind, reason: string, extra: Partial<Anomaly> = {}): IngestOutcome => {
    counters.rejected++
    anomaly({ kind, rejected: true, reason, ...extra })
    return { status: 'rejected', kind, reason }
  }

  // ------------------------------------------------------------ acks and Resend

  const outbounds = new Set<(message: OutboundMessage) => void>()
  const publish = (topic: string, payload: string, retain: boolean): void => {
    if (!running) return
    for (const send of outbounds) {
      try {
        send({ topic, payload, retain })
      } catch (error) {
        log({ level: 'warn', event: 'ingest.publish-failed', topic, reason: (error as Error)?.message })
      }
    }
    if (client === undefined) return
    client.publish(topic, payload, { qos: 1, retain }, (error) => {
      if (error) log({ level: 'warn', event: 'ingest.publish-failed', topic, reason: error.message })
    })
  }
  const scheduleAck = (m: MeterRuntime): void => {
    if (ackScheduled.size === 0) {
      setImmediate(() => {
        const due = ackScheduled
        ackScheduled = new Set()
        for (const meter of due) {
          if (meter.durable.base !== null && meter.durable.mark >= meter.durable.base) {
            publish(ackTopic(meter.address), JSON.stringify({ seq: meter.durable.mark }), true)
          }
        }
      })
    }
    ackScheduled.add(m)
  }
  const requestResend = (m: MeterRuntime, from: number, to: number): void => {
    const key = `${from}-${to}`
    m.resendAttempts.set(key, (m.resendAttempts.get(key) ?? 0) + 1)
    log({ level: 'info', event: 'ingest.resend', meter: m.address, from, to })
    publish(resendTopic(m.address), JSON.stringify({ from, to }), false)
  }
  /**
   * Start of the first period whose signed close the node lacks but knows must exist, if any.
   * Closes chain (each starts where the previous ended), so the node walks the chain from its start
   * (the provisioning point, else the open start of the first STATE it saw, else its earliest close;
   * past closes it pruned) to the first start it holds no close for. That close is due when a later
   * close is known, when STATE reports a later open period, or when an interval record lies past the
   * boundary the period rule puts after it. One at a time: the next is asked once this one arrives.
   */
  const missingClose = (m: MeterRuntime, latestIntervalStart?: number): number | undefined => {
    let earliest: number | undefined
    let latestStart: number | undefined
    for (const p of m.periods.values()) {
      if (earliest === undefined || p.period.periodStart < earliest) earliest = p.period.periodStart
      if (latestStart === undefined || p.period.periodStart > latestStart) latestStart = p.period.periodStart
    }
    let cursor = m.firstPeriodStart ?? m.stateAnchor ?? earliest
    if (cursor === undefined) return undefined
    if (m.chainFloor !== undefined && m.chainFloor > cursor) cursor = m.chainFloor
    for (let p = m.periods.get(cursor); p !== undefined; p = m.periods.get(cursor))
      cursor = p.period.periodEnd
    if (latestStart !== undefined && latestStart > cursor) return cursor
    if (m.open !== undefined && m.open.periodStart > cursor) return cursor
    if (latestIntervalStart === undefined) {
      // The latest interval record the node holds, unless the caller just named one.
      let latestEnd: number | undefined
      for (const t of m.intervals.keys()) if (latestEnd === undefined || t > latestEnd) latestEnd = t
      if (latestEnd !== undefined) latestIntervalStart = latestEnd - cfg.interval
    }
    if (latestIntervalStart !== undefined && latestIntervalStart >= cursor) {
      try {
        if (periodStartOf(m, latestIntervalStart) > cursor) return cursor
      } catch {
        // An implausible time is refused where it is ingested; it proves nothing here.
      }
    }
    return undefined
  }
  const requestPeriod = (m: MeterRuntime, periodStart: number): void => {
    const requests = (m.periodRequests.get(periodStart) ?? 0) + 1
    m.periodRequests.set(periodStart, requests)
    if (requests === 1) {
      anomaly({
        kind: 'period-missing',
        rejected: false,
        meter: m.address,
        reason: `the signed close of the period starting ${periodStart} never arrived; asked the meter to resend it`,
        details: { periodStart },
      })
    }
    log({ level: 'info', event: 'ingest.resend-period', meter: m.address, periodStart })
    publish(resendPeriodTopic(m.address), JSON.stringify({ periodStart }), false)
  }
  /** Asks for a missing close once when it is first noticed; the timer repeats the request. */
  const checkMissingClose = (m: MeterRuntime, latestIntervalStart?: number): void => {
    const start = missingClose(m, latestIntervalStart)
    if (start !== undefined && !m.periodRequests.has(start)) requestPeriod(m, start)
  }
  const resendOutstanding = (): void => {
    for (const m of meters.values()) {
      const gaps = m.durable.gaps()
      for (const key of m.resendAttempts.keys()) {
        if (!gaps.some((g) => `${g.from}-${g.to}` === key)) m.resendAttempts.delete(key)
      }
      for (const gap of gaps) requestResend(m, gap.from, gap.to)
      for (const start of m.periodRequests.keys()) if (m.periods.has(start)) m.periodRequests.delete(start)
      const start = missingClose(m)
      if (start !== undefined) requestPeriod(m, start)
    }
  }

  // ------------------------------------------------------------ durable state

  /**
   * Start of the period containing time t: a signed close that covers t wins; from the open period
   * the meter last reported in STATE on, its own PeriodDays rule; before that, the configured rule.
   */
  const periodStartOf = (m: MeterRuntime, t: number): number => {
    for (const p of m.periods.values()) {
      if (t >= p.period.periodStart && t < p.period.periodEnd) return p.period.periodStart
    }
    if (m.open !== undefined && t >= m.open.periodStart) return m.open.calendar.startOf(t)
    return m.calendar.startOf(t)
  }

  const recordPeriodStart = (m: MeterRuntime, r: MeterRecord): number =>
    periodStartOf(m, r.kind === 1 ? r.time - cfg.interval : r.time)

  /** Adopts the open period of a STATE report (validated against the signed closes by the caller). */
  const setOpenPeriod = (m: MeterRuntime, periodStart: number, periodDays: number): void => {
    if (m.open?.periodStart === periodStart && m.open.periodDays === periodDays) return
    m.open = {
      periodStart,
      periodDays,
      calendar: createPeriodCalendar({
        periodDays,
        firstPeriodStart: periodStart,
        geometry: { intervalSeconds: cfg.interval, n: cfg.n },
      }),
    }
  }

  const applyDurable = (
    m: MeterRuntime,
    r: MeterRecord,
    sig: `0x${string}`,
    segment: number,
    periodStart: number,
  ): boolean => {
    m.accepted.store(r.seq, r.energyWh)
    const moved = m.durable.store(r.seq, r.energyWh)
    if (r.kind === 1)
      m.intervals.set(r.time, { seq: r.seq, time: r.time, energyWh: r.energyWh, intervalWh: r.intervalWh })
    // Without a vault the journal is the only store: nothing to flush, nothing to track.
    if (sink === undefined) return moved
    const list = unflushed.get(segment) ?? []
    list.push({ meter: m.address, periodStart, record: { ...r, sig } })
    unflushed.set(segment, list)
    unflushedCount++
    return moved
  }

  /** State of meters no longer configured: carried over untouched, so removing a meter from the
   * config by mistake and adding it back does not reset its sequence (and re-store its records). */
  const dormant: StateFile['meters'] = {}

  const snapshot = (segment: number): StateFile => {
    const out: StateFile = { v: STATE_VERSION, segment, meters: { ...dormant } }
    for (const m of meters.values()) {
      out.meters[m.address] = {
        seq: m.durable.snapshot(),
        intervals: [...m.intervals.values()].map((e) => [e.time, e.seq, e.energyWh, e.intervalWh]),
        periods: [...m.periods.values()].map((p) => ({
          period: periodJson(p.period),
          signature: p.signature,
          status: p.status,
          ...(p.reason === undefined ? {} : { reason: p.reason }),
          ...(p.result === undefined
            ? {}
            : {
                result: {
                  readings: p.result.readings,
                  salt: p.result.salt.toString(),
                  ...(p.result.manifestCid === undefined ? {} : { manifestCid: p.result.manifestCid }),
                  ...(p.result.cidDigest === undefined ? {} : { cidDigest: p.result.cidDigest }),
                },
              }),
        })),
        batches: [...m.batches],
        ...(m.open === undefined
          ? {}
          : { open: { periodStart: m.open.periodStart, periodDays: m.open.periodDays } }),
        ...(m.stateAnchor === undefined ? {} : { stateAnchor: m.stateAnchor }),
        ...(m.chainFloor === undefined ? {} : { chainFloor: m.chainFloor }),
      }
    }
    return out
  }

  /** Oldest journal segment whose records are not all in the vault yet. */
  const firstUnflushed = (): number => Math.min((journal as Journal).segment, ...unflushed.keys())

  const checkpoint = async (firstUnflushed: number): Promise<void> => {
    await writeFileAtomic(statePath, JSON.stringify(snapshot(firstUnflushed)))
  }

  const loadState = async (): Promise<number> => {
    let text: string
    try {
      text = await readFile(statePath, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0
      throw error
    }
    let state: StateFile
    try {
      state = JSON.parse(text)
      if (state.v !== STATE_VERSION || typeof state.segment !== 'number') throw new Error('version')
    } catch (cause) {
      throw new IngestorStateError(
        `ingest state ${statePath} is unreadable; move it away to rebuild from the journal and the meter`,
        { cause },
      )
    }
    for (const [address, s] of Object.entries(state.meters)) {
      const m = meters.get(address)
      if (m === undefined) {
        dormant[address] = s
        continue
      }
      m.durable = createSequenceTracker(s.seq)
      m.accepted = createSequenceTracker(s.seq)
      for (const [time, seq, energyWh, intervalWh] of s.intervals)
        m.intervals.set(time, { time, seq, energyWh, intervalWh })
      for (const p of s.periods) {
        const period = { ...p.period, commitment: BigInt(p.period.commitment) }
        const entry: PeriodEntry = {
          period,
          signature: p.signature,
          status: p.status,
          ...(p.reason === undefined ? {} : { reason: p.reason }),
        }
        if (p.result !== undefined) {
          entry.result = {
            meter: m.address,
            period,
            signature: p.signature,
            readings: p.result.readings,
            salt: BigInt(p.result.salt),
            ...(p.result.manifestCid === undefined ? {} : { manifestCid: p.result.manifestCid }),
            ...(p.result.cidDigest === undefined ? {} : { cidDigest: p.result.cidDigest }),
          }
        }
        m.periods.set(period.periodStart, entry)
      }
      m.batches = new Map(s.batches)
      if (s.open !== undefined) setOpenPeriod(m, s.open.periodStart, s.open.periodDays)
      if (s.stateAnchor !== undefined) m.stateAnchor = s.stateAnchor
      if (s.chainFloor !== undefined) m.chainFloor = s.chainFloor
    }
    return state.segment
  }

  // ------------------------------------------------------------ vault flush

  const flushSegments = async (): Promise<void> => {
    if (journal === undefined || sink === undefined) return
    const closed = await journal.rotate()
    const segments = [...unflushed.keys()].filter((s) => s <= closed).sort((a, b) => a - b)
    let known: Map<string, { status: string; batchCount: number }> | undefined
    if (reconcile) {
      known = new Map()
      for (const p of await sink.listPeriods()) {
        known.set(`${p.meter.toLowerCase()}/${p.periodStart}`, { status: p.status, batchCount: p.batchCount })
      }
    }
    for (const segment of segments) {
      const entries = unflushed.get(segment) ?? []
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
            throw error
          }
        }
      }
      unflushed.delete(segment)
      unflushedCount -= entries.length
      await checkpoint(firstUnflushed())
    }
    reconcile = false
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
      }
    })

  const scheduleFlush = (): void => {
    if (flushScheduled || sink === undefined) return
    flushScheduled = true
    setImmediate(() => {
      flushScheduled = false
      if (running) void flush()
    })
  }

  // ------------------------------------------------------------ periods

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
    const outcome = assemblePeriod(period, m.intervals, {
      intervalSeconds: cfg.interval,
      n: cfg.n,
      pairingKey: m.pairingKey,
    })
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
        if (journal !== undefined) await serial(() => checkpoint(firstUnflushed()))
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
    const result: PeriodResult = {
      meter: m.address,
      period,
      signature: entry.signature,
      readings: outcome.readings,
      salt: outcome.salt,
    }
    await serial(async () => {
      if (sink !== undefined) {
        try {
          await flushSegments()
          const sealed = await sink.sealPeriod(m.address, period.periodStart, period.periodEnd)
          result.manifestCid = sealed.manifestCid.toString()
          result.cidDigest = sealed.cidDigest
        } catch (error) {
          anomaly({
            kind: 'vault-error',
            rejected: false,
            meter: m.address,
            reason: `period ${period.periodStart} verified but not sealed: ${(error as Error)?.message}`,
          })
          return
        }
      }
      entry.status = 'assembled'
      entry.result = result
      // The record ending at periodEnd stays: it bounds the seqs of the next period's first intervals.
      for (const t of [...m.intervals.keys()]) if (t < period.periodEnd) m.intervals.delete(t)
      // The checkpoint is rewritten at every flush: keep it small. Older periods live in the vault.
      const assembled = [...m.periods.values()].filter((p) => p.status === 'assembled')
      for (const old of assembled.slice(0, Math.max(0, assembled.length - KEEP_ASSEMBLED_PERIODS))) {
        m.periods.delete(old.period.periodStart)
        m.chainFloor = Math.max(m.chainFloor ?? 0, old.period.periodEnd)
      }
      if (journal !== undefined) await checkpoint(firstUnflushed())
      log({
        level: 'info',
        event: 'ingest.period',
        meter: m.address,
        periodStart: period.periodStart,
        periodEnd: period.periodEnd,
      })
      emit('period', result)
    })
  }

  /**
   * The first missing interval record that is provably gone, with the gone range it fell in. The
   * meter numbers records in time order, so the record ending at t has a seq between those of the
   * stored interval records on either side of t; when every seq in between is stored or declared
   * gone (none still awaited from a Resend) and a gone range lies there, it was one of them.
   */
  const lostIntervals = (
    m: MeterRuntime,
    missing: readonly number[],
  ): { time: number; from: number; to: number } | undefined => {
    const gone = m.durable.gone()
    if (gone.length === 0) return undefined
    const gaps = m.durable.gaps()
    const entries = [...m.intervals.values()].sort((a, b) => a.time - b.time)
    for (const t of missing) {
      let before: number | undefined
      let after: number | undefined
      for (const e of entries) {
        if (e.time < t) before = e.seq
        else if (e.time > t) {
          after = e.seq
          break
        }
      }
      // Nothing stored after it yet: its record may simply not have been sent. Nothing before it:
      // no lower bound on its seq, so no gone range can be pinned on it.
      if (after === undefined || before === undefined) continue
      const lo = before + 1
      const hi = after - 1
      if (gaps.some((g) => g.from <= hi && g.to >= lo)) continue
      const range = gone.find((g) => g.from <= hi && g.to >= lo)
      if (range !== undefined) return { time: t, from: Math.max(range.from, lo), to: Math.min(range.to, hi) }
    }
    return undefined
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

  // ------------------------------------------------------------ the core path

  /**
   * The boundary check every meter message goes through: parse (schema), find the meter, check the
   * signature of signed messages (`verify`), and only then hand the message to `handle`; every
   * refusal on the way is an anomaly with the reason.
   */
  const admit = async <P extends { meter: `0x${string}` }>(
    topic: string,
    parse: () => P,
    verify: ((m: MeterRuntime, parsed: P) => void) | undefined,
    handle: (m: MeterRuntime, parsed: P) => Promise<IngestOutcome> | IngestOutcome,
    seqOf?: (parsed: P) => number,
  ): Promise<IngestOutcome> => {
    let parsed: P
    try {
      parsed = parse()
    } catch (error) {
      return reject(kindOfError(error), (error as Error).message, { topic: topic.slice(0, 120) })
    }
    const { meter } = parsed
    const m = meters.get(meter)
    if (m === undefined)
      return reject('unknown-meter', `meter ${meter} is not registered with this node`, { meter })
    try {
      verify?.(m, parsed)
    } catch (error) {
      const at = seqOf === undefined ? {} : { seq: seqOf(parsed) }
      return reject(kindOfError(error), (error as Error).message, { meter, ...at })
    }
    return handle(m, parsed)
  }

  /** The journal must be open and healthy before anything is promised as stored. */
  const writableJournal = (): Journal => {
    if (failed !== undefined || journal === undefined) {
      throw new IngestorStateError('the ingestor cannot store records (journal failed or not started)', {
        cause: failed,
      })
    }
    return journal
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
      failed ??= error
      const at = seq === undefined ? {} : { seq }
      anomaly({ kind: 'storage-error', rejected: false, meter, ...at, reason: (error as Error).message })
      throw error
    }
  }

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
      periodStart = recordPeriodStart(m, record)
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
      options.onRecord?.(event)
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
    if (unflushedCount >= cfg.batchRecords || closesFlushInterval) scheduleFlush()
    if (record.kind === 1) {
      assembleAffected(m, record.time)
      checkMissingClose(m, record.time - cfg.interval)
    }
    return { status: 'stored', meter, seq: record.seq }
  }

  const registerPeriod = (
    m: MeterRuntime,
    period: BillingPeriod,
    signature: `0x${string}`,
  ): PeriodEntry | 'duplicate' | 'conflict' => {
    const known = m.periods.get(period.periodStart)
    if (known !== undefined) {
      const same =
        known.period.periodEnd === period.periodEnd &&
        known.period.commitment === period.commitment &&
        known.period.startCounter === period.startCounter &&
        known.period.endCounter === period.endCounter
      return same ? 'duplicate' : 'conflict'
    }
    const entry: PeriodEntry = { period, signature, status: 'pending' }
    m.periods.set(period.periodStart, entry)
    return entry
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

  /** Closes the gap of records the meter signed as gone; journaled first, like a record. */
  const applyGone = (m: MeterRuntime, fromSeq: number, toSeq: number): { from: number; to: number }[] => {
    m.accepted.skip(fromSeq, toSeq)
    return m.durable.skip(fromSeq, toSeq)
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
    setOpenPeriod(m, periodStart, periodDays)
    checkMissingClose(m)
    return { status: 'noted', meter }
  }

  /** One message kind: how to parse it, check its signature (signed kinds) and take it in. */
  interface Route<P extends { meter: `0x${string}` }> {
    parse(topic: string, payload: Uint8Array | string): P
    verify?(m: MeterRuntime, parsed: P): void
    handle(m: MeterRuntime, parsed: P): Promise<IngestOutcome> | IngestOutcome
    seqOf?(parsed: P): number
  }
  const route =
    <P extends { meter: `0x${string}` }>(r: Route<P>) =>
    (topic: string, payload: Uint8Array | string): Promise<IngestOutcome> =>
      admit(topic, () => r.parse(topic, payload), r.verify, r.handle, r.seqOf)
  const parseOptions = {
    intervalSeconds: cfg.interval,
    maxPeriodDays: maxPeriodDays({ intervalSeconds: cfg.interval, n: cfg.n }),
  }
  /** By the last topic level; anything else is parsed as a SENSOR, whose parser names the topic error. */
  const routes: Record<string, (topic: string, payload: Uint8Array | string) => Promise<IngestOutcome>> = {
    SENSOR: route({
      parse: (t, p) => parseSensorPayload(t, p, parseOptions),
      verify: (m, { record, signature }) => m.verifier.verifyRecord(record, signature),
      handle: storeRecord,
      seqOf: ({ record }) => record.seq,
    }),
    PERIOD: route({
      parse: (t, p) => parsePeriodPayload(t, p, parseOptions),
      verify: (m, { period, signature }) => m.verifier.verifyPeriod(period, signature),
      handle: storePeriod,
    }),
    GONE: route({
      parse: parseGonePayload,
      verify: (m, { gone, signature }) => m.verifier.verifyGone(gone, signature),
      handle: storeGone,
      seqOf: ({ gone }) => gone.fromSeq,
    }),
    STATE: route({ parse: (t, p) => parseStatePayload(t, p, parseOptions), handle: noteState }),
  }

  const ingest = async (topic: string, payload: Uint8Array | string): Promise<IngestOutcome> => {
    counters.received++
    try {
      if (typeof topic !== 'string') return reject('bad-topic', 'topic must be a string')
      const handler =
        routes[topic.slice(topic.lastIndexOf('/') + 1)] ?? (routes.SENSOR as (typeof routes)[string])
      return await handler(topic, payload)
    } finally {
      counters.processed++
    }
  }

  // ------------------------------------------------------------ lifecycle

  const recover = async (): Promise<void> => {
    const firstSegment = await loadState()
    const opened = await openJournal(join(options.dataDir, 'journal'))
    journal = opened.journal
    if (opened.truncatedBytes > 0) {
      log({ level: 'warn', event: 'ingest.journal-truncated', bytes: opened.truncatedBytes })
    }
    const decoder = new TextDecoder()
    for (const { segment, payload } of opened.frames) {
      if (segment < firstSegment) continue
      let frame: {
        k: string
        m: string
        r?: MeterRecord
        p?: ReturnType<typeof periodJson>
        g?: { fromSeq: number; toSeq: number }
        s: `0x${string}`
      }
      try {
        frame = JSON.parse(decoder.decode(payload))
      } catch {
        log({ level: 'error', event: 'ingest.journal-frame-unreadable', segment })
        continue
      }
      const m = meters.get(frame.m)
      if (m === undefined) continue
      if (frame.k === 'r' && frame.r !== undefined) {
        const r = frame.r
        if (m.durable.has(r.seq)) {
          if (sink === undefined) continue
          // In the checkpoint already but its segment was not flushed yet: only the vault needs it.
          const list = unflushed.get(segment) ?? []
          list.push({
            meter: m.address,
            periodStart: recordPeriodStart(m, r),
            record: { ...r, sig: frame.s },
          })
          unflushed.set(segment, list)
          unflushedCount++
          if (r.kind === 1 && !m.intervals.has(r.time) && !isSealedTime(m, r.time)) {
            m.intervals.set(r.time, {
              seq: r.seq,
              time: r.time,
              energyWh: r.energyWh,
              intervalWh: r.intervalWh,
            })
          }
        } else {
          applyDurable(m, r, frame.s, segment, recordPeriodStart(m, r))
        }
      } else if (frame.k === 'p' && frame.p !== undefined) {
        registerPeriod(m, { ...frame.p, commitment: BigInt(frame.p.commitment) }, frame.s)
      } else if (frame.k === 'g' && frame.g !== undefined) {
        applyGone(m, frame.g.fromSeq, frame.g.toSeq)
      }
    }
    await journal.release(firstSegment)
  }

  const isSealedTime = (m: MeterRuntime, time: number): boolean => {
    for (const p of m.periods.values()) {
      if (p.status === 'assembled' && time > p.period.periodStart && time <= p.period.periodEnd) return true
    }
    return false
  }

  const connect = async (url: string): Promise<MqttClient> => {
    const c = mqtt.connect(url, {
      clientId: options.clientId ?? 'zkmeter-node-ingest',
      clean: false,
      reconnectPeriod: 1000,
      connectTimeout: cfg.connectTimeoutMs,
    })
    // Hold each PUBACK until the record is durable (or refused): mqtt.js sends it when this calls back.
    c.handleMessage = (packet, callback) => {
      const payload = packet.payload
      ingest(packet.topic, typeof payload === 'string' ? payload : new Uint8Array(payload)).then(
        () => callback(),
        (error: Error) => callback(error),
      )
    }
    c.on('error', (error) => log({ level: 'warn', event: 'ingest.mqtt-error', reason: error.message }))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        c.end(true)
        reject(
          new ZkMeterError(
            `no MQTT broker answered at the configured URL within ${cfg.connectTimeoutMs} ms; start it or fix --mqtt-url`,
          ),
        )
      }, cfg.connectTimeoutMs)
      c.once('connect', () => {
        clearTimeout(timer)
        resolve()
      })
    })
    try {
      await c.subscribeAsync({
        'tele/+/SENSOR': { qos: 1 },
        'tele/+/PERIOD': { qos: 1 },
        'tele/+/GONE': { qos: 1 },
        'tele/+/STATE': { qos: 0 },
      })
    } catch (error) {
      c.end(true)
      throw new ZkMeterError(
        `the MQTT broker refused the node's subscriptions: ${(error as Error).message}`,
        {
          cause: error,
        },
      )
    }
    return c
  }

  const ingestor: Ingestor = {
    async start() {
      if (running) return
      if (stopping !== undefined) throw new IngestorStateError('this ingestor was stopped; create a new one')
      try {
        await recover()
        running = true
        await flush()
        for (const m of meters.values()) {
          for (const entry of m.periods.values())
            if (entry.status === 'pending' || entry.status === 'incomplete') await tryAssemble(m, entry)
        }
        if (options.mqttUrl !== undefined) {
          client = await connect(options.mqttUrl)
          for (const m of meters.values()) scheduleAck(m)
          resendOutstanding()
          resendTimer = setInterval(resendOutstanding, cfg.resendIntervalMs)
          resendTimer.unref()
        } else if (outbounds.size > 0) {
          // Transports attached before start get what an MQTT meter would: acks, then Resends.
          for (const m of meters.values()) scheduleAck(m)
          resendOutstanding()
          resendTimer = setInterval(resendOutstanding, cfg.resendIntervalMs)
          resendTimer.unref()
        }
        log({ level: 'info', event: 'ingest.started', meters: meters.size })
      } catch (error) {
        await ingestor.stop()
        throw error
      }
    },
    stop() {
      stopping ??= (async () => {
        running = false
        if (resendTimer !== undefined) clearInterval(resendTimer)
        if (client !== undefined) {
          const c = client
          client = undefined
          await new Promise<void>((resolve) => c.end(false, {}, () => resolve()))
        }
        await chain
        if (journal !== undefined) {
          if (failed === undefined) {
            await flush()
            await checkpoint(firstUnflushed()).catch(() => {})
          }
          await journal.close()
        }
        log({ level: 'info', event: 'ingest.stopped' })
      })()
      return stopping
    },
    ingest,
    addOutbound(send) {
      outbounds.add(send)
      if (running) {
        for (const m of meters.values()) {
          if (m.durable.base !== null && m.durable.mark >= m.durable.base) {
            send({
              topic: ackTopic(m.address),
              payload: JSON.stringify({ seq: m.durable.mark }),
              retain: true,
            })
          }
        }
        // Without MQTT nothing repeats the Resend requests yet; the timer serves every transport.
        if (resendTimer === undefined) {
          resendTimer = setInterval(resendOutstanding, cfg.resendIntervalMs)
          resendTimer.unref()
        }
      }
      return () => {
        outbounds.delete(send)
      }
    },
    flush,
    anomalies: (filter) => anomalyLog.list(filter),
    counters: () => ({ ...counters, ...anomalyLog.counters() }),
    periods(meter) {
      const out: PeriodResult[] = []
      for (const m of meters.values()) {
        if (meter !== undefined && m.address !== meter.toLowerCase()) continue
        for (const p of m.periods.values()) if (p.result !== undefined) out.push(p.result)
      }
      return out
    },
    status() {
      return [...meters.values()].map((m) => ({
        meter: m.address,
        ackedSeq: m.durable.mark,
        gaps: m.durable
          .gaps()
          .map((g) => ({ ...g, requests: m.resendAttempts.get(`${g.from}-${g.to}`) ?? 0 })),
        gone: m.durable.gone(),
        ...(m.open === undefined
          ? {}
          : { openPeriod: { periodStart: m.open.periodStart, periodDays: m.open.periodDays } }),
        missingPeriods: [...m.periodRequests].map(([periodStart, requests]) => ({ periodStart, requests })),
        periods: [...m.periods.values()].map((p) => ({
          periodStart: p.period.periodStart,
          periodEnd: p.period.periodEnd,
          status: p.status,
          ...(p.reason === undefined ? {} : { reason: p.reason }),
        })),
      }))
    },
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
