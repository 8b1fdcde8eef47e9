import { describe, expect, it } from 'vitest'
import { maxPeriodDays, periodEndFor, rescheduledEnd } from '#protocol/meter/period.ts'

const production = { intervalSeconds: 900, n: 2976 }
const testProfile = { intervalSeconds: 900, n: 192 }
const utc = (y: number, m: number, d: number, h = 0) => Date.UTC(y, m - 1, d, h) / 1000

describe('period boundaries', () => {
  it('closes calendar-month periods at the next month start (PeriodDays 0)', () => {
    expect(periodEndFor(utc(2026, 1, 1), 0, production)).toBe(utc(2026, 2, 1))
    expect(periodEndFor(utc(2026, 2, 1), 0, production)).toBe(utc(2026, 3, 1))
    // Provisioned mid-month: the first period runs to the next month start.
    expect(periodEndFor(utc(2026, 11, 24, 16) + 900, 0, production)).toBe(utc(2026, 12, 1))
    expect(periodEndFor(utc(2026, 12, 1), 0, production)).toBe(utc(2027, 1, 1))
  })

  it('closes every PeriodDays days from the anchor, at a UTC midnight', () => {
    expect(periodEndFor(utc(2026, 1, 1), 7, production)).toBe(utc(2026, 1, 8))
    expect(periodEndFor(utc(2026, 1, 1, 6), 1, production)).toBe(utc(2026, 1, 2))
  })

  it('never runs past anchor + N·INTERVAL', () => {
    expect(maxPeriodDays(production)).toBe(31)
    expect(maxPeriodDays(testProfile)).toBe(2)
    expect(periodEndFor(utc(2026, 1, 1, 6), 0, testProfile)).toBe(utc(2026, 1, 3))
    expect(() => periodEndFor(utc(2026, 1, 1), 3, testProfile)).toThrow(/PeriodDays/)
    expect(() => periodEndFor(utc(2026, 1, 1) + 1, 1, testProfile)).toThrow(/interval boundary/)
  })

  it('reschedules a running period without closing it in the past', () => {
    const start = utc(2026, 1, 1)
    expect(rescheduledEnd(start, 7, utc(2026, 1, 3), production)).toBe(utc(2026, 1, 8))
    expect(rescheduledEnd(start, 1, utc(2026, 1, 3, 5), production)).toBe(utc(2026, 1, 4))
  })
})
