/**
 * Paying a credit out (issue 17, "... or that the utility pays out"): the owner pays part or all of a
 * meter's carried credit to its household, in the meter's asset, from what households paid and the
 * utility has not withdrawn. The attacks: a non-owner, more than the credit, a meter without credit,
 * more than was collected, a household contract that re-enters or refuses, tokens that fail.
 * Real Groth16 proofs (test profile), in-process EDR.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Contract, ContractFactory, getAddress, type InterfaceAbi, Signature } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CompiledContract, compileSolidity, REPO_ROOT } from '../ts/compile.ts'
import { deployLedger, type LedgerClient } from '../ts/ledger.ts'
import {
  type Circuit,
  loadCircuit,
  loadNetCircuit,
  netBillSubmission,
  type PreparedBill,
  type PreparedNetBill,
  prepareBill,
  prepareNetBill,
  priceCurve,
} from './bills.ts'
import {
  DAY,
  MIDNIGHT,
  meterKey,
  REGISTERED_AT,
  START_COUNTER,
  signExportPeriod,
  signPeriod,
  startTestEnv,
  type TestEnv,
} from './env.ts'
import { expectLedgerError } from './expect-revert.ts'

const PRICES = priceCurve(20_000_000_000n, 45_000_000_000n, 96)
const FEED_IN = Array.from({ length: 96 }, (_, s) => (s >= 40 && s < 56 ? 6_000_000_000n : 8_000_000_000n))
const TOKEN_PRICES = priceCurve(300n, 450n, 96)
const TOKEN_FEED_IN = Array.from({ length: 96 }, () => 500n)
const AREA = 3
const TOKEN_AREA = 4

const meterA = meterKey('payout-a')
const meterB = meterKey('payout-b')
const meterT = meterKey('payout-token')

let env: TestEnv
let circuit: Circuit
let hh: string
let hhB: string
let fixtures: Record<string, CompiledContract>
/** Meter A's sunny period (credit > cost), and its next period as an import-only bill. */
let sunny: PreparedNetBill
let nextBill: PreparedBill
/** Meter B's bill: what its household pays is the Ether the ledger has collected. */
let payerBill: PreparedBill
let tokenSunny: PreparedNetBill

beforeAll(async () => {
  env = await startTestEnv()
  hh = env.chain.accounts[1]!.address
  hhB = env.chain.accounts[3]!.address
  circuit = loadCircuit('test')
  const netCircuit = loadNetCircuit('test')
  fixtures = await compileSolidity(
    { 'Payout.sol': readFileSync(join(REPO_ROOT, 'contracts', 'test', 'fixtures', 'Payout.sol'), 'utf8') },
    { cacheDir: join(REPO_ROOT, 'contracts', 'build', 'fixtures-payout') },
  )
  const p1 = { start: REGISTERED_AT, end: REGISTERED_AT + DAY }
  const net = { ...p1, startCounter: START_COUNTER, exportStartCounter: 250_000n, seed: 1 }
  sunny = await prepareNetBill(netCircuit, {
    meter: meterA,
    ...net,
    prices: PRICES,
    feedInPrices: FEED_IN,
    tariffId: 1n,
    sun: 14,
  })
  nextBill = await prepareBill(circuit, {
    meter: meterA,
    start: p1.end,
    end: MIDNIGHT + 2 * DAY,
    startCounter: sunny.period.endCounter,
    prices: PRICES,
    tariffId: 1n,
    seed: 2,
  })
  payerBill = await prepareBill(circuit, {
    meter: meterB,
    ...p1,
    startCounter: START_COUNTER,
    prices: PRICES,
    tariffId: 1n,
    seed: 3,
  })
  tokenSunny = await prepareNetBill(netCircuit, {
    meter: meterT,
    ...net,
    prices: TOKEN_PRICES,
    feedInPrices: TOKEN_FEED_IN,
    tariffId: 2n,
    sun: 20,
  })
})

afterAll(async () => {
  await env?.chain.close()
})

async function deployFixture(name: string, ...args: unknown[]): Promise<Contract> {
  const compiled = fixtures[name] as CompiledContract
  const factory = new ContractFactory(compiled.abi as InterfaceAbi, compiled.bytecode, env.signers[0]!)
  const contract = (await factory.deploy(...args)) as unknown as Contract
  await contract.waitForDeployment()
  return contract
}

