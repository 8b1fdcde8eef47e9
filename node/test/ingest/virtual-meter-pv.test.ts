/**
 * A home with a rooftop PV array, end to end: the virtual meter (options.pv) over the embedded
 * broker on a sunny June day, the ingestor assembling the period. The meter exports at midday, the
 * node rebuilds both the import and the export readings and reproduces both signed commitments,
 * and the import bill's readings are the import counter's alone.
 */
import { expect, it } from 'vitest'
import { commit, commitExport } from '#protocol/commitment.ts'
import { createManualClock } from '../../src/meter/index.ts'
import { createPvArray } from '../../src/meter/pv.ts'
import { N, until } from './helpers.ts'
import { virtualMeterStack } from './virtual-meter-stack.ts'

const PV = { peakW: 6000, latitudeDeg: 48 }
/** The first day of June 2027 the meter's sky (seed 1, UTC) is sunny. */
const SUNNY_DAY = (() => {
  const sky = createPvArray({ ...PV, seed: 1, stepSeconds: 10, utcOffsetMinutes: 0 })
  for (let d = Date.UTC(2027, 5, 1) / 1000; ; d += 86_400) if (sky.weather(d + 43_200) === 'sunny') return d
})()

const clock = createManualClock(SUNNY_DAY)
const stack = virtualMeterStack({
  keyFill: 21,
  pairingFill: 78,
  clock,
  firstPeriodStart: SUNNY_DAY,
  meter: { initialExportedWh: 250_000, pv: PV },
})

it('exports at midday on a sunny day and the node reproduces both signed commitments', async () => {
  for (let h = 1; h <= 25; h++) await clock.advanceTo(SUNNY_DAY + h * 3600)
  await until(() => stack.ingestor.periods().length === 1, 60_000)
  expect(stack.ingestor.anomalies().filter((a) => a.rejected)).toEqual([])
  const [p] = stack.ingestor.periods()
  if (p?.exportClose === undefined || p.exportReadings === undefined) throw new Error('no export half')
  expect(commit(p.readings, p.salt, N)).toBe(p.period.commitment)
  expect(commitExport(p.exportReadings, p.salt, N)).toBe(p.exportClose.commitment)
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  expect(sum(p.exportReadings)).toBe(p.exportClose.endCounter - p.exportClose.startCounter)
  expect(p.exportClose.startCounter).toBe(250_000)
  expect(sum(p.readings)).toBe(p.period.endCounter - p.period.startCounter)
  // Export at midday (a 6 kWp array outruns the household), none at night; import the other way.
  const hour = (h: number) => p.exportReadings?.slice(h * 4, h * 4 + 4) ?? []
  expect(sum(hour(11)) + sum(hour(12))).toBeGreaterThan(2000)
  expect(sum(hour(1))).toBe(0)
  expect(sum(hour(23))).toBe(0)
  expect(sum(p.readings.slice(1 * 4, 2 * 4))).toBeGreaterThan(0)
  expect(sum(p.exportReadings)).toBeGreaterThan(10_000)
  // Never more through the line in one interval than a reading holds, both ways together.
  p.readings.forEach((wh, i) => {
    expect(wh + (p.exportReadings?.[i] ?? 0)).toBeLessThanOrEqual(32_767)
  })
})
