/**
 * The utility console with token tariffs (issue 17), end to end: `node/src/cli.ts start --asset
 * token` (its area bills in the embedded chain's Test USD, 6 decimals), the production UI in Debian's
 * Chromium. The console reads the token through the node (an account or a contract that is no
 * ERC-20 is refused in words), publishes a tariff priced in tUSD per kWh, refuses an Ether tariff
 * for the area whose asset its first meter fixed, shows collected and withdrawable per asset, and
 * withdraws the tokens a paid bill brought: the receiver's token balance grows by exactly that.
 */
import { Contract, Wallet } from 'ethers'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scaledBudget } from '../../test/support/load.ts'
import type { Browser } from './browser.ts'
import { devKey, launchBrowser, pairedPage, type RealNode, startRealNode } from './support/real-node.ts'

let node: RealNode
let browser: Browser
let page: Page

interface Asset {
  assetId: number
  symbol: string
  decimals: number
  token: string | null
}

beforeAll(async () => {
  node = await startRealNode(['--asset', 'token'])
  browser = await launchBrowser()
  page = await pairedPage(node, browser)
})

afterAll(async () => {
  await browser?.close()
  await node?.close()
})

async function tokenBalance(token: string, owner: string): Promise<bigint> {
  const provider = node.chainProvider()
  try {
    const erc20 = new Contract(token, ['function balanceOf(address) view returns (uint256)'], provider)
    return (await erc20.getFunction('balanceOf').staticCall(owner)) as bigint
  } finally {
    provider.destroy()
  }
}