/** A fresh ledger with tariff 1 (Ether) and 2 (`token`'s, when given), both with feed-in curves. */
async function freshLedger(token?: Contract): Promise<LedgerClient> {
  const utility = await deployLedger(env.signers[0]!, env.artifacts, {
    slots: circuit.slots,
    maxIntervals: circuit.n,
  })
  await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES })
  await utility.publishFeedIn({ tariffId: 1n, prices: PRICES, feedInPrices: FEED_IN })
  if (token !== undefined) {
    const { assetId } = await utility.registerAsset(await token.getAddress(), 6)
    await utility.setAreaAsset(TOKEN_AREA, assetId)
    await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: TOKEN_PRICES, assetId })
    await utility.publishFeedIn({ tariffId: 2n, prices: TOKEN_PRICES, feedInPrices: TOKEN_FEED_IN })
  }
  return utility
}

async function register(utility: LedgerClient, meter: string, household: string, areaId: number) {
  await utility.registerMeter({
    meter,
    household,
    areaId,
    startTime: REGISTERED_AT,
    startCounter: START_COUNTER,
  })
}

function domain(utility: LedgerClient) {
  return { chainId: env.chain.chainId, verifyingContract: utility.address }
}

function keyOf(meter: string) {
  return [meterA, meterB, meterT].find((k) => k.address === meter)!
}

async function submitNet(utility: LedgerClient, bill: PreparedNetBill, from = 1) {
  return utility
    .connect(env.signers[from]!)
    .submitNetBill(netBillSubmission(bill, keyOf(bill.period.meter), domain(utility)))
}

/** Meter B's household pays its bill: `payerBill.total` wei collected by the ledger. */
async function collect(utility: LedgerClient): Promise<bigint> {
  const payer = utility.connect(env.signers[3]!)
  const { billId } = await payer.submitBill({
    period: payerBill.period,
    signature: signPeriod(meterB, domain(utility), payerBill.period),
    proof: payerBill.proof,
    total: payerBill.total,
    energyWh: payerBill.energyWh,
    tariffId: payerBill.tariffId,
    cidDigest: payerBill.cidDigest,
  })
  await payer.payBill(billId)
  return payerBill.total
}

const balanceOf = (address: string) => env.provider.getBalance(address)

