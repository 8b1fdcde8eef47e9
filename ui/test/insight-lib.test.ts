/**
 * The Energy view's and the power trend's pure helpers (ui/src/lib/insight.ts): labels in the
 * household's zone whatever the browser's, comparisons and shares in words, and the trend window.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  calendarLabels,
  changeText,
  durationText,
  isoDateIn,
  levelNames,
  share,
  TrendWindow,
} from '../src/lib/insight.ts'

describe('calendar labels', () => {
  it("labels in the household's zone, not the machine's", () => {
    // 2026-12-06 19:00 UTC is already 7 December 00:30 in India.
    const t = Date.parse('2026-12-06T19:00:00Z') / 1000
    const india = calendarLabels('Asia/Kolkata')
    expect(india.period('day', t)).toBe('Monday, 7 December 2026')
    expect(india.bar('day', t)).toBe('00h')
    expect(india.time(t)).toBe('00:30')
    expect(calendarLabels('UTC').period('day', t)).toBe('Sunday, 6 December 2026')
    expect(india.period('week', t)).toBe('Week of 7 December 2026')
    expect(india.period('month', t)).toBe('December 2026')
    expect(india.bar('week', t)).toBe('Mon 7')
    expect(india.bar('month', t)).toBe('7')
    expect(isoDateIn('Asia/Kolkata', t)).toBe('2026-12-07')
    expect(isoDateIn('America/New_York', t)).toBe('2026-12-06')
  })
})

describe('words', () => {
  it('compares in percent, and says so when there was nothing before', () => {
    expect(changeText(112, 100)).toBe('12 % more')
    expect(changeText(95, 100)).toBe('5 % less')
    expect(changeText(100.5, 100)).toBe('about the same')
    expect(changeText(5, 0)).toBe('more (nothing before)')
    expect(changeText(0, 0)).toBe('the same (nothing)')
    expect(changeText(0, 100)).toBe('100 % less')
  })

  it('names price levels cheapest first, one name per level', () => {
    expect(levelNames(1)).toEqual(['single price'])
    expect(levelNames(2)).toEqual(['low', 'high'])
    expect(levelNames(3)).toEqual(['low', 'middle', 'high'])
    expect(levelNames(4)).toEqual(['lowest', 'level 2', 'level 3', 'highest'])
    expect([share(1, 3), share(0, 0)]).toEqual(['33 %', '0 %'])
  })

  it('says a duration the way a person would', () => {
    expect([durationText(45 * 60), durationText(12 * 3600), durationText(10 * 3600 + 300)]).toEqual([
      '45 min',
      '12 h',
      '10 h 5 min',
    ])
    expect([durationText(86_400), durationText(3 * 86_400 + 4 * 3600)]).toEqual(['1 day', '3 days 4 h'])
  })
})

describe('the trend window', () => {
  it('keeps only the last minutes of the meter clock, in order, at most `max` samples', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ step: fc.integer({ min: -120, max: 300 }), powerW: fc.nat(20_000) }), {
          maxLength: 200,
        }),
        (steps) => {
          const trend = new TrendWindow(900, 50)
          let t = 1_800_000_000
          for (const { step, powerW } of steps) {
            t += step
            trend.add({ time: t, powerW })
          }
          const times = trend.samples.map((s) => s.time)
          expect([...times].sort((a, b) => a - b)).toEqual(times)
          expect(new Set(times).size).toBe(times.length)
          expect(trend.samples.length).toBeLessThanOrEqual(50)
          if (times.length > 0) expect(times.at(-1)! - times[0]!).toBeLessThanOrEqual(900)
        },
      ),
    )
  })

  it('ignores a replay or a stale snapshot, and starts over when the clock went back a day', () => {
    const trend = new TrendWindow(900)
    expect(trend.add({ time: 10_000, powerW: 1 })).toBe(true)
    expect(trend.add({ time: 10_060, powerW: 2 })).toBe(true)
    expect(trend.add({ time: 9_000, powerW: 3 })).toBe(false)
    expect(trend.add({ time: 10_060, powerW: 4 })).toBe(false)
    expect(trend.samples.map((s) => s.powerW)).toEqual([1, 2])
    expect(trend.add({ time: 10_060 - 86_400, powerW: 5 })).toBe(true)
    expect(trend.samples.map((s) => s.powerW)).toEqual([5])
  })
})
