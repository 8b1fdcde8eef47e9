/**
 * A full disk under the vault (issue 15): Helia's block and data stores are LevelDB, whose writes do
 * not go through node/src/storage/disk.ts, so the full disk is injected at LevelDB's native binding
 * (test/support/full-level.ts) with the real Helia, vault and ingestor above it. The ingestor must
 * raise the disk-full alarm, keep every record (acknowledged from the journal, nothing torn), retry
 * the vault by itself, and seal a period whose close came in meanwhile once space is back, without
 * waiting for a restart: before, that period stayed unsealed, and so unbilled, until the next start,
 * and the later bills of the meter failed for good on the ledger's PeriodGap behind it.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import type { MeterRecord } from '#protocol/records.ts'
import { type FullLevel, installFullLevel } from '../../../test/support/full-level.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { createIngestor, type Ingestor, type PeriodResult } from '../../src/ingest/ingestor.ts'
import { createHeliaNode, type HeliaNode } from '../../src/ipfs/helia.ts'
import { isDiskFull } from '../../src/storage/disk.ts'
import { createDiskAlarm } from '../../src/storage/disk-alarm.ts'
import { createVault, type Vault } from '../../src/vault/vault.ts'
import { createTestMeter, DAY0, oneMeterIngestorOptions, tempDir, until } from './helpers.ts'

const meter = createTestMeter(11)
let dir: Awaited<ReturnType<typeof tempDir>>
let level: FullLevel | undefined
let helia: HeliaNode | undefined
let ingestor: Ingestor | undefined

beforeEach(async () => {
  dir = await tempDir()
})

afterEach(async () => {
  level?.uninstall()
  level = undefined
  await ingestor?.stop()
  ingestor = undefined
  await helia?.stop()
  helia = undefined
  await dir.remove()
})

it('recognises LevelDB’s full disk as it reaches the vault (PutFailedError of the IO error text)', () => {
  const io = Object.assign(new Error('IO error: /d/ipfs/blocks/000005.log: No space left on device'), {
    code: 'LEVEL_IO_ERROR',
  })
  expect(isDiskFull(new Error(String(io)))).toBe(true)
  expect(isDiskFull(new Error('wrapped', { cause: io }))).toBe(true)
  expect(isDiskFull(new Error('IO error: /d/000005.log: Disk quota exceeded'))).toBe(true)
  expect(isDiskFull(Object.assign(new Error('IO error: lock held'), { code: 'LEVEL_IO_ERROR' }))).toBe(false)
})

it(
  'a full disk under Helia raises the alarm, loses no record, and seals the period once space is back, without a restart',
  async () => {
    const heliaDir = join(dir.path, 'helia')
    level = installFullLevel(heliaDir)
    helia = await createHeliaNode({ dir: heliaDir })
    const vault = createVault({ helia: helia.helia, rootKey: new Uint8Array(randomBytes(32)) })
    const ing = createIngestor({
      ...oneMeterIngestorOptions(join(dir.path, 'node'), meter),
      vault,
      storageRetryMs: 10,
      batchRecords: 16,
    })
    ingestor = ing
    const alarm = createDiskAlarm()
    ing.on('storage', (s) => alarm.update(s))
    const periods: PeriodResult[] = []
    ing.on('period', (p) => periods.push(p))
    await ing.start()

    const records = meter.intervals(0, DAY0, 96, 10_000)
    const ingestOne = (r: MeterRecord) => {
      const { topic, payload } = meter.sensor(r)
      return ing.ingest(topic, payload)
    }
    for (const r of records.slice(0, 40)) expect((await ingestOne(r)).status).toBe('stored')
    await ing.flush()
    expect(ing.storage().state).toBe('ok')

    // The disk fills under the vault. The journal still takes the records: each is acknowledged
    // from there, and none reaches the vault; the period's close comes in and cannot be sealed.
    level.full = true
    // The close arrives before the day's last two records (the period waits for them), then they
    // come: its readings are complete, and the seal fails.
    for (const r of records.slice(40, 94)) expect((await ingestOne(r)).status).toBe('stored')
    const close = meter.period(records, DAY0, DAY0 + 86_400)
    expect((await ing.ingest(close.topic, close.payload)).status).toBe('stored')
    expect(ing.status()[0]?.periods).toEqual([
      expect.objectContaining({ periodStart: DAY0, status: 'incomplete' }),
    ])
    for (const r of records.slice(94)) expect((await ingestOne(r)).status).toBe('stored')
    await until(() => ing.storage().state === 'full', scaledBudget(10_000))
    expect(ing.storage().error).toMatch(/No space left on device/)
    expect(alarm.list()).toEqual([expect.objectContaining({ kind: 'disk-full', active: true })])
    expect(ing.status()[0]?.ackedSeq).toBe(95)
    // Complete, not sealed: it waits for the seal now, which the ingestor retries by itself.
    await until(() => ing.status()[0]?.periods[0]?.status === 'pending', scaledBudget(10_000))
    expect(periods).toEqual([])
    // The node keeps trying by itself while the disk is full (and does not crash doing so).
    const before = level.failures
    await until(() => level !== undefined && level.failures >= before + 3, scaledBudget(10_000))
    expect(periods).toEqual([])

    // Space is back: the retry flushes the journal's records, seals the period and hands it on.
    level.full = false
    await until(() => periods.length === 1, scaledBudget(30_000))
    await until(() => ing.storage().state === 'ok', scaledBudget(10_000))
    expect(alarm.list()).toEqual([
      expect.objectContaining({ kind: 'disk-full', active: false, state: 'cleared' }),
    ])
    expect(ing.status()[0]?.periods).toEqual([
      expect.objectContaining({ periodStart: DAY0, status: 'assembled' }),
    ])
    const [sealed] = periods
    expect(sealed?.manifestCid).toMatch(/^baf/)
    // Every acknowledged record in the vault exactly once, in order.
    const stored = (await vault.readPeriod(sealed?.manifestCid as string)) as MeterRecord[]
    expect(stored.map((r) => r.seq)).toEqual(records.map((r) => r.seq))
  },
  scaledBudget(60_000),
)

it(
  'a full disk part-way through a flush: the retry appends only what is missing, never a record twice',
  async () => {
    const heliaDir = join(dir.path, 'helia')
    level = installFullLevel(heliaDir)
    helia = await createHeliaNode({ dir: heliaDir })
    const vault = createVault({ helia: helia.helia, rootKey: new Uint8Array(randomBytes(32)) })
    // The disk fills right after the flush's first batch is in the vault (day 0's), before day 1's.
    let armed = false
    const partial: Vault = {
      ...vault,
      async appendBatch(...args) {
        const appended = await vault.appendBatch(...args)
        if (armed && level !== undefined) {
          armed = false
          level.full = true
        }
        return appended
      },
    }
    const ing = createIngestor({
      ...oneMeterIngestorOptions(join(dir.path, 'node'), meter),
      vault: partial,
      storageRetryMs: 10,
      batchRecords: 10_000,
      flushEveryIntervals: 10_000,
    })
    ingestor = ing
    await ing.start()
    const day0 = meter.intervals(0, DAY0, 96, 10_000)
    const day1 = meter.intervals(96, DAY0 + 86_400, 96, (day0.at(-1) as MeterRecord).energyWh)
    for (const r of [...day0, ...day1]) {
      const { topic, payload } = meter.sensor(r)
      expect((await ing.ingest(topic, payload)).status).toBe('stored')
    }
    armed = true
    await ing.flush()
    expect(ing.storage().state).toBe('full')
    ;(level as FullLevel).full = false
    await until(() => ing.storage().state === 'ok', scaledBudget(10_000))
    const seqs = async (start: number) =>
      ((await vault.readOpenPeriod(meter.address, start)) as MeterRecord[]).map((r) => r.seq)
    expect(await seqs(DAY0)).toEqual(day0.map((r) => r.seq))
    expect(await seqs(DAY0 + 86_400)).toEqual(day1.map((r) => r.seq))
  },
  scaledBudget(60_000),
)

it(
  'LevelDB’s background error outlives the full disk: the vault’s stores are reopened once space is back, and nothing is lost, without a restart',
  async () => {
    const heliaDir = join(dir.path, 'helia')
    level = installFullLevel(heliaDir)
    // A compaction that failed on ENOSPC: the database refuses every write until it is reopened.
    level.sticky = true
    const node = await createHeliaNode({ dir: heliaDir })
    helia = node
    const vault = createVault({ helia: node.helia, rootKey: new Uint8Array(randomBytes(32)) })
    const ing = createIngestor({
      ...oneMeterIngestorOptions(join(dir.path, 'node'), meter),
      vault,
      reopenVault: () => node.reopenStores(),
      storageRetryMs: 10,
      batchRecords: 16,
    })
    ingestor = ing
    const periods: PeriodResult[] = []
    ing.on('period', (p) => periods.push(p))
    await ing.start()
    const records = meter.intervals(0, DAY0, 96, 10_000)
    const ingestOne = (r: MeterRecord) => {
      const { topic, payload } = meter.sensor(r)
      return ing.ingest(topic, payload)
    }
    for (const r of records.slice(0, 40)) expect((await ingestOne(r)).status).toBe('stored')
    await ing.flush()
    const opensBefore = level.opens

    level.full = true
    for (const r of records.slice(40)) expect((await ingestOne(r)).status).toBe('stored')
    await until(() => ing.storage().state === 'full', scaledBudget(10_000))
    // Space is back, but LevelDB still refuses: the ingestor sees the disk free and reopens.
    level.full = false
    const close = meter.period(records, DAY0, DAY0 + 86_400)
    expect((await ing.ingest(close.topic, close.payload)).status).toBe('stored')
    await until(() => periods.length === 1, scaledBudget(30_000))
    await until(() => ing.storage().state === 'ok', scaledBudget(10_000))
    expect(level.opens).toBeGreaterThan(opensBefore)
    const stored = (await vault.readPeriod(periods[0]?.manifestCid as string)) as MeterRecord[]
    expect(stored.map((r) => r.seq)).toEqual(records.map((r) => r.seq))
    // Ingestion goes on into the reopened stores.
    const next = meter.intervals(96, DAY0 + 86_400, 8, (records.at(-1) as MeterRecord).energyWh)
    for (const r of next) expect((await ingestOne(r)).status).toBe('stored')
    await ing.flush()
    expect(ing.storage().state).toBe('ok')
    const open = (await vault.readOpenPeriod(meter.address, DAY0 + 86_400)) as MeterRecord[]
    expect(open.map((r) => r.seq)).toEqual(next.map((r) => r.seq))
  },
  scaledBudget(60_000),
)
