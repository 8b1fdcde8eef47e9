/**
 * Net bills (issue 17): a home that exports solar energy proves its import cost and its export
 * credit (circuits/net_bill.circom) and the ledger checks both meter-signed halves, both counters'
 * continuity, and carries a credit above the cost to the next bill, which uses it first: an Ether
 * import bill, a net bill, a token bill. Real Groth16 proofs (test profile), in-process EDR.
 */
import { AbiCoder, type Contract, ContractFactory, getAddress, type InterfaceAbi, keccak256 } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { netTariffHash } from '#protocol/commitment.ts'
import { holdCurve } from '../../circuits/src/index.ts'
import {
  type BillSubmission,
  deployLedger,
  type LedgerClient,
  type NetBillSubmission,
  signBillAuthorization,
} from '../ts/ledger.ts'
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
  type MeterKey,
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
/** Feed-in: 8 gwei per exported Wh, 6 around noon (obeys the tariff rules like an import curve). */
const FEED_IN = Array.from({ length: 96 }, (_, s) => (s >= 40 && s < 56 ? 6_000_000_000n : 8_000_000_000n))
const TOKEN_PRICES = priceCurve(300n, 450n, 96)
const TOKEN_FEED_IN = Array.from({ length: 96 }, () => 500n)
const EXPORT_START = 250_000n
const AREA = 3
const TOKEN_AREA = 4

const meterA = meterKey('net-a')
const meterT = meterKey('net-token')

let env: TestEnv
let circuit: Circuit
let netCircuit: Circuit
let hh: string
/** Period 1 of meter A: a sunny net bill (credit > cost). */
let sunny: PreparedNetBill
/** Period 2 of meter A: an import-only bill that uses the credit. */
let importBill: PreparedBill
/** Period 2 of meter A as a net bill instead (export continuity). */
let cloudy: PreparedNetBill
let tokenSunny: PreparedNetBill
let tokenBill: PreparedBill

beforeAll(async () => {
  env = await startTestEnv()
  hh = env.chain.accounts[1]!.address
  circuit = loadCircuit('test')
  netCircuit = loadNetCircuit('test')
  // One curve for the five proofs below, not one built and ended per proof (0.36 CPU-s each).
  const releaseCurve = holdCurve()
  const p1 = { start: REGISTERED_AT, end: REGISTERED_AT + DAY }
  const p2 = { start: REGISTERED_AT + DAY, end: MIDNIGHT + 2 * DAY }
  sunny = await prepareNetBill(netCircuit, {
    meter: meterA,
    ...p1,
    startCounter: START_COUNTER,
    exportStartCounter: EXPORT_START,
    prices: PRICES,
    feedInPrices: FEED_IN,
    tariffId: 1n,
    seed: 1,
    sun: 14,
  })
  importBill = await prepareBill(circuit, {
    meter: meterA,
    ...p2,
    startCounter: sunny.period.endCounter,
    prices: PRICES,
    tariffId: 1n,
    seed: 2,
  })
  cloudy = await prepareNetBill(netCircuit, {
    meter: meterA,
    ...p2,
    startCounter: sunny.period.endCounter,
    exportStartCounter: sunny.exportPeriod.endCounter,
    prices: PRICES,
    feedInPrices: FEED_IN,
    tariffId: 1n,
    seed: 3,
    sun: 1,
  })
  tokenSunny = await prepareNetBill(netCircuit, {
    meter: meterT,
    ...p1,
    startCounter: START_COUNTER,
    exportStartCounter: EXPORT_START,
    prices: TOKEN_PRICES,
    feedInPrices: TOKEN_FEED_IN,
    tariffId: 2n,
    seed: 4,
    sun: 20,
  })
  tokenBill = await prepareBill(circuit, {
    meter: meterT,
    ...p2,
    startCounter: tokenSunny.period.endCounter,
    prices: TOKEN_PRICES,
    tariffId: 2n,
    seed: 5,
  })
  await releaseCurve()
})

afterAll(async () => {
  await env?.chain.close()
})

