/**
 * A full disk (issue 15), injected as ENOSPC mid-write (test/support/full-disk.ts): ingestion stops
 * with the resident's disk-full alarm, nothing that was not stored is acknowledged (the meter keeps
 * it), no torn frame stays in the journal, and once space is back ingestion resumes by itself —
 * the meter's resend of what failed is stored, and every record ends in the vault exactly once.
 * And the atomic state-file writer leaves the old file whole and no temp file behind.
 */
import { cp, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import type { MeterRecord } from '#protocol/records.ts'
import { type FullDisk, fullDisk } from '../../../test/support/full-disk.ts'
import { createIngestor, type Ingestor, type OutboundMessage } from '../../src/ingest/ingestor.ts'
import { openJournal } from '../../src/ingest/journal.ts'
import { createFileSink } from '../../src/ingest/sink.ts'
import { createDiskAlarm, type DiskAlarm } from '../../src/storage/disk-alarm.ts'
import { writeFileAtomic } from '../../src/storage/json-file.ts'
import { createTestMeter, DAY0, oneMeterIngestorOptions, tempDir, until } from './helpers.ts'

const meter = createTestMeter(9)
let dir: Awaited<ReturnType<typeof tempDir>>
let ingestor: Ingestor | undefined

beforeEach(async () => {
  dir = await tempDir()
})

afterEach(async () => {
  await ingestor?.stop()
  ingestor = undefined
  await dir.remove()
})

async function ingestOne(ing: Ingestor, r: MeterRecord) {
  const { topic, payload } = meter.sensor(r)
  return ing.ingest(topic, payload)
}

it('a full disk stops ingestion with an alarm, acknowledges nothing unstored, and resumes when space is back', async () => {
  const nodeDir = join(dir.path, 'node')
  const disk: FullDisk = fullDisk(join(nodeDir, 'journal'))
  const sink = createFileSink(join(dir.path, 'vault'))
  const ing = createIngestor({
    ...oneMeterIngestorOptions(nodeDir, meter),
    vault: sink,
    disk: disk.disk,
    storageRetryMs: 5,
    storageReserveBytes: 0,
    // No flush before the end: the journal segment the disk tore is still there when it is checked.
    flushEveryIntervals: 1000,
    batchRecords: 1000,
  })
  ingestor = ing
  const alarm: DiskAlarm = createDiskAlarm()
  ing.on('storage', (s) => alarm.update(s))
  await ing.start()
  const acks: number[] = []
  ing.addOutbound((m: OutboundMessage) => {
    if (m.topic.endsWith('/ack')) acks.push(JSON.parse(m.payload).seq)
  })
  const records = meter.intervals(0, DAY0, 24, 1_000)
  const acked = () => ing.status()[0]?.ackedSeq

  for (const r of records.slice(0, 8)) expect((await ingestOne(ing, r)).status).toBe('stored')
  expect(acked()).toBe(7)

  // The disk fills: the write of seq 8 tears and fails, and seq 9 is refused outright.
  disk.full = true
  await expect(ingestOne(ing, records[8] as MeterRecord)).rejects.toThrow(/could not write|ENOSPC/)
  await expect(ingestOne(ing, records[9] as MeterRecord)).rejects.toThrow(/cannot store records/)
  expect(acked()).toBe(7)
  expect(ing.storage()).toMatchObject({ state: 'full' })
  expect(ing.storage().error).toMatch(/ENOSPC/)
  expect(alarm.list()).toEqual([
    expect.objectContaining({ kind: 'disk-full', state: 'active', active: true }),
  ])
  // Retries keep failing while the disk is full (each one a probe write that tears again).
  await until(() => disk.failures >= 3)
  expect(ing.storage().state).toBe('full')

  // Not one acknowledgement claimed seq 8 or later while the disk was full.
  expect(acks.filter((seq) => seq > 7)).toEqual([])

  // Space is back: ingestion resumes by itself and the alarm clears (latched until acknowledged).
  disk.full = false
  await until(() => ing.storage().state === 'ok')
  expect(alarm.list()).toEqual([
    expect.objectContaining({ kind: 'disk-full', state: 'cleared', active: false }),
  ])
  const id = alarm.list()[0]?.id as string
  expect(alarm.acknowledge(id)).toMatchObject({ state: 'acknowledged' })
  expect(alarm.list()).toEqual([])

  // The meter still holds 8 and 9 (never acknowledged) and sends them again, then goes on.
  for (const r of records.slice(8)) expect((await ingestOne(ing, r)).status).toBe('stored')
  expect(acked()).toBe(23)
  await until(() => acks.at(-1) === 23)

  // A kill -9 now: the journal as it is on disk holds no torn frame (the failed write was cut back
  // before anything else was appended), so a restart would lose none of the frames after it.
  const copy = join(dir.path, 'journal-at-kill')
  await cp(join(nodeDir, 'journal'), copy, { recursive: true })
  const reopened = await openJournal(copy)
  expect(reopened.truncatedBytes).toBe(0)
  await reopened.journal.close()

  await ing.stop()
  ingestor = undefined
  // Every record in the vault exactly once.
  const stored = (await sink.readAll(meter.address, DAY0)) as MeterRecord[]
  expect(stored.map((r) => r.seq)).toEqual(records.map((r) => r.seq))
})

it('the atomic state-file writer keeps the old file whole and leaves no temp file on ENOSPC', async () => {
  const disk = fullDisk(dir.path)
  const path = join(dir.path, 'state.json')
  await writeFileAtomic(path, '{"v":1}\n', 0o600, disk.disk)
  disk.full = true
  await expect(
    writeFileAtomic(path, `{"v":2,"pad":"${'x'.repeat(10_000)}"}\n`, 0o600, disk.disk),
  ).rejects.toThrow(/ENOSPC/)
  expect(await readFile(path, 'utf8')).toBe('{"v":1}\n')
  expect((await readdir(dir.path)).filter((f) => f.endsWith('.tmp'))).toEqual([])
  disk.full = false
  await writeFileAtomic(path, '{"v":3}\n', 0o600, disk.disk)
  expect(await readFile(path, 'utf8')).toBe('{"v":3}\n')
})
