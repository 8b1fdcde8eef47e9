import type { Page } from 'playwright-core'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Bill, BillStatus } from '#protocol/api/types.ts'
import { bill, DAY, METER } from '../../test/support/fake-node.ts'
import { scaledBudget } from '../../test/support/load.ts'
import { encodePayBill } from '../src/lib/abi.ts'
import { fakeNodeSuite } from './fake-node-suite.ts'

const ui = fakeNodeSuite('bills')

/** 2026-12-01 00:00 UTC: 39 daily periods from here run into January 2027. */
const FIRST = Date.UTC(2026, 11, 1) / 1000
const TOTAL = 1_000_000_000_000_000n // 0.001 ETH a day

/** 39 daily bills: 30 paid, 6 verified (due), one zero, one of 1 gwei (nothing to pay), one proving. */
function dailyBills(): Bill[] {
  return Array.from({ length: 39 }, (_, i) => {
    const status: BillStatus = i < 30 ? 'paid' : i < 38 ? 'verified' : 'proving'
    const total =
      i === 36 ? '0' : i === 37 ? '1000000000' : status === 'proving' ? null : String(TOTAL + BigInt(i))
    const chainBillId = `0x${(i + 1).toString(16).padStart(64, '0')}`
    return bill(1, status, {
      id: `0xmeter-${FIRST + i * DAY}`,
      periodStart: FIRST + i * DAY,
      periodEnd: FIRST + (i + 1) * DAY,
      total,
      chainBillId: status === 'proving' ? null : chainBillId,
      paidTx: status === 'paid' ? `0x${(1000 + i).toString(16).padStart(64, '0')}` : null,
      paidBy: status === 'paid' ? `0x${'9a'.repeat(20)}` : null,
    })
  })
}
const DUE = dailyBills().filter((b, i) => b.status === 'verified' && i < 36)
const DUE_TOTAL = DUE.reduce((sum, b) => sum + BigInt(b.total as string), 0n)

async function open(route: string, before?: (p: Page) => Promise<unknown>): Promise<Page> {
  const page = await ui.newPage()
  await before?.(page)
  await page.goto(`${ui.server.url}/#${route}`)
  await expect.poll(() => ui.server.clients(), { timeout: scaledBudget(10_000) }).toBeGreaterThan(0)
  await expect
    .poll(() => page.locator('[data-bill]').count(), { timeout: scaledBudget(10_000) })
    .toBeGreaterThan(0)
  return page
}

const eth = (wei: bigint) => {
  const whole = wei / 10n ** 18n
  const frac = (wei % 10n ** 18n).toString().padStart(18, '0').slice(0, 6).replace(/0+$/, '')
  return `${whole}${frac ? `.${frac}` : ''} ETH`
}

