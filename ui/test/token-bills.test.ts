/**
 * Token bills end to end (issue 17): `node/src/cli.ts start --asset token` bills in the embedded
 * chain's test stablecoin (Test USD, 6 decimals, EIP-2612), and the production UI in Debian's
 * Chromium pays them: with an injected EIP-1193 wallet by a permit (one typed-data signature, one
 * transaction), with a wallet that cannot sign typed data by approve + pay, and with the dev wallet
 * (the node signs the permit). Amounts read in tUSD, not ETH.
 *
 * The node, the pairing and the injected wallet (EIP-6963, requests forwarded to the test process,
 * which signs with a funded development key, eth_signTypedData_v4 included) are
 * support/real-node.ts's.
 */
import { Contract, type JsonRpcProvider, Wallet } from 'ethers'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scaledBudget } from '../../test/support/load.ts'
import type { Browser } from './browser.ts'
import { devKey, launchBrowser, pairedPage, type RealNode, startRealNode } from './support/real-node.ts'

let node: RealNode
/** Whether the injected wallet signs typed data (false: it answers 4200, as a wallet without EIP-712 does). */
let signsTypedData = true
let browser: Browser
let page: Page
let base: string
/** Development account 5 of the embedded chain (funded; neither the utility nor the household). */
const payerKey = devKey(5)

const api = <T>(path: string, init?: RequestInit): Promise<T> => node.api<T>(path, init)

/**
 * Each payment test pays a bill of its own, so each waits for a period to close and be proved: at
 * real-node.ts's 2880× (a period every 30 s) those waits were most of this file. At 8640× one closes
 * every 10 s; the live samples go from every simulated minute to every 5 minutes, so the node ingests
 * fewer records a second than at 2880× (29 instead of 48).
 */
const SPEED = ['--meter-speed', '8640', '--meter-live-period', '300']

beforeAll(async () => {
  node = await startRealNode(['--asset', 'token', ...SPEED])
  base = node.base
  browser = await launchBrowser()
  page = await pairedPage(node, browser, { key: payerKey, signsTypedData: () => signsTypedData })
})

afterAll(async () => {
  await browser?.close()
  await node?.close()
})

interface Bill {
  id: string
  status: string
  total: string | null
  chainBillId: string | null
  paidTx: string | null
  paidBy: string | null
}

async function verifiedBills(): Promise<Bill[]> {
  const { bills } = await api<{ bills: Bill[] }>('/api/bills')
  return bills.filter((b) => b.status === 'verified')
}

interface Asset {
  assetId: number
  symbol: string
  decimals: number
  token: string | null
}

const chainProvider = (): JsonRpcProvider => node.chainProvider()

/** The payer's Test USD: minted by the dev utility (account 0, the token's minter). */
async function fundPayer(token: string): Promise<void> {
  const provider = chainProvider()
  const minter = new Wallet(devKey(0), provider)
  const erc20 = new Contract(token, ['function mint(address to, uint256 amount)'], minter)
  await (await erc20.getFunction('mint').send(new Wallet(payerKey).address, 1_000_000_000n)).wait()
  provider.destroy()
}

async function tokenBalance(token: string, owner: string): Promise<bigint> {
  const provider = chainProvider()
  const erc20 = new Contract(token, ['function balanceOf(address) view returns (uint256)'], provider)
  const balance = (await erc20.getFunction('balanceOf').staticCall(owner)) as bigint
  provider.destroy()
  return balance
}

let asset: Asset

async function payWithInjectedWallet(): Promise<{ bill: Bill; txHash: string }> {
  await expect
    .poll(async () => (await verifiedBills()).length, { timeout: scaledBudget(200_000), interval: 250 })
    .toBeGreaterThan(0)
  const bill = (await verifiedBills())[0]!
  await page.goto(`${base}/#/bills`)
  // A fresh page: the wallet connects anew (an earlier test may have connected it).
  await page.reload()
  await page.getByRole('button', { name: 'Connect E2E Dev Key Wallet' }).click()
  const card = page.locator(`[data-bill="${bill.id}"]`)
  const pay = card.getByRole('button', { name: /with E2E Dev Key Wallet/ })
  // The amount is in the bill's asset: tUSD, never ETH.
  expect(await pay.getAttribute('aria-label')).toMatch(/^Pay [\d,.]+ tUSD with E2E Dev Key Wallet$/)
  await pay.click()
  await expect
    .poll(() => card.locator('[data-status]').textContent(), { timeout: scaledBudget(90_000) })
    .toBe('paid')
  const txHash = (await card.locator('[data-tx]').textContent()) ?? ''
  return { bill, txHash }
}

