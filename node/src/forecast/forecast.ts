/**
 * Area load forecast for the utility: area totals per interval (from private aggregation) → the next
 * hours with an uncertainty band. The point forecast is additive Holt-Winters with daily seasonality
 * (plus a weekly component once three weeks of history exist), parameters fitted by grid search on the
 * history; the band comes from the empirical quantiles of the
 * model's own h-step-ahead errors on that history (one band per horizon, so it widens with h without
 * assuming normal errors). The seasonal-naive forecast (same interval one season earlier) is the
 * baseline every forecast must beat.
 */
import { ForecastInputError } from './errors.ts'
import { fitHoltWinters, forecastAt, type HoltWintersParams, multiStepErrors } from './holt-winters.ts'
import { quantile } from './metrics.ts'

export interface LoadForecast {
  /** Point forecast for the next `horizon` intervals (Wh per interval). */
  mean: number[]
  lower: number[]
  upper: number[]
  /** Nominal coverage of [lower, upper]. */
  coverage: number
  params: HoltWintersParams
}

export interface ForecastOptions {
  /** Intervals per season (96 = one day of 15-minute intervals). */
  period?: number
  /** Intervals ahead (24 = six hours of 15-minute intervals). */
  horizon?: number
  coverage?: number
  /**
   * Weekly seasonal period for the double-seasonal model; default 7 × period once the history holds
   * three weeks (two to initialise, one to fit on), else the daily-only model. 0 forces daily-only.
   */
  weeklyPeriod?: number
  /** Reuse parameters (e.g. fitted once a day) instead of a grid search on every call. */
  params?: HoltWintersParams
  stride?: number
}

export function forecastLoad(history: readonly number[], options: ForecastOptions = {}): LoadForecast {
  const period = options.period ?? 96
  const horizon = options.horizon ?? 24
  const coverage = options.coverage ?? 0.9
  if (!(coverage > 0 && coverage < 1))
    throw new ForecastInputError(`coverage must be in (0, 1), got ${coverage}`)
  const stride = options.stride ?? 4
  const weekly = options.weeklyPeriod ?? (history.length >= 21 * period ? 7 * period : 0)
  const fit = { period, horizon, stride, ...(weekly > 0 ? { weeklyPeriod: weekly } : {}) }
  const params = options.params ?? fitHoltWinters(history, fit).params
  const { errors, state } = multiStepErrors(history, params, fit)
  const mean: number[] = []
  const lower: number[] = []
  const upper: number[] = []
  for (let h = 1; h <= horizon; h++) {
    const point = forecastAt(state, h)
    const e = errors[h - 1] as number[]
    // Loads are never negative: clip the forecast and both ends of its band at zero. Noisy area
    // totals (each home's privacy noise, docs/aggregation.md §7) can dip below zero at night, and an
    // unclipped upper end would then fall below the clipped lower one.
    mean.push(Math.max(0, point))
    lower.push(Math.max(0, point + quantile(e, (1 - coverage) / 2)))
    upper.push(Math.max(0, point + quantile(e, (1 + coverage) / 2)))
  }
  return { mean, lower, upper, coverage, params }
}

/** ŷ_{t+h} = y_{t+h−m⌈h/m⌉}: the last observed value at the same phase of the season. */
export function seasonalNaive(history: readonly number[], period: number, horizon: number): number[] {
  if (history.length < period)
    throw new ForecastInputError(`seasonal naive needs one season (${period} points) of history`)
  const n = history.length
  return Array.from(
    { length: horizon },
    (_, i) => history[n + i - period * Math.ceil((i + 1) / period)] as number,
  )
}
