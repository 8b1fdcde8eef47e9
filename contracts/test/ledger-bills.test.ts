/**
 * Bills end to end with real Groth16 proofs from the 'test' circuit profile (N = 192, SLOTS = 96):
 * submit → pay → withdraw, and every way a bill, a payment or a withdrawal is refused.
 * Proofs are made once (beforeAll) and reused; each test gets a fresh ledger.
 */
import {
  type Contract,
  ContractFactory,
  getAddress,
  type InterfaceAbi,
  JsonRpcProvider,
  Network,
  Wallet,
} from 'ethers'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Eip712Domain } from '#protocol/eip712.ts'
import { devAccount, serveJsonRpc } from '../ts/chain.ts'
import {
  type BillingPeriod,
  type BillSubmission,
  billIdOf,
  connectLedger,
  deployLedger,
  type LedgerClient,
  type SolidityProof,
} from '../ts/ledger.ts'
import { type Circuit, loadCircuit, type PreparedBill, prepareBill, priceCurve } from './bills.ts'
import {
  compileFixture,
  DAY,
  INTERVAL,
  type MeterKey,
  MIDNIGHT,
  meterKey,
  REGISTERED_AT,
  START_COUNTER,
  signPeriod,
  startTestEnv,
  type TestEnv,
} from './env.ts'
import { expectLedgerError } from './expect-revert.ts'

const PRICES_1 = priceCurve(20_000_000_000n, 45_000_000_000n, 96)
const PRICES_2 = priceCurve(25_000_000_000n, 50_000_000_000n, 96)
const PERIOD_1 = { start: REGISTERED_AT, end: REGISTERED_AT + DAY }
const PERIOD_2 = { start: REGISTERED_AT + DAY, end: MIDNIGHT + 2 * DAY }
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const AREA = 5

const meterA = meterKey('bills-a')
const meterB = meterKey('bills-b')
const meterC = meterKey('bills-unregistered')

let env: TestEnv
let circuit: Circuit
let billA1: PreparedBill
let billA2: PreparedBill
let hh1: string
let hh2: string

let utility: LedgerClient
let household1: LedgerClient
let household2: LedgerClient
let payer: LedgerClient
let domain: Eip712Domain

beforeAll(async () => {
  env = await startTestEnv()
  hh1 = env.chain.accounts[1]!.address
  hh2 = env.chain.accounts[2]!.address
  circuit = await loadCircuit('test')
  expect(circuit.n).toBe(192)
  expect(circuit.slots).toBe(96)
  billA1 = await prepareBill(circuit, {
    meter: meterA,
    ...PERIOD_1,
    startCounter: START_COUNTER,
    prices: PRICES_1,
    tariffId: 1n,
    seed: 1,
  })
  billA2 = await prepareBill(circuit, {
    meter: meterA,
    ...PERIOD_2,
    startCounter: billA1.period.endCounter,
    prices: PRICES_2,
    tariffId: 2n,
    seed: 2,
  })
})

afterAll(async () => {
  await env?.chain.close()
})

beforeEach(async () => {
  utility = await deployLedger(env.signers[0]!, env.artifacts, {
    slots: circuit.slots,
    maxIntervals: circuit.n,
  })
  household1 = utility.connect(env.signers[1]!)
  household2 = utility.connect(env.signers[2]!)
  payer = utility.connect(env.signers[3]!)
  domain = await utility.domain()
  await utility.registerMeter({
    meter: meterA.address,
    household: hh1,
    areaId: AREA,
    startTime: REGISTERED_AT,
    startCounter: START_COUNTER,
  })
  await utility.registerMeter({
    meter: meterB.address,
    household: hh2,
    areaId: AREA,
    startTime: REGISTERED_AT,
    startCounter: 0,
  })
  await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES_1 })
  await utility.publishTariff({ effectiveFrom: PERIOD_2.start, prices: PRICES_2 })
})

interface Tweaks {
  period?: Partial<BillingPeriod>
  signer?: MeterKey
  signature?: string
  domain?: Eip712Domain
  proof?: SolidityProof
  total?: bigint
  energyWh?: bigint
  tariffId?: bigint
  cidDigest?: string
}

