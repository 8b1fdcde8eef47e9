/**
 * How the biller chooses between a net bill and an import bill (issue 17), over a scripted chain and
 * prover (no proofs: the real ones are in net-bills.test.ts): net only when the period exported
 * energy and the tariff has a feed-in curve; a feed-in curve breaking the tariff rules, or published
 * after the period began, is refused before any proof and reported once as a `feed-in-refused`
 * anomaly, and the period is billed as an import bill that says its credit is forgone (a refused
 * curve cannot be replaced: a failure would hold back the meter's later bills for good); the Bill
 * view carries the net fields.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ZkMeterError } from '#protocol/errors.ts'
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

/** The ledger's decoded revert, as the contracts client throws it (classified by its errorName). */
class LedgerRevertError extends ZkMeterError {
  override name = 'LedgerRevertError'
}

function harness(feedIn: FeedInInfo | undefined, storeDir: string) {
  const calls = { prove: 0, proveNet: 0, submitBill: 0, submitNetBill: 0 }
  const refusals: { bill: string; tariffId: string; reason: string }[] = []
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
    refusals,
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
        onFeedInRefused: (r) => refusals.push(r),
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

  it('refuses a feed-in curve that breaks the tariff rules before any proof, and bills the period as an import bill forgoing its credit', async () => {
    // 96 distinct prices: an oracle of when the home exported (the tariff rules allow 4 levels).
    const oracle = Array.from({ length: SLOTS }, (_, s) => 1_000_000_000n + BigInt(s) * 10_000_000n)
    const sub = await mkdtemp(join(dir, 'c-'))
    const { calls, make, refusals } = harness({ tariffId: 1n, netTariffHash: 77n, feedInPrices: oracle }, sub)
    const biller = await make()
    const bill = await biller.addPeriod(period(1_764_000_000, 400))
    await biller.idle()
    const recorded = (await openBillStore(sub)).get(bill.id) as BillRecord
    expect(recorded).toMatchObject({ status: 'verified', amountDue: '1000' })
    expect(recorded.kind).toBeUndefined()
    expect(recorded.failure).toBeUndefined()
    const view = billView(recorded)
    expect(view).toMatchObject({ kind: 'import', exportedWh: 0, credit: null, amountDue: '1000' })
    expect(view.creditForgone).toMatch(/credit is forgone/)
    expect(view.creditForgone).toMatch(/feed-in curve of tariff 1: /)
    // No net proof against the oracle curve; the import bill only.
    expect(calls).toEqual({ prove: 1, proveNet: 0, submitBill: 1, submitNetBill: 0 })
    expect(refusals).toEqual([
      { bill: bill.id, tariffId: '1', reason: expect.stringMatching(/feed-in curve/) },
    ])
    biller.stop()
  })

  it("bills as import, on the resident's retry, a bill an older node failed with feed-in-refused, and the later bill goes on", async () => {
    const oracle = Array.from({ length: SLOTS }, (_, s) => 1_000_000_000n + BigInt(s) * 10_000_000n)
    const sub = await mkdtemp(join(dir, 'g-'))
    const { calls, make } = harness({ tariffId: 1n, netTariffHash: 77n, feedInPrices: oracle }, sub)
    // What a node from before the fallback left: the period failed for good, its successor held back.
    const store = await openBillStore(sub)
    const p = period(1_764_000_000, 400)
    const old = await store.insert({
      id: `${METER}-${p.periodStart}`,
      meter: p.meter,
      periodStart: p.periodStart,
      periodEnd: p.periodEnd,
      startCounter: p.startCounter,
      endCounter: p.endCounter,
      commitment: '11',
      meterSignature: p.meterSignature,
      energyWh: 1000,
      manifestCid: p.manifestCid,
      cidDigest: p.cidDigest,
      exportHalf: { startCounter: 100, endCounter: 500, commitment: '22', signature: '0x01' },
    })
    await store.update(old.id, {
      status: 'failed',
      failure: {
        kind: 'feed-in-refused',
        step: 'waiting-tariff',
        ledgerError: null,
        temporary: false,
        reprove: true,
        advice: 'refused',
      },
    })
    const biller = await make()
    const later = await biller.addPeriod(period(1_764_086_400, 0))
    await biller.idle()
    expect((await openBillStore(sub)).get(later.id)?.status).toBe('waiting-previous')
    await biller.retry(old.id)
    await biller.idle()
    const after = await openBillStore(sub)
    expect(after.get(old.id)).toMatchObject({
      status: 'verified',
      creditForgone: expect.stringMatching(/forgone/),
    })
    expect(after.get(old.id)?.kind).toBeUndefined()
    expect(after.get(later.id)?.status).toBe('verified')
    expect(calls).toMatchObject({ proveNet: 0, submitNetBill: 0, submitBill: 2 })
    biller.stop()
  })

  it('refuses a feed-in curve published after the period began, reports it once, and bills import', async () => {
    const start = 1_764_000_000
    const sub = await mkdtemp(join(dir, 'e-'))
    const { calls, make, refusals, chain } = harness(
      // Rules-abiding prices, but published an hour into the period: aimed at an export under way.
      { tariffId: 1n, netTariffHash: 77n, feedInPrices: FEED_IN, publishedAt: BigInt(start + 3600) },
      sub,
    )
    // The first import submission is refused for a reason that sends the bill back to its tariff: the
    // refusal is checked again there, but told only once.
    const submit = chain.submitBill
    chain.submitBill = async (args) => {
      if (calls.submitBill++ === 0)
        throw new LedgerRevertError('UnknownTariff', { details: { errorName: 'UnknownTariff' } })
      calls.submitBill--
      return submit(args)
    }
    const biller = await make()
    const bill = await biller.addPeriod(period(start, 400))
    await biller.idle()
    const recorded = (await openBillStore(sub)).get(bill.id) as BillRecord
    expect(recorded).toMatchObject({ status: 'verified', amountDue: '1000' })
    expect(recorded.kind).toBeUndefined()
    expect(billView(recorded).creditForgone).toMatch(
      /published at 2025-11-24T17:00:00Z, after this period began/,
    )
    expect(calls).toMatchObject({ prove: 2, proveNet: 0, submitNetBill: 0 })
    expect(refusals).toHaveLength(1)
    expect(refusals[0]).toMatchObject({ bill: bill.id, tariffId: '1' })
    expect(refusals[0]?.reason).toMatch(/after this period began/)

    // A curve published before the period began (the ledger's notice) is proved against as before.
    const ok = harness(
      { tariffId: 1n, netTariffHash: 77n, feedInPrices: FEED_IN, publishedAt: BigInt(start - 86_400) },
      await mkdtemp(join(dir, 'f-')),
    )
    const netBiller = await ok.make()
    await netBiller.addPeriod(period(start, 400))
    await netBiller.idle()
    expect(ok.calls).toMatchObject({ proveNet: 1, submitNetBill: 1 })
    expect(ok.refusals).toEqual([])
    netBiller.stop()
    biller.stop()
  })
})
