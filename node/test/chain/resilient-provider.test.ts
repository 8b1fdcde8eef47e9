/**
 * The chain RPC on a bad day (issue 15): a real in-process EVM (Hardhat EDR) behind a fault-injecting
 * HTTP proxy (test/support/faulty-rpc-proxy.ts) that resets connections, answers 502 or answers too
 * late. The node's provider rides it out — reads retried with backoff, a transaction whose answer was
 * lost looked up by hash instead of sent again — and says so in its health. The plain provider the
 * node used before fails under the same faults (the control in each case).
 */
import { JsonRpcProvider, Wallet } from 'ethers'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import type { Status } from '#protocol/api/types.ts'
import { type DevChain, devAccount, serveJsonRpc, startDevChain } from '../../../contracts/ts/chain.ts'
import { type FaultyRpcProxy, startFaultyRpcProxy } from '../../../test/support/faulty-rpc-proxy.ts'
import { type ResilientRpcProvider, resilientRpcProvider } from '../../src/chain/resilient-provider.ts'
import { isChainUnreachable } from '../../src/chain/unreachable.ts'
import { createReadingHistory } from '../../src/history/readings.ts'
import { type StatusContext, statusRoutes } from '../../src/http/routes/status.ts'

let chain: DevChain
let server: Awaited<ReturnType<typeof serveJsonRpc>>
let proxy: FaultyRpcProxy
const providers: { destroy(): void }[] = []

/** Short backoff: the retries are what is tested, not their pacing. */
const FAST = { baseDelayMs: 5, maxDelayMs: 50, attempts: 5, timeoutMs: 1_000 }

