import { describe, expect, it } from 'vitest'
import { relayBit } from '#protocol/meter/relays.ts'
import { createHousehold } from '../../src/meter/household.ts'

const MONDAY = Date.UTC(2026, 10, 23) / 1000
const DAY = 86_400
const STEP = 60
const SOCKETS = { relays: relayBit(8), fanSpeed: 0 }
const calm = { flame: false, gas: false, water: false }

/** kWh per day over a week, integrating the model as the meter does (power constant per step). */
function dailyKWh(seed: number, actuators = SOCKETS): number[] {
  const house = createHousehold({ seed, stepSeconds: STEP })
  const days: number[] = []
  for (let d = 0; d < 7; d++) {
    let wattSeconds = 0
    for (let t = MONDAY + d * DAY; t < MONDAY + (d + 1) * DAY; t += STEP) {
      wattSeconds += house.electrical(t, actuators).powerW * STEP
    }
    days.push(wattSeconds / 3600 / 1000)
  }
  return days
}

function meanPower(seed: number, fromHour: number, toHour: number): number {
  const house = createHousehold({ seed, stepSeconds: STEP })
  let sum = 0
  let count = 0
  for (let d = 0; d < 7; d++) {
    for (let t = MONDAY + d * DAY + fromHour * 3600; t < MONDAY + d * DAY + toHour * 3600; t += STEP) {
      sum += house.electrical(t, SOCKETS).powerW
      count++
    }
  }
  return sum / count
}

describe('household model', () => {
  it('uses a believable 5–25 kWh a day, for every seed, with lights and AC or without', () => {
    for (const seed of [1, 2, 3, 42, 2026]) {
      for (const kWh of dailyKWh(seed)) {
        expect(kWh).toBeGreaterThan(5)
        expect(kWh).toBeLessThan(25)
      }
    }
    const everything = { relays: relayBit(8) | relayBit(3) | relayBit(2) | relayBit(1), fanSpeed: 2 }
    for (const kWh of dailyKWh(7, everything)) expect(kWh).toBeLessThan(25)
  })

  it('peaks in the evening, not at night', () => {
    for (const seed of [1, 2, 3]) {
      expect(meanPower(seed, 18, 22)).toBeGreaterThan(2 * meanPower(seed, 1, 5))
    }
  })

  it('runs the washing machine on weekends only', () => {
    const house = createHousehold({ seed: 5, stepSeconds: STEP })
    const washDays = new Set<number>()
    for (let t = MONDAY; t < MONDAY + 7 * DAY; t += STEP) {
      if (house.loads(t, SOCKETS).some((l) => l.name === 'washing machine'))
        washDays.add(Math.floor((t - MONDAY) / DAY))
    }
    expect([...washDays].sort()).toEqual([5, 6]) // Saturday and Sunday
  })

  it('sags the voltage under load and keeps V, I, P and power factor consistent', () => {
    const house = createHousehold({ seed: 9, stepSeconds: STEP })
    const light: number[] = []
    const heavy: number[] = []
    for (let t = MONDAY; t < MONDAY + 2 * DAY; t += STEP) {
      const e = house.electrical(t, SOCKETS)
      expect(e.voltageMv).toBeGreaterThan(215_000)
      expect(e.voltageMv).toBeLessThan(245_000)
      expect(e.powerFactor).toBeGreaterThan(550)
      expect(e.powerFactor).toBeLessThanOrEqual(1000)
      const computed = e.powerW / ((e.voltageMv / 1000) * (e.powerFactor / 1000))
      expect(Math.abs(computed - e.currentMa / 1000)).toBeLessThan(0.05)
      if (e.powerW > 2000) heavy.push(e.voltageMv)
      if (e.powerW < 300) light.push(e.voltageMv)
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(heavy.length).toBeGreaterThan(0)
    expect(mean(light) - mean(heavy)).toBeGreaterThan(2000)
  })

  it('draws nothing with every relay off, and the AC only when relay 2 is on', () => {
    const house = createHousehold({ seed: 1, stepSeconds: STEP })
    const afternoon = MONDAY + 15 * 3600
    expect(house.electrical(afternoon, { relays: 0, fanSpeed: 0 }).powerW).toBe(0)
    const ac = house.loads(afternoon, { relays: relayBit(2), fanSpeed: 0 })
    expect(ac.map((l) => l.name)).toEqual(['air conditioner'])
    expect(house.loads(afternoon, { relays: relayBit(1), fanSpeed: 3 })).toEqual([
      { name: 'ceiling fan', powerW: 70, pf: 0.85 },
    ])
  })

  it('has daily temperature and light curves, and hazards raise the sensor levels', () => {
    const house = createHousehold({ seed: 3, stepSeconds: STEP })
    const at = (hour: number) => house.sensors(MONDAY + hour * 3600, SOCKETS, calm)
    expect(at(15).temperatureCenti).toBeGreaterThan(at(4).temperatureCenti)
    expect(at(2).light).toBe(0)
    expect(at(12).light).toBeGreaterThan(400)
    expect(
      house.sensors(MONDAY + 2 * 3600, { relays: relayBit(3), fanSpeed: 0 }, calm).light,
    ).toBeGreaterThan(200)
    expect(at(12).gas).toBeLessThan(100)
    expect(at(12).water).toBeLessThan(50)
    const hazard = house.sensors(MONDAY + 12 * 3600, SOCKETS, { flame: true, gas: true, water: true })
    expect(hazard.gas).toBeGreaterThanOrEqual(400)
    expect(hazard.water).toBeGreaterThanOrEqual(500)
    expect(hazard.temperatureCenti).toBeGreaterThan(at(12).temperatureCenti + 1000)
  })

  it('is a pure function of seed and time: constant within a step, different across seeds', () => {
    const a = createHousehold({ seed: 11 })
    const b = createHousehold({ seed: 11 })
    const c = createHousehold({ seed: 12 })
    const t = MONDAY + 19 * 3600 + 20
    expect(a.electrical(t, SOCKETS)).toEqual(b.electrical(t, SOCKETS))
    expect(a.electrical(t + 9, SOCKETS)).toEqual(a.electrical(t, SOCKETS))
    const series = (h: ReturnType<typeof createHousehold>) =>
      Array.from({ length: 200 }, (_, i) => h.electrical(MONDAY + i * 600, SOCKETS).powerW)
    expect(series(a)).not.toEqual(series(c))
  })
})
