/**
 * The bills, payments and display-currency routes over the node's own HTTP layer and handlers
 * (test/support/fake-node.ts): what is due, the payments list and CSV (a download, formula-safe),
 * and the display currency refused with a named 400 for bad input, 403 for a read-only device.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { NOTHING_TO_PAY_BELOW_WEI } from '#protocol/money.ts'
import { bill, type FakeNode, initialState, startFakeNode } from '../../../test/support/fake-node.ts'

let dist: string
let node: FakeNode

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), 'zkmeter-payment-routes-'))
  node = await startFakeNode({ dist })
})

afterAll(async () => {
  await node.close()
  await rm(dist, { recursive: true, force: true })
})

afterEach(() => {
  const fresh = initialState()
  Object.assign(node.state, { bills: fresh.bills, displayCurrency: null })
})

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = node.headers,
) {
  const answer = await fetch(`${node.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  const text = await answer.text()
  return {
    status: answer.status,
    headers: answer.headers,
    text,
    body: text.startsWith('{') ? JSON.parse(text) : undefined,
  }
}

describe('GET /api/bills: what is due', () => {
  it('sums the unpaid bills on the ledger, and counts zero or sub-display ones as nothing to pay', async () => {
    node.state.bills = [
      bill(1, 'paid'),
      bill(2, 'verified', { total: '10234000000000000' }),
      bill(3, 'verified', { id: 'b3', total: '20468000000000000', chainBillId: `0x${'03'.repeat(32)}` }),
      bill(4, 'verified', { id: 'b4', total: '0' }),
      bill(5, 'verified', { id: 'b5', total: String(NOTHING_TO_PAY_BELOW_WEI - 1n) }),
      bill(6, 'proving', { id: 'b6' }),
    ]
    const { status, body } = await call('GET', '/api/bills')
    expect(status).toBe(200)
    expect(body.due).toEqual({ total: '30702000000000000', count: 2, nothingToPay: 2 })
    expect(body.display).toBeNull()
  })
})

describe('payments', () => {
  it('lists each paid bill with its receipt and public figures', async () => {
    const { body } = await call('GET', '/api/payments')
    expect(body.payments).toEqual([
      expect.objectContaining({
        billId: node.state.bills[0]!.id,
        txHash: node.state.bills[0]!.paidTx,
        payer: node.state.bills[0]!.paidBy,
        amount: node.state.bills[0]!.total,
        energyWh: 10_234,
        commitment: node.state.bills[0]!.commitment,
        paidAt: node.state.bills[0]!.periodEnd + 3600,
      }),
    ])
  })

  it('downloads the CSV with the display equivalent, no cell a formula', async () => {
    // A bill id is the node's own, but the CSV trusts no cell: one shaped like a formula stays text.
    node.state.bills[0]!.id = '=HYPERLINK("http://evil")'
    await call('PUT', '/api/settings/display-currency', { currency: 'EUR', rate: '2870.00' })
    const csv = await call('GET', '/api/payments.csv')
    expect(csv.status).toBe(200)
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="zkmeter-payments.csv"')
    const [header, row] = csv.text.split('\r\n')
    expect(header).toMatch(/^bill_id,period_start_utc,/)
    expect(row).toContain(`,EUR,29.37,2870.00,`)
    expect(row).toMatch(/^"'=HYPERLINK\(""http:\/\/evil""\)",/)
  })

  it('needs a session', async () => {
    expect((await call('GET', '/api/payments.csv', undefined, {})).status).toBe(401)
  })
})

describe('display currency', () => {
  it('is set, read back with the time it was set, and cleared', async () => {
    const set = await call('PUT', '/api/settings/display-currency', { currency: 'EUR', rate: '2,870.00' })
    expect(set.status).toBe(200)
    expect(set.body.display).toMatchObject({ currency: 'EUR', rate: '2870.00' })
    expect(Date.parse(set.body.display.setAt)).not.toBeNaN()
    expect((await call('GET', '/api/settings/display-currency')).body.display).toEqual(set.body.display)
    expect((await call('GET', '/api/bills')).body.display).toEqual(set.body.display)
    expect((await call('DELETE', '/api/settings/display-currency')).body.display).toBeNull()
    expect((await call('GET', '/api/settings/display-currency')).body.display).toBeNull()
  })

  it('refuses bad input with a named 400 and changes nothing', async () => {
    await call('PUT', '/api/settings/display-currency', { currency: 'USD', rate: '3100' })
    for (const body of [
      { currency: 'usd', rate: '1' },
      { currency: 'ETH', rate: '1' },
      { currency: 'EUR', rate: '0' },
      { currency: 'EUR', rate: '1.123456789' },
      { currency: 'EUR', rate: 'abc' },
      { currency: 'EUR', rate: 2870 },
      { currency: 'EUR' },
      {},
    ]) {
      const answer = await call('PUT', '/api/settings/display-currency', body)
      expect(answer.status, JSON.stringify(body)).toBe(400)
      expect(answer.body.error).toBe('MoneyInputError')
    }
    for (const body of ['[]', 'null', '"EUR"'])
      expect((await call('PUT', '/api/settings/display-currency', body)).status).toBe(400)
    expect((await call('PUT', '/api/settings/display-currency', '{')).body.error).toBe('InvalidJsonError')
    expect((await call('GET', '/api/settings/display-currency')).body.display).toMatchObject({
      currency: 'USD',
      rate: '3100',
    })
  })

  it('a read-only device cannot change it (403)', async () => {
    const cookie = await node.pair('read-only')
    const answer = await call(
      'PUT',
      '/api/settings/display-currency',
      { currency: 'EUR', rate: '1' },
      { cookie: `${cookie.name}=${cookie.value}` },
    )
    expect(answer.status).toBe(403)
    expect(node.state.displayCurrency).toBeNull()
  })
})
