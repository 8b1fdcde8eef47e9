/**
 * End to end against the real stack: `node/src/cli.ts start` (embedded dev chain, MQTT broker,
 * virtual meter, vault, prover, API) in a temporary data directory on free ports, serving the
 * production build of the UI, driven in Debian's Chromium.
 *
 * The node, the pairing and the injected EIP-6963 wallet are support/real-node.ts's.
 */
import { JsonRpcProvider, Network, Wallet } from 'ethers'
import mqtt from 'mqtt'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scaledBudget } from '../../test/support/load.ts'
import { addMqttLogin } from '../../test/support/mqtt-login.ts'
import { ROUTES } from '../src/lib/router.ts'
import { axe, settled, type Violation } from './axe.ts'
import type { Browser } from './browser.ts'
import {
  deepText,
  devKey,
  launchBrowser,
  type NodeStatus,
  pairedPage,
  type RealNode,
  startRealNode,
} from './support/real-node.ts'

let node: RealNode
let dataDir: string
let base: string
let mqttPort: number
let status: NodeStatus
let browser: Browser
let page: Page
/** Development account 5 of the embedded chain (funded; neither the utility nor the household). */
const payerKey = devKey(5)

const api = <T>(path: string, init?: RequestInit): Promise<T> => node.api<T>(path, init)

