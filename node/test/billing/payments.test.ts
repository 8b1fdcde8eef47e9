/**
 * A bill paid from a browser wallet (issue 14): the node records the payment as the ledger's
 * BillPaid event has it (the paying transaction and the account that paid), not the bill's own
 * submission transaction and the household's address; the record survives reopening the store (a
 * reload of the page or a restart of the node); and a bill recorded the old way is corrected. Real
 * ledger on EDR, a real Groth16 proof (test circuit), the real biller, bill store and watch.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { priceCurve } from '../../../contracts/test/bills.ts'
import { meterKey, startTestEnv, type TestEnv } from '../../../contracts/test/env.ts'
import { deployLedger, type LedgerClient } from '../../../contracts/ts/ledger.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { createBiller } from '../../src/billing/biller.ts'
import { isTransientChainError, ledgerBillingChain } from '../../src/billing/ledger-chain.ts'
import { createPaymentWatch, paymentLedger } from '../../src/billing/payment-watch.ts'
import { paymentsOf } from '../../src/billing/payments.ts'
import { circuitProver } from '../../src/billing/prover/prover.ts'
import { type BillRecord, openBillStore } from '../../src/billing/store.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { inputsOf, MIDNIGHT, N, REGISTERED_AT, SLOTS, START_COUNTER, twoPeriods } from './fixtures.ts'

let env: TestEnv
let utility: LedgerClient
let household: LedgerClient
/** A resident's browser wallet: an account that is not the household's. */
let browserWallet: LedgerClient
let dir: string

beforeAll(async () => {
  env = await startTestEnv()
  utility = await deployLedger(env.signers[0] as never, env.artifacts, { slots: SLOTS, maxIntervals: N })
  household = utility.connect(env.signers[1] as never)
  browserWallet = utility.connect(env.signers[2] as never)
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-payments-'))
  await utility.publishTariff({
    effectiveFrom: MIDNIGHT,
    prices: priceCurve(10n ** 12n, 3n * 10n ** 12n, SLOTS),
  })
}, scaledBudget(120_000))

afterAll(async () => {
  await env?.chain.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('a bill paid from another account', () => {
  it(
    'records the paying transaction and the payer from BillPaid, and keeps them across a reopen',
    async () => {
      const meter = meterKey('payments-browser-wallet')
      await utility.registerMeter({
        meter: meter.address,
        household: env.signers[1]?.address as string,
        areaId: 1,
        startTime: REGISTERED_AT,
        startCounter: START_COUNTER,
      })
      const [first, second] = twoPeriods(meter, await utility.domain(), 11)
      const store = await openBillStore(dir)
      const biller = createBiller({
        store,
        chain: ledgerBillingChain(household),
        prover: await circuitProver('test'),
        inputs: inputsOf([first, second]),
        isTransient: isTransientChainError,
        baseDelayMs: 20,
        maxAttempts: 3,
      })
      const a = await biller.addPeriod(first.period)
      const b = await biller.addPeriod(second.period)
      await biller.idle()
      const verified = [store.get(a.id), store.get(b.id)] as BillRecord[]
      expect(verified.map((bill) => bill.status)).toEqual(['verified', 'verified'])

      // The resident pays the first from a browser wallet: the node sees only the chain.
      const paid = await browserWallet.payBill(verified[0]?.chainBillId as string)
      const watch = createPaymentWatch({
        bills: store,
        biller,
        ledger: paymentLedger(household),
        log: silentLogger,
      })
      await watch.check()
      const recorded = store.get(a.id) as BillRecord
      expect(recorded.status).toBe('paid')
      // The receipt view's block, block time and amount, from the event's block.
      const block = await env.provider.getBlock(paid.blockNumber)
      expect(recorded).toMatchObject({
        paidBlock: paid.blockNumber,
        paidAt: block?.timestamp,
        paidAmount: verified[0]?.total,
      })
      expect(paymentsOf(store.list())).toEqual([
        expect.objectContaining({
          billId: a.id,
          txHash: paid.hash,
          amount: verified[0]?.total,
          blockNumber: paid.blockNumber,
          paidAt: block?.timestamp,
          commitment: verified[0]?.commitment,
        }),
      ])
      expect(recorded.paidTx).toBe(paid.hash)
      expect(recorded.paidTx).not.toBe(recorded.submitTx)
      expect(recorded.paidBy?.toLowerCase()).toBe(env.signers[2]?.address.toLowerCase())
      expect(recorded.paidBy?.toLowerCase()).not.toBe(env.signers[1]?.address.toLowerCase())
      expect(store.get(b.id)?.status).toBe('verified')

      // A reload or restart reads the store again: the receipt is still the wallet's.
      const reopened = (await openBillStore(dir)).get(a.id) as BillRecord
      expect(reopened).toMatchObject({ status: 'paid', paidTx: paid.hash, paidBy: recorded.paidBy })

      // The second, paid and recorded the old way (its submission tx, the household as payer), is
      // corrected from its event on the next pass.
      const paidSecond = await browserWallet.payBill(verified[1]?.chainBillId as string)
      await store.update(b.id, {
        status: 'paid',
        paidTx: verified[1]?.submitTx as `0x${string}`,
        paidBy: env.signers[1]?.address as `0x${string}`,
      })
      await watch.check()
      expect(store.get(b.id)).toMatchObject({ status: 'paid', paidTx: paidSecond.hash })
      expect(store.get(b.id)?.paidBy?.toLowerCase()).toBe(env.signers[2]?.address.toLowerCase())
      expect((await household.payment(verified[1]?.chainBillId as string))?.amount).toBe(
        BigInt(verified[1]?.total as string),
      )
    },
    scaledBudget(180_000),
  )
})
