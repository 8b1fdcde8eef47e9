/**
 * Pure chart geometry for the SVG history charts: linear scales, "nice" axis ticks and the
 * path of a series. Kept free of DOM so it is unit-tested and the components only draw.
 */

export interface Scale {
  (value: number): number
  domain: readonly [number, number]
  range: readonly [number, number]
}

/** Maps [d0, d1] linearly onto [r0, r1]; a zero-width domain maps everything to the middle. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain
  const [r0, r1] = range
  const span = d1 - d0
  const scale = ((value: number) =>
    span === 0 ? (r0 + r1) / 2 : r0 + ((value - d0) / span) * (r1 - r0)) as Scale
  scale.domain = domain
  scale.range = range
  return scale
}

/** A step of 1, 2 or 5 × 10^k giving about `count` intervals across `span`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || count < 1) return 1
  const raw = span / count
  const power = 10 ** Math.floor(Math.log10(raw))
  const fraction = raw / power
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
  return nice * power
}

/**
 * Axis for values in [min, max]: starts at zero for non-negative data (bar heights and energy
 * must not be exaggerated by a cut axis) and extends to a nice multiple above the maximum.
 */
export function niceDomain(
  min: number,
  max: number,
  count = 4,
): { domain: [number, number]; ticks: number[] } {
  const lo = Math.min(0, min)
  let hi = Math.max(0, max)
  if (hi === lo) hi = lo + 1
  const step = niceStep(hi - lo, count)
  const start = Math.floor(lo / step) * step
  const end = Math.ceil(hi / step) * step
  const ticks: number[] = []
  for (let v = start; v <= end + step / 2; v += step) ticks.push(Number(v.toPrecision(12)))
  return { domain: [start, end], ticks }
}

export interface Point {
  x: number
  y: number
}

/** SVG path "M x y L x y …" through the points (coordinates rounded to 0.1 px). */
export function linePath(points: readonly Point[]): string {
  return points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${Math.round(p.x * 10) / 10} ${Math.round(p.y * 10) / 10}`)
    .join(' ')
}

export interface Bar {
  x: number
  y: number
  width: number
  height: number
}

/** Bars for values evenly spread over `width`, with a gap fraction between bars. */
export function bars(values: readonly number[], width: number, y: Scale, gap = 0.2): Bar[] {
  if (values.length === 0) return []
  const slot = width / values.length
  const base = y(0)
  return values.map((v, i) => {
    const top = y(v)
    return {
      x: i * slot + (slot * gap) / 2,
      y: Math.min(top, base),
      width: slot * (1 - gap),
      height: Math.abs(base - top),
    }
  })
}

/** Picks at most `max` evenly spaced label indexes out of `count` (always the first one). */
export function labelIndexes(count: number, max: number): number[] {
  if (count <= 0) return []
  const every = Math.max(1, Math.ceil(count / max))
  const out: number[] = []
  for (let i = 0; i < count; i += every) out.push(i)
  return out
}
