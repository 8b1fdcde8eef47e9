/**
 * The export bug of issue 15, reproduced without timing luck: the node died after "bill proved"
 * with records acknowledged (in the journal) but not yet in the vault, and the billed period held
 * one interval record the meter had signed as gone, rebuilt for the proof from its neighbours'
 * signed counters. After the restart the chart history and the CSV export must equal the vault
 * (every interval record it holds, nothing else but rebuilt intervals), and each sealed period's
 * exported energy must equal its billed energyWh (endCounter − startCounter).
 *
 * The crash point is made deterministic: the vault refuses appends (as a node killed before its
 * flush would leave it) while the last records are journaled and acknowledged, and the first
 * ingestor is stopped without a successful flush. The second ingestor then replays the journal.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { encodeGonePayload, type MeterRecord, signGone } from '#protocol/records.ts'
import { goneTopic } from '#protocol/topics.ts'
import { completeHistory, openHistory } from '../../src/app/history.ts'
import { intervalsToCsv, type ReadingHistory } from '../../src/history/readings.ts'
import { createIngestor, type Ingestor } from '../../src/ingest/ingestor.ts'
import { createHeliaNode, type HeliaNode } from '../../src/ipfs/helia.ts'
import { createVault, type Vault } from '../../src/vault/vault.ts'
import {
  createTestMeter,
  DAY0,
  DOMAIN,
  INTERVAL,
  oneMeterIngestorOptions,
  tempDir,
  until,
} from '../ingest/helpers.ts'

const meter = createTestMeter(7)
const DAY = 86_400

let dir: Awaited<ReturnType<typeof tempDir>>
let helia: HeliaNode
let vault: Vault
/** While true the vault refuses appends: the records stay in the journal only, as at a kill -9. */
let vaultDown = false
let ingestor: Ingestor | undefined

beforeEach(async () => {
  dir = await tempDir()
  helia = await createHeliaNode({ dir: `${dir.path}/helia` })
  const real = createVault({ helia: helia.helia, rootKey: new Uint8Array(randomBytes(32)) })
  vault = {
    ...real,
    appendBatch: (m, start, records) => {
      if (vaultDown) return Promise.reject(new Error('simulated: the node died before this flush'))
      return real.appendBatch(m, start, records)
    },
  }
  vaultDown = false
})

afterEach(async () => {
  await ingestor?.stop()
  ingestor = undefined
  await helia.stop()
  await dir.remove()
})

/** The node's history wiring around one ingestor start, as startHouseholdNode does it. */
async function startNodeHistory(): Promise<{ ingestor: Ingestor; history: ReadingHistory }> {
  const ing = createIngestor({ ...oneMeterIngestorOptions(`${dir.path}/node`, meter), vault })
  ingestor = ing
  const options = { ingestor: ing, vault, intervalSeconds: INTERVAL }
  const history = openHistory(options)
  ing.on('record', (event) => history.add(event.record))
  await ing.start()
  completeHistory(history, options)
  // The node's readers wait for the load (routes/readings.ts): so does this test.
  await history.whenLoaded()
  return { ingestor: ing, history }
}

async function feed(ing: Ingestor, records: readonly MeterRecord[]): Promise<void> {
  for (const r of records) {
    const { topic, payload } = meter.sensor(r)
    expect((await ing.ingest(topic, payload)).status).toBe('stored')
  }
}

/** Every interval record the vault holds, sealed periods and open ones. */
async function vaultIntervals(): Promise<Map<number, number>> {
  const out = new Map<number, number>()
  for (const p of await vault.listPeriods()) {
    const records =
      p.status === 'sealed' && p.manifestCid
        ? await vault.readPeriod(p.manifestCid)
        : await vault.readOpenPeriod(p.meter, p.periodStart)
    for (const r of records) if (r.kind === 1) out.set(r.time, r.intervalWh)
  }
  return out
}

