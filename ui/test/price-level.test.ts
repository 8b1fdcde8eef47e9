/**
 * The tariff editor keeps the price level (issue 14): a preset reshapes the day around the average
 * of the tariff in force instead of an unrelated base (50 gwei/Wh made a 500–2000 gwei/Wh tariff
 * 10–40× cheaper in one click), and a change of the average beyond 2× is measured for the
 * confirmation the console asks for.
 */
import { describe, expect, it } from 'vitest'
import { tariffViolation } from '#protocol/tariff-rules.ts'
import { GWEI, LEVEL_CHANGE_CONFIRM, levelRatio, PriceCurve, parseGwei } from '../src/lib/price-curve.ts'

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
