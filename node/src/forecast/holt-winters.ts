/**
 * Additive Holt-Winters (triple exponential smoothing) with one seasonal period m — for area load,
 * the daily cycle (96 intervals of 15 min). Additive because an area's daily swing is roughly the
 * same size in Wh whatever the level; a multiplicative model only pays off when it scales with it.
 *
 *   level    l_t = α (y_t − s_{t−m}) + (1−α)(l_{t−1} + b_{t−1})
 *   trend    b_t = β (l_t − l_{t−1}) + (1−β) b_{t−1}
 *   season   s_t = γ (y_t − l_t) + (1−γ) s_{t−m}
 *   forecast ŷ_{t+h|t} = l_t + h b_t + s_{t+h−m⌈h/m⌉}
 *
 * Initialised from the first two seasons (level = mean of the first, trend = difference of means / m,
 * season = first season minus its mean), so a series needs at least 2m points.
 *
 * Optionally double-seasonal (Taylor 2003, the classic for electricity load): a second, weekly
 * component w with period m₂ = 7m, smoothed with δ, on top of the daily one; homes live differently
 * at weekends and a daily-only model smears that over every day. Then
 *   l_t = α (y_t − s_{t−m} − w_{t−m₂}) + (1−α)(l_{t−1} + b_{t−1})
 *   s_t = γ (y_t − l_t − w_{t−m₂}) + (1−γ) s_{t−m},   w_t = δ (y_t − l_t − s_{t−m}) + (1−δ) w_{t−m₂}
 * initialised from the first two weeks.
 */
import { ForecastInputError } from './errors.ts'

export interface HoltWintersParams {
  alpha: number
  beta: number
  gamma: number
  /** Weekly smoothing; only used with a weekly period. */
  delta?: number
}

export interface HoltWintersState {
  period: number
  level: number
  trend: number
  /** season[(t) mod m] after the last observation, indexed by absolute time mod m. */
  season: number[]
  /** Second (weekly) seasonal component, indexed by absolute time mod its length; absent if single-seasonal. */
  weekly?: number[]
  /** Number of observations consumed (the next one has index `n`). */
  n: number
}

function checkSeries(series: readonly number[], period: number) {
  if (!Number.isInteger(period) || period < 2)
    throw new ForecastInputError(`season period must be an integer ≥ 2, got ${period}`)
  if (series.length < 2 * period) {
    throw new ForecastInputError(
      `Holt-Winters needs at least two seasons (${2 * period} points), got ${series.length}`,
    )
  }
  for (const [i, y] of series.entries()) {
    if (!Number.isFinite(y)) throw new ForecastInputError(`series[${i}] is not a finite number`)
  }
}

function checkParams(p: HoltWintersParams) {
  for (const [k, v] of Object.entries(p)) {
    if (!(v >= 0 && v <= 1)) throw new ForecastInputError(`Holt-Winters ${k} must be in [0, 1], got ${v}`)
  }
}

export function initialState(
  series: readonly number[],
  period: number,
  weeklyPeriod?: number,
): HoltWintersState {
  if (weeklyPeriod !== undefined) return initialDoubleState(series, period, weeklyPeriod)
  checkSeries(series, period)
  const mean = (from: number) => series.slice(from, from + period).reduce((a, b) => a + b, 0) / period
  const m1 = mean(0)
  const m2 = mean(period)
  const season = series.slice(0, period).map((y) => y - m1)
  return { period, level: m1, trend: (m2 - m1) / period, season, n: 0 }
}

function initialDoubleState(series: readonly number[], period: number, weekly: number): HoltWintersState {
  if (!Number.isInteger(weekly) || weekly % period !== 0 || weekly <= period) {
    throw new ForecastInputError(`the weekly period must be a multiple of the daily one, got ${weekly}`)
  }
  checkSeries(series, weekly)
  const mean = (from: number) => series.slice(from, from + weekly).reduce((a, b) => a + b, 0) / weekly
  const m1 = mean(0)
  const m2 = mean(weekly)
  const days = weekly / period
  const season = Array.from({ length: period }, (_, k) => {
    let sum = 0
    for (let d = 0; d < days; d++) sum += (series[d * period + k] as number) - m1
    return sum / days
  })
  const week = series.slice(0, weekly).map((y, k) => y - m1 - (season[k % period] as number))
  return { period, level: m1, trend: (m2 - m1) / weekly, season, weekly: week, n: 0 }
}

