import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestEnv, type TestEnv } from '../../../contracts/test/env.ts'
import { deployLedger, type LedgerClient } from '../../../contracts/ts/ledger.ts'
import { ledgerRegistry } from '../../src/mesh/registry.ts'
import { newSigner } from './fixture.ts'

/** The chain-backed registry against the real ledger on the in-process dev chain. */
describe('ledgerRegistry', () => {
  let env: TestEnv
  let ledger: LedgerClient
  const [a, b, c, stranger] = [newSigner(), newSigner(), newSigner(), newSigner()]

  beforeAll(async () => {
    env = await startTestEnv()
    ledger = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
    const household = await env.signers[1]!.getAddress()
    for (const [meter, areaId] of [
      [a, 7],
      [b, 7],
      [c, 8],
    ] as const) {
      await ledger.registerMeter({
        meter: meter.address,
        household,
        areaId,
        startTime: 1_764_000_000,
        startCounter: 0,
      })
    }
  })
  afterAll(async () => {
    await env?.chain.close()
  })

  it('admits registered, active meters of the area only, and follows deactivation', async () => {
    const registry = ledgerRegistry(ledger, { cacheMs: 0 })
    expect(await registry.isMember(a.address, 7)).toBe(true)
    expect(await registry.isMember(b.address, 7)).toBe(true)
    expect(await registry.isMember(c.address, 7)).toBe(false) // another area
    expect(await registry.isMember(c.address, 8)).toBe(true)
    expect(await registry.isMember(stranger.address, 7)).toBe(false) // never registered
    await ledger.deactivateMeter(b.address)
    expect(await registry.isMember(b.address, 7)).toBe(false)
  })

  it('names the household account the utility registered for each active meter', async () => {
    const registry = ledgerRegistry(ledger, { cacheMs: 0 })
    const household = (await env.signers[1]!.getAddress()).toLowerCase()
    expect(await registry.householdOf?.(c.address)).toBe(household)
    expect(await registry.householdOf?.(stranger.address)).toBeUndefined() // the zero address
    expect(await registry.householdOf?.(b.address)).toBeUndefined() // deactivated above
  })

  it('caches answers for cacheMs (deactivation shows after the cache expires)', async () => {
    let clock = 0
    const registry = ledgerRegistry(ledger, { cacheMs: 1000, now: () => clock })
    expect(await registry.isMember(a.address, 7)).toBe(true)
    await ledger.deactivateMeter(a.address)
    expect(await registry.isMember(a.address, 7)).toBe(true)
    clock = 2000
    expect(await registry.isMember(a.address, 7)).toBe(false)
  })
})