describe('bills at scale', () => {
  beforeEach(() => {
    ui.server.state.bills = dailyBills()
  })

  it('shows the total due at the top and filters by unpaid, year and a date range', async () => {
    const p = await open('/bills')
    expect(await p.locator('[data-total-due]').textContent()).toBe(eth(DUE_TOTAL))
    const count = await p.locator('[data-due-count]').textContent()
    expect(count).toContain('6 unpaid bills on the ledger.')
    expect(count).toContain('2 bills have nothing to pay')
    expect(await p.locator('[data-shown]').textContent()).toBe('Showing 39 of 39 bills.')

    await p.locator('[data-filter-status]').selectOption('unpaid')
    await expect.poll(() => p.locator('[data-bill]').count()).toBe(6)
    await p.locator('[data-filter-status]').selectOption('all')
    // The years the bills start in, newest first.
    expect(await p.locator('[data-filter-period] option').allTextContents()).toEqual([
      'All periods',
      '2027',
      expect.stringMatching(/^2026/),
      'Dates from … to …',
    ])
    await p.locator('[data-filter-period]').selectOption('2027')
    await expect.poll(() => p.locator('[data-shown]').textContent()).toBe('Showing 8 of 39 bills.')
    await p.locator('[data-filter-period]').selectOption('range')
    await p.locator('[data-filter-from]').fill('2026-12-10')
    await p.locator('[data-filter-to]').fill('2026-12-12')
    await expect.poll(() => p.locator('[data-bill]').count()).toBe(3)
    await p.locator('[data-filter-status]').selectOption('unpaid')
    await expect.poll(() => p.locator('[data-none-shown]').count()).toBe(1)
  })

  it('shows "nothing to pay" instead of a Pay button for a zero or sub-display bill', async () => {
    const p = await open('/bills')
    for (const [i, text] of [
      [36, 'This bill is 0 ETH.'],
      [37, 'This bill is 1,000,000,000 wei, less than 0.000001 ETH'],
    ] as const) {
      const card = p.locator(`[data-bill="0xmeter-${FIRST + i * DAY}"]`)
      expect(await card.locator('[data-nothing-to-pay]').textContent()).toContain(text)
      expect(await card.locator('[data-status]').textContent()).toBe('nothing to pay')
      expect(await card.getByRole('button').count()).toBe(0)
      expect(await card.locator('[data-select]').count()).toBe(0)
    }
    // No button anywhere offers to pay 0 ETH.
    expect(await p.getByRole('button', { name: /Pay 0 ETH|Pay < 0/ }).count()).toBe(0)
  })

  it('pays several with the dev wallet, one after another, with each bill’s result', async () => {
    const p = await open('/bills')
    await p.getByRole('button', { name: 'Select all 6 unpaid shown' }).click()
    const pay = p.locator('[data-pay-selected-dev]')
    expect(await pay.textContent()).toContain('Pay 6 selected with dev wallet')
    await pay.click()
    await expect
      .poll(() => p.locator('[data-batch] [role=status]').textContent())
      .toBe('Done: 6 of 6 paid with the dev wallet.')
    expect(await p.locator('[data-outcome="paid"]').count()).toBe(6)
    const paid = ui.server.state.requests
      .filter((r) => r.method === 'POST' && r.path.endsWith('/pay'))
      .map((r) => r.path)
    // Oldest first, each bill once.
    expect(paid).toEqual(DUE.map((b) => `/api/bills/${b.id}/pay`))
    await expect.poll(() => p.locator('[data-total-due]').textContent()).toBe('0 ETH')
  })
})

