/**
 * Rolling-origin backtest: Holt-Winters (fitted once on the training window) against the seasonal-naive
 * baseline, both forecasting `horizon` intervals ahead from every `stride`-th origin of the test window.
 * Reports MAE (Wh per interval) and MAPE (%) for both, and how often the actual fell inside the band.
 */

import { ForecastInputError } from './errors.ts'
import { seasonalNaive } from './forecast.ts'
import {
  fitHoltWinters,
  forecastAt,
  type HoltWintersParams,
  initialState,
  multiStepErrors,
  update,
} from './holt-winters.ts'
import { mae, mape, quantile } from './metrics.ts'

export interface BacktestOptions {
  period?: number
  /** Use the double-seasonal model with this weekly period (7 × period). */
  weeklyPeriod?: number
  horizon?: number
  /** Intervals of the series used to fit (the rest is the test window). */
  trainLength: number
  stride?: number
  coverage?: number
  /**
   * The true series to score against, when `series` is what the forecaster sees (e.g. the noisy
   * aggregates of distributed differential privacy): the model learns from `series`, errors are
   * measured against `truth`. Default: `series` itself.
   */
  truth?: readonly number[]
}

export interface BacktestReport {
  params: HoltWintersParams
  forecasts: number
  holtWinters: { mae: number; mape: number }
  seasonalNaive: { mae: number; mape: number }
  /** Same interval one week earlier (only with a weekly period): the stronger naive baseline. */
  weeklyNaive?: { mae: number; mape: number }
  /** naive MAE ÷ Holt-Winters MAE (> 1: Holt-Winters is better). */
  maeRatio: number
  /** Fraction of test actuals inside the band (nominal `coverage`). */
  bandCoverage: number
  coverage: number
}

export function backtest(series: readonly number[], options: BacktestOptions): BacktestReport {
  const period = options.period ?? 96
  const horizon = options.horizon ?? 24
  const stride = options.stride ?? 4
  const coverage = options.coverage ?? 0.9
  const { trainLength } = options
  const truth = options.truth ?? series
  if (truth.length !== series.length) {
    throw new ForecastInputError('the true series must have the same length as the observed one')
  }
  if (trainLength < 2 * (options.weeklyPeriod ?? period) || trainLength + horizon > series.length) {
    throw new ForecastInputError(
      'the training window needs two seasons and the test window at least one horizon',
    )
  }
  const train = series.slice(0, trainLength)
  const fit = {
    period,
    horizon,
    stride,
    ...(options.weeklyPeriod ? { weeklyPeriod: options.weeklyPeriod } : {}),
  }
  const { params } = fitHoltWinters(train, fit)
  const { errors } = multiStepErrors(train, params, fit)
  const lo = errors.map((e) => quantile(e, (1 - coverage) / 2))
  const hi = errors.map((e) => quantile(e, (1 + coverage) / 2))

  const state = initialState(series, period, options.weeklyPeriod)
  const actual: number[] = []
  const hw: number[] = []
  const naive: number[] = []
  const weeklyNaive: number[] = []
  let inside = 0
  for (let t = 0; t + horizon <= series.length; t++) {
    if (t >= trainLength && (t - trainLength) % stride === 0) {
      const history = series.slice(0, t)
      const base = seasonalNaive(history, period, horizon)
      const week = options.weeklyPeriod ? seasonalNaive(history, options.weeklyPeriod, horizon) : []
      for (let h = 1; h <= horizon; h++) {
        const y = truth[t + h - 1] as number
        const f = forecastAt(state, h)
        actual.push(y)
        hw.push(f)
        naive.push(base[h - 1] as number)
        if (options.weeklyPeriod) weeklyNaive.push(week[h - 1] as number)
        if (y >= Math.max(0, f + (lo[h - 1] as number)) && y <= f + (hi[h - 1] as number)) inside++
      }
    }
    update(state, series[t] as number, params)
  }
  const hwMae = mae(actual, hw)
  const naiveMae = mae(actual, naive)
  return {
    params,
    forecasts: actual.length,
    holtWinters: { mae: hwMae, mape: mape(actual, hw) },
    seasonalNaive: { mae: naiveMae, mape: mape(actual, naive) },
    ...(options.weeklyPeriod
      ? { weeklyNaive: { mae: mae(actual, weeklyNaive), mape: mape(actual, weeklyNaive) } }
      : {}),
    maeRatio: naiveMae / hwMae,
    bandCoverage: inside / actual.length,
    coverage,
  }
}
