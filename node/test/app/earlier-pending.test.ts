/**
 * Which earlier period a bill that met the ledger's PeriodGap waits for (app/billing.ts
 * earlierPending), read from a real ingestor and a real bill store. After a crash the meter
 * resends its backlog and a later period's close can arrive before the earlier ones: the node then
 * holds no period ending where the bill starts, and the close from its latest known period on is
 * still to come. Before, nothing was pending, so the bill failed for good on PeriodGap and every
 * later bill waited behind it (bench:chaos seed 515, twice, issue 15).
 */
import { afterEach, expect, it } from 'vitest'
import type { MeterRecord } from '#protocol/records.ts'
import { earlierPending } from '../../src/app/billing.ts'
import { openBillStore } from '../../src/billing/store.ts'
import { createIngestor, type Ingestor } from '../../src/ingest/ingestor.ts'
import { createTestMeter, DAY0, oneMeterIngestorOptions, tempDir } from '../ingest/helpers.ts'

const meter = createTestMeter(23)
const DAY = 86_400
let dir: Awaited<ReturnType<typeof tempDir>> | undefined
let ingestor: Ingestor | undefined

afterEach(async () => {
  await ingestor?.stop()
  ingestor = undefined
  await dir?.remove()
  dir = undefined
})

it('waits for the close of a period between the last one billed and the bill, until it arrives', async () => {
  dir = await tempDir()
  const ing = createIngestor({ ...oneMeterIngestorOptions(`${dir.path}/node`, meter) })
  ingestor = ing
  await ing.start()
  const send = async (records: MeterRecord[]) => {
    for (const r of records) {
      const { topic, payload } = meter.sensor(r)
      expect((await ing.ingest(topic, payload)).status).toBe('stored')
    }
  }
  const day0 = meter.intervals(0, DAY0, 96, 10_000)
  const day1 = meter.intervals(96, DAY0 + DAY, 96, (day0.at(-1) as MeterRecord).energyWh)
  const day2 = meter.intervals(192, DAY0 + 2 * DAY, 96, (day1.at(-1) as MeterRecord).energyWh)
  await send([...day0, ...day1, ...day2])
  const close = async (records: MeterRecord[], start: number) => {
    const c = meter.period(records, start, start + DAY)
    expect((await ing.ingest(c.topic, c.payload)).status).toBe('stored')
    return c.period
  }
  // Day 0 is billed; day 2's close arrives before day 1's.
  const p0 = await close(day0, DAY0)
  const p2 = await close(day2, DAY0 + 2 * DAY)
  const bills = await openBillStore(`${dir.path}/billing`)
  const fields = (p: typeof p0) => ({
    id: `${meter.address.toLowerCase()}-${p.periodStart}`,
    meter: meter.address,
    periodStart: p.periodStart,
    periodEnd: p.periodEnd,
    startCounter: p.startCounter,
    endCounter: p.endCounter,
    commitment: String(p.commitment),
    meterSignature: '0x00' as `0x${string}`,
    energyWh: p.endCounter - p.startCounter,
    manifestCid: 'bafy',
    cidDigest: '0x00' as `0x${string}`,
  })
  await bills.insert(fields(p0))
  const later = await bills.insert(fields(p2))
  expect(earlierPending(later, ing, bills, new Map())).toEqual({
    periodStart: DAY0 + DAY,
    why: expect.stringMatching(/signed close has not arrived/),
  })
  // Day 1's close arrives and is billed: nothing earlier is pending any more.
  const p1 = await close(day1, DAY0 + DAY)
  await bills.insert(fields(p1))
  expect(earlierPending(later, ing, bills, new Map())).toBeUndefined()
})

it('waits for nothing when the node knows no period before the bill (a period the ledger expects that the node never had)', async () => {
  dir = await tempDir()
  const ing = createIngestor({ ...oneMeterIngestorOptions(`${dir.path}/node`, meter) })
  ingestor = ing
  await ing.start()
  const bills = await openBillStore(`${dir.path}/billing`)
  const day3 = meter.intervals(0, DAY0 + 3 * DAY, 96, 10_000)
  const p = meter.period(day3, DAY0 + 3 * DAY, DAY0 + 4 * DAY).period
  const bill = await bills.insert({
    id: `${meter.address.toLowerCase()}-${p.periodStart}`,
    meter: meter.address,
    periodStart: p.periodStart,
    periodEnd: p.periodEnd,
    startCounter: p.startCounter,
    endCounter: p.endCounter,
    commitment: String(p.commitment),
    meterSignature: '0x00',
    energyWh: p.endCounter - p.startCounter,
    manifestCid: 'bafy',
    cidDigest: '0x00',
  })
  expect(earlierPending(bill, ing, bills, new Map())).toBeUndefined()
})
