/**
 * A node updated across record format 2 (the export counter, docs/protocol.md §6) with records of
 * the old format still in its journal (acknowledged, not yet in the vault): the replay takes them
 * as records with nothing exported and the vault stores them, instead of every flush failing on a
 * record the vault codec no longer accepts.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { createIngestor, type Ingestor } from '../../src/ingest/ingestor.ts'
import { openJournal } from '../../src/ingest/journal.ts'
import { createHeliaNode, type HeliaNode } from '../../src/ipfs/helia.ts'
import { createVault, type Vault } from '../../src/vault/vault.ts'
import { createTestMeter, DAY0, INTERVAL, oneMeterIngestorOptions, tempDir } from './helpers.ts'

const meter = createTestMeter(5)
let dir: Awaited<ReturnType<typeof tempDir>>
let helia: HeliaNode
let vault: Vault
let ingestor: Ingestor | undefined

beforeEach(async () => {
  dir = await tempDir()
  helia = await createHeliaNode({ dir: `${dir.path}/helia` })
  vault = createVault({ helia: helia.helia, rootKey: new Uint8Array(randomBytes(32)) })
})
afterEach(async () => {
  await ingestor?.stop()
  ingestor = undefined
  await helia.stop()
  await dir.remove()
})

it('replays journaled format-1 records as nothing exported and stores them in the vault', async () => {
  const records = meter.intervals(0, DAY0, 6, 10_000)
  // What the previous version journaled: each record without the two export fields.
  const { journal } = await openJournal(`${dir.path}/node/journal`)
  const encoder = new TextEncoder()
  await Promise.all(
    records.map((r) => {
      const { exportedWh: _x, intervalExportedWh: _y, ...format1 } = r
      const sig = JSON.parse(meter.sensor(r).payload).ZK.sig
      return journal.append(encoder.encode(JSON.stringify({ k: 'r', m: meter.address, r: format1, s: sig })))
    }),
  )
  await journal.close()
  ingestor = createIngestor({ ...oneMeterIngestorOptions(`${dir.path}/node`, meter), vault })
  await ingestor.start()
  expect(ingestor.status()[0]?.ackedSeq).toBe(5)
  await ingestor.flush()
  expect(ingestor.storage().state).toBe('ok')
  expect(ingestor.anomalies({ kind: 'vault-error' })).toEqual([])
  const [period] = await vault.listPeriods()
  if (period === undefined) throw new Error('nothing in the vault')
  const stored = await vault.readOpenPeriod(period.meter, period.periodStart)
  expect(stored.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5])
  expect(stored.every((r) => r.exportedWh === 0 && r.intervalExportedWh === 0)).toBe(true)
  // A format-2 record after them: its export counter is held to continuity from 0, never refused.
  const next = meter.intervals(6, DAY0 + 6 * INTERVAL, 1, records.at(-1)?.energyWh ?? 0)[0]
  if (next === undefined) throw new Error('no record')
  const { topic, payload } = meter.sensor(next)
  expect((await ingestor.ingest(topic, payload)).status).toBe('stored')
  expect(ingestor.status()[0]?.ackedSeq).toBe(6)
})
