import type { MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { commit } from '#protocol/commitment.ts'
import { encodeSensorPayload, signRecord } from '#protocol/records.ts'
import { ackTopic, periodTopic, resendTopic, sensorTopic } from '#protocol/topics.ts'
import { createIngestor, type Ingestor } from '../../src/ingest/ingestor.ts'
import { createFileSink } from '../../src/ingest/sink.ts'
import { createLogger, type LogEntry } from '../../src/log/logger.ts'
import {
  brokerIngestorOptions,
  connectMeter,
  createTestMeter,
  DAY0,
  DOMAIN,
  INTERVAL,
  N,
  publishProcessed,
  record,
  startBroker,
  type TestBroker,
  tempDir,
  until,
} from './helpers.ts'

const meter = createTestMeter(1)
const stranger = createTestMeter(2)

let broker: TestBroker
let dir: Awaited<ReturnType<typeof tempDir>>
let ingestor: Ingestor
let client: MqttClient
const logs: LogEntry[] = []

function makeIngestor(extra: Partial<Parameters<typeof createIngestor>[0]> = {}) {
  return createIngestor(
    brokerIngestorOptions(broker, dir.path, meter, {
      log: createLogger({ sink: (entry) => logs.push(entry) }),
      ...extra,
    }),
  )
}

const publish = (topic: string, payload: string | Buffer, retain = false) =>
  publishProcessed(client, ingestor, topic, payload, retain)

beforeEach(async () => {
  logs.length = 0
  broker = await startBroker()
  dir = await tempDir()
  ingestor = makeIngestor()
  await ingestor.start()
  client = await connectMeter(broker, `meter-${Math.random().toString(16).slice(2)}`)
})

afterEach(async () => {
  await client.endAsync()
  await ingestor.stop()
  await broker.stop()
  await dir.remove()
})

describe('ingestor over MQTT', () => {
  it('stores a valid stream in order, acknowledges it, assembles and seals the period', async () => {
    const records = meter.intervals(0, DAY0, 96, 1_000_000)
    const seen: number[] = []
    ingestor.on('record', (e) => seen.push(e.record.seq))
    const periods: unknown[] = []
    ingestor.on('period', (p) => periods.push(p))
    const acks: number[] = []
    await client.subscribeAsync(ackTopic(meter.address), { qos: 1 })
    client.on('message', (topic, payload) => {
      if (topic === ackTopic(meter.address)) acks.push(JSON.parse(payload.toString()).seq)
    })
    // A live sample between interval closes shares the seq space.
    for (const r of records) {
      const { topic, payload } = meter.sensor(r)
      await publish(topic, payload)
    }
    expect(seen).toEqual(records.map((r) => r.seq))
    await until(() => acks.at(-1) === 95)
    const close = meter.period(records, DAY0, DAY0 + 86_400)
    await publish(close.topic, close.payload, true)
    await until(() => periods.length === 1)
    const [result] = ingestor.periods(meter.address)
    expect(result?.period).toEqual(close.period)
    expect(result?.readings).toHaveLength(N)
    expect(result?.readings.slice(0, 96)).toEqual(records.map((r) => r.intervalWh))
    expect(result?.readings.slice(96).every((r) => r === 0)).toBe(true)
    expect(commit(result?.readings ?? [], result?.salt ?? 0n, N)).toBe(close.period.commitment)
    expect(result?.manifestCid).toMatch(/^file-sha256-/)
    const stored = (await createFileSink(`${dir.path}/vault`).readAll(meter.address, DAY0)) as {
      seq: number
    }[]
    expect(stored.map((r) => r.seq)).toEqual(records.map((r) => r.seq))
    expect(ingestor.anomalies().filter((a) => a.rejected)).toEqual([])
    expect(ingestor.status()[0]).toMatchObject({ ackedSeq: 95, gaps: [] })
  })

  it('rejects bad payloads with a queryable reason and keeps running', async () => {
    const good = record({ seq: 0, time: DAY0 + INTERVAL, energyWh: 5000, intervalWh: 10 })
    const { topic, payload } = meter.sensor(good)
    const json = JSON.parse(payload)
    const unsigned = structuredClone(json)
    delete unsigned.ZK.sig
    const wrongKey = encodeSensorPayload(good, signRecord(DOMAIN, stranger.key, good))
    const tampered = structuredClone(json)
    tampered.ZK.energyWh = 4000
    const cases: [string, string, string | Buffer][] = [
      ['malformed', topic, '{"ZK": '],
      ['malformed', topic, Buffer.from([0xff, 0x00, 0x81])],
      ['oversized', topic, 'x'.repeat(5000)],
      ['schema', topic, JSON.stringify(unsigned)],
      ['wrong-signer', topic, wrongKey],
      ['wrong-signer', topic, JSON.stringify(tampered)],
      ['unknown-meter', stranger.sensor(good).topic, stranger.sensor(good).payload],
      ['bad-topic', 'tele/zkm_NOTHEX/SENSOR', payload],
      ['implausible-time', topic, meter.sensor(record({ seq: 0, time: 900e12, energyWh: 5000 })).payload],
    ]
    for (const [, t, p] of cases) await publish(t, p)
    await publish(topic, payload)
    await publish(topic, payload) // replayed
    expect(ingestor.status()[0]?.ackedSeq).toBe(0)
    const rejected = ingestor.anomalies().filter((a) => a.rejected)
    expect(rejected.map((a) => a.kind)).toEqual(cases.map(([kind]) => kind))
    for (const a of rejected) expect(a.reason.length).toBeGreaterThan(10)
    const dup = ingestor.anomalies({ kind: 'duplicate' })
    expect(dup).toHaveLength(1)
    expect(dup[0]).toMatchObject({ meter: meter.address, seq: 0, rejected: false })
    expect(ingestor.counters()).toMatchObject({
      stored: 1,
      duplicates: 1,
      'wrong-signer': 2,
      'unknown-meter': 1,
    })
    // Logged as structured entries, never with the payload or a key.
    const logged = logs.filter((l) => l.msg === 'anomaly recorded')
    expect(logged.length).toBe(rejected.length + 1)
    expect(JSON.stringify(logs)).not.toContain(Buffer.from(meter.pairingKey).toString('hex'))
    expect(JSON.stringify(logs)).not.toContain(json.ZK.sig.slice(2, 40))
    // Still running: the next record is stored.
    const next = meter.sensor(record({ seq: 1, time: DAY0 + 2 * INTERVAL, energyWh: 5010, intervalWh: 10 }))
    await publish(next.topic, next.payload)
    expect(ingestor.status()[0]?.ackedSeq).toBe(1)
  })

  it('detects a gap, asks for a Resend and accepts the fill-in', async () => {
    const records = meter.intervals(0, DAY0, 8, 100)
    const resends: { from: number; to: number }[] = []
    await client.subscribeAsync(resendTopic(meter.address), { qos: 1 })
    client.on('message', (topic, payload) => {
      if (topic === resendTopic(meter.address)) resends.push(JSON.parse(payload.toString()))
    })
    for (const r of records.filter((r) => r.seq < 3 || r.seq > 5)) {
      const m = meter.sensor(r)
      await publish(m.topic, m.payload)
    }
    await until(() => resends.length >= 1)
    expect(resends[0]).toEqual({ from: 3, to: 5 })
    expect(ingestor.anomalies({ kind: 'gap' })[0]).toMatchObject({ seq: 6, details: { from: 3, to: 5 } })
    expect(ingestor.status()[0]).toMatchObject({ ackedSeq: 2, gaps: [{ from: 3, to: 5, requests: 1 }] })
    // The meter answers the Resend: out of order but valid.
    for (const r of records.filter((r) => r.seq >= 3 && r.seq <= 5).reverse()) {
      const m = meter.sensor(r)
      await publish(m.topic, m.payload)
    }
    expect(ingestor.status()[0]).toMatchObject({ ackedSeq: 7, gaps: [] })
    expect(ingestor.anomalies({ kind: 'gap-filled' })).toHaveLength(3)
    expect(ingestor.anomalies().filter((a) => a.rejected)).toEqual([])
  })

  it('rejects counter rollbacks, including a fill-in that does not fit between its neighbours', async () => {
    const r0 = record({ seq: 0, time: DAY0 + INTERVAL, energyWh: 1000, intervalWh: 10 })
    const r2 = record({ seq: 2, time: DAY0 + 3 * INTERVAL, energyWh: 1020, intervalWh: 10 })
    for (const r of [r0, r2]) {
      const m = meter.sensor(r)
      await publish(m.topic, m.payload)
    }
    const back = meter.sensor(record({ seq: 3, time: DAY0 + 4 * INTERVAL, energyWh: 990, intervalWh: 0 }))
    await publish(back.topic, back.payload)
    const tooHigh = meter.sensor(
      record({ seq: 1, time: DAY0 + 2 * INTERVAL, energyWh: 1030, intervalWh: 30 }),
    )
    await publish(tooHigh.topic, tooHigh.payload)
    const rollbacks = ingestor.anomalies({ kind: 'counter-rollback' })
    expect(rollbacks.map((a) => a.seq)).toEqual([3, 1])
    expect(rollbacks.every((a) => a.rejected)).toBe(true)
    const fits = meter.sensor(record({ seq: 1, time: DAY0 + 2 * INTERVAL, energyWh: 1010, intervalWh: 10 }))
    await publish(fits.topic, fits.payload)
    expect(ingestor.status()[0]?.ackedSeq).toBe(2)
  })

  it('surfaces a period whose commitment does not match the interval records', async () => {
    const records = meter.intervals(0, DAY0, 96, 0)
    for (const r of records) {
      const m = meter.sensor(r)
      await publish(m.topic, m.payload)
    }
    // The meter signs a close whose commitment is not over these readings: the node must not prove it.
    const honest = meter.period(records, DAY0, DAY0 + 86_400)
    const period = { ...honest.period, commitment: honest.period.commitment + 1n }
    await publish(periodTopic(meter.address), meter.periodPayload(period, honest.exportClose))
    await until(() => ingestor.anomalies({ kind: 'commitment-mismatch' }).length === 1)
    expect(ingestor.periods()).toEqual([])
    expect(ingestor.status()[0]?.periods).toEqual([
      { periodStart: DAY0, periodEnd: DAY0 + 86_400, status: 'rejected' },
    ])
  })

  it('waits for missing intervals before assembling a period, then completes it', async () => {
    const records = meter.intervals(0, DAY0, 96, 0)
    for (const r of records.slice(0, 90)) {
      const m = meter.sensor(r)
      await publish(m.topic, m.payload)
    }
    const close = meter.period(records, DAY0, DAY0 + 86_400)
    await publish(close.topic, close.payload)
    expect(ingestor.anomalies({ kind: 'period-incomplete' })).toHaveLength(1)
    for (const r of records.slice(90)) {
      const m = meter.sensor(r)
      await publish(m.topic, m.payload)
    }
    await until(() => ingestor.periods().length === 1)
    expect(ingestor.periods()[0]?.readings.slice(0, 96)).toEqual(records.map((r) => r.intervalWh))
  })

  it('keeps acknowledging when a listener throws', async () => {
    ingestor.on('record', () => {
      throw new Error('a broken consumer')
    })
    const m = meter.sensor(record({ seq: 0, time: DAY0 + INTERVAL, energyWh: 10, intervalWh: 10 }))
    await publish(m.topic, m.payload)
    expect(ingestor.status()[0]?.ackedSeq).toBe(0)
    expect(logs.some((l) => l.msg === 'a listener failed')).toBe(true)
  })

  it('survives a restart on the same data dir without duplicating records', async () => {
    const records = meter.intervals(0, DAY0, 40, 0)
    for (const r of records.slice(0, 20)) {
      const m = meter.sensor(r)
      await publish(m.topic, m.payload)
    }
    await ingestor.stop()
    ingestor = makeIngestor()
    await ingestor.start()
    expect(ingestor.status()[0]?.ackedSeq).toBe(19)
    // The meter republishes everything from an old ack: the overlap is dropped as duplicates.
    for (const r of records.slice(10)) {
      const m = meter.sensor(r)
      await publish(m.topic, m.payload)
    }
    expect(ingestor.status()[0]?.ackedSeq).toBe(39)
    await ingestor.flush()
    const stored = (await createFileSink(`${dir.path}/vault`).readAll(meter.address, DAY0)) as {
      seq: number
    }[]
    expect(stored.map((r) => r.seq)).toEqual(records.map((r) => r.seq))
    expect(ingestor.counters().duplicates).toBe(10)
  })
})

describe('ingestor without MQTT', () => {
  it('keeps the state of a meter removed from the config and added back', async () => {
    const m = meter.sensor(record({ seq: 0, time: DAY0 + INTERVAL, energyWh: 1, intervalWh: 1 }))
    await publish(m.topic, m.payload)
    await ingestor.stop()
    const without = makeIngestor({ mqttUrl: undefined, meters: [{ address: stranger.address }] })
    await without.start()
    await without.stop()
    ingestor = makeIngestor({ mqttUrl: undefined })
    await ingestor.start()
    expect(ingestor.status()[0]?.ackedSeq).toBe(0)
    expect(await ingestor.ingest(m.topic, m.payload)).toMatchObject({ status: 'duplicate' })
  })

  it('fails to start with a named error when no broker answers, and releases the data dir', async () => {
    const closed = createIngestor({
      mqttUrl: 'mqtt://127.0.0.1:1',
      dataDir: `${dir.path}/unreachable`,
      domain: DOMAIN,
      meters: [{ address: meter.address }],
      connectTimeoutMs: 300,
    })
    await expect(closed.start()).rejects.toThrow(/no MQTT broker answered/)
    await closed.stop()
    const again = createIngestor({
      dataDir: `${dir.path}/unreachable`,
      domain: DOMAIN,
      meters: [{ address: meter.address }],
    })
    await again.start()
    const m = meter.sensor(record({ seq: 0, time: DAY0 + INTERVAL, energyWh: 1, intervalWh: 1 }))
    expect(await again.ingest(m.topic, m.payload)).toEqual({ status: 'stored', meter: meter.address, seq: 0 })
    await again.stop()
  })

  it('validates its options with clear errors', () => {
    expect(() => makeIngestor({ intervalSeconds: 7 })).toThrow(/intervalSeconds/)
    expect(() => makeIngestor({ meters: [{ address: '0x1234' }] })).toThrow(/meter address/)
    expect(() => makeIngestor({ domain: { chainId: 1n, verifyingContract: 'nope' } })).toThrow(
      /verifyingContract/,
    )
    expect(() => makeIngestor({ meters: [{ address: meter.address, pairingKey: 'abcd' }] })).toThrow(
      /pairingKey/,
    )
  })

  it('takes topic names from the protocol helpers', () => {
    expect(sensorTopic(meter.address)).toBe(`tele/zkm_${meter.address.slice(2)}/SENSOR`)
  })
})
