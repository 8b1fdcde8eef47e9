import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { JsonRpcProvider, Network } from 'ethers'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tariffHash } from '../../../circuits/src/commitment.ts'
import {
  demoPrices,
  ensureDevTariff,
  ensureLedger,
  registerDevMeter,
  startEmbeddedChain,
} from '../../src/household/embedded-chain.ts'

let dataDir: string
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'zkmeter-embedded-'))
})
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

const meter = '0x1111111111111111111111111111111111111111' as const
const household = '0x2222222222222222222222222222222222222222' as const
const limits = { slots: 96, maxIntervals: 192 }

describe('embedded dev chain', () => {
  it('deploys and provisions once, then finds the same ledger, meter and tariff after a restart', async () => {
    const first = await startEmbeddedChain({ dataDir, host: '127.0.0.1', port: 0 })
    const a = await ensureLedger({
      dataDir,
      provider: first.provider,
      chainId: first.chainId,
      profile: 'test',
      limits,
    })
    expect(a.deployedNow).toBe(true)
    await ensureDevTariff(a.ledger, 96)
    expect(
      await registerDevMeter({
        ledger: a.ledger,
        meter,
        household,
        areaId: 7,
        startTime: 1_764_000_000,
        startCounter: 0,
      }),
    ).toBe(true)
    // browser wallets reach the same chain over loopback JSON-RPC
    const rpc = new JsonRpcProvider(first.rpcUrl, Network.from(31337), {
      staticNetwork: true,
      batchMaxCount: 1,
    })
    expect(await rpc.getCode(a.ledger.address)).not.toBe('0x')
    rpc.destroy()
    await first.close()

    const second = await startEmbeddedChain({ dataDir, host: '127.0.0.1', port: 0 })
    expect(second.replayed.total).toBeGreaterThanOrEqual(4)
    expect(second.replayed.refused).toBe(0)
    const b = await ensureLedger({
      dataDir,
      provider: second.provider,
      chainId: second.chainId,
      profile: 'test',
      limits,
    })
    expect(b.deployedNow).toBe(false)
    expect(b.ledger.address).toBe(a.ledger.address)
    const state = await b.ledger.meter(meter)
    expect(state).toMatchObject({
      registered: true,
      active: true,
      household,
      areaId: 7,
      nextStart: 1_764_000_000n,
    })
    const tariff = await b.ledger.tariffCovering(1_764_000_000, 1_764_086_400)
    expect(tariff?.prices).toEqual(demoPrices())
    expect(tariff?.tariffHash).toBe(tariffHash(demoPrices()))
    // provisioning again is a no-op
    await ensureDevTariff(b.ledger, 96)
    expect(await b.ledger.tariffCount()).toBe(1n)
    expect(
      await registerDevMeter({
        ledger: b.ledger,
        meter,
        household,
        areaId: 7,
        startTime: 1,
        startCounter: 0,
      }),
    ).toBe(false)
    await second.close()
  })

  it('refuses a data directory deployed for another circuit profile', async () => {
    const chain = await startEmbeddedChain({ dataDir, host: '127.0.0.1', port: 0 })
    await ensureLedger({ dataDir, provider: chain.provider, chainId: chain.chainId, profile: 'test', limits })
    await expect(
      ensureLedger({
        dataDir,
        provider: chain.provider,
        chainId: chain.chainId,
        profile: 'production',
        limits,
      }),
    ).rejects.toThrow(/belongs to circuit profile test/)
    await chain.close()
  })
})
