/**
 * Component tests in real Chromium: the production build against the fake node
 * (test/support/fake-node.ts: the node's own HTTP routes over in-memory fixture data). Every test
 * also checks that the page logged no console error.
 */
import type { Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Role } from '#protocol/api/types.ts'
import { bill, DAY, type FakeNode, METER, NOW, reading, startFakeNode } from '../../test/support/fake-node.ts'
import { scaledBudget } from '../../test/support/load.ts'
import { encodePayBill } from '../src/lib/abi.ts'
import { type Browser, launchBrowser, sharedUiBuild } from './browser.ts'

let dist: string
let browser: Browser
let server: FakeNode
let page: Page

beforeAll(async () => {
  dist = await sharedUiBuild()
  // Each test is a new origin (a new port), where the app's service worker would install again:
  // these tests are about the views; the worker has its own (ui/test/pwa.test.ts).
  browser = await launchBrowser({ serviceWorkers: 'block' })
})

afterAll(async () => {
  await browser?.close()
})

beforeEach(async () => {
  server = await startFakeNode({ dist })
  await pairBrowser('resident')
  browser.errors.length = 0
})

/** Gives the browser a session on the fake node, as pairing with a code would (its cookie). */
async function pairBrowser(role: Role): Promise<void> {
  const cookie = await server.pair(role)
  await browser.context.clearCookies()
  await browser.context.addCookies([
    { name: cookie.name, value: cookie.value, url: server.url, httpOnly: true, sameSite: 'Strict' },
  ])
}

/** An unpaired browser's first call answers 401; Chromium logs every non-2xx fetch. */
function forgetUnauthorizedErrors(): void {
  browser.errors.splice(0, browser.errors.length, ...browser.errors.filter((e) => !/status of 401/.test(e)))
}

afterEach(async () => {
  await page?.close()
  await server.close()
  expect(browser.errors).toEqual([])
})

async function open(route: string, viewport?: { width: number; height: number }): Promise<Page> {
  page = await browser.newPage(viewport)
  await page.goto(`${server.url}/#${route}`)
  // The stream is connected once the server has a client: from then on, emitted events arrive.
  await expect.poll(() => server.clients(), { timeout: scaledBudget(10_000) }).toBeGreaterThan(0)
  // And the node has said who this device is (its session): the views are loaded or loading.
  await expect
    .poll(() => page.getByLabel('This device', { exact: true }).count(), { timeout: scaledBudget(10_000) })
    .toBe(1)
  return page
}

/**
 * Shows `route` in `p` (a page load the first time, then a switch of the hash, as the navigation
 * does) and waits until the app is on that route, paired, and its view has loaded.
 */
async function showView(p: Page, route: string): Promise<void> {
  await p.goto(`${server.url}/#${route}`)
  await expect
    .poll(() => p.locator('zkm-app').evaluate((el) => (el as HTMLElement & { route?: string }).route), {
      timeout: scaledBudget(10_000),
    })
    .toBe(route)
  await expect
    .poll(() => p.getByLabel('This device', { exact: true }).count(), { timeout: scaledBudget(10_000) })
    .toBe(1)
  await expect
    .poll(() =>
      p
        .locator('zkm-app')
        .evaluate((el) => el.shadowRoot?.querySelector('main')?.textContent?.includes('Loading') ?? true),
    )
    .toBe(false)
}