/** The bill as the household node would submit it, with one thing changed per test. */
function submission(bill: PreparedBill, tweaks: Tweaks = {}): BillSubmission {
  const period = { ...bill.period, ...tweaks.period }
  return {
    period,
    signature: tweaks.signature ?? signPeriod(tweaks.signer ?? meterA, tweaks.domain ?? domain, period),
    proof: tweaks.proof ?? bill.proof,
    total: tweaks.total ?? bill.total,
    energyWh: tweaks.energyWh ?? bill.energyWh,
    tariffId: tweaks.tariffId ?? bill.tariffId,
    cidDigest: tweaks.cidDigest ?? bill.cidDigest,
  }
}

describe('the happy path', () => {
  it('register → tariff → submit → pay → withdraw → next period', async () => {
    const { billId, receipt } = await household1.submitBill(submission(billA1))
    expect(receipt.gasUsed).toBeLessThanOrEqual(300_000n)
    expect(billId).toBe(billIdOf(billA1.period, hh1 as `0x${string}`, AREA, billA1))

    const record = await utility.bill(billId)
    expect(record).toMatchObject({
      billId,
      meter: getAddress(meterA.address),
      household: getAddress(hh1),
      areaId: AREA,
      energyWh: billA1.energyWh,
      total: billA1.total,
      tariffId: 1n,
      cidDigest: billA1.cidDigest,
      submitted: true,
      paid: false,
    })
    expect(record.period).toEqual({
      meter: getAddress(meterA.address),
      periodStart: BigInt(PERIOD_1.start),
      periodEnd: BigInt(PERIOD_1.end),
      startCounter: START_COUNTER,
      endCounter: billA1.period.endCounter,
      commitment: billA1.period.commitment,
    })
    expect(await utility.meter(meterA.address)).toMatchObject({
      nextStart: BigInt(PERIOD_1.end),
      nextCounter: billA1.period.endCounter,
    })
    expect((await utility.bills({ household: hh1 })).map((b) => b.billId)).toEqual([billId])
    expect(await utility.bills({ meter: meterB.address })).toEqual([])

    const paid = await payer.payBill(billId)
    const paidEvent = utility.interface.parseLog(paid.logs[0]!)
    expect(paidEvent?.name).toBe('BillPaid')
    expect(paidEvent?.args.toObject()).toEqual({
      billId,
      payer: getAddress(env.chain.accounts[3]!.address),
      amount: billA1.total,
    })
    expect(await utility.billStatus(billId)).toEqual({ submitted: true, paid: true, total: billA1.total })
    expect(await utility.withdrawable()).toBe(billA1.total)

    const treasury = env.chain.accounts[6]!.address
    const before = await env.provider.getBalance(treasury)
    const withdrawn = await utility.withdraw(treasury)
    expect(utility.interface.parseLog(withdrawn.logs[0]!)?.args.toObject()).toEqual({
      to: getAddress(treasury),
      amount: billA1.total,
    })
    expect(await env.provider.getBalance(treasury)).toBe(before + billA1.total)
    expect(await utility.withdrawable()).toBe(0n)
    expect(await env.provider.getBalance(utility.address)).toBe(0n)
    await expectLedgerError(utility.withdraw(treasury), 'NothingToWithdraw')

    // The next period starts where the first ended, under the tariff in force then.
    const second = await household1.submitBill(submission(billA2))
    expect((await utility.bill(second.billId)).tariffId).toBe(2n)
    expect(await utility.meter(meterA.address)).toMatchObject({
      nextStart: BigInt(PERIOD_2.end),
      nextCounter: billA2.period.endCounter,
    })
  })

  it('lets a browser-style wallet pay over the JSON-RPC endpoint', async () => {
    const { billId } = await household1.submitBill(submission(billA1))
    const server = await serveJsonRpc(env.chain.provider, { host: '127.0.0.1', port: 0 })
    const provider = new JsonRpcProvider(server.url, Network.from(Number(env.chain.chainId)), {
      staticNetwork: true,
      batchMaxCount: 1,
      cacheTimeout: -1,
    })
    try {
      const wallet = new Wallet(devAccount(5).privateKey, provider)
      const remote = connectLedger(utility.address, wallet, env.artifacts.ledger.abi)
      await expectLedgerError(remote.payBill(billId, billA1.total - 1n), 'WrongAmount', {
        expected: billA1.total,
        sent: billA1.total - 1n,
      })
      await remote.payBill(billId)
      expect((await remote.billStatus(billId)).paid).toBe(true)
    } finally {
      provider.destroy()
      await server.close()
    }
  })
})

