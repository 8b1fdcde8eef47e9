/**
 * Two counters at the node's boundary (docs/protocol.md §6–7): the export counter in every record
 * and the export half of every close are checked like the import ones, over a real broker, with the
 * journal and the vault on disk.
 */
import type { MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { encodePeriodPayload, signExportPeriod, signPeriod } from '#protocol/records.ts'
import { periodTopic } from '#protocol/topics.ts'
import { createIngestor, type Ingestor, type PeriodResult } from '../../src/ingest/ingestor.ts'
import {
  brokerIngestorOptions,
  connectMeter,
  createTestMeter,
  DAY0,
  DOMAIN,
  INTERVAL,
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

const makeIngestor = () => createIngestor(brokerIngestorOptions(broker, dir.path, meter))
const publish = (topic: string, payload: string) => publishProcessed(client, ingestor, topic, payload)

async function publishRecords(records: ReturnType<typeof meter.intervals>): Promise<void> {
  for (const r of records) {
    const m = meter.sensor(r)
    await publish(m.topic, m.payload)
  }
}

beforeEach(async () => {
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

describe('export metering at the node', () => {
  it('assembles the exported Wh per interval against the signed export half of the close', async () => {
    const periods: PeriodResult[] = []
    ingestor.on('period', (p) => periods.push(p))
    const records = meter.intervals(0, DAY0, 96, 1_000_000)
    await publishRecords(records)
    const close = meter.period(records, DAY0, DAY0 + 86_400)
    await publish(close.topic, close.payload)
    await until(() => periods.length === 1)
    const result = periods[0] as PeriodResult
    expect(result.exportClose).toEqual(close.exportClose)
    const exported = (result.exportReadings ?? []).reduce((a, b) => a + b, 0)
    expect(exported).toBe(close.exportClose.endCounter - close.exportClose.startCounter)
    expect(exported).toBeGreaterThan(0)
    // Midday only: the readings are where the records put them, nothing at night.
    expect(result.exportReadings?.[39]).toBe(0)
    expect(result.exportReadings?.[40]).toBe(records[40]?.intervalExportedWh)
    // The import half is what it was: its readings are the import counter's differences.
    expect(result.readings.reduce((a, b) => a + b, 0)).toBe(
      close.period.endCounter - close.period.startCounter,
    )
  })

  it('refuses a record whose export counter goes back, including a fill-in that does not fit', async () => {
    const base = { time: DAY0 + INTERVAL, energyWh: 1000 }
    const first = meter.sensor(record({ seq: 0, ...base, exportedWh: 500 }))
    await publish(first.topic, first.payload)
    // The import counter moves on, the export counter falls back: a replayed or forged count.
    const back = meter.sensor(
      record({ seq: 1, time: DAY0 + 2 * INTERVAL, energyWh: 1010, intervalWh: 10, exportedWh: 499 }),
    )
    await publish(back.topic, back.payload)
    const third = meter.sensor(
      record({ seq: 3, time: DAY0 + 4 * INTERVAL, energyWh: 1030, intervalWh: 10, exportedWh: 520 }),
    )
    await publish(third.topic, third.payload)
    const tooHigh = meter.sensor(
      record({ seq: 2, time: DAY0 + 3 * INTERVAL, energyWh: 1020, intervalWh: 10, exportedWh: 521 }),
    )
    await publish(tooHigh.topic, tooHigh.payload)
    const rollbacks = ingestor.anomalies({ kind: 'export-rollback' })
    expect(rollbacks.map((a) => a.seq)).toEqual([1, 2])
    expect(rollbacks.every((a) => a.rejected)).toBe(true)
    expect(rollbacks[0]?.reason).toMatch(/export counter 499 Wh/)
    const fits = meter.sensor(
      record({ seq: 1, time: DAY0 + 2 * INTERVAL, energyWh: 1010, intervalWh: 10, exportedWh: 505 }),
    )
    await publish(fits.topic, fits.payload)
    expect(ingestor.status()[0]?.ackedSeq).toBe(1)
  })

  it('rejects a close whose export commitment is not over the export readings', async () => {
    const records = meter.intervals(0, DAY0, 96, 0)
    await publishRecords(records)
    const honest = meter.period(records, DAY0, DAY0 + 86_400)
    const { signature: _, ...x } = honest.exportClose
    await publish(
      periodTopic(meter.address),
      meter.periodPayload(honest.period, { ...x, commitment: x.commitment + 1n }),
    )
    await until(() => ingestor.anomalies({ kind: 'commitment-mismatch' }).length === 1)
    expect(ingestor.anomalies({ kind: 'commitment-mismatch' })[0]?.reason).toMatch(/^export counter:/)
    expect(ingestor.periods()).toEqual([])
  })

  it('rejects a close whose export counters disagree with the records', async () => {
    const records = meter.intervals(0, DAY0, 96, 0)
    await publishRecords(records)
    const honest = meter.period(records, DAY0, DAY0 + 86_400)
    const { signature: _, ...x } = honest.exportClose
    await publish(
      periodTopic(meter.address),
      meter.periodPayload(honest.period, { ...x, endCounter: x.endCounter + 1 }),
    )
    await until(() => ingestor.anomalies({ kind: 'counter-mismatch' }).length === 1)
    expect(ingestor.anomalies({ kind: 'counter-mismatch' })[0]?.reason).toMatch(/^export counter:/)
  })

  it('refuses an export half signed by another key, and a close without one', async () => {
    const records = meter.intervals(0, DAY0, 96, 0)
    await publishRecords(records)
    const honest = meter.period(records, DAY0, DAY0 + 86_400)
    const { signature: _, ...x } = honest.exportClose
    const forged = encodePeriodPayload(honest.period, signPeriod(DOMAIN, meter.key, honest.period), {
      ...x,
      signature: signExportPeriod(DOMAIN, stranger.key, honest.period, x),
    })
    await publish(periodTopic(meter.address), forged)
    expect(ingestor.anomalies({ kind: 'wrong-signer' })).toHaveLength(1)
    const without = JSON.parse(honest.payload)
    delete without.export
    await publish(periodTopic(meter.address), JSON.stringify(without))
    expect(ingestor.anomalies({ kind: 'schema' })[0]?.reason).toMatch(/export/)
    expect(ingestor.status()[0]?.periods).toEqual([])
    // The honest close still goes through.
    await publish(honest.topic, honest.payload)
    await until(() => ingestor.status()[0]?.periods[0]?.status === 'assembled')
  })
})
