/**
 * The utility console's net-bill routes (issue 17): POST /api/utility/feed-in, GET
 * /api/utility/credits, POST /api/utility/credits/:meter/pay, their handlers called as the HTTP
 * layer calls them, on a real ledger (in-process EDR) with a real net-bill proof, in a token area
 * (what households paid in the token is what a credit is paid from).
 */
import { type Contract, ContractFactory, getAddress, type InterfaceAbi } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RouteKey, RouteRequest } from '#protocol/api/routes.ts'
import { netTariffHash } from '#protocol/commitment.ts'
import {
  loadNetCircuit,
  netBillSubmission,
  type PreparedNetBill,
  prepareNetBill,
  priceCurve,
} from '../../../contracts/test/bills.ts'
import {
  DAY,
  MIDNIGHT,
  meterKey,
  REGISTERED_AT,
  START_COUNTER,
  startTestEnv,
  type TestEnv,
} from '../../../contracts/test/env.ts'
import { deployLedger, type LedgerClient } from '../../../contracts/ts/ledger.ts'
import type { RoutesLedger } from '../../src/http/context.ts'
import { utilityRoutes } from '../../src/http/routes/utility.ts'

const PRICES = priceCurve(300n, 450n, 96)
const FEED_IN = Array.from({ length: 96 }, () => 500n)
const solar = meterKey('routes-solar')

let env: TestEnv
let ledger: LedgerClient
let token: Contract
let bill: PreparedNetBill
let routes: ReturnType<typeof utilityRoutes>

function request<K extends RouteKey>(params: RouteRequest<K>['params'], body: unknown = {}): RouteRequest<K> {
  return { params, query: new URLSearchParams(), json: async () => body }
}

beforeAll(async () => {
  env = await startTestEnv()
  const proving = prepareNetBill(loadNetCircuit('test'), {
    meter: solar,
    start: REGISTERED_AT,
    end: REGISTERED_AT + DAY,
    startCounter: START_COUNTER,
    exportStartCounter: 0n,
    prices: PRICES,
    feedInPrices: FEED_IN,
    tariffId: 1n,
    seed: 7,
    sun: 20,
  })
  ledger = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
  const factory = new ContractFactory(
    env.artifacts.testStablecoin.abi as InterfaceAbi,
    env.artifacts.testStablecoin.bytecode,
    env.signers[0]!,
  )
  token = (await factory.deploy()) as unknown as Contract
  await token.waitForDeployment()
  const { assetId } = await ledger.registerAsset(await token.getAddress(), 6)
  await ledger.setAreaAsset(3, assetId)
  await ledger.registerMeter({
    meter: solar.address,
    household: env.chain.accounts[1]!.address,
    areaId: 3,
    startTime: REGISTERED_AT,
    startCounter: START_COUNTER,
  })
  await ledger.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES, assetId })
  routes = utilityRoutes({
    ledger: ledger as unknown as RoutesLedger,
    utility: env.signers[0]!,
    identity: { meter: { address: solar.address } },
    circuit: { profile: 'test', n: 192, slots: 96, intervalSeconds: 900 },
    mesh: undefined,
    provider: env.provider,
  })
  bill = await proving
})

afterAll(async () => {
  await env?.chain.close()
})

describe('utility console: feed-in curves and credits', () => {
  it('publishes a feed-in curve, checked first; lists the credit; pays it out in the token', async () => {
    const prices = FEED_IN.map(String)
    await expect(routes.publishFeedIn(request({}, { tariffId: 1, prices: prices.slice(1) }))).rejects.toThrow(
      /prices must be 96 decimal strings/,
    )
    await expect(
      routes.publishFeedIn(request({}, { tariffId: 1, prices: prices.map((_, i) => String(100 + i)) })),
    ).rejects.toThrow(/breaks a privacy rule/)
    const published = await routes.publishFeedIn(request({}, { tariffId: '1', prices }))
    expect(published).toMatchObject({
      tariffId: 1n,
      netTariffHash: netTariffHash(PRICES, FEED_IN),
      asset: { assetId: 1, symbol: 'tUSD' },
    })
    await expect(routes.publishFeedIn(request({}, { tariffId: 1, prices }))).rejects.toMatchObject({
      name: 'FeedInRefusedError',
    })

    expect(await routes.utilityCredits(request({}))).toEqual({ credits: [] })
    const domain = { chainId: env.chain.chainId, verifyingContract: ledger.address }
    await ledger.connect(env.signers[1]!).submitNetBill(netBillSubmission(bill, solar, domain))
    const surplus = bill.credit - bill.cost
    expect(await routes.utilityCredits(request({}))).toEqual({
      credits: [
        {
          meter: getAddress(solar.address),
          household: getAddress(env.chain.accounts[1]!.address),
          areaId: 3,
          active: true,
          asset: { assetId: 1, symbol: 'tUSD', decimals: 6, token: await token.getAddress() },
          credit: surplus,
        },
      ],
    })

    const pay = (body: unknown, meter: string = solar.address) => routes.payCredit(request({ meter }, body))
    await expect(pay({ amount: '-1' })).rejects.toThrow(/positive decimal string/)
    await expect(pay({}, '0x12')).rejects.toThrow(/0x address/)
    await expect(pay({})).rejects.toMatchObject({ errorName: 'PayoutExceedsCollected' })
    await expect(pay({ amount: String(surplus + 1n) })).rejects.toMatchObject({
      errorName: 'PayoutExceedsCredit',
    })
    await (await token.getFunction('mint').send(ledger.address, surplus)).wait()
    const paid = await pay({ amount: '1000' })
    expect(paid).toMatchObject({ amount: 1000n, balance: surplus - 1000n, asset: { symbol: 'tUSD' } })
    expect(paid.txHash).toMatch(/^0x[0-9a-f]{64}$/)
    expect((await pay({})).amount).toBe(surplus - 1000n)
    expect(await token.getFunction('balanceOf').staticCall(env.chain.accounts[1]!.address)).toBe(surplus)
    expect(await routes.utilityCredits(request({}))).toEqual({ credits: [] })
  })
})