let utility: LedgerClient
let household: LedgerClient
let token: Contract

/** A fresh ledger: meter A in an Ether area, meter T in a token area, both tariffs with feed-in curves. */
async function setUp(): Promise<void> {
  utility = await deployLedger(env.signers[0]!, env.artifacts, {
    slots: circuit.slots,
    maxIntervals: circuit.n,
  })
  household = utility.connect(env.signers[1]!)
  const factory = new ContractFactory(
    env.artifacts.testStablecoin.abi as InterfaceAbi,
    env.artifacts.testStablecoin.bytecode,
    env.signers[0]!,
  )
  token = (await factory.deploy()) as unknown as Contract
  await token.waitForDeployment()
  await (await token.getFunction('mint').send(hh, 10n ** 12n)).wait()
  const { assetId } = await utility.registerAsset(await token.getAddress(), 6)
  await utility.setAreaAsset(TOKEN_AREA, assetId)
  for (const [key, area] of [
    [meterA, AREA],
    [meterT, TOKEN_AREA],
  ] as const) {
    await utility.registerMeter({
      meter: key.address,
      household: hh,
      areaId: area,
      startTime: REGISTERED_AT,
      startCounter: START_COUNTER,
    })
  }
  expect((await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES })).tariffId).toBe(1n)
  expect(
    (await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: TOKEN_PRICES, assetId })).tariffId,
  ).toBe(2n)
  await utility.publishFeedIn({ tariffId: 1n, prices: PRICES, feedInPrices: FEED_IN })
  await utility.publishFeedIn({ tariffId: 2n, prices: TOKEN_PRICES, feedInPrices: TOKEN_FEED_IN })
}

function domain() {
  return { chainId: env.chain.chainId, verifyingContract: utility.address }
}

function keyOf(bill: { period: { meter: string } }): MeterKey {
  return bill.period.meter === meterA.address ? meterA : meterT
}

function netSubmission(bill: PreparedNetBill, tweaks: Partial<NetBillSubmission> = {}): NetBillSubmission {
  const exportPeriod = tweaks.exportPeriod ?? bill.exportPeriod
  return { ...netBillSubmission({ ...bill, exportPeriod }, keyOf(bill), domain()), ...tweaks }
}

function submission(bill: PreparedBill): BillSubmission {
  return {
    period: bill.period,
    signature: signPeriod(keyOf(bill), domain(), bill.period),
    proof: bill.proof,
    total: bill.total,
    energyWh: bill.energyWh,
    tariffId: bill.tariffId,
    cidDigest: bill.cidDigest,
  }
}

