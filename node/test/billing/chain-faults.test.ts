/**
 * Billing through a chain provider on a bad day (issue 15): the real ledger on EDR, served over
 * JSON-RPC behind the fault-injecting proxy (test/support/faulty-rpc-proxy.ts), reached by the
 * node's resilient provider. A seeded plan resets connections, answers 502 or too late, and loses
 * the answer to every transaction after the chain has mined it. The biller still bills both
 * periods, in order, each exactly once on-chain, and no transaction reached the chain twice.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { priceCurve } from '../../../contracts/test/bills.ts'
import { meterKey, startTestEnv, type TestEnv } from '../../../contracts/test/env.ts'
import { serveJsonRpc } from '../../../contracts/ts/chain.ts'
import { deployLedger, type LedgerClient } from '../../../contracts/ts/ledger.ts'
import { type FaultyRpcProxy, startFaultyRpcProxy } from '../../../test/support/faulty-rpc-proxy.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { createBiller } from '../../src/billing/biller.ts'
import { isTransientChainError, ledgerBillingChain } from '../../src/billing/ledger-chain.ts'
import { circuitProver } from '../../src/billing/prover/prover.ts'
import { openBillStore } from '../../src/billing/store.ts'
import { resilientRpcProvider } from '../../src/chain/resilient-provider.ts'
import { inputsOf, MIDNIGHT, N, REGISTERED_AT, SLOTS, START_COUNTER, twoPeriods } from './fixtures.ts'

let env: TestEnv
let server: Awaited<ReturnType<typeof serveJsonRpc>>
let proxy: FaultyRpcProxy
let dir: string

beforeAll(async () => {
  env = await startTestEnv()
  server = await serveJsonRpc(env.chain.provider, { host: '127.0.0.1', port: 0 })
  proxy = await startFaultyRpcProxy(server.url)
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-chain-faults-'))
}, scaledBudget(120_000))

afterAll(async () => {
  await proxy?.close()
  await server?.close()
  await env?.chain.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** mulberry32: the same faults in the same places on every run. */
function seeded(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

it(
  'bills every period once while the provider resets, errs and loses answers',
  async () => {
    const utility: LedgerClient = await deployLedger(env.signers[0] as never, env.artifacts, {
      slots: SLOTS,
      maxIntervals: N,
    })
    const meter = meterKey('chain-faults')
    const householdKey = env.chain.accounts[1]?.privateKey as string
    await utility.registerMeter({
      meter: meter.address,
      household: new Wallet(householdKey).address,
      areaId: 1,
      startTime: REGISTERED_AT,
      startCounter: START_COUNTER,
    })
    await utility.publishTariff({
      effectiveFrom: MIDNIGHT,
      prices: priceCurve(10n ** 12n, 3n * 10n ** 12n, SLOTS),
    })
    const domain = await utility.domain()
    const [first, second] = twoPeriods(meter, domain, 7)

    // The household's side: every byte to the chain goes through the proxy.
    const timeoutMs = 2_000
    const provider = await resilientRpcProvider(proxy.url, {
      timeoutMs,
      attempts: 6,
      baseDelayMs: 10,
      maxDelayMs: 200,
      random: seeded(1),
    })
    provider.pollingInterval = 50
    const wallet = new Wallet(householdKey, provider)
    const household = utility.connect(wallet as never)
    const nonceBefore = await provider.getTransactionCount(wallet.address, 'latest')

    const rng = seeded(42)
    proxy.plan = (_n, method) => {
      // Every transaction is mined, and its answer lost: only a look-up by hash can tell.
      if (method === 'eth_sendRawTransaction') return 'reset-after'
      const r = rng()
      if (r < 0.15) return 'reset'
      if (r < 0.25) return '5xx'
      if (r < 0.27) return `delay:${timeoutMs + 500}`
      return 'pass'
    }

    const store = await openBillStore(dir)
    const biller = createBiller({
      store,
      chain: ledgerBillingChain(household),
      prover: await circuitProver('test'),
      inputs: inputsOf([first, second]),
      isTransient: isTransientChainError,
      baseDelayMs: 20,
      maxAttempts: 5,
    })
    const a = await biller.addPeriod(first.period)
    const b = await biller.addPeriod(second.period)
    await biller.idle()
    proxy.plan = () => 'pass'

    expect(store.get(a.id)?.status).toBe('verified')
    expect(store.get(b.id)?.status).toBe('verified')
    const onChain = await household.bills({ meter: meter.address })
    expect(onChain.map((bill) => Number(bill.period.periodStart))).toEqual([
      first.period.periodStart,
      second.period.periodStart,
    ])
    // Every transaction that reached the chain took one nonce: none was sent twice.
    const nonceAfter = await provider.getTransactionCount(wallet.address, 'latest')
    expect(proxy.forwarded.get('eth_sendRawTransaction')).toBe(nonceAfter - nonceBefore)
    const health = provider.health()
    expect(health.retries).toBeGreaterThan(0)
    console.info(
      `chain faults: ${health.retries} retried requests, ${health.failures} given up, ` +
        `${nonceAfter - nonceBefore} transactions, ${proxy.seen.get('eth_getTransactionByHash') ?? 0} hash look-ups`,
    )
  },
  scaledBudget(180_000),
)
