/**
 * The Energy view's arithmetic (issue 14, Insight): the household's calendar (days of 23 and 25
 * hours, Monday weeks, months), the split of a period by bucket and price level, "Energy today"
 * equal to the Day view of today, the comparisons and the period-average projection.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { MeterRecord } from '#protocol/records.ts'
import {
  bucketEdges,
  checkTimeZone,
  civilDateOf,
  InvalidTimeZoneError,
  parseDate,
  periodOf,
  startOfDate,
} from '../../src/history/calendar.ts'
import { energyToday } from '../../src/history/day-energy.ts'
import { buildInsight } from '../../src/history/insight.ts'
import { createReadingHistory, type ReadingHistory } from '../../src/history/readings.ts'
import { projectUsage, splitUsage } from '../../src/history/usage.ts'

const INTERVAL = 900
const DAY = 86_400
const utc = (iso: string) => Date.parse(iso) / 1000

function record(fields: Partial<MeterRecord> & { seq: number; time: number }): MeterRecord {
  return {
    kind: 1,
    energyWh: 0,
    intervalWh: 0,
    powerW: 0,
    voltageMv: 230_000,
    currentMa: 0,
    powerFactor: 1000,
    temperatureCenti: 2000,
    light: 0,
    gas: 0,
    water: 0,
    hazards: 0,
    relays: 0,
    fanSpeed: 0,
    ...fields,
  } as MeterRecord
}

/** A history of interval records (end times, Wh), then optionally a live reading. */
function historyOf(
  intervals: readonly { time: number; wh: number }[],
  live?: { time: number; wh: number },
): ReadingHistory {
  const history = createReadingHistory({ intervalSeconds: INTERVAL })
  let seq = 1
  for (const { time, wh } of intervals)
    history.add(record({ seq: seq++, time, intervalWh: wh, powerW: wh * 4 }))
  if (live) history.add(record({ seq: seq++, kind: 0, time: live.time, intervalWh: live.wh, powerW: 500 }))
  return history
}

/** A tariff of up to 4 prices over the UTC day, as the ledger's rules allow (96 slots). */
const tariff = fc
  .tuple(fc.array(fc.bigInt({ min: 0n, max: 10n ** 15n }), { minLength: 1, maxLength: 4 }), fc.nat(95))
  .map(([prices, shift]) => (time: number) => {
    const slot = (Math.floor((time % DAY) / INTERVAL) + shift) % 96
    return prices[Math.floor((slot * prices.length) / 96)] as bigint
  })

describe('the household calendar', () => {
  it('has days of 23 and 25 hours where the clocks change (Europe/Berlin, 2026)', () => {
    const zone = 'Europe/Berlin'
    const spring = periodOf('day', { year: 2026, month: 3, day: 29 }, zone)
    expect(spring.from).toBe(utc('2026-03-28T23:00:00Z'))
    expect(spring.to - spring.from).toBe(23 * 3600)
    expect(bucketEdges(spring, zone)).toHaveLength(24) // 23 hours and the end
    const autumn = periodOf('day', { year: 2026, month: 10, day: 25 }, zone)
    expect(autumn.to - autumn.from).toBe(25 * 3600)
    expect(bucketEdges(autumn, zone)).toHaveLength(26)
  })

  it('starts weeks on Monday and months on the 1st, at local midnight', () => {
    const zone = 'America/New_York'
    // Thursday 2026-12-03 → the week of Monday 2026-11-30.
    const week = periodOf('week', { year: 2026, month: 12, day: 3 }, zone)
    expect(week.first).toEqual({ year: 2026, month: 11, day: 30 })
    expect(week.from).toBe(utc('2026-11-30T05:00:00Z'))
    expect(week.to - week.from).toBe(7 * DAY)
    const feb = periodOf('month', { year: 2028, month: 2, day: 14 }, zone)
    expect(feb.first).toEqual({ year: 2028, month: 2, day: 1 })
    expect(bucketEdges(feb, zone)).toHaveLength(30) // 29 days of a leap year and the end
    // March in New York has a 23-hour day.
    const march = periodOf('month', { year: 2026, month: 3, day: 31 }, zone)
    expect(march.to - march.from).toBe(31 * DAY - 3600)
  })

  it('maps every instant to the local day it falls in (any zone, any time)', () => {
    const zones = [
      'UTC',
      'Asia/Kolkata',
      'Europe/Berlin',
      'America/Santiago',
      'Australia/Lord_Howe',
      'Pacific/Kiritimati',
    ]
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: 0, max: 4_000_000_000 }), (zone, t) => {
        const day = periodOf('day', civilDateOf(t, zone), zone)
        expect(day.from).toBeLessThanOrEqual(t)
        expect(t).toBeLessThan(day.to)
        expect(day.to - day.from).toBeGreaterThanOrEqual(22 * 3600)
        expect(day.to - day.from).toBeLessThanOrEqual(26 * 3600)
        expect(startOfDate(civilDateOf(day.from, zone), zone)).toBe(day.from)
      }),
      { numRuns: 300 },
    )
  })

  it('refuses dates that are not real and zones it does not know', () => {
    expect(parseDate('2026-02-28', 'date')).toEqual({ year: 2026, month: 2, day: 28 })
    for (const bad of [
      '2026-02-30',
      '2026-13-01',
      '26-01-01',
      '2026-1-1',
      'today',
      '',
      '1969-12-31',
      '2026-01-01T00:00',
    ])
      expect(() => parseDate(bad, 'date'), bad).toThrow(/date must be a date YYYY-MM-DD/)
    expect(checkTimeZone('Europe/Berlin')).toBe('Europe/Berlin')
    expect(() => checkTimeZone('Mars/Olympus')).toThrow(InvalidTimeZoneError)
  })
})

