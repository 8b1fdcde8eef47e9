/**
 * Test helpers for ingestion: the embedded broker on loopback (with logins), and a minimal signing "meter" that
 * produces records and period closes exactly as the protocol defines them (the full virtual meter
 * lives elsewhere; these tests need precise control over seq, counters and timing).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import mqtt, { type MqttClient } from 'mqtt'
import { commit, commitExport, deriveSalt } from '#protocol/commitment.ts'
import { addressOfPrivateKey, hexToBytes } from '#protocol/eip712.ts'
import {
  type BillingPeriod,
  type ExportClose,
  encodePeriodPayload,
  encodeSensorPayload,
  type MeterRecord,
  signExportPeriod,
  signPeriod,
  signRecord,
} from '#protocol/records.ts'
import { meterTopicName, periodTopic, sensorTopic } from '#protocol/topics.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { waitUntil } from '../../../test/support/wait.ts'
import type { Ingestor, IngestorOptions } from '../../src/ingest/ingestor.ts'
import { createFileSink } from '../../src/ingest/sink.ts'
import type { MqttCredentials } from '../../src/mqtt/credentials.ts'
import { type TestBroker as Broker, startTestBroker } from '../mqtt/users.ts'

export const DOMAIN = {
  chainId: 31337n,
  verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' as const,
}
export const INTERVAL = 900
export const N = 192
/** 2026-11-24T00:00:00Z */
export const DAY0 = 1795478400

export type TestBroker = Broker

/** The embedded broker, as the node runs it: every client logs in (node/test/mqtt/users.ts). */
export function startBroker(): Promise<TestBroker> {
  return startTestBroker()
}

export async function tempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'zkm-ingest-'))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

export interface TestMeter {
  key: Uint8Array
  address: `0x${string}`
  pairingKey: Uint8Array
  /** Signed SENSOR payload of a record. */
  sensor(record: MeterRecord): { topic: string; payload: string }
  /** Interval records (kind 1) covering [start, start + count·INTERVAL), seq from `firstSeq`. */
  /**
   * Interval records from `start`: a varying load, and PV export at midday (slots 40–55 of a day).
   * The export counter is a function of time alone, so a second call that continues the first
   * (records.at(-1).energyWh as startCounter) continues the export counter too.
   */
  intervals(firstSeq: number, start: number, count: number, startCounter: number): MeterRecord[]
  period(
    records: MeterRecord[],
    periodStart: number,
    periodEnd: number,
  ): { topic: string; payload: string; period: BillingPeriod; exportClose: ExportClose }
  /** The PERIOD payload of `period` with the export half `exportClose` (re-signed over `period`). */
  periodPayload(period: BillingPeriod, exportClose: Omit<ExportClose, 'signature'>): string
}

/** Rooftop PV beyond the load at midday: 30–200 Wh exported in slots 40–55 of a UTC day. */
const exportIn = (slot: number): number => (slot >= 40 && slot < 56 ? 30 + ((slot * 13) % 170) : 0)
const DAILY_EXPORT = Array.from({ length: 96 }, (_, s) => exportIn(s)).reduce((a, b) => a + b, 0)

/** The test meters' export counter at the end of the interval ending `time`. */
export function exportAt(time: number): number {
  const start = time - INTERVAL
  const day = Math.floor(start / 86_400)
  let total = 5_000 + day * DAILY_EXPORT
  for (let s = 0; s <= (start % 86_400) / INTERVAL; s++) total += exportIn(s)
  return total
}

export function record(
  fields: Partial<MeterRecord> & Pick<MeterRecord, 'seq' | 'time' | 'energyWh'>,
): MeterRecord {
  return {
    kind: 1,
    intervalWh: 0,
    exportedWh: 0,
    intervalExportedWh: 0,
    powerW: 500,
    voltageMv: 230_000,
    currentMa: 2_100,
    powerFactor: 950,
    temperatureCenti: 2_150,
    light: 300,
    gas: 2,
    water: 0,
    hazards: 0,
    relays: 0x81,
    fanSpeed: 1,
    ...fields,
  }
}

