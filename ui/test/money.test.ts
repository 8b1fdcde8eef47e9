/**
 * The Bills page's pure parts in Node: money formatting (the "nothing to pay" rule agrees with
 * what the page shows, display amounts exact), paying several one after another, and the filters.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isNothingToPay, NOTHING_TO_PAY_BELOW_WEI } from '#protocol/money.ts'
import { bill, DAY } from '../../test/support/fake-node.ts'
import { filterBills } from '../src/lib/bill-filter.ts'
import { formatDisplay, formatEth, formatMoney, formatRate, formatRateSet } from '../src/lib/format.ts'
import { PaymentError, payInTurn } from '../src/lib/wallet.ts'

describe('money formatting', () => {
  it('property: a bill is "nothing to pay" exactly when its total shows as less than 0.000001 ETH or 0', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), (wei) => {
        const shown = formatEth(wei)
        const nothing = isNothingToPay({ status: 'verified', total: wei.toString() })
        expect(nothing).toBe(shown === '0 ETH' || shown.startsWith('< '))
      }),
      { numRuns: 3000 },
    )
    expect(formatEth(NOTHING_TO_PAY_BELOW_WEI)).toBe('0.000001 ETH')
    expect(formatEth(NOTHING_TO_PAY_BELOW_WEI - 1n)).toBe('< 0.000001 ETH')
  })

  it('property: the display amount is the exact decimal, formatted with grouping and the currency sign', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        fc.integer({ min: 1, max: 99_999_999 }),
        (wei, cents) => {
          const rate = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`
          const text = formatDisplay(wei, { currency: 'EUR', rate })
          expect(text).toMatch(/^€\d{1,3}(,\d{3})*\.\d{2}$/)
          // Undo the formatting: the digits are the bigint conversion's, half up once.
          const minor = BigInt(text.replace(/[€,.]/g, ''))
          const exact2 = wei * BigInt(cents) * 2n // in 10^-18 cents, doubled
          const scale = 10n ** 18n
          expect(minor * 2n * scale - exact2 <= scale && exact2 - minor * 2n * scale < scale).toBe(true)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('formats rates, yen and large amounts', () => {
    expect(formatRate({ currency: 'EUR', rate: '2870.00' })).toBe('1 ETH = €2,870.00')
    expect(formatRate({ currency: 'EUR', rate: '2870.12345678' })).toBe('1 ETH = €2,870.12345678')
    expect(formatRateSet({ currency: 'EUR', rate: '2870', setAt: '2026-12-07T14:02:00.000Z' })).toBe(
      'EUR, 1 ETH = €2,870.00 (set 2026-12-07 14:02 UTC)',
    )
    expect(formatDisplay(10_234_000_000_000_000n, { currency: 'JPY', rate: '430000' })).toBe('¥4,401')
    expect(formatMoney('123456789012345678.99', 'USD')).toBe('$123,456,789,012,345,678.99')
  })
})

describe('paying several, one after another', () => {
  it('continues past a failed bill, stops at a decline and marks the rest not tried', async () => {
    const progress: string[][] = []
    const outcomes = await payInTurn(
      ['a', 'b', 'c', 'd'],
      async (item) => {
        if (item === 'b') throw new PaymentError('reverted', 'paid meanwhile')
        if (item === 'c') throw new PaymentError('rejected', 'You declined the payment in your wallet.')
        return `0x${item}`
      },
      (o) => progress.push(o.map((x) => x.state)),
    )
    expect(outcomes.map((o) => [o.item, o.state, o.txHash ?? o.message])).toEqual([
      ['a', 'paid', '0xa'],
      ['b', 'failed', 'paid meanwhile'],
      ['c', 'failed', 'You declined the payment in your wallet.'],
      ['d', 'skipped', expect.stringContaining('Not tried')],
    ])
    // One at a time: never two bills paying at once.
    for (const states of progress) expect(states.filter((s) => s === 'paying').length).toBeLessThanOrEqual(1)
    expect(progress[0]).toEqual(['waiting', 'waiting', 'waiting', 'waiting'])
  })
})

describe('bill filters', () => {
  const first = Date.UTC(2026, 11, 30) / 1000
  const bills = [0, 1, 2, 3].map((i) =>
    bill(1, i === 1 ? 'paid' : 'verified', {
      id: `b${i}`,
      periodStart: first + i * DAY,
      periodEnd: first + (i + 1) * DAY,
      total: i === 3 ? '0' : '1000000000000000',
    }),
  )
  const ids = (f: Parameters<typeof filterBills>[1]) => filterBills(bills, f).map((b) => b.id)

  it('unpaid leaves out paid and nothing-to-pay bills; a year is the UTC year the period starts in', () => {
    expect(ids({ status: 'unpaid', period: 'all', from: '', to: '' })).toEqual(['b0', 'b2'])
    expect(ids({ status: 'paid', period: 'all', from: '', to: '' })).toEqual(['b1'])
    expect(ids({ status: 'all', period: '2027', from: '', to: '' })).toEqual(['b2', 'b3'])
    expect(ids({ status: 'all', period: '2026', from: '', to: '' })).toEqual(['b0', 'b1'])
  })

  it('a date range keeps the periods that overlap it, its ends included; an empty end is open', () => {
    expect(ids({ status: 'all', period: 'range', from: '2026-12-31', to: '2026-12-31' })).toEqual(['b1'])
    expect(ids({ status: 'all', period: 'range', from: '2027-01-01', to: '' })).toEqual(['b2', 'b3'])
    expect(ids({ status: 'all', period: 'range', from: '', to: '' })).toEqual(['b0', 'b1', 'b2', 'b3'])
    expect(ids({ status: 'all', period: 'range', from: 'nonsense', to: '2026-12-30' })).toEqual(['b0'])
  })
})