describe('splitting a period', () => {
  /** Random interval records over three days from a midnight, and maybe a live reading after them. */
  const readings = fc
    .record({
      start: fc.integer({ min: 19_700, max: 20_800 }).map((d) => d * DAY),
      whs: fc.array(fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }), { maxLength: 3 * 96 }),
      live: fc.option(fc.integer({ min: 0, max: 900 }), { nil: undefined }),
      zone: fc.constantFrom('UTC', 'Asia/Kolkata', 'Europe/Berlin', 'America/New_York'),
    })
    .map(({ start, whs, live, zone }) => {
      const intervals = whs.flatMap((wh, i) =>
        wh === undefined ? [] : [{ time: start + (i + 1) * INTERVAL, wh }],
      )
      const last = start + whs.length * INTERVAL
      return {
        zone,
        start,
        history: historyOf(intervals, live === undefined ? undefined : { time: last + 60, wh: live }),
        total: intervals.reduce((a, b) => a + b.wh, 0) + (live ?? 0),
      }
    })

  it('sums the buckets and the price levels to the period total, energy and cost alike', () => {
    fc.assert(
      fc.property(
        readings,
        tariff,
        fc.constantFrom('day', 'week', 'month') as fc.Arbitrary<'day' | 'week' | 'month'>,
        (r, priceAt, range) => {
          const period = periodOf(range, civilDateOf(r.start + DAY, r.zone), r.zone)
          const split = splitUsage(r.history, bucketEdges(period, r.zone), priceAt)
          expect(split.buckets.reduce((a, b) => a + b.energyWh, 0)).toBe(split.energyWh)
          expect(split.levels.reduce((a, b) => a + b.energyWh, 0)).toBe(split.energyWh)
          expect(split.buckets.reduce((a, b) => a + b.costWei, 0n)).toBe(split.costWei)
          expect(split.levels.reduce((a, b) => a + b.costWei, 0n)).toBe(split.costWei)
          for (const level of split.levels)
            expect(level.costWei).toBe(BigInt(level.energyWh) * level.priceWeiPerWh)
          const prices = split.levels.map((l) => l.priceWeiPerWh)
          expect([...prices].sort((a, b) => (a < b ? -1 : 1))).toEqual(prices)
          expect(new Set(prices).size).toBe(prices.length)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('counts every reading in exactly one day: the days of a month sum to its readings', () => {
    fc.assert(
      fc.property(readings, (r) => {
        // The readings span at most three days from `start`: one month or two hold them all.
        const first = periodOf('month', civilDateOf(r.start - DAY, r.zone), r.zone)
        const second = periodOf('month', civilDateOf(first.to, r.zone), r.zone)
        const both = [first, second].map(
          (p) => splitUsage(r.history, bucketEdges(p, r.zone), () => 1n).energyWh,
        )
        expect(both[0]! + both[1]!).toBe(r.total)
      }),
      { numRuns: 100 },
    )
  })

  it('gives "Energy today" exactly the Day view of today, in any zone', () => {
    fc.assert(
      fc.property(readings, tariff, (r, priceAt) => {
        const today = energyToday(r.history, priceAt, r.zone)
        const view = buildInsight(r.history, priceAt, { range: 'day', timeZone: r.zone })
        if (today === undefined) {
          expect(r.history.latest()).toBeUndefined()
          return
        }
        expect(view.from).toBe(today.day)
        expect(view.energyWh).toBe(today.energyWh)
        expect(view.costWei).toBe(today.costWei.toString())
      }),
      { numRuns: 150 },
    )
  })
})

describe('the Energy view of a day', () => {
  const zone = 'Europe/Berlin'
  // Wednesday 2026-12-09, 10:00 local (09:00 UTC); readings of 100 Wh every interval for 10 days.
  const now = utc('2026-12-09T09:00:00Z')
  const intervals: { time: number; wh: number }[] = []
  for (let t = now - 10 * DAY + INTERVAL; t <= now; t += INTERVAL) intervals.push({ time: t, wh: 100 })
  const history = historyOf(intervals, { time: now + 300, wh: 40 })
  // Night price before 07:00 UTC, day price after.
  const priceAt = (t: number) => ((t % DAY) / 3600 < 7 ? 1n : 3n)

  it('shows today so far by hour, split by price, compared with yesterday and last week', () => {
    const view = buildInsight(history, priceAt, { range: 'day', timeZone: zone })
    expect(view.date).toBe('2026-12-09')
    expect(view.from).toBe(utc('2026-12-08T23:00:00Z'))
    expect(view.points).toHaveLength(24)
    // 00:00–10:00 local is 40 intervals, and 40 Wh of the open one.
    expect(view.energyWh).toBe(40 * 100 + 40)
    expect(view.points[9]).toMatchObject({ energyWh: 400, avgPowerW: 400 })
    expect(view.points[10]).toMatchObject({ energyWh: 40 })
    expect(view.points[11]).toMatchObject({ energyWh: 0 })
    // 00:00–07:00 UTC at 1 (28 intervals); 23:00–24:00 and 07:00–09:05 UTC at 3 (12 and the open one).
    expect(view.levels).toEqual([
      { priceWeiPerWh: '1', energyWh: 2800, costWei: '2800' },
      { priceWeiPerWh: '3', energyWh: 1240, costWei: '3720' },
    ])
    expect(view.comparisons.map((c) => [c.kind, c.date, c.energyWh, c.sameTimeEnergyWh])).toEqual([
      ['previous-day', '2026-12-08', 9600, 4000],
      ['week-before', '2026-12-02', 9600, 4000],
    ])
    expect(view.previous).toBe('2026-12-08')
    expect(view.next).toBeNull()
    // Last week's same hours are there: so far, plus Wednesday 2 December from 10:05 to midnight
    // local (the 10:00–10:15 interval counted for its last 10 minutes, 67 Wh, then 55 × 100 Wh),
    // priced at today's tariff (3 after 07:00 UTC).
    expect(view.projection).toMatchObject({
      method: 'same-weekday',
      energyWh: 4040,
      asOf: now + 300,
      reference: { from: now + 300 - 7 * DAY, to: view.to - 7 * DAY, energyWh: 67 + 5500 },
      projectedEnergyWh: 4040 + 67 + 5500,
      projectedCostWei: String(6520 + 3 * (67 + 5500)),
    })
  })

  it('projects a day at the average so far when last week is not in the history (a new meter)', () => {
    const recent = historyOf(
      intervals.filter((i) => i.time > now - 3 * DAY),
      { time: now + 300, wh: 40 },
    )
    const view = buildInsight(recent, priceAt, { range: 'day', timeZone: zone })
    expect(view.projection).toMatchObject({ method: 'period-average', energyWh: 4040 })
    expect(view.projection?.reference).toBeUndefined()
    // 4040 Wh in 10 h 5 min, continued over 24 h.
    expect(view.projection?.projectedEnergyWh).toBe(Math.round((4040 * 24 * 60) / 605))
  })

  it('weighs the evening by last week: a home that uses most at night is projected high at noon', () => {
    // 50 Wh an interval by day, 400 Wh from 18:00 to 24:00 UTC, for ten days.
    const shaped = intervals.map((i) => ({ time: i.time, wh: ((i.time - 1) % DAY) / 3600 >= 18 ? 400 : 50 }))
    const view = buildInsight(historyOf(shaped, { time: now + 300, wh: 10 }), priceAt, {
      range: 'day',
      timeZone: zone,
    })
    const average = view.projection?.energyWh ?? 0
    // The average so far (mostly 50 Wh intervals) would say far less than last Wednesday's evening.
    expect(view.projection?.method).toBe('same-weekday')
    expect(view.projection?.projectedEnergyWh).toBeGreaterThan(Math.round((average * 24 * 60) / 605) * 1.5)
    // Exactly: so far + 8 h 55 min at 50 Wh (the first 10 minutes of an interval) and 5 h at 400 Wh.
    expect(view.projection?.reference?.energyWh).toBe(33 + 35 * 50 + 20 * 400)
  })

  it('steps to a past day, week and month with nothing projected', () => {
    const day = buildInsight(history, priceAt, {
      range: 'day',
      timeZone: zone,
      date: { year: 2026, month: 12, day: 5 },
    })
    expect([day.date, day.previous, day.next, day.energyWh, day.projection]).toEqual([
      '2026-12-05',
      '2026-12-04',
      '2026-12-06',
      9600,
      null,
    ])
    expect(day.comparisons.every((c) => c.sameTimeEnergyWh === null)).toBe(true)
    const week = buildInsight(history, priceAt, { range: 'week', timeZone: zone })
    expect([week.date, week.points.length, week.comparisons[0]?.kind]).toEqual([
      '2026-12-07',
      7,
      'previous-week',
    ])
    expect(week.points.map((p) => p.energyWh)).toEqual([9600, 9600, 4040, 0, 0, 0, 0])
    const month = buildInsight(history, priceAt, { range: 'month', timeZone: zone })
    expect([month.date, month.points.length, month.previous]).toEqual(['2026-12-01', 31, '2026-11-01'])
    expect(month.comparisons[0]).toMatchObject({ kind: 'previous-month', date: '2026-11-01' })
  })

  it('projects the open billing period at its average so far', () => {
    const billPeriod = { from: utc('2026-12-01T00:00:00Z'), to: utc('2027-01-01T00:00:00Z') }
    const view = buildInsight(history, priceAt, { range: 'day', timeZone: zone, billPeriod })
    const soFar = 96 * 100 * 8 + 36 * 100 + 40 // Dec 1–8 whole, Dec 9 to 09:05 UTC
    expect(view.bill).toMatchObject({ from: billPeriod.from, to: billPeriod.to, energyWh: soFar })
    const elapsed = now + 300 - billPeriod.from
    expect(view.bill?.projectedEnergyWh).toBe(Math.round((soFar * 31 * DAY) / elapsed))
    // A billing period the latest reading is not in has no projection.
    expect(
      buildInsight(history, priceAt, { range: 'day', timeZone: zone, billPeriod: { from: 0, to: 900 } }).bill,
    ).toBeNull()
  })

  it('projects exactly the energy so far at the period end, and never less', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 96 }), fc.integer({ min: 0, max: 1000 }), (n, wh) => {
        const start = utc('2026-12-01T00:00:00Z')
        const h = historyOf(Array.from({ length: n }, (_, i) => ({ time: start + (i + 1) * INTERVAL, wh })))
        const p = projectUsage(h, { from: start, to: start + DAY }, start + n * INTERVAL, () => 7n)
        expect(p?.energyWh).toBe(n * wh)
        expect(p?.projectedEnergyWh).toBeGreaterThanOrEqual(n * wh)
        if (n === 96)
          expect([p?.projectedEnergyWh, p?.projectedCostWei]).toEqual([96 * wh, BigInt(96 * wh * 7)])
      }),
    )
  })
})