/** A fake EIP-6963 wallet for the page (test scaffolding): answers per `mode`, records calls. */
function injectWallet(
  p: Page,
  mode: { chainId: string; knowsChain: boolean; reject?: string; balance?: string; receiptStatus?: string },
) {
  return p.addInitScript((m) => {
    const calls: { method: string; params: unknown }[] = []
    ;(window as Window & { __walletCalls?: unknown }).__walletCalls = calls
    let chainId = m.chainId
    const provider = {
      async request({ method, params }: { method: string; params?: unknown[] }) {
        calls.push({ method, params })
        if (m.reject === method) throw Object.assign(new Error('User rejected the request.'), { code: 4001 })
        switch (method) {
          case 'eth_requestAccounts':
            return ['0x70997970c51812dc3a010c7d01b50e0d17dc79c8']
          case 'eth_chainId':
            return chainId
          case 'wallet_switchEthereumChain':
            if (!m.knowsChain) throw Object.assign(new Error('Unrecognized chain'), { code: 4902 })
            chainId = (params as { chainId: string }[])[0]!.chainId
            return null
          case 'wallet_addEthereumChain':
            m.knowsChain = true
            chainId = (params as { chainId: string }[])[0]!.chainId
            return null
          case 'eth_getBalance':
            return m.balance ?? '0xde0b6b3a7640000'
          case 'eth_sendTransaction':
            return `0x${'aa'.repeat(32)}`
          case 'eth_getTransactionReceipt':
            return {
              transactionHash: `0x${'aa'.repeat(32)}`,
              blockNumber: '0x2a',
              status: m.receiptStatus ?? '0x1',
              gasUsed: '0xb411',
              from: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
              to: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
            }
          default:
            throw Object.assign(new Error(`unsupported ${method}`), { code: 4200 })
        }
      },
    }
    const announce = () =>
      window.dispatchEvent(
        new CustomEvent('eip6963:announceProvider', {
          detail: Object.freeze({
            info: {
              uuid: 'test-wallet-1',
              name: 'Test Wallet',
              icon: 'data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg"/>',
              rdns: 'org.example.test',
            },
            provider,
          }),
        }),
      )
    window.addEventListener('eip6963:requestProvider', announce)
    announce()
  }, mode)
}

describe('live view', () => {
  it('shows the latest reading and updates it from the stream', async () => {
    const p = await open('/')
    await expect.poll(() => p.locator('[data-value=power]').textContent()).toBe('1,510 W')
    await expect.poll(() => p.locator('[data-value=cost-today]').textContent()).toBe('0.008421 ETH')
    server.emit('reading', reading(2, { powerW: 2345, voltageV: 229.4 }))
    await expect.poll(() => p.locator('[data-value=power]').textContent()).toBe('2,345 W')
    await expect.poll(() => p.locator('[data-value=voltage]').textContent()).toBe('229.4 V')
    // The history by day, week and month is the Energy view's (ui/test/insight-view.test.ts).
  })

  it('says so when the meter has not reported yet', async () => {
    server.state.latest = undefined
    const p = await open('/')
    await expect.poll(() => p.getByText('No reading yet').count()).toBe(1)
    // The documented 404 of /api/readings/latest is the empty state; Chromium logs every non-2xx fetch.
    browser.errors.splice(0, browser.errors.length, ...browser.errors.filter((e) => !/status of 404/.test(e)))
  })
})

