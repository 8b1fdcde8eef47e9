/**
 * What a home's share carries instead of its reading (docs/aggregation.md §7): the reading clamped to
 * [0, C], plus discrete Gaussian noise drawn once per round from the cryptographic generator, charged to
 * the privacy accountant. The noisy value of a round is kept and re-used: a second call for the same
 * round never draws fresh noise (averaging two draws would halve the noise), and a round whose noisy
 * value is no longer held is refused rather than drawn again.
 */
import { AggregationError, PrivacyBudgetSpentError } from '../../errors.ts'
import { type AccountantState, createAccountant, dayOfRound, type PrivacySpend } from './accountant.ts'
import { cryptoUniformBelow, sampleDiscreteGaussian, type UniformBelow } from './noise.ts'

/** Standard deviation of each home's noise, Wh per share: what the forecast figure allows (§7). */
export const DEFAULT_SIGMA_WH = 50
/** Each share's value is clamped to [0, C] Wh: the sensitivity of one share (§7). */
export const DEFAULT_CLAMP_WH = 1000
/** δ of the (ε, δ) figures. */
export const DEFAULT_DELTA = 1e-6
/**
 * ε per day of data: 96 quarter-hour rounds at the default calibration (ε ≈ 20 230) fit, a 97th does
 * not. At this calibration ε is a cap on how much of a day leaves the home, not a meaningful
 * worst-case guarantee (docs/aggregation.md §7 says why and gives the numbers).
 */
export const DEFAULT_DAILY_BUDGET = 20_300

export interface PrivacyOptions {
  /** Standard deviation of the discrete Gaussian noise, Wh (σ² = sigmaWh², rounded to an integer). */
  sigmaWh?: number
  clampWh?: number
  /** ε per day of data, at `delta`. */
  dailyBudget?: number
  delta?: number
  /** The accountant's state from the last run (persisted by the household node) and a hook to save it. */
  initial?: AccountantState
  onChange?: (state: AccountantState) => void
  /** Tests only: the uniform integer source (default: node:crypto). */
  uniform?: UniformBelow
}

export interface PrivacyCalibration {
  sigmaWh: number
  clampWh: number
  /** zCDP ρ of one share against an adversary that knows every other share (worst case). */
  rhoPerRound: number
}

export function calibration(options: PrivacyOptions = {}): PrivacyCalibration {
  const sigmaWh = options.sigmaWh ?? DEFAULT_SIGMA_WH
  const clampWh = options.clampWh ?? DEFAULT_CLAMP_WH
  if (!(sigmaWh >= 1) || !Number.isInteger(clampWh) || clampWh < 1) {
    throw new AggregationError('privacy noise needs sigmaWh ≥ 1 and an integer clampWh ≥ 1')
  }
  const sigma2 = Math.round(sigmaWh * sigmaWh)
  return { sigmaWh, clampWh, rhoPerRound: (clampWh * clampWh) / (2 * sigma2) }
}

const MAX_HELD_ROUNDS = 4096

export function createNoisyRelease(options: PrivacyOptions = {}) {
  const cal = calibration(options)
  const sigma2 = BigInt(Math.round(cal.sigmaWh * cal.sigmaWh))
  const clamp = BigInt(cal.clampWh)
  const uniform = options.uniform ?? cryptoUniformBelow
  const accountant = createAccountant({
    rhoPerRound: cal.rhoPerRound,
    dailyBudget: options.dailyBudget ?? DEFAULT_DAILY_BUDGET,
    delta: options.delta ?? DEFAULT_DELTA,
    ...(options.initial ? { initial: options.initial } : {}),
    ...(options.onChange ? { onChange: options.onChange } : {}),
  })
  const held = new Map<number, { raw: bigint; noisy: bigint }>()

  return {
    calibration: cal,
    /**
     * The value round t's share carries for the reading `raw` (Wh): clamped, plus this round's noise.
     * Throws PrivacyBudgetSpentError when the day's budget cannot pay for the round.
     */
    release(round: number, raw: bigint): bigint {
      const kept = held.get(round)
      if (kept !== undefined) {
        if (kept.raw === raw) return kept.noisy
        // Another reading for a released round would be a second, different share: equivocation.
        throw new AggregationError(`round ${round} already has a share from this meter for another reading`, {
          details: { round },
        })
      }
      if (accountant.charged(round)) {
        throw new AggregationError(
          `round ${round} was already released and its noisy value is no longer held: it is not released again`,
        )
      }
      if (!accountant.affords(round)) {
        const spent = accountant.spend(dayOfRound(round))
        throw new PrivacyBudgetSpentError(
          `the daily privacy budget is spent (ε ${spent.epsilon.toFixed(1)} of ${spent.budget} for that day): this home stops contributing until the next day`,
          { details: { round, epsilon: spent.epsilon, budget: spent.budget } },
        )
      }
      const clamped = raw < 0n ? 0n : raw > clamp ? clamp : raw
      const noisy = clamped + sampleDiscreteGaussian(sigma2, uniform)
      accountant.charge(round)
      held.set(round, { raw, noisy })
      if (held.size > MAX_HELD_ROUNDS) held.delete(held.keys().next().value as number)
      return noisy
    },
    /** ε spent on the day of `round` (or of now) and the budget. */
    spend(day: number): PrivacySpend {
      return accountant.spend(day)
    },
    state: accountant.state,
  }
}

export type NoisyRelease = ReturnType<typeof createNoisyRelease>
