/**
 * End to end against the real stack: `node/src/cli.ts start` (embedded dev chain, MQTT broker,
 * virtual meter, vault, prover, API) in a temporary data directory on free ports, serving the
 * production build of the UI, driven in Debian's Chromium.
 *
 * The browser wallet is an injected EIP-1193 provider announced over EIP-6963: the page forwards
 * every request to the test process (page.exposeFunction), which signs transactions with a funded
 * development key and forwards reads to the node's chain JSON-RPC.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { JsonRpcProvider, Network, Wallet } from 'ethers'
import mqtt from 'mqtt'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scaledBudget } from '../../test/support/load.ts'
import { addMqttLogin } from '../../test/support/mqtt-login.ts'
import { fetchAsAdmin } from '../../test/support/node-auth.ts'
import { reservePort } from '../../test/support/ports.ts'
import { ROUTES } from '../src/lib/router.ts'
import { axe, settled, type Violation } from './axe.ts'
import { type Browser, buildUi, launchBrowser, UI_ROOT } from './browser.ts'

const REPO = join(UI_ROOT, '..')

function run(args: string[], log: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout?.on('data', (d: Buffer) => log.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => log.push(d.toString()))
  return child
}

async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

interface Status {
  meter: { topic: string }
  chain: { rpcUrl: string; chainId: string }
}

let dataDir: string
let node: ChildProcess | undefined
const log: string[] = []
let base: string
let mqttPort: number
let status: Status
let browser: Browser
let page: Page
/** Development account 5 of the embedded chain (funded; neither the utility nor the household). */
const payerKey = `0x${bytesToHex(keccak_256(new TextEncoder().encode('zkmeter/dev-account/5')))}`

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  // The test's own calls go as the local CLI's do: with the admin token the node wrote.
  const res = await fetchAsAdmin(dataDir, `${base}${path}`, { ...init, signal: AbortSignal.timeout(30_000) })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

/** Reads a value through the app's shadow roots. */
function deepText(p: Page, selector: string): Promise<string | null> {
  return p.evaluate((sel) => {
    const find = (root: Document | ShadowRoot): Element | null => {
      const hit = root.querySelector(sel)
      if (hit) return hit
      for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) {
          const f = find(el.shadowRoot)
          if (f) return f
        }
      }
      return null
    }
    return find(document)?.textContent ?? null
  }, selector)
}

beforeAll(async () => {
  // The node serves ui/dist. The circuits' test artifacts come from `npm run build:circuits:test`,
  // which `npm test` runs before vitest (the node says so if they are missing).
  await buildUi()
  dataDir = await mkdtemp(join(tmpdir(), 'zkm-ui-e2e-'))
  const [port, chainPort] = [await reservePort(), await reservePort()]
  mqttPort = await reservePort()
  base = `http://127.0.0.1:${port}`
  // 2880× meter time: a one-day billing period closes every 30 s.
  node = run(
    [
      'node/src/cli.ts',
      'start',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--chain-port',
      String(chainPort),
      '--mqtt-port',
      String(mqttPort),
      '--meter-speed',
      '2880',
      '--period-days',
      '1',
    ],
    log,
  )
  const deadline = Date.now() + 180_000
  for (;;) {
    if (node.exitCode !== null) throw new Error(`the node exited with ${node.exitCode}:\n${log.join('')}`)
    try {
      const res = await fetchAsAdmin(dataDir, `${base}/api/status`, { signal: AbortSignal.timeout(2000) })
      if (res.ok) {
        status = (await res.json()) as Status
        break
      }
    } catch {}
    if (Date.now() > deadline) throw new Error(`the node did not become ready:\n${log.join('')}`)
    await new Promise((r) => setTimeout(r, 500))
  }
  browser = await launchBrowser()
  page = await browser.newPage()
  await injectWallet(page)
  // The browser pairs as a resident's phone does: with the link `npm start` printed.
  const printed = await waitForPrinted(/#pair=([0-9A-Z]{5}-[0-9A-Z]{5})/)
  await page.goto(`${base}/#pair=${printed[1]}`)
  await page.getByLabel('This device').waitFor({ timeout: scaledBudget(30_000) })
  if (page.url().includes('pair=')) throw new Error('the pairing code stayed in the address bar')
})

async function waitForPrinted(pattern: RegExp): Promise<RegExpExecArray> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const match = pattern.exec(log.join(''))
    if (match) return match
    if (Date.now() > deadline) throw new Error(`the node did not print ${pattern}:\n${log.join('')}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

afterAll(async () => {
  await browser?.close()
  if (node && node.exitCode === null) {
    node.kill('SIGTERM')
    const timer = setTimeout(() => node?.kill('SIGKILL'), 15_000)
    await exited(node)
    clearTimeout(timer)
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

/** The injected EIP-1193 wallet (page side) and its signer (test side). */
async function injectWallet(p: Page): Promise<void> {
  const network = new Network('zkmeter', BigInt(status.chain.chainId))
  const provider = new JsonRpcProvider(status.chain.rpcUrl, network, {
    staticNetwork: network,
    batchMaxCount: 1,
  })
  const wallet = new Wallet(payerKey, provider)
  await p.exposeFunction('__zkmWalletRequest', async (method: string, params: unknown[] = []) => {
    try {
      switch (method) {
        case 'eth_requestAccounts':
        case 'eth_accounts':
          return { result: [wallet.address.toLowerCase()] }
        case 'wallet_switchEthereumChain': {
          const want = BigInt((params[0] as { chainId: string }).chainId)
          return want === BigInt(status.chain.chainId)
            ? { result: null }
            : { error: { code: 4902, message: 'Unrecognized chain ID' } }
        }
        case 'eth_sendTransaction': {
          const tx = params[0] as { to: string; data: string; value: string }
          const sent = await wallet.sendTransaction({ to: tx.to, data: tx.data, value: BigInt(tx.value) })
          return { result: sent.hash }
        }
        default:
          return { result: await provider.send(method, params) }
      }
    } catch (error) {
      const e = error as { code?: unknown; shortMessage?: string; message?: string }
      return {
        error: { code: typeof e.code === 'number' ? e.code : -32603, message: e.shortMessage ?? e.message },
      }
    }
  })
  await p.addInitScript(() => {
    type Answer = { result?: unknown; error?: { code: number; message: string } }
    const call = (window as unknown as { __zkmWalletRequest: (m: string, p?: unknown) => Promise<Answer> })
      .__zkmWalletRequest
    const provider = {
      async request({ method, params }: { method: string; params?: unknown }) {
        const answer = await call(method, params)
        if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code })
        return answer.result
      },
    }
    const announce = () =>
      window.dispatchEvent(
        new CustomEvent('eip6963:announceProvider', {
          detail: Object.freeze({
            info: { uuid: 'e2e-dev-key', name: 'E2E Dev Key Wallet', icon: '', rdns: 'org.zkmeter.e2e' },
            provider,
          }),
        }),
      )
    window.addEventListener('eip6963:requestProvider', announce)
  })
}

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
      .poll(async () => (await verifiedBills()).length, { timeout: 200_000, interval: 2000 })
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
  })

  it('pays a bill with the dev wallet and the bill turns paid', {
    timeout: scaledBudget(240_000),
  }, async () => {
    await expect
      .poll(async () => (await verifiedBills()).length, { timeout: 200_000, interval: 2000 })
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
      .poll(() => deepText(page, '[data-balance]'), { timeout: scaledBudget(20_000) })
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