describe('bills view', () => {
  it('lists bills with status, ETH totals, commitment and CID', async () => {
    const p = await open('/bills')
    await expect
      .poll(() => p.locator('[data-status]').allTextContents())
      .toEqual(['proving', 'on-chain verified', 'paid'])
    await expect
      .poll(() => p.locator('[data-bill]').getByText('0.020468 ETH', { exact: true }).count())
      .toBe(1)
    // The one verified bill is all that is due (bills.test.ts covers the total at scale).
    expect(await p.locator('[data-total-due]').textContent()).toBe('0.020468 ETH')
    expect(await p.getByText('total pending proof').count()).toBe(1)
    expect(await p.locator('[title^="bafyrei"]').count()).toBe(3)
    // No browser wallet in this page: the panel says how to get one.
    expect(await p.getByText('No browser wallet found').count()).toBe(1)
  })

  it('says in plain words why a bill failed, retries it, and the bill waiting behind it proceeds', async () => {
    const failedId = bill(2, 'failed').id as string
    server.state.bills = [
      bill(1, 'paid'),
      bill(2, 'failed', {
        total: null,
        submitTx: null,
        chainBillId: null,
        error: { name: 'TariffMissingError', message: 'no tariff on the ledger covers the whole period yet' },
        failure: {
          kind: 'tariff-missing',
          ledgerError: null,
          advice: 'The utility has not published a tariff for this period yet, so the bill cannot be priced.',
          temporary: true,
          reprove: true,
        },
      }),
      bill(3, 'waiting-previous', { submitTx: null, chainBillId: null, waitingFor: failedId }),
    ]
    const p = await open('/bills')
    await expect
      .poll(() => p.locator('[data-status]').allTextContents())
      .toEqual(['waiting for the previous bill', 'failed', 'paid'])
    expect(await p.getByText('has not published a tariff for this period yet').count()).toBe(1)
    // The technical reason is there, folded away.
    expect(await p.locator('[data-error]').textContent()).toContain('TariffMissingError')
    const waiting = p.locator('[data-waiting]')
    expect(await waiting.textContent()).toContain('that one failed; retry it first')
    // Only the failed bill has a Retry button.
    expect(await p.getByRole('button', { name: /^Retry the bill for/ }).count()).toBe(1)

    await p.getByRole('button', { name: /^Retry the bill for/ }).click()
    await expect
      .poll(() => p.locator('[data-status]').allTextContents())
      .toEqual(['on-chain verified', 'on-chain verified', 'paid'])
    expect(await p.getByRole('button', { name: /^Retry the bill for/ }).count()).toBe(0)
    expect(await p.locator('[data-failure]').count()).toBe(0)
    expect(
      server.state.requests.filter((r) => r.method === 'POST' && r.path === `/api/bills/${failedId}/retry`),
    ).toHaveLength(1)
  })

  it('shows a refused retry and an automatic retry in progress', async () => {
    server.state.bills = [
      bill(1, 'failed', {
        failure: {
          kind: 'rejected',
          ledgerError: 'MeterInactive',
          advice: 'The ledger refused this bill.',
          temporary: false,
          reprove: false,
        },
      }),
      bill(2, 'submitting', {
        failure: {
          kind: 'meter-not-registered',
          ledgerError: 'UnknownMeter',
          advice: 'Your meter is not registered with the utility on the ledger yet.',
          temporary: true,
          reprove: false,
        },
        nextAttemptAt: '2026-11-25T12:30:00.000Z',
      }),
    ]
    const p = await open('/bills')
    await expect
      .poll(() => p.locator('[data-retrying]').textContent())
      .toContain('Next automatic attempt: 2026-11-25 12:30 UTC')
    // Meanwhile the node started on it by itself: the node refuses the resident's retry (409).
    server.state.bills[0]!.status = 'proving'
    await p.getByRole('button', { name: /^Retry the bill for/ }).click()
    await expect.poll(() => p.getByText(/The retry was refused: .*not failed/).count()).toBe(1)
    // The browser logs the refused request itself; that 409 is this test's point, not a page error.
    browser.errors.splice(0, browser.errors.length, ...browser.errors.filter((e) => !/status of 409/.test(e)))
  })

  it('pays with the dev wallet and the bill turns paid', async () => {
    const p = await open('/bills')
    await p.getByRole('button', { name: /built-in dev wallet/ }).click()
    await expect.poll(() => p.locator('[data-status]').allTextContents()).toEqual(['proving', 'paid', 'paid'])
    expect(
      server.state.requests.some(
        (r) => r.method === 'POST' && r.path === `/api/bills/${server.state.bills[1]!.id}/pay`,
      ),
    ).toBe(true)
  })

  it('pays with an EIP-6963 wallet: adds the chain, sends payBill with the total, shows the receipt', async () => {
    page = await browser.newPage()
    await injectWallet(page, { chainId: '0x1', knowsChain: false })
    await page.goto(`${server.url}/#/bills`)
    await page.getByRole('button', { name: 'Connect Test Wallet' }).click()
    await expect
      .poll(() => page.locator('[data-account]').textContent())
      .toBe('0x70997970c51812dc3a010c7d01b50e0d17dc79c8')
    await page.getByRole('button', { name: /Pay 0\.020468 ETH with Test Wallet/ }).click()
    await expect.poll(() => page.locator('[data-receipt]').count()).toBe(1)
    expect(await page.locator('[data-receipt]').textContent()).toContain('46,097')
    const calls = (await page.evaluate(
      () => (window as Window & { __walletCalls?: { method: string; params: unknown }[] }).__walletCalls,
    )) as { method: string; params: unknown[] }[]
    expect(calls.map((c) => c.method)).toEqual([
      'eth_requestAccounts',
      'eth_chainId',
      'wallet_switchEthereumChain',
      'wallet_addEthereumChain',
      'eth_chainId',
      'eth_getBalance',
      'eth_sendTransaction',
      'eth_getTransactionReceipt',
    ])
    const add = calls[3]!.params[0] as { chainId: string; rpcUrls: string[] }
    expect(add).toMatchObject({ chainId: '0x7a69', rpcUrls: ['http://127.0.0.1:8545'] })
    const tx = calls[6]!.params[0] as Record<string, string>
    expect(tx).toEqual({
      from: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
      to: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
      data: encodePayBill(server.state.bills[1]!.chainBillId as string),
      value: `0x${(20_468_000_000_000_000n).toString(16)}`,
    })
  })

  it('explains a rejected signature, insufficient funds and a reverted payment', async () => {
    page = await browser.newPage()
    await injectWallet(page, { chainId: '0x7a69', knowsChain: true, reject: 'eth_sendTransaction' })
    await page.goto(`${server.url}/#/bills`)
    await page.getByRole('button', { name: 'Connect Test Wallet' }).click()
    const pay = page.getByRole('button', { name: /with Test Wallet/ })
    await pay.click()
    await expect
      .poll(() => page.getByRole('alert').allTextContents())
      .toContainEqual(expect.stringContaining('You declined the payment in your wallet'))
    await page.close()

    page = await browser.newPage()
    await injectWallet(page, { chainId: '0x7a69', knowsChain: true, balance: '0x1' })
    await page.goto(`${server.url}/#/bills`)
    await page.getByRole('button', { name: 'Connect Test Wallet' }).click()
    await page.getByRole('button', { name: /with Test Wallet/ }).click()
    await expect
      .poll(() => page.getByRole('alert').allTextContents())
      .toContainEqual(expect.stringContaining('less than the bill'))
    await page.close()

    page = await browser.newPage()
    await injectWallet(page, { chainId: '0x7a69', knowsChain: true, receiptStatus: '0x0' })
    await page.goto(`${server.url}/#/bills`)
    await page.getByRole('button', { name: 'Connect Test Wallet' }).click()
    await page.getByRole('button', { name: /with Test Wallet/ }).click()
    await expect
      .poll(() => page.getByRole('alert').allTextContents())
      .toContainEqual(expect.stringContaining('mined but reverted'))
  })

  it('reports the wrong network when the switch is refused', async () => {
    page = await browser.newPage()
    await injectWallet(page, { chainId: '0x1', knowsChain: true, reject: 'wallet_switchEthereumChain' })
    await page.goto(`${server.url}/#/bills`)
    await page.getByRole('button', { name: 'Connect Test Wallet' }).click()
    await page.getByRole('button', { name: /with Test Wallet/ }).click()
    await expect
      .poll(() => page.getByRole('alert').allTextContents())
      .toContainEqual(
        expect.stringContaining('Your wallet is on chain 1, but bills are paid on zkmeter dev chain'),
      )
  })
})