/** A fake EIP-6963 wallet that confirms `confirmations` payments, then the person declines. */
function injectWallet(p: Page, confirmations: number) {
  return p.addInitScript((limit) => {
    const calls: { method: string; params: unknown }[] = []
    ;(window as Window & { __walletCalls?: unknown }).__walletCalls = calls
    let sent = 0
    const provider = {
      async request({ method, params }: { method: string; params?: unknown[] }) {
        calls.push({ method, params })
        switch (method) {
          case 'eth_requestAccounts':
            return ['0x70997970c51812dc3a010c7d01b50e0d17dc79c8']
          case 'eth_chainId':
            return '0x7a69'
          case 'eth_getBalance':
            return '0xde0b6b3a7640000'
          case 'eth_sendTransaction':
            if (sent >= limit) throw Object.assign(new Error('User rejected the request.'), { code: 4001 })
            sent++
            return `0x${sent.toString(16).padStart(64, 'a')}`
          case 'eth_getTransactionReceipt':
            return {
              transactionHash: (params as string[])[0],
              blockNumber: '0x2a',
              status: '0x1',
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
  }, confirmations)
}

describe('paying several from a browser wallet', () => {
  beforeEach(() => {
    ui.server.state.bills = dailyBills()
  })

  it('sends one payBill per selected bill with its total, and a decline stops the rest', async () => {
    const p = await open('/bills', (page) => injectWallet(page, 2))
    await p.getByRole('button', { name: 'Connect Test Wallet' }).click()
    await expect.poll(() => p.locator('[data-account]').count()).toBe(1)
    // Three bills ticked one by one (their checkboxes), paid oldest first.
    const picked = [DUE[3]!, DUE[0]!, DUE[1]!]
    for (const b of picked) await p.locator(`[data-bill="${b.id}"] [data-select]`).check()
    const pay = p.getByRole('button', { name: /^Pay 3 selected .* from Test Wallet$/ })
    expect(await pay.textContent()).toContain(
      `Pay 3 selected (${eth(picked.reduce((s, b) => s + BigInt(b.total!), 0n))})`,
    )
    await pay.click()
    await expect
      .poll(() => p.locator('[data-batch] [role=status]').textContent())
      .toBe('Done: 2 of 3 paid with Test Wallet.')
    expect(
      await p.locator('[data-outcome]').evaluateAll((li) => li.map((l) => l.getAttribute('data-outcome'))),
    ).toEqual(['paid', 'paid', 'failed'])
    expect(await p.locator('[data-outcome="failed"]').textContent()).toContain(
      'You declined the payment in your wallet',
    )
    const calls = (await p.evaluate(
      () => (window as Window & { __walletCalls?: { method: string; params: unknown[] }[] }).__walletCalls,
    )) as { method: string; params: unknown[] }[]
    const sends = calls.filter((c) => c.method === 'eth_sendTransaction').map((c) => c.params[0])
    const order = [DUE[0]!, DUE[1]!, DUE[3]!]
    expect(sends).toEqual(
      order.map((b) => ({
        from: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
        to: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
        data: encodePayBill(b.chainBillId as string),
        value: `0x${BigInt(b.total as string).toString(16)}`,
      })),
    )
    // The balance was checked for all three at once before the first prompt (and again before each).
    const methods = calls.map((c) => c.method)
    expect(methods.indexOf('eth_getBalance')).toBeLessThan(methods.indexOf('eth_sendTransaction'))
    expect(methods.filter((m) => m === 'eth_getBalance')).toHaveLength(4)
    // The one declined stays selected, for another try.
    expect(await p.locator(`[data-bill="${DUE[3]!.id}"] [data-select]`).isChecked()).toBe(true)
  })

  it('stops before any prompt when the balance cannot cover the selected bills', async () => {
    const p = await open('/bills', async (page) => {
      await injectWallet(page, 10)
      await page.addInitScript(() => {
        // A wallet holding 0.002 ETH: less than the six bills due.
        const original = window.dispatchEvent.bind(window)
        window.dispatchEvent = (event: Event) => {
          const detail = (event as CustomEvent).detail as {
            provider?: { request: (a: { method: string }) => Promise<unknown> }
          }
          const provider = detail?.provider
          if (
            event.type === 'eip6963:announceProvider' &&
            provider &&
            !(provider as { wrapped?: boolean }).wrapped
          ) {
            const request = provider.request.bind(provider)
            Object.assign(provider, {
              wrapped: true,
              request: (a: { method: string }) =>
                a.method === 'eth_getBalance' ? Promise.resolve('0x71afd498d0000') : request(a),
            })
          }
          return original(event)
        }
      })
    })
    await p.getByRole('button', { name: 'Connect Test Wallet' }).click()
    await expect.poll(() => p.locator('[data-account]').count()).toBe(1)
    await p.getByRole('button', { name: 'Select all 6 unpaid shown' }).click()
    await p.getByRole('button', { name: /^Pay 6 selected .* from Test Wallet$/ }).click()
    await expect
      .poll(() => p.locator('[data-batch] [role=alert]').textContent())
      .toContain('less than the 6 selected bills')
    const calls = (await p.evaluate(
      () => (window as Window & { __walletCalls?: { method: string }[] }).__walletCalls,
    )) as { method: string }[]
    expect(calls.some((c) => c.method === 'eth_sendTransaction')).toBe(false)
  })
})

describe('money people read', () => {
  it('sets a display currency on the node, shows amounts with the rate and when it was set, and refuses a bad rate', async () => {
    const p = await open('/bills')
    const form = p.getByRole('form', { name: 'Display currency' })
    await form.getByLabel('Currency (ISO code)').fill('eur')
    await form.getByLabel('Price of 1 ETH').fill('-5')
    await form.getByRole('button', { name: 'Save rate' }).click()
    await expect
      .poll(() => p.locator('zkm-display-currency [role=alert]').textContent())
      .toContain('Not saved:')
    expect(ui.server.state.displayCurrency).toBeNull()
    ui.browser.errors.splice(
      0,
      ui.browser.errors.length,
      ...ui.browser.errors.filter((e) => !/status of 400/.test(e)),
    )

    await form.getByLabel('Price of 1 ETH').fill('2,870.00')
    await form.getByRole('button', { name: 'Save rate' }).click()
    await expect.poll(() => ui.server.state.displayCurrency?.rate).toBe('2870.00')
    // The verified bill of the fixture: 0.020468 ETH ≈ €58.74 (58.743…).
    const card = p.locator(`[data-bill="${ui.server.state.bills[1]!.id}"]`)
    await expect.poll(() => card.locator('[data-equiv]').textContent()).toBe('≈ €58.74')
    expect(await p.locator('[data-due-rate]').textContent()).toMatch(
      /^EUR amounts at EUR, 1 ETH = €2,870\.00 \(set \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\)/,
    )
    // Kept on the node: a reload shows it again.
    await p.reload()
    await expect.poll(() => p.locator('[data-total-due] + [data-equiv]').textContent()).toBe('≈ €58.74')
    await p.getByRole('button', { name: 'Show ETH only' }).click()
    await expect.poll(() => p.locator('[data-equiv]').count()).toBe(0)
    expect(ui.server.state.displayCurrency).toBeNull()
  })

  it('shows a paid bill’s receipt and downloads the payments CSV with this device’s session', async () => {
    ui.server.state.displayCurrency = { currency: 'EUR', rate: '2870.00', setAt: '2026-12-07T05:00:00.000Z' }
    const p = await open('/bills')
    const paid = ui.server.state.bills[0]!
    const receipt = p.locator(`[data-bill="${paid.id}"] [data-receipt-view]`)
    await expect.poll(() => receipt.count()).toBe(1)
    await receipt.locator('summary').click()
    expect(await receipt.locator('[data-receipt-payer]').textContent()).toBe(paid.paidBy)
    expect(await receipt.locator('[data-receipt-tx]').textContent()).toBe(paid.paidTx)
    expect(await receipt.locator('[data-receipt-time]').textContent()).toBe(
      `${new Date((paid.periodEnd + 3600) * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    )
    expect(await receipt.locator('[data-receipt-amount]').textContent()).toBe('0.010234 ETH ≈ €29.37')
    const link = p.locator('[data-download-payments]')
    expect(await link.getAttribute('href')).toBe('/api/payments.csv')
    const [download] = await Promise.all([p.waitForEvent('download'), link.click()])
    expect(download.suggestedFilename()).toBe('zkmeter-payments.csv')
    const path = await download.path()
    const { readFile } = await import('node:fs/promises')
    const csv = await readFile(path as string, 'utf8')
    expect(csv.split('\r\n')[0]).toMatch(/^bill_id,period_start_utc,/)
    expect(csv.split('\r\n')[1]).toContain(`${paid.paidTx}`)
    expect(csv.split('\r\n')[1]).toContain(',EUR,29.37,2870.00,')
  })
})

/**
 * Homes with solar (issue 17): a net bill's cost is lowered by its export credit, and credit left over
 * is carried to the next bill, so what the ledger asks (`amountDue`) is not the bill's `total`. The
 * ledger refuses any other amount (WrongAmount): every payment must send the amount due.
 */
describe('net bills and export credit', () => {
  const wei = (eth: string) => BigInt(Math.round(Number(eth) * 1e6)) * 10n ** 12n
  // A sunny month: credit 0.003 above a cost of 0.002, so the ledger recorded it paid and carried 0.001.
  const sunny = bill(1, 'paid', {
    kind: 'net',
    exportedWh: 180_000,
    total: String(wei('0.002')),
    credit: String(wei('0.003')),
    creditUsed: '0',
    amountDue: '0',
    paidTx: null,
    paidBy: null,
  })
  // The next month's import bill: 0.005, of which the carried 0.001 was taken first. An import bill
  // although the home exported: the node refused that tariff's feed-in curve, and the bill says so.
  const next = bill(2, 'verified', {
    kind: 'import',
    exportedWh: 0,
    total: String(wei('0.005')),
    credit: null,
    creditUsed: String(wei('0.001')),
    amountDue: String(wei('0.004')),
    creditForgone:
      'Your home fed energy into the grid this period, but … it is an import bill: it claims no export credit for this period (that credit is forgone).',
  })
  // A cloudy month: credit 0.0015 below a cost of 0.004.
  const cloudy = bill(3, 'verified', {
    kind: 'net',
    exportedWh: 40_000,
    total: String(wei('0.004')),
    credit: String(wei('0.0015')),
    creditUsed: '0',
    amountDue: String(wei('0.0025')),
  })

  beforeEach(() => {
    ui.server.state.bills = [sunny, next, cloudy].map((b) => ({ ...b }))
    ui.server.state.credits = [{ meter: METER, credit: wei('0.00025') }]
  })

  it("shows each bill's export, credit and amount due, and the credit carried", async () => {
    const p = await open('/bills')
    // What is due sums the amounts due (0.004 + 0.0025), not the costs (0.009).
    expect(await p.locator('[data-total-due]').textContent()).toBe('0.0065 ETH')
    expect(await p.locator('[data-carried-credit]').textContent()).toContain('0.00025 ETH')

    const sunnyCard = p.locator(`[data-bill="${sunny.id}"]`)
    expect(await sunnyCard.locator('[data-bill-exported]').textContent()).toBe('180.000 kWh')
    expect(await sunnyCard.locator('[data-credit]').textContent()).toBe('− 0.002 ETH (of 0.003 ETH)')
    expect(await sunnyCard.locator('[data-credit-surplus]').textContent()).toContain(
      '0.001 ETH carries to your next bill',
    )
    expect(await sunnyCard.locator('[data-covered-by-credit]').count()).toBe(1)
    expect(await sunnyCard.getByRole('button').count()).toBe(0)

    const nextCard = p.locator(`[data-bill="${next.id}"]`)
    expect(await nextCard.locator('[data-credit-used]').textContent()).toBe('− 0.001 ETH')
    expect(await nextCard.locator('[data-amount-due]').textContent()).toBe('0.004 ETH')
    expect(await nextCard.locator('[data-headline-due]').textContent()).toContain('to pay, of 0.005 ETH')
    expect(await nextCard.locator('[data-bill-exported]').count()).toBe(0)
    expect(await nextCard.locator('[data-credit-forgone]').textContent()).toContain('that credit is forgone')
    expect(await sunnyCard.locator('[data-credit-forgone]').count()).toBe(0)

    const cloudyCard = p.locator(`[data-bill="${cloudy.id}"]`)
    expect(await cloudyCard.locator('[data-bill-exported]').textContent()).toBe('40.000 kWh')
    expect(await cloudyCard.locator('[data-credit]').textContent()).toBe('− 0.0015 ETH')
    expect(await cloudyCard.locator('[data-credit-surplus]').count()).toBe(0)
    expect(await cloudyCard.getByRole('button', { name: /^Pay 0\.0025 ETH with/ }).count()).toBe(1)
    expect(await cloudyCard.locator('[data-public-private]').textContent()).toContain(
      'the energy you returned to the grid and its credit',
    )
  })

  it('pays the amount due from a browser wallet and from the dev wallet, never the cost', async () => {
    const p = await open('/bills', (page) => injectWallet(page, 1))
    await p.getByRole('button', { name: 'Connect Test Wallet' }).click()
    await expect.poll(() => p.locator('[data-account]').count()).toBe(1)
    await p
      .locator(`[data-bill="${cloudy.id}"]`)
      .getByRole('button', { name: /^Pay 0\.0025 ETH with Test Wallet/ })
      .click()
    await expect
      .poll(() => p.locator(`[data-bill="${cloudy.id}"] [data-receipt]`).count(), {
        timeout: scaledBudget(10_000),
      })
      .toBe(1)
    const calls = (await p.evaluate(
      () => (window as Window & { __walletCalls?: { method: string; params: unknown[] }[] }).__walletCalls,
    )) as { method: string; params: unknown[] }[]
    const sends = calls.filter((c) => c.method === 'eth_sendTransaction').map((c) => c.params[0])
    expect(sends).toEqual([
      expect.objectContaining({
        data: encodePayBill(cloudy.chainBillId as string),
        value: `0x${wei('0.0025').toString(16)}`,
      }),
    ])

    await p
      .locator(`[data-bill="${next.id}"]`)
      .getByRole('button', { name: /^Pay with dev wallet: 0\.004 ETH/ })
      .click()
    await expect.poll(() => ui.server.state.ledgerPayments.length).toBe(1)
    expect(ui.server.state.ledgerPayments).toEqual([{ billId: next.chainBillId, amount: wei('0.004') }])
  })
})
