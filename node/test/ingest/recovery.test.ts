/**
 * The three meter↔node recovery paths of docs/protocol.md §7, driven through ingest() with the
 * node's outbound messages captured (what the meter would receive):
 * - a node offline across two period closes asks for the earlier one (ResendPeriod) and bills both;
 * - a meter whose buffer overflowed signs that records are gone: the ack moves on, the gap is a
 *   permanent anomaly, and the period that needed them is refused with the reason, not left waiting;
 * - STATE's open period start and PeriodDays set the boundaries the node files and asks by.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { encodeState } from '#protocol/meter/status.ts'
import { encodeGonePayload, type MeterRecord, type RecordsGone, signGone } from '#protocol/records.ts'
import { goneTopic, resendPeriodTopic, resendTopic, stateTopic } from '#protocol/topics.ts'
import { createIngestor, type Ingestor, type OutboundMessage } from '../../src/ingest/ingestor.ts'
import { createLogger, type LogEntry } from '../../src/log/logger.ts'
import { createTestMeter, DAY0, DOMAIN, oneMeterIngestorOptions, tempDir } from './helpers.ts'

const meter = createTestMeter(3)
const stranger = createTestMeter(4)
const DAY = 86_400

let dir: Awaited<ReturnType<typeof tempDir>>
let ingestor: Ingestor
let sent: OutboundMessage[]
const logs: LogEntry[] = []

function makeIngestor(): Ingestor {
  return createIngestor({
    ...oneMeterIngestorOptions(`${dir.path}/node`, meter),
    log: createLogger({ sink: (entry) => logs.push(entry) }),
  })
}

async function boot(): Promise<void> {
  ingestor = makeIngestor()
  await ingestor.start()
  sent = []
  ingestor.addOutbound((message) => sent.push(message))
}

async function feed(records: readonly MeterRecord[]): Promise<void> {
  for (const r of records) {
    const { topic, payload } = meter.sensor(r)
    expect((await ingestor.ingest(topic, payload)).status).not.toBe('rejected')
  }
}

function gonePayload(gone: RecordsGone, key = meter.key): string {
  return encodeGonePayload(gone, signGone(DOMAIN, key, gone))
}

function state(time: number, periodStart: number, periodDays: number): string {
  return encodeState({ time, uptime: 60, relays: 0x80, fanSpeed: 0, periodStart, periodDays })
}

const acks = () =>
  sent.filter((m) => m.topic.endsWith('/ack')).map((m) => JSON.parse(m.payload).seq as number)
const status = () => ingestor.status()[0]!
const settle = () => new Promise((r) => setTimeout(r, 20))

beforeEach(async () => {
  logs.length = 0
  dir = await tempDir()
  await boot()
})

afterEach(async () => {
  await ingestor.stop()
  await dir.remove()
})

describe('recovery after the node was away', () => {
  it('asks for a close it missed while offline across two closes, and bills both periods', async () => {
    const records = meter.intervals(0, DAY0, 3 * 96, 5000)
    const p0 = meter.period(records, DAY0, DAY0 + DAY)
    const p1 = meter.period(records, DAY0 + DAY, DAY0 + 2 * DAY)
    await feed(records.slice(0, 48))
    // Back after two closes: the retained PERIOD (the second close), STATE, then live records.
    expect(await ingestor.ingest(p1.topic, p1.payload)).toEqual({ status: 'stored', meter: meter.address })
    expect(
      await ingestor.ingest(stateTopic(meter.address), state(DAY0 + 2 * DAY + 300, DAY0 + 2 * DAY, 1)),
    ).toEqual({ status: 'noted', meter: meter.address })
    await feed(records.slice(200, 210))
    await settle()
    const askedPeriods = sent.filter((m) => m.topic === resendPeriodTopic(meter.address))
    expect(askedPeriods.map((m) => JSON.parse(m.payload))).toEqual([{ periodStart: DAY0 }])
    expect(askedPeriods[0]!.retain).toBe(false)
    expect(status().missingPeriods).toEqual([{ periodStart: DAY0, requests: 1 }])
    expect(ingestor.anomalies({ kind: 'period-missing' })).toHaveLength(1)
    expect(
      sent.filter((m) => m.topic === resendTopic(meter.address)).map((m) => JSON.parse(m.payload)),
    ).toEqual([{ from: 48, to: 199 }])
    // The meter answers both requests.
    expect(await ingestor.ingest(p0.topic, p0.payload)).toEqual({ status: 'stored', meter: meter.address })
    await feed(records.slice(48, 200))
    await settle()
    const periods = ingestor
      .periods()
      .map((p) => [p.period.periodStart, p.period.commitment])
      .sort((a, b) => Number(a[0]) - Number(b[0]))
    expect(periods).toEqual([
      [DAY0, p0.period.commitment],
      [DAY0 + DAY, p1.period.commitment],
    ])
    expect(status()).toMatchObject({ ackedSeq: 209, gaps: [], missingPeriods: [], gone: [] })
    expect(status().openPeriod).toEqual({ periodStart: DAY0 + 2 * DAY, periodDays: 1 })
    // Nothing else is missing: a third close is not asked for before it exists.
    expect(sent.filter((m) => m.topic === resendPeriodTopic(meter.address))).toHaveLength(1)
  })

  it('bills both periods when the resent close arrives after the resent records (the later period completes first)', async () => {
    const records = meter.intervals(0, DAY0, 3 * 96, 5000)
    const p0 = meter.period(records, DAY0, DAY0 + DAY)
    const p1 = meter.period(records, DAY0 + DAY, DAY0 + 2 * DAY)
    await feed(records.slice(0, 48))
    expect(await ingestor.ingest(p1.topic, p1.payload)).toEqual({ status: 'stored', meter: meter.address })
    await feed(records.slice(200, 210))
    // The meter answers the Resend first: the second period completes before the first's close is here.
    await feed(records.slice(48, 200))
    await settle()
    expect(ingestor.periods().map((p) => p.period.periodStart)).toEqual([DAY0 + DAY])
    expect(await ingestor.ingest(p0.topic, p0.payload)).toEqual({ status: 'stored', meter: meter.address })
    await settle()
    const periods = ingestor
      .periods()
      .map((p) => [p.period.periodStart, p.period.commitment])
      .sort((a, b) => Number(a[0]) - Number(b[0]))
    expect(periods).toEqual([
      [DAY0, p0.period.commitment],
      [DAY0 + DAY, p1.period.commitment],
    ])
    expect(status()).toMatchObject({ ackedSeq: 209, gaps: [], missingPeriods: [] })
  })

  it('walks the chain: with two closes missing it asks for one, then the next', async () => {
    const records = meter.intervals(0, DAY0, 3 * 96, 5000)
    const p0 = meter.period(records, DAY0, DAY0 + DAY)
    const p1 = meter.period(records, DAY0 + DAY, DAY0 + 2 * DAY)
    await feed(records)
    await settle()
    const asked = () =>
      sent
        .filter((m) => m.topic === resendPeriodTopic(meter.address))
        .map((m) => JSON.parse(m.payload).periodStart)
    expect(asked()).toEqual([DAY0])
    await ingestor.ingest(p0.topic, p0.payload)
    expect(asked()).toEqual([DAY0, DAY0 + DAY])
    await ingestor.ingest(p1.topic, p1.payload)
    await settle()
    expect(ingestor.periods()).toHaveLength(2)
    expect(status().missingPeriods).toEqual([])
  })
})

describe('records the meter no longer holds', () => {
  it('closes the gap on a signed GONE, moves the ack on, and refuses the period clearly', async () => {
    const records = meter.intervals(0, DAY0, 96, 5000)
    const p0 = meter.period(records, DAY0, DAY0 + DAY)
    await feed(records.slice(0, 10))
    // Away: the meter's buffer kept only 66..95. The node sees 95, asks for 10..94.
    await feed(records.slice(95))
    await settle()
    expect(
      sent.filter((m) => m.topic === resendTopic(meter.address)).map((m) => JSON.parse(m.payload)),
    ).toEqual([{ from: 10, to: 94 }])
    expect(status().ackedSeq).toBe(9)
    // A GONE signed by another key is refused and changes nothing.
    const forged = await ingestor.ingest(
      goneTopic(meter.address),
      gonePayload({ meter: meter.address, fromSeq: 10, toSeq: 65 }, stranger.key),
    )
    expect(forged).toMatchObject({ status: 'rejected', kind: 'wrong-signer' })
    expect(status().ackedSeq).toBe(9)
    // The meter's answer: GONE 10..65, then the records it still had.
    const gone = { meter: meter.address, fromSeq: 10, toSeq: 65 }
    expect(await ingestor.ingest(goneTopic(meter.address), gonePayload(gone))).toEqual({
      status: 'stored',
      meter: meter.address,
    })
    await feed(records.slice(66, 95))
    await settle()
    expect(status()).toMatchObject({ ackedSeq: 95, gaps: [], gone: [{ from: 10, to: 65 }] })
    expect(acks().at(-1)).toBe(95)
    const [lost] = ingestor.anomalies({ kind: 'records-gone' })
    expect(lost).toMatchObject({ rejected: false, meter: meter.address, seq: 10 })
    expect(lost!.reason).toMatch(/records 10\.\.65 \(56\) are gone/)
    expect(logs.some((l) => l.msg === 'anomaly recorded' && l.kind === 'records-gone')).toBe(true)
    // The same notice again changes nothing; a record from the gone range is a duplicate, not data.
    expect((await ingestor.ingest(goneTopic(meter.address), gonePayload(gone))).status).toBe('duplicate')
    const late = meter.sensor(records[20]!)
    expect((await ingestor.ingest(late.topic, late.payload)).status).toBe('duplicate')
    // The close needs readings the node can never rebuild: refused with the reason, never pending.
    await ingestor.ingest(p0.topic, p0.payload)
    await settle()
    expect(ingestor.periods()).toEqual([])
    const period = status().periods[0]!
    expect(period).toMatchObject({ periodStart: DAY0, status: 'rejected' })
    expect(period.reason).toMatch(/cannot be billed: the meter signed that records 10\.\.65 are gone/)
    expect(ingestor.anomalies({ kind: 'records-gone' }).filter((a) => a.rejected)).toHaveLength(1)
    // All of it survives a restart.
    await ingestor.stop()
    await boot()
    expect(status()).toMatchObject({ ackedSeq: 95, gaps: [], gone: [{ from: 10, to: 65 }] })
    expect(status().periods[0]).toMatchObject({ status: 'rejected', reason: period.reason })
    await settle()
    expect(acks()).toEqual([95])
  })

  it('still bills a period when the gone records held at most one interval record in a row', async () => {
    // Interval records every 15 min, one live sample between each: gone 21..21 is one interval record
    // (seq 21 = interval 10); its reading is rebuilt exactly from its neighbours' counters.
    const intervals = meter.intervals(0, DAY0, 96, 5000)
    const stream: MeterRecord[] = []
    for (const r of intervals) {
      stream.push({ ...r, seq: stream.length })
      stream.push({ ...r, seq: stream.length, kind: 0, time: r.time + 60, intervalWh: 0 })
    }
    const closing = stream.filter((r) => r.kind === 1)
    const p0 = meter.period(closing, DAY0, DAY0 + DAY)
    await feed(stream.slice(0, 20))
    await feed(stream.slice(22))
    const gone = { meter: meter.address, fromSeq: 20, toSeq: 21 }
    await ingestor.ingest(goneTopic(meter.address), gonePayload(gone))
    await ingestor.ingest(p0.topic, p0.payload)
    await settle()
    expect(status()).toMatchObject({ ackedSeq: stream.length - 1, gone: [{ from: 20, to: 21 }] })
    expect(ingestor.periods().map((p) => p.period.commitment)).toEqual([p0.period.commitment])
  })

  it('ignores a GONE for seqs the node has not even seen, so the ack cannot jump ahead', async () => {
    const records = meter.intervals(0, DAY0, 20, 5000)
    await feed(records.slice(0, 5))
    const ahead = { meter: meter.address, fromSeq: 5, toSeq: 1000 }
    expect((await ingestor.ingest(goneTopic(meter.address), gonePayload(ahead))).status).toBe('duplicate')
    expect(status()).toMatchObject({ ackedSeq: 4, gone: [] })
    await feed(records.slice(5))
    expect(status().ackedSeq).toBe(19)
  })
})

describe('STATE: the open period and PeriodDays', () => {
  it('takes the boundaries from STATE when PeriodDays changed mid-period', async () => {
    // The node's rule says daily; the meter switched to two-day periods during the first one.
    const records = meter.intervals(0, DAY0, 2 * 96, 5000)
    expect((await ingestor.ingest(stateTopic(meter.address), state(DAY0 + 3600, DAY0, 2))).status).toBe(
      'noted',
    )
    expect(status().openPeriod).toEqual({ periodStart: DAY0, periodDays: 2 })
    await feed(records)
    await settle()
    // Past the daily boundary, but inside the meter's two-day period: no close is missing.
    expect(sent.filter((m) => m.topic === resendPeriodTopic(meter.address))).toEqual([])
    const p0 = meter.period(records, DAY0, DAY0 + 2 * DAY)
    await ingestor.ingest(p0.topic, p0.payload)
    await settle()
    expect(ingestor.anomalies({ kind: 'period-boundary' })).toEqual([])
    expect(ingestor.periods().map((p) => [p.period.periodStart, p.period.periodEnd])).toEqual([
      [DAY0, DAY0 + 2 * DAY],
    ])
    // Restart: the open period is remembered.
    await ingestor.stop()
    await boot()
    expect(status().openPeriod).toEqual({ periodStart: DAY0, periodDays: 2 })
  })

  it('without STATE, the node rule makes it ask for a close at the daily boundary', async () => {
    await feed(meter.intervals(0, DAY0, 100, 5000))
    await settle()
    expect(
      sent.filter((m) => m.topic === resendPeriodTopic(meter.address)).map((m) => JSON.parse(m.payload)),
    ).toEqual([{ periodStart: DAY0 }])
  })

  it('refuses a STATE that contradicts the signed closes or the schema, with the reason', async () => {
    const records = meter.intervals(0, DAY0, 96, 5000)
    await feed(records)
    const p0 = meter.period(records, DAY0, DAY0 + DAY)
    await ingestor.ingest(p0.topic, p0.payload)
    // An open period starting inside a period the meter signed closed is impossible.
    const behind = await ingestor.ingest(stateTopic(meter.address), state(DAY0 + DAY + 600, DAY0, 1))
    expect(behind).toMatchObject({ status: 'rejected', kind: 'period-boundary' })
    expect(status().openPeriod).toBeUndefined()
    // PeriodDays beyond what the circuit holds (N = 192: two days).
    const tooLong = await ingestor.ingest(stateTopic(meter.address), state(DAY0 + DAY + 600, DAY0 + DAY, 3))
    expect(tooLong).toMatchObject({ status: 'rejected', kind: 'schema' })
    expect(ingestor.anomalies({ kind: 'schema' })[0]!.reason).toMatch(/PeriodDays/)
    const ok = await ingestor.ingest(stateTopic(meter.address), state(DAY0 + DAY + 600, DAY0 + DAY, 1))
    expect(ok.status).toBe('noted')
    const unknown = await ingestor.ingest(stateTopic(stranger.address), state(DAY0 + DAY, DAY0 + DAY, 1))
    expect(unknown).toMatchObject({ status: 'rejected', kind: 'unknown-meter' })
  })
})
