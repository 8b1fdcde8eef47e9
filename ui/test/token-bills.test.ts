/**
 * Token bills end to end (issue 17): `node/src/cli.ts start --asset token` bills in the embedded
 * chain's test stablecoin (Test USD, 6 decimals, EIP-2612), and the production UI in Debian's
 * Chromium pays them: with an injected EIP-1193 wallet by a permit (one typed-data signature, one
 * transaction), with a wallet that cannot sign typed data by approve + pay, and with the dev wallet
 * (the node signs the permit). Amounts read in tUSD, not ETH.
 *
 * The injected wallet is the one of e2e.test.ts (EIP-6963, requests forwarded to the test process,
 * which signs with a funded development key), plus eth_signTypedData_v4.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { Contract, JsonRpcProvider, Network, Wallet } from 'ethers'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scaledBudget } from '../../test/support/load.ts'
import { fetchAsAdmin } from '../../test/support/node-auth.ts'
import { reservePort } from '../../test/support/ports.ts'
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
/** Whether the injected wallet signs typed data (false: it answers 4200, as a wallet without EIP-712 does). */
let signsTypedData = true
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
      '--asset',
      'token',
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
    // A wallet keeps its own nonces. ethers caches answers for 250 ms, and the approve's receipt
    // comes back on an automining chain faster than that: the pay would reuse the approve's nonce.
    cacheTimeout: -1,
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
        case 'eth_signTypedData_v4': {
          if (!signsTypedData)
            return { error: { code: 4200, message: 'eth_signTypedData_v4 is not supported' } }
          const data = JSON.parse(params[1] as string) as {
            domain: Record<string, unknown>
            types: Record<string, { name: string; type: string }[]>
            message: Record<string, unknown>
          }
          const { EIP712Domain: _, ...types } = data.types
          return { result: await wallet.signTypedData(data.domain, types, data.message) }
        }
        case 'eth_sendTransaction': {
          const tx = params[0] as { to: string; data: string; value?: string }
          const sent = await wallet.sendTransaction({
            to: tx.to,
            data: tx.data,
            value: BigInt(tx.value ?? '0x0'),
          })
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

interface Asset {
  assetId: number
  symbol: string
  decimals: number
  token: string | null
}

function chainProvider(): JsonRpcProvider {
  const network = new Network('zkmeter', BigInt(status.chain.chainId))
  return new JsonRpcProvider(status.chain.rpcUrl, network, { staticNetwork: network, batchMaxCount: 1 })
}

/** The payer's Test USD: minted by the dev utility (account 0, the token's minter). */
async function fundPayer(token: string): Promise<void> {
  const provider = chainProvider()
  const minter = new Wallet(
    `0x${bytesToHex(keccak_256(new TextEncoder().encode('zkmeter/dev-account/0')))}`,
    provider,
  )
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
    .poll(async () => (await verifiedBills()).length, { timeout: scaledBudget(200_000), interval: 2000 })
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
      .poll(async () => (await verifiedBills()).length, { timeout: scaledBudget(200_000), interval: 2000 })
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
  })
})