describe('token bills in the real UI (--asset token)', () => {
  beforeAll(async () => {
    const chain = await api<{ asset: Asset; tokenPermit: { name: string; version: string } | null }>(
      '/api/chain',
    )
    asset = chain.asset
    expect(asset).toMatchObject({ assetId: 1, symbol: 'tUSD', decimals: 6 })
    expect(chain.tokenPermit).toEqual({ name: 'Test USD (zkmeter dev)', version: '1' })
    await fundPayer(asset.token as string)
  })

  it('pays a token bill with the injected wallet by a permit: one signature, one transaction', {
    timeout: scaledBudget(300_000),
  }, async () => {
    const payer = new Wallet(payerKey).address
    const before = await tokenBalance(asset.token as string, payer)
    const { bill, txHash } = await payWithInjectedWallet()
    const provider = chainProvider()
    const receipt = await provider.getTransactionReceipt(txHash)
    expect(receipt?.status).toBe(1)
    expect(receipt?.from.toLowerCase()).toBe(payer.toLowerCase())
    // To the ledger, not to the token: no approve came before it (the payer's nonce moved by one).
    expect(receipt?.to?.toLowerCase()).not.toBe((asset.token as string).toLowerCase())
    expect(await provider.getTransactionCount(payer)).toBe(1)
    provider.destroy()
    expect(await tokenBalance(asset.token as string, payer)).toBe(before - BigInt(bill.total as string))
    const { bill: after } = await api<{ bill: Bill & { asset: Asset } }>(
      `/api/bills/${encodeURIComponent(bill.id)}`,
    )
    expect(after).toMatchObject({ status: 'paid', paidTx: txHash, asset: { symbol: 'tUSD' } })
    expect(after.paidBy?.toLowerCase()).toBe(payer.toLowerCase())
    const card = page.locator(`[data-bill="${bill.id}"]`)
    await expect
      .poll(() => card.locator('[data-receipt-amount]').textContent(), { timeout: scaledBudget(30_000) })
      .toMatch(/tUSD$/)
  })

  it('falls back to approve + pay with a wallet that cannot sign typed data', {
    timeout: scaledBudget(300_000),
  }, async () => {
    signsTypedData = false
    try {
      const payer = new Wallet(payerKey).address
      const provider = chainProvider()
      const nonceBefore = await provider.getTransactionCount(payer)
      const { bill, txHash } = await payWithInjectedWallet()
      // Two transactions: the approve, then the pay.
      expect(await provider.getTransactionCount(payer)).toBe(nonceBefore + 2)
      expect((await provider.getTransactionReceipt(txHash))?.status).toBe(1)
      provider.destroy()
      expect((await api<{ bill: Bill }>(`/api/bills/${encodeURIComponent(bill.id)}`)).bill.status).toBe(
        'paid',
      )
    } finally {
      signsTypedData = true
    }
  })

  it("reads today's cost, the Energy view and its projections in tUSD, never as ETH", {
    timeout: scaledBudget(120_000),
  }, async () => {
    await page.goto(`${base}/#/`)
    await page.reload()
    await expect
      .poll(() => page.locator('[data-value=cost-today]').textContent(), { timeout: scaledBudget(30_000) })
      .toMatch(/ tUSD$/)
    await page.goto(`${base}/#/energy`)
    await expect
      .poll(() => page.locator('[data-value=period-cost]').textContent(), { timeout: scaledBudget(30_000) })
      .toMatch(/ tUSD$/)
    // Cost by price level, comparisons, projections: every amount of the view in the home's token.
    expect(await page.getByText(/\bETH\b/).count()).toBe(0)
  })

  it('pays a token bill with the dev wallet (the node signs the permit)', {
    timeout: scaledBudget(300_000),
  }, async () => {
    await expect
      .poll(async () => (await verifiedBills()).length, { timeout: scaledBudget(200_000), interval: 250 })
      .toBeGreaterThan(0)
    const bill = (await verifiedBills())[0]!
    await page.goto(`${base}/#/bills`)
    await page.reload()
    await expect
      .poll(() => page.locator('[data-total-due]').textContent(), { timeout: scaledBudget(30_000) })
      .toMatch(/tUSD$/)
    const card = page.locator(`[data-bill="${bill.id}"]`)
    await card.getByRole('button', { name: /built-in dev wallet/ }).click()
    await expect
      .poll(() => card.locator('[data-status]').textContent(), { timeout: scaledBudget(60_000) })
      .toBe('paid')
    const { bill: after } = await api<{ bill: Bill }>(`/api/bills/${encodeURIComponent(bill.id)}`)
    expect(after.status).toBe('paid')
    // The payment history names the token; the display currency (Ether only) steps aside.
    const row = page.locator(`[data-payment="${bill.id}"]`)
    await expect
      .poll(() => row.locator('[data-payment-asset]').textContent(), { timeout: scaledBudget(30_000) })
      .toMatch(/^tUSD 0x/)
    expect(await row.locator('[data-payment-amount]').textContent()).toMatch(/^[\d,.]+ tUSD$/)
    expect(await page.locator('[data-display-token]').textContent()).toContain(
      'A display currency converts Ether bills only.',
    )
    expect(await page.locator('zkm-display-currency').count()).toBe(0)
    expect(await page.locator('[data-due-unit]').textContent()).toContain('Amounts are in tUSD')
  })
})