describe('home view', () => {
  it('switches a relay: pending until the meter confirms, then the reported state', async () => {
    const p = await open('/home')
    const lights = p.getByRole('switch', { name: 'Main lights' })
    await expect.poll(() => lights.getAttribute('aria-checked')).toBe('false')
    await lights.click()
    await expect.poll(() => lights.textContent()).toContain('pending')
    await expect.poll(() => lights.getAttribute('aria-checked')).toBe('true')
    expect(await lights.textContent()).toContain('On')
    // A relay event from the meter (a local change) is shown as well.
    server.emit('relay', { channel: 3, on: false })
    await expect.poll(() => lights.getAttribute('aria-checked')).toBe('false')
  })

  it('shows "meter did not confirm" on a 504 and keeps the reported state', async () => {
    server.state.unresponsive.add(2)
    const p = await open('/home')
    const ac = p.getByRole('switch', { name: 'Air conditioner' })
    await ac.click()
    await expect
      .poll(() => p.getByRole('alert').allTextContents())
      .toContainEqual(expect.stringContaining('The meter did not confirm'))
    expect(await ac.getAttribute('aria-checked')).toBe('false')
    // The 504 is an expected HTTP answer; Chromium logs every failed request as a console error.
    browser.errors.splice(0, browser.errors.length, ...browser.errors.filter((e) => !/status of 504/.test(e)))
  })

  it('sets the fan speed and sends typed commands', async () => {
    const p = await open('/home')
    await p.getByRole('radio', { name: '3 — high' }).check()
    await expect.poll(() => p.getByText('meter reports high').count()).toBe(1)
    await p.getByRole('textbox', { name: 'Command' }).fill('turn on the main lights')
    await p.getByRole('button', { name: 'Send' }).click()
    await expect.poll(() => p.locator('[data-answer]').textContent()).toContain('Turning on the main lights.')
    await expect
      .poll(() => p.getByRole('switch', { name: 'Main lights' }).getAttribute('aria-checked'))
      .toBe('true')
    // Voice: a microphone button where the Web Speech API exists, an explanation where not.
    const voice = await p.evaluate(() => 'SpeechRecognition' in window || 'webkitSpeechRecognition' in window)
    expect(await p.getByRole('button', { name: 'Speak a command' }).count()).toBe(voice ? 1 : 0)
    expect(await p.locator('[data-no-voice]').count()).toBe(voice ? 0 : 1)
  })

  it('edits automation thresholds and shows the node validation error', async () => {
    const p = await open('/home')
    const on = p.getByRole('spinbutton', { name: 'On at or above (°C)' })
    const off = p.getByRole('spinbutton', { name: 'Off at or below (°C)' })
    await off.fill('32')
    await off.dispatchEvent('change')
    await p.getByRole('button', { name: 'Save settings' }).click()
    await expect
      .poll(() => p.getByRole('alert').allTextContents())
      .toContainEqual(
        expect.stringContaining('switch-off temperature: must be below the switch-on temperature'),
      )
    browser.errors.splice(0, browser.errors.length, ...browser.errors.filter((e) => !/status of 400/.test(e)))
    await off.fill('27.5')
    await off.dispatchEvent('change')
    await on.fill('30.5')
    await on.dispatchEvent('change')
    await p.getByRole('button', { name: 'Save settings' }).click()
    await expect.poll(() => p.getByText('Saved.').count()).toBe(1)
    const ac = (server.state.rules.rules as { kind: string }[]).find((r) => r.kind === 'thermostat')
    expect(ac).toMatchObject({ onAtCenti: 3050, offAtCenti: 2750 })
    expect(server.state.rules.revision).toBe(4)
  })
})