describe('paying an Ether credit out', () => {
  let utility: LedgerClient
  let surplus: bigint

  beforeAll(async () => {
    utility = await freshLedger()
    await register(utility, meterA.address, hh, AREA)
    await register(utility, meterB.address, hhB, AREA)
    await submitNet(utility, sunny)
    surplus = sunny.credit - sunny.cost
    expect(await utility.creditOf(meterA.address)).toBe(surplus)
  })

  it("is called at the ledger's address: compileLedger merges it into the ledger's ABI", () => {
    const names = env.artifacts.ledger.abi.map((f) => `${String(f.type)}:${String(f.name)}`)
    for (const name of [
      'function:payOutCredit',
      'event:CreditPaidOut',
      'error:NoCredit',
      'error:ZeroPayout',
      'error:PayoutExceedsCredit',
      'error:PayoutExceedsCollected',
      'error:PayoutFailed',
    ]) {
      expect(names).toContain(name)
    }
  })

  it('is refused to anyone but the utility, including the household itself', async () => {
    await expectLedgerError(utility.connect(env.signers[1]!).payOutCredit(meterA.address, 1n), 'NotOwner', {
      sender: hh,
    })
    await expectLedgerError(utility.connect(env.signers[2]!).payOutCredit(meterA.address), 'NotOwner')
    expect(await utility.creditOf(meterA.address)).toBe(surplus)
  })

  it('refuses an unknown meter, a meter without credit, nothing, and more than the credit', async () => {
    await expectLedgerError(utility.payOutCredit(meterT.address, 1n), 'UnknownMeter', {
      meter: meterT.address,
    })
    await expectLedgerError(utility.payOutCredit(meterB.address, 1n), 'NoCredit', { meter: meterB.address })
    await expectLedgerError(utility.payOutCredit(meterA.address, 0n), 'ZeroPayout')
    await expectLedgerError(utility.payOutCredit(meterA.address, surplus + 1n), 'PayoutExceedsCredit', {
      meter: meterA.address,
      credit: surplus,
      amount: surplus + 1n,
    })
  })

  it('pays nothing the utility has not collected', async () => {
    expect(await utility.withdrawable()).toBe(0n)
    const err = await expectLedgerError(utility.payOutCredit(meterA.address), 'PayoutExceedsCollected', {
      assetId: 0n,
      collected: 0n,
      amount: surplus,
    })
    expect(err.message).toMatch(/paid from what households paid/)
    expect(await utility.creditOf(meterA.address)).toBe(surplus)
  })

  it('pays part of the credit, then the rest after the meter is deactivated, from withdrawable', async () => {
    const collected = await collect(utility)
    expect(collected >= surplus).toBe(true)
    const part = surplus / 3n
    const before = await balanceOf(hh)
    const first = await utility.payOutCredit(meterA.address, part)
    console.log(`payOutCredit (Ether): ${first.receipt.gasUsed} gas`)
    expect(first.receipt.gasUsed).toBeLessThanOrEqual(60_000n)
    expect(first).toMatchObject({ amount: part, household: getAddress(hh), balance: surplus - part })
    expect(await balanceOf(hh)).toBe(before + part)
    expect(await utility.creditOf(meterA.address)).toBe(surplus - part)
    expect(await utility.withdrawable()).toBe(collected - part)
    // A household that moved out: no next bill will use its credit, so it is paid out.
    await utility.deactivateMeter(meterA.address)
    const rest = await utility.payOutCredit(meterA.address)
    expect(rest.amount).toBe(surplus - part)
    expect(rest.balance).toBe(0n)
    expect(await balanceOf(hh)).toBe(before + surplus)
    expect(await utility.creditOf(meterA.address)).toBe(0n)
    expect(await utility.withdrawable()).toBe(collected - surplus)
    await expectLedgerError(utility.payOutCredit(meterA.address, 1n), 'NoCredit')
    expect(await utility.creditPayouts({ meter: meterA.address })).toMatchObject([
      { household: getAddress(hh), amount: part, balance: surplus - part },
      { household: getAddress(hh), amount: surplus - part, balance: 0n },
    ])
    // The utility withdraws what is left of what was paid; the payouts came out of it.
    const to = env.chain.accounts[5]!.address
    const toBefore = await balanceOf(to)
    await utility.withdraw(to)
    expect(await balanceOf(to)).toBe(toBefore + collected - surplus)
  })
})

