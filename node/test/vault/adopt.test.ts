/**
 * adoptSealedPeriod: a home that lost its disk gets its encrypted blocks back (from neighbours, here
 * copied block by block) and has its vault list the sealed periods again, exactly as sealPeriod had.
 * Real Helia nodes on disk, as the other vault tests.
 */
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { afterEach, describe, expect, it } from 'vitest'
import { createHeliaNode, type HeliaNode } from '../../src/ipfs/helia.ts'
import {
  BlockUnavailableError,
  createVault,
  DecryptionError,
  decodeManifest,
  ForeignManifestError,
  generateGrantKeyPair,
  getBlock,
  openGrant,
  PeriodConflictError,
  PeriodSealedError,
  readPeriodWithGrant,
  type Vault,
} from '../../src/vault/index.ts'
import { METER, meterRecords, newRootKey, PERIOD_END, PERIOD_START, scratch } from './helpers.ts'

const NEXT_END = PERIOD_END + 30 * 86_400

let cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanups.map((c) => c()))
  cleanups = []
})

/** What a neighbour hands back: the manifest block and every batch block it links, as stored. */
async function copyPeriod(from: HeliaNode, to: HeliaNode, manifestCid: CID, batches = true): Promise<void> {
  const bytes = await getBlock(from.helia, manifestCid, 1000)
  await to.helia.blockstore.put(manifestCid, bytes)
  if (!batches) return
  for (const cid of decodeManifest(bytes, manifestCid).batches) {
    await to.helia.blockstore.put(cid, await getBlock(from.helia, cid, 1000))
  }
}

/** A home with two sealed periods (the second with distinct values) and one open one. */
async function homeWithHistory(node: HeliaNode, rootKey: Uint8Array) {
  const vault = createVault({ helia: node.helia, rootKey })
  await vault.appendBatch(METER, PERIOD_START, meterRecords(96, 0))
  await vault.appendBatch(METER, PERIOD_START, meterRecords(96, 96))
  const first = await vault.sealPeriod(METER, PERIOD_START, PERIOD_END)
  await vault.appendBatch(METER, PERIOD_END, meterRecords(50, 192, 7))
  const second = await vault.sealPeriod(METER, PERIOD_END, NEXT_END)
  await vault.appendBatch(METER, NEXT_END, meterRecords(3, 242))
  return { vault, first, second }
}

const sealedOnly = async (vault: Vault) => (await vault.listPeriods()).filter((p) => p.status === 'sealed')

