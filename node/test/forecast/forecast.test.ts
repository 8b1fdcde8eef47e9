import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { backtest } from '../../src/forecast/backtest.ts'
import { ForecastInputError } from '../../src/forecast/errors.ts'
import { forecastLoad, seasonalNaive } from '../../src/forecast/forecast.ts'
import { fitHoltWinters, forecastAt, initialState, update } from '../../src/forecast/holt-winters.ts'
import { mae, mape, quantile } from '../../src/forecast/metrics.ts'
import { areaTotals, simulateHomes } from '../../src/forecast/simulate.ts'

const PERIOD = 96

describe('Holt-Winters', () => {
  it('tracks a noise-free trend + daily season: multi-step forecasts are near exact', () => {
    const series = Array.from(
      { length: 10 * PERIOD },
      (_, t) => 1000 + 0.5 * t + 300 * Math.sin((2 * Math.PI * t) / PERIOD),
    )
    const { params } = fitHoltWinters(series, { period: PERIOD, horizon: 24, stride: 8 })
    const state = initialState(series, PERIOD)
    for (const y of series) update(state, y, params)
    for (let h = 1; h <= 24; h++) {
      const t = series.length - 1 + h
      const truth = 1000 + 0.5 * t + 300 * Math.sin((2 * Math.PI * t) / PERIOD)
      expect(Math.abs(forecastAt(state, h) - truth)).toBeLessThan(5)
    }
  })

  it('refuses series shorter than two seasons, non-finite values and bad parameters', () => {
    expect(() => initialState([1, 2, 3], PERIOD)).toThrow(ForecastInputError)
    const withNaN = Array.from({ length: 2 * PERIOD }, (_, i) => (i === 5 ? Number.NaN : 1))
    expect(() => initialState(withNaN, PERIOD)).toThrow(/series\[5\]/)
    expect(() =>
      forecastLoad(Array(3 * PERIOD).fill(1), { params: { alpha: 2, beta: 0, gamma: 0 } }),
    ).toThrow(/alpha must be in \[0, 1\]/)
    expect(() => initialState(Array(20 * PERIOD).fill(1), PERIOD, 100)).toThrow(/multiple of the daily one/)
  })
})

describe('seasonal naive', () => {
  it('repeats the value one season earlier, also beyond one season ahead', () => {
    const history = Array.from({ length: 10 }, (_, i) => i)
    expect(seasonalNaive(history, 4, 6)).toEqual([6, 7, 8, 9, 6, 7])
  })
})

describe('error measures', () => {
  it('MAE and MAPE', () => {
    expect(mae([10, 20], [12, 17])).toBe(2.5)
    expect(mape([10, 20, 0], [12, 17, 5])).toBeCloseTo(17.5)
  })

  it('quantiles lie within the data and grow with q', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a]
          expect(quantile(values, lo)).toBeGreaterThanOrEqual(Math.min(...values))
          expect(quantile(values, hi)).toBeLessThanOrEqual(Math.max(...values))
          expect(quantile(values, lo)).toBeLessThanOrEqual(quantile(values, hi))
        },
      ),
    )
  })
})

describe('area load forecast on simulated data (30 days × 96 intervals, 20 homes)', () => {
  const series = areaTotals(simulateHomes({ homes: 20, days: 30, seed: 7 }))
  const trainLength = 23 * PERIOD

  it('double-seasonal Holt-Winters beats both naive baselines; its 90% band covers about 90% of actuals', () => {
    const report = backtest(series, { trainLength, weeklyPeriod: 7 * PERIOD })
    expect(report.forecasts).toBeGreaterThan(3000)
    expect(report.holtWinters.mae).toBeLessThan(report.seasonalNaive.mae / 1.5)
    expect(report.holtWinters.mae).toBeLessThan(report.weeklyNaive?.mae ?? 0)
    expect(report.holtWinters.mape).toBeLessThan(report.seasonalNaive.mape)
    expect(report.bandCoverage).toBeGreaterThan(0.8)
    expect(report.bandCoverage).toBeLessThan(0.97)
  })

  it('daily-only Holt-Winters is reported too (both errors measured, whichever wins)', () => {
    const report = backtest(series, { trainLength })
    for (const v of [
      report.holtWinters.mae,
      report.seasonalNaive.mae,
      report.holtWinters.mape,
      report.seasonalNaive.mape,
    ]) {
      expect(Number.isFinite(v) && v > 0).toBe(true)
    }
    expect(report.maeRatio).toBeCloseTo(report.seasonalNaive.mae / report.holtWinters.mae)
  })

  it('forecastLoad gives the next 6 hours with a non-negative band around the point forecast', () => {
    const f = forecastLoad(series.slice(0, 28 * PERIOD), { horizon: 24, coverage: 0.8 })
    expect(f.mean).toHaveLength(24)
    expect(f.params.delta).toBeDefined() // four weeks of history: the weekly component is on
    for (let h = 0; h < 24; h++) {
      expect(f.lower[h]).toBeGreaterThanOrEqual(0)
      expect(f.lower[h]).toBeLessThanOrEqual(f.mean[h] as number)
      expect(f.upper[h]).toBeGreaterThanOrEqual(f.mean[h] as number)
    }
    const actual = series.slice(28 * PERIOD, 28 * PERIOD + 24)
    expect(mape(actual, f.mean)).toBeLessThan(25)
  })
})

describe('forecast of noisy totals near zero', () => {
  it('never forecasts a negative load, and the band stays ordered (low ≤ high)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -200, max: 200 }), { minLength: 3 * PERIOD, maxLength: 3 * PERIOD }),
        (history) => {
          const f = forecastLoad(history, { period: PERIOD, horizon: 8 })
          for (let i = 0; i < 8; i++) {
            expect(f.mean[i]).toBeGreaterThanOrEqual(0)
            expect(f.lower[i]).toBeGreaterThanOrEqual(0)
            expect(f.lower[i]).toBeLessThanOrEqual(f.upper[i] as number)
          }
        },
      ),
      { numRuns: 50 },
    )
  })
})