beforeAll(async () => {
  chain = await startDevChain()
  server = await serveJsonRpc(chain.provider, { host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await server?.close()
  await chain?.close()
})

afterEach(async () => {
  for (const p of providers.splice(0)) p.destroy()
  await proxy?.close()
})

async function resilient(policy = FAST): Promise<ResilientRpcProvider> {
  proxy = await startFaultyRpcProxy(server.url)
  const provider = await resilientRpcProvider(proxy.url, policy)
  providers.push(provider)
  return provider
}

function plain(): JsonRpcProvider {
  const provider = new JsonRpcProvider(proxy.url, undefined, { batchMaxCount: 1, cacheTimeout: -1 })
  providers.push(provider)
  return provider
}

it('reads ride out resets, 502s and a late answer, and the status says degraded until a clean answer', async () => {
  const provider = await resilient()
  const expected = await provider.getBlockNumber()
  expect(provider.health().state).toBe('ok')

  // The next three attempts of eth_blockNumber fail three different ways, then it passes.
  const faults = ['reset', '5xx', `delay:${FAST.timeoutMs * 3}`] as const
  let failing = 0
  proxy.plan = (_n, method) =>
    (method === 'eth_blockNumber' && failing < 3 ? faults[failing++] : 'pass') ?? 'pass'
  expect(await provider.getBlockNumber()).toBe(expected)
  const health = provider.health()
  expect(health).toMatchObject({ state: 'degraded', retries: 3, failures: 0 })
  expect(health.lastError).toMatch(/timeout|TIMEOUT/i)
  expect(health.since).toBeLessThanOrEqual(Date.now())

  // One request answered at its first attempt: ok again, the last error kept for the record.
  expect(await provider.getBlockNumber()).toBe(expected)
  expect(provider.health()).toMatchObject({ state: 'ok', lastError: health.lastError })

  // Control: the plain provider gives up at the first reset.
  failing = 0
  proxy.plan = (_n, method) => (method === 'eth_blockNumber' && failing++ < 1 ? 'reset' : 'pass')
  await expect(plain().getBlockNumber()).rejects.toThrow()
})

it('a transaction whose answer was lost is found on-chain by hash, not sent a second time', async () => {
  const provider = await resilient()
  const wallet = new Wallet(devAccount(2).privateKey, provider)
  const nonce = await provider.getTransactionCount(wallet.address, 'latest')
  // The first eth_sendRawTransaction reaches the chain, which mines it; its answer never comes back.
  let lost = 0
  proxy.plan = (_n, method) => (method === 'eth_sendRawTransaction' && lost++ === 0 ? 'reset-after' : 'pass')
  const tx = await wallet.sendTransaction({ to: devAccount(3).address, value: 1n })
  const receipt = await tx.wait()
  expect(receipt?.status).toBe(1)
  expect(tx.nonce).toBe(nonce)
  expect(proxy.forwarded.get('eth_sendRawTransaction')).toBe(1)
  expect(proxy.seen.get('eth_getTransactionByHash')).toBeGreaterThanOrEqual(1)
  expect(await provider.getTransactionCount(wallet.address, 'latest')).toBe(nonce + 1)
  // Clean answers since (the receipt, the count) made it ok again; the lost answer is on record.
  expect(provider.health()).toMatchObject({ state: 'ok', retries: 1 })
  expect(provider.health().lastError).not.toBeNull()

  // Lost before it reached the chain: looked up, not found, sent again — and mined once.
  let dropped = 0
  proxy.plan = (_n, method) => (method === 'eth_sendRawTransaction' && dropped++ === 0 ? 'reset' : 'pass')
  const second = await wallet.sendTransaction({ to: devAccount(3).address, value: 1n })
  expect((await second.wait())?.status).toBe(1)
  expect(second.nonce).toBe(nonce + 1)
  expect(await provider.getTransactionCount(wallet.address, 'latest')).toBe(nonce + 2)

  // Control: through the plain provider the lost answer is an error, though the chain mined it.
  let lostAgain = 0
  proxy.plan = (_n, method) =>
    method === 'eth_sendRawTransaction' && lostAgain++ === 0 ? 'reset-after' : 'pass'
  const plainWallet = new Wallet(devAccount(2).privateKey, plain())
  await expect(plainWallet.sendTransaction({ to: devAccount(3).address, value: 1n })).rejects.toThrow()
  expect(await provider.getTransactionCount(wallet.address, 'latest')).toBe(nonce + 3)
})

it('after every attempt fails the error is the transport one (the biller retries it later) and counted', async () => {
  const provider = await resilient()
  proxy.plan = () => '5xx'
  const error = await provider.getBlockNumber().catch((e: unknown) => e)
  expect(isChainUnreachable(error)).toBe(true)
  expect(provider.health()).toMatchObject({ state: 'degraded', retries: FAST.attempts - 1, failures: 1 })
  expect(proxy.seen.get('eth_blockNumber')).toBe(FAST.attempts)
})

it('starts while the provider resets its first connections', async () => {
  proxy = await startFaultyRpcProxy(server.url)
  let n = 0
  proxy.plan = () => (n++ < 2 ? 'reset' : 'pass')
  const provider = await resilientRpcProvider(proxy.url, FAST)
  providers.push(provider)
  expect((await provider.getNetwork()).chainId).toBe(chain.chainId)
})

it('/api/status shows the chain degraded since the first failure, with the last error', async () => {
  const provider = await resilient()
  proxy.plan = () => '5xx'
  await provider.getBlockNumber().catch(() => {})
  const status = statusRoutes({
    config: { dev: true },
    identity: { meter: { address: '0x1111111111111111111111111111111111111111' } },
    history: createReadingHistory({ intervalSeconds: 900 }),
    ingestor: { status: () => [], counters: () => ({}), anomalies: () => [] },
    meter: undefined,
    chainId: chain.chainId,
    rpcUrl: proxy.url,
    chainHealth: () => provider.health(),
    ledger: { address: '0x5fbdb2315678afecb367f032d93f642f64180aa3' },
    wallet: { address: devAccount(2).address },
    utility: undefined,
    mqttUrl: 'mqtt://127.0.0.1:1883',
    circuit: { profile: 'test', n: 192, slots: 96, intervalSeconds: 900 },
    mesh: undefined,
    startedAt: Date.now(),
  } as unknown as StatusContext).status({} as never) as Status
  expect(status.chain.health).toMatchObject({ state: 'degraded', failures: 1 })
  expect(status.chain.health?.lastError).toMatch(/502|bad gateway|SERVER_ERROR/i)
  expect(Date.parse(status.chain.health?.since as string)).toBeLessThanOrEqual(Date.now())
})
