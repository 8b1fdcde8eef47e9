/**
 * How the biller chooses between a net bill and an import bill (issue 17), over a scripted chain and
 * prover (no proofs: the real ones are in net-bills.test.ts): net only when the period exported
 * energy and the tariff has a feed-in curve; a feed-in curve breaking the tariff rules is refused
 * before any proof, with the failure kind the resident sees; the Bill view carries the net fields.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type BillingChain,
  type BillProver,
  type ClosedPeriod,
  createBiller,
  type FeedInInfo,
  type NetBillProofResult,
} from '../../src/billing/biller.ts'
import { type BillRecord, openBillStore } from '../../src/billing/store.ts'
import { billView } from '../../src/http/views.ts'

const SLOTS = 96
const METER = '0x2222222222222222222222222222222222222222'
const PRICES = Array.from({ length: SLOTS }, (_, s) =>
  s >= 68 && s < 88 ? 45_000_000_000n : 20_000_000_000n,
)
const FEED_IN = Array.from({ length: SLOTS }, () => 8_000_000_000n)
const PROOF = {
  a: ['1', '2'],
  b: [
    ['3', '4'],
    ['5', '6'],
  ],
  c: ['7', '8'],
}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-net-choice-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A period of 1,000 imported Wh; `exported` Wh on its export half (none: a close without one). */
function period(start: number, exported: number | undefined): ClosedPeriod {
  return {
    meter: METER,
    periodStart: start,
    periodEnd: start + 86_400,
    startCounter: 5000,
    endCounter: 6000,
    commitment: 11n,
    meterSignature: '0x00',
    manifestCid: `bafy-${start}`,
    cidDigest: `0x${'00'.repeat(32)}`,
    ...(exported === undefined
      ? {}
      : {
          exportHalf: { startCounter: 100, endCounter: 100 + exported, commitment: 22n, signature: '0x01' },
        }),
  }
}

function harness(feedIn: FeedInInfo | undefined, storeDir: string) {
  const calls = { prove: 0, proveNet: 0, submitBill: 0, submitNetBill: 0 }
  const chain: BillingChain = {
    findTariff: async () => ({ tariffId: 1n, hash: 99n, prices: PRICES }),
    findSubmittedBill: async () => undefined,
    submitBill: async () => {
      calls.submitBill++
      return { chainBillId: `0x${'aa'.repeat(32)}`, txHash: `0x${'bb'.repeat(32)}` }
    },
    findFeedIn: async () => feedIn,
    submitNetBill: async () => {
      calls.submitNetBill++
      return { chainBillId: `0x${'cc'.repeat(32)}`, txHash: `0x${'dd'.repeat(32)}` }
    },
    billAmounts: async (bill) =>
      bill.kind === 'net'
        ? { amountDue: 0n, creditUsed: 0n, paid: true }
        : { amountDue: 1000n, creditUsed: 0n, paid: false },
  }
  const prover: BillProver = {
    prove: async () => {
      calls.prove++
      return { proof: PROOF, commitment: 11n, tariffHash: 99n, total: 1000n, energyWh: 1000n }
    },
    proveNet: async (inputs): Promise<NetBillProofResult> => {
      calls.proveNet++
      const exportWh = BigInt(inputs.exportReadings.reduce((a, b) => a + b, 0))
      return {
        proof: PROOF,
        commitment: 11n,
        exportCommitment: 22n,
        tariffHash: 77n,
        cost: 1000n,
        credit: 1500n,
        importWh: 1000n,
        exportWh,
      }
    },
  }
  return {
    calls,
    chain,
    make: async () =>
      createBiller({
        store: await openBillStore(storeDir),
        chain,
        prover,
        inputs: {
          readingsFor: async (bill: BillRecord) => ({
            readings: [1000],
            salt: 1n,
            exportReadings: [(bill.exportHalf?.endCounter ?? 0) - (bill.exportHalf?.startCounter ?? 0)],
          }),
        },
        slots: SLOTS,
        baseDelayMs: 5,
        maxAttempts: 2,
      }),
  }
}