describe('a household contract', () => {
  let utility: LedgerClient
  let household: Contract
  let surplus: bigint

  beforeAll(async () => {
    utility = await freshLedger()
    household = await deployFixture('ReentrantHousehold', utility.address)
    await register(utility, meterA.address, await household.getAddress(), AREA)
    await register(utility, meterB.address, hhB, AREA)
    await collect(utility)
    const d = domain(utility)
    const ms = Signature.from(signPeriod(meterA, d, sunny.period))
    const xs = Signature.from(signExportPeriod(meterA, d, sunny.exportPeriod))
    const p = sunny.period
    const x = sunny.exportPeriod
    const data = utility.interface.encodeFunctionData('submitNetBill', [
      [p.meter, p.periodStart, p.periodEnd, p.startCounter, p.endCounter, p.commitment],
      [ms.r, ms.yParityAndS],
      [x.startCounter, x.endCounter, x.commitment],
      [xs.r, xs.yParityAndS],
      [sunny.proof.a, sunny.proof.b, sunny.proof.c],
      [sunny.cost, sunny.credit, sunny.tariffId, sunny.cidDigest],
    ])
    await (await household.getFunction('act').send(data)).wait()
    surplus = sunny.credit - sunny.cost
    expect(await utility.creditOf(meterA.address)).toBe(surplus)
  })

  it('that refuses Ether only stops its own payout: PayoutFailed, the credit stays', async () => {
    await (await household.getFunction('setRefuse').send(true)).wait()
    const withdrawable = await utility.withdrawable()
    await expectLedgerError(utility.payOutCredit(meterA.address), 'PayoutFailed', {
      household: await household.getAddress(),
      amount: surplus,
    })
    expect(await utility.creditOf(meterA.address)).toBe(surplus)
    expect(await utility.withdrawable()).toBe(withdrawable)
    await (await household.getFunction('setRefuse').send(false)).wait()
  })

  it('that re-enters with a bill while being paid finds the credit already gone (no double spend)', async () => {
    const p = nextBill.period
    const reentry = utility.interface.encodeFunctionData('submitBill', [
      [p.meter, p.periodStart, p.periodEnd, p.startCounter, p.endCounter, p.commitment],
      signPeriod(meterA, domain(utility), p),
      [nextBill.proof.a, nextBill.proof.b, nextBill.proof.c],
      [nextBill.total, nextBill.energyWh, nextBill.tariffId, nextBill.cidDigest],
    ])
    await (await household.getFunction('arm').send(reentry)).wait()
    const { receipt } = await utility.payOutCredit(meterA.address, surplus)
    expect(await household.getFunction('received').staticCall()).toBe(surplus)
    // The bill was recorded inside the payout (the household may submit its bills whenever it
    // likes), but with its full total due: the credit was lowered before the Ether was sent.
    expect(await household.getFunction('reentered').staticCall()).toBe(true)
    const [bill] = await utility.bills({ meter: meterA.address })
    expect(bill?.blockNumber).toBe(receipt.blockNumber)
    expect(await utility.billStatus(bill!.billId)).toEqual({
      submitted: true,
      paid: false,
      total: nextBill.total,
    })
    expect(await utility.creditOf(meterA.address)).toBe(0n)
    expect(await utility.creditHistory(meterA.address)).not.toContainEqual(
      expect.objectContaining({ kind: 'applied' }),
    )
  })
})

describe('paying a token credit out', () => {
  let utility: LedgerClient
  let token: Contract
  let surplus: bigint

  beforeAll(async () => {
    token = await deployFixture('FailingToken')
    utility = await freshLedger(token)
    await register(utility, meterT.address, hh, TOKEN_AREA)
    await submitNet(utility, tokenSunny)
    surplus = tokenSunny.credit - tokenSunny.cost
    expect(surplus > 0n).toBe(true)
  })

  const tokenBalance = async (address: string) =>
    (await token.getFunction('balanceOf').staticCall(address)) as bigint
  const setMode = async (mode: number) => (await token.getFunction('setMode').send(mode)).wait()

  it("pays nothing beyond the ledger's token balance", async () => {
    await expectLedgerError(utility.payOutCredit(meterT.address), 'PayoutExceedsCollected', {
      assetId: 1n,
      collected: 0n,
      amount: surplus,
    })
    // What households paid in the token (here minted straight to the ledger, which counts the same).
    await (await token.getFunction('mint').send(utility.address, 2n * surplus)).wait()
  })

  it('a token whose transfer fails, reverts or takes a fee leaves the credit where it was', async () => {
    await setMode(1)
    await expectLedgerError(utility.payOutCredit(meterT.address), 'SafeERC20FailedOperation', {
      token: await token.getAddress(),
    })
    await setMode(2)
    const reverted = await expectLedgerError(utility.payOutCredit(meterT.address), 'Error')
    expect(reverted.message).toMatch(/reverted: transfer disabled/)
    await setMode(3)
    await expectLedgerError(utility.payOutCredit(meterT.address), 'FeeOnTransfer', {
      expected: surplus,
      received: surplus - surplus / 100n,
    })
    expect(await utility.creditOf(meterT.address)).toBe(surplus)
    expect(await tokenBalance(utility.address)).toBe(2n * surplus)
    expect(await tokenBalance(hh)).toBe(0n)
  })

  it('pays the household in the token', async () => {
    await setMode(0)
    const { receipt, amount } = await utility.payOutCredit(meterT.address)
    console.log(`payOutCredit (token): ${receipt.gasUsed} gas`)
    expect(amount).toBe(surplus)
    expect(await tokenBalance(hh)).toBe(surplus)
    expect(await tokenBalance(utility.address)).toBe(surplus)
    expect(await utility.tokenWithdrawable(1)).toBe(surplus)
    expect(await utility.creditOf(meterT.address)).toBe(0n)
  })
})
