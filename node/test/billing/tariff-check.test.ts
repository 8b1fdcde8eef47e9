/**
 * The household node's own check before it proves (docs/privacy.md): against a ledger that let an
 * oracle tariff or a retroactive one through, the node refuses to prove — the bill waits with the
 * reason in plain words, the refusal is reported once (an anomaly in the node) — and it proves at
 * once when the tariff is a real time-of-use one. The chain and the prover are fakes here: what is
 * tested is that no proof is ever made against a refused tariff.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tariffViolation } from '#protocol/tariff-rules.ts'
import { waitFor } from '../../../test/support/wait.ts'
import {
  type Biller,
  type BillingChain,
  type BillProver,
  createBiller,
  type TariffInfo,
} from '../../src/billing/biller.ts'
import { ledgerPolicyWarning } from '../../src/billing/ledger-policy.ts'
import { type BillRecord, openBillStore } from '../../src/billing/store.ts'
import { demoPrices } from '../../src/chain/embedded-chain.ts'

const SLOTS = 96
const GWEI = 1_000_000_000n
const PERIOD_START = 1_764_028_800 // 2025-11-25T00:00:00Z
const METER = `0x${'ab'.repeat(20)}` as const

const superincreasing = Array.from({ length: SLOTS }, (_, s) =>
  s >= 76 && s < 80 ? [1n, 2n ** 15n, 2n ** 30n, 2n ** 45n][s - 76]! : 0n,
)
const hugeBase = Array.from({ length: SLOTS }, (_, s) =>
  s >= 76 && s < 80 ? 2n ** 60n + [1n, 2n ** 15n, 2n ** 30n, 2n ** 45n][s - 76]! : 2n ** 60n,
)
const oneWeiAbove = Array.from({ length: SLOTS }, (_, s) => (s === 77 ? 20n * GWEI + 1n : 20n * GWEI))
const peak = Array.from({ length: SLOTS }, (_, s) => (s >= 68 && s < 84 ? 45n * GWEI : 20n * GWEI))

const dirs: string[] = []
const billers: Biller[] = []
afterEach(async () => {
  // Stopped and idle before their directory goes: a biller still recording a bill would write
  // bills.json (and its temp file) into the directory while rm empties it (ENOTEMPTY under load),
  // or create it anew after the removal.
  for (const biller of billers.splice(0)) {
    biller.stop()
    await biller.idle()
  }
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function billerWith(tariff: TariffInfo) {
  const dir = await mkdtemp(join(tmpdir(), 'zkmeter-tariff-check-'))
  dirs.push(dir)
  const store = await openBillStore(dir)
  const proved: bigint[][] = []
  const refusals: { bill: string; tariffId: string; reason: string }[] = []
  const chain: BillingChain = {
    findTariff: async () => tariff,
    findSubmittedBill: async () => undefined,
    submitBill: async () => ({ chainBillId: `0x${'11'.repeat(32)}`, txHash: `0x${'22'.repeat(32)}` }),
  }
  const prover: BillProver = {
    async prove({ prices }) {
      proved.push([...prices])
      return {
        proof: {
          a: ['1', '2'],
          b: [
            ['3', '4'],
            ['5', '6'],
          ],
          c: ['7', '8'],
        },
        commitment: 42n,
        tariffHash: tariff.hash,
        total: 1000n,
        energyWh: 10n,
      }
    },
  }
  const biller = createBiller({
    store,
    chain,
    prover,
    inputs: { readingsFor: async () => ({ readings: [10], salt: 1n }) },
    slots: SLOTS,
    baseDelayMs: 5,
    maxDelayMs: 20,
    maxAttempts: 2,
    onTariffRefused: (r) => refusals.push(r),
  })
  billers.push(biller)
  const bill = await biller.addPeriod({
    meter: METER,
    periodStart: PERIOD_START,
    periodEnd: PERIOD_START + 86_400,
    startCounter: 0,
    endCounter: 10,
    commitment: 42n,
    meterSignature: `0x${'33'.repeat(65)}`,
    manifestCid: 'bafy-test',
    cidDigest: `0x${'44'.repeat(32)}`,
  })
  return { biller, store, id: bill.id, proved, refusals }
}

const tariffOf = (prices: bigint[], publishedAt = BigInt(PERIOD_START - 7 * 86_400)): TariffInfo => ({
  tariffId: 3n,
  hash: 1234n,
  prices,
  publishedAt,
})

describe('the node refuses to prove against an oracle tariff', () => {
  for (const [name, prices, why] of [
    ['(1) slots 76–79 priced 1, 2^15, 2^30, 2^45', superincreasing, /at most 4 different prices/],
    ['(2) 2^60 plus offsets', hugeBase, /at most 4 different prices/],
    ['(3) one slot one wei above the others', oneWeiAbove, /at least an hour.*19:15 UTC/],
  ] as const) {
    it(name, async () => {
      const { biller, store, id, proved, refusals } = await billerWith(tariffOf([...prices]))
      // The bill keeps waiting: past maxAttempts (2) it is still waiting, never failed, never proved.
      const waiting = await waitFor(
        'the bill to wait on the refused tariff for a while',
        () => {
          const b = store.get(id) as BillRecord
          return b.failure?.kind === 'tariff-refused' && b.attempts >= 4 ? b : undefined
        },
        10_000,
      )
      biller.stop()
      await biller.idle()
      expect(waiting.status).toBe('waiting-tariff')
      expect(waiting.failure?.temporary).toBe(true)
      expect(waiting.failure?.advice).toMatch(/will not prove this bill/)
      expect(waiting.failure?.advice).toMatch(why)
      expect(proved).toEqual([])
      expect(refusals).toHaveLength(1)
      expect(refusals[0]).toMatchObject({ bill: id, tariffId: '3' })
      expect(refusals[0]?.reason).toMatch(why)
    })
  }
})

describe('the node refuses a retroactive tariff', () => {
  it('does not prove against a tariff published after the period began', async () => {
    const late = BigInt(PERIOD_START + 3600)
    const { biller, store, id, proved } = await billerWith(tariffOf(peak, late))
    const waiting = await waitFor(
      'the bill to be refused',
      () => {
        const b = store.get(id) as BillRecord
        return b.failure?.kind === 'tariff-refused' ? b : undefined
      },
      10_000,
    )
    biller.stop()
    await biller.idle()
    expect(waiting.failure?.advice).toMatch(
      /published at 2025-11-25T01:00:00Z, after this period began at 2025-11-25T00:00:00Z/,
    )
    expect(proved).toEqual([])
  })
})

describe('a real time-of-use tariff', () => {
  it("the dev chain's demo tariff obeys the rules", () => {
    expect(tariffViolation(demoPrices(SLOTS), SLOTS)).toBeUndefined()
  })

  it('is proved against and submitted', async () => {
    const { biller, store, id, proved, refusals } = await billerWith(tariffOf(peak))
    await waitFor('the bill to be verified', () => store.get(id)?.status === 'verified', 10_000)
    biller.stop()
    expect(proved).toEqual([peak])
    expect(refusals).toEqual([])
  })
})

describe("the ledger's minimum billing period against the resident's", () => {
  it('warns when the ledger accepts shorter bills than the policy, in words', () => {
    expect(ledgerPolicyWarning(28n * 86_400n, 28)).toBeUndefined()
    expect(ledgerPolicyWarning(31n * 86_400n, 28)).toBeUndefined()
    expect(ledgerPolicyWarning(3600n, 28)).toMatch(/as little as 1 hour; your policy is at least 28 days/)
    expect(ledgerPolicyWarning(7n * 86_400n, 28)).toMatch(/as little as 7 days/)
  })
})
