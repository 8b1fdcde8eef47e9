/**
 * The payments CSV cannot carry a formula into a spreadsheet (CSV injection) and reads back as the
 * cells it was given (RFC 4180): property tests over arbitrary text, and the payments document.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { csvCell, toCsv } from '../../src/billing/csv.ts'
import { PAYMENTS_CSV_HEADER, paymentsCsv } from '../../src/billing/payments.ts'
import { readCsv } from './csv-read.ts'

const FORMULA = /^[=+\-@\t\r]/
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n', '"', ',', ' ', 'a', '1', ';') }),
  fc.constantFrom('=HYPERLINK("http://x")', '+1+1', '-2', '@SUM(A1)', '\t=1', '\r=1', '=cmd|" /C calc"!A0'),
)

describe('CSV cells', () => {
  it('property: a cell reads back as its text, with an apostrophe in front of a formula start only', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(text, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 5 }),
        (rows) => {
          const width = rows[0]!.length
          const even = rows.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? ''))
          const [header, ...body] = even
          const back = readCsv(toCsv(header!, body))
          expect(back).toEqual(even.map((r) => r.map((c) => (FORMULA.test(c) ? `'${c}` : c))))
          // What a spreadsheet sees first in any cell is never a formula character.
          for (const cell of back.flat()) expect(FORMULA.test(cell)).toBe(false)
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('leaves plain values alone and quotes what needs it', () => {
    expect(csvCell('0xabc')).toBe('0xabc')
    expect(csvCell(12)).toBe('12')
    expect(csvCell(null)).toBe('')
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('=1+1')).toBe("'=1+1")
    expect(csvCell('-1')).toBe("'-1")
    expect(csvCell('say "hi"')).toBe('"say ""hi"""')
  })
})

describe('the payments CSV', () => {
  const payment = {
    billId: '0xmeter-1764000000',
    chainBillId: `0x${'01'.repeat(32)}`,
    periodStart: 1_764_000_000,
    periodEnd: 1_764_086_400,
    energyWh: 10_234,
    amount: '10234000000000000',
    tariffId: '1',
    commitment: '123',
    cidDigest: `0x${'ab'.repeat(32)}`,
    submitTx: `0x${'cd'.repeat(32)}`,
    txHash: `0x${'ef'.repeat(32)}`,
    payer: '=HYPERLINK("http://evil")',
    blockNumber: 42,
    paidAt: 1_764_090_000,
  }

  it('has the amount in wei and ETH, the display equivalent with its rate and when it was set, and no formula', () => {
    const csv = paymentsCsv([payment], {
      currency: 'EUR',
      rate: '2870.00',
      setAt: '2026-12-07T05:00:00.000Z',
    })
    const [header, row] = readCsv(csv)
    expect(header).toEqual([...PAYMENTS_CSV_HEADER])
    const cells = Object.fromEntries(header!.map((h, i) => [h, row![i]]))
    expect(cells).toMatchObject({
      period_start_utc: '2025-11-24T16:00:00Z',
      energy_kwh: '10.234',
      amount_wei: '10234000000000000',
      amount_eth: '0.010234',
      display_currency: 'EUR',
      display_amount: '29.37',
      rate_per_eth: '2870.00',
      rate_set_at: '2026-12-07T05:00:00.000Z',
      payer: `'=HYPERLINK("http://evil")`,
      block: '42',
      paid_at_utc: '2025-11-25T17:00:00Z',
    })
    // Without a display currency those columns are empty.
    const plain = Object.fromEntries(header!.map((h, i) => [h, readCsv(paymentsCsv([payment], null))[1]![i]]))
    expect(plain).toMatchObject({ display_currency: '', display_amount: '', rate_per_eth: '' })
  })
})
