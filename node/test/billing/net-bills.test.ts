/**
 * Net bills made by the household node (issue 17): a home whose meter closes a period with an export
 * half, under a tariff with a feed-in curve, gets a net bill (import cost less export credit); a
 * credit above the cost is carried by the ledger and used first by the next bill, and the dev
 * wallet's pay route pays what the ledger asks (amountDue), not the cost. Without a feed-in curve or
 * without export the bill is an import bill as before; a net bill survives a restart between its
 * proof and its submission (and one after its submission) without a second proof or a duplicate; a
 * feed-in curve whose prices do not hash to the ledger's net tariff hash is never proved against: the
 * period is billed as an import bill (its credit forgone, the bill says so) and the next net bill
 * restarts export continuity; a net bill in a token tariff is paid with the dev wallet's permit for
 * exactly amountDue. Real ledger on EDR with the net-bill extension, real Groth16 proofs (test circuits), the real
 * biller, bill store, ledger chain and bill routes.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Contract, ContractFactory, type InterfaceAbi, type Signer } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { netTariffHash } from '#protocol/commitment.ts'
import { priceCurve } from '../../../contracts/test/bills.ts'
import { type MeterKey, meterKey, startTestEnv, type TestEnv } from '../../../contracts/test/env.ts'
import { deployLedger, type LedgerClient } from '../../../contracts/ts/ledger.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import type { HouseholdContext } from '../../src/app/node.ts'
import { type BillingChain, type BillProver, createBiller } from '../../src/billing/biller.ts'
import { openDisplayCurrencyStore } from '../../src/billing/display-currency.ts'
import { isTransientChainError, ledgerBillingChain } from '../../src/billing/ledger-chain.ts'
import { circuitProver } from '../../src/billing/prover/prover.ts'
import { type BillRecord, type BillStore, openBillStore } from '../../src/billing/store.ts'
import { billRoutes } from '../../src/http/routes/bills.ts'
import {
  closeNetPeriod,
  DAY,
  inputsOf,
  MIDNIGHT,
  N,
  REGISTERED_AT,
  SLOTS,
  START_COUNTER,
  type TestPeriod,
} from './fixtures.ts'

const PRICES = priceCurve(20_000_000_000n, 45_000_000_000n, SLOTS)
/** Feed-in: 8 gwei per exported Wh, 6 around noon (obeys the tariff rules like an import curve). */
const FEED_IN = Array.from({ length: SLOTS }, (_, s) => (s >= 40 && s < 56 ? 6_000_000_000n : 8_000_000_000n))
const EXPORT_START = 250_000
/** An area billed in the test stablecoin. */
const TOKEN_AREA = 4

/** A kill -9 mid-step, as the biller sees it: not a verdict on the bill (it would be retried). */
class SimulatedCrashError extends Error {
  override name = 'SimulatedCrashError'
}

let env: TestEnv
let prover: Awaited<ReturnType<typeof circuitProver>>
const proofs = { bill: 0, net: 0 }
/** The real prover, counting its proofs (a resumed bill must not be proved again). */
let counting: BillProver
const dirs: string[] = []

/** A fresh ledger (the utility's, and the household's connection) with the tariff; feed-in as asked. */
async function ledgerWith(feedIn: 'none' | 'matching' | 'mismatched') {
  const utility = await deployLedger(env.signers[0] as never, env.artifacts, {
    slots: SLOTS,
    maxIntervals: N,
  })
  const household = utility.connect(env.signers[1] as never)
  const { tariffId } = await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES })
  if (feedIn === 'matching') await utility.publishFeedIn({ tariffId, prices: PRICES, feedInPrices: FEED_IN })
  if (feedIn === 'mismatched') {
    // The event's curve is FEED_IN, the hash the ledger verifies with is another curve's: the
    // prices a node would read are not the ones the ledger means.
    const other = FEED_IN.map((p) => p * 2n)
    await utility.publishFeedIn({
      tariffId,
      feedInPrices: FEED_IN,
      netTariffHash: netTariffHash(PRICES, other),
    })
  }
  return { utility, household }
}

async function register(utility: LedgerClient, meter: MeterKey): Promise<void> {
  await utility.registerMeter({
    meter: meter.address,
    household: env.signers[1]?.address as string,
    areaId: 1,
    startTime: REGISTERED_AT,
    startCounter: START_COUNTER,
  })
}

