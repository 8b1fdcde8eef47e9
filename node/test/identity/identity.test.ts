import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bytesToHex } from '#protocol/eip712.ts'
import { devAccount } from '../../../contracts/ts/chain.ts'
import {
  AlreadyInitializedError,
  initHousehold,
  NotInitializedError,
  openHousehold,
} from '../../src/identity/identity.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-identity-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('household identity', () => {
  it('creates sealed keys once and reopens them with the passphrase', async () => {
    const created = await initHousehold(dir, { dev: false, passphrase: 'correct horse battery' })
    const opened = await openHousehold(dir, { dev: false, passphrase: 'correct horse battery' })
    expect(opened.rootKey).toEqual(created.rootKey)
    expect(opened.walletAddress).toBe(created.walletAddress)
    expect(opened.meter.address).toBe(created.meter.address)
    expect(opened.meter.pairingKey).toEqual(created.meter.pairingKey)
    // neither key appears in the clear on disk
    for (const file of ['root-key.json', 'wallet-key.json']) {
      const text = await readFile(join(dir, 'keys', file), 'utf8')
      expect(text).not.toContain(bytesToHex(created.rootKey).slice(2))
      expect(text).not.toContain(bytesToHex(created.walletKey).slice(2))
      expect((await stat(join(dir, 'keys', file))).mode & 0o077).toBe(0)
    }
    await expect(openHousehold(dir, { dev: false, passphrase: 'wrong passphrase!' })).rejects.toThrow()
    await expect(initHousehold(dir, { dev: false, passphrase: 'another one!' })).rejects.toBeInstanceOf(
      AlreadyInitializedError,
    )
  })

  it('dev mode uses the public dev household account and refuses to open outside dev mode', async () => {
    const created = await initHousehold(dir, { dev: true })
    expect(created.walletAddress).toBe(devAccount(1).address)
    expect(created.meter.simulatedPrivateKey).toHaveLength(32)
    await expect(openHousehold(dir, { dev: false, passphrase: 'whatever12' })).rejects.toThrow(/dev/)
    expect((await openHousehold(dir, { dev: true })).meter.address).toBe(created.meter.address)
  })

  it('says to run init when there are no keys, and requires a passphrase outside dev mode', async () => {
    await expect(openHousehold(dir, { dev: true })).rejects.toBeInstanceOf(NotInitializedError)
    await expect(initHousehold(dir, { dev: false })).rejects.toThrow(/passphrase is required/)
  })
})
