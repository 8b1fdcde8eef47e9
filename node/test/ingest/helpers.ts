/**
 * Test helpers for ingestion: a real aedes broker on loopback, and a minimal signing "meter" that
 * produces records and period closes exactly as the protocol defines them (the full virtual meter
 * lives elsewhere; these tests need precise control over seq, counters and timing).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { Aedes } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'
import { commit, deriveSalt } from '#protocol/commitment.ts'
import { addressOfPrivateKey, hexToBytes } from '#protocol/eip712.ts'
import {
  type BillingPeriod,
  encodePeriodPayload,
  encodeSensorPayload,
  type MeterRecord,
  signPeriod,
  signRecord,
} from '#protocol/records.ts'
import { periodTopic, sensorTopic } from '#protocol/topics.ts'
import { waitUntil } from '../../../test/support/wait.ts'
import type { IngestorOptions } from '../../src/ingest/ingestor.ts'

export const DOMAIN = {
  chainId: 31337n,
  verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' as const,
}
export const INTERVAL = 900
export const N = 192
/** 2026-11-24T00:00:00Z */
export const DAY0 = 1795478400

export interface TestBroker {
  url: string
  stop(): Promise<void>
}

export async function startBroker(): Promise<TestBroker> {
  const broker = await Aedes.createBroker()
  const server: Server = createServer(broker.handle)
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
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
  intervals(firstSeq: number, start: number, count: number, startCounter: number): MeterRecord[]
  period(
    records: MeterRecord[],
    periodStart: number,
    periodEnd: number,
  ): { topic: string; payload: string; period: BillingPeriod }
}

export function record(
  fields: Partial<MeterRecord> & Pick<MeterRecord, 'seq' | 'time' | 'energyWh'>,
): MeterRecord {
  return {
    kind: 1,
    intervalWh: 0,
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
        counter += wh
        out.push(
          record({ seq: firstSeq + i, time: start + (i + 1) * INTERVAL, energyWh: counter, intervalWh: wh }),
        )
      }
      return out
    },
    period(records, periodStart, periodEnd) {
      const anchor = periodStart - (periodStart % 86_400)
      const readings = new Array<number>(N).fill(0)
      const inside = records.filter((r) => r.kind === 1 && r.time > periodStart && r.time <= periodEnd)
      for (const r of inside) readings[(r.time - INTERVAL - anchor) / INTERVAL] = r.intervalWh
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
      return {
        topic: periodTopic(address),
        payload: encodePeriodPayload(period, signPeriod(DOMAIN, key, period)),
        period,
      }
    },
  }
}

export async function connectMeter(url: string, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, reconnectPeriod: 200, connectTimeout: 5000 })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  return client
}

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs`. */
export function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
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