/** Consecutive daily closes of `meter` from its registration, with the PV export each day's `sun` gives. */
async function closes(
  utility: LedgerClient,
  meter: MeterKey,
  suns: number[],
  seed: number,
): Promise<TestPeriod[]> {
  const domain = await utility.domain()
  const out: TestPeriod[] = []
  let start = REGISTERED_AT
  let startCounter = START_COUNTER
  let exportStartCounter = EXPORT_START
  for (const [i, sun] of suns.entries()) {
    const end = MIDNIGHT + (i + 1) * DAY
    const p = closeNetPeriod(meter, domain, {
      start,
      end,
      startCounter,
      exportStartCounter,
      seed: seed + i,
      sun,
    })
    out.push(p)
    start = end
    startCounter = p.period.endCounter
    exportStartCounter = p.period.exportHalf?.endCounter as number
  }
  return out
}

async function billerOn(options: {
  dir: string
  chain: BillingChain
  periods: TestPeriod[]
  store?: BillStore
  assetId?: number
  onFeedInRefused?: (refusal: { bill: string; tariffId: string; reason: string }) => void
}) {
  const store = options.store ?? (await openBillStore(options.dir))
  const biller = createBiller({
    store,
    chain: options.chain,
    prover: counting,
    inputs: inputsOf(options.periods),
    isTransient: isTransientChainError,
    slots: SLOTS,
    baseDelayMs: 20,
    maxAttempts: 3,
    ...(options.onFeedInRefused ? { onFeedInRefused: options.onFeedInRefused } : {}),
  })
  return { store, biller }
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zkmeter-net-bills-'))
  dirs.push(dir)
  return dir
}

beforeAll(async () => {
  env = await startTestEnv()
  prover = await circuitProver('test')
  counting = {
    prove: (inputs) => {
      proofs.bill++
      return prover.prove(inputs)
    },
    proveNet: (inputs) => {
      proofs.net++
      return prover.proveNet(inputs)
    },
  }
}, scaledBudget(120_000))