describe('net bills', () => {
  beforeAll(setUp)

  it('the ledger records the net-bill verifying key beside the bill one, and the feed-in curves', async () => {
    const net = await utility.netSetup()
    expect(net?.netVerifyingKeyHash).toBe(env.artifacts.net?.setup.verifyingKeyHash)
    expect(net?.netVerifyingKeyHash).not.toBe((await utility.trustedSetup()).verifyingKeyHash)
    expect(await utility.feedInHash(1n)).toBe(netTariffHash(PRICES, FEED_IN))
    const feedIn = await utility.feedIn(1n)
    expect(feedIn).toMatchObject({
      netTariffHash: netTariffHash(PRICES, FEED_IN),
      feedInPrices: FEED_IN,
    })
    // The publishing block's time: what a household node checks against a period's start.
    const latest = await env.provider.getBlock('latest')
    expect(feedIn?.publishedAt).toBeGreaterThan(0n)
    expect(feedIn?.publishedAt).toBeLessThanOrEqual(BigInt(latest?.timestamp ?? 0))
    // Both under EIP-170's 24,576 bytes: the reason the net path is a second contract.
    for (const address of [utility.address, net?.netBills as string]) {
      const code = await env.provider.getCode(address)
      expect((code.length - 2) / 2).toBeLessThanOrEqual(24_576)
    }
  })

  it('a period with net export records a credit; the next (import-only, Ether) bill uses it first', async () => {
    expect(sunny.credit > sunny.cost).toBe(true)
    const net = await household.submitNetBill(netSubmission(sunny))
    console.log(`submitNetBill: ${net.receipt.gasUsed} gas`)
    // bench:gas submit_bill_net_gas (docs/benchmarks.md): the import bill's ~291k and the export half.
    expect(net.receipt.gasUsed).toBeLessThanOrEqual(320_000n)
    expect(net.due).toBe(0n)
    // The id the contract writes out by hand is the documented abi.encode of the record.
    const p = sunny.period
    const x = sunny.exportPeriod
    expect(net.billId).toBe(
      keccak256(
        AbiCoder.defaultAbiCoder().encode(
          [
            'tuple(address,uint64,uint64,uint64,uint64,uint256)',
            'tuple(uint64,uint64,uint256)',
            'address',
            'uint32',
            'tuple(uint256,uint256,uint256,bytes32)',
          ],
          [
            [p.meter, p.periodStart, p.periodEnd, p.startCounter, p.endCounter, p.commitment],
            [x.startCounter, x.endCounter, x.commitment],
            hh,
            AREA,
            [sunny.cost, sunny.credit, sunny.tariffId, sunny.cidDigest],
          ],
        ),
      ),
    )
    expect(await utility.billStatus(net.billId)).toEqual({ submitted: true, paid: true, total: 0n })
    expect(await utility.netBills({ meter: meterA.address })).toMatchObject([
      {
        billId: net.billId,
        household: getAddress(hh),
        areaId: AREA,
        exportHalf: {
          startCounter: sunny.exportPeriod.endCounter - sunny.exportWh,
          endCounter: sunny.exportPeriod.endCounter,
          commitment: sunny.exportPeriod.commitment,
        },
        cost: sunny.cost,
        credit: sunny.credit,
        due: 0n,
        paid: true,
      },
    ])
    const surplus = sunny.credit - sunny.cost
    expect(await utility.creditOf(meterA.address)).toBe(surplus)
    expect(await utility.exportCursor(meterA.address)).toEqual({
      nextExportCounter: sunny.exportPeriod.endCounter,
      known: true,
    })
    const meter = await utility.meter(meterA.address)
    expect(meter.nextStart).toBe(BigInt(sunny.period.periodEnd))
    expect(meter.nextCounter).toBe(sunny.period.endCounter)

    expect(importBill.total > surplus).toBe(true)
    const { billId, receipt } = await household.submitBill(submission(importBill))
    const due = importBill.total - surplus
    expect(await utility.billStatus(billId)).toEqual({ submitted: true, paid: false, total: due })
    expect(await utility.creditOf(meterA.address)).toBe(0n)
    expect(await utility.creditHistory(meterA.address)).toMatchObject([
      { kind: 'recorded', billId: net.billId, amount: surplus, balance: surplus },
      { kind: 'applied', billId, amount: surplus, balance: 0n, blockNumber: receipt.blockNumber },
    ])
    // An import-only bill does not see the export counter: export continuity restarts.
    expect((await utility.exportCursor(meterA.address)).known).toBe(false)
    await household.payBill(billId)
    expect((await utility.billStatus(billId)).paid).toBe(true)
  })
})