describe('the meter signature', () => {
  it('refuses a forged signature (another key claiming the meter)', async () => {
    const forger = meterKey('forger')
    await expectLedgerError(
      household1.submitBill(submission(billA1, { signer: forger })),
      'SignatureMismatch',
      {
        meter: meterA.address,
        recovered: forger.address,
      },
    )
  })

  it('refuses a signature by another registered meter', async () => {
    await expectLedgerError(
      household1.submitBill(submission(billA1, { signer: meterB })),
      'SignatureMismatch',
      {
        meter: meterA.address,
        recovered: meterB.address,
      },
    )
  })

  it('refuses a period altered after signing', async () => {
    const signature = signPeriod(meterA, domain, billA1.period)
    const altered = submission(billA1, {
      signature,
      period: { endCounter: billA1.period.endCounter - 100n },
      energyWh: billA1.energyWh - 100n,
    })
    await expectLedgerError(household1.submitBill(altered), 'SignatureMismatch', { meter: meterA.address })
  })

  it('refuses a signature made for another ledger or chain', async () => {
    const elsewhere = { chainId: domain.chainId, verifyingContract: meterC.address }
    await expectLedgerError(
      household1.submitBill(submission(billA1, { domain: elsewhere })),
      'SignatureMismatch',
    )
    const otherChain = { ...domain, chainId: domain.chainId + 1n }
    await expectLedgerError(
      household1.submitBill(submission(billA1, { domain: otherChain })),
      'SignatureMismatch',
    )
  })

  it('refuses malformed and high-S signatures', async () => {
    const good = signPeriod(meterA, domain, billA1.period)
    await expectLedgerError(
      household1.submitBill(submission(billA1, { signature: good.slice(0, 130) })),
      'MalformedSignature',
      {
        length: 64n,
      },
    )
    await expectLedgerError(
      household1.submitBill(submission(billA1, { signature: `${good.slice(0, 130)}1d` })),
      'MalformedSignature',
      {
        length: 65n,
        v: 29n,
      },
    )
    // (r, n − s, v ^ 1) recovers the same key: the malleable twin must not be accepted.
    const s = BigInt(`0x${good.slice(66, 130)}`)
    const v = Number.parseInt(good.slice(130), 16)
    const twin = `${good.slice(0, 66)}${(SECP256K1_N - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}`
    await expectLedgerError(household1.submitBill(submission(billA1, { signature: twin })), 'HighS')
  })
})

describe('the meter and the household', () => {
  it('refuses an unregistered meter', async () => {
    const bill = { ...billA1, period: { ...billA1.period, meter: meterC.address } }
    await expectLedgerError(household1.submitBill(submission(bill, { signer: meterC })), 'UnknownMeter', {
      meter: meterC.address,
    })
  })

  it('refuses a deactivated meter', async () => {
    await utility.deactivateMeter(meterA.address)
    await expectLedgerError(household1.submitBill(submission(billA1)), 'MeterInactive', {
      meter: meterA.address,
    })
  })

  it("refuses a sender who is not the meter's household", async () => {
    await expectLedgerError(household2.submitBill(submission(billA1)), 'NotHousehold', {
      meter: meterA.address,
      sender: hh2,
    })
    const bill = { ...billA1, period: { ...billA1.period, meter: meterB.address, startCounter: 0n } }
    await expectLedgerError(household1.submitBill(submission(bill, { signer: meterB })), 'NotHousehold', {
      meter: meterB.address,
      sender: hh1,
    })
  })
})

