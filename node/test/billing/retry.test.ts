/**
 * Failed bills and their retry (issue 3), on the real ledger (EDR) with real Groth16 proofs (test
 * circuit): why a bill failed is classified from the ledger's decoded error, temporary failures are
 * retried automatically, later periods wait for a failed one and continue in order once it is
 * on-chain, and the resident's retry re-runs the failed step (re-proving when the proof is useless).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Eip712Domain } from '#protocol/eip712.ts'
import { priceCurve } from '../../../contracts/test/bills.ts'
import { meterKey, startTestEnv, type TestEnv } from '../../../contracts/test/env.ts'
import { deployLedger, type LedgerClient } from '../../../contracts/ts/ledger.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { waitUntil as until } from '../../../test/support/wait.ts'
import {
  type BillerOptions,
  type BillProver,
  createBiller,
  type PendingPeriod,
} from '../../src/billing/biller.ts'
import { BillNotFailedError } from '../../src/billing/failures.ts'
import { isTransientChainError, ledgerBillingChain } from '../../src/billing/ledger-chain.ts'
import { circuitProver } from '../../src/billing/prover/prover.ts'
import {
  type BillRecord,
  type BillStore,
  billId,
  openBillStore,
  UnknownBillError,
} from '../../src/billing/store.ts'
import {
  inputsOf,
  MIDNIGHT,
  N,
  REGISTERED_AT,
  SLOTS,
  START_COUNTER,
  type TestPeriod,
  twoPeriods,
} from './fixtures.ts'

let env: TestEnv
let utility: LedgerClient
let household: LedgerClient
let domain: Eip712Domain
let circuit: BillProver
const dirs: string[] = []

beforeAll(async () => {
  env = await startTestEnv()
  utility = await deployLedger(env.signers[0] as never, env.artifacts, { slots: SLOTS, maxIntervals: N })
  household = utility.connect(env.signers[1] as never)
  domain = await utility.domain()
  circuit = await circuitProver('test')
}, scaledBudget(120_000))

afterAll(async () => {
  await env?.chain.close()
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

const register = (meter: `0x${string}`) =>
  utility.registerMeter({
    meter,
    household: env.signers[1]?.address as string,
    areaId: 1,
    startTime: REGISTERED_AT,
    startCounter: START_COUNTER,
  })

/** A prover that counts its proofs (and can be told to lie once about the total). */
function countingProver(options: { tamperFirstTotal?: boolean } = {}) {
  let proofs = 0
  const prover: BillProver = {
    async prove(inputs) {
      proofs++
      const result = await circuit.prove(inputs)
      // A proof whose public total is off by one wei: the ledger's verifier must reject it.
      if (options.tamperFirstTotal && proofs === 1) return { ...result, total: result.total + 1n }
      return result
    },
  }
  return { prover, proofs: () => proofs }
}

async function billing(
  periods: TestPeriod[],
  prover: BillProver,
  overrides: Partial<BillerOptions> = {},
  ledger: LedgerClient = household,
) {
  const dir = await mkdtemp(join(tmpdir(), 'zkmeter-billing-'))
  dirs.push(dir)
  const store = await openBillStore(dir)
  const biller = createBiller({
    store,
    chain: ledgerBillingChain(ledger),
    prover,
    inputs: inputsOf(periods),
    isTransient: isTransientChainError,
    baseDelayMs: 20,
    maxAttempts: 3,
    ...overrides,
  })
  const events: BillRecord[] = []
  biller.on('bill', (bill) => events.push(bill))
  return { store, biller, events, dir }
}

const statusesOf = (events: BillRecord[], id: string) =>
  events.filter((e) => e.id === id).map((e) => e.status)