beforeAll(async () => {
  node = await startRealNode()
  ;({ dataDir, base, mqttPort, status } = node)
  browser = await launchBrowser()
  page = await pairedPage(node, browser, { key: payerKey })
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

describe('UI against the real household node', () => {
  it('shows live data that changes', async () => {
    await page.goto(`${base}/#/`)
    await expect
      .poll(() => deepText(page, '[data-value=power]'), { timeout: scaledBudget(20_000) })
      .toMatch(/^[\d,.]+ k?W$/)
    const first = await deepText(page, '[data-reading]')
    await expect
      .poll(() => deepText(page, '[data-reading]'), { timeout: scaledBudget(20_000) })
      .not.toBe(first)
    expect(await deepText(page, '[data-value=voltage]')).toMatch(/^\d+\.\d V$/)
    expect(await deepText(page, '[data-value=energy-today]')).toMatch(/Wh$/)
  })

  it('draws the power trend, and "Energy today" is the Energy view\'s calendar day (issue 14)', async () => {
    // The trend fills from the stream: the virtual meter sends a live sample every simulated minute.
    await expect
      .poll(() => deepText(page, '[data-trend=summary]'), { timeout: scaledBudget(20_000) })
      .toMatch(/^Power now [\d,.]+ k?W, lowest [\d,.]+ k?W, highest [\d,.]+ k?W over the last \d+ minutes?/)
    // The node's two answers agree exactly (read together until no reading fell between them).
    type Day = { day: number; energyWh: number; costWei: string }
    type View = { from: number; energyWh: number; costWei: string; bill: { energyWh: number } | null }
    await expect
      .poll(
        async () => {
          const [today, view] = await Promise.all([
            api<Day>('/api/summary/today'),
            api<View>('/api/insight?range=day'),
          ])
          return (
            [today.day, today.energyWh, today.costWei].join() ===
            [view.from, view.energyWh, view.costWei].join()
          )
        },
        { timeout: scaledBudget(20_000) },
      )
      .toBe(true)
    await page.goto(`${base}/#/energy`)
    await expect
      .poll(() => deepText(page, '[data-value=period-energy]'), { timeout: scaledBudget(20_000) })
      .toMatch(/Wh$/)
    // The meter reports its open billing period in STATE (every 5 simulated minutes).
    await expect
      .poll(() => deepText(page, '[data-projection=bill]'), { timeout: scaledBudget(20_000) })
      .toMatch(/So far\s+[\d,.]+ k?Wh.*the average rate so far/s)
  })

  it('toggles a relay through the meter and shows the state it reports', async () => {
    await page.goto(`${base}/#/home`)
    const lights = page.getByRole('switch', { name: 'Main lights' })
    await expect
      .poll(() => lights.getAttribute('aria-checked'), { timeout: scaledBudget(20_000) })
      .toMatch(/true|false/)
    const before = (await lights.getAttribute('aria-checked')) === 'true'
    await lights.click()
    await expect
      .poll(() => lights.getAttribute('aria-checked'), { timeout: scaledBudget(20_000) })
      .toBe(String(!before))
    expect(await lights.isDisabled()).toBe(false)
    const { relays } = await api<{ relays: { channel: number; on: boolean }[] }>('/api/relays')
    expect(relays.find((r) => r.channel === 3)?.on).toBe(!before)
    // The meter's own signed records carry the new relay state too.
    await expect
      .poll(
        async () => (await api<{ reading: { relays: boolean[] } }>('/api/readings/latest')).reading.relays[2],
        { timeout: scaledBudget(20_000) },
      )
      .toBe(!before)
  })

  it('raises the alarm banner for an injected hazard, until acknowledged', async () => {
    await page.goto(`${base}/#/privacy`)
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      clientId: 'zkm-ui-e2e',
      ...(await addMqttLogin(dataDir, 'ui-e2e-harness')),
      reconnectPeriod: 0,
    })
    try {
      await client.publishAsync(`cmnd/${status.meter.topic}/SimHazard`, JSON.stringify({ gas: true }))
      const banner = page.getByRole('alert', { name: 'Active alarms' })
      await expect.poll(() => banner.count(), { timeout: scaledBudget(30_000) }).toBe(1)
      expect(await banner.textContent()).toContain('Gas leak detected')
      await page.getByRole('button', { name: 'Acknowledge Gas leak detected alarm' }).click()
      await expect.poll(() => banner.count(), { timeout: scaledBudget(15_000) }).toBe(0)
      await client.publishAsync(`cmnd/${status.meter.topic}/SimHazard`, JSON.stringify({ gas: false }))
    } finally {
      await client.endAsync()
    }
  })

  it('pays a bill with the injected EIP-1193 wallet and the bill turns paid on-chain', {
    timeout: 240_000,
  }, async () => {
    await expect
      .poll(async () => (await verifiedBills()).length, { timeout: 200_000, interval: 250 })
      .toBeGreaterThan(0)
    const bill = (await verifiedBills())[0]!
    await page.goto(`${base}/#/bills`)
    await page.getByRole('button', { name: 'Connect E2E Dev Key Wallet' }).click()
    const card = page.locator(`[data-bill="${bill.id}"]`)
    await card.getByRole('button', { name: /with E2E Dev Key Wallet/ }).click()
    await expect.poll(() => card.locator('[data-receipt]').count(), { timeout: scaledBudget(60_000) }).toBe(1)
    await expect
      .poll(() => card.locator('[data-status]').textContent(), { timeout: scaledBudget(60_000) })
      .toBe('paid')
    const { bill: after } = await api<{ bill: Bill }>(`/api/bills/${encodeURIComponent(bill.id)}`)
    expect(after.status).toBe('paid')
    // On-chain: the ledger recorded the payment from the injected wallet's account.
    const network = new Network('zkmeter', BigInt(status.chain.chainId))
    const provider = new JsonRpcProvider(status.chain.rpcUrl, network, {
      staticNetwork: network,
      batchMaxCount: 1,
    })
    const txHash = (await card.locator('[data-tx]').textContent()) ?? ''
    const receipt = await provider.getTransactionReceipt(txHash)
    expect(receipt?.status).toBe(1)
    expect(receipt?.from.toLowerCase()).toBe(new Wallet(payerKey).address.toLowerCase())
    provider.destroy()
    // The node records that payment (its transaction and payer from BillPaid), not the proof's
    // transaction and the household: after a reload the bill still shows the wallet's receipt.
    expect(after.paidTx).toBe(txHash)
    expect(after.paidBy?.toLowerCase()).toBe(new Wallet(payerKey).address.toLowerCase())
    await page.reload()
    await expect
      .poll(() => card.locator('[data-paid-by]').getAttribute('title'), { timeout: scaledBudget(30_000) })
      .toBe(after.paidBy)
    expect(
      await card.getByText('Payment tx').locator('xpath=following-sibling::dd[1]').getAttribute('title'),
    ).toBe(txHash)
    // The payment history names the money it was paid in.
    const row = page.locator(`[data-payment="${bill.id}"]`)
    await expect
      .poll(() => row.locator('[data-payment-asset]').textContent(), { timeout: scaledBudget(30_000) })
      .toBe('ETH')
    expect(await row.locator('[data-payment-amount]').textContent()).toMatch(/ ETH$/)
  })

  it('pays a bill with the dev wallet and the bill turns paid', {
    timeout: scaledBudget(240_000),
  }, async () => {
    await expect
      .poll(async () => (await verifiedBills()).length, { timeout: 200_000, interval: 250 })
      .toBeGreaterThan(0)
    const bill = (await verifiedBills())[0]!
    await page.goto(`${base}/#/bills`)
    const card = page.locator(`[data-bill="${bill.id}"]`)
    await card.getByRole('button', { name: /built-in dev wallet/ }).click()
    await expect
      .poll(() => card.locator('[data-status]').textContent(), { timeout: scaledBudget(60_000) })
      .toBe('paid')
    const { bill: after } = await api<{ bill: Bill }>(`/api/bills/${encodeURIComponent(bill.id)}`)
    expect(after.status).toBe('paid')
    expect(after.paidTx).toMatch(/^0x[0-9a-f]{64}$/)
  })

  it('runs the utility console on the dev chain: a notice published there reaches the safety view', async () => {
    await page.goto(`${base}/#/utility`)
    await expect
      .poll(() => deepText(page, '[data-aggregates=unavailable]'), { timeout: scaledBudget(20_000) })
      .toContain('Not available yet.')
    await expect
      .poll(() => deepText(page, '[data-balance=ETH] .total'), { timeout: scaledBudget(20_000) })
      .toMatch(/ETH$/)
    // The tariff list loads in parallel with the balance (it reads the ledger's events): poll it too.
    await expect
      .poll(() => page.getByText(/^Tariff 1 from/).count(), { timeout: scaledBudget(20_000) })
      .toBe(1)
    const notice = page.getByRole('region', { name: 'Publish a notice' })
    await page.getByRole('combobox', { name: 'Kind' }).selectOption('maintenance')
    await page.getByLabel('Starts', { exact: true }).fill('2030-01-01T08:00')
    await page.getByLabel('Ends', { exact: true }).fill('2030-01-01T12:00')
    await page.getByRole('textbox', { name: 'Message' }).fill('Transformer maintenance, e2e')
    await page.getByRole('button', { name: 'Publish notice' }).click()
    await expect.poll(() => notice.getByRole('status').count(), { timeout: scaledBudget(30_000) }).toBe(1)
    await page.goto(`${base}/#/safety`)
    await expect
      .poll(() => page.getByText('Transformer maintenance, e2e').count(), { timeout: scaledBudget(20_000) })
      .toBe(1)
    expect(await page.getByText('Utility notice · maintenance').count()).toBe(1)
  })

  it('has no WCAG 2.1 A/AA violation (axe-core) on any view with the real node’s data, light and dark', async () => {
    const found: Record<string, Violation[]> = {}
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' })
      for (const route of ROUTES) {
        await page.goto(`${base}/#${route.path}`)
        await settled(page)
        const violations = await axe(page)
        if (violations.length) found[`${route.label} (${scheme})`] = violations
      }
    }
    await page.emulateMedia({ colorScheme: null, reducedMotion: null })
    expect(found).toEqual({})
  })

  it('logged no console error in the page', () => {
    expect(browser.errors).toEqual([])
  })
})