describe('period continuity', () => {
  it('refuses a replay of the same bill', async () => {
    const bill = submission(billA1)
    const { billId } = await household1.submitBill(bill)
    await expectLedgerError(household1.submitBill(bill), 'BillAlreadySubmitted', { billId })
    // The same period with any other field changed is an overlap.
    await expectLedgerError(
      household1.submitBill({ ...bill, cidDigest: `0x${'11'.repeat(32)}` }),
      'PeriodOverlap',
      {
        expected: BigInt(PERIOD_1.end),
        got: BigInt(PERIOD_1.start),
      },
    )
  })

  it('refuses a gap: the first period must start at the registration point, later ones where the last ended', async () => {
    await expectLedgerError(household1.submitBill(submission(billA2)), 'PeriodGap', {
      expected: BigInt(REGISTERED_AT),
      got: BigInt(PERIOD_2.start),
    })
    await expectLedgerError(
      household1.submitBill(submission(billA1, { period: { periodStart: PERIOD_1.start + INTERVAL } })),
      'PeriodGap',
      { expected: BigInt(REGISTERED_AT), got: BigInt(PERIOD_1.start + INTERVAL) },
    )
  })

  it('refuses an overlap', async () => {
    await expectLedgerError(
      household1.submitBill(submission(billA1, { period: { periodStart: MIDNIGHT } })),
      'PeriodOverlap',
      { expected: BigInt(REGISTERED_AT), got: BigInt(MIDNIGHT) },
    )
    await household1.submitBill(submission(billA1))
    await expectLedgerError(
      household1.submitBill(submission(billA2, { period: { periodStart: PERIOD_2.start - INTERVAL } })),
      'PeriodOverlap',
      { expected: BigInt(PERIOD_2.start), got: BigInt(PERIOD_2.start - INTERVAL) },
    )
  })

  it('refuses a start counter that is not where the last period ended', async () => {
    await expectLedgerError(
      household1.submitBill(submission(billA1, { period: { startCounter: START_COUNTER + 1n } })),
      'CounterMismatch',
      { expected: START_COUNTER, got: START_COUNTER + 1n },
    )
  })

  it('refuses empty, misaligned and over-long periods and counters that run backwards', async () => {
    await expectLedgerError(
      household1.submitBill(submission(billA1, { period: { periodEnd: PERIOD_1.start } })),
      'EmptyPeriod',
    )
    await expectLedgerError(
      household1.submitBill(submission(billA1, { period: { periodEnd: PERIOD_1.end + 1 } })),
      'NotOnIntervalBoundary',
      { time: BigInt(PERIOD_1.end + 1), interval: 900n },
    )
    // N = 192 intervals from the UTC midnight before the start: the period may end by MIDNIGHT + 2 days.
    await expectLedgerError(
      household1.submitBill(submission(billA1, { period: { periodEnd: MIDNIGHT + 2 * DAY + INTERVAL } })),
      'PeriodTooLong',
      { periodEnd: BigInt(MIDNIGHT + 2 * DAY + INTERVAL), maxEnd: BigInt(MIDNIGHT + 2 * DAY) },
    )
    await expectLedgerError(
      household1.submitBill(submission(billA1, { period: { endCounter: START_COUNTER - 1n } })),
      'CounterWentBackwards',
    )
  })

  it('refuses energy that is not the counter difference', async () => {
    await expectLedgerError(
      household1.submitBill(submission(billA1, { period: { endCounter: billA1.period.endCounter + 5n } })),
      'EnergyMismatch',
      { counterDelta: billA1.energyWh + 5n, energyWh: billA1.energyWh },
    )
  })
})