describe('a bill the ledger could not take yet', () => {
  it(
    'fails for a missing tariff, the next period waits, and a retry after publication bills both in order',
    async () => {
      const meter = meterKey('retry-tariff')
      await register(meter.address)
      const [first, second] = twoPeriods(meter, domain, 1)
      const { prover, proofs } = countingProver()
      const { store, biller, events } = await billing([first, second], prover)

      // No tariff on the ledger: retried automatically (capped at 3 attempts), then failed.
      const added = await biller.addPeriod(first.period)
      await biller.idle()
      const failed = store.get(added.id) as BillRecord
      expect(failed.status).toBe('failed')
      expect(failed.error?.name).toBe('TariffMissingError')
      expect(failed.failure).toMatchObject({ kind: 'tariff-missing', temporary: true, reprove: true })
      expect(failed.failure?.advice).toMatch(/has not published a tariff/)
      expect(failed.attempts).toBe(3)
      // While it was being retried automatically, the bill said when the next attempt was due.
      expect(events.some((e) => e.id === added.id && e.status === 'waiting-tariff' && e.nextAttemptAt)).toBe(
        true,
      )

      // The utility publishes the tariff; the next period closes, is proved, and waits (not failed).
      await utility.publishTariff({
        effectiveFrom: MIDNIGHT,
        prices: priceCurve(10n ** 12n, 3n * 10n ** 12n, SLOTS),
      })
      const later = await biller.addPeriod(second.period)
      await biller.idle()
      const waiting = store.get(later.id) as BillRecord
      expect(waiting.status).toBe('waiting-previous')
      expect(waiting.waitingFor).toBe(added.id)
      expect(waiting.proof).toBeDefined()
      expect(await household.bills({ meter: meter.address })).toEqual([])
      // Only a failed bill can be retried; an unknown one is named as such.
      await expect(biller.retry(later.id)).rejects.toBeInstanceOf(BillNotFailedError)
      await expect(biller.retry('0xnope-1')).rejects.toBeInstanceOf(UnknownBillError)

      // The resident retries: concurrent clicks restart it once, from the tariff.
      const [a, b] = await Promise.all([biller.retry(added.id), biller.retry(added.id)])
      expect(a).toEqual(b)
      expect(a.status).toBe('waiting-tariff')
      expect(a.failure).toBeUndefined()
      await biller.idle()
      await expect(biller.retry(added.id)).rejects.toThrow(/already on the ledger/)

      const [one, two] = [store.get(added.id), store.get(later.id)] as BillRecord[]
      expect(one?.status).toBe('verified')
      expect(two?.status).toBe('verified')
      expect(one?.retries).toBe(1)
      expect(statusesOf(events, later.id)).toEqual([
        'waiting-tariff',
        'proving',
        'submitting',
        'waiting-previous',
        'submitting',
        'verified',
      ])
      expect(statusesOf(events, later.id)).not.toContain('failed')
      // On-chain in period order, each once; the second was proved once and not again.
      const onChain = await household.bills({ meter: meter.address })
      expect(onChain.map((b) => Number(b.period.periodStart))).toEqual([
        first.period.periodStart,
        second.period.periodStart,
      ])
      expect(onChain.map((b) => b.billId)).toEqual([one?.chainBillId, two?.chainBillId])
      expect(proofs()).toBe(2)
    },
    scaledBudget(120_000),
  )

  it(
    'retries automatically while the meter is not registered, keeping the proof, and verifies once it is',
    async () => {
      const meter = meterKey('retry-registration')
      const [first] = twoPeriods(meter, domain, 3)
      const { prover, proofs } = countingProver()
      const { store, biller, events } = await billing([first], prover, { baseDelayMs: 300, maxAttempts: 8 })
      // The utility registers the meter when the first rejection (the ledger's UnknownMeter) is seen.
      let registered: Promise<unknown> | undefined
      biller.on('bill', (bill) => {
        if (bill.failure?.ledgerError === 'UnknownMeter') registered ??= register(meter.address)
      })
      const bill = await biller.addPeriod(first.period)
      await biller.idle()
      await registered
      const done = store.get(bill.id) as BillRecord
      expect(done.status).toBe('verified')
      expect(done.failure).toBeUndefined()
      expect(done.error).toBeUndefined()
      const rejected = events.find((e) => e.failure?.kind === 'meter-not-registered')
      expect(rejected).toMatchObject({ status: 'submitting', failure: { temporary: true, reprove: false } })
      expect(rejected?.nextAttemptAt).toBeDefined()
      expect(statusesOf(events, bill.id)).not.toContain('failed')
      expect(proofs()).toBe(1)
    },
    scaledBudget(120_000),
  )

  it(
    're-proves from the vault on retry when the ledger rejected the proof',
    async () => {
      const meter = meterKey('retry-proof')
      await register(meter.address)
      const [first] = twoPeriods(meter, domain, 5)
      const { prover, proofs } = countingProver({ tamperFirstTotal: true })
      const { store, biller } = await billing([first], prover)
      const bill = await biller.addPeriod(first.period)
      await biller.idle()
      const failed = store.get(bill.id) as BillRecord
      expect(failed.status).toBe('failed')
      expect(failed.error?.name).toBe('LedgerRevertError')
      expect(failed.failure).toMatchObject({
        kind: 'proof-rejected',
        ledgerError: 'ProofRejected',
        temporary: false,
      })
      expect(failed.attempts).toBe(1)

      const restarted = await biller.retry(bill.id)
      expect(restarted.status).toBe('waiting-tariff')
      expect(restarted.proof).toBeUndefined()
      await biller.idle()
      const verified = store.get(bill.id) as BillRecord
      expect(verified.status).toBe('verified')
      expect(proofs()).toBe(2)
      expect((await household.billStatus(verified.chainBillId as string)).total).toBe(
        BigInt(verified.total as string),
      )
    },
    scaledBudget(120_000),
  )

  it(
    'fails with earlier-bill-missing on a PeriodGap for a period the node never had, and a retry bills it once that one is',
    async () => {
      const meter = meterKey('retry-gap')
      await register(meter.address)
      const [first, second] = twoPeriods(meter, domain, 7)
      const { prover, proofs } = countingProver()
      const { store, biller } = await billing([first, second], prover)
      const later = await biller.addPeriod(second.period)
      await biller.idle()
      const failed = store.get(later.id) as BillRecord
      expect(failed.status).toBe('failed')
      expect(failed.failure).toMatchObject({ kind: 'earlier-bill-missing', ledgerError: 'PeriodGap' })

      // The missing period turns up (e.g. recovered from the meter) and is billed first.
      const earlier = await biller.addPeriod(first.period)
      await biller.idle()
      expect(store.get(earlier.id)?.status).toBe('verified')
      expect(store.get(later.id)?.status).toBe('failed')
      // The stored proof is still good: the retry resubmits it.
      expect((await biller.retry(later.id)).status).toBe('submitting')
      await biller.idle()
      expect(store.get(later.id)?.status).toBe('verified')
      expect(proofs()).toBe(2)
    },
    scaledBudget(120_000),
  )

  it(
    'waits on a PeriodGap while the earlier period is still pending on this node, and bills both once it is (issue 15)',
    async () => {
      // The chaos harness's seed 8: the first period's seal failed on a full disk, so its bill did
      // not exist yet when the second period's bill reached the ledger, which answered PeriodGap.
      const meter = meterKey('gap-pending')
      await register(meter.address)
      const [first, second] = twoPeriods(meter, domain, 11)
      const { prover, proofs } = countingProver()
      let pending: PendingPeriod | undefined = {
        periodStart: first.period.periodStart,
        why: 'its records are being sealed in the vault',
      }
      const { store, biller, events } = await billing([first, second], prover, {
        earlierPending: (bill) =>
          bill.periodStart > (pending?.periodStart ?? Infinity) ? pending : undefined,
      })
      const later = await biller.addPeriod(second.period)
      await biller.idle()
      const waiting = store.get(later.id) as BillRecord
      expect(waiting.status).toBe('waiting-previous')
      expect(waiting.waitingFor).toBe(billId(meter.address, first.period.periodStart))
      expect(waiting.failure).toMatchObject({
        kind: 'earlier-bill-missing',
        ledgerError: 'PeriodGap',
        temporary: true,
        reprove: false,
      })
      expect(waiting.failure?.advice).toMatch(/being sealed in the vault.*goes on by itself/)
      expect(waiting.proof).toBeDefined()
      // Looked at again while that period is still pending: it keeps waiting, the ledger untouched.
      biller.recheckWaiting()
      await biller.idle()
      expect(store.get(later.id)?.status).toBe('waiting-previous')

      // The seal is retried once the disk is back and the earlier bill is recorded: it goes on the
      // ledger, and the waiting one follows with its kept proof, each once, in order.
      pending = undefined
      const earlier = await biller.addPeriod(first.period)
      await biller.idle()
      expect(store.get(earlier.id)?.status).toBe('verified')
      expect(store.get(later.id)).toMatchObject({ status: 'verified' })
      expect(store.get(later.id)?.failure).toBeUndefined()
      expect(statusesOf(events, later.id)).not.toContain('failed')
      const onChain = await household.bills({ meter: meter.address })
      expect(onChain.map((b) => Number(b.period.periodStart))).toEqual([
        first.period.periodStart,
        second.period.periodStart,
      ])
      expect(proofs()).toBe(2)
    },
    scaledBudget(120_000),
  )

  it(
    'does not wait for ever: once the earlier period can never be billed, the waiting bill fails on the PeriodGap',
    async () => {
      const meter = meterKey('gap-rejected')
      await register(meter.address)
      const [first, second] = twoPeriods(meter, domain, 13)
      const { prover } = countingProver()
      let pending: PendingPeriod | undefined = {
        periodStart: first.period.periodStart,
        why: 'the node still waits for interval records of it',
      }
      const { store, biller } = await billing([first, second], prover, { earlierPending: () => pending })
      const later = await biller.addPeriod(second.period)
      await biller.idle()
      expect(store.get(later.id)?.status).toBe('waiting-previous')
      // The ingestor rejects that period for good (records signed gone): nothing will fill the gap.
      pending = undefined
      biller.recheckWaiting()
      await biller.idle()
      expect(store.get(later.id)).toMatchObject({
        status: 'failed',
        failure: { kind: 'earlier-bill-missing', ledgerError: 'PeriodGap', temporary: false },
      })
      expect(await household.bills({ meter: meter.address })).toEqual([])
    },
    scaledBudget(120_000),
  )

  it(
    'rides out a full disk under the bill store: no bill failed, the work retried when woken, billed once',
    async () => {
      const meter = meterKey('store-full')
      await register(meter.address)
      const [first] = twoPeriods(meter, domain, 15)
      const { prover, proofs } = countingProver()
      // While `full`, each change is made in memory and its write fails with ENOSPC, as the store
      // does on a full disk (its atomic writer leaves the old file whole:
      // node/test/ingest/disk-full.test.ts); the biller must neither fail the bill nor lose its place.
      let full = false
      let refused = 0
      const withFullDisk = (store: BillStore): BillStore => ({
        ...store,
        async update(id, patch) {
          const bill = await store.update(id, patch)
          if (full) {
            refused++
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
          }
          return bill
        },
      })
      const dir = await mkdtemp(join(tmpdir(), 'zkmeter-billing-'))
      dirs.push(dir)
      const store = withFullDisk(await openBillStore(dir))
      const biller = createBiller({
        store,
        chain: ledgerBillingChain(household),
        prover,
        inputs: inputsOf([first]),
        isTransient: isTransientChainError,
        baseDelayMs: 600_000,
        maxAttempts: 1,
      })
      full = true
      const bill = await biller.addPeriod(first.period)
      // The step's write fails, then the write recording that failure: past its one automatic
      // attempt it would be failed for any other temporary reason; not for a full disk.
      await until(() => refused >= 2, scaledBudget(30_000), 'the two refused writes')
      expect(store.get(bill.id)?.status).not.toBe('failed')
      expect(store.get(bill.id)?.failure).toMatchObject({ kind: 'interrupted', temporary: true })
      full = false
      biller.wake()
      await until(() => store.get(bill.id)?.status === 'verified', scaledBudget(60_000))
      await biller.idle()
      expect(await household.bills({ meter: meter.address })).toHaveLength(1)
      expect(proofs()).toBe(1)
    },
    scaledBudget(120_000),
  )

  it(
    'tries again at once when woken (a tariff was published) instead of waiting out its backoff',
    async () => {
      // A ledger of its own, without any tariff yet.
      const fresh = await deployLedger(env.signers[0] as never, env.artifacts, {
        slots: SLOTS,
        maxIntervals: N,
      })
      const meter = meterKey('retry-wake')
      await fresh.registerMeter({
        meter: meter.address,
        household: env.signers[1]?.address as string,
        areaId: 1,
        startTime: REGISTERED_AT,
        startCounter: START_COUNTER,
      })
      const [first] = twoPeriods(meter, await fresh.domain(), 9)
      const { prover } = countingProver()
      const { store, biller } = await billing(
        [first],
        prover,
        { baseDelayMs: 600_000, maxAttempts: 5 },
        fresh.connect(env.signers[1] as never),
      )
      const retrying = new Promise<BillRecord>((resolve) =>
        biller.on('bill', (bill) => {
          if (bill.nextAttemptAt) resolve(bill)
        }),
      )
      const bill = await biller.addPeriod(first.period)
      const waiting = await retrying
      expect(waiting).toMatchObject({ status: 'waiting-tariff', failure: { kind: 'tariff-missing' } })
      // Ten minutes until the next attempt; the publication wakes it now.
      expect(Date.parse(waiting.nextAttemptAt as string) - Date.now()).toBeGreaterThan(500_000)
      await fresh.publishTariff({
        effectiveFrom: MIDNIGHT,
        prices: priceCurve(10n ** 12n, 2n * 10n ** 12n, SLOTS),
      })
      biller.wake()
      await biller.idle()
      expect(store.get(bill.id)).toMatchObject({ status: 'verified', attempts: 0 })
      expect(store.get(bill.id)?.nextAttemptAt).toBeUndefined()
    },
    scaledBudget(120_000),
  )
})
