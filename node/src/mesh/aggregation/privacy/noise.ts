/**
 * Exact sampling of the discrete Gaussian N_Z(0, σ²) (Canonne, Kamath and Steinke, "The Discrete
 * Gaussian for Differential Privacy", NeurIPS 2020, Algorithms 1–3), with integers and rationals only.
 *
 * Why not `Math.random()` and floating point: a floating-point Laplace or Gaussian leaks through the
 * gaps and rounding of the doubles it can produce (Mironov, "On significance of the least significant
 * bits for differential privacy", CCS 2012): some outputs are impossible for one input and possible for
 * another, which breaks the guarantee outright. Here every step is a Bernoulli trial with a rational
 * probability decided by a uniform integer from the OS's cryptographic generator
 * (`crypto.randomInt` / `randomBytes`), so the output distribution is exactly N_Z(0, σ²) and nothing
 * of the seed is predictable to a neighbour or the utility.
 */
import { randomBytes, randomInt } from 'node:crypto'

/** A uniform integer in [0, n) from the cryptographic generator (n ≥ 1). */
export type UniformBelow = (n: bigint) => bigint

const RANDOM_INT_LIMIT = 2n ** 48n

/** crypto.randomInt for n ≤ 2⁴⁸, rejection sampling over random bytes above. */
export const cryptoUniformBelow: UniformBelow = (n) => {
  if (n <= 0n) throw new RangeError('uniformBelow needs n ≥ 1')
  if (n <= RANDOM_INT_LIMIT) return BigInt(randomInt(Number(n)))
  const bytes = Math.ceil(n.toString(2).length / 8)
  const space = 1n << BigInt(8 * bytes)
  const limit = space - (space % n)
  for (;;) {
    const x = BigInt(`0x${randomBytes(bytes).toString('hex')}`)
    if (x < limit) return x % n
  }
}

/** Bernoulli(num/den), 0 ≤ num ≤ den. */
function bernoulli(num: bigint, den: bigint, uniform: UniformBelow): boolean {
  return uniform(den) < num
}

/** Bernoulli(exp(−num/den)) for num/den ∈ [0, 1] (CKS Algorithm 1, first part). */
function bernoulliExpAtMostOne(num: bigint, den: bigint, uniform: UniformBelow): boolean {
  let k = 1n
  while (bernoulli(num, den * k, uniform)) k++
  return k % 2n === 1n
}

/** Bernoulli(exp(−num/den)) for any num/den ≥ 0 (CKS Algorithm 1). */
export function bernoulliExp(num: bigint, den: bigint, uniform: UniformBelow = cryptoUniformBelow): boolean {
  if (num < 0n || den <= 0n) throw new RangeError('bernoulliExp needs num ≥ 0 and den > 0')
  let rest = num
  while (rest > den) {
    if (!bernoulliExpAtMostOne(1n, 1n, uniform)) return false
    rest -= den
  }
  return bernoulliExpAtMostOne(rest, den, uniform)
}

/** The discrete Laplace with scale t (integer ≥ 1): P(x) ∝ exp(−|x|/t) (CKS Algorithm 2). */
export function sampleDiscreteLaplace(t: bigint, uniform: UniformBelow = cryptoUniformBelow): bigint {
  for (;;) {
    const u = uniform(t)
    if (!bernoulliExp(u, t, uniform)) continue
    let v = 0n
    while (bernoulliExp(1n, 1n, uniform)) v++
    const x = u + t * v
    const negative = uniform(2n) === 1n
    if (negative && x === 0n) continue
    return negative ? -x : x
  }
}

/**
 * The discrete Gaussian with variance parameter σ² (an integer number of Wh²): P(x) ∝ exp(−x²/2σ²)
 * over the integers (CKS Algorithm 3, with t = ⌊σ⌋ + 1).
 */
export function sampleDiscreteGaussian(sigma2: bigint, uniform: UniformBelow = cryptoUniformBelow): bigint {
  if (sigma2 <= 0n) throw new RangeError('the variance must be a positive integer')
  const t = isqrt(sigma2) + 1n
  for (;;) {
    const y = sampleDiscreteLaplace(t, uniform)
    const abs = y < 0n ? -y : y
    // γ = (|y| − σ²/t)² / 2σ² = (|y|·t − σ²)² / (2σ²t²), as one exact fraction.
    const d = abs * t - sigma2
    if (bernoulliExp(d * d, 2n * sigma2 * t * t, uniform)) return y
  }
}

/** ⌊√n⌋ for n ≥ 0, exactly (Newton on bigints). */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n
  let x = n
  let y = (x + 1n) / 2n
  while (y < x) {
    x = y
    y = (x + n / x) / 2n
  }
  return x
}
