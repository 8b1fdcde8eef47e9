/**
 * Relayed bills in batches (submitBills) on the real EDR chain with real Groth16 proofs of the 'test'
 * circuit profile: 16 households' bills verified with one batch verification, a forged proof named by
 * its index, replayed or altered household authorisations refused, and a bill breaking a rule failing
 * the batch with the error it gets alone.
 */
import { getAddress } from 'ethers'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Eip712Domain } from '#protocol/eip712.ts'
import { holdCurve } from '../../circuits/src/index.ts'
import {
  type Address,
  deployLedger,
  type LedgerClient,
  type RelayedBillSubmission,
  signBillAuthorization,
} from '../ts/ledger.ts'
import { type Circuit, loadCircuit, type PreparedBill, prepareBill, priceCurve } from './bills.ts'
import {
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

const PRICES = priceCurve(20_000_000_000n, 45_000_000_000n, 96)
const BATCH = 16
const HOUSEHOLDS = 4
const AREA = 9

const meters: MeterKey[] = Array.from({ length: BATCH }, (_, i) => meterKey(`batch-${i}`))
let env: TestEnv
let circuit: Circuit
/** bills[i]: meter i's first day; second: meter 0's next period. */
let bills: PreparedBill[]
let second: PreparedBill

let utility: LedgerClient
let relayer: LedgerClient
let relayerAddress: Address
let domain: Eip712Domain

const householdOf = (i: number) => getAddress(env.chain.accounts[1 + (i % HOUSEHOLDS)]!.address) as Address
const householdSigner = (i: number) => env.signers[1 + (i % HOUSEHOLDS)]!

beforeAll(async () => {
  env = await startTestEnv()
  circuit = await loadCircuit('test')
  relayerAddress = getAddress(env.chain.accounts[6]!.address) as Address
  // One curve for the batch's proofs, not one built and ended per proof (0.36 CPU-s each at load 10).
  const releaseCurve = holdCurve()
  bills = []
  for (const [i, meter] of meters.entries()) {
    bills.push(
      await prepareBill(circuit, {
        meter,
        start: REGISTERED_AT,
        end: REGISTERED_AT + DAY,
        startCounter: START_COUNTER,
        prices: PRICES,
        tariffId: 1n,
        seed: 10 + i,
      }),
    )
  }
  second = await prepareBill(circuit, {
    meter: meters[0]!,
    start: REGISTERED_AT + DAY,
    end: MIDNIGHT + 2 * DAY,
    startCounter: bills[0]!.period.endCounter,
    prices: PRICES,
    tariffId: 1n,
    seed: 99,
  })
  await releaseCurve()
})

afterAll(async () => {
  await env?.chain.close()
})

beforeEach(async () => {
  utility = await deployLedger(env.signers[0]!, env.artifacts, {
    slots: circuit.slots,
    maxIntervals: circuit.n,
  })
  relayer = utility.connect(env.signers[6]!)
  domain = await utility.domain()
  for (const [i, meter] of meters.entries()) {
    await utility.registerMeter({
      meter: meter.address,
      household: householdOf(i),
      areaId: AREA,
      startTime: REGISTERED_AT,
      startCounter: START_COUNTER,
    })
  }
  await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES })
})

/** Bill `bill` of meter `i` as its household hands it to a relayer, signed for `relayerFor` (default anyone). */
async function relayed(
  bill: PreparedBill,
  i: number,
  options: { relayerFor?: Address } = {},
): Promise<RelayedBillSubmission> {
  const submission = {
    period: bill.period,
    signature: signPeriod(meters[i]!, domain, bill.period),
    proof: bill.proof,
    total: bill.total,
    energyWh: bill.energyWh,
    tariffId: bill.tariffId,
    cidDigest: bill.cidDigest,
    ...(options.relayerFor === undefined ? {} : { relayer: options.relayerFor }),
  }
  return {
    ...submission,
    householdSignature: await signBillAuthorization(householdSigner(i), domain, submission),
  }
}