describe('utility console with a token tariff (--asset token)', () => {
  it('checks the token, publishes a tUSD tariff, refuses Ether for the fixed area, withdraws tUSD', {
    timeout: scaledBudget(420_000),
  }, async () => {
    const chain = await node.api<{ asset: Asset; ledger: string }>('/api/chain')
    const token = chain.asset.token as string
    expect(chain.asset).toMatchObject({ symbol: 'tUSD', decimals: 6 })
    const { meters } = await node.api<{ meters: { areaId: number; asset: Asset }[] }>('/api/utility/meters')
    const area = String(meters[0]!.areaId)
    expect(meters[0]!.asset.symbol).toBe('tUSD')

    await page.goto(`${node.base}/#/utility`)
    const tariffs = page.getByRole('region', { name: 'Tariffs' })
    // The home's area bills in tUSD: the next tariff starts priced in it, read from the token.
    await expect
      .poll(() => page.locator('[data-token-check]').textContent(), { timeout: scaledBudget(30_000) })
      .toContain('tUSD, 6 decimals: asset 1 on the ledger.')
    expect(await page.getByRole('radio', { name: 'A token (ERC-20)' }).isChecked()).toBe(true)
    const average = page.getByRole('textbox', { name: 'Average price (tUSD per kWh)' })
    await expect.poll(() => average.count()).toBe(1)

    // What is no token, in words, before anything is sent.
    const address = page.getByRole('textbox', { name: 'Token contract address' })
    const account = new Wallet(devKey(7)).address
    await address.fill(account)
    await address.dispatchEvent('change')
    await expect
      .poll(() => page.locator('[data-token-error]').textContent(), { timeout: scaledBudget(30_000) })
      .toContain(`${account} has no contract code on this chain: it is an account, not an ERC-20 token`)
    await address.fill(chain.ledger)
    await address.dispatchEvent('change')
    await expect
      .poll(() => page.locator('[data-token-error]').textContent(), { timeout: scaledBudget(30_000) })
      .toContain('is a contract but not an ERC-20 token')
    await address.fill(token)
    await address.dispatchEvent('change')
    await expect
      .poll(() => page.locator('[data-token-check]').textContent(), { timeout: scaledBudget(30_000) })
      .toContain('tUSD, 6 decimals')

    // 0.25 tUSD a kWh, flat: 250 units of 10^-6 tUSD per Wh in every slot.
    await average.fill('0.25')
    await tariffs.getByRole('button', { name: 'Flat' }).click()
    await page.getByRole('spinbutton', { name: /Only if area/ }).fill(area)

    // Ether for this area first: its first meter fixed it in tUSD, and the node says so.
    await page.getByRole('radio', { name: /^Ether/ }).check()
    await expect.poll(() => page.getByRole('textbox', { name: /Average price \(gwei/ }).count()).toBe(1)
    await page.getByRole('textbox', { name: /Average price/ }).fill('1000')
    await tariffs.getByRole('button', { name: 'Flat' }).click()
    const level = page.getByRole('checkbox', { name: /Yes, publish at this new price level/ })
    if ((await level.count()) > 0) await level.check()
    await page.getByRole('button', { name: 'Publish tariff' }).click()
    await expect
      .poll(() => tariffs.getByRole('alert').last().textContent(), { timeout: scaledBudget(60_000) })
      .toContain(`area ${area} bills in tUSD (${token}), fixed on the ledger since its first meter`)

    await page.getByRole('radio', { name: 'A token (ERC-20)' }).check()
    await expect
      .poll(() => page.locator('[data-token-check]').textContent(), { timeout: scaledBudget(30_000) })
      .toContain('tUSD, 6 decimals')
    await page.getByRole('textbox', { name: 'Average price (tUSD per kWh)' }).fill('0.25')
    await tariffs.getByRole('button', { name: 'Flat' }).click()
    if ((await level.count()) > 0) await level.check()
    const before = (await node.api<{ tariffs: unknown[] }>('/api/utility/tariffs')).tariffs.length
    await page.getByRole('button', { name: 'Publish tariff' }).click()
    await expect
      .poll(() => tariffs.getByRole('status').last().textContent(), { timeout: scaledBudget(60_000) })
      .toContain('Tariff published in tUSD')
    const after = (await node.api<{ tariffs: { prices: string[]; asset: Asset }[] }>('/api/utility/tariffs'))
      .tariffs
    expect(after).toHaveLength(before + 1)
    expect(after.at(-1)?.asset).toMatchObject({ symbol: 'tUSD', token })
    expect(new Set(after.at(-1)?.prices)).toEqual(new Set(['250']))
    await expect
      .poll(() => page.locator(`[data-tariff="${after.length}"]`).textContent())
      .toMatch(/in tUSD\s+· average 0\.25 tUSD per kWh/)

    // A bill paid in tUSD (the dev wallet signs the permit), then the tokens are the utility's.
    type Bill = { id: string; status: string; total: string | null }
    await expect
      .poll(
        async () =>
          (await node.api<{ bills: Bill[] }>('/api/bills')).bills.filter((b) => b.status === 'verified')
            .length,
        { timeout: scaledBudget(200_000), interval: 250 },
      )
      .toBeGreaterThan(0)
    const bill = (await node.api<{ bills: Bill[] }>('/api/bills')).bills.find((b) => b.status === 'verified')!
    await node.api(`/api/bills/${encodeURIComponent(bill.id)}/pay`, { method: 'POST' })
    const balance = await node.api<{ balances: { asset: Asset; collected: string; withdrawable: string }[] }>(
      '/api/utility/balance',
    )
    const tusd = balance.balances.find((b) => b.asset.symbol === 'tUSD')!
    expect(BigInt(tusd.collected)).toBeGreaterThanOrEqual(BigInt(bill.total as string))
    const withdrawable = BigInt(tusd.withdrawable)
    expect(withdrawable).toBeGreaterThanOrEqual(BigInt(bill.total as string))

    await page.reload()
    const balanceCard = page.getByRole('region', { name: 'Balance' })
    await expect
      .poll(() => page.locator('[data-balance=tUSD] .total').textContent(), { timeout: scaledBudget(30_000) })
      .toMatch(/^[\d,.]+ tUSD$/)
    expect(await page.locator('[data-balance=tUSD] .total').textContent()).not.toBe('0 tUSD')
    expect(await page.locator('[data-balance=ETH] .total').textContent()).toMatch(/ ETH$/)
    const receiver = new Wallet(devKey(8)).address
    const held = await tokenBalance(token, receiver)
    await balanceCard.getByRole('combobox', { name: 'Money' }).selectOption({ label: 'tUSD' })
    await balanceCard.getByRole('textbox', { name: 'Withdraw to address' }).fill(receiver)
    await balanceCard.getByRole('button', { name: 'Withdraw all' }).click()
    await expect
      .poll(() => balanceCard.getByRole('status').textContent(), { timeout: scaledBudget(60_000) })
      .toMatch(/^Withdrawn [\d,.]+ tUSD to /)
    expect(await tokenBalance(token, receiver)).toBe(held + withdrawable)
    await expect
      .poll(() => page.locator('[data-balance=tUSD] .total').textContent(), { timeout: scaledBudget(30_000) })
      .toBe('0 tUSD')
  })
})