afterAll(async () => {
  await env?.chain.close()
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

describe('a home that exports', () => {
  it(
    'gets a net bill whose credit the ledger carries, the next bill uses it first, and the dev wallet pays exactly amountDue',
    async () => {
      const { utility, household } = await ledgerWith('matching')
      const meter = meterKey('net-node-sunny')
      await register(utility, meter)
      // A sunny day (export credit above the cost), a cloudy one (a little export), one without export.
      const periods = await closes(utility, meter, [14, 1, 0], 21)
      const dir = await tempDir()
      const { store, biller } = await billerOn({ dir, chain: ledgerBillingChain(household), periods })
      const routes = billRoutes({
        bills: store,
        biller,
        ledger: household as unknown as HouseholdContext['ledger'],
        wallet: { address: env.signers[1]?.address as string },
        utility: env.signers[0] as unknown as Signer,
        config: { dev: true } as HouseholdContext['config'],
        displayCurrency: await openDisplayCurrencyStore(dir),
        identity: { meter: { address: meter.address } } as HouseholdContext['identity'],
      })
      const view = async (id: string) => (await routes.bill({ params: { id } } as never)).bill

      // The sunny day alone first: GET /api/bills shows the credit the ledger carries for the meter.
      const ids = [(await biller.addPeriod(periods[0]!.period)).id]
      await biller.idle()
      const afterSunny = store.get(ids[0] as string) as BillRecord
      const carriedNow = BigInt(afterSunny.credit as string) - BigInt(afterSunny.total as string)
      expect(carriedNow).toBeGreaterThan(0n)
      expect((await routes.bills({} as never)).credit).toBe(carriedNow.toString())
      expect(await household.creditOf(meter.address)).toBe(carriedNow)
      expect((await routes.bills({} as never)).due).toMatchObject({ total: '0', count: 0 })

      for (const p of periods.slice(1)) ids.push((await biller.addPeriod(p.period)).id)
      await biller.idle()
      const [first, second, third] = ids.map((id) => store.get(id) as BillRecord) as [
        BillRecord,
        BillRecord,
        BillRecord,
      ]

      // Period 1: a net bill whose credit covers its cost. The ledger records it paid; the rest is carried.
      const v1 = await view(first.id)
      expect(v1).toMatchObject({ kind: 'net', status: 'paid', amountDue: '0', creditUsed: '0' })
      expect(v1.exportedWh).toBe((first.exportHalf?.endCounter ?? 0) - (first.exportHalf?.startCounter ?? 0))
      expect(v1.exportedWh).toBeGreaterThan(0)
      const cost1 = BigInt(v1.total as string)
      const credit1 = BigInt(v1.credit as string)
      expect(credit1).toBeGreaterThan(cost1)
      const carried = credit1 - cost1
      const [net1] = await household.netBills({ meter: meter.address })
      expect(net1).toMatchObject({
        billId: first.chainBillId,
        cost: cost1,
        credit: credit1,
        due: 0n,
        paid: true,
      })

      // Period 2: a net bill whose cost exceeds its credit: the carried credit goes first.
      const v2 = await view(second.id)
      const cost2 = BigInt(v2.total as string)
      const credit2 = BigInt(v2.credit as string)
      expect(v2).toMatchObject({ kind: 'net', status: 'verified', creditUsed: carried.toString() })
      expect(BigInt(v2.creditUsed as string)).toBeGreaterThan(0n)
      expect(v2.amountDue).toBe((cost2 - credit2 - carried).toString())
      expect(BigInt(v2.amountDue as string)).toBeGreaterThan(0n)
      expect((await household.billStatus(second.chainBillId as string)).total).toBe(
        BigInt(v2.amountDue as string),
      )

      // Period 3: no export: an import bill, exactly as before (no credit left to use).
      const v3 = await view(third.id)
      expect(v3).toMatchObject({
        kind: 'import',
        status: 'verified',
        exportedWh: 0,
        credit: null,
        creditUsed: '0',
        amountDue: v3.total,
      })
      expect(proofs).toMatchObject({ net: 2, bill: 1 })

      // GET /api/bills: what is due sums the amounts due, not the costs; the carried credit is 0 now.
      const list = await routes.bills({} as never)
      expect(list.credit).toBe('0')
      expect(list.due).toMatchObject({
        count: 2,
        total: (BigInt(v2.amountDue as string) + BigInt(v3.total as string)).toString(),
      })
      // A credit-covered bill is paid: the route refuses it.
      await expect(routes.payBill({ params: { id: first.id } } as never)).rejects.toMatchObject({
        status: 409,
      })

      // The dev wallet pays the net bill: exactly amountDue (the ledger takes no other amount).
      const before = await household.withdrawable()
      const paid = await routes.payBill({ params: { id: second.id } } as never)
      expect(paid.bill.status).toBe('paid')
      const payment = await household.payment(second.chainBillId as string)
      expect(payment?.amount).toBe(BigInt(v2.amountDue as string))
      expect((await household.withdrawable()) - before).toBe(BigInt(v2.amountDue as string))
      expect((await household.billStatus(second.chainBillId as string)).paid).toBe(true)
      biller.stop()
    },
    scaledBudget(120_000),
  )
})

describe('import bills as before', () => {
  it(
    'bills a home that exports as an import bill when its tariff has no feed-in curve',
    async () => {
      const { utility, household } = await ledgerWith('none')
      const meter = meterKey('net-node-no-feed-in')
      await register(utility, meter)
      const periods = await closes(utility, meter, [14], 41)
      const dir = await tempDir()
      const { store, biller } = await billerOn({ dir, chain: ledgerBillingChain(household), periods })
      const before = { ...proofs }
      const bill = await biller.addPeriod(periods[0]!.period)
      await biller.idle()
      const recorded = store.get(bill.id) as BillRecord
      expect(recorded.kind).toBeUndefined()
      expect(recorded).toMatchObject({ status: 'verified', amountDue: recorded.total, creditUsed: '0' })
      expect(proofs).toEqual({ bill: before.bill + 1, net: before.net })
      const [onChain] = await household.bills({ meter: meter.address })
      expect(onChain).toMatchObject({ billId: recorded.chainBillId, total: BigInt(recorded.total as string) })
      expect(await household.netBills({ meter: meter.address })).toEqual([])
      biller.stop()
    },
    scaledBudget(120_000),
  )
})

describe('crash and resume', () => {
  it(
    'resubmits a stored net-bill proof after a restart between proof and submission, and adopts one the ledger already holds',
    async () => {
      const { utility, household } = await ledgerWith('matching')
      const meter = meterKey('net-node-restart')
      await register(utility, meter)
      const periods = await closes(utility, meter, [14, 2], 51)
      const dir = await tempDir()
      const real = ledgerBillingChain(household)

      // Run 1: the node dies as it is about to submit the first net bill (its proof is on disk).
      let run1Stop: () => void = () => {}
      const dying: BillingChain = {
        ...real,
        submitNetBill: async () => {
          run1Stop()
          throw new SimulatedCrashError('the node was killed before the transaction left')
        },
      }
      const one = await billerOn({ dir, chain: dying, periods })
      run1Stop = () => one.biller.stop()
      const first = await one.biller.addPeriod(periods[0]!.period)
      await one.biller.idle()
      const proved = one.store.get(first.id) as BillRecord
      expect(proved).toMatchObject({ kind: 'net', status: 'submitting' })
      expect(proved.proof).toBeDefined()
      const netProofs = proofs.net

      // Run 2 (a new store read from disk): the stored proof is submitted, not proved again. The second
      // period's submission goes through, and the node dies before it records that.
      let run2Stop: () => void = () => {}
      const forgetful: BillingChain = {
        ...real,
        submitNetBill: async (args) => {
          const sent = await real.submitNetBill?.(args)
          if (args.bill.periodStart === periods[1]!.period.periodStart) {
            run2Stop()
            throw new SimulatedCrashError(`killed after sending ${sent?.txHash}`)
          }
          return sent as NonNullable<typeof sent>
        },
      }
      const two = await billerOn({ dir, chain: forgetful, periods })
      run2Stop = () => two.biller.stop()
      expect(two.store.get(first.id)?.proof).toEqual(proved.proof)
      await two.biller.resume()
      await two.biller.idle()
      const second = await two.biller.addPeriod(periods[1]!.period)
      await two.biller.idle()
      expect(two.store.get(first.id)).toMatchObject({ kind: 'net', status: 'paid', amountDue: '0' })
      expect(proofs.net).toBe(netProofs + 1)
      expect(two.store.get(second.id)).toMatchObject({ kind: 'net', status: 'submitting' })

      // Run 3: the ledger already holds the second net bill: adopted, not submitted twice.
      const three = await billerOn({ dir, chain: real, periods })
      await three.biller.resume()
      await three.biller.idle()
      const adopted = three.store.get(second.id) as BillRecord
      expect(adopted.status === 'verified' || adopted.status === 'paid').toBe(true)
      const onChain = await household.netBills({ meter: meter.address })
      expect(onChain.map((b) => b.period.periodStart)).toEqual([
        BigInt(periods[0]!.period.periodStart),
        BigInt(periods[1]!.period.periodStart),
      ])
      expect(adopted.chainBillId).toBe(onChain[1]?.billId)
      expect(adopted.amountDue).toBe(onChain[1]?.due.toString())
      expect(proofs.net).toBe(netProofs + 1)
      three.biller.stop()
    },
    scaledBudget(120_000),
  )
})

describe('a feed-in curve the node refuses', () => {
  it(
    "bills the period as an import bill forgoing its credit, proving nothing net against a curve that does not hash to the ledger's net tariff hash; the next net bill restarts export continuity",
    async () => {
      const { utility, household } = await ledgerWith('mismatched')
      // From the second day, a tariff whose feed-in curve the node accepts.
      const { tariffId: next } = await utility.publishTariff({
        effectiveFrom: MIDNIGHT + DAY,
        prices: PRICES,
      })
      await utility.publishFeedIn({ tariffId: next, prices: PRICES, feedInPrices: FEED_IN })
      const meter = meterKey('net-node-mismatch')
      await register(utility, meter)
      const periods = await closes(utility, meter, [14, 14], 61)
      const dir = await tempDir()
      const refusals: { bill: string; tariffId: string; reason: string }[] = []
      const { store, biller } = await billerOn({
        dir,
        chain: ledgerBillingChain(household),
        periods,
        onFeedInRefused: (r) => refusals.push(r),
      })
      const before = { ...proofs }
      const ids = [
        (await biller.addPeriod(periods[0]!.period)).id,
        (await biller.addPeriod(periods[1]!.period)).id,
      ]
      await biller.idle()
      const [first, second] = ids.map((id) => store.get(id) as BillRecord) as [BillRecord, BillRecord]

      // The refused period: an import bill on the ledger, nothing proved net, and it says why.
      expect(first).toMatchObject({ status: 'verified', tariffId: '1', amountDue: first.total })
      expect(first.kind).toBeUndefined()
      expect(first.failure).toBeUndefined()
      expect(first.creditForgone).toMatch(/credit is forgone/)
      expect(first.creditForgone).toMatch(/do not hash to the net tariff hash/)
      expect(refusals).toEqual([{ bill: first.id, tariffId: '1', reason: expect.any(String) }])
      const [imported] = await household.bills({ meter: meter.address })
      expect(imported?.billId).toBe(first.chainBillId)

      // The next period is not held back: a net bill, its export continuity started afresh at its own
      // export half (the import bill did not see the export counter).
      expect(second).toMatchObject({ kind: 'net', tariffId: next.toString() })
      expect(second.creditForgone).toBeUndefined()
      const [net] = await household.netBills({ meter: meter.address })
      expect(net?.billId).toBe(second.chainBillId)
      expect(await household.exportCursor(meter.address)).toEqual({
        nextExportCounter: BigInt(periods[1]!.period.exportHalf?.endCounter as number),
        known: true,
      })
      expect(proofs).toEqual({ bill: before.bill + 1, net: before.net + 1 })
      biller.stop()
    },
    scaledBudget(120_000),
  )
})

describe('a token tariff', () => {
  it(
    'gets a net bill in the token, and the dev wallet pays exactly amountDue with a permit',
    async () => {
      const utility = await deployLedger(env.signers[0] as never, env.artifacts, {
        slots: SLOTS,
        maxIntervals: N,
      })
      const household = utility.connect(env.signers[1] as never)
      const hh = env.signers[1]?.address as string
      const factory = new ContractFactory(
        env.artifacts.testStablecoin.abi as InterfaceAbi,
        env.artifacts.testStablecoin.bytecode,
        env.signers[0] as never,
      )
      const token = (await factory.deploy()) as unknown as Contract
      await token.waitForDeployment()
      await (await token.getFunction('mint').send(hh, 10n ** 12n)).wait()
      const { assetId } = await utility.registerAsset(await token.getAddress(), 6)
      await utility.setAreaAsset(TOKEN_AREA, assetId)
      // Test USD (6 decimals) per Wh: a feed-in price below the import ones, so a cloudy day still owes.
      const prices = priceCurve(300n, 450n, SLOTS)
      const { tariffId } = await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices, assetId })
      await utility.publishFeedIn({
        tariffId,
        prices,
        feedInPrices: Array.from({ length: SLOTS }, () => 100n),
      })
      const meter = meterKey('net-node-token')
      await utility.registerMeter({
        meter: meter.address,
        household: hh,
        areaId: TOKEN_AREA,
        startTime: REGISTERED_AT,
        startCounter: START_COUNTER,
      })
      const periods = await closes(utility, meter, [1], 71)
      const dir = await tempDir()
      const { store, biller } = await billerOn({
        dir,
        chain: ledgerBillingChain(household, assetId),
        periods,
      })
      const bill = await biller.addPeriod(periods[0]!.period)
      await biller.idle()
      const recorded = store.get(bill.id) as BillRecord
      expect(recorded).toMatchObject({ kind: 'net', status: 'verified', tariffId: tariffId.toString() })
      const cost = BigInt(recorded.total as string)
      const credit = BigInt(recorded.credit as string)
      expect(credit).toBeGreaterThan(0n)
      expect(recorded.amountDue).toBe((cost - credit).toString())
      expect(await household.billAsset(recorded.chainBillId as string)).toBe(assetId)

      const asset = {
        assetId,
        symbol: 'tUSD',
        decimals: 6,
        token: (await token.getAddress()) as `0x${string}`,
      }
      const routes = billRoutes({
        bills: store,
        biller,
        ledger: household as unknown as HouseholdContext['ledger'],
        wallet: { address: hh },
        utility: env.signers[0] as unknown as Signer,
        config: { dev: true } as HouseholdContext['config'],
        displayCurrency: await openDisplayCurrencyStore(dir),
        identity: { meter: { address: meter.address } } as HouseholdContext['identity'],
        asset,
      } as never)
      const view = (await routes.bill({ params: { id: bill.id } } as never)).bill
      expect(view).toMatchObject({
        kind: 'net',
        amountDue: recorded.amountDue,
        asset: { assetId, symbol: 'tUSD' },
      })
      const balance = async () => (await token.getFunction('balanceOf').staticCall(hh)) as bigint
      const before = await balance()
      const paid = await routes.payBill({ params: { id: bill.id } } as never)
      expect(paid.bill.status).toBe('paid')
      // Exactly amountDue left the wallet, in the token, in the one permit transaction.
      expect(before - (await balance())).toBe(BigInt(recorded.amountDue as string))
      const payment = await household.payment(recorded.chainBillId as string)
      expect(payment?.amount).toBe(BigInt(recorded.amountDue as string))
      const receipt = await env.provider.getTransactionReceipt(paid.txHash as string)
      expect(receipt?.to?.toLowerCase()).toBe(household.address.toLowerCase())
      biller.stop()
    },
    scaledBudget(120_000),
  )
})
