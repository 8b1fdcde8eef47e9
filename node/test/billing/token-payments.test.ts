/**
 * Token bills on the node (issue 17): the embedded dev chain with `--asset token` deploys the test
 * stablecoin, sets the home's area to it, publishes the demo tariff in Test USD and funds the dev
 * wallet; the biller proves and submits bills priced in it; the dev wallet pays one through the
 * HTTP route with an EIP-2612 permit (one signature, no approve); the payment watch, the bills list,
 * the payments and their CSV read money in Test USD (symbol and 6 decimals), not in wei. A data
 * directory billed in tokens refuses a start with `--asset eth`. Real EDR chain (the node's
 * embedded chain, journaled), real Groth16 proofs (test circuit), real biller, store and routes.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Contract, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meterKey } from '../../../contracts/test/env.ts'
import { devAccount } from '../../../contracts/ts/chain.ts'
import { ERC20_PERMIT_ABI, type LedgerClient } from '../../../contracts/ts/ledger.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { createBiller } from '../../src/billing/biller.ts'
import { openDisplayCurrencyStore } from '../../src/billing/display-currency.ts'
import { isTransientChainError, ledgerBillingChain } from '../../src/billing/ledger-chain.ts'
import { createPaymentWatch, paymentLedger } from '../../src/billing/payment-watch.ts'
import { paymentsCsv, paymentsOf } from '../../src/billing/payments.ts'
import { circuitProver } from '../../src/billing/prover/prover.ts'
import { type BillRecord, openBillStore } from '../../src/billing/store.ts'
import {
  DEV_TOKEN_GRANT,
  demoTokenPrices,
  type EmbeddedChain,
  ensureLedger,
  registerDevMeter,
  startEmbeddedChain,
} from '../../src/chain/embedded-chain.ts'
import { AssetConfigError } from '../../src/chain/errors.ts'
import { provisionMeter } from '../../src/chain/provisioning.ts'
import { type BillsContext, billRoutes } from '../../src/http/routes/bills.ts'
import { assetView } from '../../src/http/views.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { readCsv } from './csv-read.ts'
import { inputsOf, REGISTERED_AT, START_COUNTER, twoPeriods } from './fixtures.ts'

const AREA = 1
let dir: string
let chain: EmbeddedChain
let utility: LedgerClient
let household: LedgerClient
let wallet: Wallet

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-token-bills-'))
  chain = await startEmbeddedChain({ dataDir: dir, host: '127.0.0.1', port: 0 })
  const deployed = await ensureLedger({
    dataDir: dir,
    provider: chain.provider,
    chainId: chain.chainId,
    profile: 'test',
    limits: { slots: 96, maxIntervals: 192 },
  })
  utility = deployed.ledger
  // The node's own wallet (the "dev wallet" the UI pays with): funded with Ether by the dev chain.
  wallet = new Wallet(devAccount(3).privateKey, chain.provider)
  household = utility.connect(wallet)
}, scaledBudget(120_000))

afterAll(async () => {
  await chain?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('--asset token on the embedded dev chain', () => {
  it(
    'bills in Test USD and the dev wallet pays with a permit through the route',
    async () => {
      const meter = meterKey('node-token-bills')
      const dev = { asset: 'token' as const, household: wallet.address as `0x${string}`, areaId: AREA }
      const provisioned = await provisionMeter({
        dataDir: dir,
        ledger: household,
        utility,
        meter: meter.address,
        slots: 96,
        intervalSeconds: 900,
        clockStart: REGISTERED_AT - 1800,
        dev,
      })
      expect(provisioned.asset).toMatchObject({ assetId: 1, symbol: 'tUSD', decimals: 6 })
      expect(await utility.areaAsset(AREA)).toEqual({ assetId: 1, fixed: false })
      const tariffId = await utility.latestTariff(1)
      expect((await utility.tariff(tariffId as bigint)).prices).toEqual(demoTokenPrices())
      const token = new Contract(provisioned.asset.token as string, ERC20_PERMIT_ABI, chain.provider)
      const balance = async () => (await token.getFunction('balanceOf').staticCall(wallet.address)) as bigint
      expect(await balance()).toBe(DEV_TOKEN_GRANT)
      expect(await token.getFunction('name').staticCall()).toBe('Test USD (zkmeter dev)')

      await registerDevMeter({
        ledger: utility,
        meter: meter.address,
        household: wallet.address as `0x${string}`,
        areaId: AREA,
        startTime: REGISTERED_AT,
        startCounter: START_COUNTER,
      })
      expect((await household.meter(meter.address)).assetId).toBe(1)

      const [first, second] = twoPeriods(meter, await household.domain(), 41)
      const store = await openBillStore(dir)
      const biller = createBiller({
        store,
        chain: ledgerBillingChain(household, provisioned.asset.assetId),
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
      expect(verified.map((bill) => bill.tariffId)).toEqual([String(tariffId), String(tariffId)])
      expect(await household.billAsset(verified[0]?.chainBillId as string)).toBe(1)

      const ctx = {
        bills: store,
        biller,
        ledger: household,
        wallet,
        utility: new Wallet(devAccount(0).privateKey),
        config: { dev: true },
        displayCurrency: await openDisplayCurrencyStore(dir),
        asset: provisioned.asset,
      } as unknown as BillsContext
      // A display currency converts Ether only: with one set, the token bills still say null.
      await ctx.displayCurrency.set({ currency: 'EUR', rate: '3000' })
      const routes = billRoutes(ctx)
      const listed = (await routes.bills({} as never)) as Awaited<ReturnType<typeof routes.bills>>
      const asset = { assetId: 1, symbol: 'tUSD', decimals: 6, token: provisioned.asset.token }
      expect(listed.asset).toEqual(asset)
      expect(listed.display).toBeNull()
      expect(listed.bills[0]?.asset).toEqual(asset)
      // Token totals are far below the Ether "nothing to pay" threshold: still due.
      expect(listed.due).toMatchObject({
        count: 2,
        total: (BigInt(verified[0]?.total as string) + BigInt(verified[1]?.total as string)).toString(),
      })

      const paid = (await routes.payBill({ params: { id: a.id } } as never)) as {
        txHash: string
        bill: { status: string }
      }
      expect(paid.bill.status).toBe('paid')
      expect(await balance()).toBe(DEV_TOKEN_GRANT - BigInt(verified[0]?.total as string))
      const receipt = await chain.provider.getTransactionReceipt(paid.txHash)
      // One transaction, no approve: the permit rides in it.
      expect(receipt?.to?.toLowerCase()).toBe(household.address.toLowerCase())
      expect(receipt?.gasUsed).toBeLessThanOrEqual(120_000n)

      const watch = createPaymentWatch({
        bills: store,
        biller,
        ledger: paymentLedger(household),
        log: silentLogger,
      })
      await watch.check()
      expect(store.get(a.id)).toMatchObject({
        status: 'paid',
        paidTx: paid.txHash,
        paidAmount: verified[0]?.total,
      })
      const payments = paymentsOf(store.list(), assetView(provisioned.asset))
      expect(payments).toEqual([expect.objectContaining({ billId: a.id, asset, amount: verified[0]?.total })])
      const rows = readCsv(paymentsCsv(payments, ctx.displayCurrency.get()))
      const header = rows[0] as string[]
      const row = Object.fromEntries(header.map((h, i) => [h, rows[1]?.[i]]))
      const units = BigInt(verified[0]?.total as string)
      expect(row).toMatchObject({
        asset: 'tUSD',
        amount: `${units / 1_000_000n}${units % 1_000_000n === 0n ? '' : `.${(units % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '')}`}`,
        amount_wei: '',
        amount_eth: '',
        display_amount: '',
      })

      // The data directory bills in tokens: a start with --asset eth is refused, plainly.
      await expect(
        provisionMeter({
          dataDir: dir,
          ledger: household,
          utility,
          meter: meter.address,
          slots: 96,
          intervalSeconds: 900,
          clockStart: REGISTERED_AT - 1800,
          dev: { ...dev, asset: 'eth' },
        }),
      ).rejects.toThrow(AssetConfigError)
    },
    scaledBudget(240_000),
  )
})
