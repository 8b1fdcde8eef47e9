/**
 * A restart with a journal full of records the vault does not have yet (issue 15: after a long
 * outage the chaos harness's node spent 72 s flushing 6,400 of them before its API answered). The
 * ingestor's start now replays the journal into memory and returns; the backlog goes into the vault
 * in the background (catchUp / whenCaughtUp), and records are taken meanwhile. Both with the real
 * Helia vault.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, expect, it } from 'vitest'
import type { MeterRecord } from '#protocol/records.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { createIngestor, type Ingestor } from '../../src/ingest/ingestor.ts'
import type { RecordSink } from '../../src/ingest/sink.ts'
import { createHeliaNode, type HeliaNode } from '../../src/ipfs/helia.ts'
import { createVault, type Vault } from '../../src/vault/vault.ts'
import { createTestMeter, DAY0, oneMeterIngestorOptions, record, tempDir, until } from './helpers.ts'

const meter = createTestMeter(9)
let dir: Awaited<ReturnType<typeof tempDir>>
let helia: HeliaNode
let vault: Vault
const started: Ingestor[] = []

beforeEach(async () => {
  dir = await tempDir()
  helia = await createHeliaNode({ dir: `${dir.path}/helia` })
  vault = createVault({ helia: helia.helia, rootKey: new Uint8Array(randomBytes(32)) })
})

afterEach(async () => {
  for (const ingestor of started.splice(0)) await ingestor.stop().catch(() => {})
  await helia.stop()
  await dir.remove()
})

/** Live samples (kind 0), one a minute from `start`, seqs from `firstSeq`, a rising counter. */
function samples(firstSeq: number, count: number, start: number): MeterRecord[] {
  return Array.from({ length: count }, (_, i) =>
    record({
      seq: firstSeq + i,
      kind: 0,
      time: start + 60 * (i + 1),
      energyWh: 10_000 + firstSeq + i,
      intervalWh: 0,
    }),
  )
}

function ingestorOn(sink: RecordSink): Ingestor {
  const ingestor = createIngestor({
    ...oneMeterIngestorOptions(`${dir.path}/node`, meter),
    vault: sink,
    // A failing sink is retried with backoff: not within these tests.
    storageRetryMs: 600_000,
  })
  started.push(ingestor)
  return ingestor
}

async function feed(ingestor: Ingestor, records: readonly MeterRecord[]): Promise<void> {
  for (const r of records) {
    const { topic, payload } = meter.sensor(r)
    expect((await ingestor.ingest(topic, payload)).status).toBe('stored')
  }
}

/** The vault without appends: records stay in the journal, as a crash before the flush leaves them. */
const noAppends: RecordSink = {
  appendBatch: () => Promise.reject(new Error('the test holds the vault back')),
  sealPeriod: (m, s, e) => vault.sealPeriod(m, s, e),
  listPeriods: () => vault.listPeriods(),
}

/** Every seq in the vault's open periods, in order (a seq twice shows twice). */
async function seqsInVault(): Promise<number[]> {
  const seqs: number[] = []
  for (const p of await vault.listPeriods())
    for (const r of await vault.readOpenPeriod(p.meter, p.periodStart)) seqs.push(r.seq)
  return seqs.sort((a, b) => a - b)
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

it('answers at once after a restart with a journal backlog, flushes it behind, and takes records meanwhile', async () => {
  // 1,200 records journaled, one journal segment each (a flush is tried after every record), none
  // in the vault: the journal a crash leaves after a long vault outage.
  const backlog = [...samples(0, 1000, DAY0), ...samples(1000, 200, DAY0 + 86_400)]
  const first = ingestorOn(noAppends)
  await first.start()
  await feed(first, backlog)
  await first.stop()
  expect(await seqsInVault()).toEqual([])

  const second = ingestorOn(vault)
  const began = performance.now()
  await second.start()
  const startMs = performance.now() - began
  // The start returned with the backlog still to flush: nothing of it is in the vault yet.
  expect(second.catchUp()).toMatchObject({ state: 'catching-up', unflushed: backlog.length })
  // Records are taken while the backlog goes in.
  await feed(second, samples(1200, 5, DAY0 + 86_400 + 200 * 60))
  await second.whenCaughtUp()
  const catchUpMs = performance.now() - began
  await until(() => second.catchUp().unflushed === 0, scaledBudget(10_000))
  expect(second.catchUp().state).toBe('ok')
  // Every record once, the backlog and the live ones.
  expect(await seqsInVault()).toEqual(range(0, 1204))
  // The start took a fraction of the flush it no longer waits for (a bound from this run's own
  // durations, so it holds on a busy machine; before, the start was the flush).
  expect(startMs).toBeLessThan(catchUpMs)
  // Batches of the vault's target size, not a block per journal segment (1,205 before).
  expect(second.counters().vaultBatches).toBeLessThan(20)
}, 120_000)

it('a crash in the middle of the catch-up: the replay cuts the interrupted unit the same, nothing lost or twice', async () => {
  // Day 0 with seq 100 missing (resent later, as after a full disk), then day 1.
  const backlog = [
    ...samples(0, 100, DAY0),
    ...samples(101, 99, DAY0 + 6060),
    ...samples(200, 50, DAY0 + 86_400),
  ]
  const first = ingestorOn(noAppends)
  await first.start()
  await feed(first, backlog)
  await first.stop()

  // The catch-up appends day 0's batch, then hangs on day 1's: the process dies there (below).
  const day1 = DAY0 + 86_400
  const hanging: RecordSink = {
    appendBatch: (m, periodStart, records) =>
      periodStart === day1
        ? new Promise(() => {})
        : vault.appendBatch(m, periodStart, records as Parameters<Vault['appendBatch']>[2]),
    sealPeriod: (m, s, e) => vault.sealPeriod(m, s, e),
    listPeriods: () => vault.listPeriods(),
  }
  const second = ingestorOn(hanging)
  await second.start()
  await until(async () => (await seqsInVault()).length === 199, scaledBudget(20_000))
  // The resent seq 100 of day 0 arrives, is journaled (a segment after the interrupted unit's) and
  // acknowledged; then the node dies with day 0's batch in the vault and no checkpoint after it.
  await feed(second, samples(100, 1, DAY0 + 100 * 60))
  started.splice(started.indexOf(second), 1)

  // Replayed as one unit with seq 100, day 0 would be cut into one batch holding seq 100, found
  // "already in the vault" by count, and seq 100 lost for good.
  const third = ingestorOn(vault)
  await third.start()
  await third.whenCaughtUp()
  await until(() => third.catchUp().unflushed === 0, scaledBudget(10_000))
  expect(await seqsInVault()).toEqual(range(0, 249))
}, 120_000)