describe('safety', () => {
  it('raises an alarm banner on every view until acknowledged', async () => {
    const p = await open('/privacy')
    server.state.alarms.push({
      id: 'a1',
      kind: 'gas',
      state: 'active',
      active: true,
      raisedAt: '2026-11-24T12:00:00Z',
      clearedAt: null,
      acknowledgedAt: null,
      deviceReacted: true,
      severity: 'alarm',
      resends: 0,
    })
    server.emit('alarm', server.state.alarms[0]!)
    const banner = p.getByRole('alert', { name: 'Active alarms' })
    // A busy machine: the event may wait for the alarm list's reload after the stream opened.
    await expect.poll(() => banner.count(), { timeout: scaledBudget(5000) }).toBe(1)
    expect(await banner.textContent()).toContain('Gas leak detected')
    await p.getByRole('link', { name: 'Bills' }).click()
    await expect.poll(() => banner.count()).toBe(1)
    await p.getByRole('button', { name: 'Acknowledge Gas leak detected alarm' }).click()
    await expect.poll(() => banner.count()).toBe(0)
    expect(server.state.alarms[0]!.state).toBe('acknowledged')
  })

  it('lists neighbours alerts and utility notices', async () => {
    const p = await open('/safety')
    await expect.poll(() => p.getByText('Grid maintenance on Elm Street').count()).toBe(1)
    expect(await p.getByText("Neighbour's alert · fire").count()).toBe(1)
    expect(await p.getByText('No alarms.').count()).toBe(1)
  })
})

describe('privacy view', () => {
  it('shows what was published and kept, and creates a grant', async () => {
    const p = await open('/privacy')
    await expect.poll(() => p.getByText('every interval reading and live sample').count()).toBe(1)
    expect(await p.locator('#pub-h + p + .table-wrap tbody tr').count()).toBe(2)
    const key = p.getByRole('textbox', { name: "Recipient's X25519 public key" })
    await key.fill('0x1234')
    await p.getByRole('button', { name: 'Grant access' }).click()
    await expect
      .poll(() => p.getByRole('alert').allTextContents())
      .toContainEqual(expect.stringContaining('64 hex digits'))
    await key.fill(`0x${'42'.repeat(32)}`)
    await p.getByRole('button', { name: 'Grant access' }).click()
    await expect.poll(() => p.getByText('Granted:').count()).toBe(1)
    const grant = server.state.requests.find((r) => r.path === '/api/grants')
    expect(grant?.body).toEqual({
      billId: server.state.bills[1]!.id,
      recipientPublicKey: `0x${'42'.repeat(32)}`,
    })
  })
})