async function allRelayed(): Promise<RelayedBillSubmission[]> {
  return Promise.all(bills.map((b, i) => relayed(b, i)))
}

describe('a batch of 16 relayed bills', () => {
  it('records every bill, moves every meter on, and costs at most 120,000 gas a bill', async () => {
    const batch = await allRelayed()
    const { billIds, receipt } = await relayer.submitBills(batch)
    expect(billIds).toHaveLength(BATCH)
    for (const [i, id] of billIds.entries()) {
      const record = await utility.bill(id)
      expect(record.household).toBe(householdOf(i))
      expect(record.meter).toBe(getAddress(meters[i]!.address))
      expect(record.total).toBe(bills[i]!.total)
      expect(record.paid).toBe(false)
      const state = await utility.meter(meters[i]!.address)
      expect(state.nextStart).toBe(BigInt(REGISTERED_AT + DAY))
      expect(state.nextCounter).toBe(bills[i]!.period.endCounter)
    }
    const perBill = Number(receipt.gasUsed) / BATCH
    console.log(`submitBills(16): ${receipt.gasUsed} gas, ${perBill} a bill`)
    expect(perBill).toBeLessThanOrEqual(120_000)
    // A relayed bill is an ordinary bill: anyone pays it.
    await utility.connect(env.signers[7]!).payBill(billIds[3]!)
    expect((await utility.billStatus(billIds[3]!)).paid).toBe(true)
  })

  it('takes consecutive periods of one meter in order, and a single bill', async () => {
    const batch = [await relayed(bills[0]!, 0), await relayed(second, 0)]
    const { billIds } = await relayer.submitBills(batch)
    expect(billIds).toHaveLength(2)
    expect((await utility.meter(meters[0]!.address)).nextCounter).toBe(second.period.endCounter)
    const { billIds: one } = await relayer.submitBills([await relayed(bills[1]!, 1)])
    expect(one).toHaveLength(1)
  })

  it('has the same bill id as the household submitting it itself', async () => {
    const [relayedBill] = await allRelayed()
    const alone = await utility.connect(householdSigner(0)).submitBill(relayedBill!)
    // The household's own submission took the period; the relayed copy is that very bill.
    await expectLedgerError(relayer.submitBills([relayedBill!]), 'BillAlreadySubmitted', {
      billId: alone.billId,
    })
  })

  it('refuses an empty batch', async () => {
    await expectLedgerError(relayer.submitBills([]), 'EmptyBatch')
  })
})

describe('one bad proof', () => {
  it('fails the batch naming its index, and nothing is recorded', async () => {
    const batch = await allRelayed()
    const k = 11
    // Bill k carries bill k+1's proof: a valid proof, of other public inputs.
    batch[k] = { ...batch[k]!, proof: bills[k + 1]!.proof }
    await expectLedgerError(relayer.submitBills(batch), 'BatchProofRejected', { index: BigInt(k) })
    expect((await utility.meter(meters[0]!.address)).nextStart).toBe(BigInt(REGISTERED_AT))
  })

  it('names the index of a proof whose point is not on the curve', async () => {
    const batch = await allRelayed()
    const proof = bills[5]!.proof
    batch[5] = { ...batch[5]!, proof: { ...proof, c: [proof.c[0], BigInt(proof.c[1]) + 1n] } }
    await expectLedgerError(relayer.submitBills(batch), 'BatchProofRejected', { index: 5n })
  })

  it('names a bill whose commitment is the proven one plus the field order (no aliasing mod r)', async () => {
    // The meter signs commitment + r: the same field element to the proof, another number to the
    // ledger. Reduced mod r in the combination it would verify; the verifier refuses inputs ≥ r.
    const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n
    const bill = bills[4]!
    const aliased = { ...bill, period: { ...bill.period, commitment: BigInt(bill.period.commitment) + R } }
    const batch = (await allRelayed()).slice(0, 6)
    batch[4] = await relayed(aliased, 4)
    await expectLedgerError(relayer.submitBills(batch), 'BatchProofRejected', { index: 4n })
  })

  it('names index 0 too (its coefficient is 1)', async () => {
    const batch = (await allRelayed()).slice(0, 3)
    batch[0] = { ...batch[0]!, proof: bills[1]!.proof }
    await expectLedgerError(relayer.submitBills(batch), 'BatchProofRejected', { index: 0n })
  })
})