describe('a home that returns energy to the grid (solar, issue 17)', () => {
  // A sunny UTC day: 100 Wh taken every interval, and 250 Wh returned every interval 10:00–14:00.
  const start = utc('2026-06-21T00:00:00Z')
  const exportAt = (t: number) => (t > start + 10 * 3600 && t <= start + 14 * 3600 ? 250 : 0)
  const history = createReadingHistory({ intervalSeconds: INTERVAL })
  let seq = 1
  for (let t = start + INTERVAL; t <= start + 15 * 3600; t += INTERVAL)
    history.add(record({ seq: seq++, time: t, intervalWh: 100, intervalExportedWh: exportAt(t) }))
  // The open interval so far: 30 Wh taken, 80 Wh returned.
  history.add(
    record({ seq: seq++, kind: 0, time: start + 15 * 3600 + 300, intervalWh: 30, intervalExportedWh: 80 }),
  )
  const priceAt = () => 5n

  it('sums the returned energy per hour, for the day and for "today", and never prices it', () => {
    const view = buildInsight(history, priceAt, { range: 'day', timeZone: 'UTC' })
    expect(view.exportedWh).toBe(16 * 250 + 80)
    expect(view.points[10]).toMatchObject({ energyWh: 400, exportedWh: 1000 })
    expect(view.points[9]).toMatchObject({ exportedWh: 0 })
    expect(view.points[15]).toMatchObject({ energyWh: 30, exportedWh: 80 })
    expect(view.points.reduce((a, p) => a + p.exportedWh, 0)).toBe(view.exportedWh)
    // The cost is the import's alone.
    expect(view.energyWh).toBe(60 * 100 + 30)
    expect(view.costWei).toBe(String(5 * (60 * 100 + 30)))
    const today = energyToday(history, priceAt, 'UTC')
    expect(today).toMatchObject({ energyWh: view.energyWh, exportedWh: view.exportedWh, costWei: 30150n })
  })
})