describe('neighbourhood view', () => {
  it("shows the mesh status and each sealed period's backup", async () => {
    const p = await open('/mesh')
    await expect.poll(() => p.getByText('This home is a full member').count()).toBe(1)
    const status = await p.locator('#mesh-h + p').textContent()
    expect(status?.replace(/\s+/g, ' ')).toContain('Area 1 · connected to 2 neighbours · 2 other homes known')
    expect(await p.getByText('this home added 42 masked shares; 3 held back').count()).toBe(1)
    const rows = p.locator('#backups-h ~ .table-wrap tbody tr')
    expect(await rows.count()).toBe(2)
    // Newest first: the partial one, kept by one neighbour, with its last error.
    expect(await rows.nth(0).textContent()).toContain('partial (1 of 2)')
    expect(await rows.nth(0).textContent()).toContain('PinTimeoutError')
    expect(await rows.nth(0).locator('.mono').count()).toBe(1)
    expect(await rows.nth(1).textContent()).toContain('done')
    expect(await rows.nth(1).locator('.mono').count()).toBe(2)
    expect(await rows.nth(1).locator('.mono').first().textContent()).toBe('0xb2b2…b2b2')
  })

  it('refreshes when a bill (a sealed period) arrives on the stream', async () => {
    const p = await open('/mesh')
    const rows = p.locator('#backups-h ~ .table-wrap tbody tr')
    await expect.poll(() => rows.count()).toBe(2)
    const mesh = server.state.mesh
    if (!mesh.enabled) throw new Error('the fixture starts with the mesh enabled')
    const backups = mesh.backups
    backups.push({
      ...backups[1]!,
      periodStart: NOW - (NOW % DAY),
      periodEnd: NOW - (NOW % DAY) + DAY,
      manifestCid: 'bafynew',
      pinnedBy: [],
      status: 'pending',
      attempts: 0,
      lastError: null,
    })
    server.emit('bill', bill(4, 'proving'))
    await expect.poll(() => rows.count()).toBe(3)
    expect(await rows.nth(0).textContent()).toContain('pending')
  })

  it('restores from neighbours after a confirmation and shows each outcome', async () => {
    const p = await open('/mesh')
    await p.getByRole('button', { name: 'Restore from neighbours…' }).click()
    expect(server.state.requests.some((r) => r.path === '/api/mesh/restore')).toBe(false)
    await p.getByRole('button', { name: 'Cancel' }).click()
    await p.getByRole('button', { name: 'Restore from neighbours…' }).click()
    await p.getByRole('button', { name: 'Yes, restore' }).click()
    await expect.poll(() => p.getByText('1 period restored, 1 already here, 1 refused.').count()).toBe(1)
    expect(server.state.requests.filter((r) => r.path === '/api/mesh/restore')).toHaveLength(1)
    const rows = p.locator('#restore-h ~ [role=status] tbody tr')
    expect(await rows.allTextContents()).toEqual([
      expect.stringContaining('restored (96 readings)'),
      expect.stringContaining('already here'),
      expect.stringContaining('refused: ForeignManifestError'),
    ])
    expect(await p.getByText('could not answer: list timed out after 10 s').count()).toBe(1)
  })

  it('explains a node without the mesh and disables restore', async () => {
    server.state.mesh = { enabled: false }
    const p = await open('/mesh')
    await expect.poll(() => p.getByText('This node is not on the neighbourhood mesh').count()).toBe(1)
    const restore = p.getByRole('button', { name: 'Restore from neighbours…' })
    expect(await restore.isDisabled()).toBe(true)
    expect(await restore.getAttribute('aria-describedby')).toBe('restore-off')
    expect(await p.getByText('The mesh is off on this node').count()).toBe(1)
  })

  it('shows a failed restore as an error', async () => {
    server.state.restore = { restored: [], periods: [], neighbours: [] }
    const p = await open('/mesh')
    await p.getByRole('button', { name: 'Restore from neighbours…' }).click()
    await p.getByRole('button', { name: 'Yes, restore' }).click()
    await expect.poll(() => p.getByText('No neighbour keeps any period of this home.').count()).toBe(1)
    // The view re-reads the mesh after a restore; the node goes off the mesh after that.
    await expect
      .poll(() => p.getByRole('button', { name: 'Restore from neighbours…' }).isEnabled())
      .toBe(true)
    server.state.mesh = { ...server.state.mesh, enabled: false }
    await p.getByRole('button', { name: 'Restore from neighbours…' }).click()
    await p.getByRole('button', { name: 'Yes, restore' }).click()
    await expect
      .poll(() => p.getByRole('alert').allTextContents())
      .toContainEqual(expect.stringContaining('Nothing was restored: the mesh is disabled'))
    browser.errors.splice(0, browser.errors.length, ...browser.errors.filter((e) => !/status of 409/.test(e)))
  })
})