/** The CSV export parsed back: interval end → imported Wh (column energy_wh, or exported_wh). */
function exported(
  history: ReadingHistory,
  column: 'energy_wh' | 'exported_wh' = 'energy_wh',
): Map<number, number> {
  const csv = intervalsToCsv(history.intervals(0, DAY0 + 10 * DAY), INTERVAL)
  const [header, ...rows] = csv.trim().split('\n')
  expect(header).toBe('interval_start_utc,interval_end_utc,energy_wh,max_power_w,exported_wh')
  const at = header?.split(',').indexOf(column) as number
  return new Map(
    rows.map((row) => {
      const cells = row.split(',')
      return [Date.parse(cells[1] as string) / 1000, Number(cells[at])]
    }),
  )
}

const sumIn = (rows: Map<number, number>, from: number, to: number) =>
  [...rows].filter(([t]) => t > from && t <= to).reduce((s, [, wh]) => s + wh, 0)

it('after a crash the export equals the vault, and a billed period exports its billed energy', async () => {
  // Day 0, 96 intervals; the record ending 04:00 (seq 15, 03:45–04:00) was lost by the meter,
  // which signs it gone. The period still assembles: its reading follows from seq 14 and seq 16.
  const day0 = meter.intervals(0, DAY0, 96, 10_000)
  const lost = day0[15] as MeterRecord
  const close = meter.period(day0, DAY0, DAY0 + DAY)
  const first = await startNodeHistory()
  await feed(first.ingestor, [...day0.slice(0, 15), ...day0.slice(16)])
  const gone = { meter: meter.address, fromSeq: 15, toSeq: 15 }
  await first.ingestor.ingest(
    goneTopic(meter.address),
    encodeGonePayload(gone, signGone(DOMAIN, meter.key, gone)),
  )
  await first.ingestor.ingest(close.topic, close.payload)
  await until(() => first.ingestor.periods().length === 1)
  const billedWh = close.period.endCounter - close.period.startCounter
  // The live history already carries the rebuilt interval: the proof's readings are the export's.
  expect(sumIn(exported(first.history), DAY0, DAY0 + DAY)).toBe(billedWh)

  // "bill proved", then 4 intervals of day 1 are acknowledged but the node dies before its flush.
  vaultDown = true
  const day1 = meter.intervals(96, DAY0 + DAY, 4, close.period.endCounter)
  await feed(first.ingestor, day1)
  await first.ingestor.stop()
  vaultDown = false

  const second = await startNodeHistory()
  const inVault = await vaultIntervals()
  const rows = exported(second.history)
  // Nothing the vault holds is missing from the export (the 4 replayed intervals included) …
  expect([...inVault.keys()].filter((t) => !rows.has(t))).toEqual([])
  for (const r of day1) expect(rows.get(r.time)).toBe(r.intervalWh)
  // … the export holds nothing else but the interval rebuilt from signed counters, with its value …
  expect([...rows.keys()].filter((t) => !inVault.has(t))).toEqual([lost.time])
  expect(rows.get(lost.time)).toBe(lost.intervalWh)
  for (const [t, wh] of inVault) expect(rows.get(t)).toBe(wh)
  // … and the billed period's exported energy is its billed energyWh.
  expect(sumIn(rows, DAY0, DAY0 + DAY)).toBe(billedWh)
  // The exported column: every interval's export as the meter signed it, and the period's exported
  // sum is the difference of the export counters its close signed.
  const out = exported(second.history, 'exported_wh')
  for (const r of day1) expect(out.get(r.time)).toBe(r.intervalExportedWh)
  expect(sumIn(out, DAY0, DAY0 + DAY)).toBe(close.exportClose.endCounter - close.exportClose.startCounter)
  expect(sumIn(out, DAY0, DAY0 + DAY)).toBeGreaterThan(0)
  await until(async () => (await vaultIntervals()).size === 95 + 4)
})