describe('the tariff', () => {
  it('refuses an unknown tariff id', async () => {
    await expectLedgerError(household1.submitBill(submission(billA1, { tariffId: 9n })), 'UnknownTariff', {
      tariffId: 9n,
    })
  })

  it('refuses a tariff that does not cover the whole period', async () => {
    await expectLedgerError(
      household1.submitBill(submission(billA1, { tariffId: 2n })),
      'TariffNotCovering',
      {
        tariffId: 2n,
        effectiveFrom: BigInt(PERIOD_2.start),
        periodStart: BigInt(PERIOD_1.start),
      },
    )
    // A tariff change inside the period: neither tariff covers it alone.
    const fresh = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
    await fresh.registerMeter({
      meter: meterA.address,
      household: hh1,
      areaId: AREA,
      startTime: REGISTERED_AT,
      startCounter: START_COUNTER,
    })
    await fresh.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES_1 })
    await fresh.publishTariff({ effectiveFrom: PERIOD_1.start + 8 * INTERVAL, prices: PRICES_2 })
    const sub = submission(billA1, { domain: await fresh.domain() })
    await expectLedgerError(fresh.connect(env.signers[1]!).submitBill(sub), 'TariffNotCovering', {
      tariffId: 1n,
      until: BigInt(PERIOD_1.start + 8 * INTERVAL),
    })
  })

  it('refuses a bill proved under other prices than the tariff it names', async () => {
    // billA2 was proved under PRICES_2; naming tariff 1 (PRICES_1) for the same numbers must fail.
    const fresh = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
    await fresh.registerMeter({
      meter: meterA.address,
      household: hh1,
      areaId: AREA,
      startTime: PERIOD_2.start,
      startCounter: billA2.period.startCounter,
    })
    await fresh.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES_1 })
    const sub = submission(billA2, { domain: await fresh.domain(), tariffId: 1n })
    await expectLedgerError(fresh.connect(env.signers[1]!).submitBill(sub), 'ProofRejected')
  })
})

describe('the proof', () => {
  it('refuses a tampered proof (the verifier returns false)', async () => {
    const p = billA1.proof
    const tampered: SolidityProof = { a: p.a, b: p.b, c: [p.c[1], p.c[0]] }
    await expectLedgerError(household1.submitBill(submission(billA1, { proof: tampered })), 'ProofRejected')
    const shifted: SolidityProof = { a: [BigInt(p.a[0]) + 1n, p.a[1]], b: p.b, c: p.c }
    await expectLedgerError(household1.submitBill(submission(billA1, { proof: shifted })), 'ProofRejected')
  })

  it('refuses a wrong total', async () => {
    await expectLedgerError(
      household1.submitBill(submission(billA1, { total: billA1.total - 1n })),
      'ProofRejected',
    )
    await expectLedgerError(household1.submitBill(submission(billA1, { total: 2n ** 128n })), 'TotalTooLarge')
  })

  it("refuses another period's proof", async () => {
    const sub = submission(billA1, { proof: billA2.proof })
    await expectLedgerError(household1.submitBill(sub), 'ProofRejected')
    // Nothing was recorded by the failed attempts: the real bill still goes through.
    await household1.submitBill(submission(billA1))
  })
})

describe('payment', () => {
  it('takes exactly the bill amount, once', async () => {
    const { billId } = await household1.submitBill(submission(billA1))
    await expectLedgerError(payer.payBill(billId, billA1.total + 1n), 'WrongAmount', {
      expected: billA1.total,
      sent: billA1.total + 1n,
    })
    await expectLedgerError(payer.payBill(billId, 0n), 'WrongAmount', { expected: billA1.total, sent: 0n })
    await payer.payBill(billId)
    await expectLedgerError(payer.payBill(billId), 'AlreadyPaid', { billId })
    await expectLedgerError(household1.payBill(billId, billA1.total), 'AlreadyPaid', { billId })
    expect(await utility.withdrawable()).toBe(billA1.total)
  })
})

