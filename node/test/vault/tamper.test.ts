import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HeliaNode } from '../../src/ipfs/helia.ts'
import {
  createVault,
  DecryptionError,
  decodeManifest,
  encodeManifest,
  getBlock,
  InvalidBlockError,
  InvalidManifestError,
  type PeriodManifest,
  type Vault,
} from '../../src/vault/index.ts'
import { METER, meterRecords, newRootKey, PERIOD_END, PERIOD_START, scratch } from './helpers.ts'

let s: Awaited<ReturnType<typeof scratch>>
let node: HeliaNode
let vault: Vault
let manifest: PeriodManifest
let other: PeriodManifest

async function store(m: PeriodManifest): Promise<CID> {
  const { cid, bytes } = await encodeManifest(m)
  await node.helia.blockstore.put(cid, bytes)
  return cid
}

beforeAll(async () => {
  s = await scratch('tamper')
  node = await s.node('home')
  vault = createVault({ helia: node.helia, rootKey: newRootKey(), fetchTimeoutMs: 1000 })
  for (let i = 0; i < 3; i++) await vault.appendBatch(METER, PERIOD_START, meterRecords(10, i * 10))
  const { manifestCid } = await vault.sealPeriod(METER, PERIOD_START, PERIOD_END)
  manifest = decodeManifest(await getBlock(node.helia, manifestCid, 1000), manifestCid)
  await vault.appendBatch(METER, PERIOD_END, meterRecords(10, 30))
  const next = await vault.sealPeriod(METER, PERIOD_END, PERIOD_END + 1000)
  other = decodeManifest(await getBlock(node.helia, next.manifestCid, 1000), next.manifestCid)
})
afterAll(async () => {
  await s.cleanup()
})

describe('a forged manifest never yields records', () => {
  it('reordered batches fail authentication (the index is bound)', async () => {
    const [b0, b1, b2] = manifest.batches
    const cid = await store({ ...manifest, batches: [b1!, b0!, b2!] })
    await expect(vault.readPeriod(cid)).rejects.toBeInstanceOf(DecryptionError)
  })

  it("another period's batch fails authentication (meter and period are bound)", async () => {
    const cid = await store({
      ...manifest,
      batches: [manifest.batches[0]!, other.batches[0]!, manifest.batches[2]!],
    })
    await expect(vault.readPeriod(cid)).rejects.toBeInstanceOf(DecryptionError)
  })

  it('a batch with one flipped ciphertext bit fails authentication', async () => {
    const block = Uint8Array.from(await getBlock(node.helia, manifest.batches[1]!, 1000))
    block[block.length - 40]! ^= 0x01
    const forged = CID.createV1(raw.code, await sha256.digest(block))
    await node.helia.blockstore.put(forged, block)
    const cid = await store({ ...manifest, batches: [manifest.batches[0]!, forged, manifest.batches[2]!] })
    await expect(vault.readPeriod(cid)).rejects.toBeInstanceOf(DecryptionError)
  })

  it('a wrong record count, period or meter is caught', async () => {
    await expect(vault.readPeriod(await store({ ...manifest, recordCount: 29 }))).rejects.toBeInstanceOf(
      InvalidManifestError,
    )
    // A different period start changes the derived key: the key check refuses before any batch is read.
    await expect(
      vault.readPeriod(await store({ ...manifest, periodStart: PERIOD_START + 1 })),
    ).rejects.toBeInstanceOf(DecryptionError)
  })

  it('blocks that are not manifests or not batches get format errors', async () => {
    const junk = dagCbor.encode({ type: 'something else' })
    const junkCid = CID.createV1(dagCbor.code, await sha256.digest(junk))
    await node.helia.blockstore.put(junkCid, junk)
    await expect(vault.readPeriod(junkCid)).rejects.toBeInstanceOf(InvalidManifestError)
    // A batch CID given where a manifest is expected.
    await expect(vault.readPeriod(manifest.batches[0]!)).rejects.toBeInstanceOf(InvalidManifestError)
    const short = new Uint8Array([1, 2, 3])
    const shortCid = CID.createV1(raw.code, await sha256.digest(short))
    await node.helia.blockstore.put(shortCid, short)
    await expect(
      vault.readPeriod(await store({ ...manifest, batches: [shortCid, ...manifest.batches.slice(1)] })),
    ).rejects.toBeInstanceOf(InvalidBlockError)
  })

  it('the genuine manifest still reads', async () => {
    const { cid } = await encodeManifest(manifest)
    expect(await vault.readPeriod(cid.toString())).toEqual(meterRecords(30))
  })
})