describe('export continuity and the export half', () => {
  beforeAll(setUp)

  it('refuses a forged export half: another key, another period, a tampered counter', async () => {
    const stranger = meterKey('net-stranger')
    await expectLedgerError(
      household.submitNetBill(
        netSubmission(sunny, { exportSignature: signExportPeriod(stranger, domain(), sunny.exportPeriod) }),
      ),
      'SignatureMismatch',
      { meter: meterA.address },
    )
    // The meter's BillingPeriod signature cannot stand in for its ExportPeriod one (another type hash).
    await expectLedgerError(
      household.submitNetBill(
        netSubmission(sunny, { exportSignature: signPeriod(meterA, domain(), sunny.exportPeriod) }),
      ),
      'SignatureMismatch',
      { meter: meterA.address },
    )
    // More exported energy than the meter signed: the signature no longer covers the half.
    const inflated = { ...sunny.exportPeriod, endCounter: sunny.exportPeriod.endCounter + 1000n }
    await expectLedgerError(
      household.submitNetBill({
        ...netSubmission(sunny),
        exportPeriod: inflated,
      }),
      'SignatureMismatch',
    )
    // The meter's export half of another period (here: another end) does not verify over this one.
    await expectLedgerError(
      household.submitNetBill(
        netSubmission(sunny, {
          exportSignature: signExportPeriod(meterA, domain(), {
            ...sunny.exportPeriod,
            periodEnd: sunny.period.periodEnd + 900,
          }),
        }),
      ),
      'SignatureMismatch',
    )
    // And the client names a mismatched pair before sending it.
    await expect(
      household.submitNetBill(
        netSubmission(sunny, {
          exportPeriod: { ...sunny.exportPeriod, periodStart: sunny.period.periodStart + 900 },
        }),
      ),
    ).rejects.toThrow(/both halves of one period close/)
  })

  it('refuses a credit the proof does not show', async () => {
    await expectLedgerError(
      household.submitNetBill(netSubmission(sunny, { credit: sunny.credit + 1n })),
      'ProofRejected',
    )
  })

  it('the next net bill must start at the last export end', async () => {
    await household.submitNetBill(netSubmission(sunny))
    const credit = await utility.creditOf(meterA.address)
    // The meter's export half of period 2, but starting 5 Wh after where period 1 ended.
    const skipped = {
      ...cloudy.exportPeriod,
      startCounter: sunny.exportPeriod.endCounter + 5n,
      endCounter: cloudy.exportPeriod.endCounter + 5n,
    }
    await expectLedgerError(
      household.submitNetBill(netSubmission(cloudy, { exportPeriod: skipped })),
      'ExportCounterMismatch',
      {
        expected: sunny.exportPeriod.endCounter,
        got: sunny.exportPeriod.endCounter + 5n,
      },
    )
    // The continuing half is accepted: a cloudy period whose cost exceeds its credit, paid from the
    // carried credit first.
    expect(cloudy.cost > cloudy.credit).toBe(true)
    const { billId, due } = await household.submitNetBill(netSubmission(cloudy))
    const owed = cloudy.cost - cloudy.credit
    expect(due).toBe(owed > credit ? owed - credit : 0n)
    expect(await utility.creditOf(meterA.address)).toBe(owed > credit ? 0n : credit - owed)
    expect((await utility.billStatus(billId)).total).toBe(due)
    expect(await utility.exportCursor(meterA.address)).toEqual({
      nextExportCounter: cloudy.exportPeriod.endCounter,
      known: true,
    })
  })

  it('refuses a net bill for a tariff without a feed-in curve, and feed-in curves that break the rules', async () => {
    await expectLedgerError(
      utility.publishFeedIn({ tariffId: 1n, prices: PRICES, feedInPrices: FEED_IN }),
      'FeedInAlreadyPublished',
    )
    await expectLedgerError(
      utility.publishFeedIn({
        tariffId: 2n,
        netTariffHash: 1n,
        feedInPrices: Array.from({ length: 96 }, (_, s) => BigInt(1000 + s)),
      }),
      'FeedInAlreadyPublished',
    )
    const fresh = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
    await fresh.registerMeter({
      meter: meterA.address,
      household: hh,
      areaId: AREA,
      startTime: REGISTERED_AT,
      startCounter: START_COUNTER,
    })
    await fresh.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES })
    // Five levels: the leakage rules of import curves apply to feed-in curves too.
    const fiveLevels = Array.from({ length: 96 }, (_, s) => BigInt(1 + Math.floor(s / 20)) * 1_000_000_000n)
    await expectLedgerError(
      fresh.publishFeedIn({ tariffId: 1n, prices: PRICES, feedInPrices: fiveLevels }),
      'TooManyPriceLevels',
    )
    await expectLedgerError(
      fresh.publishFeedIn({ tariffId: 9n, prices: PRICES, feedInPrices: FEED_IN }),
      'UnknownTariff',
    )
    const h = fresh.connect(env.signers[1]!)
    const d = { chainId: env.chain.chainId, verifyingContract: fresh.address }
    await expectLedgerError(
      h.submitNetBill({
        ...netSubmission(sunny),
        signature: signPeriod(meterA, d, sunny.period),
        exportSignature: signExportPeriod(meterA, d, sunny.exportPeriod),
      }),
      'NoFeedInCurve',
      { tariffId: 1n },
    )
    await expectLedgerError(
      fresh.connect(env.signers[2]!).publishFeedIn({ tariffId: 1n, prices: PRICES, feedInPrices: FEED_IN }),
      'NotOwner',
    )
  })

  it('a ledger deployed without a net-bill verifier refuses net bills by name', async () => {
    const { net: _net, ...withoutNet } = env.artifacts
    const plain = await deployLedger(env.signers[0]!, withoutNet, { slots: 96, maxIntervals: 192 })
    expect(await plain.netSetup()).toBeUndefined()
    await expectLedgerError(plain.creditOf(meterA.address), 'NetBillsDisabled')
  })
})

