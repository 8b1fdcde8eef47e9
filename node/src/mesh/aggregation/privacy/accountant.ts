/**
 * The privacy accountant (docs/aggregation.md §7): how much of the resident's daily budget the shares
 * of each day have spent, in zero-concentrated differential privacy (zCDP, Bun and Steinke 2016).
 *
 * A share with discrete Gaussian noise of variance σ² on a value clamped to [0, C] is ρ-zCDP with
 * ρ = C² / 2σ² (Canonne, Kamath and Steinke 2020, Theorem 14), counting only this home's own noise
 * (the worst case: every other member of the round is the utility's). zCDP composes by adding ρ, so a
 * day costs Σρ over its rounds; the (ε, δ) figure a resident reads is the standard conversion
 * ε = ρ + 2·√(ρ·ln(1/δ)) (Bun–Steinke Proposition 1.3). A day is the UTC date of the interval a round
 * covers (round = interval end, so the round ending at 00:00 belongs to the day before): budgets are
 * per day of *data*, whatever the clock speed of the meter.
 */

export interface AccountantState {
  /** ρ spent per day (days since the epoch, UTC) and the rounds charged there. */
  days: Record<string, { rho: number; rounds: number[] }>
}

export interface PrivacySpend {
  day: number
  /** ε (at `delta`) spent on that day, and the daily budget. */
  epsilon: number
  budget: number
  delta: number
  rounds: number
  /** ε one more round would cost alone. */
  epsilonPerRound: number
}

export const dayOfRound = (round: number) => Math.floor((round - 1) / 86_400)

/** ε of ρ-zCDP at δ. */
export function epsilonOf(rho: number, delta: number): number {
  return rho === 0 ? 0 : rho + 2 * Math.sqrt(rho * Math.log(1 / delta))
}

/** The largest ρ whose ε at δ stays within `epsilon` (the inverse of epsilonOf). */
export function rhoFor(epsilon: number, delta: number): number {
  const l = Math.log(1 / delta)
  return (Math.sqrt(l + epsilon) - Math.sqrt(l)) ** 2
}

export function createAccountant(options: {
  rhoPerRound: number
  /** ε per day. */
  dailyBudget: number
  delta: number
  /** Days of history kept (older days can no longer be charged: their rounds are outside the window). */
  keepDays?: number
  initial?: AccountantState
  /** Called after every charge with the new state (the household node persists it). */
  onChange?: (state: AccountantState) => void
}) {
  const { rhoPerRound, dailyBudget, delta } = options
  const keepDays = options.keepDays ?? 400
  const state: AccountantState = structuredClone(options.initial ?? { days: {} })
  const rhoBudget = rhoFor(dailyBudget, delta)

  function spend(day: number): PrivacySpend {
    const entry = state.days[String(day)]
    return {
      day,
      epsilon: epsilonOf(entry?.rho ?? 0, delta),
      budget: dailyBudget,
      delta,
      rounds: entry?.rounds.length ?? 0,
      epsilonPerRound: epsilonOf(rhoPerRound, delta),
    }
  }

  function prune(latestDay: number) {
    for (const key of Object.keys(state.days)) if (Number(key) < latestDay - keepDays) delete state.days[key]
  }

  return {
    /** Whether round t was already charged (its noisy value must then be reused, never redrawn). */
    charged(round: number): boolean {
      return state.days[String(dayOfRound(round))]?.rounds.includes(round) ?? false
    },
    /** Whether the day of round t can afford one more round. */
    affords(round: number): boolean {
      const rho = state.days[String(dayOfRound(round))]?.rho ?? 0
      // A tiny tolerance so that a budget set to exactly k rounds' ε admits k rounds despite rounding.
      return rho + rhoPerRound <= rhoBudget * (1 + 1e-12)
    },
    /** Records round t's release. Call once per round, after `affords`. */
    charge(round: number): void {
      const day = dayOfRound(round)
      const entry = state.days[String(day)] ?? { rho: 0, rounds: [] }
      entry.rho += rhoPerRound
      entry.rounds.push(round)
      state.days[String(day)] = entry
      prune(day)
      options.onChange?.(structuredClone(state))
    },
    spend,
    state: (): AccountantState => structuredClone(state),
  }
}

export type Accountant = ReturnType<typeof createAccountant>
