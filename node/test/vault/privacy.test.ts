import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHeliaNode, type HeliaWithLibp2p } from '../../src/ipfs/helia.ts'
import { createVault, generateGrantKeyPair } from '../../src/vault/index.ts'
import { METER, meterRecords, newRootKey, PERIOD_END, PERIOD_START, scratch } from './helpers.ts'

const readings = meterRecords(300, 0, 12345)

/** Byte strings whose presence would mean a plaintext reading is stored: whole records and field names. */
function needles(): Buffer[] {
  const out: Buffer[] = [Buffer.from('powerW'), Buffer.from('temperatureCenti'), Buffer.from('voltageMv')]
  for (const record of readings.slice(0, 50)) {
    out.push(Buffer.from(JSON.stringify(record)), Buffer.from(dagCbor.encode(record)))
  }
  return out
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

/** Every stored byte string as Helia sees it: blocks, and datastore keys and values (LevelDB decompresses). */
async function storedValues(helia: HeliaWithLibp2p): Promise<Buffer[]> {
  const out: Buffer[] = []
  for await (const { bytes } of helia.blockstore.getAll()) {
    const chunks: Uint8Array[] = []
    for await (const chunk of bytes) chunks.push(chunk)
    out.push(Buffer.concat(chunks))
  }
  for await (const { key, value } of helia.datastore.query({})) {
    out.push(Buffer.from(key.toString()), Buffer.from(value))
  }
  return out
}

const found = (haystacks: Buffer[], list: Buffer[]): number =>
  haystacks.filter((h) => list.some((n) => h.includes(n))).length

let s: Awaited<ReturnType<typeof scratch>>
beforeAll(async () => {
  s = await scratch('privacy')
})
afterAll(async () => {
  await s.cleanup()
})

describe('privacy of what the vault stores', () => {
  it('no plaintext reading in any block, datastore entry or file on disk', async () => {
    const dir = join(s.dir, 'home')
    const node = await createHeliaNode({ dir })
    const vault = createVault({ helia: node.helia, rootKey: newRootKey() })
    for (let i = 0; i < 200; i += 50) await vault.appendBatch(METER, PERIOD_START, readings.slice(i, i + 50))
    const { manifestCid } = await vault.sealPeriod(METER, PERIOD_START, PERIOD_END)
    await vault.grant(manifestCid, generateGrantKeyPair().publicKey)
    // An open period too: its state lives in the datastore.
    await vault.appendBatch(METER, PERIOD_END, readings.slice(200))
    expect(await vault.readPeriod(manifestCid)).toEqual(readings.slice(0, 200))

    const values = await storedValues(node.helia)
    expect(values.length).toBeGreaterThan(5)
    expect(found(values, needles())).toBe(0)
    await node.stop()

    const files = await filesUnder(dir)
    expect(files.length).toBeGreaterThan(0)
    const contents = await Promise.all(files.map((f) => readFile(f)))
    expect(found(contents, needles())).toBe(0)
  })

  it('the same scan finds plaintext when it is there (control)', async () => {
    const dir = join(s.dir, 'control')
    const node = await createHeliaNode({ dir })
    const bytes = dagCbor.encode(readings.slice(0, 50))
    await node.helia.blockstore.put(CID.createV1(dagCbor.code, await sha256.digest(bytes)), bytes)
    expect(found(await storedValues(node.helia), needles())).toBe(1)
    await node.stop()
    const contents = await Promise.all((await filesUnder(dir)).map((f) => readFile(f)))
    expect(found(contents, needles())).toBeGreaterThan(0)
  })
})
