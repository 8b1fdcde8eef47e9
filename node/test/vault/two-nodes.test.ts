import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHeliaNode, type HeliaNode, privateLibp2pOptions } from '../../src/ipfs/helia.ts'
import {
  BlockUnavailableError,
  createVault,
  DecryptionError,
  decodeManifest,
  generateGrantKeyPair,
  getBlock,
  InvalidGrantError,
  openGrant,
  readPeriodWithGrant,
  type SealResult,
  type Vault,
} from '../../src/vault/index.ts'
import { METER, meterRecords, newRootKey, PERIOD_END, PERIOD_START, scratch } from './helpers.ts'

const NEXT_START = PERIOD_END
const NEXT_END = PERIOD_END + 30 * 86_400

let s: Awaited<ReturnType<typeof scratch>>
let a: HeliaNode
let b: HeliaNode
let first: SealResult
let second: SealResult
let vaultA: Vault
const libp2pB = createLibp2p(privateLibp2pOptions())

beforeAll(async () => {
  s = await scratch('two-nodes')
  a = await s.node('a')
  // B runs Helia on a libp2p node it shares (as the mesh does): Helia must not own its lifecycle.
  b = await createHeliaNode({ dir: join(s.dir, 'b'), libp2p: await libp2pB })
  vaultA = createVault({ helia: a.helia, rootKey: newRootKey() })
  await vaultA.appendBatch(METER, PERIOD_START, meterRecords(96, 0))
  await vaultA.appendBatch(METER, PERIOD_START, meterRecords(96, 96))
  first = await vaultA.sealPeriod(METER, PERIOD_START, PERIOD_END)
  await vaultA.appendBatch(METER, NEXT_START, meterRecords(50, 192, 7))
  second = await vaultA.sealPeriod(METER, NEXT_START, NEXT_END)
  await b.libp2p.dial(a.libp2p.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) })
})

afterAll(async () => {
  await b?.stop()
  await (await libp2pB).stop()
  await s.cleanup()
})

describe('two Helia nodes on loopback', () => {
  it('B fetches the manifest and batches by CID over bitswap and holds only ciphertext', async () => {
    expect(await b.helia.blockstore.has(first.manifestCid)).toBe(false)
    const manifest = decodeManifest(await getBlock(b.helia, first.manifestCid, 10_000), first.manifestCid)
    expect(manifest).toMatchObject({
      meter: METER,
      periodStart: PERIOD_START,
      batchCount: 2,
      recordCount: 192,
    })
    const needle = dagCbor.encode(meterRecords(1, 5)[0])
    for (const cid of manifest.batches) {
      const block = await getBlock(b.helia, cid, 10_000)
      expect(await b.helia.blockstore.has(cid)).toBe(true)
      expect(Buffer.from(block).includes(Buffer.from(needle))).toBe(false)
      expect(Buffer.from(block).includes(Buffer.from('powerW'))).toBe(false)
    }
    // B's own root key opens nothing of A's.
    const vaultB = createVault({ helia: b.helia, rootKey: newRootKey() })
    await expect(vaultB.readPeriod(first.manifestCid)).rejects.toBeInstanceOf(DecryptionError)
    await expect(vaultB.grant(first.manifestCid, generateGrantKeyPair().publicKey)).rejects.toBeInstanceOf(
      DecryptionError,
    )
  })

  it('a grant lets B read that one period and no other', async () => {
    const recipient = generateGrantKeyPair()
    const grant = await vaultA.grant(first.manifestCid, recipient.publicKey)
    // Grants travel as JSON.
    const opened = openGrant(JSON.stringify(grant), recipient.privateKey)
    expect(opened.manifestCid.equals(first.manifestCid)).toBe(true)
    expect(opened).toMatchObject({ meter: METER, periodStart: PERIOD_START, periodEnd: PERIOD_END })

    const records = await readPeriodWithGrant(b.helia, first.manifestCid, opened.periodKey, {
      fetchTimeoutMs: 10_000,
    })
    expect(records).toEqual(meterRecords(192, 0))

    // The same key against the next period (fetched from A too) fails, with the named error.
    await expect(
      readPeriodWithGrant(b.helia, second.manifestCid, opened.periodKey, { fetchTimeoutMs: 10_000 }),
    ).rejects.toBeInstanceOf(DecryptionError)
    // A grant renamed to the other manifest does not open at all.
    const renamed = { ...grant, manifestCid: second.manifestCid.toString() }
    expect(() => openGrant(renamed, recipient.privateKey)).toThrow(InvalidGrantError)
    // Nor does it open for someone else.
    expect(() => openGrant(grant, generateGrantKeyPair().privateKey)).toThrow(InvalidGrantError)
  })

  it('gives up with a named error when no peer has a block', async () => {
    const vaultB = createVault({ helia: b.helia, rootKey: newRootKey(), fetchTimeoutMs: 500 })
    const { manifestCid } = await vaultB.sealPeriod(METER, 42, 43)
    const c = await createHeliaNode({ dir: join(s.dir, 'c') })
    try {
      const vaultC = createVault({ helia: c.helia, rootKey: newRootKey(), fetchTimeoutMs: 500 })
      await expect(vaultC.readPeriod(manifestCid)).rejects.toBeInstanceOf(BlockUnavailableError)
    } finally {
      await c.stop()
    }
  })

  it('stopping Helia on a shared libp2p leaves that libp2p running', async () => {
    const shared = await createLibp2p(privateLibp2pOptions())
    try {
      const node = await createHeliaNode({ dir: join(s.dir, 'shared'), libp2p: shared })
      expect(node.ownsLibp2p).toBe(false)
      expect(shared.getProtocols()).toContain('/ipfs/bitswap/1.2.0')
      await node.stop()
      await node.stop()
      expect(shared.status).toBe('started')
      expect(shared.getProtocols()).not.toContain('/ipfs/bitswap/1.2.0')
    } finally {
      await shared.stop()
    }
  })
})
