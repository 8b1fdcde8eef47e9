import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { commit, deriveSalt, MAX_READING } from '#protocol/commitment.ts'
import type { BillingPeriod } from '#protocol/records.ts'
import { assemblePeriod, type IntervalEntry } from '../../src/ingest/period.ts'

const INTERVAL = 900
const N = 192
const DAY0 = 1795478400
const meter = '0x1111111111111111111111111111111111111111' as const
const pairingKey = new Uint8Array(32).fill(3)
const options = { intervalSeconds: INTERVAL, n: N, pairingKey }

/** A day from `startSlot` of interval records with the given readings, and the matching signed close. */
function day(readings: number[], startSlot: number, startCounter: number) {
  const periodStart = DAY0 + startSlot * INTERVAL
  const intervals = new Map<number, IntervalEntry>()
  let counter = startCounter
  readings.forEach((wh, i) => {
    counter += wh
    const time = periodStart + (i + 1) * INTERVAL
    intervals.set(time, { seq: i, time, energyWh: counter, intervalWh: wh })
  })
  const expected = new Array<number>(N).fill(0)
  readings.forEach((wh, i) => {
    expected[startSlot + i] = wh
  })
  const period: BillingPeriod = {
    meter,
    periodStart,
    periodEnd: periodStart + readings.length * INTERVAL,
    startCounter,
    endCounter: counter,
    // A reading above 15 bits cannot be committed: such a close is only used to test the range check.
    commitment: expected.every((r) => r <= MAX_READING)
      ? commit(expected, deriveSalt(pairingKey, Buffer.from(meter.slice(2), 'hex'), periodStart), N)
      : 0n,
  }
  return { intervals, period, expected }
}

const dayArb = fc.record({
  startSlot: fc.integer({ min: 0, max: 95 }),
  length: fc.integer({ min: 1, max: 96 }),
  readings: fc.array(fc.integer({ min: 0, max: MAX_READING }), { minLength: 96, maxLength: 96 }),
  startCounter: fc.integer({ min: 0, max: 2 ** 40 }),
})

describe('period assembly', () => {
  it('places readings from the UTC-midnight anchor and reproduces the commitment (property)', () => {
    fc.assert(
      fc.property(dayArb, ({ startSlot, length, readings, startCounter }) => {
        const { intervals, period, expected } = day(readings.slice(0, length), startSlot, startCounter)
        const outcome = assemblePeriod(period, intervals, options)
        expect(outcome.status).toBe('ok')
        if (outcome.status === 'ok') expect(outcome.readings).toEqual(expected)
      }),
      { numRuns: 25 },
    )
  })

  it('recovers isolated lost interval records from their neighbours, not two in a row (property)', () => {
    fc.assert(
      fc.property(dayArb, fc.array(fc.nat(), { maxLength: 6 }), (d, picks) => {
        const { intervals, period, expected } = day(
          d.readings.slice(0, d.length),
          d.startSlot,
          d.startCounter,
        )
        const times = [...intervals.keys()]
        const lost = new Set(picks.map((p) => times[p % times.length] as number))
        for (const t of lost) intervals.delete(t)
        const adjacent = [...lost].some((t) => lost.has(t + INTERVAL))
        const outcome = assemblePeriod(period, intervals, options)
        if (adjacent) {
          expect(outcome.status).toBe('incomplete')
        } else {
          expect(outcome.status).toBe('ok')
          if (outcome.status === 'ok') expect(outcome.readings).toEqual(expected)
        }
      }),
      { numRuns: 25 },
    )
  })

  it('names counter, range and commitment mismatches', () => {
    const { intervals, period } = day([10, 20, 30, 40], 4, 1000)
    expect(
      assemblePeriod({ ...period, endCounter: period.endCounter + 1 }, intervals, options),
    ).toMatchObject({
      status: 'mismatch',
      kind: 'counter-mismatch',
    })
    expect(
      assemblePeriod({ ...period, commitment: period.commitment + 1n }, intervals, options),
    ).toMatchObject({
      status: 'mismatch',
      kind: 'commitment-mismatch',
    })
    const broken = new Map(intervals)
    const second = broken.get(period.periodStart + 2 * INTERVAL) as IntervalEntry
    broken.set(second.time, { ...second, intervalWh: second.intervalWh + 1 })
    expect(assemblePeriod(period, broken, options)).toMatchObject({
      status: 'mismatch',
      kind: 'counter-mismatch',
    })
    const huge = day([MAX_READING + 1], 0, 0)
    expect(assemblePeriod(huge.period, huge.intervals, options)).toMatchObject({
      status: 'mismatch',
      kind: 'reading-out-of-range',
    })
    const atLimit = day([MAX_READING], 0, 0)
    expect(assemblePeriod(atLimit.period, atLimit.intervals, options)).toMatchObject({ status: 'ok' })
    expect(
      assemblePeriod({ ...period, periodEnd: DAY0 + (N + 1) * INTERVAL }, intervals, options),
    ).toMatchObject({ status: 'mismatch', kind: 'period-too-long' })
  })
})