describe('utility console', () => {
  it('says plainly that aggregates are unavailable, and publishes a tariff from a preset', async () => {
    const p = await open('/utility')
    await expect
      .poll(() => p.locator('[data-aggregates=unavailable]').textContent())
      .toContain('fewer than 3 members')
    await expect.poll(() => p.locator('[data-balance=ETH] .total').textContent()).toBe('0.010234 ETH')
    // The average starts at the tariff in force (1000 gwei/Wh), and a preset keeps that level.
    const average = p.getByRole('textbox', { name: /Average price/ })
    await expect.poll(() => average.inputValue()).toBe('1000')
    await p.getByRole('button', { name: 'Evening peak' }).click()
    await p.getByText('Prices per hour').click()
    const h3 = p.getByRole('textbox', { name: '03:00 to 04:00 UTC, price in gwei per Wh' })
    await h3.fill('500')
    await h3.dispatchEvent('change')
    await p.getByRole('button', { name: 'Publish tariff' }).click()
    await expect.poll(() => p.getByText('Tariff published').count()).toBe(1)
    const body = server.state.requests.find((r) => r.method === 'POST' && r.path === '/api/utility/tariffs')
      ?.body as { effectiveFrom: number; prices: string[] }
    expect(body.prices).toHaveLength(96)
    // 860 off-peak and 1710 at the peak average 1000 over the day (3 significant digits).
    expect(body.prices[0]).toBe('860000000000')
    expect(body.prices[12]).toBe('500000000000')
    expect(body.prices[17 * 4]).toBe('1710000000000')
    expect(body.effectiveFrom % 86_400).toBe(0)
  })

  it('lists the credits meters carry from net bills and pays one out to its household', async () => {
    server.state.credits = [{ meter: METER, credit: 1_250_000_000_000_000n }]
    const p = await open('/utility')
    const row = p.locator(`[data-credit="${METER}"]`)
    await expect.poll(() => row.textContent()).toContain('0.00125 ETH')
    await row.getByRole('button', { name: 'Pay out' }).click()
    await expect.poll(() => p.getByText('Paid 0.00125 ETH to').count()).toBe(1)
    expect(
      server.state.requests.some(
        (r) => r.method === 'POST' && r.path === `/api/utility/credits/${METER}/pay`,
      ),
    ).toBe(true)
    await expect.poll(() => p.getByText('No meter carries a credit.').count()).toBe(1)
  })

  it('shows the aggregate chart when the mesh provides it', async () => {
    server.state.aggregates = {
      available: true,
      area: 1,
      members: 3,
      series: [0, 1, 2].map((i) => ({
        time: 1_764_000_000 + i * 900,
        totalWh: 1000 + i * 100,
        households: 3,
      })),
      forecast: [3, 4].map((i) => ({ time: 1_764_000_000 + i * 900, wh: 1300, low: 1200, high: 1400 })),
    }
    const p = await open('/utility')
    await expect
      .poll(() => p.getByRole('img', { name: /Area 1 load: 3 measured points, 2 forecast points/ }).count())
      .toBe(1)
  })
})

