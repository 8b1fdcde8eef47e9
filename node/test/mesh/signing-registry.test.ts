import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getBytes, verifyMessage, Wallet } from 'ethers'
import { describe, expect, it } from 'vitest'
import {
  readerRegistry,
  signsFor,
  snapshotRegistry,
  snapshotRegistryFromFile,
} from '../../src/mesh/registry.ts'
import {
  canonicalJson,
  meshInnerHash,
  recoverMesh,
  signerFromPrivateKey,
  signMesh,
} from '../../src/mesh/signing.ts'
import { DOMAIN } from './fixture.ts'

describe('mesh signatures', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
  const signer = signerFromPrivateKey(key)
  const body = {
    id: `0x${'ab'.repeat(16)}`,
    area: 7,
    kind: 'fire',
    meter: signer.address,
    time: 1_764_000_000,
    ttl: 60,
  }

  it('is EIP-191 over the inner hash: ethers verifyMessage recovers the meter', async () => {
    const sig = await signMesh(signer, DOMAIN, 'alert', body)
    expect(verifyMessage(meshInnerHash(DOMAIN, 'alert', body), sig).toLowerCase()).toBe(signer.address)
    const wallet = new Wallet(`0x${Buffer.from(key).toString('hex')}`)
    const byEthers = await wallet.signMessage(getBytes(meshInnerHash(DOMAIN, 'alert', body)))
    expect(recoverMesh(DOMAIN, 'alert', body, byEthers)).toBe(signer.address)
  })

  it('binds kind, payload and deployment', async () => {
    const sig = await signMesh(signer, DOMAIN, 'alert', body)
    expect(recoverMesh(DOMAIN, 'alert', body, sig)).toBe(signer.address)
    expect(recoverMesh(DOMAIN, 'ack', body, sig)).not.toBe(signer.address)
    expect(recoverMesh(DOMAIN, 'alert', { ...body, kind: 'gas' }, sig)).not.toBe(signer.address)
    expect(recoverMesh({ ...DOMAIN, chainId: 1n }, 'alert', body, sig)).not.toBe(signer.address)
    expect(recoverMesh(DOMAIN, 'alert', body, '0x1234')).toBeNull()
  })

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 'x' }] })).toBe('{"a":[{"c":"x","d":2}],"b":1}')
  })
})

describe('meter registries', () => {
  const a = `0x${'aa'.repeat(20)}` as const
  const b = `0x${'bb'.repeat(20)}` as const

  it('snapshot: active meters of the area only, later entries override', async () => {
    const reg = snapshotRegistry([
      { meter: a, area: 1, active: true },
      { meter: b, area: 1, active: true },
      { meter: b, area: 1, active: false },
    ])
    expect(await reg.isMember(a, 1)).toBe(true)
    expect(await reg.isMember(a, 2)).toBe(false)
    expect(await reg.isMember(b, 1)).toBe(false)
  })

  it('snapshot from a JSON file, with a clear error on a bad file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zkm-reg-'))
    try {
      await writeFile(
        join(dir, 'ok.json'),
        JSON.stringify([{ meter: a.toUpperCase().replace('0X', '0x'), area: 3, active: true }]),
      )
      expect(await (await snapshotRegistryFromFile(join(dir, 'ok.json'))).isMember(a, 3)).toBe(true)
      await writeFile(join(dir, 'bad.json'), JSON.stringify([{ meter: 'nope', area: 3 }]))
      await expect(snapshotRegistryFromFile(join(dir, 'bad.json'))).rejects.toThrow(/registry entry 0/)
    } finally {
      await rm(dir, { recursive: true })
    }
  })

  it('reader: uses registered && active && areaId, caches, and treats a failed read as not a member', async () => {
    let calls = 0
    const reg = readerRegistry(async (meter) => {
      calls++
      if (meter === b) throw new Error('rpc down')
      return { areaId: 5, registered: true, active: true }
    })
    expect(await reg.isMember(a, 5)).toBe(true)
    expect(await reg.isMember(a, 5)).toBe(true)
    expect(await reg.isMember(a, 6)).toBe(false)
    expect(calls).toBe(1)
    expect(await reg.isMember(b, 5)).toBe(false)
  })

  const h = `0x${'cc'.repeat(20)}` as const
  const other = `0x${'dd'.repeat(20)}` as const

  it('snapshot: the household account of an active meter, lowercased; none when absent or deactivated', async () => {
    const reg = snapshotRegistry([
      { meter: a, area: 1, active: true, household: h.toUpperCase().replace('0X', '0x') },
      { meter: b, area: 1, active: true },
      { meter: other, area: 1, active: true, household: h },
      { meter: other, area: 1, active: false, household: h },
    ])
    expect(await reg.householdOf?.(a)).toBe(h)
    expect(await reg.householdOf?.(b)).toBeUndefined()
    expect(await reg.householdOf?.(other)).toBeUndefined()
    expect(() =>
      snapshotRegistry([{ meter: a, area: 1, active: true, household: `0x${'00'.repeat(20)}` }]),
    ).toThrow(/registry entry 0/)
    expect(() => snapshotRegistry([{ meter: a, area: 1, active: true, household: 'nobody' }])).toThrow(
      /registry entry 0/,
    )
  })

  it('reader: the household from the same cached read; none for a zero, inactive or failed read', async () => {
    let calls = 0
    const infos: Record<
      string,
      { areaId: number; registered: boolean; active: boolean; household?: string }
    > = {
      [a]: { areaId: 5, registered: true, active: true, household: h.toUpperCase().replace('0X', '0x') },
      [h]: { areaId: 5, registered: true, active: true, household: `0x${'00'.repeat(20)}` },
      [other]: { areaId: 5, registered: true, active: false, household: h },
    }
    const reg = readerRegistry(async (meter) => {
      calls++
      const info = infos[meter]
      if (info === undefined) throw new Error('rpc down')
      return info
    })
    expect(await reg.isMember(a, 5)).toBe(true)
    expect(await reg.householdOf?.(a)).toBe(h)
    expect(calls).toBe(1)
    expect(await reg.householdOf?.(h)).toBeUndefined()
    expect(await reg.householdOf?.(other)).toBeUndefined()
    expect(await reg.householdOf?.(b)).toBeUndefined()
  })

  it('signsFor: the meter itself or its own household account, nothing else', async () => {
    const reg = snapshotRegistry([
      { meter: a, area: 1, active: true, household: h },
      { meter: b, area: 1, active: true },
    ])
    expect(await signsFor(reg, a, a)).toBe(true)
    expect(await signsFor(reg, a, h)).toBe(true)
    expect(await signsFor(reg, b, h)).toBe(false) // bound to a, not to b
    expect(await signsFor(reg, a, other)).toBe(false)
    expect(await signsFor(reg, a, null)).toBe(false)
    expect(await signsFor(reg, other, h)).toBe(false) // not registered at all
    // A registry that knows no household accounts: the meter's own key only.
    const plain = { isMember: async () => true }
    expect(await signsFor(plain, a, a)).toBe(true)
    expect(await signsFor(plain, a, h)).toBe(false)
    // A failing lookup speaks for nobody.
    const failing = { isMember: async () => true, householdOf: async () => Promise.reject(new Error('down')) }
    expect(await signsFor(failing, a, h)).toBe(false)
  })
})
