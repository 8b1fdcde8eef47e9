/**
 * Deterministic noise: a pure function of (seed, stream, integer index). The household is a
 * function of simulated time, not of how often it is sampled, so two meters with the same seed
 * produce the same readings whether the clock advances in 1 s or 1 day steps.
 */

function mix(h: number): number {
  // murmur3 fmix32: good avalanche for consecutive integers.
  let x = h >>> 0
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}

/** Uniform in [0, 1) for this seed, stream and index. */
export function uniform(seed: number, stream: number, index: number): number {
  const lo = index >>> 0
  const hi = Math.floor(index / 2 ** 32) >>> 0
  let h = mix(seed ^ 0x9e3779b9)
  h = mix(h ^ Math.imul(stream + 1, 0x27d4eb2d))
  h = mix(h ^ lo)
  h = mix(h ^ Math.imul(hi + 1, 0x165667b1))
  return h / 2 ** 32
}

/** Approximately normal N(0, 1) (sum of four uniforms, rescaled): bounded, so never absurd. */
export function normal(seed: number, stream: number, index: number): number {
  let sum = 0
  for (let k = 0; k < 4; k++) sum += uniform(seed, stream * 4 + k, index)
  return (sum - 2) * Math.sqrt(3)
}

/** Smooth noise in [-1, 1]: cosine interpolation between per-knot values every `period` units. */
export function smooth(seed: number, stream: number, t: number, period: number): number {
  const k = Math.floor(t / period)
  const f = t / period - k
  const a = uniform(seed, stream, k) * 2 - 1
  const b = uniform(seed, stream, k + 1) * 2 - 1
  const w = (1 - Math.cos(Math.PI * f)) / 2
  return a * (1 - w) + b * w
}
