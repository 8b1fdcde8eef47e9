/**
 * The rooftop PV model of the virtual meter (src/meter/pv.ts) and what the meter makes of it: a
 * pure function of seed and time with seasons and weather, and, behind the meter, net export at
 * midday on a sunny day counted on the export counter, none at night or without an array.
 */
import { describe, expect, it } from 'vitest'
import { createHousehold } from '../../src/meter/household.ts'
import { resolveOptions } from '../../src/meter/options.ts'
import { createPvArray, type PvArray } from '../../src/meter/pv.ts'
import { meterFlow } from '../../src/meter/sim-state.ts'
import { DOMAIN } from './fixtures.ts'

const DAY = 86_400
const options = { peakW: 5000, seed: 1, stepSeconds: 10, utcOffsetMinutes: 60 }
const pv = createPvArray(options)
const household = createHousehold({ seed: 1, stepSeconds: 10, utcOffsetMinutes: 60 })
const act = { relays: 0x80, fanSpeed: 0 }

/** kWh the array delivers on the UTC day starting at `day`, minute by minute. */
function dayKwh(array: PvArray, day: number): number {
  let wh = 0
  for (let t = day; t < day + DAY; t += 60) wh += array.powerW(t) / 60
  return wh / 1000
}

/** The first day from `from` (UTC midnight) the model draws as `weather`. */
function firstDay(array: PvArray, from: number, weather: 'sunny' | 'broken' | 'overcast'): number {
  for (let d = from; d < from + 60 * DAY; d += DAY) if (array.weather(d + 12 * 3600) === weather) return d
  throw new Error(`no ${weather} day in 60 days`)
}

describe('rooftop PV model', () => {
  it('is dark at night, peaks near solar noon and never exceeds its peak power', () => {
    const june = firstDay(pv, Date.UTC(2027, 5, 1) / 1000, 'sunny')
    expect(pv.powerW(june + 0 * 3600)).toBe(0)
    expect(pv.powerW(june + 22 * 3600)).toBe(0)
    const byHour = Array.from({ length: 24 }, (_, h) => pv.powerW(june + h * 3600))
    const peakHour = byHour.indexOf(Math.max(...byHour))
    // Solar noon at 12:00 local is 11:00 UTC here (UTC+1).
    expect(peakHour).toBeGreaterThanOrEqual(10)
    expect(peakHour).toBeLessThanOrEqual(12)
    for (let t = june; t < june + DAY; t += 600) {
      const w = pv.powerW(t)
      expect(Number.isInteger(w) && w >= 0 && w <= options.peakW).toBe(true)
    }
  })

  it('has seasons: long strong summer days, short weak winter ones (and the reverse south of the equator)', () => {
    const june = firstDay(pv, Date.UTC(2027, 5, 1) / 1000, 'sunny')
    const december = firstDay(pv, Date.UTC(2026, 11, 1) / 1000, 'sunny')
    expect(dayKwh(pv, june)).toBeGreaterThan(2.5 * dayKwh(pv, december))
    const lit = (day: number) =>
      Array.from({ length: 96 }, (_, i) => pv.powerW(day + i * 900)).filter((w) => w > 0)
    expect(lit(june).length).toBeGreaterThan(lit(december).length + 20)
    const south = createPvArray({ ...options, latitudeDeg: -34 })
    const southJune = firstDay(south, Date.UTC(2027, 5, 1) / 1000, 'sunny')
    const southDecember = firstDay(south, Date.UTC(2026, 11, 1) / 1000, 'sunny')
    expect(dayKwh(south, southDecember)).toBeGreaterThan(dayKwh(south, southJune))
  })

  it('has sunny and cloudy days, sunny ones more often in summer', () => {
    const count = (from: number, weather: string) =>
      Array.from({ length: 90 }, (_, d) => pv.weather(from + d * DAY + 12 * 3600)).filter(
        (w) => w === weather,
      ).length
    const summer = Date.UTC(2027, 5, 1) / 1000
    const winter = Date.UTC(2026, 11, 1) / 1000
    expect(count(summer, 'sunny')).toBeGreaterThan(count(winter, 'sunny'))
    expect(count(summer, 'overcast') + count(summer, 'broken')).toBeGreaterThan(0)
    const overcast = firstDay(pv, summer, 'overcast')
    const sunny = firstDay(pv, summer, 'sunny')
    expect(dayKwh(pv, overcast)).toBeLessThan(0.5 * dayKwh(pv, sunny))
  })

  it('is a pure function of seed and time: the same day however it is sampled, another seed another sky', () => {
    const again = createPvArray(options)
    const day = Date.UTC(2027, 3, 10) / 1000
    for (let t = day; t < day + DAY; t += 777) expect(again.powerW(t)).toBe(pv.powerW(t))
    // Constant over a step cell, so energy integrates the same for any split of time.
    expect(pv.powerW(day + 11 * 3600 + 1)).toBe(pv.powerW(day + 11 * 3600 + 9))
    const other = createPvArray({ ...options, seed: 2 })
    const weathers = (a: PvArray) => Array.from({ length: 30 }, (_, d) => a.weather(day + d * DAY))
    expect(weathers(other)).not.toEqual(weathers(pv))
  })
})

describe('the meter behind the array', () => {
  it('exports at midday on a sunny day and imports at night; without an array it never exports', () => {
    const june = firstDay(pv, Date.UTC(2027, 5, 1) / 1000, 'sunny')
    const noon = meterFlow({ household, pv }, june + 11 * 3600, act)
    expect(noon.exportW).toBeGreaterThan(0)
    expect(noon.importW).toBe(0)
    // The SENSOR shows the magnitude of the power through the meter, with its current.
    expect(noon.electrical.powerW).toBe(noon.exportW)
    expect(noon.electrical.currentMa).toBeGreaterThan(0)
    const night = meterFlow({ household, pv }, june + 23 * 3600, act)
    expect(night.exportW).toBe(0)
    expect(night.importW).toBe(household.electrical(june + 23 * 3600, act).powerW)
    const without = meterFlow({ household, pv: undefined }, june + 11 * 3600, act)
    expect(without.exportW).toBe(0)
    expect(without.electrical).toEqual(household.electrical(june + 11 * 3600, act))
  })

  it('is off by default and validates its option', () => {
    const base = {
      privateKey: new Uint8Array(32).fill(1),
      pairingKey: new Uint8Array(32).fill(2),
      domain: DOMAIN,
      mqttUrl: 'mqtt://127.0.0.1:1',
      clock: { now: () => 0, subscribe: () => () => {} } as never,
    }
    expect(resolveOptions(base).pv).toBeUndefined()
    expect(resolveOptions({ ...base, pv: { peakW: 4000 } }).pv).toEqual({ peakW: 4000, latitudeDeg: 48 })
    expect(() => resolveOptions({ ...base, pv: { peakW: 0 } })).toThrow(/pv.peakW/)
    expect(() => resolveOptions({ ...base, pv: { peakW: 4000, latitudeDeg: 80 } })).toThrow(/pv.latitudeDeg/)
    expect(() => resolveOptions({ ...base, pv: { peakW: 4000, tilt: 30 } as never })).toThrow(/pv.tilt/)
  })
})