describe('adopting sealed periods after a disk loss', () => {
  it('lists, reads and grants the periods again, as sealPeriod had left them, across a restart', async () => {
    const s = await scratch('adopt')
    cleanups.push(s.cleanup)
    const rootKey = newRootKey()
    const old = await s.node('old')
    const { vault: before, first, second } = await homeWithHistory(old, rootKey)
    const listedBefore = await sealedOnly(before)

    // The new disk: an empty blockstore and datastore, the same root key, the blocks handed back.
    const dir = join(s.dir, 'new')
    const fresh = await createHeliaNode({ dir })
    const vault = createVault({ helia: fresh.helia, rootKey })
    expect(await vault.listPeriods()).toEqual([])
    await copyPeriod(old, fresh, first.manifestCid)
    await copyPeriod(old, fresh, second.manifestCid)

    const adopted = await vault.adoptSealedPeriod(first.manifestCid)
    expect(adopted).toMatchObject({
      outcome: 'adopted',
      meter: METER,
      periodStart: PERIOD_START,
      periodEnd: PERIOD_END,
      cidDigest: first.cidDigest,
      batchCount: 2,
    })
    expect(adopted.manifestCid.equals(first.manifestCid)).toBe(true)
    expect(adopted.records).toEqual(meterRecords(192, 0))
    const next = await vault.adoptSealedPeriod(second.manifestCid.toString())
    expect(next.records).toEqual(meterRecords(50, 192, 7))
    // The open period was never sealed, so never backed up: it is not there (and not invented).
    expect(await vault.listPeriods()).toEqual(listedBefore)

    // Sealed for every purpose: no appends, a retried seal answers the same manifest, grants open.
    await expect(vault.appendBatch(METER, PERIOD_START, meterRecords(1))).rejects.toBeInstanceOf(
      PeriodSealedError,
    )
    expect(
      (await vault.sealPeriod(METER, PERIOD_START, PERIOD_END)).manifestCid.equals(first.manifestCid),
    ).toBe(true)
    const recipient = generateGrantKeyPair()
    const grant = await vault.grant(first.manifestCid, recipient.publicKey)
    const { periodKey } = openGrant(grant, recipient.privateKey)
    expect(await readPeriodWithGrant(fresh.helia, first.manifestCid, periodKey)).toEqual(meterRecords(192, 0))
    // The blocks are the vault's own pins now: garbage collection keeps them.
    await fresh.helia.gc()
    await fresh.stop()

    const restarted = await createHeliaNode({ dir })
    cleanups.push(restarted.stop)
    const again = createVault({ helia: restarted.helia, rootKey })
    expect(await again.listPeriods()).toEqual(listedBefore)
    expect(await again.readPeriod(second.manifestCid)).toEqual(meterRecords(50, 192, 7))
  })

  it('is a no-op for a period already sealed with the same manifest', async () => {
    const s = await scratch('adopt-idem')
    cleanups.push(s.cleanup)
    const rootKey = newRootKey()
    const old = await s.node('old')
    const { vault: sealer, first } = await homeWithHistory(old, rootKey)
    // The vault that sealed it (nothing was lost): 'already-sealed', the same records, no change.
    const listed = await sealer.listPeriods()
    const same = await sealer.adoptSealedPeriod(first.manifestCid)
    expect(same.outcome).toBe('already-sealed')
    expect(same.records).toEqual(meterRecords(192, 0))
    expect(await sealer.listPeriods()).toEqual(listed)

    // A restore run twice on the new disk: the second adoption changes nothing either.
    const fresh = await s.node('fresh')
    await copyPeriod(old, fresh, first.manifestCid)
    const vault = createVault({ helia: fresh.helia, rootKey })
    expect((await vault.adoptSealedPeriod(first.manifestCid)).outcome).toBe('adopted')
    const once = await vault.listPeriods()
    const twice = await Promise.all([
      vault.adoptSealedPeriod(first.manifestCid),
      vault.adoptSealedPeriod(first.manifestCid),
    ])
    expect(twice.map((r) => r.outcome)).toEqual(['already-sealed', 'already-sealed'])
    expect(await vault.listPeriods()).toEqual(once)
  })

  it("refuses another household's manifest by name, and records nothing", async () => {
    const s = await scratch('adopt-foreign')
    cleanups.push(s.cleanup)
    const neighbour = await s.node('neighbour')
    const { first } = await homeWithHistory(neighbour, newRootKey())
    const home = await s.node('home')
    await copyPeriod(neighbour, home, first.manifestCid)
    const vault = createVault({ helia: home.helia, rootKey: newRootKey() })
    const refused = vault.adoptSealedPeriod(first.manifestCid)
    await expect(refused).rejects.toBeInstanceOf(ForeignManifestError)
    await expect(refused).rejects.toBeInstanceOf(DecryptionError)
    await expect(refused).rejects.toThrow(/not written with this household's root key/)
    expect(await vault.listPeriods()).toEqual([])
  })

  it('refuses a period whose batches are not all here, and records nothing', async () => {
    const s = await scratch('adopt-missing')
    cleanups.push(s.cleanup)
    const rootKey = newRootKey()
    const old = await s.node('old')
    const { first } = await homeWithHistory(old, rootKey)
    const fresh = await s.node('fresh')
    await copyPeriod(old, fresh, first.manifestCid, false)
    const vault = createVault({ helia: fresh.helia, rootKey, fetchTimeoutMs: 300 })
    await expect(vault.adoptSealedPeriod(first.manifestCid)).rejects.toBeInstanceOf(BlockUnavailableError)
    expect(await vault.listPeriods()).toEqual([])
    // Once the blocks are back, the same call adopts it.
    await copyPeriod(old, fresh, first.manifestCid)
    expect((await vault.adoptSealedPeriod(first.manifestCid)).outcome).toBe('adopted')
  })

  it('never overwrites a different local period of the same meter and start', async () => {
    const s = await scratch('adopt-conflict')
    cleanups.push(s.cleanup)
    const rootKey = newRootKey()
    const old = await s.node('old')
    const { first } = await homeWithHistory(old, rootKey)
    const fresh = await s.node('fresh')
    await copyPeriod(old, fresh, first.manifestCid)
    const vault = createVault({ helia: fresh.helia, rootKey })

    // Open batches appended since the loss (the meter kept running): adopting would orphan them.
    await vault.appendBatch(METER, PERIOD_START, meterRecords(4, 0, 99))
    const open = vault.adoptSealedPeriod(first.manifestCid)
    await expect(open).rejects.toBeInstanceOf(PeriodConflictError)
    await expect(open).rejects.toThrow(/open here with 1 batch/)
    expect(await vault.readOpenPeriod(METER, PERIOD_START)).toEqual(meterRecords(4, 0, 99))

    // Sealed locally with other content: the local manifest stays, the offered one is refused.
    const local = await vault.sealPeriod(METER, PERIOD_START, PERIOD_END)
    expect(local.manifestCid.equals(first.manifestCid)).toBe(false)
    const sealed = vault.adoptSealedPeriod(first.manifestCid)
    await expect(sealed).rejects.toBeInstanceOf(PeriodConflictError)
    await expect(sealed).rejects.toThrow(/already sealed here under manifest/)
    const [period] = await vault.listPeriods()
    expect(period?.manifestCid?.equals(local.manifestCid)).toBe(true)
    expect(await vault.readPeriod(local.manifestCid)).toEqual(meterRecords(4, 0, 99))
  })
})
