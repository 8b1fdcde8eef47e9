/**
 * The discrete Gaussian sampler and the privacy accountant (docs/aggregation.md §7): integers only,
 * the right variance, an exact distribution for a small σ; ρ per round, ε per day, the budget stop.
 */
import { describe, expect, it } from 'vitest'
import {
  createAccountant,
  dayOfRound,
  epsilonOf,
  rhoFor,
} from '../../../src/mesh/aggregation/privacy/accountant.ts'
import { bernoulliExp, isqrt, sampleDiscreteGaussian } from '../../../src/mesh/aggregation/privacy/noise.ts'
import { calibration, createNoisyRelease } from '../../../src/mesh/aggregation/privacy/release.ts'
import { PrivacyBudgetSpentError } from '../../../src/mesh/errors.ts'

describe('discrete Gaussian sampling', () => {
  it('draws integers with mean 0 and variance σ² (σ = 50 Wh, 20 000 draws)', () => {
    const xs = Array.from({ length: 20_000 }, () => Number(sampleDiscreteGaussian(2500n)))
    expect(xs.every(Number.isInteger)).toBe(true)
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)
    // Standard errors: mean 50/√20000 ≈ 0.35, variance 2500·√(2/20000) ≈ 25.
    expect(Math.abs(mean)).toBeLessThan(2)
    expect(variance).toBeGreaterThan(2350)
    expect(variance).toBeLessThan(2650)
  })

  it('matches exp(−x²/2σ²)/Z for σ² = 4, value by value (chi-square over 40 000 draws)', () => {
    const n = 40_000
    const counts = new Map<number, number>()
    for (let i = 0; i < n; i++) {
      const x = Number(sampleDiscreteGaussian(4n))
      counts.set(x, (counts.get(x) ?? 0) + 1)
    }
    const support = Array.from({ length: 21 }, (_, i) => i - 10)
    const z = support.reduce((s, x) => s + Math.exp(-(x * x) / 8), 0)
    let chi2 = 0
    for (const x of support.filter((v) => Math.abs(v) <= 6)) {
      const expected = (n * Math.exp(-(x * x) / 8)) / z
      chi2 += ((counts.get(x) ?? 0) - expected) ** 2 / expected
    }
    // 13 cells, 12 degrees of freedom: the 99.9th percentile is 32.9.
    expect(chi2).toBeLessThan(32.9)
  })

  it('decides Bernoulli(exp(−γ)) exactly for rational γ, including γ > 1', () => {
    const draw = (num: bigint, den: bigint) => {
      let hits = 0
      for (let i = 0; i < 20_000; i++) if (bernoulliExp(num, den)) hits++
      return hits / 20_000
    }
    expect(draw(0n, 1n)).toBe(1)
    expect(Math.abs(draw(1n, 2n) - Math.exp(-0.5))).toBeLessThan(0.015)
    expect(Math.abs(draw(5n, 2n) - Math.exp(-2.5))).toBeLessThan(0.01)
  })

  it('takes exact integer square roots', () => {
    for (const n of [0n, 1n, 2n, 3n, 4n, 2499n, 2500n, 2501n, 10n ** 30n + 7n]) {
      const r = isqrt(n)
      expect(r * r <= n && (r + 1n) * (r + 1n) > n).toBe(true)
    }
  })
})

describe('the privacy accountant (zCDP)', () => {
  it('charges ρ = C²/2σ² per round: 200 for C = 1000 Wh, σ = 50 Wh; ε at δ = 10⁻⁶', () => {
    const cal = calibration()
    expect(cal).toEqual({ sigmaWh: 50, clampWh: 1000, rhoPerRound: 200 })
    expect(epsilonOf(200, 1e-6)).toBeCloseTo(200 + 2 * Math.sqrt(200 * Math.log(1e6)), 9)
    expect(epsilonOf(rhoFor(3, 1e-6), 1e-6)).toBeCloseTo(3, 9)
  })

  it('admits 96 rounds a day under the default budget and refuses the 97th, per day of data', () => {
    const release = createNoisyRelease()
    const day = 20_000 * 86_400
    for (let k = 1; k <= 96; k++) release.release(day + k * 900, 100n)
    // Another round of the same day (e.g. a utility inventing extra rounds) is refused.
    expect(() => release.release(day + 450, 100n)).toThrow(PrivacyBudgetSpentError)
    // The next day (of data) has its own budget; the spent one stays spent.
    expect(() => release.release(day + 86_400 + 900, 100n)).not.toThrow()
    const spend = release.spend(dayOfRound(day + 900))
    expect(spend.rounds).toBe(96)
    expect(spend.epsilon).toBeLessThanOrEqual(spend.budget)
  })

  it('re-uses a round’s noise and never draws it twice; another reading for it is refused', () => {
    const release = createNoisyRelease({ dailyBudget: 1e9 })
    const t = 20_000 * 86_400 + 900
    const first = release.release(t, 400n)
    expect(release.release(t, 400n)).toBe(first)
    expect(() => release.release(t, 401n)).toThrow(/another reading/)
    expect(release.spend(dayOfRound(t)).rounds).toBe(1)
  })

  it('clamps each reading to [0, C] before the noise', () => {
    const release = createNoisyRelease({ dailyBudget: 1e9 })
    const values = Array.from({ length: 2000 }, (_, k) => Number(release.release(86_400 + k, 5000n)))
    // The mean of 2000 noisy copies of C: 1000 ± 50/√2000 ≈ ±1.1 Wh.
    expect(Math.abs(values.reduce((a, b) => a + b, 0) / values.length - 1000)).toBeLessThan(5)
  })

  it('keeps its state across a restart', () => {
    let saved: ReturnType<ReturnType<typeof createAccountant>['state']> | undefined
    const a = createAccountant({
      rhoPerRound: 1,
      dailyBudget: epsilonOf(2, 1e-6),
      delta: 1e-6,
      onChange: (s) => {
        saved = s
      },
    })
    a.charge(900)
    a.charge(1800)
    const b = createAccountant({
      rhoPerRound: 1,
      dailyBudget: epsilonOf(2, 1e-6),
      delta: 1e-6,
      initial: saved,
    })
    expect(b.affords(2700)).toBe(false)
    expect(b.charged(900)).toBe(true)
  })
})