describe('household authorisations', () => {
  it('a replayed authorisation is refused: the bill it names is recorded once', async () => {
    const batch = await allRelayed()
    await relayer.submitBills(batch.slice(0, 2))
    await expectLedgerError(relayer.submitBills([batch[1]!]), 'BillAlreadySubmitted')
    // Within one batch too.
    await expectLedgerError(relayer.submitBills([batch[2]!, batch[2]!]), 'BillAlreadySubmitted', {})
  })

  it('an authorisation for one relayer cannot be used by another', async () => {
    const bill = await relayed(bills[0]!, 0, { relayerFor: relayerAddress })
    await expectLedgerError(utility.submitBills([bill]), 'RelayerNotAuthorized', {
      relayer: relayerAddress,
      sender: env.chain.accounts[0]!.address,
    })
    const { billIds } = await relayer.submitBills([bill])
    expect(billIds).toHaveLength(1)
  })

  it('an altered bill or another account’s signature is refused', async () => {
    const bill = await relayed(bills[0]!, 0)
    // The relayer changes the CID digest (not covered by the meter's signature).
    const altered = { ...bill, cidDigest: `0x${'11'.repeat(32)}` }
    await expectLedgerError(relayer.submitBills([altered]), 'AuthorizationMismatch', {
      household: householdOf(0),
    })
    // Another household signs meter 0's bill.
    const { householdSignature: _, ...plain } = bill
    const wrong = {
      ...plain,
      householdSignature: await signBillAuthorization(householdSigner(1), domain, plain),
    }
    await expectLedgerError(relayer.submitBills([wrong]), 'AuthorizationMismatch', {
      household: householdOf(0),
      recovered: householdOf(1),
    })
    // The relayer dropped the relayer restriction it was given.
    const restricted = await relayed(bills[0]!, 0, { relayerFor: relayerAddress })
    const { relayer: __, ...anyone } = restricted
    await expectLedgerError(relayer.submitBills([anyone]), 'AuthorizationMismatch')
  })

  it('a forged meter signature is refused as it is alone', async () => {
    const bill = await relayed(bills[2]!, 2)
    const forged = { ...bill, signature: signPeriod(meters[3]!, domain, bill.period) }
    await expectLedgerError(relayer.submitBills([forged]), 'SignatureMismatch', {
      meter: meters[2]!.address,
      recovered: meters[3]!.address,
    })
  })
})

describe('a bill breaking a rule', () => {
  it('fails the batch with the error it gets alone (a period that does not start where the last ended)', async () => {
    // A fresh ledger where meter 7 was registered one interval earlier: its bill leaves a gap.
    utility = await deployLedger(env.signers[0]!, env.artifacts, {
      slots: circuit.slots,
      maxIntervals: circuit.n,
    })
    relayer = utility.connect(env.signers[6]!)
    domain = await utility.domain()
    for (const [i, meter] of meters.entries()) {
      await utility.registerMeter({
        meter: meter.address,
        household: householdOf(i),
        areaId: AREA,
        startTime: i === 7 ? REGISTERED_AT - INTERVAL : REGISTERED_AT,
        startCounter: START_COUNTER,
      })
    }
    await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES })
    const batch = await allRelayed()
    const inBatch = await expectLedgerError(relayer.submitBills(batch), 'PeriodGap')
    const alone = await expectLedgerError(
      utility.connect(householdSigner(7)).submitBill(batch[7]!),
      'PeriodGap',
    )
    expect(inBatch.args).toEqual(alone.args)
    expect(inBatch.args.expected).toBe(BigInt(REGISTERED_AT - INTERVAL))
    // Without it the rest go through.
    const { billIds } = await relayer.submitBills(batch.filter((_, i) => i !== 7))
    expect(billIds).toHaveLength(BATCH - 1)
  })
})
