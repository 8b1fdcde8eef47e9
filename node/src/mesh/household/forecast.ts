/**
 * The area's load forecast from the observer's totals: the next six hours of 15-minute intervals, from
 * the longest recent run of consecutive rounds (isolated missing rounds interpolated). Cached per run.
 */
import { forecastLoad } from '../../forecast/forecast.ts'
import type { AggregatePoint } from './types.ts'

/** Forecast horizon: the next six hours of 15-minute intervals. */
const FORECAST_HORIZON = 24
/** Isolated missing rounds (a failed collection) are interpolated for the forecast; longer gaps cut the series. */
const MAX_INTERPOLATED_GAP = 4

export interface ForecastPoint {
  time: number
  wh: number
  low: number
  high: number
}

/** The longest recent run of rounds one interval (`step`) apart (short gaps interpolated), oldest first. */
export function recentRun(series: ReadonlyMap<number, AggregatePoint>, step: number): AggregatePoint[] {
  const times = [...series.keys()].sort((a, b) => a - b)
  const first = times[0]
  const last = times.at(-1)
  if (first === undefined || last === undefined) return []
  const out: AggregatePoint[] = []
  let gap = 0
  for (let t = last; t >= first; t -= step) {
    const point = series.get(t)
    if (point === undefined) {
      if (++gap > MAX_INTERPOLATED_GAP) break
      continue
    }
    // Fill the gap just crossed by linear interpolation between its two neighbours.
    const after = out.at(-1)
    for (let k = gap; k >= 1 && after; k--) {
      const wh = point.totalWh + ((after.totalWh - point.totalWh) * k) / (gap + 1)
      out.push({ time: t + k * step, totalWh: Math.round(wh), households: 0 })
    }
    gap = 0
    out.push(point)
  }
  return out.reverse()
}

export function createForecaster(
  series: ReadonlyMap<number, AggregatePoint>,
  options: { slots: number; intervalSeconds: number },
) {
  let cache: { key: string; forecast: ForecastPoint[] } | undefined
  return function forecast() {
    const run = recentRun(series, options.intervalSeconds)
    const needed = 2 * options.slots + FORECAST_HORIZON
    const last = run.at(-1)
    if (run.length < needed || last === undefined) {
      return {
        forecast: [],
        forecastNote: `the forecast needs ${needed} consecutive intervals of area totals (two days and its horizon); ${run.length} so far`,
      }
    }
    const key = `${last.time}:${run.length}`
    if (cache?.key !== key) {
      const f = forecastLoad(
        run.map((p) => p.totalWh),
        { period: options.slots, horizon: FORECAST_HORIZON },
      )
      cache = {
        key,
        forecast: f.mean.map((wh, i) => ({
          time: last.time + (i + 1) * options.intervalSeconds,
          wh: Math.round(wh),
          low: Math.round(f.lower[i] as number),
          high: Math.round(f.upper[i] as number),
        })),
      }
    }
    return { forecast: cache.forecast }
  }
}
