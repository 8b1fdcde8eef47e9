import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { JsonRpcProvider, Network } from 'ethers'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { netTariffHash, tariffHash } from '#protocol/commitment.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import {
  demoFeedInPrices,
  demoPrices,
  ensureDevTariff,
  ensureLedger,
  registerDevMeter,
  spawnEmbeddedChain,
  startEmbeddedChain,
} from '../../src/chain/embedded-chain.ts'

const EMBEDDED_CHAIN = fileURLToPath(new URL('../../src/chain/embedded-chain.ts', import.meta.url))

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
    // with its feed-in curve (issue 17): a home with rooftop PV gets net bills on the dev chain
    const feedIn = await b.ledger.feedIn(tariff?.tariffId as bigint)
    expect(feedIn?.feedInPrices).toEqual(demoFeedInPrices())
    expect(feedIn?.netTariffHash).toBe(netTariffHash(demoPrices(), demoFeedInPrices()))
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

describe('embedded dev chain in its own process', () => {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }

  it(
    'serves the same journaled chain across restarts and dies with a node killed by SIGKILL',
    async () => {
      const first = await spawnEmbeddedChain({ dataDir, host: '127.0.0.1', port: 0 })
      expect(first.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const a = await ensureLedger({
        dataDir,
        provider: first.provider,
        chainId: first.chainId,
        profile: 'test',
        limits,
      })
      expect(a.deployedNow).toBe(true)
      await ensureDevTariff(a.ledger, 96)
      await first.close()
      expect(alive(first.pid)).toBe(false)

      // A node (here a small script) that starts the chain and is then killed with SIGKILL.
      const script = `
      const { spawnEmbeddedChain } = await import(${JSON.stringify(EMBEDDED_CHAIN)})
      const chain = await spawnEmbeddedChain({ dataDir: ${JSON.stringify(dataDir)}, host: '127.0.0.1', port: 0 })
      process.stdout.write(JSON.stringify({ pid: chain.pid }) + '\\n')
      setInterval(() => {}, 1000)`
      const node = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      const { pid } = await new Promise<{ pid: number }>((resolve, reject) => {
        node.stdout.once('data', (d) => resolve(JSON.parse(String(d)) as { pid: number }))
        node.once('exit', (code) => reject(new Error(`the script exited (${code})`)))
      })
      expect(alive(pid)).toBe(true)
      node.kill('SIGKILL')
      const deadline = Date.now() + 10_000
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(alive(pid), 'the dev chain outlived its node').toBe(false)

      const again = await spawnEmbeddedChain({ dataDir, host: '127.0.0.1', port: 0 })
      expect(again.replayed.total).toBeGreaterThanOrEqual(3)
      expect(again.replayed.refused).toBe(0)
      const b = await ensureLedger({
        dataDir,
        provider: again.provider,
        chainId: again.chainId,
        profile: 'test',
        limits,
      })
      expect(b.deployedNow).toBe(false)
      expect(b.ledger.address).toBe(a.ledger.address)
      expect(await b.ledger.tariffCount()).toBe(1n)
      await again.close()
    },
    scaledBudget(60_000),
  )

  it(
    'reports a chain that cannot start, naming the cause',
    async () => {
      const holder = createServer()
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()))
      const { port } = holder.address() as { port: number }
      try {
        await expect(spawnEmbeddedChain({ dataDir, host: '127.0.0.1', port })).rejects.toThrow(
          /the dev chain failed to start: .*cannot listen/,
        )
      } finally {
        holder.close()
      }
    },
    scaledBudget(60_000),
  )
})