export function createTestMeter(seed = 1): TestMeter {
  const key = secp256k1.utils.randomSecretKey(new Uint8Array(48).fill(seed))
  const address = addressOfPrivateKey(key)
  const pairingKey = new Uint8Array(32).fill(seed + 100)
  return {
    key,
    address,
    pairingKey,
    sensor(r) {
      return { topic: sensorTopic(address), payload: encodeSensorPayload(r, signRecord(DOMAIN, key, r)) }
    },
    intervals(firstSeq, start, count, startCounter) {
      const out: MeterRecord[] = []
      let counter = startCounter
      for (let i = 0; i < count; i++) {
        // A believable, varying load: 50–400 Wh per 15 min.
        const wh = 50 + ((i * 37 + seed * 11) % 350)
        const time = start + (i + 1) * INTERVAL
        const slot = ((time - INTERVAL) % 86_400) / INTERVAL
        const xwh = exportIn(slot)
        const exported = exportAt(time)
        counter += wh
        out.push(
          record({
            seq: firstSeq + i,
            time,
            energyWh: counter,
            intervalWh: wh,
            exportedWh: exported,
            intervalExportedWh: xwh,
          }),
        )
      }
      return out
    },
    period(records, periodStart, periodEnd) {
      const anchor = periodStart - (periodStart % 86_400)
      const readings = new Array<number>(N).fill(0)
      const exported = new Array<number>(N).fill(0)
      const inside = records.filter((r) => r.kind === 1 && r.time > periodStart && r.time <= periodEnd)
      for (const r of inside) {
        readings[(r.time - INTERVAL - anchor) / INTERVAL] = r.intervalWh
        exported[(r.time - INTERVAL - anchor) / INTERVAL] = r.intervalExportedWh
      }
      const first = inside[0] as MeterRecord
      const last = inside.at(-1) as MeterRecord
      const salt = deriveSalt(pairingKey, hexToBytes(address, 20), periodStart)
      const period: BillingPeriod = {
        meter: address,
        periodStart,
        periodEnd,
        startCounter: first.energyWh - first.intervalWh,
        endCounter: last.energyWh,
        commitment: commit(readings, salt, N),
      }
      const x = {
        startCounter: first.exportedWh - first.intervalExportedWh,
        endCounter: last.exportedWh,
        commitment: commitExport(exported, salt, N),
      }
      const exportClose = { ...x, signature: signExportPeriod(DOMAIN, key, period, x) }
      return {
        topic: periodTopic(address),
        payload: encodePeriodPayload(period, signPeriod(DOMAIN, key, period), exportClose),
        period,
        exportClose,
      }
    },
    periodPayload(period, x) {
      return encodePeriodPayload(period, signPeriod(DOMAIN, key, period), {
        ...x,
        signature: signExportPeriod(DOMAIN, key, period, x),
      })
    },
  }
}

/**
 * A client that publishes what a meter would. Given a meter, it logs in as that meter (user name
 * and client id = its topic name) and is held to the meter's ACL. Without one it is the test
 * harness that plays several meters and sends malformed topics to exercise the ingestor's own
 * checks (which still matter behind an external broker): it logs in with the node's role.
 */
export async function connectMeter(
  broker: Pick<TestBroker, 'url' | 'users'>,
  clientId: string,
  meter?: TestMeter,
): Promise<MqttClient> {
  let login: MqttCredentials
  if (meter) {
    clientId = meterTopicName(meter.address)
    login = await broker.users.meter(clientId)
  } else {
    login = await broker.users.user('ingest-test-harness', 'node')
  }
  const client = mqtt.connect(broker.url, { clientId, ...login, reconnectPeriod: 200, connectTimeout: 5000 })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  return client
}

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs`. */
/** Waits for `predicate`; the default budget is 10 s on a quiet machine, stretched by the load. */
export function until(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = scaledBudget(10_000),
): Promise<void> {
  return waitUntil(predicate, timeoutMs)
}

/**
 * The ingestor options every test over one test meter shares: its data dir, the test domain, the
 * meter with its pairing key anchored at DAY0, and one-day periods of N intervals.
 */
export function oneMeterIngestorOptions(dataDir: string, meter: TestMeter) {
  return {
    dataDir,
    domain: DOMAIN,
    meters: [{ address: meter.address, pairingKey: meter.pairingKey, firstPeriodStart: DAY0 }],
    intervalSeconds: INTERVAL,
    periodReadings: N,
    periodDays: 1,
  } satisfies Partial<IngestorOptions>
}

/**
 * The options of an ingestor that logs in to `broker` as the node, for `meter`, with its state under
 * `dir` and a file vault beside it (batches of 16, so a day of records seals several batches).
 */
export function brokerIngestorOptions(
  broker: TestBroker,
  dir: string,
  meter: TestMeter,
  extra: Partial<IngestorOptions> = {},
): IngestorOptions {
  return {
    mqttUrl: broker.url,
    mqttCredentials: broker.users.node,
    clientId: `node-${Math.random().toString(16).slice(2)}`,
    ...oneMeterIngestorOptions(`${dir}/node`, meter),
    vault: createFileSink(`${dir}/vault`),
    batchRecords: 16,
    ...extra,
  }
}

/**
 * Publishes as the meter and waits for the node to have processed the message. The broker PUBACKs
 * the meter (MQTT acks are per hop), so the meter's own ack says nothing about the node; the node's
 * PUBACK to the broker is what waits for the journal.
 */
export async function publishProcessed(
  client: MqttClient,
  ingestor: Pick<Ingestor, 'counters'>,
  topic: string,
  payload: string | Buffer,
  retain = false,
): Promise<void> {
  const before = ingestor.counters().processed ?? 0
  await client.publishAsync(topic, payload, { qos: 1, retain })
  await until(() => (ingestor.counters().processed ?? 0) > before)
}