/** ŷ_{n−1+h | n−1}: the h-step-ahead forecast from the current state (h ≥ 1). */
export function forecastAt(state: HoltWintersState, h: number): number {
  const { period, level, trend, season, weekly, n } = state
  const w = weekly === undefined ? 0 : (weekly[(n - 1 + h) % weekly.length] as number)
  return level + h * trend + (season[(n - 1 + h) % period] as number) + w
}

/** Consumes one observation; returns the one-step forecast it had for it. */
export function update(state: HoltWintersState, y: number, p: HoltWintersParams): number {
  const { period, weekly } = state
  const idx = state.n % period
  const sPrev = state.season[idx] as number
  const widx = weekly === undefined ? 0 : state.n % weekly.length
  const wPrev = weekly === undefined ? 0 : (weekly[widx] as number)
  const predicted = state.level + state.trend + sPrev + wPrev
  const level = p.alpha * (y - sPrev - wPrev) + (1 - p.alpha) * (state.level + state.trend)
  state.trend = p.beta * (level - state.level) + (1 - p.beta) * state.trend
  state.level = level
  state.season[idx] = p.gamma * (y - level - wPrev) + (1 - p.gamma) * sPrev
  if (weekly !== undefined) weekly[widx] = (p.delta ?? 0) * (y - level - sPrev) + (1 - (p.delta ?? 0)) * wPrev
  state.n++
  return predicted
}

export interface FitOptions {
  period: number
  /** Add a weekly seasonal component with this period (7 × period). */
  weeklyPeriod?: number
  /** Horizons the parameters are judged on (1..horizon steps ahead). */
  horizon: number
  /** Evaluate the multi-step error from every `stride`-th origin (cost control). */
  stride?: number
}

/**
 * Runs the model over `series` and returns the h-step-ahead errors (actual − forecast) for h = 1..H
 * from every `stride`-th origin after the two initialisation seasons: errors[h−1] is a list.
 */
export function multiStepErrors(
  series: readonly number[],
  p: HoltWintersParams,
  opts: FitOptions,
): { errors: number[][]; state: HoltWintersState } {
  checkParams(p)
  const { period, horizon } = opts
  const stride = opts.stride ?? 1
  const state = initialState(series, period, opts.weeklyPeriod)
  const warmup = 2 * (opts.weeklyPeriod ?? period)
  const errors: number[][] = Array.from({ length: horizon }, () => [])
  for (let t = 0; t < series.length; t++) {
    if (t >= warmup && t % stride === 0) {
      for (let h = 1; h <= horizon && t + h - 1 < series.length; h++) {
        ;(errors[h - 1] as number[]).push((series[t + h - 1] as number) - forecastAt(state, h))
      }
    }
    update(state, series[t] as number, p)
  }
  return { errors, state }
}

export interface Grid {
  alpha: number[]
  beta: number[]
  gamma: number[]
  delta: number[]
}

export const DEFAULT_GRID: Grid = {
  alpha: [0.02, 0.05, 0.1, 0.2, 0.3, 0.5],
  beta: [0, 0.005, 0.02],
  gamma: [0.05, 0.1, 0.2, 0.3, 0.5],
  delta: [0.05, 0.1, 0.2, 0.3, 0.5, 0.7],
}

/** Grid search over (α, β, γ) minimising the mean squared 1..H-step error on the training series. */
export function fitHoltWinters(
  series: readonly number[],
  opts: FitOptions,
  grid: Grid = DEFAULT_GRID,
): { params: HoltWintersParams; mse: number } {
  checkSeries(series, opts.weeklyPeriod ?? opts.period)
  if (!Number.isInteger(opts.horizon) || opts.horizon < 1)
    throw new ForecastInputError('horizon must be an integer ≥ 1')
  let best: { params: HoltWintersParams; mse: number } | undefined
  for (const alpha of grid.alpha) {
    for (const beta of grid.beta) {
      for (const gamma of grid.gamma) {
        for (const delta of opts.weeklyPeriod === undefined ? [undefined] : grid.delta) {
          const params: HoltWintersParams =
            delta === undefined ? { alpha, beta, gamma } : { alpha, beta, gamma, delta }
          const { errors } = multiStepErrors(series, params, opts)
          let sum = 0
          let count = 0
          for (const list of errors) {
            for (const e of list) sum += e * e
            count += list.length
          }
          const mse = count === 0 ? Number.POSITIVE_INFINITY : sum / count
          if (best === undefined || mse < best.mse) best = { params, mse }
        }
      }
    }
  }
  if (best === undefined || !Number.isFinite(best.mse)) {
    throw new ForecastInputError(
      'the training series is too short for the horizon: no forecast could be scored',
    )
  }
  return best
}