describe('pairing', () => {
  it('shows the pairing screen to an unpaired browser, and the code pairs it', async () => {
    await browser.context.clearCookies()
    page = await browser.newPage({ width: 375, height: 800 })
    await page.goto(`${server.url}/#/home`)
    await expect.poll(() => page.getByRole('heading', { name: 'Pair this device' }).count()).toBe(1)
    expect(server.clients()).toBe(0)
    const { code } = server.auth.issuePairingCode('resident')
    await page.getByLabel('Pairing code').fill(code.toLowerCase())
    await page.getByRole('button', { name: 'Pair' }).click()
    await expect.poll(() => page.getByRole('switch', { name: 'Main lights' }).count()).toBe(1)
    await expect.poll(() => server.clients()).toBeGreaterThan(0)
    const [cookie] = await browser.context.cookies(server.url)
    expect(cookie).toMatchObject({ name: 'zkm_session', httpOnly: true, sameSite: 'Strict' })
    // Logging out ends the session: the pairing screen again.
    await page.getByRole('button', { name: 'Log out' }).click()
    await expect.poll(() => page.getByRole('heading', { name: 'Pair this device' }).count()).toBe(1)
    expect((await browser.context.cookies(server.url)).length).toBe(0)
    forgetUnauthorizedErrors()
  })

  it('pairs from the link in the URL fragment once, and takes the code out of the address bar', async () => {
    await browser.context.clearCookies()
    const { code } = server.auth.issuePairingCode('resident')
    page = await browser.newPage()
    await page.goto(`${server.url}/#pair=${code}&fp=AB:CD`)
    await expect
      .poll(() => page.locator('[data-value=power]').count(), { timeout: scaledBudget(10_000) })
      .toBe(1)
    expect(page.url()).not.toContain(code)
    expect(await page.evaluate(() => location.hash)).toBe('#/')
    // The same link again, on a browser without the session: the code is used up.
    await browser.context.clearCookies()
    await page.close()
    page = await browser.newPage()
    await page.goto(`${server.url}/#pair=${code}`)
    await expect.poll(() => page.getByRole('heading', { name: 'Pair this device' }).count()).toBe(1)
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not valid/)
    forgetUnauthorizedErrors()
  })

  it('shows a read-only device the dashboard with every control disabled and says why', async () => {
    await pairBrowser('read-only')
    const p = await open('/home')
    await expect.poll(() => p.getByRole('note').textContent()).toMatch(/Read-only/)
    await expect.poll(() => p.getByRole('switch', { name: 'Main lights' }).isDisabled()).toBe(true)
    expect(await p.getByRole('radio').first().isDisabled()).toBe(true)
    await p.goto(`${server.url}/#/bills`)
    await expect
      .poll(() =>
        p
          .getByRole('button', { name: /built-in dev wallet/ })
          .first()
          .isDisabled(),
      )
      .toBe(true)
    expect(server.state.requests.filter((r) => r.method !== 'GET' && r.path !== '/api/pair')).toEqual([])
  })
})

describe('layout', () => {
  it('fits a 375 px phone without horizontal scrolling on every view', async () => {
    // One page, the views in turn (as the navigation switches them): a page load per view only
    // repeated the app's start, seconds each on a busy machine.
    page = await browser.newPage({ width: 375, height: 800 })
    for (const route of ['/', '/energy', '/bills', '/home', '/safety', '/privacy', '/mesh', '/utility']) {
      await showView(page, route)
      await page.waitForLoadState('networkidle').catch(() => undefined)
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      expect(width, route).toBeLessThanOrEqual(375)
    }
  })

  it('is usable from the keyboard: history tabs with arrow keys, a relay with Space', async () => {
    const p = await open('/energy')
    const day = p.getByRole('tab', { name: 'Day' })
    await expect.poll(() => day.getAttribute('aria-selected')).toBe('true')
    await day.focus()
    await p.keyboard.press('ArrowRight')
    await expect.poll(() => p.getByRole('tab', { name: 'Week' }).getAttribute('aria-selected')).toBe('true')
    expect(await p.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.tagName)).toBe(
      'ZKM-INSIGHT-VIEW',
    )
    await p.getByRole('link', { name: 'Home' }).focus()
    await p.keyboard.press('Enter')
    const lights = p.getByRole('switch', { name: 'Main lights' })
    await expect.poll(() => lights.count()).toBe(1)
    await lights.focus()
    await p.keyboard.press('Space')
    await expect.poll(() => lights.getAttribute('aria-checked')).toBe('true')
  })

  it('every button, input and select has an accessible name', async () => {
    page = await browser.newPage()
    for (const route of ['/', '/energy', '/bills', '/home', '/privacy', '/mesh', '/utility']) {
      await showView(page, route)
      const snapshot = await page.locator('body').ariaSnapshot()
      expect(snapshot, route).not.toMatch(
        /- (button|textbox|combobox|spinbutton|checkbox|radio|switch)\s*(\[|$)/m,
      )
    }
  })
})
