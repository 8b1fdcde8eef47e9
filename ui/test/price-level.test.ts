/**
 * The tariff editor keeps the price level (issue 14): a preset reshapes the day around the average
 * of the tariff in force instead of an unrelated base (50 gwei/Wh made a 500–2000 gwei/Wh tariff
 * 10–40× cheaper in one click), and a change of the average beyond 2× is measured for the
 * confirmation the console asks for.
 */
import { describe, expect, it } from 'vitest'
import { tariffViolation } from '#protocol/tariff-rules.ts'
import {
  formatPrice,
  GWEI,
  GWEI_UNIT,
  LEVEL_CHANGE_CONFIRM,
  levelRatio,
  PriceCurve,
  parseGwei,
  parsePrice,
  priceUnitOf,
} from '../src/lib/price-curve.ts'

/** A tariff like the dev chain's: 500 gwei/Wh at night, 2000 in the evening peak, 1000 otherwise. */
function current(): PriceCurve {
  const c = new PriceCurve(96)
  for (let h = 0; h < 24; h++) c.setHour(h, (h < 7 ? 500n : h >= 17 && h < 21 ? 2000n : 1000n) * GWEI)
  return c
}

describe('presets at the current price level', () => {
  for (const preset of ['flat', 'day-night', 'peak'] as const) {
    it(`${preset} keeps the average within a few per cent and obeys the tariff rules`, () => {
      const before = current()
      const level = before.average()
      const after = before.clone()
      after.applyPresetAtLevel(preset, level)
      expect(levelRatio(after.average(), level)).toBeLessThan(1.02)
      expect(levelRatio(after.average(), level)).toBeLessThanOrEqual(LEVEL_CHANGE_CONFIRM)
      expect(tariffViolation(after.prices, after.slots)).toBeUndefined()
    })
  }

  it('the old base of 50 gwei/Wh was 20× below this level (what a click did before)', () => {
    const before = current()
    const old = before.clone()
    old.applyPreset('day-night', parseGwei('50'))
    expect(levelRatio(old.average(), before.average())).toBeGreaterThan(10)
  })

  it('measures level changes both ways, and from zero', () => {
    expect(levelRatio(100n, 100n)).toBe(1)
    expect(levelRatio(100n, 250n)).toBe(2.5)
    expect(levelRatio(250n, 100n)).toBe(2.5)
    expect(levelRatio(0n, 5n)).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('prices in the money of the tariff (issue 17)', () => {
  const tusd = { assetId: 1, symbol: 'tUSD', decimals: 6 }

  it('types an Ether tariff in gwei per Wh and a token tariff in the token per kWh', () => {
    expect(priceUnitOf(null)).toBe(GWEI_UNIT)
    expect(priceUnitOf({ assetId: 0, symbol: 'ETH', decimals: 18 })).toBe(GWEI_UNIT)
    const unit = priceUnitOf(tusd)
    expect(unit).toMatchObject({ digits: 3, label: 'tUSD per kWh', short: 'tUSD/kWh' })
    // 0.25 tUSD a kWh = 250,000 units of 10^-6 tUSD per 1000 Wh = 250 per Wh.
    expect(parsePrice('0.25', unit)).toBe(250n)
    expect(parsePrice('1', unit)).toBe(1000n)
    expect(formatPrice(250n, unit)).toBe('0.25')
    expect(formatPrice(450n, unit)).toBe('0.45')
    expect(() => parsePrice('0.2501', unit)).toThrow('at most 3 decimals, tUSD per kWh')
    expect(parsePrice('12.5', GWEI_UNIT)).toBe(parseGwei('12.5'))
    // An 18-decimal token: per kWh with 15 decimals.
    expect(parsePrice('0.3', priceUnitOf({ assetId: 2, symbol: 'DAI', decimals: 18 }))).toBe(
      300_000_000_000_000n,
    )
    // Fewer than 3 decimals: whole units per Wh (a price per kWh would not be whole).
    const coarse = priceUnitOf({ assetId: 3, symbol: 'X', decimals: 2 })
    expect(coarse).toMatchObject({ digits: 0, label: 'X units per Wh' })
    expect(parsePrice('7', coarse)).toBe(7n)
    expect(() => parsePrice('7.5', coarse)).toThrow()
  })

  it('a token curve made from a preset obeys the tariff rules', () => {
    const curve = new PriceCurve(96)
    curve.applyPresetAtLevel('peak', parsePrice('0.25', priceUnitOf(tusd)))
    expect(tariffViolation(curve.prices, 96)).toBeUndefined()
  })
})
