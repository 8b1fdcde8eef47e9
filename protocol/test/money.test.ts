/**
 * Money as residents read it (protocol/money.ts): conversions to a display currency rounded once,
 * half up, to the currency's smallest unit; rates typed by people parsed exactly or refused; what
 * is due and what is "nothing to pay".
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  checkCurrencyCode,
  currencyDigits,
  displayDecimal,
  isDue,
  isNothingToPay,
  MAX_RATE,
  MoneyInputError,
  minorToDecimal,
  NOTHING_TO_PAY_BELOW_WEI,
  parseRate,
  RATE_DECIMALS,
  toMinorUnits,
  totalDue,
  WEI_PER_ETH,
  weiToEthDecimal,
} from '../money.ts'

const RATE_SCALE = 10n ** BigInt(RATE_DECIMALS)
const wei = fc.bigInt({ min: 0n, max: 10n ** 30n })
const rateScaled = fc.bigInt({ min: 1n, max: BigInt(MAX_RATE) * RATE_SCALE })
const digits = fc.integer({ min: 0, max: 4 })

describe('conversion to the display currency', () => {
  it('property: the converted amount is within half a minor unit of the exact value (rounded once)', () => {
    fc.assert(
      fc.property(wei, rateScaled, digits, (w, r, d) => {
        const minor = toMinorUnits(w, r, d)
        // exact = w·r·10^d / (10^18·10^8); |minor − exact| ≤ ½, ties rounded up.
        const den = WEI_PER_ETH * RATE_SCALE
        const diff2 = 2n * (minor * den - w * r * 10n ** BigInt(d))
        expect(diff2 <= den && diff2 > -den).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })

  it('property: more wei never converts to less money', () => {
    fc.assert(
      fc.property(wei, wei, rateScaled, digits, (a, b, r, d) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a]
        expect(toMinorUnits(lo, r, d) <= toMinorUnits(hi, r, d)).toBe(true)
      }),
    )
  })

  it('formats examples exactly (2870.00 EUR per ETH)', () => {
    const display = { currency: 'EUR', rate: '2870.00' }
    expect(displayDecimal(WEI_PER_ETH, display)).toBe('2870.00')
    expect(displayDecimal(10_234_000_000_000_000n, display)).toBe('29.37') // 29.37158
    expect(displayDecimal(1_742_160_278_746n, display)).toBe('0.01') // 0.005000000000001 → half up
    expect(displayDecimal(1_742_160_278_745n, display)).toBe('0.00') // 0.004999999999998
    expect(displayDecimal(123_456_789_000_000_000_000n, display)).toBe('354320.98') // 354,320.9844
    expect(currencyDigits('JPY')).toBe(0)
    expect(displayDecimal(10_234_000_000_000_000n, { currency: 'JPY', rate: '430000' })).toBe('4401')
    expect(minorToDecimal(5n, 2)).toBe('0.05')
    expect(weiToEthDecimal(10_234_000_000_000_000n)).toBe('0.010234')
    expect(weiToEthDecimal(0n)).toBe('0')
  })
})

describe('rates and currency codes a person types', () => {
  it('property: a rate written with up to 8 decimals, with or without grouping, parses to its exact value', () => {
    fc.assert(
      fc.property(rateScaled, fc.boolean(), (scaled, grouped) => {
        const whole = scaled / RATE_SCALE
        const fraction = (scaled % RATE_SCALE).toString().padStart(RATE_DECIMALS, '0').replace(/0+$/, '')
        const wholeText = grouped ? whole.toLocaleString('en-US') : whole.toString()
        const text = fraction ? `${wholeText}.${fraction}` : wholeText
        expect(parseRate(text).scaled).toBe(scaled)
        expect(parseRate(parseRate(text).text).scaled).toBe(scaled)
      }),
    )
  })

  it('refuses what is not a positive rate, with a named error', () => {
    for (const bad of [
      '',
      ' ',
      '0',
      '0.00',
      '-1',
      '1e3',
      'NaN',
      'Infinity',
      '1.123456789',
      '12,34',
      '1..2',
      '2 870,00',
      `${MAX_RATE + 1}`,
      2870,
      null,
    ]) {
      expect(() => parseRate(bad), String(bad)).toThrow(MoneyInputError)
    }
    expect(parseRate('2,870.00')).toEqual({ scaled: 287_000_000_000n, text: '2870.00' })
    expect(parseRate(' 0.5 ').text).toBe('0.5')
  })

  it('takes a three-letter ISO 4217 code other than ETH', () => {
    expect(checkCurrencyCode('EUR')).toBe('EUR')
    for (const bad of ['eur', 'EURO', 'E', 'ETH', '', 'XXX', 1, '€'])
      expect(() => checkCurrencyCode(bad)).toThrow(MoneyInputError)
  })
})

describe('what is due', () => {
  const verified = (total: bigint | null) => ({
    status: 'verified',
    total: total === null ? null : total.toString(),
  })

  it('a zero or sub-display total is "nothing to pay", from the threshold on it is due', () => {
    for (const t of [0n, 1n, NOTHING_TO_PAY_BELOW_WEI - 1n]) {
      expect(isDue(verified(t))).toBe(false)
      expect(isNothingToPay(verified(t))).toBe(true)
    }
    expect(isDue(verified(NOTHING_TO_PAY_BELOW_WEI))).toBe(true)
    expect(isNothingToPay(verified(NOTHING_TO_PAY_BELOW_WEI))).toBe(false)
    // Not proved yet, or paid: neither.
    expect(isNothingToPay(verified(null))).toBe(false)
    expect(isNothingToPay({ status: 'paid', total: '0' })).toBe(false)
    expect(isDue({ status: 'paid', total: '10000000000000000' })).toBe(false)
  })

  it('property: the total due is the sum of the due bills exactly (beyond 2^53)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            status: fc.constantFrom('verified', 'paid', 'proving', 'failed'),
            total: fc.option(wei.map(String), { nil: null }),
          }),
          { maxLength: 60 },
        ),
        (bills) => {
          const due = totalDue(bills)
          const expected = bills.filter(isDue)
          expect(due.count).toBe(expected.length)
          expect(due.total).toBe(expected.reduce((sum, b) => sum + BigInt(b.total as string), 0n))
        },
      ),
    )
  })
})
