/**
 * How much slower than a quiet machine this one is right now, for test budgets. The suite's waits are
 * written as budgets measured on a quiet 2-core machine; under load (CI next to other work, a stress
 * run, a home box doing its own jobs) every step takes longer by about the number of runnable
 * processes per core. So a budget is stretched by the 1-minute load average per core, never below 1
 * and at most MAX_SLOWDOWN (a real hang must still fail, and name what it waited for).
 * `ZKM_TEST_SLOWDOWN` overrides the measurement (e.g. to reproduce a failure seen under load).
 */
import { availableParallelism, loadavg } from 'node:os'

export const MAX_SLOWDOWN = 6

export function machineSlowdown(): number {
  const forced = Number(process.env.ZKM_TEST_SLOWDOWN)
  if (Number.isFinite(forced) && forced >= 1) return Math.min(forced, MAX_SLOWDOWN)
  const perCore = (loadavg()[0] ?? 0) / Math.max(1, availableParallelism())
  return Math.min(MAX_SLOWDOWN, Math.max(1, perCore))
}

/** A quiet-machine budget stretched by the current slowdown. */
export function scaledBudget(quietMs: number): number {
  return Math.round(quietMs * machineSlowdown())
}