describe('withdrawal', () => {
  async function receiverAsOwner(): Promise<Contract> {
    const fixture = await compileFixture()
    const factory = new ContractFactory(fixture.abi as InterfaceAbi, fixture.bytecode, env.signers[0]!)
    const receiver = (await factory.deploy(utility.address)) as Contract
    await receiver.waitForDeployment()
    await utility.transferOwnership(await receiver.getAddress())
    await (await receiver.getFunction('accept')()).wait()
    expect(await utility.owner()).toBe(await receiver.getAddress())
    const { billId } = await household1.submitBill(submission(billA1))
    await payer.payBill(billId)
    return receiver
  }

  it('cannot be re-entered by the receiving contract', async () => {
    const receiver = await receiverAsOwner()
    await (await receiver.getFunction('attack')()).wait()
    expect(await receiver.getFunction('calls')()).toBe(1n)
    expect(await receiver.getFunction('received')()).toBe(billA1.total)
    expect(await receiver.getFunction('reentered')()).toBe(false)
    const reentryError = await receiver.getFunction('reentryError')()
    expect(reentryError).toBe(utility.interface.getError('Reentrancy')?.selector)
    expect(await utility.withdrawable()).toBe(0n)
    expect(await env.provider.getBalance(utility.address)).toBe(0n)
  })

  it('keeps the funds when the receiver refuses them', async () => {
    const receiver = await receiverAsOwner()
    await (await receiver.getFunction('setRefuse')(true)).wait()
    const attempt = receiver
      .getFunction('attack')()
      .catch((err: unknown) => {
        throw utility.decodeError(err)
      })
    await expectLedgerError(attempt, 'WithdrawFailed', {
      to: await receiver.getAddress(),
      amount: billA1.total,
    })
    expect(await utility.withdrawable()).toBe(billA1.total)
  })
})

describe('tariff rules and bills (docs/privacy.md)', () => {
  it('bills a period end to end under a four-level time-of-use tariff (peak 17–21 h)', async () => {
    const GWEI = 1_000_000_000n
    const fourLevels = Array.from({ length: 96 }, (_, s) => {
      const hour = s / 4
      if (hour < 6) return 500n * GWEI
      if (hour >= 17 && hour < 21) return 2_000n * GWEI
      if (hour >= 7 && hour < 10) return 1_200n * GWEI
      return 1_000n * GWEI
    })
    const fresh = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
    await fresh.registerMeter({
      meter: meterA.address,
      household: hh1,
      areaId: AREA,
      startTime: REGISTERED_AT,
      startCounter: START_COUNTER,
    })
    const { tariffId } = await fresh.publishTariff({ effectiveFrom: MIDNIGHT, prices: fourLevels })
    const bill = await prepareBill(circuit, {
      meter: meterA,
      ...PERIOD_1,
      startCounter: START_COUNTER,
      prices: fourLevels,
      tariffId,
      seed: 7,
    })
    const { billId, receipt } = await fresh
      .connect(env.signers[1]!)
      .submitBill(submission(bill, { domain: await fresh.domain() }))
    expect(receipt.gasUsed).toBeLessThanOrEqual(300_000n)
    expect(await fresh.bill(billId)).toMatchObject({ total: bill.total, energyWh: bill.energyWh, tariffId })
    await fresh.connect(env.signers[3]!).payBill(billId)
    expect((await fresh.billStatus(billId)).paid).toBe(true)
  })

  // Last in the file: it moves the chain's clock past the fixtures' periods, and it cannot go back.
  it('refuses a retroactive tariff, so no bill can be priced by one', async () => {
    const fresh = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
    await fresh.registerMeter({
      meter: meterA.address,
      household: hh1,
      areaId: AREA,
      startTime: PERIOD_2.start,
      startCounter: billA2.period.startCounter,
    })
    await fresh.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES_1 })
    // The period PERIOD_2 has begun an hour ago by the chain's clock.
    await env.chain.provider.request({ method: 'evm_setNextBlockTimestamp', params: [PERIOD_2.start + 3600] })
    await env.chain.provider.request({ method: 'evm_mine', params: [] })
    await expectLedgerError(
      fresh.publishTariff({ effectiveFrom: PERIOD_2.start, prices: PRICES_2 }),
      'TariffNotAhead',
      { effectiveFrom: BigInt(PERIOD_2.start) },
    )
    // The bill proved under those prices names a tariff that does not exist, and tariff 1 is not its prices.
    const household = fresh.connect(env.signers[1]!)
    const domain2 = await fresh.domain()
    await expectLedgerError(household.submitBill(submission(billA2, { domain: domain2 })), 'UnknownTariff', {
      tariffId: 2n,
    })
    await expectLedgerError(
      household.submitBill(submission(billA2, { domain: domain2, tariffId: 1n })),
      'ProofRejected',
    )
  })
})