describe('a credit and a relayed batch', () => {
  beforeAll(setUp)

  it("the next bill in a relayer's submitBills uses the credit first too", async () => {
    await household.submitNetBill(netSubmission(sunny))
    const surplus = sunny.credit - sunny.cost
    const plain = submission(importBill)
    const relayedBill = {
      ...plain,
      householdSignature: await signBillAuthorization(env.signers[1]!, domain(), plain),
    }
    const { billIds } = await utility.submitBills([relayedBill])
    expect(await utility.billStatus(billIds[0]!)).toEqual({
      submitted: true,
      paid: false,
      total: importBill.total - surplus,
    })
    expect(await utility.creditOf(meterA.address)).toBe(0n)
  })
})

describe('a credit with a token tariff', () => {
  beforeAll(setUp)

  it('is recorded in the token and used by the next token bill', async () => {
    const net = await household.submitNetBill(netSubmission(tokenSunny))
    expect(net.due).toBe(0n)
    const surplus = tokenSunny.credit - tokenSunny.cost
    expect(surplus > 0n).toBe(true)
    expect(await utility.creditOf(meterT.address)).toBe(surplus)
    const { billId } = await household.submitBill(submission(tokenBill))
    expect(await utility.billAsset(billId)).toBe(1)
    const due = tokenBill.total > surplus ? tokenBill.total - surplus : 0n
    expect(await utility.billStatus(billId)).toMatchObject({ total: due, paid: due === 0n })
    expect(await utility.creditOf(meterT.address)).toBe(
      tokenBill.total > surplus ? 0n : surplus - tokenBill.total,
    )
    if (due > 0n) {
      const before = (await token.getFunction('balanceOf').staticCall(hh)) as bigint
      await household.approveToken(await token.getAddress(), due)
      await household.payBillWithToken(billId)
      expect((await token.getFunction('balanceOf').staticCall(hh)) as bigint).toBe(before - due)
    }
    // Meter A's balance is untouched: credits are per meter.
    expect(await utility.creditOf(meterA.address)).toBe(0n)
  })
})

// Last in the file: it moves the chain's clock forward for good.
describe('a feed-in curve is never retroactive', () => {
  it('is refused once its tariff is in force (TariffNotAhead), as an import curve would be', async () => {
    const fresh = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
    const later = MIDNIGHT + 10 * DAY
    const { tariffId } = await fresh.publishTariff({ effectiveFrom: later, prices: PRICES })
    await env.chain.provider.request({ method: 'evm_setNextBlockTimestamp', params: [later + 3600] })
    await env.chain.provider.request({ method: 'evm_mine', params: [] })
    await expectLedgerError(
      fresh.publishFeedIn({ tariffId, prices: PRICES, feedInPrices: FEED_IN }),
      'TariffNotAhead',
      { effectiveFrom: BigInt(later) },
    )
    expect(await fresh.feedInHash(tariffId)).toBeUndefined()
    expect(await fresh.feedIn(tariffId)).toBeUndefined()
  })
})
