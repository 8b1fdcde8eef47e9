/** Forecast error measures. MAPE skips zero actuals (undefined there); area totals are never zero in practice. */
export function mae(actual: readonly number[], predicted: readonly number[]): number {
  let s = 0
  for (let i = 0; i < actual.length; i++) s += Math.abs((actual[i] as number) - (predicted[i] as number))
  return s / actual.length
}

export function mape(actual: readonly number[], predicted: readonly number[]): number {
  let s = 0
  let n = 0
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number
    if (a === 0) continue
    s += Math.abs((a - (predicted[i] as number)) / a)
    n++
  }
  return n === 0 ? Number.NaN : (100 * s) / n
}

/** Empirical quantile with linear interpolation (type 7, as R and numpy default). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo)
}
