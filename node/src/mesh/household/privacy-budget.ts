/**
 * The privacy accountant's memory (docs/aggregation.md §7): ρ spent per day of data, kept in
 * `<dataDir>/mesh/privacy.json` so that a restart cannot refill a day's budget. Writes are queued one
 * at a time (the newest state wins); a file that is not the accountant's is refused by name rather
 * than silently replaced by an empty budget.
 */
import type { PrivacySpendView } from '#protocol/api/types.ts'
import { ZkMeterError } from '#protocol/errors.ts'
import type { Logger } from '../../log/logger.ts'
import { readJsonFile, writeJsonAtomic } from '../../storage/json-file.ts'
import { type AccountantState, dayOfRound } from '../aggregation/privacy/accountant.ts'
import type { MeshNode } from '../node.ts'

export class PrivacyBudgetFileError extends ZkMeterError {
  override name = 'PrivacyBudgetFileError'
  override readonly category = 'internal'
}

function parseState(value: unknown, path: string): AccountantState {
  const days = (value as { days?: unknown } | undefined)?.days
  if (typeof days !== 'object' || days === null) {
    throw new PrivacyBudgetFileError(`${path} is not the privacy accountant's file; restore it or remove it`)
  }
  const out: AccountantState = { days: {} }
  for (const [day, entry] of Object.entries(days)) {
    const { rho, rounds } = entry as { rho?: unknown; rounds?: unknown }
    if (typeof rho !== 'number' || !Array.isArray(rounds) || !rounds.every(Number.isSafeInteger)) {
      throw new PrivacyBudgetFileError(`${path} has a malformed day ${day}; restore it or remove it`)
    }
    out.days[day] = { rho, rounds: rounds as number[] }
  }
  return out
}

export async function openPrivacyBudget(path: string, log: Logger) {
  const saved = await readJsonFile(path)
  const initial = saved === undefined ? undefined : parseState(saved, path)
  let pending: AccountantState | undefined
  let writing: Promise<void> = Promise.resolve()

  function onChange(state: AccountantState) {
    const first = pending === undefined
    pending = state
    if (!first) return
    writing = writing.then(async () => {
      const next = pending
      pending = undefined
      if (next === undefined) return
      await writeJsonAtomic(path, next).catch((error: unknown) =>
        log.error('could not save the privacy budget', { error }),
      )
    })
  }

  return {
    ...(initial ? { initial } : {}),
    onChange,
    /** Waits for the last write. */
    flush: () => writing,
  }
}

/** What the privacy answer shows of aggregation: ε spent on the latest day this home contributed to. */
export function privacySpend(mesh: MeshNode, latestRound: number | undefined): PrivacySpendView {
  const privacy = mesh.aggregation.privacy
  if (privacy === undefined) return { noise: false }
  const day = dayOfRound(latestRound ?? Math.floor(Date.now() / 1000))
  const spend = privacy.spend(day)
  return {
    noise: true,
    day: new Date(day * 86_400_000).toISOString().slice(0, 10),
    epsilonSpent: spend.epsilon,
    epsilonBudget: spend.budget,
    epsilonPerRound: spend.epsilonPerRound,
    delta: spend.delta,
    rounds: spend.rounds,
    noiseSigmaWh: privacy.calibration.sigmaWh,
    clampWh: privacy.calibration.clampWh,
  }
}
