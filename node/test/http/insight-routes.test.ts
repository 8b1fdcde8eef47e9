/**
 * GET /api/insight and GET /api/summary/today over HTTP (docs/api.md, "Readings"): the node's own
 * server and route handlers over the fake node's history (test/support/fake-node.ts, zone UTC).
 * Bad input is a 400 that names the parameter; today's "Energy today" is the Day view of today.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiError, createApiClient } from '#protocol/api/client.ts'
import type { MeterRecord } from '#protocol/records.ts'
import { FAKE_TODAY_WH } from '../../../test/support/fake-node/readings.ts'
import { DAY, type FakeNode, NOW, startFakeNode } from '../../../test/support/fake-node.ts'
import { createReadingHistory } from '../../src/history/readings.ts'
import { readingRoutes } from '../../src/http/routes/readings.ts'
import { writeDist } from './attack-support.ts'

let dist: string
let node: FakeNode

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), 'zkm-insight-routes-'))
  await writeDist(dist)
  node = await startFakeNode({ dist })
})

afterAll(async () => {
  await node.close()
  await rm(dist, { recursive: true, force: true })
})

async function get(query: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await fetch(`${node.url}/api/insight${query}`, { headers: node.headers })
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> }
}

describe('GET /api/insight', () => {
  it('refuses a range or date it does not know with a 400 naming it', async () => {
    const cases: [string, RegExp][] = [
      ['?range=year', /range must be day, week or month, got "year"/],
      ['?range=', /range must be day, week or month/],
      ['?range=DAY', /range must be day, week or month/],
      ['?date=2026-02-30', /date must be a date YYYY-MM-DD/],
      ['?date=yesterday', /date must be a date YYYY-MM-DD/],
      ['?date=', /date must be a date YYYY-MM-DD/],
      ['?date=1969-12-31', /date must be a date YYYY-MM-DD/],
      ['?range=week&date=2026-1-5', /date must be a date YYYY-MM-DD/],
      [`?date=${'9'.repeat(400)}`, /date must be a date YYYY-MM-DD/],
    ]
    for (const [query, message] of cases) {
      const { status, body } = await get(query)
      expect(status, query).toBe(400)
      expect(body.error, query).toBe('InvalidInputError')
      expect(String(body.message), query).toMatch(message)
    }
  })

  it('needs a session or token', async () => {
    const answer = await fetch(`${node.url}/api/insight?range=day`)
    expect(answer.status).toBe(401)
  })

  it('answers the day of the latest reading by default, equal to "Energy today"', async () => {
    const api = createApiClient({ baseUrl: node.url, token: node.token })
    const [today, day] = await Promise.all([api.today(), api.insight({ query: { range: 'day' } })])
    expect(today.energyWh).toBe(FAKE_TODAY_WH)
    expect(day.energyWh).toBe(today.energyWh)
    expect(day.costWei).toBe(today.costWei)
    expect([day.from, day.to, day.timeZone, day.date]).toEqual([
      today.day,
      today.day + DAY,
      'UTC',
      '2025-11-25',
    ])
    expect(day.points).toHaveLength(24)
    // The fake meter's billing period is the fixture's day: the same figures, projected to midnight
    // from the same hours a week before (the fixture holds 60 days).
    expect(day.bill).toMatchObject({ from: today.day, to: today.day + DAY, energyWh: today.energyWh })
    const projection = day.projection
    expect(projection).toMatchObject({
      method: 'same-weekday',
      energyWh: FAKE_TODAY_WH,
      reference: { from: (projection?.asOf ?? 0) - 7 * DAY, to: today.day + DAY - 7 * DAY },
    })
    expect(projection?.projectedEnergyWh).toBe(
      FAKE_TODAY_WH + (projection?.reference?.energyWh ?? Number.NaN),
    )
  })

  it('steps to a past week and month by date', async () => {
    const api = createApiClient({ baseUrl: node.url, token: node.token })
    const week = await api.insight({ query: { range: 'week', date: '2025-11-12' } })
    expect([week.date, week.previous, week.next, week.points.length, week.projection]).toEqual([
      '2025-11-10',
      '2025-11-03',
      '2025-11-17',
      7,
      null,
    ])
    expect(week.energyWh).toBeGreaterThan(0)
    const month = await api.insight({ query: { range: 'month', date: '2025-10-31' } })
    expect([month.date, month.points.length, month.comparisons[0]?.date]).toEqual([
      '2025-10-01',
      31,
      '2025-09-01',
    ])
    await expect(api.insight({ query: { range: 'month', date: 'nope' } })).rejects.toBeInstanceOf(ApiError)
  })
})

describe('the open billing period', () => {
  it('walks the period the last STATE reported on to the latest reading', async () => {
    const midnight = NOW - (NOW % DAY)
    const history = createReadingHistory({ intervalSeconds: 900 })
    history.add({ seq: 1, kind: 1, time: midnight + 900, intervalWh: 50, powerW: 200 } as MeterRecord)
    history.add({ seq: 2, kind: 0, time: NOW, intervalWh: 10, powerW: 200 } as MeterRecord)
    const routes = readingRoutes({
      config: { dev: true, timeZone: 'UTC' },
      history,
      // The STATE was sent three one-day periods ago.
      ingestor: {
        status: () => [
          { meter: '0x01', ackedSeq: 2, openPeriod: { periodStart: midnight - 3 * DAY, periodDays: 1 } },
        ],
        counters: () => ({}),
        anomalies: () => [],
      },
      circuit: { profile: 'test', n: 192, slots: 96, intervalSeconds: 900 },
      priceAt: () => 2n,
    })
    const insight = await routes.insight({
      params: {},
      query: new URLSearchParams('range=week'),
      json: async () => ({}),
    })
    expect(insight.bill).toMatchObject({ from: midnight, to: midnight + DAY, energyWh: 60, costWei: '120' })
  })
})

/** A record with the fields the history reads; nothing exported unless said. */
const record = (
  fields: Pick<MeterRecord, 'seq' | 'kind' | 'time' | 'intervalWh' | 'powerW'> & Partial<MeterRecord>,
) => ({ exportedWh: 0, intervalExportedWh: 0, ...fields }) as MeterRecord