describe('net or import', () => {
  it('bills net when the period exported and the tariff has a feed-in curve; import otherwise', async () => {
    const sub = await mkdtemp(join(dir, 'a-'))
    const { calls, make } = harness({ tariffId: 1n, netTariffHash: 77n, feedInPrices: FEED_IN }, sub)
    const biller = await make()
    const net = await biller.addPeriod(period(1_764_000_000, 400))
    await biller.idle()
    const none = await biller.addPeriod(period(1_764_086_400, 0))
    const old = await biller.addPeriod(period(1_764_172_800, undefined))
    await biller.idle()
    const store = await openBillStore(sub)
    const views = [net, none, old].map((b) => billView(store.get(b.id) as BillRecord))
    expect(views[0]).toMatchObject({
      kind: 'net',
      exportedWh: 400,
      total: '1000',
      credit: '1500',
      creditUsed: '0',
      amountDue: '0',
      status: 'paid',
    })
    expect(store.get(net.id)).toMatchObject({ netTariffHash: '77', feedInPrices: FEED_IN.map(String) })
    for (const v of views.slice(1)) {
      expect(v).toMatchObject({
        kind: 'import',
        exportedWh: 0,
        credit: null,
        creditUsed: '0',
        amountDue: '1000',
        status: 'verified',
      })
    }
    expect(calls).toEqual({ prove: 2, proveNet: 1, submitBill: 2, submitNetBill: 1 })
    biller.stop()
  })

  it('bills import when the tariff has no feed-in curve, even with export', async () => {
    const { calls, make } = harness(undefined, await mkdtemp(join(dir, 'b-')))
    const biller = await make()
    await biller.addPeriod(period(1_764_000_000, 400))
    await biller.idle()
    expect(calls).toEqual({ prove: 1, proveNet: 0, submitBill: 1, submitNetBill: 0 })
    biller.stop()
  })

  it('records a submitted bill verified when the ledger does not answer for its amounts, and reads them at the next start', async () => {
    const sub = await mkdtemp(join(dir, 'd-'))
    const { calls, make, chain } = harness(undefined, sub)
    const read = chain.billAmounts as NonNullable<BillingChain['billAmounts']>
    let down = true
    chain.billAmounts = async (bill, id) => {
      if (down) throw new Error('the chain did not answer')
      return read(bill, id)
    }
    const first = await make()
    const bill = await first.addPeriod(period(1_764_000_000, undefined))
    await first.idle()
    first.stop()
    const stored = (await openBillStore(sub)).get(bill.id) as BillRecord
    expect(stored).toMatchObject({ status: 'verified', attempts: 0 })
    expect(stored.amountDue).toBeUndefined()
    expect(stored.failure).toBeUndefined()
    // A start while the chain still does not answer: the bill stays verified, it never fails for it.
    const restarted = await make()
    await restarted.resume()
    await restarted.idle()
    restarted.stop()
    expect((await openBillStore(sub)).get(bill.id)).toMatchObject({ status: 'verified', attempts: 0 })
    down = false
    const second = await make()
    await second.resume()
    await second.idle()
    expect((await openBillStore(sub)).get(bill.id)).toMatchObject({ status: 'verified', amountDue: '1000' })
    expect(calls.submitBill).toBe(1)
    second.stop()
  })

  it('refuses a feed-in curve that breaks the tariff rules before any proof (feed-in-refused)', async () => {
    // 96 distinct prices: an oracle of when the home exported (the tariff rules allow 4 levels).
    const oracle = Array.from({ length: SLOTS }, (_, s) => 1_000_000_000n + BigInt(s) * 10_000_000n)
    const sub = await mkdtemp(join(dir, 'c-'))
    const { calls, make } = harness({ tariffId: 1n, netTariffHash: 77n, feedInPrices: oracle }, sub)
    const biller = await make()
    const bill = await biller.addPeriod(period(1_764_000_000, 400))
    await biller.idle()
    const failed = (await openBillStore(sub)).get(bill.id) as BillRecord
    expect(failed.status).toBe('failed')
    expect(failed.failure).toMatchObject({ kind: 'feed-in-refused', temporary: false })
    expect(failed.failure?.advice).toMatch(/feed-in curve of tariff 1/)
    expect(calls).toEqual({ prove: 0, proveNet: 0, submitBill: 0, submitNetBill: 0 })
    biller.stop()
  })
})
