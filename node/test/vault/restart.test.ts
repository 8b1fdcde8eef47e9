import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createHeliaNode } from '../../src/ipfs/helia.ts'
import { cidDigest, createVault, PeriodSealedError, StorageError } from '../../src/vault/index.ts'
import { METER, meterRecords, newRootKey, PERIOD_END, PERIOD_START, scratch } from './helpers.ts'

let cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanups.map((c) => c()))
  cleanups = []
})

describe('vault on a persistent Helia node', () => {
  it('keeps open batches and sealed manifests across a restart', async () => {
    const s = await scratch('restart')
    cleanups.push(s.cleanup)
    const rootKey = newRootKey()
    const dir = join(s.dir, 'home')

    const first = await createHeliaNode({ dir })
    const vault1 = createVault({ helia: first.helia, rootKey })
    const a = await vault1.appendBatch(METER, PERIOD_START, meterRecords(96, 0))
    const b = await vault1.appendBatch(METER, PERIOD_START, meterRecords(96, 96))
    expect([a.index, b.index]).toEqual([0, 1])
    await first.stop()
    await first.stop() // idempotent

    // Restart: the open period's link list survived; the next batch continues at index 2.
    const second = await createHeliaNode({ dir })
    const vault2 = createVault({ helia: second.helia, rootKey })
    expect(await vault2.listPeriods()).toEqual([
      { meter: METER, periodStart: PERIOD_START, status: 'open', batchCount: 2, recordCount: 192 },
    ])
    const c = await vault2.appendBatch(METER, PERIOD_START, meterRecords(10, 192))
    expect(c.index).toBe(2)
    expect(await vault2.readOpenPeriod(METER, PERIOD_START)).toEqual(meterRecords(202, 0))
    expect(await vault2.readOpenPeriod(METER, PERIOD_END)).toEqual([])
    const sealed = await vault2.sealPeriod(METER, PERIOD_START, PERIOD_END)
    expect(sealed.cidDigest).toBe(cidDigest(sealed.manifestCid))
    expect(sealed.cidDigest).toMatch(/^0x[0-9a-f]{64}$/)
    await second.stop()

    const third = await createHeliaNode({ dir })
    cleanups.push(third.stop)
    const vault3 = createVault({ helia: third.helia, rootKey })
    expect(await vault3.readPeriod(sealed.manifestCid)).toEqual(meterRecords(202, 0))
    const [period] = await vault3.listPeriods()
    expect(period).toMatchObject({ status: 'sealed', batchCount: 3, recordCount: 202, periodEnd: PERIOD_END })
    expect(period?.manifestCid?.equals(sealed.manifestCid)).toBe(true)
    // A retried seal answers the same manifest; appending to a sealed period is refused.
    const again = await vault3.sealPeriod(METER, PERIOD_START, PERIOD_END)
    expect(again.manifestCid.equals(sealed.manifestCid)).toBe(true)
    await expect(vault3.appendBatch(METER, PERIOD_START, meterRecords(1))).rejects.toBeInstanceOf(
      PeriodSealedError,
    )
    await expect(vault3.sealPeriod(METER, PERIOD_START, PERIOD_END + 1)).rejects.toBeInstanceOf(
      PeriodSealedError,
    )
    // Every vault block is pinned, so Helia's garbage collector keeps them.
    await third.helia.gc()
    expect(await vault3.readPeriod(sealed.manifestCid)).toHaveLength(202)
  })

  it('serializes concurrent appends: distinct indexes, none lost', async () => {
    const s = await scratch('concurrent')
    cleanups.push(s.cleanup)
    const node = await s.node('home')
    const vault = createVault({ helia: node.helia, rootKey: newRootKey() })
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => vault.appendBatch(METER, PERIOD_START, meterRecords(5, i * 5))),
    )
    expect(results.map((r) => r.index).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    const { manifestCid } = await vault.sealPeriod(METER, PERIOD_START, PERIOD_END)
    const records = (await vault.readPeriod(manifestCid)) as Array<{ seq: number }>
    expect(records.map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i))
  })

  it('refuses a second node on the same directory and use after stop, with named errors', async () => {
    const s = await scratch('lock')
    cleanups.push(s.cleanup)
    const node = await s.node('home')
    await expect(createHeliaNode({ dir: join(s.dir, 'home') })).rejects.toBeInstanceOf(StorageError)
    const vault = createVault({ helia: node.helia, rootKey: newRootKey() })
    await node.stop()
    await expect(vault.appendBatch(METER, PERIOD_START, meterRecords(1))).rejects.toBeInstanceOf(StorageError)
    // The directory is released: a new node opens it.
    const reopened = await createHeliaNode({ dir: join(s.dir, 'home') })
    await reopened.stop()
  })
})