describe('GET /api/summary/today', () => {
  it("is the household's calendar day, not the UTC day (the route counted from UTC midnight before)", async () => {
    // 2026-12-07 00:30 in India is 2026-12-06 19:00 UTC: the Indian day began 30 minutes ago.
    const now = Date.parse('2026-12-06T19:00:00Z') / 1000
    const localMidnight = Date.parse('2026-12-06T18:30:00Z') / 1000
    const history = createReadingHistory({ intervalSeconds: 900 })
    let seq = 1
    // Evening of the 6th (local): 500 Wh per interval from 12:00 UTC to local midnight.
    for (let t = Date.parse('2026-12-06T12:15:00Z') / 1000; t <= localMidnight; t += 900)
      history.add(record({ seq: seq++, kind: 1, time: t, intervalWh: 500, powerW: 2000 }))
    history.add(record({ seq: seq++, kind: 1, time: localMidnight + 900, intervalWh: 70, powerW: 280 }))
    // The open interval so far: 30 Wh taken, 12 Wh returned to the grid.
    history.add(
      record({ seq: seq++, kind: 0, time: now, intervalWh: 30, intervalExportedWh: 12, powerW: 280 }),
    )
    const routes = readingRoutes({
      config: { dev: true, timeZone: 'Asia/Kolkata' },
      history,
      ingestor: { status: () => [], counters: () => ({}), anomalies: () => [] },
      circuit: { profile: 'test', n: 192, slots: 96, intervalSeconds: 900 },
      priceAt: () => 1n,
    })
    const request = { params: {}, query: new URLSearchParams(), json: async () => ({}) }
    const today = await routes.today(request)
    expect(today).toEqual({ day: localMidnight, energyWh: 100, costWei: '100', exportedWh: 12, powerW: 280 })
    const day = await routes.insight({ ...request, query: new URLSearchParams('range=day') })
    expect([day.from, day.energyWh, day.costWei, day.date]).toEqual([localMidnight, 100, '100', '2026-12-07'])
  })
})
